"""Kernels drawn beside their maps: the renderers' pixels, the slices chosen, clicks and hover numbers."""
import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from inference.kernel_slices import top_input_slices
from widgets.colormaps import lut
from widgets.kernel_panel import KernelPanel
from widgets.kernel_view import kernel_rgb_image, kernel_slice_image
from widgets.qimage import qimage_to_rgb

def painted(widget, rect):
    """The widget's painted pixels in ``rect``, one per logical pixel (whatever the screen's density)."""
    image = widget.grab().toImage()
    d = round(image.devicePixelRatio())
    shot = qimage_to_rgb(image)
    return shot[rect.top() * d:(rect.bottom() + 1) * d:d, rect.left() * d:(rect.right() + 1) * d:d]


RNG = np.random.default_rng(21)
BANK = RNG.normal(scale=0.3, size=(64, 3, 3, 3)).astype(np.float32)


def blocks(rgb: np.ndarray, scale: int) -> np.ndarray:
    """One pixel per block, after checking every block is a single colour (nearest neighbour)."""
    h, w, _ = rgb.shape
    cells = rgb.reshape(h // scale, scale, w // scale, scale, 3)
    assert (cells == cells[:, :1, :, :1]).all(), "a weight's block is not one flat colour"
    return cells[:, 0, :, 0]


def test_rgb_patch_is_half_plus_half_w_over_limit_in_crisp_blocks():
    weight = RNG.normal(size=(3, 3, 3)).astype(np.float32)
    limit = float(np.abs(weight).max())
    rgb = qimage_to_rgb(kernel_rgb_image(weight, limit, scale=9))
    assert rgb.shape == (27, 27, 3)
    got = blocks(rgb, 9).astype(np.float64) / 255           # [kh, kw, RGB]
    want = 0.5 + 0.5 * weight.transpose(1, 2, 0) / limit
    np.testing.assert_allclose(got, want, atol=0.5 / 255 + 1e-9)
    assert np.isclose(got.max(), 1.0) or np.isclose(got.min(), 0.0)   # the largest |w| reaches an end


def test_slice_is_drawn_on_the_diverging_map_centred_on_zero():
    values = np.array([[0.0, 0.4, -0.4], [0.13, -0.27, 0.0], [0.31, 0.0, -0.07]], np.float32)  # off bin edges
    got = blocks(qimage_to_rgb(kernel_slice_image(values, 0.4, scale=5)), 5)
    idx = np.clip(np.floor((values.astype(np.float64) + 0.4) / 0.8 * 256), 0, 255).astype(int)
    np.testing.assert_array_equal(got, lut("CET-D1")[idx])
    assert (got[0, 0] > 220).all()                          # zero is (nearly) white
    assert got[0, 1][0] > got[0, 1][2] + 100                # positive is red
    assert got[0, 2][2] > got[0, 2][0] + 100                # negative is blue


@pytest.fixture
def panel(qtbot):
    p = KernelPanel()
    qtbot.addWidget(p)
    p.resize(300, 260)
    p.show()
    qtbot.waitExposed(p)
    return p


def deep_filter():
    """A trained-like filter: small noise on every input, four strong inputs (3, 77, 100, 12, in that order)."""
    rng = np.random.default_rng(5)
    weight = rng.normal(scale=0.01, size=(8, 128, 3, 3)).astype(np.float32)
    for channel, strength in zip((3, 77, 100, 12), (0.4, 0.3, 0.2, 0.15)):
        pattern = rng.normal(size=(3, 3))
        weight[5, channel] = strength * pattern / np.linalg.norm(pattern)
    return weight


def test_deeper_layer_shows_the_16_largest_slices_labelled_by_input(panel):
    weight = deep_filter()
    panel.set_kernel("conv3_1 · filter 5", weight[5], 0.02, 5, top=top_input_slices(weight, 5))
    norms = np.sqrt((weight[5].astype(np.float64) ** 2).sum(axis=(1, 2)))
    want = np.argsort(-norms)[:16]
    assert panel.stack.currentWidget() is panel.slices
    assert panel.slices.indices() == want.tolist() and want[:4].tolist() == [3, 77, 100, 12]
    assert panel.slices.labels() == [f"in {i}" for i in want]
    assert "16 of 128" in panel.subtitle.text()
    # every cell is painted with the renderer's image, 1:1, on one shared scale (max |w| of the 16)
    limit = float(np.abs(weight[5, want]).max())
    for cell in (0, 9):
        rect = panel.slices.cell_rect(cell)
        assert rect.width() % 3 == 0                        # whole blocks: crisp cells
        drawn = painted(panel.slices, rect)[1:-1, 1:-1]
        expected = qimage_to_rgb(kernel_slice_image(weight[5, want[cell]], limit, rect.width() // 3))
        np.testing.assert_array_equal(drawn, expected[1:-1, 1:-1])   # inside the 1-px frame


def test_clicking_a_slice_asks_for_its_input_channel(panel, qtbot):
    weight = deep_filter()
    panel.set_kernel("conv3_1 · filter 5", weight[5], 0.02, 5, top=top_input_slices(weight, 5),
                     input_labels=[f"relu2_2:{i}" for i in range(128)])
    assert panel.slices.labels()[1] == "relu2_2:77"
    with qtbot.waitSignal(panel.inputChannelChosen, timeout=1000) as blocker:
        qtbot.mouseClick(panel.slices, Qt.MouseButton.LeftButton, pos=panel.slices.cell_rect(1).center())
    assert blocker.args == [77]
    with qtbot.assertNotEmitted(panel.inputChannelChosen):   # between cells: nothing
        qtbot.mouseClick(panel.slices, Qt.MouseButton.LeftButton, pos=QPoint(1, 1))


def _hover(qtbot, widget, pos: QPoint) -> str:
    QToolTip.hideText()
    event = QHelpEvent(QEvent.Type.ToolTip, pos, widget.mapToGlobal(pos))
    QApplication.sendEvent(widget, event)
    return QToolTip.text()


def test_hover_shows_the_slice_numbers(panel, qtbot):
    weight = deep_filter()
    panel.set_kernel("conv3_1 · filter 5", weight[5], 0.02, 5, top=top_input_slices(weight, 5))
    text = _hover(qtbot, panel.slices, panel.slices.cell_rect(2).center())
    assert "in 100" in text
    for v in weight[5, 100].ravel():
        assert f"{v:.4f}".replace("-0.0000", "0.0000") in text
    assert f"{np.linalg.norm(weight[5, 100]):.4f}" in text


def test_conv1_1_is_an_rgb_patch_on_its_own_scale(panel, qtbot):
    w = BANK[12]
    panel.set_kernel("conv1_1 · filter 12", w, 0.1, 12)
    assert panel.stack.currentWidget() is panel._rgb_page
    limit = float(np.abs(w).max())
    np.testing.assert_array_equal(qimage_to_rgb(panel.patch.image(0)),
                                  qimage_to_rgb(kernel_rgb_image(w, limit, panel.patch.cell_rect(0).width() // 3)))
    assert panel.rgb_slices.labels() == ["R", "G", "B"]
    text = _hover(qtbot, panel.patch, panel.patch.cell_rect(0).center())
    assert f"{w[1, 2, 0]:.4f}" in text and "in G" in text
    assert not panel.bank_button.isVisible()                 # no bank given yet


def test_bank_toggle_click_and_outline(panel, qtbot):
    panel.set_bank(BANK)
    panel.set_kernel("conv1_1 · filter 5", BANK[5], 0.0, 5)
    assert panel.bank_button.isVisible() and "64" in panel.bank_button.text() and not panel.showing_bank()
    qtbot.mouseClick(panel.bank_button, Qt.MouseButton.LeftButton)
    assert panel.showing_bank() and panel.bank.count() == 64
    assert panel.bank.selected() == 5                         # the filter shown is outlined
    r0, r9 = panel.bank.cell_rect(0), panel.bank.cell_rect(9)
    assert r9.top() > r0.top() and r9.left() > r0.left()      # 8 to a row: 9 is row 1, column 1
    with qtbot.waitSignal(panel.bankChannelChosen, timeout=1000) as blocker:
        qtbot.mouseClick(panel.bank, Qt.MouseButton.LeftButton, pos=panel.bank.cell_rect(41).center())
    assert blocker.args == [41] and panel.bank.selected() == 41
    limit = float(np.abs(BANK[41]).max())                     # each filter on its own ±max|w|
    np.testing.assert_array_equal(qimage_to_rgb(panel.bank.image(41)),
                                  qimage_to_rgb(kernel_rgb_image(BANK[41], limit, r0.width() // 3)))
    weight = deep_filter()
    panel.set_kernel("conv3_1 · filter 5", weight[5], 0.0, 5, top=top_input_slices(weight, 5))
    assert panel.bank.selected() is None                      # not a conv1_1 filter: no outline
    qtbot.mouseClick(panel.bank_button, Qt.MouseButton.LeftButton)
    assert panel.stack.currentWidget() is panel.slices


def test_clear_and_bad_input(panel):
    panel.clear("pool3 is not a conv layer")
    assert panel.stack.currentWidget() is panel.note and panel.note.text() == "pool3 is not a conv layer"
    with pytest.raises(ValueError, match="top"):
        panel.set_kernel("conv3_1", deep_filter()[5], 0.0, 5)    # 128 inputs and no choice of slices
    few = RNG.normal(size=(6, 3, 3)).astype(np.float32)
    panel.set_kernel("tiny · filter 0", few, None, 0)             # ≤ 16 inputs: all, in order
    assert panel.slices.indices() == list(range(6)) and "no bias" in panel.subtitle.text()
    with pytest.raises(ValueError, match="Cin, kh, kw"):
        panel.set_kernel("bad", np.zeros((3, 3)), 0.0, 0)
