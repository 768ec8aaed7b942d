"""The VGG family's friendly aliases fit each model's own modules, and VGG16's are the table we always had."""
import pytest
import torch
import torchvision
from torch import nn

from inference.aliases import ALIASES_BY_ARCH, VGG_CFGS, VGG16_ALIASES, resolve_layer_name

VGGS = [f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")]
KIND = {"conv": nn.Conv2d, "bn": nn.BatchNorm2d, "relu": nn.ReLU, "pool": nn.MaxPool2d,
        "fc": nn.Linear, "drop": nn.Dropout, "avgpool": nn.AdaptiveAvgPool2d}


def _meta_vgg(name: str) -> nn.Module:
    with torch.device("meta"):
        return torchvision.models.get_model(name, weights=None, init_weights=False)


def _leaves(model: nn.Module) -> dict[str, nn.Module]:
    return {n: m for n, m in model.named_modules() if n and not list(m.children())}


def _kind(alias: str) -> str:
    return alias if alias == "avgpool" else alias.rstrip("0123456789_")


def test_the_cfgs_are_torchvisions():
    from torchvision.models.vgg import cfgs
    assert VGG_CFGS == cfgs


def test_vgg16_is_todays_table():
    features = ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1",
                "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2",
                "conv3_1", "relu3_1", "conv3_2", "relu3_2", "conv3_3", "relu3_3", "pool3",
                "conv4_1", "relu4_1", "conv4_2", "relu4_2", "conv4_3", "relu4_3", "pool4",
                "conv5_1", "relu5_1", "conv5_2", "relu5_2", "conv5_3", "relu5_3", "pool5"]
    classifier = ["fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8"]
    before = {**{f"features.{i}": a for i, a in enumerate(features)}, "avgpool": "avgpool",
              **{f"classifier.{i}": a for i, a in enumerate(classifier)}}
    assert VGG16_ALIASES == before
    assert list(VGG16_ALIASES.items()) == list(before.items())


def test_only_the_vgg_family_has_aliases():
    assert sorted(ALIASES_BY_ARCH) == sorted(VGGS)


@pytest.mark.parametrize("name", VGGS)
def test_aliases_cover_every_leaf_and_name_its_kind(name):
    aliases = ALIASES_BY_ARCH[name]
    leaves = _leaves(_meta_vgg(name))
    assert set(aliases) == set(leaves)
    assert len(set(aliases.values())) == len(aliases)  # no alias names two modules
    for qualified, alias in aliases.items():
        assert type(leaves[qualified]) is KIND[_kind(alias)], (qualified, alias)


@pytest.mark.parametrize("name", VGGS)
def test_block_and_position_follow_the_pools(name):
    """Independently of the cfgs: block b is what lies after b-1 max pools, and convK_i is the
    block's i-th conv; its BatchNorm and ReLU carry the same numbers; fc6…fc8 are the three Linears."""
    model = _meta_vgg(name)
    aliases = ALIASES_BY_ARCH[name]
    block, conv = 1, 0
    for i, m in enumerate(model.features):
        alias = aliases[f"features.{i}"]
        if isinstance(m, nn.MaxPool2d):
            assert alias == f"pool{block}"
            block, conv = block + 1, 0
            continue
        if isinstance(m, nn.Conv2d):
            conv += 1
        assert alias == f"{_kind(alias)}{block}_{conv}", (i, alias)
    assert block == 6  # five blocks
    fcs = [aliases[f"classifier.{i}"] for i, m in enumerate(model.classifier) if isinstance(m, nn.Linear)]
    assert fcs == ["fc6", "fc7", "fc8"]


def test_batch_norm_variants_shift_the_indices():
    """vgg19_bn's conv5_4 is features.49 (three entries per conv), vgg19's is features.34."""
    bn, plain = ALIASES_BY_ARCH["vgg19_bn"], ALIASES_BY_ARCH["vgg19"]
    model = _meta_vgg("vgg19_bn")
    known = list(_leaves(model))
    conv = resolve_layer_name("conv5_4", bn, known)
    assert model.get_submodule(conv) is [m for m in model.features if isinstance(m, nn.Conv2d)][-1]
    assert resolve_layer_name("bn5_4", bn, known) == "features." + str(int(conv.split(".")[1]) + 1)
    plain_model = _meta_vgg("vgg19")
    plain_known = list(_leaves(plain_model))
    assert resolve_layer_name("conv5_4", plain, plain_known) == "features.34"
    assert plain_model.features[34] is [m for m in plain_model.features if isinstance(m, nn.Conv2d)][-1]
    assert resolve_layer_name("bn1_1", plain, plain_known) is None
