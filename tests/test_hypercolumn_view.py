"""HypercolumnView: every channel's value at one position, sorted, labelled, clickable.

The order is numpy's argsort of the values written here; clicks go through pyqtgraph's
own view → scene → widget mapping; colours are read off the painted plot."""
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from widgets.hypercolumn_view import HypercolumnView
from widgets.qimage import qimage_to_rgb


def hypercolumn(c=512, seed=0, signed=False):
    rng = np.random.default_rng(seed)
    if signed:
        return rng.normal(0, 1, c).astype(np.float32)
    v = np.maximum(rng.normal(-1, 1.2, c), 0) * rng.uniform(0.5, 3, c)    # after a ReLU: many zeros
    v[[12, 300 % c, 77 % c]] = [9.1, 7.4, 6.0]
    return v.astype(np.float32)


@pytest.fixture
def view(qtbot):
    v = HypercolumnView()
    qtbot.addWidget(v)
    v.resize(300, 200)          # its dock at 1280×720
    v.show()
    qtbot.waitExposed(v)
    return v


def click_row(view, qtbot, rank):
    with qtbot.waitSignal(view.channelChosen) as sig:
        qtbot.mouseClick(view.plot_widget().viewport(), Qt.MouseButton.LeftButton, pos=view.row_point(rank))
    return sig.args[0]


def test_rows_are_the_values_sorted_and_labelled(view):
    v = hypercolumn()
    order = np.argsort(-v, kind="stable")
    view.set_hypercolumn(v, order, "every channel of conv5_3 at (y 7, x 3)")
    assert view.title() == "every channel of conv5_3 at (y 7, x 3)"
    shown = view.visible_ranks()
    assert shown.start == 0 and 8 <= len(shown) <= 16          # as many as fit, from the largest
    ticks = view.plot_widget().getAxis("left")._tickLevels[0]
    assert ticks[:3] == [(0.0, "#12"), (1.0, "#300"), (2.0, "#77")]
    assert [t for _, t in ticks] == [f"#{c}" for c in order]
    bars = view._pos.opts
    np.testing.assert_allclose(bars["width"], v[order][v[order] > 0])
    assert view.note().startswith(f"1–{len(shown)} of 512")


def test_click_a_bar_chooses_its_channel(view, qtbot):
    v = hypercolumn()
    order = np.argsort(-v, kind="stable")
    view.set_hypercolumn(v, order, "t")
    assert click_row(view, qtbot, 0) == 12
    assert click_row(view, qtbot, 3) == int(order[3])
    view.scroll_to(200)
    assert view.visible_ranks().start == 200
    assert click_row(view, qtbot, 204) == int(order[204])


def test_signs_are_red_and_blue(view, qtbot):
    v = hypercolumn(signed=True)
    order = np.argsort(-v, kind="stable")
    view.set_hypercolumn(v, order, "signed")
    shot = qimage_to_rgb(view.plot_widget().viewport().grab().toImage()).astype(int)
    d = view.devicePixelRatioF()
    p = view.row_point(0)
    r, g, b = shot[int(p.y() * d), int(p.x() * d)]
    assert r > b + 60, "a positive bar is not red"
    view.scroll_to(511)
    shot = qimage_to_rgb(view.plot_widget().viewport().grab().toImage()).astype(int)
    p = view.row_point(511)
    r, g, b = shot[int(p.y() * d), int(p.x() * d)]
    assert b > r + 60, "a negative bar is not blue"
    (x0, x1), _ = view.plot_widget().getViewBox().viewRange()
    assert x0 < v.min() and x1 > v.max()                      # every bar of either sign fits


def test_the_wheel_scrolls_rows_and_never_zooms(view, qtbot):
    v = hypercolumn()
    view.set_hypercolumn(v, np.argsort(-v, kind="stable"), "t")
    before = view.visible_ranks()
    vp = view.plot_widget().viewport()
    centre = QPointF(vp.width() / 2, vp.height() / 2)
    event = QWheelEvent(centre, vp.mapToGlobal(centre), QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, event)
    after = view.visible_ranks()
    assert after.start == before.start + 3 and len(after) == len(before)


def test_current_channel_mark_clear_and_bad_input(view):
    v = hypercolumn(c=64)
    order = np.argsort(-v, kind="stable")
    view.set_hypercolumn(v, order, "t")
    view.set_current_channel(44)
    mark = view._mark
    assert mark.isVisible() and mark.opts["y"] == [float(np.where(order == 44)[0][0])]
    assert mark.opts["width"] == [pytest.approx(abs(v[44]))]
    for values, bad_order, match in [(v, order[:-1], "each of the 64"), (v, np.zeros(64, int), "each of the 64"),
                                     (np.full(64, np.nan), order, "NaN"), (np.zeros((8, 8)), order, "1-D")]:
        with pytest.raises(ValueError, match=match):
            view.set_hypercolumn(values, bad_order, "bad")
    assert view.title() == "t"
    view.clear()
    assert view.values() is None and view.visible_ranks() == range(0) and view.title() == "Hypercolumn"
