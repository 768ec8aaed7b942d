"""Channel thumbnails and their mosaic as colormap-index arrays: numpy only, no Qt, no torch.

The channel grid shows every channel of a layer (up to 512) as one picture. Everything
up to the colours is plain array work, kept here so that it can run anywhere: the grid
calls it on the UI thread today, and the worker thread can call :func:`thumbnails` to
precompute a layer's tiles before the layer reaches the UI.

Steps: each channel is box-averaged by whole factors towards the tile size, mapped to
colormap indices by colormaps.to_indices (the one value → index rule, per-channel or
shared levels), then taken to the exact tile size by nearest sampling; :func:`compose`
pastes the index tiles, in display order, into one uint16 mosaic whose cells also hold
room for a caption, with BG_INDEX (256) for background. Sizes here are physical pixels.
:class:`LayerTiles` keeps one layer's thumbnails per size and colour range, and
:func:`caption_texts` writes each tile's caption for the statistic the grid is sorted by.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from widgets.colormaps import AUTO, SCALE_NOTES, display_levels, is_diverging, resolve_colormap, to_indices
from widgets.numbers import fmt_percent, fmt_sig

TILE = 80          # thumbnail box, logical px
MARGIN = 5         # around each thumbnail inside its cell (the selection frame lives there)
LABEL_H = 15       # caption strip under each thumbnail
PAD = 6            # around the whole mosaic
BG_INDEX = 256     # mosaic value for "no thumbnail here" (one past the colormap's 256 colours)


# ---------------------------------------------------------------------- resampling
def _shrink_axis(a: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """Box-average one axis by the integer factor n_in // n_out (no-op below 2×); float32 out."""
    n_in = a.shape[axis]
    k = n_in // n_out
    if k < 2:
        return a
    n = (n_in // k) * k
    sl = [slice(None)] * a.ndim
    acc = None
    for j in range(k):
        sl[axis] = slice(j, n, k)
        part = a[tuple(sl)]
        acc = part.astype(np.float32, copy=True) if acc is None else np.add(acc, part, out=acc)
    acc *= np.float32(1.0 / k)
    return acc


def nearest_index(n_in: int, n_out: int) -> np.ndarray:
    """Source index of each of ``n_out`` output pixels sampling ``n_in`` (pixel centres)."""
    return ((np.arange(n_out) + 0.5) * (n_in / n_out)).astype(np.intp)


def shrink_stack(acts: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """(C, H, W) box-shrunk by integer factors towards (out_h, out_w); any strides in.

    Below a factor of 2 an axis is left as it is (then it may be the input itself)."""
    return _shrink_axis(_shrink_axis(acts, out_h, 1), out_w, 2)


def thumb_shape(h: int, w: int, box: int) -> tuple[int, int]:
    """Thumbnail (height, width) for an h×w map in a ``box``-px square, aspect kept.

    Maps smaller than the box grow by one whole factor, so every activation becomes a
    square of the same size instead of uneven nearest-neighbour stripes."""
    th, tw = (box, max(1, round(box * w / h))) if h >= w else (max(1, round(box * h / w)), box)
    if h < th and w < tw:
        k = max(1, min(th // h, tw // w))
        th, tw = h * k, w * k
    return th, tw


# ---------------------------------------------------------------------- levels and indices
def channel_levels(data: np.ndarray, shared: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (lo, hi) float32 arrays of shape (C,): each channel's min..max, or with
    ``shared`` the layer's min..max repeated, so that tiles compare in strength."""
    lo = data.min(axis=(1, 2))   # no reshape: that would copy a channels-last view
    hi = data.max(axis=(1, 2))
    if shared:
        lo, hi = np.full_like(lo, lo.min()), np.full_like(hi, hi.max())
    return lo.astype(np.float32, copy=False), hi.astype(np.float32, copy=False)


def channel_indices(values: np.ndarray, lo, hi) -> np.ndarray:
    """to_indices over a (C, h, w) stack with per-channel (C,) or shared scalar levels."""
    lo = np.asarray(lo, dtype=np.float32)
    hi = np.asarray(hi, dtype=np.float32)
    if lo.ndim:
        lo = lo.reshape(-1, 1, 1)
    if hi.ndim:
        hi = hi.reshape(-1, 1, 1)
    return to_indices(values, lo, hi)


def index_thumbnails(small: np.ndarray, lo, hi, th: int, tw: int) -> np.ndarray:
    """A box-shrunk (C, h', w') stack → (C, th, tw) uint8 colormap indices (nearest sampling)."""
    idx = channel_indices(small, lo, hi)
    (sh, sw), (ky, ry), (kx, rx) = idx.shape[1:], divmod(th, idx.shape[1]), divmod(tw, idx.shape[2])
    if ry == rx == 0:   # a whole factor (small maps): the same as nearest, about twice as fast
        return np.repeat(np.repeat(idx, ky, axis=1), kx, axis=2)
    yi, xi = nearest_index(sh, th), nearest_index(sw, tw)
    # np.take, not idx[:, yi][:, :, xi]: C-contiguous out whatever the input's strides (compose
    # then reads it fast), and ~5× faster for 512×14×14 → 70×70.
    return np.take(np.take(idx, yi, axis=1), xi, axis=2)


def source_index(i: int, n_map: int, n_tile: int) -> int | None:
    """The map row (or column) drawn at thumbnail pixel ``i`` of ``n_tile`` showing ``n_map``: the
    inverse of :func:`thumbnails`' sampling, so a click names the cell the user sees there.

    A map larger than its tile is box-averaged by k = n_map // n_tile and then sampled, so a pixel
    shows a block of k cells; of those, the one under the pixel's centre. None outside the tile."""
    if not 0 <= i < n_tile:
        return None
    k = n_map // n_tile
    k, small = (k, n_map // k) if k >= 2 else (1, n_map)
    block = int((i + 0.5) * (small / n_tile))          # nearest_index's rule
    centre = int((i + 0.5) * (n_map / n_tile))
    return min(max(centre, block * k), block * k + k - 1)


def thumbnails(data: np.ndarray, lo, hi, box: int = TILE) -> np.ndarray:
    """Every channel of ``data`` (C, H, W) as a thumbnail of colormap indices: (C, th, tw) uint8
    with (th, tw) = thumb_shape(H, W, box). ``lo``/``hi``: (C,) per-channel levels or scalars
    (shared); see channel_levels. Pure and Qt-free: safe on any thread."""
    data = np.asarray(data)
    if data.ndim != 3 or min(data.shape) == 0:
        raise ValueError(f"thumbnails need a non-empty (C, H, W) array, got shape {data.shape}")
    th, tw = thumb_shape(data.shape[1], data.shape[2], int(box))
    return index_thumbnails(shrink_stack(data, th, tw), lo, hi, th, tw)


# ---------------------------------------------------------------------- layout
@dataclass(frozen=True)
class Geom:
    """Mosaic geometry in physical pixels (logical × device pixel ratio)."""
    dpr: float = 1.0
    tp: int = TILE          # thumbnail box
    th: int = TILE          # thumbnail height/width (aspect kept inside the box)
    tw: int = TILE
    m: int = MARGIN
    lab: int = LABEL_H
    pad: int = PAD
    cols: int = 1

    @property
    def cell_w(self) -> int:
        return self.tp + 2 * self.m

    @property
    def cell_h(self) -> int:
        return self.tp + self.lab + 2 * self.m

    @property
    def oy(self) -> int:
        return self.m + (self.tp - self.th) // 2

    @property
    def ox(self) -> int:
        return self.m + (self.tp - self.tw) // 2

    def rows(self, n: int) -> int:
        return math.ceil(n / self.cols)

    def cell_origin(self, pos: int) -> tuple[int, int]:
        """Top-left (x, y) of display position ``pos``'s cell, including the outer pad."""
        return self.pad + (pos % self.cols) * self.cell_w, self.pad + (pos // self.cols) * self.cell_h

    def position_at(self, x: float, y: float, n: int) -> int | None:
        """Display position of the cell under physical point (x, y), or None (pad, past the end)."""
        x, y = x - self.pad, y - self.pad
        if x < 0 or y < 0:
            return None
        col, row = int(x // self.cell_w), int(y // self.cell_h)
        k = row * self.cols + col
        return k if col < self.cols and k < n else None


def layout(c: int, h: int, w: int, dpr: float, width_px: float) -> Geom:
    """The geometry for ``c`` maps of h×w at ``dpr`` in a view ``width_px`` physical px wide."""
    tp = max(8, round(TILE * dpr))
    th, tw = thumb_shape(h, w, tp)
    g = Geom(dpr=dpr, tp=tp, th=th, tw=tw, m=round(MARGIN * dpr), lab=round(LABEL_H * dpr), pad=round(PAD * dpr))
    cols = int((width_px - 2 * g.pad) // g.cell_w)
    return replace(g, cols=min(max(1, cols), c))


def display_order(stat: np.ndarray | None, c: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, pos_of): channel at each display position, and each channel's position.

    ``stat`` None keeps index order, else channels go by descending ``stat`` (stable)."""
    order = np.arange(c, dtype=np.intp) if stat is None else np.argsort(-stat, kind="stable").astype(np.intp)
    pos_of = np.empty(c, dtype=np.intp)
    pos_of[order] = np.arange(c)
    return order, pos_of


def compose(thumbs: np.ndarray, order: np.ndarray, g: Geom) -> np.ndarray:
    """The uint16 index mosaic (rows·cell_h, cols·cell_w): (C, th, tw) thumbnails in
    display ``order``, BG_INDEX around and between them."""
    c, th, tw = thumbs.shape
    if (th, tw) != (g.th, g.tw):
        raise ValueError(f"thumbnails are {th}×{tw}, the layout expects {g.th}×{g.tw}")
    rows, cols = g.rows(c), g.cols
    mosaic = np.empty((rows, g.cell_h, cols, g.cell_w), dtype=np.uint16)
    oy, ox = g.oy, g.ox
    mosaic[:, :oy] = BG_INDEX
    mosaic[:, oy + th:] = BG_INDEX
    mosaic[:, oy:oy + th, :, :ox] = BG_INDEX
    mosaic[:, oy:oy + th, :, ox + tw:] = BG_INDEX
    tiles = mosaic[:, oy:oy + th, :, ox:ox + tw]          # view (rows, th, cols, tw)
    full, rem = divmod(c, cols)
    if full:
        tiles[:full] = thumbs[order[:full * cols]].reshape(full, cols, th, tw).transpose(0, 2, 1, 3)
    if rem:
        tiles[full, :, :rem] = thumbs[order[full * cols:]].transpose(1, 0, 2)
        tiles[full, :, rem:] = BG_INDEX
    return mosaic.reshape(rows * g.cell_h, cols * g.cell_w)


# ---------------------------------------------------------------------- one layer, cached
def range_kind(choice: str, shown: str) -> str:
    """Which colour range a colormap choice gives a layer: "auto" (by the layer's sign),
    "centred" (a fixed diverging map) or "data" (min..max). Thumbnails depend on it only."""
    return "auto" if choice == AUTO else "centred" if is_diverging(shown) else "data"


class LayerTiles:
    """One layer's activations and statistics, with its thumbnails cached per tile size and
    colour range (per channel or shared; centred on 0 for a diverging map; for "auto" by the
    layer's sign: centred if it has negative values, from 0 if not)."""

    def __init__(self, name: str, acts: np.ndarray, means, maxs, fracs, mins=None) -> None:
        """``mins`` (with ``maxs``, each channel's range) as the engine computed them; without them the
        range is computed here (8 ms of a 64×224×224 layer on the UI thread)."""
        self.name, self.acts, self.means, self.maxs, self.fracs = name, acts, means, maxs, fracs
        if mins is None:
            self.lo, self.hi = channel_levels(acts)
        else:
            self.lo, self.hi = np.asarray(mins, dtype=np.float32), np.asarray(maxs, dtype=np.float32)
        self._small: dict[tuple[int, int], np.ndarray] = {}   # (th, tw) → box-shrunk float32
        self._thumbs: dict[tuple, np.ndarray] = {}            # (th, tw, norm, range kind) → (C, th, tw) uint8
        self._captions: dict[str, list[str]] = {}             # sort key → caption per channel
        self._mosaic: tuple[tuple, np.ndarray] | None = None  # the last compose(): (its key, the mosaic)

    def levels(self, norm: str, cmap: str):
        """The colour range of the tiles: per-channel (C,) arrays for "channel", scalars for "layer"."""
        lo, hi = (float(self.lo.min()), float(self.hi.max())) if norm == "layer" else (self.lo, self.hi)
        return display_levels(cmap, lo, hi)

    def thumbnails(self, th: int, tw: int, norm: str, cmap: str) -> np.ndarray:
        """Colormap-index thumbnails (C, th, tw); the shrink is shared by every colour range."""
        key = (th, tw, norm, range_kind(cmap, cmap))
        if key not in self._thumbs:
            if (th, tw) not in self._small:
                self._small[(th, tw)] = shrink_stack(self.acts, th, tw)
            self._thumbs[key] = index_thumbnails(self._small[(th, tw)], *self.levels(norm, cmap), th, tw)
        return self._thumbs[key]

    def mosaic(self, g: Geom, norm: str, cmap: str, order: np.ndarray) -> np.ndarray:
        """``compose`` of this layer's thumbnails, the last one remembered: going back to a layer (the
        usual to and fro between two) shows the same mosaic, 5 ms of a 512-channel layer switch."""
        key = (g, norm, range_kind(cmap, cmap), order.tobytes())
        if self._mosaic is None or self._mosaic[0] != key:
            image = compose(self.thumbnails(g.th, g.tw, norm, cmap), order, g)
            image.setflags(write=False)
            self._mosaic = (key, image)
        return self._mosaic[1]

    def shown_colormap(self, cmap: str) -> str:
        """The table the layer is drawn with: ``cmap``, or for "auto" the one its sign picks."""
        return resolve_colormap(cmap, self.lo.min(), self.hi.max())

    def channel_range(self, ch: int, norm: str, cmap: str) -> tuple[float, float, str]:
        """(lo, hi, "per channel" | "shared by the layer"): what channel ``ch`` is coloured over."""
        lo, hi = self.levels(norm, cmap)
        if norm == "channel":
            return float(lo[ch]), float(hi[ch]), SCALE_NOTES["channel"]
        return float(lo), float(hi), SCALE_NOTES["layer"]

    def colorbar_texts(self, ch: int | None, norm: str, cmap: str) -> tuple[float, float, str, str, str]:
        """(lo, hi, low label, high label, note) for the grid's colour bar. Per channel: the
        colormap from "channel min" to "channel max", and the selected channel's own range
        (its levels are lo, hi); shared: the layer's range. A diverging map spans ±the largest
        |value| (0 is its middle colour), and "auto" on a layer ≥ 0 starts at 0, so the note then
        gives the data's range."""
        ch = int(np.argmax(self.means)) if ch is None else int(ch)
        lo, hi, note = self.channel_range(ch, norm, cmap)
        div = is_diverging(self.shown_colormap(cmap))
        if norm == "channel":    # what the range is first: a narrow bar cuts the end of the note
            note = f"{note} · #{ch}: {fmt_sig(self.lo[ch])} … {fmt_sig(self.hi[ch])}"
            if div:
                return lo, hi, "-|max|", "+|max|", note
            return lo, hi, "0" if cmap == AUTO else "channel min", "channel max", note
        if div or lo != float(self.lo.min()):
            note = f"{note} · data {fmt_sig(self.lo.min())} … {fmt_sig(self.hi.max())}"
        return lo, hi, fmt_sig(lo), fmt_sig(hi), note

    def captions(self, sort_key: str) -> list[str]:
        """Each tile's caption value for the grid sorted by ``sort_key`` (see caption_texts)."""
        stat = CAPTION_STAT[sort_key]
        if stat not in self._captions:
            self._captions[stat] = caption_texts(sort_key, self.means, self.maxs, self.fracs)
        return self._captions[stat]


class LayerCache:
    """Recently shown layers with their thumbnails, newest first: switching between layers of
    one image re-uses the work already done."""

    SIZE = 6

    def __init__(self) -> None:
        self._entries: list[LayerTiles] = []

    def get(self, name: str, acts: np.ndarray, stats: list[np.ndarray], mins=None) -> tuple[LayerTiles, bool]:
        """(the layer, True if it replaces other activations under the same name). The same
        array with the same statistics (means, maxs, fracs) comes back from the cache."""
        cache = self._entries
        for entry in cache:
            if entry.acts is acts and entry.name == name and all(
                    np.array_equal(a, b) for a, b in zip((entry.means, entry.maxs, entry.fracs), stats)):
                cache.remove(entry)
                cache.insert(0, entry)
                return entry, False
        layer = LayerTiles(name, acts, *stats, mins=mins)
        if not (np.isfinite(layer.lo).all() and np.isfinite(layer.hi).all()):
            raise ValueError(f"{name}: activations contain NaN or infinity")
        renewed = any(entry.name == name for entry in cache)
        cache.insert(0, layer)
        del cache[self.SIZE:]
        return layer, renewed

    def clear(self) -> None:
        self._entries.clear()


# What each sort key's captions show: index order shows the mean, the others their own statistic.
CAPTION_STAT = {"index": "mean", "mean": "mean", "max": "max", "active": "active"}


def caption_texts(sort_key: str, means, maxs, fracs) -> list[str]:
    """Each channel's caption value for the grid sorted by ``sort_key``, 3 significant digits:
    "μ 0.214" (mean), "max 1.52", or "63.2% >0" (the fraction of positions above zero)."""
    stat = CAPTION_STAT[sort_key]
    if stat == "mean":
        return [f"μ {fmt_sig(v)}" for v in np.asarray(means, dtype=np.float64)]
    if stat == "max":
        return [f"max {fmt_sig(v)}" for v in np.asarray(maxs, dtype=np.float64)]
    return [f"{fmt_percent(v)} >0" for v in np.asarray(fracs, dtype=np.float64)]
