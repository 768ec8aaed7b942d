"""inference.images: every mode to RGB, orientation, frames, reduced decode, clean errors.

All inputs are generated in tmp_path; expectations are computed independently of the
loader (plain arithmetic on the values written, numpy rotations, colorsys).
"""
import builtins
import colorsys
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from inference.errors import ImageLoadError
from inference.images import LoadedImage, _to_rgb, load_image


def _px(loaded: LoadedImage, x: int, y: int) -> tuple:
    return tuple(int(v) for v in loaded.rgb[y, x])


def _check_contract(loaded: LoadedImage, w: int, h: int) -> None:
    assert loaded.rgb.dtype == np.uint8
    assert loaded.rgb.shape == (h, w, 3)
    assert loaded.rgb.flags.c_contiguous and not loaded.rgb.flags.writeable
    assert (loaded.width, loaded.height, loaded.reduced) == (w, h, False)


def _save(im: Image.Image, path: Path, **kw) -> Path:
    im.save(path, **kw)
    with Image.open(path) as back:  # make sure the file really holds the mode under test
        assert back.mode == im.mode
    return path


# ---------------------------------------------------------------- modes via real files
def test_rgb_png_is_returned_unchanged(tmp_path):
    arr = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    path = _save(Image.fromarray(arr), tmp_path / "rgb.png")
    loaded = load_image(path)
    _check_contract(loaded, 7, 5)
    np.testing.assert_array_equal(loaded.rgb, arr)
    assert loaded.path == str(path) and isinstance(loaded.path, str)
    back = loaded.pil()
    assert back.mode == "RGB" and np.array_equal(np.asarray(back), arr)
    with pytest.raises(ValueError):
        loaded.rgb[0, 0, 0] = 1


def test_mode_1_bilevel(tmp_path):
    im = Image.new("1", (3, 1), 0)
    im.putpixel((1, 0), 1)
    loaded = load_image(_save(im, tmp_path / "bits.png"))
    _check_contract(loaded, 3, 1)
    assert [_px(loaded, x, 0) for x in range(3)] == [(0, 0, 0), (255, 255, 255), (0, 0, 0)]


def test_mode_l_gray(tmp_path):
    arr = np.array([[0, 77, 255]], dtype=np.uint8)
    loaded = load_image(_save(Image.fromarray(arr, "L"), tmp_path / "gray.png"))
    np.testing.assert_array_equal(loaded.rgb, np.repeat(arr[..., None], 3, axis=2))


def test_mode_la_composites_onto_white(tmp_path):
    arr = np.array([[[200, 0], [0, 255], [0, 128], [100, 255]]], dtype=np.uint8)
    loaded = load_image(_save(Image.fromarray(arr, "LA"), tmp_path / "la.png"))
    expected = [round(int(c) * int(a) / 255 + 255 * (1 - int(a) / 255)) for c, a in arr[0]]
    got = [_px(loaded, x, 0) for x in range(4)]
    for g, e in zip(got, expected):
        assert g[0] == g[1] == g[2] and abs(g[0] - e) <= 1
    assert got[0] == (255, 255, 255) and got[1] == (0, 0, 0)


def test_mode_rgba_transparent_is_white_half_red_is_pink(tmp_path):
    arr = np.array([[[10, 20, 30, 0], [255, 0, 0, 128], [1, 2, 3, 255]]], dtype=np.uint8)
    loaded = load_image(_save(Image.fromarray(arr, "RGBA"), tmp_path / "rgba.png"))
    assert _px(loaded, 0, 0) == (255, 255, 255)
    pink = np.array(_px(loaded, 1, 0))
    assert np.abs(pink - np.array([255, 128, 128])).max() <= 1
    assert _px(loaded, 2, 0) == (1, 2, 3)


def test_mode_p_palette(tmp_path):
    im = Image.new("P", (2, 1))
    im.putpalette([0, 0, 0, 12, 200, 99] + [0] * 762)
    im.putpixel((1, 0), 1)
    loaded = load_image(_save(im, tmp_path / "pal.png"))
    assert [_px(loaded, 0, 0), _px(loaded, 1, 0)] == [(0, 0, 0), (12, 200, 99)]


def test_mode_p_with_transparency_index_is_white(tmp_path):
    im = Image.new("P", (2, 1))
    im.putpalette([40, 50, 60, 12, 200, 99] + [0] * 762)
    im.putpixel((1, 0), 1)
    path = tmp_path / "pal_t.png"
    im.save(path, transparency=0)
    with Image.open(path) as back:
        assert back.mode == "P" and "transparency" in back.info
    loaded = load_image(path)
    assert [_px(loaded, 0, 0), _px(loaded, 1, 0)] == [(255, 255, 255), (12, 200, 99)]


