"""Choosing a class to explain in the predictions panel: real clicks on the top-5 rows, the
logit table and the cat/dog answer, real typing into the class search, and the marker of
the class being explained. ImageNet's names come from torchvision here (widgets never import it)."""
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from torchvision.models import VGG16_Weights

from widgets.class_picker import find_classes
from widgets.predictions_panel import PredictionsPanel

NAMES = list(VGG16_Weights.IMAGENET1K_V1.meta["categories"])
IMAGENET = {"weights_text": "ImageNet-pretrained weights (torchvision)", "pretrained": True, "class_names": NAMES}


def _top(logits: np.ndarray, k: int = 5) -> list[dict]:
    e = np.exp(logits - logits.max())
    probs = e / e.sum()
    order = np.argsort(-probs, kind="stable")[:k]
    return [{"index": int(i), "label": NAMES[i], "prob": float(probs[i]), "logit": float(logits[i])}
            for i in order]


def click_on_screen(qtbot, widget):
    """A click at the middle of ``widget`` sent to its window, so that Qt finds what is under it
    (as for a user's click): the row's labels and bar let the mouse through to the row."""
    window = widget.window()
    qtbot.mouseClick(window.windowHandle(), Qt.MouseButton.LeftButton,
                     pos=widget.mapTo(window, widget.rect().center()))


@pytest.fixture
def logits():
    z = np.random.default_rng(3).normal(size=1000)
    z[[281, 285, 282, 287, 904]] = [15.3, 14.2, 13.6, 11.7, 10.2]  # a trained-looking answer: cats first
    return z


@pytest.fixture
def panel(qtbot, logits):
    widget = PredictionsPanel()
    qtbot.addWidget(widget)
    widget.set_model_info(IMAGENET)
    widget.set_predictions(_top(logits), {"cat": 0.93, "dog": 0.01}, IMAGENET["weights_text"], True)
    widget.resize(260, 760)  # the narrow dock of a 1280×720 window
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.mark.parametrize("row", range(5))
def test_clicking_a_bar_row_chooses_its_class(qtbot, panel, logits, row):
    expected = int(np.argsort(-logits, kind="stable")[row])
    with qtbot.waitSignal(panel.classChosen) as blocker:
        click_on_screen(qtbot, panel.class_labels[row])
    assert blocker.args == [expected]
    with qtbot.waitSignal(panel.classChosen) as blocker:
        click_on_screen(qtbot, panel.bars[row])
    assert blocker.args == [expected]


@pytest.mark.parametrize("row", [0, 3])
def test_clicking_a_table_row_chooses_its_class(qtbot, panel, logits, row):
    expected = int(np.argsort(-logits, kind="stable")[row])
    rect = panel.table.row_rect(row)
    for x in (rect.left() + 4, rect.right() - 4):  # on the name and on the softmax column
        with qtbot.waitSignal(panel.classChosen) as blocker:
            qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, rect.center().y()))
        assert blocker.args == [expected]


@pytest.mark.parametrize("key", ["cat", "dog"])
def test_clicking_cat_or_dog_chooses_the_summed_target(qtbot, panel, key):
    button = panel.summed_buttons[key]
    with qtbot.waitSignal(panel.summedChosen) as blocker:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert blocker.args == [key]
    assert not button.isChecked()  # a click asks; only set_explained marks it


def test_rows_look_clickable(panel):
    label = panel.class_labels[0].text()
    hit = panel.top_bars.hits[0]
    assert hit.cursor().shape() == Qt.CursorShape.PointingHandCursor
    assert panel.table.viewport().cursor().shape() == Qt.CursorShape.PointingHandCursor
    assert f"show why the network answers “{label}”" in hit.toolTip()
    assert f"show why the network answers “{label}”" in panel.table.item(0, 2).toolTip()
    assert "show why the network answers “dog”" in panel.summed_buttons["dog"].toolTip()


def test_busy_panel_ignores_clicks(qtbot, panel):
    panel.set_busy(True)  # stale numbers of the previous image
    with qtbot.assertNotEmitted(panel.classChosen):
        click_on_screen(qtbot, panel.class_labels[1])
        click_on_screen(qtbot, panel.table.viewport())


