"""Issue 12: Grad-CAM, ablation, the unit probe and the kernels are right on CNNs other than VGG16.

VGG16 is a chain, so its probes mostly go through the engine's own backward; every other
architecture goes through hooks on one call of one module (a leaf, a block output, or the
2nd call of a shared ReLU), which is what is checked here. Each architecture is built once
(seeded, batch norms given non-trivial statistics), written to a file and read back twice
with ``weights_only=True``: once for the engine, once for a plain torchvision reference.
The references are written here: a forward hook on the k-th call of a module that makes
its output a leaf (Grad-CAM), returns an edited copy (ablation) or keeps a clone (probe),
then ``torch.autograd.grad``; the CAM formulas are applied to that gradient here.
"""
import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torchvision

from inference.ablation import Ablation, ablate
from inference.analysis import capture_run, layer_specs
from inference.cam import default_cam_layer, grad_cam
from inference.kernels import conv_weights
from inference.model import ModelBundle, prepare
from inference.predict import predictions_from_logits
from inference.probe import probe_of_run
from inference.probes import ClassLogit
from inference.run import Run

SIZE = 64      # every arch below accepts it; their last stage is 2×2 there
CLASS = 7      # the class whose raw logit is explained
NO_AUX = {"googlenet"}
# Per arch: a mid layer, a block output and a later call of a shared module, where it has them.
# ResNet's blocks end in their ReLU's 2nd call (the block output is that call, ``ends``); layer2.0.bn2 is
# changed in place by ``out += identity`` after it returns, so its kept output must be a copy.
LAYERS = {
    "resnet18": {"mid": "layer2.0.bn2", "block": "layer2.1.relu#2", "call": "layer1.1.relu#2",
                 "first": "layer3.0.relu"},
    "mobilenet_v3_small": {"mid": "features.4.block.1.2", "block": "features.3", "se": "features.4.block.2"},
    "densenet121": {"mid": "features.denseblock2.denselayer1.conv1", "block": "features.denseblock2"},
    "googlenet": {"mid": "inception3b.branch2.1.conv", "block": "inception3a"},
}
ARCHS = list(LAYERS)


def _build(arch: str):
    kw = {"aux_logits": False, "init_weights": False} if arch in NO_AUX else {}
    return torchvision.models.get_model(arch, weights=None, **kw)


def _seeded_file(arch: str, folder):
    torch.manual_seed(sum(map(ord, arch)) + 1)
    model = _build(arch)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        # Each batch norm's statistics are those of the activations it sees on random photos (as training
        # leaves them), so the signal keeps its size through the depth and an edit anywhere moves the logits.
        for m in norms:
            m.reset_running_stats()
            m.momentum = None   # a cumulative average over the batches below
        model.train()
        for _ in range(2):
            model(torch.randn(8, 3, SIZE, SIZE))
        for m in norms:
            m.momentum = 0.1
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.2)
    path = folder / f"{arch}.pth"
    torch.save(model.state_dict(), path)
    return path


def _load(arch: str, path):
    model = _build(arch)
    model.load_state_dict(torch.load(path, weights_only=True))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


@pytest.fixture(scope="module", params=ARCHS)
def case(request, tmp_path_factory):
    """(arch, engine run, reference model, input, memo): one build per arch for the whole module."""
    arch = request.param
    path = _seeded_file(arch, tmp_path_factory.mktemp(arch))
    names = [f"c{i}" for i in range(1000)]
    bundle = ModelBundle(prepare(_load(arch, path), torch.device("cpu")), arch, "untrained", None, False,
                         names, torch.device("cpu"))
    torch.manual_seed(11)
    x = torch.randn(3, SIZE, SIZE)
    # The run as analyze builds it, on a 64×64 input that is its own photo (rect = the whole image).
    image = SimpleNamespace(display_size=(SIZE, SIZE), width=SIZE, height=SIZE)
    prepared = SimpleNamespace(tensor=x, rect=(0.0, 0.0, float(SIZE), float(SIZE)))
    run = Run(bundle, image, prepared, layer_specs(bundle))
    logits = capture_run(run, lambda _l: None)
    run.predictions = predictions_from_logits(logits.numpy(), names, 5, bundle.imagenet_head)
    return arch, run, _load(arch, path), x, {}   # the last: gradients both CAM methods share


# ----------------------------------------------------------------------------- the references
def _on_call(model, layer: str, fn):
    """A forward hook on the k-th call of ``layer``'s module ("name#k"; k = 1 without "#") that returns
    ``fn(output)`` there (None: the output is left as it is)."""
    module_name, _, k = layer.partition("#")
    module = dict(model.named_modules())[module_name]
    k, seen = int(k or 1), [0]

    def hook(m, args, out):
        seen[0] += 1
        return fn(out) if seen[0] == k else None
    return module.register_forward_hook(hook)


