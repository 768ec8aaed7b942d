"""Which torchvision CNN a state_dict belongs to, from its keys and shapes alone.

Each candidate's signature is its meta-device state_dict (free to build, cached
per process). The head's output width is ignored, so a fine-tuned 2-class
checkpoint matches its architecture; the class count is then read from the head.
Before anything is built, a registry-only pre-filter keeps the architectures
whose parameter count (``meta["num_params"]``) the file can have once its head
is put back to 1000 classes: usually exactly one survives, so detecting costs one
meta build. GoogLeNet and Inception v3 files may also hold their auxiliary
heads' keys (torchvision's own files do); those are accepted and set aside.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import torch

from . import architectures as archs
from .checkpoint import few_keys, shape_mismatch
from .errors import WeightsError

BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")
"""state_dict entries that are buffers, not parameters (BatchNorm's), left out of ``num_params``."""


@dataclass(frozen=True)
class Signature:
    """An architecture's state_dict shapes (1000 classes, no aux heads) and where its head is."""

    name: str
    shapes: tuple[tuple[str, tuple[int, ...]], ...]
    head: str                      # module name of the final layer (fc, classifier.6 …)
    aux_keys: frozenset[str]       # keys of auxiliary heads a file may also hold

    @property
    def head_keys(self) -> tuple[str, str]:
        return f"{self.head}.weight", f"{self.head}.bias"


_lock = threading.Lock()
_signatures: dict[str, Signature] = {}


def signature(name: str) -> Signature:
    """``name``'s signature, built once per process on the meta device."""
    with _lock:
        if name not in _signatures:
            model = archs.build_meta(name)
            shapes = tuple((k, tuple(v.shape)) for k, v in model.state_dict().items())
            head, _ = archs.head_of(model)
            aux = frozenset()
            if archs.has_aux_heads(name):
                aux = frozenset(archs.build_meta(name, aux=True).state_dict()) - {k for k, _ in shapes}
            _signatures[name] = Signature(name, shapes, head, aux)
        return _signatures[name]


@lru_cache(maxsize=64)
def _expected(name: str, num_classes: int, aux: bool) -> tuple[tuple[str, tuple[int, ...]], ...]:
    model = archs.build_meta(name, num_classes, aux)
    return tuple((k, tuple(v.shape)) for k, v in model.state_dict().items())


def expected_shapes(name: str, num_classes: int = 1000, aux: bool = False) -> dict[str, tuple[int, ...]]:
    """The state_dict shapes of ``name`` with ``num_classes`` outputs (and its aux heads if ``aux``)."""
    return dict(_expected(archs.check_name(name), num_classes, aux))


def has_aux_keys(state: dict, name: str) -> bool:
    """True when ``state`` holds ``name``'s auxiliary heads (to drop before loading without them)."""
    return any(k in state for k in signature(name).aux_keys)


def drop_aux(state: dict, name: str) -> dict:
    """``state`` without ``name``'s auxiliary-head keys (they do not run in eval mode)."""
    aux = signature(name).aux_keys
    return {k: v for k, v in state.items() if k not in aux} if aux else state


def _param_count(state: dict) -> int:
    return sum(v.numel() for k, v in state.items() if not k.endswith(BUFFER_SUFFIXES))


def _plausible(state: dict, name: str, count: int, head: tuple[str, torch.Tensor] | None) -> bool:
    """Could ``state`` be ``name`` with any head width? Registry numbers only, nothing built."""
    if archs.has_aux_heads(name):
        return True  # the file may hold aux heads, which num_params leaves out: always check
    if head is None:
        return False
    key, weight = head
    rows = weight.shape[0]
    fan = weight.numel() // rows
    bias_key = key[: -len("weight")] + "bias"
    bias = state.get(bias_key)
    has_bias = isinstance(bias, torch.Tensor) and tuple(bias.shape) == (rows,)
    per_class = fan + (1 if has_bias else 0)
    return count + (1000 - rows) * per_class == archs.default_weights(name).meta["num_params"]


def _last_matrix(state: dict) -> tuple[str, torch.Tensor] | None:
    """The last ``*.weight`` with 2+ dimensions: the head, in every torchvision CNN's key order."""
    for key in reversed(list(state)):
        value = state[key]
        if key.endswith(".weight") and value.dim() >= 2 and value.shape[0] > 0:
            return key, value
    return None


def mismatch(state: dict, name: str) -> str | None:
    """Why ``state`` is not ``name`` (any head width, aux heads allowed), or None when it fits."""
    sig = signature(name)
    body = drop_aux(state, name) if has_aux_keys(state, name) else state
    expected = dict(sig.shapes)
    weight_key, bias_key = sig.head_keys
    width = body.get(weight_key)
    if isinstance(width, torch.Tensor) and width.dim() == len(expected.get(weight_key, ())):
        rows = int(width.shape[0])
        expected[weight_key] = (rows,) + expected[weight_key][1:]
        if bias_key in expected:
            expected[bias_key] = (rows,)
    return shape_mismatch(body, expected)


def candidates(state: dict) -> list[str]:
    """The CNNs the pre-filter lets through (no model built)."""
    count, head = _param_count(state), _last_matrix(state)
    return [n for n in archs.cnn_names() if _plausible(state, n, count, head)]


def detect_arch(state: dict, hint: str | None = None, path=None) -> str:
    """The torchvision CNN ``state`` belongs to; ``hint`` (``--arch``) is checked alone.

    Raises a one-line WeightsError: the hint does not fit (and why), the file is
    none of the CNNs, or it fits several (named, so ``--arch`` can choose).
    """
    where = f"{path}" if path is not None else "the checkpoint"
    if hint is not None:
        archs.check_name(hint)
        why = mismatch(state, hint)
        if why:
            raise WeightsError(f"{where} is not a {hint} checkpoint: {why}")
        return hint
    fits = [n for n in candidates(state) if mismatch(state, n) is None]
    if len(fits) == 1:
        return fits[0]
    if not fits:
        raise WeightsError(f"{where} is none of torchvision's CNNs: it has keys like {few_keys(list(state))} "
                           f"({len(state)} entries); give --arch NAME to see what does not fit")
    named = " and ".join(fits) if len(fits) == 2 else ", ".join(fits[:-1]) + " and " + fits[-1]
    raise WeightsError(f"{where} matches both {named}; give --arch NAME to choose" if len(fits) == 2
                       else f"{where} matches {named}; give --arch NAME to choose")


def num_classes(state: dict, name: str) -> int | None:
    """Rows of ``name``'s head weight in ``state``, or None when the head is not there."""
    weight = state.get(signature(name).head_keys[0])
    return int(weight.shape[0]) if isinstance(weight, torch.Tensor) and weight.dim() >= 2 else None


__all__ = ["Signature", "candidates", "detect_arch", "drop_aux", "expected_shapes", "has_aux_keys",
           "mismatch", "num_classes", "signature"]
