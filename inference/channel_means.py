"""Grad-CAM's weights without the layer's whole gradient: per-channel sums carried through the pools.

Grad-CAM needs only ``w_k = mean over (y, x) of d score / d A_k``, not the
gradient at every position. Between VGG's relu5_3 and its first Linear there are
only a max-pool, an adaptive average pool and a flatten, and each of them hands
every output's gradient on whole (to its arg-max, or spread evenly over its
window), so the sum over positions of each channel's gradient is the same at
relu5_3 as at the Linear's input. That sum is ``g · M`` with ``M[o, c] = Σ_p W[o, c·hw + p]``,
the Linear's weight summed over each channel's positions: for fc6, a 4096 × 512
matrix (8 MB, built once in 17 ms) instead of the 4096 × 25088 one (411 MB, read
in 8–11 ms by every gradient). The top-1 CAM of a new image and a class typed
for the first time cost about 3 ms instead of 20–40.

Nothing here knows VGG: the shortcut applies to any chain (inference.chain)
whose leaves from the layer to a Linear keep channel sums; anywhere else it
answers None, and the caller takes the whole gradient.
"""
import threading
import weakref

import torch
from torch import nn

from .backprop import linear_vjp, backward
from .chain import Chain


def keeps_channel_sums(module: nn.Module) -> bool:
    """Modules whose backward hands each output's gradient on whole, channel for channel."""
    kind = type(module)
    if kind in (nn.MaxPool2d, nn.AdaptiveMaxPool2d, nn.AdaptiveAvgPool2d, nn.Identity):
        return True
    if kind is nn.Dropout:
        return not module.training
    if kind is nn.AvgPool2d:  # padding would take a share of the gradient; a ceiling window divides by less
        return module.padding in (0, (0, 0)) and not module.ceil_mode and module.divisor_override is None
    return False


def channel_gradient_means(chain: Chain, modules: dict[str, nn.Module], outputs: dict[str, torch.Tensor],
                           at: int, end: int, g: torch.Tensor) -> torch.Tensor | None:
    """The mean over positions of the gradient at leaf ``at``'s [N, C, H, W] output, [N, C], given ``g``
    at leaf ``end``'s output; None when the leaves between do not keep channel sums."""
    names = chain.names
    here = outputs[names[at]]
    if here.dim() != 4:
        return None
    k = at + 1
    while k <= end and names[k] not in chain.reshapes and keeps_channel_sums(modules[names[k]]):
        k += 1
    if k > end:  # ``g`` is already at a leaf up to which the sums are kept: sum it
        return g.sum(dim=(2, 3)) / _positions(here) if g.dim() == 4 else None
    linear, given = modules[names[k]], outputs[names[k - 1]]
    if type(linear) is not nn.Linear or given.dim() != 4 or given.shape[1] != here.shape[1] \
            or chain.reshapes.get(names[k]) != (linear.in_features,) or linear.in_features != given[0].numel():
        return None
    with torch.no_grad():
        if end > k:  # down to the Linear's output first (fc8, fc7: small)
            g = backward(chain, modules, outputs, outputs[names[k]], k + 1, end, g)
        return linear_vjp(g, channel_sums(linear, given.shape[1])) / _positions(here)


def _positions(t: torch.Tensor) -> int:
    return t.shape[2] * t.shape[3]


_SUMS: "weakref.WeakKeyDictionary[nn.Linear, tuple]" = weakref.WeakKeyDictionary()
_SUMS_GUARD = threading.Lock()


def channel_sums(linear: nn.Linear, channels: int) -> torch.Tensor:
    """``M[o, c] = Σ_p W[o, c·hw + p]``, kept per Linear (rebuilt if its weight changes)."""
    w = linear.weight
    key = (w.data_ptr(), w._version, channels)
    with _SUMS_GUARD:
        kept = _SUMS.get(linear)
        if kept is not None and kept[0] == key:
            return kept[1]
    with torch.no_grad():
        sums = w.detach().reshape(w.shape[0], channels, -1).sum(dim=2).contiguous()
    with _SUMS_GUARD:
        _SUMS[linear] = (key, sums)
    return sums
