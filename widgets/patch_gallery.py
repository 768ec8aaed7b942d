"""What one channel looks for across a folder: its top-N patches from a scanned folder.

One photo shows where a channel fires on that photo. What the channel is *for* shows only
across many photos, in the patches where it fires hardest. The Deep Visualization Toolbox's
nine top patches per unit are that view. For one layer and channel this view shows the
top N patches (9 by default, any N). Each patch is the unit's receptive field cropped from
the original image (widgets.patch_tiles draws it). Tiles are ranked, with the channel's value
and the file name. A click, or Enter on a focused tile, emits ``patchActivated(path)`` so
the window can open that image. The arrow keys move between tiles.

The view also shows the states around a scan: nothing scanned yet, fewer hits than N, a scan
in progress (a progress line with images/s and ETA, and Cancel, emitting ``cancelRequested``;
partial results may show meanwhile), and a stale index ("index from other weights"). It
computes nothing. The caller hands it the patches as numpy arrays with plain values, and
the texts.
"""
from __future__ import annotations

import math
from pathlib import PurePath

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QSizePolicy,
                               QStackedWidget, QStyle, QVBoxLayout, QWidget)

from widgets.patch_tiles import GAP, PatchTile, caption_height, check_patch, grid_shape, tint_text

DEFAULT_TOP = 9
MARGIN = 4   # left and right of the tiles
NBSP, WJ = "\u00a0", "\u2060"   # no-break space, word joiner
EMPTY_TEXT = "No folder scanned for this model — File → Scan folder…"
NO_HITS = "The index has no image for this channel."
NO_HITS_YET = "No image for this channel yet: the scan goes on."
NOTE_STYLE = "color: palette(mid); font-style: italic;"
STALE_STYLE = ("QLabel { background: #fff4d6; color: #6b4d00; border: 1px solid #f0d58a;"
               " border-radius: 4px; padding: 3px 6px; }")


def folder_label(folder: str) -> str:
    """A folder as the header names it: its last part and a slash ("cats/")."""
    name = PurePath(str(folder).rstrip("/\\")).name or str(folder)
    return f"{name}/"


def gallery_header(layer: str | None, channel: int | None, shown: int, n_images: int | None = None,
                   folder: str | None = None) -> str:
    """"features.28 · channel 17 · top 9 of 60 images in cats/" (the parts that are known)."""
    parts = [str(layer)] if layer else []
    if channel is not None:
        parts.append(f"channel {int(channel)}")
    top = f"top {shown}"
    if n_images is not None:
        top += f" of {int(n_images):,} {'image' if int(n_images) == 1 else 'images'}"
    if folder:
        top += f" in {folder_label(folder)}"
    parts.append(top)
    return " · ".join(parts)


def format_eta(seconds: float | None) -> str:
    """A remaining time as people read it: "25 s", "3 min 05 s", "1 h 02 min"; "…" when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "…"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def progress_text(done: int, total: int | None, rate: float | None, eta: float | None, folder: str | None) -> str:
    """"Scanning cats/: 120 of 1,000 images · 35.2 images/s · ETA 25 s"."""
    where = f" {folder_label(folder)}" if folder else ""
    count = f"{int(done):,} of {int(total):,} images" if total is not None else f"{int(done):,} images"
    parts = [f"Scanning{where}: {count}"]
    if rate is not None and math.isfinite(rate):
        parts.append(f"{rate:.1f} images{WJ}/{WJ}s")   # never "images/" at a line's end
    if total is not None:
        parts.append(f"ETA {format_eta(eta)}")
    return " · ".join(part.replace(" ", NBSP) for part in parts)   # wrapped between the parts only


def wrapped_label(text: str = "") -> QLabel:
    """Plain text that wraps onto more lines in a narrow dock rather than widening it."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


class _TileArea(QWidget):
    """The tiles, placed by hand in rows (grid_shape chooses the columns), centred."""

    def __init__(self) -> None:
        super().__init__()
        self.tiles: list[PatchTile] = []
        self.cols = 1


