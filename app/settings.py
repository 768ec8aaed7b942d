"""What ConvScope remembers between runs, in Qt's QSettings (per-user, per-platform)."""
from PySide6.QtCore import QSettings

MAX_RECENT = 10


def settings() -> QSettings:
    return QSettings("ConvScope", "ConvScope")


def recent_files(s: QSettings) -> list[str]:
    value = s.value("recent", [])
    if isinstance(value, str):  # QSettings returns a lone string for one-element lists
        value = [value]
    return [str(v) for v in (value or [])]


def push_recent(s: QSettings, path: str) -> list[str]:
    items = [path] + [p for p in recent_files(s) if p != path]
    items = items[:MAX_RECENT]
    s.setValue("recent", items)
    return items
