"""DemoConvPanel and KernelEditorDialog: pictures, kernel numbers, and the specs they emit."""
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from widgets.colormaps import colorize
from widgets.demo_conv_panel import DemoConvPanel
from widgets.qimage import qimage_to_rgb

PRESETS = ["random", "identity", "sobel_x", "sobel_y", "laplacian", "gaussian_blur", "sharpen", "emboss", "custom"]
SOBEL = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)


def conv3x3(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Reference Conv2d(3, 3, 3, padding=1) in numpy: x (3,H,W) → (3,H,W)."""
    _, h, wd = x.shape
    pad = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    out = np.empty((3, h, wd), np.float32)
    for o in range(3):
        out[o] = b[o]
        for r in range(3):
            for c in range(3):
                out[o] += np.tensordot(w[o, :, r, c], pad[:, r:r + h, c:c + wd], axes=1)
    return out


@pytest.fixture
def demo_data(cat_path):
    rgb = np.asarray(Image.open(cat_path).convert("RGB").resize((120, 80)))
    w = np.zeros((3, 3, 3, 3), np.float32)
    w[0, 0], w[1, 1], w[2, 2] = SOBEL, SOBEL.T, 0.125 * SOBEL
    b = np.array([0.5, 0.5, -0.25], np.float32)
    channels = conv3x3(rgb.transpose(2, 0, 1).astype(np.float32) / 255, w, b)
    out_rgb = np.clip(channels.transpose(1, 2, 0) * 255, 0, 255).astype(np.uint8)
    return rgb, out_rgb, channels, w, b


@pytest.fixture
def panel(qtbot):
    widget = DemoConvPanel()
    qtbot.addWidget(widget)
    widget.set_presets(PRESETS, "random")
    widget.resize(1000, 600)
    widget.show()
    return widget


def test_set_result_shows_pictures_and_numbers(panel, demo_data):
    rgb, out_rgb, channels, w, b = demo_data
    panel.set_result(rgb, out_rgb, channels, w, b, seed=None, preset="sobel_x", note="computed at 120×80")
    out_pix = panel.output_view.source_pixmap()
    assert (out_pix.width(), out_pix.height()) == (120, 80)
    assert np.array_equal(qimage_to_rgb(out_pix.toImage()), out_rgb)
    # channel 2 is colourised over its own min..max
    ch2 = channels[2]
    expected = colorize(ch2, float(ch2.min()), float(ch2.max()), "viridis")
    assert np.array_equal(qimage_to_rgb(panel.channel_views[2].source_pixmap().toImage()), expected)
    caption = panel.captions[4].text().replace("\u2212", "-")  # a real minus sign on screen
    assert f"{ch2.min():.3f}" in caption and f"{ch2.max():.3f}" in caption
    # the displayed picture is scaled to fit its label with the aspect ratio kept
    shown = panel.output_view.pixmap()
    assert shown.width() <= panel.output_view.width() and shown.height() <= panel.output_view.height()
    assert shown.width() / shown.height() == pytest.approx(120 / 80, rel=0.05)

    block0, block2 = panel.kernel_labels[0].text(), panel.kernel_labels[2].text()
    assert f"{w[0, 0, 1, 0]:.2f}" == "-2.00" and "-2.00" in block0  # 2 decimals in the compact table
    assert f"{w[2, 2, 0, 0]:.2f}" in block2 and f"{b[2]:.2f}" in block2
    # the tooltip has the exact numbers
    tip = panel.kernel_labels[2].toolTip()
    assert f"{w[2, 2, 0, 0]:.4f}" in tip and f"{b[2]:.4f}" in tip
    assert panel.note_label.text() == "computed at 120×80" and panel.note_label.isVisibleTo(panel)
    assert panel.preset_combo.currentText() == "sobel_x"


def test_set_result_rejects_bad_kernel(panel, demo_data):
    rgb, out_rgb, channels, w, b = demo_data
    with pytest.raises(ValueError, match="kernel"):
        panel.set_result(rgb, out_rgb, channels, w[:2], b, seed=0, preset="random")


def test_preset_combo_emits_once(panel, qtbot):
    seen = []
    panel.specChanged.connect(seen.append)
    with qtbot.waitSignal(panel.specChanged, timeout=1000) as blocker:
        panel.preset_combo.setCurrentText("laplacian")
    assert blocker.args[0]["preset"] == "laplacian"
    assert blocker.args[0]["weight"] is None
    assert len(seen) == 1


def test_set_presets_and_set_result_do_not_emit(panel, demo_data, qtbot):
    rgb, out_rgb, channels, w, b = demo_data
    with qtbot.assertNotEmitted(panel.specChanged):
        panel.set_presets(PRESETS, "emboss")
        panel.set_result(rgb, out_rgb, channels, w, b, seed=42, preset="random")
    assert panel.seed_spin.value() == 42


def test_reseed_emits_new_seed_and_random(panel, demo_data, qtbot):
    rgb, out_rgb, channels, w, b = demo_data
    panel.set_result(rgb, out_rgb, channels, w, b, seed=7, preset="sobel_y")
    seen = []
    panel.specChanged.connect(seen.append)
    with qtbot.waitSignal(panel.specChanged, timeout=1000) as blocker:
        qtbot.mouseClick(panel.reseed_button, Qt.MouseButton.LeftButton)
    spec = blocker.args[0]
    assert spec["preset"] == "random" and spec["seed"] != 7
    assert len(seen) == 1
    assert panel.current_spec()["seed"] == spec["seed"]


def test_kernel_editor_returns_edited_kernel(panel, demo_data, qtbot):
    rgb, out_rgb, channels, w, b = demo_data
    panel.set_result(rgb, out_rgb, channels, w, b, seed=0, preset="sobel_x")
    qtbot.mouseClick(panel.edit_button, Qt.MouseButton.LeftButton)
    dialog = panel.kernel_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.spin(0, 0, 1, 0).value() == pytest.approx(-2.0)  # prefilled with the current kernel
    dialog.spin(1, 2, 0, 1).setValue(0.75)
    dialog.bias_spin(2).setValue(-1.5)
    seen = []
    panel.specChanged.connect(seen.append)
    with qtbot.waitSignal(panel.specChanged, timeout=1000) as blocker:
        dialog.accept()
    spec = blocker.args[0]
    expected_w, expected_b = w.copy(), b.copy()
    expected_w[1, 2, 0, 1], expected_b[2] = 0.75, -1.5
    assert spec["preset"] == "custom"
    assert np.allclose(np.array(spec["weight"]), expected_w, atol=5e-4)
    assert np.array(spec["weight"]).shape == (3, 3, 3, 3)
    assert np.allclose(spec["bias"], expected_b, atol=5e-4)
    assert len(seen) == 1
    assert panel.preset_combo.currentText() == "custom"


def test_kernel_editor_cancel_emits_nothing(panel, qtbot):
    panel.open_kernel_editor()
    dialog = panel.kernel_dialog
    dialog.spin(0, 0, 0, 0).setValue(3.0)
    with qtbot.assertNotEmitted(panel.specChanged):
        dialog.reject()
    assert panel.preset_combo.currentText() == "random"


def test_seed_spinbox_selects_random_and_emits_once(panel, qtbot):
    panel.preset_combo.blockSignals(True)
    panel.preset_combo.setCurrentText("sharpen")
    panel.preset_combo.blockSignals(False)
    seen = []
    panel.specChanged.connect(seen.append)
    with qtbot.waitSignal(panel.specChanged, timeout=1000) as blocker:
        panel.seed_spin.setValue(123)
    assert blocker.args[0]["preset"] == "random" and blocker.args[0]["seed"] == 123
    assert len(seen) == 1


def test_choosing_custom_in_combo_opens_editor_and_cancel_reverts(panel, demo_data, qtbot):
    rgb, out_rgb, channels, w, b = demo_data
    panel.set_result(rgb, out_rgb, channels, w, b, seed=3, preset="sobel_x")
    with qtbot.assertNotEmitted(panel.specChanged):
        panel.preset_combo.setCurrentText("custom")
        dialog = panel.kernel_dialog
        assert dialog is not None and dialog.spin(1, 1, 0, 0).value() == pytest.approx(w[1, 1, 0, 0])
        dialog.reject()
    assert panel.preset_combo.currentText() == "sobel_x"
    panel.preset_combo.setCurrentText("custom")
    with qtbot.waitSignal(panel.specChanged, timeout=1000) as blocker:
        panel.kernel_dialog.accept()
    assert blocker.args[0]["preset"] == "custom"
    assert np.allclose(np.array(blocker.args[0]["weight"]), w, atol=5e-4)


def _strip_rect(panel):
    """The picture strip's rectangle in the scrolled body's coordinates."""
    return panel.pictures.geometry().translated(panel.pictures.parentWidget().pos())


def _resize(qtbot, panel, width, height):
    """Resize, then wait until the layout stops changing (two equal looks in a row)."""
    panel.resize(width, height)
    last = [None]

    def settled():
        look = (panel.scroll.size(), panel._body.size(), panel.pictures.geometry(), panel.kernel_view.geometry(),
                panel.output_view.pixmap().size(), panel.scroll.verticalScrollBar().isVisible())
        same, last[0] = look == last[0], look
        return same and panel.scroll.size() == panel.size()

    qtbot.waitUntil(settled, timeout=2000)


def test_fits_a_short_bottom_dock_with_kernel_right_of_pictures(panel, demo_data, qtbot):
    rgb, out_rgb, channels, w, b = demo_data
    panel.set_result(rgb, out_rgb, channels, w, b, seed=1, preset="random")
    assert panel.minimumSizeHint().height() <= 200  # the user can make the dock short
    _resize(qtbot, panel, 1150, 250)
    assert panel.kernel_beside_pictures()
    assert panel.kernel_view.geometry().left() > _strip_rect(panel).right() > 500  # one row
    assert not panel.scroll.verticalScrollBar().isVisible()
    assert panel.kernel_view.geometry().bottom() < 250
    assert panel.captions[4].geometry().bottom() <= panel.pictures.height()  # captions not clipped
    views = [v.geometry() for v in panel.views]
    assert all(a.right() < b.left() for a, b in zip(views, views[1:]))  # side by side, no overlap


def test_pictures_grow_with_the_dock_height(panel, demo_data, qtbot):
    rgb, out_rgb, channels, w, b = demo_data
    panel.set_result(rgb, out_rgb, channels, w, b, seed=1, preset="random")
    heights = []
    for h in (190, 320):
        _resize(qtbot, panel, 1600, h)
        assert panel.kernel_beside_pictures()
        shown = panel.output_view.pixmap()
        assert shown.width() / shown.height() == pytest.approx(120 / 80, rel=0.05)
        heights.append(shown.height())
    assert heights[1] > heights[0] * 1.3


def test_narrow_panel_puts_kernel_below_and_scrolls(panel, demo_data, qtbot):
    rgb, out_rgb, channels, w, b = demo_data
    panel.set_result(rgb, out_rgb, channels, w, b, seed=1, preset="random")
    _resize(qtbot, panel, 620, 250)
    assert not panel.kernel_beside_pictures()
    assert panel.kernel_view.y() > _strip_rect(panel).bottom()
    assert panel.scroll.verticalScrollBar().isVisible()
    assert panel.minimumSizeHint().height() <= 200  # scrolling, not a tall minimum
    assert panel.output_view.pixmap().width() >= 0.9 * panel.output_view.width()  # pictures fill the width
    _resize(qtbot, panel, 1150, 250)
    assert panel.kernel_beside_pictures() and not panel.scroll.verticalScrollBar().isVisible()


def test_tall_dock_puts_kernel_below_for_bigger_pictures(panel, demo_data, qtbot):
    rgb, out_rgb, channels, w, b = demo_data
    panel.set_result(rgb, out_rgb, channels, w, b, seed=1, preset="random")
    _resize(qtbot, panel, 1150, 250)
    short = panel.output_view.pixmap().width()
    _resize(qtbot, panel, 1150, 480)
    assert not panel.kernel_beside_pictures()
    assert panel.kernel_view.y() > _strip_rect(panel).bottom()
    assert panel.output_view.pixmap().width() > 1.3 * short
    assert not panel.scroll.verticalScrollBar().isVisible()  # "below" only when it fits
    assert panel.kernel_view.geometry().bottom() < 480


def test_kernel_blocks_line_up(panel):
    """Blocks with and without minus signs get the same column widths."""
    w = np.zeros((3, 3, 3, 3), np.float32)
    w[0] = -0.5  # every number of block 0 has a minus sign
    w[2] = 0.25  # none in block 2
    panel.set_result(np.zeros((8, 12, 3), np.uint8), np.zeros((8, 12, 3), np.uint8), np.zeros((3, 8, 12)),
                     w, np.array([-0.5, 0.0, 0.25], np.float32), seed=0, preset="custom")
    widths = [label.sizeHint().width() for label in panel.kernel_labels]
    assert widths[0] == widths[1] == widths[2]


def test_busy_label_does_not_change_the_layout_threshold(panel):
    before = panel._pictures_min_width()
    panel.set_busy(True)
    assert panel.busy_label.isVisibleTo(panel)
    assert panel._pictures_min_width() == before
    panel.set_busy(False)
    assert not panel.busy_label.isVisibleTo(panel)


# ----------------------------------------------------------------------------- sign colours, spacing, stability

def _cell_colours(html: str) -> dict[str, list[tuple[int, int, int]]]:
    """Background colour of each number cell of a kernel block, keyed by the number shown."""
    import re

    out: dict[str, list[tuple[int, int, int]]] = {}
    for colour, text in re.findall(r"bgcolor='#([0-9a-f]{6})'>(?:<span[^>]*>)?((?:&nbsp;)*[-0-9.]+)", html):
        number = text.replace("&nbsp;", "")
        out.setdefault(number, []).append(tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4)))
    return out


def test_kernel_cells_are_red_for_positive_and_blue_for_negative(panel):
    """The app's one sign convention: red = positive, blue = negative, untinted zero."""
    from PySide6.QtGui import QPalette

    w = np.zeros((3, 3, 3, 3), np.float32)
    w[0, 0, 0, 0], w[0, 0, 0, 1] = 0.75, -0.75
    panel.set_result(np.zeros((8, 12, 3), np.uint8), np.zeros((8, 12, 3), np.uint8), np.zeros((3, 8, 12)),
                     w, np.zeros(3, np.float32), seed=0, preset="custom")
    colours = _cell_colours(panel.kernel_labels[0].text())
    (pos,), (neg,) = colours["0.75"], colours["-0.75"]
    assert pos[0] > pos[2] + 60 and pos[0] > pos[1] + 60  # red
    assert neg[2] > neg[0] + 60  # blue
    base = panel.palette().color(QPalette.ColorRole.Window).getRgb()[:3]
    assert set(colours["0.00"]) == {tuple(base)}
    caption = panel.kernel_view.legend.text()
    assert caption.index("red") < caption.index("+") < caption.index("blue") < caption.index("−")


def test_kernel_editor_tints_boxes_with_the_same_convention(panel, qtbot):
    dialog = panel.open_kernel_editor()
    qtbot.addWidget(dialog)
    dialog.spin(0, 0, 0, 0).setValue(2.0)
    dialog.spin(0, 0, 0, 1).setValue(-2.0)
    red = QColor(dialog.tint_of(dialog.spin(0, 0, 0, 0)))
    blue = QColor(dialog.tint_of(dialog.spin(0, 0, 0, 1)))
    assert red.red() > red.blue() + 60 and blue.blue() > blue.red() + 60
    dialog.reject()


def _words_on_first_line(label) -> int:
    """How many separate words the first text line of a rendered label has: ink runs
    split by gaps of at least 6 px (more than the gaps around a decimal point)."""
    from widgets.qimage import qimage_to_rgb

    img = qimage_to_rgb(label.grab().toImage()).astype(np.float32)
    bg = np.median(img.reshape(-1, 3), axis=0)
    ink = np.abs(img - bg).sum(-1) > 120
    rows = np.flatnonzero(ink.any(1))
    top = rows[0]
    end = top
    while end + 1 < ink.shape[0] and ink[end + 1].any():
        end += 1
    cols = ink[top:end + 1].any(0)
    words, gap = 0, 99
    for c in cols:
        if c:
            words += gap >= 6
            gap = 0
        else:
            gap += 1
    return words


def test_kernel_numbers_never_run_together(panel, qtbot):
    """Identity: 0.00 and 1.00 only, once drawn as "0.000.000.00"; now each number stands apart,
    negative ones too ("-0.25-0.25"). Drawn untinted in the panel's font, so only the text counts."""
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QLabel

    from widgets.kernel_table import kernel_block_html

    label = QLabel()
    qtbot.addWidget(label)
    label.setFont(panel.kernel_labels[1].font())
    label.setStyleSheet("background: white; color: black")
    for value in (0.0, -0.25):
        w = np.full((3, 3, 3), value, np.float32)
        w[1, 1, 1] = 1.0
        label.setText(kernel_block_html(w, 0.0, 1, 0.0, QColor("white"), QColor("black")))
        label.adjustSize()
        assert _words_on_first_line(label) == 11  # "out", "1", then nine numbers (was 2 + 3)


def test_negative_zero_is_never_printed(panel):
    w = np.full((3, 3, 3, 3), -0.001, np.float32)
    panel.set_result(np.zeros((8, 12, 3), np.uint8), np.zeros((8, 12, 3), np.uint8), np.full((3, 8, 12), -1e-5),
                     w, np.full(3, -0.004, np.float32), seed=0, preset="custom")
    for label in panel.kernel_labels:
        assert "-0.00" not in label.text()
    assert "\u22120.000" not in panel.captions[2].text() and "-0.000" not in panel.captions[2].text()


def test_presets_keep_the_picture_and_kernel_sizes(panel, cat_path, qtbot):
    """Switching presets changes numbers, never the layout: same picture size, same kernel width."""
    from inference.demo_conv import PRESETS as ENGINE_PRESETS, DemoConvSpec, run_demo_conv

    rgb = np.asarray(Image.open(cat_path).convert("RGB"))
    looks = set()
    for width in (1050, 800):
        _resize(qtbot, panel, width, 260)
        seen = set()
        for name in ENGINE_PRESETS:
            r = run_demo_conv(rgb, DemoConvSpec(preset=name, seed=3))
            panel.set_result(r.input_rgb, r.rgb, r.raw, r.weight, r.bias, 3, name)
            seen.add((panel.output_view.pixmap().size().toTuple(), panel.kernel_view.sizeHint().width(),
                      panel.pictures.caption_height(panel.pictures.column_width(panel.pictures.width()))))
        assert len(seen) == 1, seen
        looks |= seen
    assert len(looks) == 2  # but the pictures do follow the dock's size

