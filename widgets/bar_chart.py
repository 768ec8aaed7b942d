"""A bar chart of a 1-D layer output (the linear layers), strongest units named.

Linear layers have no spatial map to tile, so ChannelGrid shows this chart instead
of its mosaic. For the last layer the caller passes the class names, and the
largest bars are labelled with them so the prediction is readable at a glance; its
values are logits, and the value axis says so. The value range always holds 0 and
every bar of either sign; a chart of a few units has a tick per unit.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

BAR_COLOUR = (95, 150, 210)
TOP_COLOUR = (255, 159, 26)
LABEL_COLOUR = (225, 225, 225)
TOP_COUNT = 10
MAX_LABEL_CHARS = 22
FEW_UNITS = 20      # up to this many units: a tick per unit and gaps between the bars


class BarChart(QWidget):
    """One bar per unit (x = unit index); the ``top`` largest bars are highlighted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values: np.ndarray | None = None
        self._labels: list[str] | None = None
        self._labelled: list[tuple[int, str]] = []
        self._texts: list[pg.TextItem] = []
        self._value_label = "activation"

        self._plot = pg.PlotWidget()
        self._plot.setMenuEnabled(False)
        self._plot.hideButtons()
        self._plot.setLabel("bottom", "unit index")
        self._plot.setLabel("left", "activation")
        self._plot.getAxis("left").enableAutoSIPrefix(False)   # "(x0.001)" next to a logit misleads
        self._plot.showGrid(y=True, alpha=0.25)
        # One BarGraphItem, no outlines: it caches the bars in a QPicture, ~5× cheaper to paint
        # 4096 units than a filled step curve (which pyqtgraph splits into many small fills).
        self._bars = pg.BarGraphItem(x=[], height=[], width=1.0, pen=None, brush=pg.mkBrush(*BAR_COLOUR))
        self._top = pg.BarGraphItem(x=[0], height=[0], width=0.9,
                                    pen=pg.mkPen(TOP_COLOUR, width=2), brush=pg.mkBrush(TOP_COLOUR))
        self._top.setVisible(False)
        self._leaders = pg.PlotDataItem(pen=pg.mkPen(LABEL_COLOUR, width=1, style=Qt.PenStyle.DotLine))
        self._in_layout = False
        self._plot.addItem(self._bars)
        self._plot.addItem(self._top)
        self._plot.addItem(self._leaders, ignoreBounds=True)
        vb = self._plot.getViewBox()
        vb.sigResized.connect(self._layout_labels)
        vb.sigRangeChangedManually.connect(self._on_manual_range)

        self._readout = QLabel(" ")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._plot, 1)
        layout.addWidget(self._readout)
        self._plot.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # ------------------------------------------------------------------ public API
    def set_values(self, values: np.ndarray, labels: list[str] | None = None, top: int = TOP_COUNT,
                   value_label: str | None = None) -> None:
        """Show ``values`` (1-D); with ``labels`` (one per unit) name the ``top`` largest bars.

        ``value_label`` names the value axis; by default "logit" with labels (the class
        layer, whose outputs go into the softmax), else "activation"."""
        values = np.asarray(values, dtype=np.float32)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"bar chart needs a non-empty 1-D array, got shape {values.shape}")
        if labels is not None and len(labels) != values.size:
            raise ValueError(f"got {len(labels)} labels for {values.size} values")
        if not np.isfinite(values).all():
            raise ValueError("bar chart values contain NaN or infinity")
        self._values = values
        self._labels = list(labels) if labels is not None else None
        self._value_label = value_label or ("logit" if labels is not None else "activation")
        self._plot.setLabel("left", self._value_label)
        self._plot.setLabel("bottom", "class index" if labels is not None else "unit index")
        n = values.size
        few = n <= FEW_UNITS
        width = 0.8 if few else 1.0
        self._bars.setOpts(x=np.arange(n, dtype=np.float32), height=values, width=width)

        k = min(top, n)
        order = np.argsort(-values, kind="stable")[:k]
        # Highlight the top bars; when every bar is "top" (a 2-class model) only the winner.
        lit = order if n > top else order[:1]
        self._top.setOpts(x=lit.astype(np.float32), height=values[lit], width=width if few else 0.9)
        self._top.setVisible(k > 0)
        self._set_texts(order)
        bottom = self._plot.getAxis("bottom")
        bottom.setTicks([[(i, str(i)) for i in range(n)]] if few else None)

        self._plot.setXRange(-0.5, n - 0.5, padding=0.01)
        self._plot.setYRange(*self.value_range(), padding=0)
        self._layout_labels()
        top_name = f" ({self._labels[int(order[0])]})" if self._labels is not None else ""
        self._readout.setText(f"{n} units · max {self._value_label} {values.max():.4g} "
                              f"at unit {int(order[0])}{top_name}")

    def value_range(self) -> tuple[float, float]:
        """The value axis range to start from: 0 and every bar inside, with a margin on both
        signs (and head-room above the tallest bar for its label)."""
        values = self._values
        lo, hi = min(0.0, float(values.min())), max(0.0, float(values.max()))
        span = hi - lo or 1.0
        return (lo - (0.08 * span if lo < 0 else 0.02 * span),
                hi + (0.12 if self._labels else 0.05) * span)

    def value_label(self) -> str:
        """What the value axis says ("logit", "activation")."""
        return self._value_label

    def clear(self) -> None:
        """Remove the bars and labels."""
        self._values = None
        self._labels = None
        self._bars.setOpts(x=[], height=[], width=1.0)
        self._top.setVisible(False)
        self._set_texts(np.empty(0, dtype=np.intp))
        self._readout.setText(" ")

    def values(self) -> np.ndarray | None:
        """The values on show (float32), or None."""
        return self._values

    def labelled(self) -> list[tuple[int, str]]:
        """(unit index, text) of every named bar, largest first."""
        return list(self._labelled)

    def plot_widget(self) -> pg.PlotWidget:
        """The underlying pyqtgraph plot (for export or styling)."""
        return self._plot

    # ------------------------------------------------------------------ internals
    def _set_texts(self, order: np.ndarray) -> None:
        for item in self._texts:
            self._plot.removeItem(item)
        self._texts = []
        self._labelled = []
        self._leaders.setData(x=[], y=[])
        if self._labels is None or self._values is None:
            return
        for rank, idx in enumerate(order):
            name = self._short(self._labels[int(idx)])
            item = pg.TextItem(name, color=TOP_COLOUR if rank == 0 else LABEL_COLOUR, anchor=(0, 0),
                               fill=pg.mkBrush(0, 0, 0, 170))
            if rank == 0:
                font = item.textItem.font()
                font.setBold(True)
                item.setFont(font)
            self._plot.addItem(item, ignoreBounds=True)
            self._texts.append(item)
            self._labelled.append((int(idx), self._labels[int(idx)]))

    def _on_manual_range(self, *_) -> None:
        self._layout_labels()

    def _layout_labels(self, *_) -> None:
        """Put each name just above its bar; where names would collide (neighbouring classes,
        e.g. the cat breeds) stack them upwards, largest lowest, with a leader line to the bar."""
        if not self._texts or self._values is None or self._in_layout:
            return
        self._in_layout = True
        try:
            vb = self._plot.getViewBox()
            for _ in range(8):   # grow the head-room until the highest label fits
                top = self._place_labels(vb)
                frame = vb.sceneBoundingRect()
                if top >= frame.top() + 2:
                    break
                (y0, y1) = vb.viewRange()[1]
                need = (frame.top() + 2 - top) / max(1.0, frame.height())
                vb.setYRange(y0, y1 + (y1 - y0) * need * 2.0, padding=0)  # overshoot: converge in 1-2 steps
        finally:
            self._in_layout = False

    def _place_labels(self, vb) -> float:
        """Greedy placement in scene pixels; returns the top of the highest label."""
        frame = vb.sceneBoundingRect()
        placed: list[QRectF] = []
        xs, ys = [], []
        for item, (idx, _) in zip(self._texts, self._labelled):
            value = max(0.0, float(self._values[idx]))
            bar_top = vb.mapViewToScene(QPointF(idx, value))
            size = item.textItem.boundingRect().size()
            x = min(max(bar_top.x() - size.width() / 2, frame.left() + 2), frame.right() - size.width() - 2)
            rect = QRectF(x, bar_top.y() - 3 - size.height(), size.width(), size.height())
            moved = True
            while moved:
                moved = False
                for other in placed:
                    if rect.intersects(other):
                        rect.moveBottom(other.top() - 1)
                        moved = True
            placed.append(rect)
            item.setPos(vb.mapSceneToView(rect.topLeft()))
            if rect.bottom() < bar_top.y() - 4 - size.height() / 2:   # displaced: draw a leader
                foot = vb.mapSceneToView(QPointF(min(max(bar_top.x(), rect.left()), rect.right()), rect.bottom()))
                xs += [float(idx), foot.x()]
                ys += [value, foot.y()]
        self._leaders.setData(x=np.array(xs, dtype=float), y=np.array(ys, dtype=float), connect="pairs")
        return min(r.top() for r in placed)

    @staticmethod
    def _short(name: str) -> str:
        name = str(name)
        return name if len(name) <= MAX_LABEL_CHARS else name[: MAX_LABEL_CHARS - 1] + "…"

    def _on_mouse_moved(self, scene_pos) -> None:
        if self._values is None:
            return
        vb = self._plot.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return
        x = vb.mapSceneToView(scene_pos).x()
        i = int(np.floor(x + 0.5))
        if 0 <= i < self._values.size:
            name = f" ({self._labels[i]})" if self._labels is not None else ""
            self._readout.setText(f"unit {i}{name} = {self._values[i]:.4g}")
