"""Record what every layer of a network computes, as it runs.

Model-agnostic: names come from the module tree, aliases from an optional
table. ``describe_layers`` lists either every leaf of ``named_modules()`` once
(a shared module's last call is kept), or, ``nested``, every call of every leaf
(``layer1.0.relu``, ``layer1.0.relu#2``), every block output and the modules
that never run, in the order they run (``inference.blocks``). Results stream
to a callback in forward order, so a GUI can fill in while the pass runs, and
the outputs are kept as tensors so a run can be re-entered (``inference.run``).
A block's output is kept like a leaf's: no copy unless a later in-place op
would change it.

Copying 110 MB of VGG activations would cost a fifth of the forward pass, so
outputs are kept and handed out without a copy, and two things keep them intact:

- in-place modules (VGG's ``ReLU(inplace=True)``) run out of place while
  capturing, so a conv's output keeps its negative values;
- in-place *functional* ops inside a module's forward (``out += identity`` in a
  ResNet block) cannot be switched off, so the first *full* pass over a model
  uses PyTorch's tensor version counters to learn which outputs are later
  modified; from then on exactly those are cloned. That learning pass either
  clones every output (the default) or, ``lean``, clones nothing and reports in
  ``modified`` what it could not keep intact, so the caller runs the pass again
  (``inference.analysis`` does; it saves a copy of every activation on the
  first image). A partial pass (``only``) sees too little to learn from: until
  a full pass has run, it clones everything.

The same full pass learns whether the model is a plain chain of its leaves
(``inference.chain``), which lets a run re-enter at any layer cheaply.

Per-channel statistics are computed when asked (``LayerOutput.compute_stats``):
the worker does it off the UI thread, the CLI when it reports.
"""
import itertools
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn.modules.module import _global_forward_hooks

from .blocks import call_of, is_leaf, leaf_modules, module_of, parent_of, run_order
from .chain import ChainRecorder
from .errors import Cancelled
from .layer_output import LayerOutput


@dataclass(frozen=True)
class LayerSpec:
    """One listed output as the layer tree lists it, before anything has run.

    A leaf module's call, or a block's (a non-leaf module whose output no leaf
    returns, see ``inference.blocks``). The hierarchy is in the name:
    ``module``, ``call``, ``parent`` and ``depth`` derive from it
    ("layer1.0.relu#2": module "layer1.0.relu", call 2, parent "layer1.0", depth 2).
    """

    name: str            # qualified name, e.g. "features.0"; a module's later calls: "layer1.0.relu#2"
    alias: str | None    # e.g. "conv1_1"
    type: str            # e.g. "Conv2d"
    params: int          # a leaf's own parameters; a block's, all of its subtree's
    group: str           # first component of the name ("features", "avgpool", "classifier")
    block: bool = False  # a non-leaf module's own output
    ran: bool = True     # False: never runs in this mode (an auxiliary head in eval mode): no output ever comes
    ends: tuple[str, ...] = ()  # containers whose output is this very tensor (VGG's features.30: "features")

    @property
    def module(self) -> str:
        return module_of(self.name)

    @property
    def call(self) -> int:
        return call_of(self.name)

    @property
    def parent(self) -> str:
        return parent_of(self.name)

    @property
    def depth(self) -> int:
        return self.module.count(".")


def describe_layers(model: nn.Module, aliases: dict[str, str] | None = None, nested: bool = False,
                    size: int = 224) -> list[LayerSpec]:
    """The layers a capture records.

    ``nested=False``: every leaf module once, in registration order (VGG's
    forward order; a shared module's last call is what is kept).
    ``nested=True``: every call of every leaf and every block output, in the
    order they run, then the modules that never run, learnt from a meta-device
    forward (``inference.blocks.run_order``: hold the model's forward lock).
    """
    aliases = aliases or {}
    if not nested:
        return [
            LayerSpec(name, aliases.get(name), type(module).__name__,
                      sum(p.numel() for p in module.parameters(recurse=False)), name.split(".")[0])
            for name, module in leaf_modules(model)
        ]
    modules = dict(model.named_modules())
    specs = []
    for e in run_order(model, size):
        module = modules[e.module]
        params = sum(p.numel() for p in module.parameters(recurse=e.block or not e.ran))
        specs.append(LayerSpec(e.name, aliases.get(e.name), type(module).__name__, params, e.module.split(".")[0],
                               e.block, e.ran, e.ends))
    return specs


