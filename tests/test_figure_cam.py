"""The figure's row 4 (the top-1 class's Grad-CAM and the channels that contribute most) and its colour rule.

Pixels are checked against a composition written here (bilinear sampling, the
colormap's table, opacity = value); the numbers against contributions computed
here, from a Cam built by hand and from an independent autograd pass through a
plain torchvision VGG16 for the CLI's figure; the window's figure against
``session.top_cam``.
"""
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from test_figure import _data, _region
from widgets import figure
from widgets.colormaps import lut
from widgets.figure import CamPanel, cam_overlay_image, panel_rects, write_figure
from widgets.figure_scale import map_scale

SVG_NS = "{http://www.w3.org/2000/svg}"


def _svg_text(path) -> str:
    root = ET.parse(path).getroot()
    return " ".join(" ".join(t.itertext()) for t in root.iter(f"{SVG_NS}text"))


def _same_bins(rgb, table, idx) -> bool:
    """Every pixel is ``table[idx]`` or a neighbouring bin's colour (float32 rounding at bin edges)."""
    rgb = rgb.astype(int)
    near = [np.abs(rgb - table[np.clip(idx + k, 0, 255)].astype(int)).max(axis=-1) == 0 for k in (-1, 0, 1)]
    exact = near[1].mean()
    return bool(np.logical_or.reduce(near).all() and exact > 0.95)


def _index(v):
    """pyqtgraph's 256 equal bins over 0..1."""
    return np.clip(np.floor(np.asarray(v, np.float64) * 256), 0, 255).astype(np.intp)


def _blob(h=14, w=14, cy=4.0, cx=9.0, s=2.5):
    """A trained-looking CAM: one strong spot, exactly 0 far from it, max 1."""
    yy, xx = np.mgrid[0:h, 0:w]
    g = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    return (np.clip(g - 0.05, 0, None) / 0.95).astype(np.float32)


def _panel(heat, channels=None):
    rng = np.random.default_rng(0)
    channels = channels if channels is not None else [
        (int(c), float(w), float(k), np.maximum(rng.standard_normal((14, 14)), 0).astype(np.float32))
        for c, w, k in [(7, 0.02, 0.4), (3, 0.01, -0.3), (11, 0.03, 0.2), (0, -0.01, -0.1), (5, 0.005, 0.05)]]
    return CamPanel("tabby, tabby cat", "relu5_3 (features.29)", "Grad-CAM", heat, (0.0, 2.5), channels)


def test_cam_overlay_is_the_bilinear_map_coloured_from_0_with_opacity_equal_to_value(qapp):
    rng = np.random.default_rng(4)
    photo = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    heat = rng.random((7, 7)).astype(np.float32)
    heat[0, 0], heat[3, 3] = 0.0, 1.0
    out = cam_overlay_image(photo, heat, (10, 5, 42, 49))

    up = np.asarray(Image.fromarray(heat, mode="F").resize((42, 49), Image.Resampling.BILINEAR))
    colour = lut("viridis")[_index(up)].astype(np.float32)
    a = up[..., None]
    want = photo.astype(np.float32)
    want[5:54, 10:52] = want[5:54, 10:52] * (1 - a) + colour * a
    assert np.abs(out.astype(np.float32) - want).max() <= 1.5
    outside = np.ones(photo.shape[:2], bool)
    outside[5:54, 10:52] = False
    assert np.array_equal(out[outside], photo[outside])
    # transparent where the map is 0: the photo itself in the corner cell's centre
    assert np.array_equal(out[5, 10], photo[5, 10])


def _sample(heat, u, v, rect):
    """The map's bilinear value at photo point (u, v) for a map laid on ``rect`` (pixel centres)."""
    x, y, w, h = rect
    hh, hw = heat.shape
    hx = np.clip((u - x) / w * hw - 0.5, 0, hw - 1)
    hy = np.clip((v - y) / h * hh - 0.5, 0, hh - 1)
    x0, y0 = int(np.floor(hx)), int(np.floor(hy))
    x1, y1 = min(x0 + 1, hw - 1), min(y0 + 1, hh - 1)
    fx, fy = hx - x0, hy - y0
    top = heat[y0, x0] * (1 - fx) + heat[y0, x1] * fx
    bottom = heat[y1, x0] * (1 - fx) + heat[y1, x1] * fx
    return float(top * (1 - fy) + bottom * fy)


