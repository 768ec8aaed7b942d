"""UI stall: a 5 ms QTimer heartbeat on the UI thread of a real offscreen MainWindow.

(a) while full inferences of the cat run (the window renders the selected layer
as it arrives and marks the tree for every layer); (b) while each of the 39
layers is shown in turn with ``window.show_layer(name)``, events processed in
between; (c) while File → Scan folder… scans a folder of 32 photos at conv5_3 on
its own thread (issue 13): from its first batch to its last (budgeted), and,
for information, around its start and the arrival of its patches (the status
bar and the gallery tab appearing: a one-off re-layout of the window).
Reports the worst gap between heartbeats (budget 50 ms) and the 99th
percentile. The first analysis (warm-up) is not measured.
"""
import sys
import time

from common import SAMPLE_CAT, emit, finish, note, percentile, qt_app, wait_until

HEARTBEAT_MS = 5
BUDGET_MS = 50.0
INFERENCE_RUNS = 3
SWITCH_PAUSE_MS = 30   # event processing between two layer switches


class Heartbeat:
    """Timestamps of a precise 5 ms timer firing on the UI thread."""

    def __init__(self):
        from PySide6.QtCore import Qt, QTimer

        self.stamps: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(lambda: self.stamps.append(time.perf_counter()))

    def start(self):
        self.stamps = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        self.stamps.append(time.perf_counter())
        return [(b - a) * 1e3 for a, b in zip(self.stamps, self.stamps[1:])]


def open_window():
    from app.main_window import MainWindow
    from app.settings import settings

    settings().clear()
    win = MainWindow()
    win.resize(1400, 900)
    win.show()
    if not wait_until(lambda: win.session.model_info is not None, 180):
        raise RuntimeError("the model did not load")
    return win


def analyse(win, path=str(SAMPLE_CAT)) -> None:
    done = []
    win.resultShown.connect(done.append)
    win.errorShown.connect(done.append)
    win.open_image(path)
    ok = wait_until(lambda: bool(done), 120, step_ms=1)
    win.resultShown.disconnect(done.append)
    win.errorShown.disconnect(done.append)
    if not ok or win.session.image is None or len(win.session.layers) != len(win.session.model_info["layers"]):
        raise RuntimeError(f"the analysis did not complete: {done}")


SCAN_IMAGES = 32


def scan_gaps(win, beat) -> list[float]:
    """(c): the heartbeat's gaps while a folder scan runs beside the window, until its patches are shown."""
    import tempfile

    from PIL import Image

    cat = Image.open(SAMPLE_CAT).convert("RGB")
    with tempfile.TemporaryDirectory(prefix="convscope-bench-scan-") as folder:
        for i in range(SCAN_IMAGES):
            cat.rotate(11 * i).resize((320, 240)).save(f"{folder}/p{i:02d}.jpg", quality=90)
        win.show_layer("features.28")
        wait_until(lambda: win.grid.selected_channel() is not None, 60)
        before = win.scan_result
        marks: dict = {}
        first = lambda *_: marks.setdefault("first_batch", time.perf_counter())  # noqa: E731
        last = lambda *_: marks.setdefault("finished", time.perf_counter())  # noqa: E731
        win.scans.progress.connect(lambda _r, p: p.done and first())
        win.scans.finished.connect(last)
        beat.start()
        t0 = time.perf_counter()
        if not win.scan_folder(folder):
            raise RuntimeError("the scan did not start")
        if not wait_until(lambda: win.scan_result is not before and bool(win.gallery.tiles()), 600, step_ms=1):
            raise RuntimeError("the scan did not finish")
        gaps = beat.stop()
        stamps = beat.stamps
        running = [g for a, g in zip(stamps, gaps) if marks["first_batch"] <= a < marks["finished"]]
        ends = [g for a, g in zip(stamps, gaps) if not marks["first_batch"] <= a < marks["finished"]]
        note(f"scan of {SCAN_IMAGES} photos in the window: {time.perf_counter() - t0:.1f} s, beats {len(gaps)}; "
             f"worst gap while it ran {max(running):.1f} ms, around its start and its patches' arrival "
             f"{max(ends):.1f} ms")
    return running, ends


def main() -> list[dict]:
    qt_app()
    win = open_window()
    beat = Heartbeat()
    try:
        analyse(win)  # warm-up
        gaps_inf: list[float] = []
        worst_runs = []
        for _ in range(INFERENCE_RUNS):
            win.show_layer("features.0")
            beat.start()
            analyse(win)
            gaps = beat.stop()
            worst_runs.append(max(gaps))
            gaps_inf += gaps
        note(f"inference: worst gap per run ms {[round(g, 1) for g in worst_runs]}, beats {len(gaps_inf)}")

        names = [layer["name"] for layer in win.session.model_info["layers"]]
        per_layer: dict[str, float] = {}
        beat.start()
        for name in names:
            n0 = len(beat.stamps)
            win.show_layer(name)
            wait_until(lambda: False, SWITCH_PAUSE_MS / 1e3, step_ms=1)
            stamps = beat.stamps[n0 - 1:]
            per_layer[name] = max((b - a) * 1e3 for a, b in zip(stamps, stamps[1:]))
        gaps_sw = beat.stop()
        slow = sorted(per_layer.items(), key=lambda kv: -kv[1])[:5]
        note(f"layer switching: slowest layers (worst gap ms) {[(k, round(v, 1)) for k, v in slow]}")
        gaps_scan, gaps_scan_ends = scan_gaps(win, beat)
    finally:
        win.close()
    return [
        emit("ui_stall.scan.worst_gap", max(gaps_scan), "ms", budget=BUDGET_MS),
        emit("ui_stall.scan.start_and_patches_worst_gap", max(gaps_scan_ends), "ms"),
        emit("ui_stall.inference.worst_gap", max(gaps_inf), "ms", budget=BUDGET_MS),
        emit("ui_stall.inference.p99_gap", percentile(gaps_inf, 99), "ms"),
        emit("ui_stall.show_layers.worst_gap", max(gaps_sw), "ms", budget=BUDGET_MS),
        emit("ui_stall.show_layers.p99_gap", percentile(gaps_sw, 99), "ms"),
    ]


if __name__ == "__main__":
    sys.exit(finish(main()))
