"""The channel grid's settings: colormap, scale (per channel or shared) and tile order.

A mixin of ChannelGrid, kept apart so that the grid widget is about its layer and its
tiles. Each setter takes a key (a colormap may also be named by its label), keeps the
combo in step without its signal, redraws only what the change needs (a colormap change
is a LUT swap unless the range moves) and emits its signal on change.
"""
from __future__ import annotations

from widgets.colormaps import check_colormap, resolve_colormap
from widgets.compact import CompactCombo
from widgets.view_controls import NORMALIZATIONS, SORTS


class GridSettings:
    """Mixin for ChannelGrid (needs _layer, _cmap, _shown, _norm, _sort, the three combos, _canvas,
    _colorbar, _relayout, _ensure_visible, _update_colorbar, _ask_contributions and the signals)."""

    def set_colormap(self, name: str) -> None:
        """Colour tiles with ``name`` (a key of CHOICES, e.g. "auto", or its label); emits
        colormapChanged with the key on change."""
        name = check_colormap(name)
        if name == self._cmap:
            return
        self._cmap = name
        self._sync_combo(self._cmap_combo, name)
        self._apply_colormap()
        self._relayout()   # a no-op unless the range changes (to or from a diverging map, or auto)
        self._update_colorbar()
        self.colormapChanged.emit(name)

    def colormap(self) -> str:
        """The colormap choice (a key, possibly "auto")."""
        return self._cmap

    def shown_colormap(self) -> str:
        """The table the tiles are drawn with: the choice, or what "auto" picked for this layer."""
        return self._shown

    def _apply_colormap(self) -> None:
        layer = self._layer
        shown = self._cmap if layer is None else resolve_colormap(self._cmap, layer.lo.min(), layer.hi.max())
        shown = "viridis" if shown == "auto" else shown
        if shown != self._shown:
            self._shown = shown
            self._canvas.set_colormap(shown)
            self._colorbar.set_colormap(shown)

    def set_normalization(self, mode: str) -> None:
        """"channel" (each tile its own min..max) or "layer" (one min..max for the whole layer)."""
        if mode not in NORMALIZATIONS:
            raise ValueError(f"unknown normalisation {mode!r}; choose one of {', '.join(NORMALIZATIONS)}")
        if mode == self._norm:
            return
        self._norm = mode
        self._sync_combo(self._norm_combo, mode)
        self._relayout()
        self._update_colorbar()
        self.normalizationChanged.emit(mode)

    def normalization(self) -> str:
        return self._norm

    def set_sort(self, key: str) -> None:
        """Tile order: "index", or descending "mean" / "max" / "active" (fraction > 0) /
        "contribution" (to the explained class; asks for them with contributionsWanted if the
        layer has none yet)."""
        if key not in SORTS:
            raise ValueError(f"unknown sort key {key!r}; choose one of {', '.join(SORTS)}")
        if key == self._sort:
            return
        self._sort = key
        self._sync_combo(self._sort_combo, key)
        self._relayout()
        self._ensure_visible()
        self.sortChanged.emit(key)
        self._ask_contributions()

    def sort_key(self) -> str:
        return self._sort

    @staticmethod
    def _sync_combo(combo: CompactCombo, value: str) -> None:
        i = combo.findData(value)
        if combo.currentIndex() != i:
            combo.blockSignals(True)
            combo.setCurrentIndex(i)
            combo.blockSignals(False)

    def _set_controls_enabled(self, on: bool) -> None:
        for combo in (self._cmap_combo, self._norm_combo, self._sort_combo):
            combo.setEnabled(on)
