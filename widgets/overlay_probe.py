"""The receptive-field probe on the overlay: the unit's theoretical field as a box on the photo,
its effective field as a heat.

A learner who clicks a spot of a map asks which part of the photo it looks at. Two
answers are drawn. The theoretical field (from the layers' kernels, strides and
paddings) is a rectangle outline: a light line on a dark halo, so it reads on any photo
and on the heat. The effective field |d unit / d input| is mostly near 0 with a peak, so
it is a sequential heat whose opacity follows its value (colormaps.heat_lut, "value"),
from 0 to its maximum: the photo shows through where the unit does not look.

Rules, so the picture never mixes two answers:
- a probe with an effective field replaces the channel's heat while it is shown (the
  colour bar and the title then describe the field); a box alone leaves the channel's
  heat under it (the field is computed on the worker and arrives later);
- a probe is drawn on the photo: a new one leaves native mode (the answer is on the
  photo); the effective field of the probe on show arriving later does not, so a user
  who went back to native meanwhile stays there, and sees it when they leave;
- set_channel (a channel, or a CAM), clear_channel and set_photo clear it; clear_probe
  brings the channel's heat back.
The levels come from the caller (``levels=(0, hi)``); without them the field's own maximum
is used, the one statistic this view takes of the data it draws (for its colour range).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from widgets.colormaps import display_levels, heat_lut, is_diverging, resolve_colormap
from widgets.heat_blend import lay_heat
from widgets.upsample import bilinear_resize, upsample_size

BOX_LIGHT = (255, 255, 255)
BOX_DARK = (0, 0, 0)
ERF_NOTE = "|d unit / d input|"


@dataclass(frozen=True)
class Probe:
    """What set_probe was given, checked."""
    box: tuple[float, float, float, float] | None      # (x0, y0, x1, y1) in photo pixels
    erf: np.ndarray | None                             # (H, W) float32 on the network's input
    erf_rect: tuple[float, float, float, float]        # (x, y, w, h): where that input lies on the photo
    caption: str
    levels: tuple[float, float]                        # (0, hi) the field is coloured over
    levels_given: bool


def check_probe(box, erf, erf_rect, caption, levels) -> Probe:
    """A Probe from set_probe's arguments, or a one-line ValueError."""
    if box is not None:
        try:
            x0, y0, x1, y1 = (float(v) for v in box)
        except (TypeError, ValueError):
            raise ValueError(f"the box must be (x0, y0, x1, y1), got {box!r}") from None
        if not all(map(math.isfinite, (x0, y0, x1, y1))) or x1 <= x0 or y1 <= y0:
            raise ValueError(f"the box must be finite with x1 > x0 and y1 > y0, got {box!r}")
        box = (x0, y0, x1, y1)
    try:
        rx, ry, rw, rh = (float(v) for v in erf_rect)
    except (TypeError, ValueError):
        raise ValueError(f"erf_rect must be (x, y, w, h), got {erf_rect!r}") from None
    if not all(map(math.isfinite, (rx, ry, rw, rh))) or rw <= 0 or rh <= 0:
        raise ValueError(f"erf_rect must be finite with positive size, got {erf_rect!r}")
    hi, given = 1.0, levels is not None
    if erf is not None:
        erf = np.asarray(erf)
        if erf.ndim != 2 or min(erf.shape) == 0:
            raise ValueError(f"the effective field must be a non-empty 2-D array, got shape {erf.shape}")
        erf = np.ascontiguousarray(erf, dtype=np.float32)
        if not np.isfinite(erf).all():
            raise ValueError("the effective field contains NaN or infinity")
        hi = float(levels[1]) if given else float(erf.max())
    lo = float(levels[0]) if given else 0.0
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"the effective field's levels must be finite, got {levels!r}")
    if hi <= lo:
        hi = lo + 1.0            # a flat field: the bottom colour (transparent)
    return Probe(box, erf, (rx, ry, rw, rh), str(caption), (lo, hi), given)


