"""Turn whatever was dropped or pasted into local file paths, or a one-line reason why not."""
import os
import tempfile

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QImage


class DropError(ValueError):
    """Nothing openable in a drop or paste; the message is one line for the window."""


def paths_from_mime(mime: QMimeData) -> list[str]:
    """Local files carried by ``mime`` (file URLs, or a pasted path); raises DropError otherwise."""
    urls = list(mime.urls()) if mime.hasUrls() else []
    if not urls and mime.hasText():
        text = mime.text().strip()
        if text:
            urls = [QUrl(line.strip()) if "://" in line else QUrl.fromLocalFile(line.strip())
                    for line in text.splitlines() if line.strip()]
    if not urls:
        if mime.hasImage():
            return [save_clipboard_image(mime.imageData())]
        raise DropError("nothing to open: the drop carried no file")
    local = [os.path.abspath(u.toLocalFile()) for u in urls if u.isLocalFile()]  # a pasted "cat.png" too
    if not local:
        raise DropError(f"ConvScope opens local files only; save the image first ({urls[0].toString()[:80]})")
    files = [p for p in local if not os.path.isdir(p)]
    if not files:
        raise DropError(f"cannot open '{os.path.basename(local[0].rstrip(os.sep)) or local[0]}': it is a folder; drop an image file")
    return files


def save_clipboard_image(image) -> str:
    """A pasted picture, saved as a PNG in the temp folder so it flows through the normal path."""
    if not isinstance(image, QImage) or image.isNull():
        raise DropError("the clipboard image is empty")
    fd, path = tempfile.mkstemp(prefix="convscope-paste-", suffix=".png")
    os.close(fd)
    if not image.save(path, "PNG"):
        os.unlink(path)
        raise DropError("could not save the pasted image")
    return path
