"""Grad-CAM and Grad-CAM++ from a kept run, against an independent autograd computation and published values.

The reference here is written from scratch: the layer's output A from a plain
torchvision VGG16 cut at that layer (its ReLUs in place, as torchvision builds
it), made a leaf, the rest of the network run on it, and ``torch.autograd.grad``
of the raw logit; then the two methods' weights computed in numpy, following
pytorch-grad-cam's formulas. The tiny one-conv network and its values are
Captum's (``BasicModel_ConvNet_One_Conv`` in its test suite).
"""
import numpy as np
import pytest
import torch
from torch import nn

from inference.analysis import analyze, capture_run
from inference.cam import cam_layers, default_cam_layer, grad_cam, resolve_target, upsample_to_input
from inference.classes import IMAGENET_CATEGORIES
from inference.model import ModelBundle, prepare
from inference.preprocess import Prepared
from inference.probes import ClassLogit, LogProbSum
from inference.run import Run
from inference.analysis import layer_specs

RTOL = 1e-4


@pytest.fixture(scope="module")
def vgg_run(file_bundle, noise_photo):
    return analyze(noise_photo, file_bundle)


def _reference_acts_and_grad(model, x, index, cls):
    """A = features[:index+1](x) as a leaf, the rest of VGG run on it, d logit[cls] / d A."""
    with torch.no_grad():
        a = model.features[: index + 1](x)
    a = a.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        h = model.features[index + 1:](a.clone())  # the in-place ReLUs change the clone, not the leaf
        logits = model.classifier(torch.flatten(model.avgpool(h), 1))
        (g,) = torch.autograd.grad(logits[0, cls], a)
    return a.detach()[0].double().numpy(), g[0].double().numpy()


def _reference_cam(acts, grads, method):
    """pytorch-grad-cam's weights, written out in numpy; then ReLU(Σ w_k A_k)."""
    if method == "gradcam":
        w = grads.mean(axis=(1, 2))
    else:
        g2, g3 = grads ** 2, grads ** 3
        sum_a = acts.sum(axis=(1, 2))
        alpha = g2 / (2 * g2 + sum_a[:, None, None] * g3 + 1e-6)
        alpha = np.where(grads != 0, alpha, 0)
        w = (np.maximum(grads, 0) * alpha).sum(axis=(1, 2))
    return np.maximum((w[:, None, None] * acts).sum(0), 0), w, w * acts.mean(axis=(1, 2))


def _close(got, want, what):
    scale = max(float(np.abs(want).max()), 1e-12)
    err = float(np.abs(np.asarray(got, np.float64) - want).max()) / scale
    assert err <= RTOL, f"{what}: max error {err:.2e} of the largest value"


@pytest.mark.parametrize("layer, index", [("features.28", 28), ("features.29", 29), ("features.30", 30)])
@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_cam_equals_autograd(vgg_run, reference_vgg, layer, index, method):
    """conv5_3 (its ReLU in place: A is the pre-ReLU output), relu5_3, and pool5."""
    x = vgg_run.input_batch()
    acts, grads = _reference_acts_and_grad(reference_vgg, x, index, 1)
    raw, w, contrib = _reference_cam(acts, grads, method)
    if index == 28:
        assert (acts < 0).any(), "the reference must see conv5_3 before its ReLU"
    cam = grad_cam(vgg_run, layer, ClassLogit(1), method)
    assert cam.raw.shape == acts.shape[1:] and cam.weights.shape == (acts.shape[0],)
    _close(cam.weights, w, "weights")
    _close(cam.raw, raw, "map")
    _close(cam.contributions, contrib, "contributions")
    assert all(p.grad is None for p in vgg_run.bundle.model.parameters())
    assert not any(p.requires_grad for p in vgg_run.bundle.model.parameters())


