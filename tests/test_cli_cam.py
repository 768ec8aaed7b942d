"""``convscope cam``: the .npy is Grad-CAM as autograd computes it, the .png is the map laid on the
photo through the crop rect, --json describes the same map, and every bad input is one line."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from cli_helpers import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def cat_input(cat_path, file_bundle):
    """The network's input and crop rect for the cat, as the engine prepares them (tested elsewhere)."""
    from inference.analysis import AnalysisOptions, analyze

    run = analyze(cat_path, file_bundle, AnalysisOptions(stats=False))
    x, rect = run.prepared.tensor.clone(), tuple(run.prepared.rect)
    run.release()
    return x, rect


def reference_cam(model, x, index, cls, method):
    """Grad-CAM / Grad-CAM++ by hand: A = output of features[index] (out of place, so a conv's is
    pre-ReLU), g = d logit[cls] / d A by autograd, weights and map from the papers' formulas."""
    h = x.unsqueeze(0)
    with torch.enable_grad():
        for i, m in enumerate(model.features):
            h = F.relu(h) if isinstance(m, torch.nn.ReLU) else m(h)
            if i == index:
                a = h.detach().requires_grad_(True)
                h = a
        logits = model.classifier(torch.flatten(model.avgpool(h), 1))
        (g,) = torch.autograd.grad(logits[0, cls], a)
    a, g = a[0].detach().double(), g[0].double()
    if method == "gradcam":
        w = g.mean(dim=(1, 2))
    else:  # pytorch-grad-cam's Grad-CAM++
        alpha = g ** 2 / (2 * g ** 2 + a.sum(dim=(1, 2), keepdim=True) * g ** 3 + 1e-6)
        alpha = torch.where(g != 0, alpha, torch.zeros_like(alpha))
        w = (alpha * g.clamp(min=0)).sum(dim=(1, 2))
    signed = (w[:, None, None] * a).sum(0)
    return signed.clamp(min=0).numpy(), w.numpy(), (w * a.mean(dim=(1, 2))).numpy(), logits[0].detach()


def test_default_npy_is_top1_gradcam_at_relu5_3(capsys, cat_path, vgg_checkpoint, reference_vgg, cat_input, tmp_path):
    out_file = tmp_path / "cam.npy"
    code, out, err = run_cli(capsys, "cam", cat_path, "--weights", vgg_checkpoint, "--out", out_file)
    assert code == 0, err
    raw = np.load(out_file)
    x, _ = cat_input
    with torch.no_grad():
        top1 = int(reference_vgg(x.unsqueeze(0))[0].argmax())
    expected, *_ = reference_cam(reference_vgg, x, 29, top1, "gradcam")
    assert raw.dtype == np.float32 and raw.shape == (14, 14) and raw.min() >= 0
    assert raw.max() > 0 and not np.isclose(raw.max(), 1.0)  # raw: not normalised
    np.testing.assert_allclose(raw, expected, rtol=1e-4, atol=1e-4 * float(expected.max()))
    assert "relu5_3" in out and ["cat", "dog"][top1] in out and str(out_file) in out


def test_gradcam_plus_plus_by_alias_and_class_name_with_json(capsys, cat_path, vgg_checkpoint, reference_vgg,
                                                             cat_input, tmp_path):
    out_file = tmp_path / "cam.npy"
    code, out, err = run_cli(capsys, "cam", cat_path, "--weights", vgg_checkpoint, "--layer", "conv5_3",
                             "--class", "dog", "--method", "gradcam++", "--out", out_file, "--json")
    assert code == 0, err
    raw, report = np.load(out_file), json.loads(out)  # stdout is the JSON alone
    x, _ = cat_input
    expected, w, contrib, _ = reference_cam(reference_vgg, x, 28, 1, "gradcam++")  # conv5_3 = features.28
    np.testing.assert_allclose(raw, expected, rtol=1e-4, atol=1e-4 * float(expected.max()))

    assert set(report) == {"class", "layer", "method", "shape", "min", "max", "weights_top"}
    assert report["class"] == {"index": 1, "label": "dog"}
    assert (report["layer"], report["method"], report["shape"]) == ("features.28", "gradcam++", [14, 14])
    assert report["min"] == float(raw.min()) and report["max"] == float(raw.max())
    top = report["weights_top"]
    assert len(top) == 10 and all(set(t) == {"channel", "weight", "contribution"} for t in top)
    mine = np.argsort(-np.abs(contrib), kind="stable")
    gap = abs(abs(contrib[mine[9]]) - abs(contrib[mine[10]]))
    assert gap > 1e-4 * abs(contrib[mine[0]])  # the 10th and 11th are far enough apart to compare sets
    assert [t["channel"] for t in top] == [int(c) for c in mine[:10]]
    for t in top:
        c = t["channel"]
        assert t["weight"] == pytest.approx(w[c], rel=1e-4, abs=1e-9 * abs(w).max())
        assert t["contribution"] == pytest.approx(contrib[c], rel=1e-4, abs=1e-9 * abs(contrib).max())


