"""The painted side of the channel grid: one canvas widget that draws an index mosaic.

The canvas holds what is on show (the widgets.mosaic index image, its geometry and
tile order, each tile's caption, the current channel, the multi-selection and the probe
marker) and colours only the exposed part of the mosaic through a packed LUT when it
paints. Tile captions, the current channel's frame (orange), the selected channels'
frames (white, a ring outside the orange one, so a tile can show both) and the probe's
cross are drawn with QPainter, so text stays crisp on high-DPI screens; the
index and the value each get their own end of the caption, in a font small enough that
the widest pair fits (no "#125μ -0.00793" collisions). A signed value (a contribution to
a class) is drawn red when it pushes the class up and blue when it pushes it down. A
colormap change is a LUT swap. Clicks (with their modifiers and position), keys, tooltips
and DPR changes go back to its owner, the ChannelGrid, which decides what they mean;
:meth:`MosaicCanvas.map_position` turns a point in a tile back into the map's own cell.
"""
from __future__ import annotations

import math
import weakref

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from widgets.colormaps import DEFAULT_COLORMAP, lut
from widgets.mosaic import BG_INDEX, Geom, source_index

BACKGROUND = QColor(32, 33, 36)
TEXT = QColor(200, 202, 206)
HIGHLIGHT = QColor(255, 159, 26)
SELECTED = QColor(236, 238, 242)   # the multi-selection: a light ring, apart from the orange current frame
HALO = QColor(0, 0, 0, 200)
# Signed captions on the dark background, after the sign convention (red = positive, blue = negative).
POSITIVE = QColor(255, 112, 98)
NEGATIVE = QColor(112, 168, 255)
CAPTION_GAP = 4       # least space between a caption's index and its value, logical px


def packed_lut(name: str) -> np.ndarray:
    """(257,) uint32 0xffRRGGBB: the colormap's 256 colours plus the background at BG_INDEX."""
    table = lut(name).astype(np.uint32)
    packed = np.empty(BG_INDEX + 1, dtype=np.uint32)
    packed[:256] = 0xFF000000 | (table[:, 0] << 16) | (table[:, 1] << 8) | table[:, 2]
    packed[BG_INDEX] = BACKGROUND.rgb() & 0xFFFFFFFF
    return packed


