"""The window's File → Export actions: figure, grid, overlay, activations; all read the Session.

A mixin for MainWindow: what is exported is what the Session holds (the
current results, with the model that computed them) plus the view state the
user chose (layer, channel, colormaps), so an export never mixes images or
weights.
"""
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog


class ExportActions:
    def _export_target(self, title: str, filters: str, default_name: str) -> str | None:
        folder = str(self.settings.value("lastExportFolder", str(Path.home())))
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(folder) / default_name), filters)
        if path:
            self.settings.setValue("lastExportFolder", str(Path(path).parent))
        return path or None

    def _stem(self) -> str:
        image = self.session.image
        return Path(image["path"]).stem if image else "convscope"

    def export_figure_dialog(self) -> None:
        path = self._export_target("Export figure", "PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)",
                                   f"{self._stem()}-figure.png")
        if path:
            self.export_figure(path)

    def export_grid_dialog(self) -> None:
        path = self._export_target("Export grid image", "PNG image (*.png)", f"{self._stem()}-{self.selected_layer}-grid.png")
        if path:
            self.export_grid(path)

    def export_overlay_dialog(self) -> None:
        path = self._export_target("Export overlay image", "PNG image (*.png)", f"{self._stem()}-overlay.png")
        if path:
            self.export_overlay(path)

    def export_npy_dialog(self) -> None:
        path = self._export_target("Export activations", "NumPy array (*.npy)", f"{self._stem()}-{self.selected_layer}.npy")
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
        """The composed figure; while an A/B comparison of the layer on screen is in, with its row."""
        from .export import export_figure
        if not self._ready_for_export(need_map=True):
            return False
        compare = self.compare_figure_panel()
        if compare is not None:
            return self._guard_export(lambda: self._export_compared_figure(path, compare))
        return self._guard_export(lambda: export_figure(self.session, self.selected_layer, path,
                                                        channel=self.grid.selected_channel(),
                                                        colormap=self.grid.colormap(),
                                                        overlay_colormap=self.overlay.colormap(),
                                                        alpha=self.overlay.alpha(),
                                                        blend=self.overlay.blend(),
                                                        demo_mode=self.demo_panel.output_mode()))

    def _export_compared_figure(self, path: str, compare) -> None:
        from widgets.figure import write_figure

        from .figure_data import session_figure_data
        data = session_figure_data(self.session, self.selected_layer, channel=self.grid.selected_channel(),
                                   colormap=self.grid.colormap(), overlay_colormap=self.overlay.colormap(),
                                   alpha=self.overlay.alpha(), blend=self.overlay.blend(),
                                   demo_mode=self.demo_panel.output_mode())
        write_figure(replace(data, compare=compare), path)

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
        s = self.session
        if not s.complete or layer is None or s.results_model is not s.model_info:
            self.show_error("nothing to export yet: wait until the image's results are shown")
            return False
        if need_map and layer.data.ndim != 3:
            self.show_error(f"{layer.name} is a vector layer; select a convolutional layer for the figure")
            return False
        if need_map and not layer.has_stats:
            self.show_error("nothing to export yet: wait until the image's results are shown")
            return False
        return True
