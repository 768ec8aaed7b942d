"""Python's cyclic garbage collector runs on the UI thread only.

CPython collects cycles on whichever thread trips the allocation threshold (or
calls ``gc.collect()``). ConvScope's worker, download and scan threads allocate
all the time, so a collection would sometimes run there, and a cycle holding a
Qt wrapper made on the UI thread (a closure connected to a signal, a widget's
helper) was then torn down from the wrong thread: the suite's rare segfault in
the garbage collector, seen beside the worker's own ``gc.collect()`` after a
model switch.

pyqtgraph ships the known cure (as calibre and novelWriter use it): automatic
collection off, and a UI-thread timer that collects a generation when its count
passes the threshold automatic collection would have used. Models and runs never
needed the collector: reference counting frees them the moment the worker lets
go (tests/test_ui_thread_gc.py checks both).

One rule of CPython's is missing from that timer: a full collection also waits
until the objects that reached the oldest generation since the last one are a
quarter of those that were there. With torch, torchvision and the window loaded,
a full collection walks about 380,000 objects, 120 ms of UI thread here, and
without the rule one would come every two minutes of use. The subclass below
keeps the rule, counting survivors the way CPython does.
"""
import gc

from pyqtgraph.util.garbage_collector import GarbageCollector

LONG_LIVED_SHARE = 4   # CPython's: a full collection once pending > long-lived / 4


class UiThreadCollector(GarbageCollector):
    """pyqtgraph's timer-driven collector with CPython's long-lived rule for full collections."""

    def __init__(self, interval: float = 1.0):
        self.long_lived = len(gc.get_objects(2))  # once, before the timer runs
        self.pending = 0                          # objects moved into the oldest generation since
        super().__init__(interval)

    def check(self) -> None:
        t0, t1, t2 = self.threshold
        l0, l1, l2 = gc.get_count()
        if l0 <= t0:
            return
        if l1 <= t1:
            gc.collect(0)
            return
        young = len(gc.get_objects(0)) + len(gc.get_objects(1))  # a few thousand at most: cheap
        self.pending += young - gc.collect(1)                     # the survivors went to the oldest
        if l2 > t2 and self.pending > self.long_lived // LONG_LIVED_SHARE:
            self.long_lived += self.pending - gc.collect(2)
            self.pending = 0


_collector: UiThreadCollector | None = None


def collect_on_ui_thread() -> UiThreadCollector:
    """Install the UI-thread collector once per process (call it on the UI thread, with Qt running)."""
    global _collector
    if _collector is None:
        _collector = UiThreadCollector()
    return _collector
