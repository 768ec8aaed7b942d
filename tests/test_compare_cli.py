"""``convscope compare``: its --json is the engine's comparison of the same two runs (two photos under one
model, one photo under two checkpoints), layer aliases resolve, the text names what changed most, and
every bad input (B's weights of another architecture, a missing image, an unknown layer) is one line, exit 2."""
import json

import pytest
import torch
from torchvision.models import squeezenet1_1

from cli_helpers import assert_one_line_error, run_cli
from inference.analysis import analyze
from inference.compare import compare_runs
from inference.model import WeightsRequest, load_model
from test_compare import photo, save_state, seeded_resnet18

LAYER = "layer4.0.conv2"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare_cli")
    torch.manual_seed(3)
    return {"before": save_state(seeded_resnet18(5), folder / "before.pth"),
            "after": save_state(seeded_resnet18(5, perturb=0.3), folder / "after.pth"),
            "squeeze": save_state(squeezenet1_1(num_classes=10).state_dict(), folder / "squeeze.pth"),
            "cat": photo(folder / "a.png", (128, 96), 1), "dog": photo(folder / "b.png", (150, 120), 2)}


@pytest.fixture(scope="module")
def engine(files):
    """The engine's own comparison of two independent analyses (every layer captured, so one run serves
    every layer), as JSON the way the CLI prints it: engine(image_a, image_b, layer, weights_b=None)."""
    before = load_model(WeightsRequest(weights=files["before"], device="cpu"))
    after = load_model(WeightsRequest(weights=files["after"], device="cpu"))
    runs = {}

    def run(image, bundle):
        key = (image, id(bundle))
        if key not in runs:
            runs[key] = analyze(files[image], bundle)
        return runs[key]

    def report(image_a, image_b, layer, weights_b="before"):
        b = {"before": before, "after": after}[weights_b]
        return json.loads(json.dumps(compare_runs(run(image_a, before), run(image_b, b), layer).report()))
    return report


def assert_same(actual, expected, path="report"):
    """Equal structure and strings; floats to 1e-6 relative (the CLI captures one layer, the engine all)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), path
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for i, (x, y) in enumerate(zip(actual, expected)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(expected, float) and not isinstance(expected, bool):
        assert actual == pytest.approx(expected, rel=1e-6, abs=1e-9), path
    else:
        assert actual == expected, path


def test_json_of_two_photos_is_the_engines(capsys, files, engine):
    code, out, err = run_cli(capsys, "compare", files["cat"], files["dog"], "--weights", files["before"],
                             "--layer", LAYER, "--device", "cpu", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert_same(report, engine("cat", "dog", LAYER))
    assert report["what"] == "images" and report["diff"]["shape"] == [512, 7, 7]
    assert len(report["channels"]) == 512 and len(report["predictions"]["a"]) == 5


def test_json_of_two_checkpoints_is_the_engines(capsys, files, engine):
    code, out, err = run_cli(capsys, "compare", files["cat"], files["cat"], "--weights", files["before"],
                             "--weights-b", files["after"], "--layer", "fc", "--device", "cpu", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert_same(report, engine("cat", "cat", "fc", weights_b="after"))
    assert report["what"] == "weights" and "after.pth" in report["b"]["label"]
    assert report["predictions"]["deltas"] and report["predictions"]["note"] is None


def test_text_names_the_channels_that_changed_most(capsys, files, engine):
    code, out, err = run_cli(capsys, "compare", files["cat"], files["cat"], "--weights", files["before"],
                             "--weights-b", files["after"], "--layer", LAYER, "--device", "cpu")
    assert code == 0, err
    expected = engine("cat", "cat", LAYER, weights_b="after")
    lines = out.splitlines()
    assert lines[0] == f"compare at {LAYER}" and "before.pth" in lines[1] and "after.pth" in lines[2]
    first = lines.index("channels that changed most (mean B − A, of 512):") + 1
    shown = [int(line.split()[0]) for line in lines[first:first + 10]]
    assert shown == [c["channel"] for c in expected["channels"][:10]]
    assert any(line.startswith("top-5 A: ") for line in lines) and any(line.startswith("top-5 B: ") for line in lines)


def test_vgg_aliases_resolve(capsys, files):
    code, out, err = run_cli(capsys, "compare", files["cat"], files["dog"], "--layer", "conv5_3", "--device", "cpu",
                             "--offline", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["layer"], report["alias"]) == ("features.28", "conv5_3")
    assert report["diff"]["shape"] == [512, 14, 14] and "untrained" in report["a"]["label"]


def test_weights_b_of_another_architecture(capsys, files):
    code, out, err = run_cli(capsys, "compare", files["cat"], files["cat"], "--weights", files["before"],
                             "--weights-b", files["squeeze"], "--layer", LAYER, "--device", "cpu")
    assert_one_line_error(code, err, "squeeze.pth holds a SqueezeNet1_1", "A's model is a ResNet18",
                          "one architecture")
    assert out == ""


@pytest.mark.parametrize("which", [0, 1])
def test_missing_image(capsys, files, tmp_path, which):
    images = [files["cat"], files["dog"]]
    images[which] = tmp_path / "missing.png"
    code, out, err = run_cli(capsys, "compare", *images, "--weights", files["before"], "--layer", LAYER,
                             "--device", "cpu")
    assert_one_line_error(code, err, "cannot open 'missing.png': no such file")
    assert out == ""


def test_unknown_layer_and_web_address(capsys, files):
    code, out, err = run_cli(capsys, "compare", files["cat"], files["dog"], "--weights", files["before"],
                             "--layer", "layer9.conv", "--device", "cpu")
    assert_one_line_error(code, err, "no layer named 'layer9.conv'")
    code, out, err = run_cli(capsys, "compare", files["cat"], "https://example.com/b.jpg", "--layer", LAYER)
    assert_one_line_error(code, err, "web addresses are not supported")
    code, out, err = run_cli(capsys, "compare", files["cat"], "--layer", LAYER)
    assert_one_line_error(code, err)
