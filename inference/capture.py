"""Record what every leaf module of a network computes, layer by layer, as it runs.

Model-agnostic: hooks go on every leaf of ``named_modules()``; names come from
the module tree, aliases from an optional table. Each output is copied into a
fresh float32 array the moment its module finishes, which matters
twice: VGG's ReLUs work in place (without the copy a conv would show its
post-ReLU values), and views get arrays the engine never touches again. Results are streamed to a callback so a GUI can fill in while the pass runs.
"""
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from .errors import Cancelled


@dataclass(frozen=True)
class LayerSpec:
    """A leaf module as the layer tree lists it, before anything has run."""

    name: str            # qualified name, e.g. "features.0"
    alias: str | None    # e.g. "conv1_1"
    type: str            # e.g. "Conv2d"
    params: int
    group: str           # first component of the name ("features", "avgpool", "classifier")


@dataclass(frozen=True)
class LayerOutput:
    """One layer's output for one image, batch dimension removed."""

    spec: LayerSpec
    data: np.ndarray                  # float32 [C, H, W] or [N]
    means: np.ndarray | None          # float32 [C] for maps, None for vectors
    maxs: np.ndarray | None
    fracs: np.ndarray | None          # fraction of values > 0 per channel
    index: int                        # position in forward order
    seconds: float                    # time since the pass started

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def best_channel(self) -> int | None:
        """The channel with the highest mean: the write-up's rule for what to overlay."""
        return None if self.means is None else int(np.argmax(self.means))

    @property
    def best_mean(self) -> float | None:
        return None if self.means is None else float(self.means[self.best_channel])


def leaf_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if n and not any(True for _ in m.children())]


def describe_layers(model: nn.Module, aliases: dict[str, str] | None = None) -> list[LayerSpec]:
    """Every leaf module in registration order (VGG's forward order)."""
    aliases = aliases or {}
    return [
        LayerSpec(name, aliases.get(name), type(module).__name__,
                  sum(p.numel() for p in module.parameters(recurse=False)), name.split(".")[0])
        for name, module in leaf_modules(model)
    ]


def channel_stats(out: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel mean, max and fraction > 0 of a [C, H, W] tensor (computed by torch, threaded)."""
    c = out.shape[0]
    hwc = out.permute(1, 2, 0)
    if hwc.is_contiguous():  # channels_last: reduce over the rows of an [H*W, C] view, no copy
        rows = hwc.reshape(-1, c)
        stats = torch.stack([rows.mean(0), rows.amax(0), (rows > 0).sum(0, dtype=torch.float32) / rows.shape[0]])
    else:
        stats = torch.stack([out.mean(dim=(1, 2)), out.amax(dim=(1, 2)),
                             (out > 0).sum(dim=(1, 2), dtype=torch.float32) / (out.shape[1] * out.shape[2])])
    stats = stats.float().cpu().numpy()
    return stats[0], stats[1], stats[2]


def snapshot(spec: LayerSpec, output: torch.Tensor, index: int, seconds: float) -> LayerOutput:
    """Copy a module's batch-1 output into numpy before anything (an in-place ReLU) can change it.

    The copy keeps the tensor's memory layout: a channels_last map becomes a
    [C, H, W] array with channel-minor strides (a plain memcpy; transposing 114 MB
    of VGG activations would cost more than the forward pass). Views read a
    channel at a time, which numpy handles with any strides.
    """
    out = output.detach()[0].to(device="cpu", dtype=torch.float32, copy=True)
    if out.dim() == 3:
        means, maxs, fracs = channel_stats(out)
    else:
        means = maxs = fracs = None
    data = out.numpy()
    data.setflags(write=False)
    return LayerOutput(spec, data, means, maxs, fracs, index, seconds)


class ActivationCapture:
    """Context manager: hooks every leaf, hands each output to ``on_layer`` in forward order.

    ``cancel()`` is polled after every layer; when it returns True the pass is
    aborted with :class:`Cancelled` (a newer request superseded this one).
    """

    def __init__(self, model: nn.Module, specs: list[LayerSpec], on_layer: Callable[[LayerOutput], None],
                 cancel: Callable[[], bool] | None = None, only: set[str] | None = None):
        self._model = model
        self._specs = {s.name: s for s in specs}
        self._on_layer = on_layer
        self._cancel = cancel
        self._only = only
        self._handles = []
        self._count = 0
        self._t0 = 0.0

    def __enter__(self):
        self._t0 = time.perf_counter()
        self._count = 0
        for name, module in leaf_modules(self._model):
            if name in self._specs and (self._only is None or name in self._only):
                self._handles.append(module.register_forward_hook(self._hook(self._specs[name])))
            elif self._cancel is not None:
                self._handles.append(module.register_forward_hook(self._check_cancel))
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles.clear()
        return False

    def _check_cancel(self, module, inputs, output):
        if self._cancel is not None and self._cancel():
            raise Cancelled("superseded by a newer request")

    def _hook(self, spec: LayerSpec):
        def hook(module, inputs, output):
            if isinstance(output, torch.Tensor):
                self._on_layer(snapshot(spec, output, self._count, time.perf_counter() - self._t0))
                self._count += 1
            self._check_cancel(module, inputs, output)
        return hook
