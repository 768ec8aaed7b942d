"""``convscope models``: every CNN of torchvision's registry, its size and its cache state, through the real entry."""
import json
import os

import torch
import torchvision

from cli_helpers import run_cli


def _expected_cnns() -> set[str]:
    """Independently: the registry's models whose builder does not return a transformer class."""
    import inspect

    transformers = (torchvision.models.VisionTransformer, torchvision.models.SwinTransformer,
                    torchvision.models.MaxVit)
    names = torchvision.models.list_models(module=torchvision.models)
    return {n for n in names
            if not issubclass(inspect.signature(torchvision.models.get_model_builder(n)).return_annotation,
                              transformers)}


def test_models_json_lists_every_cnn_with_its_registry_facts(capsys):
    cached = os.path.join(torch.hub.get_dir(), "checkpoints",
                          os.path.basename(torchvision.models.ResNet18_Weights.DEFAULT.url))
    os.makedirs(os.path.dirname(cached), exist_ok=True)
    open(cached, "wb").close()
    try:
        code, out, err = run_cli(capsys, "models", "--json")
    finally:
        os.remove(cached)
    assert code == 0 and err == ""
    report = json.loads(out)
    rows = {r["name"]: r for r in report["models"]}
    assert set(rows) == _expected_cnns()
    assert "vit_b_16" in report["not_listed"] and "vision transformers" in report["note"]
    for name, row in rows.items():
        weights = torchvision.models.get_model_weights(name).DEFAULT
        assert row["num_params"] == weights.meta["num_params"], name
        assert row["url"] == weights.url
    assert rows["resnet18"]["cached"] and rows["resnet18"]["path"] == cached
    assert not rows["resnet50"]["cached"] and rows["resnet50"]["path"] is None
    assert rows["inception_v3"]["input_size"] == 299


def test_models_text(capsys):
    code, out, err = run_cli(capsys, "models")
    assert code == 0 and err == ""
    lines = out.splitlines()
    vgg = next(line for line in lines if line.split()[0] == "vgg16")
    assert "138.4 M" in vgg and "not cached" in vgg
    assert len([line for line in lines[1:-1]]) == len(_expected_cnns())
    assert "vit_b_16" in lines[-1] and "ConvScope shows CNNs for now" in lines[-1]
    assert not any(line.split()[0].startswith(("vit_", "swin_")) for line in lines[1:-1])
