"""Issue 12: every layer the engine captures, on any torchvision CNN, equals an independent forward.

Each architecture is built once with seeded random weights (batch norms given
non-trivial statistics), written to a file and read back twice with
``weights_only=True``: once for the engine, once for a reference model of its
own. The reference is a plain torchvision forward with a hook on every module
that clones each call's output, named here (``name``, ``name#2`` … per call).
Compared: every captured layer (leaf calls, every call of a shared module,
block outputs), both on the first pass (which learns what to copy) and on a
later one; every leaf call is captured, in the order it ran; a container not
listed returns exactly the layer that names it in ``ends``; what never ran is
what the spec list flags ``ran=False``; only VGG16 is a chain of its leaves.
"""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torchvision

from call_outputs import every_call
from inference.analysis import forward, layer_specs
from inference.chain import chain_of
from inference.model import ModelBundle, prepare

SIZES = {"inception_v3": 75}   # the smallest input each accepts: 32 elsewhere
NO_AUX = {"googlenet", "inception_v3"}
ARCHS = ["vgg16", "resnet18", "densenet121", "googlenet", "inception_v3", "mobilenet_v3_small",
         "efficientnet_b0", "squeezenet1_1", "shufflenet_v2_x1_0", "regnet_y_400mf", "convnext_tiny"]


def _build(name: str, device=None, **kwargs):
    kw = {"aux_logits": False, "init_weights": False} if name in NO_AUX else {}
    with torch.device(device or "cpu"):
        return torchvision.models.get_model(name, weights=None, **kw, **kwargs)


def _seeded_file(name: str, folder, vgg_checkpoint) -> tuple:
    """(path, num_classes): the seeded weights on disk (VGG16: the session's 2-class checkpoint)."""
    if name == "vgg16":
        return vgg_checkpoint, 2
    torch.manual_seed(sum(map(ord, name)))
    model = _build(name)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    path = folder / f"{name}.pth"
    torch.save(model.state_dict(), path)
    return path, 1000


def _load(name: str, path, num_classes: int):
    kwargs = {"num_classes": num_classes} if num_classes != 1000 else {}
    try:
        model = _build(name, "meta", **kwargs)
    except NotImplementedError:  # regnet's builder reads a tensor's values while it builds
        model = _build(name, **kwargs)
    model.load_state_dict(torch.load(path, weights_only=True), assign=True)
    return model.eval()


def _reference(model, x):
    """Every call of every module, in the order each returned, output cloned at once: [(name#k, tensor)]."""
    logits, outs, ran = every_call(model, x)
    leaves = {n for n, m in model.named_modules() if n and not list(m.children())}
    return outs, leaves, ran, logits


def _close(got, expected, name):
    expected = expected.numpy()
    assert got.shape == expected.shape, name
    scale = float(np.abs(expected).max()) or 1.0
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * scale, err_msg=name)


@pytest.mark.parametrize("arch", ARCHS)
def test_every_captured_layer_equals_an_independent_forward(arch, tmp_path, vgg_checkpoint):
    path, n = _seeded_file(arch, tmp_path, vgg_checkpoint)
    engine = prepare(_load(arch, path, n), torch.device("cpu"))
    bundle = ModelBundle(engine, arch, "untrained", None, False, [f"c{i}" for i in range(n)], torch.device("cpu"))
    reference = _load(arch, path, n)
    size = SIZES.get(arch, 32)
    torch.manual_seed(5)
    x = torch.randn(3, size, size)

    outs, leaves, ran, ref_logits = _reference(reference, x)
    expected = dict(outs)
    specs = layer_specs(bundle, nested=True)
    for attempt in ("first pass", "learnt pass"):
        seen = []
        logits = forward(bundle, SimpleNamespace(tensor=x), specs, seen.append)
        got = {o.name: o for o in seen}
        assert len(got) == len(seen), f"{attempt}: a name captured twice"
        # Every leaf call is captured, and everything is listed in the order it ran.
        leaf_calls = [k for k, t in outs if k.split("#")[0] in leaves and t is not None]
        assert set(leaf_calls) <= set(got), f"{attempt}: leaf calls missing: {sorted(set(leaf_calls) - set(got))[:5]}"
        order = [k for k, _ in outs if k in got]
        assert [o.name for o in seen] == order, attempt
        assert [s.name for s in specs if s.ran] == order
        for name, out in got.items():
            _close(out.data, expected[name], f"{arch} {attempt}: {name}")
        _close(logits.numpy(), ref_logits, f"{arch} logits")
    # Only VGG16 is a plain chain of its leaves (re-entered from a kept output); block hooks do not change that.
    assert (chain_of(engine) is not None) == (arch == "vgg16")
    # A container that is not listed returned the very tensor of the layer that names it in `ends`.
    ends = {c: s.name for s in specs for c in s.ends}
    for name, t in outs:
        if name.split("#")[0] not in leaves and name not in got and t is not None:
            assert name in ends, f"{arch}: {name} neither captured nor named by a layer's ends"
            assert torch.equal(t, expected[ends[name]]), name
    assert {s.name for s in specs if not s.ran} == {
        n for n, _ in reference.named_modules() if n and n not in ran and (n.rpartition(".")[0] in ran or "." not in n)}
