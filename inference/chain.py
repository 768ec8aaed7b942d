"""Learn, from one real forward, whether a model is a plain chain of its leaf modules.

A chain (VGG, AlexNet: ``features`` → ``avgpool`` → ``flatten`` → ``classifier``)
can be re-entered at any layer by running only the leaves after it, from that
layer's kept output. Nothing here knows any architecture: a recorder watches
one forward and accepts the model as a chain only if every leaf ran once, took
exactly one tensor and no keyword arguments, and that tensor was the previous
leaf's output (the same tensor, or equal to it reshaped, as ``torch.flatten``
does) unmodified since; the first leaf must take the model's input and the
last must give its output, unmodified. Between leaves the forward may only
reshape (a TorchFunctionMode sees every torch call made outside a leaf): a
functional op there, even one that happens to be the identity on this image
(``F.relu`` after a ReLU), makes the model not a chain. Anything else (ResNet's
skip connections, a leaf reused twice) is not a chain either, and a run then
re-enters with hooks on a full forward instead.
"""
import weakref
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .blocks import leaf_modules
from .linear_delta import linear_from_kept

# What a chain's forward may do between two leaves: reshape, and read a tensor's attributes.
_BETWEEN_LEAVES = {"flatten", "reshape", "view", "contiguous", "size", "dim", "numel",
                   "shape", "ndim", "dtype", "device", "requires_grad", "is_cuda", "_version", "layout"}


def _name(func) -> str:
    name = getattr(func, "__name__", "")
    if name == "__get__":  # a property such as Tensor.shape
        name = getattr(getattr(func, "__self__", None), "__name__", name)
    return name


class _Watch(TorchFunctionMode):
    """Notes any torch call made outside a leaf that is not a reshape."""

    def __init__(self, recorder: "ChainRecorder"):
        super().__init__()
        self._recorder = recorder

    def __torch_function__(self, func, types, args=(), kwargs=None):
        r = self._recorder
        if r.inside_model and r.depth == 0 and _name(func) not in _BETWEEN_LEAVES:
            self._recorder.broken = True
        return func(*args, **(kwargs or {}))

_CHAINS: "weakref.WeakKeyDictionary[nn.Module, Chain | None]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Chain:
    """The leaves in forward order, and the shape (batch dim excluded) each one's input is reshaped to."""

    names: tuple[str, ...]
    reshapes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def run(self, modules: dict[str, nn.Module], h: torch.Tensor, start: int, stop: str | None = None,
            on_output: Callable[[str, torch.Tensor], None] | None = None,
            kept: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Feed ``h`` to leaf number ``start`` and on, up to ``stop`` (included) or the end.

        ``kept``: every leaf's output in the unedited pass (a run's tensors, when ``h`` is an edit of leaf
        ``start − 1``'s); a Linear whose input differs from its kept one in a few places then reads only
        those (``linear_delta``)."""
        for k in range(start, len(self.names)):
            name = self.names[k]
            shape = self.reshapes.get(name)
            if shape is not None:
                h = h.reshape(h.shape[0], *shape)
            out = None
            if kept is not None and k > 0 and name in kept and self.names[k - 1] in kept:
                old_in = kept[self.names[k - 1]]
                old_in = old_in.reshape(old_in.shape[0], *shape) if shape is not None else old_in
                out = linear_from_kept(modules[name], old_in, kept[name], h)
            h = modules[name](h) if out is None else out
            if on_output is not None:
                on_output(name, h)
            if name == stop:
                break
        return h


def chain_of(model: nn.Module) -> Chain | None:
    """What a full capture learnt about ``model``: its chain, or None (not a chain, or not learnt yet)."""
    return _CHAINS.get(model)


def chain_learned(model: nn.Module) -> bool:
    return model in _CHAINS


class ChainRecorder:
    """Hooks that watch one forward of ``model`` and store what they learn in ``chain_of(model)``.

    ``attach_pre()`` goes before any other hooks are added and ``attach_post()``
    after them, so that other hooks' own torch calls count as inside the leaf.
    """

    def __init__(self, model: nn.Module):
        self._model = model
        self._handles = []
        self._calls: list[list] = []   # [name, input, output, output version]
        self._input = None
        self._output = None
        self._mode = None
        self.depth = 0                 # > 0 while a leaf (and its hooks) runs
        self.inside_model = False      # between the model's own pre- and post-hook
        self.broken = False

    def _leaves(self):
        return leaf_modules(self._model)

    def attach_pre(self) -> None:
        for name, module in self._leaves():
            self._handles.append(module.register_forward_pre_hook(self._pre(name), with_kwargs=True))
        self._handles.append(self._model.register_forward_pre_hook(self._model_in))
        self._mode = _Watch(self)
        self._mode.__enter__()

    def attach_post(self) -> None:
        for _, module in self._leaves():
            self._handles.append(module.register_forward_hook(self._post))
        self._handles.append(self._model.register_forward_hook(self._model_out))

    def detach(self) -> None:
        if self._mode is not None:
            self._mode.__exit__(None, None, None)
            self._mode = None
        for h in self._handles:
            h.remove()
        self._handles.clear()
        if self._output is not None:  # the forward completed
            _CHAINS[self._model] = None if self.broken else self._verdict()
        self._calls.clear()
        self._input = self._output = None

    def _model_in(self, module, args):
        self._input = args[0] if len(args) == 1 and isinstance(args[0], torch.Tensor) else None
        self.inside_model = True

    def _model_out(self, module, args, output):
        self.inside_model = False
        self._output = output if isinstance(output, torch.Tensor) else None
        last = self._calls[-1] if self._calls else None
        if self._output is None or last is None or last[2] is None or last[2]._version != last[3]:
            self.broken = True  # no tensor out, or the last leaf's output was changed after it ran

    def _pre(self, name: str):
        def hook(module, args, kwargs):
            self.depth += 1
            if (kwargs or len(args) != 1 or not isinstance(args[0], torch.Tensor)
                    or any(c[0] == name for c in self._calls)):
                self.broken = True
                return None
            prev = self._calls[-1] if self._calls else None
            if prev is not None and (prev[2] is None or prev[2]._version != prev[3]):
                self.broken = True  # the previous output was changed in place before it was used
            self._calls.append([name, args[0], None, 0])
            return None
        return hook

    def _post(self, module, args, output):
        if not self.broken and self._calls:
            if not isinstance(output, torch.Tensor):
                self.broken = True
            else:
                self._calls[-1][2] = output
                self._calls[-1][3] = output._version
        self.depth -= 1

    def _verdict(self) -> Chain | None:
        if not self._calls or self._input is None:
            return None
        reshapes: dict[str, tuple[int, ...]] = {}
        source = self._input
        for name, given, output, _ in self._calls:
            if given is not source:
                if given.numel() != source.numel() or not torch.equal(given, source.reshape(given.shape)):
                    return None
                if given.shape != source.shape:
                    reshapes[name] = tuple(given.shape[1:])
            source = output
        if self._output is not source and not torch.equal(self._output, source):
            return None
        return Chain(tuple(c[0] for c in self._calls), reshapes)
