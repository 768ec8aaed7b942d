"""Gather one analysis into the composed export figure, for the GUI and the headless CLI alike.

Plain attribute access on engine results (no torch calls), so the GUI can use it
on the UI thread with data the worker already sent.
"""
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from widgets.figure import CamPanel, ComparePanel, FigureData, write_figure
from widgets.prediction_text import classes_note

CAM_CHANNELS = 5                       # row 4 lists the channels of largest |contribution|
COMPARE_ROWS = 5                       # the comparison row lists that many channels and classes


def figure_data(*, title: str, photo: np.ndarray, rect, demo, layer, predictions, pretrained: bool,
                channel: int | None = None, top: int = 8, colormap: str = "auto", alpha: float = 0.8, blend: str = "value",
                overlay_colormap: str | None = None, model_info: dict | None = None,
                cam=None, cam_layer=None, ablation=None, demo_mode: str = "clip") -> FigureData:
    """``demo``: a DemoConvResult; ``layer``: a LayerOutput of a feature map; ``predictions``: Predictions;
    ``model_info``: the worker's model dict ("source", "weights_text", "class_names"), which words
    the weights and the classes. Without it the figure claims nothing about ImageNet.
    ``cam``: the top-1 class's ``inference.cam.Cam`` (None: row 4 says n/a); ``cam_layer``: the
    LayerOutput it was taken at, for its channels' thumbnails. ``ablation``: an
    ``inference.ablation.AblationResult`` in force: the title states it, the predictions are the
    ablated run's (``layer`` should then be the ablated run's too), and the CAM row says it is the
    original run's. ``demo_mode``: how the demo conv's output is drawn, as the window's panel draws it
    ("wrap", "clip", "stretch"; ``DemoConvResult.renderings``). ``colormap`` "auto" follows
    ``widgets.figure_scale``'s rule (signed maps diverging, maps ≥ 0 viridis from 0)."""
    data = layer.data
    if data.ndim != 3:
        raise ValueError(f"layer {layer.name} is a vector ({data.shape[0]} values); choose a convolutional layer for the figure")
    order = np.argsort(-layer.means, kind="stable")[: max(1, top)]
    tops = [(int(i), np.ascontiguousarray(data[i], dtype=np.float32), float(layer.means[i])) for i in order]
    lo = float(min(t[1].min() for t in tops))
    hi = float(max(t[1].max() for t in tops))
    channel = layer.best_channel if channel is None else int(channel)
    fmap = np.ascontiguousarray(data[channel], dtype=np.float32)
    shown = f"{layer.spec.alias} ({layer.name})" if layer.spec.alias else layer.name
    spec = demo.spec
    detail = f"seed {spec.seed}" if spec.preset == "random" else spec.preset
    panel = cam_panel(cam, cam_layer)
    if ablation is not None:
        title = f"{title} · ablated: {ablation.caption}"
        predictions = ablation.after
        if panel is not None:
            panel = replace(panel, label=f"{panel.label} (original run)")
    return FigureData(
        title=title, photo=np.ascontiguousarray(photo), demo_output=getattr(demo, "renderings", {}).get(demo_mode, demo.rgb),
        demo_channels=demo.raw, layer_name=shown,
        demo_caption=f"nn.Conv2d(3, 3, 3, 1, 1), {detail}" + ("" if demo_mode == "clip" else f", drawn by {demo_mode}"),
        top_channels=tops, levels=(min(lo, float(fmap.min())), max(hi, float(fmap.max()))),
        overlay_fmap=fmap, overlay_rect=tuple(rect), overlay_label=f"channel {channel} over the photo",
        predictions=list(predictions.top), cat_vs_dog=predictions.cat_vs_dog, pretrained=pretrained,
        colormap=colormap, alpha=alpha, blend=blend, overlay_colormap=overlay_colormap,
        weights_text=str((model_info or {}).get("weights_text") or ""),
        model_name=str((model_info or {}).get("display") or (model_info or {}).get("arch") or ""),
        classes_note=_classes_note(len(predictions.top), int(np.size(predictions.probs)), model_info),
        cam=panel)


