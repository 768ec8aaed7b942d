"""One probed unit of a kept run: its effective field equals an independent autograd gradient, it is zero
outside the theoretical box, the hypercolumn is the layer's column, and bad requests are one-line errors."""
import gc

import numpy as np
import pytest
import torch
from torch import nn

from inference.field_box import box_on_photo, clip_box
from inference.probe import field_table_of_model, field_table_of_run, probe_of_run


@pytest.fixture(scope="module")
def run(file_bundle, noise_photo):
    """The seeded checkpoint's VGG16 on a noise photo (no max-pool ties: the gradient is unique)."""
    from inference.analysis import AnalysisOptions, analyze

    result = analyze(noise_photo, file_bundle, AnalysisOptions(stats=False))
    yield result
    result.release()


def reference_erf(reference_vgg, x: torch.Tensor, index: int, channel: int, y: int, xx: int) -> np.ndarray:
    """Σ_c |d unit / d input_c| by torch.autograd.grad through a fresh torchvision forward of features[:index+1]."""
    x = x.detach().clone().unsqueeze(0).requires_grad_(True)
    out = reference_vgg.features[: index + 1](x)
    (g,) = torch.autograd.grad(out[0, channel, y, xx], x)
    return g[0].abs().sum(0).numpy()


def live_channel(run, name: str, y: int, x: int) -> int:
    """The channel most active at (y, x): a ReLU'd unit that is 0 has no gradient at all."""
    return int(np.argmax(run.layers[name].data[:, y, x]))


@pytest.mark.parametrize("index, y, x", [(15, 20, 31), (28, 5, 9), (29, 0, 13), (30, 6, 0)])
def test_effective_field_equals_autograd_of_a_fresh_forward(run, reference_vgg, index, y, x):
    name = f"features.{index}"
    channel = live_channel(run, name, y, x)
    probe = probe_of_run(run, name, channel, y, x)
    expected = reference_erf(reference_vgg, run.prepared.tensor, index, channel, y, x)
    assert probe.erf.dtype == np.float32 and probe.erf.shape == expected.shape == (224, 224)
    assert expected.max() > 0
    np.testing.assert_allclose(probe.erf, expected, rtol=1e-4, atol=1e-6 * float(expected.max()))


@pytest.mark.parametrize("name, y, x", [("features.2", 100, 3), ("features.16", 27, 0), ("features.28", 7, 7),
                                        ("features.29", 0, 0)])
def test_effective_field_is_zero_outside_the_theoretical_box(run, name, y, x):
    """VGG16 is a chain, so the gradient cannot leave the box, whatever the weights."""
    probe = probe_of_run(run, name, live_channel(run, name, y, x), y, x)
    y0, x0, y1, x1 = probe.box_clipped
    outside = np.ones((224, 224), dtype=bool)
    outside[y0:y1, x0:x1] = False
    assert not probe.erf[outside].any()
    assert probe.erf[~outside].any()


def test_first_conv_sees_exactly_its_3x3_window(run, file_bundle):
    """conv1_1's unit depends on its 3×3 input window through every weight: support = box, values = Σ|w|."""
    probe = probe_of_run(run, "conv1_1", 5, 40, 60)
    assert probe.box_input == (40 - 1, 60 - 1, 40 + 2, 60 + 2)   # 3×3, padding 1
    window = np.abs(file_bundle.model.features[0].weight[5].detach().numpy()).sum(0)
    np.testing.assert_allclose(probe.erf[39:42, 59:62], window, rtol=1e-6)
    assert np.count_nonzero(probe.erf) == 9


def test_hypercolumn_is_the_layers_column_sorted(run):
    probe = probe_of_run(run, "relu5_3", 0, 4, 11)
    column = run.layers["features.29"].data[:, 4, 11]
    np.testing.assert_array_equal(probe.hypercolumn, column)
    assert sorted(probe.order.tolist()) == list(range(column.size))
    ordered = column[probe.order]
    assert (np.diff(ordered) <= 0).all() and ordered[0] == column.max()
    assert not probe.hypercolumn.flags.writeable and not probe.erf.flags.writeable


def test_boxes_follow_the_table_and_the_crop_rect(run):
    probe = probe_of_run(run, "features.28", 2, 0, 13)
    field = field_table_of_run(run).field("features.28")
    assert probe.field == field and probe.note is None and probe.layer == "features.28"
    assert probe.box_input == field.box(0, 13)
    assert probe.box_clipped == clip_box(field.box(0, 13), (224, 224)) != probe.box_input
    image = run.image
    assert probe.box_photo == box_on_photo(probe.box_clipped, (224, 224), run.prepared.rect, image.display_size)
    scale = image.width / image.display_size[0]
    assert probe.box_full == pytest.approx(tuple(v * scale for v in probe.box_photo))
    assert probe.erf_rect == tuple(run.prepared.rect)


def test_alias_and_name_probe_the_same_unit(run):
    a = probe_of_run(run, "conv4_3", 9, 3, 4, effective=False)
    b = probe_of_run(run, "features.21", 9, 3, 4, effective=False)
    assert a.layer == b.layer == "features.21" and a.box_input == b.box_input
    assert a.erf is None and a.erf_note


