"""Nested specs (inference.blocks): what counts as a block, per-call names, run order, modules that never run.

Expected orders and values come from hooks written here on the same kind of
model (every module's every call, in the order each returned); models are built
on the meta device where only the structure matters, and kept tiny otherwise.
"""
import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from inference.capture import ActivationCapture, LayerSpec, describe_layers
from inference.chain import chain_of


def _calls_in_order(model, x):
    """[(name#k, output)] for every module call but the root's, in the order each returned."""
    calls, order = {}, []

    def hook(m, args, out, name=""):
        k = calls[name] = calls.get(name, 0) + 1
        order.append((name if k == 1 else f"{name}#{k}", out.clone() if isinstance(out, torch.Tensor) else None))
    handles = [m.register_forward_hook(lambda m, a, o, n=n: hook(m, a, o, n)) for n, m in model.named_modules() if n]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return order


def _capture(model, specs, x, only=None):
    seen = []
    with torch.no_grad(), ActivationCapture(model, specs, seen.append, only=only) as cap:
        model(x)
    return seen, cap


def test_vgg16_nested_is_todays_39_layers():
    with torch.device("meta"):
        model = torchvision.models.vgg16()
    flat, nested = describe_layers(model), describe_layers(model, nested=True)
    assert len(nested) == 39
    assert [(s.name, s.type, s.params, s.group) for s in nested] == [(s.name, s.type, s.params, s.group) for s in flat]
    assert not any(s.block or not s.ran for s in nested)
    ends = {s.name: s.ends for s in nested if s.ends}
    assert ends == {"features.30": ("features",), "classifier.6": ("classifier",)}


def test_resnet18_every_call_in_run_order_with_its_parent():
    with torch.device("meta"):
        model = torchvision.models.resnet18()
    specs = describe_layers(model, nested=True)
    leaves = {n for n, m in model.named_modules() if n and not list(m.children())}
    expected = [n for n, _ in _calls_in_order(model, torch.empty(1, 3, 64, 64, device="meta"))
                if n.split("#")[0] in leaves]
    assert [s.name for s in specs] == expected   # no ResNet container returns a tensor of its own
    by_name = {s.name: s for s in specs}
    second = by_name["layer2.0.relu#2"]
    assert (second.module, second.call, second.parent, second.depth, second.type) == ("layer2.0.relu", 2, "layer2.0", 2, "ReLU")
    # The block's residual sum goes through its relu last: that call is the block's (and the stage's) output.
    assert by_name["layer1.0.relu#2"].ends == ("layer1.0",)
    assert by_name["layer4.1.relu#2"].ends == ("layer4.1", "layer4")
    names = [s.name for s in specs]
    assert names.index("layer2.0.downsample.1") < names.index("layer2.0.relu#2")  # run order, not registration
    assert by_name["conv1"].parent == "" and by_name["conv1"].depth == 0


class _Residual(nn.Module):
    """``out = bn(conv(x)); out += x``: the block returns bn's very tensor, changed after bn returned it."""

    def __init__(self, c):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)

    def forward(self, x):
        out = self.bn(self.conv(x))
        out += x
        return out


class _Twice(nn.Module):
    """One ReLU called twice, around a conv."""

    def __init__(self, c):
        super().__init__()
        self.conv, self.relu = nn.Conv2d(c, c, 1), nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.conv(self.relu(x)))


class _Cat(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a, self.b = nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return torch.cat([self.a(x), self.b(x)], 1)


def _toy():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), _Residual(4), _Twice(4), nn.Sequential(_Cat(4), nn.ReLU()),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3)).eval()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
    return model


def test_blocks_are_what_no_leaf_returned_and_every_call_is_captured():
    model = _toy()
    specs = describe_layers(model, nested=True)
    blocks = {s.name for s in specs if s.block}
    assert blocks == {"1", "3.0"}   # the in-place residual sum and the concatenation; _Twice returns its relu's
    by_name = {s.name: s for s in specs}
    assert by_name["2.relu#2"].ends == ("2",) and by_name["3.1"].ends == ("3",)
    x = torch.randn(1, 3, 9, 9)
    reference = dict(_calls_in_order(model, x))
    for attempt in range(2):   # the first pass learns that bn's output is changed later; the second copies it
        seen, cap = _capture(model, specs, x)
        assert [o.name for o in seen] == [s.name for s in specs]
        for out in seen:
            np.testing.assert_allclose(out.data, reference[out.name][0].numpy(), rtol=1e-5, atol=1e-6, err_msg=out.name)
        assert cap.calls["2.relu"] == cap.calls["2.relu#2"] == 2   # both calls of a shared module say so
    assert by_name["2.relu"].call == 1 and by_name["2.relu#2"].module == "2.relu"
    assert model[2].relu.inplace is True   # put back after the pass