def test_mode_pa_tiff(tmp_path):
    im = Image.new("PA", (2, 1))
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.putpixel((0, 0), (1, 0))     # red, fully transparent -> white
    im.putpixel((1, 0), (1, 255))   # red, opaque
    loaded = load_image(_save(im, tmp_path / "pa.tif"))
    assert [_px(loaded, 0, 0), _px(loaded, 1, 0)] == [(255, 255, 255), (255, 0, 0)]


def test_mode_cmyk_tiff_round_trip_exact(tmp_path):
    arr = np.random.default_rng(2).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    loaded = load_image(_save(Image.fromarray(arr).convert("CMYK"), tmp_path / "cmyk.tif"))
    np.testing.assert_array_equal(loaded.rgb, arr)


def test_mode_cmyk_jpeg_round_trip_close(tmp_path):
    arr = np.zeros((32, 32, 3), np.uint8)
    arr[:, :16] = (200, 40, 90)
    arr[:, 16:] = (30, 160, 220)
    path = _save(Image.fromarray(arr).convert("CMYK"), tmp_path / "cmyk.jpg", quality=95)
    loaded = load_image(path)
    # compare block interiors (JPEG blurs the edge)
    for x in (4, 27):
        assert np.abs(loaded.rgb[16, x].astype(int) - arr[16, x]).max() <= 6


def test_mode_ycbcr_tiff_round_trip_close(tmp_path):
    arr = np.random.default_rng(3).integers(0, 256, (4, 4, 3), dtype=np.uint8)
    loaded = load_image(_save(Image.fromarray(arr).convert("YCbCr"), tmp_path / "ycc.tif"))
    assert np.abs(loaded.rgb.astype(int) - arr).max() <= 3


def test_mode_lab_tiff_white_and_black(tmp_path):
    im = Image.new("LAB", (2, 1), (255, 128, 128))  # L=100, a=b=0: white
    im.putpixel((1, 0), (0, 128, 128))              # L=0: black
    loaded = load_image(_save(im, tmp_path / "lab.tif"))
    assert min(_px(loaded, 0, 0)) >= 250 and max(_px(loaded, 1, 0)) <= 5


@pytest.mark.parametrize("mode, suffix", [("I;16", ".png"), ("I;16", ".tif"), ("I;16B", ".tif")])
def test_16_bit_full_range(tmp_path, mode, suffix):
    values = [0, 1000, 257 * 100, 32768, 65400, 65535]
    im = Image.new(mode, (len(values), 1))
    for x, v in enumerate(values):
        im.putpixel((x, 0), v)
    loaded = load_image(_save(im, tmp_path / f"sixteen{suffix}"))
    assert loaded.rgb.shape == (1, len(values), 3)
    assert [int(v) for v in loaded.rgb[0, :, 0]] == [round(v / 257) for v in values]
    assert np.all(loaded.rgb[..., 0] == loaded.rgb[..., 2])


def test_mode_i_min_max(tmp_path):
    values = np.array([[-100, 0, 300]], dtype=np.int32)
    loaded = load_image(_save(Image.fromarray(values, "I"), tmp_path / "int.tif"))
    expected = np.rint((values - values.min()) * 255 / np.ptp(values))
    np.testing.assert_array_equal(loaded.rgb[..., 1], expected)


def test_mode_i_flat_is_black(tmp_path):
    loaded = load_image(_save(Image.new("I", (3, 2), 123456), tmp_path / "flat.tif"))
    assert not loaded.rgb.any()


def test_mode_f_unit_range_kept(tmp_path):
    values = np.array([[0.0, 0.2, 1.0]], dtype=np.float32)
    loaded = load_image(_save(Image.fromarray(values, "F"), tmp_path / "unit.tif"))
    assert [_px(loaded, x, 0)[0] for x in range(3)] == [0, 51, 255]


def test_mode_f_outside_unit_is_min_max(tmp_path):
    values = np.array([[-1.0, 0.0, 3.0]], dtype=np.float32)
    loaded = load_image(_save(Image.fromarray(values, "F"), tmp_path / "wide.tif"))
    assert [_px(loaded, x, 0)[0] for x in range(3)] == [0, 64, 255]  # 63.75 -> 64


def test_mode_f_flat_outside_unit_is_black(tmp_path):
    loaded = load_image(_save(Image.new("F", (2, 2), 42.5), tmp_path / "flatf.tif"))
    assert not loaded.rgb.any()


