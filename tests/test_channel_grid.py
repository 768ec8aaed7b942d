"""ChannelGrid: the mosaic shows every channel correctly coloured, sorts, selects and switches views.

Pixels of the exported grid are compared with an independent colouring of each
channel (colormaps.colorize + np.repeat), so layout or normalisation mistakes show.
"""
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from widgets.colormaps import COLORMAP_NAMES, lut
from widgets.qimage import qimage_to_rgb


def stats(acts):
    return acts.mean(axis=(1, 2)), acts.max(axis=(1, 2)), (acts > 0).mean(axis=(1, 2))


def random_layer(c=16, h=20, w=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(c, h, w)).astype(np.float32)


def smooth_layer(c=64, h=56, w=56, seed=0):
    """ReLU'd smooth random fields with varied strength: a plausible conv layer."""
    rng = np.random.default_rng(seed)
    f = np.fft.rfft2(rng.standard_normal((c, h, w)))
    ky, kx = np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :]
    f *= np.exp(-(ky ** 2 + kx ** 2) * (h / 5) ** 2)
    out = np.fft.irfft2(f, s=(h, w))
    out *= rng.uniform(0.2, 3.0, (c, 1, 1)) / out.std(axis=(1, 2), keepdims=True)
    return np.maximum(out, 0).astype(np.float32)


@pytest.fixture
def grid(viridis_grid):
    """A grid on a fixed map (viridis over each range as given): the layout and colouring tests
    compare with colorize over min..max. The default "auto" is tested in test_colormaps."""
    return viridis_grid


def tile_pixels(grid, rgb, ch):
    """The RGB pixels of channel ch's thumbnail inside the exported grid image."""
    r = grid.tile_rect(ch)
    d = grid.canvas().devicePixelRatioF()
    x, y, w, h = (round(v * d) for v in (r.x(), r.y(), r.width(), r.height()))
    return rgb[y:y + h, x:x + w]


def colour(channel, lo, hi, name="viridis"):
    """Reference colouring, pyqtgraph ImageItem's convention: 256 equal bins over lo..hi."""
    idx = np.floor((channel.astype(np.float32) - np.float32(lo)) * np.float32(256.0 / (hi - lo)))
    return lut(name)[np.clip(idx, 0, 255).astype(np.uint8)]


def expected_tile(channel, lo, hi, shape, name="viridis"):
    """Independent reference: colour at native size, then nearest-enlarge by an integer factor."""
    k = shape[0] // channel.shape[0]
    assert shape[0] == k * channel.shape[0] and shape[1] == k * channel.shape[1], "test expects an integer zoom"
    return np.repeat(np.repeat(colour(channel, lo, hi, name), k, axis=0), k, axis=1)


