"""CompareView: A and B on one scale, B − A on the diverging map over the ±L its caller gives (the
engine's rule, inference.compare, tested in test_compare.py; the view has none of its own), the
predictions with their change, the channels that changed most, and the signals.

Colours are read back from grab() at cell centres and compared with the 256-bin rule written
here (pyqtgraph's ImageItem: index = floor((v − lo) · 256 / (hi − lo)), clipped); orders with
numpy's stable argsort written here."""
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from widgets.colormaps import lut
from widgets.compare_view import HINT, CompareView
from widgets.delta_bars import signed
from widgets.qimage import qimage_to_rgb

DIVERGING = "CET-D1"


def relu_maps(h=14, w=14, seed=0):
    """A and B like two runs of a ReLU layer: mostly ≥ 0 and small, a few strong spots."""
    rng = np.random.default_rng(seed)
    a = np.maximum(rng.normal(0.2, 0.6, (h, w)), 0).astype(np.float32)
    b = np.maximum(a + rng.normal(0, 0.3, (h, w)), 0).astype(np.float32)
    a[2, 3] += 14.0
    b[9, 11] += 12.0
    return a, b


def engine_level(d):
    """A stand-in for the engine's ±L, written here: the 99th percentile ("lower") of the changed cells."""
    mag = np.abs(d).ravel()
    mag = mag[mag > 0]
    return float(np.percentile(mag, 99, method="lower")) if mag.size else 0.0


def index(v, lo, hi):
    return int(np.clip(np.floor((np.float32(v) - lo) * 256 / (hi - lo)), 0, 255))


def colour_at(panel, y, x):
    img = qimage_to_rgb(panel.view.grab().toImage())
    p = panel.cell_point(y, x)
    dpr = img.shape[1] / panel.view.width()
    return img[int(p.y() * dpr), int(p.x() * dpr)].astype(int)


@pytest.fixture
def view(qtbot):
    v = CompareView()
    qtbot.addWidget(v)
    v.resize(770, 390)          # the central area of a 1280×720 window
    v.show()
    qtbot.waitExposed(v)
    return v


def settle(qtbot, v):
    qtbot.waitUntil(lambda: v.maps.a.view.isVisible() and v.maps.a.view.height() >= 96)
    qtbot.wait(0)               # the maps' height-for-width settles in the next layout pass


def test_difference_is_symmetric_around_the_neutral_colour(view, qtbot):
    """±x paint colours mirrored about the diverging map's middle, 0 paints the middle colour."""
    a = np.zeros((8, 8), np.float32)
    b = a.copy()
    b[:, :3], b[:, 3:5], b[:, 5:] = 0.7, 0.0, -0.7
    view.set_maps(a, b, b - a, diff_level=1.0)
    settle(qtbot, view)
    lo, hi = view.maps.diff_levels()
    assert (lo, hi) == (-1.0, 1.0)
    item = view.maps.diff.item
    assert tuple(item.levels) == (lo, hi)
    np.testing.assert_array_equal(item.lut, lut(DIVERGING))
    table = lut(DIVERGING)
    i_pos, i_zero, i_neg = index(0.7, lo, hi), index(0.0, lo, hi), index(-0.7, lo, hi)
    assert i_pos + i_neg == 255 and i_zero == 128          # mirrored about the middle
    for y in (1, 6):
        np.testing.assert_allclose(colour_at(view.maps.diff, y, 1), table[i_pos], atol=2)
        np.testing.assert_allclose(colour_at(view.maps.diff, y, 3), table[i_zero], atol=2)
        np.testing.assert_allclose(colour_at(view.maps.diff, y, 6), table[i_neg], atol=2)
    red, blue = colour_at(view.maps.diff, 1, 1), colour_at(view.maps.diff, 1, 6)
    assert red[0] > red[2] + 40 and blue[2] > blue[0] + 40   # red = B higher, blue = B lower


