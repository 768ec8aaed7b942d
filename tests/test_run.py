"""Re-entering an analysed image: edited re-runs, gradients at a layer, input gradients.

Every value is checked against an independent computation written here: a
plain torchvision model loaded with the same weights (VGG16's ReLUs in place,
as torchvision builds it), with hooks that make the same edit or keep the
layer's output for ``torch.autograd.grad``.
"""
import numpy as np
import pytest
import torch
from torchvision.models import resnet18

from call_outputs import every_call
from inference.analysis import AnalysisOptions, analyze, capture_run, layer_specs
from inference.chain import chain_of
from inference.model import ModelBundle, prepare
from inference.probes import ChannelEdit, ClassLogit, LogProbSum, Unit
from inference.run import Run

RTOL = 1e-5        # re-runs: the same float32 ops on the same values
GRAD_RTOL = 1e-4   # gradients: a backward through up to 16 layers, in another memory format


def _bundle(model, arch, n):
    return ModelBundle(prepare(model, torch.device("cpu")), arch, "untrained", None, False,
                       [f"class {i}" for i in range(n)], torch.device("cpu"))


@pytest.fixture(scope="module")
def resnet_state():
    torch.manual_seed(11)
    model = resnet18(num_classes=10).eval()
    # Non-trivial batch-norm statistics, so the BN layers are not near-identities.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return model.state_dict()


def _resnet_bundle(state):
    """A fresh engine bundle of the seeded ResNet-18 (nothing learnt about it yet)."""
    model = resnet18(num_classes=10)
    model.load_state_dict(state)
    return _bundle(model, "resnet18", 10)


@pytest.fixture(scope="module")
def resnet_run(resnet_state, cat_path):
    return analyze(cat_path, _resnet_bundle(resnet_state))


@pytest.fixture(scope="module")
def vgg_run(file_bundle, cat_path):
    return analyze(cat_path, file_bundle)


@pytest.fixture(scope="module")
def vgg_grad_run(file_bundle, noise_photo):
    return analyze(noise_photo, file_bundle)


@pytest.fixture(scope="module")
def resnet_grad_run(resnet_state, noise_photo):
    return analyze(noise_photo, _resnet_bundle(resnet_state))


@pytest.fixture(scope="module")
def vgg_reference(reference_vgg):
    return reference_vgg


@pytest.fixture(scope="module")
def resnet_reference(resnet_state):
    model = resnet18(num_classes=10)
    model.load_state_dict(resnet_state)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def _module(model, name):
    return dict(model.named_modules())[name]


def _edited_forward(model, x, layer, channels, mode):
    """An independent forward whose ``layer`` output is edited by a hook; every leaf output cloned."""
    def edit(m, args, out):
        out = out.clone()
        if mode == "zero":
            out[:, channels] = 0
        elif mode == "mean":
            out[:, channels] = out[:, channels].mean(dim=(2, 3), keepdim=True)
        elif mode == "keep":
            mask = torch.zeros(out.shape[1], dtype=torch.bool)
            mask[channels] = True
            out[:, ~mask] = 0
        elif mode == "scale":
            out[:, channels] = out[:, channels] * 2.5
        return out

    handles = [_module(model, layer).register_forward_hook(edit)]
    try:
        return _every_call(model, x)
    finally:
        for h in handles:
            h.remove()


def _every_call(model, x):
    """(logits, {name: output}) of a forward with every call of every module cloned (``name#2`` …)."""
    logits, outs, _ran = every_call(model, x)
    return logits, {name: out for name, out in outs if out is not None}


def _close(got, expected, name="", rtol=RTOL):
    expected = np.asarray(expected, dtype=np.float32)
    scale = float(np.abs(expected).max()) or 1.0
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale, err_msg=name)


@pytest.mark.parametrize("layer, mode", [("features.0", "zero"), ("features.15", "mean"),
                                         ("features.28", "keep"), ("classifier.1", "scale")])
