"""Every conv layer's filters as numpy arrays, for drawing kernels beside their maps.

The worker puts this dict into the model info it sends to the window, so it must be
cheap: the arrays are read-only views of the parameters' own storage (VGG16's 14.7 M
conv weights, 59 MB, are not copied). The numpy-only helpers the UI calls on them
live in :mod:`inference.kernel_slices` (no torch there).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from inference.blocks import leaf_modules
from inference.kernel_slices import symmetric_limit, top_input_slices

__all__ = ["conv_weights", "top_input_slices", "symmetric_limit"]


def _read_only(tensor: torch.Tensor) -> np.ndarray:
    """A read-only float32 numpy view of ``tensor`` (a copy only off the CPU or in another dtype)."""
    t = tensor.detach()
    if t.device.type != "cpu" or t.dtype != torch.float32:
        t = t.to(device="cpu", dtype=torch.float32)
    array = t.numpy()
    array.setflags(write=False)
    return array


def conv_weights(model: nn.Module) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """{engine layer name: (weight [Cout, Cin, kh, kw], bias [Cout] or None)} for every Conv2d leaf,
    in forward order, as read-only float32 arrays sharing the parameters' storage."""
    out: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for name, module in leaf_modules(model):
        if isinstance(module, nn.Conv2d):
            bias = _read_only(module.bias) if module.bias is not None else None
            out[name] = (_read_only(module.weight), bias)
    return out
