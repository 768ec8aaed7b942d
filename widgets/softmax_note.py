"""The "logits → softmax" explanation under the table, in as many words as the dock has room for.

It is the least important text of the predictions panel: when the dock is short (1280×720 with
the weights help box under it) it gives way before anything else does, first to the formula
alone on one line (the words move to its tooltip), then to nothing. The panel chooses the tier
(``PredictionsPanel._fit_note``); this widget only knows its texts and how tall each one is.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

SOFTMAX_HTML = (
    "<b>Logits</b> are the raw scores of the last layer; <b>softmax</b> turns them into "
    "probabilities that sum to 1:"
    "<div style='margin-top:4px; font-size:large; white-space:nowrap'>&nbsp;&nbsp;"
    "<i>p</i><sub><i>i</i></sub> = <i>e</i><sup><i>z</i><sub><i>i</i></sub></sup> / "
    "Σ<sub><i>j</i></sub> <i>e</i><sup><i>z</i><sub><i>j</i></sub></sup></div>"
)
SOFTMAX_SHORT_HTML = (
    "<b>softmax</b>: <i>p</i><sub><i>i</i></sub> = <i>e</i><sup><i>z</i><sub><i>i</i></sub></sup> / "
    "Σ<sub><i>j</i></sub> <i>e</i><sup><i>z</i><sub><i>j</i></sub></sup>"
)
SOFTMAX_TIP = ("Logits (z) are the raw scores of the last layer; softmax turns them into probabilities "
               "that sum to 1: p_i = exp(z_i) / Σ_j exp(z_j)")

FULL, SHORT, NONE = "full", "short", "none"
TIERS = (FULL, SHORT, NONE)  # richest first


class SoftmaxNote(QWidget):
    """The explanation at one of three tiers: FULL (sentence and formula), SHORT (formula), NONE."""

    def __init__(self, muted_style: str = "", parent=None):
        super().__init__(parent)
        self.full_label = QLabel(SOFTMAX_HTML)
        self.short_label = QLabel(SOFTMAX_SHORT_HTML)
        for label in (self.full_label, self.short_label):
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setWordWrap(True)
            label.setStyleSheet(muted_style)
        self.short_label.setToolTip(SOFTMAX_TIP)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.full_label)
        lay.addWidget(self.short_label)
        self._tier = FULL
        self.short_label.setVisible(False)

    def tier(self) -> str:
        return self._tier

    def set_tier(self, tier: str) -> None:
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {TIERS}, not {tier!r}")
        if tier == self._tier:
            return
        self._tier = tier
        self.full_label.setVisible(tier == FULL)
        self.short_label.setVisible(tier == SHORT)

    def height_for(self, tier: str, width: int) -> int:
        """How tall the note is at ``tier`` when ``width`` wide (0 for NONE)."""
        label = {FULL: self.full_label, SHORT: self.short_label}.get(tier)
        return 0 if label is None else label.heightForWidth(max(1, width))
