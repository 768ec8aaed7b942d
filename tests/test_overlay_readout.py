"""The overlay never shows a stale readout or heatmap, its colour bar gives its range, and
hovering it does not resize the window.

Values are checked against the channel arrays written here; the window-width check puts
the overlay into a QMainWindow next to a wide fixed widget, as in the real window where
the docks take the rest of 1280 px."""
import re

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF
from PySide6.QtWidgets import QApplication, QHBoxLayout, QMainWindow, QWidget
from PySide6.QtTest import QTest

from widgets.overlay_view import HINT, NO_CHANNEL, OverlayView
from widgets.qimage import qimage_to_rgb

RECT = (94.25, 18.75, 262.5, 262.5)


@pytest.fixture(autouse=True)
def every_mouse_move(monkeypatch):
    """pyqtgraph drops mouse moves less than 10 ms apart (its mouseRateLimit); a test's moves are."""
    monkeypatch.setitem(pg.CONFIG_OPTIONS, "mouseRateLimit", 0)


@pytest.fixture
def view(overlay_view):
    return overlay_view


def photo(seed=0, h=300, w=451):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def channel(h=28, w=28, seed=0):
    return np.random.default_rng(seed).normal(size=(h, w)).astype(np.float32)


def widget_point(view, r, c, shape, rect=RECT):
    """Where cell (r, c) of a channel of ``shape`` placed on ``rect`` is, in the GraphicsView's pixels."""
    x, y, w, h = rect
    target = QPointF(x + (c + 0.5) * w / shape[1], y + (r + 0.5) * h / shape[0])
    return view._gl.mapFromScene(view.view_box().mapViewToScene(target))


def hover(view, qtbot, pos):
    """Move the mouse to ``pos``, by way of the corner: Qt drops a move to where the mouse
    already is (an earlier test may have left it there)."""
    QTest.mouseMove(view._gl.viewport(), QPoint(1, 1))
    with qtbot.waitSignal(view.cursorValue):
        QTest.mouseMove(view._gl.viewport(), pos)


def value_of(text):
    m = re.match(r"value (\S+) at \((\d+), (\d+)\)", text)
    assert m, text
    return float(m[1]), (int(m[2]), int(m[3]))


def test_a_new_photo_clears_the_heatmap_and_the_readout(view, qtbot):
    cat = channel(seed=1)
    view.set_photo(photo(0))
    view.set_channel(cat, RECT, "cat · conv4_1 · channel 5")
    hover(view, qtbot, widget_point(view, 10, 15, cat.shape))
    value, cell = value_of(view.readout())
    assert cell == (10, 15) and value == pytest.approx(cat[10, 15], rel=5e-4)

    view.set_photo(photo(1, 400, 300))            # the next image's results begin
    assert view.readout() == HINT
    assert not view.heat_item().isVisible() and view.heat_item().image is None
    assert view.title() == NO_CHANNEL and view.colorbar().levels() is None
    assert view.value_at(RECT[0] + 20, RECT[1] + 20) is None
    img = qimage_to_rgb(view.overlay_image())      # what an export would show: the new photo alone
    np.testing.assert_array_equal(img, photo(1, 400, 300))

    dog = channel(seed=2)                          # then the new layer arrives
    view.set_channel(dog, (0, 50, 300, 300), "dog · conv4_1 · channel 5")
    assert view.heat_item().isVisible()
    assert view.readout() == HINT or "dog" in view.readout()


def test_the_readout_follows_channel_and_layer_changes(view, qtbot):
    a, b = channel(seed=3), channel(seed=4)
    view.set_photo(photo())
    view.set_channel(a, RECT, "conv4_1 · channel 1")
    hover(view, qtbot, widget_point(view, 6, 20, a.shape))
    assert value_of(view.readout())[0] == pytest.approx(a[6, 20], rel=5e-4)

    with qtbot.waitSignal(view.cursorValue) as sig:   # another channel under the same cursor
        view.set_channel(b, RECT, "conv4_1 · channel 2")
    value, cell = value_of(sig.args[0])
    assert cell == (6, 20) and value == pytest.approx(b[6, 20], rel=5e-4)
    assert view.readout().endswith("conv4_1 · channel 2")

    small = channel(14, 14, seed=5)                  # another layer: the cell of its own grid
    view.set_channel(small, RECT, "conv5_1 · channel 0")
    value, cell = value_of(view.readout())
    assert cell == (3, 10) and value == pytest.approx(small[3, 10], rel=5e-4)

    view.set_native(True)                           # other coordinates: no stale number
    assert view.readout() == HINT
    view.set_native(False)
    hover(view, qtbot, widget_point(view, 1, 1, small.shape))
    QApplication.sendEvent(view._gl.viewport(), QEvent(QEvent.Type.Leave))   # the mouse leaves
    assert view.readout() == HINT
    view.clear_channel()
    assert view.readout() == HINT


