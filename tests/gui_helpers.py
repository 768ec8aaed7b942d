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


def run_gui_until_closed(tmp_path, extra_env: dict, *args):
    """Run ``main.py *args`` offscreen until it prints its "closing" event and exits.

    Returns (process, wall-clock time of the close or None, wall-clock time it ended)."""
    import json
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "XDG_DATA_HOME": str(tmp_path / "data"), **extra_env}
    proc = subprocess.Popen([sys.executable, str(root / "main.py"), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=root, env=env)
    closing = None
    for line in proc.stdout:
        if '"closing"' in line:
            closing = json.loads(line)["t"]
            break
    proc.wait(timeout=120)
    return proc, closing, time.time()
