"""The window's explain view: which class the overlay explains, at which layer, with which method.

A click on a class (the predictions panel's rows, the cat/dog answer, or a name
found by typing) asks the worker for that class's CAM on the kept run; the
worker answers with one backward from the logits to the layer, so no
convolution before the layer runs again. The top-1 class's Grad-CAM at the
default layer arrives after every analysis anyway (the figure uses it), so the
explain view usually shows it without asking. The channel grid's "sort by
contribution" asks for the CAM at the grid's own layer.
"""
from PySide6.QtCore import Slot
from PySide6.QtWidgets import QWidget

from widgets.explain_bar import ExplainBar

from .window_layout import column


class ExplainActions:
    """Mixin for MainWindow (needs self.session, self.controller, self.overlay, self.grid, self.predictions)."""

    _explain_target: str | None = None   # what the user picked: a class index as text, "cat", "dog"; None = top-1
    _pending_key = None                  # (layer, target, method) of the newest explain request

    def _build_explain(self) -> QWidget:
        """The overlay with the channel/explain switch above it."""
        self.explain_bar = ExplainBar()
        self._cam_cache = {}  # (layer, target, method) → Cam of the image on screen: going back is instant
        return column(self.explain_bar, self.overlay, stretch=1)

    def _connect_explain(self) -> None:
        s = self.session
        s.camChanged.connect(self._on_cam)
        s.camFailed.connect(self._on_cam_failed)
        s.finished.connect(self._explain_after_analysis)
        s.modelChanged.connect(self._forget_target)
        s.imageChanged.connect(lambda _image: self._cam_cache.clear())
        self.explain_bar.modeChanged.connect(self._on_mode)
        self.explain_bar.methodChanged.connect(lambda _m: self._request_explain())
        self.explain_bar.layerChanged.connect(lambda _l: self._request_explain())
        for signal in ("classChosen", "summedChosen"):
            if hasattr(self.predictions, signal):
                getattr(self.predictions, signal).connect(self.explain_class)
        if hasattr(self.grid, "contributionsWanted"):
            self.grid.contributionsWanted.connect(self._want_contributions)

    # ------------------------------------------------------------------ asking
    @Slot(float)
    def _explain_after_analysis(self, _seconds: float) -> None:
        self._request_explain(after_analysis=True)
        grid = self.grid
        if getattr(grid, "contribution_state", lambda: "none")() == "pending":  # asked while busy
            self._want_contributions(grid.layer_name())

    def explaining(self) -> bool:
        return self.explain_bar.mode() == "explain"

    def explain_class(self, target) -> None:
        """Explain ``target`` (a class index, a class name, "cat"/"dog"; None = the top-1 class)."""
        self._explain_target = None if target is None else str(target)
        if not self.explaining():
            self.explain_bar.set_mode("explain")  # asks, through modeChanged
        else:
            self._request_explain()

    def _wanted(self) -> tuple[str | None, str | None, str]:
        return self.explain_bar.layer() or None, self._explain_target, self.explain_bar.method()

    def _request_explain(self, after_analysis: bool = False) -> None:
        s = self.session
        if not self.explaining() or s.image is None or s.busy:
            return
        key = self._wanted()
        if key == (None, None, "gradcam"):
            if s.top_cam is not None:
                self._show_cam(s.top_cam)
            return  # the top-1 class's Grad-CAM at the default layer comes with every analysis
        cam = self._cam_cache.get(key)
        if cam is not None and not after_analysis:
            self._show_cam(cam)
            return
        self._pending_key = key
        self.controller.request_cam(*key)

    @staticmethod
    def _target_key(cam):
        return cam.index if cam.index is not None else cam.label

    @Slot(str)
    def _want_contributions(self, _grid_title: str) -> None:
        if self.session.image is not None and not self.session.busy:
            _, target, method = self._wanted()
            self.controller.request_cam(self.selected_layer, target, method, purpose="grid")

    # ------------------------------------------------------------------ answers
    @Slot(str, object)
    def _on_cam(self, purpose: str, cam) -> None:
        """The session passes on only the newest CAM of each purpose, for the analysis on screen."""
        shown = False
        if purpose == "top":
            self._fill_cam_layers(cam.layer)
            shown = self._wanted() == (None, None, "gradcam")
        elif purpose == "explain":
            self._cam_cache[self._pending_key] = cam
            shown = self._wanted() == self._pending_key
        if shown and self.explaining():
            self._show_cam(cam)
        layer = self.current_layer()
        if layer is not None and cam.layer == layer.name and hasattr(self.grid, "set_contributions") \
                and (purpose == "grid" or shown):
            self.grid.set_contributions(self._title(layer), cam.contributions, cam.label)

    @Slot(str, str)
    def _on_cam_failed(self, purpose: str, message: str) -> None:
        self.show_error(message)

    def _show_cam(self, cam) -> None:
        image = self.session.image
        if image is None:
            return
        title = f"{cam.method_name} of “{cam.label}” at {self._layer_label(cam.layer)}"
        self.overlay.set_channel(cam.normalised(), image["rect"], title, levels=(0.0, 1.0),
                                 scale_note="min–max of this map")
        if hasattr(self.predictions, "set_explained"):
            self.predictions.set_explained(self._target_key(cam))

    def _layer_label(self, name: str, short: bool = False) -> str:
        layer = self.session.layer(name)
        alias = layer.spec.alias if layer is not None else None
        if short:
            return alias or name
        return f"{alias} ({name})" if alias else name

    def _fill_cam_layers(self, default: str) -> None:
        layers = [(name, self._layer_label(name, short=True)) for name, out in self.session.layers.items()
                  if len(out.shape) == 3]
        self.explain_bar.set_layers(layers, default)

    @Slot(str)
    def _on_mode(self, mode: str) -> None:
        if mode == "explain":
            self._request_explain()
            return
        if hasattr(self.predictions, "set_explained"):
            self.predictions.set_explained(None)
        self.overlay.clear_channel()
        self._reshow_channel(force=True)

    @Slot(object)
    def _forget_target(self, _info) -> None:
        self._explain_target = None  # other weights: other classes
