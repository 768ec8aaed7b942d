"""The window's A/B comparison: pin the result on show as A; another image, or other weights, is B.

Compare → Pin result as A (Ctrl+Shift+A) asks the worker to keep its current
run, and an "A/B comparison" tab appears beside the maps. Until there is a B it
shows A's map of the layer and channel on screen, with a hint. Once another
image, or other weights of the same architecture, has been analysed, the
window asks for B − A at the layer on screen (a CompareRequest, newest wins).
The worker answers with the whole layer (A, B, the difference, the per-channel
means) and every scale it is drawn with (``app.worker_compare``); the Session
keeps the newest answer, and the window only slices the channel the grid
shows. So a channel switch costs no request and a layer switch costs one. The
view follows the tree's layer and the grid's channel and scale; a click in its
channel list selects that channel in the grid. Unpin (the menu or the view's
button) ends it. While B is there, File → Export figure adds a comparison row.
"""
import numpy as np
from PySide6.QtCore import Slot
from PySide6.QtWidgets import QTabWidget

from widgets.compare_view import CompareView
from widgets.numbers import fmt_sig

COMPARE_TAB = "A/B comparison"
B_HINT = "open another image, or load other weights for the same model, to compare"


def diff_scale_words(level: float, top: float, percentile: float, shared: bool) -> str:
    """How the difference's ±L was chosen (the engine's rule) and what lies beyond it, for its colour bar."""
    where = "the layer" if shared else "this channel"
    if top <= 0:
        return f"no change anywhere in {where}"
    words = "red: B higher, blue: B lower"
    if level >= top:
        return f"{words} · ±L: the largest |B − A| in {where}"
    return f"{words} · ±L: {percentile:g}th percentile of the changes |B − A| in {where} (max {fmt_sig(top)})"