def test_a_summed_target_is_log_sum_of_probabilities(vgg_run, reference_vgg):
    """LogProbSum over both classes is log 1 = 0 everywhere: its gradient, and so the map, is ~0;
    over one class it is log softmax, whose CAM the reference computes directly."""
    x = vgg_run.input_batch()
    with torch.no_grad():
        a = reference_vgg.features[:30](x)
    a = a.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = reference_vgg.classifier(torch.flatten(reference_vgg.avgpool(reference_vgg.features[30:](a.clone())), 1))
        (g,) = torch.autograd.grad(torch.log_softmax(logits, 1)[0, 0], a)
    raw, w, _ = _reference_cam(a.detach()[0].double().numpy(), g[0].double().numpy(), "gradcam")
    cam = grad_cam(vgg_run, "features.29", LogProbSum((0,), label="first"), "gradcam")
    _close(cam.weights, w, "weights")
    _close(cam.raw, raw, "map")
    assert cam.label == "first" and cam.index is None


class OneConv(nn.Module):
    """Captum's BasicModel_ConvNet_One_Conv: conv 1→2 (3×3, ones, biases −50, −75), ReLU, view to 8,
    linear 8→4 (rows [1,1,1,1,1,−1,−1,−1], bias 0), ReLU."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, 1)
        self.relu1 = nn.ReLU()
        self.fc1 = nn.Linear(8, 4)
        self.relu2 = nn.ReLU()
        with torch.no_grad():
            self.conv1.weight.fill_(1)
            self.conv1.bias.copy_(torch.tensor([-50.0, -75.0]))
            self.fc1.weight.copy_(torch.cat([torch.ones(4, 5), -torch.ones(4, 3)], dim=1))
            self.fc1.bias.zero_()

    def forward(self, x):
        x = self.relu1(self.conv1(x))
        # Captum writes x.view(-1, 8); the engine runs CPU models channels_last, where view cannot
        # flatten a 4-D tensor, so reshape (the same values).
        return self.relu2(self.fc1(x.reshape(-1, 8)))


def _tiny_run():
    model = prepare(OneConv(), torch.device("cpu"))
    bundle = ModelBundle(model, "oneconv", "untrained", None, False, [f"out {i}" for i in range(4)], torch.device("cpu"))
    x = torch.arange(16, dtype=torch.float32).view(1, 4, 4)
    run = Run(bundle, None, Prepared(x, np.zeros((4, 4, 3), np.uint8), (0, 0, 4, 4), "none"),  # type: ignore[arg-type]
              layer_specs(bundle))
    capture_run(run, lambda _layer: None)
    return run


def test_captums_one_conv_network_gives_its_published_values():
    run = _tiny_run()
    cam = grad_cam(run, "conv1", ClassLogit(0))
    np.testing.assert_allclose(cam.signed, [[11.25, 13.5], [20.25, 22.5]], rtol=1e-6)
    acts = run.tensors["conv1"][0].numpy()
    terms = cam.weights[:, None, None] * acts
    np.testing.assert_allclose(terms[0], [[-3.75, 3], [23.25, 30]], rtol=1e-6)
    np.testing.assert_allclose(terms[1], [[15, 10.5], [-3, -7.5]], rtol=1e-6)
    np.testing.assert_allclose(cam.raw, np.maximum(cam.signed, 0))
    relu = grad_cam(run, "relu1", ClassLogit(0))
    np.testing.assert_allclose(relu.signed, [[0, 4], [28, 32.5]], rtol=1e-6)
    assert all(p.grad is None for p in run.bundle.model.parameters())


def test_cam_outputs_and_report(vgg_run):
    cam = grad_cam(vgg_run, "features.29", ClassLogit(0), "gradcam++")
    assert cam.raw.dtype == np.float32 and not cam.raw.flags.writeable
    assert (cam.raw >= 0).all()
    np.testing.assert_allclose(cam.contributions.sum(), cam.signed.mean(), rtol=1e-4, atol=1e-7)
    n = cam.normalised()
    assert n.min() == 0 and n.max() == pytest.approx(1.0)
    report = cam.report()
    assert report["class"] == {"index": 0, "label": "cat"} and report["shape"] == [14, 14]
    tops = [abs(t["contribution"]) for t in report["weights_top"]]
    assert len(tops) == 10 and tops == sorted(tops, reverse=True)
    assert tops[0] == pytest.approx(float(np.abs(cam.contributions).max()))
    assert cam.title == "Grad-CAM++ of cat at features.29"


def test_upsampling_is_torchs_bilinear():
    m = np.arange(4, dtype=np.float32).reshape(2, 2)
    up = upsample_to_input(m, (4, 4))
    want = torch.nn.functional.interpolate(torch.from_numpy(m)[None, None], size=(4, 4), mode="bilinear",
                                           align_corners=False)[0, 0].numpy()
    np.testing.assert_allclose(up, want)
    assert up[0, 0] == 0 and up[-1, -1] == 3  # corners keep their values (half-pixel centres, clamped)


def test_default_layer_is_the_last_spatial_relu(vgg_run):
    shapes = {n: o.shape for n, o in vgg_run.layers.items()}
    assert default_cam_layer(vgg_run.specs, shapes, vgg_run.calls) == "features.29"
    layers = cam_layers(vgg_run.specs, shapes)
    assert layers[0] == "features.0" and layers[-1] == "avgpool" and "classifier.0" not in layers


def test_resnet_default_layer_is_derived_from_the_model(cat_path):
    from torchvision.models import resnet18

    torch.manual_seed(0)
    bundle = ModelBundle(prepare(resnet18(num_classes=3), torch.device("cpu")), "resnet18", "untrained", None,
                         False, ["a", "b", "c"], torch.device("cpu"))
    run = analyze(cat_path, bundle)
    shapes = {n: o.shape for n, o in run.layers.items()}
    # Each block's ReLU runs twice, and each call is a layer of its own: the last ReLU is the second
    # call of the last block's, whose output is the block's (and layer4's), at 7×7.
    assert run.calls["layer4.1.relu"] == 2
    layer = default_cam_layer(run.specs, shapes, run.calls)
    assert layer == "layer4.1.relu#2"
    cam = grad_cam(run, layer, ClassLogit(2))
    assert cam.raw.shape == (7, 7) and cam.weights.shape == (512,)
    # Against autograd on a plain forward cut after layer4 (that call's output).
    m = bundle.model
    x = run.prepared.tensor.unsqueeze(0).contiguous()
    with torch.no_grad():
        a = m.layer4(m.layer3(m.layer2(m.layer1(m.maxpool(m.relu(m.bn1(m.conv1(x))))))))
    a = a.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(m.fc(torch.flatten(m.avgpool(a), 1))[0, 2], a)
    _close(cam.weights, g[0].double().mean(dim=(1, 2)).numpy(), "weights")
    # A leaf-only list names both calls "layer4.1.relu": passed over for the last stage's own layer.
    leaf_specs = layer_specs(bundle, nested=False)
    assert default_cam_layer(leaf_specs, shapes, run.calls) == "layer4.1.bn2"


def test_targets_from_what_a_user_types():
    names = list(IMAGENET_CATEGORIES)
    assert resolve_target("tabby", names, True) == (ClassLogit(281), "tabby")
    assert resolve_target("281", names, True)[0] == ClassLogit(281)
    cat, label = resolve_target("cat", names, True)
    assert isinstance(cat, LogProbSum) and cat.classes == tuple(range(281, 286)) and label == "cat"
    dog, _ = resolve_target("Dog", names, True)
    assert dog.classes == tuple(range(151, 269))
    assert resolve_target("Egyptian", names, True)[0] == ClassLogit(names.index("Egyptian cat"))
    for bad, words in (("1000", "out of range"), ("zebrafish-ish", "no class named"), ("terrier", "matches")):
        with pytest.raises(ValueError, match=words) as err:
            resolve_target(bad, names, True)
        assert "\n" not in str(err.value)
    # A fine-tuned checkpoint: its own classes, and "cat" is its class, not ImageNet's sum.
    assert resolve_target("cat", ["cat", "dog"], False) == (ClassLogit(0), "cat")


def test_bad_layers_give_one_line(vgg_run):
    for layer, words in (("nope", "no layer named"), ("classifier.0", "no spatial output")):
        with pytest.raises(ValueError, match=words):
            grad_cam(vgg_run, layer, ClassLogit(0))
    with pytest.raises(ValueError, match="unknown CAM method"):
        grad_cam(vgg_run, "features.29", ClassLogit(0), "scorecam")


def test_primed_gradients_give_the_same_cams(file_bundle, noise_photo):
    """Priming several classes through the head at once changes no value, at or below the head."""
    plain = analyze(noise_photo, file_bundle)
    primed = analyze(noise_photo, file_bundle)
    primed.prime_gradients([ClassLogit(0), ClassLogit(1), LogProbSum((1,), label="second")])
    assert {type(t) for t in primed.primed} == {ClassLogit, LogProbSum}
    boundary = {index for index, _ in primed.primed.values()}
    assert boundary == {plain.specs.index(next(s for s in plain.specs if s.name == "avgpool"))}
    for layer in ("features.29", "avgpool", "features.20"):
        for target in (ClassLogit(0), ClassLogit(1), LogProbSum((1,), label="second")):
            for method in ("gradcam", "gradcam++"):
                a = grad_cam(plain, layer, target, method)
                b = grad_cam(primed, layer, target, method)
                np.testing.assert_allclose(b.weights, a.weights, rtol=1e-5, atol=1e-9)
                np.testing.assert_allclose(b.raw, a.raw, rtol=1e-5, atol=1e-9)
    # A gradient inside the head itself does not use the primed one (it starts from the logits).
    np.testing.assert_allclose(primed.gradient("classifier.1", ClassLogit(1)),
                               plain.gradient("classifier.1", ClassLogit(1)), rtol=1e-5)


@pytest.mark.parametrize("density", [0.05, 0.5, 0.9])
def test_the_linear_products_sparse_path_equals_the_dense_one(density):
    """After a ReLU most of the gradient is zero; the sparse product must give g·W all the same."""
    from inference.backprop import SPARSE_BELOW, linear_vjp

    gen = torch.Generator().manual_seed(2)
    w = torch.randn(300, 700, generator=gen)
    g = torch.randn(3, 300, generator=gen) * (torch.rand(3, 300, generator=gen) < density)
    assert (float((g != 0).float().mean()) < SPARSE_BELOW) == (density < SPARSE_BELOW)
    np.testing.assert_allclose(linear_vjp(g, w).numpy(), (g.double() @ w.double()).numpy(), rtol=1e-5, atol=1e-4)


def test_densenet_default_layer_is_what_its_classifier_reads():
    """DenseNet's last ReLU module sits inside its last dense layer (128 channels); its classifier reads
    ``features`` (norm5, 1024 channels, same 7×7) through a functional ReLU: that is the CAM layer."""
    from torchvision.models import densenet121

    with torch.device("meta"):
        model = densenet121().eval()
    bundle = ModelBundle(model, "densenet121", "untrained", None, False, [str(i) for i in range(1000)],
                         torch.device("cpu"))
    specs = layer_specs(bundle)
    shapes, outputs = {}, {}

    def keep(name):
        def hook(module, args, out):
            shapes[name], outputs[name] = tuple(out.shape[1:]), out
        return hook

    handles = [m.register_forward_hook(keep(n)) for n, m in model.named_modules() if n]
    with torch.no_grad():
        model(torch.empty(1, 3, 224, 224, device="meta"))
    for h in handles:
        h.remove()
    layer = default_cam_layer(specs, shapes)
    assert outputs[layer] is outputs["features"] and shapes[layer] == (1024, 7, 7)
