"""The figure's comparison row (while an A/B comparison is on): A, B and B − A of one channel.

Left, A's and B's maps on one scale (the figure's colour rule, :mod:`widgets.figure_scale`)
and B − A on the diverging map over the ±L the window used (the engine's rule), each with
its colour bar. Right, the channels whose mean changed most, each with a signed bar (red:
B higher, blue: B lower), then the predictions of A and B with their change in percentage
points. Everything painted is given (:class:`widgets.figure_layout.ComparePanel`).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPen

from widgets.colormaps import colorize
from widgets.figure_cam import NEGATIVE, POSITIVE, shared_format
from widgets.figure_draw import INK, MUTED, RULE, draw_hbar, draw_rgb, draw_text, fmt, heading, placeholder
from widgets.figure_layout import ComparePanel, FigureData, Layout
from widgets.figure_scale import SIGNED_MAP, map_scale, scale_words
from widgets.prediction_text import format_delta

LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def paint_compare_row(p: QPainter, d: FigureData, L: Layout, number: int = 5) -> None:
    c = d.compare
    if c is None:
        return
    heading(p, L.head5, number, "A/B comparison", c.title)
    _paint_maps(p, d, c, L)
    _paint_channels(p, c, L)
    _paint_predictions(p, c, L)


def _title(p: QPainter, box: QRectF, head: str, label: str) -> None:
    draw_text(p, QRectF(box.left(), box.top(), box.width(), 20), head, 15, bold=True)
    if label:
        draw_text(p, QRectF(box.left(), box.top() + 20, box.width(), 18), label, 12, color=MUTED, min_px=10)


def _paint_maps(p: QPainter, d: FigureData, c: ComparePanel, L: Layout) -> None:
    scale = map_scale(d.colormap, *c.levels)
    _title(p, L.cmp_titles[0], "A", c.label_a)
    _title(p, L.cmp_titles[1], "B", c.label_b)
    _title(p, L.cmp_titles[2], "B − A", f"{c.layer} · channel {c.channel}")
    for m, box in ((c.a, L.cmp_boxes[0]), (c.b, L.cmp_boxes[1])):
        if m is None:
            placeholder(p, box, "not in B")
        else:
            draw_rgb(p, colorize(np.asarray(m, np.float32), scale.lo, scale.hi, scale.colormap), box, blocky=True)
    draw_hbar(p, L.cmp_ab_bar, scale.lo, scale.hi, scale.colormap, "")
    draw_text(p, L.cmp_ab_words, f"A and B on one scale: {scale_words(scale)}", 12, color=MUTED, min_px=10)
    if c.diff is None or c.diff_level is None:
        placeholder(p, L.cmp_boxes[2], "no difference map")
        draw_text(p, L.cmp_diff_words, c.reason, 12, color=MUTED, min_px=9)
        return
    level = c.diff_level if c.diff_level > 0 else 1.0
    draw_rgb(p, colorize(np.asarray(c.diff, np.float32), -level, level, SIGNED_MAP), L.cmp_boxes[2], blocky=True)
    draw_hbar(p, L.cmp_diff_bar, -level, level, SIGNED_MAP, "")
    words = c.rule if c.diff_level > 0 else "no change in this channel"
    draw_text(p, L.cmp_diff_words, "red: B higher, blue: B lower", 12, color=MUTED, min_px=10)
    draw_text(p, L.cmp_diff_words.translated(0, 18), words, 12, color=MUTED, min_px=9)


def _signed_bar(p: QPainter, centre: float, half: float, mid: float, value: float, biggest: float) -> None:
    length = max(abs(value) / biggest * half, 1.0) if biggest > 0 else 1.0
    bar = QRectF(centre if value >= 0 else centre - length, mid - 7, length, 14)
    p.fillRect(bar, POSITIVE if value >= 0 else NEGATIVE)


def _paint_channels(p: QPainter, c: ComparePanel, L: Layout) -> None:
    rows = list(c.channels or [])
    x, w = L.cmp_list_x, L.cmp_list_w
    draw_text(p, L.cmp_channels_title, "The channels whose mean changed most", 15, bold=True,
              align=LEFT | Qt.AlignmentFlag.AlignBottom)
    hy = L.cmp_channels_header_y
    draw_text(p, QRectF(x, hy, 70, 18), "channel", 12, color=MUTED)
    draw_text(p, QRectF(x + 80, hy, 190, 18), "mean in A → in B", 12, color=MUTED)
    draw_text(p, QRectF(x + 280, hy, w - 280, 18), "B − A", 12, color=MUTED)
    if not rows:
        placeholder(p, QRectF(x, L.cmp_channels_y, w, L.cmp_row_h), "the channel counts differ")
        return
    show_d = shared_format([dv for *_, dv in rows])
    biggest = max(abs(float(dv)) for *_, dv in rows)
    bar_x, bar_w = x + 280, w - 280 - 90
    centre, half = bar_x + bar_w / 2, bar_w / 2
    for i, (channel, mean_a, mean_b, delta) in enumerate(rows):
        y = L.cmp_channels_y + i * L.cmp_row_h
        mid = y + L.cmp_row_h / 2
        draw_text(p, QRectF(x, y, 70, L.cmp_row_h), f"#{channel}", 14, bold=True)
        draw_text(p, QRectF(x + 80, y, 190, L.cmp_row_h), f"{fmt(mean_a)} → {fmt(mean_b)}", 13, color=MUTED,
                  min_px=10)
        p.setPen(QPen(RULE, 1))
        p.drawLine(QPointF(centre, y + 3), QPointF(centre, y + L.cmp_row_h - 3))
        _signed_bar(p, centre, half, mid, float(delta), biggest)
        draw_text(p, QRectF(bar_x + bar_w + 8, y, 82, L.cmp_row_h), show_d(delta), 13, bold=(i == 0))


def _paint_predictions(p: QPainter, c: ComparePanel, L: Layout) -> None:
    rows = list(c.predictions or [])
    x, w = L.cmp_list_x, L.cmp_list_w
    draw_text(p, L.cmp_pred_title, "Predictions, A → B", 15, bold=True, align=LEFT | Qt.AlignmentFlag.AlignBottom)
    hy = L.cmp_pred_header_y
    draw_text(p, QRectF(x, hy, 270, 18), "class", 12, color=MUTED)
    draw_text(p, QRectF(x + 280, hy, 160, 18), "A → B", 12, color=MUTED)
    draw_text(p, QRectF(x + 440, hy, w - 440, 18), "change (points)", 12, color=MUTED, align=RIGHT)
    if not rows:
        draw_text(p, QRectF(x, L.cmp_pred_y, w, L.cmp_row_h), c.note or "no predictions", 13, color=MUTED, min_px=10)
        return
    for i, (label, pa, pb) in enumerate(rows):
        y = L.cmp_pred_y + i * L.cmp_row_h
        box = QRectF(x, y, 270, L.cmp_row_h)
        draw_text(p, box, label, 14, bold=(i == 0), min_px=11)
        draw_text(p, QRectF(x + 280, y, 160, L.cmp_row_h), f"{pa * 100:.1f} % → {pb * 100:.1f} %", 13, min_px=10)
        text, sign = format_delta(pb - pa, 1, 100.0)
        colour = POSITIVE if sign > 0 else NEGATIVE if sign < 0 else INK
        draw_text(p, QRectF(x + 440, y, w - 440, L.cmp_row_h), text, 13, bold=True, color=colour, align=RIGHT)
