"""The predictions panel's top classes as bars, each row a button that asks "why this class?".

The rows keep one grid so that names, bars and percentages line up; a frame
under each row takes the clicks, the hover highlight, the pointing hand and the
tooltip (the row's labels let the mouse through to it). The class being
explained is marked with a bar at the left and a tinted background.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QProgressBar, QSizePolicy, QWidget

from widgets.prediction_text import explain_tip, format_percent, format_prob

TOP_K = 5
BAR_STEPS = 1000  # progress bar resolution: 0.1 %
_BAR_STYLE = (
    "QProgressBar { border: 1px solid palette(mid); border-radius: 3px; background: palette(base); }"
    "QProgressBar::chunk { background: palette(highlight); border-radius: 2px; }"
)


def tint(widget: QWidget, amount: float) -> str:
    """The highlight colour mixed into the window colour (``amount`` of highlight), as #rrggbb."""
    pal = widget.palette()
    hi, base = pal.color(QPalette.ColorRole.Highlight), pal.color(QPalette.ColorRole.Window)
    mixed = [round(a * amount + b * (1 - amount)) for a, b in zip(hi.getRgb()[:3], base.getRgb()[:3])]
    return QColor(*mixed).name()


def row_style(widget: QWidget) -> str:
    """Stylesheet of the rows' frames: a hover tint, and a marked (explained) state with a left bar."""
    hover, marked, bar = tint(widget, 0.10), tint(widget, 0.30), tint(widget, 1.0)
    return (f"QFrame#classRow {{ border-radius: 3px; border-left: 3px solid transparent; }}"
            f"QFrame#classRow:hover {{ background: {hover}; }}"
            f"QFrame#classRow[marked=\"true\"] {{ background: {marked}; border-left: 3px solid {bar}; }}")


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when narrow (ImageNet has "American Staffordshire terrier"),
    so a long class name never widens the dock; text() and the tooltip keep the whole name."""

    MIN_WIDTH = 60

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self.MIN_WIDTH), hint.height())

    def paintEvent(self, event):
        painter = QPainter(self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()


class RowHit(QFrame):
    """The clickable area under one row."""

    clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("classRow")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setProperty("marked", False)
        self.setAttribute(Qt.WidgetAttribute.WA_Hover, True)

    def mouseReleaseEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()
        super().mouseReleaseEvent(event)

    def set_marked(self, marked: bool) -> None:
        if bool(self.property("marked")) != marked:
            self.setProperty("marked", marked)
            self.style().unpolish(self)
            self.style().polish(self)


class TopBars(QWidget):
    """Heading, then up to 5 rows of rank, class name, probability bar and percentage; ``rowClicked(row)``."""

    rowClicked = Signal(int)

    def __init__(self, muted_style: str = "", parent=None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        self.title_label = QLabel()
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        bold = QFont(self.title_label.font())
        bold.setBold(True)
        self.title_label.setFont(bold)
        grid.addWidget(self.title_label, 0, 0, 1, 4)
        self.hits: list[RowHit] = []
        self.rank_labels: list[QLabel] = []
        self.class_labels: list[QLabel] = []
        self.bars: list[QProgressBar] = []
        self.percent_labels: list[QLabel] = []
        self.setStyleSheet(row_style(self))
        for row in range(TOP_K):
            hit = RowHit()
            hit.clicked.connect(lambda row=row: self.rowClicked.emit(row))
            rank = QLabel(f"{row + 1}.")
            rank.setStyleSheet(muted_style)
            rank.setIndent(6)  # clear of the marked row's left bar
            label = ElidedLabel()
            bar = QProgressBar()
            bar.setRange(0, BAR_STEPS)
            bar.setTextVisible(False)
            bar.setFixedHeight(14)
            bar.setMinimumWidth(40)
            bar.setStyleSheet(_BAR_STYLE)
            pct = QLabel()
            pct.setTextFormat(Qt.TextFormat.PlainText)
            pct.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            pct.setMinimumWidth(pct.fontMetrics().horizontalAdvance("100.0%") + 8)
            pct.setContentsMargins(0, 0, 4, 0)
            if row == 0:
                bold = QFont(label.font())
                bold.setBold(True)
                label.setFont(bold)
                pct.setFont(bold)
            grid.addWidget(hit, row + 1, 0, 1, 4)
            for col, w in enumerate((rank, label, bar, pct)):
                w.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
                if w is not bar:
                    w.setMinimumHeight(22)  # a comfortable click target; the bar keeps its 14 px
                grid.addWidget(w, row + 1, col)
            hit.lower()  # under its row's labels, which let the mouse through to it
            self.hits.append(hit)
            self.rank_labels.append(rank)
            self.class_labels.append(label)
            self.bars.append(bar)
            self.percent_labels.append(pct)
        grid.setColumnStretch(2, 1)  # the bar takes what the name leaves; a narrow dock shortens the bar first
        grid.setRowStretch(TOP_K + 1, 1)

    def set_rows(self, top: list[dict]) -> None:
        """Show ``top`` (dicts with label, prob and index); rows past its length are hidden."""
        for row in range(TOP_K):
            visible = row < len(top)
            for w in (self.hits[row], self.rank_labels[row], self.class_labels[row], self.bars[row],
                      self.percent_labels[row]):
                w.setVisible(visible)
            if not visible:
                continue
            entry = top[row]
            label, prob, index = str(entry["label"]), float(entry["prob"]), entry.get("index")
            self.class_labels[row].setText(label)
            tip = f"class {index}: {label}" if index is not None else label
            self.class_labels[row].setToolTip(tip)
            self.hits[row].setToolTip(f"{tip}, p = {format_prob(prob)}\n{explain_tip(label)}")
            self.hits[row].setEnabled(index is not None)
            self.bars[row].setValue(round(min(max(prob, 0.0), 1.0) * BAR_STEPS))
            self.percent_labels[row].setText(format_percent(prob))

    def set_marked(self, row: int | None) -> None:
        """Mark ``row`` as the class being explained (None: no row)."""
        for r, hit in enumerate(self.hits):
            hit.set_marked(r == row)

    def marked_row(self) -> int | None:
        return next((r for r, h in enumerate(self.hits) if h.property("marked")), None)

    def clear(self) -> None:
        for row in range(TOP_K):
            self.class_labels[row].setText("")
            self.bars[row].setValue(0)
            self.percent_labels[row].setText("")
            self.hits[row].setToolTip("")
        self.set_marked(None)
        self.title_label.setText("")
