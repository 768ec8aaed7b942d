"""How the predictions panel fits a short dock without drawing anything over anything.

Qt squeezes a widget below its minimum when a fixed-size window (1280×720, the weights help box
under the panel) cannot give more; a squeezed layout draws its children over each other. So the
panel keeps its content in a scroll area, never squeezed, and asks for the height of all of it;
when it gets less, the softmax explanation gives way first (widgets.softmax_note's tiers), and
only when even that is not enough does a scroll bar appear. The top classes and the logit table
come first in the content, so they stay in view longest.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtWidgets import QBoxLayout

from widgets.softmax_note import FULL, SHORT, TIERS


class FitsTheDock:
    """Mixin for PredictionsPanel (needs ``scroll``, ``_inner`` in it, ``note``, ``table``, ``_cols``)."""

    _fitting = False

    def eventFilter(self, watched, event):
        if watched is self._inner and event.type() == QEvent.Type.LayoutRequest:
            self._fit_note()
            self.updateGeometry()  # the content changed: the dock's column hears of the new height
        return super().eventFilter(watched, event)

    def _need(self, tier: str, width: int) -> int:
        """The content's height at ``width`` with the note at ``tier`` (the others as they are)."""
        lay = self._inner.layout()
        lay.activate()  # nested layouts keep stale heights until activated
        # The note is as wide as the table, whose column takes all (stacked) or half (side by side)
        # of a change in the content's width (the scroll bar coming or going is one).
        share = 1.0 if self._cols.direction() == QBoxLayout.Direction.TopToBottom else 0.5
        note_width = round(self.table.width() + share * (width - self._inner.width()))
        current = self.note.height_for(self.note.tier(), note_width)
        return lay.totalHeightForWidth(width) - current + self.note.height_for(tier, note_width)

    def _fit_note(self) -> None:
        """The richest explanation that lets the whole content fit without scrolling; if none
        does, the one-line formula (the content scrolls anyway)."""
        if self._fitting:
            return
        self._fitting = True
        try:
            room = self.scroll.maximumViewportSize()
            if self.note.isVisibleTo(self):
                tier = next((t for t in TIERS if self._need(t, room.width()) <= room.height()), None)
                self.note.set_tier(tier or SHORT)
            else:  # a comparison, or nothing yet: no note to trade, the content fits or it scrolls
                self._inner.layout().activate()
                fits = self._inner.layout().totalHeightForWidth(room.width()) <= room.height()
                tier = FULL if fits else None
            # Our own call, not the scroll area's: a scroll bar left over from a narrower moment
            # would keep the content narrow, hence taller, hence scrolling.
            self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded if tier is None
                                                   else Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        finally:
            self._fitting = False

    def sizeHint(self) -> QSize:
        """Tall enough for everything, the whole explanation included, at the current width."""
        hint = self._inner.sizeHint()
        width = self.scroll.maximumViewportSize().width() if self.isVisible() else hint.width()
        height = self._need(FULL, width) if self.note.isVisibleTo(self) else self._inner.heightForWidth(width)
        return QSize(hint.width(), height if height > 0 else hint.height())
