"""The window's menu bar and status bar: what each menu offers and where the status line's parts sit."""
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

from .resources import SAMPLE_CAT


class MenuActions:
    """Mixin for MainWindow: builds the status bar and the menus (their slots live in the other mixins)."""

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.model_label = QLabel("loading the model…")
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
        self._scan_menu(f)
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        w = mb.addMenu("&Weights")
        self._action(w, "&Load weights…", self.load_weights_dialog, tip="A state_dict checkpoint of the model, plus optional class names")
        self.download_action = self._action(w, "&Download ImageNet weights (528 MB)", self.download_imagenet)
        self.download_action.setEnabled(not self._offline_now())
        if self._offline_now():
            self.download_action.setToolTip("offline mode: downloads are disabled")
        self._action(w, "Use &untrained model", self.use_untrained)
        self._build_model_menu(mb)
        self._build_compare_menu(mb)
        v = mb.addMenu("&View")
        for dock in (self.tree_dock, self.pred_dock, self.demo_dock, self.gallery_dock):
            v.addAction(dock.toggleViewAction())
        h = mb.addMenu("&Help")
        self._action(h, "&About ConvScope", self.about)
        self._refresh_recent()