def session_figure_data(session, layer_name: str, *, channel: int | None, colormap: str, overlay_colormap: str,
                        alpha: float, blend: str = "value", demo_mode: str = "clip") -> FigureData:
    """The figure of the Session's current results and the view's choices, as ``app.export.export_figure``
    composes it (the window adds the comparison row to it)."""
    info = session.results_model or {}
    image = session.image
    cam = session.top_cam
    return figure_data(
        title=figure_title(image["path"], info.get("weights_text", ""), info.get("display", info.get("arch", ""))),
        photo=image["rgb"], rect=image["rect"], demo=session.demo, layer=session.layer(layer_name),
        predictions=session.predictions, pretrained=bool(info.get("pretrained")),
        channel=channel, colormap=colormap, overlay_colormap=overlay_colormap, alpha=alpha, blend=blend, model_info=info,
        cam=cam, cam_layer=session.original_layer(cam.layer) if cam is not None else None,
        ablation=session.ablation, demo_mode=demo_mode)


def ab_scale(result, channel: int, shared: bool, cmap: str = "auto") -> tuple[str, tuple[float, float]]:
    """(table, (lo, hi)) that A's and B's maps of ``channel`` are coloured with, by the grid's own rule
    (``widgets.colormaps.display_levels``) over A's and B's common ranges from the worker: per channel
    or shared by the layer, "auto" judged by the whole layer's sign, so the comparison never uses
    another table than the grid beside it."""
    from widgets.colormaps import display_levels, resolve_colormap

    if result.ranges is None:   # no per-channel ranges (the channel counts differ): the layer's
        shared, lo_all, hi_all = True, *result.layer_range
    else:
        lo_all, hi_all = result.ranges[:, 0], result.ranges[:, 1]
    table = resolve_colormap(cmap, np.min(lo_all), np.max(hi_all))
    if shared:
        lo, hi = display_levels(cmap, *result.layer_range)
    else:
        lo, hi = (np.asarray(v)[channel] for v in display_levels(cmap, lo_all, hi_all))
    return table, (float(lo), float(hi))


def compare_panel(result, channel: int | None = None, shared: bool = False, k: int = COMPARE_ROWS,
                  cmap: str = "auto"):
    """The comparison row's content from the worker's ``ComparedLayer`` (a map layer): A's, B's and
    B − A's maps of ``channel`` (None: the channel that changed most) on the scales the window draws
    them with (per channel, or the layer's with ``shared``, under ``cmap``), the ``k`` channels whose mean changed
    most and the ``k`` first prediction rows with their change."""
    comp = result.comparison
    if comp.a.ndim != 3:
        raise ValueError(f"{comp.name} is a vector layer; select a convolutional layer for the figure")
    if channel is None:
        channel = int(comp.channels.order[0]) if comp.channels is not None else 0
    b = comp.b[channel] if comp.b.ndim == 3 and channel < comp.b.shape[0] else None
    _, levels = ab_scale(result, channel, shared, cmap)
    diff = level = None
    if comp.diff is not None:
        diff = np.ascontiguousarray(comp.diff[channel], dtype=np.float32)
        level = result.layer_level if shared else float(result.diff_levels[channel])
    rule = f"±L: {result.percentile:g}th percentile of the changes |B − A| in the {'layer' if shared else 'channel'}"
    channels = [] if comp.channels is None else [
        (t["channel"], t["mean_a"], t["mean_b"], t["delta"]) for t in comp.channels.top(k)]
    rows = [(str(r["label"]), float(r["prob_a"]), float(r["prob_b"])) for r in comp.ab_rows()[:k]]
    return ComparePanel(title=f"{comp.caption()}, channel {channel}", label_a=comp.label_a, label_b=comp.label_b,
                        a=np.ascontiguousarray(comp.a[channel], dtype=np.float32),
                        b=None if b is None else np.ascontiguousarray(b, dtype=np.float32), diff=diff,
                        levels=(float(levels[0]), float(levels[1])), diff_level=level, rule=rule,
                        reason=comp.reason or "", channels=channels, predictions=rows, note=comp.note or "",
                        layer=comp.name, channel=int(channel))


