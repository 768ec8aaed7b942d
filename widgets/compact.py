"""Text widgets that never widen their window: an eliding label and a combo box with short forms.

A QLabel asks for the width of its text, so a long readout under the overlay made the
whole window grow by itself, and a squeezed QComboBox cuts its text mid-word
("per channe"). These two keep a fixed minimum width and shorten their text instead.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy, QStyle, QStyleOptionComboBox, QStylePainter

SHORT_ROLE = Qt.ItemDataRole.UserRole + 1


class ElidedLabel(QLabel):
    """A one-line label that ends in "…" when squeezed; its width never follows its text
    (the full text is its tooltip). Honours its contents margins, so the first letter is
    never drawn on the widget's edge.

    The text is kept here, not in QLabel: QLabel.setText asks its layout to recompute
    (updateGeometry) whatever the text, and that request climbs to the window, whose
    central tab widget then repaints its whole page: 10 ms of every probe click. This
    label's size never depends on its text, so a new text only repaints the label."""

    def __init__(self, text: str = "", min_width: int = 80) -> None:
        super().__init__()
        self._text = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(min_width)
        self.setText(text)

    def setText(self, text: str) -> None:
        text = str(text)
        if text != self._text:
            self._text = text
            self.setToolTip(text)
            self.update()

    def text(self) -> str:
        return self._text

    def sizeHint(self) -> QSize:
        m = self.contentsMargins()
        return QSize(self.minimumWidth(), self.fontMetrics().height() + m.top() + m.bottom() + 2)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def shown_text(self) -> str:
        """The text as painted at the current width."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setPen(self.palette().color(self.foregroundRole()))
        p.drawText(self.contentsRect(), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                   self.shown_text())
        p.end()


class CompactCombo(QComboBox):
    """A combo box that shows each item's full text when it fits, else its short form (then
    elided): "shared across layer" becomes "shared", never "shared across laye". It asks for
    the full width but can shrink to the widest short form; the popup always lists full texts.
    ``dataChosen(data)`` says which item's data the user (or setCurrentIndex) chose."""

    dataChosen = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.currentIndexChanged.connect(self._emit_data)
        # Not AdjustToContents: that policy calls adjustSize() on itself, outside the layout,
        # and the box then overlaps its neighbours. The hints below are computed here instead.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def add(self, data, text: str, short: str | None = None) -> None:
        """Append an item with ``data``, its ``text`` and the ``short`` form for tight spaces."""
        self.addItem(text, data)
        self.setItemData(self.count() - 1, short or text, SHORT_ROLE)
        self.updateGeometry()

    def set_text(self, i: int, text: str, short: str | None = None) -> None:
        """Change item ``i``'s text (and its short form), e.g. when it names something new."""
        if i < 0 or (self.itemText(i) == text and self.short_text(i) == (short or text)):
            return
        self.setItemText(i, text)
        self.setItemData(i, short or text, SHORT_ROLE)
        self.updateGeometry()
        self.update()

    def _emit_data(self, i: int) -> None:
        if i >= 0:
            self.dataChosen.emit(self.itemData(i))

    def short_text(self, i: int) -> str:
        return str(self.itemData(i, SHORT_ROLE) or self.itemText(i))

    def _hint_for(self, texts) -> QSize:
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        fm = self.fontMetrics()
        w = max((fm.horizontalAdvance(t) for t in texts), default=20)
        size = self.style().sizeFromContents(QStyle.ContentsType.CT_ComboBox, opt, QSize(w + 4, fm.height()), self)
        return QSize(size.width(), super().sizeHint().height())

    def sizeHint(self) -> QSize:
        return self._hint_for(self.itemText(i) for i in range(self.count()))

    def minimumSizeHint(self) -> QSize:
        return self._hint_for(self.short_text(i) for i in range(self.count()))

    def shown_text(self) -> str:
        """The text as painted at the current width: full, short, or the short form elided."""
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        field = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt,
                                            QStyle.SubControl.SC_ComboBoxEditField, self)
        fm, room = self.fontMetrics(), field.width() - 2
        text = self.currentText()
        if fm.horizontalAdvance(text) <= room or self.currentIndex() < 0:
            return text
        short = self.short_text(self.currentIndex())
        return short if fm.horizontalAdvance(short) <= room else fm.elidedText(short, Qt.TextElideMode.ElideRight, room)

    def paintEvent(self, event) -> None:
        p = QStylePainter(self)
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        p.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, opt)
        opt.currentText = self.shown_text()
        p.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, opt)
