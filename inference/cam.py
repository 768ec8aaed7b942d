"""Grad-CAM and Grad-CAM++ of one analysed image, for any class at any layer with a [C, H, W] output.

Both come from the kept run (``inference.run``): the activations A are the
layer's kept output (a conv layer's is its pre-ReLU output, even where VGG's
ReLU is in place), and g = d score / d A is the run's gradient at that layer,
which on a chain re-runs no convolution at all. Switching class or layer on
an analysed image therefore costs one backward from the logits to the layer.

- Grad-CAM: ``w_k = mean_{y,x} g_k``; the map is ``ReLU(Σ_k w_k A_k)``.
- Grad-CAM++, exactly as pytorch-grad-cam computes it (so the tools agree):
  ``α = g² / (2g² + (Σ_{y,x} A_k) · g³ + 1e-6)``, α = 0 where g = 0, and
  ``w_k = Σ_{y,x} α · ReLU(g)``.

The class score is the raw logit (``ClassLogit``); "cat" and "dog" are
``log Σ p_i`` over ImageNet's cat and dog classes (``LogProbSum``).
"""
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .blocks import alone
from .classes import IMAGENET_CAT_CLASSES, IMAGENET_DOG_CLASSES
from .probes import ClassLogit, LogProbSum, Target

METHODS = ("gradcam", "gradcam++")
METHOD_NAMES = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++"}
PLUS_EPS = 1e-6  # pytorch-grad-cam's epsilon in α's denominator


@dataclass(frozen=True, eq=False)
class Cam:
    """One class activation map and where it came from (arrays read-only, float32)."""

    layer: str
    method: str
    label: str                 # what the target is called: "tabby", "cat", "class 3"
    index: int | None          # the class index, None for a summed target (cat, dog)
    raw: np.ndarray            # [h, w] at the layer's resolution: ReLU(Σ_k w_k A_k), not normalised
    signed: np.ndarray         # [h, w]: Σ_k w_k A_k, before the ReLU
    weights: np.ndarray        # [C]: w_k
    contributions: np.ndarray  # [C]: w_k · mean_{y,x} A_k (they sum to the mean of ``signed``)

    @property
    def method_name(self) -> str:
        return METHOD_NAMES[self.method]

    @property
    def title(self) -> str:
        return f"{self.method_name} of {self.label} at {self.layer}"

    def __post_init__(self):
        # Normalised where the Cam is made (the worker), so the UI thread only shows it.
        lo, hi = float(self.raw.min()), float(self.raw.max())
        heat = np.zeros_like(self.raw) if hi - lo <= 0 else ((self.raw - lo) / (hi - lo)).astype(np.float32)
        heat.setflags(write=False)
        object.__setattr__(self, "_heat", heat)
        order = np.argsort(-self.contributions, kind="stable")  # most positive first: what pushed it up
        order.setflags(write=False)
        object.__setattr__(self, "_order", order)

    def pushing_up(self, k: int) -> list[int]:
        """The ``k`` channels whose contribution is largest and positive (what raised the score most)."""
        return [int(c) for c in self._order[:k] if self.contributions[c] > 0]

    def normalised(self) -> np.ndarray:
        """The map min–max normalised to [0, 1] (all zeros when it is flat), for display (read-only)."""
        return self._heat

    def top_channels(self, k: int = 10) -> list[dict]:
        """The ``k`` channels of largest |contribution|, largest first."""
        order = np.argsort(-np.abs(self.contributions), kind="stable")[:k]
        return [{"channel": int(c), "weight": float(self.weights[c]), "contribution": float(self.contributions[c])}
                for c in order]

    def report(self, top: int = 10) -> dict:
        """What ``convscope cam --json`` prints."""
        return {"class": {"index": self.index, "label": self.label}, "layer": self.layer, "method": self.method,
                "shape": list(self.raw.shape), "min": float(self.raw.min()), "max": float(self.raw.max()),
                "weights_top": self.top_channels(top)}


