"""What the app says about its weights and classes: ImageNet only for torchvision's weights,
"weights from FILE (N classes)" for a checkpoint, "Both classes" for a cat/dog model, and
no "-0.00". Checked in every place that words it: the engine, the figure, the CLI text."""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from inference.classes import IMAGENET_CATEGORIES
from inference.model import ModelBundle
from inference.predict import predictions_from_logits
from inference.report import format_report
from widgets.prediction_text import MINUS, classes_heading, format_logit, format_signed, sum_note


def bundle(source: str, n: int = 1000, names=None, path="/ckpt/catdog_vgg16.pth") -> ModelBundle:
    """A ModelBundle that only reports (no model): the three sources as load_model makes them."""
    if names is None:
        names = list(IMAGENET_CATEGORIES) if n == 1000 else ["cat", "dog"][:n] + [f"c{i}" for i in range(2, n)]
    return ModelBundle(model=_meta_vgg16(), arch="vgg16", source=source, path=None if source == "untrained" else path,
                       pretrained=source != "untrained", class_names=names, device="cpu")


def _meta_vgg16():
    """A VGG16 with no weights (the meta device): what the captions' model name is derived from."""
    import torch
    from torchvision.models import vgg16

    with torch.device("meta"):
        return vgg16()


def test_weights_text_for_the_three_sources():
    assert bundle("imagenet").weights_text() == "ImageNet-pretrained weights (torchvision)"
    assert bundle("file", 2).weights_text() == "weights from catdog_vgg16.pth (2 classes)"
    # A 1000-class file is labelled with ImageNet's names, but never called ImageNet-pretrained.
    text = bundle("file", 1000).weights_text()
    assert text == "weights from catdog_vgg16.pth (1000 classes, ImageNet's class names)"
    assert "pretrained" not in text
    own = bundle("file", 1000, names=[f"part {i}" for i in range(1000)]).weights_text()
    assert own == "weights from catdog_vgg16.pth (1000 classes)"
    assert bundle("untrained").weights_text() == "untrained (random, seed 0)"


def _reference_signed(v: float, decimals: int) -> str:
    """Independent: round half-even as Python's format does, then sign only non-zero results."""
    r = round(v, decimals)
    body = f"{abs(r):.{decimals}f}"
    return body if float(body) == 0 else ("-" if v < 0 else "") + body


@pytest.mark.parametrize("v", [-0.0, -0.001, -0.004999, 0.004, -0.005001, -1.234, 3.14159, -12.5, 0.0])
def test_signed_numbers_never_print_negative_zero(v):
    text = format_signed(v, 2)
    assert text == _reference_signed(v, 2).replace("-", MINUS)
    assert not text.startswith(MINUS + "0.00") and text != "-0.00"
    assert format_logit(None) == "—"


def test_headings_and_sum_notes():
    fmt = "{:.4f}".format
    assert classes_heading(2, 2) == "Both classes"
    assert classes_heading(3, 3) == "All 3 classes"
    assert classes_heading(5, 1000) == "Top 5 of 1000 classes"
    assert classes_heading(5, None) == "Top 5"
    probs = [0.7, 0.3]
    both = sum_note(probs, 2, fmt)
    assert "1.0000" in both and "other" not in both and "rest" not in both
    some = sum_note([0.5, 0.2, 0.1, 0.05, 0.05], 1000, fmt)
    assert some == "these 5 sum to 0.9000; the other 995 classes share the rest"
    assert "other" not in sum_note([0.6, 0.4], None, fmt)  # unknown total, nothing left: no "rest"


# ----------------------------------------------------------------------------- the figure


def _figure_inputs(n_classes: int):
    rng = np.random.default_rng(3)
    data = rng.random((4, 7, 7), dtype=np.float32)
    means = data.reshape(4, -1).mean(1)
    layer = SimpleNamespace(name="features.28", data=data, means=means, best_channel=int(np.argmax(means)),
                            spec=SimpleNamespace(alias="conv5_3"))
    raw = rng.random((3, 12, 16), dtype=np.float32)
    demo = SimpleNamespace(rgb=(raw.transpose(1, 2, 0) * 255).astype(np.uint8), raw=raw,
                           spec=SimpleNamespace(seed=0, preset="random"))
    logits = np.linspace(2.0, -1.0, n_classes).astype(np.float32)
    names = list(IMAGENET_CATEGORIES) if n_classes == 1000 else ["cat", "dog"]
    preds = predictions_from_logits(logits, names, 5, imagenet_head=n_classes == 1000)
    photo = (rng.random((12, 16, 3)) * 255).astype(np.uint8)
    return dict(photo=photo, rect=(2, 0, 12, 12), demo=demo, layer=layer, predictions=preds)


