"""Cycles are collected on the UI thread only (app/ui_thread_gc.py), and a model is freed without them.

A collection on the worker thread could tear down a Qt wrapper made on the UI thread: the suite's
rare segfault in the garbage collector. Each test watches every collection through ``gc.callbacks``.
"""
import gc
import threading
import weakref
from contextlib import contextmanager

from gui_helpers import RESULT_TIMEOUT


@contextmanager
def collections():
    """(thread name, generation) of each collection inside the block."""
    seen = []

    def record(phase, info):
        if phase == "start":
            seen.append((threading.current_thread().name, info["generation"]))

    gc.callbacks.append(record)
    try:
        yield seen
    finally:
        gc.callbacks.remove(record)


@contextmanager
def timer_stopped():
    """The collector as the test drives it: its timer does not fire meanwhile (its thresholds are put back)."""
    from app.ui_thread_gc import collect_on_ui_thread

    collector = collect_on_ui_thread()
    collector.timer.stop()
    threshold = collector.threshold
    try:
        yield collector
    finally:
        collector.threshold = threshold
        collector.timer.start()


class _Node:
    pass


def test_a_cycle_is_collected_on_the_ui_thread_and_nowhere_else(window, qtbot):
    assert not gc.isenabled()  # no thread trips an automatic collection
    with collections() as seen:
        node = _Node()
        node.me = node
        gone = weakref.ref(node)
        del node
        junk = [[] for _ in range(3 * gc.get_threshold()[0])]  # past the threshold the timer checks
        qtbot.waitUntil(lambda: gone() is None, timeout=5000)
        del junk
    assert seen and {thread for thread, _ in seen} == {threading.main_thread().name}


def _file_results(window):
    s = window.session
    return s.whole and s.results_model["source"] == "file"


def test_a_weights_change_frees_the_old_model_without_the_collector(shown, qtbot, vgg_checkpoint):
    w = shown
    w.load_weights(str(vgg_checkpoint))  # a model of this window's own (the untrained one is shared)
    qtbot.waitUntil(lambda: _file_results(w), timeout=RESULT_TIMEOUT)
    second = w.session.predictions.top[1]["index"]
    w.explain_class(second)  # a class's gradient, primed and kept in the run too
    qtbot.waitUntil(lambda: getattr(w.session.cams.get("explain"), "index", None) == second,
                    timeout=RESULT_TIMEOUT)
    old = weakref.ref(w.controller.bundle.model)
    with timer_stopped(), collections() as seen:
        w.load_weights(str(vgg_checkpoint))  # the same file again: a new model
        qtbot.waitUntil(lambda: _file_results(w) and w.controller.bundle.model is not old(),
                        timeout=RESULT_TIMEOUT)
        assert old() is None  # reference counting let go of the old model's 530 MB at once
    assert seen == []  # not one collection, on any thread, while the model changed


def test_a_full_collection_waits_for_a_quarter_of_new_long_lived_objects(window):
    kept = []

    def churn(collector, objects):
        for _ in range(objects // 1000):
            kept.extend([] for _ in range(1000))  # survivors: they reach the oldest generation
            collector.check()

    with timer_stopped() as collector:
        gc.collect()
    with timer_stopped() as collector, collections() as seen:
        collector.threshold = (collector.threshold[0], 1, 1)  # the generation counts alone would go full at once
        collector.long_lived, collector.pending = len(gc.get_objects(2)), 0
        churn(collector, collector.long_lived // 8)
        assert {g for _, g in seen} == {0, 1}  # an eighth more: young collections only
        churn(collector, collector.long_lived // 4)
        assert 2 in {g for _, g in seen}       # past a quarter: the oldest generation's turn
    assert collector.pending < collector.long_lived // 4
