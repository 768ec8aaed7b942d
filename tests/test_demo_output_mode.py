"""The demo conv panel: how its output is drawn (wrap, clip, stretch) and its kernel drawn as patches."""
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from widgets.colormaps import colorize
from widgets.demo_conv_panel import DemoConvPanel
from widgets.qimage import qimage_to_rgb

def painted(widget, rect):
    """The widget's painted pixels in ``rect``, one per logical pixel (whatever the screen's density)."""
    image = widget.grab().toImage()
    d = round(image.devicePixelRatio())
    shot = qimage_to_rgb(image)
    return shot[rect.top() * d:(rect.bottom() + 1) * d:d, rect.left() * d:(rect.right() + 1) * d:d]


SOBEL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)


@pytest.fixture
def demo_data(cat_path):
    """The photo, an output computed here with F.conv2d, and its kernel: Sobel filters, so values leave 0..1."""
    import torch
    import torch.nn.functional as F

    rgb = np.asarray(Image.open(cat_path).convert("RGB").resize((120, 80)))
    w = np.zeros((3, 3, 3, 3), np.float32)
    w[0, 0], w[1, 1], w[2, 2] = SOBEL, SOBEL.T, 0.125 * SOBEL
    b = np.array([0.5, 0.5, -0.25], np.float32)
    x = torch.from_numpy(rgb.transpose(2, 0, 1).copy()).float()[None] / 255
    channels = F.conv2d(x, torch.from_numpy(w), torch.from_numpy(b), padding=1)[0].numpy()
    out_rgb = np.clip(channels.transpose(1, 2, 0) * 255, 0, 255).astype(np.uint8)
    return rgb, out_rgb, channels, w, b


@pytest.fixture
def panel(qtbot):
    widget = DemoConvPanel()
    qtbot.addWidget(widget)
    widget.set_presets(["random", "sobel_x", "custom"], "random")
    widget.resize(1000, 600)
    widget.show()
    return widget


# ----------------------------------------------------------------------------- how the output is drawn

def _renderings(channels):
    """The three pictures, computed here as the engine promises (tests/test_demo_conv.py checks the engine)."""
    hwc = channels.transpose(1, 2, 0)
    lo, hi = float(channels.min()), float(channels.max())
    return {"wrap": (hwc * np.float32(255)).astype(np.int64).astype(np.uint8),
            "clip": np.clip(hwc * 255, 0, 255).astype(np.uint8),
            "stretch": np.rint((hwc - lo) / (hi - lo) * 255).astype(np.uint8)}


def test_output_modes_are_the_engines():
    from inference.demo_conv import DEFAULT_OUTPUT_MODE, OUTPUT_MODES
    from widgets import demo_output_mode

    assert demo_output_mode.OUTPUT_MODES == OUTPUT_MODES
    assert demo_output_mode.DEFAULT_OUTPUT_MODE == DEFAULT_OUTPUT_MODE == "clip"


def test_choosing_a_mode_shows_its_picture_and_line_and_emits_once(panel, demo_data, qtbot):
    rgb, out_rgb, channels, w, b = demo_data
    pictures = _renderings(channels)
    ranges = np.stack([channels.reshape(3, -1).min(1), channels.reshape(3, -1).max(1)], 1)
    panel.set_result(rgb, out_rgb, channels, w, b, 1, "custom", renderings=pictures, ranges=ranges)
    assert panel.output_mode() == "clip"
    assert np.array_equal(qimage_to_rgb(panel.output_view.source_pixmap().toImage()), pictures["clip"])
    assert (pictures["wrap"] != pictures["clip"]).any()     # the demo's kernel leaves 0..1: the modes differ
    for mode in ("wrap", "stretch", "clip"):
        seen = []
        panel.outputModeChanged.connect(seen.append)
        panel.output_combo.setCurrentIndex(panel.output_combo.findData(mode))
        panel.outputModeChanged.disconnect(seen.append)
        assert seen == [mode]
        assert np.array_equal(qimage_to_rgb(panel.output_view.source_pixmap().toImage()), pictures[mode])
        assert np.array_equal(panel.shown_output(), pictures[mode])
    panel.output_combo.setCurrentIndex(panel.output_combo.findData("wrap"))
    assert "astype(np.uint8)" in panel.mode_label.text() and "256" in panel.mode_label.text()
    assert "astype" in panel.captions[1].text()
    panel.output_combo.setCurrentIndex(panel.output_combo.findData("stretch"))
    line = panel.mode_label.text().replace("\u2212", "-")
    assert "all three channels" in line and f"{channels.min():.3f}" in line and f"{channels.max():.3f}" in line


