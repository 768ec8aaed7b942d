""""The first idea of all": a single ``nn.Conv2d(3, 3, 3, 1, 1)`` applied to the photo.

Before looking at VGG16's 64-channel layers, students see one tiny convolution
whose 81 weights and 3 biases are all on screen (and editable), next to the picture
it produces and each raw output channel.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QPalette, QPixmap
from PySide6.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from widgets.colormaps import DEFAULT_COLORMAP, colorize
from widgets.kernel_editor import KernelEditorDialog
from widgets.qimage import rgb_to_qimage

EXPLANATION = (
    "<b>nn.Conv2d(3, 3, kernel_size=3, stride=1, padding=1)</b> applied to the photo as float/255 — "
    "each output channel sums 3×3 windows of all three input channels, weighted by its kernel, plus a bias."
)
CHANNELS = ("R", "G", "B")
SEED_MAX = 2**31 - 1
_POS = QColor(59, 130, 246)  # positive weights tinted blue
_NEG = QColor(239, 68, 68)  # negative weights tinted red


class ScaledPixmapLabel(QLabel):
    """A QLabel that shows its pixmap scaled to fit, aspect ratio kept, re-scaled on resize."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._source = QPixmap()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(96, 64)
        policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def set_source(self, pixmap: QPixmap) -> None:
        """Show ``pixmap`` (kept at full resolution; the label shows a scaled copy)."""
        aspect_changed = pixmap.size() != self._source.size()
        self._source = QPixmap(pixmap)
        if aspect_changed:
            self.updateGeometry()  # a new aspect ratio changes heightForWidth
        self._rescale()

    def source_pixmap(self) -> QPixmap:
        """The full-resolution pixmap last given to set_source."""
        return self._source

    def clear_source(self) -> None:
        self._source = QPixmap()
        self.clear()

    def sizeHint(self) -> QSize:
        return QSize(200, self.heightForWidth(200))

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        """As tall as the picture needs at ``width`` (3:2 before any picture arrives)."""
        if self._source.isNull() or self._source.width() == 0:
            return max(width * 2 // 3, self.minimumHeight())
        return max(round(width * self._source.height() / self._source.width()), self.minimumHeight())

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._source.isNull():
            return
        size = self.contentsRect().size()
        if size.width() < 2 or size.height() < 2:
            return
        self.setPixmap(self._source.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))


def format_weight(value: float) -> str:
    """One kernel number: 3 decimals, width 6 so columns line up in monospace."""
    return f"{float(value):6.3f}"


def muted_colour(widget: QWidget) -> QColor:
    """Window text halfway to the window background: for notes and zero weights."""
    pal = widget.palette()
    a, b = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
    return QColor(*[round((x + y) / 2) for x, y in zip(a.getRgb()[:3], b.getRgb()[:3])])


def _tint(value: float, scale: float, base: QColor) -> str:
    """Background colour for a weight: blue for positive, red for negative, stronger when larger."""
    if scale <= 0 or value == 0:
        return base.name()
    t = min(abs(float(value)) / scale, 1.0) * 0.55
    c = _POS if value > 0 else _NEG
    mix = [round(b + (a - b) * t) for a, b in zip(c.getRgb()[:3], base.getRgb()[:3])]
    return QColor(*mix).name()


def kernel_block_html(weight: np.ndarray, bias: float, out: int, scale: float, base: QColor,
                      muted: QColor) -> str:
    """HTML for output channel ``out``: three 3×3 matrices (in R, G, B) and its bias."""
    head = "".join(
        f"<td colspan='3' align='center'><b>in {CHANNELS[i]}</b></td>" + ("<td width='10'></td>" if i < 2 else "")
        for i in range(3)
    )
    rows = []
    for r in range(3):
        cells = []
        for i in range(3):
            for c in range(3):
                v = float(weight[i, r, c])
                text = format_weight(v) if v != 0 else f"<span style='color:{muted.name()}'>{format_weight(v)}</span>"
                cells.append(f"<td align='right' bgcolor='{_tint(v, scale, base)}'>{text}</td>")
            if i < 2:
                cells.append("<td width='10'></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<div><b>out {out} ({CHANNELS[out]})</b> &nbsp; bias = "
        f"<span style='background:{_tint(bias, scale, base)}'>{format_weight(bias).strip()}</span></div>"
        f"<table cellspacing='0' cellpadding='2'><tr>{head}</tr>{''.join(rows)}</table>"
    )


