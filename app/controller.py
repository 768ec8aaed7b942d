"""The UI-side half of the data flow: issue requests, and land current results in the Session.

Owns the inference worker and the downloader, each on its own QThread
(superqt/pyqtgraph pattern: a parentless QObject moved to a thread; on
shutdown: abort flags, ``quit()``, ``wait()``). Results come back as signals
tagged with request ids; the Session keeps what belongs to the newest request
and drops the rest, so the views only ever see the current image.
"""
import logging

from PySide6.QtCore import QObject, QThread, Signal, Slot

from .downloader import DownloadWorker
from .requests import (AblateRequest, AnalyzeRequest, CamRequest, CompareRequest, DemoRequest, Generation, PinRequest,
                       ProbeRequest)
from .session import Session
from .ui_thread_gc import collect_on_ui_thread
from .worker import InferenceWorker

log = logging.getLogger("convscope.controller")

CAM_PURPOSES = ("top", "explain", "grid")
PROBES = ("probe", "ablation", "pin", "compare")  # the other re-entries of the kept runs, each newest-wins
_STUCK = []  # threads that would not stop at exit: kept alive so Qt never destroys a running QThread


class Controller(QObject):
    # Requests to the worker threads (queued across threads).
    _loadModel = Signal(object)
    _analyze = Signal(object)
    _runDemo = Signal(object)
    _computeCam = Signal(object)
    _probe = Signal(object)
    _ablate = Signal(object)
    _pin = Signal(object)
    _unpin = Signal()
    _compare = Signal(object)
    _download = Signal(object)

    # Model and download state, for the window's status bar.
    modelLoading = Signal(str)
    modelFailed = Signal(str)
    downloadProgress = Signal(object, object)
    downloadFinished = Signal()          # the download ended (done, failed or cancelled)
    downloadFailed = Signal(str, bool)   # one line; True when the untrained model answers instead (start-up)
    layerReady = Signal(object)          # every current layer as it arrives (for tests and autoclose)

    def __init__(self, parent=None):
        super().__init__(parent)
        collect_on_ui_thread()  # before the first thread starts: no cycle is ever collected on one of them
        self.session = Session(self)
        self.analyses = Generation()
        self.demos = Generation()
        self.cams = {purpose: Generation() for purpose in CAM_PURPOSES + PROBES}
        self.downloading = None            # the WeightsRequest being downloaded
        self._load_after = 0
        self._newest_load = None           # the weights the user asked for last
        self._thread = QThread()
        self._thread.setObjectName("convscope-inference")
        self.worker = InferenceWorker(self.analyses, self.demos, self.cams)
        self.worker.moveToThread(self._thread)
        self._dl_thread = QThread()
        self._dl_thread.setObjectName("convscope-download")
        self.downloader = DownloadWorker()
        self.downloader.moveToThread(self._dl_thread)

        self._loadModel.connect(self.worker.load_model)
        self._analyze.connect(self.worker.analyze)
        self._runDemo.connect(self.worker.run_demo)
        self._computeCam.connect(self.worker.compute_cam)
        self._probe.connect(self.worker.probe)
        self._ablate.connect(self.worker.ablate)
        self._pin.connect(self.worker.pin)
        self._unpin.connect(self.worker.unpin)
        self._compare.connect(self.worker.compare)
        self._download.connect(self.downloader.download)
        s, w = self.session, self.worker
        w.modelLoading.connect(self.modelLoading)
        w.modelReady.connect(s.set_model)
        w.modelFailed.connect(self.modelFailed)
        w.downloadNeeded.connect(self._start_download)
        w.imageReady.connect(s.start_image)
        w.layerReady.connect(self._on_layer)
        w.statsReady.connect(s.stats_ready)
        w.predictionsReady.connect(s.set_predictions)
        w.demoReady.connect(s.set_demo)
        w.demoUpdated.connect(self._on_demo_update)
        w.demoFailed.connect(self._on_demo_failed)
        w.camReady.connect(self._on_cam)
        w.camFailed.connect(self._on_cam_failed)
        # Slots of this object, never lambdas: PySide6 runs a lambda connected to a signal of the worker
        # on the worker's thread, and the Session (and every view after it) must only change on this one.
        w.probeReady.connect(self._on_probe)
        w.probeFailed.connect(self._on_probe_failed)
        w.ablationReady.connect(self._on_ablation)
        w.ablationStats.connect(self._on_ablation_stats)
        w.ablationFailed.connect(self._on_ablation_failed)
        w.pinReady.connect(self._on_pin)
        w.pinFailed.connect(self._on_pin_failed)
        w.pinDropped.connect(self._on_pin_dropped)
        w.compareReady.connect(self._on_comparison)
        w.compareFailed.connect(self._on_comparison_failed)
        w.fieldsReady.connect(s.set_fields)
        w.modelsReady.connect(s.set_catalogue)
        w.failed.connect(s.fail)
        w.finished.connect(s.finish)
        d = self.downloader
        d.progress.connect(self.downloadProgress)
        d.done.connect(self._on_downloaded)
        d.failed.connect(self._on_download_failed)
        self._thread.finished.connect(self.worker.deleteLater)
        self._dl_thread.finished.connect(self.downloader.deleteLater)
        self._thread.start()
        self._dl_thread.start()

    # ----------------------------------------------------------------- requests
    def load_model(self, request) -> None:
        self._load_after = self.analyses.newest  # analyses asked before this load ran on the old model
        self._newest_load = request
        self._loadModel.emit(request)

    @property
    def load_requested(self) -> bool:
        """Some weights have been asked for (the window asks for its first model once it has painted)."""
        return self._newest_load is not None

    def reanalysis_needed(self) -> bool:
        """New weights are in: does the newest requested image still need analysing with them?

        The worker takes requests in order, so an image asked for after the load was queued is
        analysed with the new weights anyway; one asked for before needs a new request."""
        s = self.session
        return bool(s.paths_to_reanalyse()) and s.request_id <= self._load_after

    def analyze(self, paths, preprocess: str, demo: dict, max_side: int = 1024, focus: str | None = None) -> int:
        rid = self.analyses.next()
        self.session.request(rid, paths)
        top = CamRequest(self._next_cam("top"), rid, purpose="top")  # the figure's; one backward, no forward
        self._analyze.emit(AnalyzeRequest(rid, tuple(str(p) for p in paths), preprocess, dict(demo), max_side, focus,
                                          cam=top))
        return rid

    def request_cam(self, layer: str | None, target: str | None, method: str, purpose: str = "explain") -> int:
        """A CAM of the image whose results are shown (the worker keeps its run); newest per purpose wins."""
        cid = self._next_cam(purpose)
        self._computeCam.emit(CamRequest(cid, self.session.results_id, layer, target, method, purpose))
        return cid

    def _next_cam(self, purpose: str) -> int:
        cid = self.cams[purpose].next()
        self.session.request_cam(purpose, cid)
        return cid

    def probe(self, layer: str, channel: int, y: int, x: int) -> int:
        """The effective receptive field and hypercolumn of one unit of the image on screen."""
        pid = self._next_cam("probe")
        self._probe.emit(ProbeRequest(pid, self.session.results_id, layer, int(channel), int(y), int(x)))
        return pid

    def ablate(self, layer: str, channels, mode: str = "zero", keep: bool = False, focus: str | None = None) -> int:
        """Re-run the image on screen from ``layer`` on with ``channels`` ablated (the original stays kept)."""
        aid = self._next_cam("ablation")
        self._ablate.emit(AblateRequest(aid, self.session.results_id, layer, tuple(int(c) for c in channels),
                                        mode, bool(keep), focus))
        return aid

    def pin(self) -> int:
        """Keep the result on screen as A of an A/B comparison (the worker keeps its run)."""
        pid = self._next_cam("pin")
        self._next_cam("compare")  # a comparison against the A before is dropped
        self._pin.emit(PinRequest(pid, self.session.results_id))
        return pid

    def unpin(self) -> None:
        """End the comparison: the worker lets A go, and whatever is on its way is dropped."""
        self._next_cam("pin")
        self._next_cam("compare")
        self._unpin.emit()
        self.session.unpin()

    def compare(self, layer: str) -> int:
        """B − A at ``layer``: the pinned A against the result on screen (B); 0 when nothing is pinned."""
        pinned = self.session.pinned
        if pinned is None:
            return 0
        cid = self._next_cam("compare")
        self._compare.emit(CompareRequest(cid, pinned["pin_id"], self.session.results_id, layer))
        return cid

    @Slot(str)
    def _on_pin_dropped(self, message: str) -> None:
        self._next_cam("compare")
        self.session.drop_pin(message)

    def reset_ablation(self) -> None:
        """Back to the original run: nothing to compute, it was never changed."""
        self._next_cam("ablation")  # an ablation still on its way is dropped
        self.session.clear_ablation()

    def rerun_demo(self, demo: dict, max_side: int = 1024) -> int:
        """Re-run the demo conv on the image whose results are shown (the worker has its photo)."""
        rid = self.demos.next()
        self._runDemo.emit(DemoRequest(rid, self.session.results_id, dict(demo), max_side))
        return rid

    def cancel_download(self) -> None:
        self.downloader.cancel = True

    @property
    def busy(self) -> bool:
        return self.session.busy

    @property
    def bundle(self):
        """The model the worker last made current (None while the first one loads), for work that runs on a
        thread of its own (a folder scan). The worker replaces it and never changes one in place, so
        reading the reference from the UI thread is safe; nothing here runs it."""
        return self.worker._bundle

    # ----------------------------------------------------------------- results
    @Slot(int, object)
    def _on_layer(self, rid: int, layer) -> None:
        self.session.add_layer(rid, layer)
        if rid == self.session.request_id:
            self.layerReady.emit(layer)

    @Slot(object, object)
    def _on_cam(self, request, cam) -> None:
        self.session.set_cam(request.purpose, request.id, request.analysis_id, cam)

    @Slot(object, str)
    def _on_cam_failed(self, request, message: str) -> None:
        self.session.fail_cam(request.purpose, request.id, request.analysis_id, message)

    @Slot(object, object)
    def _on_probe(self, request, probe) -> None:
        self.session.set_probe(request.id, request.analysis_id, probe)

    @Slot(object, str)
    def _on_probe_failed(self, request, message: str) -> None:
        self.session.fail_probe(request.id, request.analysis_id, message)

    @Slot(object, object)
    def _on_ablation(self, request, result) -> None:
        self.session.set_ablation(request.id, request.analysis_id, result)

    @Slot(object, object)
    def _on_ablation_stats(self, request, names) -> None:
        self.session.ablation_stats(request.id, request.analysis_id, names)

    @Slot(object, str)
    def _on_ablation_failed(self, request, message: str) -> None:
        self.session.fail_ablation(request.id, request.analysis_id, message)

    @Slot(object, object)
    def _on_pin(self, request, info) -> None:
        self.session.set_pin(request.id, info)

    @Slot(object, str)
    def _on_pin_failed(self, request, message: str) -> None:
        self.session.fail_pin(request.id, message)

    @Slot(object, object)
    def _on_comparison(self, request, result) -> None:
        self.session.set_comparison(request.id, request.analysis_id, result)

    @Slot(object, str)
    def _on_comparison_failed(self, request, message: str) -> None:
        self.session.fail_comparison(request.id, request.analysis_id, message)

    @Slot(int, int, object)
    def _on_demo_update(self, rid: int, analysis_id: int, demo) -> None:
        if rid == self.demos.newest:
            self.session.set_demo(analysis_id, demo)

    @Slot(int, int, str)
    def _on_demo_failed(self, rid: int, analysis_id: int, message: str) -> None:
        if rid == self.demos.newest:
            self.session.fail_demo(analysis_id, message)

    # ----------------------------------------------------------------- downloads
    @Slot(object)
    def _start_download(self, request) -> None:
        if self.downloading is not None:
            return  # one download at a time; it ends with a load of the newest request's weights
        self.downloading = request
        self.downloader.cancel = False  # here, not in the slot: a Cancel pressed before it runs must count
        self._download.emit(request)

    @Slot(object)
    def _on_downloaded(self, request) -> None:
        self.downloading = None
        self.downloadFinished.emit()
        newest = self._newest_load
        # Load what arrived only if it is still what the user wants (not if they chose other weights since).
        if not self.analyses.closing and newest is not None and not newest.weights and not newest.untrained \
                and (newest.url or None) == (request.url or None):
            self.load_model(newest)  # cached now: the worker loads it, then the newest image is re-analysed

    @Slot(object, str)
    def _on_download_failed(self, request, message: str) -> None:
        self.downloading = None
        self.downloadFinished.emit()
        if self.analyses.closing:
            return
        fallback = request.fallback and (self.session.model_info or {}).get("source") == "untrained"
        self.downloadFailed.emit(f"{message}; using the untrained model" if fallback else message, fallback)

    # ----------------------------------------------------------------- shutdown
    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Abort whatever runs (at the next layer or download chunk), stop the threads, wait for them.

        A thread still running after that (an uninterruptible call) is reported in the log and
        left alive: destroying a running QThread would abort the whole process.
        """
        self.analyses.closing = True
        self.demos.closing = True
        for generation in self.cams.values():
            generation.closing = True
        self.downloader.closing = True
        self.downloader.cancel = True
        self.session.close()
        ok = True
        for thread in (self._thread, self._dl_thread):
            if not thread.isRunning():
                continue
            thread.quit()
            if not thread.wait(timeout_ms):
                log.warning("the %s thread did not stop within %d ms; exiting without it",
                            thread.objectName(), timeout_ms)
                thread.setParent(None)
                _STUCK.append(thread)
                ok = False
        if not ok:
            _STUCK.extend([self.worker, self.downloader])
        else:
            self.worker.release()  # a window closed and kept alive by someone must not keep 530 MB
        return ok

    def thread_running(self) -> bool:
        return self._thread.isRunning() or self._dl_thread.isRunning()


def threads_left_running() -> bool:
    """True when shutdown had to leave a thread running (the process must then exit without Qt's teardown)."""
    return any(isinstance(t, QThread) and t.isRunning() for t in _STUCK)

