"""The grid says where in a map it was clicked, and marks the probed cell.

A click is sent to the canvas at the pixel that shows a map cell (found from the tile's
rectangle and the map's size, written out here); the cell it reports must be that cell,
and the colour painted under the click must be that cell's colour (coloured here, as in
test_channel_grid), so the mapping follows what is drawn, margins and sampling included.
"""
import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from widgets.grid_canvas import SELECTED
from widgets.colormaps import lut
from widgets.qimage import qimage_to_rgb


def stats(acts):
    return acts.mean(axis=(1, 2)), acts.max(axis=(1, 2)), (acts > 0).mean(axis=(1, 2))


def relu_maps(c=8, h=14, w=14, seed=0):
    """Mostly zero after a ReLU, a few strong spots: how trained maps look."""
    rng = np.random.default_rng(seed)
    out = np.maximum(rng.normal(-1.0, 1.0, (c, h, w)), 0)
    for k in range(c):
        y, x = rng.integers(0, h), rng.integers(0, w)
        out[k, y, x] += 4 + k
    return out.astype(np.float32)


def colour(value, lo, hi):
    idx = np.floor((np.float32(value) - np.float32(lo)) * np.float32(256.0 / (hi - lo)))
    return lut("viridis")[int(np.clip(idx, 0, 255))]


@pytest.fixture
def grid(viridis_grid):
    return viridis_grid


def pixel_of_cell(grid, ch, y, x, shape):
    """The canvas pixel that holds the centre of map cell (y, x) of channel ``ch``."""
    r = grid.tile_rect(ch)
    h, w = shape
    return QPoint(math.floor(r.x() + (x + 0.5) * r.width() / w), math.floor(r.y() + (y + 0.5) * r.height() / h))


def at(rgb, grid, p):
    """The painted pixel under canvas point ``p`` (images are at the screen's pixel density)."""
    d = grid.canvas().devicePixelRatioF()
    return rgb[math.floor(p.y() * d), math.floor(p.x() * d)]


def click(grid, qtbot, point, modifier=Qt.KeyboardModifier.NoModifier):
    got = []
    grid.positionClicked.connect(lambda *a: got.append(a))
    qtbot.mouseClick(grid.canvas(), Qt.MouseButton.LeftButton, modifier, pos=point)
    grid.positionClicked.disconnect()
    return got


def test_click_on_a_14x14_tile_names_every_cell(grid, qtbot):
    acts = relu_maps()
    grid.set_layer("relu5_3", acts, *stats(acts), select=0)
    rgb = qimage_to_rgb(grid.grid_image())
    order = []
    grid.channelSelected.connect(lambda ch: order.append(("channel", ch)))
    grid.positionClicked.connect(lambda ch, y, x: order.append(("position", ch, y, x)))
    for y in range(14):
        for x in range(14):
            p = pixel_of_cell(grid, 3, y, x, (14, 14))
            qtbot.mouseClick(grid.canvas(), Qt.MouseButton.LeftButton, pos=p)
            assert order[-2:] == [("channel", 3), ("position", 3, y, x)]
            assert grid.map_position(3, p) == (y, x)
            np.testing.assert_array_equal(at(rgb, grid, p), colour(acts[3, y, x], acts[3].min(), acts[3].max()))
    # the four corners' pixels of another tile: the outermost cells
    r = grid.tile_rect(6)
    e = 0.25                                                  # inside the last pixel at any density
    for (px, py), cell in [((r.left(), r.top()), (0, 0)), ((r.right() - e, r.top()), (0, 13)),
                           ((r.left(), r.bottom() - e), (13, 0)), ((r.right() - e, r.bottom() - e), (13, 13))]:
        assert grid.map_position(6, QPointF(px, py)) == cell
    assert grid.map_position(6, QPointF(r.left() - e, r.top())) is None


