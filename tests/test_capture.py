"""Every recorded layer equals an independent torchvision forward; convs are recorded before the ReLU."""
import numpy as np
import pytest
import torch

from inference.analysis import analyze, layer_specs
from inference.capture import describe_layers
from inference.layer_output import channel_stats


@pytest.fixture(scope="module")
def cat_analysis(file_bundle, cat_path):
    return analyze(cat_path, file_bundle)


def test_every_layer_matches_torchvision(cat_analysis, reference_forward):
    ref = reference_forward(cat_analysis.prepared.tensor)
    assert set(cat_analysis.layers) == set(ref)
    for name, expected in ref.items():
        got = cat_analysis.layers[name].data
        assert got.shape == expected.shape, name
        scale = float(np.abs(expected).max()) or 1.0
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * scale, err_msg=name)


def test_conv_recorded_before_inplace_relu(cat_analysis, file_bundle):
    relu = file_bundle.model.features[1]
    assert relu.inplace, "VGG16's ReLU is in-place; this test is about that case"
    conv, after = cat_analysis.layers["features.0"].data, cat_analysis.layers["features.1"].data
    assert conv.min() < 0, "conv output must keep its negative values"
    assert after.min() >= 0
    np.testing.assert_array_equal(np.maximum(conv, 0), after)


def test_layers_stream_in_forward_order_with_metadata(file_bundle, cat_path):
    seen = []
    analyze(cat_path, file_bundle, on_layer=seen.append)
    names = [s.name for s in layer_specs(file_bundle)]
    assert [o.name for o in seen] == names
    first = seen[0]
    assert (first.spec.alias, first.spec.type, first.shape) == ("conv1_1", "Conv2d", (64, 224, 224))
    assert first.spec.params == 64 * 3 * 3 * 3 + 64
    assert seen[-1].spec.alias == "fc8" and seen[-1].shape == (2,)
    assert [o.index for o in seen] == list(range(len(names)))


def test_channel_stats_and_best_channel(cat_analysis):
    out = cat_analysis.layers["features.28"]
    data = np.asarray(out.data, dtype=np.float64)
    np.testing.assert_allclose(out.means, data.mean(axis=(1, 2)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out.maxs, data.max(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(out.fracs, (data > 0).mean(axis=(1, 2)), atol=1e-6)
    assert out.best_channel == int(np.argmax(data.mean(axis=(1, 2))))
    assert cat_analysis.layers["classifier.0"].best_channel is None


def test_channel_stats_same_for_both_memory_formats():
    t = torch.randn(8, 5, 7)
    a = channel_stats(t.numpy())
    b = channel_stats(t.unsqueeze(0).contiguous(memory_format=torch.channels_last)[0].numpy())
    ref = t.numpy().astype(np.float64)
    for x, y, r in zip(a, b, (ref.mean((1, 2)), ref.max((1, 2)), (ref > 0).mean((1, 2)))):
        np.testing.assert_allclose(x, r, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(y, r, rtol=1e-5, atol=1e-6)


def test_inplace_modules_restored_after_capture(file_bundle, cat_path):
    analyze(cat_path, file_bundle)
    assert file_bundle.model.features[1].inplace is True


def test_predictions_softmax_of_logits_with_checkpoint_class_names(cat_analysis, reference_forward):
    ref = reference_forward(cat_analysis.prepared.tensor)["classifier.6"]
    pred = cat_analysis.predictions
    np.testing.assert_allclose(pred.logits, ref, rtol=1e-4, atol=1e-5)
    expected = torch.softmax(torch.tensor(ref, dtype=torch.float64), 0).numpy()
    np.testing.assert_allclose(pred.probs, expected, rtol=1e-4)
    assert {p["label"] for p in pred.top} == {"cat", "dog"}  # N=2 ≤ k: all classes listed
    assert pred.cat_vs_dog is None  # not an ImageNet head


def test_cancel_aborts_the_pass(file_bundle, cat_path):
    from inference.errors import Cancelled

    seen = []
    with pytest.raises(Cancelled):
        analyze(cat_path, file_bundle, on_layer=seen.append, cancel=lambda: len(seen) >= 3)
    assert len(seen) == 3
    # hooks are gone afterwards: a plain forward records nothing more
    with torch.inference_mode():
        file_bundle.model(torch.zeros(1, 3, 224, 224).contiguous(memory_format=torch.channels_last))
    assert len(seen) == 3


def test_capture_works_on_another_architecture():
    """Capture is model-agnostic, and survives in-place functional ops (ResNet's ``out += identity``).

    The first pass learns which outputs are modified later; every pass must equal
    an independent capture that clones each output."""
    from torchvision.models import resnet18
    from inference.blocks import leaf_modules
    from inference.capture import ActivationCapture

    torch.manual_seed(3)
    model = resnet18(num_classes=10).eval()
    x = torch.randn(1, 3, 64, 64)
    reference = {}
    handles = [m.register_forward_hook(lambda m, i, o, n=n: reference.__setitem__(n, o[0].clone().numpy()))
               for n, m in leaf_modules(model)]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    specs = describe_layers(model)
    for _ in range(2):  # first pass learns, second pass relies on what it learned
        seen = []
        with torch.no_grad(), ActivationCapture(model, specs, seen.append):
            model(x)
        assert seen[0].name == "conv1" and seen[-1].name == "fc" and seen[-1].shape == (10,)
        got = {o.name: o.data for o in seen}
        assert got["layer1.0.bn2"].min() < 0  # modified in place by `out += identity; relu` if not protected
        for name, expected in reference.items():
            np.testing.assert_allclose(got[name], expected, rtol=1e-5, atol=1e-6, err_msg=name)


def test_nested_vgg16_lists_the_same_layers(file_bundle):
    """VGG16 has no block and no shared module: the nested list is today's 39 layers (test_any_cnn_forward
    captures it, and checks VGG16 stays a chain)."""
    nested = layer_specs(file_bundle, nested=True)
    assert [(s.name, s.alias, s.type) for s in nested] == [(s.name, s.alias, s.type) for s in layer_specs(file_bundle)]
    assert len(nested) == 39 and nested[0].alias == "conv1_1" and nested[-1].alias == "fc8"
