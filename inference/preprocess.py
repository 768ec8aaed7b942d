"""Turn a photo into the network's input tensor, and remember where that input sits on the photo.

Three modes: torchvision's own ImageNet transforms (default), and the two
conventions of the widely used cat/dog training code (``legacy``: short side 224
then centre-crop, ``letterbox``: aspect-preserving onto a grey canvas; both
scale to x/127.5−1). Every mode also returns the 224×224 picture the network
sees and the rectangle of the photo it covers, so views can overlay feature
maps on the right pixels.

Give it the full-resolution photo (``LoadedImage.for_network()``), so the 224×224
input is torchvision's transform of the file itself; ``photo_size`` then puts the
rectangle in the pixels of the smaller copy that is drawn.
"""
from dataclasses import dataclass, replace

import numpy as np
import torch
from PIL import Image
from torchvision.models import VGG16_Weights
from torchvision.transforms import functional as TF

from .classification_lut import classification_input, is_classification_preset

PREPROCESS_MODES = ("imagenet", "legacy", "letterbox")
INPUT_SIZE = 224
LETTERBOX_FILL = 128


@dataclass(frozen=True)
class Prepared:
    """The network input and how it maps back onto the photo."""

    tensor: torch.Tensor        # float32 [3, S, S], normalised for the model (S = 224, or the weights' crop)
    view_rgb: np.ndarray | None  # uint8 [S, S, 3]: what the network sees, before normalisation (None: view=False)
    rect: tuple[float, float, float, float]  # (x, y, w, h) of the input square in photo pixels
    mode: str


def _imagenet(img: Image.Image, transform=None, view: bool = True) -> Prepared:
    transform = transform or VGG16_Weights.IMAGENET1K_V1.transforms()
    if is_classification_preset(transform):
        # The preset's bits, a quarter less work; the 8-bit crop is what undoing the normalisation
        # gives back (a test checks every level of every preset).
        tensor, pixels = classification_input(img, transform)
        shown = np.array(pixels) if view else None
    else:
        tensor = transform(img)
        shown = None
        if view:
            mean = torch.tensor(transform.mean).view(3, 1, 1)
            std = torch.tensor(transform.std).view(3, 1, 1)
            shown = _hwc(((tensor * std + mean) * 255).round().clamp(0, 255).to(torch.uint8))
    resize = transform.resize_size[0]
    return Prepared(tensor, shown, _center_rect(img.size, resize, transform.crop_size[0]), "imagenet")


def _legacy(img: Image.Image) -> Prepared:
    resized = TF.center_crop(TF.resize(img, INPUT_SIZE, antialias=True), INPUT_SIZE)
    view = TF.pil_to_tensor(resized)
    return Prepared(view.float() / 127.5 - 1.0, _hwc(view), _center_rect(img.size, INPUT_SIZE, INPUT_SIZE), "legacy")


def _letterbox(img: Image.Image) -> Prepared:
    w, h = img.size
    scale = INPUT_SIZE / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    canvas = Image.new("RGB", (INPUT_SIZE, INPUT_SIZE), (LETTERBOX_FILL,) * 3)
    ox, oy = (INPUT_SIZE - nw) // 2, (INPUT_SIZE - nh) // 2
    canvas.paste(img.resize((nw, nh), Image.Resampling.BICUBIC), (ox, oy))
    view = TF.pil_to_tensor(canvas)
    sx, sy = w / nw, h / nh  # each side's own scale: the resize rounds both sides to whole pixels
    rect = (-ox * sx, -oy * sy, INPUT_SIZE * sx, INPUT_SIZE * sy)
    return Prepared(view.float() / 127.5 - 1.0, _hwc(view), rect, "letterbox")


def _hwc(chw_uint8: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(chw_uint8.permute(1, 2, 0).numpy())


def _center_rect(size: tuple[int, int], short: int, crop: int) -> tuple[float, float, float, float]:
    """Where a resize-short-side-then-centre-crop lands on the photo, in photo pixels."""
    w, h = size
    # torchvision keeps the short side exact and truncates the long one, so each side has its own scale.
    rw, rh = (short, int(short * h / w)) if w <= h else (int(short * w / h), short)
    sx, sy = w / rw, h / rh
    left = int(round((rw - crop) / 2.0))
    top = int(round((rh - crop) / 2.0))
    return (left * sx, top * sy, crop * sx, crop * sy)


_MODES = {"imagenet": _imagenet, "legacy": _legacy, "letterbox": _letterbox}


def preprocess(img: Image.Image, mode: str = "imagenet", *,
               photo_size: tuple[int, int] | None = None, transform=None, view: bool = True) -> Prepared:
    """Prepare a PIL image for the network in one of PREPROCESS_MODES.

    ``transform`` is the model's weights enum's ``transforms()`` (``ArchInfo.transforms``:
    inception_v3 resizes to 342 and crops 299) for the imagenet mode; VGG16's by default.
    ``view=False`` skips ``view_rgb`` in that mode (a folder scan never shows it).

    ``rect`` is in ``img``'s pixels, or, with ``photo_size`` = (w, h), in the pixels of
    the same photo shown at that size (the capped display copy of a full-size ``img``).
    """
    try:
        fn = _MODES[mode]
    except KeyError:
        raise ValueError(f"unknown preprocessing {mode!r}; choose one of {', '.join(PREPROCESS_MODES)}") from None
    # No convert() copy for an RGB image: a 24 MP photo would cost another 96 MB.
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    prepared = fn(rgb, transform, view) if mode == "imagenet" else fn(rgb)
    if photo_size is None or tuple(photo_size) == img.size:
        return prepared
    sx, sy = photo_size[0] / img.size[0], photo_size[1] / img.size[1]
    x, y, w, h = prepared.rect
    return replace(prepared, rect=(x * sx, y * sy, w * sx, h * sy))
