"""The export figure: PNG/SVG/PDF files reopened and checked, and all-or-nothing writing."""
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from widgets import figure
from widgets.atomic_write import atomic_target, write_bytes_atomic
from widgets.colormaps import lut
from widgets.figure import FigureData, figure_size, overlay_image, panel_rects, write_figure

ROOT = Path(__file__).resolve().parents[1]
SVG_NS = "{http://www.w3.org/2000/svg}"
LABELS = ["tabby, tabby cat", "tiger cat", "Egyptian cat", "lynx, catamount", "jack-o'-lantern & <co>"]


def _smooth(rng, h, w):
    """A smooth, non-negative random map (coarse noise upsampled), like a ReLU feature map."""
    coarse = rng.standard_normal((4, 4)).astype(np.float32)
    fine = np.asarray(Image.fromarray(coarse, mode="F").resize((w, h), Image.Resampling.BILINEAR))
    return np.maximum(fine, 0).astype(np.float32)


def _data(cat_path, *, n=12, pretrained=False, predictions=True, cat_vs_dog=True) -> FigureData:
    rng = np.random.default_rng(7)
    photo = np.asarray(Image.open(cat_path).convert("RGB"))
    h, w = photo.shape[:2]
    chans = np.stack([_smooth(rng, h, w) - 0.3 for _ in range(3)]).astype(np.float32)
    demo = np.clip(np.moveaxis(chans, 0, -1) * 255, 0, 255).astype(np.uint8)
    tops = [(int(i * 37 % 512), _smooth(rng, 14, 14) + 0.05 * i, 0.0) for i in range(n)]
    tops = sorted(((i, f, float(f.mean())) for i, f, _ in tops), key=lambda t: -t[2])
    hi = max((float(f.max()) for _, f, _ in tops), default=1.0)
    side = min(h, w)
    preds = [{"index": 281 + k, "label": lab, "prob": p, "logit": 9.0 - k}
             for k, (lab, p) in enumerate(zip(LABELS, [0.41, 0.30, 0.18, 0.03, 0.01]))]
    return FigureData(
        title="cat.png — VGG16 (untrained, random weights)",
        photo=photo, demo_output=demo, demo_channels=chans,
        demo_caption="nn.Conv2d(3,3,3,1,1), preset sobel_x",
        layer_name="features.28 (conv5_3)",
        top_channels=tops, levels=(0.0, hi),
        overlay_fmap=tops[0][1] if tops else np.zeros((14, 14), np.float32),
        overlay_rect=((w - side) / 2, (h - side) / 2, side, side),
        overlay_label="channel over the photo",
        predictions=preds if predictions else [],
        cat_vs_dog={"cat": 0.9, "dog": 0.1} if cat_vs_dog else None,
        pretrained=pretrained,
    )


@pytest.fixture
def data(qapp, cat_path):
    return _data(cat_path)


def _svg_text(path) -> tuple[ET.Element, str]:
    root = ET.parse(path).getroot()
    return root, " ".join(" ".join(t.itertext()) for t in root.iter(f"{SVG_NS}text"))


def _region(img: Image.Image, rect, inset: int = 4) -> np.ndarray:
    """The PNG pixels under a logical-px rect (scaled by PNG_SCALE), inset to skip frames."""
    s = figure.PNG_SCALE
    box = (round(rect.left() * s) + inset, round(rect.top() * s) + inset,
           round(rect.right() * s) - inset, round(rect.bottom() * s) - inset)
    return np.asarray(img.crop(box), dtype=np.float32)


# ----------------------------------------------------------------------------- PNG


