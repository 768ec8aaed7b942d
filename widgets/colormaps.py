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

The views default to the choice ``"auto"`` (:data:`AUTO`): the colours follow the sign of
the data by one rule, :func:`auto_colormap` + :func:`auto_levels` (or both at once,
:func:`resolve_colormap` / :func:`display_levels`): data with negative values (a conv
output before its ReLU) gets the diverging map centred on 0, data ≥ 0 (ReLU, pooling)
viridis from 0 to its maximum, so "yellow = active" holds. The grid, the overlay, the
figure and the CLI all colour through it. :func:`heat_lut` adds the overlay's opacity.
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
COLORMAP_NAMES = list(COLORMAPS)   # the fixed tables
N_COLORS = 256

AUTO = "auto"                        # a choice, not a table: resolved per map by auto_colormap
AUTO_LABEL = ("auto", "by sign")
AUTO_DIVERGING, AUTO_SEQUENTIAL = "CET-D1", "viridis"
CHOICES = [AUTO] + COLORMAP_NAMES    # what the views' colormap combos offer, auto first
VIEW_DEFAULT = AUTO                  # what the grid and the overlay start on
# How the overlay lays its heat on the photo: opacity following the value, or one flat opacity.
BLENDS = {"value": ("opacity by value", "by value"), "flat": ("flat opacity", "flat")}
DEFAULT_BLEND = "value"
# What a colour bar says its range is: each channel's own, one range for the layer, or given.
SCALE_NOTES = {"channel": "per channel", "layer": "shared by the layer", "fixed": "fixed"}


def _names(key: str) -> tuple[str, str]:
    return AUTO_LABEL if key == AUTO else COLORMAPS[key]


def colormap_label(name: str) -> str:
    """What a person reads for colormap key ``name``: "viridis (sequential)", "blue–red (diverging)",
    "auto (by sign)"."""
    short, kind = _names(check_colormap(name))
    return f"{short} ({kind})"


def colormap_short(name: str) -> str:
    """The short name alone ("blue–red"), for tight spaces."""
    return _names(check_colormap(name))[0]


def is_diverging(name: str) -> bool:
    """True for maps whose middle colour means zero (their levels are centred on 0)."""
    return COLORMAPS.get(name, ("", ""))[1] == "diverging"


def check_colormap(name: str) -> str:
    """The key for ``name`` (a key, or a label/short name as shown to people, any case);
    a one-line ValueError for anything else (every view's setter uses it)."""
    if name in COLORMAPS or name == AUTO:
        return name
    wanted = str(name).strip().lower().replace("-", "–")
    for key, (short, kind) in [(AUTO, AUTO_LABEL), *COLORMAPS.items()]:
        if wanted in (key.lower().replace("-", "–"), short.lower(), f"{short} ({kind})".lower()):
            return key
    raise ValueError(f"unknown colormap {name!r}; choose one of {', '.join(CHOICES)}")


def auto_colormap(lo, hi) -> str:
    """THE sign rule: the colormap key for data spanning ``lo``..``hi``: "CET-D1" (diverging,
    centred on 0) if any value is negative, else "viridis" (sequential from 0). Arrays (one
    level per channel) are judged as a whole, so one layer never mixes two colormaps."""
    return AUTO_DIVERGING if float(np.min(lo)) < 0 else AUTO_SEQUENTIAL


def auto_levels(lo, hi):
    """The levels that go with :func:`auto_colormap`: (-m, m) with m = max(|lo|, |hi|) for signed
    data, (0, hi) for data ≥ 0 (the bottom colour is zero, the top the maximum). Scalars or
    (C,) arrays, like display_levels; idempotent (auto_levels(*auto_levels(lo, hi)) is the same)."""
    key = auto_colormap(lo, hi)
    if is_diverging(key):
        return _centred(lo, hi)
    if np.ndim(lo) == 0:
        return 0.0, float(hi)
    return np.zeros_like(np.asarray(lo, dtype=np.float32)), np.asarray(hi, dtype=np.float32)


