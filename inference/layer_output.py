"""One layer's output for one image, and its per-channel statistics (computed on the worker, not the UI thread).

Made by ``inference.capture`` as a pass runs; kept apart from it so that the
capture module holds only the capturing.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .capture import LayerSpec


@dataclass(frozen=True, eq=False)
class LayerOutput:
    """One layer's output for one image, batch dimension removed (a read-only float32 array).

    The statistics are computed once, by ``compute_stats()`` (on the worker);
    ``has_stats`` tells a view whether they are there yet, so the UI thread
    never computes them itself.
    """

    spec: LayerSpec
    data: np.ndarray                  # float32 [C, H, W] (any strides) or [N]
    index: int                        # position in forward order
    seconds: float                    # time since the pass started

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def is_map(self) -> bool:
        return self.data.ndim == 3

    @cached_property
    def _stats(self) -> tuple[np.ndarray, ...] | None:
        return channel_stats(self.data) if self.data.ndim == 3 else None

    def compute_stats(self) -> "LayerOutput":
        self._stats  # noqa: B018  (fills the cache)
        return self

    @property
    def has_stats(self) -> bool:
        return "_stats" in self.__dict__ or self.data.ndim != 3

    @property
    def means(self) -> np.ndarray | None:
        """Per-channel mean (None for vectors)."""
        return None if self._stats is None else self._stats[0]

    @property
    def maxs(self) -> np.ndarray | None:
        return None if self._stats is None else self._stats[1]

    @property
    def fracs(self) -> np.ndarray | None:
        """Per-channel fraction of values > 0."""
        return None if self._stats is None else self._stats[2]

    @property
    def mins(self) -> np.ndarray | None:
        return None if self._stats is None else self._stats[3]

    @property
    def best_channel(self) -> int | None:
        """The channel with the highest mean: the write-up's rule for what to overlay."""
        return None if self.means is None else int(np.argmax(self.means))

    @property
    def best_mean(self) -> float | None:
        return None if self.means is None else float(self.means[self.best_channel])


def channel_stats(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel mean, max, fraction > 0 and min of a [C, H, W] array, in float32."""
    c = data.shape[0]
    hwc = data.transpose(1, 2, 0)
    rows = hwc.reshape(-1, c) if hwc.flags.c_contiguous else data.reshape(c, -1).T  # no copy either way
    means = rows.mean(axis=0, dtype=np.float64)
    maxs = rows.max(axis=0)
    mins = rows.min(axis=0)
    positive = np.add.reduce(rows > 0, axis=0, dtype=np.int64)
    fracs = positive / max(1, rows.shape[0])
    return means.astype(np.float32), maxs.astype(np.float32), fracs.astype(np.float32), mins.astype(np.float32)
