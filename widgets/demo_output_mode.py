"""How the demo conv's output becomes a picture: the choice offered, and one line on each.

The output of ``nn.Conv2d(3, 3, 3)`` on a photo in 0..1 has values outside 0..1, so
"show it as RGB" needs a rule. The engine (inference.demo_conv) computes every rule's
picture; these are their names and what the panel says about them. The keys match
``inference.demo_conv.OUTPUT_MODES`` (tests/test_demo_conv_panel.py checks it).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from widgets.prediction_text import format_signed

OUTPUT_MODES = ("wrap", "clip", "stretch")
DEFAULT_OUTPUT_MODE = "clip"
MODE_LABELS = {"wrap": "wrap", "clip": "clip", "stretch": "stretch"}
# The second line of the "Output (RGB)" caption.
NEEDS_PICTURES = "not available: the engine sent no picture for it"
MODE_CAPTIONS = {"wrap": "wrapped: astype(uint8)", "clip": "clip(out·255)", "stretch": "stretched min..max"}
_LINES = {
    "wrap": ("the write-up's <tt>(out*255).astype(np.uint8)</tt>: numpy truncates and wraps "
             "mod 256 (−1.5 → 255, 256.7 → 0), hence the write-up's false colours"),
    "clip": "<tt>clip(out·255, 0, 255)</tt>: below 0 is black, above 1 is white, the rest as computed",
    "stretch": ("<tt>(out − min)/(max − min)·255</tt> with one min..max over all three "
                "channels{range}, so their balance is kept"),
}
# More than a line holds: the combo's item tooltips.
MODE_TIPS = {
    "wrap": ("The write-up's line. numpy's float→uint8 cast of a value outside 0..255 is C's undefined "
             "conversion; x86-64 truncates toward zero and wraps modulo 256, and that is what is drawn, "
             "on every platform."),
    "clip": "Values below 0 become 0 and above 255 become 255 (the default).",
    "stretch": "The smallest output value of the three channels becomes 0, the largest 255.",
}


def check_output_mode(mode: str) -> str:
    """``mode`` if it is one of OUTPUT_MODES, else a one-line ValueError."""
    if mode not in OUTPUT_MODES:
        raise ValueError(f"unknown output mode {mode!r}; choose one of {', '.join(OUTPUT_MODES)}")
    return mode


def mode_line(mode: str, stretch_range: tuple[float, float] | None = None) -> str:
    """The one line (rich text) that says what ``mode`` does; "stretch" names its range when known."""
    text = _LINES[check_output_mode(mode)]
    if mode == "stretch":
        lo_hi = "" if stretch_range is None else (
            f" ({format_signed(stretch_range[0], 3)} … {format_signed(stretch_range[1], 3)})")
        text = text.format(range=lo_hi)
    return text


class OutputModeChoice(QObject):
    """One row: "Output:", the combo and the line explaining the chosen rule, over the engine's pictures.

    ``changed`` is emitted for the user's choices only (never by :meth:`set_mode` or
    :meth:`set_pictures`). A mode the engine sent no picture for is disabled, and
    "clip" is shown instead."""

    changed = Signal(str)

    def __init__(self, font: QFont, parent=None):
        super().__init__(parent)
        self._pictures: dict[str, np.ndarray] = {}
        self._range: tuple[float, float] | None = None
        self.combo = QComboBox()
        self.combo.setToolTip("How the output, whose values leave 0..1, becomes an RGB picture")
        for i, mode in enumerate(OUTPUT_MODES):
            self.combo.addItem(MODE_LABELS[mode], mode)
            self.combo.setItemData(i, MODE_TIPS[mode], Qt.ItemDataRole.ToolTipRole)
        self.combo.setCurrentIndex(OUTPUT_MODES.index(DEFAULT_OUTPUT_MODE))
        self.label = QLabel(mode_line(DEFAULT_OUTPUT_MODE))
        self.label.setFont(font)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.combo.currentIndexChanged.connect(self._on_index)
        self.row = QWidget()
        box = QHBoxLayout(self.row)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(6)
        box.addWidget(QLabel("Output:"), 0, Qt.AlignmentFlag.AlignVCenter)
        box.addWidget(self.combo, 0, Qt.AlignmentFlag.AlignVCenter)
        box.addWidget(self.label, 1)

    def height_for_width(self, width: int) -> int:
        """The row's height when ``width`` wide (the line wraps when narrow)."""
        return self.row.layout().totalHeightForWidth(width)

    def set_pictures(self, pictures: dict, stretch_range: tuple[float, float] | None) -> None:
        """The engine's pictures by mode, and the min..max "stretch" used (for its line)."""
        self._pictures, self._range = dict(pictures), stretch_range
        for i, mode in enumerate(OUTPUT_MODES):
            available = mode in self._pictures
            self.combo.model().item(i).setEnabled(available)
            self.combo.setItemData(i, MODE_TIPS[mode] if available else f"{MODE_TIPS[mode]} ({NEEDS_PICTURES})",
                                   Qt.ItemDataRole.ToolTipRole)
        self._relabel()

    def mode(self) -> str:
        """The chosen rule: "wrap", "clip" or "stretch"."""
        return self.combo.currentData()

    def set_mode(self, mode: str) -> None:
        self.combo.blockSignals(True)
        try:
            self.combo.setCurrentIndex(OUTPUT_MODES.index(check_output_mode(mode)))
        finally:
            self.combo.blockSignals(False)
        self._relabel()

    def shown_mode(self) -> str:
        """The chosen mode, or "clip" when there is no picture for it."""
        mode = self.mode()
        return mode if mode in self._pictures or not self._pictures else "clip"

    def picture(self) -> np.ndarray | None:
        """The uint8 [H, W, 3] picture of the shown mode (None before any result)."""
        return self._pictures.get(self.shown_mode())

    def caption(self) -> str:
        return MODE_CAPTIONS[self.shown_mode()]

    def _relabel(self) -> None:
        self.label.setText(mode_line(self.shown_mode(), self._range))

    def _on_index(self, _index: int) -> None:
        self._relabel()
        self.changed.emit(self.mode())