def _gradient_at(model, x, layer: str, index: int):
    """(A, d logit_index / d A) at that call, both [C, H, W] float64: A is made a leaf, and the network
    goes on from a clone of it, so a later in-place op (ResNet's ``+= identity``) cannot touch it."""
    held = {}

    def leaf(out):
        held["a"] = out.detach().clone().requires_grad_(True)
        return held["a"].clone()
    handle = _on_call(model, layer, leaf)
    try:
        with torch.enable_grad():
            score = model(x.unsqueeze(0))[0, index]
            (g,) = torch.autograd.grad(score, held["a"])
    finally:
        handle.remove()
    return held["a"].detach()[0].double(), g[0].double()


def _cam_reference(a, g, method: str):
    """Grad-CAM: w = mean g; Grad-CAM++: α = g² / (2g² + ΣA·g³ + 1e-6) (0 where g = 0), w = Σ α·ReLU(g)."""
    if method == "gradcam":
        w = g.mean(dim=(1, 2))
    else:
        sum_a = a.sum(dim=(1, 2), keepdim=True)
        alpha = g ** 2 / (2 * g ** 2 + sum_a * g ** 3 + 1e-6)
        alpha[g == 0] = 0
        w = (alpha * torch.relu(g)).sum(dim=(1, 2))
    signed = torch.einsum("c,chw->hw", w, a)
    return {"weights": w, "signed": signed, "raw": signed.clamp(min=0), "contributions": w * a.mean(dim=(1, 2))}


def _edited_forward(model, x, layer: str, channels, mode: str, keep: bool):
    """(logits, the edited output) of a forward whose hook edits that call's output as the test says."""
    held = {}

    def edit(out):
        out = out.clone()
        c = out.shape[1]
        chosen = [ch for ch in range(c) if (ch in channels) != keep]   # keep: edit every other channel
        if mode == "zero":
            out[:, chosen] = 0
        else:
            for ch in chosen:
                out[:, ch] = out[:, ch].mean()
        held["out"] = out[0].clone()
        return out
    handle = _on_call(model, layer, edit)
    try:
        with torch.no_grad():
            logits = model(x.unsqueeze(0))[0]
    finally:
        handle.remove()
    return logits.double().numpy(), held["out"].numpy()


def _close(got, expected, rtol, what):
    expected = np.asarray(expected, dtype=np.float64)
    assert np.shape(got) == expected.shape, what
    scale = float(np.abs(expected).max()) or 1.0
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def _cam_layers(arch, run):
    default = default_cam_layer(run.specs, {n: o.shape for n, o in run.layers.items()}, run.calls)
    return default, [default] + [name for key, name in LAYERS[arch].items() if key != "mid"]


# ----------------------------------------------------------------------------- 1. Grad-CAM
def test_default_cam_layer_is_a_spatial_layer_of_the_last_stage(case):
    arch, run, *_ = case
    default, _ = _cam_layers(arch, run)
    assert default in run.layers, f"{arch}: default CAM layer {default!r} is not a captured layer"
    shape = run.layers[default].shape
    assert len(shape) == 3 and shape[1] * shape[2] > 1, f"{arch}: {default} is {shape}"
    # At the network's coarsest resolution above 1×1: where a CAM is most about the class.
    areas = [o.shape[1] * o.shape[2] for o in run.layers.values() if len(o.shape) == 3 and o.shape[1] * o.shape[2] > 1]
    assert shape[1] * shape[2] == min(areas), f"{arch}: {default} is {shape}, coarser maps exist"


@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_cam_equals_the_formulas_on_an_autograd_gradient(case, method):
    """The reference gradient is taken in float64: in float32, MobileNet's gradient at features.3 is itself
    only good to ~1e-4 of its largest value (the engine's is as good), and Grad-CAM++'s α divides by
    2g² + ΣA·g³, which nearly vanishes for some channels of a pre-activation layer (ΣA < 0) and magnifies
    any float32 rounding of g 10–100×. So: the gradient equals autograd's to 1e-4; Grad-CAM++ equals its
    formula on that gradient; Grad-CAM, well conditioned, also equals its formula on autograd's."""
    arch, run, ref, x, memo = case
    if "ref64" not in memo:
        memo["ref64"] = copy.deepcopy(ref).double()
    _, layers = _cam_layers(arch, run)
    for layer in layers:
        cam = grad_cam(run, layer, ClassLogit(CLASS), method)
        if layer not in memo:
            memo[layer] = (*_gradient_at(memo["ref64"], x.double(), layer, CLASS),
                           run.gradient(layer, ClassLogit(CLASS)))
        a, g, got_g = memo[layer]
        assert float(g.abs().max()) > 0, f"{arch} {layer}: the reference gradient is zero"
        what = f"{arch} {method} {layer}"
        _close(run.layers[layer].data, a.numpy(), 1e-4, f"{what}: activations")
        _close(got_g, g.numpy(), 1e-4, f"{what}: gradient")
        on_run = _cam_reference(torch.from_numpy(np.array(run.layers[layer].data, dtype=np.float64)),
                                torch.from_numpy(got_g.astype(np.float64)), method)
        on_autograd = _cam_reference(a, g, method)
        for key in on_run:
            _close(getattr(cam, key), on_run[key].numpy(), 1e-4, f"{what}: {key} (on the run's gradient)")
            if method == "gradcam":
                # A sum over the map of float32 products against float64's: on a CPU without AVX-512
                # (other conv kernels) a contribution differs by ~1.1e-4 of the largest one.
                _close(getattr(cam, key), on_autograd[key].numpy(), 5e-4, f"{what}: {key} (on autograd's)")


