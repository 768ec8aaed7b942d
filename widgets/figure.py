"""The composed export figure: one QPainter renderer for the GUI and the headless CLI.

"File → Export figure…" and ``convscope export`` both call :func:`write_figure`, so a
figure looks the same whichever way it was made. Only QtGui/QtSvg and numpy are used,
so a QGuiApplication (offscreen) is enough — no widgets, no torch.

Layout (logical px, white background, like a textbook figure): a title; row 1 the
photo (input crop outlined) → the demo convolution's RGB output and its three
channels; row 2 the chosen layer's most active channels as small multiples with one
colour bar, next to the best channel overlaid on the photo; row 3 the predictions.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QPointF, QRect, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QImageWriter,
    QPageLayout,
    QPageSize,
    QPainter,
    QPainterPath,
    QPdfWriter,
    QPen,
)
from PySide6.QtSvg import QSvgGenerator

from widgets.atomic_write import check_target, write_bytes_atomic
from widgets.colormaps import colorize, lut
from widgets.qimage import rgb_to_qimage

FORMATS = (".png", ".svg", ".pdf")
PNG_SCALE = 2  # PNG pixels per logical px: crisp on slides and high-dpi screens
PNG_QUALITY = 50  # Qt maps this to zlib level 4: twice as fast as the default, ~2 % bigger
LOGICAL_DPI = 96  # PDF/SVG: one logical px is 1/96 inch, as on a normal screen

WIDTH = 1600
MARGIN = 40
CONTENT_W = WIDTH - 2 * MARGIN

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


@dataclass
class FigureData:
    """Everything the figure shows, already computed (numpy arrays, strings, numbers)."""

    title: str
    photo: np.ndarray  # uint8 (H, W, 3)
    demo_output: np.ndarray  # uint8 (h, w, 3)
    demo_channels: np.ndarray  # float32 (3, h, w)
    demo_caption: str
    layer_name: str
    top_channels: list  # [(channel index, fmap float32 (fh, fw), mean), ...] highest mean first
    levels: tuple  # (lo, hi) shared by the top channels and the overlay
    overlay_fmap: np.ndarray  # float32 (fh, fw)
    overlay_rect: tuple  # (x, y, w, h) in photo pixels: where the network's input crop sits
    overlay_label: str
    predictions: list  # [{"index", "label", "prob", "logit"}, ...] top-k
    cat_vs_dog: dict | None
    pretrained: bool
    colormap: str = "viridis"
    alpha: float = 0.6
    overlay_colormap: str | None = None   # the overlay view's colormap (None: the same as the tiles')


# ----------------------------------------------------------------------------- layout


def _aspect(arr: np.ndarray | None, default: float = 0.75) -> float:
    """Height / width of an image-like array (last two axes for 2-D, first two for RGB)."""
    if arr is None or np.asarray(arr).ndim < 2 or min(np.shape(arr)[:2]) == 0:
        return default
    h, w = np.shape(arr)[:2]
    return h / w


def _grid_shape(n: int, max_w: float, max_h: float, gap: float, label_h: float, max_tile: float):
    """(rows, cols, tile) for ``n`` square-ish tiles: the largest tiles that fit the area."""
    best = (1, max(n, 1), 0.0)
    for rows in range(1, max(n, 1) + 1):
        cols = math.ceil(max(n, 1) / rows)
        tile = min(max_tile, (max_w - (cols - 1) * gap) / cols, (max_h - (rows - 1) * gap) / rows - label_h)
        if tile > best[2] + 0.5:
            best = (rows, cols, tile)
    return best


class _Layout:
    """Rectangles for every part of the figure, in logical px; shared by size and paint."""

    def __init__(self, data: FigureData):
        y = MARGIN - 8
        self.title = QRectF(MARGIN, y, CONTENT_W, 40)
        y += 46
        self.rule_y = y
        y += 18

        # Row 1: photo → demo output + its three channels.
        self.head1 = QRectF(MARGIN, y, CONTENT_W, 26)
        y += 34
        arrow_gap, gap = 64.0, 20.0
        panel_w = (CONTENT_W - arrow_gap - 3 * gap) / 5
        ratio = max(_aspect(data.photo), _aspect(np.asarray(data.demo_output)))
        img_h = round(panel_w * min(max(ratio, 0.45), 1.0))
        self.row1_titles = []
        self.row1_boxes = []
        x = MARGIN
        for i in range(5):
            self.row1_titles.append(QRectF(x, y, panel_w, 22))
            self.row1_boxes.append(QRectF(x, y + 24, panel_w, img_h))
            x += panel_w + (arrow_gap if i == 0 else gap)
        y += 24 + img_h + 6
        self.photo_caption = QRectF(MARGIN, y, panel_w, 20)
        self.demo_caption = QRectF(self.row1_boxes[1].left(), y, self.row1_boxes[4].right() - self.row1_boxes[1].left(), 20)
        self.arrow = (self.row1_boxes[0].right() + 8, self.row1_boxes[1].left() - 8, self.row1_boxes[0].center().y())
        y += 20 + 30

        # Row 2: top channels (grid + one colour bar) | overlay.
        self.head2 = QRectF(MARGIN, y, CONTENT_W, 26)
        y += 34
        n = len(data.top_channels)
        self.label_h = 20.0
        self.grid_gap = 10.0
        rows, cols, tile = _grid_shape(n, 980, 370, self.grid_gap, self.label_h, 170)
        self.grid_rows, self.grid_cols, self.tile = rows, cols, math.floor(tile)
        grid_w = cols * self.tile + (cols - 1) * self.grid_gap if n else 300
        grid_h = rows * (self.tile + self.label_h) + (rows - 1) * self.grid_gap if n else 60
        self.grid = QRectF(MARGIN, y + 24, grid_w, grid_h)
        bar_x = self.grid.right() + 18
        self.cbar = QRectF(bar_x, self.grid.top(), 16, max(self.tile * rows + (rows - 1) * (self.grid_gap + self.label_h), 60))
        self.cbar_label_x = self.cbar.right() + 6
        # The overlay takes the remaining width (at most 360 tall), flush with the right margin.
        over_x = bar_x + 16 + 80
        over_w = WIDTH - MARGIN - over_x
        over_h = max(grid_h, 360.0)
        ratio = _aspect(data.photo)
        img_w = min(over_w, over_h / ratio)
        self.over_img = QRectF(WIDTH - MARGIN - img_w, y + 24, img_w, img_w * ratio)
        self.grid_title = QRectF(MARGIN, y, grid_w + 100, 22)
        # Title and caption start at the picture, or further left if it is too narrow for them.
        text_x = min(self.over_img.left(), WIDTH - MARGIN - 400)
        self.over_text_align = Qt.AlignmentFlag.AlignLeft if text_x == self.over_img.left() else Qt.AlignmentFlag.AlignRight
        self.over_title = QRectF(text_x, y, WIDTH - MARGIN - text_x, 22)
        y += 24 + max(grid_h, self.over_img.height()) + 6
        self.over_caption = QRectF(text_x, self.over_img.bottom() + 6, self.over_title.width(), 20)
        y += 20 + 30

        # Row 3: predictions (bars) | cat vs dog.
        self.head3 = QRectF(MARGIN, y, CONTENT_W, 26)
        y += 34
        self.warning = None
        if not data.pretrained:
            self.warning = QRectF(MARGIN, y, 904, 34)
            y += 46
        self.row_h = 30.0
        k = max(len(data.predictions), 1)
        self.pred_header_y = y
        y += 22
        self.pred_label_x, self.pred_label_w = MARGIN, 280.0
        self.pred_bar_x, self.pred_bar_w = MARGIN + 296.0, 440.0
        self.pred_pct_w = 76.0
        self.pred_logit_x = self.pred_bar_x + self.pred_bar_w + self.pred_pct_w + 12
        self.pred_rows_y = y
        self.catdog = QRectF(MARGIN + 1000, self.pred_header_y, CONTENT_W - 1000, 110)
        self.catdog_bar = QRectF(self.catdog.left(), self.catdog.top() + 54, self.catdog.width(), 16)
        y += k * self.row_h + 10
        self.footer = QRectF(MARGIN, y + 6, CONTENT_W, 18)
        y += 24 + MARGIN - 12
        self.size = QSize(WIDTH, int(math.ceil(y)))


    def tile_box(self, i: int) -> QRectF:
        """The square for the i-th top channel in the small-multiples grid."""
        r, c = divmod(i, self.grid_cols)
        x = self.grid.left() + c * (self.tile + self.grid_gap)
        y = self.grid.top() + r * (self.tile + self.label_h + self.grid_gap)
        return QRectF(x, y, self.tile, self.tile)


def figure_size(data: FigureData) -> QSize:
    """The figure's logical size in px (1600 wide; the height follows from the content)."""
    return _Layout(data).size


