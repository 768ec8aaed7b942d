"""Probes of the analysed image in the real window: ablation, the receptive-field box, the effective field.

An offscreen MainWindow with the cat analysed; the bare forward of the same
model is measured interleaved in the same process (on this thread, while the
worker is idle), and every budget is a ratio against it:

* ``probe.ablate_conv5_3_vs_bare``: two channels of conv5_3 selected, Ablate,
  until the Prediction panel shows before/after and has painted (a paint forced
  right after the window took the answer; the grid's ablated map follows when
  its statistics arrive, outside this figure). ≤ 0.25 ×.
* ``probe.ablate_conv1_2_vs_bare``: the same at conv1_2 (every later layer
  runs again, and the grids' statistics follow after the answer). ≤ 1.2 ×.
* ``probe.box_ms.p90``: a probe click until the receptive-field box is on the
  overlay and painted (drawn from the model's field table on the UI thread,
  no request). ≤ 10 ms.
* ``probe.effective_field_vs_bare``: the same click until the worker's
  effective field (one input gradient) is on the overlay. ≤ 3 ×.
* ``probe.worst_gap``: the worst gap of a 5 ms heartbeat on the UI thread
  while units are probed (the issue's "the window stays responsive
  meanwhile"). ≤ 50 ms.
"""
import sys
import time

from bench_layer_switch import PaintCounter, settle
from bench_ui_stall import Heartbeat, analyse, open_window
from common import cat_batch, emit, finish, median, note, percentile, qt_app, timed, wait_until

RUNS = 5
ABLATE_FACTORS = {"features.28": 0.25, "features.2": 1.2}   # conv5_3, conv1_2
BOX_MS = 10.0
ERF_FACTOR = 3.0
GAP_BUDGET_MS = 50.0
PROBES = [("features.28", 7, 3, 4), ("features.29", 12, 10, 9), ("features.14", 5, 20, 33), ("features.2", 3, 100, 60)]


def painted(win, counter, action, done) -> float:
    """ms from ``action()`` until ``done()`` holds and ``counter``'s widget has painted after it."""
    from PySide6.QtWidgets import QApplication

    t0 = time.perf_counter()
    action()
    if not wait_until(done, 60, step_ms=1):  # a busy wait here would take a core from the worker
        raise RuntimeError("no answer")
    n0 = counter.count
    QApplication.processEvents()
    if counter.count == n0:
        counter.widget.repaint()
    return (time.perf_counter() - t0) * 1e3


def main() -> list[dict]:
    import torch

    app = qt_app()
    win = open_window()
    try:
        analyse(win)
        wait_until(lambda: bool(win.session.fields), 30)
        model = win.controller.worker._bundle.model
        x = cat_batch()

        def bare():
            with torch.inference_mode():
                return model(x)

        bare()
        beat, gaps = Heartbeat(), []

        def timed_bare(heartbeat: bool):  # on this thread: the heartbeat pauses meanwhile (it times the window)
            if beat.timer.isActive():
                gaps.extend(beat.stop())
            t_bare.append(timed(bare)[0] * 1e3)
            if heartbeat:
                beat.start()

        t_bare, ablate_ms = [], {name: [] for name in ABLATE_FACTORS}
        stamp: list = []

        def answered(result):  # after the window's own slot: the panel holds the new numbers; paint it now
            if result is not None:
                win.predictions.repaint()
                stamp.append(time.perf_counter())

        win.session.ablationChanged.connect(answered)
        for r in range(RUNS + 1):
            for name in ABLATE_FACTORS:
                win.show_layer(name)
                settle()
                win.grid.set_selected_channels([1, 2])
                settle()
                timed_bare(heartbeat=False)
                stamp.clear()
                t0 = time.perf_counter()
                win.ablate_selection("zero")
                # The answer's time is stamped by the slot; a coarse wait takes no CPU from the worker.
                if not wait_until(lambda: bool(stamp), 60, step_ms=20):
                    raise RuntimeError("no ablation")
                ms = (stamp[0] - t0) * 1e3
                if r:
                    ablate_ms[name].append(ms)
                wait_until(lambda: win.session.all_stats and all(
                    layer.has_stats for layer in win.session.ablation.rerun.changed.values()), 30)
                win.reset_ablation()
                settle()
        box_ms, erf_ms = [], []
        overlay_paint = PaintCounter(win.overlay._gl.viewport())
        field_stamp: list = []

        def field_shown(_probe):  # after the window's slot laid the field on the overlay: paint it now
            overlay_paint.widget.repaint()
            field_stamp.append(time.perf_counter())

        win.session.probeChanged.connect(field_shown)
        win.probe_bar.set_probing(True)
        for r in range(RUNS + 1):
            for layer, channel, y, xx in PROBES:
                win.show_layer(layer)
                settle()
                timed_bare(heartbeat=True)
                field_stamp.clear()
                t0 = time.perf_counter()
                box = painted(win, overlay_paint, lambda: win.probe_unit(layer, channel, y, xx), lambda: True)
                if not wait_until(lambda: bool(field_stamp), 60, step_ms=20):
                    raise RuntimeError("no effective field")
                erf = (field_stamp[0] - t0) * 1e3
                if r:
                    box_ms.append(box)
                    erf_ms.append(erf)
                settle()
        gaps.extend(beat.stop())
    finally:
        win.close()
        app.processEvents()
    bare_ms = median(t_bare)
    note(f"bare forward ms: {[round(t) for t in t_bare]}")
    for name, times in ablate_ms.items():
        note(f"ablation at {name} ms: {[round(t) for t in times]}")
    note(f"box ms: {[round(t, 1) for t in box_ms]}; effective field ms: {[round(t) for t in erf_ms]}")
    records = [emit(f"probe.ablate_{'conv5_3' if name == 'features.28' else 'conv1_2'}_vs_bare", median(times), "ms",
                    budget=ABLATE_FACTORS[name] * bare_ms, baseline=bare_ms) for name, times in ablate_ms.items()]
    records += [
        emit("probe.box_ms.p90", percentile(box_ms, 90), "ms", budget=BOX_MS),
        emit("probe.effective_field_vs_bare", median(erf_ms), "ms", budget=ERF_FACTOR * bare_ms, baseline=bare_ms),
        emit("probe.worst_gap", max(gaps), "ms", budget=GAP_BUDGET_MS),
    ]
    return records


if __name__ == "__main__":
    sys.exit(finish(main()))
