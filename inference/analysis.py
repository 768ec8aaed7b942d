"""One image through the whole engine: load → preprocess → forward with capture → predictions → demo conv.

This is the code path both the CLI and the GUI's worker run. Results are
handed out through callbacks the moment they exist (photo, each layer,
predictions, demo conv), so a worker can forward them as signals while the
pass is still running, and the CLI can simply collect them. The result is a
:class:`~inference.run.Run`, which keeps the input and every layer's tensor so
the image can be re-entered (re-runs with edits, gradients).
"""
import logging
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Callable

import torch

from .capture import ActivationCapture, LayerSpec, describe_layers, learned
from .layer_output import LayerOutput
from .demo_conv import DEFAULT_MAX_SIDE, DemoConvResult, DemoConvSpec, run_demo_conv
from .errors import Cancelled
from .images import LoadedImage, load_image
from .intra_op import default_threads_kept, one_intra_op_thread
from .model import ModelBundle
from .predict import Predictions, predictions_from_logits
from .preprocess import Prepared, preprocess
from .run import Run, forward_lock

__all__ = ["AnalysisOptions", "Run", "analyze", "capture_run", "demo_for", "forward", "forward_lock", "layer_specs"]


@dataclass(frozen=True)
class AnalysisOptions:
    """An immutable snapshot of what one request asks for."""

    preprocess: str = "imagenet"
    demo: DemoConvSpec = DemoConvSpec()
    max_side: int = DEFAULT_MAX_SIDE
    top_k: int = 5
    layers: frozenset[str] | None = None   # None: capture every layer
    stats: bool = True                     # compute every layer's channel statistics before returning


def _noop(*_):
    pass


# A model's nested specs (a meta-device forward: 10-300 ms) are learnt once; aliases are applied per call.
_NESTED: "weakref.WeakKeyDictionary[torch.nn.Module, list[LayerSpec]]" = weakref.WeakKeyDictionary()


def layer_specs(bundle: ModelBundle, nested: bool = True) -> list[LayerSpec]:
    """The layers a run of ``bundle`` records: every call of every leaf and every block output, in run order
    (``inference.blocks``: ResNet's ``layer1.0`` and ``layer1.0.relu#2``), or its leaves alone
    (``nested=False``: one entry per module, as the first round listed them). For VGG both are the same."""
    if not nested:
        return describe_layers(bundle.model, bundle.aliases)
    model = bundle.model
    specs = _NESTED.get(model)
    if specs is None:
        with forward_lock(model):
            try:
                specs = describe_layers(model, None, nested=True)
            except Exception as exc:  # a forward the meta device cannot run: its leaves, as before
                logging.getLogger(__name__).warning("layers of %s listed leaf by leaf: %s", bundle.arch, exc)
                specs = describe_layers(model)
            _NESTED[model] = specs
    aliases = bundle.aliases or {}
    return [replace(s, alias=aliases[s.name]) if s.name in aliases else s for s in specs]


def forward(bundle: ModelBundle, prepared: Prepared, specs: list[LayerSpec],
            on_layer: Callable[[LayerOutput], None], cancel: Callable[[], bool] | None = None,
            only: set[str] | None = None) -> torch.Tensor:
    """Run the network on one prepared input, streaming each captured layer to ``on_layer``; the [N] logits."""
    run = Run(bundle, None, prepared, specs)  # type: ignore[arg-type]
    return capture_run(run, on_layer, cancel, only)


def capture_run(run: Run, on_layer: Callable[[LayerOutput], None], cancel: Callable[[], bool] | None = None,
                only: set[str] | None = None) -> torch.Tensor:
    """The forward of ``run``'s input, keeping each captured layer in ``run`` and streaming it to ``on_layer``.

    The first full pass over a model learns what to copy without copying
    anything: its layers are handed out once the pass is over, and only if an
    in-place op changed one of them later (ResNet's ``out += identity``) does
    the pass run again, now copying exactly those.
    """
    def keep(layer: LayerOutput) -> None:
        run.layers[layer.name] = layer
        on_layer(layer)

    model = run.bundle.model
    with forward_lock(model), torch.no_grad():
        if only is None and not learned(model):
            held: list[LayerOutput] = []
            with ActivationCapture(model, run.specs, held.append, cancel, lean=True) as capture:
                logits = model(run.input_batch())
            if not capture.modified:
                run.tensors, run.calls = capture.tensors, capture.calls
                for layer in held:
                    keep(layer)
                run.logits = logits.detach()
                return logits[0].float().cpu()
            del held, capture
        with ActivationCapture(model, run.specs, keep, cancel, only) as capture:
            run.tensors, run.calls = capture.tensors, capture.calls
            logits = model(run.input_batch())
    run.logits = logits.detach()
    return logits[0].float().cpu()


def analyze(path, bundle: ModelBundle, options: AnalysisOptions = AnalysisOptions(), *,
            on_image: Callable[[LoadedImage, Prepared], None] = _noop,
            on_demo: Callable[[DemoConvResult], None] = _noop,
            on_layer: Callable[[LayerOutput], None] = _noop,
            on_predictions: Callable[[Predictions], None] = _noop,
            cancel: Callable[[], bool] | None = None,
            meanwhile: Callable[[Run], None] | None = None) -> Run:
    """Run one image end to end. Raises ImageLoadError for a bad file, Cancelled when superseded.

    ``meanwhile(run)`` runs once the predictions are in, while the demo conv runs on another thread
    (the worker's top-1 Grad-CAM: its backward through fc6 is memory-bound, the conv compute-bound,
    so on two cores they overlap)."""
    t0 = time.perf_counter()
    check = cancel or (lambda: False)
    image = load_image(path, max_side=options.max_side)
    prepared = preprocess(image.for_network(), options.preprocess, photo_size=image.display_size,
                          transform=bundle.transform)
    on_image(image, prepared)
    if check():
        raise Cancelled("superseded by a newer request")
    run = Run(bundle, image, prepared, layer_specs(bundle), top_k=options.top_k)
    logits = capture_run(run, on_layer, cancel, options.layers)
    run.predictions = predictions_from_logits(logits.numpy(), bundle.class_names, options.top_k, bundle.imagenet_head)
    on_predictions(run.predictions)
    # The demo conv is cheap and independent of the network; it runs after the
    # forward so the first feature map reaches the screen as early as possible.
    if meanwhile is None:
        run.demo = demo_for(image, options)
    else:
        # A thread of its own each time (not a pool kept for the process): it starts at the caller's
        # priority, and nothing of it outlives the analysis. It runs torch on one core: beside the top-1
        # CAM's two threads, a two-thread demo made four threads on two cores, and each waited on the
        # other (the CAM took 10-13 ms instead of 9).
        with default_threads_kept(), ThreadPoolExecutor(1, thread_name_prefix="convscope-demo",
                                                        initializer=one_intra_op_thread) as pool:
            demo = pool.submit(demo_for, image, options)
            try:
                meanwhile(run)
            finally:
                run.demo = demo.result()
    on_demo(run.demo)
    if options.stats:
        run.compute_stats()
    run.seconds = time.perf_counter() - t0
    return run


def demo_for(image: LoadedImage, options: AnalysisOptions) -> DemoConvResult:
    return run_demo_conv(image.rgb, options.demo, options.max_side, (image.width, image.height))
