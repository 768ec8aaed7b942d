"""The selected channel's filter, drawn beside its map: what the window embeds (≈ 300×260 px).

- conv1_1 (3 inputs): the filter as one RGB patch, plus its R, G, B slices on the
  diverging map, all on the filter's own ±max|w|;
- deeper convs: the 16 input slices the caller picked (the largest L2 norms, from
  ``inference.kernel_slices.top_input_slices``; the panel draws, it does not rank),
  labelled with their input channel; a click asks for that channel's map;
- conv1_1's whole bank, one click away once :meth:`KernelPanel.set_bank` gave it, each
  filter on its own ±max|w| as when it is shown alone (the tooltip has the numbers).

Numbers show on hover everywhere. API::

    top = top_input_slices(W, c)                       # W: [Cout, Cin, kh, kw], off the widget
    panel.set_kernel("conv3_1 · filter 37", W[c], float(B[c]), c, top=top)
    panel.set_bank(W1)                                 # conv1_1's [64, 3, kh, kw]
    panel.clear("not a conv layer")
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QStackedWidget, QToolButton, QVBoxLayout, QWidget

from widgets.kernel_grids import KernelBank, KernelPatch, KernelSlices
from widgets.kernel_table import NEGATIVE, POSITIVE, muted_colour
from widgets.kernel_view import RGB_NAMES, drawing_limit
from widgets.prediction_text import format_signed

RED = f"<span style='color:{POSITIVE.name()}'>red</span>"
BLUE = f"<span style='color:{NEGATIVE.name()}'>blue</span>"
LEGEND_RGB = f"grey = 0 · slices: {RED} +, {BLUE} −, white 0"
LEGEND_SLICES = f"{RED} +  {BLUE} −  white 0 · hover: values · click: map"
LEGEND_BANK = "grey = 0 · hover: values · click: select that channel"


class KernelPanel(QWidget):
    """A conv filter as patches (RGB for conv1_1, else its strongest input slices), or conv1_1's bank."""

    inputChannelChosen = Signal(int)   # a slice was clicked: show that input channel's map (previous layer)
    bankChannelChosen = Signal(int)    # a bank filter was clicked: select that conv1_1 channel

    def __init__(self, parent=None):
        super().__init__(parent)
        self._bank: np.ndarray | None = None
        self._bank_name = "conv1_1"
        self._title_text = "Filter"
        self._filter_page = None
        self._subtitle_text = ""
        self._legend_text = ""
        muted = muted_colour(self).name()
        small = self.font()
        small.setPointSizeF(max(small.pointSizeF() - 1, 7))

        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bold = self.title.font()
        bold.setBold(True)
        self.title.setFont(bold)
        self.bank_button = QToolButton()
        self.bank_button.setCheckable(True)
        self.bank_button.setAutoRaise(False)
        self.bank_button.setVisible(False)
        self.bank_button.toggled.connect(self._show_page)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.setSpacing(6)
        head.addWidget(self.title, 1)
        head.addWidget(self.bank_button)

        self.subtitle = QLabel()
        self.legend = QLabel()
        for label in (self.subtitle, self.legend):
            label.setFont(small)
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setStyleSheet(f"color: {muted};")

        self.patch = KernelPatch()
        self.rgb_slices = KernelSlices()
        self.rgb_slices.clickable = False   # the photo's R, G, B: there is no previous layer to open
        rgb_page = QWidget()
        rgb_box = QHBoxLayout(rgb_page)
        rgb_box.setContentsMargins(0, 0, 0, 0)
        rgb_box.setSpacing(8)
        rgb_box.addWidget(self.patch, 3)
        rgb_box.addWidget(self.rgb_slices, 1)
        self.slices = KernelSlices()
        self.slices.inputChannelChosen.connect(self.inputChannelChosen)
        self.bank = KernelBank()
        self.bank.channelChosen.connect(self.bankChannelChosen)
        self.note = QLabel()
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {muted}; font-style: italic;")
        self.stack = QStackedWidget()
        for page in (rgb_page, self.slices, self.bank, self.note):
            self.stack.addWidget(page)
        self._rgb_page = rgb_page

        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.setSpacing(3)
        box.addLayout(head)
        box.addWidget(self.subtitle)
        box.addWidget(self.stack, 1)
        box.addWidget(self.legend)
        self.clear("no layer selected")

    def sizeHint(self) -> QSize:
        return QSize(300, 260)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, 140)

    # --- input from the app (never emits) ----------------------------------------
    def set_kernel(self, title: str, weight, bias: float | None, out_channel: int,
                   input_labels: list[str] | None = None, top=None, limit: float | None = None) -> None:
        """Show filter ``out_channel``: ``weight`` [Cin, kh, kw] and its ``bias``.

        Cin == 3: the RGB patch (and its R, G, B slices), on the filter's own ±max|w|.
        Otherwise the slices ``top = (indices, slices [k, kh, kw], norms)`` (the caller's
        choice, e.g. top_input_slices); without ``top`` a filter of at most 16 inputs shows
        them all in order. ``input_labels`` names the input channels ("in 37" by default);
        ``limit`` overrides the slices' shared scale (max |w| of those drawn)."""
        weight = np.asarray(weight, dtype=np.float32)
        if weight.ndim != 3:
            raise ValueError(f"a filter is [Cin, kh, kw], got shape {weight.shape}")
        cin = weight.shape[0]
        bias_text = "no bias" if bias is None else f"bias {format_signed(float(bias), 3)}"
        self._title_text = title
        if cin == 3:
            lim = drawing_limit(weight) if limit is None else float(limit)
            self.patch.set_filter(weight, lim, title)
            self.rgb_slices.set_slices([0, 1, 2], weight, lim, list(input_labels or RGB_NAMES), hint="")
            subtitle = f"{bias_text} · {weight.shape[1]}×{weight.shape[2]} over the photo's R, G, B, ±{format_signed(lim, 3)}"
            page, legend = self._rgb_page, LEGEND_RGB
        else:
            if top is None:
                if cin > 16:
                    raise ValueError(f"{cin} input slices: pass top=(indices, slices, norms), e.g. top_input_slices")
                top = (np.arange(cin), weight, None)
            indices, slices, norms = top
            self.slices.set_slices(indices, slices, limit, input_labels, norms)
            shown = len(self.slices.indices())
            what = f"{shown} of {cin} inputs, largest L2 norm first" if shown < cin else f"all {cin} inputs"
            subtitle, page, legend = f"{bias_text} · {what}", self.slices, LEGEND_SLICES
        self._select_in_bank(weight, out_channel)
        self._filter_page, self._subtitle_text, self._legend_text = page, subtitle, legend
        self._show_page()

    def set_bank(self, weight, limit: float | None = None, name: str = "conv1_1") -> None:
        """Offer the first conv's filters [N, 3, kh, kw] behind the "Show all N filters" toggle."""
        weight = np.asarray(weight, dtype=np.float32)
        self.bank.set_bank(weight, limit)
        self._bank, self._bank_name = weight, name
        self.bank_button.setText(f"Show all {len(weight)} filters")
        self.bank_button.setToolTip(f"{name}'s {len(weight)} filters as colour patches")
        self.bank_button.setVisible(True)
        self._show_page()

    def clear_bank(self) -> None:
        """No bank (another model): the toggle goes."""
        self._bank = None
        self.bank_button.setChecked(False)
        self.bank_button.setVisible(False)
        self._show_page()

    def clear(self, note: str) -> None:
        """No filter to draw ("not a conv layer"): say why instead."""
        self.note.setText(note)
        self._title_text = "Filter"
        self._filter_page, self._subtitle_text, self._legend_text = self.note, "", ""
        self._show_page()

    def showing_bank(self) -> bool:
        return self.stack.currentWidget() is self.bank

    # --- internals -------------------------------------------------------------------
    def _select_in_bank(self, weight: np.ndarray, out_channel: int) -> None:
        """Outline the bank's filter when the one shown is it (conv1_1), else none."""
        bank = self._bank
        same = (bank is not None and 0 <= out_channel < len(bank) and bank.shape[1:] == weight.shape
                and np.array_equal(bank[out_channel], weight))
        self.bank.set_selected(out_channel if same else None)

    def _show_page(self, _checked: bool | None = None) -> None:
        bank = self._bank is not None and self.bank_button.isChecked()
        if bank:
            n = len(self._bank)
            self.stack.setCurrentWidget(self.bank)
            title = f"{self._bank_name}: all {n} filters"
            self.subtitle.setText("R, G, B at 0.5 + 0.5·w/max|w| of each filter")
            self.legend.setText(LEGEND_BANK)
            self.bank_button.setText("Back to the filter")
        else:
            title = self._title_text
            self.stack.setCurrentWidget(self._filter_page)
            self.subtitle.setText(self._subtitle_text)
            self.legend.setText(self._legend_text)
            if self._bank is not None:
                self.bank_button.setText(f"Show all {len(self._bank)} filters")
        self.title.setText(title)
        self.title.setToolTip(title)
        self.subtitle.setVisible(bool(self.subtitle.text()))
        self.legend.setVisible(bool(self.legend.text()))
