"""Folder scans for the window, on a thread of their own: the scan itself, and a channel's patches.

A scan takes minutes; the inference worker must stay free for the photo on
screen meanwhile, so scans get their own QThread (superqt's pattern, as the
inference worker: a parentless QObject moved to it). Both threads use the same
model object; ``inference.scan`` holds the model's forward lock for each batch,
so a scan and an analysis never mix passes, and an analysis waits one batch at
most. Cancel is an abort flag the UI sets directly (``cancel``), polled by the
scan between batches and at every layer; what was done stays in the index.

Results cross as plain values: ``ScanResult`` holds numpy and strings only, and
patches are uint8 arrays cropped here, never on the UI thread.
"""
import logging
import threading
import time
import traceback
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal, Slot

log = logging.getLogger("convscope.scan")

PROGRESS_EVERY_S = 0.1   # at most ten progress signals a second: the status bar needs no more


@dataclass(frozen=True)
class ScanRequest:
    """Scan ``folder`` with the model of generation ``generation`` (``bundle``) at ``layers``."""

    id: int
    generation: int
    folder: str
    layers: tuple[str, ...]
    bundle: object            # the inference worker's ModelBundle: only this thread runs it meanwhile
    preprocess: str = "imagenet"
    top: int = 9
    batch: int | None = None  # images per forward (None: the scanner chooses from free memory)


@dataclass(frozen=True)
class PatchRequest:
    """Channel ``channel`` of ``layer``'s top patches from scan result ``scan_id``."""

    id: int
    scan_id: int
    layer: str
    channel: int
    hits: object              # inference.scan_result.LayerHits


class ScanWorker(QObject):
    """``scan(ScanRequest)`` and ``patches(PatchRequest)``, run on the scan thread."""

    progress = Signal(object, object)     # ScanRequest, inference.scan_result.ScanProgress
    finished = Signal(object, object)     # ScanRequest, inference.scan_result.ScanResult (cancelled: partial)
    failed = Signal(object, str)          # ScanRequest, one line
    patchesReady = Signal(object, object, object)   # PatchRequest, [patch dicts], [one-line reasons]

    def __init__(self):
        super().__init__()
        self.cancel = threading.Event()
        self.closing = False
        self.newest_patches = 0   # written by the UI thread: older patch requests are skipped

    @Slot(object)
    def scan(self, request: ScanRequest) -> None:
        from inference.errors import ConvScopeError
        from inference.scan import scan_folder

        last = [0.0]

        def on_progress(p) -> None:
            now = time.perf_counter()
            if now - last[0] >= PROGRESS_EVERY_S or p.done == p.total:
                last[0] = now
                self.progress.emit(request, p)

        def cancelled() -> bool:
            return self.cancel.is_set() or self.closing

        try:
            result = scan_folder(request.folder, request.bundle, list(request.layers), request.top,
                                 preprocess=request.preprocess, batch=request.batch, progress=on_progress,
                                 cancel=cancelled)
        except ConvScopeError as err:
            self.failed.emit(request, str(err))
            return
        except Exception as err:  # never let an engine bug kill the thread
            log.error("the scan failed:\n%s", traceback.format_exc())
            self.failed.emit(request, f"internal error in the scan: {err}")
            return
        self.finished.emit(request, result)

    @Slot(object)
    def patches(self, request: PatchRequest) -> None:
        if self.closing or request.id != self.newest_patches:
            return   # a newer channel was clicked meanwhile
        from inference.patches import channel_patches

        try:
            patches, errors = channel_patches(request.hits, request.channel)
        except Exception as err:
            log.error("cropping patches failed:\n%s", traceback.format_exc())
            patches, errors = [], [f"cannot crop the patches: {err}"]
        self.patchesReady.emit(request, patches, errors)


class ScanThread(QObject):
    """The scan worker and its thread; ``stop()`` on shutdown: abort flags, ``quit()``, ``wait()``.

    The worker's answers are re-emitted from here, on the UI thread: each lands in a slot of this
    QObject (which lives on the UI thread, so Qt queues it there). Connected straight to the window's
    methods (a mixin's), PySide6 ran them on the scan thread."""

    _scan = Signal(object)
    _patches = Signal(object)
    progress = Signal(object, object)
    finished = Signal(object, object)
    failed = Signal(object, str)
    patchesReady = Signal(object, object, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("convscope-scan")
        self.worker = ScanWorker()
        self.worker.moveToThread(self._thread)
        self._scan.connect(self.worker.scan)
        self._patches.connect(self.worker.patches)
        w = self.worker
        w.progress.connect(self._on_progress)
        w.finished.connect(self._on_finished)
        w.failed.connect(self._on_failed)
        w.patchesReady.connect(self._on_patches)
        self._thread.finished.connect(self.worker.deleteLater)
        self._thread.start()

    @Slot(object, object)
    def _on_progress(self, request, progress) -> None:
        self.progress.emit(request, progress)

    @Slot(object, object)
    def _on_finished(self, request, result) -> None:
        self.finished.emit(request, result)

    @Slot(object, str)
    def _on_failed(self, request, message: str) -> None:
        self.failed.emit(request, message)

    @Slot(object, object, object)
    def _on_patches(self, request, patches, errors) -> None:
        self.patchesReady.emit(request, patches, errors)

    def scan(self, request: ScanRequest) -> None:
        self.worker.cancel.clear()
        self._scan.emit(request)

    def patches(self, request: PatchRequest) -> None:
        self.worker.newest_patches = request.id
        self._patches.emit(request)

    def cancel(self) -> None:
        self.worker.cancel.set()

    def stop(self, timeout_ms: int = 2000) -> bool:
        self.worker.closing = True
        self.worker.cancel.set()
        if not self._thread.isRunning():
            return True
        self._thread.quit()
        if self._thread.wait(timeout_ms):
            return True
        # A batch that will not end: keep the thread alive (destroying a running QThread aborts the
        # process) where the controller's exit check finds it (``threads_left_running``).
        from .controller import _STUCK

        log.warning("the scan thread did not stop within %d ms; exiting without it", timeout_ms)
        self._thread.setParent(None)
        _STUCK.extend([self._thread, self.worker])
        return False

    def qthread(self) -> QThread:
        return self._thread
