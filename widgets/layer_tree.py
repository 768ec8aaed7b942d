"""The model's layers as a tree (model → group → layer) that tells which layer to show.

It is the navigation of ConvScope: clicking a layer, or moving to it with the
arrow keys, emits ``layerSelected``; the Output column says whether the current
image has reached that layer yet ("pending…") or what shape it produced.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
)

COL_LAYER, COL_TYPE, COL_OUTPUT, COL_PARAMS = range(4)


def compact_count(n: int) -> str:
    """1792 → '1.8 k', 102764544 → '102.8 M': the column stays narrow; the tooltip has the exact count."""
    if n < 1000:
        return str(n)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return str(n)
HEADERS = ["Layer", "Type", "Output", "Params"]
PENDING_TEXT = "pending…"

NAME_ROLE = Qt.ItemDataRole.UserRole + 1  # qualified module name; set on leaves only
SUFFIX_ROLE = Qt.ItemDataRole.UserRole + 2  # trailing part of column 0 painted muted

# Type column tints, so conv / linear / pooling layers stand apart at a glance.
_TYPE_COLOURS = {
    "Conv2d": QColor(37, 99, 195),
    "Linear": QColor(128, 60, 170),
    "MaxPool2d": QColor(0, 128, 118),
    "AvgPool2d": QColor(0, 128, 118),
    "AdaptiveAvgPool2d": QColor(0, 128, 118),
}


def format_shape(shape: tuple[int, ...]) -> str:
    """``(64, 224, 224)`` → ``"64×224×224"``."""
    return "×".join(str(int(n)) for n in shape)


def _blend(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` towards ``b``."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


def muted_colour(palette: QPalette, selected: bool = False) -> QColor:
    """A text colour halfway to the background: for aliases, counts and pending cells."""
    if selected:
        return _blend(palette.color(QPalette.ColorRole.HighlightedText), palette.color(QPalette.ColorRole.Highlight), 0.35)
    return _blend(palette.color(QPalette.ColorRole.Text), palette.color(QPalette.ColorRole.Base), 0.5)


class _MutedSuffixDelegate(QStyledItemDelegate):
    """Paints column 0 as "name  suffix" with the suffix (alias or count) in a muted colour."""

    def paint(self, painter, option, index):
        suffix = index.data(SUFFIX_ROLE)
        if index.column() != COL_LAYER or not suffix:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        text = opt.text
        head = text[: len(text) - len(suffix)]
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
        painter.setPen(pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        painter.drawText(text_rect, align, head_text)
        rest = text_rect.adjusted(fm.horizontalAdvance(head_text), 0, 0, 0)
        if rest.width() > 0 and head_text == head:
            painter.setPen(muted_colour(pal, selected))
            painter.drawText(rest, align, fm.elidedText(suffix, Qt.TextElideMode.ElideRight, rest.width()))
        painter.restore()


class LayerTree(QTreeWidget):
    """Model → group → layer tree with a per-layer pending/computed Output column."""

    layerSelected = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._leaves: dict[str, QTreeWidgetItem] = {}
        self.setColumnCount(len(HEADERS))
        self.setHeaderLabels(HEADERS)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setAllColumnsShowFocus(True)
        self.setExpandsOnDoubleClick(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setItemDelegateForColumn(COL_LAYER, _MutedSuffixDelegate(self))
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
        item.setText(COL_TYPE, ltype)
        if ltype in _TYPE_COLOURS:
            item.setForeground(COL_TYPE, QBrush(_TYPE_COLOURS[ltype]))
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
        item.setFont(COL_OUTPUT, font)
        item.setForeground(COL_OUTPUT, QBrush(muted_colour(self.palette())))
        item.setToolTip(COL_OUTPUT, "not computed yet for the current image")

    def _column_widths(self) -> list[int]:
        """Content widths; Output is sized for the widest VGG shape so it never jitters."""
        fm = self.fontMetrics()
        header = self.header()
        widths = [max(self.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in range(len(HEADERS))]
        widths[COL_OUTPUT] = max(widths[COL_OUTPUT], fm.horizontalAdvance("512×224×224") + 4 * fm.averageCharWidth())
        return widths

    def _fit_columns(self) -> None:
        """Give the Layer column the spare width, but never less than its names need."""
        widths = self._column_widths()
        spare = self.viewport().width() - sum(widths)
        if spare > 0:
            widths[COL_LAYER] += spare
        for col, width in enumerate(widths):
            self.header().resizeSection(col, width)

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
        item.setData(COL_OUTPUT, Qt.ItemDataRole.FontRole, None)
        item.setData(COL_OUTPUT, Qt.ItemDataRole.ForegroundRole, None)
        item.setToolTip(COL_OUTPUT, f"output: {len(shape)}-D, shape {format_shape(shape)}")

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
        """Wide enough for all four columns without squeezing the names."""
        base = super().sizeHint()
        width = sum(self._column_widths()) + self.indentation() + self.frameWidth() * 2
        width += self.verticalScrollBar().sizeHint().width()
        return QSize(max(base.width(), width), base.height())
