"""The colour ranges of an A/B comparison, numpy only (no Qt, no torch).

A and B share one range, so one colour means one value in both maps. The range follows the
app's sign rule (widgets.colormaps: "auto" gives viridis from 0 for maps >= 0, blue-red
centred on 0 for signed ones).

The difference B - A is drawn on the diverging map with symmetric levels -L..+L, so 0 is the
neutral middle colour and the sign reads as red or blue. After a ReLU most of a map is 0 and a
few spots are strong. With L = max |B - A|, those few spots would take the end colours and
every other change would sit near the neutral colour. So L is a high percentile of |B - A|
(DIFF_PERCENTILE). Values beyond +-L take the end colours, and the colour bar says so. Only
when fewer positions than that differ at all (a sparse difference) does L fall back to the
largest |B - A|.
"""
from __future__ import annotations

import numpy as np

from widgets.colormaps import AUTO, display_levels, resolve_colormap

DIFF_PERCENTILE = 98.0


def check_map(name: str, values) -> np.ndarray:
    """``values`` as a C-contiguous float32 (H, W) array (what pyqtgraph draws fastest), or a one-line
    ValueError naming ``name``."""
    a = np.asarray(values)
    if a.ndim != 2 or min(a.shape) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D map, got shape {a.shape}")
    a = np.ascontiguousarray(a, dtype=np.float32)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return a


def shared_levels(a: np.ndarray, b: np.ndarray | None, cmap: str = AUTO,
                  levels: tuple[float, float] | None = None) -> tuple[float, float, str]:
    """(lo, hi, table): one range for A and B together and the colour table it is drawn with.
    The range is ``levels`` when given (e.g. the grid's scale shared by the layer), else the
    two maps' min..max. ``cmap`` "auto" then starts at 0 for data >= 0 and centres signed data
    on 0, and a diverging map is centred on 0. A flat range becomes lo..lo + 1 (the bottom colour)."""
    maps = [m for m in (a, b) if m is not None]
    if levels is not None:
        lo, hi = (float(v) for v in levels)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"levels must be finite, got {levels!r}")
    else:
        lo = float(min(m.min() for m in maps))
        hi = float(max(m.max() for m in maps))
    table = resolve_colormap(cmap, lo, hi)
    lo, hi = display_levels(cmap, lo, hi)
    lo, hi = float(lo), float(hi)
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi, table


def diff_limit(diff: np.ndarray, percentile: float = DIFF_PERCENTILE) -> tuple[float, float]:
    """(L, max |diff|): the difference is coloured over -L..+L. L is the ``percentile`` of |diff|
    over every position, the largest |diff| when that percentile is 0 (fewer positions than
    that differ), and 1 when the maps are equal."""
    mag = np.abs(np.asarray(diff, dtype=np.float32)).ravel()
    top = float(mag.max()) if mag.size else 0.0
    if top <= 0:
        return 1.0, 0.0
    limit = float(np.percentile(mag, percentile))
    return (limit if limit > 0 else top), top
