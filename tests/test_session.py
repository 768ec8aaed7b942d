"""The app side of the engine: one Session of current results, weights changes, demo re-runs, downloads.

Each test drives the real window and worker thread and awaits signals.
"""
import gc
import hashlib
import http.server
import threading
import weakref
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from gui_helpers import RESULT_TIMEOUT
from loopback import loopback_server


def _photo(tmp_path, name, size, colour):
    path = tmp_path / name
    Image.new("RGB", size, colour).save(path)
    return str(path)


def _whole(window, path=None, source=None):
    s = window.session
    return (s.whole and (path is None or s.image["path"] == path)
            and (source is None or (s.results_model or {}).get("source") == source))


def test_new_weights_keep_the_image_just_opened(shown, qtbot, tmp_path, vgg_checkpoint):
    """Open B while a checkpoint loads: B is shown, analysed with the new weights; nothing is
    exported under the new weights' name with the old results."""
    w = shown
    b = _photo(tmp_path, "b.png", (120, 90), (200, 30, 30))
    refused = []

    def export_now(info):  # the new model is in, the results on screen are still the old model's
        refused.append(w.export_figure(str(tmp_path / "fig.png")))

    w.session.modelChanged.connect(export_now)
    w.load_weights(str(vgg_checkpoint))
    w.open_image(b)
    b_request = w.controller.analyses.newest
    qtbot.waitUntil(lambda: _whole(w, b, "file"), timeout=RESULT_TIMEOUT)
    assert w.controller.analyses.newest == b_request  # B was not analysed twice, A not again
    assert refused == [False] and not (tmp_path / "fig.png").exists()
    assert w.session.predictions.top[0]["label"] in ("cat", "dog")
    assert w.predictions.title_label.text() == "Both classes"  # not "Top 5" for a 2-class model
    assert "ImageNet" not in w.model_label.text() and "2 classes" in w.model_label.text()
    assert w.session.image["path"] == b
    assert w.export_figure(str(tmp_path / "fig.png"))
    w.session.modelChanged.disconnect(export_now)


def test_new_weights_reanalyse_the_image_on_screen(shown, qtbot, vgg_checkpoint, cat_path):
    w = shown
    w.load_weights(str(vgg_checkpoint))
    qtbot.waitUntil(lambda: _whole(w, str(cat_path), "file"), timeout=RESULT_TIMEOUT)
    assert len(w.session.predictions.probs) == 2


def test_cached_untrained_model_is_freed_when_other_weights_load(shown, qtbot, vgg_checkpoint):
    from inference import model as engine_model

    untrained = [weakref.ref(m) for m in engine_model._prepared_untrained.values()]
    assert untrained and all(r() is not None for r in untrained)
    shown.load_weights(str(vgg_checkpoint))
    qtbot.waitUntil(lambda: _whole(shown, source="file"), timeout=RESULT_TIMEOUT)
    gc.collect()
    assert engine_model._prepared_untrained == {}
    assert all(r() is None for r in untrained)


def test_demo_busy_label_clears_on_success_and_failure(shown, qtbot):
    w = shown
    w.demo_panel.specChanged.emit({"preset": "sobel_x"})
    assert w.demo_panel.busy_label.isVisibleTo(w.demo_panel)
    qtbot.waitUntil(lambda: w.session.demo.spec.preset == "sobel_x", timeout=RESULT_TIMEOUT)
    assert not w.demo_panel.busy_label.isVisibleTo(w.demo_panel)
    with qtbot.waitSignal(w.errorShown, timeout=RESULT_TIMEOUT) as sig:
        w.demo_panel.specChanged.emit({"preset": "custom", "weight": [[1.0]], "bias": [0.0]})
    assert "demo conv" in sig.args[0] and "\n" not in sig.args[0]
    assert not w.demo_panel.busy_label.isVisibleTo(w.demo_panel)
    assert w.session.demo.spec.preset == "sobel_x"  # the last good result stays


def test_a_demo_result_never_appears_next_to_another_image(shown, qtbot, tmp_path):
    """Open B, then change the demo while B is still loading (A on screen): the demo asked for A
    must not be shown next to B, and the label still clears."""
    w = shown
    b = _photo(tmp_path, "b.png", (97, 61), (10, 220, 10))
    mismatches = []

    def check(demo):
        h, wd = w.session.image["rgb"].shape[:2]
        if demo.input_rgb.shape[:2] != (h, wd):
            mismatches.append((demo.input_rgb.shape, (h, wd)))

    w.session.demoChanged.connect(check)
    for preset in ("sobel_y", "laplacian", "emboss"):
        w.open_image(b if preset != "laplacian" else str(w.session.image["path"]))
        w.demo_panel.specChanged.emit({"preset": preset})
    qtbot.waitUntil(lambda: _whole(w, b) and not w.demo_panel.busy_label.isVisibleTo(w.demo_panel),
                    timeout=RESULT_TIMEOUT)
    w.session.demoChanged.disconnect(check)
    assert mismatches == []


