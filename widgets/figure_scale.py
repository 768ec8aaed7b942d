"""The figure's colour rule: which colormap and which levels a map is drawn with.

The same rule as the overlay's: a map with negative values gets the diverging
CET-D1 centred on 0 (red = positive, blue = negative, white = 0); a map that is
≥ 0 gets viridis from 0, so "yellow = active" holds. A colormap the user chose
is kept, with its levels still centred (diverging) or started at 0 (a ≥ 0 map).
"auto" is widgets.colormaps' rule itself (auto_colormap + auto_levels), so the figure and
the views cannot drift apart.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from widgets.colormaps import AUTO, AUTO_DIVERGING, auto_colormap, auto_levels, colormap_label, display_levels, is_diverging

SIGNED_MAP = AUTO_DIVERGING   # the diverging table: red = positive, blue = negative


class Scale(NamedTuple):
    """A colormap key and the (lo, hi) levels it spans."""

    colormap: str
    lo: float
    hi: float


def is_auto(colormap: str | None) -> bool:
    return colormap is None or str(colormap).lower() == AUTO


def map_scale(colormap: str | None, lo: float, hi: float) -> Scale:
    """The scale for values in [lo, hi] under ``colormap`` (a key, or None/"auto" for the rule)."""
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if is_auto(colormap):
        a, b = auto_levels(lo, hi)
        return Scale(auto_colormap(lo, hi), float(a), float(b))
    key = str(colormap)
    if is_diverging(key):
        lo, hi = display_levels(key, lo, hi)
    elif lo >= 0:
        lo = 0.0
    return Scale(key, float(lo), float(hi))


def scale_words(scale: Scale) -> str:
    """"viridis (sequential) from 0", "blue–red (diverging) centred on 0": how a caption names it."""
    how = "centred on 0" if is_diverging(scale.colormap) else ("from 0" if scale.lo == 0 else "min to max")
    return f"{colormap_label(scale.colormap)} {how}"


def rule_words(colormap: str | None) -> str:
    """The footer's account of the colours."""
    if is_auto(colormap):
        return "colours: viridis from 0 for maps ≥ 0, blue–red centred on 0 (red +, blue −) for signed maps"
    return f"colour map {colormap}"
