"""Colormaps as 256-entry uint8 lookup tables, their names for people, and the one value → index mapping.

Every view (grid, overlay, demo-conv panel, exported figure) colours activations
through :func:`to_indices` and these tables, so one array with one range looks the
same everywhere, and the same as the overlay's pyqtgraph ImageItem draws it.
numpy only at import time (pyqtgraph is loaded on the first table), so the Qt-free
mosaic code can use the mapping on a worker thread.

Keys (``"viridis"``, ``"CET-D1"`` …) are what settings store and what every API takes;
they never change. People see :func:`colormap_label` ("blue–red (diverging)").
One sign convention everywhere: in a diverging map red is positive, blue negative and
the neutral middle is zero, which holds because :func:`display_levels` centres the
range of a diverging map on 0.
"""
from functools import lru_cache

import numpy as np

DEFAULT_COLORMAP = "viridis"
# key → (short name, kind). The perceptually uniform maps first; "yellow = active" holds for viridis.
# CET-D1 runs blue → white → red, so with levels centred on 0: red = positive, blue = negative.
COLORMAPS = {
    "viridis": ("viridis", "sequential"),
    "inferno": ("inferno", "sequential"),
    "magma": ("magma", "sequential"),
    "plasma": ("plasma", "sequential"),
    "cividis": ("cividis", "sequential"),
    "turbo": ("turbo", "rainbow"),
    "CET-L1": ("grey", "sequential"),
    "CET-D1": ("blue–red", "diverging"),
}
COLORMAP_NAMES = list(COLORMAPS)
N_COLORS = 256


def colormap_label(name: str) -> str:
    """What a person reads for colormap key ``name``: "viridis (sequential)", "blue–red (diverging)"."""
    short, kind = COLORMAPS[check_colormap(name)]
    return f"{short} ({kind})"


def colormap_short(name: str) -> str:
    """The short name alone ("blue–red"), for tight spaces."""
    return COLORMAPS[check_colormap(name)][0]


def is_diverging(name: str) -> bool:
    """True for maps whose middle colour means zero (their levels are centred on 0)."""
    return COLORMAPS.get(name, ("", ""))[1] == "diverging"


def check_colormap(name: str) -> str:
    """The key for ``name`` (a key, or a label/short name as shown to people, any case);
    a one-line ValueError for anything else (every view's setter uses it)."""
    if name in COLORMAPS:
        return name
    wanted = str(name).strip().lower().replace("-", "–")
    for key, (short, kind) in COLORMAPS.items():
        if wanted in (key.lower().replace("-", "–"), short.lower(), f"{short} ({kind})".lower()):
            return key
    raise ValueError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAP_NAMES)}")


def display_levels(name: str, lo, hi):
    """The levels a view colours with: (lo, hi) as given, or for a diverging map (-m, m) with
    m = max(|lo|, |hi|), so zero sits on the neutral middle colour and the sign reads as colour.
    Scalars or arrays (the grid's per-channel levels); an all-zero range becomes (-1, 1)."""
    if not is_diverging(name):
        return lo, hi
    m = np.maximum(np.abs(np.asarray(lo, dtype=np.float32)), np.abs(np.asarray(hi, dtype=np.float32)))
    m = np.where(m > 0, m, np.float32(1.0)).astype(np.float32)
    if m.ndim == 0:
        return -float(m), float(m)
    return -m, m


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