# ----------------------------------------------------------------------------- 2. ablation
def _strongest(run, layer, k):
    data = run.layers[layer].data
    means = data.reshape(data.shape[0], -1).mean(1)
    return tuple(int(c) for c in np.argsort(-means, kind="stable")[:k])


@pytest.mark.parametrize("mode, keep", [("zero", False), ("mean", False), ("zero", True), ("mean", True)])
def test_ablated_logits_equal_an_edited_forward(case, mode, keep):
    arch, run, ref, x, _ = case
    before = run.logits[0].double().numpy().copy()
    for layer in LAYERS[arch].values():
        channels = _strongest(run, layer, 3 if not keep else run.layers[layer].shape[0] // 2)
        result = ablate(run, Ablation(layer, channels, mode, keep))
        expected, edited = _edited_forward(ref, x, layer, set(channels), mode, keep)
        what = f"{arch} {layer} {mode}{' keep' if keep else ''}"
        _close(result.rerun.logits, expected, 1e-5, what)
        _close(result.after.logits, expected, 1e-5, what)
        assert np.abs(expected - before).max() > 1e-3 * np.abs(before).max(), f"{what}: the edit changed nothing"
        _close(result.rerun.changed[layer].data, edited, 1e-5, f"{what}: edited output")
    np.testing.assert_array_equal(run.logits[0].double().numpy(), before)   # the run itself is left as it was


# ----------------------------------------------------------------------------- 3. the unit probe
def _unit_reference(model, x, layer, channel, y, xx):
    """(Σ_c |d unit / d input_c|, that call's output [C, H, W]) by autograd on the reference."""
    held = {}

    def keep(out):
        held["out"] = out
        return out.clone()   # later in-place ops change the clone, never the unit's own output
    handle = _on_call(model, layer, keep)
    try:
        with torch.enable_grad():
            inp = x.unsqueeze(0).clone().requires_grad_(True)
            model(inp)
            (g,) = torch.autograd.grad(held["out"][0, channel, y, xx], inp)
    finally:
        handle.remove()
    return g[0].abs().sum(0).numpy(), held["out"][0].detach().numpy()


def test_probe_effective_field_and_hypercolumn(case):
    arch, run, ref, x, _ = case
    for layer in LAYERS[arch].values():
        if len(run.layers[layer].shape) != 3:
            continue
        c, h, w = run.layers[layer].shape
        channel = int(np.argmax(run.layers[layer].data.reshape(c, -1).max(1)))
        y, xx = h // 2, max(w // 2 - 1, 0)
        probe = probe_of_run(run, layer, channel, y, xx)
        erf, out = _unit_reference(ref, x, layer, channel, y, xx)
        assert probe.erf is not None, f"{arch} {layer}: {probe.erf_note}"
        assert erf.max() > 0, f"{arch} {layer}: the unit does not depend on the input"
        _close(probe.erf, erf, 1e-4, f"{arch} {layer}: effective field")
        _close(probe.hypercolumn, out[:, y, xx], 1e-4, f"{arch} {layer}: hypercolumn")
        assert np.all(np.diff(probe.hypercolumn[probe.order]) <= 0), f"{arch} {layer}: order"


# ----------------------------------------------------------------------------- 4. kernels
def test_conv_weights_list_every_conv_with_its_weights_read_only(case):
    arch, run, ref, x, _ = case
    engine = run.bundle.model
    got = conv_weights(engine)
    convs = {n: m for n, m in ref.named_modules() if isinstance(m, torch.nn.Conv2d)}
    order = []
    handles = [m.register_forward_hook(lambda m, a, o, n=n: order.append(n)) for n, m in convs.items()]
    try:
        with torch.no_grad():
            ref(x.unsqueeze(0))
    finally:
        for hd in handles:
            hd.remove()
    assert list(got) == list(dict.fromkeys(order)), f"{arch}: not every conv, or not in forward order"
    assert set(got) == set(convs)
    engine_modules = dict(engine.named_modules())
    for name, (weight, bias) in got.items():
        module = convs[name]
        np.testing.assert_array_equal(weight, module.weight.numpy(), err_msg=f"{arch} {name}")
        assert weight.dtype == np.float32 and weight.shape == tuple(module.weight.shape)
        assert (bias is None) == (module.bias is None), name
        if bias is not None:
            np.testing.assert_array_equal(bias, module.bias.numpy(), err_msg=f"{arch} {name} bias")
        for array in (weight, bias):
            if array is not None:
                assert not array.flags.writeable
                with pytest.raises(ValueError):
                    array.flat[0] = 1.0
        assert np.shares_memory(weight, engine_modules[name].weight.detach().numpy()), f"{name}: copied"
