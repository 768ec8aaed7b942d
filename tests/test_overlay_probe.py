"""The overlay's probe: a native click names the cell, the receptive field's box and the effective
field are drawn where they belong, and what they replace comes back.

Positions go through pyqtgraph's own view → scene → widget mapping and a real mouse
click; the box is checked on the items and on the painted pixels; the field's heat
is compared with Pillow's bilinear resize and with an alpha blend computed here.
"""
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from widgets.colormaps import heat_lut, lut
from widgets.qimage import qimage_to_rgb

from overlay_fixtures import CROP, photo, rect, view  # noqa: F401  (fixtures shared with the overlay's other tests)


def relu_map(h=14, w=14, seed=0):
    rng = np.random.default_rng(seed)
    out = np.maximum(rng.normal(-1, 1, (h, w)), 0)
    out[h // 3, w // 2] += 5
    return out.astype(np.float32)


def erf_map(cy=100.0, cx=60.0, s=12.0, n=224):
    """An effective field: a peak where the unit looks, ~0 elsewhere."""
    yy, xx = np.mgrid[0:n, 0:n]
    return (np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s)) * 0.03).astype(np.float32)


def widget_point(view, x, y):
    """Where view coordinates (x, y) land on the GraphicsLayoutWidget's viewport."""
    return view._gl.mapFromScene(view.view_box().mapViewToScene(QPointF(x, y)))


def clicks(view, qtbot, points):
    got = []
    view.positionClicked.connect(lambda y, x: got.append((y, x)))
    for x, y in points:
        qtbot.mouseClick(view._gl.viewport(), Qt.MouseButton.LeftButton, pos=widget_point(view, x, y))
    view.positionClicked.disconnect()
    return got


def test_native_click_names_the_cell(view, photo, rect, qtbot):
    fmap = relu_map()
    view.set_photo(photo)
    view.set_channel(fmap, rect, "relu5_3 · channel 4")
    cells = [(0, 0), (13, 13), (4, 9), (7, 3), (13, 0)]
    assert clicks(view, qtbot, [(x + 0.5, y + 0.5) for y, x in cells]) == []     # photo mode: no probe
    view.set_native(True)
    assert clicks(view, qtbot, [(x + 0.5, y + 0.5) for y, x in cells]) == cells
    assert clicks(view, qtbot, [(7.9, 2.1), (0.1, 13.9)]) == [(2, 7), (13, 0)]    # anywhere in the cell
    (x0, x1), (y0, y1) = view.view_box().viewRange()
    assert x0 < -0.1 and x1 > 14.1                                               # the margin is on screen
    assert clicks(view, qtbot, [(-0.1, 5), (14.1, 5), (5, 14.1)]) == []            # outside the map


def test_the_box_is_drawn_on_the_photo(view, photo, rect, qtbot):
    view.set_photo(photo)
    view.set_channel(relu_map(), rect, "relu5_3 · channel 4")
    box = (120.5, 40.25, 290.0, 210.75)
    view.set_probe(box, None, rect, "receptive field of conv5_3 #4 at (y 7, x 3)")
    for item in view.probe_items().outlines:
        r = item.rect()
        assert item.isVisible() and (r.left(), r.top(), r.right(), r.bottom()) == pytest.approx(box)
    assert view.heat_item().isVisible()                          # a box alone: the channel stays under it
    assert view.title() == "receptive field of conv5_3 #4 at (y 7, x 3)"
    shot = qimage_to_rgb(view._gl.viewport().grab().toImage()).astype(int)
    d = round(view.devicePixelRatioF())
    for x, y in [(box[0], 120), (box[2], 100), (200, box[1]), (200, box[3])]:   # a point on each edge
        p = widget_point(view, x, y)
        patch = shot[d * p.y() - d:d * p.y() + 2 * d, d * p.x() - d:d * p.x() + 2 * d]
        assert patch.min(axis=2).max() > 235, f"no light line at {x, y}"      # white on the photo
    view.clear_probe()
    shot = qimage_to_rgb(view._gl.viewport().grab().toImage()).astype(int)
    p = widget_point(view, box[0], 120)
    patch = shot[d * p.y() - d:d * p.y() + 2 * d, d * p.x() - d:d * p.x() + 2 * d]
    assert patch.min(axis=2).max() < 235                                        # gone with the probe


