""""The first idea of all": a single ``nn.Conv2d(3, 3, 3, 1, 1)`` applied to the photo.

Before looking at VGG16's 64-channel layers, students see one tiny convolution
whose 81 weights and 3 biases are all on screen (and editable), next to the picture
it produces and each raw output channel. The panel lives in a short bottom dock, so
it is laid out as one row (controls and pictures, then the kernel to the right) and
only stacks the kernel below — inside a scroll area — when it is narrow. The output
is drawn by one of three rules (wrap, clip, stretch; :mod:`widgets.demo_output_mode`),
all computed by the engine, so switching is instant and costs the UI thread nothing.
The pictures are :mod:`widgets.picture_strip`, the kernel :mod:`widgets.demo_kernel_view`.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from widgets.colormaps import DEFAULT_COLORMAP, colorize
from widgets.demo_kernel_view import DemoKernelView
from widgets.demo_output_mode import MODE_CAPTIONS, OutputModeChoice
from widgets.kernel_editor import KernelEditorDialog
from widgets.kernel_table import CHANNELS, muted_colour
from widgets.picture_strip import CAPTION_GAP, PictureStrip, ScaledPixmapLabel
from widgets.prediction_text import format_signed
from widgets.qimage import rgb_to_qimage
from widgets.side_or_below import SideOrBelow

EXPLANATION = (
    "<b>nn.Conv2d(3, 3, kernel_size=3, stride=1, padding=1)</b> applied to the photo as "
    "float/\u2060255 — "  # the word joiner keeps "float/255" on one line
    "each output channel sums 3×3 windows of all three input channels, weighted by its kernel, plus a bias."
)
SEED_MAX = 2**31 - 1


def channel_caption(c: int, lo: float, hi: float) -> str:
    """"Channel 0 (R) / min −0.223 / max 0.383" on three lines, whatever the column width
    (so no preset wraps differently): 3 decimals, real minus signs, never "-0.000"."""
    return (f"<b>Channel&nbsp;{c}</b>&nbsp;({CHANNELS[c]})<br>"
            f"min&nbsp;{format_signed(lo, 3)}<br>max&nbsp;{format_signed(hi, 3)}")


# The longest captions expected: their room is kept whatever the numbers, so pictures never jump.
CAPTION_TEMPLATES = [channel_caption(0, -88.888, -88.888), "<b>Input</b><br>8888×8888",
                     *(f"<b>Output (RGB)</b><br>{text}" for text in MODE_CAPTIONS.values())]


class DemoConvPanel(QWidget):
    """Input, output and the three output channels of one 3→3 conv, its kernel, and controls."""

    specChanged = Signal(dict)
    outputModeChanged = Signal(str)   # the user chose how the output is drawn: "wrap", "clip" or "stretch"

    def __init__(self, parent=None):
        super().__init__(parent)
        self._weight: np.ndarray | None = None
        self._bias: np.ndarray | None = None
        self._custom: tuple[np.ndarray, np.ndarray] | None = None
        self._active_preset = "random"  # the preset in use; the combo returns to it on Cancel
        self.kernel_dialog: KernelEditorDialog | None = None
        muted = muted_colour(self).name()
        small = self.font()
        small.setPointSizeF(max(small.pointSizeF() - 1, 7))

        self.intro = QLabel(EXPLANATION)
        self.intro.setWordWrap(True)
        self.intro.setTextFormat(Qt.TextFormat.RichText)

        self.preset_combo = QComboBox()
        self.preset_combo.setToolTip("Which kernel the demo convolution uses")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, SEED_MAX)
        self.seed_spin.setKeyboardTracking(False)  # one change per Enter / arrow, not per digit
        self.seed_spin.setToolTip("Seed of the random kernel (changing it selects the random preset)")
        self.reseed_button = QPushButton("Re-seed")
        self.reseed_button.setToolTip("A new random kernel (seed + 1)")
        self.edit_button = QPushButton("Edit kernel…")
        self.edit_button.setToolTip("Type the 81 weights and 3 biases yourself")
        self.output_choice = OutputModeChoice(small, self)
        self.output_combo, self.mode_label = self.output_choice.combo, self.output_choice.label
        self.busy_label = QLabel("computing…")
        self.busy_label.setStyleSheet(f"color: {muted}; font-style: italic;")
        self.busy_label.setVisible(False)
        # Showing "computing…" must not widen the row (that could move the kernel below and back).
        self.busy_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.busy_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        controls = QHBoxLayout()
        controls.setSpacing(6)
        controls.addWidget(QLabel("Preset:"))
        controls.addWidget(self.preset_combo)
        controls.addSpacing(8)
        controls.addWidget(QLabel("Seed:"))
        controls.addWidget(self.seed_spin)
        controls.addWidget(self.reseed_button)
        controls.addSpacing(8)
        controls.addWidget(self.edit_button)
        controls.addStretch(1)
        controls.addWidget(self.busy_label)

        # Five pictures with captions, in one row that scales with the dock.
        self.views: list[ScaledPixmapLabel] = []
        self.captions: list[QLabel] = []
        titles = ["Input", "Output (RGB)", "Channel 0", "Channel 1", "Channel 2"]
        for title in titles:
            view = ScaledPixmapLabel()
            caption = QLabel(f"<b>{title}</b>")
            caption.setFont(small)
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            caption.setWordWrap(True)
            self.views.append(view)
            self.captions.append(caption)
        self.input_view, self.output_view = self.views[0], self.views[1]
        self.channel_views = self.views[2:]
        self.pictures = PictureStrip(self.views, self.captions)
        self.pictures.set_caption_templates(CAPTION_TEMPLATES)
        self.note_label = QLabel()
        self.note_label.setFont(small)
        self.note_label.setStyleSheet(f"color: {muted};")
        self.note_label.setVisible(False)

        left = QWidget()
        left_box = QVBoxLayout(left)
        left_box.setContentsMargins(0, 0, 0, 0)
        left_box.setSpacing(4)
        left_box.addLayout(controls)
        left_box.addWidget(self.intro)
        left_box.addWidget(self.output_choice.row)
        left_box.addWidget(self.pictures, 1)
        left_box.addWidget(self.note_label)
        left_box.addStretch(0)

        # The kernel: pictures drawn as every kernel in the app is, or its numbers.
        self.kernel_view = DemoKernelView()
        self.kernel_title, self.kernel_labels = self.kernel_view.title, self.kernel_view.labels

        self._controls, self._left_box = controls, left_box
        self._body = SideOrBelow(left, self.kernel_view)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self._body)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)

        self.preset_combo.currentTextChanged.connect(self._on_preset_changed)
        self.seed_spin.valueChanged.connect(self._on_seed_changed)
        self.reseed_button.clicked.connect(self.reseed)
        self.edit_button.clicked.connect(self.open_kernel_editor)
        self.output_choice.changed.connect(self._on_output_mode)
        self.kernel_view.numbers_button.toggled.connect(lambda _on: self._arrange())

    def sizeHint(self) -> QSize:
        """Wide enough for one row, about as tall as a bottom dock should be."""
        body = self._body.sizeHint()
        return QSize(body.width(), min(body.height(), 240))

    def minimumSizeHint(self) -> QSize:
        """Small: the content scrolls rather than holding the dock open."""
        return QSize(200, 80)

    def _pictures_min_width(self) -> int:
        """The width the controls and pictures need to keep the kernel beside them."""
        controls = self._controls.minimumSize().width()
        if not self.busy_label.isVisibleTo(self):
            controls += self._controls.spacing()  # as wide as when "computing…" shows: no flip-flop
        return max(controls, self.pictures.minimumSizeHint().width())

    def _column_height(self, width: int) -> int:
        """Height of the controls, explanation and note at ``width`` (everything but the pictures)."""
        spacing = self._left_box.spacing()
        height = (self._controls.sizeHint().height() + spacing + self.intro.heightForWidth(width) + spacing
                  + self.output_choice.height_for_width(width) + spacing)
        if self.note_label.isVisibleTo(self):
            height += spacing + self.note_label.sizeHint().height()
        return height

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        """Put the kernel beside or below the pictures for the visible size, and size the pictures to match."""
        side = self._kernel_beside()
        self._body.set_side_by_side(side)
        self.pictures.set_fit_width(not side)

    def _kernel_beside(self) -> bool:
        """Kernel right of the pictures, unless it does not fit there or the visible height
        gives clearly bigger pictures with the kernel below (without scrolling).

        Decided from the scroll area's size, not the scrolled body's, so the choice
        cannot keep itself alive by making the body taller or a scroll bar appear."""
        m = self._body.margins()
        width = self.scroll.width() - m.left() - m.right()
        height = self.scroll.height() - m.top() - m.bottom()
        kernel = self.kernel_view.sizeHint()
        strip, aspect = self.pictures, self.input_view.aspect()
        left = width - self._body.spacing() - kernel.width()
        if height < max(kernel.height(), self._column_height(left) + strip.minimumSizeHint().height()):
            left -= self.scroll.verticalScrollBar().sizeHint().width()  # it will scroll even side by side
        if left < self._pictures_min_width():
            return False
        column = strip.column_width(left)
        beside = min(column * aspect, height - self._column_height(left) - strip.caption_height(column) - CAPTION_GAP)
        below_height = self._column_height(width) + strip.heightForWidth(width) + self._body.spacing() + kernel.height()
        below = strip.column_width(width) * aspect
        return not (below_height <= height and below > 1.2 * beside)

    def kernel_beside_pictures(self) -> bool:
        """True when the kernel sits to the right of the pictures (else below them)."""
        return self._body.is_side_by_side()

    # --- input from the app (never emits) ----------------------------------------
    def set_presets(self, names: list[str], current: str = "random") -> None:
        """Fill the preset combo and select ``current`` (no specChanged)."""
        self.preset_combo.blockSignals(True)
        try:
            self.preset_combo.clear()
            self.preset_combo.addItems(list(names))
            idx = self.preset_combo.findText(current)
            self.preset_combo.setCurrentIndex(max(idx, 0))
            self._active_preset = self.preset_combo.currentText()
        finally:
            self.preset_combo.blockSignals(False)

    def set_result(self, input_rgb: np.ndarray, output_rgb: np.ndarray, channels: np.ndarray,
                   weight: np.ndarray, bias: np.ndarray, seed: int | None, preset: str,
                   note: str | None = None, *, renderings: dict | None = None,
                   ranges: np.ndarray | None = None) -> None:
        """Show a computed demo: the pictures, the channel ranges and the kernel.

        ``renderings`` ({"wrap", "clip", "stretch"} → uint8 [H, W, 3], DemoConvResult.renderings)
        and ``ranges`` (float32 [3, 2] per-channel min, max) come from the engine; without
        them only "clip" (``output_rgb``) can be shown and the ranges are measured here."""
        channels = np.asarray(channels, np.float32)
        weight = np.asarray(weight, np.float32)
        bias = np.asarray(bias, np.float32)
        if channels.ndim != 3 or channels.shape[0] != 3:
            raise ValueError(f"channels must be (3, H, W), got {channels.shape}")
        if weight.shape != (3, 3, 3, 3) or bias.shape != (3,):
            raise ValueError(f"kernel must be (3, 3, 3, 3) with bias (3,), got {weight.shape}, {bias.shape}")
        if ranges is None:
            ranges = np.array([[channels[c].min(), channels[c].max()] for c in range(3)], np.float32)
        ranges = np.asarray(ranges, np.float32)
        pictures = {"clip": output_rgb, **(renderings or {})}
        self.output_choice.set_pictures(pictures, (float(ranges[:, 0].min()), float(ranges[:, 1].max())))

        self.input_view.set_source(QPixmap.fromImage(rgb_to_qimage(input_rgb)))
        h, w = np.asarray(input_rgb).shape[:2]
        self.captions[0].setText(f"<b>Input</b><br>{w}×{h}")
        self._show_output()
        for c in range(3):
            lo, hi = float(ranges[c, 0]), float(ranges[c, 1])
            self.channel_views[c].set_source(QPixmap.fromImage(rgb_to_qimage(colorize(channels[c], lo, hi,
                                                                                        DEFAULT_COLORMAP))))
            self.captions[2 + c].setText(channel_caption(c, lo, hi))
        self.pictures.refresh()

        self._weight, self._bias = weight.copy(), bias.copy()
        if preset == "custom":
            self._custom = (weight.copy(), bias.copy())
        self.kernel_view.show_kernel(weight, bias)
        self._sync_controls(preset, seed)
        self.note_label.setText(note or "")
        self.note_label.setVisible(bool(note))
        self._arrange()

    # --- how the output is drawn ----------------------------------------------------
    def output_mode(self) -> str:
        """The rule the output picture is drawn with: "wrap", "clip" or "stretch"."""
        return self.output_choice.mode()

    def set_output_mode(self, mode: str) -> None:
        """Draw the output by ``mode`` (e.g. restored from settings); no outputModeChanged."""
        self.output_choice.set_mode(mode)
        self._show_output()

    def shown_output(self) -> np.ndarray | None:
        """The uint8 [H, W, 3] picture the output view shows (None before any result)."""
        return self.output_choice.picture()

    def _on_output_mode(self, mode: str) -> None:
        self._show_output()
        self.outputModeChanged.emit(mode)

    def _show_output(self) -> None:
        picture = self.output_choice.picture()
        if picture is not None:
            self.output_view.set_source(QPixmap.fromImage(rgb_to_qimage(picture)))
            self.captions[1].setText(f"<b>Output (RGB)</b><br>{self.output_choice.caption()}")

    def _sync_controls(self, preset: str, seed: int | None) -> None:
        for w in (self.preset_combo, self.seed_spin):
            w.blockSignals(True)
        try:
            idx = self.preset_combo.findText(preset)
            if idx < 0:
                self.preset_combo.addItem(preset)
                idx = self.preset_combo.count() - 1
            self.preset_combo.setCurrentIndex(idx)
            self._active_preset = preset
            if seed is not None:
                self.seed_spin.setValue(int(seed))
        finally:
            for w in (self.preset_combo, self.seed_spin):
                w.blockSignals(False)

    def set_busy(self, busy: bool) -> None:
        """Say "computing…" while the demo convolution runs."""
        self.busy_label.setVisible(busy)

    def current_spec(self) -> dict:
        """The spec the controls describe now (what specChanged would emit)."""
        preset = self.preset_combo.currentText()
        weight = bias = None
        if preset == "custom":
            kernel = self._custom or (
                (self._weight, self._bias) if self._weight is not None else None)
            if kernel is not None:
                weight, bias = kernel[0].tolist(), kernel[1].tolist()
        return {"preset": preset, "seed": int(self.seed_spin.value()), "weight": weight, "bias": bias}

    # --- user actions (each emits specChanged exactly once) ------------------------
    def _emit(self) -> None:
        self.specChanged.emit(self.current_spec())

    def _on_preset_changed(self, name: str) -> None:
        if name == "custom":  # a custom kernel has to be typed first: emit on OK, revert on Cancel
            self.open_kernel_editor()
            return
        self._active_preset = name
        self._emit()

    def _on_seed_changed(self, _value: int) -> None:
        self._sync_controls("random", None)
        self._emit()

    def reseed(self) -> None:
        """New seed = old seed + 1 (wrapping), preset random, then emit."""
        seed = self.seed_spin.value() + 1
        self._sync_controls("random", 0 if seed > SEED_MAX else seed)
        self._emit()

    def open_kernel_editor(self) -> KernelEditorDialog:
        """Open the kernel editor prefilled with the current kernel; OK emits a custom spec."""
        if self.kernel_dialog is not None:
            self.kernel_dialog.close()
        dialog = KernelEditorDialog(self._weight, self._bias, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._apply_custom(dialog))
        dialog.finished.connect(lambda _result: self._forget_dialog(dialog))
        self.kernel_dialog = dialog
        dialog.open()
        return dialog

    def _forget_dialog(self, dialog: KernelEditorDialog) -> None:
        if self.kernel_dialog is dialog:
            self.kernel_dialog = None
        if dialog.result() != KernelEditorDialog.DialogCode.Accepted:
            self._sync_controls(self._active_preset, None)  # Cancel: the combo shows what is in use

    def _apply_custom(self, dialog: KernelEditorDialog) -> None:
        self._custom = (dialog.weight(), dialog.bias())
        self._sync_controls("custom", None)
        self._emit()