def _popup_rows(popup) -> list[str]:
    model = popup.model()
    return [model.index(r, 0).data() for r in range(model.rowCount())]


def test_completer_finds_tabby_and_choosing_it_emits_its_index(qtbot, panel):
    field, popup = panel.picker.field, panel.picker.completer.popup()
    qtbot.keyClicks(field, "TABB")  # any case
    qtbot.waitUntil(popup.isVisible)
    assert _popup_rows(popup) == [n for n in NAMES if "tabb" in n.lower()] == ["tabby"]
    rect = popup.visualRect(popup.model().index(0, 0))
    with qtbot.waitSignal(panel.classChosen) as blocker:
        qtbot.mouseClick(popup.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [NAMES.index("tabby")]
    qtbot.waitUntil(lambda: field.text() == "")  # ready for the next name


def test_completer_matches_inside_names_and_keyboard_picks_once(qtbot, panel):
    field, popup = panel.picker.field, panel.picker.completer.popup()
    qtbot.keyClicks(field, "retriever")
    qtbot.waitUntil(popup.isVisible)
    expected = [n for n in NAMES if "retriever" in n.lower()]
    assert len(expected) > 1 and _popup_rows(popup) == expected  # "golden retriever", …: not only prefixes
    chosen = []
    panel.classChosen.connect(chosen.append)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    with qtbot.waitSignal(panel.classChosen):
        qtbot.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: field.text() == "")
    assert chosen == [NAMES.index(expected[1])]  # once: the field's own Enter is not a second pick


def test_enter_on_a_unique_match_chooses_it(qtbot, panel):
    qtbot.keyClicks(panel.picker.field, "egyptian")
    panel.picker.completer.popup().hide()
    with qtbot.waitSignal(panel.classChosen) as blocker:
        qtbot.keyClick(panel.picker.field, Qt.Key.Key_Return)
    assert blocker.args == [NAMES.index("Egyptian cat")]


@pytest.mark.parametrize("text, words", [("zebrafish", "no class matches “zebrafish”"),
                                         ("terrier", "matches"), ("5000", "0–999")])
def test_unknown_or_ambiguous_name_gets_a_one_line_hint(qtbot, panel, text, words):
    qtbot.keyClicks(panel.picker.field, text)
    panel.picker.completer.popup().hide()
    with qtbot.assertNotEmitted(panel.classChosen):
        qtbot.keyClick(panel.picker.field, Qt.Key.Key_Return)
    hint = panel.picker.hint
    assert hint.isVisibleTo(panel) and words in hint.text() and "\n" not in hint.text()
    if text == "terrier":
        assert str(sum("terrier" in n.lower() for n in NAMES)) in hint.text()
    qtbot.keyClicks(panel.picker.field, "x")  # typing again clears it
    assert not hint.isVisibleTo(panel)


def test_find_classes_index_exact_then_contains():
    names = ["crane", "tabby", "crane", "Crane bird", "tiger cat"]
    assert find_classes("1", names) == [1]
    assert find_classes("7", names) == []
    assert find_classes("CRANE", names) == [0, 2]  # exact names win over "Crane bird"
    assert find_classes("cat", names) == [4]
    assert find_classes("  ", names) == []


