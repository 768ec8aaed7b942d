"""Colormaps as 256-entry uint8 lookup tables, and the one value → index mapping.

Every view (grid, overlay, demo-conv panel, exported figure) colours activations
through :func:`to_indices` and these tables, so one array with one range looks the
same everywhere, and the same as the overlay's pyqtgraph ImageItem draws it.
numpy only at import time (pyqtgraph is loaded on the first table), so the Qt-free
mosaic code can use the mapping on a worker thread.
"""
from functools import lru_cache

import numpy as np

DEFAULT_COLORMAP = "viridis"
# The perceptually uniform maps first; "yellow = active" holds for viridis.
COLORMAP_NAMES = ["viridis", "inferno", "magma", "plasma", "cividis", "turbo", "CET-L1", "CET-D1"]
N_COLORS = 256


def check_colormap(name: str) -> str:
    """``name`` if it is one of COLORMAP_NAMES, else a one-line ValueError (for every view's setter)."""
    if name not in COLORMAP_NAMES:
        raise ValueError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAP_NAMES)}")
    return name


@lru_cache(maxsize=None)
def lut(name: str) -> np.ndarray:
    """A read-only (256, 3) uint8 table for ``name``; unknown names fall back to viridis."""
    import pyqtgraph as pg   # here, not at the top: the mapping below must stay Qt-free

    try:
        cmap = pg.colormap.get(name)
    except Exception:  # pyqtgraph raises FileNotFoundError/KeyError for unknown maps
        cmap = pg.colormap.get(DEFAULT_COLORMAP)
    table = np.ascontiguousarray(cmap.getLookupTable(nPts=N_COLORS, mode="byte")[:, :3], dtype=np.uint8)
    table.setflags(write=False)
    return table


def to_indices(values: np.ndarray, lo, hi) -> np.ndarray:
    """Colormap indices (uint8) exactly as pyqtgraph's ImageItem draws ``values`` with
    levels=(lo, hi) and a 256-entry LUT: 256 equal bins over lo..hi, clipped to 0..255.

    So the maximum gets the top colour, and the overlay (an ImageItem) agrees with every
    numpy-coloured view. ``lo``/``hi`` are scalars or arrays that broadcast against
    ``values`` (the grid passes per-channel (C, 1, 1) levels). Same arithmetic as
    pyqtgraph: float32, a zero range counts as 1 (a flat map gets index 0)."""
    lo64 = np.asarray(lo, dtype=np.float64)
    span = np.asarray(hi, dtype=np.float64) - lo64
    scale = (N_COLORS / np.where(span == 0, 1.0, span)).astype(np.float32)
    out = np.subtract(np.asarray(values, dtype=np.float32), lo64.astype(np.float32))
    out *= scale
    np.clip(out, 0, N_COLORS - 1, out=out)
    return out.astype(np.uint8)


def colorize(values: np.ndarray, lo, hi, name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """Map a float array to an (..., 3) uint8 RGB picture through the colormap ``name``."""
    return lut(name)[to_indices(values, lo, hi)]