def test_every_channel_is_a_correctly_coloured_tile(grid):
    acts = random_layer()
    grid.set_layer("conv1_1", acts, *stats(acts))
    assert grid.page() == "grid" and grid.layer_name() == "conv1_1"
    img = grid.grid_image()
    assert not img.isNull()
    rgb = qimage_to_rgb(img)
    top = lut("viridis")[255]
    rects = []
    for ch in range(16):
        tile = tile_pixels(grid, rgb, ch)
        assert tile.shape[0] >= 60 and tile.shape[0] == tile.shape[1]
        # per-channel normalisation: the channel's maximum is the top colour of the map...
        assert (tile.reshape(-1, 3) == top).all(axis=1).any()
        # ...and the whole tile matches an independent colouring of that channel.
        np.testing.assert_array_equal(tile, expected_tile(acts[ch], acts[ch].min(), acts[ch].max(), tile.shape))
        rects.append(grid.tile_rect(ch))
    # 16 distinct, non-overlapping tiles; the cell after the last one is empty.
    assert all(not a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
    cols = grid.columns()
    step_x = rects[1].x() - rects[0].x()
    step_y = rects[cols].y() - rects[0].y()
    after = rects[15].center()
    if 16 % cols:
        after.setX(after.x() + step_x)
    else:
        after.setY(after.y() + step_y)
    assert grid.tile_at(after.toPoint()) is None


def test_default_selection_is_strongest_channel(grid):
    acts = random_layer()
    means, maxs, fracs = stats(acts)
    grid.set_layer("conv1_1", acts, means, maxs, fracs)
    assert grid.selected_channel() == int(np.argmax(means))
    grid.set_layer("conv1_1", acts, means, maxs, fracs, select=3)
    assert grid.selected_channel() == 3


def test_sort_by_mean_reorders_tiles(grid, qtbot):
    acts = random_layer()
    means, maxs, fracs = stats(acts)
    grid.set_layer("conv1_1", acts, means, maxs, fracs)
    first = grid.tile_rect(0).center().toPoint()          # index order: channel 0 comes first
    assert grid.tile_at(first) == 0
    with qtbot.waitSignal(grid.sortChanged) as sig:
        grid.set_sort("mean")
    assert sig.args == ["mean"] and grid.sort_key() == "mean"
    assert grid.tile_at(first) == int(np.argmax(means))
    # every tile position follows descending means
    shown = [grid.tile_at(grid.tile_rect(int(ch)).center().toPoint()) for ch in np.argsort(-means)]
    assert shown == [int(ch) for ch in np.argsort(-means)]
    rgb = qimage_to_rgb(grid.grid_image())
    ch = int(np.argmax(means))
    np.testing.assert_array_equal(tile_pixels(grid, rgb, ch),
                                  expected_tile(acts[ch], acts[ch].min(), acts[ch].max(),
                                                tile_pixels(grid, rgb, ch).shape))


def test_sort_combo_emits_and_active_sort(grid, qtbot):
    acts = random_layer()
    means, maxs, fracs = stats(acts)
    grid.set_layer("conv1_1", acts, means, maxs, fracs)
    first = grid.tile_rect(0).center().toPoint()
    combo = grid._sort_combo
    with qtbot.waitSignal(grid.sortChanged) as sig:
        combo.setCurrentIndex(combo.findData("active"))
    assert sig.args == ["active"] and grid.sort_key() == "active"
    assert grid.tile_at(first) == int(np.argsort(-fracs, kind="stable")[0])


def test_click_selects_channel(grid, qtbot):
    acts = random_layer()
    grid.set_layer("conv1_1", acts, *stats(acts), select=0)
    target = grid.tile_rect(5).center().toPoint()
    with qtbot.waitSignal(grid.channelSelected) as sig:
        qtbot.mouseClick(grid.canvas(), Qt.MouseButton.LeftButton, pos=target)
    assert sig.args == [5]
    assert grid.selected_channel() == 5


def test_arrow_keys_move_in_display_order(grid, qtbot):
    acts = random_layer()
    means, maxs, fracs = stats(acts)
    grid.set_layer("conv1_1", acts, means, maxs, fracs, select=5)
    canvas = grid.canvas()
    with qtbot.waitSignal(grid.channelSelected) as sig:
        qtbot.keyClick(canvas, Qt.Key.Key_Right)
    assert sig.args == [6]
    cols = grid.columns()
    assert 1 < cols < 16
    with qtbot.waitSignal(grid.channelSelected) as sig:
        qtbot.keyClick(canvas, Qt.Key.Key_Down)
    assert sig.args == [6 + cols]
    with qtbot.waitSignal(grid.channelSelected) as sig:
        qtbot.keyClick(canvas, Qt.Key.Key_End)
    assert sig.args == [15]
    assert canvas.focusPolicy() == Qt.FocusPolicy.StrongFocus and grid.focusProxy() is canvas
    with qtbot.waitSignal(grid.channelSelected) as sig:          # keys sent to the grid itself work too
        qtbot.keyClick(grid, Qt.Key.Key_Left)
    assert sig.args == [14]
    # In sorted order "Right" goes to the next-strongest channel.
    grid.set_sort("mean")
    order = [int(c) for c in np.argsort(-means, kind="stable")]
    grid.select_channel(order[0])
    with qtbot.waitSignal(grid.channelSelected) as sig:
        qtbot.keyClick(canvas, Qt.Key.Key_Right)
    assert sig.args == [order[1]]
    with qtbot.waitSignal(grid.channelSelected) as sig:
        qtbot.keyClick(canvas, Qt.Key.Key_Home)
    assert sig.args == [order[0]]


def test_shared_normalisation_shows_relative_strength(grid, qtbot):
    base = np.abs(random_layer(c=4, seed=1))
    acts = base.copy()
    acts[1] = 0.5 * base[0]            # same pattern, half the strength
    grid.set_layer("conv2_1", acts, *stats(acts))
    rgb = qimage_to_rgb(grid.grid_image())
    # per channel: the two tiles look identical
    np.testing.assert_array_equal(tile_pixels(grid, rgb, 0), tile_pixels(grid, rgb, 1))

    with qtbot.waitSignal(grid.normalizationChanged) as sig:
        grid.set_normalization("layer")
    assert sig.args == ["layer"]
    rgb = qimage_to_rgb(grid.grid_image())
    lo, hi = float(acts.min()), float(acts.max())
    t0, t1 = tile_pixels(grid, rgb, 0), tile_pixels(grid, rgb, 1)
    np.testing.assert_array_equal(t0, expected_tile(acts[0], lo, hi, t0.shape))
    np.testing.assert_array_equal(t1, expected_tile(acts[1], lo, hi, t1.shape))
    # viridis brightens with the value: the weaker channel is visibly darker
    assert t1.astype(float).mean() < t0.astype(float).mean() - 10


def test_colormap_change_swaps_colours(grid, qtbot):
    acts = random_layer()
    grid.set_layer("conv1_1", acts, *stats(acts))
    with qtbot.waitSignal(grid.colormapChanged) as sig:
        grid._cmap_combo.setCurrentIndex(grid._cmap_combo.findData("inferno"))
    assert sig.args == ["inferno"] and grid.colormap() == "inferno"
    rgb = qimage_to_rgb(grid.grid_image())
    t = tile_pixels(grid, rgb, 2)
    np.testing.assert_array_equal(t, expected_tile(acts[2], acts[2].min(), acts[2].max(), t.shape, "inferno"))
    with pytest.raises(ValueError, match="unknown colormap"):
        grid.set_colormap("no-such-map")
    assert grid.colormap() == "inferno" and "inferno" in COLORMAP_NAMES


def test_columns_follow_width(grid, qtbot):
    acts = random_layer(c=40)
    grid.set_layer("conv1_1", acts, *stats(acts))
    wide = grid.columns()
    grid.resize(360, 520)
    qtbot.waitUntil(lambda: grid.columns() < wide)
    for ch in (0, 17, 39):
        assert grid.tile_at(grid.tile_rect(ch).center().toPoint()) == ch


def test_vector_layer_shows_labelled_bars(grid):
    rng = np.random.default_rng(2)
    values = rng.normal(size=1000).astype(np.float32)
    names = [f"class {i}" for i in range(1000)]
    grid.set_vector("fc8", values, names)
    assert grid.page() == "bars" and grid.layer_name() == "fc8"
    assert grid.selected_channel() is None
    top10 = [int(i) for i in np.argsort(-values)[:10]]
    assert [i for i, _ in grid.bar_chart().labelled()] == top10
    assert [t for _, t in grid.bar_chart().labelled()] == [names[i] for i in top10]
    np.testing.assert_array_equal(grid.bar_chart().values(), values)
    assert not grid.grid_image().isNull()
    # unlabelled linear layer: bars, no names
    grid.set_vector("fc6", rng.random(4096, dtype=np.float32))
    assert grid.page() == "bars" and grid.bar_chart().labelled() == []
    # back to a conv layer, then the empty state
    acts = random_layer()
    grid.set_layer("conv1_1", acts, *stats(acts))
    assert grid.page() == "grid"
    grid.clear()
    assert grid.page() == "empty" and grid.layer_name() is None and grid.grid_image().isNull()


def test_float16_and_bad_input(grid):
    acts = random_layer().astype(np.float16)
    grid.set_layer("conv1_1", acts, *stats(acts.astype(np.float32)))
    rgb = qimage_to_rgb(grid.grid_image())
    a = acts[4].astype(np.float32)
    t = tile_pixels(grid, rgb, 4)
    np.testing.assert_array_equal(t, expected_tile(a, a.min(), a.max(), t.shape))

    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        grid.set_layer("bad", np.zeros((4, 4), np.float32), np.zeros(4), np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="means must have 16"):
        grid.set_layer("bad", random_layer(), np.zeros(3), np.zeros(16), np.zeros(16))
    nan = random_layer()
    nan[2, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        grid.set_layer("bad", nan, *stats(random_layer()))
    # the previous layer is still intact
    assert grid.layer_name() == "conv1_1" and grid.page() == "grid"


def test_screenshot_realistic_layer(grid, qtbot, tmp_path):
    acts = smooth_layer()
    grid.resize(900, 650)
    grid.set_layer("conv3_1", acts, *stats(acts))
    grid.set_sort("mean")
    out_dir = Path(os.environ.get("CONVSCOPE_SCREENSHOT_DIR", tmp_path))
    path = out_dir / "grid.png"
    pixmap = grid.grab()
    assert pixmap.save(str(path))
    with Image.open(path) as im:
        shot = np.asarray(im.convert("RGB"))
    assert shot.shape[1] == round(grid.width() * pixmap.devicePixelRatio()) and shot.std() > 20


def test_bar_labels_of_neighbouring_classes_do_not_overlap(grid, qtbot):
    values = np.zeros(1000, np.float32)
    values[[281, 282, 283, 284, 285, 286, 287]] = [9.0, 8.8, 8.7, 8.6, 8.5, 8.4, 8.3]   # adjacent cat breeds
    values[[10, 500, 900]] = [5.0, 4.0, 3.0]
    names = [f"a rather long class name {i}" for i in range(1000)]
    grid.set_vector("fc8", values, names)
    qtbot.waitUntil(lambda: grid.bar_chart().isVisible())
    chart = grid.bar_chart()
    texts = chart._texts
    assert len(texts) == 10
    boxes = [t.sceneBoundingRect() for t in texts]
    assert all(not a.intersects(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    frame = chart.plot_widget().getViewBox().sceneBoundingRect()
    assert all(frame.contains(b) for b in boxes)       # none pushed out of the plot


def test_the_engines_minima_colour_the_tiles_as_the_grids_own_would(grid):
    """``mins`` from the engine's statistics replace the grid's own pass over the activations (the UI
    thread computes no statistics): with the true minima the picture is the same; with other minima
    the tiles follow them (so they are used), and a wrong count is one line."""
    acts = smooth_layer(c=12, h=28, w=28) - 0.3   # some negative values: the minima matter
    grid.set_layer("own", acts, *stats(acts))
    own = qimage_to_rgb(grid.grid_image())
    grid.set_layer("given", acts, *stats(acts), mins=acts.min(axis=(1, 2)))
    np.testing.assert_array_equal(qimage_to_rgb(grid.grid_image()), own)
    grid.set_layer("lower", acts, *stats(acts), mins=acts.min(axis=(1, 2)) - 5.0)
    assert not np.array_equal(qimage_to_rgb(grid.grid_image()), own)
    with pytest.raises(ValueError, match="mins must have 12 entries"):
        grid.set_layer("bad", acts, *stats(acts), mins=np.zeros(3))
