"""``convscope inspect --ablate``: through the real entry, the JSON's predictions and layers are those of
an independent edited forward (a hooked torchvision VGG16, tests/ablation_helpers.py), the text
says it is the ablated run in one line, and every bad request is one line, exit 2."""
import json

import numpy as np
import pytest

from ablation_helpers import edited_forward, softmax
from cli_helpers import assert_one_line_error, run_cli

RTOL = 1e-5


@pytest.fixture(scope="module")
def cat_input(cat_path, file_bundle):
    """The network's input for the cat as the engine prepares it (tested elsewhere)."""
    from inference.analysis import AnalysisOptions, analyze

    run = analyze(cat_path, file_bundle, AnalysisOptions(stats=False))
    x = run.prepared.tensor.clone()
    run.release()
    return x


def strongest(reference_forward, x, layer, k):
    data = reference_forward(x)[layer]
    return [int(c) for c in np.argsort(-data.reshape(data.shape[0], -1).mean(1))[:k]]


def check_predictions(report, logits):
    probs = softmax(logits)
    tol = RTOL * float(np.abs(logits).max())
    assert [p["index"] for p in report["predictions"]] == list(np.argsort(-probs, kind="stable"))
    for p in report["predictions"]:
        assert p["label"] == ["cat", "dog"][p["index"]]
        assert p["logit"] == pytest.approx(logits[p["index"]], rel=RTOL, abs=tol)
        assert p["prob"] == pytest.approx(probs[p["index"]], rel=1e-4)


def best_of(outs, name):
    data = outs[name]
    return int(np.argmax(data.reshape(data.shape[0], -1).mean(1)))


def test_json_is_the_ablated_run(capsys, cat_path, vgg_checkpoint, reference_vgg, reference_forward, cat_input):
    """conv5_3's 3 strongest channels zeroed: the predictions are the edited forward's, conv5_3 and
    pool5 report the ablated maps' best channel, and a layer before it is as the plain forward has it."""
    channels = strongest(reference_forward, cat_input, "features.28", 3)
    code, out, err = run_cli(capsys, "inspect", cat_path, "--weights", vgg_checkpoint, "--json",
                             "--ablate", "conv5_3:" + ",".join(map(str, channels)))
    assert code == 0, err
    report = json.loads(out)
    assert report["ablation"] == {"layer": "features.28", "channels": sorted(channels), "mode": "zero", "keep": False}
    logits, outs = edited_forward(reference_vgg, cat_input, "features.28", channels,
                                  watch=("features.30",))
    plain = reference_forward(cat_input)
    assert np.abs(logits - plain["classifier.6"]).max() > 100 * RTOL * np.abs(logits).max()  # it did change
    check_predictions(report, logits)
    layers = {entry["name"]: entry for entry in report["layers"]}
    assert layers["features.28"]["best_channel"] == best_of(outs, "features.28") not in channels
    assert best_of(plain, "features.28") in channels  # so the line above reports the ablated map
    assert layers["features.30"]["best_channel"] == best_of(outs, "features.30")
    assert layers["features.26"]["best_channel"] == best_of(plain, "features.26")  # before it: untouched
    assert report["cat_vs_dog"] is None


def test_keep_with_mean_by_alias(capsys, cat_path, vgg_checkpoint, reference_vgg, reference_forward, cat_input):
    channels = strongest(reference_forward, cat_input, "features.29", 5)
    code, out, err = run_cli(capsys, "inspect", cat_path, "--weights", vgg_checkpoint, "--json",
                             "--ablate", f"relu5_3:{','.join(map(str, channels))}", "--ablate-mode", "mean", "--keep")
    assert code == 0, err
    report = json.loads(out)
    assert report["ablation"] == {"layer": "features.29", "channels": sorted(channels), "mode": "mean", "keep": True}
    logits, _ = edited_forward(reference_vgg, cat_input, "features.29", channels, "mean", keep=True)
    check_predictions(report, logits)


def test_text_says_it_is_the_ablated_run(capsys, cat_path, vgg_checkpoint, reference_vgg, reference_forward,
                                        cat_input):
    code, out, err = run_cli(capsys, "inspect", cat_path, "--weights", vgg_checkpoint, "--ablate", "fc7:0,5,9")
    assert code == 0, err
    lines = out.splitlines()
    noted = [line for line in lines if line.startswith("ablation ")]
    assert noted == ["ablation fc7: channels 0, 5, 9 set to 0; the predictions and layers below are the ablated run's"]
    logits, _ = edited_forward(reference_vgg, cat_input, "classifier.3", [0, 5, 9])
    probs, plain = softmax(logits), softmax(reference_forward(cat_input)["classifier.6"])
    assert f"{probs[0] * 100:6.2f}%" != f"{plain[0] * 100:6.2f}%"  # the printed numbers tell the two apart
    for i, name in enumerate(["cat", "dog"]):
        row = next(line for line in lines if line.endswith(f"] {name}"))
        assert f"{probs[i] * 100:6.2f}%" in row


@pytest.mark.parametrize("argv, needle", [
    (["--ablate", "conv5_3:"], "names no channels"),
    (["--ablate", "conv5_3"], "names no channels"),
    (["--ablate", ":3"], "names no layer"),
    (["--ablate", "conv5_3:1,x"], "'x' is not a channel number"),
    (["--ablate", "conv5_3:-1"], "channel -1"),
    (["--ablate", "nope:1"], "no layer named 'nope'"),
    (["--keep"], "--keep needs --ablate"),
    (["--ablate-mode", "mean"], "--ablate-mode needs --ablate"),
    (["--ablate", "conv5_3:1", "--ablate-mode", "half"], "half"),
    (["--ablate", "conv5_3:9999"], "channel 9999 is out of range: conv5_3 has 512 channels"),
    (["--ablate", "fc7:1", "--ablate-mode", "mean"], "fc7 has no spatial map"),
])
def test_bad_ablations_are_one_line(capsys, cat_path, argv, needle):
    code, out, err = run_cli(capsys, "inspect", cat_path, "--offline", "--json", *argv)
    assert_one_line_error(code, err, needle)
    assert out == "" and "Traceback" not in err