def test_vgg_rerun_equals_an_edited_forward(vgg_run, vgg_reference, layer, mode):
    channels = [0, 3, 5]
    edit = ChannelEdit(tuple(channels), mode, factor=2.5)
    result = vgg_run.rerun(layer, edit)
    logits, outs = _edited_forward(vgg_reference, vgg_run.prepared.tensor, layer, channels, mode)
    _close(result.logits, logits, "logits")
    np.testing.assert_allclose(result.predictions.probs, torch.softmax(logits.double(), 0).numpy(), rtol=1e-5)
    start = vgg_run.layers[layer].index
    later = [n for n, o in vgg_run.layers.items() if o.index >= start]
    assert set(result.changed) == set(later)  # in a chain every later layer depends on the edit
    for name, out in result.changed.items():
        _close(out.data, outs[name], name)
    assert result.changed[layer].data.shape == vgg_run.layers[layer].shape


def test_vgg_rerun_starts_from_the_kept_output(vgg_run, file_bundle):
    """A chain re-enters at the layer: no convolution before features.28 runs again."""
    assert chain_of(file_bundle.model) is not None
    calls = []
    handles = [file_bundle.model.features[i].register_forward_hook(lambda *a, i=i: calls.append(i)) for i in range(28)]
    try:
        vgg_run.rerun("features.28", ChannelEdit((1,), "zero"))
        vgg_run.gradient("features.29", ClassLogit(0))
    finally:
        for h in handles:
            h.remove()
    assert calls == []


@pytest.mark.parametrize("layer, mode", [("layer1.0.bn2", "zero"), ("layer2.1.conv1", "mean"),
                                         ("layer4.0.downsample.1", "keep"), ("avgpool", "scale")])
def test_resnet_rerun_equals_an_edited_forward(resnet_run, resnet_reference, layer, mode):
    assert chain_of(resnet_run.bundle.model) is None  # skip connections: not a chain, hooks instead
    channels = [1, 2, 7]
    result = resnet_run.rerun(layer, ChannelEdit(tuple(channels), mode, factor=2.5))
    logits, outs = _edited_forward(resnet_reference, resnet_run.prepared.tensor, layer, channels, mode)
    _close(result.logits, logits, "logits")
    assert "fc" in result.changed and layer in result.changed
    for name, out in result.changed.items():
        _close(out.data, outs[name], name)
    # Every layer the edit changed is reported, each call of a block's shared ReLU and the blocks included.
    _, plain = _edited_forward(resnet_reference, resnet_run.prepared.tensor, layer, [], "zero")  # no edit
    moved = {n for n, o in outs.items() if n in resnet_run.layers and not torch.equal(o, plain[n])}
    assert moved and moved <= set(result.changed)
    if layer.startswith("layer"):
        assert any("#" in n for n in moved)  # inside the blocks: a shared ReLU's second call is one of them


def test_rerun_leaves_the_run_as_it_was(vgg_run, reference_forward):
    vgg_run.rerun("features.10", ChannelEdit(tuple(range(64)), "zero"))
    ref = reference_forward(vgg_run.prepared.tensor)
    for name in ("features.10", "features.11", "classifier.6"):
        _close(vgg_run.layers[name].data, ref[name], name)


def _reference_gradient(model, x, layer, score_of, input_grad=False):
    """d score / d (layer output) by autograd through a plain forward (in-place ReLUs as torchvision builds them)."""
    kept = {}
    # The same memory format as the engine's forward, so that a max-pool near-tie or a pre-ReLU value
    # within rounding of 0 goes the same way in both (either way would be a right gradient).
    x = x.unsqueeze(0).contiguous(memory_format=torch.channels_last).requires_grad_(True)

    def keep(m, args, out):
        kept["a"] = out
        return out.clone()  # the in-place ReLU after a conv then leaves the pre-ReLU output intact

    outs = {}
    handles = [] if layer is None else [_module(model, layer).register_forward_hook(keep)]
    for name, m in model.named_modules():
        if name and not list(m.children()):
            handles.append(m.register_forward_hook(lambda m, a, o, n=name: (outs.__setitem__(n, o), o.clone())[1]))
    assert not any(p.requires_grad for p in model.parameters())
    restore = not next(model.parameters()).is_contiguous(memory_format=torch.channels_last)
    model.to(memory_format=torch.channels_last)
    try:
        logits = model(x)
    finally:
        if restore:
            model.to(memory_format=torch.contiguous_format)  # a shared reference model stays as it was
        for h in handles:
            h.remove()
    score = score_of(logits, outs)
    (g,) = torch.autograd.grad(score, x if input_grad else kept["a"])
    return g[0].detach().numpy()


