"""The overlay's row of controls: opacity, how the heat is blended, colormap, native resolution.

Kept apart from the view so that the view is about pictures; the row only turns the
user's clicks into signals and shows what the view's setters decide. It has to fit
the overlay's column at 1280×720, so the two combos fall back to short texts
("by value", "auto") when the row is narrow.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QSlider, QWidget

from widgets.colormaps import BLENDS
from widgets.compact import CompactCombo
from widgets.view_controls import colormap_combo

BLEND_TIPS = ("How the heat covers the photo.\n"
              "by value: opacity follows the value (transparent where the map is low, opaque where it is "
              "high; for a diverging map, far from 0); the slider scales it all\n"
              "flat: one opacity everywhere, the slider's")


class OverlayControls(QWidget):
    """Opacity slider, blend combo, colormap combo and the Native box, in one row."""

    alphaMoved = Signal(float)
    blendChosen = Signal(str)
    colormapChosen = Signal(str)
    nativeToggled = Signal(bool)

    def __init__(self, alpha: float, blend: str, cmap: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(round(alpha * 100))
        self.slider.setMinimumWidth(36)
        self.slider.setToolTip("Heatmap opacity (with “by value”, the opacity of the highest values)")
        self.slider.valueChanged.connect(lambda v: self.alphaMoved.emit(v / 100.0))
        self.blend = CompactCombo()
        for key, (text, short) in BLENDS.items():
            self.blend.add(key, text, short)
        self.blend.setCurrentIndex(self.blend.findData(blend))
        self.blend.setToolTip(BLEND_TIPS)
        self.blend.dataChosen.connect(self.blendChosen.emit)
        self.colormap = colormap_combo(cmap, "the heatmap")
        self.colormap.dataChosen.connect(self.colormapChosen.emit)
        self.native = QCheckBox("Native")
        self.native.setToolTip("Show the feature map alone, one square per activation, without the photo")
        self.native.toggled.connect(self.nativeToggled.emit)

        row = QHBoxLayout(self)
        row.setContentsMargins(4, 0, 4, 2)
        row.setSpacing(4)
        row.addWidget(self.blend)      # it names the slider too: "opacity by value ▾ ───●──"
        row.addWidget(self.slider, 1)
        row.addSpacing(2)
        row.addWidget(self.colormap)
        row.addSpacing(2)
        row.addWidget(self.native)

    @staticmethod
    def show_value(widget, value) -> None:
        """Put ``value`` on ``widget`` (slider int, combo data, checkbox bool) without its signal."""
        widget.blockSignals(True)
        if isinstance(widget, QSlider):
            widget.setValue(value)
        elif isinstance(widget, QCheckBox):
            widget.setChecked(value)
        else:
            widget.setCurrentIndex(widget.findData(value))
        widget.blockSignals(False)
