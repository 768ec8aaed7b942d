"""What a folder scan gives: per layer and channel, the top-N images with the position and value of the
channel's maximum and that unit's receptive field on the original photo; the running top-N it is
kept in; the progress it reports.

Plain values and numpy only (no torch), so a result can cross to the window's thread as it is.
Boxes are (x0, y0, x1, y1) in the photo's full-size, EXIF-oriented pixels (what ``load_image``
gives), clipped to it: the unit's theoretical field cut to the network's input, then mapped through
``Prepared.rect`` (``inference.field_box.box_on_photo``). A layer with no field (a note) gets the
whole input square on the photo, and ``LayerHits.note`` says so.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field as dc_field
from pathlib import Path

import numpy as np

from .field_box import Field, box_on_photo


class TopN:
    """A running top-N per channel: O(channels × N) memory whatever the number of images.

    Order: value descending, then image id ascending (ids follow the folder's sorted listing), so
    the result does not depend on the order images were scanned in, nor on ties."""

    def __init__(self, channels: int, n: int):
        self.n = int(n)
        self.values = np.full((channels, self.n), -np.inf, np.float32)
        self.ids = np.full((channels, self.n), -1, np.int64)
        self.pos = np.zeros((channels, self.n), np.int32)

    def add(self, ids: np.ndarray, values: np.ndarray, pos: np.ndarray) -> None:
        """Merge images ``ids`` [B] with their per-channel maxima ``values`` [B, C] at ``pos`` [B, C]."""
        if len(ids) == 0:
            return
        c = self.values.shape[0]
        v = np.concatenate([self.values, np.asarray(values, np.float32).T], axis=1)
        i = np.concatenate([self.ids, np.broadcast_to(np.asarray(ids, np.int64), (c, len(ids)))], axis=1)
        p = np.concatenate([self.pos, np.asarray(pos, np.int32).T], axis=1)
        empty = i < 0
        order = np.lexsort((np.where(empty, np.iinfo(np.int64).max, i), empty, -v), axis=1)[:, :self.n]
        self.values = np.take_along_axis(v, order, 1)
        self.ids = np.take_along_axis(i, order, 1)
        self.pos = np.take_along_axis(p, order, 1)

    def used_ids(self) -> np.ndarray:
        return np.unique(self.ids[self.ids >= 0])


@dataclass(frozen=True)
class Hit:
    """One of a channel's top images."""

    path: str                                  # absolute path of the image
    rel: str                                   # relative to the scanned folder
    value: float                               # the channel's maximum on this image
    y: int                                     # where, in the layer's map
    x: int
    box: tuple[float, float, float, float]     # that unit's field on the photo: (x0, y0, x1, y1), full-size pixels
    image_size: tuple[int, int]                # the photo's full (width, height), EXIF-oriented
    stamp: tuple[int, int]                     # (size, mtime_ns) of the file when it was scanned

    def as_json(self) -> dict:
        return {"path": self.path, "value": self.value, "y": self.y, "x": self.x, "box": list(self.box)}


@dataclass(frozen=True, eq=False)
class LayerHits:
    """One layer's result: ``channel(c)`` (or ``hits[c]``) is channel c's top images, best first (fewer
    than N when the folder holds fewer good images).

    The hits of a channel are made when first asked for (the window shows one channel at a time; a
    layer of 512 channels holds 4,608 of them), from the running top-N's arrays and what is known of
    the images in it, which this keeps."""

    layer: str
    alias: str | None
    channels: int
    map_size: tuple[int, int]
    input_size: tuple[int, int]
    field: Field | None          # the layer's theoretical receptive field (None: ``note`` says why)
    note: str | None
    values: np.ndarray = dc_field(repr=False)        # float32 [C, N]: the top values (-inf: no image)
    image: np.ndarray = dc_field(repr=False)         # int64 [C, N]: row of ``images`` (-1: none)
    pos: np.ndarray = dc_field(repr=False)           # int32 [C, N]: y·W + x
    images: tuple = dc_field(repr=False, default=())  # (path, rel, stamp, rect, size) of each image in the top
    _made: dict = dc_field(default_factory=dict, repr=False, compare=False)

    def channel(self, c: int) -> tuple[Hit, ...]:
        if not 0 <= int(c) < self.channels:
            raise ValueError(f"channel {c} is out of range: {self.layer} has {self.channels} channels")
        c = int(c)
        made = self._made.get(c)
        if made is None:
            made = self._made[c] = self._hits(c)
        return made

    @property
    def hits(self) -> tuple[tuple[Hit, ...], ...]:
        return tuple(self.channel(c) for c in range(self.channels))

    def _hits(self, c: int) -> tuple[Hit, ...]:
        w_map = self.map_size[1]
        whole = (0, 0, self.input_size[0], self.input_size[1])
        row = []
        for k in range(self.values.shape[1]):
            i = int(self.image[c, k])
            if i < 0:
                break
            path, rel, stamp, rect, size = self.images[i]
            y, x = divmod(int(self.pos[c, k]), w_map)
            box = box_on_photo(self.field.box(y, x) if self.field is not None else whole, self.input_size, rect, size)
            row.append(Hit(path, rel, float(self.values[c, k]), y, x, tuple(float(v) for v in box), size, stamp))
        return tuple(row)


@dataclass(frozen=True)
class ScanFailure:
    rel: str
    path: str
    reason: str        # one line: "the file is truncated"

    @property
    def message(self) -> str:
        return f"{self.rel}: {self.reason}"


@dataclass(frozen=True)
class ScanProgress:
    """What a scan reports after each batch (and once before the first)."""

    done: int                 # images finished in this run (decoded or failed)
    total: int                # images this run has to decode (new or changed since the index)
    failed: int               # of ``done``, those that could not be decoded
    images_per_s: float       # over this run so far (0 before the first batch)
    eta_s: float | None       # seconds left at that rate (None before the first batch)
    elapsed_s: float
    reused: int               # images whose rows came from the index, not decoded again
    images: int               # image files in the folder


@dataclass(frozen=True)
class ScanResult:
    folder: str
    layers: dict[str, LayerHits]          # in forward order
    failures: tuple[ScanFailure, ...]     # every image that could not be decoded, sorted by path
    images: int                           # image files in the folder
    scanned: int                          # decoded (or failed) in this run
    reused: int                           # taken from the index
    pending: int                          # not in the index yet (a cancelled scan, or load_scan)
    cancelled: bool
    index_dir: Path                       # the index root (one sub-folder per layer key)
    seconds: float
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict:
        """``{layer: {channel: [{path, value, y, x, box}]}}``, channels as strings (JSON's keys)."""
        return {name: {str(c): [h.as_json() for h in hits] for c, hits in enumerate(lh.hits)}
                for name, lh in self.layers.items()}


def layer_hits(name: str, alias: str | None, top: TopN, map_size: tuple[int, int], input_size: tuple[int, int],
               field: Field | None, note: str | None, folder: str, rels: list[str], stamps: list[tuple[int, int]],
               rects: np.ndarray, sizes: np.ndarray) -> LayerHits:
    """One layer's ``top`` as hits: what is known of the images in it is kept (those only, not the folder's)."""
    used = top.used_ids()
    row_of = np.full(len(rels) + 1, -1, np.int64)
    row_of[used] = np.arange(len(used))
    image = np.where(top.ids >= 0, row_of[top.ids], -1)
    images = tuple((os.path.join(folder, *rels[i].split("/")), rels[i], tuple(stamps[i]),
                    tuple(float(v) for v in rects[i]), (int(sizes[i, 0]), int(sizes[i, 1]))) for i in used)
    return LayerHits(name, alias, top.values.shape[0], tuple(map_size), tuple(input_size), field, note,
                     top.values.copy(), image, top.pos.copy(), images)
