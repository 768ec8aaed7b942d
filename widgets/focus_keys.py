"""What ConvScope's own clickable views share for the keyboard: the keys that activate an item,
and a repaint when focus comes or goes (each view paints its own focus frame)."""
from PySide6.QtCore import Qt

ACTIVATE_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space)


class RepaintOnFocus:
    """Mixin, before the QWidget base: the focus frame appears and goes at once."""

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.update()
