"""Log to a file under the user's data folder, so an error shown once can be looked up later."""
import logging
import logging.handlers
import sys
import threading

from PySide6.QtCore import QStandardPaths

_installed = False


def log_path():
    from pathlib import Path
    folder = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation) or ".")
    return folder / "convscope.log"


def install_logging() -> None:
    """A rotating log file, plus hooks so an uncaught exception in a slot or thread is logged, not fatal."""
    global _installed
    if _installed:
        return
    _installed = True
    root = logging.getLogger("convscope")
    root.setLevel(logging.INFO)
    try:
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    except OSError:
        pass

    def excepthook(exc_type, exc, tb):
        root.error("uncaught exception", exc_info=(exc_type, exc, tb))
    sys.excepthook = excepthook
    threading.excepthook = lambda a: root.error("uncaught exception in thread %s", a.thread,
                                                exc_info=(a.exc_type, a.exc_value, a.exc_traceback))