def test_demo_rerun_sends_no_pixels():
    from dataclasses import fields

    from app.requests import DemoRequest

    assert {f.name for f in fields(DemoRequest)} == {"id", "analysis_id", "demo", "max_side"}


def test_statistics_are_computed_off_the_ui_thread(window, qtbot, cat_path, monkeypatch):
    import inference.layer_output as capture  # where LayerOutput computes its statistics

    threads = []
    real = capture.channel_stats

    def spy(data):
        threads.append(threading.get_ident())
        return real(data)

    monkeypatch.setattr(capture, "channel_stats", spy)
    window.open_image(str(cat_path))
    qtbot.waitUntil(lambda: _whole(window, str(cat_path)), timeout=RESULT_TIMEOUT)
    for name in ("features.0", "features.3", "features.28", "classifier.0", "classifier.6"):
        window.show_layer(name)
    maps = [l for l in window.session.layers.values() if l.data.ndim == 3]
    assert len(threads) >= len(maps) and all(layer.has_stats for layer in maps)
    assert threading.get_ident() not in threads  # every one of them on the worker thread


def test_pasted_pictures_are_deleted_when_no_longer_shown_and_at_exit(window, qtbot, cat_path):
    def paste(colour):
        img = QImage(32, 24, QImage.Format.Format_RGB32)
        img.fill(colour)
        QApplication.clipboard().setImage(img)
        with qtbot.waitSignal(window.resultShown, timeout=RESULT_TIMEOUT) as sig:
            window.paste()
        return Path(sig.args[0])

    first = paste(0xFF3366CC)
    assert first.is_file()
    second = paste(0xFF22AA22)
    assert second.is_file() and not first.exists()
    with qtbot.waitSignal(window.resultShown, timeout=RESULT_TIMEOUT):
        window.open_image(str(cat_path))
    assert not second.exists()
    third = paste(0xFF000000)
    window.close()
    assert not third.exists()


