"""What the network finally says: its top classes, raw logits next to softmax, cat vs dog.

The panel also keeps students honest: with random weights an amber banner stays
on top, because a confident-looking bar chart from an untrained model means nothing;
and a 2-class model's answer is headed "Both classes", not "Top 5".
"""
from __future__ import annotations

from html import escape

from widgets.prediction_text import classes_heading, format_logit, sum_note

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

TOP_K = 5
BAR_STEPS = 1000  # progress bar resolution: 0.1 %
UNTRAINED_TEXT = (
    "Untrained model — random weights. Predictions are meaningless; "
    "load ImageNet weights (Weights menu) to see real ones."
)
SOFTMAX_HTML = (
    "<b>Logits</b> are the raw scores of the last layer; <b>softmax</b> turns them into "
    "probabilities that sum to 1:"
    "<div style='margin-top:4px; font-size:large; white-space:nowrap'>&nbsp;&nbsp;"
    "<i>p</i><sub><i>i</i></sub> = <i>e</i><sup><i>z</i><sub><i>i</i></sub></sup> / "
    "Σ<sub><i>j</i></sub> <i>e</i><sup><i>z</i><sub><i>j</i></sub></sup></div>"
)
CAT_DOG_NOTE = "(sum of ImageNet's cat classes 281–285 vs dog classes 151–268)"
_BANNER_STYLE = (
    "QLabel { background: #ffc107; color: #3d2c00; font-weight: bold;"
    " border: 1px solid #d39e00; border-radius: 4px; padding: 6px 8px; }"
)
_BAR_STYLE = (
    "QProgressBar { border: 1px solid palette(mid); border-radius: 3px; background: palette(base); }"
    "QProgressBar::chunk { background: palette(highlight); border-radius: 2px; }"
)


def format_percent(p: float, decimals: int = 1) -> str:
    """0.6123 → "61.2%"; tiny non-zero values → "<0.1%" rather than a misleading 0."""
    pct = float(p) * 100.0
    floor = 10.0 ** -decimals
    if 0 < pct < floor:
        return f"<{floor:.{decimals}f}%"
    return f"{pct:.{decimals}f}%"


def format_prob(p: float) -> str:
    """A softmax probability as a plain number: 4 decimals, scientific below 1e-4."""
    p = float(p)
    return f"{p:.1e}" if 0 < p < 1e-4 else f"{p:.4f}"


def _muted_style(widget: QWidget) -> str:
    pal = widget.palette()
    text, base = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
    mixed = [round((a + b) / 2) for a, b in zip(text.getRgb()[:3], base.getRgb()[:3])]
    return "color: #{:02x}{:02x}{:02x};".format(*mixed)


