"""The one-line message strip at the top of the window, in a space that is always there.

A banner that pushes the views down when it appears (and pulls them up when it
goes) moves the grid under the user's pointer. So the strip keeps one line's
height at all times: a message (red for an error, amber for a warning) when
there is one, else a muted hint on how to start. A long message is elided,
whole in its tooltip and in the status bar.
"""
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QSizePolicy, QStackedLayout, QWidget

HINT = "Drop a photo here, or paste (Ctrl+V) or open (Ctrl+O) one; then pick a layer and a channel."
_STYLES = {
    True: "background: #fde8e8; color: #8a1c1c; border: 1px solid #f0b4b4;",
    False: "background: #fff4d6; color: #6b4d00; border: 1px solid #f0d58a;",
}
_PAD_X, _BORDER = 10, 1
_BOX = f"border-radius: 4px; padding: 4px {_PAD_X}px;"  # bold via setFont, so fontMetrics() elides right


class OneLine(QLabel):
    """One line of plain text, elided to its width; ``text()`` is the whole text."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # never widens the window
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self._full = str(text)
        self.setToolTip(self._full)
        self._elide()

    def text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        """What is painted (the text, elided to fit)."""
        return super().text()

    def _elide(self) -> None:
        # The style sheet's padding and border are inside the label's rect: leave room for them.
        width = max(0, self.width() - 2 * (_PAD_X + _BORDER))
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()


class MessageLabel(OneLine):
    """The message: red for an error, amber for a warning. A click dismisses it."""

    dismissed = Signal()

    def __init__(self, parent=None):
        super().__init__("", parent)
        self.setObjectName("errorBanner")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        bold = QFont(self.font())
        bold.setBold(True)
        self.setFont(bold)
        self.set_error(True)

    def set_error(self, error: bool) -> None:
        self.setProperty("isError", error)
        self.setStyleSheet(f"QLabel#errorBanner {{ {_STYLES[bool(error)]} {_BOX} }}")
        self._elide()

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        self.setToolTip(f"{self.text()}\n(click to dismiss)" if self.text() else "")

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.setVisible(False)
        self.dismissed.emit()


class NoticeArea(QWidget):
    """A fixed-height slot holding the message, or the hint while there is none."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.message = MessageLabel()
        self.hint = OneLine(HINT)
        self.hint.setStyleSheet(f"QLabel {{ color: palette(mid); padding: 4px {_PAD_X}px;"
                                f" border: {_BORDER}px solid transparent; }}")
        self._stack = QStackedLayout(self)
        self._stack.setStackingMode(QStackedLayout.StackingMode.StackOne)
        self._stack.addWidget(self.hint)
        self._stack.addWidget(self.message)
        self.message.dismissed.connect(lambda: self._stack.setCurrentWidget(self.hint))
        self.message.setVisible(False)
        self._stack.setCurrentWidget(self.hint)
        self.message.ensurePolished()
        self.setFixedHeight(max(self.message.sizeHint().height(), self.hint.sizeHint().height()))
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def show_message(self, text: str, error: bool = True) -> None:
        self.message.setText(text)
        self.message.set_error(error)
        self._stack.setCurrentWidget(self.message)
        self.message.setVisible(True)

    def clear(self) -> None:
        self.message.setVisible(False)
        self._stack.setCurrentWidget(self.hint)