CAT_DOG = LogProbSum((0,), "cat")


@pytest.mark.parametrize("layer, target", [
    ("features.28", ClassLogit(1)),                 # a conv whose ReLU is in place: the pre-ReLU output
    ("features.29", ClassLogit(0)),                 # relu5_3
    ("features.29", CAT_DOG),                       # a function of the logits
    ("features.16", Unit("features.28", 7, 5, 9)),  # one unit of a later layer
    ("classifier.3", ClassLogit(1)),
])
def test_vgg_gradient_equals_autograd(vgg_grad_run, vgg_reference, file_bundle, layer, target):
    got = vgg_grad_run.gradient(layer, target)
    expected = _reference_gradient(vgg_reference, vgg_grad_run.prepared.tensor, layer, _score(target))
    assert got.dtype == np.float32 and got.shape == vgg_grad_run.layers[layer].shape
    assert np.abs(expected).max() > 0
    _close(got, expected, layer, GRAD_RTOL)
    assert all(p.grad is None and not p.requires_grad for p in file_bundle.model.parameters())


def _score(target):
    def score_of(logits, outs):
        if isinstance(target, ClassLogit):
            return logits[0, target.index]
        if isinstance(target, LogProbSum):
            p = torch.softmax(logits[0].double(), 0)
            return torch.log(p[list(target.classes)].sum())
        return outs[target.layer][0, target.channel, target.y, target.x]
    return score_of


@pytest.mark.parametrize("layer, target", [("layer3.1.bn2", ClassLogit(4)), ("layer4.0.conv2", ClassLogit(2)),
                                           ("layer2.0.conv1", Unit("layer3.0.conv1", 3, 2, 2))])
def test_resnet_gradient_equals_autograd(resnet_grad_run, resnet_reference, layer, target):
    got = resnet_grad_run.gradient(layer, target)
    expected = _reference_gradient(resnet_reference, resnet_grad_run.prepared.tensor, layer, _score(target))
    assert np.abs(expected).max() > 0
    _close(got, expected, layer, GRAD_RTOL)
    assert all(p.grad is None for p in resnet_grad_run.bundle.model.parameters())


@pytest.mark.parametrize("target", [ClassLogit(1), Unit("features.28", 3, 6, 6), Unit("features.4", 9, 50, 60)])
def test_vgg_input_gradient_equals_autograd(vgg_grad_run, vgg_reference, file_bundle, target):
    got = vgg_grad_run.input_gradient(target)
    expected = _reference_gradient(vgg_reference, vgg_grad_run.prepared.tensor, None, _score(target), input_grad=True)
    assert got.shape == (3, 224, 224)
    _close(got, expected, rtol=GRAD_RTOL)
    assert all(p.grad is None for p in file_bundle.model.parameters())


def test_input_gradient_of_a_unit_is_local(vgg_run):
    """A pool1 unit at (y, x) sees input rows 2y−2 … 2y+3 (two 3×3 convs, then a 2×2 pool): nothing outside."""
    inner = vgg_run.layers["features.4"].data[:, 4:-4, 4:-4]
    c, y, x = (int(v) for v in np.unravel_index(np.argmax(inner), inner.shape))
    y, x = y + 4, x + 4
    g = np.abs(vgg_run.input_gradient(Unit("features.4", c, y, x))).sum(axis=0)
    ys, xs = np.nonzero(g)
    assert len(ys) > 0, "the brightest pool1 unit must depend on the input"
    assert ys.min() >= 2 * y - 2 and ys.max() <= 2 * y + 3 and xs.min() >= 2 * x - 2 and xs.max() <= 2 * x + 3