class PredictionsPanel(QWidget):
    """The top classes as bars, a logit/softmax table and the cat-vs-dog answer, with an untrained banner."""

    def __init__(self, parent=None):
        super().__init__(parent)
        muted = _muted_style(self)

        self.banner = QLabel(UNTRAINED_TEXT)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(_BANNER_STYLE)
        self.banner.setVisible(False)

        self.weights_label = QLabel()
        self.weights_label.setStyleSheet(muted)
        self.busy_label = QLabel("computing…")
        self.busy_label.setStyleSheet(muted + " font-style: italic;")
        self.busy_label.setVisible(False)
        head = QHBoxLayout()
        head.addWidget(self.weights_label, 1)
        head.addWidget(self.busy_label)

        # Left: the top-5 with bars.
        self.rank_labels: list[QLabel] = []
        self.class_labels: list[QLabel] = []
        self.bars: list[QProgressBar] = []
        self.percent_labels: list[QLabel] = []
        bars = QGridLayout()
        bars.setHorizontalSpacing(8)
        bars.setVerticalSpacing(6)
        self.title_label = QLabel()
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        bold_title = QFont(self.title_label.font())
        bold_title.setBold(True)
        self.title_label.setFont(bold_title)
        bars.addWidget(self.title_label, 0, 0, 1, 4)
        for row in range(TOP_K):
            rank = QLabel(f"{row + 1}.")
            rank.setStyleSheet(muted)
            label = QLabel()
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            bar = QProgressBar()
            bar.setRange(0, BAR_STEPS)
            bar.setTextVisible(False)
            bar.setFixedHeight(14)
            bar.setMinimumWidth(80)
            bar.setStyleSheet(_BAR_STYLE)
            pct = QLabel()
            pct.setTextFormat(Qt.TextFormat.PlainText)
            pct.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            pct.setMinimumWidth(pct.fontMetrics().horizontalAdvance("100.0%") + 4)
            if row == 0:
                bold = QFont(label.font())
                bold.setBold(True)
                label.setFont(bold)
                pct.setFont(bold)
            bars.addWidget(rank, row + 1, 0)
            bars.addWidget(label, row + 1, 1)
            bars.addWidget(bar, row + 1, 2)
            bars.addWidget(pct, row + 1, 3)
            self.rank_labels.append(rank)
            self.class_labels.append(label)
            self.bars.append(bar)
            self.percent_labels.append(pct)
        bars.setColumnStretch(2, 1)
        bars.setRowStretch(TOP_K + 1, 1)

        # Right: logits next to softmax.
        self.table = QTableWidget(TOP_K, 3)
        self.table.setHorizontalHeaderLabels(["class", "logit z", "softmax p"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.sum_label = QLabel()
        self.sum_label.setWordWrap(True)
        self.sum_label.setStyleSheet(muted)
        self.explain_label = QLabel(SOFTMAX_HTML)
        self.explain_label.setTextFormat(Qt.TextFormat.RichText)
        self.explain_label.setWordWrap(True)
        self.explain_label.setStyleSheet(muted)
        right = QVBoxLayout()
        right.setSpacing(4)
        right.addWidget(self.table)
        right.addWidget(self.sum_label)
        right.addWidget(self.explain_label)
        right.addStretch(1)

        # Bars and table side by side when there is room, stacked in a narrow dock.
        self._bars_layout = bars
        self._cols = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self._cols.setSpacing(16)
        self._cols.addLayout(bars, 1)
        self._cols.addLayout(right, 1)

        self.cat_dog_label = QLabel()
        self.cat_dog_label.setTextFormat(Qt.TextFormat.RichText)
        self.cat_dog_label.setWordWrap(True)
        self.cat_dog_label.setVisible(False)

        self.empty_label = QLabel("No predictions yet.")
        self.empty_label.setStyleSheet(muted + " font-style: italic;")

        self._content = QWidget()
        content = QVBoxLayout(self._content)
        content.setContentsMargins(0, 0, 0, 0)
        content.addLayout(self._cols)
        self._cat_dog_rule = QFrame()
        self._cat_dog_rule.setFrameShape(QFrame.Shape.HLine)
        self._cat_dog_rule.setFrameShadow(QFrame.Shadow.Sunken)
        content.addWidget(self._cat_dog_rule)
        content.addWidget(self.cat_dog_label)

        outer = QVBoxLayout(self)
        outer.addWidget(self.banner)
        outer.addLayout(head)
        outer.addWidget(self.empty_label)
        outer.addWidget(self._content)
        outer.addStretch(1)
        self._num_classes: int | None = None  # the model's class count, when the app said it
        self.clear()

    def set_model_info(self, info: dict) -> None:
        """Take the worker's model dict ("weights_text", "pretrained", "class_names"):
        the weights line, the banner, and how many classes there are to rank."""
        names = info.get("class_names")
        self.set_weights(str(info.get("weights_text", "")), bool(info.get("pretrained")),
                         num_classes=len(names) if names is not None else None)

    def set_weights(self, weights_text: str, pretrained: bool, *, num_classes: int | None = None) -> None:
        """Show which weights are loaded; the amber banner is visible iff not pretrained.

        ``num_classes`` (when known) words the heading: "Both classes", "Top 5 of 1000 classes"."""
        if num_classes is not None:
            self._num_classes = int(num_classes)
        elif weights_text != self.weights_label.toolTip():
            self._num_classes = None  # other weights, count not given: never keep the old model's
        self.weights_label.setText(weights_text[:1].upper() + weights_text[1:])
        self.weights_label.setToolTip(weights_text)
        self.banner.setVisible(not pretrained)

    def num_classes(self, shown: int) -> int | None:
        """The model's class count: as told, else inferred when fewer than TOP_K came
        (the engine lists min(k, N) classes with k ≥ TOP_K, so then they are all); else None."""
        if self._num_classes is not None:
            return self._num_classes
        return shown if 0 < shown < TOP_K else None

    def set_predictions(self, top: list[dict], cat_vs_dog: dict | None, weights_text: str, pretrained: bool,
                        *, num_classes: int | None = None) -> None:
        """Show the top classes (at most 5 used), their logits/probabilities and cat-vs-dog."""
        self.set_weights(weights_text, pretrained, num_classes=num_classes)
        top = list(top)[:TOP_K]
        total = self.num_classes(len(top))
        self.title_label.setText(classes_heading(len(top), total) if top else "")
        self.table.setRowCount(len(top))
        for row in range(TOP_K):
            visible = row < len(top)
            for w in (self.rank_labels[row], self.class_labels[row], self.bars[row], self.percent_labels[row]):
                w.setVisible(visible)
            if not visible:
                continue
            entry = top[row]
            label, prob, index = str(entry["label"]), float(entry["prob"]), entry.get("index")
            self.class_labels[row].setText(label)
            tip = f"class {index}: {label}" if index is not None else label
            self.class_labels[row].setToolTip(tip)
            self.bars[row].setValue(round(min(max(prob, 0.0), 1.0) * BAR_STEPS))
            self.bars[row].setToolTip(f"p = {format_prob(prob)}")
            self.percent_labels[row].setText(format_percent(prob))
            self._set_row(row, label, entry.get("logit"), prob, tip)
        self._fit_table()
        self.sum_label.setText(sum_note([float(e["prob"]) for e in top], total, format_prob))

        if cat_vs_dog is not None:
            cat, dog = float(cat_vs_dog["cat"]), float(cat_vs_dog["dog"])
            self.cat_dog_label.setText(
                f"<b>Cat {escape(format_percent(cat, 0))} · Dog {escape(format_percent(dog, 0))}</b> "
                f"<span style='{_muted_style(self)}'>{escape(CAT_DOG_NOTE)}</span>"
            )
            self.cat_dog_label.setVisible(True)
            self._cat_dog_rule.setVisible(True)
        else:
            self.cat_dog_label.setText("")
            self.cat_dog_label.setVisible(False)
            self._cat_dog_rule.setVisible(False)
        self.empty_label.setVisible(False)
        self._content.setVisible(True)

    def _set_row(self, row: int, label: str, logit, prob: float, tip: str) -> None:
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        name = QTableWidgetItem(label)
        name.setToolTip(tip)
        z = QTableWidgetItem(format_logit(logit))
        z.setTextAlignment(right)
        p = QTableWidgetItem(format_prob(prob))
        p.setTextAlignment(right)
        for col, item in enumerate((name, z, p)):
            self.table.setItem(row, col, item)

    def _fit_table(self) -> None:
        """Make the table exactly as tall as its rows: no scrollbars, no empty space."""
        self.table.resizeRowsToContents()
        height = self.table.horizontalHeader().sizeHint().height() + 2 * self.table.frameWidth()
        height += sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        self.table.setFixedHeight(height)
        hh = self.table.horizontalHeader()
        width = 2 * self.table.frameWidth() + sum(
            max(self.table.sizeHintForColumn(c), hh.sectionSizeHint(c)) for c in range(self.table.columnCount())
        )
        self.table.setMinimumWidth(width)
        self._reflow(self.width())

    def _side_by_side_width(self) -> int:
        margins = self.layout().contentsMargins() if self.layout() else None
        extra = margins.left() + margins.right() if margins else 0
        return self._bars_layout.minimumSize().width() + self.table.minimumWidth() + self._cols.spacing() + extra + 40

    def _reflow(self, width: int) -> None:
        if not hasattr(self, "_cols"):
            return
        wide = width >= self._side_by_side_width()
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self._cols.direction() != direction:
            self._cols.setDirection(direction)

    def resizeEvent(self, event):
        self._reflow(event.size().width())
        super().resizeEvent(event)

    def minimumSizeHint(self) -> QSize:
        """Narrow enough for a side dock: the columns stack when side by side does not fit."""
        hint = super().minimumSizeHint()
        margins = self.layout().contentsMargins()
        narrow = max(self._bars_layout.minimumSize().width(), self.table.minimumWidth())
        return QSize(min(hint.width(), narrow + margins.left() + margins.right()), hint.height())

    def clear(self) -> None:
        """Forget the predictions (the weights line and banner stay: the weights did not change)."""
        self.table.setRowCount(TOP_K)
        for row in range(TOP_K):
            self.class_labels[row].setText("")
            self.bars[row].setValue(0)
            self.percent_labels[row].setText("")
            for col in range(3):
                self.table.setItem(row, col, QTableWidgetItem(""))
        self._fit_table()
        self.sum_label.setText("")
        self.title_label.setText("")
        self.cat_dog_label.setText("")
        self.cat_dog_label.setVisible(False)
        self._cat_dog_rule.setVisible(False)
        self._content.setVisible(False)
        self.empty_label.setVisible(True)

    def set_busy(self, busy: bool) -> None:
        """Grey out the current (stale) numbers and say "computing…" while a new result is on its way."""
        self.busy_label.setVisible(busy)
        self._content.setEnabled(not busy)

    def is_busy(self) -> bool:
        """True between set_busy(True) and set_busy(False)."""
        return self.busy_label.isVisibleTo(self)
