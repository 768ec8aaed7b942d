"""Colormaps as 256-entry uint8 lookup tables, taken from pyqtgraph.

Every view (grid, overlay, demo-conv panel, exported figure) colours activations
through these tables, so one choice of colormap looks the same everywhere.
"""
from functools import lru_cache

import numpy as np
import pyqtgraph as pg

DEFAULT_COLORMAP = "viridis"
# The perceptually uniform maps first; "yellow = active" holds for viridis.
COLORMAP_NAMES = ["viridis", "inferno", "magma", "plasma", "cividis", "turbo", "CET-L1", "CET-D1"]


def check_colormap(name: str) -> str:
    """``name`` if it is one of COLORMAP_NAMES, else a one-line ValueError (for every view's setter)."""
    if name not in COLORMAP_NAMES:
        raise ValueError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAP_NAMES)}")
    return name


@lru_cache(maxsize=None)
def lut(name: str) -> np.ndarray:
    """A read-only (256, 3) uint8 table for ``name``; unknown names fall back to viridis."""
    try:
        cmap = pg.colormap.get(name)
    except Exception:  # pyqtgraph raises FileNotFoundError/KeyError for unknown maps
        cmap = pg.colormap.get(DEFAULT_COLORMAP)
    table = np.ascontiguousarray(cmap.getLookupTable(nPts=256, mode="byte")[:, :3], dtype=np.uint8)
    table.setflags(write=False)
    return table


def to_indices(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Scale ``values`` so that lo..hi maps onto 0..255 (uint8), clipping outside; flat input → 0."""
    span = float(hi) - float(lo)
    scale = 255.0 / span if span > 0 else 0.0
    out = (np.asarray(values, dtype=np.float32) - np.float32(lo)) * np.float32(scale)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def colorize(values: np.ndarray, lo: float, hi: float, name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """Map a 2-D float array to an (H, W, 3) uint8 RGB picture through the colormap ``name``."""
    return lut(name)[to_indices(values, lo, hi)]
