"""torchvision's ``ImageClassification`` preset, its last three steps done as one table lookup.

The preset ends ``pil_to_tensor`` → ``convert_image_dtype(float)`` → ``normalize(mean, std)``: each an
elementwise float32 op on a uint8 pixel, so a channel's every possible result is one of 256 values.
``classification_input`` computes those 256 × 3 values once, by those very torchvision calls on a
ramp 0…255, and then reads each pixel's value from the table: the same bits as the preset (a test
checks it over many sizes and photos), with one numpy gather per channel instead of three torch
passes and their dispatch. A folder scan decodes on a pool of threads that share the GIL; this
takes about a quarter of the per-image decoding work off it. It also hands back the 8-bit crop,
the picture the network sees, which the window shows.

Resize and centre crop stay the preset's own calls (``F.resize`` and ``F.center_crop`` on the PIL
image, with its size, interpolation and antialias).
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import functional as F
from torchvision.transforms._presets import ImageClassification


def is_classification_preset(transform) -> bool:
    """Whether ``transform`` is exactly torchvision's preset (a subclass may do more)."""
    return type(transform) is ImageClassification


@functools.lru_cache(maxsize=16)
def _table(mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """float32 [3, 256]: channel c's normalised value of each uint8 level, by the preset's calls."""
    ramp = torch.arange(256, dtype=torch.uint8).view(1, 1, 256).expand(3, 1, 256).contiguous()
    values = F.normalize(F.convert_image_dtype(ramp, torch.float), mean=list(mean), std=list(std))
    table = np.ascontiguousarray(values[:, 0, :].numpy())
    table.setflags(write=False)
    return table


def classification_input(img: Image.Image, transform: ImageClassification) -> tuple[torch.Tensor, np.ndarray]:
    """``transform(img)`` for an RGB PIL image, float32 [3, S, S] equal to the preset bit for bit, and
    the resized, cropped 8-bit picture it was read from (uint8 [S, S, 3], read-only)."""
    img = F.resize(img, transform.resize_size, interpolation=transform.interpolation, antialias=transform.antialias)
    img = F.center_crop(img, transform.crop_size)
    pixels = np.asarray(img)
    table = _table(tuple(transform.mean), tuple(transform.std))
    out = np.empty((3,) + pixels.shape[:2], np.float32)
    for c in range(3):
        np.take(table[c], pixels[..., c], out=out[c])
    return torch.from_numpy(out), pixels
