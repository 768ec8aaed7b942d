"""The demo kernel as numbers: one HTML table per output channel, tinted by sign.

The sign convention is the app's everywhere: red = positive, blue = negative,
no tint = zero (as in the diverging colormaps). The kernel editor tints its spin
boxes with the same colours, from here.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

from widgets.prediction_text import format_signed

CHANNELS = ("R", "G", "B")
POSITIVE = QColor(220, 38, 38)  # red: positive weights
NEGATIVE = QColor(37, 99, 235)  # blue: negative weights
GAP_PX = 9  # px between the 3×3 blocks
CELL_GAP = 5  # px left of each number, so "-0.16" never touches the number before it
NUMBER_CHARS = 5  # "-0.00": every preset's numbers fit, so switching presets keeps the table's width
KERNEL_CAPTION = (f"<b>Kernel</b> weight[out, in, 3, 3] + bias "
                  f"(<span style='color:{POSITIVE.name()}'>red</span> positive, "
                  f"<span style='color:{NEGATIVE.name()}'>blue</span> negative)")


def format_weight(value: float) -> str:
    """One kernel number as shown in the panel: 2 decimals (the editor and tooltip have more),
    an ASCII minus (the table is monospaced) and never "-0.00"."""
    return format_signed(value, 2, minus="-")


def muted_colour(widget: QWidget) -> QColor:
    """Window text halfway to the window background: for notes and zero weights."""
    pal = widget.palette()
    a, b = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
    return QColor(*[round((x + y) / 2) for x, y in zip(a.getRgb()[:3], b.getRgb()[:3])])


def tint(value: float, scale: float, base: QColor) -> QColor:
    """Background for a weight: red for positive, blue for negative, stronger when larger; ``base`` for 0."""
    if scale <= 0 or value == 0 or not np.isfinite(value):
        return QColor(base)
    t = min(abs(float(value)) / scale, 1.0) * 0.55
    c = POSITIVE if value > 0 else NEGATIVE
    return QColor(*[round(b + (a - b) * t) for a, b in zip(c.getRgb()[:3], base.getRgb()[:3])])


def number_chars(weight: np.ndarray, bias: np.ndarray) -> int:
    """Characters per number: NUMBER_CHARS, or more for a custom kernel with big numbers."""
    return max(NUMBER_CHARS, *(len(format_weight(v)) for v in (*np.ravel(weight), *np.ravel(bias))))


def kernel_block_html(weight: np.ndarray, bias: float, out: int, scale: float, base: QColor,
                      muted: QColor, header: bool = False, chars: int = NUMBER_CHARS) -> str:
    """HTML for output channel ``out`` on one line: its 3×3 matrices for in R, G, B, then its bias.

    ``header`` adds a first row naming the columns (for the first block only); every
    number is padded to ``chars`` characters and each cell has a left padding, so
    numbers never run together ("0.00 0.00", not "0.000.00") and the blocks' columns line up.
    """
    gap = f"<td width='{GAP_PX}'></td>"

    def number(v: float) -> str:
        text = format_weight(v)
        text = "&nbsp;" * max(chars - len(text), 0) + text
        return text if v != 0 else f"<span style='color:{muted.name()}'>{text}</span>"

    def cell(v: float, extra: str = "") -> str:
        return (f"<td align='right'{extra} style='padding-left:{CELL_GAP}px' "
                f"bgcolor='{tint(v, scale, base).name()}'>{number(v)}</td>")

    rows = []
    if header:
        cells = ["<td></td>", gap]
        for i in range(3):
            cells.append(f"<td colspan='3' align='center'>in {CHANNELS[i]}</td>")
            cells.append(gap)
        cells.append("<td align='center'>bias</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    for r in range(3):
        cells = []
        if r == 0:
            cells += [f"<td rowspan='3' valign='middle' align='center'><b>out {out}</b><br>({CHANNELS[out]})</td>",
                      f"<td rowspan='3' width='{GAP_PX}'></td>"]
        for i in range(3):
            for c in range(3):
                cells.append(cell(float(weight[i, r, c])))
            cells.append(gap)
        if r == 0:
            cells.append(cell(float(bias), " rowspan='3' valign='middle'"))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table cellspacing='1' cellpadding='0'>{''.join(rows)}</table>"


def kernel_block_tooltip(weight: np.ndarray, bias: float, out: int) -> str:
    """The exact numbers of output channel ``out`` (4 decimals), for the hover tooltip."""
    lines = [f"out {out} ({CHANNELS[out]}): weight[{out}, in, row, col], bias = {format_signed(bias, 4, minus='-')}"]
    for r in range(3):
        lines.append("   ".join(" ".join(f"{format_signed(weight[i, r, c], 4, minus='-'):>8}" for c in range(3))
                               for i in range(3)))
    return "<pre>" + "\n".join(lines) + "</pre>"
