"""What a click on the channel grid means: the current channel, a multi-selection, a position.

A plain click makes a channel the current one (the overlay shows it) and also says where
in its map it landed, so the window can probe that unit (``positionClicked(channel, y, x)``
in the map's own cells, right after ``channelSelected``). Ablation needs several
channels: ctrl-click toggles one, shift-click takes the range from the last clicked
channel in the order shown (a grid sorted by contribution gives "the top 8" in two
clicks), ctrl+shift adds that range; a plain click or Esc drops the selection. The
selection and the probe's cross belong to one layer: they stay while the grid shows a
layer of the same name and shape (an ablated re-run of it) and go with any other.
:class:`ChannelSelection` is the Qt-free bookkeeping; :class:`GridSelection` a mixin of
ChannelGrid, like widgets.grid_contributions.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt


class ChannelSelection:
    """A set of channels with an anchor for ranges; ranges follow a display order."""

    def __init__(self) -> None:
        self.channels: set[int] = set()
        self.anchor: int | None = None

    def toggle(self, ch: int) -> None:
        self.channels ^= {int(ch)}
        self.anchor = int(ch)

    def extend(self, ch: int, order: np.ndarray, pos_of: np.ndarray, add: bool) -> None:
        """The tiles from the anchor to ``ch`` as shown (``order``: channel at each position),
        replacing the selection, or added to it with ``add``. The anchor stays."""
        anchor = int(ch) if self.anchor is None else self.anchor
        a, b = sorted((int(pos_of[anchor]), int(pos_of[int(ch)])))
        span = {int(c) for c in order[a:b + 1]}
        self.channels = self.channels | span if add else span
        self.anchor = anchor

    def replace(self, channels, n: int) -> None:
        chans = {int(c) for c in channels}
        bad = sorted(c for c in chans if not 0 <= c < n)
        if bad:
            raise ValueError(f"channel {bad[0]} out of range 0..{n - 1}")
        self.channels = chans

    def sorted(self) -> list[int]:
        return sorted(self.channels)


class GridSelection:
    """Mixin for ChannelGrid (needs _layer, _canvas, _header, _choose and the signals
    selectionChanged(list) and positionClicked(int, int, int))."""

    # ------------------------------------------------------------------ public
    def selected_channels(self) -> list[int]:
        """The multi-selection, ascending channel indices ([] when none)."""
        return self._selection.sorted()

    def set_selected_channels(self, channels) -> None:
        """Select ``channels`` (e.g. "the top k by contribution"); no signal. A one-line
        ValueError for an index outside the layer."""
        if self._layer is None:
            if list(channels):
                raise ValueError("no layer with channels is shown")
            return
        self._selection.replace(channels, self._layer.acts.shape[0])
        self._show_selection()

    def clear_selection(self) -> None:
        """Drop the multi-selection (no signal)."""
        self._selection = ChannelSelection()
        self._show_selection()

    def map_position(self, index: int, pos: QPoint | QPointF) -> tuple[int, int] | None:
        """The cell (y, x) of channel ``index``'s map under ``pos`` (canvas coordinates, see
        canvas()), or None outside its thumbnail: a 14×14 map gives y, x in 0..13."""
        if self._layer is None:
            return None
        return self._canvas.map_position(int(index), QPointF(pos))

    def set_probe_marker(self, channel: int, y: int, x: int) -> None:
        """A small cross on cell (y, x) of ``channel``'s tile: the unit being probed."""
        if self._layer is None:
            return
        c, h, w = self._layer.acts.shape
        if not (0 <= int(channel) < c and 0 <= int(y) < h and 0 <= int(x) < w):
            raise ValueError(f"probe ({channel}, {y}, {x}) outside the layer's {c}×{h}×{w}")
        old = self._canvas.probe
        self._canvas.probe = (int(channel), int(y), int(x))
        self._update_tiles(old, self._canvas.probe)

    def clear_probe_marker(self) -> None:
        old, self._canvas.probe = self._canvas.probe, None
        self._update_tiles(old)

    def _update_tiles(self, *markers) -> None:
        """Repaint only the tiles a marker left or reached (a whole grid costs a probe's 10 ms budget)."""
        for marker in markers:
            if marker is not None and self._layer is not None and 0 <= marker[0] < self._layer.acts.shape[0]:
                self._canvas.update(self._canvas.tile_rect(marker[0]).adjusted(-3, -3, 3, 3).toAlignedRect())

    def probe_marker(self) -> tuple[int, int, int] | None:
        """(channel, y, x) of the cross on show, or None."""
        return self._canvas.probe

    # ------------------------------------------------------------------ input
    def _click(self, ch: int, pos: QPointF, modifiers) -> None:
        """A left click on channel ``ch``'s cell at ``pos`` with keyboard ``modifiers``."""
        ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        if shift or ctrl:
            sel = self._selection
            if shift:
                if sel.anchor is None:
                    sel.anchor = self._canvas.selected if self._canvas.selected is not None else int(ch)
                sel.extend(ch, self._canvas.order, self._canvas.pos_of, add=ctrl)
            else:
                sel.toggle(ch)
            self._selection_edited()
            return
        if self._selection.channels:
            self._selection = ChannelSelection()
            self._selection_edited()
        self._selection.anchor = int(ch)
        self._choose(ch)
        cell = self._canvas.map_position(int(ch), pos)
        if cell is not None:
            self.positionClicked.emit(int(ch), *cell)

    def _escape(self) -> bool:
        """Esc: drop the selection (True if there was one)."""
        if not self._selection.channels:
            return False
        self._selection = ChannelSelection()
        self._selection_edited()
        return True

    # ------------------------------------------------------------------ internals
    def _selection_edited(self) -> None:
        self._show_selection()
        self.selectionChanged.emit(self._selection.sorted())

    def _show_selection(self) -> None:
        self._canvas.chosen = frozenset(self._selection.channels)
        self._header.set_selected(len(self._selection.channels))
        self._canvas.update()

    def _keep_marks(self, name: str, shape: tuple) -> None:
        """A layer is about to be shown: keep the selection and the cross only for the same layer."""
        same = self._marks_for == (str(name), tuple(shape))
        self._marks_for = (str(name), tuple(shape))
        if not same:
            self._selection = ChannelSelection()
            self._canvas.probe = None
        self._show_selection()

    def _drop_marks(self) -> None:
        self._marks_for = None
        self._selection = ChannelSelection()
        self._canvas.probe = None
        self._show_selection()
