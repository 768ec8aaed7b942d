"""Checkpoint and class-name reading: real VGG16 weights in, clear one-line errors out.

A real 2-class torchvision VGG16 state dict (the layout of the widely used
cat/dog training code) is built once per module. The full 0.5 GB file is saved
once; the wrapper/prefix variants use its convolutional part only, which
exercises the same unwrapping at a tenth of the disk traffic.
"""
import pickle
import zipfile
from pathlib import Path

import pytest
import torch
import torchvision

from inference.checkpoint import (
    check_state_dict,
    find_class_names,
    num_classes_of,
    read_class_names,
    read_state_dict,
)
from inference.errors import WeightsError


@pytest.fixture(scope="module")
def vgg_state():
    torch.manual_seed(0)
    return torchvision.models.vgg16(num_classes=2).state_dict()


@pytest.fixture(scope="module")
def expected(vgg_state):
    return {k: tuple(v.shape) for k, v in vgg_state.items()}


@pytest.fixture(scope="module")
def conv_state(vgg_state):
    return {k: v for k, v in vgg_state.items() if k.startswith("features.")}


@pytest.fixture(scope="module")
def full_file(vgg_state, tmp_path_factory):
    path = tmp_path_factory.mktemp("full") / "best_epoch_weights.pth"
    torch.save(vgg_state, path)  # exactly what the cat/dog training code writes
    yield path
    path.unlink()  # do not leave 0.5 GB in pytest's retained temp folders


@pytest.fixture
def tmp_path(tmp_path):
    """pytest's tmp_path, emptied of checkpoints afterwards (pytest keeps recent runs' folders)."""
    yield tmp_path
    for big in tmp_path.glob("*.pth"):
        big.unlink()


def _assert_same(got: dict, want: dict):
    assert list(got) == list(want)
    for key in want:
        assert torch.equal(got[key], want[key]), key


def _error(path, fn=read_state_dict) -> str:
    with pytest.raises(WeightsError) as err:
        fn(path)
    text = str(err.value)
    assert "\n" not in text
    assert str(path) in text
    return text


# ------------------------------------------------------------------------ good files


def test_full_vgg16_checkpoint_loads_and_fits(full_file, vgg_state, expected):
    state = read_state_dict(full_file)
    _assert_same(state, vgg_state)
    check_state_dict(state, expected, full_file)  # no error
    assert num_classes_of(state) == vgg_state["classifier.6.weight"].shape[0] == 2


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda s: {"state_dict": s}, id="state_dict"),
        pytest.param(lambda s: {"model_state_dict": s, "epoch": 3, "optimizer": {"lr": 0.01}}, id="model_state_dict"),
        pytest.param(lambda s: {"module." + k: v for k, v in s.items()}, id="module-prefix"),
        pytest.param(lambda s: {"epoch": 7, "state_dict": {"module." + k: v for k, v in s.items()}}, id="wrapped-prefix"),
    ],
)
def test_wrapped_and_prefixed_checkpoints(wrap, conv_state, tmp_path):
    path = tmp_path / "ckpt.pth"
    torch.save(wrap(conv_state), path)
    _assert_same(read_state_dict(path), conv_state)


def test_legacy_non_zip_format(conv_state, tmp_path):
    path = tmp_path / "legacy.pth"
    small = {k: conv_state[k] for k in ("features.0.weight", "features.0.bias")}
    torch.save(small, path, _use_new_zipfile_serialization=False)
    _assert_same(read_state_dict(path), small)


# ------------------------------------------------------------------------ class names


def test_class_names_next_to_checkpoint(tmp_path):
    ckpt = tmp_path / "best_epoch_weights.pth"
    (tmp_path / "cls_classes.txt").write_bytes(b"cat\r\ndog")
    assert find_class_names(ckpt) == ["cat", "dog"]


def test_classes_option_wins_over_the_file_beside(tmp_path):
    ckpt = tmp_path / "w.pth"
    (tmp_path / "cls_classes.txt").write_bytes(b"cat\r\ndog\r\n")
    mine = tmp_path / "mine.txt"
    mine.write_text("tabby\nsiamese\npersian\n", encoding="utf-8")
    assert find_class_names(ckpt, mine) == ["tabby", "siamese", "persian"]


def test_no_class_names_anywhere(tmp_path):
    assert find_class_names(tmp_path / "w.pth") is None


def test_class_names_bom_blank_lines_and_spaces(tmp_path):
    path = tmp_path / "names.txt"
    path.write_bytes("\ufeff  chat  \r\n\r\n\tchien\n \n".encode("utf-8"))
    assert read_class_names(path) == ["chat", "chien"]


