"""Ablation in the window: the grid's selection switched off, the network re-run from that layer on.

The logits and the later layers' maps are checked against an independent
torchvision VGG16 with the same weights and a forward hook making the same
edit, fed the input the worker analysed.
"""
import numpy as np
import pytest
import torch

from gui_helpers import RESULT_TIMEOUT


@pytest.fixture(scope="module")
def reference():
    from torchvision.models import vgg16

    from inference.model import load_model
    from inference.weights_request import WeightsRequest

    ref = vgg16()
    ref.load_state_dict(load_model(WeightsRequest(untrained=True)).model.state_dict())
    ref.eval()
    yield ref
    del ref


def _edited_forward(reference, x, index: int, edit):
    """Logits and every features output after ``features[index]``, with ``edit`` applied to its output."""
    outs = {}
    hooks = [reference.features[index].register_forward_hook(lambda m, a, out: edit(out.clone()))]
    for k in range(index + 1, len(reference.features)):
        hooks.append(reference.features[k].register_forward_hook(
            lambda m, a, out, k=k: outs.__setitem__(f"features.{k}", out.clone())))
    try:
        with torch.no_grad():
            logits = reference(x)
    finally:
        for h in hooks:
            h.remove()
    return logits[0].numpy(), outs


def _ablate(win, qtbot, layer: str, channels, mode="zero", keep=False):
    win.show_layer(layer)
    win.grid.set_selected_channels(channels)
    win._sync_probe_bar()
    assert win.probe_bar.button("ablate").isEnabled()
    before = win.session.ablation
    win.ablate_selection(mode, keep)
    qtbot.waitUntil(lambda: win.session.ablation is not None and win.session.ablation is not before,
                    timeout=RESULT_TIMEOUT)
    return win.session.ablation


def test_ablating_channels_of_conv5_3_re_predicts_and_shows_the_ablated_run(shown, qtbot, reference):
    win = shown
    x = win.controller.worker.run.prepared.tensor.unsqueeze(0).clone()
    original = {name: layer.data.copy() for name, layer in win.session.layers.items() if name >= "features.28"}
    result = _ablate(win, qtbot, "features.28", [3, 40])

    def zero(out):
        out[:, [3, 40]] = 0
        return out

    logits, outs = _edited_forward(reference, x, 28, zero)
    np.testing.assert_allclose(result.after.logits, logits, rtol=1e-5, atol=1e-5 * np.abs(logits).max())
    # The Prediction panel shows before → after of the original top classes.
    qtbot.waitUntil(win.predictions.is_comparing, timeout=RESULT_TIMEOUT)
    for row in result.rows:
        line = win.predictions.compare.line_of(row["index"])
        assert line is not None
    first = result.rows[0]
    assert first["logit_after"] == pytest.approx(float(logits[first["index"]]), rel=1e-5, abs=1e-6)
    assert first["logit_before"] == pytest.approx(float(win.session.predictions.logits[first["index"]]))
    # The layers after it show the ablated run, and say so; the original stays held.
    qtbot.waitUntil(lambda: win.session.layer("features.29").has_stats, timeout=RESULT_TIMEOUT)
    later = outs["features.29"][0]   # float32 through other conv kernels (channels_last): atol on its scale
    np.testing.assert_allclose(win.session.layer("features.29").data, later, rtol=1e-5,
                               atol=1e-5 * float(np.abs(later).max()))
    assert not win.session.layer("features.28").data[[3, 40]].any()
    np.testing.assert_array_equal(win.session.original_layer("features.28").data, original["features.28"])
    win.show_layer("features.29")
    assert "ablation" in win.grid.caption_note() and "3, 40" in win.grid.caption_note()
    assert "ablated run" in win.overlay.title()
    win.show_layer("features.0")
    assert win.grid.caption_note() == ""  # before the ablated layer: the original run

    # Reset: the original run again, nothing re-computed.
    win.probe_bar.button("reset").click()
    assert win.session.ablation is None and not win.predictions.is_comparing()
    np.testing.assert_array_equal(win.session.layer("features.29").data, original["features.29"])
    assert all(p.grad is None for p in win.controller.worker.run.bundle.model.parameters())


def test_keep_only_and_mean_at_conv3_3_match_the_same_edit_by_hook(shown, qtbot, reference):
    win = shown
    x = win.controller.worker.run.prepared.tensor.unsqueeze(0).clone()
    result = _ablate(win, qtbot, "features.14", [0, 7, 9], mode="mean", keep=True)
    kept = {0, 7, 9}

    def keep_mean(out):
        others = [c for c in range(out.shape[1]) if c not in kept]
        out[:, others] = out[:, others].mean(dim=(2, 3), keepdim=True).expand_as(out[:, others])
        return out

    logits, _ = _edited_forward(reference, x, 14, keep_mean)
    np.testing.assert_allclose(result.after.logits, logits, rtol=1e-5, atol=1e-5 * np.abs(logits).max())
    assert "only" in result.caption


def test_ablating_with_nothing_selected_says_so_in_one_line_and_changes_nothing(shown, qtbot):
    win = shown
    win.show_layer("features.28")
    win.grid.clear_selection()
    messages = []
    win.errorShown.connect(messages.append)
    win.ablate_selection("zero")
    assert len(messages) == 1 and "select the channels" in messages[0] and "\n" not in messages[0]
    assert win.session.ablation is None and not win.predictions.is_comparing()


def test_a_new_image_ends_the_ablation_and_the_figure_states_one(shown, qtbot, cat_path, tmp_path):
    from app.figure_data import figure_data, figure_title

    win = shown
    result = _ablate(win, qtbot, "features.28", [1])
    s = win.session
    data = figure_data(title=figure_title(s.image["path"], "untrained", "VGG16"), photo=s.image["rgb"], rect=s.image["rect"],
                       demo=s.demo, layer=s.layer("features.28"), predictions=s.predictions, pretrained=False,
                       ablation=s.ablation)
    assert result.caption in data.title
    assert [p["index"] for p in data.predictions] == [p["index"] for p in result.after.top]
    assert win.export_figure(str(tmp_path / "fig.png")) and (tmp_path / "fig.png").stat().st_size > 0
    with qtbot.waitSignal(win.resultShown, timeout=RESULT_TIMEOUT):
        win.open_image(str(cat_path))
    assert win.session.ablation is None and not win.predictions.is_comparing()
    assert win.grid.selected_channels() == []
