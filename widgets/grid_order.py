"""The channel grid's tile order and what each tile's caption says; numpy only, no Qt.

Tiles go by index, by a statistic (mean, max, fraction active), or by each channel's
Grad-CAM contribution w_k·mean(A_k) to the class being explained: the channels that
pushed the answer up first, those that pushed it down last. Contributions belong to
one layer of one image and arrive later than the layer (the window asks for a CAM at
that layer), so :class:`Contributions` keeps them per layer name and says which are
missing; the grid shows a pending state meanwhile. Keyboard moves go through the
display order too (:func:`key_target`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from widgets.numbers import fmt_sig

CONTRIBUTION = "contribution"
PENDING = "…"          # a tile's caption while its layer's contributions are being computed
MINUS = "\u2212"       # a real minus sign: "−0.100" reads as negative at a glance


def signed_text(value: float) -> str:
    """A contribution as people read it: "+0.421", "−0.100", "0" (3 significant digits)."""
    v = float(value)
    if v == 0:
        return "0"
    text = fmt_sig(abs(v))
    return ("+" if v > 0 else MINUS) + text


def contribution_captions(values: np.ndarray) -> list[str]:
    return [signed_text(v) for v in np.asarray(values, dtype=np.float64)]


@dataclass(frozen=True)
class LayerContributions:
    """One layer's per-channel contributions to the class ``label``."""
    values: np.ndarray     # (C,) float64
    label: str

    def signs(self) -> np.ndarray:
        return np.sign(self.values).astype(np.int8)


class Contributions:
    """Contributions as they arrive, per layer name (of the image on show)."""

    def __init__(self) -> None:
        self._by_layer: dict[str, LayerContributions] = {}

    def set(self, layer: str, values, label: str, channels: int | None = None) -> None:
        """Keep ``values`` (one per channel) for ``layer``; None forgets them. A one-line ValueError
        for anything but a finite 1-D array (of ``channels`` entries, when the layer is known)."""
        layer = str(layer)
        if values is None:
            self._by_layer.pop(layer, None)
            return
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{layer}: contributions must be a 1-D array, one per channel, got shape {arr.shape}")
        if channels is not None and arr.size != channels:
            raise ValueError(f"{layer}: {arr.size} contributions for {channels} channels")
        if not np.isfinite(arr).all():
            raise ValueError(f"{layer}: contributions contain NaN or infinity")
        arr = arr.copy()
        arr.setflags(write=False)
        self._by_layer[layer] = LayerContributions(arr, str(label))

    def get(self, layer: str | None, channels: int | None = None) -> LayerContributions | None:
        """``layer``'s contributions, if they are there (and have ``channels`` entries)."""
        entry = self._by_layer.get(layer) if layer is not None else None
        if entry is None or (channels is not None and entry.values.size != channels):
            return None
        return entry

    def clear(self) -> None:
        """A new image: every layer's contributions are stale."""
        self._by_layer.clear()


def order_stat(sort_key: str, means, maxs, fracs, contrib: LayerContributions | None):
    """The values tiles are sorted by (descending), or None for index order (also while the
    contributions of a layer sorted by contribution are still missing)."""
    if sort_key == CONTRIBUTION:
        return None if contrib is None else contrib.values
    return None if sort_key == "index" else {"mean": means, "max": maxs, "active": fracs}[sort_key]


def sort_item_text(contrib: LayerContributions | None) -> str:
    """The sort combo's text for the contribution item: it names the class once it is known."""
    return f"contribution to {contrib.label}" if contrib is not None else "contribution ↓"


def key_target(key: str, pos: int, n: int, cols: int, page: int) -> int | None:
    """Display position a navigation key moves to from ``pos`` (n tiles, ``cols`` per row,
    ``page`` tiles per screen); None for a key that is not a move. Up/Down stop at the
    first/last row instead of wrapping."""
    moves = {"left": pos - 1, "right": pos + 1, "up": pos - cols, "down": pos + cols, "home": 0, "end": n - 1,
             "pageup": pos - page, "pagedown": pos + page}
    if key not in moves:
        return None
    new = moves[key]
    if key in ("up", "down") and not 0 <= new < n:
        return pos
    return min(max(new, 0), n - 1)
