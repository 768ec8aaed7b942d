"""Pictures the figure draws, computed with numpy: the overlay blends and a shrunken photo."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt

from widgets.colormaps import colorize, heat_rgba
from widgets.figure_encode import PNG_SCALE
from widgets.figure_layout import fit_rect
from widgets.qimage import qimage_to_rgb, rgb_to_qimage


def bilinear(a: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Resize a 2-D float array with bilinear interpolation (pixel centres, edges clamped)."""
    a = np.asarray(a, dtype=np.float32)
    h, w = a.shape

    def axis(n_in, n_out):
        pos = (np.arange(n_out, dtype=np.float32) + 0.5) * (n_in / n_out) - 0.5
        pos = np.clip(pos, 0, n_in - 1)
        i0 = np.floor(pos).astype(np.intp)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, (pos - i0).astype(np.float32)

    y0, y1, fy = axis(h, out_h)
    x0, x1, fx = axis(w, out_w)
    top = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    bottom = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    return top * (1 - fy)[:, None] + bottom * fy[:, None]


CAM_COLORMAP = "viridis"   # the CAM is ≥ 0 and normalised: sequential from 0, yellow = where it points


def _crop_window(photo_shape, rect, fmap):
    """The bilinear upsampling of ``fmap`` onto ``rect`` (photo px), clipped to the photo:
    (upsampled values inside the photo, (cy0, cy1, cx0, cx1)), or None when nothing shows."""
    fmap = np.asarray(fmap, dtype=np.float32)
    if fmap.ndim != 2 or fmap.size == 0:
        return None
    x, y, w, h = (float(v) for v in rect)
    if w <= 0 or h <= 0:
        return None
    x0, y0, x1, y1 = round(x), round(y), round(x + w), round(y + h)
    # Clip the crop to the photo (a crop may stick out of it after letterboxing).
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x1, photo_shape[1]), min(y1, photo_shape[0])
    if cx1 <= cx0 or cy1 <= cy0:
        return None
    up = bilinear(fmap, max(1, y1 - y0), max(1, x1 - x0))
    return up[cy0 - y0: cy1 - y0, cx0 - x0: cx1 - x0], (cy0, cy1, cx0, cx1)


def cam_overlay_image(photo: np.ndarray, heat: np.ndarray, rect, colormap: str = CAM_COLORMAP) -> np.ndarray:
    """The photo with a [0, 1] map (a min–max normalised CAM) upsampled bilinearly into ``rect``
    (photo px, the network's input crop), coloured from 0 and blended with an opacity equal to
    the value: the photo shows through where the map is low, the colour covers it where high."""
    out = np.array(photo, dtype=np.uint8, copy=True)
    window = _crop_window(out.shape, rect, heat)
    if window is None:
        return out
    up, (cy0, cy1, cx0, cx1) = window
    up = np.clip(up, 0.0, 1.0)
    colour = colorize(up, 0.0, 1.0, colormap).astype(np.float32)
    a = up[..., None]
    region = out[cy0:cy1, cx0:cx1].astype(np.float32)
    out[cy0:cy1, cx0:cx1] = np.clip(region * (1 - a) + colour * a + 0.5, 0, 255).astype(np.uint8)
    return out


def overlay_image(photo: np.ndarray, fmap: np.ndarray, rect, levels, colormap: str, alpha: float,
                  blend: str = "flat") -> np.ndarray:
    """The photo with ``fmap`` upsampled bilinearly into ``rect`` (photo px), colourised and
    blended at ``alpha`` (times the value's own opacity with ``blend="value"``, as the window's
    overlay does); pixels outside the rect are the photo unchanged."""
    out = np.array(photo, dtype=np.uint8, copy=True)
    window = _crop_window(out.shape, rect, fmap)
    if window is None:
        return out
    up, (cy0, cy1, cx0, cx1) = window
    rgba = heat_rgba(up, levels[0], levels[1], colormap, blend).astype(np.float32)
    colour = rgba[..., :3]
    a = float(np.clip(alpha, 0.0, 1.0)) * rgba[..., 3:] / 255.0
    region = out[cy0:cy1, cx0:cx1].astype(np.float32)
    out[cy0:cy1, cx0:cx1] = np.clip(region * (1 - a) + colour * a + 0.5, 0, 255).astype(np.uint8)
    return out


def shrink_photo(photo, box: QRectF) -> tuple[np.ndarray | None, float]:
    """The photo reduced once to about PNG_SCALE x ``box`` (the largest place it is drawn),
    and the factor used; (None, 1) if it is not an (H, W, 3) picture."""
    photo = None if photo is None else np.asarray(photo)
    if photo is None or photo.ndim != 3 or photo.shape[2] != 3 or photo.size == 0:
        return None, 1.0
    photo = photo.astype(np.uint8, copy=False)
    h, w = photo.shape[:2]
    target = fit_rect(w, h, box)
    want_w = round(target.width() * PNG_SCALE)
    if w <= want_w * 1.25:
        return photo, 1.0
    small = qimage_to_rgb(rgb_to_qimage(photo).scaledToWidth(want_w, Qt.TransformationMode.SmoothTransformation))
    return small, small.shape[1] / w