def test_the_effective_field_replaces_the_channel_heat(view, photo, rect, qtbot):
    view.set_photo(photo)
    fmap = relu_map()
    view.set_channel(fmap, rect, "relu5_3 · channel 4")
    channel_levels = view.colorbar().levels()
    erf = erf_map()
    view.set_probe((100, 30, 300, 230), erf, rect, "effective receptive field of conv5_3 #4 at (7, 3)")
    heat = view.probe_items().heat
    assert heat.isVisible() and not view.heat_item().isVisible()
    size = round(CROP)
    reference = np.asarray(Image.fromarray(erf, mode="F").resize((size, size), Image.Resampling.BILINEAR))
    np.testing.assert_allclose(heat.image, reference, atol=1e-6)
    r = heat.mapRectToParent(heat.boundingRect())
    assert (r.x(), r.y(), r.width(), r.height()) == pytest.approx(rect)
    assert tuple(heat.levels) == pytest.approx((0.0, erf.max()))          # 0 … its max, no levels given
    np.testing.assert_array_equal(heat.lut, heat_lut("viridis", "value"))  # auto on a field ≥ 0
    assert view.colorbar().levels() == pytest.approx((0.0, erf.max()))
    assert view.title() == "effective receptive field of conv5_3 #4 at (7, 3)"
    view.set_probe((100, 30, 300, 230), erf, rect, "x", levels=(0.0, 0.1))  # the caller's levels
    assert tuple(heat.levels) == pytest.approx((0.0, 0.1)) and "saturates" in view.colorbar().text()
    view.set_alpha(0.4)
    assert heat.opacity() == pytest.approx(0.4)
    view.clear_probe()
    assert view.probe() is None and not heat.isVisible() and view.heat_item().isVisible()
    assert view.title() == "relu5_3 · channel 4" and view.colorbar().levels() == pytest.approx(channel_levels)
    assert not any(item.isVisible() for item in view.probe_items().outlines)


def test_a_channel_photo_or_cam_change_clears_the_probe(view, photo, rect):
    view.set_photo(photo)
    view.set_channel(relu_map(), rect, "a")
    view.set_probe((10, 10, 100, 100), erf_map(), rect, "probe")
    view.set_channel(relu_map(seed=1), rect, "another channel")
    assert view.probe() is None and view.heat_item().isVisible() and view.title() == "another channel"
    view.set_probe((10, 10, 100, 100), erf_map(), rect, "probe")
    view.set_photo(photo)
    assert view.probe() is None and not view.probe_items().heat.isVisible()


def test_native_mode_and_the_field_arriving_later(view, photo, rect):
    fmap = relu_map()
    view.set_photo(photo)
    view.set_channel(fmap, rect, "relu5_3 · channel 4")
    view.set_native(True)
    box = (100, 30, 300, 230)
    view.set_probe(box, None, rect, "receptive field")           # a new probe: shown on the photo
    assert not view.native() and view.photo_item().isVisible()
    view.set_native(True)                                        # the user goes back to click more
    assert not view.probe_items().outlines[0].isVisible() and view.title() == "relu5_3 · channel 4"
    np.testing.assert_array_equal(view.heat_item().image, fmap)
    view.set_probe(box, erf_map(), rect, "effective field")      # its field arrives: stays native
    assert view.native() and not view.probe_items().heat.isVisible() and view.heat_item().isVisible()
    view.set_native(False)                                       # and shows it on leaving
    assert view.probe_items().heat.isVisible() and view.title() == "effective field"
    view.set_native(True)
    view.set_probe((0, 0, 50, 50), None, rect, "another unit")   # a new probe leaves native again
    assert not view.native()


