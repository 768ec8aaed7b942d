"""The mosaic of every channel of one layer, as one numpy-composed image.

A VGG layer has up to 512 feature maps; hundreds of QLabel widgets would be far
too slow. Instead each channel is resampled once to a thumbnail of colormap
indices (vectorised box/nearest sampling), the thumbnails are pasted into one
index mosaic, and the single canvas widget colours only the exposed part of it
through a packed LUT when it paints. Tile captions and the selection frame are
drawn with QPainter, so text stays crisp on high-DPI screens. A colormap change
is a LUT swap, a resize only re-lays out the cached thumbnails.
"""
from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QStackedWidget,
                               QStyle, QToolTip, QVBoxLayout, QWidget)

from widgets.bar_chart import BarChart
from widgets.colormaps import COLORMAP_NAMES, DEFAULT_COLORMAP, lut, check_colormap

TILE = 80          # thumbnail box, logical px
MARGIN = 5         # around each thumbnail inside its cell (the selection frame lives here)
LABEL_H = 15       # caption strip under each thumbnail
PAD = 6            # around the whole mosaic
BACKGROUND = QColor(32, 33, 36)
TEXT = QColor(200, 202, 206)
HIGHLIGHT = QColor(255, 159, 26)
BG_INDEX = 256     # mosaic value for "no thumbnail here"

NORMALIZATIONS = {"channel": "per channel", "layer": "shared across layer"}
SORTS = {"index": "index", "mean": "mean ↓", "max": "max ↓", "active": "active ↓"}
EMPTY_HINT = "Select a layer to see what each of its channels responds to."


