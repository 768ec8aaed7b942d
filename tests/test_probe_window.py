"""The window's probes: a unit's receptive field, effective field and hypercolumn; its kernel; ablation.

Values are checked against an independent torchvision VGG16 holding the same
weights (its own modules, in-place ReLUs, autograd and forward hooks), fed the
input the worker analysed.
"""
import numpy as np
import pytest
import torch

from gui_helpers import RESULT_TIMEOUT


@pytest.fixture(scope="module")
def reference():
    """A plain torchvision VGG16 with the untrained model's weights (the window's model)."""
    from torchvision.models import vgg16

    from inference.model import load_model
    from inference.weights_request import WeightsRequest

    ref = vgg16()
    ref.load_state_dict(load_model(WeightsRequest(untrained=True)).model.state_dict())
    ref.eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    yield ref
    del ref


def _input(win) -> torch.Tensor:
    return win.controller.worker.run.prepared.tensor.unsqueeze(0).clone()


def _at(win, qtbot, layer: str):
    win.show_layer(layer)
    qtbot.waitUntil(lambda: win.grid.layer_name() is not None and win.grid.layer_name().startswith(layer),
                    timeout=RESULT_TIMEOUT)
    qtbot.waitUntil(lambda: bool(win.session.fields), timeout=RESULT_TIMEOUT)


def test_a_click_in_probe_mode_draws_the_published_receptive_field_then_the_effective_field(shown, qtbot, reference):
    win = shown
    _at(win, qtbot, "features.28")  # conv5_3: 196 px, rows 16y − 90 … 16y + 105
    win.probe_bar.set_probing(True)
    y, x, channel = 6, 2, 11
    qtbot.waitUntil(lambda: win.session.layer("features.28").has_stats, timeout=RESULT_TIMEOUT)
    win.show_channel(channel)  # a click on tile 11 selects it first (a later re-show keeps the probed channel)
    win.grid.positionClicked.emit(channel, y, x)  # what a click at that cell of tile 11 sends
    image = win.session.image
    rx, ry, rw, rh = image["rect"]
    sx, sy = rw / 224, rh / 224
    y0, y1 = max(16 * y - 90, 0), min(16 * y + 106, 224)
    x0, x1 = max(16 * x - 90, 0), min(16 * x + 106, 224)
    expected = (rx + x0 * sx, ry + y0 * sy, rx + x1 * sx, ry + y1 * sy)
    box = win.overlay.probe().box
    np.testing.assert_allclose(box, expected, rtol=1e-6)  # drawn at once, before the worker answers
    qtbot.waitUntil(lambda: win.session.probe is not None, timeout=RESULT_TIMEOUT)
    probe = win.session.probe
    assert (probe.layer, probe.channel, probe.y, probe.x) == ("features.28", channel, y, x)

    # The effective field: |d unit / d input| summed over colours, by autograd on the reference.
    held = {}
    handle = reference.features[28].register_forward_hook(lambda m, a, out: held.__setitem__("a", out.clone()))
    inp = _input(win).requires_grad_(True)
    try:
        with torch.enable_grad():
            reference.features[:29](inp)
            (grad,) = torch.autograd.grad(held["a"][0, channel, y, x], inp)
    finally:
        handle.remove()
    erf = grad[0].abs().sum(0).numpy()
    # float32 gradients through other conv kernels (the run's channels_last input; AVX2 or AVX-512): a
    # ReLU whose input is within rounding of 0 may gate the other way, so single fringe pixels can differ
    # by ~0.4% of the peak; the field as a whole agrees to far better than that.
    err = float(np.abs(probe.erf - erf).sum() / erf.sum())
    assert err < 2e-3, err
    np.testing.assert_allclose(probe.erf, erf, rtol=1e-4, atol=1e-2 * float(erf.max()))
    outside = np.ones_like(erf, dtype=bool)
    outside[y0:y1, x0:x1] = False
    assert not erf[outside].any() and erf.max() > 0  # nothing outside the theoretical field
    # The hypercolumn: every channel of conv5_3 at (y, x), sorted.
    column = held["a"][0, :, y, x].detach().numpy()
    np.testing.assert_allclose(probe.hypercolumn, column, rtol=1e-4, atol=1e-6)
    assert list(probe.order[:5]) == list(np.argsort(-column, kind="stable")[:5])
    assert np.array_equal(win.hypercolumn.values(), probe.hypercolumn)
    assert "effective receptive field" in win.overlay.title()
    assert all(p.grad is None for p in win.controller.worker.run.bundle.model.parameters())


