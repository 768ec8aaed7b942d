"""Log to a file under the user's data folder, and turn uncaught exceptions into one shown message.

An exception in a slot or a thread must never kill the app: it is logged with
its traceback to ``convscope.log`` and shown once, as one line, in the window.
"""
import logging
import logging.handlers
import sys
import threading
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QStandardPaths, Signal

log = logging.getLogger("convscope")
_file_handler: logging.Handler | None = None


def log_path() -> Path:
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(folder or ".") / "convscope.log"


def install_logging() -> Path | None:
    """A rotating log file (once per process); returns its path, or None if it cannot be written."""
    global _file_handler
    if _file_handler is not None:
        return Path(_file_handler.baseFilename)
    log.setLevel(logging.INFO)
    try:
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        _file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
    except OSError:
        return None
    _file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(_file_handler)
    return path


class _Relay(QObject):
    """Carries a message from any thread to the UI thread (queued)."""

    message = Signal(str)


_relay: _Relay | None = None


def install_excepthook(show: Callable[[str], None]) -> None:
    """Log every uncaught exception (UI thread or other threads) and ``show`` one line about it."""
    global _relay
    install_logging()
    _relay = _Relay()
    _relay.message.connect(show)

    def report(exc_type, exc, tb, where: str) -> None:
        log.error("uncaught exception in %s", where, exc_info=(exc_type, exc, tb))
        text = f"internal error: {exc_type.__name__}: {' '.join(str(exc).split())[:200]}"
        if _file_handler is not None:
            text += f" (details in {_file_handler.baseFilename})"
        _relay.message.emit(text)

    sys.excepthook = lambda t, e, tb: report(t, e, tb, "the UI")
    threading.excepthook = lambda a: report(a.exc_type, a.exc_value, a.exc_traceback, f"thread {a.thread.name}")
