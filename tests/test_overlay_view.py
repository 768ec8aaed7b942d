"""OverlayView: the heatmap is a true bilinear upsample placed on the crop, read-out and export are right.

The upsample is compared with Pillow's BILINEAR resize of the same float map; the
export is compared pixel-wise with an alpha blend computed here.
"""
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QRectF

from widgets.colormaps import COLORMAP_NAMES, heat_lut, lut
from widgets.qimage import qimage_to_rgb

from overlay_fixtures import CROP, photo, rect, view  # noqa: F401  (fixtures shared with the overlay's other tests)


def blob(h=28, w=28, seed=0):
    """A bright blob plus noise: a channel that fires on one part of the picture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    return (4 * np.exp(-((yy - 0.35 * h) ** 2 + (xx - 0.55 * w) ** 2) / (0.05 * h * w))
            + 0.3 * rng.random((h, w))).astype(np.float32)


def readout_value(text, r, c):
    """The number a readout line starts with, checked to be for cell (r, c)."""
    m = re.match(r"value (\S+) at \((\d+), (\d+)\)", text)
    assert m and (int(m[2]), int(m[3])) == (r, c), text
    return float(m[1])


def item_rect(item):
    return item.mapRectToParent(item.boundingRect())


def test_heatmap_is_bilinear_upsample_on_the_crop(view, photo, rect):
    fmap = np.random.default_rng(1).normal(size=(14, 14)).astype(np.float32)
    view.set_photo(photo)
    view.set_channel(fmap, rect, "conv5_3 · channel 7")
    heat = view.heat_item()
    assert heat.isVisible() and view.photo_item().isVisible()
    img = heat.image
    size = round(CROP)
    assert img.shape == (size, size) and img.dtype == np.float32
    reference = np.asarray(Image.fromarray(fmap, mode="F").resize((size, size), Image.Resampling.BILINEAR))
    np.testing.assert_allclose(img, reference, atol=1e-4)
    for corner in [(0, 0), (0, -1), (-1, 0), (-1, -1)]:
        assert img[corner] == pytest.approx(fmap[corner])
    placed = item_rect(heat)
    assert (placed.x(), placed.y(), placed.width(), placed.height()) == pytest.approx(rect)
    # auto: a signed map gets the diverging map centred on 0, its opacity following |value|
    m = max(-fmap.min(), fmap.max())
    assert view.colormap() == "auto" and view.shown_colormap() == "CET-D1"
    assert tuple(heat.levels) == pytest.approx((-m, m))
    np.testing.assert_array_equal(heat.lut[:, :3], lut("CET-D1"))
    view.set_colormap("viridis")                     # a fixed map: the channel's own range
    assert tuple(heat.levels) == pytest.approx((fmap.min(), fmap.max()))
    np.testing.assert_array_equal(heat.lut[:, :3], lut("viridis"))


def test_large_photo_caps_the_upsample(view):
    big = np.zeros((2000, 3000, 3), np.uint8)
    view.set_photo(big)
    view.set_channel(blob(), (500, 0, 2000, 2000), "ch", levels=(0.0, 2.0))
    assert view.heat_item().image.shape == (512, 512)
    assert tuple(view.heat_item().levels) == (0.0, 2.0)
    assert item_rect(view.heat_item()).width() == pytest.approx(2000)


def test_alpha_slider_and_colormap(view, photo, rect, qtbot):
    view.set_photo(photo)
    view.set_channel(blob(), rect, "ch")
    assert view.alpha() == pytest.approx(0.8) and view.heat_item().opacity() == pytest.approx(0.8)
    with qtbot.waitSignal(view.alphaChanged) as sig:
        view.alpha_slider().setValue(25)
    assert sig.args == [pytest.approx(0.25)]
    assert view.alpha() == pytest.approx(0.25) and view.heat_item().opacity() == pytest.approx(0.25)
    view.set_alpha(0.8)
    assert view.alpha_slider().value() == 80 and view.heat_item().opacity() == pytest.approx(0.8)
    with qtbot.waitSignal(view.colormapChanged) as sig:
        view._combo.setCurrentIndex(view._combo.findData("inferno"))
    assert sig.args == ["inferno"] and view.colormap() == "inferno"
    np.testing.assert_array_equal(view.heat_item().lut, heat_lut("inferno", "value"))
    with pytest.raises(ValueError, match="unknown colormap"):
        view.set_colormap("rainbow-ish")
    assert "inferno" in COLORMAP_NAMES


def test_native_mode_shows_the_raw_channel(view, photo, rect):
    fmap = blob(14, 14)
    view.set_photo(photo)
    view.set_channel(fmap, rect, "ch")
    view._native_box.setChecked(True)
    assert view.native()
    heat = view.heat_item()
    np.testing.assert_array_equal(heat.image, fmap)
    assert not view.photo_item().isVisible() and heat.opacity() == 1.0
    placed = item_rect(heat)
    assert (placed.x(), placed.y(), placed.width(), placed.height()) == pytest.approx((0, 0, 14, 14))
    (x0, x1), (y0, y1) = view.view_box().viewRange()
    assert x0 <= 0 and x1 >= 14 and x1 - x0 < 40 and y1 - y0 < 40     # fitted to the channel
    assert view.value_at(3.5, 2.5) == pytest.approx(fmap[2, 3])
    assert view.value_at(14.5, 2) is None
    view.set_native(False)
    assert heat.image.shape == (round(CROP), round(CROP)) and view.photo_item().isVisible()


def test_value_at_maps_photo_coords_to_channel_cells(view, photo, rect):
    fmap = np.arange(28 * 28, dtype=np.float32).reshape(28, 28)
    view.set_photo(photo)
    assert view.value_at(100, 100) is None          # no channel yet
    view.set_channel(fmap, rect, "conv4_1 · channel 3")
    x, y, w, h = rect
    for r, c in [(0, 0), (5, 20), (27, 27)]:
        px, py = x + (c + 0.5) * w / 28, y + (r + 0.5) * h / 28
        assert view.value_at(px, py) == fmap[r, c]
    assert view.value_at(x - 1, y + 5) is None
    assert view.value_at(x + 5, y + h + 0.5) is None
    text = view.readout_text(x + 20.5 * w / 28, y + 5.5 * h / 28)
    # the value first (a narrow window cuts the end of the line), then the cell, then the channel
    assert readout_value(text, 5, 20) == pytest.approx(fmap[5, 20], rel=5e-4)
    assert text.endswith("conv4_1 · channel 3")


def test_mouse_move_updates_readout(view, photo, rect, qtbot):
    fmap = blob()
    view.set_photo(photo)
    view.set_channel(fmap, rect, "ch 9")
    x, y, w, h = rect
    r, c = 10, 15
    target = QPointF(x + (c + 0.5) * w / 28, y + (r + 0.5) * h / 28)
    scene_pos = view.view_box().mapViewToScene(target)
    widget_pos = view._gl.mapFromScene(scene_pos)
    with qtbot.waitSignal(view.cursorValue) as sig:
        qtbot.mouseMove(view._gl.viewport(), widget_pos)
    assert readout_value(sig.args[0], r, c) == pytest.approx(fmap[r, c], rel=5e-4) and sig.args[0].endswith("ch 9")
    assert view.readout_label().text() == sig.args[0]


def test_zoom_survives_channel_switch(view, photo, rect):
    view.set_photo(photo)
    view.set_channel(blob(seed=1), rect, "a")
    vb = view.view_box()
    vb.setRange(QRectF(150, 80, 60, 40), padding=0)
    zoomed = np.array(vb.viewRange())
    assert zoomed[0] == pytest.approx([150, 210])
    view.set_channel(blob(seed=2), rect, "b")
    view.set_channel(blob(h=14, w=14), rect, "another layer")
    np.testing.assert_allclose(np.array(vb.viewRange()), zoomed)
    view.set_photo(photo)                            # a new photo fits the view again
    (x0, x1), _ = vb.viewRange()
    assert x0 <= 0 and x1 >= photo.shape[1]


def test_overlay_image_is_the_alpha_blend(view, photo, rect):
    fmap = blob()
    view.set_photo(photo)
    view.set_channel(fmap, rect, "ch")
    view.set_blend("flat")                 # one opacity everywhere (the blend by value: test_overlay_blend)
    view.set_alpha(0.5)
    img = view.overlay_image()
    assert not img.isNull() and (img.width(), img.height()) == (photo.shape[1], photo.shape[0])
    rgb = qimage_to_rgb(img)
    assert rgb.std() > 10
    x, y, w, h = rect
    np.testing.assert_array_equal(rgb[:, : int(x) - 1], photo[:, : int(x) - 1])   # outside the crop: photo
    # inside: half photo, half heat colour (the blob's peak is at the top colour)
    r, c = int(np.argmax(fmap)) // 28, int(np.argmax(fmap)) % 28
    px, py = int(x + (c + 0.5) * w / 28), int(y + (r + 0.5) * h / 28)
    expected = 0.5 * photo[py, px].astype(float) + 0.5 * lut("viridis")[255].astype(float)
    assert np.abs(rgb[py, px].astype(float) - expected).max() <= 6
    view.set_native(True)
    native = qimage_to_rgb(view.overlay_image())
    k = native.shape[0] // 28
    assert native.shape[:2] == (28 * k, 28 * k) and k >= 2
    assert (native[r * k, c * k] == lut("viridis")[255]).all()


def test_bad_input_leaves_view_unchanged(view, photo, rect):
    view.set_photo(photo)
    view.set_channel(blob(), rect, "ok")
    before = view.heat_item().image.copy()
    with pytest.raises(ValueError, match="2-D"):
        view.set_channel(np.zeros((2, 3, 4), np.float32), rect, "bad")
    with pytest.raises(ValueError, match="positive size"):
        view.set_channel(blob(), (0, 0, 0, 10), "bad")
    with pytest.raises(ValueError, match=r"uint8 \(H, W, 3\)"):
        view.set_photo(np.zeros((10, 10), np.float32))
    np.testing.assert_array_equal(view.heat_item().image, before)
    view.clear_channel()
    assert not view.heat_item().isVisible() and view.value_at(rect[0] + 5, rect[1] + 5) is None


def test_screenshot_cat_overlay(view, photo, rect, qtbot, tmp_path):
    view.resize(720, 560)
    view.set_photo(photo)
    view.set_channel(blob(), rect, "conv4_1 · channel 12")
    out_dir = Path(os.environ.get("CONVSCOPE_SCREENSHOT_DIR", tmp_path))
    path = out_dir / "overlay.png"
    pixmap = view.grab()
    assert pixmap.save(str(path))
    with Image.open(path) as im:
        shot = np.asarray(im.convert("RGB"))
    assert shot.shape[1] == round(view.width() * pixmap.devicePixelRatio()) and shot.std() > 20
