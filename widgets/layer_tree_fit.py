"""How wide each column of the layer tree must be to show its texts whole, at each degree of compactness.

The tree (widgets/layer_tree.py) tries these fits from the fullest to the most
compact and keeps the first whose columns add up to its width; the delegates
(widgets/layer_tree_cells.py) then draw the cells that way.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QStyle, QTreeWidget, QTreeWidgetItem

from widgets.layer_tree_cells import (ALIAS_ROLE, COL_LAYER, COL_OUTPUT, COL_PARAMS, COL_TYPE, NOT_RUN_SHORT,
                                      NOT_RUN_TEXT, SHAPE_ROLE, SUFFIX_ROLE, compact_shape, short_type)

HEADERS = ["Layer", "Type", "Output", "Params"]
PENDING_TEXT = "pending…"
INDENT = 14  # px per tree level (Qt's 20 spends a third of a narrow dock on indentation)
NARROW_INDENT = 9  # the last resort of a deep tree (ResNet's layer2.0.downsample.0) in a narrow dock
WIDE_SHAPE = (128, 112, 112)  # room kept in Output for shapes not computed yet (VGG's widest)


def compact_count(n: int) -> str:
    """1792 → '1.8 k', 102764544 → '103 M': 3 significant digits keep the column narrow;
    the tooltip has the exact count."""
    if n < 1000:
        return str(n)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            v = n / scale
            return f"{v:.0f} {unit}" if v >= 99.95 else f"{v:.1f} {unit}"
    return str(n)


def format_shape(shape: tuple[int, ...]) -> str:
    """``(64, 224, 224)`` → ``"64×224×224"``."""
    return "×".join(str(int(n)) for n in shape)


@dataclass(frozen=True)
class Fit:
    """How compact the tree is drawn at its current width (the first that fits wins)."""

    short_types: bool = False
    hide_type: bool = False
    compact_names: bool = False
    compact_shapes: bool = False
    indent: int = INDENT


FITS = (Fit(), Fit(short_types=True), Fit(True, True), Fit(True, True, True), Fit(True, True, True, True),
        Fit(True, True, True, True, NARROW_INDENT))


def items_with_depth(tree: QTreeWidget) -> list[tuple[QTreeWidgetItem, int]]:
    """Every item of ``tree`` with its depth (root 0)."""
    out, stack = [], [(tree.topLevelItem(i), 0) for i in range(tree.topLevelItemCount())]
    while stack:
        item, depth = stack.pop()
        out.append((item, depth))
        stack.extend((item.child(i), depth + 1) for i in range(item.childCount()))
    return out


def column_widths(tree: QTreeWidget, fit: Fit) -> list[int]:
    """Column widths that show every cell's text whole, drawn as ``fit`` says (0: hidden)."""
    fm = tree.fontMetrics()
    pad = 2 * (tree.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, tree) + 1) + 6
    header = tree.header()
    widths = [header.sectionSizeHint(c) for c in range(len(HEADERS))]
    decorated = 1 if tree.rootIsDecorated() else 0
    shapes = [WIDE_SHAPE]
    not_run = False
    for item, depth in items_with_depth(tree):
        font = item.font(COL_LAYER)
        name_fm = QFontMetrics(font) if font.bold() else fm
        if fit.compact_names:
            suffix = item.data(COL_LAYER, SUFFIX_ROLE) or ""
            text = item.data(COL_LAYER, ALIAS_ROLE) or item.text(COL_LAYER)[: len(item.text(COL_LAYER)) - len(suffix)]
        else:
            text = item.text(COL_LAYER)
        widths[COL_LAYER] = max(widths[COL_LAYER], (depth + decorated) * fit.indent
                                + name_fm.horizontalAdvance(text.rstrip()) + pad)
        ltype = item.text(COL_TYPE)
        if ltype:
            shown = short_type(ltype) if fit.short_types else ltype
            widths[COL_TYPE] = max(widths[COL_TYPE], fm.horizontalAdvance(shown) + pad)
        shape = item.data(COL_OUTPUT, SHAPE_ROLE)
        if shape:
            shapes.append(tuple(shape))
        not_run = not_run or item.text(COL_OUTPUT) == NOT_RUN_TEXT
        widths[COL_PARAMS] = max(widths[COL_PARAMS], fm.horizontalAdvance(item.text(COL_PARAMS)) + pad)
    italic = QFont(tree.font())
    italic.setItalic(True)
    widths[COL_OUTPUT] = max(widths[COL_OUTPUT], QFontMetrics(italic).horizontalAdvance(PENDING_TEXT) + pad,
                             *(fm.horizontalAdvance(compact_shape(s) if fit.compact_shapes else format_shape(s))
                               + pad for s in shapes))
    if not_run:
        widths[COL_OUTPUT] = max(widths[COL_OUTPUT],
                                 fm.horizontalAdvance(NOT_RUN_SHORT if fit.compact_shapes else NOT_RUN_TEXT) + pad)
    if fit.hide_type:
        widths[COL_TYPE] = 0
    return widths
