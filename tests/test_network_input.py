"""The network sees the file: its 224×224 input is torchvision's transform of the original photo.

The display copy (``LoadedImage.rgb``) is capped at max_side and JPEG-drafted; the
network's view (``for_network()``) must not be. The reference is computed here, apart
from ConvScope: Pillow opens the file, ``exif_transpose``, ``convert("RGB")``, then
``VGG16_Weights.IMAGENET1K_V1.transforms()``. The photos carry fine detail (1-px
checkerboard, stripes near the capped copy's Nyquist limit, small text), so that the
old cap-then-resize path falls outside the tolerance: the test checks that too.
"""
import os

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageOps
from torchvision.models import VGG16_Weights

from inference.errors import ImageLoadError
from inference.images import load_image
from inference.preprocess import preprocess

MAX_SIDE = 1024
MEAN_TOL, MAX_TOL = 1 / 255, 4 / 255   # in un-normalised 0..1 pixel space

TRANSFORM = VGG16_Weights.IMAGENET1K_V1.transforms()
_MEAN = torch.tensor(TRANSFORM.mean).view(3, 1, 1)
_STD = torch.tensor(TRANSFORM.std).view(3, 1, 1)


def _detailed(w: int, h: int, seed: int = 0) -> Image.Image:
    """Gradients, square-wave stripes whose period runs 26→6 px, a 1-px checkerboard band, text."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[..., 0] = 255 * x * (1 - 0.5 * y)
    rgb[..., 1] = 255 * y
    phase = np.cumsum(1.0 / (26.0 - 20.0 * x), axis=1)
    rgb[..., 2] = 128 + 127 * np.sign(np.sin(2 * np.pi * phase))
    yy, xx = np.ogrid[0:h, 0:w]
    board = ((xx // 2 + yy // 2) % 2).astype(bool)
    band = (yy > h // 3) & (yy < h // 2)
    rgb[band & board] = 255
    rgb[band & ~board] = 0
    im = Image.fromarray(rgb)
    draw = ImageDraw.Draw(im)
    for _ in range(w * h // 6000):
        at = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        draw.text(at, "ConvScope 8", fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return im


def _reference(path) -> torch.Tensor:
    with Image.open(path) as im:
        return TRANSFORM(ImageOps.exif_transpose(im).convert("RGB"))


def _pixel_error(tensor: torch.Tensor, reference: torch.Tensor) -> tuple[float, float]:
    """(mean, max) absolute difference after undoing mean/std, in 0..1 units."""
    diff = ((tensor * _STD + _MEAN) - (reference * _STD + _MEAN)).abs()
    return float(diff.mean()), float(diff.max())


def _within(err: tuple[float, float]) -> bool:
    return err[0] <= MEAN_TOL and err[1] <= MAX_TOL


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("network-input")
    out = {}
    for name, (w, h) in {"photo": (4000, 3000), "panorama": (5000, 800)}.items():
        path = folder / f"{name}.jpg"
        _detailed(w, h).save(path, "JPEG", quality=92)
        out[name] = path
    return out


@pytest.mark.parametrize("name, size", [("photo", (4000, 3000)), ("panorama", (5000, 800))])
def test_network_input_is_torchvision_on_the_file(photos, name, size):
    reference = _reference(photos[name])
    image = load_image(photos[name], max_side=MAX_SIDE)

    # the display copy is still capped (and drafted), the network's view is the whole file
    assert image.reduced and (image.width, image.height) == size
    assert max(image.display_size) == MAX_SIDE
    assert image.for_network().size == size

    err = _pixel_error(preprocess(image.for_network(), "imagenet").tensor, reference)
    assert _within(err), f"network input off by mean {err[0] * 255:.2f}/255, max {err[1] * 255:.1f}/255"

    # before: the capped copy through the same transform is outside the tolerance
    naive = _pixel_error(preprocess(image.pil(), "imagenet").tensor, reference)
    assert not _within(naive), f"capped path unexpectedly close: {naive}"


def test_exif_rotated_large_photo(tmp_path):
    stored = _detailed(3000, 1200, seed=3)
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    path = tmp_path / "rotated.jpg"
    stored.save(path, "JPEG", quality=92, exif=exif)
    image = load_image(path, max_side=MAX_SIDE)
    assert (image.width, image.height) == (1200, 3000) and image.display_size == (410, 1024)
    assert image.for_network().size == (1200, 3000)
    err = _pixel_error(preprocess(image.for_network()).tensor, _reference(path))
    assert _within(err), err


def test_same_colour_rules_as_the_display_copy(tmp_path):
    """Alpha over white, as ``rgb``: the full view equals an uncapped load, pixel for pixel."""
    rng = np.random.default_rng(5)
    rgba = rng.integers(0, 256, (900, 1500, 4), dtype=np.uint8)
    rgba[:100, :100, 3] = 0
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    full = load_image(path).rgb
    view = load_image(path, max_side=300).for_network()
    assert view.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(view), full)
    assert (full[:100, :100] == 255).all()
    alpha = rgba[..., 3:].astype(np.int64)
    expected = (rgba[..., :3].astype(np.int64) * alpha + 255 * (255 - alpha) + 127) // 255
    np.testing.assert_array_equal(full, expected)


def test_small_image_view_is_its_pixels(tmp_path):
    arr = np.random.default_rng(2).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    path = tmp_path / "small.png"
    Image.fromarray(arr).save(path)
    image = load_image(path, max_side=MAX_SIDE)
    assert not image.reduced
    np.testing.assert_array_equal(np.asarray(image.for_network()), arr)


def test_rect_in_display_pixels(photos):
    """photo_size puts the crop rectangle on the capped copy that is drawn."""
    image = load_image(photos["photo"], max_side=MAX_SIDE)
    full = preprocess(image.for_network())
    shown = preprocess(image.for_network(), photo_size=image.display_size)
    torch.testing.assert_close(shown.tensor, full.tensor, rtol=0, atol=0)
    # torchvision: short side 3000 -> 256, centre crop 224 => a 2625-px square, centred
    side = 224 * 3000 / 256
    expected_full = ((4000 - side) / 2, (3000 - side) / 2, side, side)
    sx, sy = image.display_size[0] / 4000, image.display_size[1] / 3000
    expected = (expected_full[0] * sx, expected_full[1] * sy, side * sx, side * sy)
    assert shown.rect == pytest.approx(expected, abs=3000 / 256 * sx)  # within one resized px
    assert full.rect == pytest.approx(expected_full, abs=3000 / 256)


def test_bomb_limit_still_applies(photos, monkeypatch):
    image = load_image(photos["panorama"], max_side=MAX_SIDE)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # 4 M px > 2× the limit
    with pytest.raises(ImageLoadError, match="too large"):
        image.for_network()


def test_file_changed_or_gone_is_one_line(tmp_path):
    path = tmp_path / "later.jpg"
    _detailed(1600, 1200).save(path, "JPEG", quality=80)
    image = load_image(path, max_side=400)
    Image.new("RGB", (1200, 1600), "red").save(path, "JPEG")
    os.utime(path, ns=(1, 1))
    with pytest.raises(ImageLoadError, match="'later.jpg': the file changed") as info:
        image.for_network()
    assert "\n" not in str(info.value)
    path.unlink()
    with pytest.raises(ImageLoadError, match="no such file"):
        image.for_network()
