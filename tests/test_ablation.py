"""Channel ablation: the ablated logits equal an independent edited forward, the deltas the panel
shows are those logits' own, the original run is left as it was, and bad specs give one line.

The reference is a plain torchvision VGG16 with the same weights (tests/conftest.py's
``reference_vgg``) and a forward hook that returns the edited output (tests/ablation_helpers.py).
torchvision's ReLUs are in place, but a hook on a conv fires when the conv has returned, before
its ReLU runs: at conv3_3 the hook edits the pre-ReLU values and relu3_3 then rectifies the
edited tensor, which is what the engine claims (its conv3_3 is the conv's output before the
ReLU, and the edit is applied there).
"""
import numpy as np
import pytest
import torch

from ablation_helpers import edited_forward, softmax
from inference.ablation import Ablation, AblationResult, ablate, cat_vs_dog_change, comparison_rows
from inference.analysis import AnalysisOptions, analyze
from inference.classes import IMAGENET_CAT_CLASSES, IMAGENET_DOG_CLASSES
from inference.predict import predictions_from_logits

RTOL = 1e-5
LAYERS = ("features.14", "features.29", "classifier.3")  # conv3_3 (before its ReLU), relu5_3, fc7


@pytest.fixture(scope="module")
def run(file_bundle, cat_path):
    return analyze(cat_path, file_bundle, AnalysisOptions(stats=False))


def strongest(run, layer, k):
    """The k most active channels (largest mean): ablating them must move the logits."""
    data = run.layers[layer].data
    means = data.reshape(data.shape[0], -1).mean(1)
    return tuple(int(c) for c in np.argsort(-means)[:k])


@pytest.mark.parametrize("layer, mode, keep", [
    (layer, mode, keep) for layer in LAYERS for mode, keep in (("zero", False), ("mean", False), ("zero", True),
                                                               ("mean", True))
    if not (mode == "mean" and layer == "classifier.3")  # fc7 has no map: refused (test_mean_needs_a_spatial_map)
])
def test_ablated_logits_equal_an_edited_forward(run, reference_vgg, layer, mode, keep):
    channels = strongest(run, layer, 6) if not keep else strongest(run, layer, 40)
    result = ablate(run, Ablation(layer, channels, mode, keep))
    expected, outs = edited_forward(reference_vgg, run.prepared.tensor, layer, channels, mode, keep)
    edited = outs[layer]
    tol = RTOL * float(np.abs(expected).max())
    np.testing.assert_allclose(result.rerun.logits, expected, rtol=RTOL, atol=tol)
    np.testing.assert_allclose(result.after.logits, expected, rtol=RTOL, atol=tol)
    original = run.predictions.logits.astype(np.float64)
    assert np.abs(expected - original).max() > 100 * tol  # the edit did change the answer

    # The edited layer as the re-run holds it is the hook's edited output (conv3_3: before its ReLU).
    got = result.rerun.changed[layer].data
    np.testing.assert_allclose(got, edited, rtol=RTOL, atol=RTOL * float(np.abs(edited).max()))
    if layer == "features.14":
        assert (got < 0).any()  # pre-ReLU values: the edit is not taken after the ReLU
    assert result.before is run.predictions


def test_deltas_are_the_logits_own(run):
    """Every row's before/after/Δ against a softmax computed here from the two logit vectors."""
    result = ablate(run, Ablation("features.29", strongest(run, "features.29", 20)))
    zb, za = run.predictions.logits.astype(np.float64), result.rerun.logits.astype(np.float64)
    pb, pa = softmax(zb), softmax(za)
    assert [r["index"] for r in result.rows] == [e["index"] for e in run.predictions.top]  # 2 classes: all of them
    for row in result.rows:
        i = row["index"]
        assert row["label"] == run.bundle.class_names[i]
        assert row["logit_before"] == pytest.approx(zb[i], rel=1e-6, abs=1e-7)
        assert row["logit_after"] == pytest.approx(za[i], rel=1e-6, abs=1e-7)
        assert row["logit_delta"] == pytest.approx(za[i] - zb[i], rel=1e-5, abs=1e-7)
        assert row["prob_before"] == pytest.approx(pb[i], rel=1e-5)
        assert row["prob_after"] == pytest.approx(pa[i], rel=1e-5)
        assert row["prob_delta"] == pytest.approx(pa[i] - pb[i], rel=1e-4, abs=1e-6)
        assert row["rank_before"] == 1 + int((pb > pb[i]).sum())
        assert row["rank_after"] == 1 + int((pa > pa[i]).sum())
        assert row["new"] is False
    assert result.cat_vs_dog is None  # a 2-class head has no ImageNet cat-vs-dog answer
    assert result.comparison() == {"rows": result.rows, "cat_vs_dog": None, "caption": result.caption}
    assert result.caption.startswith("relu5_3: channels ")


