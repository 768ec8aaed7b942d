"""Where the figure's CAM comes from: the CLI export computes it from its run, the window takes
``session.top_cam``; both through ``app.figure_data`` (one assembly).

The CLI's numbers are checked against Grad-CAM computed here from scratch: relu5_3's
output of a plain torchvision VGG16 holding the same weights, made a leaf, the rest
of the network run on it, and ``torch.autograd.grad`` of the top-1 logit.
"""
import numpy as np
import pytest
import torch

from gui_helpers import RESULT_TIMEOUT


def _capture(monkeypatch, module):
    """Record the FigureData ``module.write_figure`` is given (and still write it)."""
    seen = []
    real = module.write_figure

    def spy(data, path, **kw):
        seen.append(data)
        return real(data, path, **kw)

    monkeypatch.setattr(module, "write_figure", spy)
    return seen


def test_cli_figure_has_the_top1_grad_cam_at_relu5_3(qapp, cat_path, file_bundle, reference_vgg, tmp_path, monkeypatch):
    import app.figure_data as fd
    import inference.cam as cam_module

    seen = _capture(monkeypatch, fd)
    runs = []
    real_cam = cam_module.cam_of_run
    monkeypatch.setattr(cam_module, "cam_of_run", lambda run, *a, **k: (runs.append(run), real_cam(run, *a, **k))[1])
    out = fd.export_figure_headless(cat_path, file_bundle, tmp_path / "fig.svg", layer=None, top=8,
                                    preprocess="imagenet", overwrite=True)
    assert out.exists()
    (data,), (run,) = seen, runs
    panel = data.cam

    x = run.input_batch()
    with torch.no_grad():
        a = reference_vgg.features[:30](x)  # relu5_3's output (features.29)
    a = a.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        h = reference_vgg.features[30:](a.clone())
        logits = reference_vgg.classifier(torch.flatten(reference_vgg.avgpool(h), 1))
        top1 = int(logits[0].argmax())
        (g,) = torch.autograd.grad(logits[0, top1], a)
    acts, grads = a.detach()[0].double().numpy(), g[0].double().numpy()
    w = grads.mean(axis=(1, 2))
    contrib = w * acts.mean(axis=(1, 2))
    raw = np.maximum(np.tensordot(w, acts, axes=1), 0)
    order = list(np.argsort(-np.abs(contrib), kind="stable")[:5])

    assert panel.label == file_bundle.class_names[top1] == data.predictions[0]["label"]
    assert panel.layer == "relu5_3 (features.29)" and panel.method == "Grad-CAM"
    assert [c for c, *_ in panel.channels] == order
    scale = float(np.abs(contrib).max())
    for (c, weight, k, fmap), want in zip(panel.channels, order):
        assert abs(k - contrib[want]) <= 1e-4 * scale
        assert weight == pytest.approx(w[want], rel=1e-4, abs=1e-4 * float(np.abs(w).max()))
        np.testing.assert_allclose(fmap, acts[want], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(panel.heat, (raw - raw.min()) / (raw.max() - raw.min()), atol=1e-4)
    assert "features.29" in out.read_text() and panel.label in out.read_text()


def test_window_figure_takes_session_top_cam_and_says_n_a_without_it(shown, qtbot, tmp_path, monkeypatch):
    import app.export as export

    session = shown.session
    qtbot.waitUntil(lambda: session.top_cam is not None, timeout=RESULT_TIMEOUT)
    cam = session.top_cam
    seen = _capture(monkeypatch, export)
    assert shown.export_figure(str(tmp_path / "fig.png"))
    panel = seen[-1].cam
    assert panel.label == cam.label == session.predictions.top[0]["label"]
    alias = session.layer(cam.layer).spec.alias
    assert panel.layer == f"{alias} ({cam.layer})"
    order = sorted(range(cam.contributions.size), key=lambda k: -abs(float(cam.contributions[k])))[:5]
    assert [c for c, *_ in panel.channels] == order
    for c, weight, k, fmap in panel.channels:
        assert (weight, k) == pytest.approx((float(cam.weights[c]), float(cam.contributions[c])))
        np.testing.assert_array_equal(fmap, session.layer(cam.layer).data[c])

    session.top_cam = None  # before the worker's CAM arrives
    assert shown.export_figure(str(tmp_path / "none.svg"))
    assert seen[-1].cam is None
    text = (tmp_path / "none.svg").read_text()
    assert "Grad-CAM not computed" in text and "n/a" in text
