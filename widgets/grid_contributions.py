"""The channel grid's sort by contribution: each channel's Grad-CAM term w_k·mean(A_k) for a class.

The contributions of a layer come from a CAM computed at that layer, so they arrive
after the layer itself: when the grid is sorted by contribution and its layer has none,
it says so (a pending state in the header and "…" under the tiles) and emits
contributionsWanted with the layer's name; the window asks for the CAM and hands the
result to set_contributions. A mixin of ChannelGrid, kept apart so that the grid widget
stays about tiles, and this about which channels pushed the answer up or down.
"""
from __future__ import annotations

import numpy as np

from widgets.grid_order import CONTRIBUTION, LayerContributions, signed_text, sort_item_text
from widgets.numbers import fmt_percent, fmt_sig


class ContributionSort:
    """Mixin for ChannelGrid (needs _layer, _contribs, _sort, _sort_combo, _caption, _relayout,
    _ensure_visible, _update_colorbar and the contributionsWanted signal)."""

    def set_contributions(self, layer: str, values: np.ndarray | None, target_label: str) -> None:
        """Layer ``layer``'s per-channel Grad-CAM contributions w_k·mean(A_k) to ``target_label``
        (None forgets them). Sorted by contribution, the tiles of that layer follow them, largest
        first, each labelled with its signed contribution."""
        current = self._layer is not None and self._layer.name == str(layer)
        self._contribs.set(layer, values, target_label, self._layer.acts.shape[0] if current else None)
        if current:
            self._show_sort_item()
            self._relayout()
            self._ensure_visible()
            self._update_colorbar()

    def contributions(self) -> LayerContributions | None:
        """The current layer's contributions (values, label), or None."""
        return self._current_contribs()

    def contribution_state(self) -> str:
        """"ready" (the layer has contributions), "pending" (sorted by contribution, waiting for
        them) or "none"."""
        if self._current_contribs() is not None:
            return "ready"
        return "pending" if self._sort == CONTRIBUTION and self._layer is not None else "none"

    def _current_contribs(self) -> LayerContributions | None:
        L = self._layer
        return None if L is None else self._contribs.get(L.name, L.acts.shape[0])

    def _ask_contributions(self) -> None:
        self._show_sort_item()
        if self.contribution_state() == "pending":
            self.contributionsWanted.emit(self._layer.name)

    def _show_sort_item(self) -> None:
        """The contribution item names the class once it is known; the header says what is pending."""
        contrib = self._current_contribs()
        self._sort_combo.set_text(self._sort_combo.findData(CONTRIBUTION), sort_item_text(contrib), "contrib.")
        L = self._layer
        if L is not None:
            c, h, w = L.acts.shape
            state, tail = self.contribution_state(), ""
            if state == "pending":
                tail = " · computing contributions…"
            elif state == "ready" and self._sort == CONTRIBUTION:
                tail = f" · contributions to {contrib.label}"
            self.set_caption(f"{L.name} — {c}×{h}×{w}{tail}")

    def _tooltip(self, ch: int) -> str:
        L, contrib = self._layer, self._current_contribs()
        text = (f"channel {ch}\nmean {fmt_sig(L.means[ch])} · max {fmt_sig(L.maxs[ch])}\n"
                f"active {fmt_percent(L.fracs[ch])} of positions > 0 · range {fmt_sig(L.lo[ch])} … {fmt_sig(L.hi[ch])}")
        if contrib is not None:
            v = contrib.values[ch]
            push = "pushes it up" if v > 0 else "pushes it down" if v < 0 else "no effect"
            text += f"\ncontribution to {contrib.label}: {signed_text(v)} ({push})"
        return text
