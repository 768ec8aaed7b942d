"""The scan's forward side: which layers, their shapes, the batch size, and a forward that keeps only
each chosen layer's per-channel maximum and where it is.

``scan_plan`` learns every layer's output shape from one forward of a meta-device copy of the model
(no memory, no arithmetic), so a wrong layer (no spatial map) is one line before any image is read,
and the index can be keyed with its channel count and map size. ``Reducer`` hooks the chosen modules
of the real model (the call a per-call name means: ``layer4.1.relu#2``), reduces each output to
``max`` and ``argmax`` over its positions the moment it exists (so an in-place op later in the
forward changes nothing, and nothing is kept), and ends the forward once the last chosen layer is
done: the layers after it are never run.
"""
from __future__ import annotations

import functools
import os
import threading
import weakref
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from PIL import Image

from .aliases import resolve_layer_name
from .blocks import call_of, is_leaf, module_of
from .errors import Cancelled, ConvScopeError
from .preprocess import preprocess as prepare_image

CPU_MAX_BATCH = 16    # on 2 cores the forward alone goes no faster beyond 8 (resnet18) or 2 (VGG16), but each
                      # batch also pays a fixed cost around its decoding (torch's idle threads spin ~5 ms after
                      # a forward, on the cores the decoders want): resnet18's scan 1.13-1.16 x bare at 8,
                      # 1.09-1.14 at 16 (bench/bench_scan.py)
CPU_BATCH_BYTES = 256 << 20   # and at most this much activation memory (VGG16: 6 images, resnet18: 16)
CUDA_MAX_BATCH = 64
CPU_MEMORY_SHARE = 0.25   # of MemAvailable, for the batch's activations
CUDA_MEMORY_SHARE = 0.5   # of the device's free memory
PEAK_FACTOR = 3           # live activations at the peak of a forward, in units of the largest output


@dataclass(frozen=True)
class ScanPlan:
    """What a scan of ``layers`` of one model needs to know before it starts."""

    layers: tuple[str, ...]                         # qualified (per-call) names, in forward order
    shapes: dict[str, tuple[int, ...]]              # every listed layer's output shape without the batch
    input_size: tuple[int, int]                     # (H, W) of the network's input for this preprocessing
    peak_bytes: int                                 # float32 bytes of the largest output of one image

    def channels(self, name: str) -> int:
        return self.shapes[name][0]

    def map_size(self, name: str) -> tuple[int, int]:
        return (self.shapes[name][1], self.shapes[name][2])


def input_size_of(bundle, mode: str) -> tuple[int, int]:
    """The network input's (H, W) for ``mode`` (inception_v3's imagenet crop: 299), from the real
    preprocessing of a tiny picture, once per architecture (its transform is its weights enum's)."""
    return _input_size(bundle.arch, mode, bundle.transform)


@functools.lru_cache(maxsize=None)
def _input_size(arch: str, mode: str, transform) -> tuple[int, int]:
    t = prepare_image(Image.new("RGB", (8, 8)), mode, transform=transform).tensor
    return (int(t.shape[-2]), int(t.shape[-1]))


_SHAPES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # model → {input size: (shapes, peak)}
_SHAPES_LOCK = threading.Lock()


def _shapes(bundle, input_size: tuple[int, int], names: list[str]) -> tuple[dict, int]:
    """Each listed layer's output shape and the largest leaf output's float32 bytes, from a meta forward."""
    from .receptive_field import meta_copy
    from .run import forward_lock

    model = bundle.model
    with _SHAPES_LOCK:
        known = _SHAPES.get(model, {}).get(input_size)
    if known is not None:
        return known
    with forward_lock(model):
        twin = meta_copy(model)
    twin.eval()
    wanted = set(names)
    shapes: dict[str, tuple[int, ...]] = {}
    peak = [0]
    handles = []
    for mname, module in twin.named_modules():
        if not mname:
            continue
        leaf = is_leaf(module)
        counter = [0]

        def hook(_m, _args, out, mname=mname, counter=counter, leaf=leaf):
            counter[0] += 1
            name = mname if counter[0] == 1 else f"{mname}#{counter[0]}"
            if isinstance(out, torch.Tensor):
                if name in wanted:
                    shapes[name] = tuple(out.shape[1:])
                if leaf:
                    peak[0] = max(peak[0], out[0].numel() * 4)
        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            twin(torch.zeros((1, 3, *input_size), device="meta"))
    finally:
        for h in handles:
            h.remove()
    result = (shapes, max(peak[0], 3 * input_size[0] * input_size[1] * 4))
    with _SHAPES_LOCK:
        _SHAPES.setdefault(model, {})[input_size] = result
    return result


def default_scan_layer(bundle, plan_shapes: dict | None = None, mode: str = "imagenet") -> str:
    """The layer a scan takes when none is named: the model's default layer for explanations
    (``inference.cam.default_cam_layer``: the last ReLU with a spatial map, or the last stage's output
    after it; VGG16 relu5_3, ResNet-18 layer4.1.relu#2), where units answer to whole objects."""
    from .analysis import layer_specs
    from .cam import default_cam_layer

    specs = layer_specs(bundle)
    shapes = plan_shapes
    if shapes is None:
        shapes, _ = _shapes(bundle, input_size_of(bundle, mode), [s.name for s in specs])
    name = default_cam_layer(specs, shapes)
    if name is None:
        raise ConvScopeError(f"{bundle.arch} has no layer with a spatial map to scan")
    return name


