"""The window's Weights menu and model status: load a checkpoint, download ImageNet, use untrained.

A mixin for MainWindow. Loading happens on the worker thread and downloads on
their own thread, so the window keeps answering; a failure is one line and the
current model stays.
"""
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QFileDialog


class WeightsActions:
    def load_weights_dialog(self) -> None:
        folder = str(self.settings.value("lastWeightsFolder", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Load VGG16 weights", folder,
                                              "PyTorch checkpoints (*.pth *.pt *.bin *.ckpt);;All files (*)")
        if not path:
            return
        self.settings.setValue("lastWeightsFolder", str(Path(path).parent))
        classes = None
        if not (Path(path).parent / "cls_classes.txt").is_file():
            classes, _ = QFileDialog.getOpenFileName(self, "Class names, one per line (optional — Cancel for defaults)",
                                                     str(Path(path).parent), "Text files (*.txt);;All files (*)")
        self.load_weights(path, classes or None)

    def load_weights(self, path: str, classes: str | None = None) -> None:
        self.controller.load_model(replace(self.base_request, weights=str(path), classes=classes, untrained=False))

    def download_imagenet(self) -> None:
        """Cached ImageNet weights, else a download (progress and Cancel in the status bar)."""
        self.controller.load_model(replace(self.base_request, weights=None, classes=None, untrained=False, fallback=False))

    def use_untrained(self) -> None:
        self.controller.load_model(replace(self.base_request, weights=None, classes=None, untrained=True))

    def _model_text(self, info: dict) -> str:
        return f"{info['arch'].upper()} · weights: {info['weights_text']} · device: {info['device']}"

    @Slot(str)
    def _on_model_loading(self, text: str) -> None:
        self.model_label.setText(f"VGG16 · {text}…")

    @Slot(object, object)
    def _on_download_progress(self, done, total) -> None:
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
            self.progress.setFormat(f"downloading {done / 1e6:.0f} / {total / 1e6:.0f} MB")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(f"downloading {done / 1e6:.0f} MB")

    @Slot()
    def _on_download_finished(self) -> None:
        self.cancel_button.setVisible(False)
        self.progress.setVisible(self.session.busy and self.progress.format().startswith("layers"))

    @Slot(str, bool)
    def _on_download_failed(self, message: str, fallback: bool) -> None:
        self.show_error(message, error=not fallback)

    @Slot(str)
    def _on_model_failed(self, message: str) -> None:
        self.cancel_button.setVisible(False)
        self.progress.setVisible(False)
        self.show_error(message)
        info = self.session.model_info
        if info is None:  # nothing to keep: start with the untrained model
            self.use_untrained()
        else:
            self.model_label.setText(self._model_text(info))
