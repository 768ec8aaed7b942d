"""From logits to an answer: softmax, top-k with names, and ImageNet's cat-versus-dog sum."""
from dataclasses import dataclass

import numpy as np

from .classes import IMAGENET_CAT_CLASSES, IMAGENET_DOG_CLASSES


@dataclass(frozen=True)
class Predictions:
    logits: np.ndarray       # float32 [N]
    probs: np.ndarray        # float32 [N], softmax of logits
    top: list[dict]          # [{"index", "label", "prob", "logit"}], highest first
    cat_vs_dog: dict | None  # {"cat": p, "dog": p} with ImageNet weights, else None


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max())
    return (e / e.sum()).astype(np.float32)


def predictions_from_logits(logits: np.ndarray, class_names: list[str], top_k: int = 5,
                            imagenet_head: bool = False) -> Predictions:
    """Top-k classes of one image's logits; all of them when there are ≤ k classes."""
    logits = np.asarray(logits, dtype=np.float32).reshape(-1)
    probs = softmax(logits)
    order = np.argsort(-probs, kind="stable")[: max(1, top_k)]
    top = [{"index": int(i), "label": class_names[i] if i < len(class_names) else f"class {i}",
            "prob": float(probs[i]), "logit": float(logits[i])} for i in order]
    cat_vs_dog = None
    if imagenet_head and probs.shape[0] == 1000:
        cat_vs_dog = {"cat": float(probs[list(IMAGENET_CAT_CLASSES)].sum()),
                      "dog": float(probs[list(IMAGENET_DOG_CLASSES)].sum())}
    return Predictions(logits, probs, top, cat_vs_dog)
