"""The channel grid's header row: which layer is shown, a note on where its data comes from, and
how many channels are selected.

The note exists because the same layer can come from two runs: after an ablation the
layers after it show the edited run, and a grid that looked like the original would
mislead. So the window states it ("after the ablation of conv5_3: 2 channels") and the
header keeps it in its own colour on a line of its own under the caption (beside it, at
the grid's 430 px in a 1280×720 window, one of the two was always cut), for as long as
that layer is on show. The selection count ("4 selected", its tooltip says how to change
or drop it) tells a ctrl/shift-clicking user what an ablation would take. None of the
labels widens the window (see widgets.compact).
"""
from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from widgets.compact import ElidedLabel

NOTE_COLOUR = "#b86e00"        # amber: readable on the light window background, apart from the caption
SELECTION_COLOUR = "#2a6fb0"


class FittedLabel(ElidedLabel):
    """An ElidedLabel that asks for its text's width (so it is whole when there is room) but can
    shrink to ``min_width`` (then elided)."""

    def __init__(self, min_width: int) -> None:
        super().__init__("", min_width=min_width)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        m = self.contentsMargins()
        w = self.fontMetrics().horizontalAdvance(self.text()) + m.left() + m.right() + 2
        return QSize(max(self.minimumWidth(), w), super().sizeHint().height())


class GridHeader(QWidget):
    """caption · "n selected", and the note under them; ``caption`` is the bold label naming the layer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = ElidedLabel()
        font = self.caption.font()
        font.setBold(True)
        self.caption.setFont(font)
        self.caption.setContentsMargins(4, 2, 4, 0)
        self.note = ElidedLabel()
        self.note.setFont(font)
        self.note.setStyleSheet(f"color: {NOTE_COLOUR};")
        self.note.setContentsMargins(4, 0, 4, 0)
        self.selection = FittedLabel(70)
        self.selection.setStyleSheet(f"color: {SELECTION_COLOUR};")
        self.selection.setContentsMargins(0, 2, 4, 0)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.caption, 1)
        row.addWidget(self.selection)
        column.addLayout(row)
        column.addWidget(self.note)
        self.set_note("")
        self.set_selected(0)

    def set_note(self, text: str) -> None:
        """Where the layer's data comes from (an ablated run); "" hides it."""
        text = " ".join(str(text or "").split())   # one line
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def note_text(self) -> str:
        return self.note.text()

    def set_selected(self, n: int) -> None:
        """How many channels the multi-selection holds (0 hides the count)."""
        n = int(n)
        self.selection.setText(f"{n} selected" if n else "")
        self.selection.setToolTip("ctrl-click toggles a channel, shift-click selects a range (in the order "
                                  "shown), Esc or a plain click clears" if n else "")
        self.selection.setVisible(n > 0)
        self.selection.updateGeometry()

    def selection_text(self) -> str:
        return self.selection.text()
