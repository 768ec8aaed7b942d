"""The window's ways in: open, paste, drag-and-drop, recent files; each ends in one analysis request.

A mixin for MainWindow. Whatever cannot be opened (a folder, a web address, a
drop without a file) is one line in the window, and the results on screen stay.
Every path is made absolute where it comes in, so the recent-files list and a
re-analysis with new weights still find the file from any working folder.
"""
import os
from pathlib import Path

from PySide6.QtCore import QMimeData
from PySide6.QtWidgets import QApplication, QFileDialog

from . import settings as app_settings
from .drops import DropError, paths_from_mime
from .resources import SAMPLES

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.ppm *.pgm);;All files (*)"


def absolute(path) -> str:
    """``path`` made absolute; a web address (refused later, with its own message) and "" stay as they are."""
    path = str(path)
    return path if not path or "://" in path else os.path.abspath(path)


class OpenActions:
    def open_image(self, path) -> None:
        """Analyse ``path`` (a file). Errors are shown in the window; what is on screen stays."""
        self.open_paths([str(path)])

    def open_paths(self, paths: list[str]) -> None:
        paths = [absolute(p) for p in paths]
        if not paths:
            return
        if len(paths) == 1 and os.path.isdir(paths[0]):
            self.show_error(f"cannot open '{Path(paths[0]).name}': it is a folder; choose an image file")
            return
        self.predictions.set_busy(True)
        self._show_layer_progress()
        self._ask_model()  # before the image: the worker takes requests in order
        # Sent even before the model is ready: the worker takes requests in order, so this one
        # runs once the model that is loading now is there.
        self.controller.analyze(paths, self.preprocess, self.demo_panel.current_spec(), focus=self.selected_layer)

    def _show_layer_progress(self) -> None:
        info = self.session.model_info
        self.progress.setRange(0, max(1, len(info["layers"])) if info else 0)
        self.progress.setValue(len(self.session.layers) if info else 0)
        self.progress.setFormat("layers %v/%m")
        self.progress.setVisible(True)

    def open_dialog(self) -> None:
        folder = app_settings.open_dialog_folder(self.settings, SAMPLES)
        path, _ = QFileDialog.getOpenFileName(self, "Open image", folder, IMAGE_FILTER)
        if path:
            app_settings.remember_open_folder(self.settings, path)
            self.open_image(path)

    def paste(self) -> None:
        self.open_mime(QApplication.clipboard().mimeData())

    def open_mime(self, mime: QMimeData) -> None:
        try:
            self.open_paths(paths_from_mime(mime))
        except DropError as err:
            self.show_error(str(err))

    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage() or mime.hasText():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        event.acceptProposedAction()
        self.open_mime(event.mimeData())

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        files = app_settings.recent_files(self.settings)
        for p in files:
            act = self.recent_menu.addAction(Path(p).name)
            act.setToolTip(p)
            act.setStatusTip(p)
            act.triggered.connect(lambda _=False, p=p: self.open_image(p))
        self.recent_menu.setEnabled(bool(files))