def test_overlay_colour_bar_gives_the_channel_range(view):
    fmap = channel(seed=6) * 3 + 1
    view.set_photo(photo())
    view.set_colormap("viridis")                   # a fixed sequential map spans the data as given
    view.set_channel(fmap, RECT, "ch")
    bar = view.colorbar()
    assert bar.levels() == pytest.approx((fmap.min(), fmap.max()))
    lo_text, hi_text, note = bar.texts()
    assert float(lo_text) == pytest.approx(fmap.min(), rel=5.01e-3)
    assert float(hi_text) == pytest.approx(fmap.max(), rel=5.01e-3)
    assert note == "per channel"
    view.set_channel(fmap, RECT, "ch", levels=(-4.0, 9.0), scale_note="shared by the layer")
    assert bar.levels() == (-4.0, 9.0) and bar.texts() == ("-4.00", "9.00", "shared by the layer")
    assert tuple(view.heat_item().levels) == (-4.0, 9.0)
    view.set_channel(fmap, RECT, "ch", levels=(-4.0, 9.0))
    assert bar.texts()[2] == "fixed"


def test_diverging_overlay_is_centred_on_zero(view):
    fmap = np.zeros((12, 12), np.float32)
    fmap[:, :4], fmap[:, 8:] = -1.0, 2.0
    view.set_photo(photo())
    view.set_native(True)
    view.set_channel(fmap, RECT, "ch")
    view.set_colormap("blue–red (diverging)")      # the label a person sees selects the map too
    assert view.colormap() == "CET-D1"
    assert tuple(view.heat_item().levels) == pytest.approx((-2.0, 2.0))
    assert view.colorbar().levels() == pytest.approx((-2.0, 2.0))
    assert "data -1.00 … 2.00" in view.colorbar().texts()[2]
    rgb = qimage_to_rgb(view.overlay_image()).astype(int)
    k = rgb.shape[1] // 12
    neg, zero, pos = rgb[:, 1 * k], rgb[:, 6 * k], rgb[:, 10 * k]
    assert (neg[:, 2] > neg[:, 0] + 40).all() and (pos[:, 0] > pos[:, 2] + 40).all()
    assert (zero.min(axis=1) > 200).all()
    view.set_colormap("viridis")
    assert tuple(view.heat_item().levels) == pytest.approx((-1.0, 2.0))


def test_hovering_does_not_change_the_window_width(qtbot):
    win = QMainWindow()
    qtbot.addWidget(win)
    central = QWidget()
    row = QHBoxLayout(central)
    row.setContentsMargins(0, 0, 0, 0)
    docks = QWidget()                   # what the tree, the grid and the predictions take
    docks.setMinimumWidth(1280 - 300)
    overlay = OverlayView()
    row.addWidget(docks)
    row.addWidget(overlay)
    win.setCentralWidget(central)
    win.resize(1280, 720)
    win.show()
    qtbot.waitExposed(win)
    long_label = "features.28 (conv5_3) · channel 511 · mean 0.000123"
    overlay.set_photo(photo())
    fmap = channel(seed=7)
    overlay.set_channel(fmap, RECT, long_label)
    QApplication.processEvents()
    before = (win.width(), win.sizeHint().width(), win.minimumSizeHint().width(), overlay.width())
    assert before[0] == 1280
    for r, c in [(0, 0), (14, 3), (27, 27)]:
        hover(overlay, qtbot, widget_point(overlay, r, c, fmap.shape))
        assert overlay.readout().startswith("value")
        QApplication.processEvents()
        after = (win.width(), win.sizeHint().width(), win.minimumSizeHint().width(), overlay.width())
        assert after == before
    assert overlay.readout_label().fontMetrics().horizontalAdvance(overlay.readout()) > overlay.width()
    assert overlay.readout_label().shown_text().startswith("value")   # cut at the end, not before the value
