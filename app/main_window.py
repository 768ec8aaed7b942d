"""ConvScope's main window: layer tree, channel grid, overlay viewer, predictions and demo-conv panels.

The window shows what the Session holds (current results from the worker
thread, already filtered by request id) and tells the controller what the
user asks for; it never runs torch. Imports of the engine are avoided at
module level so the window can paint before torch is loaded. Exports and the
Weights menu, the menus and status bar, and the explain view live in their own
mixins (window_exports, window_weights, window_menus, window_explain).
"""
import logging
import os
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QSplitter, QVBoxLayout, QWidget

from inference.weights_request import WeightsRequest
from widgets.channel_grid import ChannelGrid
from widgets.demo_conv_panel import DemoConvPanel
from widgets.layer_tree import LayerTree
from widgets.notice_bar import NoticeArea
from widgets.overlay_view import OverlayView
from widgets.predictions_panel import PredictionsPanel
from widgets.weights_help import WeightsHelp

from . import settings as app_settings
from .controller import Controller
from .first_paint import OnFirstPaint
from .resources import SAMPLE_CAT, app_icon
from .session import is_paste_file
from .window_ablate import AblationActions
from .window_compare import CompareActions
from .window_scan import ScanActions
from .window_explain import ExplainActions
from .window_layout import LayoutActions, column
from .window_models import ModelActions
from .window_menus import MenuActions
from .window_exports import ExportActions
from .window_open import OpenActions
from .window_probe import ProbeActions
from .window_weights import WeightsActions

log = logging.getLogger("convscope.window")

DEMO_PRESETS = ["random", "identity", "sobel_x", "sobel_y", "laplacian", "gaussian_blur", "sharpen", "emboss", "custom"]
DEFAULT_LAYER = "features.0"
MODEL_ASK_FALLBACK_MS = 400