def test_export_draws_the_field_and_the_box(view, photo, rect):
    view.set_photo(photo)
    view.set_channel(relu_map(), rect, "ch")
    erf = erf_map(cy=112, cx=112)
    x, y, w, h = rect
    box = (x + 40.2, y + 30.7, x + 200.4, y + 180.1)
    view.set_alpha(0.8)
    view.set_probe(box, erf, rect, "probe")
    rgb = qimage_to_rgb(view.overlay_image()).astype(int)
    assert rgb.shape == photo.shape
    # pixels whose centres are inside the box, written out: the first is ceil(edge - 0.5)
    px0, py0, px1, py1 = (int(np.ceil(v - 0.5)) for v in box)
    t = max(1, round(max(photo.shape[:2]) / 400))
    mid = (py0 + py1) // 2
    white, black = np.array([255, 255, 255]), np.array([0, 0, 0])
    np.testing.assert_array_equal(rgb[mid, px0], white)                  # the line, on the box's own pixels
    np.testing.assert_array_equal(rgb[mid, px1 - 1], white)
    np.testing.assert_array_equal(rgb[py0, (px0 + px1) // 2], white)
    np.testing.assert_array_equal(rgb[mid, px0 - 1], black)              # the halo outside
    np.testing.assert_array_equal(rgb[mid, px0 + t], black)              # and inside
    np.testing.assert_array_equal(rgb[py1 - 1 + t, (px0 + px1) // 2], black)
    # the field: ~0 far from its peak (the photo shows), its top colour at the peak
    far = (int(y + 5), int(x + 5))
    assert np.abs(rgb[far] - photo[far]).max() <= 2
    cy, cx = int(y + (112 + 0.5) * h / 224), int(x + (112 + 0.5) * w / 224)
    expected = 0.2 * photo[cy, cx] + 0.8 * lut("viridis")[255].astype(int)
    assert np.abs(rgb[cy, cx] - expected).max() <= 6
    view.set_native(True)                                               # native: the channel alone
    native = qimage_to_rgb(view.overlay_image())
    assert native.shape[0] == native.shape[1] and native.shape[0] % 14 == 0


def test_readout_follows_the_field(view, photo, rect, qtbot):
    view.set_photo(photo)
    view.set_channel(relu_map(), rect, "ch")
    erf = erf_map()
    view.set_probe(None, erf, rect, "effective receptive field of conv5_3 #4 at (7, 3) (no box: adaptive pool)")
    x, y, w, h = rect
    r, c = 100, 60
    px, py = x + (c + 0.5) * w / 224, y + (r + 0.5) * h / 224
    text = view.readout_text(px, py)
    assert text.startswith("field ") and float(text.split()[1]) == pytest.approx(erf[r, c], rel=1e-3)
    assert not view.probe_items().outlines[0].isVisible()                # no box: only the field
    view.clear_probe()
    assert view.readout_text(px, py).startswith("value ")


def test_bad_probes_are_refused_in_one_line(view, photo, rect):
    view.set_photo(photo)
    view.set_channel(relu_map(), rect, "ch")
    view.set_probe((10, 10, 50, 50), None, rect, "ok")
    for args, match in [(((50, 10, 10, 50), None, rect, "x"), "x1 > x0"),
                        (((10, 10, 50, 50), np.zeros((2, 3, 4)), rect, "x"), "2-D"),
                        (((10, 10, 50, 50), np.full((4, 4), np.nan), rect, "x"), "NaN"),
                        (((10, 10, 50, 50), None, (0, 0, 0, 5), "x"), "positive size"),
                        (("box", None, rect, "x"), r"\(x0, y0, x1, y1\)")]:
        with pytest.raises(ValueError, match=match) as err:
            view.set_probe(*args)
        assert "\n" not in str(err.value)
    assert view.probe().caption == "ok"


def test_screenshot_probe(view, photo, rect, tmp_path):
    view.resize(420, 400)
    view.set_photo(photo)
    view.set_channel(relu_map(), rect, "features.28 (conv5_3) · channel 12")
    x, y, w, h = rect
    erf = erf_map(cy=7 * 16 + 7.5, cx=3 * 16 + 7.5, s=18) + erf_map(cy=120, cx=70, s=45) * 0.15
    box = (x, y + (7 * 16 - 90) * h / 224, x + (3 * 16 + 106) * w / 224, y + (7 * 16 + 106) * h / 224)
    view.set_probe(box, erf, rect, "effective receptive field of conv5_3 #12 at (y 7, x 3)")
    out_dir = Path(os.environ.get("CONVSCOPE_SCREENSHOT_DIR", tmp_path))
    assert view.grab().save(str(out_dir / "overlay-probe.png"))
    assert view.overlay_image().save(str(out_dir / "overlay-probe-export.png"))
