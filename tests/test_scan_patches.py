"""Scan patches (inference.patches): a hit's box cropped from the original, EXIF-oriented photo, compared
with a crop made here with Pillow; files gone or changed since the scan; the per-channel PNG sheets."""
import math
import os

import numpy as np
import pytest
from PIL import Image, ImageOps

from inference.errors import ImageLoadError
from inference.patches import channel_patches, patch_of, sheet_name, write_channel_sheets
from inference.scan_result import Hit


def gradient(w: int, h: int) -> np.ndarray:
    """A smooth picture: reduced decoding and resizing change it by a few levels only."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([255 * x / w, 255 * y / h, 128 + 100 * np.sin(x / 23.0 + y / 31.0)], -1).astype(np.uint8)


def hit_for(path, box, rel="x", value=1.0) -> Hit:
    with Image.open(path) as im:
        size = ImageOps.exif_transpose(im).size
    st = os.stat(path)
    return Hit(str(path), rel, value, 0, 0, box, size, (st.st_size, st.st_mtime_ns))


def by_hand(path, box, side):
    with Image.open(path) as im:
        img = ImageOps.exif_transpose(im).convert("RGB")
    x0, y0, x1, y1 = box
    crop = img.crop((math.floor(x0), math.floor(y0), math.ceil(x1), math.ceil(y1)))
    crop.thumbnail((side, side), Image.Resampling.LANCZOS)
    return np.asarray(crop)


def test_a_patch_is_the_box_of_the_oriented_photo(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 8   # shown rotated by 270°: the stored 90 × 60 photo is 60 wide, 90 high
    Image.fromarray(gradient(90, 60)).save(path, exif=exif, quality=95)
    box = (10.4, 20.7, 50.2, 80.9)
    patch = patch_of(hit_for(path, box), side=96)
    assert patch.dtype == np.uint8 and patch.shape == (61, 41, 3)   # rows 20..81, columns 10..51: not enlarged
    np.testing.assert_array_equal(patch, by_hand(path, box, 96))


def test_a_large_photo_is_decoded_only_as_large_as_the_patch_needs(tmp_path, monkeypatch):
    import inference.patches as patches

    path = tmp_path / "big.png"
    Image.fromarray(gradient(1600, 1200)).save(path)
    sides = []
    real = patches.load_image
    monkeypatch.setattr(patches, "load_image", lambda p, max_side=None: sides.append(max_side) or real(p, max_side=max_side))
    box = (200.0, 100.0, 1000.0, 700.0)   # 800 px wide: a 96 px patch needs the photo at 1600·96/800
    patch = patch_of(hit_for(path, box), side=96)
    assert sides == [192] and patch.shape == (72, 96, 3)
    diff = np.abs(patch.astype(int) - by_hand(path, box, 96).astype(int))
    assert diff.mean() < 2 and diff.max() < 16


def test_a_file_changed_or_gone_since_the_scan_gives_one_line(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(gradient(80, 80)).save(path)
    hit = hit_for(path, (0, 0, 40, 40), rel="sub/a.png")
    Image.fromarray(gradient(80, 81)).save(path)
    with pytest.raises(ImageLoadError, match="'sub/a.png': the file changed since the scan"):
        patch_of(hit)
    os.remove(path)
    with pytest.raises(ImageLoadError, match="no such file"):
        patch_of(hit)


class Layer:
    """What the patch functions read of a ``LayerHits``, with hits whose boxes are chosen here."""

    layer, alias = "features.3", "conv2_1"

    def __init__(self, hits_per_channel):
        self._hits = [tuple(h) for h in hits_per_channel]
        self.channels = len(self._hits)

    def channel(self, c):
        return self._hits[c]


def layer_of(hits_per_channel) -> Layer:
    return Layer(hits_per_channel)


def test_channel_patches_and_sheets(tmp_path):
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"p{i}.png")
        Image.fromarray(np.roll(gradient(120, 100), 30 * i, axis=1)).save(paths[-1])
    boxes = [(0, 0, 60, 50), (30, 20, 120, 100), (5.5, 5.5, 20.5, 90.5), (0, 0, 120, 100)]
    hits = [[hit_for(p, b, rel=f"d/p{i}.png", value=9.0 - i) for i, (p, b) in enumerate(zip(paths, boxes))],
            [hit_for(paths[2], boxes[3], rel="d/p2.png", value=3.0)]]
    layer = layer_of(hits)
    got, errors = channel_patches(layer, 0, side=128)   # every box ≤ 128 px: decoded at full size
    assert errors == [] and [g["rank"] for g in got] == [0, 1, 2, 3] and [g["value"] for g in got] == [9, 8, 7, 6]
    for g, p, b in zip(got, paths, boxes):
        np.testing.assert_array_equal(g["image"], by_hand(p, b, 128))
        assert g["path"] == str(p) and g["box"] == b
    os.remove(paths[1])
    out = tmp_path / "sheets"
    out.mkdir()
    written, errors = write_channel_sheets(layer, out)
    assert [p.name for p in written] == [sheet_name("features.3", 0), sheet_name("features.3", 1)]
    assert len(errors) == 1 and "p1.png" in errors[0]
    assert sorted(os.listdir(out)) == ["features.3-ch0000.png", "features.3-ch0001.png"]   # no temp files
    with Image.open(written[0]) as im:
        assert im.format == "PNG" and im.width >= 2 * 128 and im.height >= 2 * 128
