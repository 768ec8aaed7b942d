"""Write a file all-or-nothing, durably: a temp file beside it, fsync, rename, fsync the folder.

The scan index and the patch sheets go through here, so a crash or a kill at any moment leaves either
the previous complete file or the new complete one, never a torn one. (``widgets.atomic_write`` does
the same for exports, but ``inference`` may not import ``widgets``.)
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, Callable


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename in ``folder`` durable (best effort: not every platform lets a folder be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_name(path: Path) -> Path:
    """The temp file a write of ``path`` goes through (hidden, beside it, unique to this process)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(fh)`` on a temp file beside ``path``, flush it to disk, then rename it onto ``path``.

    On any failure the temp file is removed and ``path`` is left as it was."""
    path = Path(path)
    tmp = temp_name(path)
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)
    return path


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    return write_atomic(path, lambda fh: fh.write(data))