# ---------------------------------------------------------------------- numpy helpers
def _shrink_axis(a: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """Box-average one axis by the integer factor n_in // n_out (no-op below 2×); float32 out."""
    n_in = a.shape[axis]
    k = n_in // n_out
    if k < 2:
        return a
    n = (n_in // k) * k
    sl = [slice(None)] * a.ndim
    acc = None
    for j in range(k):
        sl[axis] = slice(j, n, k)
        part = a[tuple(sl)]
        acc = part.astype(np.float32, copy=True) if acc is None else np.add(acc, part, out=acc)
    acc *= np.float32(1.0 / k)
    return acc


def nearest_index(n_in: int, n_out: int) -> np.ndarray:
    """Source index of each of ``n_out`` output pixels sampling ``n_in`` (pixel centres)."""
    return ((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(np.intp)


def shrink_stack(acts: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """(C, H, W) box-shrunk by integer factors towards (out_h, out_w); the rest is done by nearest."""
    return _shrink_axis(_shrink_axis(acts, out_h, 1), out_w, 2)


def resample_stack(acts: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """(C, H, W) → (C, out_h, out_w) float32: box filter when shrinking, nearest when growing."""
    small = shrink_stack(acts, out_h, out_w)
    yi, xi = nearest_index(small.shape[1], out_h), nearest_index(small.shape[2], out_w)
    return np.ascontiguousarray(small[:, yi][:, :, xi], dtype=np.float32)


def stack_indices(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per-channel colormap indices (uint8): channel i's lo[i]..hi[i] in 256 equal bins.

    Same convention as pyqtgraph's ImageItem (scale 256/(hi-lo), clipped to 0..255), so a
    tile and the overlay heatmap of the same channel get the same colours and a channel's
    maximum always gets the top colour. Flat channels → 0."""
    lo = np.asarray(lo, dtype=np.float32).reshape(-1, 1, 1)
    span = np.asarray(hi, dtype=np.float32).reshape(-1, 1, 1) - lo
    scale = np.where(span > 0, np.float32(256.0) / np.where(span > 0, span, 1), 0).astype(np.float32)
    out = (values - lo) * scale
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def packed_lut(name: str) -> np.ndarray:
    """(257,) uint32 0xffRRGGBB: the colormap's 256 colours plus the background at index 256."""
    table = lut(name).astype(np.uint32)
    packed = np.empty(BG_INDEX + 1, dtype=np.uint32)
    packed[:256] = 0xFF000000 | (table[:, 0] << 16) | (table[:, 1] << 8) | table[:, 2]
    packed[BG_INDEX] = BACKGROUND.rgb() & 0xFFFFFFFF
    return packed


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


@dataclass(frozen=True)
class _Geom:
    """Mosaic geometry in physical pixels (logical × device pixel ratio)."""
    dpr: float = 1.0
    tp: int = TILE          # thumbnail box
    th: int = TILE          # thumbnail height/width (aspect kept inside the box)
    tw: int = TILE
    m: int = MARGIN
    lab: int = LABEL_H
    pad: int = PAD
    cols: int = 1

    @property
    def cell_w(self) -> int:
        return self.tp + 2 * self.m

    @property
    def cell_h(self) -> int:
        return self.tp + self.lab + 2 * self.m

    @property
    def oy(self) -> int:
        return self.m + (self.tp - self.th) // 2

    @property
    def ox(self) -> int:
        return self.m + (self.tp - self.tw) // 2


class _Layer:
    """One layer's data plus its thumbnail caches."""

    def __init__(self, name, acts, means, maxs, fracs):
        self.name, self.acts, self.means, self.maxs, self.fracs = name, acts, means, maxs, fracs
        self.lo = acts.min(axis=(1, 2))   # no reshape: that would copy a channels-last view
        self.hi = acts.max(axis=(1, 2))
        self._small: dict[tuple[int, int], np.ndarray] = {}   # (th, tw) → box-shrunk float32
        self._indices: dict[tuple, tuple] = {}                # (th, tw, norm) → (uint8 stack, yi, xi)

    def small_indices(self, th: int, tw: int, norm: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Colormap indices (C, h', w') uint8 at the box-shrunk size, and the nearest-neighbour
        row/column picks (th,), (tw,) that take them to the thumbnail size. Built once per size+norm."""
        key = (th, tw, norm)
        if key not in self._indices:
            if (th, tw) not in self._small:
                self._small[(th, tw)] = shrink_stack(self.acts, th, tw)
            small = self._small[(th, tw)]
            if norm == "layer":
                lo = np.full_like(self.lo, self.lo.min())
                hi = np.full_like(self.hi, self.hi.max())
            else:
                lo, hi = self.lo, self.hi
            self._indices[key] = (stack_indices(small, lo, hi),
                                  nearest_index(small.shape[1], th), nearest_index(small.shape[2], tw))
        return self._indices[key]


class _ElidedLabel(QLabel):
    """A one-line label that ends in "…" when squeezed instead of being cut off."""

    def __init__(self) -> None:
        super().__init__()
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(80)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.width())
        p.drawText(self.rect(), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)
        p.end()


# ---------------------------------------------------------------------- the canvas
class _Canvas(QWidget):
    """Paints the mosaic of the owning ChannelGrid; sized to the whole mosaic (it scrolls)."""

    def __init__(self, grid: "ChannelGrid") -> None:
        super().__init__()
        self._grid_ref = weakref.ref(grid)   # no reference cycle: the grid owns the canvas
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    @property
    def _grid(self) -> "ChannelGrid":
        return self._grid_ref()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        self._grid._render(p, QRectF(event.rect()), highlight=True)
        p.end()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            ch = self._grid.tile_at(event.position().toPoint())
            if ch is not None:
                self._grid._choose(ch)
            event.accept()
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event) -> None:
        if not self._grid._handle_key(event.key()):
            super().keyPressEvent(event)

    def event(self, e) -> bool:
        if e.type() == QEvent.Type.ToolTip:
            ch = self._grid.tile_at(e.pos())
            text = self._grid._tooltip(ch) if ch is not None else ""
            if text:
                QToolTip.showText(e.globalPos(), text, self)
            else:
                QToolTip.hideText()
                e.ignore()
            return True
        if e.type() == QEvent.Type.DevicePixelRatioChange:
            self._grid._relayout()
        return super().event(e)


# ---------------------------------------------------------------------- the widget
class ChannelGrid(QWidget):
    """All channels of a layer as tiles; click or arrow keys pick the channel to inspect."""

    channelSelected = Signal(int)
    colormapChanged = Signal(str)
    normalizationChanged = Signal(str)
    sortChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layer: _Layer | None = None
        self._layer_cache: list[_Layer] = []   # recently shown layers with their thumbnails, newest first
        self._vector_name: str | None = None
        self._cmap = DEFAULT_COLORMAP
        self._norm = "channel"
        self._sort = "index"
        self._selected: int | None = None
        self._lut32 = packed_lut(self._cmap)
        # layout state (physical pixels)
        self._g = _Geom()
        self._order = np.empty(0, dtype=np.intp)
        self._pos_of = np.empty(0, dtype=np.intp)
        self._mosaic: np.ndarray | None = None   # uint16 (rows*cell_h, cols*cell_w)
        self._layout_key = None

        self._build_ui()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocusProxy(self._canvas)
        self.clear()

    def _build_ui(self) -> None:
        self._caption = _ElidedLabel()
        font = self._caption.font()
        font.setBold(True)
        self._caption.setFont(font)

        self._cmap_combo = QComboBox()
        self._cmap_combo.addItems(COLORMAP_NAMES)
        self._cmap_combo.setCurrentText(self._cmap)
        self._cmap_combo.setToolTip("Colormap of the tiles")
        self._norm_combo = QComboBox()
        for key, text in NORMALIZATIONS.items():
            self._norm_combo.addItem(text, key)
        self._norm_combo.setToolTip("per channel: each tile spans its own min..max\n"
                                    "shared across layer: one min..max for all tiles, so strengths compare")
        self._norm_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._norm_combo.setMinimumContentsLength(len("per channel"))   # the popup still shows full names
        self._sort_combo = QComboBox()
        for key, text in SORTS.items():
            self._sort_combo.addItem(text, key)
        self._sort_combo.setToolTip("Tile order; 'active' = fraction of positions > 0")
        self._cmap_combo.currentTextChanged.connect(self.set_colormap)
        self._norm_combo.currentIndexChanged.connect(self._on_norm_combo)
        self._sort_combo.currentIndexChanged.connect(self._on_sort_combo)

        # The caption gets a row of its own: squeezed beside the combos it was unreadable.
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 0, 4, 2)
        bar.setSpacing(6)
        for text, combo in (("Colormap", self._cmap_combo), ("Scale", self._norm_combo), ("Sort", self._sort_combo)):
            bar.addWidget(QLabel(text))
            bar.addWidget(combo)
        bar.addStretch(1)
        self._caption.setContentsMargins(4, 2, 4, 0)

        self._hint = QLabel(EMPTY_HINT)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setWordWrap(True)
        self._hint.setStyleSheet("color: palette(mid); font-style: italic;")

        self._canvas = _Canvas(self)
        self._scroll = QScrollArea()
        self._scroll.setWidget(self._canvas)
        self._scroll.setWidgetResizable(False)
        self._scroll.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self._scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._scroll.setStyleSheet(f"QScrollArea {{ background: {BACKGROUND.name()}; }}")
        self._scroll.viewport().setStyleSheet(f"background: {BACKGROUND.name()};")
        self._scroll.installEventFilter(self)

        self._bars = BarChart()
        self._stack = QStackedWidget()
        for page in (self._hint, self._scroll, self._bars):
            self._stack.addWidget(page)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._caption)
        layout.addLayout(bar)
        layout.addWidget(self._stack, 1)

    # ------------------------------------------------------------------ data in
    def set_layer(self, name: str, acts: np.ndarray, means: np.ndarray, maxs: np.ndarray, fracs: np.ndarray,
                  select: int | None = None) -> None:
        """Show the (C, H, W) activations of layer ``name``; ``select`` the channel to highlight
        (default: the one with the largest mean). Does not emit channelSelected."""
        acts = np.asarray(acts)
        if acts.ndim != 3 or min(acts.shape) == 0:
            raise ValueError(f"{name}: activations must be a non-empty (C, H, W) array, got shape {acts.shape}")
        # Any strides will do (the engine hands out channels-last views); a contiguous copy of
        # 64×224×224 would cost ~20 ms of the 30 ms budget for a layer switch.
        acts = acts if acts.dtype == np.float32 else acts.astype(np.float32)
        c = acts.shape[0]
        stats = []
        for label, s in (("means", means), ("maxs", maxs), ("fracs", fracs)):
            s = np.asarray(s, dtype=np.float32).reshape(-1)
            if s.shape != (c,):
                raise ValueError(f"{name}: {label} must have {c} entries (one per channel), got {s.size}")
            stats.append(s)
        if select is not None and not 0 <= int(select) < c:
            raise ValueError(f"{name}: channel {select} out of range 0..{c - 1}")
        layer = self._recent_layer(str(name), acts, stats)

        self._layer = layer
        self._vector_name = None
        self._selected = int(select) if select is not None else int(np.argmax(layer.means))
        self._caption.setText(f"{layer.name} — {c}×{acts.shape[1]}×{acts.shape[2]}")
        self._set_controls_enabled(True)
        self._layout_key = None
        self._stack.setCurrentWidget(self._scroll)
        self._relayout()
        self._ensure_visible()

    RECENT_LAYERS = 6

    def _recent_layer(self, name: str, acts: np.ndarray, stats: list[np.ndarray]) -> "_Layer":
        """The layer with its thumbnail caches, reused when the same array comes back
        (switching between layers of one image re-uses the work already done)."""
        cache = self._layer_cache
        for entry in cache:
            if entry.acts is acts and entry.name == name and all(
                    np.array_equal(a, b) for a, b in zip((entry.means, entry.maxs, entry.fracs), stats)):
                cache.remove(entry)
                cache.insert(0, entry)
                return entry
        layer = _Layer(name, acts, *stats)
        if not (np.isfinite(layer.lo).all() and np.isfinite(layer.hi).all()):
            raise ValueError(f"{name}: activations contain NaN or infinity")
        cache.insert(0, layer)
        del cache[self.RECENT_LAYERS:]
        return layer

    def set_vector(self, name: str, values: np.ndarray, labels: list[str] | None = None) -> None:
        """Show a 1-D output (linear layer) as a bar chart; with ``labels`` the top bars are named."""
        self._bars.set_values(values, labels)
        self._layer = None
        self._mosaic = None
        self._selected = None
        self._vector_name = str(name)
        self._caption.setText(f"{name} — {np.asarray(values).size} units")
        self._set_controls_enabled(False)
        self._stack.setCurrentWidget(self._bars)

    def show_pending(self, name: str, text: str | None = None) -> None:
        """Empty state while ``name`` is being computed (keeps colormap/sort settings)."""
        self._drop_data()
        self._layer_cache.clear()  # a new image is coming: old thumbnails are stale
        self._caption.setText(str(name))
        self._hint.setText(text or f"Computing {name}…")
        self._stack.setCurrentWidget(self._hint)

    def clear(self) -> None:
        """Back to the empty state with its hint."""
        self._drop_data()
        self._layer_cache.clear()
        self._caption.setText("No layer")
        self._hint.setText(EMPTY_HINT)
        self._stack.setCurrentWidget(self._hint)

    def _drop_data(self) -> None:
        self._layer = None
        self._vector_name = None
        self._selected = None
        self._mosaic = None
        self._layout_key = None
        self._bars.clear()
        self._canvas.setFixedSize(1, 1)

    # ------------------------------------------------------------------ settings
    def set_colormap(self, name: str) -> None:
        """Colour tiles with ``name`` (one of COLORMAP_NAMES); emits colormapChanged on change."""
        if check_colormap(name) == self._cmap:
            return
        self._cmap = name
        self._lut32 = packed_lut(name)
        self._sync_combo(self._cmap_combo, name, by_text=True)
        self._canvas.update()
        self.colormapChanged.emit(name)

    def colormap(self) -> str:
        return self._cmap

    def set_normalization(self, mode: str) -> None:
        """"channel" (each tile its own min..max) or "layer" (one min..max for the whole layer)."""
        if mode not in NORMALIZATIONS:
            raise ValueError(f"unknown normalisation {mode!r}; choose one of {', '.join(NORMALIZATIONS)}")
        if mode == self._norm:
            return
        self._norm = mode
        self._sync_combo(self._norm_combo, mode)
        self._relayout()
        self.normalizationChanged.emit(mode)

    def normalization(self) -> str:
        return self._norm

    def _on_norm_combo(self, i: int) -> None:
        self.set_normalization(self._norm_combo.itemData(i))

    def _on_sort_combo(self, i: int) -> None:
        self.set_sort(self._sort_combo.itemData(i))

    def set_sort(self, key: str) -> None:
        """Tile order: "index", or descending "mean" / "max" / "active" (fraction > 0)."""
        if key not in SORTS:
            raise ValueError(f"unknown sort key {key!r}; choose one of {', '.join(SORTS)}")
        if key == self._sort:
            return
        self._sort = key
        self._sync_combo(self._sort_combo, key)
        self._relayout()
        self._ensure_visible()
        self.sortChanged.emit(key)

    def sort_key(self) -> str:
        return self._sort

    @staticmethod
    def _sync_combo(combo: QComboBox, value: str, by_text: bool = False) -> None:
        i = combo.findText(value) if by_text else combo.findData(value)
        if combo.currentIndex() != i:
            combo.blockSignals(True)
            combo.setCurrentIndex(i)
            combo.blockSignals(False)

    def _set_controls_enabled(self, on: bool) -> None:
        for combo in (self._cmap_combo, self._norm_combo, self._sort_combo):
            combo.setEnabled(on)

    # ------------------------------------------------------------------ selection
    def select_channel(self, index: int) -> None:
        """Highlight channel ``index`` and scroll to it (no signal)."""
        if self._layer is None:
            return
        c = self._layer.acts.shape[0]
        if not 0 <= int(index) < c:
            raise ValueError(f"channel {index} out of range 0..{c - 1}")
        self._selected = int(index)
        self._canvas.update()
        self._ensure_visible()

    def selected_channel(self) -> int | None:
        return self._selected

    def layer_name(self) -> str | None:
        if self._layer is not None:
            return self._layer.name
        return self._vector_name

    def page(self) -> str:
        """Which view is on show: "empty", "grid" or "bars"."""
        return {0: "empty", 1: "grid", 2: "bars"}[self._stack.currentIndex()]

    def bar_chart(self) -> BarChart:
        return self._bars

    def canvas(self) -> QWidget:
        """The widget the mosaic is painted on (coordinates of tile_at / tile_rect)."""
        return self._canvas

    def _choose(self, ch: int) -> None:
        self._selected = int(ch)
        self._canvas.update()
        self._ensure_visible()
        self.channelSelected.emit(int(ch))

    def _handle_key(self, key: int) -> bool:
        if self._layer is None or self._selected is None:
            return False
        n = self._order.size
        pos = int(self._pos_of[self._selected])
        cols = self._g.cols
        page = max(1, int(self._scroll.viewport().height() * self._g.dpr // self._g.cell_h)) * cols
        K = Qt.Key
        moves = {K.Key_Left: pos - 1, K.Key_Right: pos + 1, K.Key_Up: pos - cols,
                 K.Key_Down: pos + cols, K.Key_Home: 0, K.Key_End: n - 1,
                 K.Key_PageUp: pos - page, K.Key_PageDown: pos + page}
        if key in (K.Key_Return, K.Key_Enter, K.Key_Space):
            self._choose(self._selected)
            return True
        if key not in moves:
            return False
        new = moves[key]
        if key in (K.Key_Up, K.Key_Down) and not 0 <= new < n:
            return True   # no wrap past the first/last row
        new = min(max(new, 0), n - 1)
        if new != pos:
            self._choose(int(self._order[new]))
        return True

    def keyPressEvent(self, event) -> None:
        if not self._handle_key(event.key()):
            super().keyPressEvent(event)

    # ------------------------------------------------------------------ geometry
    def eventFilter(self, obj, event) -> bool:
        if obj is self._scroll and event.type() == QEvent.Type.Resize:
            self._relayout()
        return super().eventFilter(obj, event)

    def _available_width(self) -> int:
        """Viewport width with room for a vertical scrollbar, so columns don't flip-flop."""
        sb = self._scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        return max(1, self._scroll.width() - 2 * self._scroll.frameWidth() - sb)

    def _relayout(self) -> None:
        """(Re)build the index mosaic if the layer, normalisation, order, columns or DPR changed."""
        layer = self._layer
        if layer is None:
            return
        dpr = float(self._canvas.devicePixelRatioF()) or 1.0
        c, h, w = layer.acts.shape
        tp = max(8, round(TILE * dpr))
        th, tw = (tp, max(1, round(tp * w / h))) if h >= w else (max(1, round(tp * h / w)), tp)
        if h < th and w < tw:  # small maps grow by a whole factor: every activation the same square size
            k = max(1, min(th // h, tw // w))
            th, tw = h * k, w * k
        g = _Geom(dpr=dpr, tp=tp, th=th, tw=tw, m=round(MARGIN * dpr), lab=round(LABEL_H * dpr),
                  pad=round(PAD * dpr))
        cols = int((self._available_width() * dpr - 2 * g.pad) // g.cell_w)
        g = replace(g, cols=min(max(1, cols), c))
        key = (id(layer), self._norm, self._sort, g)
        if key == self._layout_key:
            return

        if self._sort == "index":
            order = np.arange(c, dtype=np.intp)
        else:
            stat = {"mean": layer.means, "max": layer.maxs, "active": layer.fracs}[self._sort]
            order = np.argsort(-stat, kind="stable").astype(np.intp)
        pos_of = np.empty(c, dtype=np.intp)
        pos_of[order] = np.arange(c)

        mosaic = self._compose(layer, g, order)
        self._g, self._order, self._pos_of, self._mosaic = g, order, pos_of, mosaic
        self._layout_key = key
        rows = math.ceil(c / g.cols)
        self._canvas.setFixedSize(math.ceil((g.cols * g.cell_w + 2 * g.pad) / dpr),
                                  math.ceil((rows * g.cell_h + 2 * g.pad) / dpr))
        self._canvas.update()

    def _compose(self, layer: _Layer, g: _Geom, order: np.ndarray) -> np.ndarray:
        """The uint16 index mosaic (rows·cell_h, cols·cell_w): thumbnails in display order, BG_INDEX between."""
        small, yi, xi = layer.small_indices(g.th, g.tw, self._norm)
        c, sh, sw = small.shape
        rows = math.ceil(c / g.cols)
        mosaic = np.empty((rows, g.cell_h, g.cols, g.cell_w), dtype=np.uint16)
        oy, ox, th, tw = g.oy, g.ox, g.th, g.tw
        mosaic[:, :oy] = BG_INDEX
        mosaic[:, oy + th:] = BG_INDEX
        mosaic[:, oy:oy + th, :, :ox] = BG_INDEX
        mosaic[:, oy:oy + th, :, ox + tw:] = BG_INDEX
        tiles = mosaic[:, oy:oy + th, :, ox:ox + tw]          # view (rows, th, cols, tw)
        full, rem = divmod(c, g.cols)
        src = small[order]                                    # small: cheap to reorder
        if full:
            block = src[:full * g.cols].reshape(full, g.cols, sh, sw).transpose(0, 2, 1, 3)
            tiles[:full] = block[:, yi][:, :, :, xi]
        if rem:
            tiles[full, :, :rem] = src[full * g.cols:].transpose(1, 0, 2)[yi][:, :, xi]
            tiles[full, :, rem:] = BG_INDEX
        return mosaic.reshape(rows * g.cell_h, g.cols * g.cell_w)

    def _cell_origin(self, pos: int) -> tuple[int, int]:
        """Top-left of display position ``pos``'s cell, physical px (canvas coords × dpr)."""
        g = self._g
        return g.pad + (pos % g.cols) * g.cell_w, g.pad + (pos // g.cols) * g.cell_h

    def columns(self) -> int:
        """Tiles per row in the current layout."""
        return self._g.cols

    def tile_at(self, pos: QPoint) -> int | None:
        """Channel index of the cell under ``pos`` (canvas coordinates), or None."""
        if self._layer is None or self._mosaic is None:
            return None
        g = self._g
        x, y = pos.x() * g.dpr - g.pad, pos.y() * g.dpr - g.pad
        if x < 0 or y < 0:
            return None
        col, row = int(x // g.cell_w), int(y // g.cell_h)
        k = row * g.cols + col
        if col >= g.cols or k >= self._order.size:
            return None
        return int(self._order[k])

    def tile_rect(self, index: int) -> QRectF:
        """Where channel ``index``'s thumbnail is drawn, in canvas coordinates."""
        if self._layer is None or self._mosaic is None:
            return QRectF()
        g = self._g
        x, y = self._cell_origin(int(self._pos_of[index]))
        return QRectF((x + g.ox) / g.dpr, (y + g.oy) / g.dpr, g.tw / g.dpr, g.th / g.dpr)

    def _ensure_visible(self) -> None:
        if self._layer is None or self._selected is None or self._mosaic is None:
            return
        r = self.tile_rect(self._selected)
        margin_x = int(r.width() / 2 + MARGIN + PAD)
        margin_y = int(r.height() / 2 + MARGIN + LABEL_H + PAD)
        self._scroll.ensureVisible(int(r.center().x()), int(r.center().y()), margin_x, margin_y)

    # ------------------------------------------------------------------ painting
    def _render(self, p: QPainter, area: QRectF, highlight: bool) -> None:
        """Paint the part of the canvas inside ``area`` (logical coords)."""
        p.fillRect(area, BACKGROUND)
        if self._mosaic is None or self._layer is None:
            return
        g = self._g
        d, pad = g.dpr, g.pad
        mh, mw = self._mosaic.shape
        x0 = max(0, int(math.floor(area.left() * d)) - pad)
        y0 = max(0, int(math.floor(area.top() * d)) - pad)
        x1 = min(mw, int(math.ceil(area.right() * d)) - pad + 1)
        y1 = min(mh, int(math.ceil(area.bottom() * d)) - pad + 1)
        if x1 > x0 and y1 > y0:
            # Colour only the exposed part: one LUT gather straight into a QImage, one blit.
            img = QImage(x1 - x0, y1 - y0, QImage.Format.Format_RGB32)   # 32-bit rows: no padding
            pixels = np.frombuffer(img.bits(), dtype=np.uint32, count=(x1 - x0) * (y1 - y0))
            np.take(self._lut32, self._mosaic[y0:y1, x0:x1], out=pixels.reshape(y1 - y0, x1 - x0), mode="clip")
            del pixels
            img.setDevicePixelRatio(d)
            p.drawImage(QPointF((x0 + pad) / d, (y0 + pad) / d), img)

        # Captions (index left, mean right) and the selection frame, only for exposed rows.
        n = self._order.size
        font = QFont(self.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.8))
        p.setFont(font)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        row0 = max(0, int((area.top() * d - pad) // g.cell_h))
        row1 = min(math.ceil(n / g.cols), int((area.bottom() * d - pad) // g.cell_h) + 1)
        chosen = self._selected if highlight else None
        p.setPen(TEXT)        # one pen for all captions (few Qt calls per tile)
        for pos in range(row0 * g.cols, min(n, row1 * g.cols)):
            if int(self._order[pos]) != chosen:
                self._draw_caption(p, pos)
        if chosen is not None:
            p.setPen(HIGHLIGHT)
            self._draw_caption(p, int(self._pos_of[chosen]))
        if highlight and self._selected is not None:
            pen = QPen(HIGHLIGHT, 3)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(self.tile_rect(self._selected).adjusted(-1.5, -1.5, 1.5, 1.5))

    def _draw_caption(self, p: QPainter, pos: int) -> None:
        """Index (left) and mean (right) under the thumbnail at display position ``pos``."""
        g, d = self._g, self._g.dpr
        ch = int(self._order[pos])
        cx, cy = self._cell_origin(pos)
        rect = QRectF((cx + g.m) / d, (cy + g.m + g.tp) / d, g.tp / d, g.lab / d)
        p.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"#{ch}")
        p.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                   f"μ {_fmt(float(self._layer.means[ch]))}")

    def grid_image(self) -> QImage:
        """The whole mosaic with captions (no selection frame), at the screen's pixel density.

        For a linear layer this is a snapshot of the bar chart; empty → a null QImage."""
        if self._stack.currentWidget() is self._bars:
            return self._bars.grab().toImage()
        if self._mosaic is None:
            return QImage()
        d = self._g.dpr
        size = self._canvas.size()
        img = QImage(round(size.width() * d), round(size.height() * d), QImage.Format.Format_RGB32)
        img.setDevicePixelRatio(d)
        p = QPainter(img)
        self._render(p, QRectF(0, 0, size.width(), size.height()), highlight=False)
        p.end()
        return img

    def _tooltip(self, ch: int) -> str:
        L = self._layer
        return (f"channel {ch}\nmean {L.means[ch]:.4g} · max {L.maxs[ch]:.4g}\n"
                f"active {100 * L.fracs[ch]:.0f}% · range {L.lo[ch]:.3g}..{L.hi[ch]:.3g}")