def test_png_is_the_cam_laid_on_the_photo(capsys, cat_path, vgg_checkpoint, reference_vgg, cat_input, tmp_path):
    """At photo pixels of high and low CAM inside the crop, and outside it, against a composition
    made here: min–max normalised, F.interpolate onto 224×224, grid_sample at the photo pixels'
    centres through the rect, viridis from 0 with opacity = the overlay's value rule."""
    from widgets.colormaps import heat_lut, to_indices

    out_file = tmp_path / "cam.png"
    code, _, err = run_cli(capsys, "cam", cat_path, "--weights", vgg_checkpoint, "--class", "0", "--out", out_file)
    assert code == 0, err
    picture = np.asarray(Image.open(out_file).convert("RGB"))
    photo = np.asarray(Image.open(cat_path).convert("RGB"))
    assert picture.shape == photo.shape == (300, 451, 3)

    x, (rx, ry, rw, rh) = cat_input
    cam, *_ = reference_cam(reference_vgg, x, 29, 0, "gradcam")
    norm = (cam - cam.min()) / (cam.max() - cam.min())
    on_crop = F.interpolate(torch.from_numpy(norm).float()[None, None], size=(224, 224), mode="bilinear",
                            align_corners=False)
    ys, xs = np.mgrid[0:300, 0:451]
    inside = (xs + 0.5 >= rx) & (xs + 0.5 < rx + rw) & (ys + 0.5 >= ry) & (ys + 0.5 < ry + rh)
    grid = torch.from_numpy(np.stack([(xs + 0.5 - rx) / rw * 2 - 1, (ys + 0.5 - ry) / rh * 2 - 1], -1)).float()
    v = F.grid_sample(on_crop, grid[None], mode="bilinear", padding_mode="border", align_corners=False)[0, 0].numpy()

    assert not inside.all() and inside.any()
    np.testing.assert_array_equal(picture[~inside], photo[~inside])  # outside the crop: the photo as it was
    table = heat_lut("viridis", "value").astype(np.float64)
    vin = np.where(inside, v, np.nan)
    high = np.unravel_index(np.nanargmax(vin), v.shape)
    low = np.unravel_index(np.nanargmin(vin), v.shape)
    mid = np.unravel_index(np.nanargmin(np.abs(vin - 0.5)), v.shape)
    for at in (high, mid, low):
        rgba = table[to_indices(v[at][None], 0.0, 1.0)[0]]
        a = rgba[3] / 255
        expected = photo[at] * (1 - a) + rgba[:3] * a
        assert np.abs(picture[at].astype(float) - expected).max() <= 3, (at, v[at])  # one colour bin either way
    assert v[high] > 0.99 and v[low] < 0.01
    assert np.abs(picture[high].astype(int) - table[255, :3]).max() <= 3   # the peak: the top colour, opaque
    assert np.abs(picture[low].astype(int) - photo[low]).max() <= 3        # the lowest: the photo shows


@pytest.mark.parametrize("argv, needle", [
    (["--class", "gryphon"], "gryphon"),
    (["--class", "5000"], "5000"),
    (["--layer", "conv9_9"], "conv9_9"),
    (["--layer", "fc6"], "spatial"),
    (["--method", "scorecam"], "scorecam"),
    (["--out", "{tmp}/cam.jpg"], ".png"),
    (["--out", "{tmp}/no/such/dir/cam.png"], "cam.png"),
])
def test_bad_requests_are_one_line_and_write_nothing(capsys, cat_path, tmp_path, argv, needle):
    argv = [a.format(tmp=tmp_path) for a in argv]
    out = [] if "--out" in argv else ["--out", tmp_path / "cam.png"]
    code, _, err = run_cli(capsys, "cam", cat_path, "--offline", *out, *argv)
    assert_one_line_error(code, err, needle)
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no output, no temp file


def test_bad_image_and_existing_output(capsys, cat_path, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("hello")
    code, _, err = run_cli(capsys, "cam", bad, "--offline", "--out", tmp_path / "cam.npy")
    assert_one_line_error(code, err, "notes.jpg")
    code, _, err = run_cli(capsys, "cam", tmp_path / "missing.png", "--offline", "--out", tmp_path / "cam.npy")
    assert_one_line_error(code, err, "missing.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.jpg"]
    kept = tmp_path / "cam.png"
    kept.write_bytes(b"keep me")
    code, _, err = run_cli(capsys, "cam", cat_path, "--offline", "--out", kept)
    assert_one_line_error(code, err, "already exists", "--force")
    assert kept.read_bytes() == b"keep me"


def test_untrained_default_class_layer_and_force(capsys, cat_path, tmp_path):
    """The offline untrained model: top-1 at relu5_3, and --force replaces the file."""
    out_file = tmp_path / "cam.npy"
    out_file.write_bytes(b"old")
    code, out, err = run_cli(capsys, "cam", cat_path, "--offline", "--out", out_file, "--force", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["layer"] == "features.29" and report["method"] == "gradcam"
    assert np.load(out_file).shape == tuple(report["shape"]) == (14, 14)


def test_help_and_dispatch(capsys):
    from app.cli import COMMANDS
    from app.cli_cam import CAM_METHODS
    from inference.cam import METHODS

    assert "cam" in COMMANDS and CAM_METHODS == METHODS
    code, out, _ = run_cli(capsys, "cam", "--help")
    assert code == 0
    for word in ("--class", "--layer", "--method", "gradcam++", "--json", "--out", "relu5_3", "--weights"):
        assert word in out
