"""Bilinear upsampling of one channel for the overlay: numpy only, no Qt.

A 14×14 conv5 map drawn over a 262 px crop must look like the smooth field the
network's receptive fields imply, not blocks; the size is capped so a large photo
does not cost a huge float image per channel switch.
"""
from __future__ import annotations

import numpy as np

MAX_UPSAMPLE = 512     # long side of the upsampled heatmap, px


def _bilinear_coords(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices i0, i1 and weight of i1 for each output pixel (pixel centres aligned, edges clamped)."""
    s = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    np.clip(s, 0, n_in - 1, out=s)
    i0 = np.floor(s).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (s - i0).astype(np.float32)


def bilinear_resize(a: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Resize a 2-D float array to (out_h, out_w) float32 with bilinear interpolation.

    Same convention as Pillow's BILINEAR when enlarging (half-pixel centres, clamped edges)."""
    a = np.asarray(a, dtype=np.float32)
    y0, y1, wy = _bilinear_coords(a.shape[0], out_h)
    x0, x1, wx = _bilinear_coords(a.shape[1], out_w)
    rows = a[y0] * (1 - wy)[:, None] + a[y1] * wy[:, None]
    return np.ascontiguousarray(rows[:, x0] * (1 - wx) + rows[:, x1] * wx, dtype=np.float32)


def upsample_size(fmap_shape: tuple[int, int], rect_w: float, rect_h: float) -> tuple[int, int]:
    """(h, w) to upsample a channel to: the rect's pixel size, long side ≤ MAX_UPSAMPLE, never below native."""
    h, w = fmap_shape
    scale = min(1.0, MAX_UPSAMPLE / max(rect_w, rect_h))
    return max(h, round(rect_h * scale)), max(w, round(rect_w * scale))
