"""Friendly names for the VGG family's modules, as the write-ups and papers call them.

The issue allows one hand-written per-model table, and this is it: conv1_1 … conv5_3,
pool1 … pool5, fc6 … fc8 (and bn1_1 … for the _bn variants), generated from VGG's four
configurations. They are written out rather than imported from torchvision.models.vgg,
so this module stays free to import (the GUI resolves --layer with it);
tests/test_aliases.py checks them against torchvision's ``cfgs``. Capture itself walks
``named_modules()`` and works for any network: a model without a table has no aliases.
"""

VGG_CFGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
"""torchvision.models.vgg.cfgs: a conv's output channels, or "M" for a max pool."""

VGG_CFG_OF = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}
_VGG_CLASSIFIER = ["fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8"]


def vgg_aliases(cfg: list[int | str], batch_norm: bool = False) -> dict[str, str]:
    """Aliases for a VGG built from ``cfg``, in torchvision's ``features.N`` order:
    each conv is followed by its BatchNorm (``batch_norm``) and its ReLU; "M" ends a block."""
    features: list[str] = []
    block, conv = 1, 0
    for v in cfg:
        if v == "M":
            features.append(f"pool{block}")
            block, conv = block + 1, 0
            continue
        conv += 1
        features.append(f"conv{block}_{conv}")
        if batch_norm:
            features.append(f"bn{block}_{conv}")
        features.append(f"relu{block}_{conv}")
    return {
        **{f"features.{i}": a for i, a in enumerate(features)},
        "avgpool": "avgpool",
        **{f"classifier.{i}": a for i, a in enumerate(_VGG_CLASSIFIER)},
    }


ALIASES_BY_ARCH: dict[str, dict[str, str]] = {
    f"{arch}{suffix}": vgg_aliases(VGG_CFGS[cfg], batch_norm=bool(suffix))
    for arch, cfg in VGG_CFG_OF.items() for suffix in ("", "_bn")
}

VGG16_ALIASES: dict[str, str] = ALIASES_BY_ARCH["vgg16"]


def resolve_layer_name(name: str, aliases: dict[str, str], known: list[str]) -> str | None:
    """The qualified module name for ``name``, which may be qualified already or an alias."""
    if name in known:
        return name
    for qualified, alias in aliases.items():
        if alias == name and qualified in known:
            return qualified
    return None
