"""The command line: exit codes, the one-line error, the exact JSON shape, dumps equal torchvision."""
import json
import subprocess
import sys

import numpy as np
import pytest

from cli_helpers import assert_one_line_error, run_cli

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def check_shape(report: dict, n_layers: int):
    assert set(report) == {"image", "model", "weights", "predictions", "cat_vs_dog", "layers", "demo_conv"}
    assert set(report["image"]) == {"path", "width", "height"}
    assert report["model"] == "vgg16"
    assert set(report["weights"]) == {"source", "path", "pretrained", "text", "num_classes"}
    for p in report["predictions"]:
        assert set(p) == {"index", "label", "prob", "logit"}
        assert isinstance(p["index"], int) and isinstance(p["prob"], float) and isinstance(p["logit"], float)
    assert len(report["layers"]) == n_layers
    for layer in report["layers"]:
        assert set(layer) == {"name", "alias", "type", "shape", "best_channel", "best_mean"}
    demo = report["demo_conv"]
    assert set(demo) == {"seed", "preset", "weight", "bias", "shape"}
    assert np.asarray(demo["weight"]).shape == (3, 3, 3, 3) and len(demo["bias"]) == 3


def test_inspect_json_offline_subprocess(cat_path):
    """The Done-when command, as a real process: `convscope inspect cat.png --offline --json`."""
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "inspect", str(cat_path), "--offline", "--json"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    check_shape(report, 39)
    assert report["image"] == {"path": str(cat_path), "width": 451, "height": 300}
    assert report["weights"] == {"source": "untrained", "path": None, "pretrained": False,
                                 "text": "untrained (random, seed 0)", "num_classes": 1000}
    assert report["cat_vs_dog"] is None and len(report["predictions"]) == 5
    assert report["demo_conv"]["shape"] == [3, 300, 451] and report["demo_conv"]["seed"] == 0
    conv, relu = report["layers"][0], report["layers"][1]
    assert (conv["name"], conv["alias"], conv["type"], conv["shape"]) == ("features.0", "conv1_1", "Conv2d", [64, 224, 224])
    assert relu["alias"] == "relu1_1" and report["layers"][-1]["alias"] == "fc8"
    assert report["layers"][-1]["best_channel"] is None


def test_inspect_with_checkpoint_lists_all_classes(capsys, cat_path, vgg_checkpoint):
    code, out, err = run_cli(capsys, "inspect", str(cat_path), "--weights", str(vgg_checkpoint), "--json", "--top", "5")
    assert code == 0, err
    report = json.loads(out)
    check_shape(report, 39)
    assert report["weights"] == {"source": "file", "path": str(vgg_checkpoint), "pretrained": True,
                                 "text": f"weights from {vgg_checkpoint.name} (2 classes)", "num_classes": 2}
    assert sorted(p["label"] for p in report["predictions"]) == ["cat", "dog"]
    assert sum(p["prob"] for p in report["predictions"]) == pytest.approx(1.0, abs=1e-5)


def test_inspect_text_summary(capsys, cat_path, vgg_checkpoint):
    code, out, _ = run_cli(capsys, "inspect", str(cat_path), "--weights", str(vgg_checkpoint))
    assert code == 0 and "conv1_1" in out and "features.28" in out and "cat" in out
    # A 2-class file: named as a file, both classes listed, never called ImageNet.
    assert f"weights from {vgg_checkpoint.name} (2 classes)" in out
    assert "prediction: both classes" in out and "ImageNet" not in out
    assert "-0.000" not in out


def test_dump_all_matches_torchvision(capsys, cat_path, vgg_checkpoint, reference_forward, tmp_path):
    from inference.images import load_image
    from inference.preprocess import preprocess

    out_file = tmp_path / "all.npz"
    code, _, err = run_cli(capsys, "dump", str(cat_path), "--all", "--out", str(out_file), "--weights", str(vgg_checkpoint))
    assert code == 0, err
    data = np.load(out_file)
    x = preprocess(load_image(cat_path).pil()).tensor
    np.testing.assert_array_equal(data["input"], x.numpy())
    ref = reference_forward(x)
    for name, expected in ref.items():
        scale = float(np.abs(expected).max()) or 1.0
        np.testing.assert_allclose(data[name], expected, rtol=1e-4, atol=1e-4 * scale, err_msg=name)
    np.testing.assert_allclose(data["logits"], ref["classifier.6"], rtol=1e-4, atol=1e-5)
    assert data["demo_conv"].shape == (3, 300, 451)


def test_dump_one_layer_by_alias(capsys, cat_path, vgg_checkpoint, reference_forward, tmp_path):
    from inference.images import load_image
    from inference.preprocess import preprocess

    out_file = tmp_path / "conv5_3.npy"
    code, _, err = run_cli(capsys, "dump", str(cat_path), "--layer", "conv5_3", "--out", str(out_file),
                           "--weights", str(vgg_checkpoint))
    assert code == 0, err
    arr = np.load(out_file)
    expected = reference_forward(preprocess(load_image(cat_path).pil()).tensor)["features.28"]
    assert arr.dtype == np.float32 and arr.shape == (512, 14, 14) and arr.flags.c_contiguous
    np.testing.assert_allclose(arr, expected, rtol=1e-4, atol=1e-4 * float(np.abs(expected).max()))


