"""Proposed for run.py: re-entering one call of a shared module, or a block, with nested specs."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torchvision

from inference.analysis import capture_run, layer_specs
from inference.model import ModelBundle, prepare
from inference.probes import ChannelEdit, ClassLogit, Unit
from inference.run import Run


def _nth(model, name, k, fn):
    module = dict(model.named_modules())[name]
    seen = [0]

    def hook(m, a, out):
        seen[0] += 1
        return fn(out) if seen[0] == k else None
    return module.register_forward_hook(hook)


@pytest.fixture(scope="module", params=["resnet18", "efficientnet_b0"])
def pair(request):
    torch.manual_seed(7)
    ref = torchvision.models.get_model(request.param, weights=None, num_classes=5).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    eng = torchvision.models.get_model(request.param, weights=None, num_classes=5)
    eng.load_state_dict(ref.state_dict())
    bundle = ModelBundle(prepare(eng, torch.device("cpu")), request.param, "untrained", None, False,
                         list("abcde"), torch.device("cpu"))
    x = torch.randn(3, 64, 64)
    run = Run(bundle, None, SimpleNamespace(tensor=x), layer_specs(bundle, nested=True))
    with torch.no_grad():
        capture_run(run, lambda _l: None)
    return request.param, ref, run, x


LAYERS = {"resnet18": ["layer1.0.relu#2", "layer1.0.relu", "layer3.1.bn2"],
          "efficientnet_b0": ["features.2.1", "features.3.1"]}


def test_rerun_of_one_call(pair):
    arch, ref, run, x = pair
    for layer in LAYERS[arch]:
        result = run.rerun(layer, ChannelEdit((0, 2), "zero"))
        module, _, k = layer.partition("#")

        def edit(out):
            out = out.clone()
            out[:, [0, 2]] = 0
            return out
        h = _nth(ref, module, int(k or 1), edit)
        with torch.no_grad():
            logits = ref(x.unsqueeze(0))[0]
        h.remove()
        np.testing.assert_allclose(result.logits, logits.numpy(), rtol=1e-4, atol=1e-4 * float(logits.abs().max()))


def test_gradient_at_one_call(pair):
    arch, ref, run, x = pair
    for layer in LAYERS[arch]:
        got = run.gradient(layer, ClassLogit(3))
        module, _, k = layer.partition("#")
        held = {}

        def leaf(out):
            held["a"] = out.detach().requires_grad_(True)
            return held["a"].clone()
        h = _nth(ref, module, int(k or 1), leaf)
        with torch.enable_grad():
            score = ref(x.unsqueeze(0).contiguous(memory_format=torch.channels_last))[0, 3]
            (g,) = torch.autograd.grad(score, held["a"])
        h.remove()
        np.testing.assert_allclose(got, g[0].numpy(), rtol=1e-4, atol=1e-4 * float(g.abs().max()))
        # and a unit of that call, from the input
        c = int(np.argmax(run.layers[layer].data.reshape(run.layers[layer].shape[0], -1).max(1)))
        gi = run.input_gradient(Unit(layer, c, 1, 1))
        assert np.abs(gi).sum() > 0
