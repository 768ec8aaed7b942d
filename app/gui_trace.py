"""Hooks for the benchmarks and launch checks: the window says, on stdout, when things happened.

``CONVSCOPE_TRACE_STARTUP=1`` prints the wall-clock times of the first paint and the
first result, then quits (bench/bench_startup.py). ``=stay`` also prints, once the
first predictions are laid out, where the predictions table is on the screen (and,
with ``CONVSCOPE_TRACE_DIR``, saves the table as Qt renders it), and keeps the
window open a moment longer, so bench/xvfb_launch.py can check the X server's
pixels against it.
``CONVSCOPE_AUTOCLOSE=WHEN`` closes the window at a chosen moment and prints the time
of the close, so shutdown tests can time the exit.
"""
import faulthandler
import json
import os
import signal
import time

from PySide6.QtCore import Qt, QTimer

from .first_paint import OnFirstPaint


STAY_MS = 1500  # "stay": how long the window stays up after its first prediction
SETTLE_MS, SETTLE_TRIES = 40, 25  # the table must stay put this long before its place is said (at most 1 s)


def say(window, event: str, **fields) -> None:
    """One JSON line on stdout; if nobody listens any more, close rather than loop."""
    try:
        print(json.dumps({"event": event, "t": time.time(), **fields}), flush=True)
    except OSError:
        QTimer.singleShot(0, window.close)


def trace_startup(window, mode: str) -> None:
    stay = mode == "stay"
    if stay and hasattr(signal, "SIGUSR1"):  # a launch check that times out asks for every thread's stack
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    window._first_paint_filter = OnFirstPaint(window, lambda: say(window, "first_paint"))

    def on_predictions(*_args):
        # After the layout has run (the table was hidden until now), say where it is, then leave the
        # checker time to look before closing for real (settings saved, as a user's are).
        table = window.predictions.table

        def where():
            top_left = table.mapToGlobal(table.rect().topLeft())
            return [top_left.x(), top_left.y(), table.width(), table.height()]

        def report(last=None, tries=SETTLE_TRIES):
            # The Prediction panel fits itself to the dock once the predictions are in (its explanation
            # may give way, which moves the table): say where the table is once it stays put.
            rect = where()
            if rect != last and tries > 0:
                QTimer.singleShot(SETTLE_MS, lambda: report(rect, tries - 1))
                return
            shot = None
            if os.environ.get("CONVSCOPE_TRACE_DIR"):  # what the table should look like on screen
                shot = os.path.join(os.environ["CONVSCOPE_TRACE_DIR"], "first_prediction.png")
                table.grab().save(shot)
            say(window, "first_prediction", rect=rect, png=shot)
            QTimer.singleShot(STAY_MS, window.close)
        QTimer.singleShot(0, report)

    def on_result(_seconds):
        # The first answer is on screen (predictions, the focused layer, the demo); the statistics of
        # the other layers still follow, off the UI thread, but nothing waits for them.
        say(window, "first_result")
        if not stay:
            QTimer.singleShot(0, window.close)

    if stay:
        # On the answer, not on the predictions alone: until then the panel shows them greyed out as
        # "computing…", and a table grabbed greyed never matches the screen once it is drawn black.
        window.session.finished.connect(on_predictions, Qt.ConnectionType.SingleShotConnection)
    window.session.finished.connect(on_result, Qt.ConnectionType.SingleShotConnection)


def autoclose(window, when: str) -> None:
    """Close at "painted" (the window is up, torch is being imported), "model-loading"
    (the weights are being read or built), "first-layer" (the first forward) or "download"."""
    def close(*_):
        say(window, "closing")
        QTimer.singleShot(0, window.close)

    if when == "painted":
        window._autoclose_filter = OnFirstPaint(window, close)
        return
    signals = {"model-loading": window.controller.modelLoading, "first-layer": window.controller.layerReady,
               "download": window.controller.downloadProgress}
    if when in signals:
        signals[when].connect(close, Qt.ConnectionType.SingleShotConnection)
