"""A/B comparison: one layer and channel under two results, side by side, with what changed.

Pin the result on show as A, then open another image or load other weights for the same
architecture, and that is B. This view shows A's and B's maps of the same layer and channel,
on one colour scale, and B − A on the diverging map (widgets.compare_maps). It also shows
both predictions with their change (widgets.compare_predictions), and the channels whose
mean changed most (widgets.delta_bars). Clicking one of them emits ``channelActivated``, so
the window shows that channel in A and B. Unpin (``unpinRequested``) ends the comparison.
The view computes no statistic of the maps: the ranges and the difference's ±L come from the
caller (the engine's rule, computed on the worker), with the numbers, as numpy arrays and
plain values. It only orders the channel list and subtracts the two probabilities it shows.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QBoxLayout, QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy,
                               QStackedWidget, QVBoxLayout, QWidget)

from widgets.colormaps import AUTO
from widgets.compact import ElidedLabel
from widgets.compare_maps import CompareMaps
from widgets.compare_predictions import ComparePredictions
from widgets.delta_bars import DEFAULT_TOP, DeltaBars
from widgets.patch_tiles import tint_text

HINT = ("Nothing to compare yet. Pin the result on show as A, then open another image or load other "
        "weights for the same model: that is B.")
SIDE_MIN, SIDE_MAX = 220, 340   # the predictions and channel list beside the maps, px
MAPS_CHROME = 150               # px of a maps row that are not maps: titles, colour bars, notes, readout
BELOW_MIN = 180                 # px the predictions and the channel list need when they sit below the maps


class CompareView(QWidget):
    """A and B side by side, the difference, both predictions and the channels that changed most.

    Signals: ``channelActivated(int channel)`` (a row of the channel list clicked, or Enter on it)
    and ``unpinRequested()`` (the Unpin button).

    Setters (numpy arrays and plain values only):
      * ``set_caption(text)``: what is compared, e.g. "features.28 (conv5_3) · channel 17".
      * ``set_maps(a, b, diff=None, note="", titles=("A", "B"), cmap="auto", levels=None,
        diff_level=None, diff_note="")``: ``a`` and ``b`` are float (H, W) maps of the same layer
        and channel (``b`` None while there is no B yet). They share one colour range: ``levels``
        (lo, hi) if given, else their joint min..max (``cmap`` "auto": viridis from 0 for maps >= 0,
        blue–red on 0 if signed). ``diff`` is B − A of the same shape, drawn blue–red over the
        symmetric ±``diff_level`` the caller gives (required with ``diff``; 0 when nothing
        changed), with ``diff_note`` (how L was chosen) under its colour bar. With ``diff`` None,
        ``note`` (one line) takes its place, e.g. why the shapes disagree. ``titles`` e.g.
        ("A: cat.png (ImageNet weights)", "B: cat.png (weights from ft.pth)").
      * ``set_maps_note(text, titles)``: no maps to draw (a vector layer); the rest stays.
      * ``set_predictions(rows, note="")``: dicts with "label", "prob_a", "prob_b" (0..1) and
        optionally "index", "logit_a", "logit_b", shown in the given order with Δ = B − A in
        percentage points; ``note`` (one line) under them, e.g. why there are no rows.
      * ``set_channel_deltas(channels, deltas, top=20, means_a=None, means_b=None, layer="")``:
        each channel's mean in B minus in A (all channels or any subset). The ``top`` largest |Δ|
        show, largest first. The means, when given, go into the tooltips.
      * ``clear_channel_deltas(note="")``: no channel list, ``note`` saying why.
      * ``set_current_channel(channel)``: frame that channel's row (the one on show).
      * ``show_hint(text=HINT, pinned=False)``: a hint instead of the comparison (nothing pinned, or
        with ``pinned`` A pinned and B not there yet: Unpin stays). ``clear()``: the default hint.
    """

    channelActivated = Signal(int)
    unpinRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._build_ui()
        self.show_hint()

    def _build_ui(self) -> None:
        self._caption = ElidedLabel("Compare A and B")
        bold = self._caption.font()
        bold.setBold(True)
        self._caption.setFont(bold)
        self._caption.setContentsMargins(4, 2, 4, 0)
        self.unpin_button = QPushButton("Unpin")
        self.unpin_button.setToolTip("End the comparison: forget A and go back to the single view")
        self.unpin_button.clicked.connect(self.unpinRequested)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 4, 0)
        head.addWidget(self._caption, 1)
        head.addWidget(self.unpin_button)

        self.maps = CompareMaps()
        self.predictions = ComparePredictions()
        self.deltas = DeltaBars()
        self.deltas.channelActivated.connect(self.channelActivated)
        self._deltas_title = QLabel("Channel means, B − A")
        font = self._deltas_title.font()
        font.setBold(True)
        self._deltas_title.setFont(font)
        self._deltas_note = ElidedLabel("", min_width=60)
        self._deltas_note.setStyleSheet(f"color: {tint_text(self).name()};")
        self._deltas_scroll = QScrollArea()
        self._deltas_scroll.setWidget(self.deltas)
        self._deltas_scroll.setWidgetResizable(True)
        self._deltas_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._deltas_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._deltas_scroll.setMinimumHeight(4 * self.deltas.row_height())

        self._predictions_note = ElidedLabel("", min_width=60)
        self._predictions_note.setStyleSheet(f"color: {tint_text(self).name()};")
        predictions = QWidget()
        pred_column = QVBoxLayout(predictions)
        pred_column.setContentsMargins(0, 0, 0, 0)
        pred_column.setSpacing(2)
        pred_column.addWidget(self.predictions)
        pred_column.addWidget(self._predictions_note)
        pred_column.addStretch(1)
        channels = QWidget()
        delta_column = QVBoxLayout(channels)
        delta_column.setContentsMargins(0, 0, 0, 0)
        delta_column.setSpacing(2)
        delta_column.addWidget(self._deltas_title)
        delta_column.addWidget(self._deltas_note)
        delta_column.addWidget(self._deltas_scroll, 1)

        # Beside the maps: the predictions over the channel list, in a column. Below them (a tall view):
        # the two side by side, and the maps get the whole width.
        side = QWidget()
        side.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._side_box = QBoxLayout(QBoxLayout.Direction.TopToBottom, side)
        self._side_box.setContentsMargins(0, 0, 0, 0)
        self._side_box.setSpacing(8)
        self._side_box.addWidget(predictions, 0)
        self._side_box.addWidget(channels, 1)
        self._side = side

        content = QWidget()
        body = QBoxLayout(QBoxLayout.Direction.LeftToRight, content)
        body.setContentsMargins(4, 0, 4, 2)
        body.setSpacing(10)
        body.addWidget(self.maps, 1, Qt.AlignmentFlag.AlignTop)
        body.addWidget(side)
        self._body = body
        self._below = None
        self._arrange(False)

        self._hint = QLabel()
        self._hint.setWordWrap(True)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setStyleSheet("color: palette(mid); font-style: italic;")
        self._hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self._stack = QStackedWidget()
        self._stack.addWidget(self._hint)
        self._stack.addWidget(content)
        self._content = content

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(head)
        layout.addWidget(self._stack, 1)

    # ------------------------------------------------------------------ arrangement
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange(below_is_larger(self.width(), self.height()))

    def _arrange(self, below: bool) -> None:
        """The predictions and channel list beside the maps, or (``below``) under them, side by side."""
        if below == self._below:
            return
        self._below = below
        self._body.setDirection(QBoxLayout.Direction.TopToBottom if below else QBoxLayout.Direction.LeftToRight)
        self._body.setStretch(0, 0 if below else 1)
        self._body.setStretch(1, 1 if below else 0)
        self._side_box.setDirection(QBoxLayout.Direction.LeftToRight if below else QBoxLayout.Direction.TopToBottom)
        self._side_box.setStretch(0, 1 if below else 0)
        self._side_box.setStretch(1, 1)
        self._side.setMinimumWidth(0 if below else SIDE_MIN)
        self._side.setMaximumWidth(16777215 if below else SIDE_MAX)
        self._side.setMinimumHeight(BELOW_MIN if below else 0)
        self._body.invalidate()

    def side_below(self) -> bool:
        """The predictions and channel list sit under the maps (a tall view), not beside them."""
        return bool(self._below)

    # ------------------------------------------------------------------ content
    def set_caption(self, text: str) -> None:
        self._caption.setText(str(text))

    def set_maps(self, a, b, diff=None, note: str = "", titles: tuple[str, str] = ("A", "B"),
                 cmap: str = AUTO, levels: tuple[float, float] | None = None, diff_level: float | None = None,
                 diff_note: str = "") -> None:
        self.maps.set_maps(a, b, diff, note, titles, cmap, levels, diff_level, diff_note)
        self._show_content()

    def set_maps_note(self, text: str, titles: tuple[str, str] = ("A", "B")) -> None:
        self.maps.show_notes(text, titles)
        self._show_content()

    def _show_content(self) -> None:
        self._stack.setCurrentWidget(self._content)
        self.unpin_button.setVisible(True)

    def set_predictions(self, rows: list[dict], note: str = "") -> None:
        self.predictions.set_rows(rows)
        self._predictions_note.setText(str(note))
        self._predictions_note.setVisible(bool(note))

    def set_channel_deltas(self, channels, deltas, top: int = DEFAULT_TOP, means_a=None, means_b=None,
                           layer: str = "") -> None:
        self.deltas.set_deltas(channels, deltas, top, means_a, means_b)
        shown, total = len(self.deltas.channels), self.deltas.total()
        of = f"top {shown} of {total}" if shown < total else f"all {total}"
        self._deltas_note.setText(f"{of}{' in ' + layer if layer else ''} by |Δ| · click to show")
        self._deltas_scroll.verticalScrollBar().setValue(0)

    def clear_channel_deltas(self, note: str = "") -> None:
        """No channel list (B not there yet, or channel counts that disagree); ``note`` says why."""
        self.deltas.clear()
        self._deltas_note.setText(str(note))

    def set_current_channel(self, channel: int | None) -> None:
        self.deltas.set_current_channel(channel)

    def show_hint(self, text: str = HINT, pinned: bool = False) -> None:
        """``text`` instead of the comparison; Unpin shows only if ``pinned`` (A is pinned, B not there)."""
        self._hint.setText(str(text))
        self._stack.setCurrentWidget(self._hint)
        self.unpin_button.setVisible(bool(pinned))

    def clear(self) -> None:
        self.maps.clear()
        self.predictions.clear()
        self._predictions_note.setText("")
        self.deltas.clear()
        self._deltas_note.setText("")
        self.set_caption("Compare A and B")
        self.show_hint()

    # ------------------------------------------------------------------ what is shown
    def caption(self) -> str:
        return self._caption.text()

    def hint_text(self) -> str:
        """The hint when there is nothing to compare, else ""."""
        return self._hint.text() if self._stack.currentWidget() is self._hint else ""

    def deltas_note(self) -> str:
        return self._deltas_note.text()

    def predictions_note(self) -> str:
        return self._predictions_note.text()


def below_is_larger(width: int, height: int) -> bool:
    """Are the three maps larger with the side column under them than beside them? Beside, each gets a
    third of what the column leaves of the width; below, a third of the whole width, but the column's
    height comes off theirs. Each is capped by the height left for it."""
    beside = min((width - SIDE_MAX - 20) / 3, height - MAPS_CHROME)
    below = min((width - 20) / 3, height - MAPS_CHROME - BELOW_MIN)
    return below > 1.1 * beside
