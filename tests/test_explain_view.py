"""The window's explain view: a class's Grad-CAM on the photo, computed on the worker from the kept run."""
import numpy as np
import pytest

from gui_helpers import RESULT_TIMEOUT


@pytest.fixture
def explained(shown, qtbot):
    """The cat on screen, with the top-1 class's CAM (it arrives after every analysis)."""
    qtbot.waitUntil(lambda: shown.session.top_cam is not None, timeout=RESULT_TIMEOUT)
    return shown


def _conv_counter(model):
    import torch

    calls = []
    handles = [m.register_forward_hook(lambda *_: calls.append(1)) for m in model.modules()
               if isinstance(m, torch.nn.Conv2d)]
    return calls, handles


def test_top_cam_arrives_with_every_analysis(explained):
    s = explained.session
    cam = s.top_cam
    assert cam.layer == "features.29" and cam.method == "gradcam"   # relu5_3, derived from the model
    assert cam.index == s.predictions.top[0]["index"]
    assert cam.raw.shape == s.layer("features.29").shape[1:]
    # The worker kept the run, so the test can recompute the map on it (engine values: test_cam.py).
    from inference.cam import grad_cam
    from inference.probes import ClassLogit

    again = grad_cam(explained.controller.worker.run, "features.29", ClassLogit(cam.index))
    np.testing.assert_allclose(cam.raw, again.raw, rtol=1e-5, atol=1e-7)


def test_explaining_a_class_shows_its_cam_without_rerunning_convolutions(explained, qtbot):
    win = explained
    model = win.controller.worker.run.bundle.model
    calls, handles = _conv_counter(model)
    try:
        win.explain_class(281)
        qtbot.waitUntil(lambda: (win.session.cams.get("explain") is not None
                                 and win.session.cams["explain"].index == 281), timeout=RESULT_TIMEOUT)
        cam = win.session.cams["explain"]
        qtbot.waitUntil(lambda: "Grad-CAM of “tabby”" in win.overlay.title(), timeout=RESULT_TIMEOUT)
        np.testing.assert_array_equal(win.overlay._fmap, cam.normalised())
        assert win.explain_bar.mode() == "explain"
        # Grad-CAM++ at another layer: still no convolution runs again.
        win.explain_bar.set_method("gradcam++")
        win.explain_bar.set_layer("features.28")
        qtbot.waitUntil(lambda: win.session.cams["explain"].method == "gradcam++"
                        and win.session.cams["explain"].layer == "features.28", timeout=RESULT_TIMEOUT)
        qtbot.waitUntil(lambda: "Grad-CAM++ of “tabby” at conv5_3 (features.28)" in win.overlay.title(),
                        timeout=RESULT_TIMEOUT)
    finally:
        for h in handles:
            h.remove()
    assert calls == []
    assert all(p.grad is None for p in model.parameters())


def test_channel_view_comes_back(explained, qtbot):
    win = explained
    win.explain_class(None)
    qtbot.waitUntil(lambda: "Grad-CAM of" in win.overlay.title(), timeout=RESULT_TIMEOUT)
    np.testing.assert_array_equal(win.overlay._fmap, win.session.top_cam.normalised())
    win.explain_bar.set_mode("channel")
    assert "channel" in win.overlay.title() and "Grad-CAM" not in win.overlay.title()
    # Clicking a channel while explaining leaves the overlay on the CAM.
    win.explain_bar.set_mode("explain")
    qtbot.waitUntil(lambda: "Grad-CAM of" in win.overlay.title(), timeout=RESULT_TIMEOUT)
    win.show_channel(3)
    assert "Grad-CAM of" in win.overlay.title() and win.grid.selected_channel() == 3


def test_a_bad_class_gives_one_line_and_keeps_the_map(explained, qtbot):
    win = explained
    win.explain_class(None)
    qtbot.waitUntil(lambda: "Grad-CAM of" in win.overlay.title(), timeout=RESULT_TIMEOUT)
    before = win.overlay.title()
    with qtbot.waitSignal(win.errorShown, timeout=RESULT_TIMEOUT) as sig:
        win.explain_class("no such class at all")
    assert "no class named" in sig.args[0] and "\n" not in sig.args[0]
    assert win.overlay.title() == before


def test_sorting_the_grid_by_contribution_to_the_explained_class(explained, qtbot):
    """The grid asks the worker for the CAM at its own layer; tiles follow w_k · mean(A_k) of that class."""
    from inference.cam import grad_cam
    from inference.probes import ClassLogit

    win = explained
    win.explain_class(281)
    qtbot.waitUntil(lambda: "“tabby”" in win.overlay.title(), timeout=RESULT_TIMEOUT)
    win.show_layer("features.26")  # conv5_2: not the CAM's layer, so the grid must ask for its own
    win.grid.set_sort("contribution")
    qtbot.waitUntil(lambda: win.grid.contribution_state() == "ready", timeout=RESULT_TIMEOUT)
    want = grad_cam(win.controller.worker.run, "features.26", ClassLogit(281)).contributions
    order = [int(ch) for ch in win.grid.canvas().order]
    assert order == list(np.argsort(-want, kind="stable"))
    assert "tabby" in win.grid._sort_combo.currentText() or "contrib" in win.grid._sort_combo.currentText()
    assert "“tabby”" in win.overlay.title()  # the overlay still explains at relu5_3
