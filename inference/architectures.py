"""Every torchvision classification CNN, described from torchvision's own registry.

Nothing here is a per-model table: the names come from ``list_models``, the
parameter counts, URLs, categories and transforms from each weights enum, what
is a transformer from the module its builder lives in, and the classifier head
from a forward of the model itself (on the meta device, so it costs nothing).
No weights are downloaded or loaded here.
"""
from __future__ import annotations

import copy
import difflib
import inspect
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._device import _device_constructors
from torchvision import models as tv_models

from . import download
from .blocks import is_leaf
from .errors import WeightsError

TRANSFORMER_MODULES = frozenset({"vision_transformer", "swin_transformer", "maxvit"})
"""torchvision.models submodules whose builders make transformers, not CNNs."""

HEAD_PROBE_SIZE = 224   # every torchvision CNN takes 224×224 (inception_v3's minimum is 75)


def _family(name: str) -> str:
    """The torchvision.models submodule a builder lives in ("resnet", "vision_transformer" …)."""
    return tv_models.get_model_builder(name).__module__.rsplit(".", 1)[-1]


@lru_cache(maxsize=1)
def _registry() -> tuple[str, ...]:
    return tuple(tv_models.list_models(module=tv_models))


def is_transformer(name: str) -> bool:
    return _family(name) in TRANSFORMER_MODULES


@lru_cache(maxsize=1)
def _cnns() -> tuple[str, ...]:
    return tuple(n for n in _registry() if not is_transformer(n))


def cnn_names() -> list[str]:
    """Every torchvision classification CNN, in the registry's (alphabetical) order."""
    return list(_cnns())


def transformer_names() -> list[str]:
    """The classification models refused for now (vision transformers)."""
    return [n for n in _registry() if is_transformer(n)]


