"""Build a torchvision CNN (VGG16 by default) and resolve its weights: a checkpoint, torchvision's
cache, a download, or untrained.

The order is the one a user expects: an explicit ``--weights FILE`` wins (its
architecture detected from its keys and shapes, or named by ``--arch``); else
torchvision's ImageNet weights for the architecture if already in torch.hub's
cache (the file name from its weights enum's URL); else download them (unless
offline); else an untrained model from a fixed seed, flagged ``pretrained=False``
everywhere it is reported. Everything per architecture comes from torchvision's
registry (``inference.architectures``); VGG16 keeps a faster untrained build.
"""
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torchvision.models import vgg16

from . import architectures, checkpoint, download
from .aliases import ALIASES_BY_ARCH
from .arch_detection import detect_arch, drop_aux, expected_shapes as arch_shapes, num_classes as head_classes
from .allocator import keep_freed_memory
from .classes import IMAGENET_CATEGORIES, default_class_names
from .errors import Cancelled, DownloadError, WeightsError
from .weights_request import WeightsRequest

ARCH = "vgg16"   # the default architecture
UNTRAINED_SEED = 0
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class ModelBundle:
    """A ready model and everything the views report about it."""

    model: nn.Module
    arch: str
    source: str                     # "file" | "imagenet" | "untrained"
    path: str | None
    pretrained: bool
    class_names: list[str]
    device: torch.device
    notice: str | None = None       # e.g. why a download fell back to untrained
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def transform(self):
        """The preprocessing of the architecture's weights enum (``transforms()``: inception_v3 resizes
        to 342 and crops 299); None for VGG16, whose IMAGENET1K_V1 transforms are the default."""
        return _weights_transform(self.arch)

    @property
    def display_name(self) -> str:
        """How captions name the model: see :func:`display_name`."""
        return display_name(self.model, self.arch)

    @property
    def imagenet_head(self) -> bool:
        """True when the outputs are ImageNet's 1000 classes from trained weights."""
        return self.pretrained and self.num_classes == 1000

    def weights_text(self) -> str:
        """Where the weights came from, as every view states it.

        Only torchvision's own weights are called ImageNet-pretrained: a file is
        "weights from FILE (N classes)", even with 1000 ImageNet-named classes."""
        if self.source == "file":
            names = ", ImageNet's class names" if self.class_names == IMAGENET_CATEGORIES else ""
            return f"weights from {Path(self.path).name} ({self.num_classes} classes{names})"
        if self.source == "imagenet":
            return "ImageNet-pretrained weights (torchvision)"
        return f"untrained (random, seed {UNTRAINED_SEED})"

    def report(self) -> dict:
        return {"source": self.source, "path": self.path, "pretrained": self.pretrained}


@lru_cache(maxsize=None)
def _weights_transform(arch: str):
    """Built once per architecture (not once per image: arch_info also looks at the cache on disk)."""
    if arch == ARCH or architectures.refusal(arch):  # VGG16, or a model of no registry name
        return None
    return architectures.default_weights(arch).transforms()


def display_name(model: nn.Module, arch: str) -> str:
    """The registry's name spelt as its model class spells it: vgg16 → VGG16, resnet50 → ResNet50,
    densenet121 → DenseNet121, mobilenet_v3_small → MobileNetV3_small; the name as it is when the
    class name is no prefix of it (inception_v3, class Inception3)."""
    cls = type(model).__name__
    plain = arch.replace("_", "")
    if not plain.lower().startswith(cls.lower()):
        return arch
    # Walk ``arch`` until as many letters and digits as the class name has are consumed.
    k, taken = 0, 0
    while k < len(arch) and taken < len(cls):
        taken += arch[k] != "_"
        k += 1
    return cls + arch[k:]


def pick_device(name: str = "auto") -> torch.device:
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; choose one of {', '.join(DEVICES)}")
    if name == "cuda" and not torch.cuda.is_available():
        raise WeightsError("--device cuda: no CUDA device is available on this machine")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def expected_shapes(num_classes: int = 1000) -> dict[str, tuple[int, ...]]:
    """The state_dict shapes of VGG16 with ``num_classes`` outputs, without allocating weights."""
    with torch.device("meta"):
        model = vgg16(num_classes=num_classes)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def model_from_state(state: dict[str, torch.Tensor], path: str, arch: str = ARCH) -> nn.Module:
    """An ``arch`` holding ``state`` (checked first, so a wrong file gives one clear line)."""
    if arch == ARCH:
        num_classes = checkpoint.num_classes_of(state, path)
        checkpoint.check_state_dict(state, expected_shapes(num_classes), path, ARCH)
        with torch.device("meta"):
            model = vgg16(num_classes=num_classes)
    else:
        state = drop_aux(state, arch)  # aux heads are not run in eval mode: not built, not loaded
        num_classes = head_classes(state, arch)
        if num_classes is None:
            raise WeightsError(f"{path}: no final layer weight for {arch} in the checkpoint")
        checkpoint.check_state_dict(state, arch_shapes(arch, num_classes), path, arch)
        model = architectures.build_meta(arch, num_classes)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()},
                          strict=True, assign=True)
    return model


def file_arch(state: dict, request: WeightsRequest) -> str:
    """The architecture of a checkpoint: ``--arch`` if given (checked), else detected (VGG16 first:
    the default and the common case costs no search)."""
    if request.arch is None and _vgg16_like(state):
        return ARCH  # and a near miss (a key missing) gets VGG16's own message naming it
    return detect_arch(state, hint=request.arch, path=request.weights)


