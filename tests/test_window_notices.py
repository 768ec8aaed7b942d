"""What the window tells a user in trouble: where the ImageNet file goes, the class-names question,
and a message strip that never moves the grid."""
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QTimer, QUrl, Qt
from PySide6.QtWidgets import QApplication, QLabel

from gui_helpers import RESULT_TIMEOUT


# ---------------------------------------------------------------- torch's cache path, without torch

@pytest.mark.parametrize("env", [
    {"TORCH_HOME": "/srv/models/torch"},
    {"TORCH_HOME": "~/my torch"},
    {"TORCH_HOME": None, "XDG_CACHE_HOME": "/var/cache/someone"},
    {"TORCH_HOME": None, "XDG_CACHE_HOME": None},
    {"TORCH_HOME": "relative/torch"},
])
def test_cache_path_helper_agrees_with_torch_hub(monkeypatch, tmp_path, env):
    import torch.hub
    import torchvision

    from app import torch_cache
    from inference import download

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    assert torch_cache.torch_home() == torch.hub._get_torch_home()
    assert torch_cache.hub_checkpoint_dir() == Path(torch.hub.get_dir()) / "checkpoints"
    assert torch_cache.imagenet_cache_path() == Path(os.path.abspath(download.cached_path(download.IMAGENET_URL)))
    assert torch_cache.IMAGENET_URL == torchvision.models.VGG16_Weights.IMAGENET1K_V1.url


# ---------------------------------------------------------------- offline: where the file goes

def _help_shown(win, qtbot):
    qtbot.waitUntil(lambda: win.weights_help.isVisible(), timeout=RESULT_TIMEOUT)
    return win.weights_help


def test_offline_start_names_the_cache_path_and_copies_it(window, qtbot):
    from inference import download

    assert window.session.model_info["source"] == "untrained"  # the test home has no cached weights
    helper = _help_shown(window, qtbot)
    expected = os.path.abspath(download.cached_path(download.IMAGENET_URL))  # torch's own answer
    assert helper.path() == expected
    assert helper.path_label.isVisible() and helper.path_label.text().replace("\u200b", "") == expected
    QApplication.clipboard().setText("something else")
    qtbot.mouseClick(helper.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == expected


def test_open_folder_creates_it_and_opens_it(window, qtbot, monkeypatch, tmp_path):
    import widgets.weights_help as wh

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    window._show_weights_help(True)
    helper = _help_shown(window, qtbot)
    opened = []

    class Desktop:
        @staticmethod
        def openUrl(url):  # noqa: N802
            opened.append(url)
            return True

    monkeypatch.setattr(wh, "QDesktopServices", Desktop)
    folder = tmp_path / "th" / "hub" / "checkpoints"
    assert not folder.exists()
    qtbot.mouseClick(helper.open_button, Qt.MouseButton.LeftButton)
    assert folder.is_dir()
    assert opened == [QUrl.fromLocalFile(str(folder))]


def test_load_it_without_the_file_says_so_and_keeps_the_help(window, qtbot):
    helper = _help_shown(window, qtbot)
    with qtbot.waitSignal(window.errorShown, timeout=RESULT_TIMEOUT) as sig:
        qtbot.mouseClick(helper.load_button, Qt.MouseButton.LeftButton)
    assert "offline" in sig.args[0] and "\n" not in sig.args[0]
    assert helper.isVisible() and window.session.model_info["source"] == "untrained"


def test_file_put_at_the_shown_path_loads(window, qtbot, monkeypatch, tmp_path, imagenet_like_bytes):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    window._show_weights_help(True)
    helper = _help_shown(window, qtbot)
    target = Path(helper.path())  # what the user is told, nothing else
    target.parent.mkdir(parents=True)
    target.symlink_to(imagenet_like_bytes)
    qtbot.mouseClick(helper.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (window.session.model_info or {}).get("source") == "imagenet", timeout=RESULT_TIMEOUT)
    assert window.session.model_info["path"] == str(target)
    qtbot.waitUntil(lambda: not helper.isVisible(), timeout=RESULT_TIMEOUT)


# ---------------------------------------------------------------- the message strip

def _grid_geometry(win):
    win.centralWidget().layout().activate()
    QApplication.processEvents()
    return win.grid.mapTo(win, QPoint(0, 0)), win.grid.size()


def test_messages_never_move_the_grid(window, qtbot):
    qtbot.waitUntil(lambda: window.message.isVisible(), timeout=RESULT_TIMEOUT)  # the offline notice
    with_notice = _grid_geometry(window)
    window.notice.clear()
    assert not window.message.isVisible() and window.notice.hint.isVisible()
    assert _grid_geometry(window) == with_notice
    window.show_error("cannot open 'x.png': no such file")
    assert window.message.isVisible()
    assert _grid_geometry(window) == with_notice
    qtbot.mouseClick(window.message, Qt.MouseButton.LeftButton)  # click dismisses
    assert not window.message.isVisible()
    assert _grid_geometry(window) == with_notice


def test_a_long_message_is_elided_not_wrapped_or_widening(window, qtbot):
    width = window.width()
    before = _grid_geometry(window)
    long = "cannot download https://example.invalid/" + "x" * 400 + ".pth: host not found"
    window.show_error(long)
    assert window.message.text() == long and long in window.message.toolTip()
    shown = window.message.shown_text()
    assert shown.endswith("…") and len(shown) < len(long)
    assert window.width() == width and _grid_geometry(window) == before


# ---------------------------------------------------------------- the class-names question

def _answer_dialog(click: str, seen: dict):
    """Poll for the modal dialog, note what it shows, then click ``click`` on it."""
    from widgets.class_names_dialog import ClassNamesDialog

    def poll():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ClassNamesDialog):
            QTimer.singleShot(10, poll)
            return
        seen["texts"] = [w.text() for w in dialog.findChildren(QLabel) if w.isVisible()]
        getattr(dialog, click).click()

    QTimer.singleShot(0, poll)


