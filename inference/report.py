"""The machine-readable summary of one analysis (``convscope inspect --json``) and its text form.

With an ablation the summary is the ablated run's: its predictions, and the
layers it changed (the edited one and every later one) as it left them; an
``"ablation"`` object says which, so a reader never mistakes it for the original.
"""
from .ablation import Ablation, AblationResult
from .analysis import layer_specs
from .run import Run
from .model import ModelBundle


def analysis_report(result: Run, bundle: ModelBundle, ablation: AblationResult | None = None) -> dict:
    """The documented JSON shape; layers in forward order."""
    demo = result.demo
    changed = ablation.rerun.changed if ablation is not None else {}
    predictions = ablation.after if ablation is not None else result.predictions
    layers = []
    for spec in layer_specs(bundle):
        out = changed[spec.name] if spec.name in changed else result.layers.get(spec.name)
        if out is None:
            continue
        layers.append({"name": spec.name, "alias": spec.alias, "type": spec.type, "shape": list(out.shape),
                       "best_channel": out.best_channel, "best_mean": out.best_mean})
    report = {
        "image": {"path": str(result.image.path), "width": result.image.width, "height": result.image.height},
        "model": bundle.arch,
        "weights": {**bundle.report(), "text": bundle.weights_text(), "num_classes": bundle.num_classes},
        "predictions": predictions.top,
        "cat_vs_dog": predictions.cat_vs_dog,
        "layers": layers,
        "demo_conv": {"seed": demo.spec.seed if demo.spec.preset == "random" else None,
                      "preset": demo.spec.preset,
                      "weight": demo.weight.tolist(), "bias": demo.bias.tolist(),
                      "shape": list(demo.raw.shape)},
    }
    if ablation is not None:
        report["ablation"] = ablation.ablation.report()
    return report


def _ablation_line(report: dict) -> str:
    """"ablation conv5_3: channels 12, 40 set to 0; the predictions … are the ablated run's"."""
    a = report["ablation"]
    layer = next((entry for entry in report["layers"] if entry["name"] == a["layer"]), None)
    name = (layer["alias"] or layer["name"]) if layer else a["layer"]
    count = layer["shape"][0] if layer else None
    caption = Ablation(a["layer"], tuple(a["channels"]), a["mode"], a["keep"]).describe(name, count)
    return f"ablation {caption}; the predictions and layers below are the ablated run's"


def _fixed(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` decimals, never "-0.000": a value that rounds to zero has no sign."""
    text = f"{float(value):.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _classes_heading(shown: int, total: int, source: str) -> str:
    """"both classes", "top 5 of ImageNet's 1000 classes": ImageNet only for torchvision's weights."""
    if shown >= total:
        return "both classes" if total == 2 else f"all {total} classes"
    of = f"ImageNet's {total}" if source == "imagenet" else str(total)
    return f"top {shown} of {of} classes"


def format_report(report: dict, bundle: ModelBundle) -> str:
    """A readable summary for a terminal."""
    img, w = report["image"], report["weights"]
    lines = [f"image    {img['path']} ({img['width']}×{img['height']})",
             f"model    {report['model']}, {bundle.weights_text()}"]
    if not w["pretrained"]:
        lines.append("         (untrained: random weights, the predictions below are meaningless)")
    if report.get("ablation"):
        lines.append(_ablation_line(report))
    lines.append("")
    heading = _classes_heading(len(report["predictions"]), bundle.num_classes, bundle.source)
    lines.append(f"prediction: {heading} (softmax of the logits)")
    for p in report["predictions"]:
        lines.append(f"  {p['prob'] * 100:6.2f}%  logit {_fixed(p['logit'], 3):>8}  [{p['index']:4d}] {p['label']}")
    if report["cat_vs_dog"]:
        cd = report["cat_vs_dog"]
        lines.append(f"  cat vs dog: cat {cd['cat'] * 100:.1f}%, dog {cd['dog'] * 100:.1f}%")
    lines.append("")
    lines.append(f"{'layer':<14}{'alias':<10}{'type':<18}{'output':<16}{'best channel (mean)'}")
    for layer in report["layers"]:
        shape = "×".join(map(str, layer["shape"]))
        best = "" if layer["best_channel"] is None else f"{layer['best_channel']} ({_fixed(layer['best_mean'], 3)})"
        lines.append(f"{layer['name']:<14}{layer['alias'] or '':<10}{layer['type']:<18}{shape:<16}{best}")
    demo = report["demo_conv"]
    lines.append("")
    seed = f", seed {demo['seed']}" if demo["seed"] is not None else ""
    lines.append(f"demo conv  nn.Conv2d(3, 3, 3, 1, 1), preset {demo['preset']}{seed}, output {'×'.join(map(str, demo['shape']))}")
    return "\n".join(lines)