def test_a_224_map_reports_the_cell_drawn_under_the_click(grid, qtbot):
    """224 rows in a 80-px tile: each pixel shows a 2-row block box-averaged, so a click cannot
    name every row; it names the one under the pixel's centre, within the block drawn there."""
    h = w = 224
    yy, xx = np.mgrid[0:h, 0:w]
    acts = np.stack([yy // 2, xx // 2]).astype(np.float32)   # a tile's colour says the 2-cell block
    grid.set_layer("conv1_1", acts, *stats(acts), select=0)
    rgb = qimage_to_rgb(grid.grid_image())
    r = grid.tile_rect(0)
    assert r.width() < w                                     # the map is shrunk to fit its tile
    for y, x in [(0, 0), (1, 1), (100, 57), (111, 112), (222, 3), (223, 223), (150, 190)]:
        for ch in (0, 1):
            p = pixel_of_cell(grid, ch, y, x, (h, w))
            got = click(grid, qtbot, p)
            assert len(got) == 1 and got[0][0] == ch
            cy, cx = got[0][1:]
            assert abs(cy - y) <= 2 and abs(cx - x) <= 2          # a pixel spans 2.8 cells
            drawn = at(rgb, grid, p)
            np.testing.assert_array_equal(drawn, colour(acts[ch, cy, cx], 0, 111))
    # every pixel of the tile maps inside the map, and the mapping is monotone along a row
    r = grid.tile_rect(1)
    cols = [grid.map_position(1, QPoint(int(r.left()) + i, int(r.center().y())))[1] for i in range(int(r.width()))]
    assert cols[0] <= 1 and cols[-1] >= 221 and all(b > a for a, b in zip(cols, cols[1:]))


def test_click_outside_the_thumbnail_selects_without_a_position(grid, qtbot):
    acts = relu_maps()
    grid.set_layer("relu5_3", acts, *stats(acts), select=0)
    r = grid.tile_rect(2)
    caption = QPoint(int(r.center().x()), int(r.bottom() + 6))     # on the caption under the tile
    with qtbot.waitSignal(grid.channelSelected) as sig:
        got = click(grid, qtbot, caption)
    assert sig.args == [2] and got == []
    assert grid.map_position(2, caption) is None
    assert grid.map_position(2, QPoint(int(r.left()) - 1, int(r.top()))) is None   # the tile's margin
    assert grid.map_position(5, QPoint(int(r.center().x()), int(r.center().y()))) is None   # another tile


def test_a_non_square_map_keeps_its_aspect(grid, qtbot):
    acts = relu_maps(c=4, h=7, w=14)
    grid.set_layer("odd", acts, *stats(acts), select=0)
    r = grid.tile_rect(1)
    assert r.width() == pytest.approx(2 * r.height())
    for y, x in [(0, 0), (6, 13), (3, 9)]:
        assert click(grid, qtbot, pixel_of_cell(grid, 1, y, x, (7, 14))) == [(1, y, x)]


def test_probe_marker_draws_a_cross_on_the_cell(grid, qtbot):
    acts = np.zeros((6, 14, 14), np.float32)                 # all dark: the cross must stand out
    acts[:, 0, 0] = 1.0
    grid.set_layer("relu5_3", acts, *stats(acts), select=0)
    canvas = grid.canvas()
    p = pixel_of_cell(grid, 4, 9, 5, (14, 14))
    before_img = qimage_to_rgb(canvas.grab().toImage()).astype(int)
    before = at(before_img, grid, p)
    grid.set_probe_marker(4, 9, 5)
    assert grid.probe_marker() == (4, 9, 5)
    shot = qimage_to_rgb(canvas.grab().toImage()).astype(int)
    light = np.array([SELECTED.red(), SELECTED.green(), SELECTED.blue()])
    assert np.abs(at(shot, grid, p) - light).max() < 40 and np.abs(before - light).max() > 100
    q = pixel_of_cell(grid, 4, 2, 12, (14, 14))              # far from the cross: unchanged
    np.testing.assert_array_equal(at(shot, grid, q), at(before_img, grid, q))
    grid.clear_probe_marker()
    assert grid.probe_marker() is None
    np.testing.assert_array_equal(at(qimage_to_rgb(canvas.grab().toImage()), grid, p), before)
    with pytest.raises(ValueError, match="outside the layer"):
        grid.set_probe_marker(4, 14, 0)
    grid.set_probe_marker(4, 9, 5)
    grid.set_layer("relu5_3", acts, *stats(acts))             # the same layer again: kept
    assert grid.probe_marker() == (4, 9, 5)
    other = np.zeros((6, 28, 28), np.float32)
    grid.set_layer("relu4_3", other, *stats(other))            # another layer: gone
    assert grid.probe_marker() is None


def test_caption_note_says_where_the_data_comes_from(grid, qtbot):
    acts = relu_maps()
    grid.set_layer("features.30 (pool5)", acts, *stats(acts))
    grid.set_caption_note("after the ablation of conv5_3: 2 channels")
    header = grid.header()
    assert grid.caption_note() == "after the ablation of conv5_3: 2 channels" and header.note.isVisible()
    qtbot.waitUntil(lambda: header.note.shown_text() == header.note.text())   # whole when there is room
    assert grid._caption.shown_text().startswith("features.30 (pool5)")
    grid.set_layer("features.30 (pool5)", acts + 1, *stats(acts + 1))    # a layer shown anew drops it
    assert grid.caption_note() == "" and not header.note.isVisible()
    grid.set_caption_note("after the ablation of conv5_3: 2 channels")
    grid.set_vector("classifier.0 (fc6)", np.arange(10, dtype=np.float32))
    assert grid.caption_note() == ""
