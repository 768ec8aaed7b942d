"""Grad-CAM's channel means through the pools (inference/channel_means.py) equal the whole gradient's means.

The reference is ``torch.autograd.grad`` of the raw logit with respect to the
layer's output, the rest of the network run on a leaf copy; then its mean over
positions, computed here. Where the leaves after the layer do not keep channel
sums (a ReLU, a padded average pool) the shortcut must answer None.
"""
import numpy as np
import pytest
import torch
from torch import nn

from inference.analysis import analyze, capture_run, layer_specs
from inference.cam import grad_cam
from inference.channel_means import channel_sums, keeps_channel_sums
from inference.model import ModelBundle, prepare
from inference.preprocess import Prepared
from inference.probes import ClassLogit, LogProbSum
from inference.run import Run


@pytest.fixture(scope="module")
def vgg_run(file_bundle, noise_photo):
    return analyze(noise_photo, file_bundle)


def _autograd_means(model, x, cut, cls):
    """d logit[cls] / d (the output of model.features[:cut+1], or of avgpool when cut is None), meaned."""
    with torch.no_grad():
        a = model.features[: cut + 1](x) if cut is not None else model.avgpool(model.features(x))
    a = a.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        h = model.avgpool(model.features[cut + 1:](a.clone())) if cut is not None else a.clone()
        (g,) = torch.autograd.grad(model.classifier(torch.flatten(h, 1))[0, cls], a)
    return g[0].double().mean(dim=(1, 2)).numpy()


@pytest.mark.parametrize("layer, cut", [("features.29", 29), ("features.30", 30), ("avgpool", None)])
def test_vgg_channel_means_equal_autograds(vgg_run, reference_vgg, layer, cut):
    x = vgg_run.input_batch().contiguous()
    for cls in (0, 1):
        got = vgg_run.gradient_channel_means(layer, ClassLogit(cls))
        assert got is not None and got.shape == (512,)
        want = _autograd_means(reference_vgg, x, cut, cls)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())
        np.testing.assert_allclose(got, vgg_run.gradient(layer, ClassLogit(cls)).mean(axis=(1, 2)),
                                   rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_primed_targets_and_summed_targets_take_it_too(vgg_run):
    target = LogProbSum((0, 1), label="both")
    fresh = vgg_run.gradient_channel_means("features.29", target)
    vgg_run.prime_gradients([target])  # now it starts from the primed gradient at the head's input
    primed = vgg_run.gradient_channel_means("features.29", target)
    whole = vgg_run.gradient("features.29", target).mean(axis=(1, 2))
    scale = np.abs(whole).max()
    np.testing.assert_allclose(fresh, whole, rtol=1e-4, atol=1e-5 * scale)
    np.testing.assert_allclose(primed, whole, rtol=1e-4, atol=1e-5 * scale)


def test_no_shortcut_where_the_sums_are_not_kept(vgg_run):
    assert vgg_run.gradient_channel_means("features.28", ClassLogit(0)) is None  # conv5_3: relu5_3's mask follows
    assert vgg_run.gradient_channel_means("features.20", ClassLogit(0)) is None  # convolutions follow
    cam = grad_cam(vgg_run, "features.28", ClassLogit(0))  # the whole gradient then, as before
    np.testing.assert_allclose(cam.weights, vgg_run.gradient("features.28", ClassLogit(0)).mean(axis=(1, 2)),
                               rtol=1e-5, atol=1e-9)


def test_pool_rules():
    assert keeps_channel_sums(nn.MaxPool2d(3, 2, 1)) and keeps_channel_sums(nn.AdaptiveAvgPool2d(3))
    assert keeps_channel_sums(nn.AvgPool2d(2)) and keeps_channel_sums(nn.Dropout().eval())
    assert not keeps_channel_sums(nn.AvgPool2d(3, 1, padding=1))  # the padding takes a share of the gradient
    assert not keeps_channel_sums(nn.AvgPool2d(3, 2, ceil_mode=True))
    assert not keeps_channel_sums(nn.Dropout().train()) and not keeps_channel_sums(nn.ReLU())


class Pools(nn.Module):
    """conv → ReLU → pool (the one under test) → adaptive max-pool → eval dropout → flatten → Linear."""

    def __init__(self, pool: nn.Module):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = pool
        self.amax = nn.AdaptiveMaxPool2d(3)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(36, 5)

    def forward(self, x):
        return self.fc(self.drop(self.amax(self.pool(self.relu(self.conv(x))))).flatten(1))


def _pools_run(pool):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        model = prepare(Pools(pool), torch.device("cpu"))
        x = torch.rand(3, 12, 12)
    bundle = ModelBundle(model, "pools", "untrained", None, False, [f"c{i}" for i in range(5)], torch.device("cpu"))
    run = Run(bundle, None, Prepared(x, np.zeros((12, 12, 3), np.uint8), (0, 0, 12, 12), "none"),  # type: ignore[arg-type]
              layer_specs(bundle))
    capture_run(run, lambda _layer: None)
    return run


@pytest.mark.parametrize("pool, kept", [(nn.AvgPool2d(2), True), (nn.MaxPool2d(3, 2, 1), True),
                                        (nn.AvgPool2d(3, 1, padding=1), False)])
def test_other_pools(pool, kept):
    run = _pools_run(pool)
    for cls in range(5):
        got = run.gradient_channel_means("relu", ClassLogit(cls))
        if not kept:
            assert got is None
            continue
        a = run.tensors["relu"].detach().clone().requires_grad_(True)
        m = run.bundle.model
        with torch.enable_grad():
            (g,) = torch.autograd.grad(m.fc(m.drop(m.amax(m.pool(a))).flatten(1))[0, cls], a)
        np.testing.assert_allclose(got, g[0].mean(dim=(1, 2)).numpy(), rtol=1e-5, atol=1e-7)


def test_the_summed_weights_follow_the_linear():
    fc = nn.Linear(12, 2)
    first = channel_sums(fc, 3)
    np.testing.assert_allclose(first.numpy(), fc.weight.detach().view(2, 3, 4).sum(2).numpy(), rtol=1e-6)
    assert channel_sums(fc, 3) is first  # kept
    with torch.no_grad():
        fc.weight.mul_(2)  # an edited weight is summed again
    np.testing.assert_allclose(channel_sums(fc, 3).numpy(), 2 * first.numpy(), rtol=1e-6)
