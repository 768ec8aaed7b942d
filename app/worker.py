"""The inference worker: a QObject living on its own QThread, so torch never runs on the UI thread.

It owns the model. Requests arrive as queued slot calls carrying immutable
snapshots; results leave as signals carrying fresh read-only numpy arrays (each
pass allocates new activations, so the worker never touches them again) tagged
with the request id. A request that is
no longer the newest is skipped before it starts and aborted at the next
layer boundary while it runs, so rapid input never piles up.

The engine (and torch) is imported lazily on this thread, so the window can
paint before torch has even been imported.
"""
import logging
import os
import threading
import time
import traceback

from PySide6.QtCore import QObject, Signal, Slot

from .requests import AnalyzeRequest, DemoRequest, Generation

log = logging.getLogger("convscope.worker")


class InferenceWorker(QObject):
    modelLoading = Signal(str)                 # what is being loaded
    downloadProgress = Signal(object, object)  # bytes done, total (None when unknown)
    modelReady = Signal(object)                # dict: arch, weights_text, source, pretrained, device, layers, class_names, notice
    modelFailed = Signal(str)                  # one line; the previous model stays
    imageReady = Signal(int, object)           # id, dict(path, rgb, width, height, rect, view_rgb, reduced)
    layerReady = Signal(int, object)           # id, inference.capture.LayerOutput
    predictionsReady = Signal(int, object)     # id, inference.predict.Predictions
    demoReady = Signal(int, object)            # analysis id, inference.demo_conv.DemoConvResult
    demoUpdated = Signal(int, object)          # demo-request id, DemoConvResult (a re-run of the demo conv alone)
    demoFailed = Signal(int, str)              # demo-request id, one line
    failed = Signal(int, str)                  # id, one line
    finished = Signal(int, float)              # id, seconds

    def __init__(self, analyses: Generation, demos: Generation):
        super().__init__()  # no parent: it is moved to its thread
        self._analyses = analyses
        self._demos = demos
        self._bundle = None
        self.cancel_download = False

    # ----------------------------------------------------------------- model
    @Slot(object)
    def load_model(self, request) -> None:
        """Resolve and load weights (maybe downloading); on failure keep the current model."""
        self._yield_to_ui()
        try:
            from inference.errors import ConvScopeError
            from inference.model import load_model

            self.cancel_download = False
            self.modelLoading.emit(self._describe(request))
            bundle = load_model(request, progress=lambda done, total: self.downloadProgress.emit(done, total),
                                cancel=lambda: self.cancel_download or self._analyses.closing,
                                abort=lambda: self._analyses.closing)
        except ConvScopeError as err:
            self.modelFailed.emit(str(err))
            return
        except Exception as err:  # never let an engine bug kill the thread
            log.error("loading the model failed:\n%s", traceback.format_exc())
            self.modelFailed.emit(f"could not load the model: {err}")
            return
        self._bundle = bundle
        self.modelReady.emit(self._model_info(bundle))

    _niced = False

    def _yield_to_ui(self) -> None:
        """Lower this thread's priority before torch starts its worker threads (they inherit it):
        on two cores the UI thread must win when both want the CPU, or the window stutters."""
        if self._niced or not hasattr(os, "setpriority"):
            return
        self._niced = True
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError:
            pass

    @staticmethod
    def _describe(request) -> str:
        if request.weights:
            return f"loading weights from {request.weights}"
        return "loading the untrained model" if request.untrained else "loading VGG16 weights"

    @staticmethod
    def _model_info(bundle) -> dict:
        from inference.analysis import layer_specs

        return {
            "arch": bundle.arch, "weights_text": bundle.weights_text(), "source": bundle.source,
            "path": bundle.path, "pretrained": bundle.pretrained, "device": str(bundle.device),
            "class_names": list(bundle.class_names), "notice": bundle.notice, "imagenet_head": bundle.imagenet_head,
            "layers": [{"name": s.name, "alias": s.alias, "type": s.type, "params": s.params, "group": s.group}
                       for s in layer_specs(bundle)],
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
                                      max_side=request.max_side)
            stale = lambda: self._analyses.is_stale(rid)  # noqa: E731
            path = self._first_loadable(request.paths)
            t0 = time.perf_counter()
            analyze(path, self._bundle, options,
                    on_image=lambda img, prep: self.imageReady.emit(rid, {
                        "path": img.path, "rgb": img.rgb, "width": img.width, "height": img.height,
                        "reduced": img.reduced, "rect": prep.rect, "view_rgb": prep.view_rgb}),
                    on_layer=lambda layer: self.layerReady.emit(rid, layer),
                    on_predictions=lambda p: self.predictionsReady.emit(rid, p),
                    on_demo=lambda d: self.demoReady.emit(rid, d),
                    cancel=stale)
            self.finished.emit(rid, time.perf_counter() - t0)
        except Cancelled:
            return
        except ConvScopeError as err:
            self.failed.emit(rid, str(err))
        except Exception as err:
            log.error("analysis failed:\n%s", traceback.format_exc())
            self.failed.emit(rid, f"internal error while analysing: {err}")

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

    @Slot(object)
    def run_demo(self, request: DemoRequest) -> None:
        if self._demos.is_stale(request.id):
            return
        try:
            from inference.demo_conv import DemoConvSpec, run_demo_conv

            result = run_demo_conv(request.rgb, DemoConvSpec(**request.demo), request.max_side, request.original_size)
            if not self._demos.is_stale(request.id):
                self.demoUpdated.emit(request.id, result)
        except (ValueError, TypeError) as err:
            self.demoFailed.emit(request.id, f"demo conv: {err}")
        except Exception as err:
            log.error("demo conv failed:\n%s", traceback.format_exc())
            self.demoFailed.emit(request.id, f"demo conv failed: {err}")