class PatchGallery(QWidget):
    """The top-N patches of one channel across a scanned folder.

    Signals: ``patchActivated(str path)`` (a tile clicked, or Enter / Space on it) and
    ``cancelRequested()`` (the progress line's Cancel).

    Setters (numpy and plain values only):
      * ``set_patches(patches, *, top=9, header=None, layer=None, channel=None, n_images=None,
        folder=None, note=None)``: ``patches`` is a list of dicts, best first, each with
        "image" (uint8 (H, W, 3), the receptive field cropped from the photo; sizes may differ),
        "path" (str) and "value" (float), and optionally "y" and "x" (where in the map the
        maximum was, for the tooltip). Only the first ``top`` are shown. ``header`` is the
        header's text, composed from layer, channel, n_images and folder when not given.
        ``note`` says why fewer than ``top`` patches show (a default is written when it is None).
      * ``show_empty(text=EMPTY_TEXT)``: no index (or no channel), with a hint.
      * ``set_progress(done, total=None, rate=None, eta=None, folder=None)``: a scan in progress,
        ``rate`` in images/s and ``eta`` in seconds. ``finish_progress()`` hides it again.
      * ``set_stale(text)``: a warning that the index does not match ("index from other weights").
        "" removes it.
      * ``set_current_path(path)``: frame the tile of the image on show (None: none).
    """

    patchActivated = Signal(str)
    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._patches: list[dict] = []
        self._top = DEFAULT_TOP
        self._current: str | None = None
        self._cancelling = False
        self._build_ui()
        self.setMinimumWidth(240)
        self.show_empty()

    def _build_ui(self) -> None:
        self._header = wrapped_label("Top patches")
        bold = self._header.font()
        bold.setBold(True)
        self._header.setFont(bold)
        self._header.setContentsMargins(4, 2, 4, 0)

        self._stale = QLabel()
        self._stale.setWordWrap(True)
        self._stale.setTextFormat(Qt.TextFormat.PlainText)
        self._stale.setStyleSheet(STALE_STYLE)
        self._stale.setVisible(False)

        self._progress_box = QWidget()
        self._progress_line = wrapped_label()
        self._progress_bar = QProgressBar()
        self._progress_bar.setTextVisible(False)
        self._progress_bar.setFixedHeight(12)
        self._cancel = QPushButton("Cancel")
        self._cancel.setToolTip("Stop the scan: what is done so far is kept, and the next scan resumes from there")
        self._cancel.clicked.connect(self._on_cancel)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self._progress_bar, 1)
        row.addWidget(self._cancel)
        box = QVBoxLayout(self._progress_box)
        box.setContentsMargins(4, 0, 4, 0)
        box.setSpacing(1)
        box.addWidget(self._progress_line)
        box.addLayout(row)
        self._progress_box.setVisible(False)

        self._note = wrapped_label()
        self._note.setStyleSheet(f"color: {tint_text(self).name()}; font-style: italic;")
        self._note.setContentsMargins(4, 0, 4, 0)
        self._note.setVisible(False)

        self._hint = QLabel()
        self._hint.setWordWrap(True)
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint.setStyleSheet(NOTE_STYLE)
        self._hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

        self._area = _TileArea()
        self._scroll = QScrollArea()
        self._scroll.setWidget(self._area)
        self._scroll.setWidgetResizable(False)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._scroll.viewport().installEventFilter(self)

        self._stack = QStackedWidget()
        self._stack.addWidget(self._hint)
        self._stack.addWidget(self._scroll)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self._header)
        layout.addWidget(self._stale)
        layout.addWidget(self._progress_box)
        layout.addWidget(self._note)
        layout.addWidget(self._stack, 1)

    # ------------------------------------------------------------------ content
    def set_patches(self, patches: list[dict], *, top: int = DEFAULT_TOP, header: str | None = None,
                    layer: str | None = None, channel: int | None = None, n_images: int | None = None,
                    folder: str | None = None, note: str | None = None) -> None:
        """Show the first ``top`` of ``patches`` (best first); see the class docstring."""
        top = int(top)
        if top < 1:
            raise ValueError(f"top must be at least 1, got {top}")
        checked = [check_patch(i, p) for i, p in enumerate(list(patches)[:top])]
        self._patches, self._top = checked, top
        shown = len(checked)
        text = header if header is not None else gallery_header(layer, channel, shown, n_images, folder)
        self._header.setText(text)
        if folder:
            self._header.setToolTip(f"{text}\n{folder}")
        if note is None:
            note = self._default_note(shown, top)
        self._note.setText(note)
        self._note.setVisible(bool(note) and shown > 0)
        self._rebuild_tiles()
        if shown:
            self._stack.setCurrentWidget(self._scroll)
        else:
            self._hint.setText(note or (NO_HITS_YET if self.scanning() else NO_HITS))
            self._stack.setCurrentWidget(self._hint)

    def _default_note(self, shown: int, top: int) -> str:
        if shown >= top or shown == 0:
            return ""
        if self.scanning():
            return f"{shown} of the top {top} so far"
        return f"only {shown} of {top}: the index has no more images for this channel"

    def show_empty(self, text: str = EMPTY_TEXT) -> None:
        """No patches to show: ``text`` says why and what to do."""
        self._patches = []
        self._rebuild_tiles()
        self._header.setText("Top patches")
        self._note.setVisible(False)
        self._hint.setText(str(text))
        self._stack.setCurrentWidget(self._hint)

    def set_progress(self, done: int, total: int | None = None, rate: float | None = None,
                     eta: float | None = None, folder: str | None = None) -> None:
        """A scan in progress: ``done`` of ``total`` images, ``rate`` images/s, ``eta`` seconds left."""
        text = progress_text(done, total, rate, eta, folder)
        self._progress_line.setText(text)
        if total:
            self._progress_bar.setRange(0, int(total))
            self._progress_bar.setValue(min(int(done), int(total)))
        else:
            self._progress_bar.setRange(0, 0)   # busy: the total is not known yet
        self._cancel.setEnabled(not self._cancelling)
        self._cancel.setText("Cancelling…" if self._cancelling else "Cancel")
        self._progress_box.setVisible(True)

    def finish_progress(self) -> None:
        """The scan ended (done or cancelled): the progress line goes."""
        self._cancelling = False
        self._progress_box.setVisible(False)
        self._cancel.setEnabled(True)
        self._cancel.setText("Cancel")

    def set_stale(self, text: str) -> None:
        """Why the index may not match what is on show ("index from other weights"); "" hides it."""
        text = " ".join(str(text or "").split())
        self._stale.setText(text)
        self._stale.setToolTip(text)
        self._stale.setVisible(bool(text))

    def set_current_path(self, path: str | None) -> None:
        """Frame the tile of the image on show (the window's photo), if it is among the patches."""
        self._current = None if path is None else str(path)
        for tile in self._area.tiles:
            tile.current = tile.path == self._current
            tile.update()

    # ------------------------------------------------------------------ what is shown (for tests, the lead)
    def tiles(self) -> list[PatchTile]:
        return list(self._area.tiles)

    def header_text(self) -> str:
        return self._header.text()

    def note_text(self) -> str:
        """The line over the tiles (fewer than N), or the hint when there are no tiles."""
        return self._hint.text() if self.state() != "patches" else (self._note.text() if self._note.isVisible() else "")

    def stale_text(self) -> str:
        return self._stale.text() if not self._stale.isHidden() else ""

    def progress_text(self) -> str:
        """The progress line as plain text (without its no-break marks), "" when no scan runs."""
        return self._progress_line.text().replace(NBSP, " ").replace(WJ, "") if self.scanning() else ""

    def scanning(self) -> bool:
        return not self._progress_box.isHidden()

    def state(self) -> str:
        """"empty" (the hint) or "patches"."""
        return "patches" if self._stack.currentWidget() is self._scroll else "empty"

    def cancel_button(self) -> QPushButton:
        return self._cancel

    # ------------------------------------------------------------------ internals
    def _on_cancel(self) -> None:
        self._cancelling = True
        self._cancel.setEnabled(False)
        self._cancel.setText("Cancelling…")
        self.cancelRequested.emit()

    def _rebuild_tiles(self) -> None:
        had_focus = any(t.hasFocus() for t in self._area.tiles)
        for tile in self._area.tiles:
            tile.hide()
            tile.deleteLater()
        self._area.tiles = []
        for rank, patch in enumerate(self._patches, start=1):
            tile = PatchTile(rank, patch, self._area)
            tile.activated.connect(self.patchActivated)
            tile.keyPressed.connect(self._move_focus)
            tile.current = patch["path"] == self._current
            tile.show()
            self._area.tiles.append(tile)
        self._relayout()
        if had_focus and self._area.tiles:
            self._area.tiles[0].setFocus()

    def _relayout(self) -> None:
        tiles = self._area.tiles
        vp = self._scroll.viewport()
        width, height = max(1, vp.width()), max(1, vp.height())
        if not tiles:
            self._area.setFixedSize(width, 1)
            return
        cap = caption_height(self.font())
        slots = max(len(tiles), self._top)   # laid out for the top N: fewer hits keep the same tiles
        width -= 2 * MARGIN
        cols, side = grid_shape(slots, width, height, cap)
        size = tiles[0].tile_size(side)
        rows = math.ceil(len(tiles) / cols)
        total_h = rows * size.height() + (rows - 1) * GAP
        if total_h > height:   # it scrolls: leave room for the bar, so the columns do not flip-flop
            bar = self._scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
            if self._scroll.verticalScrollBar().isHidden():
                width = max(1, width - bar)
            cols, side = grid_shape(slots, width, height, cap)
            size = tiles[0].tile_size(side)
            rows = math.ceil(len(tiles) / cols)
            total_h = rows * size.height() + (rows - 1) * GAP
        self._area.cols = cols
        used = cols * size.width() + (cols - 1) * GAP
        x0 = MARGIN + max(0, (width - used) // 2)
        for i, tile in enumerate(tiles):
            tile.set_box(side)
            r, c = divmod(i, cols)
            tile.move(x0 + c * (size.width() + GAP), r * (size.height() + GAP))
        self._area.setFixedSize(width + 2 * MARGIN, total_h)

    def _move_focus(self, tile: PatchTile, key: int) -> None:
        tiles, cols = self._area.tiles, self._area.cols
        i = tiles.index(tile)
        step = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1, Qt.Key.Key_Up: -cols, Qt.Key.Key_Down: cols}
        if key == Qt.Key.Key_Home:
            j = 0
        elif key == Qt.Key.Key_End:
            j = len(tiles) - 1
        else:
            j = i + step.get(Qt.Key(key), 0)
        if 0 <= j < len(tiles):
            tiles[j].setFocus(Qt.FocusReason.OtherFocusReason)
            self._scroll.ensureWidgetVisible(tiles[j], 0, GAP)

    def eventFilter(self, obj, event) -> bool:
        if obj is self._scroll.viewport() and event.type() == QEvent.Type.Resize:
            self._relayout()
        return super().eventFilter(obj, event)