def test_new_top_classes_and_cat_vs_dog_on_an_imagenet_head():
    """On 1000 made-up logits: the original top 5 in order, then the classes new to the top 5;
    cat and dog are the sums of ImageNet's cat and dog probabilities, before and after."""
    rng = np.random.default_rng(3)
    names = [f"class {i}" for i in range(1000)]
    zb = (0.3 * rng.normal(size=1000)).astype(np.float32)  # small noise: the order below holds
    zb[[281, 7, 90, 500, 151]] += [9.0, 6.0, 5.5, 5.0, 4.5]  # a cat on top, a dog 5th
    za = zb.copy()
    za[281] -= 8.0     # the cat falls out of the top 5
    za[600] += 7.0     # a new class comes in
    before = predictions_from_logits(zb, names, 5, imagenet_head=True)
    after = predictions_from_logits(za, names, 5, imagenet_head=True)
    rows = comparison_rows(before, after)
    assert [r["index"] for r in rows] == [281, 7, 90, 500, 151, 600]
    assert [r["new"] for r in rows] == [False] * 5 + [True]
    order_a = list(np.argsort(-za, kind="stable"))
    assert rows[0]["rank_before"] == 1 and rows[0]["rank_after"] == order_a.index(281) + 1 > 5
    assert rows[-1]["rank_after"] == 1 and rows[-1]["label"] == "class 600"
    pb, pa = softmax(zb), softmax(za)
    change = cat_vs_dog_change(before, after)
    for key, classes in (("cat", IMAGENET_CAT_CLASSES), ("dog", IMAGENET_DOG_CLASSES)):
        b, a = pb[list(classes)].sum(), pa[list(classes)].sum()
        assert change[key]["before"] == pytest.approx(b, rel=1e-5)
        assert change[key]["after"] == pytest.approx(a, rel=1e-5)
        assert change[key]["delta"] == pytest.approx(a - b, rel=1e-4, abs=1e-7)
    assert change["cat"]["delta"] < 0 < change["dog"]["delta"]
    two = predictions_from_logits(zb[:2], names[:2], 5)
    assert cat_vs_dog_change(two, two) is None


def test_the_original_run_is_untouched(run, reference_forward):
    """A reset shows the original run again: after ablations its tensors, layers and predictions are
    bit for bit what they were, and equal an independent plain forward."""
    tensors = {name: t.clone() for name, t in run.tensors.items()}
    top = [dict(e) for e in run.predictions.top]
    logits = run.predictions.logits.copy()
    for layer, keep in (("features.14", False), ("features.29", True), ("classifier.3", False)):
        ablate(run, Ablation(layer, strongest(run, layer, 3), "zero", keep))
    assert set(run.tensors) == set(tensors)
    for name, t in tensors.items():
        assert torch.equal(run.tensors[name], t), name
    assert run.predictions.top == top and np.array_equal(run.predictions.logits, logits)
    plain = reference_forward(run.prepared.tensor)
    for name in ("features.14", "features.29", "classifier.6"):
        np.testing.assert_allclose(run.layers[name].data, plain[name], rtol=RTOL,
                                   atol=RTOL * float(np.abs(plain[name]).max()))


def test_describe():
    assert Ablation("features.28", (40, 12)).describe("conv5_3") == "conv5_3: channels 12, 40 set to 0"
    assert Ablation("features.28", (12,), "mean").describe("conv5_3") == "conv5_3: channel 12 set to its spatial mean"
    assert (Ablation("features.28", (12, 40), keep=True).describe("conv5_3", 512)
            == "conv5_3: only channels 12, 40 kept, the other 510 set to 0")
    assert (Ablation("features.28", (3,), "mean", keep=True).describe("conv5_3")
            == "conv5_3: only channel 3 kept, the other set to their spatial mean")
    many = Ablation("features.28", range(20)).describe()
    assert many == "features.28: channels 0, 1, 2, 3, 4, 5, 6, 7 … (20 channels) set to 0"
    assert Ablation("features.28", (5, 5, 2)).report() == {"layer": "features.28", "channels": [2, 5],
                                                          "mode": "zero", "keep": False}


def test_keep_with_mean_sets_the_others_to_their_mean(run):
    """keep + mean: the kept channels as they were, every other one flat at its own spatial mean."""
    layer = "features.29"
    original = run.layers[layer].data
    result = ablate(run, Ablation(layer, (1, 7), "mean", keep=True))
    got = result.rerun.changed[layer].data
    np.testing.assert_array_equal(got[[1, 7]], original[[1, 7]])
    others = [c for c in range(original.shape[0]) if c not in (1, 7)]
    np.testing.assert_allclose(got[others], np.broadcast_to(original[others].mean((1, 2), keepdims=True),
                                                            got[others].shape), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("make, needle", [
    (lambda: Ablation("features.28", ()), "no channels"),
    (lambda: Ablation("features.28", (1,), "half"), "half"),
    (lambda: Ablation("features.28", (-1,)), "-1"),
    (lambda: Ablation("features.28", ("x",)), "whole numbers"),
])
def test_bad_specs_are_one_line(make, needle):
    with pytest.raises(ValueError) as err:
        make()
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_bad_ablations_of_a_run_are_one_line(run):
    with pytest.raises(ValueError, match=r"^channel 9999 is out of range: conv5_3 has 512 channels$"):
        ablate(run, Ablation("features.28", (3, 9999)))
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        ablate(run, Ablation("nope", (1,)))


def test_mean_needs_a_spatial_map(run):
    with pytest.raises(ValueError, match=r"^fc7 has no spatial map.*use zero"):
        ablate(run, Ablation("classifier.3", (1,), "mean"))
    assert isinstance(ablate(run, Ablation("classifier.3", (1,))), AblationResult)


def test_a_run_captured_without_its_answer_ablates_from_its_logits(run):
    """A run built by ``capture_run`` alone has logits but no predictions: the ablation's "before" is
    those logits' answer, the same as the analysed run's; a run whose forward never finished is refused."""
    from dataclasses import replace

    bare = replace(run, predictions=None)
    result = ablate(bare, Ablation("features.29", strongest(run, "features.29", 8)))
    assert bare.predictions is None  # the run is left as it was
    np.testing.assert_array_equal(result.before.logits, run.predictions.logits)
    assert [r["index"] for r in result.rows] == [r["index"] for r in ablate(
        run, Ablation("features.29", strongest(run, "features.29", 8))).rows]
    with pytest.raises(ValueError, match=r"^this run has no logits"):
        ablate(replace(run, predictions=None, logits=None), Ablation("features.29", (1,)))
