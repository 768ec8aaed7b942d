"""The overlay's read-out: the value under the cursor, and which cell of the map a point is.

Hovering reads out the raw activation under the cursor, value first (a narrow window
cuts the end of the line, not the number), and it follows what is on show: the channel,
or, while a probe's effective field covers the photo, that field. A mixin of
OverlayView, kept apart so that the view is about pictures. A click in native mode
(where the map is shown alone, one square per cell) becomes ``positionClicked(y, x)``
through the same :meth:`_cell_at`, so the probed cell is the one the read-out named.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, Qt

from widgets.numbers import fmt_sig

HINT = "Hover the picture to read activations."


class OverlayReadout:
    """Mixin for OverlayView (needs _fmap, _rect, _native, _label, _cursor, _photo, _readout, _vb,
    _gl, _probe_field_shown, _probe and the signals cursorValue and positionClicked)."""

    def _cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """Channel (row, col) under view coordinates (x, y), or None outside the channel."""
        if self._fmap is None:
            return None
        h, w = self._fmap.shape
        if self._native:
            u, v = x, y
        else:
            rx, ry, rw, rh = self._rect
            u, v = (x - rx) / rw * w, (y - ry) / rh * h
        if not (0 <= u < w and 0 <= v < h):
            return None
        return int(v), int(u)

    def value_at(self, x: float, y: float) -> float | None:
        """Raw activation under photo coords (or native coords in native mode); None outside."""
        cell = self._cell_at(x, y)
        return None if cell is None else float(self._fmap[cell])

    def readout_text(self, x: float, y: float) -> str:
        """The read-out line for view coordinates (x, y): the value first, then where, then
        which channel (a narrow window cuts the end of the line, not the number)."""
        where = f"x={x:.1f}, y={y:.1f}"
        if self._probe_field_shown():
            return self._field_readout(x, y, where)
        if self._fmap is None:
            return where
        cell = self._cell_at(x, y)
        if cell is None:
            return f"{where}: outside the channel" if self._native else f"{where}: outside the network's input"
        r, c = cell
        return f"value {fmt_sig(self._fmap[r, c], 4)} at ({r}, {c}) · {where} · {self._label}"

    def _field_readout(self, x: float, y: float, where: str) -> str:
        """The effective field's value under photo coordinates (x, y), at its own resolution."""
        probe = self._probe
        h, w = probe.erf.shape
        rx, ry, rw, rh = probe.erf_rect
        u, v = (x - rx) / rw * w, (y - ry) / rh * h
        if not (0 <= u < w and 0 <= v < h):
            return f"{where}: outside the network's input"
        return f"field {fmt_sig(probe.erf[int(v), int(u)], 4)} · {where} · {probe.caption}"

    def readout(self) -> str:
        """The readout line on show."""
        return self._readout.text()

    def _refresh_readout(self) -> None:
        """Readout for the channel on show at the last cursor position, or the hint."""
        if self._cursor is None or (self._photo is None and self._fmap is None):
            text = HINT
        else:
            text = self.readout_text(*self._cursor)
        if text != self._readout.text():
            self._readout.setText(text)
            self.cursorValue.emit(text)

    def _on_mouse_moved(self, scene_pos) -> None:
        if self._vb.sceneBoundingRect().contains(scene_pos):
            p = self._vb.mapSceneToView(scene_pos)
            self._cursor = (p.x(), p.y())
        else:
            self._cursor = None
        self._refresh_readout()

    def _on_mouse_clicked(self, event) -> None:
        """A click (not a drag) in native mode on a cell of the map: positionClicked(y, x)."""
        if event.button() != Qt.MouseButton.LeftButton or not self._native or self._fmap is None:
            return
        if not self._vb.sceneBoundingRect().contains(event.scenePos()):
            return
        p = self._vb.mapSceneToView(event.scenePos())
        cell = self._cell_at(p.x(), p.y())
        if cell is not None:
            self.positionClicked.emit(*cell)

    def eventFilter(self, obj, event) -> bool:
        if obj is self._gl.viewport() and event.type() == QEvent.Type.Leave:
            self._cursor = None
            self._refresh_readout()
        return super().eventFilter(obj, event)
