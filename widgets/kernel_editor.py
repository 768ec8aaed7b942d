"""A dialog to type the 3×3×3×3 kernel and 3 biases of the demo convolution by hand.

Students learn most by changing one number and watching the picture change;
this dialog gives them every weight of ``nn.Conv2d(3, 3, 3)`` as a spin box,
tinted like the panel's kernel table: red = positive, blue = negative.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from widgets.kernel_table import CHANNELS, NEGATIVE, POSITIVE, tint

LIMIT = 100.0
DECIMALS = 3


def _spin(value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(-LIMIT, LIMIT)
    box.setDecimals(DECIMALS)
    box.setSingleStep(0.1)
    box.setValue(float(value))
    box.setAlignment(Qt.AlignmentFlag.AlignRight)
    box.setMinimumWidth(box.fontMetrics().horizontalAdvance("-100.000") + 34)
    return box


class KernelEditorDialog(QDialog):
    """Three tabs (one per output channel) of three 3×3 grids (R, G, B input) plus a bias."""

    def __init__(self, weight=None, bias=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Edit the demo kernel")
        w = np.zeros((3, 3, 3, 3), np.float32) if weight is None else np.asarray(weight, np.float32)
        b = np.zeros(3, np.float32) if bias is None else np.asarray(bias, np.float32)
        if w.shape != (3, 3, 3, 3) or b.shape != (3,):
            raise ValueError(f"kernel must be 3×3×3×3 with 3 biases, got {w.shape} and {b.shape}")
        self._initial = (w.copy(), b.copy())
        self._spins = np.empty((3, 3, 3, 3), dtype=object)  # [out, in, row, col] → spin box
        self._bias_spins: list[QDoubleSpinBox] = []
        self._bulk = False

        intro = QLabel(
            "Output channel <i>o</i> = Σ over R, G, B of (3×3 window · its grid) + bias<sub><i>o</i></sub>. "
            "Values apply to pixels scaled to 0..1. "
            f"<span style='color:{POSITIVE.name()}'>Red</span> = positive, "
            f"<span style='color:{NEGATIVE.name()}'>blue</span> = negative."
        )
        intro.setWordWrap(True)
        self.tabs = QTabWidget()
        for o in range(3):
            page = QWidget()
            row = QHBoxLayout(page)
            for i in range(3):
                box = QGroupBox(f"input {CHANNELS[i]}")
                grid = QGridLayout(box)
                grid.setSpacing(3)
                for r in range(3):
                    for c in range(3):
                        spin = _spin(w[o, i, r, c])
                        self._spins[o, i, r, c] = spin
                        grid.addWidget(spin, r, c)
                row.addWidget(box)
            bias_box = QGroupBox("bias")
            bias_layout = QVBoxLayout(bias_box)
            spin = _spin(b[o])
            self._bias_spins.append(spin)
            bias_layout.addWidget(spin)
            bias_layout.addStretch(1)
            row.addWidget(bias_box)
            self.tabs.addTab(page, f"Output {o} ({CHANNELS[o]})")

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        reset = QPushButton("Reset")
        reset.setToolTip("Back to the kernel the dialog opened with")
        zero = QPushButton("Zero all")
        buttons.addButton(reset, QDialogButtonBox.ButtonRole.ResetRole)
        buttons.addButton(zero, QDialogButtonBox.ButtonRole.ResetRole)
        reset.clicked.connect(lambda: self.set_kernel(*self._initial))
        zero.clicked.connect(lambda: self.set_kernel(np.zeros((3, 3, 3, 3)), np.zeros(3)))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)
        for spin in self._all_spins():
            spin.valueChanged.connect(self._retint)
        self._retint()

    def _all_spins(self) -> list[QDoubleSpinBox]:
        return [*self._spins.ravel(), *self._bias_spins]

    def _retint(self, _value=None) -> None:
        """Tint every box by its sign and size, relative to the largest number (as the panel does)."""
        if self._bulk:
            return
        spins = self._all_spins()
        scale = max((abs(s.value()) for s in spins), default=0.0)
        base = self.palette().color(QPalette.ColorRole.Base)
        for spin in spins:
            spin.setStyleSheet(f"QDoubleSpinBox {{ background: {tint(spin.value(), scale, base).name()}; }}")

    def tint_of(self, spin: QDoubleSpinBox) -> str:
        """The background colour a box is tinted with (for tests)."""
        sheet = spin.styleSheet()
        return sheet.split("background:", 1)[1].split(";", 1)[0].strip() if "background:" in sheet else ""

    def spin(self, out: int, inp: int, row: int, col: int) -> QDoubleSpinBox:
        """The spin box of weight[out, inp, row, col]."""
        return self._spins[out, inp, row, col]

    def bias_spin(self, out: int) -> QDoubleSpinBox:
        """The spin box of bias[out]."""
        return self._bias_spins[out]

    def set_kernel(self, weight, bias) -> None:
        """Fill every spin box from ``weight`` (3,3,3,3) and ``bias`` (3,)."""
        w, b = np.asarray(weight, np.float64), np.asarray(bias, np.float64)
        self._bulk = True  # one re-tint at the end, not one per box
        try:
            for idx in np.ndindex(3, 3, 3, 3):
                self._spins[idx].setValue(float(w[idx]))
            for o in range(3):
                self._bias_spins[o].setValue(float(b[o]))
        finally:
            self._bulk = False
        self._retint()

    def weight(self) -> np.ndarray:
        """The edited kernel, float32 (3, 3, 3, 3) [out, in, kh, kw]."""
        out = np.zeros((3, 3, 3, 3), np.float32)
        for idx in np.ndindex(3, 3, 3, 3):
            out[idx] = self._spins[idx].value()
        return out

    def bias(self) -> np.ndarray:
        """The edited biases, float32 (3,)."""
        return np.array([s.value() for s in self._bias_spins], np.float32)