def test_choosing_a_bar_of_the_hypercolumn_probes_that_channel_at_the_same_place(shown, qtbot):
    win = shown
    _at(win, qtbot, "features.29")
    win.probe_bar.set_probing(True)
    win.probe_unit("features.29", 4, 7, 7)
    qtbot.waitUntil(lambda: win.session.probe is not None, timeout=RESULT_TIMEOUT)
    other = int(win.session.probe.order[0]) if int(win.session.probe.order[0]) != 4 else int(win.session.probe.order[1])
    win.hypercolumn.channelChosen.emit(other)
    assert win.grid.selected_channel() == other
    qtbot.waitUntil(lambda: win.session.probe.channel == other, timeout=RESULT_TIMEOUT)
    assert (win.session.probe.y, win.session.probe.x) == (7, 7)


def test_probe_off_a_click_only_selects_and_a_new_image_clears_the_probe(shown, qtbot, cat_path):
    win = shown
    _at(win, qtbot, "features.28")
    win.grid.positionClicked.emit(3, 1, 1)
    assert win.session.probe is None and "receptive" not in win.overlay.title()
    win.probe_bar.set_probing(True)
    win.grid.positionClicked.emit(3, 1, 1)
    qtbot.waitUntil(lambda: win.session.probe is not None, timeout=RESULT_TIMEOUT)
    with qtbot.waitSignal(win.resultShown, timeout=RESULT_TIMEOUT):
        win.open_image(str(cat_path))
    assert win.session.probe is None and "receptive" not in win.overlay.title()


def test_the_kernel_panel_shows_the_selected_channels_filter(shown, qtbot):
    from inference.kernel_slices import top_input_slices

    win = shown
    kernels = win.session.results_model["kernels"]
    _at(win, qtbot, "features.10")  # conv3_1: 128 inputs, the 16 strongest slices
    win.show_channel(37)
    weight = kernels["features.10"][0]
    norms = np.linalg.norm(weight[37].reshape(weight.shape[1], -1), axis=1)
    assert list(win.kernel_panel.slices.indices()) == list(np.argsort(-norms, kind="stable")[:16])
    assert np.array_equal(top_input_slices(weight, 37)[0], win.kernel_panel.slices.indices())
    # A ReLU shows the filter of the conv that made it; clicking a slice jumps to that input channel.
    _at(win, qtbot, "features.11")
    win.show_channel(5)
    assert "conv3_1" in win.kernel_panel._title_text and "relu3_1" in win.kernel_panel._title_text
    first = int(win.kernel_panel.slices.indices()[0])
    win.kernel_panel.inputChannelChosen.emit(first)
    assert win.selected_layer == "features.9" and win.grid.selected_channel() == first  # pool2 fed conv3_1
    # The bank is conv1_1's 64 filters; choosing one selects that channel of conv1_1.
    win.kernel_panel.bankChannelChosen.emit(12)
    assert win.selected_layer == "features.0" and win.grid.selected_channel() == 12


def test_the_exported_figure_draws_the_demo_output_as_the_panel_does(shown, qtbot):
    from app.figure_data import figure_data

    s = shown.session
    raw = np.asarray(s.demo.raw, dtype=np.float64)
    # The write-up's (out*255).astype(uint8): numpy truncates toward zero, then keeps the low 8 bits.
    wrap = np.moveaxis(np.mod(np.trunc(raw * 255).astype(np.int64), 256).astype(np.uint8), 0, -1)
    kwargs = dict(title="t", photo=s.image["rgb"], rect=s.image["rect"], demo=s.demo,
                  layer=s.layer("features.28"), predictions=s.predictions, pretrained=False)
    wrapped = figure_data(**kwargs, demo_mode="wrap")
    np.testing.assert_array_equal(wrapped.demo_output, wrap)
    assert "wrap" in wrapped.demo_caption
    clipped = figure_data(**kwargs)
    np.testing.assert_array_equal(clipped.demo_output, np.moveaxis(np.clip(raw * 255, 0, 255), 0, -1).astype(np.uint8))