def panel_rects(data: FigureData) -> dict[str, QRectF]:
    """Where the main pictures land, in logical px: "photo", "demo_output", "overlay",
    "colorbar" and "channel_<i>" for the i-th top channel (for tests, previews, hit-testing)."""
    L = _Layout(data)
    photo = np.asarray(data.photo)
    out = {
        "photo": _fit(photo.shape[1], photo.shape[0], L.row1_boxes[0]) if photo.ndim == 3 else L.row1_boxes[0],
        "demo_output": _fit(np.shape(data.demo_output)[1], np.shape(data.demo_output)[0], L.row1_boxes[1]),
        "overlay": QRectF(L.over_img),
        "colorbar": QRectF(L.cbar),
    }
    if data.cat_vs_dog:
        out["cat_vs_dog"] = QRectF(L.catdog_bar)
    for i, (_, fmap, _) in enumerate(data.top_channels):
        out[f"channel_{i}"] = _fit(np.shape(fmap)[1], np.shape(fmap)[0], L.tile_box(i))
    return out


# ----------------------------------------------------------------------------- drawing helpers


def _font(px: float, bold: bool = False, italic: bool = False) -> QFont:
    font = QFont()
    font.setFamilies(SANS)
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setPixelSize(max(1, round(px)))
    font.setBold(bold)
    font.setItalic(italic)
    return font


