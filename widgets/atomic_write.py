"""Write files all-or-nothing: render into a temp file beside the target, then rename.

Exports (figures, saved feature maps) go through here so that a failed or
interrupted write never leaves a truncated file where the user expects a good one,
and never clobbers the previous good file.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_target(path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """``path`` made absolute, or an OSError with a one-line message if it cannot be written.

    Cheap, so callers can fail fast before doing expensive work; the actual write
    checks again.
    """
    path = Path(path).expanduser().absolute()
    parent = path.parent
    if not parent.exists():
        raise FileNotFoundError(f"cannot write {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise NotADirectoryError(f"cannot write {path}: {parent} is not a folder")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder")
    if not overwrite and path.exists():
        raise FileExistsError(f"cannot write {path}: the file already exists")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {path}: folder {parent} is not writable")
    return path


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable; not every platform/file system allows this, so best effort."""
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


@contextlib.contextmanager
def atomic_target(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temp path next to ``path`` (same suffix); on success it replaces ``path``.

    On an exception inside the block the temp file is removed, ``path`` is left as it
    was, and the exception propagates. With ``overwrite=False`` an existing ``path``
    raises FileExistsError (checked before and again at the final rename).
    """
    path = check_target(path, overwrite=overwrite)
    parent = path.parent
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=parent)
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(f"cannot write {path}: the temporary file vanished")
        # mkstemp makes 0600 files; give the result the mode a normal new file would get,
        # or keep the mode of the file being replaced.
        mode = (path.stat().st_mode & 0o777) if path.exists() else (0o666 & ~_umask())
        os.chmod(tmp, mode)
        _fsync_file(tmp)
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if path appeared meanwhile; never clobbers
            except FileExistsError:
                raise FileExistsError(f"cannot write {path}: the file already exists") from None
            tmp.unlink()
        _fsync_dir(parent)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` all-or-nothing; returns the absolute path written."""
    with atomic_target(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path).expanduser().absolute()