def refusal(name: str) -> str | None:
    """The one line saying why ``name`` cannot be shown, or None for a CNN ConvScope knows."""
    if name in _cnns():
        return None
    if name in _registry():
        return f"{name} is a vision transformer: ConvScope shows CNNs for now"
    close = difflib.get_close_matches(name, _cnns(), n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; `convscope models` lists them"
    return f"unknown model {name!r}: not one of torchvision's CNNs{hint}"


def check_name(name: str) -> str:
    """``name`` if it is a known CNN, else a WeightsError with the refusal line."""
    why = refusal(name)
    if why:
        raise WeightsError(why)
    return name


# ---------------------------------------------------------------------------- registry facts


@dataclass(frozen=True)
class ArchInfo:
    """What the registry says about one CNN's default weights (no download, no weights loaded)."""

    name: str
    weights: str                 # e.g. "ResNet50_Weights.IMAGENET1K_V2"
    num_params: int
    url: str
    file_name: str               # the file torch.hub's cache holds for ``url``
    cache_path: str              # where that file is (or would be)
    cached: bool                 # is it there now
    download_mb: float | None    # the registry's file size in MB, when it gives one
    categories: tuple[str, ...]
    transforms: Callable         # the weights enum's preprocessing (torchvision's ImageClassification)
    input_size: int              # the crop the network sees (inception_v3: 299)
    resize_size: int             # the short side before the crop


def default_weights(name: str):
    """The DEFAULT member of ``name``'s weights enum."""
    return tv_models.get_model_weights(check_name(name)).DEFAULT


def arch_info(name: str) -> ArchInfo:
    """Registry facts for ``name``; ``cached`` is checked now, on every call."""
    w = default_weights(name)
    transform = w.transforms()
    path = download.cached_path(w.url)
    size = w.meta.get("file_size", w.meta.get("_file_size"))
    return ArchInfo(
        name=name, weights=f"{type(w).__name__}.{w.name}", num_params=int(w.meta["num_params"]),
        url=w.url, file_name=os.path.basename(w.url), cache_path=str(path), cached=path.is_file(),
        download_mb=float(size) if size is not None else None, categories=tuple(w.meta["categories"]),
        transforms=transform, input_size=int(transform.crop_size[0]), resize_size=int(transform.resize_size[0]),
    )


# ---------------------------------------------------------------------------- building


def _model_class(name: str) -> type:
    return inspect.signature(tv_models.get_model_builder(name)).return_annotation


def has_aux_heads(name: str) -> bool:
    """True for models whose class takes ``aux_logits`` (GoogLeNet, Inception v3)."""
    cls = _model_class(name)
    return inspect.isclass(cls) and "aux_logits" in inspect.signature(cls.__init__).parameters


def build_kwargs(name: str, num_classes: int = 1000, aux: bool = False) -> dict:
    """Builder arguments: the class count, aux heads off (unless ``aux``), torchvision's init made explicit."""
    kwargs: dict = {"num_classes": num_classes}
    cls = _model_class(name)
    params = inspect.signature(cls.__init__).parameters if inspect.isclass(cls) else {}
    if "aux_logits" in params:
        kwargs["aux_logits"] = aux
    if "init_weights" in params and params["init_weights"].default is None:
        kwargs["init_weights"] = True  # what torchvision does for None, minus its FutureWarning
    return kwargs


def build(name: str, num_classes: int = 1000, seed: int = 0) -> nn.Module:
    """An untrained ``name``, built and initialised as torchvision does, reproducibly from ``seed``."""
    check_name(name)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return tv_models.get_model(name, weights=None, **build_kwargs(name, num_classes))


class _MetaParameters(TorchFunctionMode):
    """Like ``torch.device("meta")``, but tensors made from data stay real.

    RegNet's builders compute their stage widths with ``torch.arange`` and read them
    back with ``.tolist()``, which a meta tensor cannot do. Parameters and buffers
    are made by ``empty``/``zeros``/``ones``, so they still land on the meta device.
    Torch function modes are per thread, so other threads are not affected.
    """

    _DATA = frozenset({torch.arange, torch.range, torch.linspace, torch.logspace, torch.tensor, torch.as_tensor})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if kwargs.get("device") is None and func not in self._DATA and func in _device_constructors():
            kwargs["device"] = "meta"
        return func(*args, **kwargs)


def build_meta(name: str, num_classes: int = 1000, aux: bool = False) -> nn.Module:
    """``name`` on the meta device, in eval mode: shapes only, no memory, no init cost."""
    check_name(name)
    with _MetaParameters():
        model = tv_models.get_model(name, weights=None, **build_kwargs(name, num_classes, aux))
    return model.to("meta").eval()  # the few tensors made from data (a BN's step counter)


# ---------------------------------------------------------------------------- the head


def _meta_twin(model: nn.Module) -> nn.Module:
    """A structural copy of ``model`` whose tensors are on the meta device and which has no hooks.

    The original is not touched (another thread may be running it), and no weight is copied.
    """
    memo: dict = {}
    for t in list(model.parameters()) + list(model.buffers()):
        meta = torch.empty_like(t, device="meta")
        memo[id(t)] = nn.Parameter(meta, t.requires_grad) if isinstance(t, nn.Parameter) else meta
    for m in model.modules():
        for key, value in vars(m).items():
            if key.endswith("hooks") and isinstance(value, dict):
                memo[id(value)] = type(value)()
    return copy.deepcopy(model, memo)


def head_of(model: nn.Module, input_size: int = HEAD_PROBE_SIZE) -> tuple[str, int]:
    """(qualified name, class count) of the layer that produces the logits.

    Found by running the model (a meta twin of it) and keeping the last leaf with
    parameters that ran: ``fc``, ``classifier.6``, SqueezeNet's ``classifier.1``
    conv… whatever it is called. Its output channels must be the logits' width.
    """
    twin = model if _on_meta(model) else _meta_twin(model)
    twin.eval()
    names = {m: n for n, m in twin.named_modules()}
    order: list[str] = []
    handles = [m.register_forward_hook(lambda mod, i, o: order.append(names[mod]))
               for m in twin.modules() if is_leaf(m) and any(True for _ in m.parameters(recurse=False))]
    try:
        with torch.no_grad():
            logits = twin(torch.empty(1, 3, input_size, input_size, device="meta"))
    finally:
        for h in handles:
            h.remove()
    if not order or not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        raise WeightsError("cannot find the model's classifier: its forward does not end in a [N, classes] tensor")
    head = order[-1]
    weight = twin.get_submodule(head).weight
    if weight.shape[0] != logits.shape[1]:
        raise WeightsError(f"cannot find the model's classifier: its last layer {head} does not make the logits")
    return head, int(logits.shape[1])


def _on_meta(model: nn.Module) -> bool:
    tensors = list(model.parameters()) + list(model.buffers())
    return bool(tensors) and all(t.is_meta for t in tensors)


__all__ = [
    "ArchInfo", "TRANSFORMER_MODULES", "arch_info", "build", "build_kwargs", "build_meta", "check_name",
    "cnn_names", "default_weights", "has_aux_heads", "head_of", "is_transformer", "refusal", "transformer_names",
]


def model_catalogue() -> list[dict]:
    """Every CNN as the window's Model menu lists it: its family (the torchvision submodule), parameter
    count, whether its ImageNet weights are cached, and the download's size. Registry only, no model."""
    rows = []
    for name in cnn_names():
        w = default_weights(name)
        size = w.meta.get("file_size", w.meta.get("_file_size"))
        rows.append({"name": name, "family": _family(name), "num_params": int(w.meta["num_params"]),
                     "cached": download.cached_path(w.url).is_file(),
                     "download_mb": float(size) if size is not None else None})
    return rows
