"""A/B comparison of two runs (inference.compare): the difference maps, the per-channel mean changes and the
prediction deltas, each checked against an independent computation written here: a plain torchvision
ResNet-18 holding the same weights, fed the same preprocessed inputs, every call's output cloned by a hook
(tests/call_outputs.py), then numpy. The two cases: two photos under one model, one photo under two
checkpoints of one architecture; and what happens when shapes, classes or architectures disagree."""
import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import resnet18
from torchvision.transforms import InterpolationMode
from torchvision.transforms._presets import ImageClassification

from call_outputs import every_call
from inference.analysis import AnalysisOptions, analyze, capture_run, layer_specs
from inference.compare import (CompareError, channel_deltas, channel_levels, compare_runs, diff_level)
from inference.images import load_image
from inference.model import WeightsRequest, load_model
from inference.predict import predictions_from_logits, softmax
from inference.preprocess import preprocess
from inference.run import Run

RTOL = 1e-5
# A conv before its ReLU (signed), a block's output after its ReLU (sparse), the head (a vector).
LAYERS = ("layer2.0.conv1", "layer4.1.relu#2", "fc")


def seeded_resnet18(seed: int, num_classes: int = 10, perturb: float = 0.0) -> dict:
    """A seeded ResNet-18 state_dict with non-trivial batch-norm statistics; ``perturb`` adds that much
    Gaussian noise (relative to each tensor's std) to every float parameter: a "fine-tuned" copy."""
    torch.manual_seed(seed)
    model = resnet18(num_classes=num_classes).eval()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    state = model.state_dict()
    if perturb:
        gen = torch.Generator().manual_seed(seed + 1)
        for key, value in state.items():
            if value.is_floating_point() and "running" not in key and value.numel() > 1:
                value.add_(torch.randn(value.shape, generator=gen) * perturb * float(value.std()))
    return state


def save_state(state: dict, path) -> str:
    torch.save(state, path)
    return str(path)


def photo(path, size, seed) -> str:
    """A smooth random photo (blobs rather than pixel noise, so the maps have structure)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)
    Image.fromarray(small).resize(size, Image.BICUBIC).save(path)
    return str(path)


def reference_model(path) -> torch.nn.Module:
    state = torch.load(path, weights_only=True)
    model = resnet18(num_classes=state["fc.weight"].shape[0])
    model.load_state_dict(state)
    return model.eval()


def reference(model, run: Run) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(logits, {layer: output}) of the plain model on the run's own preprocessed input."""
    logits, outs, _ = every_call(model, run.prepared.tensor)
    return logits.numpy(), {name: out.numpy() for name, out in outs if out is not None}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    return {"before": save_state(seeded_resnet18(5), folder / "before.pth"),
            "after": save_state(seeded_resnet18(5, perturb=0.3), folder / "after.pth"),
            "two": save_state(seeded_resnet18(9, num_classes=2), folder / "two.pth"),
            "cat": photo(folder / "a.png", (128, 96), 1), "dog": photo(folder / "b.png", (150, 120), 2)}


@pytest.fixture(scope="module")
def bundles(files):
    return {key: load_model(WeightsRequest(weights=files[key], device="cpu")) for key in ("before", "after", "two")}


@pytest.fixture(scope="module")
def runs(files, bundles):
    """cat under `before`, dog under `before`, cat under `after` (a shared model for the first two)."""
    return {"cat": analyze(files["cat"], bundles["before"]), "dog": analyze(files["dog"], bundles["before"]),
            "cat_after": analyze(files["cat"], bundles["after"])}


@pytest.fixture(scope="module")
def refs(files, runs):
    before, after = reference_model(files["before"]), reference_model(files["after"])
    return {"cat": reference(before, runs["cat"]), "dog": reference(before, runs["dog"]),
            "cat_after": reference(after, runs["cat_after"])}


def _close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * float(np.abs(expected).max()))


def _check_maps(comparison, ref_a, ref_b, layer):
    expected = ref_b[layer] - ref_a[layer]
    assert comparison.reason is None and comparison.diff.dtype == np.float32
    assert comparison.diff.shape == expected.shape and comparison.diff.flags.c_contiguous
    _close(comparison.diff, expected)
    _close(comparison.a, ref_a[layer])
    _close(comparison.b, ref_b[layer])


