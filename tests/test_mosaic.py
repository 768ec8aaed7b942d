"""widgets.mosaic: Qt-free thumbnails and mosaic, checked against independent numpy/Pillow work."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from widgets import mosaic

ROOT = Path(__file__).resolve().parents[1]


def reference_indices(x, lo, hi):
    """ImageItem's rule written out: 256 equal bins over lo..hi, clipped to 0..255."""
    return np.clip(np.floor((x.astype(np.float64) - lo) * 256.0 / (hi - lo)), 0, 255).astype(np.uint8)


def pil_nearest(idx, th, tw):
    """Pillow's NEAREST resize of a uint8 index image (pixel-centre sampling)."""
    return np.asarray(Image.fromarray(idx, mode="L").resize((tw, th), Image.Resampling.NEAREST))


def layer(c, h, w, seed=0):
    return np.random.default_rng(seed).normal(size=(c, h, w)).astype(np.float32)


def test_imports_neither_qt_nor_torch():
    code = ("import sys; sys.path.insert(0, %r); import widgets.mosaic; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'shiboken6', 'pyqtgraph', 'torch', 'torchvision')))") % str(ROOT)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_small_maps_grow_by_a_whole_factor():
    acts = layer(5, 14, 14)
    lo, hi = mosaic.channel_levels(acts)
    thumbs = mosaic.thumbnails(acts, lo, hi, 80)
    assert thumbs.shape == (5, 70, 70) and thumbs.dtype == np.uint8    # 5× each activation
    for c in range(5):
        want = np.kron(reference_indices(acts[c], acts[c].min(), acts[c].max()), np.ones((5, 5), np.uint8))
        np.testing.assert_array_equal(thumbs[c], want)


def test_large_maps_are_box_averaged_then_nearest_sampled():
    acts = layer(3, 224, 224, seed=1)
    lo, hi = mosaic.channel_levels(acts, shared=True)
    assert (lo == acts.min()).all() and (hi == acts.max()).all()
    thumbs = mosaic.thumbnails(acts, lo, hi, 80)
    assert thumbs.shape == (3, 80, 80)
    for c in range(3):
        boxed = acts[c].astype(np.float64).reshape(112, 2, 112, 2).mean(axis=(1, 3))   # 224 // 80 = 2
        want = pil_nearest(reference_indices(boxed, acts.min(), acts.max()), 80, 80)
        # float32 box sums may land a value on the other side of a bin edge
        assert (thumbs[c] != want).mean() < 1e-3
        assert np.abs(thumbs[c].astype(int) - want).max() <= 1


def test_maps_between_the_two_sizes_are_nearest_sampled():
    acts = layer(4, 5, 90, seed=4)          # a 5×90 strip: 4×80 tile, no whole factor either way
    lo, hi = mosaic.channel_levels(acts)
    thumbs = mosaic.thumbnails(acts, lo, hi, 80)
    assert thumbs.shape == (4, 4, 80)
    for c in range(4):
        want = pil_nearest(reference_indices(acts[c], acts[c].min(), acts[c].max()), 4, 80)
        np.testing.assert_array_equal(thumbs[c], want)


def test_scalar_levels_and_channels_last_views_give_the_same_thumbnails():
    acts = layer(8, 30, 20, seed=2)
    lo, hi = mosaic.channel_levels(acts, shared=True)
    shared = mosaic.thumbnails(acts, lo, hi, 80)
    np.testing.assert_array_equal(shared, mosaic.thumbnails(acts, float(acts.min()), float(acts.max()), 80))
    view = np.ascontiguousarray(acts.transpose(1, 2, 0)).transpose(2, 0, 1)   # the engine's NHWC views
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(shared, mosaic.thumbnails(view, lo, hi, 80))
    assert shared.shape == (8, 60, 40)                       # aspect kept, whole factor 2
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        mosaic.thumbnails(acts[0], 0.0, 1.0)


def test_compose_puts_each_thumbnail_in_its_display_cell():
    c = 7
    acts = layer(c, 14, 14, seed=3)
    g = mosaic.layout(c, 14, 14, 1.0, width_px=3 * 90 + 2 * mosaic.PAD + 10)
    assert g.cols == 3 and (g.th, g.tw) == (70, 70)
    thumbs = mosaic.thumbnails(acts, *mosaic.channel_levels(acts), g.tp)
    means = acts.mean(axis=(1, 2))
    order, pos_of = mosaic.display_order(means, c)
    assert list(order) == list(np.argsort(-means)) and all(order[pos_of[ch]] == ch for ch in range(c))
    image = mosaic.compose(thumbs, order, g)
    assert image.dtype == np.uint16 and image.shape == (3 * g.cell_h, 3 * g.cell_w)
    covered = np.zeros(image.shape, bool)
    for pos in range(c):
        x, y = g.cell_origin(pos)
        x, y = x - g.pad + g.ox, y - g.pad + g.oy           # the mosaic array has no outer pad
        np.testing.assert_array_equal(image[y:y + g.th, x:x + g.tw], thumbs[order[pos]])
        covered[y:y + g.th, x:x + g.tw] = True
        # a point inside the tile maps back to its display position
        assert g.position_at(x + g.pad + 3, y + g.pad + 3, c) == pos
    assert (image[~covered] == mosaic.BG_INDEX).all()         # margins, captions, the two empty cells
    assert g.position_at(1, 1, c) is None                      # in the pad
    x, y = g.cell_origin(c)
    assert g.position_at(x + 3, y + 3, c) is None              # the cell after the last tile


def test_layout_scales_with_the_device_pixel_ratio():
    one = mosaic.layout(64, 224, 224, 1.0, 800)
    two = mosaic.layout(64, 224, 224, 2.0, 1600)
    assert (two.tp, two.th, two.m, two.lab, two.pad) == (2 * one.tp, 2 * one.th, 2 * one.m, 2 * one.lab, 2 * one.pad)
    assert one.cols == two.cols == (800 - 2 * mosaic.PAD) // (mosaic.TILE + 2 * mosaic.MARGIN)
    assert mosaic.layout(4, 224, 224, 1.0, 5000).cols == 4     # never more columns than channels
    assert mosaic.layout(4, 224, 224, 1.0, 10).cols == 1