def test_png_reopens_with_the_photo_and_overlay_where_expected(data, tmp_path):
    out = write_figure(data, tmp_path / "fig.png")
    assert out == (tmp_path / "fig.png").absolute()
    with Image.open(out) as img:
        img.verify()
    img = Image.open(out)
    img.load()
    size = figure_size(data)
    assert img.format == "PNG"
    assert img.size == (size.width() * figure.PNG_SCALE, size.height() * figure.PNG_SCALE)
    img = img.convert("RGB")

    rects = panel_rects(data)
    # The photo panel looks like the photo: compare both at a coarse common size.
    drawn = _region(img, rects["photo"])
    small = (32, 21)
    want = np.asarray(Image.fromarray(data.photo).resize(small, Image.Resampling.BOX), dtype=np.float32)
    got = np.asarray(Image.fromarray(drawn.astype(np.uint8)).resize(small, Image.Resampling.BOX), dtype=np.float32)
    flipped = want[:, ::-1]
    assert np.abs(got - want).mean() < 10  # only the thin crop outline differs
    assert np.abs(got - flipped).mean() > np.abs(got - want).mean() + 10  # and the test can tell

    # The overlay is a picture, not a flat fill; the top-1 channel tile shows its colours.
    overlay = _region(img, rects["overlay"])
    assert overlay.std(axis=(0, 1)).mean() > 10
    tile = _region(img, rects["channel_0"], inset=6)
    assert tile.std(axis=(0, 1)).mean() > 5
    # The colour bar runs from the colormap's top colour (top) to its bottom colour.
    bar = _region(img, rects["colorbar"], inset=3)
    table = lut(data.colormap).astype(np.float32)
    assert np.abs(bar[0].mean(axis=0) - table[255]).max() < 12
    assert np.abs(bar[-1].mean(axis=0) - table[0]).max() < 12
    # White page, not a transparent or black one.
    assert tuple(img.getpixel((2, 2))) == (255, 255, 255)


