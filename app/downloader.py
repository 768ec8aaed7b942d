"""Weight downloads on their own thread, so images can still be analysed while 528 MB arrive.

A parentless QObject moved to its own QThread (like the inference worker).
It only fetches the file into torch.hub's cache (``inference.download``:
streamed to a temp file, hash-checked, renamed); loading the weights stays
the inference worker's job, asked for when the file is there.
"""
import logging
import traceback

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger("convscope.downloader")


class DownloadWorker(QObject):
    progress = Signal(object, object)   # bytes done, total (None when unknown)
    done = Signal(object)               # the WeightsRequest, whose file is now cached
    failed = Signal(object, str)        # the WeightsRequest, one line

    def __init__(self):
        super().__init__()  # no parent: it is moved to its thread
        self.cancel = False     # the Cancel button
        self.closing = False    # the app is closing

    @Slot(object)
    def download(self, request) -> None:
        try:
            from inference import download
            from inference.errors import Cancelled, ConvScopeError

            url = request.url or download.IMAGENET_URL
            dest = download.cached_path(url)
            if not dest.is_file():
                download.download_weights(url, dest, progress=lambda done, total: self.progress.emit(done, total),
                                          cancel=lambda: self.cancel or self.closing)
        except Cancelled:
            self.failed.emit(request, "ImageNet weights download cancelled")
            return
        except ConvScopeError as err:
            self.failed.emit(request, str(err))
            return
        except Exception as err:
            log.error("the download failed:\n%s", traceback.format_exc())
            self.failed.emit(request, f"the download failed: {err}")
            return
        self.done.emit(request)
