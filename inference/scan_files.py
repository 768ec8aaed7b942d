"""Which files of a folder a scan takes: image files by extension or signature, recursively, sorted.

No torch here: the scan index (and a process that only reads one) needs the listing's entries only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import ConvScopeError
from .images import _sniff

# Extensions taken as images without looking inside (a broken one is then listed as a failure).
# Other files are taken only when their first bytes are an image signature (inference.images._sniff).
IMAGE_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".dib", ".tif", ".tiff", ".webp",
    ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".ico", ".jp2", ".j2k",
})


@dataclass(frozen=True)
class FileEntry:
    """One image file of a scanned folder, as found when the scan started."""

    rel: str        # the path relative to the folder, "/"-separated ("sub/chat_été.png")
    size: int       # bytes (-1 when it could not be stat'ed: its load gives the reason)
    mtime_ns: int

    @property
    def stamp(self) -> tuple[int, int]:
        return (self.size, self.mtime_ns)


def _is_image(path: str, name: str) -> bool:
    if os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
        return True
    return _sniff(path) is not None


def list_images(folder: str | os.PathLike) -> list[FileEntry]:
    """Every image file under ``folder``, recursively, sorted by relative path.

    Hidden folders (a name starting with ".") are not entered: a scan index kept inside the folder
    is never scanned. Symbolic links to folders are not followed (no cycles). Raises a one-line
    ``ConvScopeError`` when ``folder`` is not a readable folder."""
    root = os.fspath(folder)
    if not os.path.exists(root):
        raise ConvScopeError(f"cannot scan '{root}': no such folder")
    if not os.path.isdir(root):
        raise ConvScopeError(f"cannot scan '{root}': it is a file, not a folder")
    try:
        os.listdir(root)
    except OSError as err:
        raise ConvScopeError(f"cannot scan '{root}': {err.strerror or err}") from None
    found: list[FileEntry] = []
    for here, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            path = os.path.join(here, name)
            if name.startswith(".") or not _is_image(path, name):
                continue
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            try:
                st = os.stat(path)
                found.append(FileEntry(rel, st.st_size, st.st_mtime_ns))
            except OSError:
                found.append(FileEntry(rel, -1, -1))
    found.sort(key=lambda e: e.rel)
    return found