def test_paint_figure_scales_uniformly_into_another_size(data, tmp_path):
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QColor, QImage, QPainter

    from widgets.qimage import qimage_to_rgb

    size = figure_size(data)
    half = QSize(size.width() // 2, size.height() // 2)
    image = QImage(half, QImage.Format.Format_RGB32)
    image.fill(QColor("black"))
    painter = QPainter(image)
    figure.paint_figure(painter, data, half)
    painter.end()
    small = qimage_to_rgb(image).astype(np.float32)

    full = Image.open(write_figure(data, tmp_path / "fig.png")).convert("RGB")
    reference = np.asarray(full.resize((half.width(), half.height()), Image.Resampling.BOX), dtype=np.float32)
    assert np.abs(small - reference).mean() < 6


# ----------------------------------------------------------------------------- SVG


def test_svg_is_xml_with_embedded_images_and_real_text(data, tmp_path):
    out = write_figure(data, tmp_path / "fig.svg")
    root, text = _svg_text(out)
    assert root.tag == f"{SVG_NS}svg"
    size = figure_size(data)
    assert root.get("viewBox").split() == ["0", "0", str(size.width()), str(size.height())]
    assert root.find(f"{SVG_NS}title").text == data.title
    # photo, demo output, 3 demo channels, every top channel, colour bar, overlay: all raster
    images = list(root.iter(f"{SVG_NS}image"))
    assert len(images) >= 6 + len(data.top_channels)
    assert all("base64" in (im.get("{http://www.w3.org/1999/xlink}href") or im.get("href") or "") for im in images)
    assert len(list(root.iter(f"{SVG_NS}rect"))) < 200  # no per-pixel rectangles
    for label in LABELS:  # including one with ' & < that must be escaped
        assert label in text
    assert f"#{data.top_channels[0][0]}" in text
    assert "predictions are meaningless" in text


def test_warning_only_for_an_untrained_model_and_empty_parts_still_render(qapp, cat_path, tmp_path):
    trained = _data(cat_path, n=0, pretrained=True, predictions=False, cat_vs_dog=False)
    _, text = _svg_text(write_figure(trained, tmp_path / "trained.svg"))
    assert "meaningless" not in text
    assert "no channels" in text and "no predictions" in text
    untrained = _data(cat_path, n=0, pretrained=False, predictions=False, cat_vs_dog=False)
    _, text = _svg_text(write_figure(untrained, tmp_path / "untrained.svg"))
    assert "untrained model" in text and "meaningless" in text


# ----------------------------------------------------------------------------- PDF


def test_pdf_is_complete_and_sized_like_the_figure(data, tmp_path):
    out = write_figure(data, tmp_path / "fig.pdf")
    raw = out.read_bytes()
    assert raw.startswith(b"%PDF-")
    assert raw.rstrip().endswith(b"%%EOF")
    assert len(raw) > 50_000  # the rasters are embedded
    # The page is the figure at 96 logical px per inch (72 pt per inch).
    import re

    box = re.search(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", raw)
    assert box is not None
    w, h = float(box.group(3)) - float(box.group(1)), float(box.group(4)) - float(box.group(2))
    size = figure_size(data)
    assert w == pytest.approx(size.width() * 72 / 96, abs=1)
    assert h == pytest.approx(size.height() * 72 / 96, abs=1)


def test_pdf_contains_the_prediction_text(data, tmp_path):
    out = write_figure(data, tmp_path / "fig.pdf")
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext is not installed")
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    for label in LABELS[:4]:
        assert label in text
    assert "meaningless" in text


# ----------------------------------------------------------------------------- errors, atomicity


@pytest.mark.parametrize("name", ["fig.jpg", "fig", "fig.png.txt"])
def test_unknown_format_is_a_value_error_and_writes_nothing(data, tmp_path, name):
    with pytest.raises(ValueError, match="png"):
        write_figure(data, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_or_file_as_folder_is_a_clear_os_error(data, tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        write_figure(data, tmp_path / "nope" / "fig.png")
    assert list(tmp_path.iterdir()) == []

    blocker = tmp_path / "notadir"
    blocker.write_bytes(b"keep me")
    with pytest.raises(OSError, match="not a folder") as info:
        write_figure(data, blocker / "fig.svg")
    assert "\n" not in str(info.value)
    assert blocker.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notadir"]


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_failure_while_painting_leaves_no_file_and_keeps_the_old_one(data, tmp_path, monkeypatch, suffix):
    def boom(painter, data, size):
        raise RuntimeError("painting failed")

    monkeypatch.setattr(figure, "paint_figure", boom)
    with pytest.raises(RuntimeError, match="painting failed"):
        write_figure(data, tmp_path / f"new{suffix}")
    assert list(tmp_path.iterdir()) == []

    old = tmp_path / f"old{suffix}"
    old.write_bytes(b"previous figure")
    with pytest.raises(RuntimeError):
        write_figure(data, old)
    assert old.read_bytes() == b"previous figure"
    assert [p.name for p in tmp_path.iterdir()] == [old.name]


def test_overwrite_false_refuses_an_existing_file(data, tmp_path):
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        write_figure(data, target, overwrite=False)
    assert target.read_bytes() == b"old"
    write_figure(data, target)  # the default overwrites
    assert target.read_bytes().startswith(b"\x89PNG")


def test_atomic_target_cleans_up_a_half_written_temp_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"good")
    seen = {}
    with pytest.raises(KeyError):
        with atomic_target(target) as tmp:
            seen["tmp"] = tmp
            assert tmp.parent == tmp_path and tmp.suffix == ".bin" and tmp != target
            tmp.write_bytes(b"half")
            raise KeyError("interrupted")
    assert not seen["tmp"].exists()
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_write_bytes_atomic_replaces_with_normal_permissions(tmp_path):
    target = tmp_path / "out.bin"
    assert write_bytes_atomic(target, b"abc") == target.absolute()
    assert target.read_bytes() == b"abc"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    write_bytes_atomic(target, b"")
    assert target.read_bytes() == b""
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_read_only_folder_is_a_permission_error(data, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="not writable"):
            write_figure(data, folder / "fig.pdf")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


# ----------------------------------------------------------------------------- pieces


def test_overlay_blends_a_bilinear_upsampling_inside_the_rect_only(qapp):
    rng = np.random.default_rng(3)
    photo = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    fmap = rng.random((7, 7)).astype(np.float32)
    rect, alpha = (10, 5, 42, 49), 0.6
    out = overlay_image(photo, fmap, rect, (0.0, 1.0), "viridis", alpha)

    up = np.asarray(Image.fromarray(fmap, mode="F").resize((42, 49), Image.Resampling.BILINEAR))
    # pyqtgraph ImageItem's convention, as in the app's overlay: 256 equal bins over the levels 0..1
    colour = lut("viridis")[np.clip(np.floor(up * 256), 0, 255).astype(np.uint8)].astype(np.float32)
    want = photo.astype(np.float32)
    want[5:54, 10:52] = want[5:54, 10:52] * (1 - alpha) + colour * alpha
    assert np.abs(out.astype(np.float32) - want).max() <= 1.5
    outside = np.ones(photo.shape[:2], bool)
    outside[5:54, 10:52] = False
    assert np.array_equal(out[outside], photo[outside])


@pytest.mark.parametrize("cmap", ["viridis", "CET-D1"])
def test_overlay_by_value_lets_the_photo_through_where_the_map_is_low(qapp, cmap):
    """The window's default blend: each pixel's opacity is alpha × its value's own (sequential: the
    bin / 255; diverging: the distance of the bin from the neutral middle)."""
    rng = np.random.default_rng(4)
    photo = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    fmap = (rng.random((5, 5)).astype(np.float32) * 2 - 1) if cmap == "CET-D1" else rng.random((5, 5)).astype(np.float32)
    lo, hi = (-1.0, 1.0) if cmap == "CET-D1" else (0.0, 1.0)
    out = overlay_image(photo, fmap, (0, 0, 40, 40), (lo, hi), cmap, 0.8, "value")
    up = np.asarray(Image.fromarray(fmap, mode="F").resize((40, 40), Image.Resampling.BILINEAR))
    idx = np.clip(np.floor((up - lo) / (hi - lo) * 256), 0, 255)
    own = np.abs(idx - 127.5) / 127.5 if cmap == "CET-D1" else idx / 255
    a = (0.8 * np.round(own * 255) / 255)[..., None]
    colour = lut(cmap)[idx.astype(np.uint8)].astype(np.float32)
    want = photo.astype(np.float32) * (1 - a) + colour * a
    assert np.abs(out.astype(np.float32) - want).max() <= 2.5
    flat = overlay_image(photo, fmap, (0, 0, 40, 40), (lo, hi), cmap, 0.8, "flat")
    assert np.abs(out.astype(int) - flat.astype(int)).max() > 20  # the two blends differ where it is low


def test_overlay_rect_sticking_out_of_the_photo_is_clipped(qapp):
    photo = np.full((20, 30, 3), 100, np.uint8)
    out = overlay_image(photo, np.ones((3, 3), np.float32), (-10, -5, 25, 15), (0, 1), "viridis", 1.0)
    top = lut("viridis")[255]
    assert np.array_equal(out[:10, :15], np.broadcast_to(top, (10, 15, 3)))
    assert np.array_equal(out[10:, :], photo[10:, :]) and np.array_equal(out[:, 15:], photo[:, 15:])


def test_headless_export_needs_no_widgets_and_no_torch(tmp_path, cat_path):
    script = f"""
import sys
sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
from PySide6.QtGui import QGuiApplication
app = QGuiApplication([])
from test_figure import _data
from widgets.figure import write_figure
from PySide6.QtWidgets import QApplication
assert QApplication.instance() is None or not isinstance(QApplication.instance(), QApplication)
write_figure(_data({str(cat_path)!r}), {str(tmp_path / 'cli.png')!r})
bad = [m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'inference'))]
print('imported:', bad)
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "imported: []" in res.stdout
    assert (tmp_path / "cli.png").read_bytes().startswith(b"\x89PNG")


# ----------------------------------------------------------------------------- cat vs dog bar


def _bar_classes(img: Image.Image, rect) -> np.ndarray:
    """Along the bar's middle row of PNG pixels, which segment colour each pixel is nearest:
    0 cat, 1 other, 2 dog."""
    s = figure.PNG_SCALE
    y = round(rect.center().y() * s)
    row = np.asarray(img, dtype=np.float32)[y, round(rect.left() * s):round(rect.right() * s)]
    colours = np.array([c.getRgb()[:3] for c in (figure.CAT_COLOR, figure.OTHER_COLOR, figure.DOG_COLOR)],
                       np.float32)
    return np.argmin(((row[:, None, :] - colours[None]) ** 2).sum(-1), axis=1)


@pytest.mark.parametrize("cat, dog", [(0.0, 0.07), (0.9, 0.1), (0.3, 0.2), (0.0, 0.0)])
def test_cat_vs_dog_bar_draws_the_numbers_in_its_text(qapp, cat_path, tmp_path, cat, dog):
    d = _data(cat_path, pretrained=True)
    d.cat_vs_dog = {"cat": cat, "dog": dog}
    _, text = _svg_text(write_figure(d, tmp_path / "fig.svg"))
    assert f"cat {cat * 100:.1f} %" in text and f"dog {dog * 100:.1f} %" in text
    rect = panel_rects(d)["cat_vs_dog"]
    classes = _bar_classes(Image.open(write_figure(d, tmp_path / "fig.png")).convert("RGB"), rect)
    shares = tuple(float((classes == k).mean()) for k in range(3))
    tol = 2.5 / classes.size  # an antialiased edge pixel either way
    assert shares == pytest.approx((cat, 1 - cat - dog, dog), abs=tol)
    assert (np.diff(classes) >= 0).all()  # cat from the left end, dog up to the right end, the rest between
    assert figure.cat_dog_shares(cat, dog) == pytest.approx((cat, 1 - cat - dog, dog))


def test_cat_dog_shares_never_overflow_the_bar():
    assert figure.cat_dog_shares(0.6, 0.6) == pytest.approx((0.5, 0.0, 0.5))
    assert figure.cat_dog_shares(float("nan"), -0.2) == (0.0, 1.0, 0.0)
