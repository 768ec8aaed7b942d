"""What the grid says about its colours and tiles: captions for the sorted-by statistic, the
colour bar's range in both scale modes, the sign convention of the diverging map, and
text that is neither clipped nor run together.

Expected numbers are computed here from the activations (numpy min/max/mean), and the
captions are checked on the painted grid image, not only as strings."""
import re

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF

from widgets.channel_grid import ChannelGrid
from widgets.grid_canvas import BACKGROUND
from widgets.qimage import qimage_to_rgb


def stats(acts):
    return acts.mean(axis=(1, 2)), acts.max(axis=(1, 2)), (acts > 0).mean(axis=(1, 2))


def small_mixed_layer(c=130, h=8, w=8, seed=0):
    """Small values of both signs, three-digit channel indices: the captions that used to collide
    ("#125μ -0.00793")."""
    rng = np.random.default_rng(seed)
    acts = rng.normal(0.0, 0.01, (c, h, w)) + rng.normal(0.0, 0.01, (c, 1, 1))
    if c > 125:
        acts[125] += -0.00793 - acts[125].mean()
    return acts.astype(np.float32)


@pytest.fixture
def grid(qtbot):
    g = ChannelGrid()
    qtbot.addWidget(g)
    g.resize(430, 600)       # about the grid's width in a 1280×720 window
    g.show()
    qtbot.waitExposed(g)
    return g


def significant_digits(number: str) -> int:
    mantissa = number.lstrip("-").split("e")[0].replace(".", "")
    return len(mantissa.lstrip("0"))


PARSE = {"mean": r"μ (\S+)", "max": r"max (\S+)", "active": r"(\S+)% >0"}


@pytest.mark.parametrize("sort, stat", [("index", "mean"), ("mean", "mean"), ("max", "max"), ("active", "active")])
def test_tile_captions_show_the_sorted_statistic_with_three_digits(grid, sort, stat):
    acts = small_mixed_layer()
    means, maxs, fracs = stats(acts)
    grid.set_layer("conv5_3", acts, means, maxs, fracs)
    grid.set_sort(sort)
    want = {"mean": means, "max": maxs, "active": 100 * fracs}[stat]
    canvas = grid.canvas()
    for ch in range(acts.shape[0]):
        index, value = canvas.caption(ch)
        assert index == f"#{ch}"
        m = re.fullmatch(PARSE[stat], value)
        assert m, value
        assert float(m[1]) == pytest.approx(float(want[ch]), rel=5.01e-3, abs=1e-12)
        if float(want[ch]) != 0:
            assert significant_digits(m[1]) == 3, value


@pytest.mark.parametrize("sort", ["index", "max", "active"])
def test_index_and_value_have_their_own_space_in_the_painted_grid(grid, sort):
    acts = small_mixed_layer()
    grid.set_layer("conv5_3", acts, *stats(acts))
    grid.set_sort(sort)
    canvas = grid.canvas()
    fm = QFontMetricsF(canvas.caption_font())
    rgb = qimage_to_rgb(grid.grid_image())
    d = canvas.devicePixelRatioF()
    bg = np.array([BACKGROUND.red(), BACKGROUND.green(), BACKGROUND.blue()])
    for ch in range(120, 130):
        index, value = canvas.caption(ch)
        rect = canvas.caption_rect(ch)
        w_index, w_value = fm.horizontalAdvance(index), fm.horizontalAdvance(value)
        assert w_index + w_value + 2 <= rect.width(), (index, value)
        # The strip between the end of the index and the start of the value is empty background.
        x0, x1 = int(np.ceil((rect.left() + w_index + 1) * d)), int((rect.right() - w_value - 1) * d)
        y0, y1 = int(rect.top() * d), int(rect.bottom() * d)
        assert x1 > x0
        gap = rgb[y0:y1, x0:x1].astype(int)
        assert (np.abs(gap - bg).max(axis=2) < 40).all(), f"caption of #{ch} runs together: {index} {value}"
        # ...and the caption has ink on both sides of the gap
        for a, b in ((int(rect.left() * d), x0), (x1, int(rect.right() * d))):
            assert (np.abs(rgb[y0:y1, a:b].astype(int) - bg).max(axis=2) > 60).any()


def numbers(text):
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]


