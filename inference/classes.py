"""Class names: torchvision's ImageNet categories, or a fine-tuned checkpoint's own."""
from torchvision.models import VGG16_Weights

IMAGENET_CATEGORIES: list[str] = list(VGG16_Weights.IMAGENET1K_V1.meta["categories"])
# ImageNet's domestic cats and dogs, as the cat-vs-dog answer sums them (inclusive ranges).
IMAGENET_CAT_CLASSES = range(281, 286)
IMAGENET_DOG_CLASSES = range(151, 269)


def default_class_names(num_classes: int) -> list[str]:
    """ImageNet's names for a 1000-class head, ``class i`` otherwise."""
    if num_classes == len(IMAGENET_CATEGORIES):
        return list(IMAGENET_CATEGORIES)
    return [f"class {i}" for i in range(num_classes)]
