"""The switch above the overlay: show a channel, or explain a class (Grad-CAM / Grad-CAM++ at a layer).

A Qt view only: it knows names, not tensors. The window fills the layer list
from the analysed layers and reacts to its signals by asking the worker for a
CAM; the bar itself just says what the user picked.
"""
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QComboBox, QHBoxLayout, QLabel, QToolButton, QWidget

MODES = ("channel", "explain")
METHODS = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++"}
DEFAULT = ""  # the layer combo's first entry: the model's default CAM layer


class ExplainBar(QWidget):
    """``modeChanged(str)`` ("channel"/"explain"), ``methodChanged(str)``, ``layerChanged(str)`` ("" = default)."""

    modeChanged = Signal(str)
    methodChanged = Signal(str)
    layerChanged = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._group = QButtonGroup(self)
        self._buttons = {}
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        tips = {"channel": "Show the selected channel of the layer on the photo",
                "explain": "Show why the network answers a class: where on the photo its score comes from (Grad-CAM)"}
        for mode, text in zip(MODES, ("Channel", "Explain")):
            b = QToolButton()
            b.setText(text)
            b.setCheckable(True)
            b.setToolTip(tips[mode])
            b.setAutoRaise(False)
            self._group.addButton(b)
            self._buttons[mode] = b
            lay.addWidget(b)
        self._buttons["channel"].setChecked(True)
        self._group.buttonToggled.connect(self._on_toggled)
        lay.addSpacing(4)
        self._method = QComboBox()
        for key, text in METHODS.items():
            self._method.addItem(text, key)
        self._method.setToolTip("Grad-CAM weighs each channel by its mean gradient; Grad-CAM++ by its positive "
                                "gradients, which separates several objects of one class better")
        self._method.currentIndexChanged.connect(lambda _i: self.methodChanged.emit(self.method()))
        lay.addWidget(self._method)
        self._at = QLabel("at")
        lay.addWidget(self._at)
        self._layer = QComboBox()
        self._layer.setToolTip("The layer whose channels the map weighs; the default is the last layer "
                               "with a spatial map, where the channels are most about classes")
        self._layer.setMinimumContentsLength(4)  # with the grid's column, the window fits 1280 px
        self._layer.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._layer.addItem("default layer", DEFAULT)
        self._default = None
        self._layer.currentIndexChanged.connect(lambda _i: self.layerChanged.emit(self.layer()))
        lay.addWidget(self._layer, 1)
        self._sync_enabled()

    # ------------------------------------------------------------------ state
    def mode(self) -> str:
        return "explain" if self._buttons["explain"].isChecked() else "channel"

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown view {mode!r}; choose channel or explain")
        self._buttons[mode].setChecked(True)  # emits modeChanged through the group when it changes

    def method(self) -> str:
        return self._method.currentData()

    def set_method(self, method: str) -> None:
        i = self._method.findData(method)
        if i < 0:
            raise ValueError(f"unknown CAM method {method!r}; choose one of {', '.join(METHODS)}")
        self._method.setCurrentIndex(i)

    def layer(self) -> str:
        """The chosen layer's name, or "" for the model's default."""
        return self._layer.currentData() or DEFAULT

    def set_layers(self, layers: list[tuple[str, str]], default: str | None) -> None:
        """The layers a CAM can be taken at, as (name, label); ``default`` names the default's layer.
        The choice survives when it is still in the list (a new image of the same model)."""
        keep = self.layer()
        self._default = default
        self._layer.blockSignals(True)
        self._layer.clear()
        default_label = next((label for name, label in layers if name == default), default)
        self._layer.addItem(default_label or "default layer", DEFAULT)
        self._layer.setItemData(0, "the model's default: its last layer with a spatial map, a ReLU", Qt.ItemDataRole.ToolTipRole)
        for name, label in layers:
            if name != default:
                self._layer.addItem(label, name)
        i = self._layer.findData(keep) if keep != default else 0
        self._layer.setCurrentIndex(max(0, i))
        self._layer.blockSignals(False)
        if i < 0 and keep:
            self.layerChanged.emit(DEFAULT)

    def set_layer(self, name: str) -> None:
        i = self._layer.findData(name or DEFAULT)
        if i < 0 and name and self._default == name:
            i = 0
        if i < 0:
            raise ValueError(f"no CAM layer named {name!r}")
        self._layer.setCurrentIndex(i)

    def button(self, mode: str) -> QToolButton:
        return self._buttons[mode]

    def _on_toggled(self, button, checked: bool) -> None:
        if checked:
            self._sync_enabled()
            self.modeChanged.emit(self.mode())

    def _sync_enabled(self) -> None:
        on = self.mode() == "explain"
        for w in (self._method, self._at, self._layer):
            w.setEnabled(on)
