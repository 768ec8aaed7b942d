"""How a conv kernel is drawn, everywhere one is drawn (the kernel panel, conv1_1's bank, the demo conv).

Two renderers, both normalised symmetrically around 0 by a ``limit`` (max |w|, given):

- :func:`kernel_rgb_image`: a filter over the photo's R, G, B drawn as colour, each
  channel at 0.5 + 0.5·w/limit, so grey is zero and the colour is what the filter likes;
- :func:`kernel_slice_image`: one [kh, kw] slice on the project's diverging map
  (red = positive, blue = negative, white = 0), as every signed map in the app.

Both upscale with nearest neighbour in numpy, so each weight is a crisp square block
whatever the zoom. The widgets below paint those images 1:1 and show the numbers on
hover; they take numpy arrays only (no statistics beyond the drawing's own max |w|).
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from widgets.colormaps import colorize
from widgets.prediction_text import format_signed
from widgets.qimage import rgb_to_qimage

DIVERGING = "CET-D1"   # the app's blue–white–red map: red = positive, blue = negative, white = 0
RGB_NAMES = ("R", "G", "B")
GAP = 4                # px between cells


def drawing_limit(array) -> float:
    """max |v| of what is drawn (1.0 when all zero): the symmetric range of the colours."""
    a = np.asarray(array, dtype=np.float64)
    m = float(np.max(np.abs(a))) if a.size else 0.0
    return m if m > 0 and math.isfinite(m) else 1.0


def _upscale(rgb: np.ndarray, scale: int) -> np.ndarray:
    scale = max(int(scale), 1)
    return np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)


def kernel_rgb_array(weight: np.ndarray, limit: float, scale: int = 1) -> np.ndarray:
    """uint8 [kh·scale, kw·scale, 3]: R, G, B = round(255·(0.5 + 0.5·w/limit)), clipped, nearest-neighbour blocks."""
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim != 3 or w.shape[0] != 3:
        raise ValueError(f"an RGB filter is [3, kh, kw], got shape {w.shape}")
    unit = np.clip(0.5 + 0.5 * w / (limit if limit > 0 else 1.0), 0.0, 1.0)
    return _upscale(np.rint(unit * 255).astype(np.uint8).transpose(1, 2, 0), scale)


def kernel_rgb_image(weight: np.ndarray, limit: float, scale: int = 16) -> QImage:
    """An RGB filter [3, kh, kw] (conv1_1's) as a colour QImage, each weight a ``scale``-px block."""
    return rgb_to_qimage(kernel_rgb_array(weight, limit, scale))


def kernel_slice_array(values: np.ndarray, limit: float, scale: int = 1) -> np.ndarray:
    """uint8 [kh·scale, kw·scale, 3]: one slice on the diverging map over −limit..limit, in blocks."""
    v = np.asarray(values, dtype=np.float32)
    if v.ndim != 2:
        raise ValueError(f"a kernel slice is [kh, kw], got shape {v.shape}")
    limit = limit if limit > 0 else 1.0
    return _upscale(colorize(v, -limit, limit, DIVERGING), scale)


def kernel_slice_image(values: np.ndarray, limit: float, scale: int = 16) -> QImage:
    """One [kh, kw] slice as a QImage: red positive, blue negative, white zero; ``scale``-px blocks."""
    return rgb_to_qimage(kernel_slice_array(values, limit, scale))


def numbers_block(values: np.ndarray) -> str:
    """A [kh, kw] slice as aligned rows of 4-decimal numbers (monospace, ASCII minus), for tooltips."""
    v = np.asarray(values, dtype=np.float64)
    return "\n".join(" ".join(f"{format_signed(x, 4, minus='-'):>8}" for x in row) for row in v)


class PatchGrid(QWidget):
    """A grid of kernel patches, sized to the widget, one optional label under each.

    Cells are [3, kh, kw] RGB filters (``rgb``) or [kh, kw] slices, drawn with the
    renderers above at the largest whole block size that fits (so cells stay crisp).
    Hover highlights a cell and shows its tooltip; a click emits ``cellClicked``.
    """

    cellClicked = Signal(int)

    def __init__(self, rgb: bool, preferred_side: int = 36, columns: int = 4, fixed_columns: bool = False,
                 parent=None):
        super().__init__(parent)
        self._rgb = rgb
        self._preferred, self._columns, self._fixed = preferred_side, columns, fixed_columns
        self._cells: list[np.ndarray] = []
        self._limits: list[float] = []
        self._labels: list[str] | None = None
        self._tips: list[str] = []
        self._selected: int | None = None
        self._hover: int | None = None
        self._images: list[QImage] | None = []   # None: to be rendered (see _rendered)
        self._geometry: tuple[int, int, int, int, int] | None = None   # cols, side, x0, y0, label_h
        self.clickable = True
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        small = self.font()
        small.setPointSizeF(max(small.pointSizeF() - 1.5, 6.5))
        self._label_font = small

    # --- content ---------------------------------------------------------------
    def set_cells(self, cells: list[np.ndarray], limits: list[float], labels: list[str] | None = None,
                  tips: list[str] | None = None) -> None:
        """Draw ``cells`` (each with its colour limit), labelled by ``labels``, with ``tips`` on hover."""
        self._cells = [np.asarray(c, dtype=np.float32) for c in cells]
        if len(limits) != len(self._cells):
            raise ValueError(f"one limit per cell: {len(self._cells)} cells, {len(limits)} limits")
        self._limits = [float(x) for x in limits]
        self._labels = list(labels) if labels is not None else None
        self._tips = list(tips) if tips is not None else [""] * len(self._cells)
        self._hover = None
        if self._selected is not None and self._selected >= len(self._cells):
            self._selected = None
        self._layout(force=True)
        self.updateGeometry()
        self.update()

    def count(self) -> int:
        return len(self._cells)

    def set_selected(self, index: int | None) -> None:
        """Outline cell ``index`` (None: no outline)."""
        self._selected = index if index is not None and 0 <= index < len(self._cells) else None
        self.update()

    def selected(self) -> int | None:
        return self._selected

    def labels(self) -> list[str]:
        return list(self._labels or [])

    def image(self, index: int) -> QImage:
        """The QImage cell ``index`` is painted with (at the current size)."""
        return self._rendered()[index]

    def tooltip_at(self, pos: QPoint) -> str:
        index = self.cell_at(pos)
        return "" if index is None else self._tips[index]

    # --- geometry ----------------------------------------------------------------
    def _block(self) -> int:
        """Weights along a cell's longer side: the cell is a whole multiple of it, so blocks stay square."""
        return max(self._cells[0].shape[-2:]) if self._cells else 3

    def _label_height(self) -> int:
        return (self.fontMetrics().height() - 1) if self._labels else 0

    def _layout(self, force: bool = False) -> None:
        """Pick the columns giving the biggest cells in the current size (the images follow when painted)."""
        n = len(self._cells)
        if not n:
            self._geometry, self._images = None, []
            return
        width, height, label_h, k = self.width(), self.height(), self._label_height(), self._block()
        best = (0, 1)
        for cols in ([min(self._columns, n)] if self._fixed else range(1, n + 1)):
            rows = math.ceil(n / cols)
            side = min((width - GAP * (cols - 1)) // cols, (height - rows * label_h - GAP * (rows - 1)) // rows)
            side = max(side // k * k, k)
            if side > best[0]:
                best = (side, cols)
        side, cols = best
        rows = math.ceil(n / cols)
        x0 = max((width - cols * side - GAP * (cols - 1)) // 2, 0)
        y0 = max((height - rows * (side + label_h) - GAP * (rows - 1)) // 2, 0)
        geometry = (cols, side, x0, y0, label_h)
        if force or geometry != self._geometry:
            self._geometry = geometry
            self._images = None   # rendered when next painted: a new kernel is often resized before that

    def _rendered(self) -> list[QImage]:
        """The cells' images at the current size (rendered once per size and content)."""
        self._layout()
        if self._images is None:
            scale = self._geometry[1] // self._block()
            render = kernel_rgb_image if self._rgb else kernel_slice_image
            self._images = [render(c, lim, scale) for c, lim in zip(self._cells, self._limits)]
        return self._images

    def cell_rect(self, index: int) -> QRect:
        """Where cell ``index``'s patch is painted (label excluded)."""
        self._layout()
        cols, side, x0, y0, label_h = self._geometry
        r, c = divmod(index, cols)
        return QRect(x0 + c * (side + GAP), y0 + r * (side + label_h + GAP), side, side)

    def cell_at(self, pos: QPoint) -> int | None:
        """The cell under ``pos`` (its patch or its label), or None."""
        if not self._cells:
            return None
        for i in range(len(self._cells)):
            rect = self.cell_rect(i)
            if rect.adjusted(0, 0, 0, self._geometry[4]).contains(pos):
                return i
        return None

    def sizeHint(self) -> QSize:
        n = max(len(self._cells), 1)
        cols = min(self._columns, n)
        rows = math.ceil(n / cols)
        side, label_h = self._preferred, self._label_height()
        return QSize(cols * side + GAP * (cols - 1), rows * (side + label_h) + GAP * (rows - 1))

    def minimumSizeHint(self) -> QSize:
        return QSize(self._block() * 2, self._block() * 2)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._layout()

    # --- painting and mouse --------------------------------------------------------
    def paintEvent(self, event):
        if not self._cells:
            return
        self._layout()
        painter = QPainter(self)
        pal = self.palette()
        frame = QColor(pal.color(QPalette.ColorRole.Mid))
        painter.setFont(self._label_font)
        label_h = self._geometry[4]
        for i, image in enumerate(self._rendered()):
            rect = self.cell_rect(i)
            painter.drawImage(rect.topLeft(), image)
            painter.setPen(QPen(frame, 1))
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
            if self._labels:
                painter.setPen(pal.color(QPalette.ColorRole.WindowText))
                text_rect = QRect(rect.left() - GAP // 2, rect.bottom() + 1, rect.width() + GAP, label_h)
                text = painter.fontMetrics().elidedText(self._labels[i], Qt.TextElideMode.ElideRight, text_rect.width())
                painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, text)
        for index, colour, width in ((self._hover, pal.color(QPalette.ColorRole.WindowText), 1),
                                     (self._selected, pal.color(QPalette.ColorRole.Highlight), 2)):
            if index is not None:
                painter.setPen(QPen(colour, width))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(self.cell_rect(index).adjusted(-width, -width, width - 1, width - 1))
        painter.end()

    def mouseMoveEvent(self, event):
        index = self.cell_at(event.position().toPoint())
        if index != self._hover:
            self._hover = index
            clickable = index is not None and self.clickable
            self.setCursor(Qt.CursorShape.PointingHandCursor if clickable else Qt.CursorShape.ArrowCursor)
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event):
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def mousePressEvent(self, event):
        index = self.cell_at(event.position().toPoint())
        if event.button() == Qt.MouseButton.LeftButton and index is not None and self.clickable:
            self.cellClicked.emit(index)
            event.accept()
            return
        super().mousePressEvent(event)

    def event(self, event):
        if event.type() == QEvent.Type.ToolTip:
            index = self.cell_at(event.pos())
            if index is None or not self._tips[index]:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(event.globalPos(), self._tips[index], self, self.cell_rect(index))
            return True
        return super().event(event)
