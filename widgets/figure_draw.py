"""Drawing helpers and colours shared by the figure's rows (text that fits, framed rasters, colour bars).

Kept apart from :mod:`widgets.figure` so each row's painter (``figure``, ``figure_cam``)
can use them without importing the others.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPainterPath, QPen

from widgets.colormaps import lut
from widgets.figure_encode import PNG_SCALE
from widgets.figure_layout import fit_rect
from widgets.qimage import rgb_to_qimage

INK = QColor("#1d1d1f")
MUTED = QColor("#5f6368")
RULE = QColor("#d0d0d0")
FRAME = QColor("#9e9e9e")
BAR = QColor("#3d6fb4")
BAR_TOP = QColor("#1f4f95")
BAR_UNTRAINED = QColor("#a8a8a8")
BAR_TRACK = QColor("#eef1f5")
WARN_TEXT = QColor("#a50e0e")
WARN_FILL = QColor("#fdecea")
WARN_EDGE = QColor("#f1aaa4")
CAT_COLOR = QColor("#e0892b")
DOG_COLOR = QColor("#4a7fc1")
OTHER_COLOR = QColor("#d9dde3")  # the probability mass on neither cats nor dogs
SANS = ["DejaVu Sans", "Noto Sans", "Liberation Sans", "Helvetica Neue", "Arial", "Helvetica", "sans-serif"]


# ----------------------------------------------------------------------------- drawing helpers


def make_font(px: float, bold: bool = False, italic: bool = False) -> QFont:
    font = QFont()
    font.setFamilies(SANS)
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setPixelSize(max(1, round(px)))
    font.setBold(bold)
    font.setItalic(italic)
    return font


def draw_text(p: QPainter, rect: QRectF, text: str, px: float, *, color: QColor = INK, bold: bool = False,
          italic: bool = False, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
          min_px: float | None = None) -> float:
    """Draw one line of text inside ``rect``, shrinking (down to ``min_px``) then eliding to fit.

    Returns the width the text took.
    """
    size = px
    font = make_font(size, bold, italic)
    fm = QFontMetricsF(font)
    while min_px is not None and size > min_px and fm.horizontalAdvance(text) > rect.width():
        size -= 1
        font = make_font(size, bold, italic)
        fm = QFontMetricsF(font)
    if fm.horizontalAdvance(text) > rect.width():
        text = fm.elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
    p.setFont(font)
    p.setPen(color)
    p.drawText(rect, int(align), text)
    return fm.horizontalAdvance(text)


def fitting_px(texts, width: float, px: float, min_px: float) -> float:
    """The largest pixel size (from ``px`` down to ``min_px``) at which every text fits ``width``."""
    while px > min_px and max((QFontMetricsF(make_font(px)).horizontalAdvance(t) for t in texts), default=0) > width:
        px -= 1
    return px


def for_target(img: QImage, target: QRectF, *, blocky: bool = False) -> QImage:
    """Resample ``img`` to about 2x the target size (the PNG scale), so every format embeds
    a sensible raster: big photos shrink (smoothly), tiny feature maps grow (blocky)."""
    want_w = max(1, round(target.width() * PNG_SCALE))
    if img.width() > want_w * 1.25:
        return img.scaledToWidth(want_w, Qt.TransformationMode.SmoothTransformation)
    if blocky and img.width() * 2 <= want_w:
        k = max(1, want_w // img.width())
        return img.scaled(img.width() * k, img.height() * k, Qt.AspectRatioMode.IgnoreAspectRatio,
                          Qt.TransformationMode.FastTransformation)
    return img


def placeholder(p: QPainter, box: QRectF, text: str = "n/a") -> None:
    p.fillRect(box, QColor("#f3f3f3"))
    draw_text(p, box, text, 13, color=MUTED, align=Qt.AlignmentFlag.AlignCenter)


def draw_rgb(p: QPainter, rgb, box: QRectF, *, blocky: bool = False, frame: bool = True) -> QRectF | None:
    """Draw an (H, W, 3) uint8 array into ``box`` with its aspect kept; returns where it went."""
    rgb = None if rgb is None else np.asarray(rgb)
    if rgb is None or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        placeholder(p, box)
        return None
    target = fit_rect(rgb.shape[1], rgb.shape[0], box)
    p.drawImage(target, for_target(rgb_to_qimage(rgb), target, blocky=blocky))
    if frame:
        p.setPen(QPen(FRAME, 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(target)
    return target


def draw_crop_outline(p: QPainter, rect, photo_shape, target: QRectF) -> None:
    """Outline the network's input crop (photo px) on the photo drawn at ``target``."""
    x, y, w, h = (float(v) for v in rect)
    sx, sy = target.width() / photo_shape[1], target.height() / photo_shape[0]
    r = QRectF(target.left() + x * sx, target.top() + y * sy, w * sx, h * sy).intersected(target)
    if r.isEmpty():
        return
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(QPen(QColor(255, 255, 255), 3.5))
    p.drawRect(r)
    dashed = QPen(QColor(20, 20, 20), 1.5, Qt.PenStyle.DashLine)
    p.setPen(dashed)
    p.drawRect(r)


