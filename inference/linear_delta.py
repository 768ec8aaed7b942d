"""A Linear layer re-run from the output it already gave: only the inputs that changed are read.

An ablation at conv5_3 changes a few channels, and after relu5_3 and the pools
those are a few hundred of fc6's 25,088 inputs. By linearity,
``W·x' + b = (W·x + b) + W[:, changed]·(x' − x)[changed]``, and the kept run
holds ``x`` and ``W·x + b``. So the re-run reads the columns of the changed
inputs (a channel's 49 positions lie side by side in every row) instead of all
411 MB of fc6's weight, which is most of what the re-run from conv5_3 costs.
A change to more than ``DENSE_SHARE`` of the inputs takes the whole product.
"""
import torch
from torch import nn

DENSE_SHARE = 0.25


def linear_from_kept(module: nn.Module, old_in: torch.Tensor, old_out: torch.Tensor,
                     new_in: torch.Tensor) -> torch.Tensor | None:
    """``module(new_in)`` from its kept input and output, or None where the shortcut does not apply
    (not a plain Linear, other shapes, or too many inputs changed)."""
    if type(module) is not nn.Linear or new_in.dim() != 2 or old_in.shape != new_in.shape \
            or old_out.shape != (new_in.shape[0], module.out_features) or old_out.dtype != new_in.dtype:
        return None
    delta = new_in - old_in
    changed = delta.ne(0).any(dim=0).nonzero().squeeze(1)
    if changed.numel() > DENSE_SHARE * new_in.shape[1]:
        return None
    if changed.numel() == 0:
        return old_out.clone()
    columns = module.weight.index_select(1, changed)              # [out, k]
    return torch.addmm(old_out, delta.index_select(1, changed), columns.t())
