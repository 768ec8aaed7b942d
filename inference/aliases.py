"""Friendly names for VGG16's modules, as the write-ups and papers call them.

This table is the only place that knows VGG16's indices; capture itself walks
``named_modules()`` and works for any network (a model without a table simply
has no aliases).
"""

_VGG16_FEATURES = [
    "conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1",
    "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2",
    "conv3_1", "relu3_1", "conv3_2", "relu3_2", "conv3_3", "relu3_3", "pool3",
    "conv4_1", "relu4_1", "conv4_2", "relu4_2", "conv4_3", "relu4_3", "pool4",
    "conv5_1", "relu5_1", "conv5_2", "relu5_2", "conv5_3", "relu5_3", "pool5",
]
_VGG16_CLASSIFIER = ["fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8"]

VGG16_ALIASES: dict[str, str] = {
    **{f"features.{i}": a for i, a in enumerate(_VGG16_FEATURES)},
    "avgpool": "avgpool",
    **{f"classifier.{i}": a for i, a in enumerate(_VGG16_CLASSIFIER)},
}

ALIASES_BY_ARCH: dict[str, dict[str, str]] = {"vgg16": VGG16_ALIASES}


def resolve_layer_name(name: str, aliases: dict[str, str], known: list[str]) -> str | None:
    """The qualified module name for ``name``, which may be qualified already or an alias."""
    if name in known:
        return name
    for qualified, alias in aliases.items():
        if alias == name and qualified in known:
            return qualified
    return None
