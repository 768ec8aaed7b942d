"""What ConvScope shows now: the newest request, the model, and the current image's results.

The one place current results land (napari/ndv-style: a Qt-free-in-spirit
model on the UI thread that the views observe). The controller writes into it
only what belongs to the newest analysis; stale ids are dropped here, so the
window, the exports, ``--screenshot`` and the bench read results from one
object, never from a window's private state.

A result keeps the model it was computed with (``results_model``), so nothing
is ever shown or exported under new weights' name with the old model's numbers.
"""
import logging
import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, Signal

log = logging.getLogger("convscope.session")

PASTE_PREFIX = "convscope-paste-"


def is_paste_file(path: str | None) -> bool:
    """A picture ConvScope saved from the clipboard into the temp folder (ours to delete)."""
    if not path:
        return False
    p = Path(path)
    return p.name.startswith(PASTE_PREFIX) and p.parent == Path(tempfile.gettempdir())


KEPT_MODELS = 3   # model generations whose info stays for late answers, beside the held results' own


class Session(QObject):
    modelChanged = Signal(object)          # model info dict
    imageChanged = Signal(object)          # image dict of the newest analysis (its results follow)
    layerChanged = Signal(str)             # a layer arrived, or its statistics did
    predictionsChanged = Signal(object)
    demoChanged = Signal(object)
    demoFailed = Signal(str)               # "" when a demo re-run was dropped as stale (clear, say nothing)
    finished = Signal(float)               # the answer is in (predictions, demo, every layer)
    detailed = Signal()                    # ... and every layer's statistics: the results are whole
    failed = Signal(str)
    camChanged = Signal(str, object)       # purpose ("top", "explain", "grid"), inference.cam.Cam
    camFailed = Signal(str, str)           # purpose, one line
    probeChanged = Signal(object)          # inference.probe.Probe of a unit of the held image
    probeFailed = Signal(str)
    ablationChanged = Signal(object)       # inference.ablation.AblationResult, or None: back to the original
    ablationFailed = Signal(str)
    pinChanged = Signal(object)            # A of an A/B comparison (app.worker_compare.pin_info), or None: unpinned
    pinDropped = Signal(str)               # a model of another architecture let A go: one line
    comparisonChanged = Signal(object)     # app.worker_compare.ComparedLayer: B − A of the held image at a layer
    compareFailed = Signal(str)            # one line
    fieldsChanged = Signal()               # the held model's receptive-field table arrived
    catalogueChanged = Signal(object)      # the CNNs the Model menu offers, with their weights' state

    def __init__(self, parent=None):
        super().__init__(parent)
        self.request_id = 0                 # the newest analysis request
        self.requested_paths: tuple[str, ...] | None = None
        self.model_info: dict | None = None
        self.results_id = 0                 # the analysis whose results are held
        self.results_model: dict | None = None
        self.image: dict | None = None
        self.layers: dict = {}
        self.predictions = None
        self.demo = None
        self.seconds: float | None = None
        self.busy = False
        self.failed_id = 0
        self._detailed = False
        self._models: dict[int, dict] = {}  # generation → info, for results that arrive after a reload
        self._pastes: set[str] = set()
        # Class activation maps of the held analysis: the top-1 class's at the default layer (the
        # figure's), and the newest one asked for each purpose (the explain view's, the grid's sort).
        self.top_cam = None
        self.cams: dict[str, object] = {}
        self._cam_ids: dict[str, int] = {}
        # Probes of the held analysis: the newest unit probed, and the ablation in force (its re-run's
        # layers replace the original's in ``layer()`` until it is reset).
        self.probe = None
        self.ablation = None
        # A/B comparison: A pinned on the worker (its labels here) and B − A of the held image (B) at the
        # layer asked last; a new image drops the comparison (it was the old B's), not A.
        self.pinned: dict | None = None
        self.comparison = None
        self._fields: dict[int, dict] = {}  # model generation → {layer: field dict or {"note": …}}
        self.catalogue: list[dict] = []     # the CNNs the Model menu offers (from the worker)

    # ----------------------------------------------------------------- requests
    def request(self, rid: int, paths) -> None:
        self.request_id = rid
        self.requested_paths = tuple(str(p) for p in paths)
        self.busy = True
        for p in self.requested_paths:
            if is_paste_file(p):
                self._pastes.add(p)

    def request_cam(self, purpose: str, cam_id: int) -> None:
        """The newest CAM request for ``purpose``: only its answer is kept."""
        self._cam_ids[purpose] = cam_id

    def set_model(self, info: dict) -> None:
        self.model_info = info
        for old in self._models.values():
            if old is not self.results_model:
                old.pop("kernels", None)  # views of an old model's weights: let its storage go
        self._models[info.get("generation", 0)] = info
        self._forget_old_models()
        self.modelChanged.emit(info)

    def _forget_old_models(self) -> None:
        """Keep the info and receptive fields of the newest KEPT_MODELS models (an analysis asked under
        one of them may still arrive) and of the held results' model; a long session of model switches
        keeps no more."""
        held = (self.results_model or {}).get("generation")
        keep = set(sorted(self._models)[-KEPT_MODELS:]) | {held}
        for table in (self._models, self._fields):
            for generation in [g for g in table if g not in keep]:
                del table[generation]

    # ----------------------------------------------------------------- results of the newest analysis
    def _newest(self, rid: int) -> bool:
        return rid == self.request_id

    def start_image(self, rid: int, image: dict) -> None:
        if not self._newest(rid):
            return
        self.results_id = rid
        self.results_model = self._models.get(image.get("generation", 0), self.model_info)
        self.image, self.layers, self.predictions, self.demo, self.seconds = image, {}, None, None, None
        self.top_cam, self.cams = None, {}
        self.probe = self.ablation = None
        self.comparison = None
        self._detailed = False
        self._drop_unshown_pastes()
        self.imageChanged.emit(image)

    def add_layer(self, rid: int, layer) -> None:
        if self._holds(rid):
            self.layers[layer.name] = layer
            self.layerChanged.emit(layer.name)

    def stats_ready(self, rid: int, names) -> None:
        if self._holds(rid):
            for name in names:
                if name in self.layers:
                    self.layerChanged.emit(name)
            self._maybe_detailed()

    def _maybe_detailed(self) -> None:
        if not self.busy and not self._detailed and self.image is not None and self.all_stats:
            self._detailed = True
            self.detailed.emit()

    def set_predictions(self, rid: int, predictions) -> None:
        if self._holds(rid):
            self.predictions = predictions
            self.predictionsChanged.emit(predictions)

    def set_demo(self, analysis_id: int, demo) -> None:
        """A demo conv result; it belongs to the analysis it was computed for, never to another image."""
        if analysis_id == self.results_id and self.image is not None:
            self.demo = demo
            self.demoChanged.emit(demo)
        else:
            self.demoFailed.emit("")

    def fail_demo(self, analysis_id: int, message: str) -> None:
        self.demoFailed.emit(message if analysis_id == self.results_id else "")

    def set_cam(self, purpose: str, cam_id: int, analysis_id: int, cam) -> None:
        """A CAM; kept only if it is the newest asked for its purpose, on the analysis on screen."""
        if analysis_id != self.results_id or self.image is None or cam_id != self._cam_ids.get(purpose):
            return
        if purpose == "top":
            self.top_cam = cam
        self.cams[purpose] = cam
        self.camChanged.emit(purpose, cam)

    def fail_cam(self, purpose: str, cam_id: int, analysis_id: int, message: str) -> None:
        if message and analysis_id == self.results_id and cam_id == self._cam_ids.get(purpose):
            self.camFailed.emit(purpose, message)

    def _current(self, kind: str, request_id: int, analysis_id: int) -> bool:
        return analysis_id == self.results_id and self.image is not None and request_id == self._cam_ids.get(kind)

    def set_probe(self, probe_id: int, analysis_id: int, probe) -> None:
        if self._current("probe", probe_id, analysis_id):
            self.probe = probe
            self.probeChanged.emit(probe)

    def fail_probe(self, probe_id: int, analysis_id: int, message: str) -> None:
        if message and self._current("probe", probe_id, analysis_id):
            self.probeFailed.emit(message)

    def set_ablation(self, ablation_id: int, analysis_id: int, result) -> None:
        if self._current("ablation", ablation_id, analysis_id):
            self.ablation = result
            self.ablationChanged.emit(result)

    def ablation_stats(self, ablation_id: int, analysis_id: int, names) -> None:
        if self._current("ablation", ablation_id, analysis_id) and self.ablation is not None:
            for name in names:
                self.layerChanged.emit(name)

    def fail_ablation(self, ablation_id: int, analysis_id: int, message: str) -> None:
        if message and self._current("ablation", ablation_id, analysis_id):
            self.ablationFailed.emit(message)

    def clear_ablation(self) -> None:
        if self.ablation is not None:
            self.ablation = None
            self.ablationChanged.emit(None)

    def set_pin(self, pin_id: int, info: dict) -> None:
        """The worker pinned A (only the newest pin counts: an unpin since makes it stale)."""
        if pin_id == self._cam_ids.get("pin"):
            self.pinned, self.comparison = dict(info), None
            self.pinChanged.emit(self.pinned)

    def fail_pin(self, pin_id: int, message: str) -> None:
        if message and pin_id == self._cam_ids.get("pin"):
            self.compareFailed.emit(message)

    def unpin(self) -> None:
        if self.pinned is not None:
            self.pinned = self.comparison = None
            self.pinChanged.emit(None)

    def drop_pin(self, message: str) -> None:
        """The worker let A go (a model of another architecture): say so in one line."""
        if self.pinned is not None:
            self.unpin()
            self.pinDropped.emit(message)

    @property
    def shows_a(self) -> bool:
        """The held results are A's own: pinned, and no other image or weights analysed since."""
        return self.pinned is not None and self.pinned["analysis_id"] == self.results_id

    def set_comparison(self, compare_id: int, analysis_id: int, result) -> None:
        """B − A, kept only if it is the newest asked, of the image on screen, against the A pinned now."""
        if self._current("compare", compare_id, analysis_id) and self.pinned is not None \
                and result.pin_id == self.pinned["pin_id"]:
            self.comparison = result
            self.comparisonChanged.emit(result)

    def fail_comparison(self, compare_id: int, analysis_id: int, message: str) -> None:
        if message and self.pinned is not None and self._current("compare", compare_id, analysis_id):
            self.compareFailed.emit(message)

    def set_catalogue(self, rows) -> None:
        self.catalogue = list(rows)
        self.catalogueChanged.emit(self.catalogue)

    def set_fields(self, generation: int, table: dict) -> None:
        self._fields[generation] = table
        self.fieldsChanged.emit()

    @property
    def fields(self) -> dict:
        """The receptive-field table of the model the held results came from ({} until it arrives)."""
        return self._fields.get((self.results_model or {}).get("generation", 0), {})

    def finish(self, rid: int, seconds: float) -> None:
        if self._holds(rid):
            self.busy = False
            self.seconds = seconds
            self.finished.emit(seconds)
            self._maybe_detailed()

    def fail(self, rid: int, message: str) -> None:
        if self._newest(rid):
            self.busy = False
            self.failed_id = rid
            self.failed.emit(message)

    def paths_to_reanalyse(self) -> tuple[str, ...] | None:
        """What to analyse again (new weights, or a failed open that cut the held image short):
        the newest request, unless it failed, then the image on screen."""
        if self.failed_id == self.request_id:
            return (self.image["path"],) if self.image else None
        return self.requested_paths

    def _holds(self, rid: int) -> bool:
        return rid == self.results_id == self.request_id

    # ----------------------------------------------------------------- reading
    @property
    def complete(self) -> bool:
        """The held results are whole: every part of the analysis arrived."""
        return (self.image is not None and self.predictions is not None and self.demo is not None
                and not self.busy)

    @property
    def all_stats(self) -> bool:
        """Every held layer's channel statistics have arrived from the worker."""
        return all(layer.has_stats for layer in self.layers.values())

    @property
    def whole(self) -> bool:
        """Complete, with every layer's statistics: what screenshots and tests wait for."""
        return self.complete and self._detailed

    def layer(self, name: str):
        """The layer as shown: the ablated run's output when an ablation changed it."""
        if self.ablation is not None and name in self.ablation.rerun.changed:
            return self.ablation.rerun.changed[name]
        return self.layers.get(name)

    def original_layer(self, name: str):
        return self.layers.get(name)

    def ablated(self, name: str) -> bool:
        """``name`` comes after (or is) the ablated layer: what is shown of it is the ablated run's."""
        if self.ablation is None or name not in self.layers:
            return False
        return self.layers[name].index >= self.layers[self.ablation.ablation.layer].index

    # ----------------------------------------------------------------- pasted pictures
    def _drop_unshown_pastes(self) -> None:
        keep = {self.image["path"]} if self.image else set()
        keep |= set(self.requested_paths or ())
        for path in list(self._pastes - keep):
            self._delete(path)

    def close(self) -> None:
        """At exit: delete every pasted picture we saved, and let go of the results."""
        for path in list(self._pastes):
            self._delete(path)
        self.layers = {}
        self.image = self.predictions = self.demo = self.top_cam = self.probe = self.ablation = None
        self.pinned = self.comparison = None
        self.cams = {}
        self.request_id, self.results_id = -1, -2  # whatever the worker still sends is dropped

    def _delete(self, path: str) -> None:
        self._pastes.discard(path)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as err:
            log.warning("could not delete the pasted picture %s: %s", path, err)