def test_the_difference_is_drawn_over_the_given_level(view, qtbot):
    """The view takes ±L and its words from the caller, and clips what lies beyond: a strong spot
    takes the end colour, a typical change is visibly coloured."""
    a, b = relu_maps()
    d = b - a
    level = engine_level(d)
    note = "±L: 99th percentile of the changed cells' |B − A|; up to 14 beyond it"
    view.set_maps(a, b, d, diff_level=level, diff_note=note)
    settle(qtbot, view)
    lo, hi = view.maps.diff_levels()
    assert (lo, hi) == (-level, level)
    assert tuple(view.maps.diff.item.levels) == (lo, hi)
    assert view.maps.diff_note.text() == note
    table = lut(DIVERGING)
    y, x = np.unravel_index(np.argmax(d), d.shape)          # beyond +L: the red end
    np.testing.assert_allclose(colour_at(view.maps.diff, y, x), table[255], atol=2)
    mag = np.abs(d)
    typical = np.median(mag[mag > 0])
    assert abs(index(typical, lo, hi) - 127.5) > 12        # a typical change is visibly coloured
    with pytest.raises(ValueError, match="diff_level"):    # no rule of its own to fall back on
        view.set_maps(a, b, d)
    for bad in (-1.0, float("nan"), "x"):
        with pytest.raises(ValueError, match="level"):
            view.set_maps(a, b, d, diff_level=bad)


def test_a_and_b_share_one_scale(view, qtbot):
    a, b = relu_maps()
    b[5, 5] = a[5, 5] = 3.0
    view.set_maps(a, b, b - a, titles=("A: cat.png (ImageNet weights)", "B: cat.png (weights from ft.pth)"),
                  diff_level=engine_level(b - a))
    settle(qtbot, view)
    la, lb = tuple(view.maps.a.item.levels), tuple(view.maps.b.item.levels)
    assert la == lb == (0.0, float(max(a.max(), b.max())))   # maps ≥ 0: from 0 to the larger maximum
    np.testing.assert_array_equal(view.maps.a.item.lut, lut("viridis"))
    assert view.maps.a.item.image.flags.c_contiguous and view.maps.a.item.image.dtype == np.float32
    np.testing.assert_allclose(colour_at(view.maps.a, 5, 5), colour_at(view.maps.b, 5, 5), atol=2)
    np.testing.assert_allclose(colour_at(view.maps.a, 5, 5), lut("viridis")[index(3.0, *la)], atol=2)
    assert view.maps.a.title.text() == "A: cat.png (ImageNet weights)"
    assert view.maps.b.title.text() == "B: cat.png (weights from ft.pth)"


def test_shapes_that_disagree_give_a_note(view, qtbot):
    a, b = relu_maps()
    note = "No difference map: A is 14×14, B is 16×16"
    view.set_maps(a, np.pad(b, 1), None, note=note)
    assert view.maps.diff_levels() is None
    assert view.maps.diff.stack.currentWidget() is view.maps.diff.note
    assert view.maps.diff.note.text() == note
    with pytest.raises(ValueError, match="shape"):
        view.set_maps(a, np.pad(b, 1), np.zeros((16, 16), np.float32), diff_level=1.0)


def test_bad_maps_are_refused_in_one_line(view):
    a, b = relu_maps()
    bad = a.copy()
    bad[0, 0] = np.nan
    for args in ((bad, b, None), (a[None], b, None), (a, b, np.full_like(a, np.inf))):
        with pytest.raises(ValueError) as err:
            view.set_maps(*args, diff_level=1.0)
        assert "\n" not in str(err.value)


def test_hover_reads_out_a_b_and_the_difference(view, qtbot):
    a, b = relu_maps()
    view.set_maps(a, b, b - a, diff_level=engine_level(b - a))
    settle(qtbot, view)
    p = view.maps.b.cell_point(9, 11)
    qtbot.mouseMove(view.maps.b.view.viewport(), p)
    qtbot.waitUntil(lambda: view.maps.readout.text().startswith("(y 9, x 11)"))
    text = view.maps.readout.text()
    assert f"A {a[9, 11]:.4g}"[:6] in text and f"B {b[9, 11]:.4g}"[:6] in text and "B − A +" in text


