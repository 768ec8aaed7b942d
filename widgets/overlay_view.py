"""One channel as a heatmap over the photo, or alone at its native resolution.

The grid says *which* channel fires; this view says *where* on the photo. The
channel is upsampled bilinearly (widgets.upsample, capped at ~512 px) and drawn over the
network's input crop. A flat wash of colour over the whole crop hid where a channel
fires, so by default the heat's opacity follows the value (an RGBA lookup table:
transparent where the map is low, opaque where it is high, or far from 0 on a diverging
map) and the opacity slider scales it all; "flat" keeps one opacity. The colours follow
the sign of the map by default ("auto", widgets.colormaps.auto_colormap). Zoom and pan
survive channel switches; hovering reads out the raw activation under the cursor, and
the readout follows the channel on show (a new photo clears the heatmap and the readout,
so nothing from the last image sits over the next one). A colour bar under the picture
gives the range the colours stand for and what that range is. In native mode a click on
a cell says which (``positionClicked(y, x)``, widgets.overlay_readout), and a probe of a
unit draws its receptive fields on the photo (widgets.overlay_probe).
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QSlider, QVBoxLayout, QWidget

from widgets.color_bar import ColorBar
from widgets.colormaps import (AUTO, DEFAULT_BLEND, SCALE_NOTES, VIEW_DEFAULT, check_blend, check_colormap, colorize,
                               display_levels, heat_lut, is_diverging, resolve_colormap)
from widgets.compact import ElidedLabel
from widgets.numbers import fmt_sig
from widgets.overlay_controls import OverlayControls
from widgets.overlay_image import blended_overlay, native_picture
from widgets.overlay_probe import OverlayProbe, ProbeItems
from widgets.overlay_readout import HINT, OverlayReadout
from widgets.qimage import qimage_to_rgb, rgb_to_qimage
from widgets.upsample import bilinear_resize, upsample_size

DEFAULT_ALPHA = 0.8   # with the blend by value, the opacity of the highest values
NO_CHANNEL = "No channel selected"


class OverlayView(OverlayReadout, OverlayProbe, QWidget):
    """Photo + heatmap of one channel, with opacity, colormap and native-resolution controls."""

    cursorValue = Signal(str)
    positionClicked = Signal(int, int)   # native mode: the cell (y, x) clicked
    colormapChanged = Signal(str)
    alphaChanged = Signal(float)
    blendChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._photo: np.ndarray | None = None
        self._fmap: np.ndarray | None = None
        self._up: np.ndarray | None = None
        self._rect = (0.0, 0.0, 1.0, 1.0)
        self._label = ""
        self._data_levels = (0.0, 1.0)   # the range asked for (or the channel's own)
        self._levels = (0.0, 1.0)        # the range coloured over (centred on 0 for a diverging map)
        self._scale_note = SCALE_NOTES["channel"]
        self._bar_note = self._scale_note   # the colour bar's note for the channel on show
        self._cursor: tuple[float, float] | None = None   # view coords of the mouse while it is over the picture
        self._alpha = DEFAULT_ALPHA
        self._cmap = VIEW_DEFAULT        # the user's choice (may be "auto")
        self._shown = "viridis"          # the table drawn now ("auto" resolved for the channel on show)
        self._blend = DEFAULT_BLEND
        self._native = False
        self._native_shape: tuple[int, int] | None = None
        self._probe = None               # overlay_probe.Probe on show
        self._build_ui()

    def _build_ui(self) -> None:
        self._gl = pg.GraphicsLayoutWidget()
        self._gl.ci.setContentsMargins(0, 0, 0, 0)
        self._vb = self._gl.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self._photo_item = pg.ImageItem(axisOrder="row-major")
        self._heat_item = pg.ImageItem(axisOrder="row-major")
        self._heat_item.setZValue(1)
        self._heat_item.setLookupTable(heat_lut(self._shown, self._blend))
        self._heat_item.setOpacity(self._alpha)
        self._heat_item.setVisible(False)
        self._vb.addItem(self._photo_item)
        self._vb.addItem(self._heat_item)
        self._probe_items = ProbeItems(self._vb)
        self._gl.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._gl.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self._gl.viewport().installEventFilter(self)

        self._controls = OverlayControls(self._alpha, self._blend, self._cmap)
        self._slider, self._blend_combo = self._controls.slider, self._controls.blend
        self._combo, self._native_box = self._controls.colormap, self._controls.native
        self._controls.alphaMoved.connect(self.set_alpha)
        self._controls.blendChosen.connect(self.set_blend)
        self._controls.colormapChosen.connect(self.set_colormap)
        self._controls.nativeToggled.connect(self.set_native)

        # Which channel is shown, in a row level with the grid's caption.
        self._title = ElidedLabel(NO_CHANNEL)
        font = self._title.font()
        font.setBold(True)
        self._title.setFont(font)
        self._title.setContentsMargins(4, 2, 4, 0)

        self._colorbar = ColorBar()
        self._colorbar.set_colormap(self._shown)
        # Value first, so a narrow window cuts the label, not the number; its width never
        # follows the text (a long readout made the whole window grow).
        self._readout = ElidedLabel(HINT)
        self._readout.setContentsMargins(4, 0, 4, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._title)
        layout.setSpacing(2)
        layout.addWidget(self._controls)
        layout.addWidget(self._gl, 1)
        layout.addWidget(self._colorbar)
        layout.addWidget(self._readout)

    # ------------------------------------------------------------------ content
    def set_photo(self, rgb: np.ndarray) -> None:
        """Show the photo (uint8 (H, W, 3)); fits the view to it. The heatmap and the readout
        belong to the previous photo, so both are cleared until set_channel brings the new one."""
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or min(rgb.shape[:2]) == 0:
            raise ValueError(f"photo must be a uint8 (H, W, 3) array, got {rgb.dtype} {rgb.shape}")
        self._cursor = None
        self.clear_channel()
        self._photo = np.ascontiguousarray(rgb)
        self._photo_item.setImage(self._photo, levels=(0, 255), autoLevels=False)
        self._photo_item.setVisible(not self._native)
        if not self._native:
            self._fit()

    def set_channel(self, fmap: np.ndarray, rect: tuple[float, float, float, float], label: str,
                    levels: tuple[float, float] | None = None, scale_note: str | None = None) -> None:
        """Show channel ``fmap`` (h, w) as a heatmap over the photo rectangle ``rect`` = (x, y, w, h).

        Colours span ``levels`` (default: the channel's own min..max; with "auto" from 0 for a map
        ≥ 0, centred on 0 otherwise); ``scale_note`` says what that range is on the colour bar
        (default "per channel", or "fixed" with levels). A probe on show is cleared: it was of
        another channel, or of the map a CAM replaces."""
        fmap = np.asarray(fmap)
        if fmap.ndim != 2 or min(fmap.shape) == 0:
            raise ValueError(f"channel must be a non-empty 2-D array, got shape {fmap.shape}")
        fmap = np.ascontiguousarray(fmap, dtype=np.float32)
        try:
            rx, ry, rw, rh = (float(v) for v in rect)
        except (TypeError, ValueError):
            raise ValueError(f"rect must be (x, y, w, h), got {rect!r}") from None
        if not all(map(math.isfinite, (rx, ry, rw, rh))) or rw <= 0 or rh <= 0:
            raise ValueError(f"rect must be finite with positive size, got {rect!r}")
        lo, hi = (float(fmap.min()), float(fmap.max())) if levels is None else (float(levels[0]), float(levels[1]))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"{label}: channel or levels contain NaN or infinity")
        self._drop_probe()
        self._fmap, self._rect, self._label = fmap, (rx, ry, rw, rh), str(label)
        self._data_levels = (lo, hi)
        self._scale_note = scale_note or SCALE_NOTES["channel" if levels is None else "fixed"]
        self._title.setText(self._label)
        self._up = None
        self._apply_levels()
        self._refresh_readout()

    def _apply_levels(self) -> None:
        """Colour table and range from the asked-for levels and the colormap choice ("auto" judges
        the levels and the map together: any negative value makes it diverging); the heatmap,
        its opacity table and the bar follow."""
        lo, hi = self._data_levels
        fmin, fmax = float(self._fmap.min()), float(self._fmap.max())
        self._shown = resolve_colormap(self._cmap, min(lo, fmin), max(hi, fmax))
        if is_diverging(self._shown):
            lo, hi = display_levels(self._shown, lo, hi)   # centred on 0: the sign reads as colour
        elif self._cmap == AUTO:
            lo = 0.0                                       # nothing is negative: the bottom colour is 0
        if hi <= lo:
            hi = lo + 1.0      # flat channel: the bottom colour, as to_indices gives it
        self._levels = (lo, hi)
        note = self._scale_note
        if is_diverging(self._shown) or (lo, hi) != self._data_levels:   # say what the data spans
            note = f"{note} · data {fmt_sig(fmin)} … {fmt_sig(fmax)}"   # what the range is, first
        self._bar_note = note
        self._show_channel_texts()
        self._apply_lut()
        self._show_heat()

    def _show_channel_texts(self) -> None:
        """The title and colour bar of the channel on show (a probe's field replaces them)."""
        if self._fmap is None:
            self._title.setText(NO_CHANNEL)
            self._colorbar.clear()
            return
        self._title.setText(self._label)
        self._colorbar.set_colormap(self._shown)
        self._colorbar.set_range(*self._levels, note=self._bar_note)

    def _apply_lut(self) -> None:
        """Colours with the blend's opacity; native mode shows the map alone, so always opaque."""
        self._heat_item.setLookupTable(heat_lut(self._shown, "flat" if self._native else self._blend))

    def has_channel(self) -> bool:
        """A channel's heatmap is shown (not cleared, not a new photo waiting for its layer)."""
        return self._fmap is not None

    def clear_channel(self) -> None:
        """Remove the heatmap (the photo stays), its colour bar, the readout and any probe."""
        self._drop_probe()
        self._fmap = None
        self._up = None
        self._native_shape = None
        self._title.setText(NO_CHANNEL)
        self._heat_item.clear()
        self._heat_item.setVisible(False)
        self._colorbar.clear()
        self._refresh_readout()

    def _upsampled(self) -> np.ndarray:
        if self._up is None:
            _, _, rw, rh = self._rect
            self._up = bilinear_resize(self._fmap, *upsample_size(self._fmap.shape, rw, rh))
        return self._up

    def _show_heat(self) -> None:
        if self._fmap is None:
            self._sync_probe()
            return
        if self._native:
            h, w = self._fmap.shape
            self._heat_item.setImage(self._fmap, levels=self._levels, autoLevels=False)
            self._heat_item.setRect(QRectF(0, 0, w, h))
            self._heat_item.setOpacity(1.0)
            if self._native_shape != (h, w):   # a different layer: its size changed
                self._native_shape = (h, w)
                self._fit()
        else:
            self._heat_item.setImage(self._upsampled(), levels=self._levels, autoLevels=False)
            self._heat_item.setRect(QRectF(*self._rect))
            self._heat_item.setOpacity(self._alpha)
        self._heat_item.setVisible(True)
        self._sync_probe()             # the probe's field, when there is one, covers the heat instead

    def _fit(self) -> None:
        """Fit the view to what is on show (photo, or the native channel)."""
        if self._native and self._fmap is not None:
            h, w = self._fmap.shape
            self._vb.setRange(QRectF(0, 0, w, h), padding=0.02)
        elif not self._native and self._photo is not None:
            h, w = self._photo.shape[:2]
            self._vb.setRange(QRectF(0, 0, w, h), padding=0.02)

    # ------------------------------------------------------------------ settings
    def set_alpha(self, a: float) -> None:
        """Heatmap opacity 0..1 (clamped)."""
        a = float(a)
        if not math.isfinite(a):
            raise ValueError(f"opacity must be a number in 0..1, got {a}")
        a = min(1.0, max(0.0, a))
        changed = a != self._alpha
        self._alpha = a
        if self._slider.value() != round(a * 100):
            OverlayControls.show_value(self._slider, round(a * 100))
        if not self._native:
            self._heat_item.setOpacity(a)
            self._probe_items.heat.setOpacity(a)
        if changed:
            self.alphaChanged.emit(a)

    def alpha(self) -> float:
        return self._alpha

    def set_blend(self, blend: str) -> None:
        """"value" (opacity follows the normalised value, scaled by the slider) or "flat" (the
        slider's opacity everywhere); emits blendChanged on change."""
        blend = check_blend(blend)
        if blend == self._blend:
            return
        self._blend = blend
        if self._blend_combo.currentData() != blend:
            OverlayControls.show_value(self._blend_combo, blend)
        self._apply_lut()
        self.blendChanged.emit(blend)

    def blend(self) -> str:
        return self._blend

    def set_colormap(self, name: str) -> None:
        """Colour the heatmap with ``name`` (a key of CHOICES, e.g. "auto", or its label); emits
        colormapChanged with the key on change."""
        name = check_colormap(name)
        if name == self._cmap:
            return
        self._cmap = name
        if self._combo.currentData() != name:
            OverlayControls.show_value(self._combo, name)
        if self._fmap is not None:
            self._apply_levels()   # "auto" follows the sign; a diverging map centres the range on 0
        else:
            if name != AUTO:
                self._shown = name
                self._colorbar.set_colormap(name)
                self._apply_lut()
            self._sync_probe()
        self.colormapChanged.emit(name)

    def colormap(self) -> str:
        """The colormap choice (a key, possibly "auto")."""
        return self._cmap

    def shown_colormap(self) -> str:
        """The table the heat is drawn with now: the choice, or what "auto" picked for this map."""
        return self._shown

    def levels(self) -> tuple[float, float]:
        """The (lo, hi) the heat is coloured over."""
        return self._levels

    def set_native(self, on: bool) -> None:
        """Show the channel alone at native resolution (True) or over the photo (False)."""
        on = bool(on)
        if self._native_box.isChecked() != on:
            OverlayControls.show_value(self._native_box, on)
        if on == self._native:
            return
        self._native = on
        self._native_shape = None
        self._apply_lut()
        self._photo_item.setVisible(not on)
        self._cursor = None    # the same view coordinates now mean another place
        self._show_channel_texts()
        self._show_heat()
        self._fit()
        self._refresh_readout()

    def native(self) -> bool:
        return self._native

    # ------------------------------------------------------------------ export
    def overlay_image(self) -> QImage:
        """The view's content at full resolution: photo + heatmap (blended as on screen), or the
        native channel; in photo mode with a probe, its field and box as on screen. Null QImage
        when there is nothing to show."""
        if self._probe is not None and not self._native:
            base = None if self._fmap is None or self._probe.erf is not None else self._channel_image()
            rgb = self._probe_picture(None if base is None else qimage_to_rgb(base))
            return QImage() if rgb is None else rgb_to_qimage(rgb)
        return self._channel_image()

    def _channel_image(self) -> QImage:
        if self._fmap is None:
            return QImage() if self._native or self._photo is None else rgb_to_qimage(self._photo)
        if self._native:
            return native_picture(self._fmap, self._levels, self._shown)
        if self._photo is None:
            return rgb_to_qimage(colorize(self._upsampled(), *self._levels, self._shown))
        return blended_overlay(self._photo, self._upsampled(), self._rect, self._levels, self._shown,
                               self._alpha, self._blend)

    # ------------------------------------------------------------------ for tests / embedding
    def blend_combo(self):
        return self._blend_combo

    def controls(self) -> OverlayControls:
        return self._controls

    def view_box(self) -> pg.ViewBox:
        return self._vb

    def heat_item(self) -> pg.ImageItem:
        return self._heat_item

    def photo_item(self) -> pg.ImageItem:
        return self._photo_item

    def alpha_slider(self) -> QSlider:
        return self._slider

    def readout_label(self) -> QLabel:
        return self._readout

    def colorbar(self) -> ColorBar:
        return self._colorbar

    def title(self) -> str:
        return self._title.text()

