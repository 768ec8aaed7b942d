"""The window's layout: restoring the user's geometry, docks and view choices, sizing the docks on a
first run, and saving them all at exit (a --screenshot window neither restores nor saves them)."""
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QVBoxLayout, QWidget

LAYOUT_VERSION = 4  # bump when the docks change, so an old saved layout is not restored


def column(*widgets, stretch: int | None = None, spacing: int = 2) -> QWidget:
    """``widgets`` stacked top to bottom without margins; ``stretch`` (an index) takes the spare
    height, or None: spare height below them all."""
    host = QWidget()
    lay = QVBoxLayout(host)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(spacing)
    for i, w in enumerate(widgets):
        lay.addWidget(w, 1 if i == stretch else 0)
    if stretch is None:
        lay.addStretch(1)
    return host


class LayoutActions:
    """Mixin for MainWindow (needs settings, the docks, the grid, the overlay and the demo panel)."""

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
                            ("sort", self.grid.set_sort), ("overlayColormap", self.overlay.set_colormap),
                            ("overlayBlend", self.overlay.set_blend), ("demoOutput", self.demo_panel.set_output_mode)):
            value = s.value(key)
            if value:
                try:
                    setter(str(value))
                except (ValueError, KeyError):
                    pass

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
        if not self._restore_layout:
            Path(self.settings.fileName()).unlink(missing_ok=True)  # the scratch settings of --screenshot
        self._stop_scans()
        self.controller.shutdown()
        super().closeEvent(event)