def scan_plan(bundle, layers: list[str] | None, mode: str = "imagenet") -> ScanPlan:
    """Resolve ``layers`` (names or aliases; None: ``default_scan_layer``) and learn their shapes.
    One-line ``ConvScopeError`` for an unknown layer or one without a [C, H, W] map."""
    from .analysis import layer_specs

    specs = layer_specs(bundle)
    known = [s.name for s in specs]
    size = input_size_of(bundle, mode)
    shapes, peak = _shapes(bundle, size, known)
    if not layers:
        names = [default_scan_layer(bundle, shapes)]
    else:
        names = []
        for layer in layers:
            name = resolve_layer_name(str(layer), bundle.aliases or {}, known)
            if name is None:
                raise ConvScopeError(f"no layer named {layer!r} in {bundle.arch}; try one of {', '.join(known[:3])} …")
            if len(shapes.get(name, ())) != 3:
                shape = "×".join(map(str, shapes.get(name, ()))) or "no tensor"
                raise ConvScopeError(f"{layer} has no spatial map (its output is {shape}): choose a layer with one")
            if name not in names:
                names.append(name)
    order = {n: i for i, n in enumerate(known)}
    return ScanPlan(tuple(sorted(names, key=order.__getitem__)), shapes, size, peak)


def mem_available() -> int | None:
    """MemAvailable from /proc/meminfo, in bytes (None where there is none)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def choose_batch(plan: ScanPlan, device: torch.device) -> int:
    """The batch size: what fits in a share of the free memory (MemAvailable, or the CUDA device's free
    memory), capped where a larger batch goes no faster (on the CPU: a count, and a size in bytes, so
    a heavy network's batch, which holds the model's lock, stays short)."""
    per_image = PEAK_FACTOR * plan.peak_bytes + 3 * plan.input_size[0] * plan.input_size[1] * 4
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        budget, cap = free * CUDA_MEMORY_SHARE, CUDA_MAX_BATCH
    else:
        free = mem_available() or 2 << 30
        budget, cap = min(free * CPU_MEMORY_SHARE, CPU_BATCH_BYTES), CPU_MAX_BATCH
    return int(max(1, min(cap, budget // per_image)))


def reduce_max(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, C, H, W] → (each channel's maximum [B, C], its position y·W + x [B, C]; the first one on ties),
    read in the tensor's own memory order (channels_last: no copy)."""
    b, c, h, w = out.shape
    if not out.is_contiguous() and out.is_contiguous(memory_format=torch.channels_last):
        return out.permute(0, 2, 3, 1).reshape(b, h * w, c).max(dim=1)
    return out.reshape(b, c, h * w).max(dim=2)


class _Stop(Exception):
    """Raised by a hook once every chosen layer is reduced: the rest of the forward is not needed."""


class Reducer:
    """Runs batches through ``bundle``'s model, returning each chosen layer's (max, position) as numpy.

    Hooks are added for each batch under the model's forward lock (the window's own passes on the same
    model wait for it), and removed after it. ``cancel()`` is polled at every leaf: a batch that is
    cancelled raises ``Cancelled`` and leaves nothing behind."""

    def __init__(self, bundle, layers: tuple[str, ...], cancel: Callable[[], bool] | None = None):
        self.bundle = bundle
        self.layers = tuple(layers)
        self.cancel = cancel
        modules = dict(bundle.model.named_modules())
        self._targets: dict[str, dict[int, str]] = {}
        for name in self.layers:
            self._targets.setdefault(module_of(name), {})[call_of(name)] = name
        self._modules = {m: modules[m] for m in self._targets}
        self._leaves = [m for m in bundle.model.modules() if is_leaf(m)]

    def __call__(self, x: torch.Tensor) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        from .run import forward_lock

        device = self.bundle.device
        x = x.to(device, non_blocking=True)
        if device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        found: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        want = len(self.layers)
        handles = []

        def hook_for(calls: dict[int, str]):
            seen = [0]

            def hook(_m, _args, out):
                seen[0] += 1
                name = calls.get(seen[0])
                if name is not None:
                    if not isinstance(out, torch.Tensor) or out.dim() != 4:
                        raise ConvScopeError(f"{name} gave no [C, H, W] map in this forward")
                    found[name] = reduce_max(out)
                    if len(found) == want:
                        raise _Stop
            return hook

        def check(_m, _args):
            if self.cancel():
                raise Cancelled("the scan was cancelled")

        model = self.bundle.model
        with forward_lock(model), torch.inference_mode():
            try:
                if self.cancel is not None:
                    handles += [m.register_forward_pre_hook(check) for m in self._leaves]
                for mname, calls in self._targets.items():
                    handles.append(self._modules[mname].register_forward_hook(hook_for(calls)))
                try:
                    model(x)
                except _Stop:
                    pass
            finally:
                for h in handles:
                    h.remove()
            missing = [n for n in self.layers if n not in found]
            if missing:
                raise ConvScopeError(f"{missing[0]} did not run in the model's forward")
            out = {}
            for name, (vals, pos) in found.items():
                v = torch.nan_to_num(vals.float(), nan=float("-inf")).cpu().numpy()
                out[name] = (v, pos.to(torch.int32).cpu().numpy())
        return out


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