def _svg_text(path) -> str:
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    return " ".join(" ".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))


@pytest.mark.parametrize("source, n, title, note", [
    ("imagenet", 1000, "cat.png — VGG16, ImageNet-pretrained weights (torchvision)",
     "top 5 of ImageNet's 1000 classes"),
    ("file", 2, "cat.png — VGG16, weights from catdog_vgg16.pth (2 classes)", "both classes"),
    ("file", 1000, "cat.png — VGG16, weights from catdog_vgg16.pth (1000 classes, ImageNet's class names)",
     "top 5 of 1000 classes (ImageNet's class names)"),
    ("untrained", 1000, "cat.png — VGG16, untrained (random, seed 0)",
     "top 5 of 1000 classes (ImageNet's class names)"),
])
def test_figure_words_weights_and_classes_by_source(qapp, tmp_path, source, n, title, note):
    from app.figure_data import figure_data, figure_title, model_info_of
    from widgets.figure import write_figure

    b = bundle(source, n)
    data = figure_data(title=figure_title("/photos/cat.png", b.weights_text(), b.display_name), pretrained=b.pretrained,
                       model_info=model_info_of(b), **_figure_inputs(n))
    assert data.title == title and data.classes_note == note and data.weights_text == b.weights_text()
    text = _svg_text(write_figure(data, tmp_path / "fig.svg"))
    assert note in text and f"VGG16, {b.weights_text()}" in text
    if source != "imagenet":
        assert "ImageNet-pretrained" not in text and "ImageNet's 1000" not in text
        assert "ImageNet classes" not in text


def test_figure_without_model_info_claims_nothing_about_imagenet(qapp, tmp_path):
    """The GUI export before it passes the model dict: true, neutral words only."""
    from app.figure_data import figure_data
    from widgets.figure import write_figure

    data = figure_data(title="cat.png — VGG16", pretrained=True, **_figure_inputs(1000))
    assert data.classes_note == "top 5 of 1000 classes"
    text = _svg_text(write_figure(data, tmp_path / "fig.svg"))
    assert "ImageNet" not in text


# ----------------------------------------------------------------------------- the CLI's text


def _report(b: ModelBundle, logits) -> dict:
    preds = predictions_from_logits(np.asarray(logits, np.float32), b.class_names, 5)
    return {"image": {"path": "cat.png", "width": 4, "height": 3}, "model": "vgg16", "weights": b.report(),
            "predictions": preds.top, "cat_vs_dog": None, "layers": [],
            "demo_conv": {"seed": 0, "preset": "random", "shape": [3, 3, 4]}}


@pytest.mark.parametrize("source, n, heading", [
    ("imagenet", 1000, "prediction: top 5 of ImageNet's 1000 classes"),
    ("file", 2, "prediction: both classes"),
    ("file", 1000, "prediction: top 5 of 1000 classes"),
    ("untrained", 1000, "prediction: top 5 of 1000 classes"),
])
def test_cli_text_words_the_source(source, n, heading):
    b = bundle(source, n)
    logits = np.full(n, -5.0, np.float32)
    logits[:2] = (-0.0001, -2.5)  # rounds to zero at 3 decimals: printed "0.000", not "-0.000"
    out = format_report(_report(b, logits), b)
    assert f"model    vgg16, {b.weights_text()}" in out
    assert heading in out
    assert "-0.000" not in out and "logit    0.000" in out and "logit   -2.500" in out
    if source != "imagenet":
        assert "ImageNet-pretrained" not in out and "ImageNet's 1000" not in out
    assert ("meaningless" in out) == (source == "untrained")
    assert Path("cat.png").name in out
