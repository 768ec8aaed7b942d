"""Two widgets side by side, or one under the other: the demo-conv panel's kernel beside or below its pictures."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QBoxLayout, QSizePolicy, QSpacerItem, QWidget


class SideOrBelow(QWidget):
    """``main`` with ``side`` to its right, or ``side`` under ``main`` (the owner decides which)."""

    def __init__(self, main: QWidget, side: QWidget, parent=None):
        super().__init__(parent)
        self._side_by_side = True
        self._box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self._box.setContentsMargins(6, 4, 6, 4)
        self._box.setSpacing(14)
        self._box.addWidget(main, 1)
        self._box.addWidget(side, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._tail = QSpacerItem(0, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Minimum)
        self._box.addItem(self._tail)  # takes spare height when stacked, so nothing floats apart

    def spacing(self) -> int:
        return self._box.spacing()

    def margins(self):
        return self._box.contentsMargins()

    def is_side_by_side(self) -> bool:
        return self._side_by_side

    def set_side_by_side(self, side: bool) -> None:
        if side == self._side_by_side:
            return
        self._side_by_side = side
        self._box.setDirection(QBoxLayout.Direction.LeftToRight if side else QBoxLayout.Direction.TopToBottom)
        self._box.setStretch(0, 1 if side else 0)
        self._box.setStretch(2, 0 if side else 1)
        self._tail.changeSize(0, 0, QSizePolicy.Policy.Minimum,
                              QSizePolicy.Policy.Minimum if side else QSizePolicy.Policy.Expanding)
        self._box.invalidate()
