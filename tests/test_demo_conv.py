"""The write-up's nn.Conv2d(3,3,3,1,1): equals F.conv2d with the reported kernel; presets do what they say."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inference.demo_conv import OUTPUT_MODES, PRESETS, DemoConvSpec, make_conv, renderings, run_demo_conv


@pytest.fixture(scope="module")
def photo(cat_path):
    from inference.images import load_image
    return load_image(cat_path).rgb


def reference(rgb, weight, bias):
    x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255
    return F.conv2d(x, torch.from_numpy(weight), torch.from_numpy(bias), stride=1, padding=1)[0].numpy()


@pytest.mark.parametrize("preset", PRESETS)
def test_equals_f_conv2d_with_reported_kernel(photo, preset):
    r = run_demo_conv(photo, DemoConvSpec(preset=preset, seed=7))
    assert r.raw.shape == (3, photo.shape[0], photo.shape[1]) and r.raw.dtype == np.float32
    np.testing.assert_allclose(r.raw, reference(photo, r.weight, r.bias), rtol=1e-5, atol=1e-5)
    # the picture is clip(out*255), not a wrapped astype
    np.testing.assert_array_equal(r.rgb, np.clip(r.raw * 255, 0, 255).astype(np.uint8).transpose(1, 2, 0))


# The textbook 3×3 filters, written out here (not imported), as cross-correlations the way
# nn.Conv2d applies them; each colour channel is filtered on its own.
TEXTBOOK = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "gaussian_blur": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}


def test_every_preset_but_random_has_a_textbook_kernel_here():
    assert set(PRESETS) == {"random", *TEXTBOOK}


@pytest.mark.parametrize("preset", sorted(TEXTBOOK))
def test_preset_equals_f_conv2d_with_the_textbook_kernel(photo, preset):
    """Each channel convolved alone (groups=3) with the filter, zero padding, no bias."""
    rng = np.random.default_rng(3)
    for rgb in (photo, rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)):
        r = run_demo_conv(rgb, DemoConvSpec(preset=preset))
        kernel = torch.tensor(TEXTBOOK[preset], dtype=torch.float32).expand(3, 1, 3, 3)
        x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255
        expected = F.conv2d(x, kernel, padding=1, groups=3)[0].numpy()
        np.testing.assert_allclose(r.raw, expected, rtol=1e-5, atol=1e-6, err_msg=preset)
        assert not r.bias.any()


def test_random_kernel_is_pytorch_default_init_from_seed():
    torch.manual_seed(42)
    expected = torch.nn.Conv2d(3, 3, kernel_size=3, stride=1, padding=1)
    conv = make_conv(DemoConvSpec(seed=42))
    assert torch.equal(conv.weight, expected.weight) and torch.equal(conv.bias, expected.bias)
    assert not torch.equal(make_conv(DemoConvSpec(seed=43)).weight, conv.weight)


def test_output_clips_instead_of_wrapping():
    bright = np.full((4, 4, 3), 255, np.uint8)
    r = run_demo_conv(bright, DemoConvSpec(preset="sharpen"))
    assert r.raw.max() > 1.0  # 5 - (edge neighbours) on a padded border exceeds 1
    assert r.rgb.max() == 255 and (r.rgb[r.raw.transpose(1, 2, 0) > 1] == 255).all()


def test_identity_returns_its_input(photo):
    r = run_demo_conv(photo, DemoConvSpec(preset="identity"))
    np.testing.assert_allclose(r.raw.transpose(1, 2, 0) * 255, photo, atol=1e-3)
    np.testing.assert_array_equal(r.rgb, photo)


def edge_image():
    img = np.zeros((20, 20, 3), np.uint8)
    img[:, 10:] = 200  # a vertical edge between columns 9 and 10
    return img


def test_sobel_x_sees_vertical_edge_not_flat_area():
    r = run_demo_conv(edge_image(), DemoConvSpec(preset="sobel_x"))
    inner = r.raw[:, 1:-1, 1:-1]  # away from the zero padding
    assert np.abs(inner[:, :, 8:10]).min() > 1.0      # strong at the edge
    assert np.abs(inner[:, :, :6]).max() < 1e-6       # nothing in the flat dark area
    assert np.abs(inner[:, :, 12:]).max() < 1e-6      # nothing in the flat bright area


def test_sobel_y_ignores_vertical_edge():
    r = run_demo_conv(edge_image(), DemoConvSpec(preset="sobel_y"))
    assert np.abs(r.raw[:, 1:-1, 1:-1]).max() < 1e-6


def test_blur_preserves_flat_area_and_softens_edge():
    r = run_demo_conv(edge_image(), DemoConvSpec(preset="gaussian_blur"))
    np.testing.assert_allclose(r.raw[:, 5, 14], 200 / 255, atol=1e-6)
    assert 0 < r.raw[0, 5, 9] < 200 / 255


def test_custom_kernel_and_bias():
    w = np.zeros((3, 3, 3, 3), np.float32)
    w[0, 1, 1, 1] = 2.0  # out 0 = 2 × green
    b = np.array([0.0, 0.25, 0.0], np.float32)
    img = np.random.default_rng(0).integers(0, 255, (6, 5, 3), dtype=np.uint8)
    r = run_demo_conv(img, DemoConvSpec(preset="custom", weight=w.tolist(), bias=b.tolist()))
    np.testing.assert_allclose(r.raw[0], 2 * img[..., 1].astype(np.float32) / 255, atol=1e-6)
    np.testing.assert_allclose(r.raw[1], 0.25, atol=1e-6)


def test_bad_custom_kernel_and_unknown_preset():
    with pytest.raises(ValueError):
        make_conv(DemoConvSpec(preset="custom", weight=[[1.0]], bias=[0, 0, 0]))
    with pytest.raises(ValueError):
        make_conv(DemoConvSpec(preset="nope"))


def test_large_image_capped_and_reported():
    big = np.zeros((1500, 3000, 3), np.uint8)
    r = run_demo_conv(big, max_side=1024)
    assert r.size == (1024, 512) and r.capped and "3000×1500" in r.note
    small = run_demo_conv(big[:100, :200], max_side=1024)
    assert not small.capped and small.note is None


# ----------------------------------------------------------------------------- how the output becomes a picture

def test_result_carries_every_rendering_and_the_channel_ranges(photo):
    r = run_demo_conv(photo, DemoConvSpec(seed=5))
    assert set(r.renderings) == set(OUTPUT_MODES) == {"wrap", "clip", "stretch"}
    for picture in r.renderings.values():
        assert picture.shape == photo.shape and picture.dtype == np.uint8 and picture.flags.c_contiguous
    assert r.rgb is r.renderings["clip"]
    flat = r.raw.reshape(3, -1)
    np.testing.assert_array_equal(r.ranges, np.stack([flat.min(1), flat.max(1)], 1))
    assert r.stretch_range == (float(r.raw.min()), float(r.raw.max()))


def test_wrap_is_the_write_ups_literal_cast_where_numpy_defines_it():
    """On values whose out·255 lies in 0..255 the cast is defined: there wrap is exactly it."""
    rng = np.random.default_rng(11)
    raw = rng.uniform(0, 255.99 / 255, (3, 9, 13)).astype(np.float32)
    literal = (raw.transpose(1, 2, 0) * 255).astype(np.uint8)
    np.testing.assert_array_equal(renderings(raw)["wrap"], literal)


def test_wrap_truncates_then_wraps_modulo_256():
    """Outside 0..255: trunc toward zero, then the low 8 bits (−0.5 → 0, −1.5 → 255, 256.7 → 0)."""
    values = np.array([-0.5, -1.5, -127.5, 256.7, 300.2, -300.7, 1000.5, 70000.3], np.float32)
    raw = np.broadcast_to(values / np.float32(255), (3, 1, values.size)).astype(np.float32)
    scaled = (raw * np.float32(255)).astype(np.float64)   # the float32 product the write-up casts
    expected = np.array([int(v) % 256 for v in scaled[0, 0]], np.uint8)  # Python's int() truncates toward 0
    got = renderings(raw)["wrap"]
    assert got[0, :, 0].tolist() == expected.tolist()
    assert expected[:3].tolist() == [0, 255, 129]


@pytest.mark.skipif(__import__("platform").machine().lower() not in ("x86_64", "amd64"),
                    reason="numpy's out-of-range float→uint8 cast is platform-defined; measured on x86-64")
def test_wrap_matches_numpys_own_cast_on_this_platform(photo):
    """Why the write-up's picture looks the way it does: on x86-64 numpy wraps exactly so."""
    r = run_demo_conv(photo, DemoConvSpec(seed=2))
    assert r.raw.min() < 0  # negative outputs: the cast is out of its defined range there
    literal = (r.raw.transpose(1, 2, 0) * 255).astype(np.uint8)
    np.testing.assert_array_equal(r.renderings["wrap"], literal)
    assert (r.renderings["wrap"] != r.renderings["clip"]).mean() > 0.05


