"""numpy-only views of a conv filter, cheap enough for the UI thread (no torch here).

The window shows the selected channel's filter beside its map. A deep filter has
hundreds of 3×3 slices, one per input channel; the ones with the largest L2 norm
are the inputs the channel listens to most, so those are the ones drawn.
"""
from __future__ import annotations

import numpy as np

TOP_SLICES = 16


def top_input_slices(weight: np.ndarray, out_channel: int, k: int = TOP_SLICES
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` input-channel slices of filter ``out_channel`` with the largest L2 norm.

    ``weight`` is a conv weight [Cout, Cin, kh, kw]. Returns (indices [k] int64, slices
    [k, kh, kw] float32, norms [k] float32), in descending norm (ties: lower index first);
    fewer than ``k`` when the filter has fewer inputs. For a grouped conv the indices count
    within the filter's group (its weight has Cin / groups inputs).
    """
    weight = np.asarray(weight)
    if weight.ndim != 4:
        raise ValueError(f"a conv weight is [Cout, Cin, kh, kw], got shape {weight.shape}")
    if not 0 <= out_channel < weight.shape[0]:
        raise ValueError(f"output channel {out_channel} is out of range 0..{weight.shape[0] - 1}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    filt = weight[out_channel]
    norms = np.sqrt(np.square(filt.reshape(filt.shape[0], -1), dtype=np.float64).sum(axis=1))
    order = np.argsort(-norms, kind="stable")[:k]
    slices = np.array(filt[order], dtype=np.float32)
    return order.astype(np.int64), slices, norms[order].astype(np.float32)


def symmetric_limit(array) -> float:
    """max |v| of ``array``, for colours normalised symmetrically around 0 (1.0 if all zero or empty)."""
    a = np.asarray(array)
    if a.size == 0:
        return 1.0
    m = float(np.max(np.abs(a)))
    return m if m > 0 and np.isfinite(m) else 1.0