def test_duplicate_names_stay_apart_in_the_completer(qtbot):
    widget = PredictionsPanel()
    qtbot.addWidget(widget)
    widget.set_model_info({"weights_text": "weights from birds.pth (3 classes)", "pretrained": True,
                           "class_names": ["crane", "heron", "crane"]})
    widget.set_predictions([{"index": 1, "label": "heron", "prob": 0.5, "logit": 1.0}], None, "w", True)
    widget.show()
    popup = widget.picker.completer.popup()
    qtbot.keyClicks(widget.picker.field, "cran")
    qtbot.waitUntil(popup.isVisible)
    assert _popup_rows(popup) == ["crane (class 0)", "crane (class 2)"]
    rect = popup.visualRect(popup.model().index(1, 0))
    with qtbot.waitSignal(widget.classChosen) as blocker:
        qtbot.mouseClick(popup.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [2]


def test_set_explained_marks_the_row_table_chip_and_caption(panel, logits):
    order = np.argsort(-logits, kind="stable")
    second = int(order[1])
    panel.set_explained(second)
    assert panel.top_bars.marked_row() == 1 and panel.table.marked_row() == 1
    assert panel.table.item(1, 0).font().bold() and not panel.table.item(0, 0).font().bold()
    assert panel.explained_label.isVisibleTo(panel)
    assert panel.explained_label.text() == f"explaining: {NAMES[second]}"
    outside = int(order[500])  # found by name, not in the top 5: caption only
    panel.set_explained(outside)
    assert panel.top_bars.marked_row() is None and panel.table.marked_row() is None
    assert panel.explained_label.text() == f"explaining: {NAMES[outside]}"
    panel.set_explained("dog")
    assert panel.summed_buttons["dog"].isChecked() and not panel.summed_buttons["cat"].isChecked()
    assert panel.explained_label.text().startswith("explaining: dog")
    panel.set_explained(None)
    assert not any(b.isChecked() for b in panel.summed_buttons.values())
    assert not panel.explained_label.isVisibleTo(panel) and panel.top_bars.marked_row() is None


def test_marker_follows_new_predictions_and_other_weights_clear_it(panel, logits):
    panel.set_explained(281)
    assert panel.top_bars.marked_row() == 0
    shifted = logits.copy()
    shifted[904] = 20.0  # another image: 281 is now second
    panel.set_predictions(_top(shifted), None, IMAGENET["weights_text"], True)
    assert panel.top_bars.marked_row() == 1 and panel.class_labels[1].text() == NAMES[281]
    panel.set_model_info({"weights_text": "weights from catdog.pth (2 classes)", "pretrained": True,
                          "class_names": ["cat", "dog"]})
    assert panel.explained() is None and panel.top_bars.marked_row() is None


def test_long_class_names_do_not_widen_the_dock(qtbot):
    """ImageNet's longest names end in "…" in the dock of a 1280×720 window instead of widening it;
    the whole name stays in text() and in the row's tooltip, and table rows stay one line high."""
    from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

    win = QMainWindow()
    qtbot.addWidget(win)
    win.setCentralWidget(QWidget())
    panel = PredictionsPanel()
    dock = QDockWidget("Prediction")
    dock.setWidget(panel)
    win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    panel.set_model_info(IMAGENET)
    short = np.zeros(1000)
    short[[281, 285, 282, 287, 340]] = [9, 8, 7, 6, 5]  # tabby, Egyptian cat, …, zebra
    panel.set_predictions(_top(short), {"cat": 0.9, "dog": 0.01}, IMAGENET["weights_text"], True)
    win.resize(1280, 720)
    win.show()
    qtbot.waitExposed(win)
    win.resizeDocks([dock], [260], Qt.Orientation.Horizontal)  # as narrow as the app's dock at 1280×720
    qtbot.waitUntil(lambda: dock.width() <= 270)
    narrow = dock.width()
    longest = sorted(range(len(NAMES)), key=lambda i: -len(NAMES[i]))[:5]
    z = np.zeros(1000)
    z[longest] = [9, 8, 7, 6, 5]
    panel.set_predictions(_top(z), {"cat": 0.01, "dog": 0.9}, IMAGENET["weights_text"], True)
    qtbot.wait(1)  # let the layouts settle (no timing asserted)
    assert dock.width() == narrow
    pct = panel.percent_labels[0]  # the whole row is on screen: the percentage is not pushed out
    assert pct.mapTo(panel, pct.rect().topRight()).x() < panel.width() <= dock.width()
    label = panel.class_labels[0]
    assert label.text() == NAMES[longest[0]] and label.is_elided()
    assert NAMES[longest[0]] in panel.top_bars.hits[0].toolTip()
    assert panel.table.rowHeight(0) < 2 * panel.fontMetrics().height()
