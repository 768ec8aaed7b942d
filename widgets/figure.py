"""The composed export figure: one QPainter renderer for the GUI and the headless CLI.

"File → Export figure…" and ``convscope export`` both call :func:`write_figure`, so a
figure looks the same whichever way it was made. Only QtGui/QtSvg and numpy are used,
so a QGuiApplication (offscreen) is enough — no widgets, no torch.

Layout (logical px, white background, like a textbook figure): a title; row 1 the
photo (input crop outlined) → the demo convolution's RGB output and its three
channels; row 2 the chosen layer's most active channels as small multiples with one
colour bar, next to the best channel overlaid on the photo; row 3 the predictions; row 4 why the top class
(its Grad-CAM on the photo and the channels that contribute most, :mod:`widgets.figure_cam`); and,
while an A/B comparison is on, row 5: A, B and B − A of the channel with what changed most
(:mod:`widgets.figure_compare`).
Colours follow :mod:`widgets.figure_scale`: signed maps diverging and centred on 0,
maps ≥ 0 sequential from 0.
Where things go is :mod:`widgets.figure_layout`; the encoders are
:mod:`widgets.figure_encode`; this module paints.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPen

from widgets.atomic_write import check_target, write_bytes_atomic
from widgets.colormaps import colorize
from widgets.figure_cam import paint_cam_row
from widgets.figure_compare import paint_compare_row
from widgets.figure_draw import (BAR, BAR_TOP, BAR_TRACK, BAR_UNTRAINED, CAT_COLOR, DOG_COLOR, FRAME, INK,  # noqa: F401
                                 MUTED, OTHER_COLOR, RULE, WARN_EDGE, WARN_FILL, WARN_TEXT)
from widgets.figure_draw import draw_arrow as _draw_arrow
from widgets.figure_draw import draw_colorbar as _draw_colorbar
from widgets.figure_draw import draw_crop_outline as _draw_crop_outline
from widgets.figure_draw import draw_rgb as _draw_rgb
from widgets.figure_draw import draw_text as _text
from widgets.figure_draw import fitting_px as _fitting_px
from widgets.figure_draw import fmt as _fmt
from widgets.figure_draw import heading as _heading
from widgets.figure_draw import placeholder as _placeholder
from widgets.figure_encode import ENCODERS, PNG_SCALE
from widgets.figure_images import cam_overlay_image, overlay_image, shrink_photo
from widgets.figure_layout import (MARGIN, WIDTH, CamPanel, ComparePanel, FigureData, Layout, cat_dog_shares, figure_size,
                                   panel_rects)
from widgets.figure_scale import map_scale, rule_words, scale_words
from widgets.prediction_text import classes_note, format_logit
from widgets.qimage import rgb_to_qimage

__all__ = ["FORMATS", "CamPanel", "ComparePanel", "FigureData", "PNG_SCALE", "cam_overlay_image", "cat_dog_shares", "figure_size",
           "overlay_image", "paint_figure", "panel_rects", "render_figure", "write_figure"]

FORMATS = (".png", ".svg", ".pdf")


# ----------------------------------------------------------------------------- the figure


def _paint_row1(p: QPainter, d: FigureData, L: Layout, photo, f: float) -> None:
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
        scale = map_scale(d.colormap, lo, hi)
        for i in range(3):
            _draw_rgb(p, colorize(chans[i], scale.lo, scale.hi, scale.colormap), L.row1_boxes[2 + i])
        note = (f"each channel coloured with {scale_words(scale)}, one scale shared by the 3: "
                f"{_fmt(scale.lo)} … {_fmt(scale.hi)}")
        caption = QRectF(L.row1_boxes[2].left(), L.demo_caption.top(), L.row1_boxes[4].right() - L.row1_boxes[2].left(), 20)
        _text(p, caption, note, 12, color=MUTED, align=Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, min_px=10)
    else:
        for i in range(3):
            _placeholder(p, L.row1_boxes[2 + i])


def _paint_row2(p: QPainter, d: FigureData, L: Layout, photo, f: float) -> None:
    n = len(d.top_channels)
    _heading(p, L.head2, 2, f"Layer {d.layer_name}", f"its {n} most active channels, highest mean first")
    scale = map_scale(d.colormap, float(d.levels[0]), float(d.levels[1]))
    lo, hi = scale.lo, scale.hi
    _text(p, L.grid_title, "feature maps (one shared colour scale)", 15,
          align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom)
    if n == 0:
        _placeholder(p, L.grid, "no channels")
    labels = [f"#{idx}  mean={_fmt(mean)}" for idx, _, mean in d.top_channels]
    label_px = _fitting_px(labels, L.tile - 2, 12, 9)  # one size for all, so they line up
    for i, (idx, fmap, mean) in enumerate(d.top_channels):
        box = L.tile_box(i)
        fmap = np.asarray(fmap, dtype=np.float32)
        rgb = colorize(fmap, lo, hi, scale.colormap) if fmap.ndim == 2 and fmap.size else None
        placed = _draw_rgb(p, rgb, box, blocky=True) or box
        _text(p, QRectF(box.left(), placed.bottom() + 2, L.tile, L.label_h - 2), labels[i], label_px,
              align=Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
    if n:
        _draw_colorbar(p, L.cbar, lo, hi, scale.colormap, L.cbar_label_x,
                       f"activation, one scale shared by the {n} maps and the overlay")

    _text(p, L.over_title, d.overlay_label, 15, align=L.over_text_align | Qt.AlignmentFlag.AlignBottom)
    if photo is not None:
        rect = tuple(float(v) * f for v in d.overlay_rect)
        over = map_scale(d.overlay_colormap or d.colormap, float(d.levels[0]), float(d.levels[1]))
        blended = overlay_image(photo, d.overlay_fmap, rect, (over.lo, over.hi), over.colormap, d.alpha, d.blend)
        p.drawImage(L.over_img, rgb_to_qimage(blended))
        p.setPen(QPen(FRAME, 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(L.over_img)
        _text(p, L.over_caption, f"bilinear upsampling into the input crop, opacity {d.alpha:.0%}"
                   + (" × the value" if d.blend == "value" else ""), 12, color=MUTED,
              align=L.over_text_align | Qt.AlignmentFlag.AlignTop, min_px=10)
    else:
        _placeholder(p, L.over_img)


def _paint_row3(p: QPainter, d: FigureData, L: Layout) -> None:
    k = len(d.predictions)
    _heading(p, L.head3, 3, "What the network predicts", (d.classes_note or classes_note(k, None)) if k else "")
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
        _text(p, QRectF(L.pred_logit_x, y, 80, L.row_h - 6), format_logit(logit), 13, color=MUTED, align=right)

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


def paint_figure(painter: QPainter, data: FigureData, size: QSize) -> None:
    """Draw the whole figure into a ``size`` area of ``painter`` (scaled uniformly and centred
    if ``size`` is not :func:`figure_size`). Needs a QGuiApplication (fonts)."""
    if QGuiApplication.instance() is None:
        raise RuntimeError("painting the figure needs a QGuiApplication (create one first)")
    L = Layout(data)
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
        photo, f = shrink_photo(data.photo, L.over_img)
        _paint_row1(p, data, L, photo, f)
        _paint_row2(p, data, L, photo, f)
        _paint_row3(p, data, L)
        paint_cam_row(p, data, L, photo, f)
        paint_compare_row(p, data, L)
        weights = f", {data.weights_text}" if data.weights_text else ""  # never a guess: only what the app said
        model = f"  ·  {data.model_name}" if data.model_name else ""
        _text(p, L.footer, f"ConvScope{model}{weights}  ·  {rule_words(data.colormap)}", 11, color=MUTED,
              align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    finally:
        p.restore()



# ----------------------------------------------------------------------------- writers


def render_figure(data: FigureData, fmt: str) -> bytes:
    """The figure encoded as ``fmt`` (".png", ".svg" or ".pdf") in memory."""
    fmt = fmt.lower() if fmt.startswith(".") else "." + fmt.lower()
    if fmt not in ENCODERS:
        raise ValueError(f"cannot export a figure as '{fmt}': use one of {', '.join(FORMATS)}")
    return ENCODERS[fmt](lambda painter, size: paint_figure(painter, data, size), figure_size(data), data.title)


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
