"""Asks for the class names of a checkpoint, and says why, inside the dialog itself.

A bare file dialog titled "Class names…" explains nothing where there is no
window manager to draw its title bar. This dialog states the question in its
body: the checkpoint has no cls_classes.txt beside it; choose a names file or
use the defaults.
"""
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

CLASSES_FILE = "cls_classes.txt"


def explanation(checkpoint: str) -> str:
    name = Path(checkpoint).name
    return (f"<b>Class names for {name}</b><br><br>"
            f"There is no {CLASSES_FILE} beside this checkpoint, so ConvScope does not know what its "
            "outputs are called. Choose a text file with one class name per line, in the order of the "
            "model's outputs — or use the defaults: ImageNet's names for a 1000-class model, "
            "otherwise “class&nbsp;0”, “class&nbsp;1”, …")


class ClassNamesDialog(QDialog):
    """``exec()``, then ``chosen()``: a names file, or None for the defaults."""

    def __init__(self, checkpoint: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Class names (optional)")
        self._checkpoint = str(checkpoint)
        self._chosen: str | None = None
        self.label = QLabel(explanation(self._checkpoint))
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.label.setMinimumWidth(420)
        self.choose_button = QPushButton("Choose file…")
        self.defaults_button = QPushButton("Use defaults")
        self.choose_button.setDefault(True)
        self.choose_button.clicked.connect(self._choose)
        self.defaults_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.defaults_button)
        buttons.addWidget(self.choose_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label)
        lay.addLayout(buttons)

    def chosen(self) -> str | None:
        return self._chosen

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Class names: one per line", str(Path(self._checkpoint).parent),
                                              "Text files (*.txt);;All files (*)")
        if path:
            self._chosen = path
            self.accept()