@pytest.mark.parametrize("args, needle", [
    (("conv9_9", 0, 0, 0), "no layer named"),
    (("fc6", 0, 0, 0), "no spatial map"),
    (("conv5_3", 512, 0, 0), "channel 512 is out of range"),
    (("conv5_3", 0, 14, 0), "outside"),
    (("conv5_3", 0, 0, -1), "outside"),
])
def test_bad_requests_are_one_line_errors(run, args, needle):
    with pytest.raises(ValueError) as err:
        probe_of_run(run, *args)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_field_table_is_derived_once_per_model_and_does_not_keep_it_alive(run):
    assert field_table_of_run(run) is field_table_of_run(run)
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU())
    first = field_table_of_model(model, (32, 32))
    assert field_table_of_model(model, (32, 32)) is first
    assert field_table_of_model(model, (40, 40)).map_sizes["0"] == (38, 38)
    from inference import probe as probe_module

    held = len(probe_module._TABLES)
    del model
    gc.collect()
    assert len(probe_module._TABLES) == held - 1


class _Residual(nn.Module):
    """Not a chain: a skip connection, and one ReLU module used twice (a shared module)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.body = nn.Conv2d(4, 4, 5, padding=2)
        self.relu = nn.ReLU()
        self.tail = nn.Conv2d(4, 4, 3, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        x = self.relu(self.stem(x))
        x = self.relu(self.body(x) + x)
        return self.head(self.pool(self.tail(x)).flatten(1))


@pytest.fixture(scope="module")
def residual_run(noise_photo):
    from inference.analysis import AnalysisOptions, analyze
    from inference.model import ModelBundle

    torch.manual_seed(8)
    model = _Residual().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    bundle = ModelBundle(model, "toy", "untrained", None, False, ["a", "b", "c"], torch.device("cpu"))
    result = analyze(noise_photo, bundle, AnalysisOptions(stats=False, top_k=3))
    yield result
    result.release()


def test_a_model_with_a_skip_connection(residual_run):
    """The engine's hooked re-entry (not a chain): the ERF still equals autograd and stays in the box."""
    run = residual_run
    probe = probe_of_run(run, "tail", 1, 20, 33)   # a conv: no ReLU after it, so never a dead unit
    x = run.prepared.tensor.unsqueeze(0).clone().requires_grad_(True)
    model = run.bundle.model
    outs = []
    handle = model.tail.register_forward_hook(lambda m, a, o: outs.append(o))
    try:
        model(x)
    finally:
        handle.remove()
    (g,) = torch.autograd.grad(outs[0][0, 1, 20, 33], x)
    expected = g[0].abs().sum(0).numpy()
    np.testing.assert_allclose(probe.erf, expected, rtol=1e-4, atol=1e-6 * float(expected.max()))
    y0, x0, y1, x1 = probe.box_clipped
    inside = np.zeros_like(probe.erf, dtype=bool)
    inside[y0:y1, x0:x1] = True
    assert not probe.erf[~inside].any() and probe.erf[inside].any()


def test_each_call_of_a_shared_module_gets_its_own_effective_field(residual_run):
    """The nested list names the ReLU's two calls ``relu`` and ``relu#2``: each is probed alone."""
    run = residual_run
    x = run.prepared.tensor.unsqueeze(0).clone().requires_grad_(True)
    outs = []
    handle = run.bundle.model.relu.register_forward_hook(lambda m, a, o: outs.append(o))
    try:
        with torch.enable_grad():
            run.bundle.model(x)
    finally:
        handle.remove()
    for call, name in enumerate(("relu", "relu#2")):
        channel = live_channel(run, name, 10, 10)
        probe = probe_of_run(run, name, channel, 10, 10)
        assert probe.field is not None and probe.box_input == probe.field.box(10, 10)
        (g,) = torch.autograd.grad(outs[call][0, channel, 10, 10], x, retain_graph=True)
        expected = g[0].abs().sum(0).numpy()
        np.testing.assert_allclose(probe.erf, expected, rtol=1e-4, atol=1e-6 * float(expected.max()))
        np.testing.assert_array_equal(probe.hypercolumn, run.layers[name].data[:, 10, 10])


def test_a_shared_module_named_once_gets_its_box_but_no_effective_field(residual_run):
    """A leaf-only list names both calls ``relu``: no one tensor to differentiate, so a note instead."""
    from inference.analysis import capture_run, layer_specs
    from inference.run import Run

    leaves = Run(residual_run.bundle, residual_run.image, residual_run.prepared,
                 layer_specs(residual_run.bundle, nested=False))
    capture_run(leaves, lambda _layer: None)
    probe = probe_of_run(leaves, "relu", live_channel(leaves, "relu", 10, 10), 10, 10)
    assert probe.field is not None and probe.box_input == probe.field.box(10, 10)
    assert probe.erf is None and "runs 2 times" in probe.erf_note
    np.testing.assert_array_equal(probe.hypercolumn, leaves.layers["relu"].data[:, 10, 10])