def _vgg16_like(state: dict) -> bool:
    """VGG16's head key, no batch norm, and about its 32 entries (VGG11/13/19 have 22, 26, 38)."""
    return ("classifier.6.weight" in state and not any(k.endswith("running_mean") for k in state)
            and 30 <= len(state) <= 34)


def untrained_model(num_classes: int = 1000, abort: Callable[[], bool] | None = None) -> nn.Module:
    """VGG16 initialised as torchvision initialises it, from a fixed seed, so runs are reproducible.

    ``vgg16()`` initialises every Linear twice (its own reset, then VGG's normal
    init over 123 M weights); building on the meta device and running VGG's init
    scheme once halves the time to a first result (1.3 s → 0.7 s here).
    """
    with torch.device("meta"):
        model = vgg16(num_classes=num_classes)
    model = model.to_empty(device="cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(UNTRAINED_SEED)
        for m in model.modules():  # torchvision.models.VGG's init, once
            if abort is not None and abort():
                raise Cancelled("the app is closing")  # between layers: closing never waits for the whole init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)
    return model


_prepared_untrained: dict[tuple[str, str], nn.Module] = {}


def release_untrained() -> None:
    """Forget the cached untrained model (about 530 MB) once other weights are in use."""
    _prepared_untrained.clear()


def needs_download(request: WeightsRequest) -> bool:
    """True when ``request`` resolves to ImageNet weights that are not cached and may be downloaded."""
    if request.weights or request.untrained or not request.download_allowed:
        return False
    return not download.cached_path(request.url or imagenet_url(request.arch)).is_file()


def imagenet_url(arch: str | None) -> str:
    """Where ``arch``'s ImageNet weights come from: its weights enum's DEFAULT (VGG16: IMAGENET1K_V1)."""
    arch = arch or ARCH
    return download.IMAGENET_URL if arch == ARCH else architectures.default_weights(arch).url


def shared_untrained(device: torch.device, abort: Callable[[], bool] | None = None, arch: str = ARCH) -> nn.Module:
    """The untrained model is the same every time (fixed seed, never modified): build it once per device."""
    key = (arch, str(device))
    if key not in _prepared_untrained:
        _prepared_untrained.clear()  # one untrained model at a time (VGG16's is 530 MB)
        model = untrained_model(abort=abort) if arch == ARCH else architectures.build(arch, seed=UNTRAINED_SEED)
        _prepared_untrained[key] = prepare(model, device)
    return _prepared_untrained[key]


def prepare(model: nn.Module, device: torch.device) -> nn.Module:
    """Eval mode, on the device; channels_last on CPU is markedly faster for VGG's convs."""
    model = model.eval().to(device)
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_model(request: WeightsRequest = WeightsRequest(), *,
               progress: Callable[[int, int | None], None] | None = None,
               cancel: Callable[[], bool] | None = None,
               abort: Callable[[], bool] | None = None) -> ModelBundle:
    """Resolve the weights as the module docstring says and return a ready model.

    Raises WeightsError for a bad explicit checkpoint; a failed or cancelled
    download falls back to the untrained model with a ``notice``. ``abort()``
    (the app is closing) skips that fallback: nothing more is built.
    """
    device = pick_device(request.device)
    keep_freed_memory()
    if request.weights:
        state = checkpoint.read_state_dict(request.weights)
        arch = file_arch(state, request)
        model = model_from_state(state, request.weights, arch)
        names = checkpoint.find_class_names(request.weights, request.classes)
        n = head_classes(state, arch) if arch != ARCH else checkpoint.num_classes_of(state, request.weights)
        if names is not None and len(names) != n:
            raise WeightsError(f"class names file has {len(names)} names but '{Path(request.weights).name}' has {n} classes")
        return ModelBundle(prepare(model, device), arch, "file", str(request.weights), True,
                           names or default_class_names(n), device, aliases=ALIASES_BY_ARCH.get(arch, {}))

    arch = architectures.check_name(request.arch or ARCH)
    aliases = ALIASES_BY_ARCH.get(arch, {})
    notice = None
    if not request.untrained:
        url = request.url or imagenet_url(arch)
        cached = download.cached_path(url)
        if not cached.is_file() and request.download_allowed:
            try:
                download.download_weights(url, cached, progress=progress, cancel=cancel)
            except Cancelled:
                if not request.fallback or (abort is not None and abort()):
                    raise
                notice = "ImageNet weights download cancelled; using the untrained model"
            except DownloadError as err:
                if not request.fallback:
                    raise
                notice = f"{err}; using the untrained model"
        elif not cached.is_file():
            if not request.fallback:
                raise DownloadError("offline: ImageNet weights are not in the cache and may not be downloaded")
            notice = "offline and no cached ImageNet weights; using the untrained model"
        if cached.is_file():
            state = checkpoint.read_state_dict(cached)
            model = model_from_state(state, str(cached), arch)
            if hasattr(model, "transform_input"):
                model.transform_input = True  # as torchvision builds GoogLeNet/Inception v3 for these weights
            return ModelBundle(prepare(model, device), arch, "imagenet",
                               str(cached), True, default_class_names(1000), device, aliases=aliases)
    return ModelBundle(shared_untrained(device, abort, arch), arch, "untrained", None, False,
                       default_class_names(1000), device, notice=notice or request.notice, aliases=aliases)
