"""The overlay's heat: opacity follows the value (or is flat), colours follow the sign (auto).

The reference is what pyqtgraph draws: the heat ImageItem's rendered QImage, read back
as RGBA per pixel, against colours and opacities computed here from the values (256 equal
bins over the levels, viridis or blue–red tables from pyqtgraph's own colormaps). The
export is checked against an alpha blend computed here.
"""
import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage

from widgets.qimage import qimage_to_rgb

RECT = (10.0, 5.0, 28.0, 28.0)


@pytest.fixture
def view(overlay_view):
    return overlay_view


def relu_map(h=28, w=28, seed=0):
    """What a trained ReLU channel looks like: mostly exactly 0, a few strong spots."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    m = np.zeros((h, w), np.float32)
    for cy, cx, a in [(0.3, 0.6, 5.0), (0.7, 0.25, 2.5)]:
        m += a * np.exp(-((yy - cy * h) ** 2 + (xx - cx * w) ** 2) / (0.004 * h * w))
    m += 0.2 * rng.random((h, w))
    return np.maximum(m - 0.3, 0).astype(np.float32)


def signed_map(h=28, w=28, seed=1):
    """A conv output before its ReLU: both signs, smooth."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    return (3 * np.sin(xx / 5.0) * np.cos(yy / 7.0) - 0.4 + 0.3 * rng.normal(size=(h, w))).astype(np.float32)


def photo(h=40, w=50):
    rng = np.random.default_rng(5)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def drawn_rgba(item):
    """The heat ImageItem's pixels as pyqtgraph renders them, (h, w, 4) RGBA not premultiplied."""
    item.render()
    q = item.qimage.convertToFormat(QImage.Format.Format_RGBA8888)
    buf = np.frombuffer(q.constBits(), np.uint8, count=q.bytesPerLine() * q.height()).reshape(q.height(), -1)
    return buf[:, :4 * q.width()].reshape(q.height(), q.width(), 4).copy()


def indices(values, lo, hi):
    """256 equal bins over lo..hi, clipped: written out here, not taken from the app."""
    return np.clip(np.floor((values.astype(np.float64) - lo) * 256.0 / (hi - lo)), 0, 255).astype(int)


def table(name):
    return pg.colormap.get(name).getLookupTable(nPts=256, mode="byte")[:, :3]


def test_relu_map_auto_viridis_from_zero_opacity_by_value(view):
    fmap = relu_map()
    view.set_photo(photo())
    view.set_native(False)
    view.set_channel(fmap, RECT, "relu5_3 · channel 3")
    assert view.colormap() == "auto" and view.blend() == "value"
    assert view.shown_colormap() == "viridis"
    hi = float(fmap.max())
    assert view.levels() == pytest.approx((0.0, hi)) and view.colorbar().levels() == pytest.approx((0.0, hi))
    heat = view.heat_item()
    assert heat.opacity() == pytest.approx(view.alpha())
    up = heat.image
    got = drawn_rgba(heat)
    idx = indices(up, 0.0, hi)
    np.testing.assert_array_equal(got[..., :3], table("viridis")[idx])
    np.testing.assert_array_equal(got[..., 3], idx)        # alpha = value / max, in 256 steps
    assert (got[..., 3][up == 0] == 0).all()               # where the channel is silent: the photo alone
    assert got[..., 3].max() == 255

    view.set_blend("flat")                                 # the old look: one opacity everywhere
    got = drawn_rgba(heat)
    np.testing.assert_array_equal(got[..., 3], 255)
    np.testing.assert_array_equal(got[..., :3], table("viridis")[idx])


