"""What the network finally says: its top classes, raw logits next to softmax, cat vs dog.

The panel also keeps students honest: with random weights an amber banner stays
on top, because a confident-looking bar chart from an untrained model means nothing;
and a 2-class model's answer is headed "Both classes", not "Top 5". Every class in
it can be clicked (or found by name) to ask the explain view why the network
answers that class. While a channel ablation is in force the bars and the table
make way for its before/after view (widgets.ablation_compare), with a Reset.

A short dock (1280×720, with the weights help under it) never draws widgets over each other:
the softmax explanation gives way first (widgets.softmax_note), and if the rest still does not
fit, the panel scrolls; the top classes and the logit table, at the top, stay in view longest.
"""
from __future__ import annotations

from widgets.ablation_compare import AblationCompare
from widgets.class_picker import ClassPicker
from widgets.class_rows import BAR_STEPS, TOP_K, TopBars, tint
from widgets.logit_table import LogitTable
from widgets.prediction_text import (classes_heading, explain_tip, explaining_caption, format_percent,
                                     format_prob, sum_note)
from widgets.panel_fit import FitsTheDock
from widgets.softmax_note import SOFTMAX_HTML, SOFTMAX_TIP, SoftmaxNote

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

__all__ = ["BAR_STEPS", "SOFTMAX_HTML", "TOP_K", "PredictionsPanel", "format_percent", "format_prob"]

UNTRAINED_TEXT = (
    "Untrained model — random weights. Predictions are meaningless; "
    "load ImageNet weights (Weights menu) to see real ones."
)
CAT_DOG_NOTE = "(sum of ImageNet's cat classes 281–285 vs dog classes 151–268)"
_BANNER_STYLE = (
    "QLabel { background: #ffc107; color: #3d2c00; font-weight: bold;"
    " border: 1px solid #d39e00; border-radius: 4px; padding: 6px 8px; }"
)


def _muted_style(widget: QWidget) -> str:
    pal = widget.palette()
    text, base = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
    mixed = [round((a + b) / 2) for a, b in zip(text.getRgb()[:3], base.getRgb()[:3])]
    return "color: #{:02x}{:02x}{:02x};".format(*mixed)


_CHIP_STYLE = (
    "QPushButton {{ border: 1px solid palette(mid); border-radius: 10px; padding: 2px 10px;"
    " background: palette(base); }}"
    "QPushButton:hover {{ background: {hover}; }}"
    "QPushButton:checked {{ background: {marked}; border: 2px solid {bar}; }}"
)


