"""One value → colour rule everywhere: to_indices, and every view that colours an array,
agree with what pyqtgraph itself draws (ImageItem with levels and the 256-entry LUT, and
pg.functions.makeARGB). The reference is pyqtgraph's own rendering, not our formula."""
import numpy as np
import pyqtgraph as pg
import pytest

from widgets import figure
from widgets.channel_grid import ChannelGrid
from widgets.colormaps import colorize, lut, to_indices
from widgets.demo_conv_panel import DemoConvPanel
from widgets.overlay_view import OverlayView
from widgets.qimage import qimage_to_rgb


def imageitem_rgb(values, lo, hi, name="viridis"):
    """What a pyqtgraph ImageItem shows for ``values`` with levels (lo, hi) and the colormap's LUT."""
    item = pg.ImageItem(axisOrder="row-major")
    item.setLookupTable(lut(name))
    item.setImage(np.asarray(values, np.float32), levels=(lo, hi), autoLevels=False)
    item.render()
    return qimage_to_rgb(item.qimage)


def makeargb_rgb(values, lo, hi, name="viridis"):
    """pg.functions.makeARGB's colouring (it returns BGRA)."""
    argb, _ = pg.functions.makeARGB(np.asarray(values, np.float32), lut=lut(name), levels=(lo, hi))
    return argb[..., [2, 1, 0]]


def sample(shape=(16, 16), seed=0):
    """Values spread over, and a little beyond, the range -1.3..2.1 (so clipping shows too)."""
    return np.random.default_rng(seed).uniform(-1.5, 2.3, shape).astype(np.float32)


def enlarge(rgb, k):
    return np.repeat(np.repeat(rgb, k, axis=0), k, axis=1)


@pytest.mark.parametrize("name", ["viridis", "inferno", "turbo"])
@pytest.mark.parametrize("lo, hi", [(-1.3, 2.1), (0.0, 1.0), (0.25, 0.2500001)])
def test_to_indices_is_what_pyqtgraph_draws(qapp, name, lo, hi):
    values = sample((40, 50))
    ours = colorize(values, lo, hi, name)
    np.testing.assert_array_equal(ours, imageitem_rgb(values, lo, hi, name))
    np.testing.assert_array_equal(ours, makeargb_rgb(values, lo, hi, name))
    idx = to_indices(values, lo, hi)
    assert idx.dtype == np.uint8 and idx.min() == 0 and idx.max() == 255   # clipped at both ends


def test_maximum_gets_the_top_colour_and_bins_are_equal(qapp):
    values = np.linspace(0.0, 1.0, 1025, dtype=np.float32)
    idx = to_indices(values, 0.0, 1.0)
    assert idx[-1] == 255 and idx[0] == 0
    np.testing.assert_array_equal(np.bincount(idx, minlength=256)[:255], 4)   # 256 bins of 4 values (+ the max)


def test_flat_map_is_the_bottom_colour_like_imageitem(qapp):
    flat = np.full((5, 6), 3.5, np.float32)
    assert (to_indices(flat, 3.5, 3.5) == 0).all()
    np.testing.assert_array_equal(colorize(flat, 3.5, 3.5), imageitem_rgb(flat, 3.5, 3.5))


def test_per_channel_levels_broadcast_like_one_call_per_channel(qapp):
    stack = np.stack([sample(seed=s) * (s + 1) for s in range(4)])
    lo = stack.min(axis=(1, 2)).reshape(-1, 1, 1)
    hi = stack.max(axis=(1, 2)).reshape(-1, 1, 1)
    got = to_indices(stack, lo, hi)
    for c in range(4):
        np.testing.assert_array_equal(lut("viridis")[got[c]], imageitem_rgb(stack[c], float(lo[c, 0, 0]), float(hi[c, 0, 0])))


# ----------------------------------------------------------------------------- every view


def expected_range(data, name):
    """The table and levels a view should use, written out here: a fixed sequential map spans
    min..max; "auto" is blue–red over ±max|v| for data with negatives, viridis over 0..max if not."""
    lo, hi = float(data.min()), float(data.max())
    if name != "auto":
        return name, lo, hi
    if lo < 0:
        m = max(-lo, hi)
        return "CET-D1", -m, m
    return "viridis", 0.0, hi


