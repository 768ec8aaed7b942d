"""Run something once a widget has first painted (start-up ordering and its traces)."""
from PySide6.QtCore import QEvent, QObject


class OnFirstPaint(QObject):
    """Calls ``then()`` when ``widget`` first receives a Paint event (just before it paints)."""

    def __init__(self, widget, then):
        super().__init__(widget)
        self._then = then
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            obj.removeEventFilter(self)
            self._then()
        return False
