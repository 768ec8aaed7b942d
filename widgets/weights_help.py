"""What to do when the ImageNet weights cannot be downloaded: where the file must go, exactly.

"Could not download" alone leaves an offline user stuck: Download fails again
at once. This box names the file, where it comes from, and the full path it
must have on this machine, with buttons to copy that path, open its folder
(created if needed) and load the file once it is there. The path is given by
the app (widgets know nothing of torch).
"""
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QSizePolicy, QVBoxLayout

ZWSP = "\u200b"  # lets a long path wrap after each separator instead of widening the dock
_STYLE = ("QFrame#weightsHelp { background: #fff8e6; border: 1px solid #f0d58a; border-radius: 4px; }"
          " QFrame#weightsHelp QLabel { color: #3d2c00; }")


def breakable(path: str) -> str:
    """``path`` with a zero-width space after each "/" (and "\\"), so a label can wrap it."""
    return path.replace("/", "/" + ZWSP).replace("\\", "\\" + ZWSP)


class WeightsHelp(QFrame):
    """Where to put the ImageNet weights file, with Copy path / Open folder / Load it."""

    loadRequested = Signal()
    failed = Signal(str)  # one line, e.g. the folder could not be created

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("weightsHelp")
        self.setStyleSheet(_STYLE)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._path = ""
        self.explain = QLabel()
        self.explain.setWordWrap(True)
        self.explain.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path_label = QLabel()
        self.path_label.setObjectName("weightsPath")
        self.path_label.setWordWrap(True)
        self.path_label.setTextFormat(Qt.TextFormat.PlainText)
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path_label.setStyleSheet("font-family: monospace;")
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy path")
        self.copy_button.setToolTip("Copy the file's full path to the clipboard")
        self.open_button = QToolButton()
        self.open_button.setText("Open folder")
        self.open_button.setToolTip("Open the folder the file must go in (it is created if needed)")
        self.load_button = QToolButton()
        self.load_button.setText("Load it")
        self.load_button.setToolTip("Load the weights once the file is in place")
        self.copy_button.clicked.connect(self.copy_path)
        self.open_button.clicked.connect(self.open_folder)
        self.load_button.clicked.connect(self.loadRequested)
        buttons = QHBoxLayout()  # tool buttons: one row that fits the side dock at 1280×720
        buttons.setSpacing(6)
        for b in (self.copy_button, self.open_button, self.load_button):
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 8)
        lay.setSpacing(4)
        lay.addWidget(self.explain)
        lay.addWidget(self.path_label)
        lay.addLayout(buttons)

    def set_file(self, path: str, url: str, megabytes: int) -> None:
        """``path``: the full path the weights file must have; ``url``: where it can be fetched."""
        self._path = str(path)
        name = Path(self._path).name
        host = url.split("//", 1)[-1].split("/", 1)[0]
        self.explain.setText(f"<b>No internet?</b> Put {name} ({megabytes} MB, from {host}) "
                             "at this exact path, then click Load it:")
        self.explain.setToolTip(url)
        self.path_label.setText(breakable(self._path))
        self.path_label.setToolTip(self._path)

    def path(self) -> str:
        """The path as shown (without the invisible wrap points)."""
        return self.path_label.text().replace(ZWSP, "")

    def copy_path(self) -> None:
        QGuiApplication.clipboard().setText(self._path)

    def open_folder(self) -> bool:
        folder = Path(self._path).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            self.failed.emit(f"cannot create {folder}: {err.strerror or err}")
            return False
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.failed.emit(f"no file manager opened {folder}; open it yourself")
            return False
        return True