@pytest.mark.parametrize("command, name", [("dump", "x.npy"), ("export", "x.png")])
def test_overwrite_refusal_names_force(capsys, cat_path, tmp_path, command, name):
    out_file = tmp_path / name
    out_file.write_bytes(b"keep me")
    extra = ["--layer", "features.0"] if command == "dump" else []
    code, _, err = run_cli(capsys, command, str(cat_path), *extra, "--out", str(out_file), "--offline")
    assert_one_line_error(code, err, name, "already exists", "--force")
    assert out_file.read_bytes() == b"keep me"


@pytest.mark.parametrize("argv", [
    ["inspect", "https://x/cat.jpg", "--offline"],
    ["inspect", "http://example.org/a/b/cat.png", "--json"],
    ["dump", "https://x/cat.jpg", "--all", "--out", "{tmp}/o.npz"],
    ["export", "www.example.org/cat.jpg", "--out", "{tmp}/o.png"],
])
def test_web_address_is_not_supported(capsys, tmp_path, argv):
    argv = [a.format(tmp=tmp_path) for a in argv]
    code, out, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, f"'{argv[1]}'", "web addresses are not supported", "download the image first")
    assert "no such file" not in err and out == ""
    assert not list(tmp_path.iterdir())


def test_web_address_for_the_window_is_not_supported(tmp_path):
    proc = run_main("https://x/cat.jpg", cwd=tmp_path)
    assert_one_line_error(proc.returncode, proc.stderr, "'https://x/cat.jpg'", "web addresses are not supported")


def test_a_file_named_like_a_web_address_still_opens(capsys, tmp_path, cat_path):
    """Only names that are not files are taken for web addresses."""
    import os

    (tmp_path / "www.cat.png").write_bytes(cat_path.read_bytes())
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        code, out, err = run_cli(capsys, "inspect", "www.cat.png", "--offline", "--json")
    finally:
        os.chdir(old)
    assert code == 0, err
    assert json.loads(out)["image"]["width"] == 451


@pytest.mark.parametrize("argv, needle", [
    (["inspect", "no/such/file.png", "--offline"], "file.png"),
    (["inspect", "{tmp}", "--offline"], "folder"),
    (["inspect", "{cat}", "--weights", "{tmp}/missing.pth"], "missing.pth"),
    (["dump", "{cat}", "--layer", "conv9_9", "--out", "{tmp}/o.npy", "--offline"], "conv9_9"),
    (["dump", "{cat}", "--all", "--out", "{tmp}/o.npy", "--offline"], ".npz"),
    (["dump", "{cat}", "--layer", "conv1_1", "--out", "{tmp}/no/such/dir/o.npy", "--offline"], "o.npy"),
    (["inspect", "{cat}", "--preprocess", "nope"], "nope"),
    (["inspect"], "image"),
])
def test_errors_are_one_line_exit_2(capsys, cat_path, tmp_path, argv, needle):
    argv = [a.format(tmp=tmp_path, cat=cat_path) for a in argv]
    code, out, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, *([needle] if needle else []))
    assert "Traceback" not in err
    assert not (tmp_path / "o.npy").exists() and not list(tmp_path.glob("*.part*"))


def test_bad_image_one_line(capsys, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("hello")
    code, _, err = run_cli(capsys, "inspect", str(bad), "--offline")
    assert_one_line_error(code, err, "notes.jpg")


# ---------------------------------------------------------------------- as a real process
def run_main(*argv, cwd=ROOT, timeout=60):
    """``python main.py ARGV`` offscreen; a window that opens by mistake never closes, so the timeout fails it."""
    env = {**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *argv], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_checkpoint_refused_for_safety_is_exactly_one_stderr_line(protocol, tmp_path, cat_path):
    """torch warns about plain pickles of protocol != 2; that warning must not become a second line."""
    import pickle
    from pathlib import Path

    class Evil:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    bad = tmp_path / "bad.pth"
    bad.write_bytes(pickle.dumps({"features.0.weight": Evil()}, protocol=protocol))
    proc = run_main("inspect", str(cat_path), "--weights", str(bad), timeout=300)
    assert_one_line_error(proc.returncode, proc.stderr, "bad.pth", "refused for safety")
    assert proc.stdout == "" and not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("word", ["modles", "expot", "inspekt"])
def test_mistyped_command_is_one_line_listing_the_commands(word, tmp_path):
    from app.cli import COMMANDS

    proc = run_main(word, cwd=tmp_path)  # tmp_path: no file of that name
    assert_one_line_error(proc.returncode, proc.stderr, f"'{word}'", *COMMANDS)
    assert proc.stdout == ""


@pytest.mark.parametrize("argv, name", [(["no/such/photo.jpg"], "photo.jpg"), (["missing.png"], "missing.png"),
                                        (["--offline", "sub/dir/cat"], "cat")])
def test_missing_image_for_the_window_is_no_such_file(argv, name, tmp_path):
    proc = run_main(*argv, cwd=tmp_path)
    assert_one_line_error(proc.returncode, proc.stderr, f"cannot open '{name}': no such file")


@pytest.mark.parametrize("name", ["modles", "photo.jpg"])
def test_existing_file_still_opens_the_window(name, tmp_path, cat_path):
    """A file wins over the command check, even one named like a typo: the window opens on it."""
    from PIL import Image

    (tmp_path / name).write_bytes(cat_path.read_bytes())
    shot = tmp_path / "shot.png"
    proc = run_main(name, "--screenshot", str(shot), "--offline", cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with Image.open(shot) as im:
        assert im.size[0] > 400 and im.size[1] > 300
