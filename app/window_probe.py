"""The window's probes of one unit: its receptive field on the photo, its hypercolumn, its kernel.

A click at a position of a map (a grid tile while Probe is on, or the overlay
in Native mode) draws the unit's theoretical receptive field at once, from the
model's field table the worker sent after the first analysis (no request, no
torch), and asks the worker for its effective field (one input gradient) and
hypercolumn, which replace the box's caption when they arrive. The kernel
panel follows the selected channel: its conv filter, or the filter of the conv
that produced it.
"""
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

from inference.field_box import Field, box_on_photo, clip_box
from inference.kernel_slices import top_input_slices
from widgets.hypercolumn_view import HypercolumnView
from widgets.kernel_panel import KernelPanel
from widgets.probe_bar import ProbeBar

from .window_layout import column

ELEMENTWISE = {"ReLU", "BatchNorm2d", "Dropout", "Identity", "LeakyReLU", "ReLU6", "SiLU", "Hardswish", "GELU"}
KERNEL_SLICES = 16


class ProbeActions:
    """Mixin for MainWindow (needs session, controller, grid, overlay, _dock, show_layer, show_channel)."""

    _probed = None   # (layer, channel, y, x) of the unit on screen
    _bank_of = None  # the conv whose whole bank the kernel panel holds

    def _build_grid_column(self) -> QWidget:
        """The channel grid with the probe/ablation bar above it."""
        self.probe_bar = ProbeBar()
        return column(self.probe_bar, self.grid, stretch=1)

    def _build_probe_docks(self) -> None:
        self.hypercolumn = HypercolumnView()
        self.kernel_panel = KernelPanel()
        area = Qt.DockWidgetArea.BottomDockWidgetArea
        self.kernel_dock = self._dock("Kernel", "kernelDock", self.kernel_panel, area)
        self.probe_dock = self._dock("Probe", "probeDock", self.hypercolumn, area)
        self.tabifyDockWidget(self.demo_dock, self.kernel_dock)
        self.tabifyDockWidget(self.kernel_dock, self.probe_dock)
        self.demo_dock.raise_()

    def _connect_probe(self) -> None:
        s = self.session
        self.grid.positionClicked.connect(self._on_grid_position)
        self.overlay.positionClicked.connect(self._on_overlay_position)
        self.probe_bar.probeToggled.connect(self._on_probe_toggled)
        QShortcut(QKeySequence("P"), self, activated=lambda: self.probe_bar.set_probing(not self.probe_bar.probing()))
        s.probeChanged.connect(self._on_probe)
        s.fieldsChanged.connect(self._redraw_box)
        s.probeFailed.connect(self.show_error)
        s.imageChanged.connect(lambda _image: self.clear_probe())
        s.modelChanged.connect(self._forget_kernels)
        self.hypercolumn.channelChosen.connect(self._on_hypercolumn_channel)
        self.kernel_panel.inputChannelChosen.connect(self._jump_to_input)
        self.kernel_panel.bankChannelChosen.connect(self._jump_to_first_conv)

    # ------------------------------------------------------------------ probing
    @Slot(bool)
    def _on_probe_toggled(self, on: bool) -> None:
        if on:
            self.statusBar().showMessage("Probe: click a position on a map to see which part of the photo it "
                                         "looks at", 8000)
        else:
            self.clear_probe()

    @Slot(int, int, int)
    def _on_grid_position(self, channel: int, y: int, x: int) -> None:
        if self.probe_bar.probing():
            self.probe_unit(self.selected_layer, channel, y, x)

    @Slot(int, int)
    def _on_overlay_position(self, y: int, x: int) -> None:
        channel = self.grid.selected_channel()
        if channel is not None and not self.explaining():
            self.probe_unit(self.selected_layer, channel, y, x)

    def field_of(self, layer: str):
        """(Field or None, note) of ``layer`` from the model's table ({} until the worker sent it)."""
        entry = self.session.fields.get(layer)
        if entry is None:
            return None, "the receptive-field table is not in yet" if not self.session.fields else \
                f"{layer} has no spatial receptive field"
        if entry.get("note"):
            return None, entry["note"]
        return Field.from_dict(entry), ""

    def probe_box(self, layer: str, y: int, x: int):
        """The unit's theoretical receptive field on the photo (x0, y0, x1, y1), or None, and a note."""
        image = self.session.image
        field, note = self.field_of(layer)
        if field is None or image is None:
            return None, note
        size = tuple(image.get("input_size") or (224, 224))
        box = field.box(y, x)
        photo_size = (image["rgb"].shape[1], image["rgb"].shape[0])
        return box_on_photo(clip_box(box, size), size, image["rect"], photo_size), ""

    def probe_unit(self, layer: str, channel: int, y: int, x: int) -> None:
        """Draw the unit's receptive field now; ask the worker for its effective field and hypercolumn."""
        out = self.session.layer(layer)
        if out is None or len(out.shape) != 3 or self.session.image is None or self.session.busy:
            return
        self._probed = (layer, channel, y, x)
        box, note = self.probe_box(layer, y, x)
        caption = f"receptive field of {self._unit_text(layer, channel, y, x)}"
        self.overlay.set_probe(box, None, self.session.image["rect"], caption if box else f"{caption}: {note}")
        self.grid.set_probe_marker(channel, y, x)
        self.hypercolumn.set_current_channel(channel)
        if note:
            self.statusBar().showMessage(note, 8000)
        self.controller.probe(layer, channel, y, x)

    def _unit_text(self, layer: str, channel: int, y: int, x: int) -> str:
        return f"{self._layer_label(layer, short=True)} #{channel} at (y {y}, x {x})"

    def _redraw_box(self) -> None:
        """The field table arrived after a click: draw the waiting probe's box now."""
        probe = self.session.probe
        if self._probed is not None and (probe is None or self._probed != (probe.layer, probe.channel, probe.y, probe.x)):
            layer, channel, y, x = self._probed
            box, note = self.probe_box(layer, y, x)
            self.overlay.set_probe(box, None, self.session.image["rect"],
                                   f"receptive field of {self._unit_text(layer, channel, y, x)}")

    @Slot(object)
    def _on_probe(self, probe) -> None:
        if self._probed != (probe.layer, probe.channel, probe.y, probe.x):
            return  # an older click's answer
        box, note = self.probe_box(probe.layer, probe.y, probe.x)
        unit = self._unit_text(probe.layer, probe.channel, probe.y, probe.x)
        if probe.erf is None:  # a shared module: its effective field cannot be taken alone
            self.overlay.set_probe(box, None, probe.erf_rect, f"receptive field of {unit}")
            self.show_error(probe.erf_note, error=False)
        else:
            caption = f"effective receptive field of {unit}" + ("" if box else f" ({note})")
            self.overlay.set_probe(box, probe.erf, probe.erf_rect, caption, levels=probe.erf_levels)
        self.hypercolumn.set_hypercolumn(probe.hypercolumn, probe.order,
                                         f"every channel of {self._layer_label(probe.layer, short=True)} at "
                                         f"(y {probe.y}, x {probe.x})")
        self.probe_dock.raise_()

    @Slot(int)
    def _on_hypercolumn_channel(self, channel: int) -> None:
        """A bar of the hypercolumn: show that channel, and probe it at the same position."""
        probed = self._probed
        self.show_channel(channel)
        if probed is not None and probed[0] == self.selected_layer:
            self.probe_unit(probed[0], channel, probed[2], probed[3])

    def clear_probe(self) -> None:
        self._probed = None
        self.overlay.clear_probe()
        self.grid.clear_probe_marker()
        self.hypercolumn.clear()

    # ------------------------------------------------------------------ kernels
    def _conv_of(self, name: str) -> str | None:
        """The conv layer whose filters made ``name``: itself, or the conv before a run of elementwise layers."""
        layers = (self.session.results_model or {}).get("layers", [])
        names = [layer["name"] for layer in layers]
        if name not in names:
            return None
        for layer in reversed(layers[: names.index(name) + 1]):
            if layer["type"] == "Conv2d":
                return layer["name"]
            if layer["type"] not in ELEMENTWISE:
                return None
        return None

    def _input_of(self, conv: str) -> str | None:
        """The layer that fed ``conv`` (the one before it), for "jump to that input channel"."""
        names = [layer["name"] for layer in (self.session.results_model or {}).get("layers", [])]
        i = names.index(conv) if conv in names else 0
        return names[i - 1] if i > 0 else None

    @Slot(int)
    def _show_kernel(self, channel: int) -> None:
        kernels = (self.session.results_model or {}).get("kernels", {})
        conv = self._conv_of(self.selected_layer)
        if conv is None or conv not in kernels:
            self.kernel_panel.clear(f"{self._layer_label(self.selected_layer, short=True)} has no kernel "
                                    "of its own (not made by a convolution)")
            return
        weight, bias = kernels[conv]
        if not 0 <= channel < weight.shape[0]:
            return
        b = float(bias[channel]) if bias is not None else None
        made = "" if conv == self.selected_layer else f" (it made {self._layer_label(self.selected_layer, short=True)})"
        title = f"{self._layer_label(conv, short=True)} · filter {channel}{made}"
        if weight.shape[1] == 3:
            self.kernel_panel.set_kernel(title, weight[channel], b, channel)
        else:
            top = top_input_slices(weight, channel, KERNEL_SLICES)
            self.kernel_panel.set_kernel(title, weight[channel], b, channel, top=top)
        first = self._first_conv()
        if first is not None and first in kernels and first != self._bank_of:
            self._bank_of = first
            self.kernel_panel.set_bank(kernels[first][0], name=self._layer_label(first, short=True))

    def _forget_kernels(self, _info) -> None:
        self._bank_of = None
        self.kernel_panel.clear_bank()
        self.kernel_panel.clear("select a conv layer's channel to see its filter")

    def _first_conv(self) -> str | None:
        layers = (self.session.results_model or {}).get("layers", [])
        return next((layer["name"] for layer in layers if layer["type"] == "Conv2d"), None)

    @Slot(int)
    def _jump_to_input(self, channel: int) -> None:
        conv = self._conv_of(self.selected_layer)
        source = self._input_of(conv) if conv else None
        if source is not None and self.session.layer(source) is not None:
            self.show_layer(source)
            self.show_channel(channel)

    @Slot(int)
    def _jump_to_first_conv(self, channel: int) -> None:
        first = self._first_conv()
        if first is not None:
            self.show_layer(first)
            self.show_channel(channel)

