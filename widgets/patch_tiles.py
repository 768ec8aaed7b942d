"""The patch gallery's tiles: one clickable thumbnail of a receptive-field patch, and their layout.

A patch is the part of a photo one unit sees, cropped at the border of the photo, so patches
differ in size and shape. Each one is scaled to fit the same square box with its aspect kept,
letterboxed on the grid's dark background. A patch smaller than the box by a factor of 3
or more (the small fields of early layers) is enlarged without smoothing, so its pixels stay
sharp. Under the box are the rank and the value, then the file name. Long names are elided
in the middle, because names that share a prefix differ near the end. The full path is in
the tooltip. A tile is a focusable button: the hover tint and the pointing hand show that it
can be clicked, and Enter or Space activates it like a click.

:func:`grid_shape` chooses the columns: the largest tiles that show every patch in the
visible area, or, when nothing fits at a readable size, as many columns as fit at that size
(the area then scrolls).
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QWidget

from widgets.class_rows import tint
from widgets.focus_keys import ACTIVATE_KEYS, RepaintOnFocus
from widgets.grid_canvas import BACKGROUND, HIGHLIGHT
from widgets.numbers import fmt_sig
from widgets.qimage import rgb_to_qimage

MIN_TILE, MAX_TILE = 84, 200   # thumbnail box side, logical px
GAP = 6                        # between tiles
PAD = 4                        # inside a tile, around its box and captions
SHARP_FROM = 3.0               # enlarged this many times or more: no smoothing


def check_patch(i: int, patch: dict) -> dict:
    """One patch as the gallery keeps it, or a one-line ValueError. ``patch`` holds "image"
    (uint8 (H, W, 3)), "path" and "value"."""
    try:
        image, path, value = patch["image"], patch["path"], patch["value"]
    except (KeyError, TypeError):
        raise ValueError(f"patch {i} needs 'image', 'path' and 'value'") from None
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or min(image.shape[:2]) == 0:
        raise ValueError(f"patch {i} ({path}): the image must be a non-empty uint8 (H, W, 3) array, "
                         f"got {image.dtype} {image.shape}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"patch {i} ({path}): the value is {value}")
    return {**patch, "image": image, "path": str(path), "value": value}


def grid_shape(n: int, width: int, height: int, caption_h: int) -> tuple[int, int]:
    """(columns, box side) for ``n`` tiles in an area ``width`` × ``height`` (logical px). The largest
    box up to MAX_TILE with which every tile is on show. Ties go to fewer empty places in the last
    row, then to fewer columns. If no box of MIN_TILE fits, as many columns of MIN_TILE (or more)
    as the width holds, and the rows scroll."""
    n = max(1, int(n))
    best = None
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        by_width = (width - GAP * (cols - 1)) // cols - 2 * PAD
        by_height = (height - GAP * (rows - 1)) // rows - 2 * PAD - caption_h
        side = min(MAX_TILE, by_width, by_height)
        key = (side, -(rows * cols - n), -cols)
        if best is None or key > best[0]:
            best = (key, cols, side)
    if best[2] >= MIN_TILE:
        return best[1], best[2]
    cols = max(1, min(n, (width + GAP) // (MIN_TILE + 2 * PAD + GAP)))
    return cols, int(max(MIN_TILE // 2, min(MAX_TILE, (width - GAP * (cols - 1)) // cols - 2 * PAD)))


class PatchTile(RepaintOnFocus, QWidget):
    """One patch: its thumbnail, "rank. value" and the file name. ``activated(path)`` on a click,
    Enter or Space. The owner handles the arrow keys (``keyPressed(tile, key)``)."""

    activated = Signal(str)
    keyPressed = Signal(object, int)

    def __init__(self, rank: int, patch: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rank, self.patch = int(rank), patch
        self.path, self.value = patch["path"], patch["value"]
        self._image = rgb_to_qimage(patch["image"])
        self._scaled: tuple[tuple, QPixmap] | None = None
        self._box = 96
        self.current = False
        self._hover = False
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_Hover, True)
        h, w = patch["image"].shape[:2]
        where = f" at (y {patch['y']}, x {patch['x']})" if "y" in patch and "x" in patch else ""
        self.setToolTip(f"{self.path}\nrank {self.rank} · max {fmt_sig(self.value, 4)}{where} · patch {w}×{h} px\n"
                        "Click (or Enter) to open this image")
        self._small, self._bold = caption_fonts(self.font())

    # ------------------------------------------------------------------ geometry
    def set_box(self, side: int) -> None:
        """The thumbnail box's side; the tile is that plus its padding and the two caption lines."""
        self._box = int(side)
        self.setFixedSize(self.tile_size(side))

    def tile_size(self, side: int) -> QSize:
        return QSize(side + 2 * PAD, side + 2 * PAD + caption_height(self.font()))

    def box_rect(self) -> QRect:
        return QRect(PAD, PAD, self._box, self._box)

    def picture_rect(self) -> QRectF:
        """Where the patch is drawn inside the box (aspect kept, centred)."""
        h, w = self.patch["image"].shape[:2]
        scale = self._box / max(h, w)
        pw, ph = w * scale, h * scale
        return QRectF(PAD + (self._box - pw) / 2, PAD + (self._box - ph) / 2, pw, ph)

    def name_text(self) -> str:
        """The file name as painted: elided in the middle to the tile's width."""
        name = self.path.replace("\\", "/").rsplit("/", 1)[-1]
        return QFontMetrics(self._small).elidedText(name, Qt.TextElideMode.ElideMiddle, self._box)

    def value_text(self) -> str:
        return f"max {fmt_sig(self.value)}"

    # ------------------------------------------------------------------ painting
    def _pixmap(self, rect: QRectF) -> QPixmap:
        dpr = self.devicePixelRatioF() or 1.0
        key = (round(rect.width() * dpr), round(rect.height() * dpr))
        if self._scaled is None or self._scaled[0] != key:
            h, w = self.patch["image"].shape[:2]
            sharp = key[0] / w >= SHARP_FROM
            mode = Qt.TransformationMode.FastTransformation if sharp else Qt.TransformationMode.SmoothTransformation
            pix = QPixmap.fromImage(self._image.scaled(max(1, key[0]), max(1, key[1]),
                                                       Qt.AspectRatioMode.IgnoreAspectRatio, mode))
            pix.setDevicePixelRatio(dpr)
            self._scaled = (key, pix)
        return self._scaled[1]

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        pal = self.palette()
        if self._hover or self.hasFocus():
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(tint(self, 0.22 if self.hasFocus() else 0.12))
            p.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        box = self.box_rect()
        p.fillRect(box, BACKGROUND)
        rect = self.picture_rect()
        p.drawPixmap(rect.topLeft(), self._pixmap(rect))
        frame = HIGHLIGHT if self.current else (pal.highlight().color() if self.hasFocus() or self._hover else None)
        if frame is not None:
            pen = QPen(frame, 3 if self.current or self.hasFocus() else 2)
            pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
            p.setPen(pen)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(box).adjusted(-1, -1, 1, 1))
        line = line_height(self.font())
        y = box.bottom() + 3
        text = pal.windowText().color()
        muted = tint_text(self)
        first = QRect(box.left(), y, box.width(), line)
        p.setFont(self._small)
        p.setPen(muted)
        p.drawText(first, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"{self.rank}.")
        p.setFont(self._bold)
        p.setPen(text)
        p.drawText(first, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, self.value_text())
        p.setFont(self._small)
        p.drawText(QRect(box.left(), y + line, box.width(), line),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.name_text())
        p.end()

    # ------------------------------------------------------------------ input
    def event(self, e) -> bool:
        kind = e.type()
        if kind in (e.Type.HoverEnter, e.Type.HoverLeave):
            self._hover = kind == e.Type.HoverEnter
            self.update()
        return super().event(e)

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.activated.emit(self.path)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key in ACTIVATE_KEYS:
            self.activated.emit(self.path)
            return
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home, Qt.Key.Key_End):
            self.keyPressed.emit(self, int(key))
            return
        super().keyPressEvent(event)



def caption_fonts(base: QFont) -> tuple[QFont, QFont]:
    """The captions' fonts (plain and bold), a little smaller than ``base``."""
    small = QFont(base)
    small.setPointSizeF(max(6.5, base.pointSizeF() * 0.85))
    bold = QFont(small)
    bold.setBold(True)
    return small, bold


def line_height(base: QFont) -> int:
    return QFontMetrics(caption_fonts(base)[1]).height() + 1


def caption_height(base: QFont) -> int:
    """The two caption lines under a box (rank and value, file name), with their gap."""
    return 2 * line_height(base) + 4


def tint_text(widget: QWidget) -> QColor:
    """The muted text colour: half-way between the text and the window colour."""
    pal = widget.palette()
    a, b = pal.windowText().color(), pal.window().color()
    return QColor(*[round((x + y) / 2) for x, y in zip(a.getRgb()[:3], b.getRgb()[:3])])
