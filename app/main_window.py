"""ConvScope's main window: layer tree, channel grid, overlay viewer, predictions and demo-conv panels.

The window only shows what the controller hands it (already-current results
from the worker thread); it never runs torch. Imports of the engine are avoided
at module level so the window can paint before torch is loaded.
"""
import logging
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QMimeData, Qt, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QLabel, QMainWindow,
                               QMessageBox, QProgressBar, QPushButton, QSplitter, QVBoxLayout, QWidget)

from inference.weights_request import WeightsRequest
from widgets.channel_grid import ChannelGrid
from widgets.demo_conv_panel import DemoConvPanel
from widgets.layer_tree import LayerTree
from widgets.overlay_view import OverlayView
from widgets.predictions_panel import PredictionsPanel

from . import settings as app_settings
from .controller import Controller
from .drops import DropError, paths_from_mime
from .resources import SAMPLE_CAT, app_icon

log = logging.getLogger("convscope.window")

DEMO_PRESETS = ["random", "identity", "sobel_x", "sobel_y", "laplacian", "gaussian_blur", "sharpen", "emboss", "custom"]
DEFAULT_LAYER = "features.0"
LAYOUT_VERSION = 3  # bump when the docks change, so an old saved layout is not restored
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.ppm *.pgm);;All files (*)"