def test_class_names_dialog_explains_itself_and_defaults(window, monkeypatch, tmp_path):
    import app.window_weights as ww

    ckpt = tmp_path / "mine.pth"
    ckpt.write_bytes(b"not read in this test")
    monkeypatch.setattr(ww.QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(ckpt), "")))
    asked = []
    monkeypatch.setattr(window, "load_weights", lambda path, classes=None: asked.append((path, classes)))
    seen = {}
    _answer_dialog("defaults_button", seen)
    window.load_weights_dialog()
    assert asked == [(str(ckpt), None)]
    text = " ".join(seen["texts"])
    assert "mine.pth" in text and "cls_classes.txt" in text and "one class name per line" in text
    assert "defaults" in text


def test_class_names_dialog_choose_file(window, monkeypatch, tmp_path):
    import app.window_weights as ww
    import widgets.class_names_dialog as cnd

    ckpt, names = tmp_path / "mine.pth", tmp_path / "names.txt"
    ckpt.write_bytes(b"x")
    names.write_text("cat\ndog\n")
    starts = []

    def pick(parent, title, start, filt):  # the weights file first, then the names file
        if isinstance(parent, cnd.ClassNamesDialog):
            starts.append(start)
            return str(names), ""
        return str(ckpt), ""

    monkeypatch.setattr(ww.QFileDialog, "getOpenFileName", staticmethod(pick))
    asked = []
    monkeypatch.setattr(window, "load_weights", lambda path, classes=None: asked.append((path, classes)))
    _answer_dialog("choose_button", {})
    window.load_weights_dialog()
    assert asked == [(str(ckpt), str(names))] and starts == [str(tmp_path)]


def test_no_class_names_question_when_the_file_is_beside_it(window, monkeypatch, tmp_path):
    import app.window_weights as ww

    ckpt = tmp_path / "mine.pth"
    ckpt.write_bytes(b"x")
    (tmp_path / "cls_classes.txt").write_text("cat\ndog\n")
    monkeypatch.setattr(ww.QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(ckpt), "")))
    monkeypatch.setattr(ww, "ClassNamesDialog", None)  # would raise if it were used
    asked = []
    monkeypatch.setattr(window, "load_weights", lambda path, classes=None: asked.append((path, classes)))
    window.load_weights_dialog()
    assert asked == [(str(ckpt), None)]