class PredictionsPanel(FitsTheDock, QWidget):
    """The top classes as bars, a logit/softmax table and the cat-vs-dog answer, with an untrained banner.

    ``classChosen(index)``: a top-5 row or a class found by name was clicked;
    ``summedChosen("cat"|"dog")``: a side of the cat-vs-dog answer was clicked;
    ``resetRequested()``: the comparison's Reset was clicked (an ablation is in force)."""

    classChosen = Signal(int)
    summedChosen = Signal(str)
    resetRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        muted = _muted_style(self)

        self.banner = QLabel(UNTRAINED_TEXT)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(_BANNER_STYLE)
        self.banner.setVisible(False)

        self.weights_label = QLabel()
        self.weights_label.setStyleSheet(muted)
        self.weights_label.setWordWrap(True)
        self.busy_label = QLabel("computing…")
        self.busy_label.setStyleSheet(muted + " font-style: italic;")
        self.busy_label.setVisible(False)
        head = QHBoxLayout()
        head.addWidget(self.weights_label, 1)
        head.addWidget(self.busy_label)

        # Left: the top-5 with bars, what is explained, and a search for any other class.
        self.top_bars = TopBars(muted)
        self.top_bars.rowClicked.connect(self._row_clicked)
        self.title_label = self.top_bars.title_label
        self.rank_labels, self.class_labels = self.top_bars.rank_labels, self.top_bars.class_labels
        self.bars, self.percent_labels = self.top_bars.bars, self.top_bars.percent_labels
        self.explained_label = QLabel()
        self.explained_label.setTextFormat(Qt.TextFormat.PlainText)
        self.explained_label.setWordWrap(True)
        self.explained_label.setStyleSheet("font-weight: bold;")
        self.explained_label.setVisible(False)
        self.picker = ClassPicker()
        self.picker.classChosen.connect(self.classChosen)
        left = QVBoxLayout()
        left.setSpacing(4)
        left.addWidget(self.top_bars)
        left.addWidget(self.explained_label)
        left.addWidget(self.picker)
        left.addStretch(1)

        # Right: logits next to softmax.
        self.table = LogitTable(TOP_K)
        self.table.rowClicked.connect(self._row_clicked)
        self.sum_label = QLabel()
        self.sum_label.setWordWrap(True)
        self.sum_label.setStyleSheet(muted)
        self.sum_label.setToolTip(SOFTMAX_TIP)  # the explanation stays a hover away when it gave way
        self.note = SoftmaxNote(muted)
        self.explain_label = self.note.full_label
        right = self._right_layout = QVBoxLayout()
        right.setSpacing(4)
        right.addWidget(self.table)
        right.addWidget(self.sum_label)
        right.addWidget(self.note)
        right.addStretch(1)

        # Bars and table side by side when there is room, stacked in a narrow dock.
        self._bars_layout = left
        self._cols = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self._cols.setSpacing(16)
        self._cols.addLayout(left, 1)
        self._cols.addLayout(right, 1)

        # The cat-vs-dog answer: two chips, each a click away from its explanation.
        chip_style = _CHIP_STYLE.format(hover=tint(self, 0.10), marked=tint(self, 0.30), bar=tint(self, 1.0))
        self.summed_buttons: dict[str, QPushButton] = {}
        chips = QHBoxLayout()
        chips.setSpacing(6)
        for key in ("cat", "dog"):
            button = QPushButton()
            button.setCheckable(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.setStyleSheet(chip_style)
            button.setToolTip(f"{explain_tip(key)}: the log of the summed probability of ImageNet's "
                              + ("cat classes 281–285" if key == "cat" else "dog classes 151–268"))
            button.clicked.connect(lambda _checked=False, key=key: self._summed_clicked(key))
            chips.addWidget(button)
            self.summed_buttons[key] = button
        chips.addStretch(1)
        self.cat_dog_label = QLabel(CAT_DOG_NOTE)
        self.cat_dog_label.setWordWrap(True)
        self.cat_dog_label.setStyleSheet(muted)
        self._cat_dog = QWidget()
        cat_dog = QVBoxLayout(self._cat_dog)
        cat_dog.setContentsMargins(0, 0, 0, 0)
        cat_dog.setSpacing(2)
        cat_dog.addLayout(chips)
        cat_dog.addWidget(self.cat_dog_label)
        self._cat_dog.setVisible(False)

        self.empty_label = QLabel("No predictions yet.")
        self.empty_label.setStyleSheet(muted + " font-style: italic;")

        # While an ablation is in force: before → after in place of the bars, the table and the chips.
        self.compare = AblationCompare(muted)
        self.compare.rowClicked.connect(self.classChosen)
        self.compare.summedClicked.connect(self._summed_clicked)
        self.compare.resetRequested.connect(self.resetRequested)
        self.compare.setVisible(False)
        self._has_cat_dog = False

        self._content = QWidget()
        content = QVBoxLayout(self._content)
        content.setContentsMargins(0, 0, 0, 0)
        content.addWidget(self.compare)
        content.addLayout(self._cols)
        self._cat_dog_rule = QFrame()
        self._cat_dog_rule.setFrameShape(QFrame.Shape.HLine)
        self._cat_dog_rule.setFrameShadow(QFrame.Shadow.Sunken)
        content.addWidget(self._cat_dog_rule)
        content.addWidget(self._cat_dog)

        # Everything in a scroll area, the last resort of a short dock: widgets are never squeezed
        # below their height (and drawn over each other), the panel scrolls instead.
        self._inner = QWidget()
        outer = QVBoxLayout(self._inner)
        outer.addWidget(self.banner)
        outer.addLayout(head)
        outer.addWidget(self.empty_label)
        outer.addWidget(self._content)
        outer.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self._inner)
        self._inner.installEventFilter(self)
        self._fitting = False
        own = QVBoxLayout(self)
        own.setContentsMargins(0, 0, 0, 0)
        own.addWidget(self.scroll)
        self._num_classes: int | None = None  # the model's class count, when the app said it
        self._top: list[dict] = []
        self._explained = None  # the key of the class the explain view shows: an index, "cat", "dog", None
        self._comparing = False
        self.clear()

    def set_model_info(self, info: dict) -> None:
        """Take the worker's model dict ("weights_text", "pretrained", "class_names"):
        the weights line, the banner, how many classes there are to rank, and the names to search."""
        names = info.get("class_names")
        self.set_weights(str(info.get("weights_text", "")), bool(info.get("pretrained")),
                         num_classes=len(names) if names is not None else None)
        self.picker.set_class_names(list(names) if names is not None else [])
        self.picker.setVisible(bool(names))
        self.set_explained(None)  # other weights: the old class is no longer explained
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
        self._top = top
        self.top_bars.set_rows(top)
        self.table.set_rows(top)
        self._fit_table()
        self.sum_label.setText(sum_note([float(e["prob"]) for e in top], total, format_prob))

        if cat_vs_dog is not None:
            for key, button in self.summed_buttons.items():
                button.setText(f"{key.capitalize()} {format_percent(float(cat_vs_dog[key]), 0)}")
        self._has_cat_dog = cat_vs_dog is not None
        self._show_mode()
        self._show_explained()
        self.empty_label.setVisible(False)
        self._content.setVisible(True)

    # ------------------------------------------------------------------ an ablation's before and after
    def set_comparison(self, rows: list[dict], cat_vs_dog: dict | None, caption: str) -> None:
        """Show before → after for ``rows`` (inference.ablation's AblationResult.rows, as they come),
        the cat-vs-dog change (its ``cat_vs_dog``, or None) and ``caption``, naming the ablation."""
        self.compare.set_comparison(rows, cat_vs_dog, caption)
        self._comparing = True
        self._show_mode()
        self._show_explained()
        self.empty_label.setVisible(False)
        self._content.setVisible(True)

    def clear_comparison(self) -> None:
        """Back to the normal view of the original predictions."""
        self._comparing = False
        self.compare.clear()
        self._show_mode()

    def is_comparing(self) -> bool:
        return self._comparing

    def _show_mode(self) -> None:
        """The comparison or the normal view. What goes is hidden before what comes is shown: a main
        window asked for its size in between would otherwise grow to fit both (and not shrink back)."""
        normal = [self.top_bars, self.table, self.sum_label, self.note]
        chips = [self._cat_dog, self._cat_dog_rule]
        if self._has_cat_dog:
            normal += chips
        else:
            for w in chips:
                w.setVisible(False)
        going, coming = (normal, [self.compare]) if self._comparing else ([self.compare], normal)
        for w in going:
            w.setVisible(False)
        for lay in (self._bars_layout, self._right_layout, self._cols, self._content.layout()):
            lay.invalidate()  # nested layouts keep their old minimum until the next event loop pass
        for w in coming:
            w.setVisible(True)

    # ------------------------------------------------------------------ choosing a class
    def _row_clicked(self, row: int) -> None:
        if row < len(self._top) and self._top[row].get("index") is not None:
            self.classChosen.emit(int(self._top[row]["index"]))

    def _summed_clicked(self, key: str) -> None:
        self._show_explained()  # a click toggles the chip; only set_explained says what is explained
        self.summedChosen.emit(key)

    def set_explained(self, key) -> None:
        """Mark the class the explain view shows: a class index, "cat", "dog", or None for none."""
        self._explained = key if isinstance(key, str) or key is None else int(key)
        self._show_explained()

    def explained(self):
        return self._explained

    def _show_explained(self) -> None:
        key = self._explained
        row = next((r for r, e in enumerate(self._top) if isinstance(key, int) and e.get("index") == key), None)
        self.top_bars.set_marked(row)
        self.table.set_marked(row)
        self.compare.set_marked(key)
        for name, button in self.summed_buttons.items():
            button.setChecked(key == name)
        label = self._label_of(key)
        self.explained_label.setText(explaining_caption(label) if label else "")
        self.explained_label.setVisible(bool(label))

    def _label_of(self, key) -> str:
        if key is None:
            return ""
        if isinstance(key, str):
            return {"cat": "cat (5 classes summed)", "dog": "dog (118 classes summed)"}.get(key, key)
        for entry in self._top:
            if entry.get("index") == key:
                return str(entry["label"])
        names = self.picker.class_names()
        return names[key] if 0 <= key < len(names) else f"class {key}"

    # ------------------------------------------------------------------ layout
    def _fit_table(self) -> None:
        self.table.fit()
        self._reflow(self.width())

    def _side_by_side_width(self) -> int:
        margins = self._inner.layout().contentsMargins() if hasattr(self, "_inner") else None
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
        self._fit_note()

    def minimumSizeHint(self) -> QSize:
        """Narrow enough for a side dock (the columns stack when side by side does not fit), and
        short: below its height the content scrolls instead of being squeezed."""
        margins = self._inner.layout().contentsMargins()
        narrow = max(self._bars_layout.minimumSize().width(), self.table.minimumWidth())
        width = min(self._inner.minimumSizeHint().width(), narrow + margins.left() + margins.right())
        return QSize(width, 6 * self.fontMetrics().height())

    def clear(self) -> None:
        """Forget the predictions and any comparison (the weights line and banner stay)."""
        self._top = []
        self._comparing = False
        self.compare.clear()
        self._has_cat_dog = False
        self._show_mode()
        self.top_bars.clear()
        self.top_bars.set_rows([{"label": "", "prob": 0.0}] * TOP_K)
        self.table.blank(TOP_K)
        self._fit_table()
        self.sum_label.setText("")
        self._content.setVisible(False)
        self.empty_label.setVisible(True)

    def set_busy(self, busy: bool) -> None:
        """Grey out the current (stale) numbers and say "computing…" while a new result is on its way."""
        self.busy_label.setVisible(busy)
        self._content.setEnabled(not busy)

    def is_busy(self) -> bool:
        """True between set_busy(True) and set_busy(False)."""
        return self.busy_label.isVisibleTo(self)