class CompareActions:
    """Mixin for MainWindow (needs session, controller, grid, statusBar, show_error, show_channel, _action,
    _layer_label, selected_layer)."""

    _compare_asked = None     # (pin id, analysis id, layer) of the comparison asked last
    _compare_static = None    # the comparison whose predictions and channel list are on show
    _compare_caption = ""     # the caption before B's analysis started (back to it if that fails)
    _compare_seen = None      # (layer, channel) shown last: B opens on the channel A was shown with
    _dropped = ""             # why A was let go, until the model that let it go has been announced

    def _build_compare_tabs(self, maps) -> QTabWidget:
        """The maps, and the comparison as a second tab while something is pinned (no tab bar otherwise)."""
        self.compare_view = CompareView()
        tabs = QTabWidget()
        tabs.setDocumentMode(True)
        tabs.setTabBarAutoHide(True)
        tabs.addTab(maps, "Maps")
        self.central_tabs = tabs
        return tabs

    def _build_compare_menu(self, menubar) -> None:
        m = menubar.addMenu("&Compare")
        self.pin_action = self._action(m, "&Pin result as A", self.pin_result, "Ctrl+Shift+A",
                                       "Keep the result on show as A; then open another image or load other "
                                       "weights for the same model: that is B")
        self.unpin_action = self._action(m, "&Unpin", self.unpin, "Ctrl+Shift+U", "End the A/B comparison")
        m.addSeparator()
        self.show_compare_action = self._action(m, "Show the A/B &comparison", self.show_comparison, "Ctrl+Shift+B")
        self._sync_compare_actions()

    def _connect_compare(self) -> None:
        s, view = self.session, self.compare_view
        s.pinChanged.connect(self._on_pin)
        s.pinDropped.connect(self._on_pin_dropped)
        s.modelChanged.connect(self._after_pin_dropped)  # after the window's own model notice
        s.comparisonChanged.connect(lambda _result: self._compare_follow())
        s.compareFailed.connect(self.show_error)
        s.imageChanged.connect(self._compare_image_started)
        s.finished.connect(lambda _seconds: self._compare_follow())
        s.failed.connect(self._compare_b_failed)
        for signal in (s.imageChanged, s.finished, s.failed, s.modelChanged):
            signal.connect(lambda *_: self._sync_compare_actions())
        self.grid.normalizationChanged.connect(lambda _mode: self._compare_follow())
        self.grid.colormapChanged.connect(lambda _name: self._compare_follow())
        view.channelActivated.connect(self.show_channel)
        view.unpinRequested.connect(self.unpin)

    # ------------------------------------------------------------------ asking
    def can_pin(self) -> bool:
        s = self.session
        return s.complete and s.results_model is s.model_info

    def pin_result(self) -> None:
        """Keep the result on show as A (a quiet no-op until there is one)."""
        if not self.can_pin():
            self.statusBar().showMessage("nothing to pin yet: wait until the result is shown", 5000)
            return
        self.controller.pin()

    def unpin(self) -> None:
        """End the comparison (nothing happens when nothing is pinned)."""
        self.controller.unpin()

    def comparing(self) -> bool:
        return self.session.pinned is not None

    def show_comparison(self) -> None:
        if self.central_tabs.indexOf(self.compare_view) >= 0:
            self.central_tabs.setCurrentWidget(self.compare_view)

    def _sync_compare_actions(self) -> None:
        self.pin_action.setEnabled(self.can_pin())
        self.unpin_action.setEnabled(self.comparing())
        self.show_compare_action.setEnabled(self.comparing())

    # ------------------------------------------------------------------ answers
    @Slot(object)
    def _on_pin(self, info) -> None:
        tabs, view = self.central_tabs, self.compare_view
        self._compare_asked = self._compare_static = None
        if info is None:
            if tabs.indexOf(view) >= 0:
                tabs.removeTab(tabs.indexOf(view))
            view.clear()
        else:
            if tabs.indexOf(view) < 0:
                tabs.addTab(view, COMPARE_TAB)
            tabs.setCurrentWidget(view)
            self.statusBar().showMessage(f"A is {info['label']}: {B_HINT}", 8000)
            self._compare_follow()
        self._sync_compare_actions()

    def _on_pin_dropped(self, message: str) -> None:
        self._dropped = message
        self.show_error(message, error=False)

    def _after_pin_dropped(self, info: dict) -> None:
        """The new model's own notice (untrained, offline…) must not hide why A went: one line says both."""
        dropped, self._dropped = self._dropped, ""
        if dropped and info.get("notice"):
            self.show_error(f"{dropped}; {info['notice']}", error=False)

    def _compare_image_started(self, image: dict) -> None:
        self._compare_asked = None
        if self.comparing():
            self._compare_caption = self.compare_view.caption()
            name = image.get("path", "").replace("\\", "/").rsplit("/", 1)[-1]
            self.compare_view.set_caption(f"B: analysing {name}…")

    def _compare_b_failed(self, _message: str) -> None:
        if self.comparing() and self.compare_view.caption().startswith("B: analysing"):
            self.compare_view.set_caption(self._compare_caption)  # the comparison on show stays, as it was

    def compare_kept_channel(self, layer: str, count: int) -> int | None:
        """While comparing, the channel last shown of ``layer``: a new B opens on it, not on its own best."""
        seen = self._compare_seen
        if self.comparing() and seen is not None and seen[0] == layer and 0 <= seen[1] < count:
            return seen[1]
        return None

    def _compare_follow(self, channel: int | None = None) -> None:
        """Show the comparison of the layer and channel on screen (``channel``: the one just shown): A alone
        until there is a B, then B − A (asked for once per pin, image and layer; the answer repaints
        through comparisonChanged)."""
        s = self.session
        if channel is not None:
            self._compare_seen = (self.selected_layer, int(channel))
        if s.pinned is None:
            return
        if s.shows_a:
            self._paint_a_alone()
            return
        if s.image is None or not s.complete:
            return  # B is on its way: what is on show stays
        result = s.comparison
        if result is not None and result.layer == self.selected_layer:
            self._paint_comparison(result)
            return
        key = (s.pinned["pin_id"], s.results_id, self.selected_layer)
        if key != self._compare_asked:
            self._compare_asked = key
            self.controller.compare(self.selected_layer)

    def _grid_channel(self, name: str, count: int) -> int | None:
        """The grid's channel if the grid shows layer ``name`` (and it exists there), else None."""
        layer = self.session.layer(name)
        if layer is None or self.grid.layer_name() != self._title(layer):
            return None
        channel = self.grid.selected_channel()
        return channel if channel is not None and 0 <= channel < count else None

    def _paint_a_alone(self) -> None:
        s, view = self.session, self.compare_view
        label = s.pinned["label"]
        layer = s.original_layer(self.selected_layer)
        self._compare_static = None
        view.set_predictions([], note="A → B, once B is there")
        view.clear_channel_deltas("once B is there")
        titles = (f"A: {label}", "B")
        name = self._layer_label(self.selected_layer, short=True)
        if layer is None or not layer.has_stats:
            view.show_hint(f"A is {label}. Now {B_HINT}.", pinned=True)
            return
        if layer.data.ndim != 3:
            view.set_maps_note(f"{name} is a vector layer ({layer.shape[0]} values): its changes are listed "
                               "once B is there", titles)
            view.set_caption(f"A pinned · {name}")
            return
        channel = self._grid_channel(layer.name, layer.shape[0])
        channel = layer.best_channel if channel is None else channel
        lo, hi, _ = self.grid.channel_range(channel)   # the grid's own scale and table for A
        view.set_maps(layer.data[channel], None, None, note=f"B: {B_HINT}", titles=titles,
                      cmap=self.grid.shown_colormap(), levels=(lo, hi))
        view.set_caption(f"A pinned · {name} · channel {channel}")
        view.set_current_channel(channel)

    def _paint_comparison(self, result) -> None:
        from .figure_data import ab_scale  # here: the figure's modules are not needed to start the window

        comp, view = result.comparison, self.compare_view
        shared = self.grid.normalization() == "layer"
        titles = (f"A: {comp.label_a}", f"B: {comp.label_b}")
        if comp.a.ndim == 3:
            count = comp.a.shape[0]
            channel = self._grid_channel(comp.layer, count)
            if channel is None:
                channel = int(comp.channels.order[0]) if comp.channels is not None else 0
            b = comp.b[channel] if comp.b.ndim == 3 and channel < comp.b.shape[0] else None
            table, levels = ab_scale(result, channel, shared, self.grid.colormap())
            diff = level = None
            words = ""
            if comp.diff is not None:
                diff = comp.diff[channel]
                level = result.layer_level if shared else float(result.diff_levels[channel])
                top = result.layer_top if shared else float(result.diff_tops[channel])
                words = diff_scale_words(level, top, result.percentile, shared)
            view.set_maps(comp.a[channel], b, diff, note=comp.reason or "", titles=titles, cmap=table,
                          levels=levels, diff_level=level, diff_note=words)
            view.set_caption(f"{comp.caption()} · channel {channel}")
        else:
            channel = None
            view.set_maps_note(f"{comp.name} is a vector layer ({comp.a.shape[0]} values): the values that "
                               "changed most are listed at the right", titles)
            view.set_caption(comp.caption())
        if self._compare_static is not result:  # the parts that do not follow the channel, once per answer
            self._compare_static = result
            if self.statusBar().currentMessage().startswith("A is "):
                self.statusBar().clearMessage()  # "open another image…": done
            view.set_predictions(comp.ab_rows(), note=comp.note or "")
            deltas = comp.channels
            if deltas is None:
                view.clear_channel_deltas(comp.reason or "the channel counts differ")
            else:
                view.set_channel_deltas(np.arange(deltas.delta.shape[0]), deltas.delta, means_a=deltas.means_a,
                                        means_b=deltas.means_b, layer=comp.name)
        view.set_current_channel(channel)

    # ------------------------------------------------------------------ the exported figure
    def compare_figure_panel(self):
        """The figure's comparison row for the layer and channel on screen, or None (nothing pinned, no B yet,
        or the comparison of another layer still on its way)."""
        s = self.session
        result = s.comparison
        if s.pinned is None or result is None or result.layer != self.selected_layer or result.comparison.a.ndim != 3:
            return None
        from .figure_data import compare_panel
        channel = self._grid_channel(result.layer, result.comparison.a.shape[0])
        return compare_panel(result, channel, self.grid.normalization() == "layer", cmap=self.grid.colormap())
