"""A Linear re-run from its kept input and output (inference/linear_delta.py) equals the whole product,
and an ablation at relu5_3 re-runs fc6 that way: fc6's module is never called, the logits still equal
an independent edited forward."""
import numpy as np
import pytest
import torch
from torch import nn

from ablation_helpers import edited_forward
from inference.ablation import Ablation, ablate
from inference.analysis import AnalysisOptions, analyze
from inference.linear_delta import DENSE_SHARE, linear_from_kept


@pytest.fixture(scope="module")
def fc():
    torch.manual_seed(3)
    return nn.Linear(640, 96)


@pytest.mark.parametrize("batch, changed", [(1, 1), (1, 37), (2, 20), (1, 0)])
def test_equals_the_whole_product(fc, batch, changed):
    g = torch.Generator().manual_seed(changed)
    old = torch.relu(torch.randn(batch, 640, generator=g))
    new = old.clone()
    where = torch.randperm(640, generator=g)[:changed]
    new[:, where] = torch.randn(batch, changed, generator=g)
    with torch.no_grad():
        got = linear_from_kept(fc, old, fc(old), new)
        want = fc(new)
    assert got is not None
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_declines_what_it_cannot_shortcut(fc):
    old = torch.randn(1, 640)
    with torch.no_grad():
        out = fc(old)
        dense = old + 1.0  # every input changed: the whole product is cheaper
        assert linear_from_kept(fc, old, out, dense) is None
        few = old.clone()
        few[0, : int(DENSE_SHARE * 640) + 1] += 1
        assert linear_from_kept(fc, old, out, few) is None
        assert linear_from_kept(nn.Identity(), old, out, old) is None           # not a Linear
        assert linear_from_kept(fc, old, out, torch.randn(2, 640)) is None      # another batch
        assert linear_from_kept(fc, old.double(), out.double(), old.double()) is not None


def test_an_ablation_at_relu5_3_reads_fc6_only_where_it_changed(file_bundle, cat_path, reference_vgg):
    run = analyze(cat_path, file_bundle, AnalysisOptions(stats=False))
    calls = []
    fc6 = file_bundle.model.classifier[0]
    handle = fc6.register_forward_pre_hook(lambda m, args: calls.append(1))
    try:
        result = ablate(run, Ablation("features.29", (3, 17, 40), "zero", False))
    finally:
        handle.remove()
    assert calls == []  # fc6's 411 MB product was not taken
    expected, _ = edited_forward(reference_vgg, run.prepared.tensor, "features.29", (3, 17, 40), "zero", False)
    np.testing.assert_allclose(result.rerun.logits, expected, rtol=1e-5, atol=1e-5 * float(np.abs(expected).max()))
    assert np.abs(expected - run.predictions.logits).max() > 0  # the edit moved the answer