@pytest.mark.parametrize("name, signed", [("viridis", True), ("auto", True), ("auto", False)])
def test_grid_tiles_are_what_pyqtgraph_draws(qtbot, name, signed):
    grid = ChannelGrid()
    qtbot.addWidget(grid)
    grid.resize(720, 520)
    grid.show()
    qtbot.waitExposed(grid)
    acts = np.stack([sample(seed=s) for s in range(6)])
    if not signed:                       # after a ReLU: ≥ 0, most of it 0
        acts = np.maximum(acts - 1.0, 0.0)
    grid.set_colormap(name)
    grid.set_layer("conv", acts, acts.mean(axis=(1, 2)), acts.max(axis=(1, 2)), (acts > 0).mean(axis=(1, 2)))
    for norm in ("channel", "layer"):
        grid.set_normalization(norm)
        rgb = qimage_to_rgb(grid.grid_image())
        d = grid.canvas().devicePixelRatioF()
        for ch in range(6):
            r = grid.tile_rect(ch)
            x, y, w, h = (round(v * d) for v in (r.x(), r.y(), r.width(), r.height()))
            k = h // 16
            table, lo, hi = expected_range(acts[ch] if norm == "channel" else acts, name)
            if name == "auto":           # one table for the whole layer, by the layer's sign
                table = expected_range(acts, name)[0]
                if table == "CET-D1" and norm == "channel":
                    m = max(-acts[ch].min(), acts[ch].max())
                    lo, hi = -m, m
            assert grid.shown_colormap() == table
            want = enlarge(imageitem_rgb(acts[ch], float(lo), float(hi), table), k)
            np.testing.assert_array_equal(rgb[y:y + h, x:x + w], want)


def test_overlay_export_is_what_its_imageitem_draws(qtbot):
    view = OverlayView()
    qtbot.addWidget(view)
    fmap = sample()
    view.set_native(True)
    view.set_colormap("viridis")
    view.set_channel(fmap, (0, 0, 16, 16), "ch", levels=(-1.3, 2.1))
    heat = view.heat_item()
    heat.render()
    shown = qimage_to_rgb(heat.qimage)
    np.testing.assert_array_equal(shown, imageitem_rgb(fmap, -1.3, 2.1))
    view.set_colormap("auto")          # signed: blue–red over ±2.1
    heat.render()
    np.testing.assert_array_equal(qimage_to_rgb(heat.qimage), imageitem_rgb(fmap, -2.1, 2.1, "CET-D1"))
    shown = qimage_to_rgb(heat.qimage)
    exported = qimage_to_rgb(view.overlay_image())
    k = exported.shape[0] // 16
    np.testing.assert_array_equal(exported, enlarge(shown, k))


def test_figure_colours_are_what_pyqtgraph_draws(qapp, monkeypatch, cat_path):
    from test_figure import _data

    d = _data(cat_path, n=3)
    drawn = []
    real = figure._draw_rgb
    monkeypatch.setattr(figure, "_draw_rgb", lambda p, rgb, box, **kw: (drawn.append(rgb), real(p, rgb, box, **kw))[1])
    figure.render_figure(d, ".png")
    # row 1: photo, demo output, then the 3 demo channels over their shared finite range
    chans = d.demo_channels
    lo, hi = float(chans.min()), float(chans.max())
    for i in range(3):
        np.testing.assert_array_equal(drawn[2 + i], imageitem_rgb(chans[i], lo, hi, d.colormap))
    # row 2: the top channels over the figure's levels
    lo, hi = (float(v) for v in d.levels)
    for i, (_, fmap, _) in enumerate(d.top_channels):
        np.testing.assert_array_equal(drawn[5 + i], imageitem_rgb(fmap, lo, hi, d.colormap))
    # the overlay: at alpha 1 over a rect of the map's own size, the blend is the colouring itself
    fmap = sample()
    photo = np.zeros((16, 16, 3), np.uint8)
    out = figure.overlay_image(photo, fmap, (0, 0, 16, 16), (-1.3, 2.1), "inferno", 1.0)
    np.testing.assert_array_equal(out, imageitem_rgb(fmap, -1.3, 2.1, "inferno"))


def test_demo_panel_channels_are_what_pyqtgraph_draws(qtbot):
    panel = DemoConvPanel()
    qtbot.addWidget(panel)
    panel.set_presets(["random"], "random")
    chans = np.stack([sample((20, 30), seed=s) for s in range(3)])
    photo = np.zeros((20, 30, 3), np.uint8)
    panel.set_result(photo, photo, chans, np.zeros((3, 3, 3, 3), np.float32), np.zeros(3, np.float32),
                     seed=0, preset="random")
    for c in range(3):
        got = qimage_to_rgb(panel.channel_views[c].source_pixmap().toImage())
        np.testing.assert_array_equal(got, imageitem_rgb(chans[c], float(chans[c].min()), float(chans[c].max())))


# ----------------------------------------------------------------------------- names and the sign convention


