"""The logits next to their softmax probabilities, one clickable row per top class.

Seeing a raw score of 15.3 turn into p = 0.61 is the point of the table; a click
on a row explains that class, like a click on its bar. Rows tint under the
mouse (the view's own hover colours one cell only) and the explained row is bold.
"""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QSizePolicy, QTableWidget, QTableWidgetItem

from widgets.class_rows import tint
from widgets.prediction_text import explain_tip, format_logit, format_prob


NAME_MIN_WIDTH = 90


class LogitTable(QTableWidget):
    """class | logit z | softmax p, exactly as tall as its rows; ``rowClicked(row)``."""

    rowClicked = Signal(int)

    def __init__(self, rows: int, parent=None):
        super().__init__(rows, 3, parent)
        self.setHorizontalHeaderLabels(["class", "logit z", "softmax p"])
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)  # one line per class: long names end in "…"
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        self.cellClicked.connect(lambda row, _col: self._clicked(row))
        self.entered.connect(self._on_entered)
        self._hover: int | None = None
        self._marked: int | None = None
        self._clickable: list[bool] = []

    def set_rows(self, top: list[dict]) -> None:
        """One row per entry of ``top`` (label, logit, prob, index)."""
        self._hover = None
        self.setRowCount(len(top))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        self._clickable = []
        for row, entry in enumerate(top):
            label, index = str(entry["label"]), entry.get("index")
            tip = f"class {index}: {label}" if index is not None else label
            name = QTableWidgetItem(label)
            z = QTableWidgetItem(format_logit(entry.get("logit")))
            z.setTextAlignment(right)
            p = QTableWidgetItem(format_prob(float(entry["prob"])))
            p.setTextAlignment(right)
            for col, item in enumerate((name, z, p)):
                item.setToolTip(f"{tip}\n{explain_tip(label)}" if index is not None else tip)
                self.setItem(row, col, item)
            self._clickable.append(index is not None)
        self._paint_rows()
        self.fit()

    def blank(self, rows: int) -> None:
        """``rows`` empty rows (the panel's placeholder before any prediction)."""
        self.setRowCount(rows)
        for row in range(rows):
            for col in range(3):
                self.setItem(row, col, QTableWidgetItem(""))
        self._clickable, self._hover, self._marked = [False] * rows, None, None
        self.fit()

    def set_marked(self, row: int | None) -> None:
        """Bold the row of the class being explained (None: no row)."""
        self._marked = row
        self._paint_rows()
        self.fit()  # a bold row is wider

    def marked_row(self) -> int | None:
        return self._marked

    def row_rect(self, row: int):
        """The row's rectangle in viewport coordinates (where a click lands on it)."""
        first, last = self.visualItemRect(self.item(row, 0)), self.visualItemRect(self.item(row, 2))
        return first.united(last)

    def _clicked(self, row: int) -> None:
        if 0 <= row < len(self._clickable) and self._clickable[row]:
            self.rowClicked.emit(row)

    def _on_entered(self, index: QModelIndex) -> None:
        row = index.row() if index.isValid() else None
        if row != self._hover:
            self._hover = row
            self._paint_rows()

    def leaveEvent(self, event):
        if self._hover is not None:
            self._hover = None
            self._paint_rows()
        super().leaveEvent(event)

    def _paint_rows(self) -> None:
        hover, marked = QColor(tint(self, 0.10)), QColor(tint(self, 0.30))
        for row in range(self.rowCount()):
            brush = (QBrush(marked) if row == self._marked else
                     QBrush(hover) if row == self._hover and row < len(self._clickable) and self._clickable[row]
                     else QBrush())
            for col in range(3):
                item = self.item(row, col)
                if item is None:
                    continue
                item.setBackground(brush)
                font = QFont(self.font())
                font.setBold(row == self._marked)
                item.setFont(font)

    def fit(self) -> None:
        """Make the table exactly as tall as its rows (no scrollbars, no empty space), and wide enough."""
        self.resizeRowsToContents()
        height = self.horizontalHeader().sizeHint().height() + 2 * self.frameWidth()
        height += sum(self.rowHeight(r) for r in range(self.rowCount()))
        self.setFixedHeight(height)
        hh = self.horizontalHeader()
        widths = [max(self.sizeHintForColumn(c), hh.sectionSizeHint(c)) for c in range(self.columnCount())]
        widths[0] = min(widths[0], NAME_MIN_WIDTH)  # long names end in "…" rather than widen the dock
        width = 2 * self.frameWidth() + sum(widths)
        self.setMinimumWidth(width)
