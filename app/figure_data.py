"""Gather one analysis into the composed export figure, for the GUI and the headless CLI alike.

Plain attribute access on engine results (no torch calls), so the GUI can use it
on the UI thread with data the worker already sent.
"""
import os
from pathlib import Path

import numpy as np

from widgets.figure import FigureData, write_figure
from widgets.prediction_text import classes_note

DEFAULT_FIGURE_LAYER = "features.28"   # conv5_3: the last conv, where objects show


def figure_data(*, title: str, photo: np.ndarray, rect, demo, layer, predictions, pretrained: bool,
                channel: int | None = None, top: int = 8, colormap: str = "viridis", alpha: float = 0.6,
                overlay_colormap: str | None = None, model_info: dict | None = None) -> FigureData:
    """``demo``: a DemoConvResult; ``layer``: a LayerOutput of a feature map; ``predictions``: Predictions;
    ``model_info``: the worker's model dict ("source", "weights_text", "class_names"), which words
    the weights and the classes. Without it the figure claims nothing about ImageNet."""
    data = layer.data
    if data.ndim != 3:
        raise ValueError(f"layer {layer.name} is a vector ({data.shape[0]} values); choose a convolutional layer for the figure")
    order = np.argsort(-layer.means, kind="stable")[: max(1, top)]
    tops = [(int(i), np.ascontiguousarray(data[i], dtype=np.float32), float(layer.means[i])) for i in order]
    lo = float(min(t[1].min() for t in tops))
    hi = float(max(t[1].max() for t in tops))
    channel = layer.best_channel if channel is None else int(channel)
    fmap = np.ascontiguousarray(data[channel], dtype=np.float32)
    alias = f" ({layer.spec.alias})" if layer.spec.alias else ""
    spec = demo.spec
    detail = f"seed {spec.seed}" if spec.preset == "random" else spec.preset
    return FigureData(
        title=title, photo=np.ascontiguousarray(photo), demo_output=demo.rgb, demo_channels=demo.raw,
        demo_caption=f"nn.Conv2d(3, 3, 3, 1, 1), {detail}", layer_name=f"{layer.name}{alias}",
        top_channels=tops, levels=(min(lo, float(fmap.min())), max(hi, float(fmap.max()))),
        overlay_fmap=fmap, overlay_rect=tuple(rect), overlay_label=f"channel {channel} over the photo",
        predictions=list(predictions.top), cat_vs_dog=predictions.cat_vs_dog, pretrained=pretrained,
        colormap=colormap, alpha=alpha, overlay_colormap=overlay_colormap,
        weights_text=str((model_info or {}).get("weights_text") or ""),
        classes_note=_classes_note(len(predictions.top), int(np.size(predictions.probs)), model_info))


def _classes_note(shown: int, total: int, info: dict | None) -> str:
    """"top 5 of ImageNet's 1000 classes" only for torchvision's weights; "(ImageNet's class
    names)" for any other 1000-class head named that way; "both classes" for a cat/dog file."""
    info = info or {}
    names = info.get("class_names")
    imagenet_names = False
    if names is not None and len(names) == total == 1000:
        from inference.classes import IMAGENET_CATEGORIES  # here: torchvision is slow to import

        imagenet_names = list(names) == IMAGENET_CATEGORIES
    return classes_note(shown, total, imagenet=info.get("source") == "imagenet", imagenet_names=imagenet_names)


def model_info_of(bundle) -> dict:
    """The parts of the worker's model dict that the figure uses, from a ModelBundle (headless)."""
    return {"source": bundle.source, "weights_text": bundle.weights_text(), "pretrained": bundle.pretrained,
            "class_names": list(bundle.class_names)}


def figure_title(path: str, weights_text: str) -> str:
    """"cat.png — VGG16, weights from catdog.pth (2 classes)": the weights as the engine words them."""
    return f"{Path(path).name} — VGG16, {weights_text}" if weights_text else f"{Path(path).name} — VGG16"


def ensure_gui_application():
    """A QGuiApplication for painting text and images; offscreen when no display is available."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if app is None:
        from .options import no_display

        if no_display():
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        app = QGuiApplication(["convscope"])
    return app


def export_figure_headless(image_path, bundle, out: Path, *, layer: str | None, top: int, preprocess: str,
                           overwrite: bool) -> Path:
    """``convscope export``: analyse, then paint the same figure the GUI exports."""
    from inference.analysis import AnalysisOptions, analyze

    name = layer or DEFAULT_FIGURE_LAYER
    result = analyze(image_path, bundle, AnalysisOptions(preprocess=preprocess, layers=frozenset([name])))
    data = figure_data(title=figure_title(str(image_path), bundle.weights_text()), photo=result.image.rgb,
                       rect=result.prepared.rect, demo=result.demo, layer=result.layers[name],
                       predictions=result.predictions, pretrained=bundle.pretrained, top=top,
                       model_info=model_info_of(bundle))
    ensure_gui_application()
    return write_figure(data, out, overwrite=overwrite)
