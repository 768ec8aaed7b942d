""""The first idea of all": a single ``nn.Conv2d(3, 3, 3, 1, 1)`` applied to the photo.

Before looking at VGG16's 64-channel layers, students see one tiny convolution
whose 81 weights and 3 biases are all on screen (and editable), next to the picture
it produces and each raw output channel. The panel lives in a short bottom dock, so
it is laid out as one row (controls and pictures, then the kernel numbers to the
right) and only stacks the kernel below — inside a scroll area — when it is narrow.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QPalette, QPixmap
from PySide6.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpacerItem,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from widgets.colormaps import DEFAULT_COLORMAP, colorize
from widgets.kernel_editor import KernelEditorDialog
from widgets.qimage import rgb_to_qimage

EXPLANATION = (
    "<b>nn.Conv2d(3, 3, kernel_size=3, stride=1, padding=1)</b> applied to the photo as "
    "float/\u2060255 — "  # the word joiner keeps "float/255" on one line
    "each output channel sums 3×3 windows of all three input channels, weighted by its kernel, plus a bias."
)
CHANNELS = ("R", "G", "B")
SEED_MAX = 2**31 - 1
_POS = QColor(59, 130, 246)  # positive weights tinted blue
_NEG = QColor(239, 68, 68)  # negative weights tinted red
_PICTURE_GAP = 8  # pixels between two pictures
_CAPTION_GAP = 2  # pixels between a picture and its caption
_MIN_PICTURE_WIDTH = 80  # below this the kernel moves under the pictures


class ScaledPixmapLabel(QLabel):
    """A QLabel that shows its pixmap scaled to fit, aspect ratio kept, re-scaled on resize."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._source = QPixmap()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(16, 12)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_source(self, pixmap: QPixmap) -> None:
        """Show ``pixmap`` (kept at full resolution; the label shows a scaled copy)."""
        self._source = QPixmap(pixmap)
        self._rescale()

    def source_pixmap(self) -> QPixmap:
        """The full-resolution pixmap last given to set_source."""
        return self._source

    def clear_source(self) -> None:
        self._source = QPixmap()
        self.clear()

    def aspect(self) -> float:
        """Height / width of the picture (2/3 before any picture arrives)."""
        if self._source.isNull() or self._source.width() == 0:
            return 2 / 3
        return self._source.height() / self._source.width()

    def sizeHint(self) -> QSize:
        return QSize(150, round(150 * self.aspect()))

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