def test_cam_panel_pixels_are_the_composition_on_the_photo(qapp, cat_path, tmp_path):
    d = _data(cat_path, pretrained=True)
    H, W = 300, 400
    yy, xx = np.mgrid[0:H, 0:W]
    d.photo = np.stack([xx * 255 / W, yy * 255 / H, np.full_like(xx, 128)], -1).astype(np.uint8)  # smooth
    d.overlay_rect = (50.0, 0.0, 300.0, 300.0)
    d.cam = _panel(_blob())
    img = Image.open(write_figure(d, tmp_path / "fig.png")).convert("RGB")
    px = np.asarray(img, np.float32)
    box = panel_rects(d)["cam"]
    s = figure.PNG_SCALE
    table = lut("viridis").astype(np.float32)
    checked = {"peak": 0, "slope": 0, "zero": 0, "outside": 0}
    # photo points: the spot's centre cell, its slope, a cell where the map is 0, and outside the crop
    for name, (u, v) in {"peak": (50 + 9.5 / 14 * 300, 4.5 / 14 * 300), "slope": (50 + 7.5 / 14 * 300, 5.5 / 14 * 300),
                         "zero": (50 + 2.5 / 14 * 300, 12.5 / 14 * 300), "outside": (20.0, 150.0)}.items():
        X = round((box.left() + u / W * box.width()) * s)
        Y = round((box.top() + v / H * box.height()) * s)
        got = px[Y - 1:Y + 2, X - 1:X + 2].mean(axis=(0, 1))
        photo = np.array([u * 255 / W, v * 255 / H, 128], np.float32)
        a = _sample(d.cam.heat, u, v, d.overlay_rect) if name != "outside" else 0.0
        want = photo * (1 - a) + table[_index(a)] * a
        assert np.abs(got - want).max() < 10, (name, got, want, a)
        checked[name] = a
    assert checked["peak"] > 0.95 and 0.2 < checked["slope"] < 0.8 and checked["zero"] == 0
    # and the test can tell: a flat 60 % blend would be far off where the map is 0
    zero_u, zero_v = 50 + 2.5 / 14 * 300, 12.5 / 14 * 300
    flat = np.array([zero_u * 255 / W, zero_v * 255 / H, 128]) * 0.4 + table[0] * 0.6
    X = round((box.left() + zero_u / W * box.width()) * s)
    Y = round((box.top() + zero_v / H * box.height()) * s)
    assert np.abs(px[Y, X] - flat).max() > 30
    # the CAM's colour bar runs 1 (top, viridis' top colour) to 0
    bar = _region(img, panel_rects(d)["cam_colorbar"], inset=3)
    assert np.abs(bar[0].mean(axis=0) - table[255]).max() < 12
    assert np.abs(bar[-1].mean(axis=0) - table[0]).max() < 12


def _hand_cam(rng, c=12, h=6, w=5):
    """A Cam made from A and w written here: raw = ReLU(Σ w_k A_k), contributions w_k · mean A_k."""
    from inference.cam import Cam

    acts = np.maximum(rng.standard_normal((c, h, w)), 0).astype(np.float32)
    weights = rng.standard_normal(c).astype(np.float32) * 0.1
    signed = np.tensordot(weights, acts, axes=1)
    contributions = weights * acts.mean(axis=(1, 2))
    cam = Cam("features.29", "gradcam", "tabby", 281, np.maximum(signed, 0).astype(np.float32),
              signed.astype(np.float32), weights, contributions.astype(np.float32))
    return cam, acts, weights, contributions