class MainWindow(OpenActions, ExportActions, WeightsActions, ExplainActions, ProbeActions, AblationActions, CompareActions,
                 ScanActions,
                 MenuActions, ModelActions, LayoutActions, QMainWindow):
    """The application window. ``open_image(path)``; ``resultShown(path)`` / ``errorShown(message)``."""

    resultShown = Signal(str)
    errorShown = Signal(str)

    def __init__(self, weights_request: WeightsRequest | None = None, preprocess: str = "imagenet",
                 controller: Controller | None = None, restore_layout: bool = True):
        super().__init__()
        self.setWindowTitle("ConvScope")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        # A window that does not restore the user's layout (--screenshot) does not write their settings either.
        self.settings = app_settings.settings() if restore_layout else app_settings.scratch_settings()
        self.preprocess = preprocess
        self.base_request = weights_request or WeightsRequest()
        self.controller = controller or Controller(self)
        self.session = self.controller.session
        self.selected_layer = str(self.settings.value("layer", DEFAULT_LAYER))
        self._completing = False  # re-analysing the held image after a failed open (keep its message)
        self._restore_layout = restore_layout

        self._build_views()
        self._build_docks()
        self._build_status()
        self._build_scan()
        self._build_menus()
        self._connect()
        self._restore()
        # Ask for the model once the window has painted: torch's import (~3 s, mostly Python) and the
        # first paint would otherwise share the GIL, and the window would show later. A window that is
        # never shown (a script) asks anyway, after a moment.
        self._model_asked = False
        self._painted: list = []   # what waits for the first paint
        self._paint_watch = OnFirstPaint(self, lambda: QTimer.singleShot(0, self._after_first_paint))
        self.when_painted(self._ask_model)
        QTimer.singleShot(MODEL_ASK_FALLBACK_MS, self._ask_model)

    def when_painted(self, then) -> None:
        """Run ``then`` right after the window's first paint (now, if it has painted)."""
        if self._painted is None:
            then()
        else:
            self._painted.append(then)

    def _after_first_paint(self) -> None:
        waiting, self._painted = self._painted, None
        for then in waiting:
            then()

    def _ask_model(self) -> None:
        if not self._model_asked:
            self._model_asked = True
            if self.controller.load_requested:
                return  # the user chose weights already (a quick drop of a checkpoint): those win
            self.controller.load_model(self.base_request)

    # ================================================================ construction
    def _build_views(self) -> None:
        self.grid = ChannelGrid()
        self.overlay = OverlayView()
        self.notice = NoticeArea()  # fixed height: a message appearing never moves the grid
        self.message = self.notice.message
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self._build_grid_column())
        self.splitter.addWidget(self._build_explain())
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addWidget(self.notice)
        lay.addWidget(self._build_compare_tabs(self.splitter), 1)  # the maps, and an A/B comparison tab
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
        self.tree.setMinimumWidth(236)  # with the other docks and the centre: a 1280-px-wide window
        self.weights_help = WeightsHelp()  # where the ImageNet file goes, when it could not be downloaded
        self._build_weights_help()
        self.pred_dock = self._dock("Prediction", "predictionDock", self._predictions_column(),
                                    Qt.DockWidgetArea.RightDockWidgetArea)
        self.demo_dock = self._dock("One convolution by hand", "demoDock", self.demo_panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._build_probe_docks()
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

    def _predictions_column(self) -> QWidget:
        # spare height below the help, so it sits right under the predictions
        return column(self.predictions, self.weights_help, stretch=None, spacing=6)

    def _connect(self) -> None:
        c, s = self.controller, self.session
        c.modelLoading.connect(self._on_model_loading)
        c.modelFailed.connect(self._on_model_failed)
        c.downloadProgress.connect(self._on_download_progress)
        c.downloadFinished.connect(self._on_download_finished)
        c.downloadFailed.connect(self._on_download_failed)
        s.modelChanged.connect(self._on_model_ready)
        s.imageChanged.connect(self._on_image_started)
        s.layerChanged.connect(self._on_layer)
        s.predictionsChanged.connect(self._on_predictions)
        s.demoChanged.connect(self._on_demo)
        s.demoFailed.connect(self._on_demo_failed)
        s.failed.connect(self._on_analysis_failed)
        s.finished.connect(self._on_finished)
        s.detailed.connect(self._on_detailed)
        self.tree.layerSelected.connect(self.show_layer)
        self.grid.channelSelected.connect(self.show_channel)
        self.grid.colormapChanged.connect(lambda n: self.settings.setValue("colormap", n))
        self.grid.normalizationChanged.connect(lambda n: self.settings.setValue("normalization", n))
        self.grid.normalizationChanged.connect(lambda _n: self._reshow_channel())
        self.grid.sortChanged.connect(lambda n: self.settings.setValue("sort", n))
        self._connect_explain()
        self._connect_probe()
        self._connect_ablation()
        self._connect_compare()
        self.overlay.colormapChanged.connect(lambda n: self.settings.setValue("overlayColormap", n))
        self.overlay.blendChanged.connect(lambda n: self.settings.setValue("overlayBlend", n))
        self.demo_panel.specChanged.connect(self._on_demo_spec)
        self.demo_panel.outputModeChanged.connect(lambda m: self.settings.setValue("demoOutput", m))

    def _offline_now(self) -> bool:
        return not self.base_request.download_allowed

    # ================================================================ model
    @Slot(object)
    def _on_model_ready(self, info: dict) -> None:
        self.progress.setVisible(self.session.busy)
        self.model_label.setText(self._model_text(info))
        self.tree.set_model(info.get("display", info["arch"]), info["layers"], info.get("containers"))
        self.predictions.set_model_info(info)
        if info.get("notice"):
            self.show_error(info["notice"], error=False)
        self._update_weights_help(info)
        names = {layer["name"] for layer in info["layers"]}
        if self.selected_layer not in names:
            self.selected_layer = info["layers"][0]["name"] if info["layers"] else DEFAULT_LAYER
        if self.controller.reanalysis_needed():
            self.open_paths(list(self.session.paths_to_reanalyse()))  # new weights: the newest image again

    # ================================================================ results
    @Slot(object)
    def _on_image_started(self, image: dict) -> None:
        self.tree.reset_pending()
        self.overlay.set_photo(image["rgb"])
        self.grid.show_pending(self.selected_layer)
        self._show_layer_progress()
        name = Path(image["path"]).name
        size = f"{image['width']}×{image['height']}"
        self.setWindowTitle(f"{name} ({size}) — ConvScope")

    @Slot(str)
    def _on_layer(self, name: str) -> None:
        layer = self.session.layer(name)
        self.tree.mark_computed(name, layer.shape)
        self.progress.setValue(len(self.session.layers))
        if name == self.selected_layer and layer.has_stats:
            self.show_layer(name)

    @Slot(object)
    def _on_predictions(self, predictions) -> None:
        info = self.session.results_model or {}
        self.predictions.set_predictions(predictions.top, predictions.cat_vs_dog, info.get("weights_text", ""),
                                         info.get("pretrained", False))

    @Slot(object)
    def _on_demo(self, demo) -> None:
        spec = demo.spec
        self.demo_panel.set_busy(False)
        self.demo_panel.set_result(demo.input_rgb, demo.rgb, demo.raw, demo.weight, demo.bias,
                                   spec.seed if spec.preset == "random" else None, spec.preset, demo.note,
                                   renderings=demo.renderings, ranges=demo.ranges)

    @Slot(str)
    def _on_demo_failed(self, message: str) -> None:
        self.demo_panel.set_busy(False)
        if message:
            self.show_error(message)

    @Slot(float)
    def _on_finished(self, seconds: float) -> None:
        self.progress.setVisible(False)
        self.predictions.set_busy(False)
        self.time_label.setText(f"inference {seconds * 1000:.0f} ms")
        if self.message.isVisible() and self.message.property("isError") and not self._completing:
            self.notice.clear()
        self._completing = False
        path = self.session.image["path"] if self.session.image else ""
        if path and Path(path).parent != Path(os.path.realpath(SAMPLE_CAT)).parent and not is_paste_file(path):
            app_settings.push_recent(self.settings, path)
            self._refresh_recent()

    @Slot()
    def _on_detailed(self) -> None:
        """Every result and every layer's statistics are in: the image is fully shown."""
        self.resultShown.emit(self.session.image["path"])

    @Slot(str)
    def _on_analysis_failed(self, message: str) -> None:
        self.progress.setVisible(False)
        self.predictions.set_busy(False)
        self.show_error(message)
        held = self.session.image
        if held is not None and not self.session.whole and self.session.requested_paths != (held["path"],):
            # The failed open cut the image on screen short (its pass or its statistics were dropped
            # as stale): analyse it again, so what stays on screen is whole; the message stays.
            self._completing = True
            self.open_paths([held["path"]])

    def show_error(self, message: str, error: bool = True) -> None:
        """A one-line message at the top of the window; results on screen stay."""
        self.notice.show_message(message, error)
        self.statusBar().showMessage(message, 8000)
        if error:
            log.info("shown to the user: %s", message)
            self.errorShown.emit(message)

    # ================================================================ browsing
    @Slot(str)
    def show_layer(self, name: str) -> None:
        """Show layer ``name`` in the grid (pending until computed) and its best channel in the overlay."""
        if self._probed is not None and self._probed[0] != name:
            self.clear_probe()
        self.selected_layer = name
        self.settings.setValue("layer", name)
        if self.tree.selected_layer() != name and name in self.tree.layer_names():
            self.tree.blockSignals(True)
            self.tree.select_layer(name)
            self.tree.blockSignals(False)
        layer = self.session.layer(name)
        if layer is None or not layer.has_stats:
            self.grid.show_pending(name)  # its statistics are computed on the worker and arrive shortly
            self._compare_follow()
            return
        if layer.data.ndim == 3:
            kept = self.grid.selected_channel() if self.grid.layer_name() == self._title(layer) else None
            kept = self.compare_kept_channel(name, layer.shape[0]) if kept is None else kept  # A's, for B
            best = layer.best_channel if kept is None else kept
            self.grid.set_layer(self._title(layer), layer.data, layer.means, layer.maxs, layer.fracs, select=best,
                                mins=layer.mins)
            self.grid.set_caption_note(self.ablation_note(name))
            self.show_channel(best)
        else:
            names = self.session.results_model["class_names"]
            self.grid.set_vector(self._title(layer), layer.data, names if layer.data.shape[0] == len(names) else None)
            self.grid.set_caption_note(self.ablation_note(name))
            self._show_kernel(-1)
            if not self.explaining():
                self.overlay.clear_channel()
            self._compare_follow()

    @staticmethod
    def _title(layer) -> str:
        return f"{layer.name} ({layer.spec.alias})" if layer.spec.alias else layer.name

    @Slot(int)
    def show_channel(self, index: int) -> None:
        layer = self.current_layer()
        if layer is None or layer.data.ndim != 3 or not layer.has_stats or self.session.image is None:
            return
        if self.grid.selected_channel() != index:
            self.grid.select_channel(index)
        if self._probed is not None and self._probed[1] != index:
            self.clear_probe()  # the probe was another channel's
        self._show_kernel(index)
        self._compare_follow(index)  # the A/B comparison shows the same layer and channel
        if self.explaining():
            return  # the overlay explains a class; the grid still follows the click
        fmap = layer.data[index]
        lo, hi, note = self.grid.channel_range(index)  # the overlay follows the grid's scale mode
        ablated = " · ablated run" if self.session.ablated(layer.name) else ""
        self.overlay.set_channel(fmap, self.session.image["rect"],
                                 f"{self._title(layer)} · channel {index} · mean {layer.means[index]:.3g}{ablated}",
                                 levels=(lo, hi), scale_note=note)

    def current_layer(self):
        return self.session.layer(self.selected_layer)

    def _reshow_channel(self, force: bool = False) -> None:
        channel = self.grid.selected_channel()
        if channel is not None and (force or self.overlay.has_channel()):
            self.show_channel(channel)

    # ================================================================ demo conv
    @Slot(dict)
    def _on_demo_spec(self, spec: dict) -> None:
        if self.session.image is None:
            return
        self.demo_panel.set_busy(True)
        self.controller.rerun_demo(spec)

    # ================================================================ misc
    def about(self) -> None:
        QMessageBox.about(self, "About ConvScope",
                          "<b>ConvScope</b><br>See what every layer of a convolutional network extracts, channel by channel.<br><br>"
                          "Sample photo: “Chelsea the cat”, CC0, Stefan van der Walt.")
