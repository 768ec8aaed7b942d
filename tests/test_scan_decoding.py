"""The decoding shortcuts give torchvision's bits, and the scan gives the window's.

- ``inference.classification_lut.classification_input`` against torchvision's own preset call,
  ``transform(img)``, with ``torch.equal`` (every bit), for the presets of several architectures
  (bilinear/bicubic, 256→224 and 342→299) and photos of many shapes; its 8-bit crop against
  undoing the normalisation of the preset's tensor (what the window showed before);
- ``inference.images.load_for_network`` against ``load_image(path).for_network()`` on every
  unusual and broken file of the reliability corpus (pixels, size, and the one-line reason);
- a ``ScanDataset`` item against the window's path, ``preprocess(load_image(p).for_network())``.
"""
import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import get_model_weights
from torchvision.transforms._presets import ImageClassification

import input_corpus
from inference.classification_lut import classification_input, is_classification_preset
from inference.errors import ImageLoadError
from inference.images import load_for_network, load_image
from inference.preprocess import preprocess
from inference.scan_data import ScanDataset

ARCHS = ("resnet18", "vgg16", "efficientnet_b0", "inception_v3", "mobilenet_v3_large", "densenet121")
SIZES = [(1, 1), (2, 5), (7, 300), (300, 7), (224, 224), (256, 256), (299, 299), (255, 257), (320, 240),
         (1000, 750), (513, 2), (341, 256)]


def _preset(arch: str) -> ImageClassification:
    return get_model_weights(arch).DEFAULT.transforms()


def _photo(w: int, h: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (h // 8 + 2, w // 8 + 2, 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC))
    noise = rng.integers(-20, 21, smooth.shape)
    return Image.fromarray(np.clip(smooth + noise, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("arch", ARCHS)
def test_the_table_gives_the_presets_bits(arch):
    preset = _preset(arch)
    assert is_classification_preset(preset)
    for i, (w, h) in enumerate(SIZES):
        img = _photo(w, h, i)
        (got, pixels), want = classification_input(img, preset), preset(img)
        assert got.dtype == want.dtype == torch.float32 and got.shape == want.shape
        assert torch.equal(got, want), (arch, w, h, (got - want).abs().max())
        assert np.array_equal(pixels, _undone(want, preset)), (arch, w, h)
        assert np.array_equal(preprocess(img, "imagenet", transform=preset).view_rgb, pixels)


def _undone(tensor: torch.Tensor, preset) -> np.ndarray:
    """The picture back from the network's input: undo the normalisation, round to 8 bits (HWC)."""
    mean = torch.tensor(preset.mean).view(3, 1, 1)
    std = torch.tensor(preset.std).view(3, 1, 1)
    return ((tensor * std + mean) * 255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()


@pytest.mark.parametrize("arch", ARCHS)
def test_every_level_comes_back_from_each_presets_normalisation(arch):
    preset = _preset(arch)
    same = ImageClassification(crop_size=16, resize_size=16, mean=preset.mean, std=preset.std)
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    img = Image.fromarray(np.stack([levels, levels[::-1], levels.T], -1))
    tensor, pixels = classification_input(img, same)
    assert torch.equal(tensor, same(img)) and np.array_equal(pixels, np.asarray(img))
    assert np.array_equal(_undone(tensor, same), pixels)


def test_every_level_of_every_channel():
    """One 256×3-level picture: each table entry is met once, for a preset of other mean and std."""
    preset = ImageClassification(crop_size=16, resize_size=16, mean=(0.1, 0.5, 0.9), std=(0.3, 0.01, 2.5))
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    img = Image.fromarray(np.stack([levels, levels[::-1], levels.T], -1))
    tensor, pixels = classification_input(img, preset)
    assert torch.equal(tensor, preset(img))
    assert np.array_equal(pixels, np.asarray(img)) and np.array_equal(_undone(tensor, preset), pixels)


def test_only_the_preset_itself_takes_the_shortcut(monkeypatch):
    class Brighter(ImageClassification):
        def forward(self, img):
            return super().forward(img) + 1

    mine = Brighter(crop_size=224)
    assert not is_classification_preset(mine) and is_classification_preset(ImageClassification(crop_size=224))
    img = _photo(300, 260, 9)
    scan = preprocess(img, "imagenet", transform=mine, view=False).tensor
    assert torch.equal(scan, mine(img))

    calls = []
    real = classification_input
    monkeypatch.setattr("inference.preprocess.classification_input", lambda im, t: calls.append(t) or real(im, t))
    preprocess(img, "imagenet", transform=_preset("resnet18"), view=False)
    preprocess(img, "imagenet", transform=_preset("resnet18"), view=True)
    preprocess(img, "imagenet", transform=mine, view=True)
    assert len(calls) == 2
    assert np.array_equal(preprocess(img, "imagenet", transform=mine).view_rgb, _undone(mine(img), mine))


CORPUS = input_corpus.UNUSUAL


@pytest.mark.parametrize("make", CORPUS, ids=lambda f: f.__name__)
def test_network_pixels_equal_the_windows(tmp_path, make):
    path = make(tmp_path)
    want = load_image(path)
    got = load_for_network(path)
    assert got.mode == "RGB"
    assert got.size == (want.width, want.height)
    assert np.array_equal(np.asarray(got), np.asarray(want.for_network()))


@pytest.mark.parametrize("make", input_corpus.BROKEN, ids=lambda f: f.__name__)
def test_network_errors_equal_the_windows(tmp_path, make):
    path = make(tmp_path)
    with pytest.raises(ImageLoadError) as want:
        load_image(path)
    with pytest.raises(ImageLoadError) as got:
        load_for_network(path)
    assert str(got.value) == str(want.value)


def test_missing_and_folder_errors_equal_the_windows(tmp_path):
    (tmp_path / "holiday.jpg").mkdir()
    for path in (tmp_path / "gone.jpg", tmp_path / "holiday.jpg"):
        with pytest.raises(ImageLoadError) as want:
            load_image(path)
        with pytest.raises(ImageLoadError) as got:
            load_for_network(path)
        assert str(got.value) == str(want.value)


@pytest.mark.parametrize("arch", ["resnet18", "inception_v3"])
def test_a_scan_item_equals_the_windows_input(tmp_path, arch):
    paths = [input_corpus.exif_rotated(tmp_path), input_corpus.cmyk_jpeg(tmp_path), input_corpus.long_thin(tmp_path)]
    _photo(640, 480, 3).save(tmp_path / "photo.jpg", quality=90)
    paths.append(tmp_path / "photo.jpg")
    preset = _preset(arch)
    dataset = ScanDataset([str(p) for p in paths], "imagenet", preset, threads=2)
    try:
        items = dataset.__getitems__(list(range(len(paths))))
    finally:
        dataset.close()
    for path, item in zip(paths, items):
        image = load_image(path)
        window = preprocess(image.for_network(), "imagenet", transform=preset)
        assert item.error is None
        assert torch.equal(item.tensor, window.tensor), path.name
        assert item.rect == tuple(map(float, window.rect)) and item.size == (image.width, image.height)
