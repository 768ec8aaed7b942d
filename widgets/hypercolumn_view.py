"""The hypercolumn of a probed position: every channel's value there, as bars sorted by value.

A unit is one channel at one position; the hypercolumn is all channels at that
position, i.e. what the layer as a whole says about that part of the photo. The
caller gives the values and their order (largest first), so this view computes
nothing from the activations. Bars run horizontally, one row per channel, each row
labelled with its channel index on the left axis (512 vertical bars in a 300 px dock
could not carry their labels); the dock shows as many rows as fit (about 12 at 200 px)
and the wheel or a drag scrolls through the rest, never zooms. Colours follow the sign
convention of every view: red positive, blue negative (colormaps' diverging ends).
Clicking a row emits ``channelChosen(channel)``, so the window can show that channel.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from widgets.colormaps import lut
from widgets.compact import ElidedLabel
from widgets.numbers import fmt_sig

ROW_PX = 14                  # one channel's row, screen px
BAR_THICKNESS = 0.72         # of a row
POSITIVE = tuple(int(v) for v in lut("CET-D1")[230])   # the diverging map's red and blue
NEGATIVE = tuple(int(v) for v in lut("CET-D1")[25])
CURRENT = (255, 159, 26)     # the grid's orange: the channel on show
HINT = "Probe a position on a map: every channel's value there shows here, largest first."


class RowBox(pg.ViewBox):
    """A ViewBox that scrolls rows with the wheel instead of zooming."""

    def wheelEvent(self, ev, axis=None) -> None:
        rows = -np.sign(ev.delta()) * 3
        (y0, y1) = self.viewRange()[1]
        self.setYRange(y0 + rows, y1 + rows, padding=0)
        ev.accept()


class HypercolumnView(QWidget):
    """Bars of ``values[order]``, one row per channel, largest at the top."""

    channelChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values: np.ndarray | None = None
        self._order: np.ndarray | None = None
        self._rank_of: np.ndarray | None = None
        self._current: int | None = None
        self._note = ""

        self._title = ElidedLabel("Hypercolumn")
        font = self._title.font()
        font.setBold(True)
        self._title.setFont(font)
        self._title.setContentsMargins(4, 2, 4, 0)

        self._vb = RowBox(invertY=True, enableMenu=False)
        self._vb.setMouseEnabled(x=False, y=True)
        self._plot = pg.PlotWidget(viewBox=self._vb)
        self._plot.setBackground(None)
        self._plot.hideButtons()
        self._plot.setMenuEnabled(False)
        small = self.font()
        small.setPointSizeF(max(6.5, small.pointSizeF() * 0.8))   # a label per 14 px row
        for side in ("left", "bottom"):
            axis = self._plot.getAxis(side)
            axis.setStyle(tickFont=small, tickTextOffset=2)
            axis.setTextPen(self.palette().color(QPalette.ColorRole.WindowText))
            axis.enableAutoSIPrefix(False)
        self._plot.getAxis("left").setStyle(tickLength=0)
        self._plot.getAxis("bottom").setHeight(18)
        self._plot.showGrid(x=True, alpha=0.2)
        self._pos = pg.BarGraphItem(x0=[], y=[], width=[], height=BAR_THICKNESS, pen=None, brush=pg.mkBrush(*POSITIVE))
        self._neg = pg.BarGraphItem(x0=[], y=[], width=[], height=BAR_THICKNESS, pen=None, brush=pg.mkBrush(*NEGATIVE))
        self._mark = pg.BarGraphItem(x0=[0], y=[0], width=[0], height=0.95, pen=pg.mkPen(CURRENT, width=2), brush=None)
        self._mark.setVisible(False)
        self._zero = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen((120, 120, 120), width=1))
        for item in (self._pos, self._neg, self._mark, self._zero):
            self._plot.addItem(item)
        self._vb.sigResized.connect(self._fit_rows)
        self._vb.sigYRangeChanged.connect(self._on_scrolled)
        self._plot.scene().sigMouseClicked.connect(self._on_clicked)
        self._plot.scene().sigMouseMoved.connect(self._on_moved)
        self._readout = ElidedLabel(" ")
        self._readout.setContentsMargins(4, 0, 4, 2)

        self._hint = QLabel(HINT)
        self._hint.setWordWrap(True)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setStyleSheet("color: palette(mid); font-style: italic;")
        self._stack = QStackedWidget()
        self._stack.addWidget(self._hint)
        self._stack.addWidget(self._plot)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addWidget(self._title)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self._readout)
        self.clear()

    # ------------------------------------------------------------------ public API
    def set_hypercolumn(self, values, order, title: str) -> None:
        """Show ``values`` (C,) in ``order`` (the channel at each rank, largest first), titled
        ``title`` ("every channel of conv5_3 at (y 7, x 3)"); scrolled to the top."""
        values = np.asarray(values, dtype=np.float32)
        if values.ndim != 1 or values.size == 0:
            raise ValueError("a hypercolumn needs a non-empty 1-D array of values, one per channel")
        if not np.isfinite(values).all():
            raise ValueError("hypercolumn values contain NaN or infinity")
        order = np.asarray(order).reshape(-1)
        c = values.size
        if order.size != c or not np.array_equal(np.sort(order.astype(np.int64)), np.arange(c)):
            raise ValueError(f"the order must list each of the {c} channels once")
        order = order.astype(np.intp)
        self._values, self._order = values, order
        self._rank_of = np.empty(c, dtype=np.intp)
        self._rank_of[order] = np.arange(c)
        v = values[order]
        ranks = np.arange(c, dtype=np.float32)
        pos, neg = v > 0, v < 0
        self._pos.setOpts(x0=np.zeros(int(pos.sum())), y=ranks[pos], width=v[pos], height=BAR_THICKNESS)
        self._neg.setOpts(x0=v[neg], y=ranks[neg], width=-v[neg], height=BAR_THICKNESS)
        self._plot.getAxis("left").setTicks([[(float(r), f"#{int(ch)}") for r, ch in enumerate(order)]])
        lo, hi = min(0.0, float(v.min())), max(0.0, float(v.max()))
        span = (hi - lo) or 1.0
        self._vb.setLimits(yMin=-0.5, yMax=max(c - 0.5, self._rows() - 0.5))
        self._vb.setXRange(lo - 0.03 * span, hi + 0.03 * span, padding=0)
        self._title.setText(str(title))
        self._stack.setCurrentWidget(self._plot)
        self.scroll_to(0)
        self._show_current()
        self._on_scrolled()

    def clear(self) -> None:
        """Back to the hint (no probe)."""
        self._values = self._order = self._rank_of = None
        self._pos.setOpts(x0=[], y=[], width=[])
        self._neg.setOpts(x0=[], y=[], width=[])
        self._mark.setVisible(False)
        self._plot.getAxis("left").setTicks([[]])
        self._title.setText("Hypercolumn")
        self._note = ""
        self._readout.setText(" ")
        self._stack.setCurrentWidget(self._hint)

    def set_current_channel(self, channel: int | None) -> None:
        """Outline the row of ``channel`` (the one the grid and overlay show), or none."""
        self._current = None if channel is None else int(channel)
        self._show_current()

    def scroll_to(self, rank: int) -> None:
        """Put row ``rank`` (0 = largest) at the top, as far as the rows go."""
        if self._values is None:
            return
        n = self._rows()
        top = min(max(0, int(rank)), max(0, self._values.size - n))
        self._vb.setYRange(top - 0.5, top - 0.5 + n, padding=0)

    def visible_ranks(self) -> range:
        """The ranks whose rows are on show."""
        if self._values is None:
            return range(0)
        y0, y1 = self._vb.viewRange()[1]
        return range(max(0, math.ceil(y0 - 0.5 + 1e-6)), min(self._values.size, math.floor(y1 - 0.5 + 1e-6) + 1))

    def row_point(self, rank: int) -> QPointF:
        """The middle of row ``rank``'s bar in the plot's widget coordinates (for tests)."""
        v = float(self._values[self._order[rank]])
        scene = self._vb.mapViewToScene(QPointF(v / 2 if v else 0.0, float(rank)))
        return self._plot.mapFromScene(scene)

    def values(self) -> np.ndarray | None:
        return self._values

    def order(self) -> np.ndarray | None:
        return self._order

    def title(self) -> str:
        return self._title.text()

    def note(self) -> str:
        """What the rows on show are ("1–12 of 512 by value · scroll for more · click one to show it")."""
        return self._note

    def plot_widget(self) -> pg.PlotWidget:
        return self._plot

    # ------------------------------------------------------------------ internals
    def _rows(self) -> int:
        return max(3, int(self._vb.height() // ROW_PX)) if self._vb.height() > 0 else 12

    def _fit_rows(self, *_) -> None:
        if self._values is not None:
            self.scroll_to(self.visible_ranks().start)

    def _on_scrolled(self, *_) -> None:
        if self._values is None:
            return
        shown = self.visible_ranks()
        c = self._values.size
        more = " · scroll for more" if len(shown) < c else ""
        self._note = f"{shown.start + 1}–{shown.stop} of {c} by value{more} · click one to show it"
        self._readout.setText(self._note)

    def _show_current(self) -> None:
        ch = self._current
        if self._values is None or ch is None or not 0 <= ch < self._values.size:
            self._mark.setVisible(False)
            return
        v = float(self._values[ch])
        self._mark.setOpts(x0=[min(0.0, v)], y=[float(self._rank_of[ch])], width=[abs(v)], height=0.95)
        self._mark.setVisible(True)

    def _rank_at(self, scene_pos) -> int | None:
        if self._values is None or not self._vb.sceneBoundingRect().contains(scene_pos):
            return None
        rank = int(math.floor(self._vb.mapSceneToView(scene_pos).y() + 0.5))
        return rank if 0 <= rank < self._values.size else None

    def _on_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        rank = self._rank_at(event.scenePos())
        if rank is not None:
            self.channelChosen.emit(int(self._order[rank]))

    def _on_moved(self, scene_pos) -> None:
        rank = self._rank_at(scene_pos)
        if rank is not None:
            ch = int(self._order[rank])
            self._readout.setText(f"#{ch} = {fmt_sig(self._values[ch], 4)} · rank {rank + 1} of {self._values.size}")
        elif self._values is not None:
            self._readout.setText(self._note)
