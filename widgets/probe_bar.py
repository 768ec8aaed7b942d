"""The bar above the channel grid: probe a unit, and ablate the selected channels.

A Qt view only: it says what the user asked (probe on/off, ablate the
selection, keep only it, select the top channels by contribution, reset) and
shows what is in force; the window asks the worker and fills in the rest.
"""
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSpinBox, QToolButton, QWidget

ABLATE_MODES = {"zero": "→ 0", "mean": "→ mean"}


class ProbeBar(QWidget):
    """``probeToggled(bool)``, ``ablateRequested(mode, keep)``, ``topRequested(k)``, ``resetRequested()``."""

    probeToggled = Signal(bool)
    ablateRequested = Signal(str, bool)
    topRequested = Signal(int)
    resetRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        self._probe = self._button("Probe", "Click a position on a map (a tile, or the overlay in Native mode) to "
                                   "see which part of the photo it looks at: its receptive field, its effective "
                                   "field (|d unit / d input|) and every channel's value there (P)", checkable=True)
        self._probe.toggled.connect(self.probeToggled)
        lay.addWidget(self._probe)
        lay.addStretch(1)
        self._top_k = QSpinBox()
        self._top_k.setRange(1, 64)
        self._top_k.setValue(5)
        self._top_k.setToolTip("How many channels “Top” selects")
        self._top_k.setMaximumWidth(self._top_k.fontMetrics().horizontalAdvance("64") + 36)
        self._top = self._button("Top", "Select the channels that pushed the explained class up most "
                                 "(Grad-CAM contribution w_k · mean A_k); needs the Explain view at this layer")
        self._top.clicked.connect(lambda: self.topRequested.emit(self._top_k.value()))
        lay.addWidget(self._top_k)
        lay.addWidget(self._top)
        self._mode = QComboBox()
        for key, text in ABLATE_MODES.items():
            self._mode.addItem(text, key)
        self._mode.setToolTip("What an ablated channel becomes: zero everywhere, or its own spatial mean "
                              "(keeps its average, removes where it fired)")
        lay.addWidget(self._mode)
        self._ablate = self._button("Ablate", "Switch the selected channels off and run the network on from "
                                    "this layer: the prediction shows before and after")
        self._ablate.clicked.connect(lambda: self.ablateRequested.emit(self.mode(), False))
        self._keep = self._button("Keep", "Keep only the selected channels: switch every other channel of this layer off")
        self._keep.clicked.connect(lambda: self.ablateRequested.emit(self.mode(), True))
        self._reset = self._button("Reset", "Back to the original run")
        self._reset.clicked.connect(self.resetRequested)
        for b in (self._ablate, self._keep, self._reset):
            lay.addWidget(b)
        self._count = 0
        self._active = False
        self.set_selection(0, "")

    @staticmethod
    def _button(text: str, tip: str, checkable: bool = False) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setCheckable(checkable)
        return b

    # ------------------------------------------------------------------ state
    def set_selection(self, count: int, layer: str, can_ablate: bool = True) -> None:
        """``count`` channels of ``layer`` are selected (ctrl/shift-click in the grid shows how many)."""
        self._count = count
        for b in (self._ablate, self._keep):
            b.setEnabled(bool(count) and can_ablate)
            b.setToolTip(b.toolTip().split(" (")[0] + (f" ({count} of {layer})" if count else
                                                       " (ctrl-click or shift-click channels in the grid first)"))
        self._reset.setEnabled(self._active)

    def set_active(self, description: str | None) -> None:
        """An ablation is in force (its one-line description), or None."""
        self._active = description is not None
        self._reset.setEnabled(self._active)
        self._reset.setToolTip(f"Back to the original run (now: {description})" if description else "Back to the original run")

    def set_top_enabled(self, enabled: bool, why: str = "") -> None:
        self._top.setEnabled(enabled)
        self._top_k.setEnabled(enabled)
        if why:
            self._top.setToolTip(why)

    def set_probing(self, on: bool) -> None:
        self._probe.setChecked(on)

    def probing(self) -> bool:
        return self._probe.isChecked()

    def mode(self) -> str:
        return self._mode.currentData()

    def set_mode(self, mode: str) -> None:
        i = self._mode.findData(mode)
        if i < 0:
            raise ValueError(f"unknown ablation {mode!r}; choose zero or mean")
        self._mode.setCurrentIndex(i)

    def button(self, name: str) -> QToolButton:
        return {"probe": self._probe, "top": self._top, "ablate": self._ablate, "keep": self._keep,
                "reset": self._reset}[name]
