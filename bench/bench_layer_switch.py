"""Layer and channel switching in an offscreen MainWindow with the cat analysed.

* ``window.show_layer(name)`` → grid painted, for features.0 (64×224×224) and
  features.28 (512×14×14), alternating so each switch is a real change. The
  time runs until ``QApplication.processEvents()`` has delivered the pending
  paints and the grid canvas's paint has completed (forced with ``repaint()``
  when Qt did not paint it). Budget: median ≤ 30 ms each.
* ``window.show_channel(i)`` → overlay updated and painted (the pyqtgraph
  viewport's paint completed), over many channels. Budget: median ≤ 15 ms.
"""
import sys
import time

from common import emit, finish, median, note, percentile, qt_app, wait_until
from bench_ui_stall import analyse, open_window

SWITCHES = 15        # per layer
CHANNELS = 40
LAYER_BUDGET_MS = 30.0
CHANNEL_BUDGET_MS = 15.0


class PaintCounter:
    """Counts the Paint events of one widget. The filter sees each event just before delivery;
    ``processEvents()`` returns only after it was delivered, i.e. after the paint completed."""

    def __init__(self, widget):
        from PySide6.QtCore import QEvent, QObject

        counter = self

        class _Filter(QObject):
            def eventFilter(self, obj, event):
                if event.type() == QEvent.Type.Paint:
                    counter.count += 1
                return False

        self.count = 0
        self.widget = widget
        self._filter = _Filter()
        widget.installEventFilter(self._filter)


def settle():
    """Let the window finish whatever it has pending (deferred layouts, paints)."""
    wait_until(lambda: False, 0.02, step_ms=1)


def time_until_painted(action, counter: PaintCounter) -> tuple[float, bool]:
    """Seconds from ``action()`` until the counted widget has painted; (time, painted by Qt itself)."""
    from PySide6.QtWidgets import QApplication

    n0 = counter.count
    t0 = time.perf_counter()
    action()
    QApplication.processEvents()
    natural = counter.count > n0
    if not natural:
        counter.widget.repaint()
    return time.perf_counter() - t0, natural


def main() -> list[dict]:
    app = qt_app()
    win = open_window()
    records = []
    try:
        analyse(win)
        canvas = PaintCounter(win.grid.canvas())
        viewport = PaintCounter(win.overlay._gl.viewport())
        settle()

        layer_times: dict[str, list[float]] = {"features.0": [], "features.28": []}
        forced = 0
        for i in range(SWITCHES + 1):
            for name in ("features.0", "features.28"):
                t, natural = time_until_painted(lambda: win.show_layer(name), canvas)
                forced += not natural
                if i:  # the first round is a warm-up
                    layer_times[name].append(t * 1e3)
                settle()
        note("layer switch ms: " + ", ".join(f"{k}: {[round(v, 1) for v in vs]}" for k, vs in layer_times.items())
             + f"; paints forced {forced}")

        channel_times: dict[str, list[float]] = {}
        for name in ("features.0", "features.28"):
            win.show_layer(name)
            settle()
            c = win.current_layer().data.shape[0]
            chans = [(k * 7919) % c for k in range(CHANNELS + 1)]
            times = []
            forced = 0
            for j, ch in enumerate(chans):
                t, natural = time_until_painted(lambda: win.show_channel(ch), viewport)
                forced += not natural
                if j:
                    times.append(t * 1e3)
                settle()
            channel_times[name] = times
            note(f"channel switch {name}: median {median(times):.1f} ms, p90 {percentile(times, 90):.1f} ms; "
                 f"paints forced {forced}")
    finally:
        win.close()
        app.processEvents()
    for name, v in layer_times.items():
        records.append(emit(f"layer_switch.{name}", median(v), "ms", budget=LAYER_BUDGET_MS))
    for name, v in channel_times.items():
        records.append(emit(f"channel_switch.{name}", median(v), "ms", budget=CHANNEL_BUDGET_MS))
    return records


if __name__ == "__main__":
    sys.exit(finish(main()))
