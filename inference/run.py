"""One analysed image, kept so it can be re-entered: partial re-runs, gradients at a layer, input gradients.

``analyze`` (inference.analysis) returns a :class:`Run`: the loaded photo, the
prepared input, every captured layer's output as the model produced it (the
tensors the views' numpy arrays are views of), the logits and predictions.
Every probe of the next features is a re-entry of a run:

- ``rerun(layer, edit)``: replace one layer's output and run the rest;
- ``gradient(layer, target)``: d target / d (layer's output);
- ``input_gradient(target)``: d target / d input.

Where the model is a plain chain of its leaves (``inference.chain``), a re-run
starts from the kept output and runs only the leaves after it, and a gradient
runs no forward at all: it goes backward from the target through the leaves'
kept inputs (``inference.backprop``), so a gradient at relu5_3 touches no
convolution. Elsewhere a re-entry runs the full forward with a hook that swaps
in the edited output, or makes the layer's output a leaf to differentiate
against (Captum's way). Parameters keep
``requires_grad=False`` and ``torch.autograd.grad`` is used, never
``.backward()``, so no parameter ``.grad`` is ever allocated.
"""
import threading
import weakref
from dataclasses import dataclass, field

import numpy as np
import torch

from .backprop import backward, batchable, seed_for_logits, seed_for_unit
from .blocks import alone, call_of, leaf_modules, module_of
from .capture import ActivationCapture, LayerSpec, out_of_place, to_numpy
from .layer_output import LayerOutput
from .chain import Chain, chain_of
from .channel_means import channel_gradient_means
from .demo_conv import DemoConvResult
from .images import LoadedImage
from .model import ModelBundle
from .predict import Predictions, predictions_from_logits
from .preprocess import Prepared
from .probes import Edit, Target, Unit


_locks: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def forward_lock(model):
    """One pass at a time per model: hooks and the in-place switch are per model, not per thread."""
    with _locks_guard:
        lock = _locks.get(model)
        if lock is None:
            lock = _locks[model] = threading.RLock()  # a gradient primes the head under the same lock
        return lock


MAX_PRIMED = 64  # primed targets kept per run (VGG16: 100 KB each)


class _Stop(Exception):
    """Raised by a hook to end a forward once the target unit exists."""


def _on_call(module: torch.nn.Module, k: int, fn):
    """A forward hook that runs ``fn`` on the ``k``-th call of ``module`` in each forward only."""
    seen = [0]

    def hook(m, args, out):
        seen[0] += 1
        return fn(m, args, out) if seen[0] == k else None
    return module.register_forward_hook(hook)


@dataclass(frozen=True, eq=False)
class Rerun:
    """What one edited re-run produced."""

    layer: str
    logits: np.ndarray                               # float32 [N]
    predictions: Predictions
    changed: dict[str, LayerOutput]                  # the edited layer and every later layer whose output changed