def test_colour_bar_range_per_channel_and_shared(grid, qtbot):
    rng = np.random.default_rng(3)
    acts = (rng.normal(size=(12, 10, 10)) * rng.uniform(0.1, 5.0, (12, 1, 1))).astype(np.float32)
    grid.set_colormap("viridis")                 # a fixed sequential map: each range as it is
    grid.set_layer("conv2_1", acts, *stats(acts), select=3)
    bar = grid.colorbar()
    assert bar.isVisible()

    def check_channel(ch):
        lo_text, hi_text, note = bar.texts()
        assert (lo_text, hi_text) == ("channel min", "channel max") and "per channel" in note
        assert bar.levels() == pytest.approx((acts[ch].min(), acts[ch].max()))
        assert f"#{ch}:" in note
        got = numbers(note.split(":", 1)[1])[:2]
        assert got == pytest.approx([acts[ch].min(), acts[ch].max()], rel=5.01e-3)

    check_channel(3)
    grid.select_channel(7)                       # the bar follows the selection
    check_channel(7)
    with qtbot.waitSignal(grid.channelSelected):
        qtbot.keyClick(grid.canvas(), Qt.Key.Key_Right)
    check_channel(8)

    with qtbot.waitSignal(grid.normalizationChanged):
        grid._norm_combo.setCurrentIndex(grid._norm_combo.findData("layer"))
    lo_text, hi_text, note = bar.texts()
    assert "shared" in note and "per channel" not in note
    assert bar.levels() == pytest.approx((acts.min(), acts.max()))
    assert float(lo_text) == pytest.approx(acts.min(), rel=5.01e-3)
    assert float(hi_text) == pytest.approx(acts.max(), rel=5.01e-3)
    grid.select_channel(2)                       # shared: the same range whatever is selected
    assert bar.levels() == pytest.approx((acts.min(), acts.max()))
    lo, hi, note = grid.channel_range(2)          # what the overlay can be given to follow the grid
    assert (lo, hi) == pytest.approx((acts.min(), acts.max())) and note == "shared by the layer"

    grid.set_vector("fc6", rng.random(64).astype(np.float32))   # bars are not colour-mapped
    assert not bar.isVisible()
    grid.set_layer("conv2_1", acts, *stats(acts))
    assert bar.isVisible()


def test_diverging_map_is_red_for_positive_blue_for_negative(grid, qtbot):
    # Three bands: -1, 0, +2. With a range centred on 0, -1 is blue, 0 the neutral middle, +2 red.
    ch = np.zeros((12, 12), np.float32)
    ch[:, :4], ch[:, 8:] = -1.0, 2.0
    acts = np.stack([ch, 0.5 * ch])
    grid.set_layer("conv", acts, *stats(acts))
    with qtbot.waitSignal(grid.colormapChanged) as sig:
        grid._cmap_combo.setCurrentIndex(grid._cmap_combo.findData("CET-D1"))
    assert sig.args == ["CET-D1"]
    assert "diverging" in grid._cmap_combo.currentText()
    for norm in ("channel", "layer"):
        grid.set_normalization(norm)
        rgb = qimage_to_rgb(grid.grid_image())
        d = grid.canvas().devicePixelRatioF()
        r = grid.tile_rect(0)
        x, y, w, h = (round(v * d) for v in (r.x(), r.y(), r.width(), r.height()))
        tile = rgb[y:y + h, x:x + w].astype(int)
        neg, zero, pos = (tile[:, i * w // 3 + 2:(i + 1) * w // 3 - 2].reshape(-1, 3).mean(axis=0) for i in range(3))
        assert neg[2] > neg[0] + 40, f"negative is not blue: {neg}"
        assert pos[0] > pos[2] + 40, f"positive is not red: {pos}"
        assert zero.min() > 200 and abs(zero[0] - zero[2]) < 25, f"zero is not neutral: {zero}"
        assert grid.colorbar().levels() == pytest.approx((-2.0, 2.0))   # centred on 0
    grid.set_colormap("viridis")                   # back to a sequential map: the data's range
    assert grid.colorbar().levels() == pytest.approx((-1.0, 2.0))


def test_header_is_not_clipped_and_combos_are_not_cut(grid):
    acts = small_mixed_layer(c=4)
    grid.set_layer("classifier.6 (fc8)", acts, *stats(acts))
    header = grid._caption
    assert header.shown_text() == "classifier.6 (fc8) — 4×8×8"
    assert header.contentsRect().left() >= 4
    img = qimage_to_rgb(header.grab().toImage()).astype(int)
    background = img[:, 0]
    assert (np.abs(img[:, :3] - background[:, None]).max() < 30), "text drawn on the label's very edge"
    assert (np.abs(img - background[:, None]).max(axis=2) > 100).any()     # but text is drawn
    grid.set_normalization("layer")
    for combo in (grid._cmap_combo, grid._norm_combo, grid._sort_combo):
        shown = combo.shown_text()
        full, short = combo.currentText(), combo.short_text(combo.currentIndex())
        assert shown in (full, short), f"{shown!r} is cut"   # never "shared across laye"
        assert combo.width() >= combo.minimumSizeHint().width()
        assert "CET" not in "".join(combo.itemText(i) for i in range(combo.count()))
