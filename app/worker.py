"""The inference worker: a QObject living on its own QThread, so torch never runs on the UI thread.

It owns the model and the current run (``inference.run.Run``: the photo, the
input and every layer's tensor), so later requests can re-enter the analysed
image without the UI sending pixels back. Requests arrive as queued slot calls
carrying immutable snapshots; results leave as signals carrying read-only
numpy arrays tagged with the request id. A request that is no longer the
newest is skipped before it starts and aborted at the next layer boundary
while it runs, so rapid input never piles up.

After an analysis has finished, the worker computes every layer's channel
statistics (the layer on screen already has them), a layer at a time and
abandoned as soon as a newer request exists, so the UI thread only ever
composes what it shows.

Weight downloads do not run here (see ``app.downloader``): while one runs,
images are analysed with the current model.

The engine (and torch) is imported lazily on this thread, so the window can
paint before torch has even been imported.
"""
import itertools
import logging
import os
import threading
import time
import traceback

from PySide6.QtCore import QObject, Qt, Signal, Slot

from .requests import AnalyzeRequest, CamRequest, DemoRequest, Generation
from .worker_compare import CompareSlots
from .worker_probes import ProbeSlots

log = logging.getLogger("convscope.worker")


class InferenceWorker(CompareSlots, ProbeSlots, QObject):
    modelLoading = Signal(str)                 # what is being loaded
    modelReady = Signal(object)                # dict: arch, weights_text, source, pretrained, device, layers, class_names, notice, generation
    modelFailed = Signal(str)                  # one line; the previous model stays
    downloadNeeded = Signal(object)            # WeightsRequest whose weights must be downloaded first
    imageReady = Signal(int, object)           # id, dict(path, rgb, width, height, rect, view_rgb, reduced, generation)
    layerReady = Signal(int, object)           # id, inference.capture.LayerOutput
    statsReady = Signal(int, object)           # id, [layer names whose statistics are now computed]
    predictionsReady = Signal(int, object)     # id, inference.predict.Predictions
    demoReady = Signal(int, object)            # analysis id, inference.demo_conv.DemoConvResult
    demoUpdated = Signal(int, int, object)     # demo-request id, analysis id, DemoConvResult (the demo conv alone)
    demoFailed = Signal(int, int, str)         # demo-request id, analysis id, one line ("" when the image is gone)
    camReady = Signal(object, object)          # CamRequest, inference.cam.Cam
    camFailed = Signal(object, str)            # CamRequest, one line ("" when stale)
    probeReady = Signal(object, object)        # ProbeRequest, inference.probe.Probe
    probeFailed = Signal(object, str)          # ProbeRequest, one line ("" when stale)
    ablationReady = Signal(object, object)     # AblateRequest, inference.ablation.AblationResult
    ablationStats = Signal(object, object)     # AblateRequest, [changed layers whose statistics are now in]
    ablationFailed = Signal(object, str)       # AblateRequest, one line ("" when stale)
    pinReady = Signal(object, object)          # PinRequest, dict (app.worker_compare.pin_info): A's labels
    pinFailed = Signal(object, str)            # PinRequest, one line ("" when stale)
    pinDropped = Signal(str)                   # a model of another architecture let A go: one line
    compareReady = Signal(object, object)      # CompareRequest, app.worker_compare.ComparedLayer
    compareFailed = Signal(object, str)        # CompareRequest, one line ("" when stale or there is no B)
    fieldsReady = Signal(int, object)          # model generation, {layer: receptive field or note} (plain dict)
    modelsReady = Signal(object)               # [{name, family, num_params, cached, download_mb}]: the Model menu
    failed = Signal(int, str)                  # id, one line
    finished = Signal(int, float)              # id, seconds
    _detail = Signal(int, object)              # to itself: the statistics pass after an analysis

    def __init__(self, analyses: Generation, demos: Generation, reentries: dict[str, Generation] | None = None):
        super().__init__()  # no parent: it is moved to its thread
        self._analyses = analyses
        self._demos = demos
        # Re-entries of the kept run, each kind with its own newest-wins counter: the CAM purposes
        # ("top", "explain", "grid"), "probe", "ablation", "pin" and "compare".
        self._reentries = reentries if reentries is not None else {}
        self._fields_sent = 0      # the model generation whose receptive-field table was sent
        self._bundle = None
        self._generations = itertools.count(1)
        self._generation = 0
        self.run = None            # the current inference.run.Run
        self.run_id = 0            # the analysis it came from
        self.pinned = None         # a second run kept for comparison (A/B, app.worker_compare), or None
        self._detail.connect(self._compute_stats, Qt.ConnectionType.QueuedConnection)

    # ----------------------------------------------------------------- model
    @Slot(object)
    def load_model(self, request) -> None:
        """Resolve and load weights; on failure keep the current model. Downloads are handed to the downloader."""
        try:
            from inference.errors import ConvScopeError
            from inference.model import load_model, needs_download

            if needs_download(request):
                self.downloadNeeded.emit(request)
                if self._bundle is not None:
                    return  # the current model answers until the download completes
                request = _untrained_meanwhile(request)
            self.modelLoading.emit(self._describe(request))
            bundle = load_model(request, abort=lambda: self._analyses.closing)
        except ConvScopeError as err:
            self.modelFailed.emit(str(err))
            return
        except Exception as err:  # never let an engine bug kill the thread
            log.error("loading the model failed:\n%s", traceback.format_exc())
            self.modelFailed.emit(f"could not load the model: {err}")
            return
        self._set_bundle(bundle)

    def release(self) -> None:
        """Let go of the model and the runs (after the thread has stopped: nothing uses them any more)."""
        self._bundle = self.run = self.pinned = None

    def _set_bundle(self, bundle) -> None:
        from inference.model import release_untrained

        # The runs were computed by the old model: drop them (and with them the old model) first. A pinned
        # run stays, with its model, for new weights of its architecture: B is then the new weights' run.
        self.run = None
        self.keeps_pin(bundle)
        self.run_id = 0
        self._bundle = bundle
        if bundle.source != "untrained":
            release_untrained()
        self._generation = next(self._generations)
        self.modelReady.emit(self._model_info(bundle, self._generation))

    _niced = False

    def _yield_to_ui(self) -> None:
        """Once the first result is in, lower the priority of this thread and of torch's threads (they
        carry its name): on two cores the UI thread must win when both want the CPU, or the window
        stutters. Not before: niced, the start-up (torch's import, the weights, the first forward)
        lost about 10:1 to any other CPU load in the same session, and the window sat on "loading"
        for 53 s instead of 10 s beside two busy loops (issue 9)."""
        if self._niced or not hasattr(os, "setpriority"):
            return
        self._niced = True
        me = threading.get_native_id()
        try:
            name = _thread_name(me)
            tasks = [int(t) for t in os.listdir("/proc/self/task")]
        except OSError:  # no /proc (macOS): this thread only
            name, tasks = None, [me]
        for tid in tasks:
            try:
                if name is None or _thread_name(tid) == name:
                    os.setpriority(os.PRIO_PROCESS, tid, 10)
            except OSError:
                pass

    @staticmethod
    def _describe(request) -> str:
        if request.weights:
            return f"loading weights from {request.weights}"
        return "loading the untrained model" if request.untrained else "loading the ImageNet weights"

    @staticmethod
    def _model_info(bundle, generation: int) -> dict:
        from inference.analysis import layer_specs

        return {
            "arch": bundle.arch, "display": bundle.display_name, "weights_text": bundle.weights_text(), "source": bundle.source,
            "path": bundle.path, "pretrained": bundle.pretrained, "device": str(bundle.device),
            "class_names": list(bundle.class_names), "notice": bundle.notice, "imagenet_head": bundle.imagenet_head,
            "generation": generation, "kernels": _kernels(bundle), **_imagenet_file(bundle.arch),
            # In run order; the hierarchy is in "parent" (the containing module, "" at the top), so the tree
            # can nest without parsing names: "call" > 1 is a shared module's later call, "block" a
            # container's own output, "ran" False a module eval mode never runs (an auxiliary head),
            # "ends" the containers whose output is this same tensor.
            "layers": [{"name": s.name, "alias": s.alias, "type": s.type, "params": s.params, "group": s.group,
                        "module": s.module, "call": s.call, "parent": s.parent, "block": s.block, "ran": s.ran,
                        "ends": list(s.ends)} for s in layer_specs(bundle)],
            "containers": {name: type(m).__name__ for name, m in bundle.model.named_modules()
                           if name and any(True for _ in m.children())},
        }

    # ----------------------------------------------------------------- analysis
    @Slot(object)
    def analyze(self, request: AnalyzeRequest) -> None:
        rid = request.id
        if self._analyses.is_stale(rid):
            return  # superseded before it started: skip without a word
        if self._bundle is None:
            self.failed.emit(rid, "no model is loaded yet")
            return
        try:
            from inference.analysis import AnalysisOptions, analyze
            from inference.demo_conv import DemoConvSpec
            from inference.errors import Cancelled, ConvScopeError

            options = AnalysisOptions(preprocess=request.preprocess, demo=DemoConvSpec(**request.demo),
                                      max_side=request.max_side, stats=False)
            stale = lambda: self._analyses.is_stale(rid)  # noqa: E731
            path = self._first_loadable(request.paths)
            t0 = time.perf_counter()

            def on_image(img, prep):
                if not stale():  # the new image loaded and is the newest: let the previous run go first
                    self.run, self.run_id = None, 0
                self.imageReady.emit(rid, {
                    "path": img.path, "rgb": img.rgb, "width": img.width, "height": img.height,
                    "reduced": img.reduced, "rect": prep.rect, "view_rgb": prep.view_rgb,
                    "input_size": tuple(prep.tensor.shape[1:]),
                    "generation": self._generation})

            def on_layer(layer):
                if layer.name == request.focus:
                    layer.compute_stats()  # the layer on screen paints as soon as it arrives
                self.layerReady.emit(rid, layer)

            def top_cam(run):  # while the demo conv runs: one backward from the logit to the layer
                self.run, self.run_id = run, rid
                self.compute_cam(request.cam)

            run = analyze(path, self._bundle, options, on_image=on_image, on_layer=on_layer,
                          on_predictions=lambda p: self.predictionsReady.emit(rid, p),
                          on_demo=lambda d: self.demoReady.emit(rid, d), cancel=stale,
                          meanwhile=top_cam if request.cam is not None else None)
            self.run, self.run_id = run, rid
            self.finished.emit(rid, time.perf_counter() - t0)
            self._yield_to_ui()
            self._detail.emit(rid, request.focus)
        except Cancelled:
            return
        except ConvScopeError as err:
            self.failed.emit(rid, str(err))
        except Exception as err:
            log.error("analysis failed:\n%s", traceback.format_exc())
            self.failed.emit(rid, f"internal error while analysing: {err}")

    @Slot(int, object)
    def _compute_stats(self, rid: int, focus) -> None:
        """Every layer's channel statistics, off the UI thread; abandoned when a newer request exists."""
        run = self.run
        if run is None or self.run_id != rid:
            return
        self._send_fields()  # once per model: the window draws a probed unit's box from it
        done = []
        for name, layer in list(run.layers.items()):
            if self._analyses.is_stale(rid):
                return
            if not layer.has_stats:
                layer.compute_stats()
                done.append(name)
                if len(done) >= 8:
                    self.statsReady.emit(rid, done)
                    done = []
        self.statsReady.emit(rid, done)  # always, even empty: the last one says the pass is over
        if not self._analyses.is_stale(rid):
            from inference.cam import likely_targets

            # Then the other top classes (and cat, dog) through the linear head together, so that a click
            # on one of them costs only the few layers between the head and the CAM's layer.
            run.prime_gradients(likely_targets(run))

    @staticmethod
    def _first_loadable(paths: tuple[str, ...]) -> str:
        """The first path that opens as an image; the first path's error when none does."""
        from inference.errors import ImageLoadError
        from inference.images import load_image

        first_error = None
        for p in paths[:-1]:
            try:
                load_image(p, max_side=64)
                return p
            except ImageLoadError as err:
                first_error = first_error or err
        if first_error is not None:
            try:
                load_image(paths[-1], max_side=64)
            except ImageLoadError:
                raise first_error from None
        return paths[-1]

    # ----------------------------------------------------------------- class activation maps
    @Slot(object)
    def compute_cam(self, request: CamRequest) -> None:
        """A Grad-CAM of the kept run: no convolution before the layer runs again."""
        generation = self._reentries.get(request.purpose)
        stale = generation is not None and generation.is_stale(request.id)
        if stale or self.run is None or self.run_id != request.analysis_id:
            self.camFailed.emit(request, "")
            return
        try:
            from inference.cam import cam_of_run

            cam = cam_of_run(self.run, request.layer, request.target, request.method)
            self.camReady.emit(request, cam)
        except ValueError as err:
            self.camFailed.emit(request, str(err))
        except Exception as err:
            log.error("CAM failed:\n%s", traceback.format_exc())
            self.camFailed.emit(request, f"internal error in the CAM: {err}")

    # ----------------------------------------------------------------- demo conv
    @Slot(object)
    def run_demo(self, request: DemoRequest) -> None:
        """Re-run only the demo conv, on the photo of the analysis it was asked for (kept here)."""
        if self._demos.is_stale(request.id):
            self.demoFailed.emit(request.id, request.analysis_id, "")
            return
        run = self.run
        if run is None or self.run_id != request.analysis_id:
            self.demoFailed.emit(request.id, request.analysis_id, "")
            return
        try:
            from inference.demo_conv import DemoConvSpec, run_demo_conv

            image = run.image
            result = run_demo_conv(image.rgb, DemoConvSpec(**request.demo), request.max_side, (image.width, image.height))
            self.demoUpdated.emit(request.id, request.analysis_id, result)
        except (ValueError, TypeError) as err:
            self.demoFailed.emit(request.id, request.analysis_id, f"demo conv: {err}")
        except Exception as err:
            log.error("demo conv failed:\n%s", traceback.format_exc())
            self.demoFailed.emit(request.id, request.analysis_id, f"demo conv failed: {err}")


def _imagenet_file(arch: str) -> dict:
    """Where the model's ImageNet weights come from and their size, for the window's help."""
    from inference.architectures import arch_info, refusal
    from inference.model import imagenet_url

    if refusal(arch):  # a model of no registry name: no ImageNet file to speak of
        return {}
    return {"imagenet_url": imagenet_url(arch), "imagenet_mb": arch_info(arch).download_mb}


def _kernels(bundle) -> dict:
    """Every conv layer's (weight, bias) as read-only numpy views of the parameters (no copy)."""
    from inference.kernels import conv_weights

    return conv_weights(bundle.model)


def _thread_name(tid: int) -> str:
    with open(f"/proc/self/task/{tid}/comm") as fh:
        return fh.read()


def _untrained_meanwhile(request):
    """What to load while the first weights download: the untrained model, saying why."""
    from dataclasses import replace

    return replace(request, untrained=True, notice="downloading the ImageNet weights; "
                   "the untrained model answers until they arrive")
