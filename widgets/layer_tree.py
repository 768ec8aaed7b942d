"""The model's layers as a tree that follows its module hierarchy and tells which layer to show.

It is the navigation of ConvScope: clicking a layer, or moving to it with the
arrow keys, emits ``layerSelected``; the Output column says whether the current
image has reached that layer yet ("pending…") or what shape it produced. Rows nest
by module path (ResNet: layer1 → layer1.0 → conv1 …; widgets/layer_tree_model.py);
a container whose output is captured (a block, or the layer it ends on) selects that
output; a shared module's later calls are rows of their own ("relu · call 2"); what
eval mode never runs (an auxiliary head) is greyed and cannot be selected.

All four columns fit the dock it sits in: as the tree gets narrower, type names get
short ("MaxPool"), then the Type column goes (its colour stays on the names), then
leaves show only their alias ("conv1_1") and square shapes are written "64×224²".
Full texts are in the tooltips. The cells are drawn by widgets/layer_tree_cells.py,
their widths at each degree of compactness worked out by widgets/layer_tree_fit.py.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem

from widgets.layer_tree_cells import (ALIAS_ROLE, COL_LAYER, COL_OUTPUT, COL_PARAMS, COL_TYPE, NAME_ROLE, NOT_RUN_SHORT,
                                      NOT_RUN_TEXT, PATH_ROLE, SHAPE_ROLE, SUFFIX_ROLE, TYPE_COLOURS,
                                      CompactTextDelegate, LayerNameDelegate, compact_shape, muted_colour, short_type)
from widgets.layer_tree_fit import (FITS, HEADERS, INDENT, PENDING_TEXT, Fit, column_widths, compact_count,
                                    format_shape)
from widgets.layer_tree_model import Row, build_rows

__all__ = ["COL_LAYER", "COL_OUTPUT", "COL_PARAMS", "COL_TYPE", "HEADERS", "NOT_RUN_TEXT", "PENDING_TEXT",
           "LayerTree", "compact_count", "format_shape"]

NOT_RUN_TIP = "not run in eval mode (an auxiliary head)"
TYPE_LEGEND = "Narrow: the Type column is hidden; names are coloured by type (blue Conv2d, teal pooling, purple Linear)"


class LayerTree(QTreeWidget):
    """Model → module containers → layer tree with a per-layer pending/computed Output column."""

    layerSelected = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._leaves: dict[str, QTreeWidgetItem] = {}  # each layer's own row, in run order
        self._shown: dict[str, list[QTreeWidgetItem]] = {}  # every row that shows it (none if never run)
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
    def set_model(self, model_name: str, layers: list[dict], container_types: dict[str, str] | None = None) -> None:
        """Rebuild the tree for ``layers`` (run order), nested by module path; every layer starts pending.
        ``container_types`` names each container's class ("BasicBlock", "Sequential") for its Type cell.

        Top-level containers that are not blocks open (VGG's features, ResNet's layer1); deeper ones and
        blocks (an Inception module, which is itself a layer) stay closed until a layer in them is selected."""
        top, shown = build_rows(layers)
        self._container_types = dict(container_types or {})
        self.blockSignals(True)  # clearing moves the current item; that is not a user selection
        try:
            self.clear()
        finally:
            self.blockSignals(False)
        self._leaves = {name: None for name in shown}  # run order, filled in below
        self._shown = {name: [] for name in shown}

        root = QTreeWidgetItem(self)
        bold = QFont(self.font())
        bold.setBold(True)
        root.setFont(COL_LAYER, bold)
        root.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        for row in top:
            self._add_row(root, row)
        total = sum(row.params for row in top)
        n = len(layers)
        self._set_name(root, model_name, f"({n} layer{'s' if n != 1 else ''})")
        self._set_params(root, total)
        root.setToolTip(COL_LAYER, f"{model_name}: {n} layers, {total:,} parameters")

        root.setExpanded(True)
        for row, item in zip(top, (root.child(i) for i in range(root.childCount()))):
            item.setExpanded(row.container and not row.block)
        self._fit_columns()
        self.updateGeometry()

    def _add_row(self, parent: QTreeWidgetItem, row: Row) -> QTreeWidgetItem:
        item = QTreeWidgetItem(parent)
        item.setData(COL_LAYER, PATH_ROLE, row.path)
        layer = row.layer
        if row.children:
            n = row.count
            self._set_name(item, row.label, f"({n} layer{'s' if n != 1 else ''})")
            tip = f"{row.path}: {n} layers, {row.params:,} parameters"
            if layer is not None and not row.block:
                tip += f"; its output is {layer['name']}'s"
            item.setToolTip(COL_LAYER, tip)
            item.setData(COL_LAYER, ALIAS_ROLE, row.short or None)
            kind = self._container_types.get(row.path, "")
            if kind and not row.block:  # a block's own type comes with its layer
                item.setText(COL_TYPE, kind)
                item.setToolTip(COL_TYPE, kind)
        else:
            alias = layer.get("alias")
            self._set_name(item, row.label, str(alias) if alias else "")
            item.setData(COL_LAYER, ALIAS_ROLE, str(alias) if alias else row.short or None)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        self._set_params(item, row.params)
        if layer is not None:
            self._fill_layer(item, row)
        for child in row.children:
            self._add_row(item, child)
        return item

    def _fill_layer(self, item: QTreeWidgetItem, row: Row) -> None:
        """The cells of a row that shows a layer: its type, tooltip, and Output (pending, or "not run")."""
        layer = row.layer
        name = str(layer["name"])
        if row.block or not row.container:  # its own layer: a leaf, or a block's output
            alias = layer.get("alias")
            ltype = str(layer.get("type") or "")
            item.setText(COL_TYPE, ltype)
            item.setToolTip(COL_TYPE, ltype)
            if ltype in TYPE_COLOURS:
                item.setForeground(COL_TYPE, QBrush(TYPE_COLOURS[ltype]))
            call = f" (call {layer.get('call')} of {layer.get('module')})" if (layer.get("call") or 1) > 1 else ""
            inside = f"; {row.count - 1} layers inside" if row.block and row.children else ""
            item.setToolTip(COL_LAYER, f"{name}{f' ({alias})' if alias else ''}{call} — {ltype}, "
                                       f"{row.params:,} parameters{inside}")
            self._leaves[name] = item
        item.setTextAlignment(COL_OUTPUT, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if not row.ran:
            item.setFlags(Qt.ItemFlag.NoItemFlags)  # greyed; the cursor keys pass it by
            muted = QBrush(muted_colour(self.palette()))
            for col in range(len(HEADERS)):
                item.setForeground(col, muted)
            item.setText(COL_OUTPUT, NOT_RUN_TEXT)
            item.setToolTip(COL_OUTPUT, NOT_RUN_TIP)
            item.setToolTip(COL_LAYER, item.toolTip(COL_LAYER) + f"; {NOT_RUN_TIP}")
            return
        item.setData(COL_LAYER, NAME_ROLE, name)
        self._shown[name].append(item)
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
        if column == COL_OUTPUT and self._fit.compact_shapes and item.text(COL_OUTPUT) == NOT_RUN_TEXT:
            return NOT_RUN_SHORT
        return item.text(column)

    def _fit_columns(self) -> None:
        """The least compact drawing whose columns all fit the viewport; spare width goes to Layer.

        If even the most compact one does not fit, Layer gives up width (its names elide):
        Output and Params stay whole."""
        available = self.viewport().width()
        for fit in FITS:
            widths = column_widths(self, fit)
            if sum(widths) <= available:
                break
        else:
            widths[COL_LAYER] = max(available - sum(widths[1:]), 4 * fit.indent)
        widths[COL_LAYER] += max(available - sum(widths), 0)
        changed = fit != self._fit
        self._fit = fit
        self.setColumnHidden(COL_TYPE, fit.hide_type)
        if self.indentation() != fit.indent:
            self.setIndentation(fit.indent)
        self.headerItem().setToolTip(COL_LAYER, TYPE_LEGEND if fit.hide_type else "")
        header = self.header()
        for col, width in enumerate(widths):
            if width and header.sectionSize(col) != width:
                header.resizeSection(col, width)
        if changed:
            self.viewport().update()

    def viewportEvent(self, event):
        """Refit whenever the viewport's width changes: a resize, or the scroll bar coming or going as
        containers open and close."""
        handled = super().viewportEvent(event)
        if event.type() == QEvent.Type.Resize:
            self._fit_columns()
        return handled

    # --- state --------------------------------------------------------------------
    def _leaf(self, name: str) -> QTreeWidgetItem:
        try:
            return self._leaves[name]
        except KeyError:
            raise KeyError(f"no layer named {name!r} in the tree") from None

    def mark_computed(self, name: str, shape: tuple[int, ...]) -> None:
        """Show the output shape of ``name`` in normal style (its activation is ready), on its own row
        and on the containers it ends."""
        self._leaf(name)
        refit = False
        for item in self._shown[name]:
            item.setText(COL_OUTPUT, format_shape(shape))
            item.setData(COL_OUTPUT, SHAPE_ROLE, tuple(int(n) for n in shape))
            item.setData(COL_OUTPUT, Qt.ItemDataRole.FontRole, None)
            item.setData(COL_OUTPUT, Qt.ItemDataRole.ForegroundRole, None)
            item.setToolTip(COL_OUTPUT, f"output: {len(shape)}-D, shape {format_shape(shape)}")
            refit = refit or (self.fontMetrics().horizontalAdvance(self.shown_text(item, COL_OUTPUT))
                              > self.header().sectionSize(COL_OUTPUT) - 8)
        if refit:
            self._fit_columns()  # wider than the room kept for shapes (another architecture)

    def reset_pending(self) -> None:
        """Every layer back to pending (a new image started); what never runs stays "not run"."""
        for items in self._shown.values():
            for item in items:
                self._set_pending(item)

    def is_pending(self, name: str) -> bool:
        """True until ``mark_computed(name, …)`` since the last reset (never for a layer eval mode does not run)."""
        return self._leaf(name).text(COL_OUTPUT) == PENDING_TEXT

    def layer_names(self) -> list[str]:
        """The layer names, in run order (those never run included)."""
        return list(self._leaves)

    def item_for(self, name: str) -> QTreeWidgetItem:
        """The row of layer ``name`` itself (a leaf, or a block's container row)."""
        return self._leaf(name)

    def items_showing(self, name: str) -> list[QTreeWidgetItem]:
        """Every row that selects layer ``name``: its own and the containers whose output it is."""
        self._leaf(name)
        return list(self._shown[name])

    # --- selection ----------------------------------------------------------------
    def select_layer(self, name: str) -> None:
        """Make ``name`` current, opening the containers on its way; emits layerSelected once if it was
        not already current (a container row that shows it counts as current). A layer that never runs
        cannot be selected: it is only scrolled to."""
        item = self._leaf(name)
        parent = item.parent()
        while parent is not None:
            parent.setExpanded(True)
            parent = parent.parent()
        if self.selected_layer() != name and item.flags() & Qt.ItemFlag.ItemIsSelectable:
            self.setCurrentItem(item)
        self.scrollToItem(item)

    def selected_layer(self) -> str | None:
        """Name of the layer the current row shows, or None when nothing or a plain container is current."""
        item = self.currentItem()
        return item.data(COL_LAYER, NAME_ROLE) if item is not None else None

    def _on_current_changed(self, current: QTreeWidgetItem | None, previous: QTreeWidgetItem | None) -> None:
        name = current.data(COL_LAYER, NAME_ROLE) if current is not None else None
        before = previous.data(COL_LAYER, NAME_ROLE) if previous is not None else None
        if name and name != before:  # from "layer1.1" to "layer1" (the same tensor): nothing new to show
            self.layerSelected.emit(name)

    def sizeHint(self) -> QSize:
        """Wide enough for all four columns in full, without squeezing the names."""
        base = super().sizeHint()
        width = sum(column_widths(self, Fit())) + self.frameWidth() * 2 + self.verticalScrollBar().sizeHint().width()
        return QSize(max(base.width(), width), base.height())

    def compact_width(self) -> int:
        """The narrowest width at which every column still shows its text whole (most compact)."""
        return sum(column_widths(self, FITS[-1])) + self.frameWidth() * 2 + self.verticalScrollBar().sizeHint().width()
