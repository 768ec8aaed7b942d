"""Lay a heat on the photo through the network's crop rect, per-pixel opacity from its RGBA table.

numpy only (no Qt, no torch): ``convscope cam`` writes its PNG with it headless, and any
picture that wants the overlay's look can share it. The colours and the opacity come from
an RGBA table, the overlay's own (``colormaps.heat_lut(name, "value")``: transparent where the
value is low, opaque where it is high; "flat" for today's even blend), so there is one rule.

Geometry: ``values`` is the map on the network's input crop ([H, W], e.g. 224×224);
``rect`` = (x, y, w, h) is where that crop lies in photo pixels (``Prepared.rect``,
fractional, possibly sticking out of the photo after letterboxing). A photo pixel is
inside the crop when its centre is; it takes the bilinear sample of ``values`` at its
centre (half-pixel centres, edges clamped: torch's ``grid_sample(align_corners=False,
padding_mode="border")``). Pixels outside the crop are the photo unchanged.
"""
from __future__ import annotations

import numpy as np

from widgets.colormaps import to_indices


def _axis(start: float, length: float, n_photo: int, n_crop: int):
    """Photo pixels [p0, p1) whose centres lie in [start, start + length), and for each the
    source indices i0, i1 in the crop and the weight of i1."""
    p0 = max(0, int(np.ceil(start - 0.5)))
    p1 = min(n_photo, int(np.ceil(start + length - 0.5)))
    if p1 <= p0:
        return p0, p0, None
    u = (np.arange(p0, p1, dtype=np.float64) + 0.5 - start) * (n_crop / length) - 0.5
    np.clip(u, 0, n_crop - 1, out=u)
    i0 = np.floor(u).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_crop - 1)
    return p0, p1, (i0, i1, (u - i0).astype(np.float32))


def sample_in_rect(values: np.ndarray, rect, photo_hw: tuple[int, int]):
    """The crop map ``values`` at the centres of the photo pixels inside ``rect``.

    Returns ``((y0, y1, x0, x1), sampled)``: the box of photo pixels covered (clipped to the
    photo; empty when the crop misses it) and the bilinear samples there, float32."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"a heatmap must be a non-empty 2-D array, got shape {values.shape}")
    x, y, w, h = (float(v) for v in rect)
    if not (w > 0 and h > 0):
        raise ValueError(f"the crop rect {tuple(rect)} has no area")
    y0, y1, ys = _axis(y, h, int(photo_hw[0]), values.shape[0])
    x0, x1, xs = _axis(x, w, int(photo_hw[1]), values.shape[1])
    if ys is None or xs is None:
        return (y0, y0, x0, x0), np.zeros((0, 0), np.float32)
    (r0, r1, fy), (c0, c1, fx) = ys, xs
    rows = values[r0] * (1 - fy)[:, None] + values[r1] * fy[:, None]
    return (y0, y1, x0, x1), np.ascontiguousarray(rows[:, c0] * (1 - fx) + rows[:, c1] * fx, dtype=np.float32)


def lay_heat(photo: np.ndarray, values: np.ndarray, rect, table: np.ndarray, lo: float = 0.0, hi: float = 1.0,
             opacity: float = 1.0) -> np.ndarray:
    """A new uint8 [H, W, 3] picture: ``photo`` with ``values`` (the map on the input crop) laid
    through ``rect``, each pixel coloured by ``table`` (a (256, 4) uint8 RGBA table, levels
    ``lo``..``hi`` as pyqtgraph bins them) and blended at its alpha × ``opacity``."""
    photo = np.asarray(photo)
    if photo.ndim != 3 or photo.shape[2] != 3:
        raise ValueError(f"the photo must be an RGB picture [H, W, 3], got shape {photo.shape}")
    table = np.asarray(table, dtype=np.uint8)
    if table.shape != (256, 4):
        raise ValueError(f"the heat's table must be (256, 4) RGBA, got shape {table.shape}")
    out = np.array(photo, dtype=np.uint8, copy=True)
    (y0, y1, x0, x1), sampled = sample_in_rect(values, rect, photo.shape[:2])
    if sampled.size == 0:
        return out
    rgba = table[to_indices(sampled, lo, hi)].astype(np.float32)
    a = rgba[..., 3:] * np.float32(np.clip(opacity, 0.0, 1.0) / 255.0)
    region = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(region * (1 - a) + rgba[..., :3] * a + 0.5, 0, 255).astype(np.uint8)
    return out