@dataclass(frozen=True)
class _Plan:
    """A model's module tree as a capture walks it, listed once per model (a walk of DenseNet's 430 modules
    costs 1-2 ms, as much as capture's own work): a captured model's structure is fixed, as ``_MUST_COPY``
    already assumes."""

    modules: tuple[tuple[str, nn.Module], ...]   # named_modules() without the root
    leaves: tuple[nn.Module, ...]
    inplace: tuple[nn.Module, ...]                # modules with an ``inplace`` flag (ReLU, Hardswish, Dropout...)


_PLANS: "weakref.WeakKeyDictionary[nn.Module, _Plan]" = weakref.WeakKeyDictionary()
_TARGETS: "weakref.WeakKeyDictionary[nn.Module, dict]" = weakref.WeakKeyDictionary()   # see _targets


def _plan(model: nn.Module) -> _Plan:
    plan = _PLANS.get(model)
    if plan is None:
        modules = tuple((n, m) for n, m in model.named_modules() if n)
        leaves = tuple(m for _, m in modules if is_leaf(m))
        # Looked for, not getattr'd: a module without it raises inside nn.Module.__getattr__ (2 us each).
        inplace = tuple(m for m in leaves if "inplace" in m.__dict__ or hasattr(type(m), "inplace"))
        plan = _PLANS[model] = _Plan(modules, leaves, inplace)
    return plan


@contextmanager
def out_of_place(model: nn.Module):
    """Run the model's in-place modules out of place, so every module's output stays what it computed."""
    switched = [m for m in _plan(model).inplace if m.inplace is True]
    for m in switched:   # an instance attribute is set as such, not through nn.Module.__setattr__'s checks
        if "inplace" in m.__dict__:
            m.__dict__["inplace"] = False
        else:
            m.inplace = False
    try:
        yield
    finally:
        for m in switched:
            if "inplace" in m.__dict__:
                m.__dict__["inplace"] = True
            else:
                m.inplace = True


_NONE = object()
FLUSH_S = 0.001   # kept layers are handed out in batches at most this far apart (see ActivationCapture._flush)

# What each model taught us: the names whose outputs an in-place functional op modifies later.
_MUST_COPY: "weakref.WeakKeyDictionary[nn.Module, frozenset[str]]" = weakref.WeakKeyDictionary()


