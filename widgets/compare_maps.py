"""A's and B's maps of one channel side by side, and B − A on the diverging map.

The two maps are drawn with one colour table and one range (widgets.compare_levels), so a
colour means the same value in both. The difference gets the blue–red map centred on 0
(red: B is higher, blue: B is lower, the neutral middle: no change) over the ±L the caller
gives (the engine's rule, computed on the worker), and its own colour bar, with the caller's
words for how L was chosen and what lies beyond it. Each map is a
pyqtgraph ImageItem fed a C-contiguous float32 array with explicit levels and a 256-entry
LUT, the overlay's fast path, so 224×224 maps repaint at once. The three views zoom and pan
together when the shapes agree, and hovering any of them reads out A, B and B − A at that
cell. When the shapes disagree, a one-line note replaces the difference; a layer without maps (a
vector) gets one note in place of all three (``show_notes``).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QStackedWidget, QWidget

from widgets.color_bar import ColorBar
from widgets.colormaps import AUTO, AUTO_DIVERGING, lut
from widgets.compact import ElidedLabel
from widgets.compare_levels import check_map, diff_display_level, shared_levels
from widgets.grid_canvas import BACKGROUND
from widgets.numbers import fmt_sig
from widgets.patch_tiles import tint_text

DIFF_TABLE = AUTO_DIVERGING           # blue–red: red = B higher, blue = B lower
HOVER_HINT = "Hover a map to read A, B and B − A there · the wheel zooms all three"
MIN_VIEW = 96


class MapPanel(QWidget):
    """A bold title over one map (an ImageItem in a ViewBox), or over a note in its place."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = QLabel(title)   # wraps: "B: cat.png (weights from finetuned.pth)" stays whole
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.title.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setContentsMargins(2, 0, 2, 0)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(BACKGROUND)
        self.view.ci.setContentsMargins(2, 2, 2, 2)
        self.view.ci.layout.setContentsMargins(0, 0, 0, 0)
        self.view.setMinimumSize(MIN_VIEW, MIN_VIEW)
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.box = self.view.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.item)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.setStyleSheet(f"color: {tint_text(self.note).name()}; font-style: italic;")
        self.note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.note)
        self.values: np.ndarray | None = None

    def show_map(self, values: np.ndarray, levels: tuple[float, float], table: str) -> None:
        self.values = values
        self.item.setLookupTable(lut(table))
        self.item.setImage(values, levels=levels, autoLevels=False)
        self.stack.setCurrentWidget(self.view)

    def fit(self) -> None:
        """The whole map in view (pyqtgraph's auto-range pads small views by ~7 %, and linking
        views turns it off)."""
        if self.values is not None:
            h, w = self.values.shape
            self.box.setRange(xRange=(0, w), yRange=(0, h), padding=0.01)

    def show_note(self, text: str) -> None:
        self.values = None
        self.item.clear()
        self.note.setText(text)
        self.stack.setCurrentWidget(self.note)

    def cell_at(self, scene_pos) -> tuple[int, int] | None:
        if self.values is None or not self.box.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.box.mapSceneToView(scene_pos)
        y, x = int(np.floor(p.y())), int(np.floor(p.x()))
        h, w = self.values.shape
        return (y, x) if 0 <= y < h and 0 <= x < w else None

    def cell_point(self, y: int, x: int) -> QPointF:
        """The centre of cell (y, x) in the view widget's coordinates (for tests and hover)."""
        return self.view.mapFromScene(self.box.mapViewToScene(QPointF(x + 0.5, y + 0.5)))