def _text(p: QPainter, rect: QRectF, text: str, px: float, *, color: QColor = INK, bold: bool = False,
          italic: bool = False, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
          min_px: float | None = None) -> float:
    """Draw one line of text inside ``rect``, shrinking (down to ``min_px``) then eliding to fit.

    Returns the width the text took.
    """
    size = px
    font = _font(size, bold, italic)
    fm = QFontMetricsF(font)
    while min_px is not None and size > min_px and fm.horizontalAdvance(text) > rect.width():
        size -= 1
        font = _font(size, bold, italic)
        fm = QFontMetricsF(font)
    if fm.horizontalAdvance(text) > rect.width():
        text = fm.elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
    p.setFont(font)
    p.setPen(color)
    p.drawText(rect, int(align), text)
    return fm.horizontalAdvance(text)


def _fitting_px(texts, width: float, px: float, min_px: float) -> float:
    """The largest pixel size (from ``px`` down to ``min_px``) at which every text fits ``width``."""
    while px > min_px and max((QFontMetricsF(_font(px)).horizontalAdvance(t) for t in texts), default=0) > width:
        px -= 1
    return px


def _fit(src_w: float, src_h: float, box: QRectF, align_top: bool = False) -> QRectF:
    """The largest rect of aspect src_w:src_h inside ``box``, centred (or top-aligned)."""
    if src_w <= 0 or src_h <= 0:
        return QRectF(box)
    s = min(box.width() / src_w, box.height() / src_h)
    w, h = src_w * s, src_h * s
    top = box.top() if align_top else box.top() + (box.height() - h) / 2
    return QRectF(box.left() + (box.width() - w) / 2, top, w, h)


