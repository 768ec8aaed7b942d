"""How the layer tree's cells are drawn, in full or compact form, so all four columns fit a narrow dock.

The tree (widgets/layer_tree.py) decides, from its width, which parts are compact;
these delegates only draw: "features.0  conv1_1" or just "conv1_1", "AdaptiveAvgPool2d"
or "AdaptAvgPool", "64×224×224" or "64×224²". The full text is always in the tooltip.
"""
from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

COL_LAYER, COL_TYPE, COL_OUTPUT, COL_PARAMS = range(4)

NAME_ROLE = Qt.ItemDataRole.UserRole + 1  # the layer selecting the row shows; None on rows that select nothing
SUFFIX_ROLE = Qt.ItemDataRole.UserRole + 2  # trailing part of column 0 painted muted (alias or count)
ALIAS_ROLE = Qt.ItemDataRole.UserRole + 3  # alias (or short call label): all column 0 shows when compact
SHAPE_ROLE = Qt.ItemDataRole.UserRole + 4  # the output shape (tuple) once computed
PATH_ROLE = Qt.ItemDataRole.UserRole + 5  # the row's module path (a container) or layer name (a leaf)

NOT_RUN_TEXT = "not run (eval)"  # the Output of a module eval mode never runs (an auxiliary head)
NOT_RUN_SHORT = "not run"  # the same while shapes are compact

# Type tints, so conv / linear / pooling layers stand apart at a glance.
TYPE_COLOURS = {
    "Conv2d": QColor(37, 99, 195),
    "Linear": QColor(128, 60, 170),
    "MaxPool2d": QColor(0, 128, 118),
    "AvgPool2d": QColor(0, 128, 118),
    "AdaptiveAvgPool2d": QColor(0, 128, 118),
}
_SHORT_TYPES = {"AdaptiveAvgPool2d": "AdaptAvgPool", "AdaptiveMaxPool2d": "AdaptMaxPool", "BatchNorm2d": "BatchNorm"}


def short_type(name: str) -> str:
    """A compact type name: "Conv2d" → "Conv", "MaxPool2d" → "MaxPool", "AdaptiveAvgPool2d" → "AdaptAvgPool"."""
    if name in _SHORT_TYPES:
        return _SHORT_TYPES[name]
    return re.sub(r"(?<=[a-z])[123]d$", "", name.replace("Adaptive", "Adapt"))


def compact_shape(shape) -> str:
    """(64, 224, 224) → "64×224²": square maps written once (the tooltip has the full shape)."""
    shape = tuple(int(n) for n in shape)
    if len(shape) == 3 and shape[1] == shape[2]:
        return f"{shape[0]}×{shape[1]}²"
    return "×".join(map(str, shape))


def blend(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` towards ``b``."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


def muted_colour(palette: QPalette, selected: bool = False) -> QColor:
    """A text colour halfway to the background: for aliases, counts and pending cells."""
    if selected:
        return blend(palette.color(QPalette.ColorRole.HighlightedText), palette.color(QPalette.ColorRole.Highlight), 0.35)
    return blend(palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base), 0.5)


class CompactTextDelegate(QStyledItemDelegate):
    """The Type or Output cell, shown short while the tree says that column is compact."""

    def __init__(self, tree, column: int):
        super().__init__(tree)
        self._tree, self._column = tree, column

    def initStyleOption(self, option, index):
        super().initStyleOption(option, index)
        if self._column == COL_TYPE and self._tree.short_types() and option.text:
            option.text = short_type(option.text)
        elif self._column == COL_OUTPUT and self._tree.compact_shapes():
            shape = index.data(SHAPE_ROLE)
            if shape:
                option.text = compact_shape(shape)
            elif option.text == NOT_RUN_TEXT:
                option.text = NOT_RUN_SHORT


class LayerNameDelegate(QStyledItemDelegate):
    """Column 0: "name  suffix" with the suffix (alias or count) muted; only the alias (leaves)
    or the name (groups) when the tree is compact; the name tinted by type when the Type column is hidden."""

    def __init__(self, tree):
        super().__init__(tree)
        self._tree = tree

    def paint(self, painter, option, index):
        suffix = index.data(SUFFIX_ROLE)
        compact = self._tree.compact_names()
        type_hidden = self._tree.isColumnHidden(COL_TYPE)
        if index.column() != COL_LAYER or (not suffix and not type_hidden):
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        text = opt.text
        head = text[: len(text) - len(suffix)].rstrip() if suffix else text
        if compact:
            head, suffix = index.data(ALIAS_ROLE) or head, ""
        text_rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
        text_rect = text_rect.adjusted(margin, 0, -margin, 0)
        opt.text = ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)

        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        pal = opt.palette
        painter.save()
        painter.setFont(opt.font)
        fm = painter.fontMetrics()
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        head_text = fm.elidedText(head, Qt.TextElideMode.ElideRight, text_rect.width())
        colour = pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        ltype = self._tree.model().index(index.row(), COL_TYPE, index.parent()).data()
        if type_hidden and not selected and ltype in TYPE_COLOURS:
            colour = TYPE_COLOURS[ltype]  # the type column is gone: its colour stays on the name
        if not opt.state & QStyle.StateFlag.State_Enabled:
            colour = muted_colour(pal)  # never run in eval mode: greyed like the rest of its row
        painter.setPen(colour)
        painter.drawText(text_rect, align, head_text)
        if suffix:
            rest = text_rect.adjusted(fm.horizontalAdvance(head_text + "  "), 0, 0, 0)
            if rest.width() > 0 and head_text == head:
                painter.setPen(muted_colour(pal, selected))
                painter.drawText(rest, align, fm.elidedText(suffix, Qt.TextElideMode.ElideRight, rest.width()))
        painter.restore()