def cam_weights(activations: torch.Tensor, grads: torch.Tensor, method: str) -> torch.Tensor:
    """w_k from A and g, both [C, H, W] (float64 inside, so the tiny terms of α survive)."""
    if method == "gradcam":
        return grads.mean(dim=(1, 2))
    if method == "gradcam++":
        g2 = grads * grads
        g3 = g2 * grads
        sum_a = activations.sum(dim=(1, 2), keepdim=True)
        alpha = g2 / (2 * g2 + sum_a * g3 + PLUS_EPS)
        alpha = torch.where(grads != 0, alpha, torch.zeros_like(alpha))
        return (alpha * grads.clamp(min=0)).sum(dim=(1, 2))
    raise ValueError(f"unknown CAM method {method!r}; choose one of {', '.join(METHODS)}")


def grad_cam(run, layer: str, target: Target, method: str = "gradcam", label: str | None = None) -> Cam:
    """The CAM of ``target`` at ``layer`` of ``run`` (an ``inference.run.Run``)."""
    if method not in METHODS:
        raise ValueError(f"unknown CAM method {method!r}; choose one of {', '.join(METHODS)}")
    if layer not in run.layers:
        raise ValueError(f"no layer named {layer!r} in this run")
    shape = run.layers[layer].shape
    if len(shape) != 3:
        raise ValueError(f"{layer} has no spatial output ({'×'.join(map(str, shape))}): "
                         "a CAM needs a layer with channels × height × width")
    acts = run.tensors[layer][0].detach().double().cpu()
    # Grad-CAM needs only each channel's mean gradient, which a chain of pools after the layer hands on
    # whole (no pass over fc6's 411 MB matrix); Grad-CAM++ and other layers take the whole gradient.
    means = run.gradient_channel_means(layer, target) if method == "gradcam" else None
    if means is not None:
        w = torch.from_numpy(means).double()
    else:
        w = cam_weights(acts, torch.from_numpy(run.gradient(layer, target)).double(), method)
    signed = (w[:, None, None] * acts).sum(0)
    contributions = w * acts.mean(dim=(1, 2))
    index = target.index if isinstance(target, ClassLogit) else None
    if label is None:
        label = target_label(target, run.bundle.class_names)
    return Cam(layer, method, label, index, _frozen(signed.clamp(min=0)), _frozen(signed),
               _frozen(w), _frozen(contributions))


def _frozen(t: torch.Tensor) -> np.ndarray:
    a = np.ascontiguousarray(t.float().numpy())
    a.setflags(write=False)
    return a


def upsample_to_input(cam_map: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A [h, w] map bilinearly upsampled onto the network's (H, W) input crop (float32)."""
    t = torch.from_numpy(np.array(cam_map, dtype=np.float32))[None, None]  # a copy: the map may be read-only
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False)[0, 0].numpy()


# ----------------------------------------------------------------------------- layers and targets
def default_cam_layer(specs, shapes: dict[str, tuple[int, ...]], calls: dict[str, int] | None = None) -> str | None:
    """The last ReLU whose output is [C, H, W] with more than one position (VGG16: features.29, relu5_3),
    derived from the model, not from a table. A module that runs more than once (ResNet's shared
    ReLUs) is taken call by call when the specs name each call (ResNet-18: ``layer4.1.relu#2``, the
    last block's output), and passed over when they name it once for all its calls (it cannot be
    differentiated alone); and when a later layer that is not a pooling layer works at the same or a
    coarser resolution (the stem's ReLU at 112×112 in a leaf-only ResNet list; DenseNet's last ReLU
    module, inside its last dense layer, before the 1024-channel ``features.norm5`` its classifier
    reads through a functional ReLU), the last of those is the answer: the last stage's output is
    where a CAM is most about the class."""
    calls = calls or {}
    names = {s.name for s in specs}

    def area(name):
        return shapes[name][1] * shapes[name][2]

    spatial = [s for s in specs if len(shapes.get(s.name, ())) == 3 and area(s.name) > 1
               and alone(s.name, calls, names)]
    if not spatial:
        return None
    relus = [i for i, s in enumerate(spatial) if s.type == "ReLU"]
    if not relus:
        return spatial[-1].name
    best = spatial[relus[-1]]
    later = [s for s in spatial[relus[-1] + 1:] if "Pool" not in s.type and area(s.name) <= area(best.name)]
    return later[-1].name if later else best.name


