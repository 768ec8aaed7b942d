"""The UI-side half of the data flow: issue requests, drop stale results, keep what is on screen.

Owns the worker and its QThread (superqt/pyqtgraph pattern: a parentless QObject
moved to a thread; on shutdown: abort flags, ``quit()``, ``wait()``). Results
come back as signals; anything whose request id is not the newest is dropped
here, so the views only ever see the current image.
"""
import logging

from PySide6.QtCore import QObject, QThread, Signal, Slot

from .requests import AnalyzeRequest, DemoRequest, Generation
from .worker import InferenceWorker

log = logging.getLogger("convscope.controller")


class Controller(QObject):
    # Requests to the worker (queued across threads).
    _loadModel = Signal(object)
    _analyze = Signal(object)
    _runDemo = Signal(object)

    # What the window listens to: only current results pass.
    modelLoading = Signal(str)
    modelReady = Signal(object)
    modelFailed = Signal(str)
    downloadProgress = Signal(object, object)
    imageStarted = Signal(object)      # dict (photo, rect, …) of the new current image
    layerReady = Signal(object)        # LayerOutput
    predictionsReady = Signal(object)
    demoReady = Signal(object)
    analysisFailed = Signal(str)
    analysisFinished = Signal(float)
    demoFailed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.analyses = Generation()
        self.demos = Generation()
        self.current_id = 0           # the newest analysis request id
        self.shown_id = 0             # the analysis whose image is on screen
        self.model_info: dict | None = None
        self.busy = False
        self._thread = QThread()
        self._thread.setObjectName("convscope-inference")
        self.worker = InferenceWorker(self.analyses, self.demos)
        self.worker.moveToThread(self._thread)
        self._loadModel.connect(self.worker.load_model)
        self._analyze.connect(self.worker.analyze)
        self._runDemo.connect(self.worker.run_demo)
        w = self.worker
        w.modelLoading.connect(self.modelLoading)
        w.downloadProgress.connect(self.downloadProgress)
        w.modelReady.connect(self._on_model_ready)
        w.modelFailed.connect(self.modelFailed)
        w.imageReady.connect(self._on_image)
        w.layerReady.connect(self._on_layer)
        w.predictionsReady.connect(self._on_predictions)
        w.demoReady.connect(self._on_demo)
        w.demoUpdated.connect(self._on_demo_update)
        w.demoFailed.connect(self._on_demo_failed)
        w.failed.connect(self._on_failed)
        w.finished.connect(self._on_finished)
        self._thread.finished.connect(self.worker.deleteLater)
        self._thread.start()

    # ----------------------------------------------------------------- requests
    def load_model(self, request) -> None:
        self._loadModel.emit(request)

    def analyze(self, paths, preprocess: str, demo: dict, max_side: int = 1024) -> int:
        rid = self.analyses.next()
        self.current_id = rid
        self.busy = True
        self._analyze.emit(AnalyzeRequest(rid, tuple(str(p) for p in paths), preprocess, dict(demo), max_side))
        return rid

    def rerun_demo(self, rgb, original_size, demo: dict, max_side: int = 1024) -> int:
        rid = self.demos.next()
        self._runDemo.emit(DemoRequest(rid, rgb, tuple(original_size), dict(demo), max_side))
        return rid

    def cancel_download(self) -> None:
        self.worker.cancel_download = True

    # ----------------------------------------------------------------- results
    def _current(self, rid: int) -> bool:
        return rid == self.current_id and not self.analyses.closing

    @Slot(object)
    def _on_model_ready(self, info: dict) -> None:
        self.model_info = info
        self.modelReady.emit(info)

    @Slot(int, object)
    def _on_image(self, rid: int, image: dict) -> None:
        if self._current(rid):
            self.shown_id = rid
            self.imageStarted.emit(image)

    @Slot(int, object)
    def _on_layer(self, rid: int, layer) -> None:
        if self._current(rid):
            self.layerReady.emit(layer)

    @Slot(int, object)
    def _on_predictions(self, rid: int, predictions) -> None:
        if self._current(rid):
            self.predictionsReady.emit(predictions)

    @Slot(int, object)
    def _on_demo(self, rid: int, demo) -> None:
        if self._current(rid):
            self.demoReady.emit(demo)

    @Slot(int, object)
    def _on_demo_update(self, rid: int, demo) -> None:
        if rid == self.demos.newest:
            self.demoReady.emit(demo)

    @Slot(int, str)
    def _on_demo_failed(self, rid: int, message: str) -> None:
        if rid == self.demos.newest:
            self.demoFailed.emit(message)

    @Slot(int, str)
    def _on_failed(self, rid: int, message: str) -> None:
        if self._current(rid):
            self.busy = False
            self.analysisFailed.emit(message)

    @Slot(int, float)
    def _on_finished(self, rid: int, seconds: float) -> None:
        if self._current(rid):
            self.busy = False
            self.analysisFinished.emit(seconds)

    # ----------------------------------------------------------------- shutdown
    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Abort whatever runs (at the next layer or download chunk), stop the thread, wait for it."""
        if not self._thread.isRunning():
            return True
        self.analyses.closing = True
        self.demos.closing = True
        self.worker.cancel_download = True
        self._thread.quit()
        done = self._thread.wait(timeout_ms)
        if not done:
            # Something uninterruptible (an import, a stalled socket read) is running; destroying a
            # running QThread would abort the process, so give it the socket timeout to finish.
            log.warning("the inference thread did not stop within %d ms; waiting longer", timeout_ms)
            done = self._thread.wait(35_000)
        return done

    def thread_running(self) -> bool:
        return self._thread.isRunning()
