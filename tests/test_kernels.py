"""inference.kernels / kernel_slices: every conv's filters as cheap views, and the slices the UI draws."""
import subprocess
import sys

import numpy as np
import pytest
from torch import nn

from inference.kernel_slices import symmetric_limit, top_input_slices
from inference.kernels import conv_weights


@pytest.fixture(scope="module")
def vgg():
    from inference.model import WeightsRequest, load_model

    return load_model(WeightsRequest(untrained=True, offline=True)).model


def test_every_vgg16_conv_with_its_weight_and_bias(vgg):
    weights = conv_weights(vgg)
    convs = [(n, m) for n, m in vgg.named_modules() if type(m) is nn.Conv2d]
    assert list(weights) == [n for n, _ in convs] and len(convs) == 13
    for name, module in convs:
        w, b = weights[name]
        assert w.dtype == np.float32 and w.shape == tuple(module.weight.shape)
        np.testing.assert_array_equal(w, module.weight.detach().numpy())
        np.testing.assert_array_equal(b, module.bias.detach().numpy())
    assert weights["features.0"][0].shape == (64, 3, 3, 3)
    assert weights["features.28"][0].shape == (512, 512, 3, 3)


def test_arrays_share_the_parameters_storage_and_are_read_only(vgg):
    """No 59 MB copy: each array points at its parameter's memory, and cannot be written through."""
    weights = conv_weights(vgg)
    for name, module in vgg.named_modules():
        if isinstance(module, nn.Conv2d):
            w, b = weights[name]
            assert w.__array_interface__["data"][0] == module.weight.data_ptr()
            assert b.__array_interface__["data"][0] == module.bias.data_ptr()
            assert not w.flags.writeable and not b.flags.writeable
    with pytest.raises(ValueError):
        weights["features.0"][0][0, 0, 0, 0] = 1.0


def test_bias_free_and_non_conv_layers():
    model = nn.Sequential(nn.Conv2d(2, 4, 3, bias=False), nn.ReLU(), nn.Sequential(nn.Conv2d(4, 5, 1)),
                          nn.Linear(5, 2))
    weights = conv_weights(model)
    assert list(weights) == ["0", "2.0"]
    assert weights["0"][1] is None and weights["2.0"][0].shape == (5, 4, 1, 1)


def test_float64_model_gives_float32_copies():
    conv = nn.Conv2d(3, 2, 3).double()
    w, b = conv_weights(nn.Sequential(conv))["0"]
    assert w.dtype == np.float32 and not w.flags.writeable
    np.testing.assert_allclose(w, conv.weight.detach().numpy(), rtol=1e-6)


def test_top_slices_are_the_largest_norms_in_descending_order():
    rng = np.random.default_rng(4)
    weight = (rng.normal(size=(6, 40, 3, 3)) * rng.uniform(0.1, 3, size=(1, 40, 1, 1))).astype(np.float32)
    indices, slices, norms = top_input_slices(weight, 4, k=16)
    independent = [np.linalg.norm(weight[4, i]) for i in range(40)]
    want = sorted(range(40), key=lambda i: -independent[i])[:16]
    assert indices.tolist() == want
    np.testing.assert_array_equal(slices, weight[4, want])
    np.testing.assert_allclose(norms, [independent[i] for i in want], rtol=1e-6)
    assert np.all(np.diff(norms) <= 0) and slices.shape == (16, 3, 3)


def test_top_slices_on_a_real_layer_and_few_inputs(vgg):
    w, _ = conv_weights(vgg)["features.10"]       # conv3_1: 256 × 128 × 3 × 3
    indices, slices, norms = top_input_slices(w, 37)
    flat = w[37].reshape(128, -1).astype(np.float64)
    want = np.argsort(-np.sqrt((flat ** 2).sum(1)), kind="stable")[:16]
    assert indices.tolist() == want.tolist() and slices.shape == (16, 3, 3)
    first, _, _ = top_input_slices(conv_weights(vgg)["features.0"][0], 0)  # only 3 inputs: all 3
    assert sorted(first.tolist()) == [0, 1, 2]


def test_ties_keep_the_lower_input_first_and_bad_input_is_refused():
    weight = np.ones((1, 5, 3, 3), np.float32)
    weight[0, 3] *= 2
    assert top_input_slices(weight, 0, k=3)[0].tolist() == [3, 0, 1]
    with pytest.raises(ValueError, match="out of range"):
        top_input_slices(weight, 1)
    with pytest.raises(ValueError, match="Cout, Cin"):
        top_input_slices(weight[0], 0)


def test_symmetric_limit():
    assert symmetric_limit(np.array([[-0.7, 0.2], [0.5, 0.0]])) == pytest.approx(0.7)
    assert symmetric_limit(np.array([0.1, 0.3])) == pytest.approx(0.3)
    assert symmetric_limit(np.zeros((3, 3))) == 1.0
    assert symmetric_limit(np.zeros(0)) == 1.0


def test_the_slice_helpers_do_not_import_torch():
    """The UI thread calls them: importing them must not pull in torch."""
    code = "import sys, inference.kernel_slices; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert out.stdout.strip() == "False"