def cam_layers(specs, shapes: dict[str, tuple[int, ...]]) -> list[str]:
    """Every layer a CAM can be taken at ([C, H, W] outputs), in network order."""
    return [s.name for s in specs if len(shapes.get(s.name, ())) == 3]


def target_label(target: Target, class_names) -> str:
    if isinstance(target, ClassLogit):
        return class_names[target.index] if target.index < len(class_names) else f"class {target.index}"
    return getattr(target, "label", "") or "target"


def resolve_target(spec, class_names, imagenet_head: bool = False) -> tuple[Target, str]:
    """A class from what a user typed: an index, a class name (whole, or a unique part of one), or
    "cat"/"dog" (ImageNet weights: log Σ p over its cat or dog classes). One-line ValueError otherwise."""
    text = str(spec).strip()
    n = len(class_names)
    if text.lstrip("-").isdigit():
        i = int(text)
        if not 0 <= i < n:
            raise ValueError(f"class {i} is out of range: the model has {n} classes (0–{n - 1})")
        return ClassLogit(i), target_label(ClassLogit(i), class_names)
    low = text.lower()
    if imagenet_head and n == 1000 and low in ("cat", "dog"):
        classes = IMAGENET_CAT_CLASSES if low == "cat" else IMAGENET_DOG_CLASSES
        return LogProbSum(tuple(classes), label=low), low
    exact = [i for i, name in enumerate(class_names) if name.lower() == low]
    if exact:
        return ClassLogit(exact[0]), class_names[exact[0]]
    partial = [i for i, name in enumerate(class_names) if low and low in name.lower()]
    if len(partial) == 1:
        return ClassLogit(partial[0]), class_names[partial[0]]
    if not partial:
        hint = ' (or "cat" / "dog")' if imagenet_head and n == 1000 else ""
        raise ValueError(f"no class named {text!r}: give a class index 0–{n - 1} or a class name{hint}")
    names = ", ".join(class_names[i] for i in partial[:6]) + (", …" if len(partial) > 6 else "")
    hint = " (\"cat\" and \"dog\" sum ImageNet's cat or dog classes with ImageNet weights only)" \
        if low in ("cat", "dog") else ""
    raise ValueError(f"{text!r} matches {len(partial)} classes ({names}): give the whole name or the index{hint}")


def cam_of_run(run, layer: str | None = None, target: str | int | None = None, method: str = "gradcam") -> Cam:
    """What the window and the CLI ask for, in their terms: ``layer`` a module name or an alias
    (None: the model's default CAM layer), ``target`` what the user typed (None: the top-1 class)."""
    from .aliases import resolve_layer_name

    shapes = {name: out.shape for name, out in run.layers.items()}
    if layer is None:
        name = default_cam_layer(run.specs, shapes, run.calls)
        if name is None:
            raise ValueError("this model has no layer with a spatial output to take a CAM at")
    else:
        name = resolve_layer_name(str(layer), run.bundle.aliases, list(run.layers))
        if name is None:
            known = list(run.layers)
            raise ValueError(f"no layer named {layer!r}; try one of {', '.join(known[:3])} … or an alias like relu5_3")
    bundle = run.bundle
    if target is None:
        top = run.predictions.top[0] if run.predictions is not None else None
        index = top["index"] if top else int(run.logits[0].argmax())
        t, label = ClassLogit(index), target_label(ClassLogit(index), bundle.class_names)
    else:
        t, label = resolve_target(target, bundle.class_names, bundle.imagenet_head)
    return grad_cam(run, name, t, method, label)


def likely_targets(run, k: int = 5) -> list:
    """What a user most likely explains next: the top-k classes, and cat and dog with ImageNet weights
    (the same targets ``resolve_target`` builds, so primed gradients are found again)."""
    bundle = run.bundle
    targets = [ClassLogit(p["index"]) for p in (run.predictions.top[:k] if run.predictions else [])]
    if bundle.imagenet_head and len(bundle.class_names) == 1000:
        targets += [resolve_target(word, bundle.class_names, True)[0] for word in ("cat", "dog")]
    return targets