def draw_arrow(p: QPainter, x0: float, x1: float, y: float, label: str) -> None:
    p.setPen(QPen(MUTED, 2))
    p.drawLine(QPointF(x0, y), QPointF(x1 - 8, y))
    head = QPainterPath(QPointF(x1, y))
    head.lineTo(x1 - 11, y - 6)
    head.lineTo(x1 - 11, y + 6)
    head.closeSubpath()
    p.fillPath(head, MUTED)
    draw_text(p, QRectF(x0 - 6, y - 26, x1 - x0 + 12, 20), label, 13, color=MUTED, align=Qt.AlignmentFlag.AlignCenter)


def fmt(v: float) -> str:
    """A compact number for labels (about 3 significant digits), with a real minus sign."""
    v = float(v)
    a = abs(v)
    if v == 0:
        return "0"
    if not math.isfinite(v):
        s = str(v)
    elif a >= 1000 or (0 < a < 0.01):
        s = f"{v:.2e}"
    elif a >= 100:
        s = f"{v:.0f}"
    elif a >= 10:
        s = f"{v:.1f}"
    elif a >= 1:
        s = f"{v:.2f}"
    else:
        s = f"{v:.3f}"
    return s.replace("-", "\u2212")


def draw_colorbar(p: QPainter, box: QRectF, lo: float, hi: float, name: str, label_x: float,
                  label: str | tuple[str, ...] = "activation") -> None:
    """ONE vertical colour bar (high at the top) with the numeric levels at its ends and ``label``
    (what it measures, and per channel or shared) written up its side between them; a tuple
    gives shorter wordings for a short bar (the first that fits is used)."""
    column = np.ascontiguousarray(lut(name)[::-1][:, None, :].repeat(4, axis=1))
    p.drawImage(box, rgb_to_qimage(column))
    p.setPen(QPen(FRAME, 1))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(box)
    left_top = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
    draw_text(p, QRectF(label_x, box.top() - 2, 80, 18), fmt(hi), 13, align=left_top)
    draw_text(p, QRectF(label_x, box.bottom() - 16, 80, 18), fmt(lo), 13,
              align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
    span = max(box.height() - 44, 20)
    choices = (label,) if isinstance(label, str) else tuple(label)
    label = next((t for t in choices if QFontMetricsF(make_font(10)).horizontalAdvance(t) <= span), choices[-1] if choices else "")
    if label:  # rotated a quarter turn, read bottom to top, centred between the two numbers
        p.save()
        p.translate(label_x + 2, box.center().y() + span / 2)
        p.rotate(-90)
        draw_text(p, QRectF(0, 0, span, 16), label, 11, color=MUTED, align=Qt.AlignmentFlag.AlignCenter, min_px=9)
        p.restore()


def draw_hbar(p: QPainter, box: QRectF, lo: float, hi: float, name: str, label: str) -> None:
    """A small horizontal colour bar (low at the left), its levels at its ends and ``label`` after it."""
    row = np.ascontiguousarray(lut(name)[None, :, :].repeat(4, axis=0))
    p.drawImage(box, rgb_to_qimage(row))
    p.setPen(QPen(FRAME, 1))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(box)
    under = QRectF(box.left() - 30, box.bottom() + 2, 60, 16)
    draw_text(p, under, fmt(lo), 12, align=Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
    draw_text(p, under.translated(box.width(), 0), fmt(hi), 12,
              align=Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
    draw_text(p, QRectF(box.right() + 34, box.top() - 4, 600, 18), label, 12, color=MUTED)


def heading(p: QPainter, rect: QRectF, number: int, text: str, note: str = "") -> None:
    """A numbered section heading, with an optional grey note after it."""
    badge = QRectF(rect.left(), rect.top() + 1, 24, 24)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(INK)
    p.drawEllipse(badge)
    draw_text(p, badge, str(number), 14, color=QColor("white"), bold=True, align=Qt.AlignmentFlag.AlignCenter)
    used = draw_text(p, QRectF(rect.left() + 34, rect.top(), rect.width() - 34, rect.height()), text, 19, bold=True)
    if note:
        x = rect.left() + 34 + used + 14
        draw_text(p, QRectF(x, rect.top() + 2, rect.right() - x, rect.height()), note, 14, color=MUTED)
