"""The overlay as a picture (export, figure): the photo with the heat laid on it as on screen.

The view draws with pyqtgraph; an export must look the same, so the heat here is the
same RGBA table (colormaps.heat_rgba: opacity by value or flat) drawn through the
same crop rectangle at the slider's opacity. Also the native channel, enlarged by a
whole factor so that every activation stays a square.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter

from widgets.colormaps import DEFAULT_BLEND, colorize, heat_rgba
from widgets.qimage import rgb_to_qimage

NATIVE_EXPORT_SIZE = 256   # native export is scaled up by an integer factor to about this size


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    """An (H, W, 4) uint8 RGBA array (not premultiplied) as a QImage that owns its pixels."""
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected an (H, W, 4) array, got {rgba.shape}")
    h, w, _ = rgba.shape
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def blended_overlay(photo: np.ndarray, heat: np.ndarray, rect, levels, cmap: str, alpha: float,
                    blend: str = DEFAULT_BLEND) -> QImage:
    """``photo`` (H, W, 3) uint8 with ``heat`` (h, w) values coloured by ``cmap`` (a concrete table)
    over ``levels``, stretched onto ``rect`` = (x, y, w, h) with opacity ``alpha`` × the blend's."""
    image = rgb_to_qimage(photo).convertToFormat(QImage.Format.Format_RGB32)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    p.setOpacity(float(alpha))
    p.drawImage(QRectF(*rect), rgba_to_qimage(heat_rgba(heat, *levels, cmap, blend)))
    p.end()
    return image


def native_picture(fmap: np.ndarray, levels, cmap: str) -> QImage:
    """The channel alone, opaque, each activation a k×k square (k a whole factor towards 256 px)."""
    k = max(1, NATIVE_EXPORT_SIZE // max(fmap.shape))
    rgb = colorize(fmap, *levels, cmap)
    return rgb_to_qimage(np.repeat(np.repeat(rgb, k, axis=0), k, axis=1))