def test_set_output_mode_restores_without_emitting_and_survives_a_new_result(panel, demo_data, qtbot):
    rgb, out_rgb, channels, w, b = demo_data
    pictures = _renderings(channels)
    with qtbot.assertNotEmitted(panel.outputModeChanged):
        panel.set_output_mode("stretch")
        panel.set_result(rgb, out_rgb, channels, w, b, 1, "custom", renderings=pictures)
    assert panel.output_mode() == "stretch"
    assert np.array_equal(qimage_to_rgb(panel.output_view.source_pixmap().toImage()), pictures["stretch"])
    with pytest.raises(ValueError, match="output mode"):
        panel.set_output_mode("rainbow")


def test_without_the_engines_pictures_only_clip_is_offered(panel, demo_data):
    rgb, out_rgb, channels, w, b = demo_data
    panel.set_output_mode("wrap")
    panel.set_result(rgb, out_rgb, channels, w, b, 1, "custom")   # the window's call before renderings=
    model = panel.output_combo.model()
    enabled = {panel.output_combo.itemData(i): model.item(i).isEnabled() for i in range(3)}
    assert enabled == {"wrap": False, "clip": True, "stretch": False}
    assert np.array_equal(qimage_to_rgb(panel.output_view.source_pixmap().toImage()), out_rgb)
    assert "clip" in panel.captions[1].text()


def test_channel_captions_use_the_engines_ranges(panel, demo_data):
    """Given ranges, the panel prints them and measures nothing itself."""
    rgb, out_rgb, channels, w, b = demo_data
    ranges = np.array([[-1.5, 2.5], [-0.25, 0.75], [0.125, 0.5]], np.float32)
    panel.set_result(rgb, out_rgb, channels, w, b, 1, "custom", renderings=_renderings(channels), ranges=ranges)
    assert "1.500" in panel.captions[2].text() and "2.500" in panel.captions[2].text()
    expected = colorize(channels[2], 0.125, 0.5, "viridis")
    assert np.array_equal(qimage_to_rgb(panel.channel_views[2].source_pixmap().toImage()), expected)


# ----------------------------------------------------------------------------- the kernel, drawn

def test_demo_kernel_is_drawn_with_the_kernel_renderer(panel, demo_data, qtbot):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    from widgets.kernel_view import kernel_rgb_image, kernel_slice_image

    rgb, out_rgb, channels, w, b = demo_data
    panel.set_result(rgb, out_rgb, channels, w, b, 1, "custom")
    pictures = panel.kernel_view.pictures
    assert panel.kernel_view.stack.currentWidget() is pictures and not panel.kernel_view.numbers_shown()
    limit = float(max(np.abs(w).max(), np.abs(b).max()))     # one scale for weights and biases
    assert pictures.limit() == pytest.approx(limit)
    scale = pictures.cell_rect(0, 0).width() // 3
    for o in range(3):
        assert np.array_equal(qimage_to_rgb(pictures.image(o, 0)), qimage_to_rgb(kernel_rgb_image(w[o], limit, scale)))
        for i in range(3):
            assert np.array_equal(qimage_to_rgb(pictures.image(o, 1 + i)),
                                  qimage_to_rgb(kernel_slice_image(w[o, i], limit, scale)))
    bias = qimage_to_rgb(pictures.image(2, 4))
    assert np.array_equal(bias, qimage_to_rgb(kernel_slice_image(np.array([[b[2]]]), limit, scale)))  # one block
    assert int(bias[0, 0, 2]) > int(bias[0, 0, 0]) + 10     # bias[2] = −0.25: (light) blue
    assert np.array_equal(painted(pictures, pictures.cell_rect(1, 2))[1:-1, 1:-1],
                          qimage_to_rgb(pictures.image(1, 2))[1:-1, 1:-1])   # painted 1:1
    QToolTip.hideText()
    pos = pictures.cell_rect(2, 1).center()
    QApplication.sendEvent(pictures, QHelpEvent(QEvent.Type.ToolTip, pos, pictures.mapToGlobal(pos)))
    assert f"{w[2, 2, 0, 0]:.4f}" in QToolTip.text() and f"{b[2]:.4f}" in QToolTip.text()
    qtbot.mouseClick(panel.kernel_view.numbers_button, Qt.MouseButton.LeftButton)
    assert panel.kernel_view.stack.currentWidget() is panel.kernel_view.table
    assert "-2.00" in panel.kernel_labels[0].text()
