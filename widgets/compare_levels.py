"""The colour ranges of an A/B comparison's maps, numpy only (no Qt, no torch).

A and B share one range, so one colour means one value in both maps. The range is the
caller's (the window passes A's and B's common range, computed on the worker from the
layers' own statistics, per channel or shared by the layer as the grid's scale is), and
follows the app's sign rule (widgets.colormaps: "auto" gives viridis from 0 for maps >= 0,
blue-red centred on 0 for signed ones).

The difference B - A is drawn on the diverging map over a symmetric -L..+L that the caller
gives too: L is the engine's rule (inference.compare.diff_level / channel_levels), computed on
the worker. The view has no rule of its own for it, so the window, the figure and
``convscope compare`` cannot disagree about what a colour means.
"""
from __future__ import annotations

import math

import numpy as np

from widgets.colormaps import AUTO, display_levels, resolve_colormap


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
    The range is ``levels`` when given (the window always gives it), else the two maps' min..max
    (a view used on its own). ``cmap`` "auto" then starts at 0 for data >= 0 and centres signed
    data on 0, and a diverging map is centred on 0. A flat range becomes lo..lo + 1 (the bottom colour)."""
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


def diff_display_level(level) -> float:
    """The given ±L as drawn: 1 when it is 0 (nothing changed: the map is the centre colour), or a
    one-line ValueError when it is not a finite number >= 0."""
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"the difference map's level must be a number, got {level!r}") from None
    if not math.isfinite(level) or level < 0:
        raise ValueError(f"the difference map's level must be finite and >= 0, got {level}")
    return level if level > 0 else 1.0