def test_resnet_input_gradient_equals_autograd(resnet_grad_run, resnet_reference):
    target = Unit("layer2.0.conv2", 5, 4, 4)
    got = resnet_grad_run.input_gradient(target)
    expected = _reference_gradient(resnet_reference, resnet_grad_run.prepared.tensor, None, _score(target), input_grad=True)
    _close(got, expected, rtol=GRAD_RTOL)


def test_bad_probes_give_one_line(vgg_run):
    with pytest.raises(ValueError, match="no layer named"):
        vgg_run.gradient("features.99", ClassLogit(0))
    with pytest.raises(ValueError, match="out of range"):
        vgg_run.gradient("features.29", ClassLogit(7))
    with pytest.raises(ValueError, match="comes before"):
        vgg_run.gradient("features.29", Unit("features.10", 0, 0, 0))
    with pytest.raises(ValueError, match="outside"):
        vgg_run.input_gradient(Unit("features.28", 0, 14, 0))
    with pytest.raises(ValueError, match="out of range"):
        vgg_run.rerun("features.28", ChannelEdit((512,), "zero"))


def test_copy_learning_needs_a_full_pass(resnet_state, resnet_reference, cat_path):
    """A first pass that captures only a few layers must not teach the copy rules (ResNet's
    ``out += identity`` modifies bn2's output after it is recorded)."""
    bundle = _resnet_bundle(resnet_state)
    partial = analyze(cat_path, bundle, AnalysisOptions(layers=frozenset({"conv1", "layer1.0.bn2", "fc"})))
    full = analyze(cat_path, bundle)
    _, outs = _every_call(resnet_reference, full.prepared.tensor)
    _close(partial.layers["layer1.0.bn2"].data, outs["layer1.0.bn2"], "partial bn2")
    for name, layer in full.layers.items():
        _close(layer.data, outs[name], name)


def test_a_shared_module_is_refused_with_one_line(resnet_state, resnet_run):
    """ResNet's BasicBlock calls its one ReLU twice: a leaf-only list names both calls "layer1.0.relu",
    which is then not one tensor to edit or differentiate (the nested list names each call: test_blocks)."""
    bundle = _resnet_bundle(resnet_state)
    leaves = Run(bundle, None, resnet_run.prepared, layer_specs(bundle, nested=False))
    capture_run(leaves, lambda _layer: None)
    assert leaves.calls["layer1.0.relu"] == 2
    for probe in (lambda: leaves.rerun("layer1.0.relu", ChannelEdit((0,), "zero")),
                  lambda: leaves.gradient("layer1.0.relu", ClassLogit(0)),
                  lambda: leaves.gradient("layer1.0.conv2", Unit("layer1.0.relu", 0, 1, 1))):
        with pytest.raises(ValueError, match="runs 2 times in one forward"):
            probe()


class _Tail(torch.nn.Module):
    """Leaves in a row, but the forward does more than reshape between them (or after the last)."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d(2)
        self.fc = torch.nn.Linear(16, 3)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)) if self.kind == "functional" else self.conv(x))
        x = self.fc(x.flatten(1))
        if self.kind == "inplace-tail":
            x.mul_(3)
        return x


@pytest.mark.parametrize("kind, chain", [("plain", True), ("functional", False), ("inplace-tail", False)])
def test_only_true_chains_are_taken_for_chains(kind, chain, cat_path):
    torch.manual_seed(0)
    model = _Tail(kind)
    run = analyze(cat_path, _bundle(model, "tail", 3))
    assert (chain_of(run.bundle.model) is not None) is chain
    # Either way the answers are right: a re-run equals the edited forward written out here.
    result = run.rerun("conv", ChannelEdit((1,), "scale", factor=-1.0))
    with torch.no_grad():
        h = model.conv(run.input_batch())
        h[:, 1] *= -1
        h = model.pool(torch.relu(h) if kind == "functional" else h)
        expected = model.fc(h.flatten(1)) * (3 if kind == "inplace-tail" else 1)
    _close(result.logits, expected[0])
    g = run.gradient("pool", ClassLogit(2))
    w = model.fc.weight[2].reshape(4, 2, 2) * (3 if kind == "inplace-tail" else 1)
    _close(g, w.detach().numpy())
