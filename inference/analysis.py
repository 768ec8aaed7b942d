"""One image through the whole engine: load → demo conv → preprocess → forward with capture → predictions.

This is the code path both the CLI and the GUI's worker run. Results are
handed out through callbacks the moment they exist (photo, demo conv, each
layer, predictions), so a worker can forward them as signals while the pass is
still running, and the CLI can simply collect them.
"""
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Callable

import torch

from .capture import ActivationCapture, LayerOutput, LayerSpec, describe_layers
from .demo_conv import DEFAULT_MAX_SIDE, DemoConvResult, DemoConvSpec, run_demo_conv
from .errors import Cancelled
from .images import LoadedImage, load_image
from .model import ModelBundle
from .predict import Predictions, predictions_from_logits
from .preprocess import Prepared, preprocess


@dataclass(frozen=True)
class AnalysisOptions:
    """An immutable snapshot of what one request asks for."""

    preprocess: str = "imagenet"
    demo: DemoConvSpec = DemoConvSpec()
    max_side: int = DEFAULT_MAX_SIDE
    top_k: int = 5
    layers: frozenset[str] | None = None   # None: capture every layer


@dataclass
class Analysis:
    """Everything one image produced, as the CLI collects it."""

    image: LoadedImage
    prepared: Prepared
    demo: DemoConvResult
    layers: dict[str, LayerOutput] = field(default_factory=dict)
    predictions: Predictions | None = None
    seconds: float = 0.0


def _noop(*_):
    pass


_locks: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def forward_lock(model) -> threading.Lock:
    """One capture at a time per model: hooks and the in-place switch are per model, not per thread."""
    with _locks_guard:
        lock = _locks.get(model)
        if lock is None:
            lock = _locks[model] = threading.Lock()
        return lock


def layer_specs(bundle: ModelBundle) -> list[LayerSpec]:
    return describe_layers(bundle.model, bundle.aliases)


def forward(bundle: ModelBundle, prepared: Prepared, specs: list[LayerSpec],
            on_layer: Callable[[LayerOutput], None], cancel: Callable[[], bool] | None = None,
            only: set[str] | None = None) -> torch.Tensor:
    """Run the network on one prepared input, streaming each captured layer to ``on_layer``."""
    x = prepared.tensor.unsqueeze(0).to(bundle.device)
    if bundle.device.type == "cpu":
        x = x.contiguous(memory_format=torch.channels_last)
    with forward_lock(bundle.model), torch.no_grad(), ActivationCapture(bundle.model, specs, on_layer, cancel, only):
        logits = bundle.model(x)
    return logits[0].float().cpu()


def analyze(path, bundle: ModelBundle, options: AnalysisOptions = AnalysisOptions(), *,
            on_image: Callable[[LoadedImage, Prepared], None] = _noop,
            on_demo: Callable[[DemoConvResult], None] = _noop,
            on_layer: Callable[[LayerOutput], None] | None = None,
            on_predictions: Callable[[Predictions], None] = _noop,
            cancel: Callable[[], bool] | None = None) -> Analysis:
    """Run one image end to end. Raises ImageLoadError for a bad file, Cancelled when superseded."""
    t0 = time.perf_counter()
    check = cancel or (lambda: False)
    image = load_image(path, max_side=options.max_side)
    prepared = preprocess(image.pil(), options.preprocess)
    on_image(image, prepared)
    if check():
        raise Cancelled("superseded by a newer request")
    result = Analysis(image, prepared, demo=None)  # type: ignore[arg-type]

    collected = result.layers
    def keep(layer: LayerOutput):
        if on_layer is None:
            collected[layer.name] = layer
        else:
            on_layer(layer)

    logits = forward(bundle, prepared, layer_specs(bundle), keep, cancel, options.layers)
    result.predictions = predictions_from_logits(logits.numpy(), bundle.class_names, options.top_k, bundle.imagenet_head)
    on_predictions(result.predictions)
    # The demo conv is cheap and independent of the network; it runs after the
    # forward so the first feature map reaches the screen as early as possible.
    result.demo = demo_for(image, options)
    on_demo(result.demo)
    result.seconds = time.perf_counter() - t0
    return result


def demo_for(image: LoadedImage, options: AnalysisOptions) -> DemoConvResult:
    return run_demo_conv(image.rgb, options.demo, options.max_side, (image.width, image.height))