class MainWindow(QMainWindow):
    """The application window. ``open_image(path)``; ``resultShown(path)`` / ``errorShown(message)``."""

    resultShown = Signal(str)
    errorShown = Signal(str)

    def __init__(self, weights_request: WeightsRequest | None = None, preprocess: str = "imagenet",
                 controller: Controller | None = None, restore_layout: bool = True):
        super().__init__()
        self.setWindowTitle("ConvScope")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.settings = app_settings.settings()
        self.preprocess = preprocess
        self.base_request = weights_request or WeightsRequest()
        self.controller = controller or Controller(self)
        self._model_info: dict | None = None
        self._pending_paths: list[str] | None = None
        self._image: dict | None = None
        self._layers: dict = {}
        self._predictions = None
        self._demo = None
        self._selected_layer = str(self.settings.value("layer", DEFAULT_LAYER))
        self._restore_layout = restore_layout

        self._build_views()
        self._build_docks()
        self._build_status()
        self._build_menus()
        self._connect()
        self._restore()
        self.controller.load_model(self.base_request)

    # ================================================================ construction
    def _build_views(self) -> None:
        self.grid = ChannelGrid()
        self.overlay = OverlayView()
        self.message = QLabel()
        self.message.setObjectName("errorBanner")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("QLabel#errorBanner { background: #fde8e8; color: #8a1c1c; border: 1px solid #f0b4b4;"
                                   " border-radius: 4px; padding: 6px 10px; font-weight: 600; }")
        self.message.setVisible(False)
        self.message.setCursor(Qt.CursorShape.PointingHandCursor)
        self.message.setToolTip("Click to dismiss")
        self.message.mousePressEvent = lambda _e: self.message.setVisible(False)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.grid)
        self.splitter.addWidget(self.overlay)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addWidget(self.message)
        lay.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.tree = LayerTree()
        self.predictions = PredictionsPanel()
        self.demo_panel = DemoConvPanel()
        self.demo_panel.set_presets(DEMO_PRESETS, "random")
        self.tree_dock = self._dock("Layers", "layersDock", self.tree, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.tree.setMinimumWidth(240)
        self.pred_dock = self._dock("Prediction", "predictionDock", self.predictions, Qt.DockWidgetArea.RightDockWidgetArea)
        self.demo_dock = self._dock("One convolution by hand", "demoDock", self.demo_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.model_label = QLabel("VGG16 · loading…")
        self.time_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.controller.cancel_download)
        sb.addWidget(self.model_label, 1)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)
        sb.addPermanentWidget(self.time_label)

    def _action(self, menu, text: str, slot, shortcut=None, tip: str | None = None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setStatusTip(tip)
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "&Open image…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = f.addMenu("Open &recent")
        self._action(f, "&Paste image or path", self.paste, QKeySequence.StandardKey.Paste)
        self._action(f, "Open the sample &cat", lambda: self.open_image(str(SAMPLE_CAT)))
        f.addSeparator()
        self._action(f, "&Export figure…", self.export_figure_dialog, "Ctrl+E",
                     "The photo, the demo conv, the layer's top channels, the overlay and the predictions in one figure")
        self._action(f, "Export &grid image…", self.export_grid_dialog)
        self._action(f, "Export &overlay image…", self.export_overlay_dialog)
        self._action(f, "Export layer &activations (.npy)…", self.export_npy_dialog)
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        w = mb.addMenu("&Weights")
        self._action(w, "&Load weights…", self.load_weights_dialog, tip="A VGG16 state_dict checkpoint, plus optional class names")
        self.download_action = self._action(w, "&Download ImageNet weights (528 MB)", self.download_imagenet)
        self.download_action.setEnabled(not self._offline_now())
        if self._offline_now():
            self.download_action.setToolTip("offline mode: downloads are disabled")
        self._action(w, "Use &untrained model", self.use_untrained)
        v = mb.addMenu("&View")
        for dock in (self.tree_dock, self.pred_dock, self.demo_dock):
            v.addAction(dock.toggleViewAction())
        h = mb.addMenu("&Help")
        self._action(h, "&About ConvScope", self.about)
        self._refresh_recent()

    def _connect(self) -> None:
        c = self.controller
        c.modelLoading.connect(self._on_model_loading)
        c.modelReady.connect(self._on_model_ready)
        c.modelFailed.connect(self._on_model_failed)
        c.downloadProgress.connect(self._on_download_progress)
        c.imageStarted.connect(self._on_image_started)
        c.layerReady.connect(self._on_layer)
        c.predictionsReady.connect(self._on_predictions)
        c.demoReady.connect(self._on_demo)
        c.demoFailed.connect(self.show_error)
        c.analysisFailed.connect(self._on_analysis_failed)
        c.analysisFinished.connect(self._on_finished)
        self.tree.layerSelected.connect(self.show_layer)
        self.grid.channelSelected.connect(self.show_channel)
        self.grid.colormapChanged.connect(lambda n: self.settings.setValue("colormap", n))
        self.grid.normalizationChanged.connect(lambda n: self.settings.setValue("normalization", n))
        self.grid.sortChanged.connect(lambda n: self.settings.setValue("sort", n))
        self.overlay.colormapChanged.connect(lambda n: self.settings.setValue("overlayColormap", n))
        self.demo_panel.specChanged.connect(self._on_demo_spec)

    def _restore(self) -> None:
        s = self.settings
        geometry = s.value("geometry") if self._restore_layout else None
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            screen = QGuiApplication.primaryScreen()
            avail = screen.availableGeometry() if screen else None
            w, h = (1480, 940) if avail is None else (min(1480, int(avail.width() * 0.92)), min(940, int(avail.height() * 0.9)))
            self.resize(w, h)
            self._size_docks_on_show = True
        state = s.value("windowState") if self._restore_layout else None
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state, LAYOUT_VERSION)
        for key, setter in (("colormap", self.grid.set_colormap), ("normalization", self.grid.set_normalization),
                            ("sort", self.grid.set_sort), ("overlayColormap", self.overlay.set_colormap)):
            value = s.value(key)
            if value:
                try:
                    setter(str(value))
                except (ValueError, KeyError):
                    pass

    def _offline_now(self) -> bool:
        return not self.base_request.download_allowed

    # ================================================================ opening images
    def open_image(self, path) -> None:
        """Analyse ``path`` (a file). Errors are shown in the window; what is on screen stays."""
        self.open_paths([str(path)])

    def open_paths(self, paths: list[str]) -> None:
        paths = [str(p) for p in paths]
        if not paths:
            return
        if len(paths) == 1 and os.path.isdir(paths[0]):
            self.show_error(f"cannot open '{Path(paths[0]).name}': it is a folder; choose an image file")
            return
        if self._model_info is None:
            self._pending_paths = paths  # the newest wins; sent once the model is ready
            return
        self.predictions.set_busy(True)
        self.progress.setRange(0, max(1, len(self._model_info["layers"])))
        self.progress.setValue(0)
        self.progress.setFormat("layers %v/%m")
        self.progress.setVisible(True)
        self.controller.analyze(paths, self.preprocess, self.demo_panel.current_spec())

    def open_dialog(self) -> None:
        folder = str(self.settings.value("lastFolder", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open image", folder, IMAGE_FILTER)
        if path:
            self.settings.setValue("lastFolder", str(Path(path).parent))
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

    # ================================================================ model
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

    @Slot(object)
    def _on_model_ready(self, info: dict) -> None:
        first = self._model_info is None
        self._model_info = info
        self.cancel_button.setVisible(False)
        self.progress.setVisible(False)
        self.model_label.setText(f"{info['arch'].upper()} · weights: {info['weights_text']} · device: {info['device']}")
        self.tree.set_model(info["arch"].upper(), info["layers"])
        self.predictions.set_weights(info["weights_text"], info["pretrained"])
        if info.get("notice"):
            self.show_error(info["notice"], error=False)
        names = {layer["name"] for layer in info["layers"]}
        if self._selected_layer not in names:
            self._selected_layer = info["layers"][0]["name"] if info["layers"] else DEFAULT_LAYER
        if self._pending_paths:
            paths, self._pending_paths = self._pending_paths, None
            self.open_paths(paths)
        elif self._image is not None and not first:
            self.open_image(self._image["path"])  # new weights: recompute what is on screen

    @Slot(str)
    def _on_model_failed(self, message: str) -> None:
        self.cancel_button.setVisible(False)
        self.progress.setVisible(False)
        self.show_error(message)
        if self._model_info is None:  # nothing to keep: start with the untrained model
            self.use_untrained()
        else:
            info = self._model_info
            self.model_label.setText(f"{info['arch'].upper()} · weights: {info['weights_text']} · device: {info['device']}")

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

    # ================================================================ results
    @Slot(object)
    def _on_image_started(self, image: dict) -> None:
        self._image = image
        self._layers = {}
        self._predictions = None
        self.tree.reset_pending()
        self.overlay.set_photo(image["rgb"])
        self.grid.show_pending(self._selected_layer)
        name = Path(image["path"]).name
        size = f"{image['width']}×{image['height']}"
        self.setWindowTitle(f"{name} ({size}) — ConvScope")

    @Slot(object)
    def _on_layer(self, layer) -> None:
        self._layers[layer.name] = layer
        self.tree.mark_computed(layer.name, layer.shape)
        self.progress.setValue(len(self._layers))
        if layer.name == self._selected_layer:
            self.show_layer(layer.name)

    @Slot(object)
    def _on_predictions(self, predictions) -> None:
        self._predictions = predictions
        info = self._model_info or {}
        self.predictions.set_predictions(predictions.top, predictions.cat_vs_dog, info.get("weights_text", ""),
                                         info.get("pretrained", False))

    @Slot(object)
    def _on_demo(self, demo) -> None:
        self._demo = demo
        spec = demo.spec
        self.demo_panel.set_result(demo.input_rgb, demo.rgb, demo.raw, demo.weight, demo.bias,
                                   spec.seed if spec.preset == "random" else None, spec.preset, demo.note)

    @Slot(float)
    def _on_finished(self, seconds: float) -> None:
        self.progress.setVisible(False)
        self.predictions.set_busy(False)
        self.time_label.setText(f"inference {seconds * 1000:.0f} ms")
        if self.message.isVisible() and self.message.property("isError"):
            self.message.setVisible(False)
        path = self._image["path"] if self._image else ""
        if path and Path(path).parent != Path(os.path.realpath(SAMPLE_CAT)).parent and "convscope-paste-" not in path:
            app_settings.push_recent(self.settings, path)
            self._refresh_recent()
        self.resultShown.emit(path)

    @Slot(str)
    def _on_analysis_failed(self, message: str) -> None:
        self.progress.setVisible(False)
        self.predictions.set_busy(False)
        self.show_error(message)

    def show_error(self, message: str, error: bool = True) -> None:
        """A one-line message at the top of the window; results on screen stay."""
        self.message.setText(message)
        self.message.setProperty("isError", error)
        style = ("background: #fde8e8; color: #8a1c1c; border: 1px solid #f0b4b4;" if error else
                 "background: #fff4d6; color: #6b4d00; border: 1px solid #f0d58a;")
        self.message.setStyleSheet(f"QLabel#errorBanner {{ {style} border-radius: 4px; padding: 6px 10px; font-weight: 600; }}")
        self.message.setVisible(True)
        self.statusBar().showMessage(message, 8000)
        if error:
            log.info("shown to the user: %s", message)
            self.errorShown.emit(message)

    # ================================================================ browsing
    @Slot(str)
    def show_layer(self, name: str) -> None:
        """Show layer ``name`` in the grid (pending until computed) and its best channel in the overlay."""
        self._selected_layer = name
        self.settings.setValue("layer", name)
        if self.tree.selected_layer() != name and name in self.tree.layer_names():
            self.tree.blockSignals(True)
            self.tree.select_layer(name)
            self.tree.blockSignals(False)
        layer = self._layers.get(name)
        if layer is None:
            self.grid.show_pending(name)
            return
        if layer.data.ndim == 3:
            best = layer.best_channel
            self.grid.set_layer(self._title(layer), layer.data, layer.means, layer.maxs, layer.fracs, select=best)
            self.show_channel(best)
        else:
            names = self._model_info["class_names"] if layer.data.shape[0] == len(self._model_info["class_names"]) else None
            self.grid.set_vector(self._title(layer), layer.data, names)
            self.overlay.clear_channel()

    @staticmethod
    def _title(layer) -> str:
        return f"{layer.name} ({layer.spec.alias})" if layer.spec.alias else layer.name

    @Slot(int)
    def show_channel(self, index: int) -> None:
        layer = self._layers.get(self._selected_layer)
        if layer is None or layer.data.ndim != 3 or self._image is None:
            return
        if self.grid.selected_channel() != index:
            self.grid.select_channel(index)
        fmap = layer.data[index]
        self.overlay.set_channel(fmap, self._image["rect"],
                                 f"{self._title(layer)} · channel {index} · mean {layer.means[index]:.3g}")

    def current_layer(self):
        return self._layers.get(self._selected_layer)

    # ================================================================ demo conv
    @Slot(dict)
    def _on_demo_spec(self, spec: dict) -> None:
        if self._image is None:
            return
        self.demo_panel.set_busy(True)
        self.controller.rerun_demo(self._image["rgb"], (self._image["width"], self._image["height"]), spec)

    # ================================================================ export
    def _export_target(self, title: str, filters: str, default_name: str) -> str | None:
        folder = str(self.settings.value("lastExportFolder", str(Path.home())))
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(folder) / default_name), filters)
        if path:
            self.settings.setValue("lastExportFolder", str(Path(path).parent))
        return path or None

    def _stem(self) -> str:
        return Path(self._image["path"]).stem if self._image else "convscope"

    def export_figure_dialog(self) -> None:
        path = self._export_target("Export figure", "PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)",
                                   f"{self._stem()}-figure.png")
        if path:
            self.export_figure(path)

    def export_grid_dialog(self) -> None:
        path = self._export_target("Export grid image", "PNG image (*.png)", f"{self._stem()}-{self._selected_layer}-grid.png")
        if path:
            self.export_grid(path)

    def export_overlay_dialog(self) -> None:
        path = self._export_target("Export overlay image", "PNG image (*.png)", f"{self._stem()}-overlay.png")
        if path:
            self.export_overlay(path)

    def export_npy_dialog(self) -> None:
        path = self._export_target("Export activations", "NumPy array (*.npy)", f"{self._stem()}-{self._selected_layer}.npy")
        if path:
            self.export_npy(path)

    def _guard_export(self, action) -> bool:
        try:
            action()
            return True
        except (OSError, ValueError) as err:
            self.show_error(str(err))
            return False

    def export_figure(self, path: str) -> bool:
        from .export import export_figure
        if not self._ready_for_export(need_map=True):
            return False
        return self._guard_export(lambda: export_figure(self, path))

    def export_grid(self, path: str) -> bool:
        from .export import save_qimage
        if not self._ready_for_export():
            return False
        return self._guard_export(lambda: save_qimage(self.grid.grid_image(), path))

    def export_overlay(self, path: str) -> bool:
        from .export import save_qimage
        if not self._ready_for_export():
            return False
        return self._guard_export(lambda: save_qimage(self.overlay.overlay_image(), path))

    def export_npy(self, path: str) -> bool:
        from .export import save_npy
        if not self._ready_for_export():
            return False
        return self._guard_export(lambda: save_npy(np.ascontiguousarray(self.current_layer().data), path))

    def _ready_for_export(self, need_map: bool = False) -> bool:
        layer = self.current_layer()
        if self._image is None or layer is None or self._predictions is None or self._demo is None:
            self.show_error("nothing to export yet: wait until the image's results are shown")
            return False
        if need_map and layer.data.ndim != 3:
            self.show_error(f"{layer.name} is a vector layer; select a convolutional layer for the figure")
            return False
        return True

    # ================================================================ misc
    def about(self) -> None:
        QMessageBox.about(self, "About ConvScope",
                          "<b>ConvScope</b><br>See what every layer of VGG16 extracts, channel by channel.<br><br>"
                          "Sample photo: “Chelsea the cat”, CC0, Stefan van der Walt.")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if getattr(self, "_size_docks_on_show", False):  # first run: give the docks sensible sizes
            self._size_docks_on_show = False
            self._size_docks()

    def _size_docks(self) -> None:
        # All four tree columns when the window is wide enough; the rest goes to the grid and overlay.
        wide = self.width() >= 1550
        self.resizeDocks([self.tree_dock, self.pred_dock], [530 if wide else 300, 300], Qt.Orientation.Horizontal)
        self.resizeDocks([self.demo_dock], [260], Qt.Orientation.Vertical)

    def closeEvent(self, event) -> None:
        if self._restore_layout:
            self.settings.setValue("geometry", self.saveGeometry())
            self.settings.setValue("windowState", self.saveState(LAYOUT_VERSION))
        self.settings.sync()
        self.controller.shutdown()
        super().closeEvent(event)
