"""File → Scan folder…: what each channel looks for across a folder, beside the photo's own map.

A mixin of ``MainWindow``. The scan runs on its own thread (``app.scan_worker``)
with the model on screen, at the layer on screen; its progress (images per
second, ETA) and a Cancel button sit in the status bar and in the gallery.
Once it is in, the "Across the folder" dock shows, for the channel selected in
the grid, its top-N patches: each the unit's receptive field cropped from the
original photo (cropped on the scan thread). Clicking a patch opens that photo.

A result belongs to the model it was made with: after a model switch the
gallery says so and keeps the old patches until the folder is scanned again.
Cancel keeps what was done (the index on disk); scanning again resumes it.
"""
import itertools
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QProgressBar, QPushButton

from widgets.patch_gallery import PatchGallery

from .scan_worker import PatchRequest, ScanRequest, ScanThread

SCAN_TOP = 9
# Images per forward in the window: each batch holds the model's forward lock, so a photo opened
# meanwhile waits for one batch (VGG16: 8 images were 2-4 s here, 2 are well under a second).
SCAN_BATCH = 2


def _eta(seconds) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d} left" if seconds >= 60 else f"{seconds} s left"


class ScanActions:
    """The scan's menu action, status-bar progress, gallery dock and patch requests."""

    def _build_scan(self) -> None:
        self.scans = ScanThread(self)
        self._scan_ids = itertools.count(1)
        self._scan_request: ScanRequest | None = None   # the scan running now
        self.scan_result = None                          # the newest finished scan (ScanResult)
        self._scan_of: ScanRequest | None = None         # the request that made it
        self._patch_ids = itertools.count(1)
        self._patch_shown = None                         # (layer, channel) on show in the gallery
        self.gallery = PatchGallery()   # its own minimum (two columns): the window still fits 1280 px
        self.gallery_dock = self._dock("Across the folder", "galleryDock", self.gallery,
                                       Qt.DockWidgetArea.RightDockWidgetArea)
        self.gallery_dock.hide()   # until the first scan (View → Across the folder shows it)
        self.scan_bar = QProgressBar()
        self.scan_bar.setMaximumWidth(160)
        self.scan_bar.setTextVisible(False)
        self.scan_label = QLabel()
        self.scan_cancel = QPushButton("Cancel scan")
        for w in (self.scan_label, self.scan_bar, self.scan_cancel):
            # Hidden until a scan: room kept for them pushed the status bar's own texts off to the middle.
            w.hide()
            self.statusBar().addPermanentWidget(w)
        self.scan_cancel.clicked.connect(self.cancel_scan)
        self.gallery.cancelRequested.connect(self.cancel_scan)
        self.gallery.patchActivated.connect(self._open_patch)
        w = self.scans   # its re-emitted answers, on this thread
        w.progress.connect(self._on_scan_progress)
        w.finished.connect(self._on_scan_finished)
        w.failed.connect(self._on_scan_failed)
        w.patchesReady.connect(self._on_patches)
        self.grid.channelSelected.connect(lambda _c: self._follow_scan())
        self.session.layerChanged.connect(lambda name: name == self.selected_layer and self._follow_scan())
        self.session.modelChanged.connect(lambda _info: self._scan_model_changed())

    def _scan_menu(self, menu) -> None:
        """File → Scan folder… and Cancel scan."""
        self.scan_action = menu.addAction("Scan &folder…", self.scan_folder_dialog)
        self.scan_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.scan_action.setStatusTip("Run every photo of a folder through the model: each channel's top images")
        self.cancel_scan_action = menu.addAction("Cancel scan", self.cancel_scan)
        self.cancel_scan_action.setEnabled(False)

    # ----------------------------------------------------------------- starting
    def scan_folder_dialog(self) -> None:
        start = str(self.settings.value("scanFolder", "") or Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Scan a folder of photos", start)
        if folder:
            self.scan_folder(folder)

    def scan_folder(self, folder: str, layers: tuple[str, ...] | None = None) -> bool:
        """Scan ``folder`` at ``layers`` (default: the layer on screen). False, with one line, if it cannot start."""
        bundle = self.controller.bundle
        info = self.session.model_info
        if bundle is None or info is None:
            self.show_error("the model is still loading; scan the folder once it is ready")
            return False
        if self._scan_request is not None:
            self.show_error("a scan is running; cancel it first (Esc or Cancel scan in the status bar)")
            return False
        layer = self.session.layer(self.selected_layer)
        if layers is None:
            layers = (self.selected_layer,) if layer is None or layer.data.ndim == 3 else ()
        self.settings.setValue("scanFolder", folder)
        request = ScanRequest(next(self._scan_ids), info.get("generation", 0), folder, tuple(layers), bundle,
                              self.preprocess, SCAN_TOP, SCAN_BATCH)
        self._scan_request = request
        self._show_gallery()
        self.gallery.set_progress(0, None, None, None, folder=Path(folder).name)
        self._show_scan_progress(f"scanning {Path(folder).name}…", None)
        self.scans.scan(request)
        return True

    def _show_gallery(self) -> None:
        """The gallery as a tab beside the Prediction panel, so it gets the right column's height (the
        first time; where the user has moved it since, it stays)."""
        if self.gallery_dock.isHidden() and not self.gallery_dock.isFloating() and \
                self.dockWidgetArea(self.gallery_dock) == self.dockWidgetArea(self.pred_dock) and \
                not self.tabifiedDockWidgets(self.gallery_dock):
            self.tabifyDockWidget(self.pred_dock, self.gallery_dock)
        self.gallery_dock.show()
        self.gallery_dock.raise_()

    @Slot()
    def cancel_scan(self) -> None:
        if self._scan_request is not None:
            self.scans.cancel()
            self.scan_label.setText("cancelling the scan (what is done is kept)…")

    # ----------------------------------------------------------------- progress and results
    def _show_scan_progress(self, text: str, fraction: float | None) -> None:
        self.scan_label.setText(text)
        if fraction is None:
            self.scan_bar.setRange(0, 0)
        else:
            self.scan_bar.setRange(0, 1000)
            self.scan_bar.setValue(int(1000 * fraction))
        for w in (self.scan_label, self.scan_bar, self.scan_cancel):
            w.show()
        self.cancel_scan_action.setEnabled(True)

    def _hide_scan_progress(self) -> None:
        for w in (self.scan_label, self.scan_bar, self.scan_cancel):
            w.hide()
        self.cancel_scan_action.setEnabled(False)

    @Slot(object, object)
    def _on_scan_progress(self, request, p) -> None:
        if request is not self._scan_request:
            return
        rate = f" · {p.images_per_s:.1f} images/s" if p.images_per_s else ""
        eta = _eta(p.eta_s)
        text = f"scanning {Path(request.folder).name}: {p.done} of {p.total}{rate}" + (f" · {eta}" if eta else "")
        self._show_scan_progress(text, p.done / p.total if p.total else None)
        self.gallery.set_progress(p.done, p.total, p.images_per_s or None, p.eta_s, folder=Path(request.folder).name)

    @Slot(object, object)
    def _on_scan_finished(self, request, result) -> None:
        if request is not self._scan_request:
            return
        self._scan_request = None
        self._hide_scan_progress()
        self.gallery.finish_progress()
        self.scan_result, self._scan_of = result, request
        self._patch_shown = None
        name = Path(result.folder).name
        failed = f"; {len(result.failures)} could not be read ({result.failures[0].reason})" if result.failures else ""
        if result.cancelled:
            self.show_error(f"scan of {name} cancelled after {result.scanned} of {result.scanned + result.pending} "
                            f"new images; scan it again to resume{failed}", error=False)
        else:
            self.statusBar().showMessage(f"scanned {name}: {result.images} images ({result.scanned} new, "
                                         f"{result.reused} from the index){failed}", 8000)
            if failed:
                self.show_error(f"scan of {name}{failed}", error=False)
        self._follow_scan(force=True)

    @Slot(object, str)
    def _on_scan_failed(self, request, message: str) -> None:
        if request is not self._scan_request:
            return
        self._scan_request = None
        self._hide_scan_progress()
        self.gallery.finish_progress()
        if self.scan_result is None:
            self.gallery.show_empty()
        self.show_error(message)

    # ----------------------------------------------------------------- the gallery follows the grid
    def _follow_scan(self, force: bool = False) -> None:
        """Show the selected channel's patches, if the newest scan covered the layer on screen."""
        result = self.scan_result
        if result is None or self._scan_request is not None:
            return
        channel = self.grid.selected_channel()
        hits = result.layers.get(self.selected_layer)
        folder = Path(result.folder).name
        if hits is None:
            scanned = ", ".join(result.layers) or "no layer"
            self._patch_shown = None
            self.gallery.show_empty(f"{folder} was scanned at {scanned}; File → Scan folder… scans the layer "
                                    f"on screen ({self.selected_layer})")
            return
        if channel is None or (not force and self._patch_shown == (self.selected_layer, channel)):
            return
        if channel >= hits.channels:
            return
        self._patch_shown = (self.selected_layer, channel)
        self.scans.patches(PatchRequest(next(self._patch_ids), self._scan_of.id, self.selected_layer, channel, hits))

    @Slot(object, object, object)
    def _on_patches(self, request, patches, errors) -> None:
        result = self.scan_result
        if result is None or request.scan_id != self._scan_of.id or self._patch_shown != (request.layer,
                                                                                            request.channel):
            return   # another channel, layer or scan is on show by now
        hits = result.layers[request.layer]
        name = f"{request.layer} ({hits.alias})" if hits.alias else request.layer
        self.gallery.set_patches(patches, top=self._scan_of.top, layer=name, channel=request.channel,
                                 n_images=result.images - len(result.failures), folder=Path(result.folder).name)
        image = self.session.image
        if image is not None:
            self.gallery.set_current_path(image["path"])
        self._scan_model_changed()
        if errors:
            self.statusBar().showMessage(errors[0], 8000)

    def _scan_model_changed(self) -> None:
        info = self.session.model_info or {}
        if self._scan_of is not None:
            stale = self._scan_of.generation != info.get("generation", self._scan_of.generation)
            self.gallery.set_stale("scanned with the previous model: File → Scan folder… scans it with this one"
                                   if stale else "")

    @Slot(str)
    def _open_patch(self, path: str) -> None:
        self.open_paths([path])

    def _stop_scans(self) -> None:
        self.scans.stop()