class CompareMaps(QWidget):
    """A | B | B − A, titles above, the shared colour bar under A and B, the diverging one under B − A."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.a, self.b, self.diff = MapPanel("A"), MapPanel("B"), MapPanel("B − A")
        self.ab_bar, self.diff_bar = ColorBar(), ColorBar()
        self.diff_bar.set_colormap(DIFF_TABLE)
        self.ab_bar.setMinimumWidth(100)
        self.diff_bar.setMinimumWidth(100)
        self.ab_note, self.diff_note = muted_label(), muted_label()
        self.readout = ElidedLabel(HOVER_HINT)
        self.readout.setContentsMargins(2, 0, 2, 0)
        for panel in (self.a, self.b, self.diff):
            panel.view.setToolTip("Wheel: zoom (A, B and B − A together) · drag: pan · double-click: the whole maps")
        self._levels: tuple[float, float] | None = None
        self._limit: float | None = None   # the difference's ±L as drawn
        self._table = "viridis"
        self._linked = False
        self._zoomed = False       # the user zoomed or panned: keep that view until a double-click
        self._shape: tuple | None = None

        # The grid lives on an inner widget: a layout of this widget's own would answer the parent
        # layout's height-for-width question (Qt asks a widget's layout first), and this widget's
        # answer (heightForWidth below) is the one that keeps the maps at their aspect.
        self._inner = QWidget(self)
        grid = QGridLayout(self._inner)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        for col, panel in enumerate((self.a, self.b, self.diff)):
            grid.addWidget(panel.title, 0, col)
            grid.addWidget(panel.stack, 1, col)
            grid.setColumnStretch(col, 1)
            panel.view.scene().sigMouseMoved.connect(lambda pos, panel=panel: self._on_moved(panel, pos))
            panel.view.scene().sigMouseClicked.connect(self._on_clicked)
            panel.box.sigResized.connect(self._refit)
            panel.box.sigRangeChangedManually.connect(self._on_zoomed)
        grid.addWidget(self.ab_bar, 2, 0, 1, 2)
        grid.addWidget(self.diff_bar, 2, 2)
        grid.addWidget(self.ab_note, 3, 0, 1, 2)
        grid.addWidget(self.diff_note, 3, 2)
        grid.addWidget(self.readout, 4, 0, 1, 3)
        grid.setRowStretch(1, 1)
        self._grid = grid

    # ------------------------------------------------------------------ content
    def set_maps(self, a, b, diff=None, note: str = "", titles: tuple[str, str] = ("A", "B"),
                 cmap: str = AUTO, levels: tuple[float, float] | None = None, diff_level: float | None = None,
                 diff_note: str = "") -> None:
        """A's and B's maps (float (H, W); ``b`` may be None while B is not there yet) on one
        range (``levels``, or their joint range by the sign rule), and ``diff`` (B − A, the shape
        of both) on the diverging map over ±``diff_level`` (required with ``diff``; 0: nothing
        changed), with ``diff_note`` under its colour bar; with ``diff`` None, ``note`` says why
        there is none (with ``b`` None, it is B's hint)."""
        a = check_map("A's map", a)
        b = None if b is None else check_map("B's map", b)
        if diff is not None:
            diff = check_map("the difference map", diff)
            if b is None or diff.shape != a.shape or diff.shape != b.shape:
                shapes = f"{a.shape}, {None if b is None else b.shape}"
                raise ValueError(f"the difference map's shape {diff.shape} must be A's and B's ({shapes})")
            if diff_level is None:
                raise ValueError("the difference map needs its level ±L (diff_level) from the caller")
            limit = diff_display_level(diff_level)
        lo, hi, table = shared_levels(a, b, cmap, levels)
        self._levels, self._table = (lo, hi), table
        self.a.title.setText(titles[0])
        self.b.title.setText(titles[1])
        self.a.show_map(a, (lo, hi), table)
        if b is None:
            self.b.show_note(note or "B: open another image, or load other weights")
        else:
            self.b.show_map(b, (lo, hi), table)
        shown = [m for m in (a, b) if m is not None]
        data = f"data {fmt_sig(min(m.min() for m in shown))} … {fmt_sig(max(m.max() for m in shown))}"
        self.ab_bar.set_colormap(table)
        self.ab_bar.set_range(lo, hi)
        self.ab_note.setText(f"{'A and B on one scale' if b is not None else 'A'} · {data}")
        if diff is None:
            self._limit = None
            if b is None:
                self.diff.show_note("")
            else:
                self.diff.show_note(note or "No difference map: A's and B's maps differ in shape")
            self.diff_bar.clear()
            self.diff_note.setText("")
        else:
            self._limit = limit
            self.diff.show_map(diff, (-limit, limit), DIFF_TABLE)
            self.diff_bar.set_range(-limit, limit)
            self.diff_note.setText(diff_note or default_diff_note(float(diff_level)))
        self._link(b is not None and a.shape == b.shape)
        shape = (a.shape, None if b is None else b.shape)
        if shape != self._shape:        # zoom and pan survive a channel switch, not a new shape
            self._shape, self._zoomed = shape, False
        self._fit_views()
        self._refit()
        self.readout.setText(HOVER_HINT)

    def show_notes(self, text: str, titles: tuple[str, str] = ("A", "B")) -> None:
        """No maps to draw (a vector layer): ``text`` in A's place, B and B − A blank."""
        self.clear()
        self.a.title.setText(titles[0])
        self.b.title.setText(titles[1])
        self.a.show_note(text)
        self._shape = None
        self._fit_views()

    def clear(self) -> None:
        for panel in (self.a, self.b, self.diff):
            panel.show_note("")
        self.ab_bar.clear()
        self.diff_bar.clear()
        self.ab_note.setText("")
        self.diff_note.setText("")
        self._levels = self._limit = None
        self.readout.setText(HOVER_HINT)

    def levels(self) -> tuple[float, float] | None:
        """The range A and B are both coloured over."""
        return self._levels

    def diff_levels(self) -> tuple[float, float] | None:
        """(−L, +L) of the difference map, or None when there is none."""
        return None if self._limit is None else (-self._limit, self._limit)

    def table(self) -> str:
        """The colour table A and B are drawn with."""
        return self._table

    # ------------------------------------------------------------------ internals
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._inner.setGeometry(self.rect())
        self._fit_views()

    def _fit_views(self) -> None:
        """No taller than the maps need at this width (see heightForWidth; the caller aligns this
        widget to the top), so spare height goes below it, not into dark bands around the maps."""
        view_h = self._view_height(self.width())
        for panel in (self.a, self.b, self.diff):
            panel.stack.setMaximumHeight(view_h)
        self.updateGeometry()

    def _column(self, width: int) -> int:
        return max(1, (width - 2 * self._grid.horizontalSpacing()) // 3)

    def _view_height(self, width: int) -> int:
        shapes = [p.values.shape for p in (self.a, self.b, self.diff) if p.values is not None]
        aspect = max((h / w for h, w in shapes), default=1.0)
        return max(MIN_VIEW, int(self._column(width) * aspect) + 4)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        """Titles, maps at their aspect in a third of ``width`` each, colour bars, notes, readout."""
        col, space = self._column(width), self._grid.horizontalSpacing()
        rows = [max(p.title.heightForWidth(col) for p in (self.a, self.b, self.diff)), self._view_height(width),
                self.ab_bar.sizeHint().height(),
                max(self.ab_note.heightForWidth(2 * col + space), self.diff_note.heightForWidth(col), 0),
                self.readout.sizeHint().height()]
        return sum(rows) + self._grid.verticalSpacing() * (len(rows) - 1)

    def sizeHint(self) -> QSize:
        return QSize(480, self.heightForWidth(480))

    def minimumSizeHint(self) -> QSize:
        return self._grid.minimumSize()

    def _refit(self, *_) -> None:
        if not self._zoomed:
            for panel in (self.a, self.b, self.diff):
                panel.fit()

    def _on_zoomed(self, *_) -> None:
        self._zoomed = True

    def _on_clicked(self, event) -> None:
        if event.double():   # back to the whole maps
            self._zoomed = False
            self._refit()

    def zoomed(self) -> bool:
        return self._zoomed

    def _link(self, on: bool) -> None:
        if on == self._linked:
            return
        self._linked = on
        for panel in (self.b, self.diff):
            panel.box.setXLink(self.a.box if on else None)
            panel.box.setYLink(self.a.box if on else None)

    def _on_moved(self, panel: MapPanel, scene_pos) -> None:
        cell = panel.cell_at(scene_pos)
        if cell is None:
            return
        self.readout.setText(readout_text(cell, self.a.values, self.b.values, self.diff.values))


def default_diff_note(level: float) -> str:
    """The difference bar's words when the caller gives none."""
    if level <= 0:
        return "no change anywhere"
    return f"red: B higher, blue: B lower, white: equal · ±{fmt_sig(level)}"


def muted_label() -> QLabel:
    """A small wrapped note in the muted text colour (under a colour bar)."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    font = label.font()
    font.setPointSizeF(max(6.5, font.pointSizeF() * 0.85))
    label.setFont(font)
    label.setStyleSheet(f"color: {tint_text(label).name()};")
    return label


def readout_text(cell: tuple[int, int], a, b, diff) -> str:
    """"(y 3, x 5) · A 0.123 · B 0.456 · B − A +0.333", with the maps that have that cell."""
    y, x = cell
    parts = [f"(y {y}, x {x})"]
    for name, m in (("A", a), ("B", b)):
        if m is not None and y < m.shape[0] and x < m.shape[1]:
            parts.append(f"{name} {fmt_sig(m[y, x], 4)}")
    if diff is not None and y < diff.shape[0] and x < diff.shape[1]:
        d = float(diff[y, x])
        parts.append(f"B − A {'+' if d > 0 else ''}{fmt_sig(d, 4)}")
    return " · ".join(parts)
