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


@pytest.mark.parametrize("mode", ["imagenet", "legacy"])
def test_rect_points_at_the_pixels_the_network_sees(cat, mode):
    p = preprocess(cat, mode)
    x, y, w, h = p.rect
    crop = np.asarray(cat.crop((round(x), round(y), round(x + w), round(y + h))).resize((224, 224), Image.BILINEAR),
                      dtype=np.float32)
    assert np.abs(crop - p.view_rgb.astype(np.float32)).mean() < 6


def test_unknown_mode(cat):
    with pytest.raises(ValueError):
        preprocess(cat, "nope")