# ------------------------------------------- modes no file format stores: straight to _to_rgb
def test_premultiplied_rgba_composites_onto_white():
    im = Image.frombytes("RGBa", (3, 1), bytes([0, 0, 0, 0, 128, 0, 0, 128, 5, 6, 7, 255]))
    out = _to_rgb(im)
    assert out.shape == (1, 3, 3) and out.dtype == np.uint8
    assert tuple(out[0, 0]) == (255, 255, 255)
    assert np.abs(out[0, 1].astype(int) - [255, 127, 127]).max() <= 1
    assert tuple(out[0, 2]) == (5, 6, 7)


def test_premultiplied_la_composites_onto_white():
    im = Image.frombytes("La", (2, 1), bytes([0, 0, 50, 100]))
    out = _to_rgb(im)
    assert tuple(out[0, 0]) == (255, 255, 255)
    assert tuple(out[0, 1]) == (205, 205, 205)  # 50 + (255 - 100)


def test_hsv_matches_colorsys():
    h, s, v = 170, 200, 220
    out = _to_rgb(Image.new("HSV", (1, 1), (h, s, v)))
    expected = [round(c * 255) for c in colorsys.hsv_to_rgb(h / 255, s / 255, v / 255)]
    assert np.abs(out[0, 0].astype(int) - expected).max() <= 1


def test_nan_and_inf_in_float_images():
    # NaN -> smallest finite value, +inf -> largest finite value (here 0.5 in a [0, 1] image)
    arr = np.array([[np.nan, 0.0, 0.5, np.inf, 0.2]], dtype=np.float32)
    out = _to_rgb(Image.fromarray(arr, "F"))[0, :, 0]
    assert [int(v) for v in out] == [0, 0, 128, 128, 51]
    assert not _to_rgb(Image.fromarray(np.full((2, 2), np.nan, np.float32), "F")).any()


