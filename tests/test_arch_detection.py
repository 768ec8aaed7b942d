"""Architecture detection from a state_dict's keys and shapes, and the class count of any head.

Each CNN's state_dict comes from torchvision's own builder on the meta device
(free); RegNet's builder cannot run there, so those use the registry's meta build,
whose shapes tests/test_architectures.py checks against a CPU build.
"""
import pytest
import torch
import torchvision

from inference import arch_detection as det
from inference import architectures as archs
from inference.checkpoint import check_state_dict, num_classes_of, read_state_dict
from inference.errors import WeightsError


def _tv_state(name: str, num_classes: int = 1000, **kwargs) -> dict:
    """torchvision's own state_dict layout for ``name`` (meta tensors: shapes only)."""
    if archs.has_aux_heads(name):
        kwargs.setdefault("aux_logits", False)
        kwargs.setdefault("init_weights", True)
    try:
        with torch.device("meta"):
            model = torchvision.models.get_model(name, weights=None, num_classes=num_classes, **kwargs)
    except NotImplementedError:  # regnet reads tensors back while building
        model = archs.build_meta(name, num_classes, kwargs.get("aux_logits", False))
    return model.state_dict()


@pytest.mark.parametrize("name", archs.cnn_names())
def test_each_cnn_is_detected(name):
    assert det.detect_arch(_tv_state(name)) == name


# One of each family (torchvision submodule), with its head as torchvision names it.
FINE_TUNED = [("vgg16", "classifier.6"), ("vgg11_bn", "classifier.6"), ("alexnet", "classifier.6"),
              ("resnet50", "fc"), ("resnext50_32x4d", "fc"), ("wide_resnet50_2", "fc"),
              ("mobilenet_v2", "classifier.1"), ("mobilenet_v3_small", "classifier.3"),
              ("squeezenet1_1", "classifier.1"), ("squeezenet1_0", "classifier.1"), ("densenet121", "classifier"),
              ("efficientnet_b0", "classifier.1"), ("efficientnet_v2_s", "classifier.1"),
              ("mnasnet0_5", "classifier.1"), ("shufflenet_v2_x0_5", "fc"), ("regnet_y_400mf", "fc"),
              ("convnext_tiny", "classifier.2")]


@pytest.mark.parametrize("name, head", FINE_TUNED)
def test_fine_tuned_two_class_heads_are_detected(name, head):
    state = _tv_state(name, 2)
    assert det.detect_arch(state) == name
    assert num_classes_of(state, "w.pth", name) == 2 == state[f"{head}.weight"].shape[0]
    check_state_dict(state, None, "w.pth", name)  # fits the 2-class model


@pytest.mark.parametrize("classes", [1, 37, 21843])
def test_any_head_width_is_detected(classes):
    """The pre-filter puts the head back to 1000 classes: one output (a binary or regression head)
    and more than 1000 (ImageNet-21k) must work as well as fewer."""
    for name in ("resnet18", "squeezenet1_1", "convnext_tiny"):
        state = _tv_state(name, classes)
        assert det.detect_arch(state) == name
        assert det.num_classes(state, name) == classes


@pytest.mark.parametrize("name", ["googlenet", "inception_v3"])
def test_files_with_aux_heads_are_detected(name):
    """torchvision's own files (and training checkpoints) of these hold the aux heads too."""
    state = _tv_state(name, 2, aux_logits=True)
    assert det.detect_arch(state) == name
    assert det.has_aux_keys(state, name)
    assert set(det.drop_aux(state, name)) == set(_tv_state(name, 2))
    check_state_dict(state, None, "w.pth", name)


def test_the_cat_dog_training_checkpoints_load(tmp_path):
    """VGG16, ResNet-50 and MobileNetV2 with torchvision key names and a 2-class head, saved as trained."""
    for name in ("vgg16", "resnet50", "mobilenet_v2"):
        model = archs.build(name, num_classes=2) if name != "vgg16" else None
        if model is None:  # VGG16's 0.5 GB: its real layout, with small zero tensors of the right shapes
            state = {k: torch.zeros(v.shape) for k, v in _tv_state(name, 2).items()}
        else:
            state = model.state_dict()
        path = tmp_path / f"{name}.pth"
        torch.save({"model_state_dict": {"module." + k: v for k, v in state.items()}, "epoch": 3}, path)
        loaded = read_state_dict(path)
        assert det.detect_arch(loaded, path=path) == name
        assert num_classes_of(loaded, path, name) == 2
        path.unlink()


def test_hint_overrides_and_says_what_does_not_fit():
    state = _tv_state("resnet50")
    assert det.detect_arch(state, hint="resnet50") == "resnet50"
    with pytest.raises(WeightsError) as err:
        det.detect_arch(state, hint="wide_resnet50_2", path="r50.pth")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("r50.pth is not a wide_resnet50_2 checkpoint: ")
    want = _tv_state("wide_resnet50_2")["layer1.0.conv1.weight"].shape  # independently
    assert f"layer1.0.conv1.weight: checkpoint has (64, 64, 1, 1), model expects {tuple(want)}" in msg
    with pytest.raises(WeightsError, match="missing keys"):
        det.detect_arch(_tv_state("resnet18"), hint="resnet34")
    with pytest.raises(WeightsError, match="vision transformer"):
        det.detect_arch(state, hint="vit_b_16")


