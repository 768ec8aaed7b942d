"""The predictions before and after a channel ablation, side by side, with what changed.

For each class two aligned lines: its probability before and after, with the change
in percentage points, then its logit before and after, with the change. A change is
red and ▲ when the ablation raised it, blue and ▼ when it lowered it (the app's
sign convention), so the answer's collapse reads at a glance. Classes that only
entered the top after the ablation follow under their own heading; the cat-vs-dog
answer closes the list. Every row is still a button that explains its class, and
Reset (``resetRequested``) asks for the original run back. The numbers come ready
from the engine's ablation module (the app passes them on as plain dicts): this
widget prints them and computes nothing.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy,
                               QVBoxLayout, QWidget)

from widgets.class_rows import ElidedLabel, RowHit, row_style
from widgets.prediction_text import explain_tip, format_delta, format_logit, format_percent

# The sign convention's red and blue, dark enough to read on a light panel; lighter on a dark one.
UP_COLOURS = ("#c62828", "#ff7062")
DOWN_COLOURS = ("#1565c0", "#70a8ff")
COLUMNS = 4  # class | before | after | change
MIN_ROWS_HEIGHT = 150  # a squeezed dock still shows about three classes, and scrolls to the rest


def sign_colour(widget: QWidget, sign: int) -> str | None:
    """The text colour of a change of ``sign`` (None: no change, the palette's own)."""
    if sign == 0:
        return None
    dark = widget.palette().color(QPalette.ColorRole.Window).lightness() < 128
    return (UP_COLOURS if sign > 0 else DOWN_COLOURS)[int(dark)]


class _Scroll(QScrollArea):
    """The rows, scrolling only when the dock is too short for them: it asks for their whole height
    but can shrink to MIN_ROWS_HEIGHT, so ten classes never make a 720-px window grow."""

    def __init__(self, inner: QWidget):
        super().__init__()
        self.setWidget(inner)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.viewport().setAutoFillBackground(False)
        inner.setAutoFillBackground(False)

    def _bar(self) -> int:
        return self.verticalScrollBar().sizeHint().width()

    def sizeHint(self) -> QSize:
        hint = self.widget().sizeHint()
        return QSize(hint.width() + self._bar(), hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = self.widget().minimumSizeHint()
        return QSize(hint.width() + self._bar(), min(hint.height(), MIN_ROWS_HEIGHT))


class AblationCompare(QWidget):
    """Before/after rows. ``rowClicked(index)`` for a class, ``summedClicked("cat"|"dog")``,
    ``resetRequested()`` for the Reset button."""

    rowClicked = Signal(int)
    summedClicked = Signal(str)
    resetRequested = Signal()

    def __init__(self, muted_style: str = "", parent=None):
        super().__init__(parent)
        self._muted = muted_style
        self.title_label = QLabel("Before and after")
        bold = QFont(self.title_label.font())
        bold.setBold(True)
        self.title_label.setFont(bold)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Back to the original run: the channels as the network computed them")
        self.reset_button.clicked.connect(self.resetRequested)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title_label, 1)
        head.addWidget(self.reset_button)
        self.caption_label = QLabel()
        self.caption_label.setTextFormat(Qt.TextFormat.PlainText)
        self.caption_label.setWordWrap(True)
        self.caption_label.setStyleSheet(muted_style + " font-style: italic;")

        self._rows_host = QWidget()
        self._rows_host.setStyleSheet(row_style(self))
        self._grid = QGridLayout(self._rows_host)
        self._grid.setContentsMargins(0, 0, 4, 0)  # the last column clear of a scroll bar
        self._grid.setHorizontalSpacing(4)
        self._grid.setVerticalSpacing(0)
        self._grid.setColumnStretch(0, 1)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addLayout(head)
        lay.addWidget(self.caption_label)
        self.scroll = _Scroll(self._rows_host)
        lay.addWidget(self.scroll)
        self._made: list[QWidget] = []      # the widgets now in the grid
        # Widgets built once and reused by later comparisons (building and styling ~50 labels per
        # ablation cost more than the re-run of conv5_3 it reports): per kind, the ones made so far.
        self._pools: dict[str, list] = {}
        self._taken: dict[str, int] = {}
        self.rows: list[dict] = []          # what was given, as given
        self.cat_vs_dog: dict | None = None
        # Per shown row: its key (class index, "cat", "dog") and its labels, for tests and marking.
        self.lines: list[dict] = []
        self._marked = None

    # ------------------------------------------------------------------ filling
    def set_comparison(self, rows: list[dict], cat_vs_dog: dict | None, caption: str) -> None:
        """Show ``rows`` (inference.ablation.AblationResult.rows), ``cat_vs_dog`` ({"cat": {"before",
        "after", "delta"}, "dog": …} or None) and the one-line ``caption`` naming the ablation."""
        self.rows, self.cat_vs_dog = list(rows), cat_vs_dog
        self.caption_label.setText(caption)
        self.caption_label.setToolTip(caption)
        self._clear_grid()
        r = self._header(0)
        old = [row for row in self.rows if not row.get("new")]
        new = [row for row in self.rows if row.get("new")]
        for row in old:
            r = self._class_row(r, row)
        if new:
            r = self._heading(r, "new in the top after the ablation:")
            for row in new:
                r = self._class_row(r, row)
        if cat_vs_dog is not None:
            r = self._rule(r)
            for key in ("cat", "dog"):
                r = self._summed_row(r, key, cat_vs_dog[key])
        self.set_marked(self._marked)
        self.scroll.updateGeometry()

    def clear(self) -> None:
        self.rows, self.cat_vs_dog = [], None
        self.caption_label.setText("")
        self._clear_grid()
        self.scroll.updateGeometry()

    def _clear_grid(self) -> None:
        for w in self._made:
            self._grid.removeWidget(w)
            w.hide()
        self._made, self.lines, self._taken = [], [], {}

    def _reuse(self, kind: str, make):
        """The next unused widget (or widget set) of ``kind`` in this filling, made the first time."""
        pool = self._pools.setdefault(kind, [])
        i = self._taken.get(kind, 0)
        self._taken[kind] = i + 1
        if i == len(pool):
            pool.append(make())
        return pool[i]

    def _add(self, w: QWidget, row: int, col: int, span: int = 1) -> QWidget:
        self._grid.addWidget(w, row, col, 1, span)
        self._made.append(w)
        w.show()
        return w

    @staticmethod
    def _style(w: QWidget, css: str) -> None:
        if w.styleSheet() != css:  # a style sheet set again re-polishes the widget even when unchanged
            w.setStyleSheet(css)

    def _label(self, text: str = "", muted: bool = False, right: bool = False) -> QLabel:
        label = QLabel(text)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        if muted:
            label.setStyleSheet(self._muted)
        if right:
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return label

    def _header(self, r: int) -> int:
        for col, text in enumerate(("class", "before", "after", "change")):
            label = self._add(self._reuse(f"header{col}", lambda: self._label(text, muted=True, right=col > 0)), r, col)
            if col == 3:
                label.setToolTip("probabilities change in percentage points, logits in their own units")
        return r + 1

    def _heading(self, r: int, text: str) -> int:
        label = self._reuse("heading", lambda: self._label(muted=True))
        label.setText(text)
        label.setContentsMargins(0, 6, 0, 0)
        self._add(label, r, 0, COLUMNS)
        return r + 1

    def _rule(self, r: int) -> int:
        def make():
            rule = QFrame()
            rule.setFrameShape(QFrame.Shape.HLine)
            rule.setFrameShadow(QFrame.Shadow.Sunken)
            return rule
        self._add(self._reuse("rule", make), r, 0, COLUMNS)
        return r + 1

    def _set_delta(self, label: QLabel, delta: float, decimals: int, scale: float = 1.0) -> QLabel:
        text, sign = format_delta(delta, decimals, scale)
        label.setText(text)
        colour = sign_colour(self, sign)
        self._style(label, f"color: {colour}; font-weight: bold;" if colour else "")
        return label

    def _hit(self, r: int, rows: int, tip: str, on_click) -> RowHit:
        def make():
            hit = RowHit()
            hit.clicked.connect(lambda: hit.on_click())
            return hit
        hit = self._reuse("hit", make)
        hit.on_click = on_click
        hit.setToolTip(tip)
        self._grid.addWidget(hit, r, 0, rows, COLUMNS)
        self._made.append(hit)
        hit.show()
        hit.lower()  # under the row's labels, which let the mouse through to it
        return hit

    def _line(self, r: int, widgets) -> None:
        for col, w in enumerate(widgets):
            self._add(w, r, col)

    def _make_class_widgets(self) -> dict:
        name = ElidedLabel()
        name.setContentsMargins(6, 0, 0, 0)  # clear of the marked row's left bar
        name.setMinimumHeight(20)
        name.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        logit_name = self._label("logit", muted=True)
        logit_name.setIndent(18)
        return {"name": name, "prob": [self._label(right=True) for _ in range(2)],
                "prob_delta": self._label(right=True), "logit_name": logit_name,
                "logit": [self._label(muted=True, right=True) for _ in range(2)],
                "logit_delta": self._label(right=True)}

    def _class_row(self, r: int, row: dict) -> int:
        index, label = int(row["index"]), str(row["label"])
        tip = (f"class {index}: {label}, rank {row.get('rank_before', '?')} → {row.get('rank_after', '?')}\n"
               f"p {format_percent(row['prob_before'])} → {format_percent(row['prob_after'])} "
               f"({format_delta(row['prob_delta'], 1, 100.0)[0]} percentage points)\n"
               f"logit {format_logit(row['logit_before'])} → {format_logit(row['logit_after'])} "
               f"({format_delta(row['logit_delta'], 2)[0]})\n{explain_tip(label)}")
        hit = self._hit(r, 2, tip, lambda index=index: self.rowClicked.emit(index))
        w = self._reuse("class", self._make_class_widgets)
        w["name"].setText(label)
        for lab, k in zip(w["prob"], ("prob_before", "prob_after")):
            lab.setText(format_percent(row[k]))
        for lab, k in zip(w["logit"], ("logit_before", "logit_after")):
            lab.setText(format_logit(row[k]))
        dprob = self._set_delta(w["prob_delta"], row["prob_delta"], 1, 100.0)
        dlogit = self._set_delta(w["logit_delta"], row["logit_delta"], 2)
        self._line(r, (w["name"], *w["prob"], dprob))
        self._line(r + 1, (w["logit_name"], *w["logit"], dlogit))
        self.lines.append({"key": index, "hit": hit, "name": w["name"], "prob": w["prob"], "prob_delta": dprob,
                           "logit": w["logit"], "logit_delta": dlogit})
        return r + 2

    def _make_summed_widgets(self) -> dict:
        name = self._label()
        name.setIndent(6)
        name.setMinimumHeight(22)
        return {"name": name, "prob": [self._label(right=True) for _ in range(2)], "prob_delta": self._label(right=True)}

    def _summed_row(self, r: int, key: str, change: dict) -> int:
        hit = self._hit(r, 1, f"{explain_tip(key)}: the log of the summed probability of ImageNet's "
                              + ("cat classes 281–285" if key == "cat" else "dog classes 151–268"),
                        lambda key=key: self.summedClicked.emit(key))
        w = self._reuse("summed", self._make_summed_widgets)
        w["name"].setText(key.capitalize())
        for lab, k in zip(w["prob"], ("before", "after")):
            lab.setText(format_percent(change[k]))
        dprob = self._set_delta(w["prob_delta"], change["delta"], 1, 100.0)
        self._line(r, (w["name"], *w["prob"], dprob))
        self.lines.append({"key": key, "hit": hit, "name": w["name"], "prob": w["prob"], "prob_delta": dprob})
        return r + 1

    # ------------------------------------------------------------------ marking
    def set_marked(self, key) -> None:
        """Mark the row of the class the explain view shows (an index, "cat", "dog", or None)."""
        self._marked = key
        for line in self.lines:
            line["hit"].set_marked(key is not None and line["key"] == key)

    def line_of(self, key) -> dict | None:
        return next((line for line in self.lines if line["key"] == key), None)