def _layer(name, alias, acts):
    from inference.capture import LayerSpec
    from inference.layer_output import LayerOutput

    return LayerOutput(LayerSpec(name, alias, "ReLU", 0, name.split(".")[0]), acts, 29, 0.0)


def test_figure_data_takes_the_5_largest_contributions_with_their_channels(qapp):
    from app.figure_data import cam_panel

    rng = np.random.default_rng(11)
    cam, acts, weights, contributions = _hand_cam(rng)
    panel = cam_panel(cam, _layer("features.29", "relu5_3", acts))
    order = sorted(range(len(contributions)), key=lambda k: -abs(float(contributions[k])))[:5]
    assert [ch for ch, *_ in panel.channels] == order
    for (ch, w, k, fmap), want in zip(panel.channels, order):
        assert w == pytest.approx(float(weights[want]), rel=1e-6)
        assert k == pytest.approx(float(contributions[want]), rel=1e-5)
        np.testing.assert_array_equal(fmap, acts[want])
    raw = np.maximum(np.tensordot(weights, acts, axes=1), 0)
    np.testing.assert_allclose(panel.heat, (raw - raw.min()) / (raw.max() - raw.min()), atol=1e-6)
    assert panel.raw_range == pytest.approx((float(raw.min()), float(raw.max())), rel=1e-5)
    assert panel.layer == "relu5_3 (features.29)" and panel.method == "Grad-CAM" and panel.label == "tabby"
    assert panel.title == "Grad-CAM of \u201ctabby\u201d at relu5_3 (features.29)"
    # without the layer's output the numbers stay, the thumbnails are n/a
    bare = cam_panel(cam, None)
    assert [r[:3] for r in bare.channels] == [r[:3] for r in panel.channels] and all(r[3] is None for r in bare.channels)
    assert cam_panel(None) is None


def test_the_panel_reads_in_svg_and_pdf_and_says_n_a_without_a_cam(qapp, cat_path, tmp_path):
    d = _data(cat_path, pretrained=True)
    d.cam = _panel(_blob())
    text = _svg_text(write_figure(d, tmp_path / "fig.svg"))
    assert d.cam.title in text and "the top-1 class" in text
    for ch, w, k, _ in d.cam.channels:
        assert f"#{ch}" in text
    assert "+0.400" in text and "\u22120.300" in text  # one format for the column: 3 digits of the largest
    assert "normalised: 0 = min, 1 = max of this map" in text  # the CAM's bar: range and what it spans
    assert f"one scale shared by the {len(d.top_channels)} maps" in text  # row 2's bar
    assert "one scale shared by the 5 channels" in text
    root = ET.parse(tmp_path / "fig.svg").getroot()
    n_images = len(list(root.iter(f"{SVG_NS}image")))
    pdf = write_figure(d, tmp_path / "fig.pdf").read_bytes()
    assert pdf.rstrip().endswith(b"%%EOF") and pdf.count(b"/Subtype /Image") >= 6 + len(d.top_channels) + 1 + 5

    d.cam = None
    text = _svg_text(write_figure(d, tmp_path / "none.svg"))
    assert "Grad-CAM not computed" in text and text.count("n/a") >= 2
    assert len(list(ET.parse(tmp_path / "none.svg").getroot().iter(f"{SVG_NS}image"))) == n_images - 8  # the CAM, its bar, 5 maps, theirs