class PictureStrip(QWidget):
    """Pictures side by side, each with its caption underneath, all the same size.

    The pictures grow with the strip's height and width (aspect kept). With
    ``fit_width`` on, the strip asks for the height its width needs (used when it
    sits in a vertically scrolling column); otherwise it takes whatever height it gets.
    """

    def __init__(self, views: list[ScaledPixmapLabel], captions: list[QLabel], parent=None):
        super().__init__(parent)
        self.views, self.captions = views, captions
        self._fit_width = False
        for view, caption in zip(views, captions):
            view.setParent(self)
            caption.setParent(self)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_fit_width(self, on: bool) -> None:
        if on != self._fit_width:
            self._fit_width = on
            self.updateGeometry()

    def fit_width(self) -> bool:
        return self._fit_width

    def refresh(self) -> None:
        """Re-place everything after the pictures' aspect or the captions' text changed."""
        self.updateGeometry()
        self._place()

    def column_width(self, width: int) -> int:
        """Width of one picture's column when the strip is ``width`` wide."""
        n = len(self.views)
        return max((width - _PICTURE_GAP * (n - 1)) // n, 1)

    def caption_height(self, column: int) -> int:
        """Height of the tallest caption in a column ``column`` wide."""
        return max(c.heightForWidth(column) if c.wordWrap() else c.sizeHint().height() for c in self.captions)

    def _aspect(self) -> float:
        return self.views[0].aspect() if self.views else 2 / 3

    def _min_picture_height(self) -> int:
        return round(_MIN_PICTURE_WIDTH * self._aspect() * 0.75)

    def minimumSizeHint(self) -> QSize:
        n = len(self.views)
        width = n * _MIN_PICTURE_WIDTH + (n - 1) * _PICTURE_GAP
        return QSize(width, self._min_picture_height() + _CAPTION_GAP + self.caption_height(_MIN_PICTURE_WIDTH))

    def sizeHint(self) -> QSize:
        n = len(self.views)
        width = n * 150 + (n - 1) * _PICTURE_GAP
        if self._fit_width:
            return QSize(width, self.heightForWidth(width))
        return QSize(width, self.minimumSizeHint().height())  # grows into whatever height the dock has

    def hasHeightForWidth(self) -> bool:
        return self._fit_width

    def heightForWidth(self, width: int) -> int:
        column = self.column_width(width)
        return round(column * self._aspect()) + _CAPTION_GAP + self.caption_height(column)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._place()

    def _place(self) -> None:
        if not self.views:
            return
        # Never taller than the pictures can use at this width: spare height goes below, not in between.
        self.setMaximumHeight(max(self.heightForWidth(self.width()), self.minimumSizeHint().height()))
        column = self.column_width(self.width())
        caption_h = self.caption_height(column)
        aspect = self._aspect()
        picture_h = max(min(self.height() - caption_h - _CAPTION_GAP, round(column * aspect)), 1)
        for i, (view, caption) in enumerate(zip(self.views, self.captions)):
            x = i * (column + _PICTURE_GAP)
            view.setGeometry(x, 0, column, picture_h)
            caption.setGeometry(x, picture_h + _CAPTION_GAP, column, caption_h)


def format_weight(value: float) -> str:
    """One kernel number as shown in the panel: 2 decimals (the editor and tooltip have more)."""
    return f"{float(value):.2f}"


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
                      muted: QColor, header: bool = False, chars: int = 5) -> str:
    """HTML for output channel ``out`` on one line: its 3×3 matrices for in R, G, B, then its bias.

    ``header`` adds a first row naming the columns (for the first block only); every
    number is padded to ``chars`` characters so the blocks' columns line up.
    """
    gap = "<td width='7'></td>"

    def number(v: float) -> str:
        text = format_weight(v)
        text = "&nbsp;" * max(chars - len(text), 0) + text
        return text if v != 0 else f"<span style='color:{muted.name()}'>{text}</span>"

    rows = []
    if header:
        cells = ["<td></td>", gap]
        for i in range(3):
            cells.append(f"<td colspan='3' align='center'>in {CHANNELS[i]}</td>")
            cells.append(gap)
        cells.append("<td align='center'>bias</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    for r in range(3):
        cells = []
        if r == 0:
            cells += [f"<td rowspan='3' valign='middle' align='center'><b>out {out}</b><br>({CHANNELS[out]})</td>",
                      "<td rowspan='3' width='7'></td>"]
        for i in range(3):
            for c in range(3):
                v = float(weight[i, r, c])
                cells.append(f"<td align='right' bgcolor='{_tint(v, scale, base)}'>{number(v)}</td>")
            cells.append(gap)
        if r == 0:
            cells.append(f"<td rowspan='3' valign='middle' align='right' bgcolor='{_tint(bias, scale, base)}'>"
                         f"{number(bias)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table cellspacing='0' cellpadding='1'>{''.join(rows)}</table>"


def kernel_block_tooltip(weight: np.ndarray, bias: float, out: int) -> str:
    """The exact numbers of output channel ``out`` (4 decimals), for the hover tooltip."""
    lines = [f"out {out} ({CHANNELS[out]}): weight[{out}, in, row, col], bias = {float(bias):.4f}"]
    for r in range(3):
        lines.append("   ".join(" ".join(f"{float(weight[i, r, c]):8.4f}" for c in range(3)) for i in range(3)))
    return "<pre>" + "\n".join(lines) + "</pre>"


class _SideOrBelow(QWidget):
    """``main`` with ``side`` to its right, or ``side`` under ``main`` (the owner decides which)."""

    def __init__(self, main: QWidget, side: QWidget, parent=None):
        super().__init__(parent)
        self._side_by_side = True
        self._box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self._box.setContentsMargins(6, 4, 6, 4)
        self._box.setSpacing(14)
        self._box.addWidget(main, 1)
        self._box.addWidget(side, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._tail = QSpacerItem(0, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Minimum)
        self._box.addItem(self._tail)  # takes spare height when stacked, so nothing floats apart

    def spacing(self) -> int:
        return self._box.spacing()

    def margins(self):
        return self._box.contentsMargins()

    def is_side_by_side(self) -> bool:
        return self._side_by_side

    def set_side_by_side(self, side: bool) -> None:
        if side == self._side_by_side:
            return
        self._side_by_side = side
        self._box.setDirection(QBoxLayout.Direction.LeftToRight if side else QBoxLayout.Direction.TopToBottom)
        self._box.setStretch(0, 1 if side else 0)
        self._box.setStretch(2, 0 if side else 1)
        self._tail.changeSize(0, 0, QSizePolicy.Policy.Minimum,
                              QSizePolicy.Policy.Minimum if side else QSizePolicy.Policy.Expanding)
        self._box.invalidate()


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
        left_box.addWidget(self.pictures, 1)
        left_box.addWidget(self.note_label)
        left_box.addStretch(0)

        # The kernel as numbers: one line per output channel (in R, G, B blocks, then the bias).
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(self.font().pointSizeF() - 1, 7))
        self.kernel_title = QLabel("<b>Kernel</b> weight[out, in, 3, 3] + bias "
                                   "(<span style='color:#2563eb'>blue</span> positive, "
                                   "<span style='color:#dc2626'>red</span> negative)")
        self.kernel_title.setFont(small)
        self.kernel_view = QWidget()
        kernel_box = QVBoxLayout(self.kernel_view)
        kernel_box.setContentsMargins(0, 0, 0, 0)
        kernel_box.setSpacing(3)
        kernel_box.addWidget(self.kernel_title)
        self.kernel_labels: list[QLabel] = []
        for _ in range(3):
            label = QLabel()
            label.setFont(mono)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            kernel_box.addWidget(label)
            self.kernel_labels.append(label)
        kernel_box.addStretch(1)
        self.kernel_view.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self._show_kernel(np.zeros((3, 3, 3, 3), np.float32), np.zeros(3, np.float32))  # sized before any result

        self._controls, self._left_box = controls, left_box
        self._body = _SideOrBelow(left, self.kernel_view)
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
        height = self._controls.sizeHint().height() + spacing + self.intro.heightForWidth(width) + spacing
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
        beside = min(column * aspect, height - self._column_height(left) - strip.caption_height(column) - _CAPTION_GAP)
        below_height = self._column_height(width) + strip.heightForWidth(width) + self._body.spacing() + kernel.height()
        below = strip.column_width(width) * aspect
        return not (below_height <= height and below > 1.2 * beside)

    def kernel_beside_pictures(self) -> bool:
        """True when the kernel numbers sit to the right of the pictures (else below them)."""
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
        self.pictures.refresh()

        self._weight, self._bias = weight.copy(), bias.copy()
        if preset == "custom":
            self._custom = (weight.copy(), bias.copy())
        self._show_kernel(weight, bias)
        self._sync_controls(preset, seed)
        self.note_label.setText(note or "")
        self.note_label.setVisible(bool(note))
        self._arrange()

    def _show_kernel(self, weight: np.ndarray, bias: np.ndarray) -> None:
        scale = float(max(np.abs(weight).max(), np.abs(bias).max(), 1e-12))
        base = self.palette().color(QPalette.ColorRole.Window)
        muted = muted_colour(self)
        chars = max(len(format_weight(v)) for v in (*weight.ravel(), *bias))
        for o, label in enumerate(self.kernel_labels):
            label.setText(kernel_block_html(weight[o], float(bias[o]), o, scale, base, muted, o == 0, chars))
            label.setToolTip(kernel_block_tooltip(weight[o], float(bias[o]), o))

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
