"""The window's channel ablation: switch selected channels off and see the network answer again.

The selection is the grid's (ctrl/shift-click, or "Top k" by contribution to
the explained class). The worker re-runs the kept run from that layer on
(``inference.ablation``); the Session then holds the ablation, and its
``layer()`` gives the ablated run's maps for the layers it changed, so the
grid, the overlay and an exported figure all show the ablated run, each saying
so. Reset drops it: the original run was never changed.
"""
from PySide6.QtCore import Slot


class AblationActions:
    """Mixin for MainWindow (needs session, controller, grid, predictions, probe_bar, show_layer)."""

    _top_pending = 0   # "Top k" asked before the CAM at this layer arrived

    def _connect_ablation(self) -> None:
        s, bar = self.session, self.probe_bar
        bar.ablateRequested.connect(self.ablate_selection)
        bar.topRequested.connect(self.select_top)
        bar.resetRequested.connect(self.reset_ablation)
        self.predictions.resetRequested.connect(self.reset_ablation)
        self.grid.selectionChanged.connect(lambda _channels: self._sync_probe_bar())
        s.ablationChanged.connect(self._on_ablation)
        s.ablationFailed.connect(self.show_error)
        s.camChanged.connect(self._top_after_cam)
        s.imageChanged.connect(lambda _image: self._after_ablation_gone())
        s.layerChanged.connect(lambda _name: self._sync_probe_bar())

    # ------------------------------------------------------------------ asking
    def ablate_selection(self, mode: str = "zero", keep: bool = False) -> None:
        layer = self.current_layer()
        channels = self.grid.selected_channels()
        if layer is None or self.session.busy:
            return
        if not channels:
            self.show_error("select the channels to ablate first (ctrl-click or shift-click tiles in the grid)")
            return
        self.controller.ablate(layer.name, channels, mode, keep, focus=self.selected_layer)

    def reset_ablation(self) -> None:
        self.controller.reset_ablation()

    def select_top(self, k: int) -> None:
        """Select the ``k`` channels that pushed the explained class up most, at the grid's layer."""
        cam = self._cam_at_layer()
        if cam is None:
            self._top_pending = k
            self._want_contributions(self.selected_layer)  # the CAM at this layer; selected when it arrives
            return
        self._top_pending = 0
        channels = cam.pushing_up(k)
        if not channels:
            self.show_error(f"no channel of {self.selected_layer} raised “{cam.label}”", error=False)
        self.grid.set_selected_channels(channels)
        self._sync_probe_bar()

    def _cam_at_layer(self):
        for purpose in ("grid", "explain", "top"):
            cam = self.session.cams.get(purpose)
            if cam is not None and cam.layer == self.selected_layer:
                return cam
        return None

    @Slot(str, object)
    def _top_after_cam(self, _purpose: str, cam) -> None:
        if self._top_pending and cam.layer == self.selected_layer:
            self.select_top(self._top_pending)

    # ------------------------------------------------------------------ answers
    @Slot(object)
    def _on_ablation(self, result) -> None:
        if result is None:
            self.predictions.clear_comparison()
            self.probe_bar.set_active(None)
        else:
            self.predictions.set_comparison(**result.comparison())
            self.probe_bar.set_active(result.caption)
            return  # the ablated map is shown when its statistics arrive (Session.layerChanged)
        self.show_layer(self.selected_layer)  # the original again: nothing to compute

    def ablation_note(self, name: str) -> str:
        """What the grid's header says of layer ``name`` while an ablation is in force."""
        ablation = self.session.ablation
        if ablation is None or not self.session.ablated(name):
            return ""
        return f"after the ablation of {ablation.caption}"

    def _after_ablation_gone(self) -> None:
        self._top_pending = 0
        self.predictions.clear_comparison()
        self.probe_bar.set_active(None)
        self.grid.clear_selection()

    def _sync_probe_bar(self) -> None:
        layer = self.current_layer()
        spatial = layer is not None and len(layer.shape) == 3
        title = self._layer_label(layer.name, short=True) if layer is not None else ""
        self.probe_bar.set_selection(len(self.grid.selected_channels()), title, can_ablate=spatial)