@pytest.mark.parametrize(
    "content, words",
    [
        (None, "not found"),
        (b"", "no class names"),
        (b"\r\n  \n", "no class names"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        (b"caf\xe9\n", "UTF-8"),
    ],
    ids=["missing", "empty", "blank", "binary", "latin1"],
)
def test_bad_class_name_files(content, words, tmp_path):
    path = tmp_path / "names.txt"
    if content is not None:
        path.write_bytes(content)
    assert words in _error(path, read_class_names)


def test_class_names_folder(tmp_path):
    assert "folder" in _error(tmp_path, read_class_names)


# ------------------------------------------------------------------------ code execution


class _Payload:
    """Unpickling this touches ``marker``: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("fmt", ["torch-zip", "pickle-2", "pickle-default"])
def test_pickle_that_would_run_code_is_refused(fmt, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    obj = {"features.0.weight": torch.zeros(2), "x": _Payload(marker)}
    if fmt == "torch-zip":
        torch.save(obj, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=2 if fmt == "pickle-2" else pickle.DEFAULT_PROTOCOL)
    msg = _error(path)
    assert "refused" in msg and "nothing" in msg and "executed" in msg
    assert not marker.exists()
    # The payload is live: an unsafe load would have run it.
    if fmt == "torch-zip":
        torch.load(path, weights_only=False)
    else:
        with open(path, "rb") as f:
            pickle.load(f)
    assert marker.exists()


# ------------------------------------------------------------------------ bad files


def test_missing_file(tmp_path):
    assert "not found" in _error(tmp_path / "nope.pth")


def test_folder(tmp_path):
    assert "folder" in _error(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.pth"
    path.write_bytes(b"")
    assert "empty" in _error(path)


def test_text_file(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("these are not weights\n")
    assert "not a PyTorch checkpoint" in _error(path)


def test_png_file(cat_path):
    assert "not a PyTorch checkpoint" in _error(cat_path)


def test_truncated_zip(full_file, tmp_path):
    path = tmp_path / "cut.pth"
    with open(full_file, "rb") as f:
        path.write_bytes(f.read(1 << 20))
    assert "truncated or corrupt" in _error(path)


def test_truncated_legacy_file(conv_state, tmp_path):
    whole = tmp_path / "whole.pth"
    torch.save({"features.0.weight": conv_state["features.0.weight"]}, whole, _use_new_zipfile_serialization=False)
    path = tmp_path / "cut.pth"
    path.write_bytes(whole.read_bytes()[:-100])
    assert "truncated or corrupt" in _error(path)


def test_zip_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "photos.pth"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("cat.txt", "meow")
    assert "not a PyTorch checkpoint" in _error(path)


@pytest.mark.parametrize(
    "obj, words",
    [
        ([torch.zeros(2)], "holds a list"),
        ({}, "empty state dict"),
        ({"weight": torch.zeros(2), "note": "hello"}, "'note' is of type str"),
        ({"state_dict": {"weight": torch.zeros(2), "step": 5}}, "'step' is of type int"),
        ({"module.w": torch.zeros(2), "w": torch.zeros(2)}, "holds both"),
    ],
    ids=["list", "empty", "non-tensor", "wrapped-non-tensor", "prefix-clash"],
)
def test_not_a_state_dict(obj, words, tmp_path):
    path = tmp_path / "odd.pth"
    torch.save(obj, path)
    assert words in _error(path)


# ------------------------------------------------------------------------ fit to the model


def test_resnet_checkpoint_is_not_vgg16(expected, tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    state = read_state_dict(path)  # a fine checkpoint, just not ours
    msg = _error(path, lambda p: check_state_dict(state, expected, p))
    assert "not a vgg16 checkpoint" in msg
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    assert f"missing keys {', '.join(missing[:3])} and {len(missing) - 3} more" in msg
    assert f"unexpected keys {', '.join(unexpected[:3])} and {len(unexpected) - 3} more" in msg
    assert missing[3] not in msg
    with pytest.raises(WeightsError, match="classifier.6.weight"):
        num_classes_of(state)


def test_one_missing_key_is_named_without_more(vgg_state, expected, tmp_path):
    state = {k: v for k, v in vgg_state.items() if k != "features.28.bias"}
    msg = _error(tmp_path / "w.pth", lambda p: check_state_dict(state, expected, p))
    assert msg.endswith("not a vgg16 checkpoint: missing keys features.28.bias")


def test_three_class_head_does_not_fit(vgg_state, expected, tmp_path):
    state = dict(vgg_state)
    state["classifier.6.weight"] = torch.zeros(3, 4096)
    state["classifier.6.bias"] = torch.zeros(3)
    msg = _error(tmp_path / "w.pth", lambda p: check_state_dict(state, expected, p))
    assert "classifier.6.weight: checkpoint has (3, 4096), model expects (2, 4096)" in msg
    assert num_classes_of(state) == 3


def test_wrong_bias_shape_is_named(vgg_state, expected, tmp_path):
    state = dict(vgg_state)
    state["classifier.6.bias"] = torch.zeros(3)
    msg = _error(tmp_path / "w.pth", lambda p: check_state_dict(state, expected, p, arch="vgg16"))
    assert "classifier.6.bias: checkpoint has (3,), model expects (2,)" in msg
