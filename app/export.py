"""GUI exports: the composed figure, the grid or overlay image, raw activations — all written atomically."""
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QImage

from widgets.atomic_write import atomic_target, write_bytes_atomic
from widgets.figure import write_figure

from .figure_data import session_figure_data


def export_figure(session, layer_name: str, path, *, channel: int | None, colormap: str,
                  overlay_colormap: str, alpha: float, blend: str = "value", demo_mode: str = "clip") -> Path:
    """The same figure ``convscope export`` writes, from the Session's current results and the view's choices."""
    data = session_figure_data(session, layer_name, channel=channel, colormap=colormap,
                               overlay_colormap=overlay_colormap, alpha=alpha, blend=blend, demo_mode=demo_mode)
    return write_figure(data, path)


def save_qimage(image: QImage, path) -> Path:
    """A QImage as PNG (encoded in memory first, so a failed write leaves nothing)."""
    if Path(path).suffix.lower() != ".png":
        raise ValueError(f"cannot write {path}: use a .png file name")
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if image.isNull() or not image.save(buffer, "PNG"):
        raise ValueError("nothing to save: the image is empty")
    return write_bytes_atomic(path, bytes(buffer.data()))


def save_npy(array: np.ndarray, path) -> Path:
    if Path(path).suffix.lower() != ".npy":
        raise ValueError(f"cannot write {path}: use a .npy file name")
    with atomic_target(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array)
    return Path(path)
