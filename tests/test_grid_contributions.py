"""The grid sorted by contribution to a class: order, signed labels in red/blue, asking for them.

Orders are compared with numpy's argsort of the values passed in; label colours are read
off the painted grid image."""
import numpy as np
import pytest

from widgets.channel_grid import ChannelGrid
from widgets.grid_canvas import NEGATIVE, POSITIVE
from widgets.qimage import qimage_to_rgb


def stats(acts):
    return acts.mean(axis=(1, 2)), acts.max(axis=(1, 2)), (acts > 0).mean(axis=(1, 2))


def relu_layer(c=24, h=14, w=14, seed=0):
    rng = np.random.default_rng(seed)
    return np.maximum(rng.normal(-0.5, 1.0, (c, h, w)), 0).astype(np.float32)


@pytest.fixture
def grid(qtbot):
    g = ChannelGrid()
    qtbot.addWidget(g)
    g.resize(430, 600)
    g.show()
    qtbot.waitExposed(g)
    return g


def display_order(grid):
    return [int(ch) for ch in grid.canvas().order]


def test_sorting_by_contribution_asks_then_orders_largest_first(grid, qtbot):
    acts = relu_layer()
    grid.set_layer("relu5_3", acts, *stats(acts))
    assert grid.contribution_state() == "none"
    with qtbot.waitSignal(grid.contributionsWanted) as sig:
        grid.set_sort("contribution")
    assert sig.args == ["relu5_3"]
    assert grid.contribution_state() == "pending"
    assert display_order(grid) == list(range(24))                  # index order until they come
    assert all(grid.canvas().caption(ch)[1] == "…" for ch in range(24))
    assert "computing contributions" in grid._caption.text()

    values = np.random.default_rng(3).normal(0, 0.3, 24)
    values[5] = 0.0
    grid.set_contributions("relu5_3", values, "tabby")
    assert grid.contribution_state() == "ready"
    assert display_order(grid) == list(np.argsort(-values, kind="stable"))
    combo = grid._sort_combo
    assert combo.currentText() == "contribution to tabby"
    assert "contributions to tabby" in grid._caption.text()
    for ch in range(24):
        text = grid.canvas().caption(ch)[1]
        want = "0" if values[ch] == 0 else ("+" if values[ch] > 0 else "\u2212")
        assert text.startswith(want), text
        if values[ch]:
            assert float(text[1:]) == pytest.approx(abs(values[ch]), rel=5.01e-3)
    assert "pushes it" in grid._tooltip(int(np.argmax(values)))


def test_labels_are_red_when_pushing_up_and_blue_when_pushing_down(grid):
    acts = relu_layer(c=8)
    grid.set_layer("relu5_3", acts, *stats(acts))
    values = np.array([0.42, -0.1, 0.3, -0.25, 0.05, -0.5, 0.2, 0.1])
    grid.set_contributions("relu5_3", values, "tabby")
    grid.set_sort("contribution")
    rgb = qimage_to_rgb(grid.grid_image()).astype(int)
    d = grid.canvas().devicePixelRatioF()
    for ch, v in enumerate(values):
        r = grid.canvas().caption_rect(ch)
        right = rgb[int(r.top() * d):int(r.bottom() * d), int((r.center().x()) * d):int(r.right() * d)].reshape(-1, 3)
        want = POSITIVE if v > 0 else NEGATIVE
        want = np.array([want.red(), want.green(), want.blue()])
        assert (np.abs(right - want).max(axis=1) < 40).sum() >= 3, f"#{ch} {v:+} is not drawn in its sign's colour"
        other = NEGATIVE if v > 0 else POSITIVE
        assert not (np.abs(right - [other.red(), other.green(), other.blue()]).max(axis=1) < 25).any()


