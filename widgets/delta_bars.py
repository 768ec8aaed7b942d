"""The channels whose mean changed most from A to B, as a compact list of signed bars.

One row per channel, largest |Δ| first: the channel number, a bar from the zero line (red
when B's mean is higher, blue when it is lower, the app's sign convention) and the signed
value. Only the top rows are kept (20 by default), because a list of 512 says less than its
top 20. The rows are painted, not made of widgets. Hovering tints a row, and a click, or
Enter on the keyboard's row (Up/Down move it), emits ``channelActivated(channel)``, so the
window can show that channel in A and B. The channel on show is framed in the grid's orange.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QScrollArea, QSizePolicy, QToolTip, QWidget

from widgets.ablation_compare import sign_colour
from widgets.class_rows import tint
from widgets.focus_keys import ACTIVATE_KEYS, RepaintOnFocus
from widgets.grid_canvas import HIGHLIGHT
from widgets.hypercolumn_view import NEGATIVE, POSITIVE
from widgets.numbers import fmt_sig
from widgets.prediction_text import MINUS

DEFAULT_TOP = 20
GAP = 6


def signed(v: float) -> str:
    """"+0.123", "−0.0456" (a real minus sign), "0"."""
    text = fmt_sig(v)
    if text.startswith("-"):
        return MINUS + text[1:]
    return text if float(v) == 0 else "+" + text


def top_by_magnitude(channels, deltas, top: int = DEFAULT_TOP) -> tuple[np.ndarray, np.ndarray]:
    """The ``top`` (channel, delta) pairs with the largest |delta|, largest first (ties keep the
    given order), or a one-line ValueError."""
    channels = np.asarray(channels).reshape(-1)
    deltas = np.asarray(deltas, dtype=np.float64).reshape(-1)
    if channels.size != deltas.size:
        raise ValueError(f"got {channels.size} channels for {deltas.size} deltas")
    if not np.isfinite(deltas).all():
        raise ValueError("the channel deltas contain NaN or infinity")
    if channels.size and not np.issubdtype(channels.dtype, np.integer):
        raise ValueError(f"channels must be integers, got {channels.dtype}")
    order = np.argsort(-np.abs(deltas), kind="stable")[: max(0, int(top))]
    return channels[order].astype(np.int64), deltas[order]


class DeltaBars(RepaintOnFocus, QWidget):
    """Rows "#ch  [bar]  +Δ", largest |Δ| first; ``channelActivated(channel)`` on a click or Enter."""

    channelActivated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.channels = np.empty(0, dtype=np.int64)
        self.deltas = np.empty(0, dtype=np.float64)
        self._total = 0
        self._hover: int | None = None
        self._cursor = 0
        self._current: int | None = None
        self._means: dict[int, tuple[float, float]] = {}
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    # ------------------------------------------------------------------ content
    def set_deltas(self, channels, deltas, top: int = DEFAULT_TOP, means_a=None, means_b=None) -> None:
        """Keep the ``top`` channels by |delta| of ``channels`` (ints) and ``deltas`` (B's mean − A's);
        ``means_a`` / ``means_b`` (aligned with ``channels``, optional) go into the rows' tooltips."""
        self.channels, self.deltas = top_by_magnitude(channels, deltas, top)
        self._total = int(np.asarray(channels).size)
        self._means = {}
        if means_a is not None and means_b is not None:
            given = np.asarray(channels).reshape(-1)
            ma, mb = np.asarray(means_a, dtype=np.float64).reshape(-1), np.asarray(means_b, dtype=np.float64).reshape(-1)
            if ma.size != given.size or mb.size != given.size:
                raise ValueError(f"got {ma.size} and {mb.size} means for {given.size} channels")
            self._means = {int(c): (float(x), float(y)) for c, x, y in zip(given, ma, mb)}
        self._hover, self._cursor = None, 0
        self.updateGeometry()
        self.setFixedHeight(self.sizeHint().height())
        self.update()

    def clear(self) -> None:
        self.set_deltas([], [])

    def set_current_channel(self, channel: int | None) -> None:
        """Frame the row of the channel on show (None: no frame)."""
        self._current = None if channel is None else int(channel)
        self.update()

    def total(self) -> int:
        """How many channels were given (the rows are the top of them)."""
        return self._total

    # ------------------------------------------------------------------ geometry
    def row_height(self) -> int:
        return self.fontMetrics().height() + 4

    def sizeHint(self) -> QSize:
        return QSize(220, max(1, len(self.channels)) * self.row_height() + 2)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, self.sizeHint().height())

    def _columns(self) -> tuple[int, int, int, int]:
        """(index width, bar left, bar width, value width)."""
        fm = self.fontMetrics()
        widest = max((int(c) for c in self.channels), default=0)
        index_w = fm.horizontalAdvance(f"#{max(widest, 999)}") + 4
        value_w = max((fm.horizontalAdvance(signed(d)) for d in self.deltas), default=0)
        value_w = max(value_w, fm.horizontalAdvance("+0.000")) + 4
        left = index_w + GAP
        return index_w, left, max(20, self.width() - left - GAP - value_w - 2), value_w

    def row_rect(self, row: int) -> QRect:
        h = self.row_height()
        return QRect(0, 1 + row * h, self.width(), h)

    def bar_rect(self, row: int) -> QRectF:
        """Where row ``row``'s bar is painted (from the zero line to its value)."""
        _, left, width, _ = self._columns()
        lo = min(0.0, float(self.deltas.min()))
        hi = max(0.0, float(self.deltas.max()))
        span = (hi - lo) or 1.0
        zero = left + width * (-lo) / span
        v = float(self.deltas[row])
        end = left + width * (v - lo) / span
        r = self.row_rect(row)
        return QRectF(min(zero, end), r.top() + 3, max(1.0, abs(end - zero)), r.height() - 6)

    def row_at(self, y: float) -> int | None:
        row = math.floor((y - 1) / self.row_height())
        return row if 0 <= row < len(self.channels) else None

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        pal = self.palette()
        text = pal.windowText().color()
        index_w, left, width, value_w = self._columns()
        n = len(self.channels)
        if n == 0:
            p.end()
            return
        lo = min(0.0, float(self.deltas.min()))
        hi = max(0.0, float(self.deltas.max()))
        zero = left + width * (-lo) / ((hi - lo) or 1.0)
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for row in range(n):
            r = self.row_rect(row)
            if row == self._hover or (self.hasFocus() and row == self._cursor):
                p.fillRect(r, QColor(tint(self, 0.22 if row == self._cursor and self.hasFocus() else 0.12)))
            ch, v = int(self.channels[row]), float(self.deltas[row])
            p.setPen(text)
            p.drawText(QRect(0, r.top(), index_w, r.height()), right, f"#{ch}")
            bar = self.bar_rect(row)
            p.fillRect(bar, QColor(*(POSITIVE if v > 0 else NEGATIVE)))
            colour = sign_colour(self, 1 if v > 0 else (-1 if v < 0 else 0))
            p.setPen(QColor(colour) if colour else text)
            p.drawText(QRect(left + width + GAP, r.top(), value_w, r.height()), right, signed(v))
            if ch == self._current:
                pen = QPen(HIGHLIGHT, 2)
                pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
                p.setPen(pen)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(QRectF(r).adjusted(1, 0.5, -1, -0.5))
        p.setPen(QPen(pal.mid().color(), 1))
        p.drawLine(int(zero), 1, int(zero), 1 + n * self.row_height())
        p.end()

    # ------------------------------------------------------------------ input
    def row_tip(self, row: int) -> str:
        ch, v = int(self.channels[row]), float(self.deltas[row])
        means = self._means.get(ch)
        where = f": mean {fmt_sig(means[0], 4)} in A → {fmt_sig(means[1], 4)} in B" if means else ""
        return (f"channel {ch}{where} (B − A {signed(v)}), rank {row + 1} of {self._total} by |Δ|\n"
                "Click (or Enter) to show this channel")

    def event(self, e) -> bool:
        if e.type() == QEvent.Type.ToolTip:
            row = self.row_at(e.pos().y())
            if row is None:
                QToolTip.hideText()
                e.ignore()
            else:
                QToolTip.showText(e.globalPos(), self.row_tip(row), self)
            return True
        return super().event(e)

    def _reveal(self, row: int) -> None:
        """Scroll the keyboard's row into view when the list sits in a scroll area."""
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if parent is not None:
            r = self.row_rect(row)
            parent.ensureVisible(r.center().x(), r.center().y(), 0, r.height())

    def mouseMoveEvent(self, event) -> None:
        row = self.row_at(event.position().y())
        if row != self._hover:
            self._hover = row
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        row = self.row_at(event.position().y()) if event.button() == Qt.MouseButton.LeftButton else None
        if row is not None:
            self._cursor = row
            self.channelActivated.emit(int(self.channels[row]))
            self.update()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        n, key = len(self.channels), event.key()
        if n and key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self._cursor = min(n - 1, max(0, self._cursor + (1 if key == Qt.Key.Key_Down else -1)))
            self._reveal(self._cursor)
            self.update()
            return
        if n and key in ACTIVATE_KEYS:
            self.channelActivated.emit(int(self.channels[self._cursor]))
            return
        super().keyPressEvent(event)