# ---------------------------------------------------------------------- downloads on their own thread
@pytest.fixture
def throttled_weights(imagenet_like_bytes):
    """Serves the seeded 1000-class file as vgg16-<sha8>.pth on 127.0.0.1, at about 100 MB/s."""
    data_path = imagenet_like_bytes
    digest = hashlib.sha256(data_path.read_bytes()).hexdigest()
    size = data_path.stat().st_size
    stop = threading.Event()

    class Throttled(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            try:
                with open(data_path, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        if stop.wait(0.01):
                            return
                        self.wfile.write(chunk)
            except OSError:
                return

    with loopback_server(Throttled) as base:
        yield f"{base}/vgg16-{digest[:8]}.pth"
        stop.set()


def test_images_are_analysed_while_the_weights_download(shown, qtbot, tmp_path, monkeypatch, throttled_weights):
    from dataclasses import replace

    monkeypatch.setenv("CONVSCOPE_OFFLINE", "0")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    w = shown
    w.base_request = replace(w.base_request, url=throttled_weights, offline=False)
    b = _photo(tmp_path, "b.png", (80, 60), (90, 90, 200))
    c = _photo(tmp_path, "c.png", (70, 50), (200, 200, 20))
    with qtbot.waitSignal(w.controller.downloadProgress, timeout=RESULT_TIMEOUT):
        w.download_imagenet()
    w.open_image(b)
    qtbot.waitUntil(lambda: _whole(w, b, "untrained"), timeout=RESULT_TIMEOUT)
    assert w.controller.downloading is not None, "the download should still be running (it is throttled)"
    w.open_image(c)
    qtbot.waitUntil(lambda: _whole(w, c, "imagenet"), timeout=120_000)
    assert w.controller.downloading is None
    assert w.session.predictions.cat_vs_dog is not None  # ImageNet head


STUCK_SCRIPT = r"""
import logging, sys, threading
sys.path.insert(0, {root!r})
from PySide6.QtWidgets import QApplication
app = QApplication([])
logging.basicConfig(filename={log!r}, level=logging.INFO)
from PySide6.QtCore import Slot
from app.controller import Controller
from app.gui import leave_if_threads_stuck
from app.worker import InferenceWorker
release = threading.Event()
@Slot(object)
def load_model(self, request):  # an uninterruptible call on the worker thread
    release.wait(30)
InferenceWorker.load_model = load_model
controller = Controller()
controller.load_model(None)
import time; time.sleep(0.3)
print("stopped" if controller.shutdown(timeout_ms=300) else "stuck", flush=True)
del controller
leave_if_threads_stuck(0)
print("not reached", flush=True)
"""


def test_a_stuck_worker_at_exit_is_logged_and_the_process_exits_cleanly(tmp_path):
    import subprocess
    import sys

    root = str(Path(__file__).resolve().parents[1])
    log = tmp_path / "convscope.log"
    script = STUCK_SCRIPT.format(root=root, log=str(log))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.stdout.split() == ["stuck"], proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert "Destroyed while thread" not in proc.stderr
    assert "did not stop within 300 ms" in log.read_text()


def test_figure_overlay_uses_the_overlays_colormap(shown, tmp_path, monkeypatch):
    from widgets import figure

    painted = []
    real = figure.overlay_image
    monkeypatch.setattr(figure, "overlay_image", lambda *a, **k: painted.append(a[4]) or real(*a, **k))
    shown.grid.set_colormap("viridis")
    shown.overlay.set_colormap("inferno")
    assert shown.export_figure(str(tmp_path / "fig.png"))
    assert painted == ["inferno"]


def test_overlay_follows_the_grids_scale_mode(shown):
    w = shown
    w.grid.set_colormap("viridis")
    w.overlay.set_colormap("viridis")  # "auto" would centre conv5_3's signed values on 0
    w.show_layer("features.28")
    data = w.current_layer().data
    channel = w.grid.selected_channel()
    w.grid.set_normalization("channel")
    assert w.overlay.colorbar().levels() == pytest.approx((float(data[channel].min()), float(data[channel].max())))
    w.grid.set_normalization("layer")
    assert w.overlay.colorbar().levels() == pytest.approx((float(data.min()), float(data.max())))
    assert w.grid.channel_range(channel)[2] in w.overlay.colorbar().text()


def test_screenshot_mode_leaves_the_users_settings_alone(tmp_path, cat_path):
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    config = tmp_path / "config"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(config), "TMPDIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(root / "main.py"), str(cat_path), "--offline", "--screenshot",
                           str(tmp_path / "shot.png"), "--layer", "conv2_1"],
                          capture_output=True, text=True, timeout=300, cwd=root, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "shot.png").is_file()
    saved = [p for p in config.rglob("*") if p.is_file()]
    assert all("features.5" not in p.read_text() for p in saved)  # the layer it showed was not remembered
    assert not list(tmp_path.glob("convscope-screenshot-*"))      # nor left behind as scratch settings


def test_a_failed_open_leaves_the_image_on_screen_whole(shown, qtbot, tmp_path):
    """Open A, and while A is being analysed drop a broken file: A was cut short as stale, so it is
    analysed again; the error stays visible."""
    w = shown
    a = _photo(tmp_path, "a.png", (160, 120), (30, 60, 200))
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a picture")
    with qtbot.waitSignal(w.session.imageChanged, timeout=RESULT_TIMEOUT):
        w.open_image(a)
    with qtbot.waitSignal(w.errorShown, timeout=RESULT_TIMEOUT) as sig:
        w.open_image(str(bad))
    assert "broken.png" in sig.args[0]
    qtbot.waitUntil(lambda: _whole(w, a), timeout=RESULT_TIMEOUT)
    assert w.message.isVisible() and "broken.png" in w.message.text()


def test_a_download_that_ends_after_other_weights_were_chosen_changes_nothing(
        shown, qtbot, tmp_path, monkeypatch, throttled_weights, vgg_checkpoint, cat_path):
    from dataclasses import replace

    monkeypatch.setenv("CONVSCOPE_OFFLINE", "0")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    w = shown
    w.base_request = replace(w.base_request, url=throttled_weights, offline=False)
    with qtbot.waitSignal(w.controller.downloadProgress, timeout=RESULT_TIMEOUT):
        w.download_imagenet()
    w.load_weights(str(vgg_checkpoint))
    qtbot.waitUntil(lambda: _whole(w, str(cat_path), "file"), timeout=RESULT_TIMEOUT)
    qtbot.waitUntil(lambda: w.controller.downloading is None, timeout=120_000)
    qtbot.wait(500)  # a wrongly started load of the downloaded weights would be under way by now
    assert w.session.model_info["source"] == "file" and _whole(w, str(cat_path), "file")