class MosaicCanvas(QWidget):
    """Paints the mosaic; sized to the whole mosaic (it sits in a scroll area).

    ``owner`` provides _click(ch, pos, modifiers), _handle_key(key) -> bool, _tooltip(ch) -> str
    and _relayout(); it is held weakly (the owner owns the canvas: no reference cycle)."""

    def __init__(self, owner) -> None:
        super().__init__()
        self._owner_ref = weakref.ref(owner)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.image: np.ndarray | None = None     # uint16 (rows*cell_h, cols*cell_w), see mosaic.compose
        self.g = Geom()
        self.order = np.empty(0, dtype=np.intp)
        self.pos_of = np.empty(0, dtype=np.intp)
        self.captions: list[str] | None = None    # caption value text per channel
        self.signs: np.ndarray | None = None      # per channel −1/0/+1 when the values are signed
        self.selected: int | None = None          # the current channel (orange frame)
        self.chosen: frozenset[int] = frozenset()  # the multi-selection (light frames)
        self.probe: tuple[int, int, int] | None = None   # (channel, y, x): a cross on that cell
        self.map_shape = (1, 1)
        self._lut32 = packed_lut(DEFAULT_COLORMAP)
        self._font_for: tuple | None = None
        self._caption_font = QFont(self.font())
        self._widths_font, self._widths = "", {}   # each caption text's width in that font

    # ------------------------------------------------------------------ what is shown
    def show_mosaic(self, image: np.ndarray, g: Geom, order: np.ndarray, pos_of: np.ndarray,
                    captions: list[str], signs: np.ndarray | None = None,
                    map_shape: tuple[int, int] = (1, 1)) -> None:
        """``map_shape``: (H, W) of one channel's map, for map_position and the probe's cross."""
        self.image, self.g, self.order, self.pos_of, self.captions = image, g, order, pos_of, captions
        self.signs, self.map_shape = signs, (int(map_shape[0]), int(map_shape[1]))
        self._fit_caption_font()
        self.setFixedSize(math.ceil((g.cols * g.cell_w + 2 * g.pad) / g.dpr),
                          math.ceil((g.rows(order.size) * g.cell_h + 2 * g.pad) / g.dpr))
        self.update()

    def clear_mosaic(self) -> None:
        self.image, self.captions, self.selected, self.signs = None, None, None, None
        self.chosen, self.probe = frozenset(), None
        self.setFixedSize(1, 1)

    # ------------------------------------------------------------------ captions
    def caption(self, ch: int) -> tuple[str, str]:
        """(index text, value text) under channel ``ch``'s tile."""
        return f"#{ch}", self.captions[ch]

    def value_colour(self, ch: int) -> QColor | None:
        """The colour of channel ``ch``'s value text when it is signed (else None: the caption's)."""
        if self.signs is None or self.signs[ch] == 0:
            return None
        return POSITIVE if self.signs[ch] > 0 else NEGATIVE

    def caption_font(self) -> QFont:
        return QFont(self._caption_font)

    def caption_width(self) -> float:
        """The logical width a caption may use: its thumbnail box's, so that neighbouring
        captions keep the cell margins between them."""
        return self.g.tp / self.g.dpr

    def _fit_caption_font(self) -> None:
        """The caption font: 80 % of the widget's, smaller if the widest index + value would not fit."""
        key = (id(self.captions), self.g.cell_w, self.g.dpr)
        if key == self._font_for or self.captions is None:
            return
        font = QFont(self.font())
        base = max(6.5, font.pointSizeF() * 0.8)
        font.setPointSizeF(base)
        widest = self._widest_caption(font) + CAPTION_GAP
        room = self.caption_width()
        if widest > room:
            font.setPointSizeF(base * room / widest * 0.98)
        self._caption_font, self._font_for = font, key

    def _widest_caption(self, font: QFont) -> float:
        """The widest index + value of the captions in ``font``, each text measured once per font:
        measuring 512 captions twice was a quarter of a layer switch."""
        if font.key() != self._widths_font or len(self._widths) > 20000:
            self._widths_font, self._widths = font.key(), {}
        fm, widths = QFontMetricsF(font), self._widths

        def width(text: str) -> float:
            w = widths.get(text)
            if w is None:
                w = widths[text] = fm.horizontalAdvance(text)
            return w
        return max((width(f"#{ch}") + width(text) for ch, text in enumerate(self.captions)), default=0.0)

    def set_colormap(self, name: str) -> None:
        self._lut32 = packed_lut(name)
        self.update()

    def tile_at(self, pos: QPoint) -> int | None:
        """Channel index of the cell under ``pos`` (canvas coordinates), or None."""
        if self.image is None:
            return None
        g = self.g
        k = g.position_at(pos.x() * g.dpr, pos.y() * g.dpr, self.order.size)
        return None if k is None else int(self.order[k])

    def tile_rect(self, index: int) -> QRectF:
        """Where channel ``index``'s thumbnail is drawn, in canvas coordinates."""
        if self.image is None:
            return QRectF()
        g = self.g
        x, y = g.cell_origin(int(self.pos_of[index]))
        return QRectF((x + g.ox) / g.dpr, (y + g.oy) / g.dpr, g.tw / g.dpr, g.th / g.dpr)

    def map_position(self, index: int, pos: QPointF) -> tuple[int, int] | None:
        """The cell (y, x) of channel ``index``'s map drawn under ``pos`` (canvas coordinates),
        or None outside its thumbnail. ``pos`` is the top-left corner of the physical pixel
        under the mouse (what Qt's event positions are); that pixel's centre is mapped back
        through the thumbnail's sampling (mosaic.source_index), so the answer is the cell drawn
        there, for maps enlarged by a whole factor as for maps box-averaged to fit."""
        if self.image is None or not 0 <= int(index) < self.pos_of.size:
            return None
        g = self.g
        cx, cy = g.cell_origin(int(self.pos_of[int(index)]))
        px = math.floor(pos.x() * g.dpr + 1e-6) - (cx + g.ox)
        py = math.floor(pos.y() * g.dpr + 1e-6) - (cy + g.oy)
        h, w = self.map_shape
        y, x = source_index(py, h, g.th), source_index(px, w, g.tw)
        return None if y is None or x is None else (y, x)

    def cell_centre(self, index: int, y: int, x: int) -> QPointF:
        """The centre of map cell (y, x) inside channel ``index``'s thumbnail, canvas coordinates."""
        r = self.tile_rect(index)
        h, w = self.map_shape
        return QPointF(r.x() + (x + 0.5) * r.width() / w, r.y() + (y + 0.5) * r.height() / h)

    # ------------------------------------------------------------------ painting
    def render(self, p: QPainter, area: QRectF, highlight: bool) -> None:
        """Paint the part of the canvas inside ``area`` (logical coords)."""
        p.fillRect(area, BACKGROUND)
        if self.image is None:
            return
        g = self.g
        d, pad = g.dpr, g.pad
        mh, mw = self.image.shape
        x0 = max(0, int(math.floor(area.left() * d)) - pad)
        y0 = max(0, int(math.floor(area.top() * d)) - pad)
        x1 = min(mw, int(math.ceil(area.right() * d)) - pad + 1)
        y1 = min(mh, int(math.ceil(area.bottom() * d)) - pad + 1)
        if x1 > x0 and y1 > y0:
            # Colour only the exposed part: one LUT gather straight into a QImage, one blit.
            img = QImage(x1 - x0, y1 - y0, QImage.Format.Format_RGB32)   # 32-bit rows: no padding
            pixels = np.frombuffer(img.bits(), dtype=np.uint32, count=(x1 - x0) * (y1 - y0))
            np.take(self._lut32, self.image[y0:y1, x0:x1], out=pixels.reshape(y1 - y0, x1 - x0), mode="clip")
            del pixels
            img.setDevicePixelRatio(d)
            p.drawImage(QPointF((x0 + pad) / d, (y0 + pad) / d), img)

        # Captions (index left, value right) and the selection frame, only for exposed rows.
        n = self.order.size
        p.setFont(self._caption_font)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        row0 = max(0, int((area.top() * d - pad) // g.cell_h))
        row1 = min(math.ceil(n / g.cols), int((area.bottom() * d - pad) // g.cell_h) + 1)
        chosen = self.selected if highlight else None
        p.setPen(TEXT)        # one pen for all captions (few Qt calls per tile)
        for pos in range(row0 * g.cols, min(n, row1 * g.cols)):
            if int(self.order[pos]) != chosen:
                self._draw_caption(p, pos)
        if not highlight:
            return
        p.setBrush(Qt.BrushStyle.NoBrush)
        first, last = row0 * g.cols, min(n, row1 * g.cols)
        if self.chosen:
            pen = QPen(SELECTED, 2)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            p.setPen(pen)
            for ch in self.chosen:
                if first <= self.pos_of[ch] < last:
                    p.drawRect(self.tile_rect(ch).adjusted(-4, -4, 4, 4))   # outside the orange frame
        if chosen is not None:
            p.setPen(HIGHLIGHT)
            self._draw_caption(p, int(self.pos_of[chosen]))
            pen = QPen(HIGHLIGHT, 3)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            p.setPen(pen)
            p.drawRect(self.tile_rect(chosen).adjusted(-1.5, -1.5, 1.5, 1.5))
        if self.probe is not None and first <= self.pos_of[self.probe[0]] < last:
            self._draw_cross(p, *self.probe)

    def _draw_cross(self, p: QPainter, ch: int, y: int, x: int) -> None:
        """A small cross on map cell (y, x) of channel ``ch``: white on a dark halo, so it reads on
        any colour; its arms reach past the cell (a 14×14 map's cells are 5 px)."""
        c = self.cell_centre(ch, y, x)
        r = self.tile_rect(ch)
        arm = max(5.0, 0.8 * r.width() / self.map_shape[1], 0.8 * r.height() / self.map_shape[0])
        lines = [(QPointF(c.x() - arm, c.y()), QPointF(c.x() + arm, c.y())),
                 (QPointF(c.x(), c.y() - arm), QPointF(c.x(), c.y() + arm))]
        p.save()
        p.setClipRect(r)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        for colour, width in ((HALO, 3.5), (SELECTED, 1.5)):
            p.setPen(QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
            for a, b in lines:
                p.drawLine(a, b)
        p.restore()

    def caption_rect(self, ch: int) -> QRectF:
        """Where channel ``ch``'s caption is drawn, in canvas coordinates."""
        g, d = self.g, self.g.dpr
        cx, cy = g.cell_origin(int(self.pos_of[ch]))
        return QRectF((cx + g.m) / d, (cy + g.m + g.tp) / d, self.caption_width(), g.lab / d)

    def _draw_caption(self, p: QPainter, pos: int) -> None:
        """Index (left) and the sorted-by statistic (right) under the thumbnail at ``pos``."""
        ch = int(self.order[pos])
        rect = self.caption_rect(ch)
        index, value = self.caption(ch)
        p.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, index)
        signed = self.value_colour(ch)
        if signed is not None:
            pen = p.pen()
            p.setPen(signed)
        p.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, value)
        if signed is not None:
            p.setPen(pen)

    def grid_image(self) -> QImage:
        """The whole mosaic with captions (no selection frame) at the mosaic's pixel density;
        a null QImage when empty."""
        if self.image is None:
            return QImage()
        d = self.g.dpr
        size = self.size()
        img = QImage(round(size.width() * d), round(size.height() * d), QImage.Format.Format_RGB32)
        img.setDevicePixelRatio(d)
        p = QPainter(img)
        self.render(p, QRectF(0, 0, size.width(), size.height()), highlight=False)
        p.end()
        return img

    # ------------------------------------------------------------------ input → owner
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        self.render(p, QRectF(event.rect()), highlight=True)
        p.end()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            ch = self.tile_at(event.position().toPoint())
            if ch is not None:
                self._owner_ref()._click(ch, event.position(), event.modifiers())
            event.accept()
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event) -> None:
        if not self._owner_ref()._handle_key(event.key()):
            super().keyPressEvent(event)

    def event(self, e) -> bool:
        if e.type() == QEvent.Type.ToolTip:
            ch = self.tile_at(e.pos())
            text = self._owner_ref()._tooltip(ch) if ch is not None else ""
            if text:
                QToolTip.showText(e.globalPos(), text, self)
            else:
                QToolTip.hideText()
                e.ignore()
            return True
        if e.type() == QEvent.Type.DevicePixelRatioChange:
            self._owner_ref()._relayout()
        return super().event(e)
