"""The Prediction dock at 1280×720 and up: with the weights help box under the panel (resnet18's
is a line longer than VGG16's, and a user's path can be longer still), no two visible widgets
are ever drawn over each other. The explanation gives way first; past that the panel scrolls."""
import itertools

import pytest
from PySide6.QtCore import QEvent, QPoint, QRect
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from widgets.predictions_panel import PredictionsPanel
from widgets.softmax_note import FULL, NONE, SHORT
from widgets.weights_help import WeightsHelp

TOP = [{"index": 285 + i, "label": name, "prob": p, "logit": z} for i, (name, p, z) in enumerate(
    [("Greater Swiss Mountain dog", 0.0116, 2.78), ("spider monkey", 0.0096, 2.59), ("water snake", 0.0095, 2.58),
     ("hand-held computer", 0.0071, 2.29), ("tarantula", 0.0055, 2.03)])]
LONG_PATH = "/home/a-student-with-a-long-name/" + "deeply/nested/" * 8 + "checkpoints/resnet18-f37072fd.pth"
DOCK_WIDTH = 250  # the Prediction dock's content at 1280×720 (docs/screenshot.png, the app's own layout)


def settle():
    for _ in range(5):  # layout requests post further ones (a wrapped label's height follows its width)
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        QApplication.processEvents()


def dock_column(qtbot, height: int, path: str, *, cat_dog: bool, pretrained: bool = False):
    """The panel above the help box, as app/main_window.py stacks them in the dock (spare height below)."""
    host = QWidget()
    qtbot.addWidget(host)
    lay = QVBoxLayout(host)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(6)
    panel, help_box = PredictionsPanel(), WeightsHelp()
    lay.addWidget(panel)
    lay.addWidget(help_box)
    lay.addStretch(1)
    help_box.set_file(path, "https://download.pytorch.org/models/resnet18-f37072fd.pth", 45)
    panel.set_predictions(TOP, {"cat": 0.02, "dog": 0.3} if cat_dog else None, "untrained (random, seed 0)",
                          pretrained, num_classes=1000)
    panel.set_explained(TOP[0]["index"])
    host.setFixedSize(DOCK_WIDTH, height)
    host.show()
    qtbot.waitExposed(host)
    settle()
    return host, panel, help_box


def on_screen(widget, host, clip: QRect) -> QRect:
    """``widget``'s rectangle in ``host``'s coordinates, cut to what ``clip`` (the visible part) shows."""
    return QRect(widget.mapTo(host, QPoint(0, 0)), widget.size()).intersected(clip)


def drawn(panel, host):
    """The panel's visible leaf parts, each as the rectangle it occupies on screen."""
    viewport = panel.scroll.viewport()
    clip = QRect(viewport.mapTo(host, QPoint(0, 0)), viewport.size())
    parts = {"banner": panel.banner, "weights line": panel.weights_label, "top 5": panel.top_bars,
             "explaining": panel.explained_label, "picker": panel.picker, "table": panel.table,
             "sum": panel.sum_label, "explanation": panel.note.full_label, "formula": panel.note.short_label,
             "chips": panel.summed_buttons["cat"], "cat-dog note": panel.cat_dog_label}
    rects = {name: on_screen(w, host, clip) for name, w in parts.items() if w.isVisibleTo(host)}
    return {name: r for name, r in rects.items() if not r.isEmpty()}, clip


@pytest.mark.parametrize("height", [560, 655, 760, 940])
@pytest.mark.parametrize("path", ["/root/.cache/torch/hub/checkpoints/resnet18-f37072fd.pth", LONG_PATH])
@pytest.mark.parametrize("cat_dog", [False, True])
def test_nothing_overlaps_in_a_short_dock(qtbot, height, path, cat_dog):
    host, panel, help_box = dock_column(qtbot, height, path, cat_dog=cat_dog)
    rects, clip = drawn(panel, host)
    assert {"table", "sum"} <= set(rects) or panel.scroll.verticalScrollBar().maximum() > 0
    for (a, ra), (b, rb) in itertools.combinations(rects.items(), 2):
        assert not ra.intersects(rb), f"{a} {ra} overlaps {b} {rb} at {DOCK_WIDTH}×{height}"
    helped = QRect(help_box.mapTo(host, QPoint(0, 0)), help_box.size())
    assert not clip.intersects(helped), f"the panel {clip} runs under the help box {helped}"
    # Every part has at least its own height: none was squeezed (a squeezed label draws over its neighbour).
    for name, w in [("table", panel.table), ("sum", panel.sum_label)]:
        assert w.height() >= w.minimumSizeHint().height() if not w.hasHeightForWidth() \
            else w.height() >= w.heightForWidth(w.width()), name


def test_the_explanation_gives_way_before_anything_scrolls(qtbot):
    """Tall: the whole explanation; shorter: the formula alone; shorter still: none; only then a scroll bar."""
    host, panel, _help = dock_column(qtbot, 1000, "/root/.cache/torch/hub/checkpoints/resnet18-f37072fd.pth",
                                     cat_dog=False)
    order = []
    for height in range(1000, 380, -4):
        host.setFixedSize(DOCK_WIDTH, height)
        settle()
        state = (panel.note.tier(), panel.scroll.verticalScrollBar().maximum() > 0)
        if not order or order[-1] != state:
            order.append(state)
        rects, _clip = drawn(panel, host)
        for (a, ra), (b, rb) in itertools.combinations(rects.items(), 2):
            assert not ra.intersects(rb), f"{a} {ra} overlaps {b} {rb} at {DOCK_WIDTH}×{height}"
    # Each step once, in this order: never a richer explanation in a shorter dock, no flicker back.
    assert order == [(FULL, False), (SHORT, False), (NONE, False), (SHORT, True)]


def test_the_table_is_on_screen_at_1280x720_with_resnet18s_help(qtbot):
    """The dock's height at 1280×720 (≈655 px): top 5 and the whole table fit, no scrolling needed."""
    host, panel, _help = dock_column(qtbot, 655, "/root/.cache/torch/hub/checkpoints/resnet18-f37072fd.pth",
                                     cat_dog=False)
    rects, _clip = drawn(panel, host)
    assert rects["table"].height() == panel.table.height() and rects["top 5"].height() == panel.top_bars.height()
    assert panel.scroll.verticalScrollBar().maximum() == 0


def test_an_ablations_comparison_in_a_short_dock_scrolls_rather_than_overlaps(qtbot):
    """The before/after view has no explanation to trade: it fits, or a scroll bar reaches the rest."""
    from tests.test_prediction_comparison import CAPTION, CAT_DOG, ROWS

    host, panel, help_box = dock_column(qtbot, 1000, LONG_PATH, cat_dog=True)
    panel.set_comparison(ROWS, CAT_DOG, CAPTION)
    settle()
    bar = panel.scroll.verticalScrollBar()
    assert bar.maximum() == 0 and not bar.isVisible()
    host.setFixedSize(DOCK_WIDTH, 420)
    settle()
    assert bar.isVisible() and bar.maximum() > 0
    assert panel.compare.height() >= panel.compare.minimumSizeHint().height()  # reached by scrolling, not squeezed
    viewport = panel.scroll.viewport()
    clip = QRect(viewport.mapTo(host, QPoint(0, 0)), viewport.size())
    assert not clip.intersects(QRect(help_box.mapTo(host, QPoint(0, 0)), help_box.size()))
    panel.clear_comparison()
    host.setFixedSize(DOCK_WIDTH, 1000)
    settle()
    assert not bar.isVisible() and panel.note.tier() == FULL  # back, and the whole explanation with it
