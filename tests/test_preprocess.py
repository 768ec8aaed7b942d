"""Preprocessing modes match their definitions, and the reported rect maps the input onto the photo.

The engine's input for each architecture (what ``analyze`` hands to ``on_image``) is
compared with that architecture's weights enum's own ``transforms()``, for a sample
whose crops, resizes and interpolations differ.
"""
import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torch import nn
from torchvision import transforms as T
from torchvision.transforms import functional as TF

from inference.analysis import AnalysisOptions, analyze
from inference.errors import Cancelled
from inference.model import ModelBundle
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
    s = view.shape[-1]
    centres = torch.arange(s, dtype=torch.float64) + 0.5
    want_x = (x + centres * w / s).view(1, s).expand(s, s)
    want_y = (y + centres * h / s).view(s, 1).expand(s, s)
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


# ---------------------------------------------------------------------- each architecture's own transforms
# Crop/resize/interpolation: 224/256 bilinear, 299/342, 300/320 bicubic, 224/236, 224/232 (two of them).
ENGINE_ARCHS = ["vgg16", "inception_v3", "efficientnet_b3", "convnext_tiny", "regnet_y_400mf", "mobilenet_v3_large"]


def _weights_transform(arch: str):
    return torchvision.models.get_model_weights(arch).DEFAULT.transforms()


def engine_prepared(path, arch: str, max_side: int | None = None):
    """(LoadedImage, Prepared) exactly as ``analyze`` makes them for a model of ``arch``, stopped before
    the forward (so the bundle needs no real network)."""
    bundle = ModelBundle(nn.Identity(), arch, "untrained", None, False, ["a"], torch.device("cpu"))
    seen = []
    options = AnalysisOptions() if max_side is None else AnalysisOptions(max_side=max_side)
    with pytest.raises(Cancelled):
        analyze(path, bundle, options, on_image=lambda image, prepared: seen.append((image, prepared)),
                cancel=lambda: True)
    return seen[0]


@pytest.fixture(scope="module")
def photos(cat_path, tmp_path_factory):
    """The cat (451×300), a portrait, and a photo large enough that the engine draws a reduced copy
    (its network input must still be the transform of the full-size file)."""
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(7)
    out = {"cat": (cat_path, None)}
    for name, (w, h), max_side in (("portrait", (301, 457), None), ("large", (1603, 1201), 500)):
        yy, xx = np.mgrid[0:h, 0:w]
        smooth = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (w + h)], -1)
        pixels = np.clip(smooth + rng.normal(0, 40, (h, w, 3)), 0, 255).astype(np.uint8)
        path = folder / f"{name}.png"
        Image.fromarray(pixels).save(path)
        out[name] = (path, max_side)
    return out


@pytest.mark.parametrize("arch", ENGINE_ARCHS)
@pytest.mark.parametrize("photo", ["cat", "portrait", "large"])
def test_engine_input_is_the_weights_transforms(arch, photo, photos):
    path, max_side = photos[photo]
    image, prepared = engine_prepared(path, arch, max_side)
    assert image.reduced == (max_side is not None)
    pil = Image.open(path).convert("RGB")
    tf = _weights_transform(arch)
    want = tf(pil)
    crop = tf.crop_size[0]
    assert prepared.tensor.shape == want.shape == (3, crop, crop)
    torch.testing.assert_close(prepared.tensor, want, rtol=0, atol=1e-5)
    # What the views draw is that crop before normalisation (a uint8 round trip of the tensor).
    resized = TF.center_crop(TF.resize(pil, tf.resize_size, tf.interpolation, antialias=True), tf.crop_size)
    seen = torch.from_numpy(prepared.view_rgb).permute(2, 0, 1).int()
    assert (seen - TF.pil_to_tensor(resized).int()).abs().max() <= 1


ARCH_RECT_CASES = [pytest.param(arch, size, id=f"{arch}-{size[0]}x{size[1]}")
                   for arch in ("inception_v3", "efficientnet_b3", "convnext_tiny")
                   for size in ((451, 300), (300, 451), (1023, 767), (211, 1601))]


@pytest.mark.parametrize("arch, size", ARCH_RECT_CASES)
def test_rect_follows_each_architectures_resize_and_crop(arch, size):
    tf = _weights_transform(arch)
    rect = preprocess(Image.new("RGB", size), "imagenet", transform=tf).rect
    photo = coordinate_photo(*size)
    view = tf(photo) * torch.tensor(tf.std).view(3, 1, 1) + torch.tensor(tf.mean).view(3, 1, 1)
    miss = worst_miss(view, rect)
    assert miss < TOL, f"{arch} {size}: rect {tuple(round(v, 2) for v in rect)} is off by up to {miss:.2f} px"
    for k in range(4):
        off = list(rect)
        off[k] += 1
        assert worst_miss(view, off) > TOL
