"""``convscope scan``: its --json is the engine's result, broken images are listed and skipped, bad input
is one line and exit 2, Ctrl-C stops the scan keeping its index, aliases and --sheets work."""
import json
import os
import signal

import numpy as np
import pytest
from PIL import Image

from cli_helpers import assert_one_line_error, run_cli
from inference.model import load_model
from inference.scan import scan_folder
from inference.weights_request import WeightsRequest
from test_scan import BROKEN, make_folder

ARCH = ("--arch", "squeezenet1_1", "--offline")
LAYER = "features.12"     # the last Fire block's output: 512 channels, 13×13


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    make_folder(str(root), n_good=14, seed=3)
    return str(root)


@pytest.fixture(scope="module")
def squeezenet():
    return load_model(WeightsRequest(arch="squeezenet1_1", untrained=True, device="cpu"))


def assert_same_json(got: dict, want: dict):
    assert list(got) == list(want)
    for layer in want:
        assert list(got[layer]) == list(want[layer])
        for ch, hits in want[layer].items():
            mine = got[layer][ch]
            assert [(h["path"], h["y"], h["x"], h["box"]) for h in mine] == \
                   [(h["path"], h["y"], h["x"], h["box"]) for h in hits]
            np.testing.assert_allclose([h["value"] for h in mine], [h["value"] for h in hits], rtol=1e-5, atol=1e-6)


def test_json_is_the_engines_result_and_broken_images_are_listed(folder, squeezenet, tmp_path, capsys):
    code, out, err = run_cli(capsys, "scan", folder, *ARCH, "--layer", LAYER, "--top", "4", "--json",
                             "--out", tmp_path / "cli")
    assert code == 0, err
    want = scan_folder(folder, squeezenet, [LAYER], 4, out_dir=tmp_path / "engine").as_json()
    got = json.loads(out)
    assert_same_json(got, want)
    assert len(got[LAYER]) == 512 and all(len(h) == 4 for h in got[LAYER].values())
    skipped = [line for line in err.splitlines() if line.startswith("convscope: skipped ")]
    assert sorted(line.split()[2].rstrip(":") for line in skipped) == sorted(BROKEN)
    assert not any("error" in line for line in err.splitlines())
    code, out2, err2 = run_cli(capsys, "scan", folder, *ARCH, "--layer", LAYER, "--top", "4", "--json",
                               "--out", tmp_path / "cli")
    assert code == 0 and json.loads(out2) == got    # the second run reads the index: the same answer
    assert len([line for line in err2.splitlines() if "skipped" in line]) == len(BROKEN)


def test_text_output_names_the_index_and_the_best_hits(folder, tmp_path, capsys):
    code, out, err = run_cli(capsys, "scan", folder, *ARCH, "--layer", LAYER, "--top", "2", "--out", tmp_path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"scanned {folder}: {14 + len(BROKEN)} images") and str(tmp_path) in lines[0]
    assert lines[1].startswith(f"{LAYER}: 512 channels, 13×13 map") and len(lines) == 2 + 512


@pytest.mark.parametrize("argv, needle", [
    (["scan", "/no/such/folder"], "no such folder"),
    (["scan", __file__], "it is a file, not a folder"),
    (["scan", "{folder}", *ARCH, "--layer", "nope"], "no layer named 'nope'"),
    (["scan", "{folder}", *ARCH, "--top", "0"], "--top must be at least 1"),
    (["scan", "{empty}", *ARCH], "no images in"),
])
def test_bad_input_is_one_line_and_exit_2(folder, tmp_path, capsys, argv, needle):
    (tmp_path / "empty").mkdir()
    argv = [a.format(folder=folder, empty=tmp_path / "empty") for a in argv] + ["--out", str(tmp_path / "i")]
    code, out, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, needle)
    assert out == ""


def test_ctrl_c_stops_the_scan_keeping_its_index(folder, tmp_path, capsys, monkeypatch):
    import app.cli_scan as cli_scan

    update = cli_scan._Bar.update

    def interrupted(self, p):
        update(self, p)
        if p.done:
            os.kill(os.getpid(), signal.SIGINT)   # what Ctrl-C sends, once the first batch is in
    monkeypatch.setattr(cli_scan._Bar, "update", interrupted)
    argv = ["scan", folder, *ARCH, "--layer", LAYER, "--top", "3", "--batch", "4", "--json"]
    code, out, err = run_cli(capsys, *argv, "--out", tmp_path / "index")
    assert code == 130 and out == ""
    line = next(x for x in err.splitlines() if "cancelled" in x)
    assert "4 images scanned now" in line and "run the same command again" in line
    monkeypatch.setattr(cli_scan._Bar, "update", update)
    code, out, err = run_cli(capsys, *argv, "--out", tmp_path / "index")
    assert code == 0, err
    code, full, err = run_cli(capsys, *argv, "--out", tmp_path / "full")
    assert_same_json(json.loads(out), json.loads(full))


def test_aliases_name_layers_and_sheets_are_written(tmp_path, capsys):
    make_folder(str(tmp_path / "few"), n_good=3, seed=5)
    code, out, err = run_cli(capsys, "scan", tmp_path / "few", "--arch", "vgg16", "--offline", "--layer", "conv1_2",
                             "--layer", "pool1", "--top", "2", "--json", "--out", tmp_path / "i",
                             "--sheets", tmp_path / "sheets")
    assert code == 0, err
    got = json.loads(out)
    assert list(got) == ["features.2", "features.4"] and len(got["features.2"]) == 64
    sheets = sorted(p.name for p in (tmp_path / "sheets").iterdir())
    assert len(sheets) == 128 and sheets[0] == "features.2-ch0000.png" and not any(s.endswith(".tmp") for s in sheets)
    with Image.open(tmp_path / "sheets" / "features.4-ch0063.png") as im:
        assert im.format == "PNG" and im.width > 2 * 96