def _check_means(channels, ref_a, ref_b, layer):
    a, b = ref_a[layer].astype(np.float64), ref_b[layer].astype(np.float64)
    if a.ndim == 3:
        a, b = a.mean(axis=(1, 2)), b.mean(axis=(1, 2))
    _close(channels.means_a, a)
    _close(channels.means_b, b)
    _close(channels.delta, b - a)
    # Sorted by |delta|, largest first; equal |delta| keep their index order.
    size = np.abs(channels.delta[channels.order])
    assert sorted(channels.order.tolist()) == list(range(len(a)))
    assert np.all(size[:-1] >= size[1:])
    ties = size[:-1] == size[1:]
    assert np.all(channels.order[:-1][ties] < channels.order[1:][ties])
    # The strongest change is the strongest in the reference too (to the tolerance).
    ref_delta = np.abs(b - a)
    assert ref_delta[channels.order[0]] >= ref_delta.max() * (1 - 1e-4)


def _check_prediction_deltas(comparison, logits_a, logits_b, k=5):
    pa, pb = softmax(logits_a), softmax(logits_b)
    top_a = list(np.argsort(-pa, kind="stable")[:k])
    top_b = [int(i) for i in np.argsort(-pb, kind="stable")[:k] if i not in top_a]
    rows = comparison.rows
    assert [r["index"] for r in rows] == [int(i) for i in top_a] + top_b
    for r in rows:
        i = r["index"]
        assert r["prob_before"] == pytest.approx(pa[i], rel=1e-4, abs=1e-7)
        assert r["prob_after"] == pytest.approx(pb[i], rel=1e-4, abs=1e-7)
        assert r["prob_delta"] == pytest.approx(pb[i] - pa[i], rel=1e-3, abs=1e-6)
        assert r["logit_delta"] == pytest.approx(logits_b[i] - logits_a[i], rel=1e-4, abs=1e-5)
    assert comparison.note is None
    for r, ab in zip(rows, comparison.ab_rows(), strict=True):
        assert (ab["index"], ab["label"], ab["new"]) == (r["index"], r["label"], r["new"])
        assert (ab["prob_a"], ab["prob_b"], ab["logit_a"], ab["logit_b"], ab["rank_a"], ab["rank_b"]) == (
            r["prob_before"], r["prob_after"], r["logit_before"], r["logit_after"], r["rank_before"], r["rank_after"])
        assert ab["prob_delta"] == r["prob_delta"] and ab["logit_delta"] == r["logit_delta"]


@pytest.mark.parametrize("layer", LAYERS)
def test_two_photos_under_one_model(runs, refs, layer):
    comparison = compare_runs(runs["cat"], runs["dog"], layer)
    (logits_a, ref_a), (logits_b, ref_b) = refs["cat"], refs["dog"]
    _check_maps(comparison, ref_a, ref_b, layer)
    _check_means(comparison.channels, ref_a, ref_b, layer)
    _check_prediction_deltas(comparison, logits_a, logits_b)
    assert comparison.what == "images" and "two photos under one model" in comparison.caption()
    assert comparison.label_a.startswith("a.png · weights from before.pth")


@pytest.mark.parametrize("layer", LAYERS)
def test_one_photo_under_two_checkpoints(runs, refs, layer):
    comparison = compare_runs(runs["cat"], runs["cat_after"], layer)
    (logits_a, ref_a), (logits_b, ref_b) = refs["cat"], refs["cat_after"]
    assert np.abs(ref_b[layer] - ref_a[layer]).max() > 1e-2  # the perturbation shows at every layer
    _check_maps(comparison, ref_a, ref_b, layer)
    _check_means(comparison.channels, ref_a, ref_b, layer)
    _check_prediction_deltas(comparison, logits_a, logits_b)
    assert comparison.what == "weights" and comparison.label_b.startswith("a.png · weights from after.pth")


def test_channel_deltas_alone_equal_the_comparisons(runs):
    for layer in LAYERS:
        alone = channel_deltas(runs["cat"], runs["cat_after"], layer)
        full = compare_runs(runs["cat"], runs["cat_after"], layer).channels
        np.testing.assert_array_equal(alone.delta, full.delta)
        np.testing.assert_array_equal(alone.order, full.order)
        assert alone.top(3) == full.top()[:3]


def test_a_run_against_itself_changes_nothing_and_keeps_index_order(runs):
    comparison = compare_runs(runs["cat"], runs["cat"], "layer3.0.conv2")
    assert not comparison.diff.any() and comparison.what == "nothing"
    np.testing.assert_array_equal(comparison.channels.order, np.arange(comparison.a.shape[0]))  # all ties
    assert comparison.level() == 0.0 and comparison.levels() == (-1.0, 1.0)
    assert all(r["prob_delta"] == 0 for r in comparison.rows)