@dataclass(eq=False)
class Run:
    """Everything one image produced, kept for re-entry (see the module docstring)."""

    bundle: ModelBundle
    image: LoadedImage
    prepared: Prepared
    specs: list[LayerSpec]
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)   # name → output, batch dim kept
    calls: dict[str, int] = field(default_factory=dict)              # name → how often the leaf ran
    layers: dict[str, LayerOutput] = field(default_factory=dict)
    logits: torch.Tensor | None = None                               # [1, N], on the model's device
    predictions: Predictions | None = None
    demo: DemoConvResult | None = None
    seconds: float = 0.0
    top_k: int = 5
    # target → (leaf index, d target / d that leaf's output): gradients primed for several classes at once
    primed: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ basics
    def input_batch(self) -> torch.Tensor:
        """The network's input as the forward took it: [1, 3, H, W] on the model's device."""
        x = self.prepared.tensor.unsqueeze(0).to(self.bundle.device)
        return x.contiguous(memory_format=torch.channels_last) if self.bundle.device.type == "cpu" else x

    def release(self) -> None:
        """Drop the kept tensors (a new image replaces this run)."""
        self.tensors.clear()
        self.layers.clear()
        self.primed.clear()

    def compute_stats(self, names=None) -> None:
        """Per-channel statistics of ``names`` (default: every layer), computed here, not by a view."""
        for name in (self.layers if names is None else names):
            self.layers[name].compute_stats()

    def _order(self, name: str) -> int:
        try:
            index = self.layers[name].index
        except KeyError:
            raise ValueError(f"no layer named {name!r} in this run") from None
        if not alone(name, self.calls, self.layers):  # leaf-only specs: one name for every call
            raise ValueError(f"{name} runs {self.calls[name]} times in one forward (a shared module): "
                             "its output cannot be edited or differentiated alone; choose another layer")
        return index

    @property
    def _model(self):
        return self.bundle.model

    def _chain(self, *names: str) -> Chain | None:
        """The model's chain, if it holds ``names`` (a block of a chain model is re-entered with hooks)."""
        chain = chain_of(self._model)
        ok = chain is not None and set(chain.names) <= set(self.tensors) and all(n in chain.names for n in names)
        return chain if ok else None

    def _module_call(self, name: str) -> tuple[torch.nn.Module, int]:
        """The module behind a layer name (a leaf, a block, one call of a shared module) and which call it is."""
        return dict(self._model.named_modules())[module_of(name)], call_of(name)

    def _modules(self) -> dict[str, torch.nn.Module]:
        return dict(leaf_modules(self._model))

    def answer(self) -> Predictions:
        """The predictions of the kept logits (``predictions`` when the analysis computed them)."""
        return self.predictions if self.predictions is not None else self._predictions(self.logits)[1]

    def _predictions(self, logits: torch.Tensor) -> tuple[np.ndarray, Predictions]:
        z = logits[0].detach().float().cpu().numpy()
        return z, predictions_from_logits(z, self.bundle.class_names, self.top_k, self.bundle.imagenet_head)

    # ------------------------------------------------------------------ rerun
    def rerun(self, layer: str, edit: Edit) -> Rerun:
        """Replace ``layer``'s output by ``edit(output)`` and run the network on from there."""
        start = self._order(layer)
        spec_of = {s.name: s for s in self.specs}
        changed: dict[str, LayerOutput] = {}

        def keep(name: str, t: torch.Tensor) -> None:
            if self.layers[name].index < start:
                return
            t = t.detach()
            old = self.tensors.get(name)
            if name == layer or old is None or old.shape != t.shape or not torch.equal(old, t):
                changed[name] = LayerOutput(spec_of[name], to_numpy(t), self.layers[name].index, 0.0)

        model = self._model
        chain = self._chain(layer)
        with forward_lock(model), torch.inference_mode():  # the re-run's tensors are only shown, never differentiated
            if chain is not None:
                edited = edit(self.tensors[layer])
                keep(layer, edited)
                with out_of_place(model):
                    logits = chain.run(self._modules(), edited, chain.index(layer) + 1, on_output=keep,
                                       kept=self.tensors)
            else:
                handle = _on_call(*self._module_call(layer), lambda m, args, out: edit(out))
                later = {n for n, o in self.layers.items() if o.index >= start}
                try:
                    with ActivationCapture(model, self.specs, lambda _o: None, only=later) as cap:
                        logits = model(self.input_batch())
                finally:
                    handle.remove()
                for name, t in cap.tensors.items():
                    keep(name, t)
        z, predictions = self._predictions(logits)
        return Rerun(layer, z, predictions, changed)

    # ------------------------------------------------------------------ gradients
    def gradient(self, layer: str, target: Target) -> np.ndarray:
        """d target / d (``layer``'s output), float32 with the layer's shape (batch dim removed)."""
        start = self._order(layer)
        self._check_target(target, after=start)
        model = self._model
        chain = self._chain(layer, *([target.layer] if isinstance(target, Unit) else []))
        with forward_lock(model):
            if chain is not None:
                at = chain.index(layer)
                if not isinstance(target, Unit):
                    self.prime_gradients([target])  # kept at the head's boundary: a second visit is cheap
                end, g = self.primed.get(target, (None, None))
                if end is None or end < at:
                    end, g = self._seed(target, chain)
                if end > at:
                    g = backward(chain, self._modules(), self.tensors, self.tensors[layer], at + 1, end, g)
                return self._as_array(g, self.tensors[layer])
            with torch.enable_grad(), out_of_place(model):
                a, score = self._hooked_score(target, at=layer)
                (grad,) = torch.autograd.grad(score, a, allow_unused=True)
        return self._as_array(grad, a)

    def gradient_channel_means(self, layer: str, target: Target) -> np.ndarray | None:
        """The mean over positions of d target / d (``layer``'s [C, H, W] output), per channel, float32 [C],
        when the leaves after the layer keep channel sums (inference.channel_means: VGG's relu5_3 and
        pools); None otherwise, and the whole ``gradient`` gives it."""
        if isinstance(target, Unit):
            return None
        chain = self._chain(layer)
        if chain is None:
            return None
        at = chain.index(layer)
        with forward_lock(self._model):
            end, g = self.primed.get(target, (None, None))
            if end is None or end < at:
                end, g = self._seed(target, chain)
            means = channel_gradient_means(chain, self._modules(), self.tensors, at, end, g)
        return None if means is None else np.ascontiguousarray(means[0].float().cpu().numpy())

    def prime_gradients(self, targets) -> None:
        """Take several logit targets (the top classes, cat, dog) back through the network's linear head
        at once: one pass over its weights (fc6's 411 MB read once, not once per class). Later gradients
        of those targets, at any layer before the head, start from there, so switching between them
        costs only the few layers between the head and the layer."""
        targets = [t for t in dict.fromkeys(targets) if not isinstance(t, Unit) and t not in self.primed]
        chain = self._chain()
        if chain is None or not targets:
            return
        modules = self._modules()
        end = len(chain.names) - 1
        start = end
        while start > 0 and batchable(modules[chain.names[start]]):
            start -= 1
        start += 1  # the head: leaves start..end, each taking a batch of gradients
        if start > end:
            return
        with forward_lock(self._model):
            seeds = torch.cat([seed_for_logits(self.logits, t.of_logits) for t in targets])
            g = backward(chain, modules, self.tensors, self.tensors[chain.names[start - 1]], start, end, seeds)
        for t, gk in zip(targets, g):
            self.primed[t] = (start - 1, gk.unsqueeze(0))
        while len(self.primed) > MAX_PRIMED:  # the oldest first (dicts keep insertion order)
            self.primed.pop(next(iter(self.primed)))

    def input_gradient(self, target: Target) -> np.ndarray:
        """d target / d input, float32 [3, H, W]: the basis of the effective receptive field."""
        self._check_target(target, after=-1)
        model = self._model
        chain = self._chain(*([target.layer] if isinstance(target, Unit) else []))
        x = self.input_batch()
        with forward_lock(model):
            if chain is not None:
                end, g = self._seed(target, chain)
                return self._as_array(backward(chain, self._modules(), self.tensors, x, 0, end, g), x)
            with torch.enable_grad(), out_of_place(model):
                x = x.detach().clone().requires_grad_(True)
                _, score = self._hooked_score(target, at=None, x=x)
                (grad,) = torch.autograd.grad(score, x, allow_unused=True)
        return self._as_array(grad, x)

    def _seed(self, target: Target, chain: Chain) -> tuple[int, torch.Tensor]:
        """Where the backward starts (a leaf's index) and the gradient of the target at that leaf's output."""
        if isinstance(target, Unit):
            out = self.tensors[target.layer]
            return chain.index(target.layer), seed_for_unit(out, target.channel, target.y, target.x)
        return len(chain.names) - 1, seed_for_logits(self.logits, target.of_logits)

    def _hooked_score(self, target: Target, at: str | None, x: torch.Tensor | None = None):
        """A full forward whose ``at`` output becomes a leaf to differentiate against; stops at a Unit's layer."""
        held: dict[str, torch.Tensor] = {}
        handles = []

        def make_leaf(module, args, output):
            held["a"] = output.detach().requires_grad_(True)
            return held["a"].clone()  # later in-place ops change the clone, never the leaf

        def stop(module, args, output):
            held["unit"] = output
            raise _Stop

        if at is not None:
            handles.append(_on_call(*self._module_call(at), make_leaf))
        if isinstance(target, Unit) and target.layer != at:
            handles.append(_on_call(*self._module_call(target.layer), stop))
        try:
            logits = self._model(self.input_batch() if x is None else x)
        except _Stop:
            logits = None
        finally:
            for h in handles:
                h.remove()
        if isinstance(target, Unit):
            out = held["a"] if target.layer == at else held["unit"]
            return held.get("a"), target.of_output(out)
        return held.get("a"), target.of_logits(logits)

    def _check_target(self, target: Target, after: int) -> None:
        if isinstance(target, Unit):
            if self._order(target.layer) < after:
                raise ValueError(f"the unit's layer {target.layer} comes before the layer it is differentiated at")
            target.check(self.layers[target.layer].shape)

    @staticmethod
    def _as_array(grad: torch.Tensor | None, wrt: torch.Tensor) -> np.ndarray:
        g = torch.zeros_like(wrt) if grad is None else grad
        return np.ascontiguousarray(g[0].detach().float().cpu().numpy())