# ---------------------------------------------------------------- orientation and frames
def _quadrants(w: int, h: int) -> np.ndarray:
    arr = np.zeros((h, w, 3), np.uint8)
    arr[: h // 2, : w // 2] = (255, 0, 0)
    arr[: h // 2, w // 2:] = (0, 255, 0)
    arr[h // 2:, : w // 2] = (0, 0, 255)
    arr[h // 2:, w // 2:] = (255, 255, 255)
    return arr


def _save_oriented_jpeg(arr: np.ndarray, path: Path, orientation: int) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(arr).save(path, quality=95, exif=exif)
    return path


def _assert_quadrants_match(rgb: np.ndarray, expected: np.ndarray) -> None:
    h, w = expected.shape[:2]
    for y in (h // 4, 3 * h // 4):
        for x in (w // 4, 3 * w // 4):
            assert np.abs(rgb[y, x].astype(int) - expected[y, x]).max() <= 12, (x, y)


def test_exif_orientation_6_rotates(tmp_path):
    stored = _quadrants(60, 40)
    loaded = load_image(_save_oriented_jpeg(stored, tmp_path / "rot6.jpg", 6))
    expected = np.rot90(stored, k=-1)  # orientation 6 = display rotated 90 degrees clockwise
    assert (loaded.width, loaded.height) == (40, 60)
    assert loaded.rgb.shape == (60, 40, 3) and not loaded.reduced
    _assert_quadrants_match(loaded.rgb, expected)


def test_exif_orientation_3_rotates_180(tmp_path):
    stored = _quadrants(40, 30)
    loaded = load_image(_save_oriented_jpeg(stored, tmp_path / "rot3.jpg", 3))
    assert (loaded.width, loaded.height) == (40, 30)
    _assert_quadrants_match(loaded.rgb, np.rot90(stored, k=2))


def test_exif_orientation_with_reduced_decode_reports_rotated_full_size(tmp_path):
    stored = _quadrants(1600, 1200)
    loaded = load_image(_save_oriented_jpeg(stored, tmp_path / "rotbig.jpg", 6), max_side=300)
    assert (loaded.width, loaded.height) == (1200, 1600) and loaded.reduced
    assert loaded.rgb.shape == (300, 225, 3)  # portrait after rotation, longest side = 300
    expected = np.rot90(_quadrants(300, 225), k=-1)  # same layout at the small size
    assert expected.shape == loaded.rgb.shape
    _assert_quadrants_match(loaded.rgb, expected)


def _two_frames(path: Path, **kw) -> None:
    frames = [Image.new("RGB", (8, 6), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0, **kw)
    with Image.open(path) as back:
        assert back.n_frames == 2


@pytest.mark.parametrize("name, kw", [("anim.gif", {}), ("anim.webp", {"lossless": True})])
def test_animated_first_frame(tmp_path, name, kw):
    path = tmp_path / name
    _two_frames(path, **kw)
    loaded = load_image(path)
    _check_contract(loaded, 8, 6)
    assert np.all(loaded.rgb == np.array([255, 0, 0], np.uint8))


# ---------------------------------------------------------------- sizes and names
def test_one_by_one(tmp_path):
    loaded = load_image(_save(Image.new("RGB", (1, 1), (9, 8, 7)), tmp_path / "dot.png"))
    _check_contract(loaded, 1, 1)
    assert _px(loaded, 0, 0) == (9, 8, 7)


def test_long_thin(tmp_path):
    arr = np.zeros((8, 4000, 3), np.uint8)
    arr[:, -1] = 200
    loaded = load_image(_save(Image.fromarray(arr), tmp_path / "strip.png"))
    _check_contract(loaded, 4000, 8)
    np.testing.assert_array_equal(loaded.rgb, arr)


def test_long_thin_with_max_side_keeps_at_least_one_pixel(tmp_path):
    path = _save(Image.new("RGB", (4000, 8), (10, 20, 30)), tmp_path / "strip2.png")
    loaded = load_image(path, max_side=100)
    assert loaded.rgb.shape == (1, 100, 3) and loaded.reduced
    assert (loaded.width, loaded.height) == (4000, 8)
    assert _px(loaded, 50, 0) == (10, 20, 30)


def test_non_ascii_file_name(tmp_path):
    path = _save(Image.new("RGB", (3, 2), (1, 2, 3)), tmp_path / "Kätzchen 猫 ñ.png")
    loaded = load_image(str(path))
    assert loaded.path == str(path) and _px(loaded, 2, 1) == (1, 2, 3)


# ---------------------------------------------------------------- reduced decoding
def _gradient_jpeg(path: Path, w: int, h: int) -> np.ndarray:
    x = np.arange(w, dtype=np.float64) * 255 / (w - 1)
    arr = np.zeros((h, w, 3), np.uint8)
    arr[..., 0] = np.rint(x)[None, :]
    arr[..., 2] = 90
    Image.fromarray(arr).save(path, quality=90)
    return arr


def test_large_jpeg_max_side_uses_draft(tmp_path, monkeypatch):
    path = tmp_path / "big.jpg"
    _gradient_jpeg(path, 3000, 2000)
    drafted = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = real_draft(self, mode, size)
        drafted.append((size, self.size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    loaded = load_image(path, max_side=1024)
    assert loaded.reduced and (loaded.width, loaded.height) == (3000, 2000)
    assert max(loaded.rgb.shape[:2]) <= 1024
    assert loaded.rgb.shape == (round(2000 * 1024 / 3000), 1024, 3)
    # the decoder really worked at a reduced scale, never below the requested size
    (requested, decoded), = drafted
    assert decoded[0] < 3000 and decoded[1] < 2000
    assert decoded[0] >= requested[0] >= 1024 and decoded[1] >= requested[1] >= 683
    # content still matches the gradient: column x of the output ~ x * 255 / 1023
    for x in (100, 512, 900):
        assert abs(int(loaded.rgb[341, x, 0]) - x * 255 / 1023) <= 4
    assert abs(int(loaded.rgb[341, 512, 2]) - 90) <= 4


def test_max_side_not_needed_keeps_full_image(tmp_path):
    path = _save(Image.new("RGB", (50, 30), (5, 5, 5)), tmp_path / "small.png")
    loaded = load_image(path, max_side=64)
    _check_contract(loaded, 50, 30)


def test_max_side_png_is_resized(tmp_path):
    arr = np.zeros((300, 400, 3), np.uint8)
    arr[:, :200] = (250, 0, 0)
    loaded = load_image(_save(Image.fromarray(arr), tmp_path / "wide.png"), max_side=100)
    assert loaded.rgb.shape == (75, 100, 3) and loaded.reduced
    assert (loaded.width, loaded.height) == (400, 300)
    assert _px(loaded, 10, 30) == (250, 0, 0) and _px(loaded, 90, 30) == (0, 0, 0)


def test_bad_max_side_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError):
        load_image(tmp_path / "whatever.png", max_side=0)


# ---------------------------------------------------------------- failures
def _load_error(path, *words) -> str:
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    message = str(info.value)
    name = os.path.basename(os.path.normpath(str(path)))
    assert "\n" not in message and "\r" not in message
    assert f"'{name}'" in message, message
    assert "Traceback" not in message
    for word in words:
        assert word in message, message
    return message


def test_missing_file(tmp_path):
    _load_error(tmp_path / "photo.jpg", "no such file")


def test_path_through_a_file_is_missing(tmp_path):
    parent = _save(Image.new("RGB", (2, 2)), tmp_path / "real.png")
    _load_error(parent / "child.png", "no such file")


def test_folder(tmp_path):
    folder = tmp_path / "holiday.jpg"
    folder.mkdir()
    _load_error(folder, "folder")


def test_zero_bytes(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    _load_error(path, "empty")


def test_text_renamed_to_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("just some notes\n" * 20)
    _load_error(path, "not an image")


def test_html_renamed_to_png(tmp_path):
    path = tmp_path / "page.png"
    path.write_text("<!DOCTYPE html><html><head><title>x</title></head><body>hi</body></html>")
    _load_error(path, "not an image")


def test_truncated_jpeg(tmp_path):
    full = tmp_path / "full.jpg"
    Image.fromarray(np.random.default_rng(4).integers(0, 256, (64, 64, 3), np.uint8)).save(full)
    cut = tmp_path / "cut.jpg"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    _load_error(cut, "truncated")


def test_truncated_png(tmp_path):
    full = tmp_path / "full.png"
    Image.fromarray(np.random.default_rng(5).integers(0, 256, (64, 64, 3), np.uint8)).save(full)
    cut = tmp_path / "cut.png"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    _load_error(cut, "truncated")


def _png_with_flipped_byte(tmp_path: Path, chunk: bytes, offset_in_data) -> Path:
    arr = np.random.default_rng(6).integers(0, 256, (32, 32, 3), np.uint8)
    good = tmp_path / "good.png"
    Image.fromarray(arr).save(good)
    data = bytearray(good.read_bytes())
    at = data.find(chunk)
    length = struct.unpack(">I", data[at - 4: at])[0]
    data[at + 4 + offset_in_data(length)] ^= 0xFF
    bad = tmp_path / "bad.png"
    bad.write_bytes(bytes(data))
    return bad


def test_png_with_corrupt_idat(tmp_path):
    bad = _png_with_flipped_byte(tmp_path, b"IDAT", lambda n: n // 2)
    _load_error(bad, "corrupt")


def test_png_with_corrupt_header_is_not_called_a_non_image(tmp_path):
    bad = _png_with_flipped_byte(tmp_path, b"IHDR", lambda n: 2)
    message = _load_error(bad, "PNG", "corrupt")
    assert "not an image" not in message


def test_unsupported_bmp_compression(tmp_path):
    good = _save(Image.new("RGB", (4, 4)), tmp_path / "good.bmp")
    data = bytearray(good.read_bytes())
    data[30:34] = struct.pack("<I", 9)  # biCompression: a value no decoder knows
    bad = tmp_path / "odd.bmp"
    bad.write_bytes(bytes(data))
    _load_error(bad, "unsupported")


def test_unconvertible_mode_is_unsupported(tmp_path, monkeypatch):
    path = _save(Image.new("LAB", (2, 2)), tmp_path / "lab.tif")
    real_convert = Image.Image.convert

    def refuse(self, mode=None, *args, **kw):
        if self.mode == "LAB":
            raise ValueError("conversion from LAB to RGB not supported")
        return real_convert(self, mode, *args, **kw)

    monkeypatch.setattr(Image.Image, "convert", refuse)
    _load_error(path, "unsupported", "LAB")


def test_decompression_bomb(tmp_path, monkeypatch):
    path = _save(Image.new("RGB", (100, 100)), tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 10 000 px > 2x limit -> error
    _load_error(path, "too large")


def test_unreadable_file(tmp_path, monkeypatch):
    path = _save(Image.new("RGB", (2, 2)), tmp_path / "secret.png")
    real_open = builtins.open

    def guarded_open(file, *args, **kw):
        if os.fspath(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *args, **kw)

    monkeypatch.setattr(builtins, "open", guarded_open)
    _load_error(path, "permission denied")


def test_no_file_handles_leak(tmp_path):
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        pytest.skip("needs /proc")
    gif = tmp_path / "a.gif"
    _two_frames(gif)
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    cut = tmp_path / "cut.png"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(cut)
    cut.write_bytes(cut.read_bytes()[:60])
    before = len(os.listdir(fd_dir))
    for _ in range(5):
        load_image(gif)
        for p in (bad, cut):
            with pytest.raises(ImageLoadError):
                load_image(p)
    assert len(os.listdir(fd_dir)) == before
