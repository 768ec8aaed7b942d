"""The window's Weights menu and model status: load a checkpoint, download ImageNet, use untrained.

A mixin for MainWindow. Loading happens on the worker thread and downloads on
their own thread, so the window keeps answering; a failure is one line and the
current model stays.
"""
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QFileDialog

from widgets.class_names_dialog import CLASSES_FILE, ClassNamesDialog

from . import torch_cache


class WeightsActions:
    def load_weights_dialog(self) -> None:
        folder = str(self.settings.value("lastWeightsFolder", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Load weights", folder,
                                              "PyTorch checkpoints (*.pth *.pt *.bin *.ckpt);;All files (*)")
        if not path:
            return
        self.settings.setValue("lastWeightsFolder", str(Path(path).parent))
        classes = None
        if not (Path(path).parent / CLASSES_FILE).is_file():
            dialog = ClassNamesDialog(path, self)
            dialog.exec()
            classes = dialog.chosen()
            dialog.deleteLater()
        self.load_weights(path, classes)

    def load_weights(self, path: str, classes: str | None = None) -> None:
        # A file says what it is (its architecture is detected), whatever model is on screen.
        self.controller.load_model(replace(self.base_request, weights=str(path), classes=classes, untrained=False,
                                           arch=None))

    def download_imagenet(self) -> None:
        """Cached ImageNet weights, else a download (progress and Cancel in the status bar)."""
        self._imagenet_asked = True
        self.controller.load_model(replace(self.base_request, weights=None, classes=None, untrained=False, fallback=False,
                                           arch=self._arch_on_screen()))

    def use_untrained(self) -> None:
        self.controller.load_model(replace(self.base_request, weights=None, classes=None, untrained=True,
                                           arch=self._arch_on_screen()))

    def _arch_on_screen(self) -> str | None:
        """The architecture of the model shown (a loaded ResNet's untrained twin, not VGG16's)."""
        return (self.session.model_info or {}).get("arch", self.base_request.arch)

    def _model_text(self, info: dict) -> str:
        return f"{info.get('display', info['arch'])} · {info['weights_text']} · device: {info['device']}"

    @Slot(str)
    def _on_model_loading(self, text: str) -> None:
        info = self.session.model_info
        self.model_label.setText(f"{info.get('display', info['arch'])} · {text}…" if info else f"{text}…")

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
        self._show_weights_help(True)

    @Slot(str)
    def _on_model_failed(self, message: str) -> None:
        self.cancel_button.setVisible(False)
        self.progress.setVisible(False)
        self.show_error(message)
        if getattr(self, "_imagenet_asked", False):
            self._imagenet_asked = False
            self._show_weights_help(True)  # e.g. offline and still not in the cache
        info = self.session.model_info
        if info is None:  # nothing to keep: start with the untrained model
            self.use_untrained()
        else:
            self.model_label.setText(self._model_text(info))

    # ---------------------------------------------------------------- where the ImageNet file goes
    def _build_weights_help(self) -> None:
        self.weights_help.set_file(str(torch_cache.imagenet_cache_path()), torch_cache.IMAGENET_URL,
                                   torch_cache.IMAGENET_MB)
        self.weights_help.loadRequested.connect(self.download_imagenet)
        self.weights_help.failed.connect(self.show_error)
        self.weights_help.setVisible(False)

    def _update_weights_help(self, info: dict) -> None:
        """On a new model: the help shows while the untrained model stands in for missing ImageNet weights."""
        self._imagenet_asked = False
        mb = info.get("imagenet_mb")
        name = info.get("display", info.get("arch", ""))
        self.download_action.setText(f"&Download {name}'s ImageNet weights" + (f" ({mb:.0f} MB)" if mb else ""))
        stands_in = info.get("source") == "untrained" and bool(info.get("notice"))
        self._show_weights_help(stands_in and self.controller.downloading is None)

    def _show_weights_help(self, wanted: bool) -> None:
        info = self.session.model_info or {}
        url = info.get("imagenet_url") or torch_cache.IMAGENET_URL  # the model's own weights file
        path = torch_cache.imagenet_cache_path(file_name=url.rsplit("/", 1)[-1])
        self.weights_help.set_file(str(path), url, round(info.get("imagenet_mb") or torch_cache.IMAGENET_MB))
        self.weights_help.setVisible(wanted and not path.is_file())
