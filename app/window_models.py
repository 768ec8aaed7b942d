"""The window's Model menu: every torchvision CNN, grouped by family, each with its weights' state.

The list comes from the worker (``inference.architectures.model_catalogue``,
sent after the first image of each model), so building the menu imports no
torch on the UI thread. Choosing a model loads it as the command line's
``--arch`` would: its ImageNet weights from torch.hub's cache, else a download
(progress and Cancel in the status bar; the current model answers meanwhile),
else, offline, the untrained model with a note saying so.
"""
from dataclasses import replace

from PySide6.QtCore import Slot
from PySide6.QtGui import QAction, QActionGroup


class ModelActions:
    """Mixin for MainWindow (needs session, controller, base_request, menuBar, _offline_now)."""

    def _build_model_menu(self, menubar) -> None:
        self.model_menu = menubar.addMenu("&Model")
        self.model_menu.setToolTipsVisible(True)
        self._model_group = QActionGroup(self)
        self._fill_model_menu([])
        self.session.catalogueChanged.connect(self._fill_model_menu)
        self.session.modelChanged.connect(lambda _info: self._check_current_model())

    @Slot(object)
    def _fill_model_menu(self, rows) -> None:
        menu = self.model_menu
        menu.clear()
        if not rows:
            waiting = menu.addAction("the list of models comes with the first image")
            waiting.setEnabled(False)
            return
        families: dict[str, list[dict]] = {}
        for row in rows:
            families.setdefault(row["family"], []).append(row)
        for family, members in sorted(families.items()):
            sub = menu.addMenu(family)
            sub.setToolTipsVisible(True)
            for row in members:
                act = QAction(self._model_entry(row), self)
                act.setCheckable(True)
                act.setData(row["name"])
                act.setToolTip(self._model_tip(row))
                act.triggered.connect(lambda _checked=False, name=row["name"]: self.choose_model(name))
                self._model_group.addAction(act)
                sub.addAction(act)
        self._check_current_model()

    def _model_entry(self, row: dict) -> str:
        return f"{row['name']}\t{row['num_params'] / 1e6:.1f} M · {self._weights_state(row)}"  # \t: a right-hand column

    def _weights_state(self, row: dict) -> str:
        if row["cached"]:
            return "ImageNet weights cached"
        if self._offline_now():
            return "untrained (offline)"
        mb = row.get("download_mb")
        return f"download {mb:.0f} MB" if mb else "download"

    @staticmethod
    def _model_tip(row: dict) -> str:
        return (f"{row['name']}: {row['num_params']:,} parameters; choosing it loads its ImageNet weights "
                "(from the cache, or downloaded), or the untrained model when they cannot be had")

    def _check_current_model(self) -> None:
        arch = (self.session.model_info or {}).get("arch")
        for act in self._model_group.actions():
            act.setChecked(act.data() == arch)

    def choose_model(self, name: str) -> None:
        """Load architecture ``name`` with its ImageNet weights (or untrained, as the menu said)."""
        self.controller.load_model(replace(self.base_request, arch=name, weights=None, classes=None,
                                           untrained=False))
