"""Which modules of a network produce an output worth listing, in the order they run.

Learnt from one forward on the meta device (parameters swapped for meta
tensors by ``torch.func.functional_call``: no weights are read, no arithmetic
is done, a few milliseconds even for a large net), with a hook on every module:

- every call of every leaf is a layer; a module that runs more than once
  (ResNet's block ``relu``) gives one layer per call, ``layer1.0.relu``,
  ``layer1.0.relu#2`` …;
- a non-leaf module is a **block** when what it returns is not the tensor the
  last listed layer returned (the same object at the same version): a residual
  sum (MobileNet's ``x + block(x)``, EfficientNet's ``result += input``), a
  concatenation (Inception, DenseNet, Fire, ShuffleNet), a functional op after
  its last child (GoogLeNet's ``BasicConv2d``: ``F.relu(bn(x))``). No class
  names: the rule is what the forward does, so a new architecture needs nothing;
- any other container (``nn.Sequential``, ResNet's ``BasicBlock``, whose
  residual sum goes through its ``relu`` last) returns a tensor that is already
  listed: it is not listed again; the layer that returned it names it in
  ``ends`` (VGG's ``features.30`` ends ``features``), so a tree can show a
  container's output without a copy or a duplicate row;
- a module that never ran (GoogLeNet's and Inception v3's auxiliary heads in
  eval mode) is listed once, at the top of the subtree that did not run,
  flagged ``ran=False``, after everything that ran.

Layers are in the order their outputs exist (a block after its last child);
the hierarchy is in the names: ``parent_of("layer1.0.relu#2") == "layer1.0"``.
"""
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Entry:
    """One listed output: a module's call (or a module that never ran)."""

    name: str                  # "layer1.0.relu#2"
    module: str                # "layer1.0.relu"
    call: int                  # 1-based; 0 for a module that never ran
    block: bool                # a non-leaf module's own output
    ran: bool = True
    ends: tuple[str, ...] = ()  # containers whose output is this same tensor


def module_of(name: str) -> str:
    """The module's qualified name of a per-call layer name ("layer1.0.relu#2" → "layer1.0.relu")."""
    return name.split("#", 1)[0]


def call_of(name: str) -> int:
    """Which call of its module a layer name is (1 for a plain name)."""
    _, _, k = name.partition("#")
    return int(k) if k else 1


def parent_of(name: str) -> str:
    """The containing module's qualified name ("" at the top)."""
    return module_of(name).rpartition(".")[0]


def call_name(module: str, call: int) -> str:
    return module if call == 1 else f"{module}#{call}"


def alone(name: str, calls: dict[str, int], names) -> bool:
    """Whether layer ``name`` can be edited or differentiated by itself: its module runs once, or the
    listed ``names`` give each call its own name (``layer1.0.relu#2``), so a hook can pick the call.
    A leaf-only list names a shared module once for all its calls: that one cannot."""
    return calls.get(name, 1) == 1 or call_name(module_of(name), 2) in names


def is_leaf(module: nn.Module) -> bool:
    return not any(True for _ in module.children())


def leaf_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every module with no children, with its qualified name, in registration order."""
    return [(n, m) for n, m in model.named_modules() if n and is_leaf(m)]


class LastListed:
    """The rule that decides whether a container's output is listed: only when it is not the tensor the
    last listed output was (the same object at the same version). Shared by the layer list (below) and
    the receptive-field tracer, so both name the same layers."""

    __slots__ = ("tensor", "version")

    def __init__(self) -> None:
        self.tensor, self.version = None, -1

    def listed(self, output) -> None:
        """``output`` was just listed (a non-tensor leaves the last tensor as it was)."""
        if isinstance(output, torch.Tensor):
            self.tensor, self.version = output, output._version

    def already_listed(self, output) -> bool:
        """True when ``output`` is the tensor last listed, unchanged since: a plain container's output."""
        return output is self.tensor and output is not None and output._version == self.version

    def clear(self) -> None:
        self.tensor = None


@contextmanager
def _meta_parameters(model: nn.Module):
    """The model's parameters and buffers as meta tensors, for ``functional_call``."""
    tensors = {}
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        tensors[name] = t if t.device.type == "meta" else torch.empty_like(t, device="meta")
    yield tensors


def run_order(model: nn.Module, size: int = 224) -> list[Entry]:
    """Every output of one forward of ``model`` on a [1, 3, size, size] meta input, as the docstring says.

    The caller must hold the model's forward lock: parameters are swapped for the
    pass and hooks are on the model's own modules.
    """
    from .capture import out_of_place  # capture builds on this module's rules

    names = {m: n for n, m in model.named_modules()}
    entries: list[Entry] = []
    ends: dict[str, list[str]] = {}
    calls: dict[str, int] = {}
    last = LastListed()

    def hook(module, args, output):
        name = names.get(module, "")
        if not name:
            return
        k = calls[name] = calls.get(name, 0) + 1
        leaf = is_leaf(module)
        tensor = isinstance(output, torch.Tensor)
        if not leaf:
            if not tensor:
                return
            if last.already_listed(output):
                ends.setdefault(entries[-1].name, []).append(call_name(name, k))
                return
        entries.append(Entry(call_name(name, k), name, k, not leaf))
        last.listed(output)

    handles = [m.register_forward_hook(hook) for m in names]
    x = torch.empty(1, 3, size, size, device="meta")
    try:
        with _meta_parameters(model) as tensors, out_of_place(model), torch.no_grad():
            torch.func.functional_call(model, tensors, (x,), strict=False, tie_weights=True)
    finally:
        for h in handles:
            h.remove()
    last.clear()
    listed = [Entry(e.name, e.module, e.call, e.block, True, tuple(ends.get(e.name, ()))) for e in entries]
    ran = set(calls)
    for name, module in model.named_modules():
        if name and name not in ran and (parent_of(name) in ran or not parent_of(name)):
            listed.append(Entry(name, name, 0, not is_leaf(module), ran=False))  # its subtree did not run
    return listed