class _ReflowRow(QWidget):
    """Widgets side by side when they fit, stacked when the panel is narrow."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._box.setSpacing(18)
        self._box.addStretch(1)
        self._items: list[QWidget] = []

    def add(self, widget: QWidget) -> None:
        self._box.insertWidget(len(self._items), widget)
        self._items.append(widget)

    def _row_width(self) -> int:
        hints = [w.sizeHint().width() for w in self._items]
        return sum(hints) + self._box.spacing() * max(len(hints) - 1, 0)

    def minimumSizeHint(self) -> QSize:
        widest = max((w.minimumSizeHint().width() for w in self._items), default=0)
        return QSize(widest, super().minimumSizeHint().height())

    def resizeEvent(self, event):
        wide = event.size().width() >= self._row_width()
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self._box.direction() != direction:
            self._box.setDirection(direction)
        super().resizeEvent(event)


class DemoConvPanel(QWidget):
    """Input, output and the three output channels of one 3→3 conv, its kernel, and controls."""

    specChanged = Signal(dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._weight: np.ndarray | None = None
        self._bias: np.ndarray | None = None
        self._custom: tuple[np.ndarray, np.ndarray] | None = None
        self._active_preset = "random"  # the preset in use; the combo returns to it on Cancel
        self.kernel_dialog: KernelEditorDialog | None = None

        intro = QLabel(EXPLANATION)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)

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
        self.busy_label = QLabel("computing…")
        self.busy_label.setStyleSheet(f"color: {muted_colour(self).name()}; font-style: italic;")
        self.busy_label.setVisible(False)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Preset:"))
        controls.addWidget(self.preset_combo)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Seed:"))
        controls.addWidget(self.seed_spin)
        controls.addWidget(self.reseed_button)
        controls.addSpacing(12)
        controls.addWidget(self.edit_button)
        controls.addStretch(1)
        controls.addWidget(self.busy_label)

        # Five pictures with captions.
        pictures = QGridLayout()
        pictures.setHorizontalSpacing(8)
        self.views: list[ScaledPixmapLabel] = []
        self.captions: list[QLabel] = []
        titles = ["Input", "Output (RGB)", "Channel 0", "Channel 1", "Channel 2"]
        for col, title in enumerate(titles):
            view = ScaledPixmapLabel()
            caption = QLabel(f"<b>{title}</b>")
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            caption.setWordWrap(True)
            pictures.addWidget(view, 0, col)
            pictures.addWidget(caption, 1, col)
            pictures.setColumnStretch(col, 1)
            self.views.append(view)
            self.captions.append(caption)
        self.input_view, self.output_view = self.views[0], self.views[1]
        self.channel_views = self.views[2:]

        # The kernel as numbers, one block per output channel.
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(self.font().pointSizeF() - 1, 7))
        self.kernel_view = _ReflowRow()
        self.kernel_labels: list[QLabel] = []
        for _ in range(3):
            label = QLabel()
            label.setFont(mono)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self.kernel_view.add(label)
            self.kernel_labels.append(label)
        self.kernel_title = QLabel("<b>Kernel</b> weight[out, in, 3, 3] and bias "
                                   "(<span style='color:#2563eb'>blue</span> positive, "
                                   "<span style='color:#dc2626'>red</span> negative)")
        self.note_label = QLabel()
        self.note_label.setStyleSheet(f"color: {muted_colour(self).name()};")
        self.note_label.setVisible(False)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(controls)
        layout.addLayout(pictures)
        layout.addWidget(self.note_label)
        layout.addSpacing(6)
        layout.addWidget(self.kernel_title)
        layout.addWidget(self.kernel_view)
        layout.addStretch(1)

        self.preset_combo.currentTextChanged.connect(self._on_preset_changed)
        self.seed_spin.valueChanged.connect(self._on_seed_changed)
        self.reseed_button.clicked.connect(self.reseed)
        self.edit_button.clicked.connect(self.open_kernel_editor)

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
                   note: str | None = None) -> None:
        """Show a computed demo: the pictures, the channel ranges and the kernel numbers."""
        channels = np.asarray(channels, np.float32)
        weight = np.asarray(weight, np.float32)
        bias = np.asarray(bias, np.float32)
        if channels.ndim != 3 or channels.shape[0] != 3:
            raise ValueError(f"channels must be (3, H, W), got {channels.shape}")
        if weight.shape != (3, 3, 3, 3) or bias.shape != (3,):
            raise ValueError(f"kernel must be (3, 3, 3, 3) with bias (3,), got {weight.shape}, {bias.shape}")

        self.input_view.set_source(QPixmap.fromImage(rgb_to_qimage(input_rgb)))
        self.output_view.set_source(QPixmap.fromImage(rgb_to_qimage(output_rgb)))
        h, w = np.asarray(input_rgb).shape[:2]
        self.captions[0].setText(f"<b>Input</b><br>{w}×{h}")
        self.captions[1].setText("<b>Output (RGB)</b><br>clip(out·255)")
        for c in range(3):
            ch = channels[c]
            lo, hi = float(ch.min()), float(ch.max())
            self.channel_views[c].set_source(QPixmap.fromImage(rgb_to_qimage(colorize(ch, lo, hi, DEFAULT_COLORMAP))))
            self.captions[2 + c].setText(f"<b>Channel {c}</b> ({CHANNELS[c]})<br>min&nbsp;{lo:.3f} · max&nbsp;{hi:.3f}")

        self._weight, self._bias = weight.copy(), bias.copy()
        if preset == "custom":
            self._custom = (weight.copy(), bias.copy())
        self._show_kernel(weight, bias)
        self._sync_controls(preset, seed)
        self.note_label.setText(note or "")
        self.note_label.setVisible(bool(note))

    def _show_kernel(self, weight: np.ndarray, bias: np.ndarray) -> None:
        scale = float(max(np.abs(weight).max(), np.abs(bias).max(), 1e-12))
        base = self.palette().color(QPalette.ColorRole.Window)
        muted = muted_colour(self)
        for o, label in enumerate(self.kernel_labels):
            label.setText(kernel_block_html(weight[o], float(bias[o]), o, scale, base, muted))

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
