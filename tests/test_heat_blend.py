"""widgets/heat_blend: the crop map sampled at the photo's pixel centres (as torch's grid_sample
samples it), blended by the RGBA table's alpha, and the photo untouched outside the crop."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from widgets.colormaps import heat_lut, to_indices
from widgets.heat_blend import lay_heat, sample_in_rect


def grid_sampled(values, rect, photo_hw):
    """Every photo pixel's centre through ``rect`` into ``values`` with grid_sample, and which are inside."""
    x, y, w, h = rect
    ys, xs = np.mgrid[0:photo_hw[0], 0:photo_hw[1]]
    inside = (xs + 0.5 >= x) & (xs + 0.5 < x + w) & (ys + 0.5 >= y) & (ys + 0.5 < y + h)
    grid = torch.from_numpy(np.stack([(xs + 0.5 - x) / w * 2 - 1, (ys + 0.5 - y) / h * 2 - 1], -1)).double()
    v = F.grid_sample(torch.from_numpy(values).double()[None, None], grid[None], mode="bilinear",
                      padding_mode="border", align_corners=False)[0, 0].numpy()
    return v, inside


def trained_like(n=224, seed=0):
    """What a trained CAM looks like once normalised: mostly ~0, two smooth strong spots."""
    yy, xx = np.mgrid[0:n, 0:n] / n
    spots = np.exp(-((yy - 0.35) ** 2 + (xx - 0.4) ** 2) / 0.01) + 0.6 * np.exp(-((yy - 0.7) ** 2 + (xx - 0.75) ** 2) / 0.005)
    noise = np.random.default_rng(seed).random((n, n)) * 0.03
    m = spots + noise
    return ((m - m.min()) / (m.max() - m.min())).astype(np.float32)


@pytest.mark.parametrize("rect", [(94.25, 18.75, 262.5, 262.5),      # imagenet crop of a 451×300 photo
                                  (-40.3, 0.0, 380.6, 300.0),        # letterbox: sticks out left and right
                                  (10.0, 5.0, 50.0, 40.0)])          # small, whole-pixel edges
def test_sampling_matches_grid_sample(rect):
    values = np.random.default_rng(1).random((224, 224)).astype(np.float32)
    (y0, y1, x0, x1), sampled = sample_in_rect(values, rect, (300, 300))
    v, inside = grid_sampled(values, rect, (300, 300))
    rows, cols = np.nonzero(inside)
    assert (y0, y1, x0, x1) == (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1)
    np.testing.assert_allclose(sampled, v[y0:y1, x0:x1], rtol=0, atol=2e-6)


def test_crop_outside_the_photo_covers_nothing():
    box, sampled = sample_in_rect(np.ones((4, 4), np.float32), (500.0, 10.0, 100.0, 100.0), (300, 451))
    assert sampled.size == 0
    photo = np.full((300, 451, 3), 77, np.uint8)
    assert np.array_equal(lay_heat(photo, np.ones((4, 4)), (500.0, 10.0, 100.0, 100.0), heat_lut("viridis")), photo)


def test_blend_follows_the_tables_alpha():
    rng = np.random.default_rng(2)
    photo = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    values = trained_like(56)
    rect = (20.5, -10.0, 112.0, 112.0)
    table = heat_lut("viridis", "value")
    out = lay_heat(photo, values, rect, table, 0.0, 1.0, opacity=0.7)
    v, inside = grid_sampled(values, rect, photo.shape[:2])
    rgba = table[to_indices(v.astype(np.float32), 0.0, 1.0)].astype(np.float64)
    a = rgba[..., 3:] / 255 * 0.7
    expected = photo * (1 - a) + rgba[..., :3] * a
    assert np.array_equal(out[~inside], photo[~inside])
    diff = np.abs(out.astype(float) - expected)[inside]
    assert diff.max() <= 3 and np.mean(diff <= 0.5) > 0.99   # ties at a colour bin's edge move one bin


def test_flat_table_is_an_even_blend_and_bad_input_says_so():
    photo = np.zeros((10, 10, 3), np.uint8)
    out = lay_heat(photo, np.ones((2, 2), np.float32), (0, 0, 10, 10), heat_lut("viridis", "flat"), 0.0, 1.0, 0.5)
    assert np.abs(out.astype(int) - np.round(heat_lut("viridis")[255, :3] * 0.5)).max() <= 1
    with pytest.raises(ValueError, match="RGBA"):
        lay_heat(photo, np.ones((2, 2)), (0, 0, 10, 10), np.zeros((256, 3), np.uint8))
    with pytest.raises(ValueError, match="no area"):
        sample_in_rect(np.ones((2, 2)), (0, 0, 0, 10), (10, 10))
    with pytest.raises(ValueError, match="2-D"):
        sample_in_rect(np.ones(4), (0, 0, 10, 10), (10, 10))


def test_a_trained_like_cam_covers_its_spot_and_leaves_the_rest(cat_path):
    """Where a trained CAM points, its colour covers the photo; elsewhere in the crop the photo shows."""
    from PIL import Image

    photo = np.asarray(Image.open(cat_path).convert("RGB"))
    rect = (94.25, 18.75, 262.5, 262.5)
    out = lay_heat(photo, trained_like(), rect, heat_lut("viridis", "value"))
    peak = (round(18.75 + 0.35 * 262.5), round(94.25 + 0.4 * 262.5))
    corner = (25, 100)   # inside the crop, far from both spots
    assert np.abs(out[peak].astype(int) - heat_lut("viridis")[255, :3]).max() <= 40
    assert np.abs(out[corner].astype(int) - photo[corner]).max() <= 30
