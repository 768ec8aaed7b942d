"""Helpers for driving the main window in tests: synthetic drops, waiting for results."""
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QDragEnterEvent
from PySide6.QtWidgets import QApplication

RESULT_TIMEOUT = 60_000  # ms; the first analysis includes building the untrained model


def drop_urls(window, urls: list[QUrl] | None = None, text: str | None = None) -> None:
    """Deliver a real QDropEvent (after a drag-enter) carrying ``urls`` or ``text``."""
    mime = QMimeData()
    if urls is not None:
        mime.setUrls(urls)
    if text is not None:
        mime.setText(text)
    pos = QPointF(window.width() / 2, window.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)


def drop_files(window, *paths) -> None:
    drop_urls(window, [QUrl.fromLocalFile(str(p)) for p in paths])
