"""The desktop app end to end, offscreen: drops, browsing, overlay, exports, errors, shutdown."""
import threading
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QUrl, Qt

from gui_helpers import RESULT_TIMEOUT, drop_files, drop_urls






@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40)]):
        arr = np.zeros((120, 160, 3), np.uint8)
        arr[:] = colour
        arr[30:90, 40:120] = 255 - np.array(colour, np.uint8)
        p = folder / f"photo{i}.png"
        Image.fromarray(arr).save(p)
        paths.append(p)
    return paths


def test_drop_file_shows_results(window, qtbot, cat_path):
    w = window
    with qtbot.waitSignal(w.resultShown, timeout=RESULT_TIMEOUT) as sig:
        drop_files(w, cat_path)  # a real QDropEvent carrying a file URL
    assert sig.args == [str(cat_path)]
    assert w.session.image["path"] == str(cat_path)
    assert (w.session.image["width"], w.session.image["height"]) == (451, 300)
    assert len(w.session.layers) == len(w.session.model_info["layers"]) == 39
    assert all(not w.tree.is_pending(n) for n in w.tree.layer_names())
    assert w.grid.layer_name().startswith("features.0")
    assert w.session.predictions is not None and len(w.session.predictions.top) == 5
    assert "cat.png" in w.windowTitle()


def test_tree_click_changes_grid(shown, qtbot):
    w = shown
    before = w.grid.grid_image()
    item = w.tree.item_for("features.28")
    w.tree.scrollToItem(item)
    rect = w.tree.visualItemRect(item)
    with qtbot.waitSignal(w.tree.layerSelected, timeout=2000) as sig:
        qtbot.mouseClick(w.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.topLeft() + QPoint(30, rect.height() // 2))
    assert sig.args == ["features.28"]
    assert w.grid.layer_name().startswith("features.28")
    layer = w.session.layers["features.28"]
    assert w.grid.selected_channel() == int(np.argmax(layer.means))  # opens on its best channel
    assert w.grid.grid_image() != before


def test_vector_layer_shows_bar_chart(shown):
    w = shown
    w.show_layer("classifier.6")
    assert w.grid.page() == "bars"


def test_channel_click_updates_overlay(shown, qtbot):
    w = shown
    w.show_layer("features.28")
    layer = w.session.layers["features.28"]
    target = int(np.argsort(layer.means)[0])  # the least active channel: surely not the current one
    w.grid.set_sort("index")
    canvas = w.grid.canvas()
    rect = w.grid.tile_rect(target)
    w.grid._scroll.ensureVisible(int(rect.center().x()), int(rect.center().y()))
    with qtbot.waitSignal(w.grid.channelSelected, timeout=2000) as sig:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert sig.args == [target]
    np.testing.assert_array_equal(w.overlay._fmap, layer.data[target])
    x, y, rw, rh = w.session.image["rect"]
    # the readout at the centre of the input rect reads the channel's own centre value
    value = w.overlay.value_at(x + rw * 0.5, y + rh * 0.5)
    assert value == pytest.approx(float(layer.data[target][7, 7]))


def test_exports_write_valid_files(shown, tmp_path):
    w = shown
    w.show_layer("features.28")
    assert w.export_figure(str(tmp_path / "fig.png"))
    with Image.open(tmp_path / "fig.png") as im:
        im.verify()
    assert w.export_figure(str(tmp_path / "fig.svg"))
    assert ET.parse(tmp_path / "fig.svg").getroot().tag.endswith("svg")
    assert w.export_figure(str(tmp_path / "fig.pdf"))
    pdf = (tmp_path / "fig.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert w.export_grid(str(tmp_path / "grid.png"))
    assert w.export_overlay(str(tmp_path / "overlay.png"))
    for name in ("grid.png", "overlay.png"):
        with Image.open(tmp_path / name) as im:
            assert im.size[0] > 100 and im.size[1] > 100
    assert w.export_npy(str(tmp_path / "act.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "act.npy"), w.session.layers["features.28"].data)


def test_export_to_unwritable_place_is_a_message(shown, tmp_path, qtbot):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with qtbot.waitSignal(shown.errorShown, timeout=2000) as sig:
        assert not shown.export_figure(str(blocker / "fig.png"))
    assert "fig.png" in sig.args[0] and "\n" not in sig.args[0]
    assert not list(tmp_path.glob("**/*.part*"))


@pytest.mark.parametrize("kind", ["folder", "web", "text-file", "nothing"])
def test_bad_drop_shows_error_and_keeps_results(shown, qtbot, tmp_path, kind, cat_path):
    w = shown
    layers_before, image_before = dict(w.session.layers), w.session.image
    if kind == "folder":
        trigger = lambda: drop_files(w, tmp_path)  # noqa: E731
    elif kind == "web":
        trigger = lambda: drop_urls(w, [QUrl("https://example.com/cat.jpg")])  # noqa: E731
    elif kind == "text-file":
        bad = tmp_path / "notes.jpg"
        bad.write_text("not an image")
        trigger = lambda: drop_files(w, bad)  # noqa: E731
    else:
        trigger = lambda: drop_urls(w, [])  # noqa: E731
    with qtbot.waitSignal(w.errorShown, timeout=RESULT_TIMEOUT) as sig:
        trigger()
    assert sig.args[0] and "\n" not in sig.args[0]
    assert w.message.isVisible() and w.message.text() == sig.args[0]
    assert w.session.image is image_before and w.session.layers == layers_before
    assert w.grid.layer_name() is not None


def test_several_files_open_the_first_usable(window, qtbot, tmp_path, photos):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with qtbot.waitSignal(window.resultShown, timeout=RESULT_TIMEOUT) as sig:
        drop_files(window, bad, photos[1], photos[2])
    assert sig.args == [str(photos[1])]


def test_many_drops_show_the_last(window, qtbot, photos):
    shown = []
    window.resultShown.connect(shown.append)
    for i in range(12):
        drop_files(window, photos[i % len(photos)])
    last = str(photos[11 % len(photos)])
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] == last and not window.controller.busy, timeout=RESULT_TIMEOUT)
    assert window.session.image["path"] == last
    assert len(window.session.layers) == 39
    assert len(shown) < 12  # superseded requests were skipped, not all computed


def test_demo_spec_change_reruns_only_demo(shown, qtbot):
    w = shown
    layers_before = dict(w.session.layers)
    w.demo_panel.preset_combo.setCurrentText("sobel_x")
    qtbot.waitUntil(lambda: w.session.demo is not None and w.session.demo.spec.preset == "sobel_x", timeout=RESULT_TIMEOUT)
    assert w.session.layers == layers_before
    kernel = w.session.demo.weight
    assert kernel[0, 0, 1].tolist() == [-2, 0, 2]


def test_close_during_inference_is_prompt(window, qtbot, cat_path):
    window.open_image(str(cat_path))
    qtbot.waitUntil(lambda: len(window.session.layers) >= 1, timeout=RESULT_TIMEOUT)
    t0 = time.perf_counter()
    window.close()
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0
    assert not window.controller.thread_running()
    assert not any(t.name == "convscope-inference" for t in threading.enumerate())
