"""File → Scan folder… in the window: the scan runs on its own thread, its patches follow the grid's channel,
a patch opens its photo, Cancel keeps what was done, bad folders are one line and lose nothing."""
import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import Qt

from gui_helpers import RESULT_TIMEOUT

LAYER = "features.28"


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory, cat_path):
    """Seven photos (crops of the cat and noise, one in a sub-folder, one with a non-ASCII name) and a broken file."""
    root = tmp_path_factory.mktemp("scan_window") / "photos"
    (root / "inner").mkdir(parents=True)
    cat = Image.open(cat_path).convert("RGB")
    rng = np.random.default_rng(3)
    w, h = cat.size
    names = ["a.png", "b.jpg", "inner/c.png", "chat_été.png", "e.png", "f.jpg"]
    for i, name in enumerate(names):
        x0, y0 = int(rng.integers(0, w // 3)), int(rng.integers(0, h // 3))
        cat.crop((x0, y0, x0 + w // 2 + 20 * i, y0 + h // 2)).resize((120 + 8 * i, 100)).save(root / name)
    Image.fromarray(rng.integers(0, 256, (90, 110, 3), dtype=np.uint8)).save(root / "noise.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    return root


def _images(folder) -> list:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "broken.jpg")


def _reference_maxima(win, folder) -> dict:
    """Every readable photo through the model on screen (a plain forward up to the layer), each channel's maximum."""
    from inference.images import load_image
    from inference.preprocess import preprocess

    bundle = win.controller.worker._bundle
    out = {}
    with torch.no_grad():
        for path in _images(folder):
            image = load_image(str(path))
            x = preprocess(image.pil(), "imagenet", transform=bundle.transform).tensor.unsqueeze(0)
            fmap = bundle.model.features[:29](x)[0]
            out[str(path)] = fmap.amax(dim=(1, 2)).numpy()
    return out


def _scan(win, qtbot, folder) -> object:
    win.show_layer(LAYER)
    qtbot.waitUntil(lambda: win.grid.selected_channel() is not None, timeout=RESULT_TIMEOUT)
    before = win.scan_result
    assert win.scan_folder(str(folder))
    qtbot.waitUntil(lambda: win.scan_result is not before, timeout=RESULT_TIMEOUT)
    return win.scan_result


def test_the_gallery_shows_the_channels_top_photos_and_a_patch_opens_its_photo(shown, qtbot, photo_folder):
    win = shown
    result = _scan(win, qtbot, photo_folder)
    assert not result.cancelled and [f.rel for f in result.failures] == ["broken.jpg"]
    assert not win.scan_label.isVisible()
    channel = win.grid.selected_channel()
    maxima = _reference_maxima(win, photo_folder)
    expected = sorted(maxima, key=lambda p: (-maxima[p][channel], p))[:9]
    qtbot.waitUntil(lambda: len(win.gallery.tiles()) == len(expected), timeout=RESULT_TIMEOUT)
    tiles = win.gallery.tiles()
    assert [t.path for t in tiles] == expected
    np.testing.assert_allclose([t.value for t in tiles], [maxima[p][channel] for p in expected], rtol=1e-4)
    assert all(t.patch["image"].dtype == np.uint8 and t.patch["image"].ndim == 3 for t in tiles)
    assert f"channel {channel}" in win.gallery.header_text()

    # Another channel in the grid: the gallery follows it.
    other = (channel + 1) % 512
    win.grid.select_channel(other)
    win.grid.channelSelected.emit(other)
    expected_other = sorted(maxima, key=lambda p: (-maxima[p][other], p))[:9]
    qtbot.waitUntil(lambda: [t.path for t in win.gallery.tiles()] == expected_other, timeout=RESULT_TIMEOUT)

    # Clicking a patch opens that photo.
    target = win.gallery.tiles()[1]
    with qtbot.waitSignal(win.resultShown, timeout=RESULT_TIMEOUT) as shown_signal:
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton)
    assert shown_signal.args == [target.path]


def test_cancel_keeps_what_was_done_and_scanning_again_resumes(shown, qtbot, tmp_path, cat_path):
    win = shown
    folder = tmp_path / "many"
    folder.mkdir()
    cat = Image.open(cat_path).convert("RGB").resize((96, 80))
    for i in range(24):
        cat.rotate(15 * i).save(folder / f"p{i:02d}.png")
    win.show_layer(LAYER)
    qtbot.waitUntil(lambda: win.grid.selected_channel() is not None, timeout=RESULT_TIMEOUT)
    assert win.scan_folder(str(folder))
    assert win.scan_cancel.isVisible() and win.gallery.scanning()
    qtbot.waitUntil(lambda: "images/s" in win.scan_label.text(), timeout=RESULT_TIMEOUT)
    win.scan_cancel.click()
    qtbot.waitUntil(lambda: win.scan_result is not None and win._scan_request is None, timeout=RESULT_TIMEOUT)
    first = win.scan_result
    assert first.cancelled and 0 < first.scanned < 24 and first.pending == 24 - first.scanned
    assert "cancelled" in win.message.text()
    result = _scan(win, qtbot, folder)
    assert not result.cancelled and result.reused == first.scanned and result.scanned == 24 - first.scanned


def test_a_bad_folder_is_one_line_and_the_results_stay(shown, qtbot, tmp_path):
    win = shown
    empty = tmp_path / "empty"
    empty.mkdir()
    layers = dict(win.session.layers)
    win.show_layer(LAYER)
    for folder in (empty, tmp_path / "missing"):
        with qtbot.waitSignal(win.errorShown, timeout=RESULT_TIMEOUT) as error:
            assert win.scan_folder(str(folder))
        message = error.args[0]
        assert "\n" not in message and folder.name in message
        assert not win.scan_label.isVisible() and win._scan_request is None
    assert dict(win.session.layers) == layers
    assert win.session.image is not None


def test_a_scan_of_another_model_says_so(shown, qtbot, photo_folder):
    from dataclasses import replace

    win = shown
    _scan(win, qtbot, photo_folder)
    assert win.gallery.stale_text() == ""
    generation = win.session.model_info["generation"]
    win.controller.load_model(replace(win.base_request, untrained=True, arch="resnet18"))
    qtbot.waitUntil(lambda: win.session.model_info["generation"] != generation, timeout=RESULT_TIMEOUT)
    qtbot.waitUntil(lambda: "previous model" in win.gallery.stale_text(), timeout=RESULT_TIMEOUT)