def test_predictions_with_their_change(view):
    rows = [{"label": "tabby, tabby cat", "prob_a": 0.41, "prob_b": 0.12, "index": 281},
            {"label": "Egyptian cat", "prob_a": 0.17, "prob_b": 0.51, "index": 285},
            {"label": "window screen", "prob_a": 0.02, "prob_b": 0.02}]
    a, b = relu_maps()
    view.set_maps(a, b, b - a, diff_level=engine_level(b - a))
    view.set_predictions(rows)
    lines = view.predictions.lines
    assert [ln["name"].text() for ln in lines] == [r["label"] for r in rows]     # the caller's order
    for line, row in zip(lines, rows):
        assert line["a"].text() == f"{row['prob_a'] * 100:.1f}%"
        assert line["b"].text() == f"{row['prob_b'] * 100:.1f}%"
        pp = (row["prob_b"] - row["prob_a"]) * 100
        assert line["delta"].text().endswith(f"{abs(pp):.1f}") or pp == 0
    assert lines[0]["delta"].text().startswith("▼") and lines[1]["delta"].text().startswith("▲")
    assert "#1565c0" in lines[0]["delta"].styleSheet() and "#c62828" in lines[1]["delta"].styleSheet()
    with pytest.raises(ValueError, match="prob_b"):
        view.set_predictions([{"label": "x", "prob_a": 0.3}])


def channel_deltas(c=512, seed=1):
    rng = np.random.default_rng(seed)
    d = rng.normal(0, 0.05, c)
    d[[17, 230, 5, 411]] = [0.91, -0.62, 0.44, -0.38]
    return np.arange(c), d


def test_channel_deltas_sorted_by_magnitude_and_clickable(view, qtbot):
    channels, d = channel_deltas()
    a, b = relu_maps()
    view.set_maps(a, b, b - a, diff_level=engine_level(b - a))
    view.set_channel_deltas(channels, d, means_a=np.zeros(512), means_b=d, layer="relu5_3")
    order = np.argsort(-np.abs(d), kind="stable")[:20]
    bars = view.deltas
    assert list(bars.channels) == list(channels[order])
    np.testing.assert_allclose(bars.deltas, d[order])
    assert list(bars.channels[:4]) == [17, 230, 5, 411]
    assert view.deltas_note().startswith("top 20 of 512")
    assert bars.row_tip(1).startswith("channel 230: mean 0 in A → -0.6200 in B (B − A −0.620), rank 2 of 512")
    # Bars: red to the right of the zero line for a rise, blue to its left for a fall.
    assert bars.bar_rect(0).left() >= bars.bar_rect(1).right() - 1
    for k in (0, 1, 7):
        r = bars.row_rect(k)
        with qtbot.waitSignal(view.channelActivated) as sig:
            qtbot.mouseClick(bars, Qt.MouseButton.LeftButton, pos=QPoint(r.center().x(), r.center().y()))
        assert sig.args == [int(channels[order[k]])]


def test_channel_list_by_keyboard(view, qtbot):
    channels, d = channel_deltas()
    a, b = relu_maps()
    view.set_maps(a, b, b - a, diff_level=engine_level(b - a))
    view.set_channel_deltas(channels, d, top=5)
    assert len(view.deltas.channels) == 5
    view.deltas.setFocus()
    qtbot.waitUntil(view.deltas.hasFocus)
    qtbot.keyClick(view.deltas, Qt.Key.Key_Down)
    with qtbot.waitSignal(view.channelActivated) as sig:
        qtbot.keyClick(view.deltas, Qt.Key.Key_Return)
    assert sig.args == [230]
    assert signed(-0.62) == "−0.620" and signed(0.5) == "+0.500" and signed(0) == "0"
    with pytest.raises(ValueError, match="channels for"):
        view.set_channel_deltas([1, 2], [0.1])


def test_unpin_and_the_hint(view, qtbot):
    assert view.hint_text() == HINT and view.unpin_button.isHidden()
    a, b = relu_maps()
    view.set_maps(a, b, b - a, diff_level=engine_level(b - a))
    assert view.hint_text() == "" and not view.unpin_button.isHidden()
    with qtbot.waitSignal(view.unpinRequested):
        qtbot.mouseClick(view.unpin_button, Qt.MouseButton.LeftButton)
    view.show_hint("A is pinned: open another image or load other weights", pinned=True)
    assert not view.unpin_button.isHidden()
    view.clear()
    assert view.hint_text() == HINT