def test_signed_map_auto_diverging_opacity_by_distance_from_zero(view):
    fmap = signed_map()
    view.set_photo(photo())
    view.set_channel(fmap, RECT, "conv5_3 · channel 9")
    m = float(max(-fmap.min(), fmap.max()))
    assert view.shown_colormap() == "CET-D1" and view.levels() == pytest.approx((-m, m))
    heat = view.heat_item()
    up = heat.image
    got = drawn_rgba(heat)
    idx = indices(up, -m, m)
    np.testing.assert_array_equal(got[..., :3], table("CET-D1")[idx])
    want_alpha = np.round(np.abs(idx - 127.5) / 127.5 * 255).astype(int)
    np.testing.assert_array_equal(got[..., 3], want_alpha)
    # strongly negative: blue and opaque; strongly positive: red and opaque; near 0: see-through
    neg, pos = got[up < -0.6 * m], got[up > 0.6 * m]
    assert len(neg) and len(pos)
    assert (neg[:, 2] > neg[:, 0]).all() and (pos[:, 0] > pos[:, 2]).all()
    assert neg[:, 3].min() > 150 and pos[:, 3].min() > 150
    assert (got[np.abs(up) < 0.02 * m][:, 3] < 10).all()


def test_native_is_opaque_and_the_slider_scales_the_whole(view, qtbot):
    fmap = relu_map()
    view.set_photo(photo())
    view.set_channel(fmap, RECT, "ch")
    with qtbot.waitSignal(view.alphaChanged):
        view.alpha_slider().setValue(40)
    assert view.heat_item().opacity() == pytest.approx(0.4)
    view.set_native(True)
    got = drawn_rgba(view.heat_item())
    assert view.heat_item().opacity() == 1.0 and (got[..., 3] == 255).all()   # the map alone: no photo to see through
    view.set_native(False)
    assert view.heat_item().opacity() == pytest.approx(0.4)
    assert drawn_rgba(view.heat_item())[..., 3].min() == 0


def test_blend_combo_setter_and_bad_input(view, qtbot):
    combo = view.blend_combo()
    assert combo.currentData() == "value"
    with qtbot.waitSignal(view.blendChanged) as sig:
        combo.setCurrentIndex(combo.findData("flat"))
    assert sig.args == ["flat"] and view.blend() == "flat"
    view.set_blend("value")
    assert combo.currentData() == "value"
    with pytest.raises(ValueError, match="unknown blend"):
        view.set_blend("screen")
    assert view.blend() == "value"


def test_export_blends_by_value_like_the_screen(view):
    fmap = relu_map()
    pic = photo()
    rect = (0.0, 0.0, 28.0, 28.0)          # one photo pixel per activation: no resampling in the blend
    view.set_photo(pic)
    view.set_channel(fmap, rect, "ch")
    view.set_alpha(0.9)
    out = qimage_to_rgb(view.overlay_image()).astype(float)
    hi = float(fmap.max())
    idx = indices(fmap, 0.0, hi)
    a = 0.9 * idx / 255.0
    want = pic[:28, :28].astype(float) * (1 - a[..., None]) + table("viridis")[idx] * a[..., None]
    assert np.abs(out[:28, :28] - want).max() <= 3
    np.testing.assert_array_equal(out[:, 28:], pic[:, 28:])        # beside the crop: the photo
    np.testing.assert_array_equal(out[:28, :28][fmap == 0], pic[:28, :28][fmap == 0])   # silent: the photo itself


def test_colour_bar_says_what_its_range_is(view):
    view.set_photo(photo())
    view.set_channel(relu_map(), RECT, "ch")
    assert view.colorbar().texts()[2] == "per channel" and view.colorbar().texts()[0] == "0"
    view.set_channel(relu_map(), RECT, "ch", levels=(0.0, 1.0), scale_note="min–max of this map")
    assert view.colorbar().text() == "0 … 1.00 · min–max of this map"
    view.set_channel(relu_map() + 0.5, RECT, "ch")   # ≥ 0 but never 0: the bar starts at 0, the note says the data
    lo, hi, note = view.colorbar().texts()
    assert lo == "0" and note.startswith("per channel · data 0.500")
    view.set_channel(signed_map(), RECT, "ch", levels=(-4.0, 9.0), scale_note="shared by the layer")
    assert view.colorbar().levels() == (-9.0, 9.0) and view.colorbar().texts()[2].startswith("shared by the layer · data")