def learned(model: nn.Module) -> bool:
    """True once a full capture has taught us which of the model's outputs must be copied."""
    return model in _MUST_COPY


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A kept batch-1 output as a read-only float32 array (a view of it unless a device or dtype move)."""
    if not tensor.is_cpu or tensor.dtype is not torch.float32:
        tensor = tensor.to(device="cpu", dtype=torch.float32)
    data = tensor.numpy()[0]   # numpy's indexing: half the cost of a torch view per layer (~1.7 us)
    data.setflags(write=False)
    return data


class ActivationCapture:
    """Context manager: hooks every leaf, keeps each output, hands it to ``on_layer`` in forward order.

    ``tensors`` maps each captured name to its output as the model produced it
    (batch dimension kept, detached, cloned only where a later in-place op
    would change it). ``cancel()`` is polled after every layer; when it
    returns True the pass is aborted with :class:`Cancelled`. Run the forward
    under ``torch.no_grad()`` (not inference_mode, whose tensors have no
    version counter and cannot be re-entered with autograd).
    """

    def __init__(self, model: nn.Module, specs: list[LayerSpec], on_layer: Callable[[LayerOutput], None],
                 cancel: Callable[[], bool] | None = None, only: set[str] | None = None, lean: bool = False):
        self._model = model
        self._specs = {s.name: s for s in specs}
        self._on_layer = on_layer
        self._cancel = cancel
        self._only = only
        self._handles = []
        self._wrapped: list[tuple[nn.Module, object]] = []   # modules whose forward is wrapped, and their own
        self._wrapped_or_hooked: list[nn.Module] = []
        self._shared: tuple | None = None   # what every hook of the pass reads (see _hook)
        self._inplace = None
        self._watch: list[tuple[str, torch.Tensor, int]] = []
        full = only is None or set(self._specs) <= set(only)
        self._learning = full and not learned(model)
        self._copy_all = not learned(model) and not (lean and self._learning)
        self.modified: frozenset[str] = frozenset()   # a lean learning pass: outputs changed after they were kept
        self._must_copy = _MUST_COPY.get(model, frozenset())
        self.chain = ChainRecorder(model) if self._learning else None
        self.tensors: dict[str, torch.Tensor] = {}
        self.calls: dict[str, int] = {}   # how often each captured leaf ran (a shared module: more than once)
        self._count = itertools.count()   # forward-order index of the next layer handed out
        self._pending: list[tuple[LayerSpec, torch.Tensor, float]] = []   # kept, not handed out yet
        self._flushed = [float("-inf")]   # when the last batch was handed out (the first layer goes at once)
        self._runs: list[tuple[list[LayerSpec], list[int]]] = []   # each hooked module's specs and run counter
        self._t0 = 0.0

    def __enter__(self):
        self._t0 = time.perf_counter()
        self._inplace = out_of_place(self._model)
        self._inplace.__enter__()
        if self.chain is not None:
            self.chain.attach_pre()
        self._shared = (self._only, self.tensors, self._cancel, self._pending, self._copy_all, self._must_copy,
                        self._watch if self._learning else None, self._flushed, self._flush, self._t0)
        for module, calls in self._targets():
            self._after(module, self._hook(calls, block=calls[0].block))
        if self._cancel is not None:
            hooked = set(map(id, self._wrapped_or_hooked))
            for module in _plan(self._model).leaves:
                if id(module) not in hooked:
                    self._after(module, self._check_cancel)
        if self.chain is not None:
            self.chain.attach_post()
        return self

    def _targets(self) -> list[tuple[nn.Module, list[LayerSpec]]]:
        """The modules to hook, in tree order, each with the specs of its calls (those of ``only``, if given).

        Listed once per model, specs and ``only`` (a MobileNet's 186 specs cost ~0.5 ms a pass to sort
        out, 2% of its forward). Keyed by the specs' identities (hashing 186 dataclasses would cost
        half of what the cache saves); the entry keeps them alive, so an id is never reused."""
        specs = tuple(self._specs.values())
        only = self._only
        key = (tuple(map(id, specs)), None if only is None else frozenset(only))
        cached = _TARGETS.setdefault(self._model, {})
        entry = cached.get(key)
        targets = entry[1] if entry is not None else None
        if targets is None:
            by_module: dict[str, list[LayerSpec]] = {}
            for spec in specs:
                if spec.ran:
                    by_module.setdefault(spec.module, []).append(spec)
            targets = [(module, by_module[name]) for name, module in _plan(self._model).modules if name in by_module
                       and (only is None or any(s.name in only for s in by_module[name]))]
            if len(cached) >= 8:   # a few layer sets per model (whole runs, re-runs of a few layers)
                cached.clear()
            cached[key] = (specs, targets)
        return targets

    def _after(self, module: nn.Module, fn: Callable[[torch.Tensor], None]) -> None:
        """Run ``fn(output)`` after each call of ``module``.

        By wrapping the module's ``forward`` (an instance attribute, taken off again on exit) rather than
        with a forward hook: a module with hooks takes ``nn.Module``'s slow call path, 3-5 us a call, a
        fifth of the capture's overhead on a MobileNet. A module that already has forward hooks (a
        re-run's edit) gets a hook after them instead, so ``fn`` sees what they return, as before."""
        self._wrapped_or_hooked.append(module)
        if module._forward_hooks or _global_forward_hooks:
            self._handles.append(module.register_forward_hook(lambda _m, _i, output: fn(output)))
            return
        own = module.__dict__.get("forward", _NONE)
        inner = module.forward

        def forward(*args, **kwargs):
            output = inner(*args, **kwargs)
            fn(output)
            return output
        module.__dict__["forward"] = forward
        self._wrapped.append((module, own))

    def __exit__(self, exc_type, *exc):
        for h in self._handles:
            h.remove()
        self._handles.clear()
        for module, own in self._wrapped:
            if own is _NONE:
                del module.__dict__["forward"]
            else:
                module.__dict__["forward"] = own
        self._wrapped.clear()
        self._wrapped_or_hooked.clear()
        self._shared = None   # it holds self._flush: a cycle that would keep every kept tensor until a gc
        if self.chain is not None:
            self.chain.detach()
        self._inplace.__exit__(None, None, None)
        for specs, runs in self._runs:   # a module that ran R times: each of its first R names ran R times
            for s in specs[:runs[0]]:
                self.calls[s.name] = runs[0]
        self._runs.clear()
        if exc_type is None:
            self._flush(time.perf_counter())
        self._pending.clear()
        if exc_type is None and self._learning:
            # Outputs whose version moved were modified in place after their module ran.
            _MUST_COPY[self._model] = frozenset(n for n, t, v in self._watch if t._version != v)
            if not self._copy_all:
                self.modified = _MUST_COPY[self._model]
        self._watch.clear()
        return False

    def _check_cancel(self, output):
        if self._cancel is not None and self._cancel():
            raise Cancelled("superseded by a newer request")

    def _hook(self, specs: list[LayerSpec], block: bool):
        """The hook of one module: its k-th call is ``specs[k]`` (one spec only: every call is kept under it,
        the last one staying, as leaf-only specs ask).

        It runs once per module call, 200-400 times a forward for a MobileNet or a DenseNet whose whole
        forward takes 15-60 ms, so everything it reads is bound here, not looked up per call; ``calls``
        is filled from its run counter when the pass ends, and the layers are handed out in batches
        (``_flush``). A block's hook runs between leaves: it counts as inside a leaf for the chain
        recorder (its own torch calls are not the model's)."""
        last = len(specs) - 1
        runs = [0]
        self._runs.append((specs, runs))
        only, tensors, cancel, pending, copy_all, must_copy, watch, flushed, flush, t0 = self._shared
        chain = self.chain if block else None
        clock, tensor_type = time.perf_counter, torch.Tensor

        def hook(output):
            k = runs[0]
            runs[0] = k + 1
            spec = specs[k] if k < last else specs[last]
            if isinstance(output, tensor_type) and (only is None or spec.name in only):
                if chain is not None:
                    chain.depth += 1
                kept = output.detach() if output.requires_grad else output   # under no_grad: already detached
                if watch is not None:
                    watch.append((spec.name, output, output._version))
                if copy_all or spec.name in must_copy:
                    kept = kept.clone()
                tensors[spec.name] = kept
                now = clock()
                pending.append((spec, kept, now - t0))
                if now - flushed[0] >= FLUSH_S:
                    flush(now)
                if chain is not None:
                    chain.depth -= 1
            if cancel is not None and cancel():
                raise Cancelled("superseded by a newer request")
        return hook

    def _flush(self, now: float) -> None:
        """Hand the layers kept since the last flush to ``on_layer``, in forward order.

        In batches rather than one by one: made in a row, a layer's array view and ``LayerOutput``
        cost about half what they cost between two convs of a forward (the forward has evicted the
        interpreter's working set meanwhile): ~1 ms of a 15 ms MobileNet forward. A batch is handed
        out once ``FLUSH_S`` has passed since the last one, the first layer at once, the rest when
        the pass ends, so a slow model (VGG16: a few ms a layer) still streams layer by layer."""
        on_layer, count = self._on_layer, self._count
        pending = self._pending
        for spec, kept, seconds in pending:
            on_layer(LayerOutput(spec, to_numpy(kept), next(count), seconds))
        pending.clear()
        self._flushed[0] = now
