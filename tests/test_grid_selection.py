"""Multi-selection in the grid: ctrl toggles, shift takes a range in the order shown, Esc clears.

Ranges are checked against the order numpy's argsort gives the statistic the grid is
sorted by; the marks are read off the painted canvas."""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from widgets.channel_grid import ChannelGrid
from widgets.grid_canvas import HIGHLIGHT, SELECTED
from widgets.qimage import qimage_to_rgb

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


def stats(acts):
    return acts.mean(axis=(1, 2)), acts.max(axis=(1, 2)), (acts > 0).mean(axis=(1, 2))


def relu_layer(c=20, h=14, w=14, seed=3):
    rng = np.random.default_rng(seed)
    return np.maximum(rng.normal(-0.3, 1.0, (c, h, w)) * rng.uniform(0.2, 3, (c, 1, 1)), 0).astype(np.float32)


@pytest.fixture
def grid(qtbot):
    g = ChannelGrid()
    qtbot.addWidget(g)
    g.resize(720, 620)
    g.show()
    qtbot.waitExposed(g)
    return g


@pytest.fixture
def events(grid):
    seen = []
    grid.selectionChanged.connect(lambda chans: seen.append(("selection", list(chans))))
    grid.channelSelected.connect(lambda ch: seen.append(("channel", ch)))
    grid.positionClicked.connect(lambda ch, y, x: seen.append(("position", ch)))
    return seen


def click(grid, qtbot, ch, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.mouseClick(grid.canvas(), Qt.MouseButton.LeftButton, modifier, pos=grid.tile_rect(ch).center().toPoint())


def test_ctrl_click_toggles_without_moving_the_current_channel(grid, qtbot, events):
    acts = relu_layer()
    grid.set_layer("relu5_3", acts, *stats(acts), select=0)
    click(grid, qtbot, 4, CTRL)
    click(grid, qtbot, 9, CTRL)
    assert grid.selected_channels() == [4, 9] and grid.selected_channel() == 0
    click(grid, qtbot, 4, CTRL)
    assert grid.selected_channels() == [9]
    assert events == [("selection", [4]), ("selection", [4, 9]), ("selection", [9])]   # no channelSelected
    assert grid.header().selection_text().startswith("1 selected")


def test_shift_click_selects_the_range_in_sorted_order(grid, qtbot, events):
    acts = relu_layer()
    means = stats(acts)[0]
    grid.set_layer("relu5_3", acts, *stats(acts))
    grid.set_sort("mean")
    order = [int(c) for c in np.argsort(-means, kind="stable")]
    click(grid, qtbot, order[2])                         # plain click: the anchor
    click(grid, qtbot, order[6], SHIFT)
    assert grid.selected_channels() == sorted(order[2:7])
    click(grid, qtbot, order[0], SHIFT)                  # from the same anchor, the other way
    assert grid.selected_channels() == sorted(order[0:3])
    click(grid, qtbot, order[15], CTRL)                  # ctrl moves the anchor
    click(grid, qtbot, order[17], CTRL | SHIFT)          # ctrl+shift adds a range
    assert grid.selected_channels() == sorted(order[0:3] + order[15:18])
    assert grid.header().selection_text().startswith("6 selected")
    assert grid.selected_channel() == order[2]           # the current channel stayed


def test_plain_click_and_escape_clear_the_selection(grid, qtbot, events):
    acts = relu_layer()
    grid.set_layer("relu5_3", acts, *stats(acts), select=0)
    click(grid, qtbot, 3, CTRL)
    click(grid, qtbot, 5, CTRL)
    events.clear()
    click(grid, qtbot, 7)                                # plain: today's behaviour
    assert events == [("selection", []), ("channel", 7), ("position", 7)]
    assert grid.selected_channels() == [] and grid.selected_channel() == 7
    assert not grid.header().selection.isVisible()
    click(grid, qtbot, 1, CTRL)
    events.clear()
    qtbot.keyClick(grid.canvas(), Qt.Key.Key_Escape)
    assert events == [("selection", [])] and grid.selected_channels() == []
    qtbot.keyClick(grid.canvas(), Qt.Key.Key_Escape)     # nothing left to clear: no signal
    assert events == [("selection", [])]


def test_programmatic_selection_and_layer_changes(grid, qtbot, events):
    acts = relu_layer()
    grid.set_layer("relu5_3", acts, *stats(acts))
    grid.set_selected_channels([8, 2, 2, 11])
    assert grid.selected_channels() == [2, 8, 11] and events == []
    with pytest.raises(ValueError, match="out of range"):
        grid.set_selected_channels([3, 20])
    assert grid.selected_channels() == [2, 8, 11]
    grid.set_layer("relu5_3", acts * 0.5, *stats(acts * 0.5))      # the same layer re-run (ablated)
    assert grid.selected_channels() == [2, 8, 11]
    grid.set_layer("relu5_2", acts, *stats(acts))                  # another layer
    assert grid.selected_channels() == []
    grid.set_selected_channels([1])
    grid.clear_selection()
    assert grid.selected_channels() == [] and events == []


def test_selected_tiles_are_marked_apart_from_the_current_one(grid, qtbot):
    acts = relu_layer()
    grid.set_layer("relu5_3", acts, *stats(acts), select=6)
    grid.set_selected_channels([6, 12])

    d = grid.canvas().devicePixelRatioF()

    def ring(img, ch, offset):
        r = grid.tile_rect(ch)
        return img[int(r.center().y() * d), int((r.left() - offset) * d)].astype(int)

    img = qimage_to_rgb(grid.canvas().grab().toImage())
    light = np.array(SELECTED.getRgb()[:3])
    orange = np.array(HIGHLIGHT.getRgb()[:3])
    assert np.abs(ring(img, 12, 4) - light).max() < 30            # selected: the outer light ring
    assert np.abs(ring(img, 6, 4) - light).max() < 30             # selected and current: both
    assert np.abs(ring(img, 6, 2) - orange).max() < 30
    assert np.abs(ring(img, 12, 2) - orange).max() > 100          # selected only: no orange
    assert np.abs(ring(img, 3, 4) - light).max() > 100            # neither
    export = qimage_to_rgb(grid.grid_image())
    assert np.abs(ring(export, 12, 4) - light).max() > 100


def test_shift_click_first_takes_the_range_from_the_current_channel(grid, qtbot, events):
    acts = relu_layer()
    grid.set_layer("relu5_3", acts, *stats(acts), select=4)     # no click yet: the current channel anchors
    click(grid, qtbot, 8, SHIFT)
    assert grid.selected_channels() == [4, 5, 6, 7, 8] and events == [("selection", [4, 5, 6, 7, 8])]