def test_a_file_of_none_of_them_fails_in_one_line(tmp_path):
    state = {"encoder.weight": torch.zeros(8, 3, 3, 3), "encoder.bias": torch.zeros(8), "head.weight": torch.zeros(2, 8)}
    with pytest.raises(WeightsError) as err:
        det.detect_arch(state, path="mine.pth")
    msg = str(err.value)
    assert msg.startswith("mine.pth is none of torchvision's CNNs: it has keys like encoder.weight, encoder.bias")
    assert "\n" not in msg


def test_a_damaged_checkpoint_of_a_known_cnn_is_none_of_them():
    state = dict(_tv_state("resnet18"))
    del state["layer4.1.bn2.running_var"]
    with pytest.raises(WeightsError, match="none of torchvision's CNNs"):
        det.detect_arch(state)
    with pytest.raises(WeightsError, match="missing keys layer4.1.bn2.running_var"):
        det.detect_arch(state, hint="resnet18")


def test_identical_signatures_are_reported_as_ambiguous(monkeypatch):
    """No two torchvision CNNs share a signature today; if two did, the line names both."""
    sig = det.signature("resnet18")
    monkeypatch.setitem(det._signatures, "resnet34", det.Signature("resnet34", sig.shapes, sig.head, sig.aux_keys))
    monkeypatch.setattr(det, "candidates", lambda state: ["resnet18", "resnet34"])
    with pytest.raises(WeightsError, match="r.pth matches both resnet18 and resnet34; give --arch NAME to choose"):
        det.detect_arch(_tv_state("resnet18"), path="r.pth")


def test_three_candidates_are_all_named(monkeypatch):
    sig = det.signature("resnet18")
    for twin in ("resnet34", "resnet50"):
        monkeypatch.setitem(det._signatures, twin, det.Signature(twin, sig.shapes, sig.head, sig.aux_keys))
    monkeypatch.setattr(det, "candidates", lambda state: ["resnet18", "resnet34", "resnet50"])
    with pytest.raises(WeightsError) as err:
        det.detect_arch(_tv_state("resnet18"), path="r.pth")
    assert str(err.value) == "r.pth matches resnet18, resnet34 and resnet50; give --arch NAME to choose"
    assert det.detect_arch(_tv_state("resnet18"), hint="resnet34") == "resnet34"  # --arch chooses


def _save_small(state: dict, path) -> None:
    """``state`` as a real file: zeros of its shapes (squeezenet1_1: 5 MB)."""
    torch.save({k: torch.zeros(v.shape, dtype=v.dtype) for k, v in state.items()}, path)


def test_the_command_line_says_none_of_them_in_one_line(tmp_path, capsys, cat_path):
    from cli_helpers import assert_one_line_error, run_cli

    path = tmp_path / "mystery.pth"
    state = dict(_tv_state("squeezenet1_1"))
    state["extra.weight"] = torch.zeros(4, 4)  # one unexpected key: no longer any CNN's layout
    _save_small(state, path)
    code, out, err = run_cli(capsys, "inspect", cat_path, "--weights", path)
    assert_one_line_error(code, err, "mystery.pth is none of torchvision's CNNs", "--arch NAME")
    assert "Traceback" not in err and out == ""


def test_the_command_line_names_the_candidates_of_an_ambiguous_file(tmp_path, capsys, cat_path, monkeypatch):
    from cli_helpers import assert_one_line_error, run_cli

    sig = det.signature("squeezenet1_1")
    monkeypatch.setitem(det._signatures, "squeezenet1_0",
                        det.Signature("squeezenet1_0", sig.shapes, sig.head, sig.aux_keys))
    monkeypatch.setattr(det, "candidates", lambda state: ["squeezenet1_0", "squeezenet1_1"])
    path = tmp_path / "twin.pth"
    _save_small(_tv_state("squeezenet1_1", 2), path)
    code, out, err = run_cli(capsys, "inspect", cat_path, "--weights", path)
    assert_one_line_error(code, err, "twin.pth matches both squeezenet1_0 and squeezenet1_1",
                          "give --arch NAME to choose")
    assert "Traceback" not in err and out == ""


def test_class_count_from_any_head():
    assert num_classes_of(_tv_state("efficientnet_b0", 5), None, "efficientnet_b0") == 5
    assert num_classes_of(_tv_state("convnext_tiny", 3), None, "convnext_tiny") == 3
    with pytest.raises(WeightsError, match="no fc.weight matrix"):
        num_classes_of(_tv_state("vgg16"), "w.pth", "resnet18")