def test_clip_and_stretch_equal_numpy_computations(photo):
    r = run_demo_conv(photo, DemoConvSpec(seed=9))
    hwc = r.raw.transpose(1, 2, 0).astype(np.float64)
    np.testing.assert_array_equal(r.renderings["clip"], np.clip(hwc * 255, 0, 255).astype(np.uint8))
    lo, hi = hwc.min(), hwc.max()   # one range over all three channels
    expected = np.rint((hwc - lo) / (hi - lo) * 255)
    got = r.renderings["stretch"].astype(np.int16)
    assert np.abs(got - expected).max() <= 1 and (got == expected).mean() > 0.999  # float32 vs float64 rounding
    assert got.min() == 0 and got.max() == 255


def test_stretch_of_a_flat_output_is_mid_grey():
    raw = np.full((3, 4, 5), 0.3, np.float32)
    assert (renderings(raw)["stretch"] == 128).all()


def test_the_demo_beside_the_top_cam_leaves_torchs_thread_counts_as_they_were(file_bundle, cat_path):
    """analyze() runs the demo conv on a thread of one intra-op thread while ``meanwhile`` runs: the same
    result as alone, and this thread's count and the default of threads started later are put back."""
    import threading

    from inference.analysis import AnalysisOptions, analyze

    before = torch.get_num_threads()
    seen = {}
    opts = AnalysisOptions(stats=False)
    ran = analyze(cat_path, file_bundle, opts, meanwhile=lambda run: seen.setdefault("main", torch.get_num_threads()))
    alone = run_demo_conv(ran.image.rgb, opts.demo, opts.max_side, (ran.image.width, ran.image.height))
    np.testing.assert_array_equal(ran.demo.raw, alone.raw)
    later = threading.Thread(target=lambda: seen.setdefault("later", torch.get_num_threads()))
    later.start()
    later.join()
    assert seen == {"main": before, "later": before} and torch.get_num_threads() == before