def _for_target(img: QImage, target: QRectF, *, blocky: bool = False) -> QImage:
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


def _placeholder(p: QPainter, box: QRectF, text: str = "n/a") -> None:
    p.fillRect(box, QColor("#f3f3f3"))
    _text(p, box, text, 13, color=MUTED, align=Qt.AlignmentFlag.AlignCenter)


def _draw_rgb(p: QPainter, rgb, box: QRectF, *, blocky: bool = False, frame: bool = True) -> QRectF | None:
    """Draw an (H, W, 3) uint8 array into ``box`` with its aspect kept; returns where it went."""
    rgb = None if rgb is None else np.asarray(rgb)
    if rgb is None or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        _placeholder(p, box)
        return None
    target = _fit(rgb.shape[1], rgb.shape[0], box)
    p.drawImage(target, _for_target(rgb_to_qimage(rgb), target, blocky=blocky))
    if frame:
        p.setPen(QPen(FRAME, 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(target)
    return target


def _bilinear(a: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Resize a 2-D float array with bilinear interpolation (pixel centres, edges clamped)."""
    a = np.asarray(a, dtype=np.float32)
    h, w = a.shape

    def axis(n_in, n_out):
        pos = (np.arange(n_out, dtype=np.float32) + 0.5) * (n_in / n_out) - 0.5
        pos = np.clip(pos, 0, n_in - 1)
        i0 = np.floor(pos).astype(np.intp)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, (pos - i0).astype(np.float32)

    y0, y1, fy = axis(h, out_h)
    x0, x1, fx = axis(w, out_w)
    top = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    bottom = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    return top * (1 - fy)[:, None] + bottom * fy[:, None]


def overlay_image(photo: np.ndarray, fmap: np.ndarray, rect, levels, colormap: str, alpha: float) -> np.ndarray:
    """The photo with ``fmap`` upsampled bilinearly into ``rect`` (photo px), colourised and
    blended at ``alpha``; pixels outside the rect are the photo unchanged."""
    out = np.array(photo, dtype=np.uint8, copy=True)
    fmap = np.asarray(fmap, dtype=np.float32)
    if fmap.ndim != 2 or fmap.size == 0:
        return out
    x, y, w, h = (float(v) for v in rect)
    if w <= 0 or h <= 0:
        return out
    x0, y0, x1, y1 = round(x), round(y), round(x + w), round(y + h)
    up = _bilinear(fmap, max(1, y1 - y0), max(1, x1 - x0))
    colour = colorize(up, levels[0], levels[1], colormap).astype(np.float32)
    # Clip the crop to the photo (a crop may stick out of it after letterboxing).
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x1, out.shape[1]), min(y1, out.shape[0])
    if cx1 <= cx0 or cy1 <= cy0:
        return out
    a = float(np.clip(alpha, 0.0, 1.0))
    region = out[cy0:cy1, cx0:cx1].astype(np.float32)
    colour = colour[cy0 - y0: cy1 - y0, cx0 - x0: cx1 - x0]
    out[cy0:cy1, cx0:cx1] = np.clip(region * (1 - a) + colour * a + 0.5, 0, 255).astype(np.uint8)
    return out


def _shrink_photo(photo, box: QRectF) -> tuple[np.ndarray | None, float]:
    """The photo reduced once to about PNG_SCALE x ``box`` (the largest place it is drawn),
    and the factor used; (None, 1) if it is not an (H, W, 3) picture."""
    photo = None if photo is None else np.asarray(photo)
    if photo is None or photo.ndim != 3 or photo.shape[2] != 3 or photo.size == 0:
        return None, 1.0
    photo = photo.astype(np.uint8, copy=False)
    h, w = photo.shape[:2]
    target = _fit(w, h, box)
    want_w = round(target.width() * PNG_SCALE)
    if w <= want_w * 1.25:
        return photo, 1.0
    from widgets.qimage import qimage_to_rgb

    small = qimage_to_rgb(rgb_to_qimage(photo).scaledToWidth(want_w, Qt.TransformationMode.SmoothTransformation))
    return small, small.shape[1] / w


def _draw_crop_outline(p: QPainter, rect, photo_shape, target: QRectF) -> None:
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


def _draw_arrow(p: QPainter, x0: float, x1: float, y: float, label: str) -> None:
    p.setPen(QPen(MUTED, 2))
    p.drawLine(QPointF(x0, y), QPointF(x1 - 8, y))
    head = QPainterPath(QPointF(x1, y))
    head.lineTo(x1 - 11, y - 6)
    head.lineTo(x1 - 11, y + 6)
    head.closeSubpath()
    p.fillPath(head, MUTED)
    _text(p, QRectF(x0 - 6, y - 26, x1 - x0 + 12, 20), label, 13, color=MUTED, align=Qt.AlignmentFlag.AlignCenter)


def _fmt(v: float) -> str:
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


def _draw_colorbar(p: QPainter, box: QRectF, lo: float, hi: float, name: str, label_x: float) -> None:
    """ONE vertical colour bar (high at the top) with the numeric levels at its ends."""
    column = np.ascontiguousarray(lut(name)[::-1][:, None, :].repeat(4, axis=1))
    p.drawImage(box, rgb_to_qimage(column))
    p.setPen(QPen(FRAME, 1))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(box)
    _text(p, QRectF(label_x, box.top() - 2, 80, 18), _fmt(hi), 13, align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    _text(p, QRectF(label_x, box.bottom() - 16, 80, 18), _fmt(lo), 13,
          align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
    _text(p, QRectF(label_x, box.center().y() - 9, 80, 18), "activation", 11, color=MUTED)


def _heading(p: QPainter, rect: QRectF, number: int, text: str, note: str = "") -> None:
    """A numbered section heading, with an optional grey note after it."""
    badge = QRectF(rect.left(), rect.top() + 1, 24, 24)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(INK)
    p.drawEllipse(badge)
    _text(p, badge, str(number), 14, color=QColor("white"), bold=True, align=Qt.AlignmentFlag.AlignCenter)
    used = _text(p, QRectF(rect.left() + 34, rect.top(), rect.width() - 34, rect.height()), text, 19, bold=True)
    if note:
        x = rect.left() + 34 + used + 14
        _text(p, QRectF(x, rect.top() + 2, rect.right() - x, rect.height()), note, 14, color=MUTED)


# ----------------------------------------------------------------------------- the figure


def _paint_row1(p: QPainter, d: FigureData, L: _Layout, photo, f: float) -> None:
    _heading(p, L.head1, 1, "One convolution, by hand", d.demo_caption)
    names = ["Input photo", "Convolution output (RGB)", "output channel 0 (red)",
             "output channel 1 (green)", "output channel 2 (blue)"]
    for rect, name in zip(L.row1_titles, names):
        _text(p, rect, name, 15, color=INK, align=Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom)

    target = _draw_rgb(p, photo, L.row1_boxes[0])
    if target is not None:
        _draw_crop_outline(p, [float(v) * f for v in d.overlay_rect], photo.shape, target)
        _text(p, L.photo_caption, "dashed: the network's input crop", 12, color=MUTED,
              align=Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, min_px=10)
    _draw_arrow(p, *L.arrow, "conv")
    _draw_rgb(p, d.demo_output, L.row1_boxes[1])

    chans = np.asarray(d.demo_channels, dtype=np.float32)
    if chans.ndim == 3 and chans.shape[0] >= 3 and chans.size:
        finite = chans[np.isfinite(chans)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        for i in range(3):
            _draw_rgb(p, colorize(chans[i], lo, hi, d.colormap), L.row1_boxes[2 + i])
        note = f"each channel coloured with {d.colormap}, shared range {_fmt(lo)} … {_fmt(hi)}"
        caption = QRectF(L.row1_boxes[2].left(), L.demo_caption.top(), L.row1_boxes[4].right() - L.row1_boxes[2].left(), 20)
        _text(p, caption, note, 12, color=MUTED, align=Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, min_px=10)
    else:
        for i in range(3):
            _placeholder(p, L.row1_boxes[2 + i])


def _paint_row2(p: QPainter, d: FigureData, L: _Layout, photo, f: float) -> None:
    n = len(d.top_channels)
    _heading(p, L.head2, 2, f"Layer {d.layer_name}", f"its {n} most active channels, highest mean first")
    lo, hi = float(d.levels[0]), float(d.levels[1])
    _text(p, L.grid_title, "feature maps (one shared colour scale)", 15,
          align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
    if n == 0:
        _placeholder(p, L.grid, "no channels")
    labels = [f"#{idx}  mean={_fmt(mean)}" for idx, _, mean in d.top_channels]
    label_px = _fitting_px(labels, L.tile - 2, 12, 9)  # one size for all, so they line up
    for i, (idx, fmap, mean) in enumerate(d.top_channels):
        box = L.tile_box(i)
        fmap = np.asarray(fmap, dtype=np.float32)
        rgb = colorize(fmap, lo, hi, d.colormap) if fmap.ndim == 2 and fmap.size else None
        placed = _draw_rgb(p, rgb, box, blocky=True) or box
        _text(p, QRectF(box.left(), placed.bottom() + 2, L.tile, L.label_h - 2), labels[i], label_px,
              align=Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
    if n:
        _draw_colorbar(p, L.cbar, lo, hi, d.colormap, L.cbar_label_x)

    _text(p, L.over_title, d.overlay_label, 15, align=L.over_text_align | Qt.AlignmentFlag.AlignBottom)
    if photo is not None:
        rect = tuple(float(v) * f for v in d.overlay_rect)
        blended = overlay_image(photo, d.overlay_fmap, rect, d.levels, d.overlay_colormap or d.colormap, d.alpha)
        p.drawImage(L.over_img, rgb_to_qimage(blended))
        p.setPen(QPen(FRAME, 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(L.over_img)
        _text(p, L.over_caption, f"bilinear upsampling into the input crop, opacity {d.alpha:.0%}", 12, color=MUTED,
              align=L.over_text_align | Qt.AlignmentFlag.AlignTop, min_px=10)
    else:
        _placeholder(p, L.over_img)


def _paint_row3(p: QPainter, d: FigureData, L: _Layout) -> None:
    k = len(d.predictions)
    _heading(p, L.head3, 3, "What the network predicts", f"top-{k} ImageNet classes" if k else "")
    if L.warning is not None:
        p.setPen(QPen(WARN_EDGE, 1))
        p.setBrush(WARN_FILL)
        p.drawRoundedRect(L.warning, 5, 5)
        used = _text(p, L.warning.adjusted(14, 0, -14, 0), "untrained model — predictions are meaningless", 16,
                     color=WARN_TEXT, bold=True)
        _text(p, L.warning.adjusted(14 + used + 18, 0, -14, 0), "(random weights: the bars below are noise)", 13,
              color=WARN_TEXT)

    hy = L.pred_header_y
    left_top = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    _text(p, QRectF(L.pred_label_x, hy, L.pred_label_w, 18), "class", 12, color=MUTED, align=right)
    _text(p, QRectF(L.pred_bar_x, hy, L.pred_bar_w, 18), "probability", 12, color=MUTED, align=left_top)
    _text(p, QRectF(L.pred_logit_x, hy, 80, 18), "logit", 12, color=MUTED, align=right)
    if not k:
        _text(p, QRectF(L.pred_bar_x, L.pred_rows_y, L.pred_bar_w, L.row_h), "no predictions", 14, color=MUTED)
    for i, pred in enumerate(d.predictions):
        y = L.pred_rows_y + i * L.row_h
        prob = float(np.clip(float(pred.get("prob", 0.0)), 0.0, 1.0))
        label = str(pred.get("label", pred.get("index", "?")))
        _text(p, QRectF(L.pred_label_x, y, L.pred_label_w, L.row_h - 6), label, 15, bold=(i == 0), align=right,
              min_px=12)
        track = QRectF(L.pred_bar_x, y + 3, L.pred_bar_w, L.row_h - 12)
        p.fillRect(track, BAR_TRACK)
        colour = BAR_UNTRAINED if not d.pretrained else (BAR_TOP if i == 0 else BAR)
        p.fillRect(QRectF(track.left(), track.top(), max(prob * track.width(), 1.0), track.height()), colour)
        _text(p, QRectF(track.right() + 8, y, L.pred_pct_w, L.row_h - 6), f"{prob * 100:.1f} %", 14,
              bold=(i == 0), align=left_top)
        logit = pred.get("logit")
        logit_text = f"{float(logit):.2f}".replace("-", "\u2212") if logit is not None else "–"
        _text(p, QRectF(L.pred_logit_x, y, 80, L.row_h - 6), logit_text, 13, color=MUTED, align=right)

    if d.cat_vs_dog:
        box, bar = L.catdog, L.catdog_bar
        cat = float(d.cat_vs_dog.get("cat", 0.0))
        dog = float(d.cat_vs_dog.get("dog", 0.0))
        _text(p, QRectF(box.left(), box.top(), box.width(), 18), "cat vs dog", 12, color=MUTED)
        _text(p, QRectF(box.left(), box.top() + 22, box.width(), 24),
              f"cat {cat * 100:.1f} %   ·   dog {dog * 100:.1f} %", 17, bold=True)
        shares = cat_dog_shares(cat, dog)
        x = bar.left()
        for share, colour in zip(shares, (CAT_COLOR, OTHER_COLOR, DOG_COLOR)):
            p.fillRect(QRectF(x, bar.top(), share * bar.width(), bar.height()), colour)
            x += share * bar.width()
        under = bar.bottom() + 4
        _text(p, QRectF(bar.left(), under, bar.width() / 3, 18), "cat", 12, color=CAT_COLOR, bold=True)
        _text(p, QRectF(bar.left() + bar.width() / 3, under, bar.width() / 3, 18), f"other {shares[1] * 100:.1f} %",
              12, color=MUTED, align=Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter)
        _text(p, QRectF(bar.right() - bar.width() / 3, under, bar.width() / 3, 18), "dog", 12, color=DOG_COLOR,
              bold=True, align=right)


def cat_dog_shares(cat: float, dog: float) -> tuple[float, float, float]:
    """(cat, other, dog) widths of the cat-vs-dog bar as fractions of it: the same
    probabilities as its text, cat from the left, dog from the right, the rest between.

    Not a cat:dog ratio: cat 0 % / dog 7 % must not look like a sure dog."""
    cat, dog = (min(max(v, 0.0), 1.0) if math.isfinite(v) else 0.0 for v in (float(cat), float(dog)))
    if cat + dog > 1.0:  # rounding in the sums: never draw past the bar
        cat, dog = cat / (cat + dog), dog / (cat + dog)
    return cat, max(0.0, 1.0 - cat - dog), dog


def paint_figure(painter: QPainter, data: FigureData, size: QSize) -> None:
    """Draw the whole figure into a ``size`` area of ``painter`` (scaled uniformly and centred
    if ``size`` is not :func:`figure_size`). Needs a QGuiApplication (fonts)."""
    if QGuiApplication.instance() is None:
        raise RuntimeError("painting the figure needs a QGuiApplication (create one first)")
    L = _Layout(data)
    p = painter
    p.save()
    try:
        p.fillRect(QRectF(0, 0, size.width(), size.height()), QColor("white"))
        s = min(size.width() / L.size.width(), size.height() / L.size.height())
        p.translate((size.width() - L.size.width() * s) / 2, (size.height() - L.size.height() * s) / 2)
        p.scale(s, s)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)

        _text(p, L.title, data.title, 26, bold=True, min_px=18)
        p.setPen(QPen(RULE, 1))
        p.drawLine(QPointF(MARGIN, L.rule_y), QPointF(WIDTH - MARGIN, L.rule_y))
        photo, f = _shrink_photo(data.photo, L.over_img)
        _paint_row1(p, data, L, photo, f)
        _paint_row2(p, data, L, photo, f)
        _paint_row3(p, data, L)
        weights = "ImageNet-pretrained weights" if data.pretrained else "random (untrained) weights"
        _text(p, L.footer, f"ConvScope  ·  VGG16, {weights}  ·  colour map {data.colormap}", 11, color=MUTED,
              align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    finally:
        p.restore()


# ----------------------------------------------------------------------------- writers


def _painted(device, data: FigureData, size: QSize, scale: float = 1.0) -> None:
    painter = QPainter()
    if not painter.begin(device):
        raise OSError("could not start drawing the figure (Qt refused the output device)")
    try:
        if scale != 1.0:
            painter.scale(scale, scale)
        paint_figure(painter, data, size)
    finally:
        painter.end()


def _render_png(data: FigureData, size: QSize) -> bytes:
    image = QImage(size.width() * PNG_SCALE, size.height() * PNG_SCALE, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    dpm = round(LOGICAL_DPI * PNG_SCALE / 0.0254)
    image.setDotsPerMeterX(dpm)
    image.setDotsPerMeterY(dpm)
    image.setText("Title", data.title)
    image.setText("Software", "ConvScope")
    _painted(image, data, size, PNG_SCALE)
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buf, b"png")
    writer.setQuality(PNG_QUALITY)
    if not writer.write(image):
        raise OSError(f"could not encode the PNG: {writer.errorString()}")
    return bytes(buf.data())


def _render_svg(data: FigureData, size: QSize) -> bytes:
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setSize(size)
    gen.setViewBox(QRect(0, 0, size.width(), size.height()))
    gen.setResolution(LOGICAL_DPI)
    gen.setTitle(data.title)
    gen.setDescription("Exported by ConvScope")
    _painted(gen, data, size)
    return bytes(buf.data())


def _render_pdf(data: FigureData, size: QSize) -> bytes:
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setResolution(LOGICAL_DPI)
    points = QSizeF(size.width() * 72 / LOGICAL_DPI, size.height() * 72 / LOGICAL_DPI)
    page = QPageSize(points, QPageSize.Unit.Point, "ConvScope figure", QPageSize.SizeMatchPolicy.ExactMatch)
    writer.setPageLayout(QPageLayout(page, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0),
                                     QPageLayout.Unit.Point))
    writer.setTitle(data.title)
    writer.setCreator("ConvScope")
    _painted(writer, data, QSize(writer.width(), writer.height()))
    del writer  # flushes the trailer into the buffer
    return bytes(buf.data())


_RENDERERS = {".png": _render_png, ".svg": _render_svg, ".pdf": _render_pdf}


def render_figure(data: FigureData, fmt: str) -> bytes:
    """The figure encoded as ``fmt`` (".png", ".svg" or ".pdf") in memory."""
    fmt = fmt.lower() if fmt.startswith(".") else "." + fmt.lower()
    if fmt not in _RENDERERS:
        raise ValueError(f"cannot export a figure as '{fmt}': use one of {', '.join(FORMATS)}")
    return _RENDERERS[fmt](data, figure_size(data))


def write_figure(data: FigureData, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Render ``data`` and write it to ``path``; the format follows the suffix (.png/.svg/.pdf).

    The figure is rendered in memory and then written all-or-nothing, so a failure never
    leaves a partial file (and never damages an existing one). Raises ValueError for an
    unknown suffix and OSError (one-line message) when the destination is not writable.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        shown = path.suffix or "(none)"
        raise ValueError(f"cannot export a figure as {path.name!r}: unknown format {shown}, use .png, .svg or .pdf")
    check_target(path, overwrite=overwrite)  # fail fast, before rendering
    payload = render_figure(data, suffix)
    return write_bytes_atomic(path, payload, overwrite=overwrite)
