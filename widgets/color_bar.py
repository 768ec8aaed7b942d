"""A one-line colour bar: low label, the colormap's gradient, high label, and what the range means.

Colours alone do not say which values they stand for. Each view that maps values to
colours (the channel grid, the overlay) shows one of these under its picture, with the
range it colours over and whether that range is each channel's own or shared, and it
updates when the scale mode, the colormap or the selected channel changes.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from widgets.colormaps import DEFAULT_COLORMAP, check_colormap, lut
from widgets.numbers import fmt_sig
from widgets.qimage import rgb_to_qimage

GAP = 6
BAR_MIN, BAR_MAX = 48, 160   # gradient width, px


class ColorBar(QWidget):
    """Paints ``lo_text [gradient] hi_text  note``; the gradient runs from ``lo`` to ``hi``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(140)
        self.setContentsMargins(4, 1, 4, 1)
        self._cmap = DEFAULT_COLORMAP
        self._gradient = self._make_gradient(self._cmap)
        self._levels: tuple[float, float] | None = None
        self._texts = ("", "", "")

    @staticmethod
    def _make_gradient(name: str) -> QImage:
        return rgb_to_qimage(lut(name)[None, :, :].copy())

    # ------------------------------------------------------------------ content
    def set_colormap(self, name: str) -> None:
        self._cmap = check_colormap(name)
        self._gradient = self._make_gradient(self._cmap)
        self.update()

    def set_range(self, lo: float, hi: float, lo_text: str | None = None, hi_text: str | None = None,
                  note: str = "") -> None:
        """Colours from ``lo`` to ``hi``; the end labels default to the numbers themselves."""
        self._levels = (float(lo), float(hi))
        self._texts = (fmt_sig(lo) if lo_text is None else lo_text, fmt_sig(hi) if hi_text is None else hi_text, note)
        self.setToolTip(self.text())
        self.update()

    def clear(self) -> None:
        self._levels = None
        self._texts = ("", "", "")
        self.setToolTip("")
        self.update()

    def levels(self) -> tuple[float, float] | None:
        """The (lo, hi) the gradient spans, or None when empty."""
        return self._levels

    def texts(self) -> tuple[str, str, str]:
        """(low label, high label, note)."""
        return self._texts

    def text(self) -> str:
        """The whole bar as one line: "lo … hi · note"."""
        lo, hi, note = self._texts
        if self._levels is None:
            return ""
        return f"{lo} … {hi}" + (f" · {note}" if note else "")

    # ------------------------------------------------------------------ painting
    def sizeHint(self) -> QSize:
        m = self.contentsMargins()
        return QSize(self.minimumWidth(), max(14, self.fontMetrics().height()) + m.top() + m.bottom() + 2)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def _bar_width(self) -> int:
        """The gradient's width: the note (what the range is) gets its full width first."""
        fm, r = self.fontMetrics(), self.contentsRect()
        lo_text, hi_text, note = self._texts
        room = r.right() - r.left() - fm.horizontalAdvance(lo_text) - 4 - fm.horizontalAdvance(hi_text) - 4 - GAP - 4
        return int(max(BAR_MIN, min(BAR_MAX, room - (fm.horizontalAdvance(note) + 3 if note else 0))))

    def shown_note(self) -> str:
        """The note as painted at the current width (elided when the bar is narrow)."""
        fm, r = self.fontMetrics(), self.contentsRect()
        lo_text, hi_text, note = self._texts
        x = r.left() + fm.horizontalAdvance(lo_text) + 4 + self._bar_width() + 4 + fm.horizontalAdvance(hi_text) + GAP + 4
        return fm.elidedText(note, Qt.TextElideMode.ElideRight, int(r.right() - x)) if note and x < r.right() else ""

    def paintEvent(self, event) -> None:
        if self._levels is None:
            return
        p = QPainter(self)
        fm = self.fontMetrics()
        r = self.contentsRect()
        lo_text, hi_text, note = self._texts
        text_colour = self.palette().color(self.foregroundRole())
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        x = r.left()
        p.setPen(text_colour)
        w = fm.horizontalAdvance(lo_text)
        p.drawText(QRectF(x, r.top(), w + 1, r.height()), left, lo_text)
        x += w + 4
        bar_w = self._bar_width()
        bar = QRectF(x, r.top() + 2, bar_w, r.height() - 4)
        p.drawImage(bar, self._gradient)
        lo, hi = self._levels
        if lo < 0 < hi:    # where zero falls: the sign reads off the bar
            zx = bar.left() + bar.width() * (-lo) / (hi - lo)
            p.setPen(QPen(QColor(0, 0, 0), 1))
            p.drawLine(int(zx), int(bar.top()), int(zx), int(bar.bottom()))
        p.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1))
        p.drawRect(bar)
        x = bar.right() + 4
        p.setPen(text_colour)
        w = fm.horizontalAdvance(hi_text)
        p.drawText(QRectF(x, r.top(), w + 1, r.height()), left, hi_text)
        x += w + GAP + 4
        if note and x < r.right():
            p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            p.drawText(QRectF(x, r.top(), r.right() - x, r.height()), left, self.shown_note())
        p.end()
