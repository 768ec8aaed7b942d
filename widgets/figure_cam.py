"""The figure's row 4: why the network answers its top class (Grad-CAM on the photo, and the
channels that pushed the answer up or down).

Left, the min–max normalised CAM laid on the photo through the input crop, with its
colour bar; right, the channels of largest |w_k · mean A_k|, each a thumbnail of that
channel of the CAM layer (one shared scale), its weight, and a signed bar: red pushes
the class's score up, blue pushes it down (the figure's sign convention).
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from widgets.colormaps import colorize, lut
from widgets.figure_draw import (FRAME, MUTED, RULE, draw_colorbar, draw_hbar, draw_rgb, draw_text, fmt, heading,
                                 placeholder)
from widgets.figure_images import CAM_COLORMAP, cam_overlay_image
from widgets.figure_layout import FigureData, Layout
from widgets.figure_scale import SIGNED_MAP, map_scale, scale_words
from widgets.qimage import rgb_to_qimage

_D1 = lut(SIGNED_MAP)
POSITIVE = QColor(*(int(v) for v in _D1[235]))  # the diverging map's red end: positive
NEGATIVE = QColor(*(int(v) for v in _D1[20]))   # its blue end: negative
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def shared_format(values):
    """One number format for a column: fixed decimals giving the largest |value| 3 significant
    digits (so a column lines up and compares at a glance), scientific when that would need > 6."""
    finite = [abs(float(v)) for v in values if math.isfinite(float(v)) and v != 0]
    top = max(finite, default=1.0)
    exponent = math.floor(math.log10(top))
    decimals = max(0, 2 - exponent)

    def show(v: float) -> str:
        v = float(v)
        s = f"{v:+.2e}" if decimals > 6 or top >= 1e5 else f"{v:+.{decimals}f}"
        if v == 0 or float(s) == 0:
            s = "0"
        return s.replace("-", "\u2212")
    return show


def paint_cam_row(p: QPainter, d: FigureData, L: Layout, photo, f: float, number: int = 4) -> None:
    cam = d.cam
    if cam is None:
        heading(p, L.head4, number, "Why the network answers its top class", "Grad-CAM not computed")
        draw_text(p, L.cam_title, "Grad-CAM on the photo", 15, align=LEFT | Qt.AlignmentFlag.AlignBottom)
        placeholder(p, L.cam_img)
        draw_text(p, L.contrib_title, "the channels that contribute most", 15, align=LEFT | Qt.AlignmentFlag.AlignBottom)
        placeholder(p, QRectF(L.contrib_x, L.contrib_rows_y, L.contrib_w, 5 * L.contrib_row_h))
        return
    heading(p, L.head4, number, f"Why \u201c{cam.label}\u201d?",
            "the top-1 class, explained from its logit (not the softmax)")
    draw_text(p, L.cam_title, cam.title, 15, align=LEFT | Qt.AlignmentFlag.AlignBottom, min_px=11)
    _paint_heat(p, d, L, photo, f)
    _paint_contributions(p, d, L)


def _paint_heat(p: QPainter, d: FigureData, L: Layout, photo, f: float) -> None:
    cam = d.cam
    heat = np.asarray(cam.heat, dtype=np.float32)
    if photo is None or heat.ndim != 2 or heat.size == 0:
        placeholder(p, L.cam_img)
        return
    rect = tuple(float(v) * f for v in d.overlay_rect)
    p.drawImage(L.cam_img, rgb_to_qimage(cam_overlay_image(photo, heat, rect)))
    p.setPen(QPen(FRAME, 1))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(L.cam_img)
    draw_colorbar(p, L.cam_bar, 0.0, 1.0, CAM_COLORMAP, L.cam_bar_label_x,
                  ("normalised: 0 = min, 1 = max of this map", "0 = min, 1 = max", "min–max"))
    lo, hi = (float(v) for v in cam.raw_range)
    h, w = heat.shape
    draw_text(p, L.cam_caption, f"raw map {h}×{w}, {fmt(lo)} … {fmt(hi)}; bilinear into the input crop; "
              "opacity = value (clear where low)", 12, color=MUTED, min_px=10,
              align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)


def _paint_contributions(p: QPainter, d: FigureData, L: Layout) -> None:
    rows = list(d.cam.channels)
    draw_text(p, L.contrib_title, f"The {len(rows)} channels that contribute most", 15,
              align=LEFT | Qt.AlignmentFlag.AlignBottom)
    x, hy = L.contrib_x, L.contrib_header_y
    draw_text(p, QRectF(x, hy, 60, 18), "map", 12, color=MUTED)
    draw_text(p, QRectF(x + 66, hy, 80, 18), "channel", 12, color=MUTED)
    draw_text(p, QRectF(x + 150, hy, 140, 18), "weight w", 12, color=MUTED)
    draw_text(p, QRectF(L.contrib_bar_x, hy, L.contrib_bar_w + 96, 18),
              "contribution w · mean(A): red raises the score, blue lowers it", 12, color=MUTED, min_px=10)
    if not rows:
        placeholder(p, QRectF(x, L.contrib_rows_y, L.contrib_w, 2 * L.contrib_row_h), "no channels")
        return
    maps = [np.asarray(m, dtype=np.float32) for *_, m in rows if m is not None and np.ndim(m) == 2 and np.size(m)]
    scale = map_scale("auto", min(float(m.min()) for m in maps), max(float(m.max()) for m in maps)) if maps else None
    biggest = max(abs(float(c)) for _, _, c, _ in rows) or 1.0
    show_w = shared_format([w for _, w, _, _ in rows])
    show_c = shared_format([c for _, _, c, _ in rows])
    centre = L.contrib_bar_x + L.contrib_bar_w / 2
    half = L.contrib_bar_w / 2
    for i, (channel, weight, contribution, fmap) in enumerate(rows):
        row = L.contrib_row(i)
        mid = row.center().y()
        box = L.thumb_box(i)
        if scale is not None and fmap is not None and np.ndim(fmap) == 2 and np.size(fmap):
            draw_rgb(p, colorize(np.asarray(fmap, np.float32), scale.lo, scale.hi, scale.colormap), box, blocky=True)
        else:
            placeholder(p, box)
        draw_text(p, QRectF(x + 66, mid - 11, 80, 22), f"#{channel}", 15, bold=True, align=LEFT)
        draw_text(p, QRectF(x + 150, mid - 10, 140, 20), f"w = {show_w(weight)}", 13, color=MUTED, align=LEFT)
        p.setPen(QPen(RULE, 1))
        p.drawLine(QPointF(centre, row.top() + 6), QPointF(centre, row.bottom() - 6))
        c = float(contribution)
        length = max(abs(c) / biggest * half, 1.0)
        bar = QRectF(centre if c >= 0 else centre - length, mid - 9, length, 18)
        p.fillRect(bar, POSITIVE if c >= 0 else NEGATIVE)
        draw_text(p, QRectF(L.contrib_bar_x + L.contrib_bar_w + 8, mid - 10, 88, 20), show_c(c), 14,
                  bold=(i == 0), align=LEFT)
    if scale is not None:
        draw_hbar(p, L.contrib_hbar, scale.lo, scale.hi, scale.colormap,
                  f"maps: {scale_words(scale)}, one scale shared by the {len(maps)} channels")
