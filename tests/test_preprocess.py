"""Preprocessing modes match their definitions, and the reported rect maps the input onto the photo."""
import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from inference.preprocess import preprocess


@pytest.fixture(scope="module")
def cat(cat_path):
    return Image.open(cat_path).convert("RGB")


def test_imagenet_equals_torchvision_pipeline(cat):
    p = preprocess(cat, "imagenet")
    ref = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                     T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])(cat)
    assert p.tensor.shape == (3, 224, 224)
    torch.testing.assert_close(p.tensor, ref, atol=2e-2, rtol=0)  # antialias/rounding differences only


def test_legacy_and_letterbox_scale_to_minus_one_one(cat):
    for mode in ("legacy", "letterbox"):
        p = preprocess(cat, mode)
        assert p.tensor.min() >= -1 and p.tensor.max() <= 1
        np.testing.assert_allclose(p.tensor.numpy(), p.view_rgb.transpose(2, 0, 1) / 127.5 - 1, atol=1e-6)


def test_letterbox_pads_with_grey(cat):
    p = preprocess(cat, "letterbox")  # 451×300 → 224×149 centred: grey bars above and below
    assert (p.view_rgb[:30] == 128).all() and (p.view_rgb[-30:] == 128).all()
    x, y, w, h = p.rect
    assert x == pytest.approx(0) and w == pytest.approx(451) and y < 0


# ---------------------------------------------------------------------- where the input square lies
# Photos whose pixels hold their own coordinates: channel 0 = x + 0.5, channel 1 = y + 0.5 (the
# centre of the pixel, in photo pixels), channel 2 = 1 inside the photo. A resize or crop moves
# these values with the pixels, so each input pixel says which point of the photo it shows.
SIZES = [(451, 300), (300, 451), (641, 479), (97, 211), (257, 256), (1023, 767), (5000, 800), (211, 1601)]
TOL = 0.5  # photo pixels; the fit of the encoding itself is within 0.1


def coordinate_photo(w: int, h: int) -> torch.Tensor:
    c = torch.ones(3, h, w)
    c[0] = (torch.arange(w, dtype=torch.float64) + 0.5).float().view(1, w)
    c[1] = (torch.arange(h, dtype=torch.float64) + 0.5).float().view(h, 1)
    return c


def torchvision_view(mode: str, photo: torch.Tensor) -> torch.Tensor:
    """The 224×224 input each mode defines, made by torchvision's own transforms, unnormalised."""
    from torchvision.models import VGG16_Weights
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    if mode == "imagenet":
        tf = VGG16_Weights.IMAGENET1K_V1.transforms()
        return tf(photo) * torch.tensor(tf.std).view(3, 1, 1) + torch.tensor(tf.mean).view(3, 1, 1)
    if mode == "legacy":  # short side 224, centre crop
        return T.Compose([T.Resize(224), T.CenterCrop(224)])(photo)
    h, w = photo.shape[1:]  # letterbox: long side 224, aspect kept, centred on a canvas (0 = outside)
    scale = 224 / max(w, h)
    size = [max(1, round(h * scale)), max(1, round(w * scale))]
    return TF.center_crop(TF.resize(photo, size, InterpolationMode.BICUBIC, antialias=True), [224, 224])


def worst_miss(view: torch.Tensor, rect) -> float:
    """Largest distance (photo px) between where ``rect`` puts an input pixel and what it shows.

    Pixels within 6 of the photo's edge or the canvas edge are left out: resampling kernels
    are clipped there.
    """
    inside = view[2] > 0.999
    keep = inside.clone()
    for _ in range(6):
        keep &= inside.roll(1, 0) & inside.roll(-1, 0) & inside.roll(1, 1) & inside.roll(-1, 1)
        inside = keep.clone()
    keep[:6], keep[-6:], keep[:, :6], keep[:, -6:] = False, False, False, False
    assert keep.sum() > 500
    x, y, w, h = (float(v) for v in rect)
    centres = torch.arange(224, dtype=torch.float64) + 0.5
    want_x = (x + centres * w / 224).view(1, 224).expand(224, 224)
    want_y = (y + centres * h / 224).view(224, 1).expand(224, 224)
    return max((view[0].double() - want_x)[keep].abs().max().item(), (view[1].double() - want_y)[keep].abs().max().item())


RECT_CASES = [pytest.param(mode, size, id=f"{mode}-{size[0]}x{size[1]}")
              for mode in ("imagenet", "legacy", "letterbox") for size in SIZES]


@pytest.mark.parametrize("mode, size", RECT_CASES)
def test_rect_is_where_torchvision_puts_the_input(mode, size):
    rect = preprocess(Image.new("RGB", size), mode).rect
    view = torchvision_view(mode, coordinate_photo(*size))
    miss = worst_miss(view, rect)
    assert miss < TOL, f"{mode} {size}: rect {tuple(round(v, 2) for v in rect)} is off by up to {miss:.2f} px"
    for k in range(4):  # the check itself sees a 1-pixel error in any of x, y, w, h
        off = list(rect)
        off[k] += 1
        assert worst_miss(view, off) > TOL


def test_unknown_mode(cat):
    with pytest.raises(ValueError):
        preprocess(cat, "nope")