def test_people_see_labels_and_settings_keep_the_keys():
    from widgets.colormaps import COLORMAP_NAMES, check_colormap, colormap_label

    labels = [colormap_label(k) for k in COLORMAP_NAMES]
    assert not any("CET" in text for text in labels)
    assert colormap_label("viridis") == "viridis (sequential)"
    assert colormap_label("CET-D1") == "blue–red (diverging)"
    # a saved key, the label or the short name all mean the same map; the key is what is returned
    for name in ("CET-D1", "blue–red (diverging)", "Blue-Red", "blue–red"):
        assert check_colormap(name) == "CET-D1"
    assert check_colormap("CET-L1") == "CET-L1" and check_colormap("grey") == "CET-L1"
    with pytest.raises(ValueError, match="unknown colormap"):
        check_colormap("jet")


def test_diverging_levels_are_centred_on_zero_and_red_is_positive(qapp):
    from widgets.colormaps import display_levels

    assert display_levels("viridis", -0.5, 3.0) == (-0.5, 3.0)
    assert display_levels("CET-D1", -0.5, 3.0) == (-3.0, 3.0)
    assert display_levels("CET-D1", 0.0, 0.0) == (-1.0, 1.0)        # all zero: zero is still the middle
    lo, hi = display_levels("CET-D1", np.array([-1.0, 0.0]), np.array([0.5, 2.0]))
    np.testing.assert_array_equal(lo, [-1.0, -2.0])
    np.testing.assert_array_equal(hi, [1.0, 2.0])
    # What pyqtgraph draws with those levels: positive red, negative blue, zero near white.
    rgb = imageitem_rgb(np.array([[-2.0, 0.0, 2.0]], np.float32), -2.0, 2.0, "CET-D1").astype(int)[0]
    neg, zero, pos = rgb
    assert neg[2] > neg[0] + 100 and pos[0] > pos[2] + 100
    assert zero.min() > 200 and abs(zero[0] - zero[2]) < 20


def test_auto_rule_by_sign(qapp):
    from widgets.colormaps import (CHOICES, auto_colormap, auto_levels, check_colormap, colormap_label,
                                   display_levels, resolve_colormap)

    assert auto_colormap(-0.01, 5.0) == "CET-D1" and auto_colormap(0.0, 5.0) == "viridis"
    assert auto_levels(-0.5, 3.0) == (-3.0, 3.0) and auto_levels(0.2, 3.0) == (0.0, 3.0)
    assert display_levels("auto", 0.2, 3.0) == (0.0, 3.0) and display_levels("auto", -4.0, 3.0) == (-4.0, 4.0)
    assert resolve_colormap("auto", 0.0, 1.0) == "viridis" and resolve_colormap("inferno", -1.0, 1.0) == "inferno"
    # per-channel levels: one table for all of them; a channel ≥ 0 in a signed layer is centred too
    lo, hi = auto_levels(np.array([-1.0, 0.5]), np.array([2.0, 3.0]))
    np.testing.assert_array_equal(lo, [-2.0, -3.0])
    np.testing.assert_array_equal(hi, [2.0, 3.0])
    lo, hi = auto_levels(np.array([0.0, 0.5]), np.array([2.0, 3.0]))
    np.testing.assert_array_equal(lo, [0.0, 0.0])
    np.testing.assert_array_equal(hi, [2.0, 3.0])
    assert CHOICES[0] == "auto" and check_colormap("auto") == "auto" and check_colormap("Auto (by sign)") == "auto"
    assert colormap_label("auto") == "auto (by sign)"
    # colorize with "auto" is the resolved table over the resolved levels
    values = sample()
    m = float(max(-values.min(), values.max()))
    np.testing.assert_array_equal(colorize(values, float(values.min()), float(values.max()), "auto"),
                                  imageitem_rgb(values, -m, m, "CET-D1"))
    relu = np.maximum(values, 0)
    np.testing.assert_array_equal(colorize(relu, 0.3, float(relu.max()), "auto"),
                                  imageitem_rgb(relu, 0.0, float(relu.max()), "viridis"))


@pytest.mark.parametrize("name", ["viridis", "CET-D1"])
def test_heat_opacity_follows_the_value(qapp, name):
    from widgets.colormaps import heat_alpha, heat_lut

    table = heat_lut(name, "value")
    np.testing.assert_array_equal(table[:, :3], lut(name))
    i = np.arange(256)
    want = np.abs(i - 127.5) / 127.5 if name == "CET-D1" else i / 255
    np.testing.assert_array_equal(table[:, 3], np.round(want * 255).astype(np.uint8))
    assert table[0, 3] == (255 if name == "CET-D1" else 0) and table[255, 3] == 255
    np.testing.assert_array_equal(heat_alpha(name, "flat"), np.full(256, 255))
    with pytest.raises(ValueError, match="unknown blend"):
        heat_alpha(name, "multiply")