def cam_panel(cam, layer=None, k: int = CAM_CHANNELS) -> CamPanel | None:
    """Row 4's content from a Cam: its normalised map and its ``k`` channels of largest |contribution|
    (``Cam.top_channels``), each with that channel of ``layer`` (the CAM layer's LayerOutput) if given."""
    if cam is None:
        return None
    data = getattr(layer, "data", None)
    maps = data if data is not None and np.ndim(data) == 3 else None
    channels = [(t["channel"], t["weight"], t["contribution"],
                 None if maps is None else np.ascontiguousarray(maps[t["channel"]], dtype=np.float32))
                for t in cam.top_channels(k)]
    alias = getattr(getattr(layer, "spec", None), "alias", "") or ""
    name = f"{alias} ({cam.layer})" if alias else cam.layer
    raw = np.asarray(cam.raw)
    return CamPanel(label=cam.label, layer=name, method=cam.method_name,
                    heat=np.ascontiguousarray(cam.normalised(), dtype=np.float32),
                    raw_range=(float(raw.min()), float(raw.max())), channels=channels)


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
            "class_names": list(bundle.class_names), "display": bundle.display_name, "arch": bundle.arch}


def figure_title(path: str, weights_text: str, model: str) -> str:
    """"cat.png — VGG16, weights from catdog.pth (2 classes)": the model and its weights as the engine words them."""
    return f"{Path(path).name} — {model}, {weights_text}" if weights_text else f"{Path(path).name} — {model}"


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


def last_conv(run) -> str:
    """The figure's default layer: the last convolution with a spatial map, where objects show (VGG16:
    features.28, conv5_3; ResNet-18: layer4.1.conv2), derived from the run, not from a table."""
    convs = [s.name for s in run.specs if s.type == "Conv2d" and len(run.layers[s.name].shape) == 3
             and min(run.layers[s.name].shape[1:]) > 1]
    spatial = [n for n, o in run.layers.items() if len(o.shape) == 3]
    if not (convs or spatial):
        raise ValueError("this model has no layer with a spatial map to draw")
    return (convs or spatial)[-1]


def figure_data_of_run(image_path, bundle, *, layer: str | None = None, top: int = 8, preprocess: str = "imagenet"):
    """Analyse ``image_path`` and assemble the figure from its run, with the top-1 class's Grad-CAM at
    the model's default CAM layer (what the window's worker computes)."""
    from inference.analysis import AnalysisOptions, analyze
    from inference.cam import cam_of_run

    # Every layer is kept (not only the figure's), so the CAM's gradient runs back from the logits
    # through the kept outputs alone, as in the window: no second forward.
    result = analyze(image_path, bundle, AnalysisOptions(preprocess=preprocess, stats=False))
    name = layer or last_conv(result)
    if name not in result.layers:
        raise ValueError(f"no layer named {name!r} in this model")
    result.compute_stats([name])
    cam = cam_of_run(result)
    return figure_data(title=figure_title(str(image_path), bundle.weights_text(), bundle.display_name), photo=result.image.rgb,
                       rect=result.prepared.rect, demo=result.demo, layer=result.layers[name],
                       predictions=result.predictions, pretrained=bundle.pretrained, top=top,
                       model_info=model_info_of(bundle), cam=cam, cam_layer=result.layers.get(cam.layer))


def export_figure_headless(image_path, bundle, out: Path, *, layer: str | None, top: int, preprocess: str,
                           overwrite: bool) -> Path:
    """``convscope export``: analyse, then paint the same figure the GUI exports."""
    data = figure_data_of_run(image_path, bundle, layer=layer, top=top, preprocess=preprocess)
    ensure_gui_application()
    return write_figure(data, out, overwrite=overwrite)