def test_levels_are_the_percentile_of_the_changed_positions(runs):
    comparison = compare_runs(runs["cat"], runs["dog"], "layer4.1.relu#2")
    diff = comparison.diff.astype(np.float64)
    levels = channel_levels(comparison.diff)
    for c in range(diff.shape[0]):
        changed = np.abs(diff[c][diff[c] != 0])
        expected = np.sort(changed)[int(np.floor(0.99 * (changed.size - 1)))] if changed.size else 0.0
        assert levels[c] == pytest.approx(expected, rel=1e-6, abs=1e-12)
        assert comparison.level(c) == pytest.approx(expected, rel=1e-6, abs=1e-12)
    changed = np.abs(diff[diff != 0])
    assert comparison.level() == pytest.approx(np.sort(changed)[int(0.99 * (changed.size - 1))], rel=1e-6)
    low, high = comparison.levels()
    assert low == -high and 0 < high <= np.abs(diff).max()
    # Robust to strong spots: in a 7×7 map the strongest position, made 1000× stronger, leaves the level
    # as it was; in the 14×14 map of a larger input, the strongest two do.
    spiked = comparison.diff.copy()
    c = int(np.argmax(levels))
    before = diff_level(spiked[c])
    spiked[c].flat[int(np.argmax(np.abs(spiked[c])))] *= 1000
    assert diff_level(spiked[c]) == before and before < np.abs(diff[c]).max()
    big = np.abs(np.random.default_rng(3).normal(size=(14, 14))).astype(np.float32)
    base = diff_level(big)
    big.flat[np.argsort(big, axis=None)[-2:]] *= 1000
    assert diff_level(big) == base and channel_levels(big[None])[0] == base


def test_different_input_sizes_give_no_map_but_channel_means(files, bundles, runs):
    """B runs the dog at 160×160: every spatial map differs in size, the channels and the head do not."""
    bundle = bundles["before"]
    image = load_image(files["dog"])
    small = ImageClassification(crop_size=160, resize_size=160, interpolation=InterpolationMode.BILINEAR)
    prepared = preprocess(image.for_network(), "imagenet", photo_size=image.display_size, transform=small)
    run_b = Run(bundle, image, prepared, layer_specs(bundle))
    logits = capture_run(run_b, lambda _out: None)
    run_b.predictions = predictions_from_logits(logits.numpy(), bundle.class_names, 5)
    _, ref_b = reference(reference_model(files["before"]), run_b)
    _, ref_a = reference(reference_model(files["before"]), runs["cat"])

    comparison = compare_runs(runs["cat"], run_b, "layer4.1.relu#2")
    assert comparison.diff is None
    assert comparison.reason == ("different input sizes (A 224×224, B 160×160): "
                                 "layer4.1.relu#2 is 512×7×7 in A and 512×5×5 in B")
    _check_means(comparison.channels, ref_a, ref_b, "layer4.1.relu#2")
    with pytest.raises(ValueError, match="no difference map"):
        comparison.level()
    assert compare_runs(runs["cat"], run_b, "fc").diff is not None  # the head has one size whatever the input


def test_a_head_of_another_width(files, bundles, runs):
    """A 2-class checkpoint of the same architecture: its features compare, its head and classes do not."""
    run_b = analyze(files["cat"], bundles["two"], AnalysisOptions(stats=False))
    at_head = compare_runs(runs["cat"], run_b, "fc")
    assert at_head.diff is None and at_head.reason == "fc is 10 in A and 2 in B: the maps cannot be subtracted"
    assert at_head.channels is None
    assert at_head.rows == [] and at_head.note == "A has 10 classes and B 2: no per-class deltas"
    assert at_head.predictions_b.top == run_b.predictions.top
    report = at_head.report()
    assert report["predictions"]["deltas"] is None and report["channels"] is None and report["diff"] is None
    features = compare_runs(runs["cat"], run_b, "layer4.0.conv1")
    assert features.diff is not None and features.channels is not None and features.note is not None


def test_other_architectures_and_missing_layers_are_refused(files, runs):
    squeeze = load_model(WeightsRequest(arch="squeezenet1_1", untrained=True, device="cpu"))
    other = analyze(files["cat"], squeeze, AnalysisOptions(stats=False, layers=frozenset(["features.0"])))
    with pytest.raises(CompareError, match="A is a ResNet18 and B a SqueezeNet1_1: a comparison needs two runs of "
                                           "one architecture"):
        compare_runs(runs["cat"], other, "features.0")
    with pytest.raises(CompareError, match="no layer named 'layer9' in run A and B"):
        compare_runs(runs["cat"], runs["dog"], "layer9")
    assert "\n" not in str(CompareError("a\nb"))