def test_svg_draws_the_cam_where_the_png_does(qapp, cat_path, tmp_path):
    """Rasterise the SVG with Qt's renderer: the CAM panel matches the PNG's."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    from widgets.qimage import qimage_to_rgb

    d = _data(cat_path, pretrained=True)
    d.cam = _panel(_blob())
    size = figure.figure_size(d)
    renderer = QSvgRenderer(str(write_figure(d, tmp_path / "fig.svg")))
    assert renderer.isValid()
    image = QImage(size.width(), size.height(), QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    renderer.render(painter, QRectF(0, 0, size.width(), size.height()))
    painter.end()
    svg = qimage_to_rgb(image).astype(np.float32)
    png = Image.open(write_figure(d, tmp_path / "fig.png")).convert("RGB").resize((size.width(), size.height()),
                                                                                  Image.Resampling.BOX)
    r = panel_rects(d)["cam"].adjusted(3, 3, -3, -3)
    box = (round(r.left()), round(r.top()), round(r.right()), round(r.bottom()))
    a = svg[box[1]:box[3], box[0]:box[2]]
    b = np.asarray(png, np.float32)[box[1]:box[3], box[0]:box[2]]
    assert a.std() > 10 and np.abs(a - b).mean() < 6


# ----------------------------------------------------------------------------- the colour rule


@pytest.mark.parametrize("chosen, lo, hi, want", [
    ("auto", -0.5, 2.0, ("CET-D1", -2.0, 2.0)),     # signed: diverging, centred on 0
    (None, -3.0, 1.0, ("CET-D1", -3.0, 3.0)),
    ("auto", 0.2, 2.0, ("viridis", 0.0, 2.0)),      # ≥ 0: viridis from 0
    ("auto", 0.0, 0.0, ("viridis", 0.0, 0.0)),
    ("inferno", 0.5, 4.0, ("inferno", 0.0, 4.0)),   # a chosen map is kept, from 0 for a ≥ 0 map
    ("inferno", -1.0, 4.0, ("inferno", -1.0, 4.0)),
    ("CET-D1", 0.5, 4.0, ("CET-D1", -4.0, 4.0)),    # a chosen diverging map is still centred
])
def test_map_scale_rule(chosen, lo, hi, want):
    assert tuple(map_scale(chosen, lo, hi)) == pytest.approx(want) and map_scale(chosen, lo, hi)[0] == want[0]


def test_auto_figure_colours_signed_maps_diverging_and_positive_maps_from_0(qapp, cat_path, monkeypatch):
    d = _data(cat_path, n=3)
    d.colormap = "auto"
    d.top_channels = [(i, f - 0.4, float((f - 0.4).mean())) for i, f, _ in d.top_channels]  # conv-like: signed
    lo = min(float(f.min()) for _, f, _ in d.top_channels)
    hi = max(float(f.max()) for _, f, _ in d.top_channels)
    d.levels = (lo, hi)
    drawn = []
    real = figure._draw_rgb
    monkeypatch.setattr(figure, "_draw_rgb", lambda p, rgb, box, **kw: (drawn.append(rgb), real(p, rgb, box, **kw))[1])
    figure.render_figure(d, ".png")
    m = max(abs(lo), abs(hi))
    table = lut("CET-D1")
    for k, (_, fmap, _) in enumerate(d.top_channels):
        idx = np.clip(np.floor((fmap.astype(np.float64) + m) / (2 * m) * 256), 0, 255).astype(np.intp)
        assert _same_bins(drawn[5 + k], table, idx)
        zero = np.abs(fmap) < m / 256
        if zero.any():  # zero is the neutral middle
            assert (np.abs(drawn[5 + k][zero].astype(int) - table[128].astype(int)) <= 12).all()
    # the demo channels are signed too: centred on 0 over their shared range
    chans = d.demo_channels
    m = float(np.abs(chans).max())
    idx = np.clip(np.floor((chans[0].astype(np.float64) + m) / (2 * m) * 256), 0, 255).astype(np.intp)
    assert _same_bins(drawn[2], table, idx)


# ----------------------------------------------------------------------------- atomic with the new row


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_a_failure_in_the_cam_row_leaves_no_file(qapp, cat_path, tmp_path, monkeypatch, suffix):
    from widgets import figure_cam

    d = _data(cat_path)
    d.cam = _panel(_blob())
    old = tmp_path / f"old{suffix}"
    old.write_bytes(b"previous figure")
    monkeypatch.setattr(figure_cam, "cam_overlay_image", lambda *a, **k: (_ for _ in ()).throw(MemoryError("no")))
    with pytest.raises(MemoryError):
        write_figure(d, old)
    assert old.read_bytes() == b"previous figure" and [p.name for p in tmp_path.iterdir()] == [old.name]
