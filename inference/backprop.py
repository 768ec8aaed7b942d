"""Backward through a chain of leaves from the outputs a run kept, without running the forward again.

A gradient needs, for each module after the layer, the vector-Jacobian
product at the input that module saw. A run already holds every one of those
inputs (the previous leaf's kept output), so the common modules take their
product straight from them: Linear (``g·W``), ReLU (``g`` where the output is
> 0), eval-mode Dropout (``g``), Conv2d (``conv2d_input``, the transposed
convolution). Any other module gets autograd on that module alone, fed its
kept input. At relu5_3 this skips fc6's 411 MB matrix–vector product of a
re-run forward; for an input gradient it skips every convolution's forward.
"""
import threading
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import nn

from .chain import Chain


def _vjp(module: nn.Module, inp: torch.Tensor, out: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """d(out)/d(inp)ᵀ · g for one module, from its kept input and output.

    Exact types only: a subclass may compute something else in its forward.
    """
    kind = type(module)
    if kind is nn.ReLU:
        return g * (out > 0)
    if kind is nn.Dropout and not module.training:
        return g
    if kind is nn.Linear:
        return linear_vjp(g, module.weight)
    if kind is nn.Conv2d and module.padding_mode == "zeros" and not isinstance(module.padding, str):
        return torch.nn.grad.conv2d_input(inp.shape, module.weight, g.contiguous(memory_format=_format(inp)),
                                          module.stride, module.padding, module.dilation, module.groups)
    with torch.enable_grad():
        leaf = inp.detach().requires_grad_(True)
        # The clone keeps an in-place module (LeakyReLU(inplace=True) …) off the leaf.
        (grad,) = torch.autograd.grad(module(leaf.clone()), leaf, g)
    return grad


SPARSE_BELOW = 0.6  # the fraction of non-zero gradients under which a sparse product reads less
SPLIT_ABOVE = 1 << 24  # weights this large (fc6: 103 M) take their sparse product on two threads


def linear_vjp(g: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """g·W. After a ReLU most of g is zero (its mask), and a sparse product then reads only the rows
    of W it needs: fc6's 411 MB matrix is memory-bound, so at half density it costs about 3/4,
    and at a trained network's usual fifth about 1/3, of the dense product. torch's sparse
    product runs on one thread, so a matrix as large as fc6's is read in two halves at once
    (g[:, :h]·W[:h] + g[:, h:]·W[h:], the first on a helper thread): 13 → 8–11 ms here."""
    if g.dim() == 2 and g.device.type == "cpu" and g.dtype == torch.float32 and weight.dtype == torch.float32:
        if float((g != 0).float().mean()) < SPARSE_BELOW:
            if weight.numel() < SPLIT_ABOVE:
                return torch.sparse.mm(g.to_sparse(), weight)
            return _split_sparse_product(g, weight)
    return g.matmul(weight)


def _split_sparse_product(g: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """g·W as two sparse products over the two halves of W's rows, the first on the helper thread."""
    h = weight.shape[0] // 2
    first = _helper().submit(lambda: torch.sparse.mm(g[:, :h].to_sparse(), weight[:h]))
    second = torch.sparse.mm(g[:, h:].to_sparse(), weight[h:])
    return first.result() + second


_pool: ThreadPoolExecutor | None = None
_pool_guard = threading.Lock()


def _helper() -> ThreadPoolExecutor:
    """One helper thread for the process, kept: a thread started per product made glibc spread its
    allocations over ever-new arenas, and the soak's RSS grew 60 MB over 150 images (10 MB kept).
    It names itself, so the worker's renice (which goes by the worker's thread name) leaves it be."""
    global _pool
    with _pool_guard:
        if _pool is None:
            _pool = ThreadPoolExecutor(1, thread_name_prefix="convscope-vjp", initializer=_name_thread)
        return _pool


def _name_thread() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, b"convscope-vjp", 0, 0, 0)  # PR_SET_NAME: the name /proc shows
    except (OSError, AttributeError):
        pass


def _format(t: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last) \
        and not t.is_contiguous() else torch.contiguous_format


def backward(chain: Chain, modules: dict[str, nn.Module], outputs: dict[str, torch.Tensor], source: torch.Tensor,
             start: int, end: int, g: torch.Tensor) -> torch.Tensor:
    """The gradient at the input of leaf ``start``, given ``g`` at the output of leaf ``end``.

    ``outputs`` are the kept outputs by leaf name; ``source`` is what leaf
    ``start`` took (the previous leaf's output, or the network's input).
    """
    with torch.no_grad():
        for k in range(end, start - 1, -1):
            name = chain.names[k]
            given = source if k == start else outputs[chain.names[k - 1]]
            shape = chain.reshapes.get(name)
            inp = given.reshape(given.shape[0], *shape) if shape is not None else given
            g = _vjp(modules[name], inp, outputs[name], g)
            if shape is not None:
                g = g.reshape(g.shape[0], *given.shape[1:])  # g may carry several targets (a batch)
    return g


def batchable(module: nn.Module) -> bool:
    """Modules whose product above takes a batch of gradients against a kept input of batch 1."""
    kind = type(module)
    return kind in (nn.ReLU, nn.Linear) or (kind is nn.Dropout and not module.training)


def seed_for_unit(output: torch.Tensor, channel: int, y: int | None, x: int | None) -> torch.Tensor:
    """d unit / d output: one at the unit (or 1/(H·W) over the channel for its mean), zero elsewhere."""
    g = torch.zeros_like(output)
    if output.dim() == 2:
        g[0, channel] = 1.0
    elif y is None or x is None:
        g[0, channel] = 1.0 / (output.shape[2] * output.shape[3])
    else:
        g[0, channel, y, x] = 1.0
    return g


def seed_for_logits(logits: torch.Tensor, score_of) -> torch.Tensor:
    """d score / d logits for any scalar function of the logits (autograd on the kept [1, N] logits)."""
    with torch.enable_grad():
        z = logits.detach().float().requires_grad_(True)
        (g,) = torch.autograd.grad(score_of(z), z)
    return g.to(logits.dtype)