def test_layer_change_keeps_the_sort_and_ignores_another_layers_values(grid, qtbot):
    a, b = relu_layer(seed=1), relu_layer(c=16, seed=2)
    grid.set_layer("conv5_3", a, *stats(a))
    grid.set_contributions("conv5_3", np.linspace(-1, 1, 24), "dog")
    grid.set_sort("contribution")
    assert display_order(grid) == list(range(23, -1, -1))
    with qtbot.waitSignal(grid.contributionsWanted) as sig:
        grid.set_layer("conv4_3", b, *stats(b))
    assert sig.args == ["conv4_3"] and grid.sort_key() == "contribution"
    assert grid.contribution_state() == "pending" and display_order(grid) == list(range(16))
    assert grid._sort_combo.currentText() == "contribution ↓"      # the dog's values were conv5_3's
    grid.set_contributions("conv5_3", np.ones(24), "cat")           # for another layer: kept, not used here
    assert grid.contribution_state() == "pending"
    values = np.random.default_rng(4).normal(size=16)
    grid.set_contributions("conv4_3", values, "cat")
    assert display_order(grid) == list(np.argsort(-values, kind="stable"))
    grid.set_layer("conv5_3", a, *stats(a))                         # back: conv5_3's latest values
    assert grid.contributions().label == "cat" and display_order(grid) == list(range(24))

    grid.set_sort("mean")                                           # another sort: the usual captions
    assert display_order(grid) == list(np.argsort(-a.mean(axis=(1, 2)), kind="stable"))
    assert grid.canvas().caption(0)[1].startswith("μ ") and grid.canvas().signs is None


def test_contributions_of_a_new_image_are_asked_again(grid, qtbot):
    acts = relu_layer()
    grid.set_layer("relu5_3", acts, *stats(acts))
    grid.set_contributions("relu5_3", np.arange(24.0), "tabby")
    grid.set_sort("contribution")
    grid.show_pending("relu5_3")                                    # a new image is on its way
    new = relu_layer(seed=9)
    with qtbot.waitSignal(grid.contributionsWanted):
        grid.set_layer("relu5_3", new, *stats(new))
    assert grid.contribution_state() == "pending"
    grid.set_contributions("relu5_3", np.arange(24.0), "tabby")
    other = relu_layer(seed=10)                                     # new activations, same name, no pending
    with qtbot.waitSignal(grid.contributionsWanted):
        grid.set_layer("relu5_3", other, *stats(other))
    grid.set_contributions("relu5_3", -np.arange(24.0), "tabby")
    grid.set_contributions("relu5_3", None, "")                     # None forgets them
    assert grid.contribution_state() == "pending" and grid.contributions() is None


def test_bad_contributions_give_one_line_errors(grid):
    acts = relu_layer()
    grid.set_layer("relu5_3", acts, *stats(acts))
    with pytest.raises(ValueError, match="12 contributions for 24 channels"):
        grid.set_contributions("relu5_3", np.zeros(12), "tabby")
    with pytest.raises(ValueError, match="NaN"):
        grid.set_contributions("relu5_3", np.full(24, np.nan), "tabby")
    with pytest.raises(ValueError, match="1-D"):
        grid.set_contributions("relu5_3", np.zeros((24, 2)), "tabby")
    assert grid.contributions() is None


def test_colour_bars_say_what_their_range_is_at_1280x720(grid, overlay_view):
    """Grid about 430 px wide and the overlay about 300 px in a 1280×720 window: the bar's note
    still starts with what the range is."""
    acts = relu_layer()
    grid.set_layer("features.29 (relu5_3)", acts, *stats(acts))
    bar = grid.colorbar()
    assert bar.shown_note().startswith("per channel")
    grid.set_normalization("layer")
    assert bar.shown_note().startswith("shared by the layer")
    overlay_view.resize(300, 420)
    overlay_view.set_photo(np.zeros((40, 40, 3), np.uint8))
    overlay_view.set_channel(acts[0] - 0.5, (0, 0, 40, 40), "ch")       # signed: the note adds the data range
    assert overlay_view.colorbar().shown_note().startswith("per channel")
    overlay_view.set_channel(acts[0], (0, 0, 40, 40), "ch", levels=(0.0, 5.0))
    assert overlay_view.colorbar().shown_note() == "fixed"