def test_a_partial_capture_takes_one_call_of_a_shared_module():
    model = _toy()
    specs = describe_layers(model, nested=True)
    x = torch.randn(1, 3, 9, 9)
    _capture(model, specs, x)   # learn the copy rules first
    seen, cap = _capture(model, specs, x, only={"2.relu#2", "3.0"})
    reference = dict(_calls_in_order(model, x))
    assert [o.name for o in seen] == ["2.relu#2", "3.0"] and set(cap.tensors) == {"2.relu#2", "3.0"}
    for out in seen:
        np.testing.assert_allclose(out.data, reference[out.name][0].numpy(), rtol=1e-5, atol=1e-6)


def test_aux_heads_are_listed_as_not_run_and_never_awaited():
    torch.manual_seed(0)
    model = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False).eval()
    specs = describe_layers(model, nested=True)
    not_run = [s for s in specs if not s.ran]
    assert [(s.name, s.block, s.type) for s in not_run] == [("aux1", True, "InceptionAux"), ("aux2", True, "InceptionAux")]
    assert not_run[0].params == sum(p.numel() for p in model.aux1.parameters())
    assert specs[-2:] == not_run   # after everything that ran
    assert not any(s.name.startswith("aux1.") for s in specs)
    seen, _ = _capture(model, specs, torch.randn(1, 3, 32, 32))
    assert [o.name for o in seen] == [s.name for s in specs if s.ran]
    assert {"inception3a", "conv1"} <= {s.name for s in specs if s.block}   # a concatenation; F.relu after bn


class _Flat(nn.Module):
    """A container whose output is its conv's, reshaped: a block, and still a chain."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)

    def forward(self, x):
        return self.conv(x).flatten(1)


def test_a_block_hook_does_not_break_a_chain():
    torch.manual_seed(1)
    model = nn.Sequential(_Flat(), nn.ReLU(), nn.Linear(2 * 4 * 4, 3)).eval()
    specs = describe_layers(model, nested=True, size=6)   # the Linear takes a 6x6 input's features
    assert [s.name for s in specs] == ["0.conv", "0", "1", "2"] and specs[1].block
    seen, _ = _capture(model, specs, torch.randn(1, 3, 6, 6))
    assert seen[1].shape == (32,)
    chain = chain_of(model)
    assert chain is not None and chain.names == ("0.conv", "1", "2")


def test_old_spec_construction_still_works():
    spec = LayerSpec("features.29", "relu5_3", "ReLU", 0, "features")
    assert (spec.block, spec.ran, spec.ends, spec.parent, spec.call) == (False, True, (), "features", 1)


@pytest.mark.parametrize("name", ["layer1.0.relu#2", "layer1.0.relu"])
def test_shared_calls_resolve_and_are_re_entered_alone_with_nested_specs(name, cat_path):
    """With the nested list each call of a shared module is a layer of its own that a run re-enters
    (its values against hooked forwards: test_run_nested.py); a leaf-only list, which names all calls
    alike, still refuses it in one line."""
    from types import SimpleNamespace

    from inference.analysis import capture_run, layer_specs
    from inference.model import ModelBundle, prepare
    from inference.probes import ChannelEdit
    from inference.run import Run

    torch.manual_seed(4)
    bundle = ModelBundle(prepare(torchvision.models.resnet18(num_classes=3), torch.device("cpu")), "resnet18",
                         "untrained", None, False, ["a", "b", "c"], torch.device("cpu"))
    x = SimpleNamespace(tensor=torch.randn(3, 32, 32))
    run = Run(bundle, None, x, layer_specs(bundle, nested=True))
    capture_run(run, lambda _layer: None)
    assert name in run.layers
    edited = run.rerun(name, ChannelEdit(tuple(range(32)), "zero"))
    assert not np.allclose(edited.logits, run.logits[0].numpy())  # that call's edit reached the logits
    leaves = Run(bundle, None, x, layer_specs(bundle, nested=False))
    capture_run(leaves, lambda _layer: None)
    with pytest.raises(ValueError, match="runs 2 times in one forward"):
        leaves.rerun("layer1.0.relu", ChannelEdit((0,), "zero"))


class _Branchy(nn.Module):
    """A forward that reads a value: the meta device cannot run it."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 2, 1), nn.ReLU()

    def forward(self, x):
        h = self.a(x)
        return self.b(h) if float(h.mean()) > -1e9 else h


def test_a_model_the_meta_device_cannot_run_is_listed_leaf_by_leaf(caplog):
    from inference.analysis import layer_specs
    from inference.model import ModelBundle

    bundle = ModelBundle(_Branchy().eval(), "branchy", "untrained", None, False, ["a"], torch.device("cpu"))
    specs = layer_specs(bundle, nested=True)
    assert [s.name for s in specs] == ["a", "b"] and "leaf by leaf" in caplog.text
    assert layer_specs(bundle, nested=True) == specs   # learnt once
