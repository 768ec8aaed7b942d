"""In the real window: a click on a predictions row, or a class found by name, puts that class's
Grad-CAM on the overlay and marks it in the panel. The CAM is checked against the engine run on
the worker's kept run (the engine's own values are tested in test_cam.py)."""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from gui_helpers import RESULT_TIMEOUT
from test_class_choice import click_on_screen


@pytest.fixture
def explained(shown, qtbot):
    qtbot.waitUntil(lambda: shown.session.top_cam is not None, timeout=RESULT_TIMEOUT)
    return shown


def _expected_map(win, index: int) -> np.ndarray:
    from inference.cam import grad_cam
    from inference.probes import ClassLogit

    return grad_cam(win.controller.worker.run, win.session.top_cam.layer, ClassLogit(index)).normalised()


def _wait_for_cam_of(win, qtbot, index: int, label: str) -> None:
    qtbot.waitUntil(lambda: f"Grad-CAM of “{label}”" in win.overlay.title(), timeout=RESULT_TIMEOUT)
    np.testing.assert_allclose(win.overlay._fmap, _expected_map(win, index), rtol=1e-5, atol=1e-6)
    assert win.explain_bar.mode() == "explain"
    qtbot.waitUntil(lambda: win.predictions.explained() == index, timeout=RESULT_TIMEOUT)
    assert win.predictions.explained_label.text() == f"explaining: {label}"


def test_clicking_the_third_row_explains_that_class(explained, qtbot):
    win = explained
    entry = win.session.predictions.top[2]
    with qtbot.waitSignal(win.predictions.classChosen):
        click_on_screen(qtbot, win.predictions.class_labels[2])
    _wait_for_cam_of(win, qtbot, entry["index"], entry["label"])
    assert win.predictions.top_bars.marked_row() == 2 and win.predictions.table.marked_row() == 2


def test_typing_tabby_explains_tabby(explained, qtbot):
    win = explained
    names = win.session.model_info["class_names"]
    field, popup = win.predictions.picker.field, win.predictions.picker.completer.popup()
    qtbot.keyClicks(field, "tabb")
    qtbot.waitUntil(popup.isVisible)
    assert popup.model().index(0, 0).data() == "tabby"
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    _wait_for_cam_of(win, qtbot, names.index("tabby"), "tabby")
    win.explain_bar.set_mode("channel")  # back to channels: nothing is explained any more
    assert win.predictions.explained() is None and not win.predictions.explained_label.isVisibleTo(win)