def box_pixels(box, photo_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """The photo pixels [px0, px1) × [py0, py1) whose centres lie in the box, clipped to the photo
    (the rule widgets.heat_blend uses for the crop)."""
    x0, y0, x1, y1 = box
    h, w = photo_hw
    px0, px1 = max(0, math.ceil(x0 - 0.5)), min(w, math.ceil(x1 - 0.5))
    py0, py1 = max(0, math.ceil(y0 - 0.5)), min(h, math.ceil(y1 - 0.5))
    return px0, py0, px1, py1


def ring_width(photo_hw: tuple[int, int]) -> int:
    """The outline's width in photo pixels for an export: about what the screen shows."""
    return max(1, round(max(photo_hw) / 400))


def draw_box(rgb: np.ndarray, box, t: int) -> np.ndarray:
    """``rgb`` (H, W, 3) with the box outlined in place: a light band ``t`` px wide on the box's own
    outermost pixels, on a dark band that reaches ``t`` px further out and in (clipped to the photo)."""
    h, w = rgb.shape[:2]
    px0, py0, px1, py1 = box_pixels(box, (h, w))
    if px1 <= px0 or py1 <= py0:
        return rgb

    def fill(y0, y1, x0, x1, colour):
        y0, y1, x0, x1 = max(0, y0), min(h, y1), max(0, x0), min(w, x1)
        if y1 > y0 and x1 > x0:
            rgb[y0:y1, x0:x1] = colour

    def ring(x0, y0, x1, y1, width, colour):     # the band of ``width`` just inside [x0, x1) × [y0, y1)
        fill(y0, y0 + width, x0, x1, colour)
        fill(y1 - width, y1, x0, x1, colour)
        fill(y0, y1, x0, x0 + width, colour)
        fill(y0, y1, x1 - width, x1, colour)

    ring(px0 - t, py0 - t, px1 + t, py1 + t, 3 * t, BOX_DARK)
    ring(px0, py0, px1, py1, t, BOX_LIGHT)
    return rgb


class ProbeItems:
    """The probe's graphics in the overlay's ViewBox: the field's heat over the photo (above the
    channel's heat) and the box as two cosmetic outlines (a dark halo under a light line)."""

    def __init__(self, vb: pg.ViewBox) -> None:
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.heat.setZValue(2)
        self.heat.setVisible(False)
        vb.addItem(self.heat)
        self.outlines = []
        for z, colour, width in ((3, QColor(*BOX_DARK, 190), 4.0), (4, QColor(*BOX_LIGHT), 2.0)):
            pen = QPen(colour, width)
            pen.setCosmetic(True)            # screen pixels, whatever the zoom
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            item = QGraphicsRectItem()
            item.setPen(pen)
            item.setBrush(Qt.BrushStyle.NoBrush)
            item.setZValue(z)
            item.setVisible(False)
            vb.addItem(item)
            self.outlines.append(item)
        self._up: np.ndarray | None = None
        self._up_of: int | None = None

    def upsampled(self, probe: Probe) -> np.ndarray:
        """The field upsampled onto its rect (bilinear, capped like the channel's heat), cached."""
        if self._up_of != id(probe.erf):
            _, _, rw, rh = probe.erf_rect
            self._up = bilinear_resize(probe.erf, *upsample_size(probe.erf.shape, rw, rh))
            self._up_of = id(probe.erf)
        return self._up

    def show(self, probe: Probe, cmap: str, alpha: float) -> None:
        if probe.box is not None:
            x0, y0, x1, y1 = probe.box
            for item in self.outlines:
                item.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
                item.setVisible(True)
        else:
            self.hide_box()
        if probe.erf is not None:
            self.heat.setLookupTable(heat_lut(cmap, "value"))
            self.heat.setImage(self.upsampled(probe), levels=field_levels(probe, cmap), autoLevels=False)
            self.heat.setRect(QRectF(*probe.erf_rect))
            self.heat.setOpacity(alpha)
            self.heat.setVisible(True)
        else:
            self.heat.setVisible(False)

    def hide_box(self) -> None:
        for item in self.outlines:
            item.setVisible(False)

    def hide(self) -> None:
        self.hide_box()
        self.heat.setVisible(False)

    def clear(self) -> None:
        self.hide()
        self.heat.clear()
        self._up, self._up_of = None, None


def field_colormap(choice: str, probe: Probe) -> str:
    """The table the field is drawn with: the view's choice, "auto" resolved on 0..max (viridis)."""
    return resolve_colormap(choice, *probe.levels)


def field_levels(probe: Probe, cmap: str) -> tuple[float, float]:
    """The field's levels, centred on 0 for a diverging table (so 0 stays the neutral middle)."""
    lo, hi = probe.levels
    return tuple(float(v) for v in display_levels(cmap, lo, hi)) if is_diverging(cmap) else (lo, hi)


def colorbar_note(probe: Probe) -> str:
    """What the colour bar says of the field's range: what it is first (a narrow bar cuts the end)."""
    where = f"0 … {probe.levels[1]:.3g} (brighter saturates)" if probe.levels_given else "0 … its max"
    return f"{ERF_NOTE} · {where} · summed over RGB"


class OverlayProbe:
    """Mixin for OverlayView (needs _vb, _heat_item, _title, _colorbar, _native, _alpha, _cmap, _photo,
    _probe, _probe_items, set_native, _show_channel_texts, _show_heat, _refresh_readout)."""

    def set_probe(self, box, erf, erf_rect, caption: str, levels: tuple[float, float] | None = None) -> None:
        """Show a probe: ``box`` = (x0, y0, x1, y1) the theoretical receptive field in photo pixels
        (None: not derivable), ``erf`` (H, W) the effective field on the network's input laid over
        the photo through ``erf_rect`` = (x, y, w, h) (None: not computed yet), ``caption`` the
        title ("effective receptive field of conv5_3 #12 at (7, 3)"). ``levels`` = (0, hi) colours
        the field (default: 0 to its max). See the module's docstring for what it replaces."""
        probe = check_probe(box, erf, erf_rect, caption, levels)
        old = self._probe
        field_arrived = (old is not None and old.erf is None and probe.erf is not None and old.box == probe.box)
        self._probe = probe
        if self._native and not field_arrived:
            self.set_native(False)        # calls _show_heat, which draws the probe
        else:
            self._show_heat()
        self._refresh_readout()

    def clear_probe(self) -> None:
        """Remove the probe; the channel's heat, title and colour bar come back."""
        if self._probe is None:
            return
        self._drop_probe()
        self._show_channel_texts()
        self._show_heat()
        self._refresh_readout()

    def probe(self) -> Probe | None:
        """The probe on show (checked arguments of set_probe), or None."""
        return self._probe

    def probe_items(self) -> ProbeItems:
        return self._probe_items

    def _probe_field_shown(self) -> bool:
        """The effective field covers the photo now (not in native mode)."""
        return self._probe is not None and self._probe.erf is not None and not self._native

    def _drop_probe(self) -> None:
        self._probe = None
        self._probe_items.clear()

    def _sync_probe(self) -> None:
        """Draw the probe in photo mode (its field in place of the channel's heat), hide it in native."""
        probe = self._probe
        if probe is None or self._native:
            self._probe_items.hide()
            return
        cmap = field_colormap(self._cmap, probe)
        self._probe_items.show(probe, cmap, self._alpha)
        self._title.setText(probe.caption)
        if probe.erf is not None:
            self._heat_item.setVisible(False)
            self._colorbar.set_colormap(cmap)
            lo, hi = field_levels(probe, cmap)
            self._colorbar.set_range(lo, hi, note=colorbar_note(probe))

    def _probe_picture(self, base: np.ndarray | None) -> np.ndarray:
        """The export in photo mode with a probe: ``base`` (the photo with the channel's heat; None:
        the photo) with the field laid on the photo instead when there is one, and the box drawn."""
        probe = self._probe
        rgb = base if base is not None else self._photo
        if probe.erf is not None and self._photo is not None:
            cmap = field_colormap(self._cmap, probe)
            rgb = lay_heat(self._photo, probe.erf, probe.erf_rect, heat_lut(cmap, "value"),
                           *field_levels(probe, cmap), opacity=self._alpha)
        if rgb is None:
            return None
        rgb = np.array(rgb, dtype=np.uint8, copy=True)
        if probe.box is not None:
            draw_box(rgb, probe.box, ring_width(rgb.shape[:2]))
        return rgb