def resolve_colormap(name: str, lo, hi) -> str:
    """The table a view draws ``name`` with for data spanning lo..hi: ``name`` itself, or for
    "auto" the key :func:`auto_colormap` picks."""
    return auto_colormap(lo, hi) if name == AUTO else name


def display_levels(name: str, lo, hi):
    """The levels a view colours with: (lo, hi) as given, or for a diverging map (-m, m) with
    m = max(|lo|, |hi|), so zero sits on the neutral middle colour and the sign reads as colour;
    for "auto", :func:`auto_levels`. Scalars or arrays (the grid's per-channel levels); an
    all-zero range becomes (-1, 1) for a diverging map."""
    if name == AUTO:
        return auto_levels(lo, hi)
    if not is_diverging(name):
        return lo, hi
    return _centred(lo, hi)


def _centred(lo, hi):
    m = np.maximum(np.abs(np.asarray(lo, dtype=np.float32)), np.abs(np.asarray(hi, dtype=np.float32)))
    m = np.where(m > 0, m, np.float32(1.0)).astype(np.float32)
    if m.ndim == 0:
        return -float(m), float(m)
    return -m, m


@lru_cache(maxsize=None)
def lut(name: str) -> np.ndarray:
    """A read-only (256, 3) uint8 table for ``name``; unknown names (and "auto", which needs the
    data: see resolve_colormap) fall back to viridis."""
    import pyqtgraph as pg   # here, not at the top: the mapping below must stay Qt-free

    if name == AUTO:
        name = AUTO_SEQUENTIAL
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
    """Map a float array to an (..., 3) uint8 RGB picture through the colormap ``name`` with levels
    (lo, hi); for "auto" the table and the levels follow the sign of lo..hi (auto_levels)."""
    if name == AUTO:
        name, (lo, hi) = auto_colormap(lo, hi), auto_levels(lo, hi)
    return lut(name)[to_indices(values, lo, hi)]


def check_blend(blend: str) -> str:
    """``blend`` if it is one of BLENDS ("value", "flat"), else a one-line ValueError."""
    if blend not in BLENDS:
        raise ValueError(f"unknown blend {blend!r}; choose one of {', '.join(BLENDS)}")
    return blend


def heat_alpha(name: str, blend: str = DEFAULT_BLEND) -> np.ndarray:
    """(256,) uint8 opacity per colour index of a heat laid over a photo. "flat": 255 everywhere.
    "value": the normalised value, so low values let the photo through and high ones cover
    it: i/255 along a sequential map, and |i − 127.5|/127.5 (distance from the neutral middle,
    i.e. from 0) along a diverging one."""
    i = np.arange(N_COLORS, dtype=np.float64)
    if check_blend(blend) == "flat":
        a = np.ones(N_COLORS)
    elif is_diverging(name):
        a = np.abs(i - (N_COLORS - 1) / 2) / ((N_COLORS - 1) / 2)
    else:
        a = i / (N_COLORS - 1)
    return np.round(a * 255).astype(np.uint8)


def heat_lut(name: str, blend: str = DEFAULT_BLEND) -> np.ndarray:
    """(256, 4) uint8 RGBA table: the colormap's colours with :func:`heat_alpha` (``name`` a concrete
    table; resolve "auto" first). pyqtgraph's ImageItem draws it with per-pixel alpha."""
    table = np.empty((N_COLORS, 4), dtype=np.uint8)
    table[:, :3] = lut(name)
    table[:, 3] = heat_alpha(name, blend)
    return table


def heat_rgba(values: np.ndarray, lo, hi, name: str, blend: str = DEFAULT_BLEND) -> np.ndarray:
    """An (..., 4) uint8 RGBA heat for ``values`` with levels (lo, hi): what the overlay lays on the
    photo, before its opacity slider (so exports and figures can blend the same way)."""
    return heat_lut(name, blend)[to_indices(values, lo, hi)]