@pytest.mark.parametrize("size", [(770, 390), (1000, 640)])
def test_fits_the_central_area(qtbot, size):
    """At 1280×720's central area and at 1600×1000's, every part is on show and inside the view."""
    v = CompareView()
    qtbot.addWidget(v)
    v.resize(*size)
    v.show()
    qtbot.waitExposed(v)
    a, b = relu_maps()
    v.set_caption("features.29 (relu5_3) · channel 17")
    v.set_maps(a, b, b - a, titles=("A: cat.png (ImageNet weights)", "B: cat.png (weights from finetuned.pth)"),
               diff_level=engine_level(b - a))
    v.set_predictions([{"label": f"class {i}", "prob_a": 0.1, "prob_b": 0.05 * i} for i in range(6)])
    v.set_channel_deltas(*channel_deltas())
    settle(qtbot, v)
    qtbot.waitUntil(lambda: v.maps.height() >= v.maps.heightForWidth(v.maps.width()) - 1
                    or v.maps.height() >= v.height() - 40)
    whole = v.rect()

    def inside(w):
        return whole.contains(w.mapTo(v, w.rect().topLeft())) and whole.contains(w.mapTo(v, w.rect().bottomRight()))

    for w in (v.unpin_button, v.maps.a.view, v.maps.b.view, v.maps.diff.view, v.maps.ab_bar, v.maps.diff_bar,
              v.predictions.lines[-1]["delta"]):
        assert w.isVisible() and inside(w), w
    for panel in (v.maps.a, v.maps.b, v.maps.diff):
        r = panel.box.sceneBoundingRect()
        assert min(r.width(), r.height()) >= 90
    lefts = [p.view.mapTo(v, QPoint(0, 0)).x() for p in (v.maps.a, v.maps.b, v.maps.diff)]
    assert lefts[0] + v.maps.a.view.width() < lefts[1] and lefts[1] + v.maps.b.view.width() < lefts[2]
    assert v._deltas_scroll.viewport().height() >= 4 * v.deltas.row_height()


def test_no_change_keeps_a_usable_scale(view, qtbot):
    """A level of 0 (nothing changed) draws over ±1, so the map is the centre colour, and says so."""
    a = np.zeros((14, 14), np.float32)
    b = a.copy()
    b[3, 4], b[10, 2] = 2.5, -1.0
    view.set_maps(a, b, b - a, diff_level=2.5)
    assert view.maps.diff_levels() == (-2.5, 2.5) and "±2.5" in view.maps.diff_note.text()
    view.set_maps(a, a, a - a, diff_level=0.0)
    assert view.maps.diff_levels() == (-1.0, 1.0) and "no change" in view.maps.diff_note.text()


def test_a_vector_layer_gets_a_note_and_keeps_the_rest(view, qtbot):
    channels, d = channel_deltas()
    view.set_maps_note("fc is a vector layer", titles=("A: a.png", "B: b.png"))
    view.set_predictions([], note="A has 10 classes and B 2: no per-class deltas")
    view.set_channel_deltas(channels, d)
    assert view.hint_text() == "" and view.maps.a.note.text() == "fc is a vector layer"
    assert view.maps.diff_levels() is None and view.maps.a.title.text() == "A: a.png"
    assert view.predictions_note().startswith("A has 10 classes") and len(view.deltas.channels) == 20
    view.clear_channel_deltas("no channel list")
    assert view.deltas_note() == "no channel list" and len(view.deltas.channels) == 0


def test_given_levels_colour_both_maps(view):
    a, b = relu_maps()
    view.set_maps(a, b, b - a, levels=(0.0, 4.0), diff_level=1.0)
    assert tuple(view.maps.a.item.levels) == tuple(view.maps.b.item.levels) == (0.0, 4.0)
    view.set_maps(a - 1, b - 1, b - a, diff_level=1.0)    # signed maps: blue–red centred on 0
    lo, hi = view.maps.levels()
    assert lo == -hi and view.maps.table() == DIVERGING
