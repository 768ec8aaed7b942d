"""The demo conv's kernel: drawn with the app's kernel renderer, the numbers on hover or on request.

Each output channel is one row: its filter as an RGB patch (as conv1_1's filters are
drawn), its three input slices on the diverging map (red = positive, blue = negative,
white = 0) and its bias, all on one scale, max |w| over the weights and biases (as the
number table's tints). "Numbers" swaps the pictures for the number table
(:mod:`widgets.kernel_table`); hovering a row shows its exact numbers either way.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QFontDatabase, QPainter, QPalette, QPen
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QSizePolicy, QStackedWidget, QToolButton, QToolTip,
                               QVBoxLayout, QWidget)

from widgets.kernel_table import (CHANNELS, NEGATIVE, POSITIVE, kernel_block_html, kernel_block_tooltip,
                                  muted_colour, number_chars)
from widgets.kernel_view import kernel_rgb_image, kernel_slice_image

SIDE = 33            # px per patch: 11 px per weight
GAP = 6
COLUMNS = ("RGB", "in R", "in G", "in B", "bias")
TITLE = "<b>Kernel</b> weight[out, in, 3, 3] + bias"
LEGEND = (f"<span style='color:{POSITIVE.name()}'>red</span> +, "
          f"<span style='color:{NEGATIVE.name()}'>blue</span> −, white 0 · hover: numbers")


class DemoKernelPictures(QWidget):
    """Three rows (out 0, 1, 2) of five patches: RGB filter, in R, in G, in B, bias."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._weight = np.zeros((3, 3, 3, 3), np.float32)
        self._bias = np.zeros(3, np.float32)
        self._limit = 1.0
        self._images: list[list] = []
        small = self.font()
        small.setPointSizeF(max(small.pointSizeF() - 1.5, 6.5))
        self.setFont(small)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.set_kernel(self._weight, self._bias)

    def set_kernel(self, weight: np.ndarray, bias: np.ndarray) -> None:
        self._weight, self._bias = np.asarray(weight, np.float32), np.asarray(bias, np.float32)
        m = float(max(np.abs(self._weight).max(), np.abs(self._bias).max()))
        self._limit = m if m > 0 and np.isfinite(m) else 1.0
        scale = SIDE // 3
        self._images = [[kernel_rgb_image(self._weight[o], self._limit, scale)]
                        + [kernel_slice_image(self._weight[o, i], self._limit, scale) for i in range(3)]
                        + [kernel_slice_image(self._bias[o:o + 1, None], self._limit, scale)]  # one number: one block
                        for o in range(3)]
        self.update()

    def limit(self) -> float:
        """The ±scale every patch is drawn on."""
        return self._limit

    def image(self, out: int, column: int):
        """The QImage painted for output ``out``, column ``column`` (0 RGB, 1-3 in R/G/B, 4 bias)."""
        return self._images[out][column]

    def _label_width(self) -> int:
        return self.fontMetrics().horizontalAdvance("out 0 (R)") + GAP

    def _header_height(self) -> int:
        return self.fontMetrics().height()

    def _column_x(self, column: int) -> int:
        return self._label_width() + column * (SIDE + GAP) + (GAP if column == 4 else 0)  # the bias stands apart

    def cell_rect(self, out: int, column: int) -> QRect:
        """Where a patch is painted; the bias is one block, centred in its column."""
        x, y = self._column_x(column), self._header_height() + 2 + out * (SIDE + GAP)
        if column == 4:
            block = SIDE // 3
            return QRect(x + block, y + block, block, block)
        return QRect(x, y, SIDE, SIDE)

    def row_at(self, pos) -> int | None:
        """The output channel whose row is under ``pos``, or None."""
        for o in range(3):
            top = self.cell_rect(o, 0).top()
            if top <= pos.y() < top + SIDE:
                return o
        return None

    def sizeHint(self) -> QSize:
        bias_header = self.fontMetrics().horizontalAdvance(COLUMNS[4])
        return QSize(self._column_x(4) + max(SIDE, bias_header) + 2, self.cell_rect(2, 0).bottom() + 2)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def paintEvent(self, event):
        painter = QPainter(self)
        pal = self.palette()
        text, frame = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Mid)
        head = self._header_height()
        painter.setPen(text)
        for c, name in enumerate(COLUMNS):
            painter.drawText(QRect(self._column_x(c) - GAP // 2, 0, SIDE + GAP, head), Qt.AlignmentFlag.AlignCenter, name)
        for o in range(3):
            first = self.cell_rect(o, 0)
            painter.setPen(text)
            painter.drawText(QRect(0, first.top(), self._label_width() - GAP, SIDE),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"out {o} ({CHANNELS[o]})")
            for c in range(5):
                rect = self.cell_rect(o, c)
                painter.drawImage(rect.topLeft(), self._images[o][c])
                painter.setPen(QPen(frame, 1))
                painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.end()

    def event(self, event):
        if event.type() == QEvent.Type.ToolTip:
            out = self.row_at(event.pos())
            if out is None:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(event.globalPos(), kernel_block_tooltip(self._weight[out], float(self._bias[out]), out),
                                  self, QRect(0, self.cell_rect(out, 0).top(), self.width(), SIDE))
            return True
        return super().event(event)


class DemoKernelView(QWidget):
    """The kernel's title, the pictures or the number table, and a legend with the "Numbers" toggle."""

    def __init__(self, parent=None):
        super().__init__(parent)
        small = self.font()
        small.setPointSizeF(max(small.pointSizeF() - 1, 7))
        self.title = QLabel(TITLE)
        self.title.setFont(small)
        self.legend = QLabel(LEGEND)
        self.legend.setFont(small)
        self.legend.setWordWrap(True)
        self.numbers_button = QToolButton()
        self.numbers_button.setText("Numbers")
        self.numbers_button.setCheckable(True)
        self.numbers_button.setFont(small)
        self.numbers_button.setToolTip("Show the 81 weights and 3 biases as numbers (hover a row for 4 decimals)")
        self.numbers_button.toggled.connect(self._show)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.setSpacing(6)
        head.addWidget(self.title, 1)
        head.addWidget(self.numbers_button, 0, Qt.AlignmentFlag.AlignTop)

        self.pictures = DemoKernelPictures()
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(self.font().pointSizeF() - 1, 7))
        self.table = QWidget()
        table_box = QVBoxLayout(self.table)
        table_box.setContentsMargins(0, 0, 0, 0)
        table_box.setSpacing(3)
        self.labels: list[QLabel] = []
        for _ in range(3):
            label = QLabel()
            label.setFont(mono)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            table_box.addWidget(label)
            self.labels.append(label)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.pictures)
        self.stack.addWidget(self.table)

        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(3)
        box.addLayout(head)
        box.addWidget(self.stack, 0, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        box.addWidget(self.legend)
        box.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self.show_kernel(np.zeros((3, 3, 3, 3), np.float32), np.zeros(3, np.float32))  # sized before any result

    def show_kernel(self, weight: np.ndarray, bias: np.ndarray) -> None:
        """Draw ``weight`` [3, 3, 3, 3] and ``bias`` [3] as pictures and as numbers (one of them shows)."""
        self.pictures.set_kernel(weight, bias)
        scale = float(max(np.abs(weight).max(), np.abs(bias).max(), 1e-12))
        base = self.palette().color(QPalette.ColorRole.Window)
        muted = muted_colour(self)
        chars = number_chars(weight, bias)
        for o, label in enumerate(self.labels):
            label.setText(kernel_block_html(weight[o], float(bias[o]), o, scale, base, muted, o == 0, chars))
            label.setToolTip(kernel_block_tooltip(weight[o], float(bias[o]), o))
        self._show()

    def numbers_shown(self) -> bool:
        return self.numbers_button.isChecked()

    def set_numbers_shown(self, on: bool) -> None:
        self.numbers_button.setChecked(on)

    def _show(self, _checked: bool | None = None) -> None:
        page = self.table if self.numbers_button.isChecked() else self.pictures
        self.stack.setCurrentWidget(page)
        self.stack.setFixedSize(page.sizeHint())
        self.legend.setFixedWidth(max(page.sizeHint().width(),
                                      self.title.sizeHint().width() + 6 + self.numbers_button.sizeHint().width()))
        self.updateGeometry()
