"""The predictions of A and B in one table: class, A's probability, B's, and the change.

The same columns as the ablation's before/after view (widgets.ablation_compare), printed with
the same helpers. A change is in percentage points, red and ▲ when B is higher, blue and ▼
when it is lower. The rows come in the caller's order (e.g. A's top classes, then B's
new ones), and long class names are elided, whole in the tooltip. Δ is the only thing
computed here, B − A of the two numbers shown.
"""
from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from widgets.ablation_compare import sign_colour
from widgets.class_rows import ElidedLabel
from widgets.patch_tiles import tint_text
from widgets.prediction_text import format_delta, format_logit, format_percent

HEADERS = ("class", "A", "B", "Δ")


def check_rows(rows) -> list[dict]:
    """The rows as dicts with label, prob_a and prob_b (finite, 0..1), or a one-line ValueError."""
    out = []
    for i, row in enumerate(rows):
        try:
            label, pa, pb = str(row["label"]), float(row["prob_a"]), float(row["prob_b"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"prediction row {i} needs 'label', 'prob_a' and 'prob_b' (numbers)") from None
        if not all(math.isfinite(p) and -1e-6 <= p <= 1 + 1e-6 for p in (pa, pb)):
            raise ValueError(f"prediction row {i} ({label}): probabilities must lie in 0..1, got {pa}, {pb}")
        out.append({**row, "label": label, "prob_a": pa, "prob_b": pb})
    return out


class ComparePredictions(QWidget):
    """A bold title, then class | A | B | Δ rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Predictions")
        bold = QFont(self.title.font())
        bold.setBold(True)
        self.title.setFont(bold)
        self._host = QWidget()
        self._grid = QGridLayout(self._host)
        self._grid.setContentsMargins(0, 0, 4, 0)
        self._grid.setHorizontalSpacing(8)
        self._grid.setVerticalSpacing(1)
        self._grid.setColumnStretch(0, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.title)
        lay.addWidget(self._host)
        self.rows: list[dict] = []
        self.lines: list[dict] = []     # per row: its labels (name, a, b, delta), for tests
        self._made: list[QWidget] = []

    def set_rows(self, rows: list[dict]) -> None:
        """Show ``rows`` in their order: dicts with "label", "prob_a", "prob_b" and optionally
        "index", "logit_a", "logit_b" (for the tooltip)."""
        rows = check_rows(rows)
        self._clear()
        self.rows = rows
        muted = f"color: {tint_text(self).name()};"
        for col, text in enumerate(HEADERS):
            head = self._label(text, right=col > 0)
            head.setStyleSheet(muted)
            if col == 3:
                head.setToolTip("B − A, in percentage points")
            self._put(head, 0, col)
        for r, row in enumerate(rows, start=1):
            name = ElidedLabel()
            name.setText(row["label"])
            tip = self._tip(row)
            name.setToolTip(tip)
            a = self._label(format_percent(row["prob_a"]), right=True)
            b = self._label(format_percent(row["prob_b"]), right=True)
            text, sign = format_delta(row["prob_b"] - row["prob_a"], 1, 100.0)
            delta = self._label(text, right=True)
            colour = sign_colour(self, sign)
            if colour:
                delta.setStyleSheet(f"color: {colour}; font-weight: bold;")
            for col, w in enumerate((name, a, b, delta)):
                w.setToolTip(tip)
                self._put(w, r, col)
            self.lines.append({"name": name, "a": a, "b": b, "delta": delta})

    def clear(self) -> None:
        self._clear()
        self.rows = []

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _tip(row: dict) -> str:
        index = row.get("index")
        head = f"class {index}: {row['label']}" if index is not None else row["label"]
        lines = [head, f"p {format_percent(row['prob_a'])} in A → {format_percent(row['prob_b'])} in B "
                       f"({format_delta(row['prob_b'] - row['prob_a'], 1, 100.0)[0]} percentage points)"]
        if row.get("logit_a") is not None and row.get("logit_b") is not None:
            lines.append(f"logit {format_logit(row['logit_a'])} → {format_logit(row['logit_b'])}")
        return "\n".join(lines)

    @staticmethod
    def _label(text: str, right: bool = False) -> QLabel:
        label = QLabel(text)
        label.setTextFormat(Qt.TextFormat.PlainText)
        if right:
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return label

    def _put(self, w: QWidget, row: int, col: int) -> None:
        self._grid.addWidget(w, row, col)
        self._made.append(w)
        w.show()   # a widget added to a visible parent stays hidden until shown

    def _clear(self) -> None:
        for w in self._made:
            self._grid.removeWidget(w)
            w.deleteLater()
        self._made, self.lines = [], []
