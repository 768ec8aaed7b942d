"""What ConvScope remembers between runs, in Qt's QSettings (per-user, per-platform).

Paths are stored absolute: a relative one would mean another file, or none,
once ConvScope is started from another folder.
"""
import os
from pathlib import Path

from PySide6.QtCore import QSettings

MAX_RECENT = 10


def settings() -> QSettings:
    return QSettings("ConvScope", "ConvScope")


def scratch_settings() -> QSettings:
    """Settings that start empty and are never saved where the user's live (for --screenshot:
    repeatable pictures that leave the user's layer, colormaps and recent files alone)."""
    import tempfile

    path = tempfile.NamedTemporaryFile(prefix="convscope-screenshot-", suffix=".ini", delete=False).name
    s = QSettings(path, QSettings.Format.IniFormat)
    s.clear()
    return s


def recent_files(s: QSettings) -> list[str]:
    value = s.value("recent", [])
    if isinstance(value, str):  # QSettings returns a lone string for one-element lists
        value = [value]
    return [str(v) for v in (value or []) if os.path.isabs(str(v))]  # relative ones (older versions) are lost


def push_recent(s: QSettings, path: str) -> list[str]:
    path = os.path.abspath(path)
    items = [path] + [p for p in recent_files(s) if p != path]
    items = items[:MAX_RECENT]
    s.setValue("recent", items)
    return items


def open_dialog_folder(s: QSettings, samples: Path) -> str:
    """Where File → Open starts: the last folder used, else (first run, or it is gone) the bundled samples."""
    last = s.value("lastFolder")
    if last and os.path.isabs(str(last)) and os.path.isdir(str(last)):
        return str(last)
    return str(samples)


def remember_open_folder(s: QSettings, path: str) -> None:
    s.setValue("lastFolder", os.path.dirname(os.path.abspath(path)))
