"""The model's layers as a tree (model → group → layer) that tells which layer to show.

It is the navigation of ConvScope: clicking a layer, or moving to it with the
arrow keys, emits ``layerSelected``; the Output column says whether the current
image has reached that layer yet ("pending…") or what shape it produced.

All four columns fit the dock it sits in: as the tree gets narrower, type names get
short ("MaxPool"), then the Type column goes (its colour stays on the names), then
leaves show only their alias ("conv1_1") and square shapes are written "64×224²".
Full texts are in the tooltips. The cells are drawn by widgets/layer_tree_cells.py.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QFont, QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTreeWidget, QTreeWidgetItem

from widgets.layer_tree_cells import (ALIAS_ROLE, COL_LAYER, COL_OUTPUT, COL_PARAMS, COL_TYPE, NAME_ROLE, SHAPE_ROLE,
                                      SUFFIX_ROLE, TYPE_COLOURS, CompactTextDelegate, LayerNameDelegate,
                                      compact_shape, muted_colour, short_type)

__all__ = ["COL_LAYER", "COL_OUTPUT", "COL_PARAMS", "COL_TYPE", "HEADERS", "PENDING_TEXT", "LayerTree",
           "compact_count", "format_shape"]

HEADERS = ["Layer", "Type", "Output", "Params"]
PENDING_TEXT = "pending…"
INDENT = 14  # px per tree level (Qt's 20 spends a third of a narrow dock on indentation)
TYPE_LEGEND = "Narrow: the Type column is hidden; names are coloured by type (blue Conv2d, teal pooling, purple Linear)"
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


FITS = (Fit(), Fit(short_types=True), Fit(True, True), Fit(True, True, True), Fit(True, True, True, True))


class LayerTree(QTreeWidget):
    """Model → group → layer tree with a per-layer pending/computed Output column."""

    layerSelected = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._leaves: dict[str, QTreeWidgetItem] = {}
        self._fit = Fit()
        self.setColumnCount(len(HEADERS))
        self.setIndentation(INDENT)
        self.setHeaderLabels(HEADERS)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setAllColumnsShowFocus(True)
        self.setExpandsOnDoubleClick(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setItemDelegateForColumn(COL_LAYER, LayerNameDelegate(self))
        self.setItemDelegateForColumn(COL_TYPE, CompactTextDelegate(self, COL_TYPE))
        self.setItemDelegateForColumn(COL_OUTPUT, CompactTextDelegate(self, COL_OUTPUT))
        for col in (COL_OUTPUT, COL_PARAMS):
            self.headerItem().setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self._fit_columns()

        self.currentItemChanged.connect(self._on_current_changed)

    # --- building -----------------------------------------------------------------
    def set_model(self, model_name: str, layers: list[dict]) -> None:
        """Rebuild the tree for ``layers`` (forward order); every layer starts pending."""
        self.blockSignals(True)  # clearing moves the current item; that is not a user selection
        try:
            self.clear()
        finally:
            self.blockSignals(False)
        self._leaves = {}

        root = QTreeWidgetItem(self)
        bold = QFont(self.font())
        bold.setBold(True)
        root.setFont(COL_LAYER, bold)
        root.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)

        groups: dict[str, QTreeWidgetItem] = {}
        group_params: dict[str, int] = {}
        group_counts: dict[str, int] = {}
        for layer in layers:
            name = str(layer["name"])
            if name in self._leaves:
                raise ValueError(f"layer {name!r} listed twice")
            group = str(layer.get("group") or name.split(".", 1)[0])
            if group == name:  # a layer with no dot is its own group: it sits at group level
                leaf = QTreeWidgetItem(root)
            else:
                if group not in groups:
                    item = QTreeWidgetItem(root)
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                    groups[group] = item
                    group_params[group] = 0
                    group_counts[group] = 0
                leaf = QTreeWidgetItem(groups[group])
                group_params[group] += int(layer.get("params") or 0)
                group_counts[group] += 1
            self._fill_leaf(leaf, layer)
            self._leaves[name] = leaf

        for group, item in groups.items():
            n = group_counts[group]
            self._set_name(item, group, f"({n} layer{'s' if n != 1 else ''})")
            self._set_params(item, group_params[group])
            item.setToolTip(COL_LAYER, f"{group}: {n} layers, {group_params[group]:,} parameters")
        total = sum(int(layer.get("params") or 0) for layer in layers)
        n = len(layers)
        self._set_name(root, model_name, f"({n} layer{'s' if n != 1 else ''})")
        self._set_params(root, total)
        root.setToolTip(COL_LAYER, f"{model_name}: {n} layers, {total:,} parameters")

        self.expandAll()
        self._fit_columns()
        self.updateGeometry()

    def _fill_leaf(self, item: QTreeWidgetItem, layer: dict) -> None:
        name = str(layer["name"])
        alias = layer.get("alias")
        ltype = str(layer.get("type") or "")
        params = int(layer.get("params") or 0)
        self._set_name(item, name, str(alias) if alias else "")
        item.setData(COL_LAYER, NAME_ROLE, name)
        item.setData(COL_LAYER, ALIAS_ROLE, str(alias) if alias else None)
        item.setText(COL_TYPE, ltype)
        item.setToolTip(COL_TYPE, ltype)
        if ltype in TYPE_COLOURS:
            item.setForeground(COL_TYPE, QBrush(TYPE_COLOURS[ltype]))
        self._set_params(item, params)
        item.setTextAlignment(COL_OUTPUT, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setToolTip(COL_LAYER, f"{name}{f' ({alias})' if alias else ''} — {ltype}, {params:,} parameters")
        self._set_pending(item)

    @staticmethod
    def _set_name(item: QTreeWidgetItem, name: str, suffix: str) -> None:
        item.setText(COL_LAYER, f"{name}  {suffix}" if suffix else name)
        item.setData(COL_LAYER, SUFFIX_ROLE, suffix or None)

    def _set_params(self, item: QTreeWidgetItem, params: int) -> None:
        item.setText(COL_PARAMS, compact_count(params))
        item.setToolTip(COL_PARAMS, f"{params:,} parameters")
        item.setTextAlignment(COL_PARAMS, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if params == 0:
            item.setForeground(COL_PARAMS, QBrush(muted_colour(self.palette())))

    def _set_pending(self, item: QTreeWidgetItem) -> None:
        font = QFont(self.font())
        font.setItalic(True)
        item.setText(COL_OUTPUT, PENDING_TEXT)
        item.setData(COL_OUTPUT, SHAPE_ROLE, None)
        item.setFont(COL_OUTPUT, font)
        item.setForeground(COL_OUTPUT, QBrush(muted_colour(self.palette())))
        item.setToolTip(COL_OUTPUT, "not computed yet for the current image")

    # --- fitting the columns to the width ------------------------------------------
    def short_types(self) -> bool:
        """True while the Type column shows short names ("MaxPool" for "MaxPool2d")."""
        return self._fit.short_types

    def compact_names(self) -> bool:
        """True while the Layer column shows only aliases ("conv1_1") and group names."""
        return self._fit.compact_names

    def compact_shapes(self) -> bool:
        """True while square output shapes are written "64×224²"."""
        return self._fit.compact_shapes

    def shown_text(self, item: QTreeWidgetItem, column: int) -> str:
        """The text a cell shows now, after any compacting (its full text is ``item.text``)."""
        if column == COL_LAYER:
            text = item.text(COL_LAYER)
            if self._fit.compact_names:
                suffix = item.data(COL_LAYER, SUFFIX_ROLE) or ""
                return item.data(COL_LAYER, ALIAS_ROLE) or text[: len(text) - len(suffix)].rstrip()
            return text
        if column == COL_TYPE:
            if self.isColumnHidden(COL_TYPE):
                return ""
            return short_type(item.text(COL_TYPE)) if self._fit.short_types and item.text(COL_TYPE) else item.text(COL_TYPE)
        if column == COL_OUTPUT and self._fit.compact_shapes and item.data(COL_OUTPUT, SHAPE_ROLE):
            return compact_shape(item.data(COL_OUTPUT, SHAPE_ROLE))
        return item.text(column)

    def _items(self) -> list[tuple[QTreeWidgetItem, int]]:
        """Every item with its depth (root 0)."""
        out, stack = [], [(self.topLevelItem(i), 0) for i in range(self.topLevelItemCount())]
        while stack:
            item, depth = stack.pop()
            out.append((item, depth))
            stack.extend((item.child(i), depth + 1) for i in range(item.childCount()))
        return out

    def _widths(self, fit: Fit) -> list[int]:
        """Column widths that show every cell's text whole, drawn as ``fit`` says (0: hidden)."""
        fm = self.fontMetrics()
        pad = 2 * (self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1) + 6
        header = self.header()
        widths = [header.sectionSizeHint(c) for c in range(len(HEADERS))]
        decorated = 1 if self.rootIsDecorated() else 0
        shapes = [WIDE_SHAPE]
        for item, depth in self._items():
            font = item.font(COL_LAYER)
            name_fm = QFontMetrics(font) if font.bold() else fm
            if fit.compact_names:
                suffix = item.data(COL_LAYER, SUFFIX_ROLE) or ""
                text = item.data(COL_LAYER, ALIAS_ROLE) or item.text(COL_LAYER)[: len(item.text(COL_LAYER)) - len(suffix)]
            else:
                text = item.text(COL_LAYER)
            widths[COL_LAYER] = max(widths[COL_LAYER], (depth + decorated) * self.indentation()
                                    + name_fm.horizontalAdvance(text.rstrip()) + pad)
            ltype = item.text(COL_TYPE)
            if ltype:
                shown = short_type(ltype) if fit.short_types else ltype
                widths[COL_TYPE] = max(widths[COL_TYPE], fm.horizontalAdvance(shown) + pad)
            shape = item.data(COL_OUTPUT, SHAPE_ROLE)
            if shape:
                shapes.append(tuple(shape))
            widths[COL_PARAMS] = max(widths[COL_PARAMS], fm.horizontalAdvance(item.text(COL_PARAMS)) + pad)
        italic = QFont(self.font())
        italic.setItalic(True)
        widths[COL_OUTPUT] = max(widths[COL_OUTPUT], QFontMetrics(italic).horizontalAdvance(PENDING_TEXT) + pad,
                                 *(fm.horizontalAdvance(compact_shape(s) if fit.compact_shapes else format_shape(s))
                                   + pad for s in shapes))
        if fit.hide_type:
            widths[COL_TYPE] = 0
        return widths

    def _fit_columns(self) -> None:
        """The least compact drawing whose columns all fit the viewport; spare width goes to Layer.

        If even the most compact one does not fit, Layer gives up width (its names elide):
        Output and Params stay whole."""
        available = self.viewport().width()
        for fit in FITS:
            widths = self._widths(fit)
            if sum(widths) <= available:
                break
        else:
            widths[COL_LAYER] = max(available - sum(widths[1:]), 4 * self.indentation())
        widths[COL_LAYER] += max(available - sum(widths), 0)
        changed = fit != self._fit
        self._fit = fit
        self.setColumnHidden(COL_TYPE, fit.hide_type)
        self.headerItem().setToolTip(COL_LAYER, TYPE_LEGEND if fit.hide_type else "")
        header = self.header()
        for col, width in enumerate(widths):
            if width and header.sectionSize(col) != width:
                header.resizeSection(col, width)
        if changed:
            self.viewport().update()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._fit_columns()

    # --- state --------------------------------------------------------------------
    def _leaf(self, name: str) -> QTreeWidgetItem:
        try:
            return self._leaves[name]
        except KeyError:
            raise KeyError(f"no layer named {name!r} in the tree") from None

    def mark_computed(self, name: str, shape: tuple[int, ...]) -> None:
        """Show the output shape of ``name`` in normal style (its activation is ready)."""
        item = self._leaf(name)
        item.setText(COL_OUTPUT, format_shape(shape))
        item.setData(COL_OUTPUT, SHAPE_ROLE, tuple(int(n) for n in shape))
        item.setData(COL_OUTPUT, Qt.ItemDataRole.FontRole, None)
        item.setData(COL_OUTPUT, Qt.ItemDataRole.ForegroundRole, None)
        item.setToolTip(COL_OUTPUT, f"output: {len(shape)}-D, shape {format_shape(shape)}")
        if self.fontMetrics().horizontalAdvance(self.shown_text(item, COL_OUTPUT)) > self.header().sectionSize(COL_OUTPUT) - 8:
            self._fit_columns()  # wider than the room kept for shapes (another architecture)

    def reset_pending(self) -> None:
        """Every layer back to pending (a new image started)."""
        for item in self._leaves.values():
            self._set_pending(item)

    def is_pending(self, name: str) -> bool:
        """True until ``mark_computed(name, …)`` since the last reset."""
        return self._leaf(name).text(COL_OUTPUT) == PENDING_TEXT

    def layer_names(self) -> list[str]:
        """The layer names, in forward order."""
        return list(self._leaves)

    def item_for(self, name: str) -> QTreeWidgetItem:
        """The tree item of layer ``name``."""
        return self._leaf(name)

    # --- selection ----------------------------------------------------------------
    def select_layer(self, name: str) -> None:
        """Make ``name`` current; emits layerSelected once if it was not already current."""
        item = self._leaf(name)
        self.setCurrentItem(item)
        self.scrollToItem(item)

    def selected_layer(self) -> str | None:
        """Name of the current layer, or None when nothing or a group row is current."""
        item = self.currentItem()
        return item.data(COL_LAYER, NAME_ROLE) if item is not None else None

    def _on_current_changed(self, current: QTreeWidgetItem | None, _previous) -> None:
        name = current.data(COL_LAYER, NAME_ROLE) if current is not None else None
        if name:
            self.layerSelected.emit(name)

    def sizeHint(self) -> QSize:
        """Wide enough for all four columns in full, without squeezing the names."""
        base = super().sizeHint()
        width = sum(self._widths(Fit())) + self.frameWidth() * 2 + self.verticalScrollBar().sizeHint().width()
        return QSize(max(base.width(), width), base.height())

    def compact_width(self) -> int:
        """The narrowest width at which every column still shows its text whole (most compact)."""
        return sum(self._widths(FITS[-1])) + self.frameWidth() * 2 + self.verticalScrollBar().sizeHint().width()
