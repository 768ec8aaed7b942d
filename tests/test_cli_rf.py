"""``convscope rf`` through its real entry: the JSON equals the field table, names and aliases agree, errors
are one line with exit code 2, and no image or weights are needed."""
import json

import pytest
import torch

from cli_helpers import assert_one_line_error, run_cli
from inference.field_box import clip_box
from inference.receptive_field import field_table


@pytest.fixture(scope="module")
def expected():
    """The table of torchvision's VGG16 itself (meta device: geometry only), derived here, not by the CLI."""
    from torchvision.models import vgg16

    with torch.device("meta"):
        return field_table(vgg16().eval(), (224, 224))


def test_table_json_equals_the_field_table(capsys, expected):
    from inference.aliases import VGG16_ALIASES

    code, out, err = run_cli(capsys, "rf", "--table", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["layer"] for r in rows] == expected.spatial()
    for r in rows:
        f = expected.field(r["layer"])
        assert r["alias"] == VGG16_ALIASES[r["layer"]]
        assert r["map_size"] == list(expected.map_sizes[r["layer"]])
        assert (r["size"], r["stride"], r["padding"]) == (list(f.size), list(f.stride), list(f.padding))
    assert not any(r["alias"].startswith("fc") for r in rows)   # no spatial output: not listed


def test_table_text_lists_every_spatial_layer(capsys, expected):
    code, out, err = run_cli(capsys, "rf", "--table")
    assert code == 0, err
    lines = out.strip().splitlines()
    conv5_3 = next(line for line in lines if line.split()[:2] == ["features.28", "conv5_3"])
    f = expected.field("features.28")
    assert conv5_3.split()[2:] == ["14×14", f"{f.size[0]}×{f.size[1]}", f"{f.stride[0]}×{f.stride[1]}",
                                   f"{f.padding[0]}×{f.padding[1]}"]
    assert sum(1 for line in lines if line.startswith(("features.", "avgpool"))) == len(expected.spatial())


@pytest.mark.parametrize("name, qualified, at", [("conv5_3", "features.28", (3, 4)), ("relu5_3", "features.29", (0, 13)),
                                                 ("features.4", "features.4", (111, 0))])
def test_layer_at_json_gives_the_box_unclipped_and_clipped(capsys, expected, name, qualified, at):
    code, out, err = run_cli(capsys, "rf", "--layer", name, "--at", *at, "--json")
    assert code == 0, err
    report = json.loads(out)
    f = expected.field(qualified)
    box = f.box(*at)
    assert report["layer"] == qualified and report["at"] == list(at)
    assert (report["size"], report["stride"], report["padding"]) == (list(f.size), list(f.stride), list(f.padding))
    assert report["box"] == list(box) and report["box_clipped"] == list(clip_box(box, (224, 224)))
    assert report["map_size"] == list(expected.map_sizes[qualified]) and report["input_size"] == [224, 224]


def test_layer_at_text(capsys, expected):
    code, out, err = run_cli(capsys, "rf", "--layer", "conv5_3", "--at", "3", "4")
    assert code == 0, err
    box = expected.field("features.28").box(3, 4)
    text = " ".join(out.split())
    assert "size 196×196, stride 16×16, padding 90×90" in text
    assert f"[{', '.join(map(str, box))}) unclipped" in text
    assert f"[{', '.join(map(str, clip_box(box, (224, 224))))}) clipped" in text


def test_name_and_alias_agree(capsys):
    a = run_cli(capsys, "rf", "--layer", "pool4", "--at", "2", "9", "--json")
    b = run_cli(capsys, "rf", "--layer", "features.23", "--at", "2", "9", "--json")
    assert a[0] == b[0] == 0 and json.loads(a[1]) == json.loads(b[1])


@pytest.mark.parametrize("argv, needles", [
    (("--layer", "conv9_9", "--at", "0", "0"), ("no layer named 'conv9_9'",)),
    (("--layer", "fc6", "--at", "0", "0"), ("fc6", "no spatial map")),
    (("--layer", "conv5_3", "--at", "14", "0"), ("outside the 14×14 map",)),
    (("--layer", "conv5_3", "--at", "0", "-1"), ("outside",)),
    (("--layer", "conv5_3"), ("--at Y X",)),
    (("--table", "--at", "1", "1"), ("--at goes with --layer",)),
    (("--layer", "conv5_3", "--table"), ("not allowed with",)),
    ((), ("--layer", "--table")),
    (("--layer", "conv5_3", "--at", "one", "2"), ("invalid int value",)),
])
def test_errors_are_one_line(capsys, argv, needles):
    code, out, err = run_cli(capsys, "rf", *argv)
    assert_one_line_error(code, err, *needles)
    assert out == ""


def test_weights_are_honoured(capsys, tmp_path, vgg_checkpoint, expected):
    """--weights FILE builds that checkpoint's network (a broken file fails as it does everywhere); its geometry
    is VGG16's. Without it, nothing is loaded or downloaded (the tests run offline)."""
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a checkpoint")
    code, _, err = run_cli(capsys, "rf", "--table", "--weights", str(bad))
    assert_one_line_error(code, err, "broken.pth")
    code, out, err = run_cli(capsys, "rf", "--layer", "conv4_3", "--at", "5", "6", "--json",
                             "--weights", str(vgg_checkpoint))
    assert code == 0, err
    assert json.loads(out)["box"] == list(expected.field("features.21").box(5, 6))


def test_rf_is_a_command_and_needs_no_image():
    from app.cli import COMMANDS, build_parser

    assert "rf" in COMMANDS
    args = build_parser().parse_args(["rf", "--table"])
    assert not hasattr(args, "image")


def test_another_architecture_at_its_own_input_size(capsys):
    """--arch inception_v3: its weights' transforms crop 299, so the boxes are in a 299 input; a second
    call of a shared module is a layer of its own (ResNet-18's layer4.1.relu#2, the block's output)."""
    from torchvision.models import inception_v3, resnet18

    with torch.device("meta"):
        inception = field_table(inception_v3(init_weights=False, aux_logits=False).eval(), (299, 299))
        resnet = field_table(resnet18().eval(), (224, 224))
    code, out, err = run_cli(capsys, "rf", "--arch", "inception_v3", "--layer", "Mixed_7c", "--at", "3", "3", "--json")
    assert code == 0, err
    got = json.loads(out)
    f = inception.field("Mixed_7c")
    assert got["input_size"] == [299, 299] and got["map_size"] == list(inception.map_sizes["Mixed_7c"])
    assert got["box"] == list(f.box(3, 3)) and got["box_clipped"] == list(clip_box(f.box(3, 3), (299, 299)))
    code, out, err = run_cli(capsys, "rf", "--arch", "resnet18", "--layer", "layer4.1.relu#2", "--at", "1", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["box"] == list(resnet.field("layer4.1.relu#2").box(1, 2))
    code, out, err = run_cli(capsys, "rf", "--arch", "resnet18", "--layer", "conv5_3", "--at", "1", "2")
    assert code == 2 and "no layer named 'conv5_3'" in err and "alias" not in err  # ResNet has no aliases
