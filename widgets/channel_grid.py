"""The channel grid widget: every channel of one layer as tiles of one scrollable mosaic.

A VGG layer has up to 512 feature maps; hundreds of QLabel widgets would be far
too slow. So the work is split three ways: widgets.mosaic makes the thumbnails of
colormap indices and composes them (numpy only, any thread), widgets.grid_canvas
paints the index mosaic, and this widget owns the layer data and its caches, the
controls (colormap, scale, sort; widgets.grid_settings), the header (widgets.grid_header),
the colour bar and the selection; widgets.grid_selection says what a click means (the
current channel, ctrl/shift multi-selection, the clicked cell for the probe), and
widgets.grid_order decides the tile order and captions, contributions to a class included. The colours
follow the layer's sign by default ("auto": diverging centred on 0 if it has negative
values, viridis from 0 if not). A colormap change is a LUT swap (a switch that moves
the range re-colours), a resize only re-lays out the cached thumbnails.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QScrollArea, QStackedWidget, QStyle, QVBoxLayout, QWidget

from widgets import mosaic
from widgets.bar_chart import BarChart
from widgets.color_bar import ColorBar
from widgets.focus_keys import ACTIVATE_KEYS
from widgets.colormaps import VIEW_DEFAULT
from widgets.grid_canvas import BACKGROUND, MosaicCanvas
from widgets.grid_contributions import ContributionSort
from widgets.grid_header import GridHeader
from widgets.grid_order import CONTRIBUTION, PENDING, Contributions, contribution_captions, key_target, order_stat
from widgets.grid_selection import ChannelSelection, GridSelection
from widgets.grid_settings import GridSettings
from widgets.mosaic import LABEL_H, MARGIN, PAD
from widgets.view_controls import colormap_combo, control_row, scale_combo, sort_combo

EMPTY_HINT = "Select a layer to see what each of its channels responds to."
KEYS = {Qt.Key.Key_Left: "left", Qt.Key.Key_Right: "right", Qt.Key.Key_Up: "up", Qt.Key.Key_Down: "down",
        Qt.Key.Key_Home: "home", Qt.Key.Key_End: "end", Qt.Key.Key_PageUp: "pageup", Qt.Key.Key_PageDown: "pagedown"}


# ---------------------------------------------------------------------- the widget
class ChannelGrid(GridSettings, GridSelection, ContributionSort, QWidget):
    """All channels of a layer as tiles; click or arrow keys pick the channel to inspect,
    ctrl/shift-click select several (see widgets.grid_selection)."""

    channelSelected = Signal(int)
    positionClicked = Signal(int, int, int)   # channel, y, x in its map's cells (after channelSelected)
    selectionChanged = Signal(list)           # the multi-selection, ascending, after a user's edit
    colormapChanged = Signal(str)
    normalizationChanged = Signal(str)
    sortChanged = Signal(str)
    contributionsWanted = Signal(str)   # layer name: sorted by contribution, but none for this layer yet

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layer: mosaic.LayerTiles | None = None
        self._layer_cache = mosaic.LayerCache()   # recently shown layers with their thumbnails
        self._vector_name: str | None = None
        self._cmap = VIEW_DEFAULT         # the user's choice (may be "auto")
        self._shown = "viridis"           # the table drawn for the layer on show
        self._contribs = Contributions()
        self._norm = "channel"
        self._sort = "index"
        self._layout_key = None
        self._selection = ChannelSelection()
        self._marks_for: tuple | None = None   # (name, shape) the selection and probe cross belong to

        self._build_ui()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFocusProxy(self._canvas)
        self.clear()

    def _build_ui(self) -> None:
        self._header = GridHeader()
        self._caption = self._header.caption

        self._cmap_combo = colormap_combo(self._cmap, "the tiles")
        self._norm_combo = scale_combo()
        self._sort_combo = sort_combo()
        self._cmap_combo.dataChosen.connect(self.set_colormap)
        self._norm_combo.dataChosen.connect(self.set_normalization)
        self._sort_combo.dataChosen.connect(self.set_sort)
        # The caption gets a row of its own: squeezed beside the combos it was unreadable.
        bar = control_row(("Colours", self._cmap_combo), ("Scale", self._norm_combo), ("Sort", self._sort_combo))
        self._colorbar = ColorBar()
        self._colorbar.set_colormap(self._shown)

        self._hint = QLabel(EMPTY_HINT)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setWordWrap(True)
        self._hint.setStyleSheet("color: palette(mid); font-style: italic;")

        self._canvas = MosaicCanvas(self)
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
        layout.addWidget(self._header)
        layout.addLayout(bar)
        layout.addWidget(self._stack, 1)
        layout.addWidget(self._colorbar)

    # ------------------------------------------------------------------ data in
    def set_layer(self, name: str, acts: np.ndarray, means: np.ndarray, maxs: np.ndarray, fracs: np.ndarray,
                  select: int | None = None, mins: np.ndarray | None = None) -> None:
        """Show the (C, H, W) activations of layer ``name``; ``select`` the channel to highlight
        (default: the one with the largest mean); ``mins`` each channel's minimum, where known (else
        computed here). Does not emit channelSelected. The caption note
        is dropped (set it again after, see set_caption_note); the multi-selection and the probe's
        cross stay only if the layer has the same name and shape as the one before."""
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
        if mins is not None:
            mins = np.asarray(mins, dtype=np.float32).reshape(-1)
            if mins.shape != (c,):
                raise ValueError(f"{name}: mins must have {c} entries (one per channel), got {mins.size}")
        if select is not None and not 0 <= int(select) < c:
            raise ValueError(f"{name}: channel {select} out of range 0..{c - 1}")
        layer, renewed = self._layer_cache.get(str(name), acts, stats, mins)
        if renewed:   # new activations under a known name: a new image, its contributions are stale
            self._contribs.set(name, None, "")

        self._layer = layer
        self._vector_name = None
        self._keep_marks(layer.name, acts.shape)
        self._header.set_note("")
        self._canvas.selected = int(select) if select is not None else int(np.argmax(layer.means))
        self._set_controls_enabled(True)
        self._layout_key = None
        self._stack.setCurrentWidget(self._scroll)
        self._colorbar.setVisible(True)
        self._apply_colormap()
        self._relayout()
        self._ensure_visible()
        self._update_colorbar()
        self._ask_contributions()

    def set_vector(self, name: str, values: np.ndarray, labels: list[str] | None = None,
                   value_label: str | None = None) -> None:
        """Show a 1-D output (linear layer) as a bar chart; with ``labels`` the top bars are named.
        ``value_label`` names the value axis (default: "logit" with labels, i.e. the class layer,
        else "activation")."""
        self._bars.set_values(values, labels, value_label=value_label)
        self._layer = None
        self._canvas.clear_mosaic()
        self._drop_marks()
        self._vector_name = str(name)
        self.set_caption(f"{name} — {np.asarray(values).size} units")
        self._header.set_note("")
        self._set_controls_enabled(False)
        self._stack.setCurrentWidget(self._bars)
        self._colorbar.clear()
        self._colorbar.setVisible(False)   # bars are not colour-mapped

    def show_pending(self, name: str, text: str | None = None) -> None:
        """Empty state while ``name`` is being computed (keeps colormap/sort settings)."""
        self._drop_data()
        self._layer_cache.clear()  # a new image is coming: old thumbnails and contributions are stale
        self._contribs.clear()
        self.set_caption(str(name))
        self._hint.setText(text or f"Computing {name}…")
        self._stack.setCurrentWidget(self._hint)

    def clear(self) -> None:
        """Back to the empty state with its hint."""
        self._drop_data()
        self._layer_cache.clear()
        self._contribs.clear()
        self.set_caption("No layer")
        self._hint.setText(EMPTY_HINT)
        self._stack.setCurrentWidget(self._hint)

    def _drop_data(self) -> None:
        self._layer = None
        self._vector_name = None
        self._layout_key = None
        self._bars.clear()
        self._canvas.clear_mosaic()
        self._drop_marks()
        self._header.set_note("")
        self._colorbar.clear()
        self._colorbar.setVisible(True)
        self._show_sort_item()

    # ------------------------------------------------------------------ selection
    def select_channel(self, index: int) -> None:
        """Highlight channel ``index`` and scroll to it (no signal)."""
        if self._layer is None:
            return
        c = self._layer.acts.shape[0]
        if not 0 <= int(index) < c:
            raise ValueError(f"channel {index} out of range 0..{c - 1}")
        self._canvas.selected = int(index)
        self._canvas.update()
        self._ensure_visible()
        self._update_colorbar()

    def selected_channel(self) -> int | None:
        """The current channel (the one the overlay shows), not the multi-selection."""
        return self._canvas.selected

    def set_caption(self, text: str) -> None:
        """The header's caption (the layer and its shape; set by the grid itself)."""
        self._caption.setText(str(text))

    def set_caption_note(self, text: str) -> None:
        """A note beside the caption on where the layer's data comes from, e.g. "after the
        ablation of conv5_3: 2 channels"; "" removes it. Call it after set_layer/set_vector
        (which drop it: a note belongs to the layer it was set for)."""
        self._header.set_note(text)

    def caption_note(self) -> str:
        return self._header.note_text()

    def header(self) -> GridHeader:
        return self._header

    def layer_name(self) -> str | None:
        if self._layer is not None:
            return self._layer.name
        return self._vector_name

    def page(self) -> str:
        """Which view is on show: "empty", "grid" or "bars"."""
        return {0: "empty", 1: "grid", 2: "bars"}[self._stack.currentIndex()]

    def bar_chart(self) -> BarChart:
        return self._bars

    def colorbar(self) -> ColorBar:
        return self._colorbar

    def canvas(self) -> QWidget:
        """The widget the mosaic is painted on (coordinates of tile_at / tile_rect)."""
        return self._canvas

    def channel_range(self, index: int) -> tuple[float, float, str]:
        """(lo, hi, note) that channel ``index`` is coloured over in the current scale mode and
        colormap; the overlay can take them (set_channel(levels=(lo, hi), scale_note=note)) to
        follow the grid's scale."""
        return self._layer.channel_range(index, self._norm, self._cmap)

    def _update_colorbar(self) -> None:
        """The bar shows what the tiles are coloured over (see LayerTiles.colorbar_texts)."""
        if self._layer is not None:
            self._colorbar.set_range(*self._layer.colorbar_texts(self._canvas.selected, self._norm, self._cmap))

    def _choose(self, ch: int) -> None:
        self._canvas.selected = int(ch)
        self._canvas.update()
        self._ensure_visible()
        self._update_colorbar()
        self.channelSelected.emit(int(ch))

    def _handle_key(self, key: int) -> bool:
        cv = self._canvas
        if key == Qt.Key.Key_Escape:
            return self._escape()
        if self._layer is None or cv.selected is None:
            return False
        if key in ACTIVATE_KEYS:
            self._choose(cv.selected)
            return True
        pos, cols = int(cv.pos_of[cv.selected]), cv.g.cols
        page = max(1, int(self._scroll.viewport().height() * cv.g.dpr // cv.g.cell_h)) * cols
        new = key_target(KEYS.get(key, ""), pos, cv.order.size, cols, page)
        if new is None:
            return False
        if new != pos:
            self._choose(int(cv.order[new]))
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
        g = mosaic.layout(c, h, w, dpr, self._available_width() * dpr)
        contrib = self._current_contribs() if self._sort == CONTRIBUTION else None
        key = (id(layer), self._norm, self._sort, g, mosaic.range_kind(self._cmap, self._shown), id(contrib))
        if key == self._layout_key:
            return

        order, pos_of = mosaic.display_order(order_stat(self._sort, layer.means, layer.maxs, layer.fracs, contrib), c)
        image = layer.mosaic(g, self._norm, self._cmap, order)
        if self._sort != CONTRIBUTION:
            captions, signs = layer.captions(self._sort), None
        elif contrib is None:
            captions, signs = [PENDING] * c, None
        else:
            captions, signs = contribution_captions(contrib.values), contrib.signs()
        self._canvas.show_mosaic(image, g, order, pos_of, captions, signs, map_shape=(h, w))
        self._layout_key = key

    def columns(self) -> int:
        """Tiles per row in the current layout."""
        return self._canvas.g.cols

    def tile_at(self, pos: QPoint) -> int | None:
        """Channel index of the cell under ``pos`` (canvas coordinates), or None."""
        return self._canvas.tile_at(pos) if self._layer is not None else None

    def tile_rect(self, index: int) -> QRectF:
        """Where channel ``index``'s thumbnail is drawn, in canvas coordinates."""
        return self._canvas.tile_rect(index) if self._layer is not None else QRectF()

    def _ensure_visible(self) -> None:
        sel = self._canvas.selected
        if self._layer is None or sel is None or self._canvas.image is None:
            return
        r = self.tile_rect(sel)
        margin_x = int(r.width() / 2 + MARGIN + PAD)
        margin_y = int(r.height() / 2 + MARGIN + LABEL_H + PAD)
        self._scroll.ensureVisible(int(r.center().x()), int(r.center().y()), margin_x, margin_y)

    def grid_image(self) -> QImage:
        """The whole mosaic with captions (no selection frame), at the screen's pixel density.

        For a linear layer this is a snapshot of the bar chart; empty → a null QImage."""
        if self._stack.currentWidget() is self._bars:
            return self._bars.grab().toImage()
        return self._canvas.grid_image()
