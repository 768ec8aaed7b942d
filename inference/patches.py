"""A scan hit's patch: the unit's receptive field cropped from the original photo; and one PNG sheet per
channel with its top patches.

The photo is read through ``inference.images.load_image`` (EXIF orientation, every mode, the bomb
limit), so the crop is taken in the pixels the hit's box is in: the full-size, oriented photo. Only
as much of it is decoded as the patch needs (a 196-pixel field of a 4000-pixel photo becomes a
96-pixel patch from a copy reduced to about 2000 pixels), and each file is decoded once for all the
patches taken from it. A file that is gone or has changed since it was scanned gives its one-line
reason instead of a wrong crop. Pillow and numpy only.
"""
from __future__ import annotations

import functools
import math
import os
import re
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .atomic_file import write_atomic
from .errors import ConvScopeError, ImageLoadError
from .images import load_image

PATCH_SIDE = 96          # a patch fits in this square (never enlarged: the gallery scales it to its tiles)
SHEET_CELL = 128         # a sheet's cell: patches are scaled to fill it (enlarged without smoothing)
CAPTION_H = 14           # one caption line
SHEET_BG = (24, 24, 28)
SHEET_FG = (230, 230, 230)
SHEET_GROUP = 64         # channels whose patches are cropped together (each file decoded once per group)


def _needed_side(hit, side: int) -> int:
    """The longest side to decode the photo at so the hit's box still has ``side`` pixels."""
    w, h = hit.image_size
    x0, y0, x1, y1 = hit.box
    extent = max(x1 - x0, y1 - y0, 1.0)
    return max(side, min(max(w, h), math.ceil(max(w, h) * side / extent)))


def _check_stamp(hit) -> None:
    try:
        st = os.stat(hit.path)
    except OSError:
        raise ImageLoadError(f"cannot open '{hit.rel}': no such file (it was moved or deleted since the scan)") from None
    if (st.st_size, st.st_mtime_ns) != tuple(hit.stamp):
        raise ImageLoadError(f"cannot open '{hit.rel}': the file changed since the scan; scan the folder again")


def _crop(rgb: np.ndarray, full: tuple[int, int], box, side: int) -> np.ndarray:
    """``box`` (full-size pixels) cut from ``rgb`` (the photo at any reduced size), fitted in ``side``."""
    sx, sy = rgb.shape[1] / full[0], rgb.shape[0] / full[1]
    x0, y0, x1, y1 = box
    c0, r0 = int(math.floor(x0 * sx)), int(math.floor(y0 * sy))
    c1, r1 = int(math.ceil(x1 * sx)), int(math.ceil(y1 * sy))
    c0, r0 = min(max(c0, 0), rgb.shape[1] - 1), min(max(r0, 0), rgb.shape[0] - 1)
    c1, r1 = min(max(c1, c0 + 1), rgb.shape[1]), min(max(r1, r0 + 1), rgb.shape[0])
    patch = Image.fromarray(np.ascontiguousarray(rgb[r0:r1, c0:c1]))
    patch.thumbnail((side, side), Image.Resampling.LANCZOS)   # shrinks only, keeps the aspect
    return np.asarray(patch, dtype=np.uint8)


def crops(hits, side: int = PATCH_SIDE) -> list[np.ndarray | str]:
    """The patch of each hit (uint8 (h, w, 3), longest side ≤ ``side``), or its one-line reason;
    each file is decoded once, at the resolution its most demanding hit needs."""
    by_path: dict[str, list[int]] = {}
    for i, hit in enumerate(hits):
        by_path.setdefault(hit.path, []).append(i)
    out: list[np.ndarray | str] = [""] * len(hits)
    for path, where in by_path.items():
        first = hits[where[0]]
        try:
            _check_stamp(first)
            image = load_image(path, max_side=max(_needed_side(hits[i], side) for i in where))
            if (image.width, image.height) != tuple(first.image_size):
                raise ImageLoadError(f"cannot open '{first.rel}': the file changed since the scan; scan the folder again")
        except ConvScopeError as err:
            for i in where:
                out[i] = str(err)
            continue
        for i in where:
            out[i] = _crop(image.rgb, (image.width, image.height), hits[i].box, side)
    return out


def patch_of(hit, side: int = PATCH_SIDE) -> np.ndarray:
    """One hit's patch; a one-line ``ImageLoadError`` if its file is gone or changed."""
    (patch,) = crops([hit], side)
    if isinstance(patch, str):
        raise ImageLoadError(patch)
    return patch


def channel_patches(layer_hits, channel: int, side: int = PATCH_SIDE) -> tuple[list[dict], list[str]]:
    """Channel ``channel``'s top patches, best first, as the patch gallery takes them: dicts with
    "image" (uint8 (h, w, 3)), "path", "rel", "value", "rank" (0 = best), "y", "x", "box";
    and the one-line reasons of the hits whose file could not be read (those have no patch)."""
    hits = layer_hits.channel(channel)
    patches, errors = [], []
    for rank, (hit, patch) in enumerate(zip(hits, crops(hits, side))):
        if isinstance(patch, str):
            errors.append(patch)
            continue
        patches.append({"image": patch, "path": hit.path, "rel": hit.rel, "value": hit.value, "rank": rank,
                        "y": hit.y, "x": hit.x, "box": hit.box})
    return patches, errors


# ----------------------------------------------------------------------------- sheets
def _fit(patch: np.ndarray, cell: int) -> Image.Image:
    """``patch`` scaled to fit ``cell`` (enlarged without smoothing, so small fields stay sharp)."""
    img = Image.fromarray(patch)
    scale = cell / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS)


@functools.lru_cache(maxsize=1)
def _font():
    """A font with accents (Pillow's built-in one has none): DejaVu Sans or Arial where installed."""
    for name in ("DejaVuSans.ttf", "arial.ttf", "Arial.ttf"):
        try:
            return ImageFont.truetype(name, 11)
        except OSError:
            continue
    return ImageFont.load_default(11)


def _elide(text: str, width: int, font) -> str:
    """``text`` cut in the middle until it is at most ``width`` pixels wide (names that share a prefix
    differ near the end)."""
    keep = len(text)
    shown = text
    while keep > 1 and font.getlength(shown) > width:
        keep -= 1
        shown = text[: keep // 2] + "…" + text[len(text) - (keep - keep // 2):]
    return shown


def sheet(patches: list[np.ndarray | str], values: list[float], title: str, cell: int = SHEET_CELL,
          names: list[str] | None = None) -> np.ndarray:
    """One channel's sheet: the patches in a near-square grid, best first, each captioned with its rank
    and value, and its file's name when ``names`` are given (a patch that could not be read: a dark cell
    saying so), under a title line."""
    names = names or [""] * len(patches)
    caption = CAPTION_H * (2 if any(names) else 1)
    n = max(1, len(patches))
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    pad = 4
    width = cols * (cell + pad) + pad
    height = CAPTION_H + pad + rows * (cell + caption + pad) + pad
    canvas = Image.new("RGB", (width, height), SHEET_BG)
    draw = ImageDraw.Draw(canvas)
    font = _font()
    draw.text((pad, 2), title, fill=SHEET_FG, font=font)
    for k, (patch, value, name) in enumerate(zip(patches, values, names)):
        r, c = divmod(k, cols)
        x = pad + c * (cell + pad)
        y = CAPTION_H + pad + r * (cell + caption + pad)
        if isinstance(patch, str):
            draw.rectangle((x, y, x + cell - 1, y + cell - 1), outline=(90, 90, 90))
            draw.text((x + 4, y + cell // 2 - 6), "not readable", fill=(200, 120, 120), font=font)
        else:
            img = _fit(patch, cell)
            canvas.paste(img, (x + (cell - img.width) // 2, y + (cell - img.height) // 2))
        draw.text((x, y + cell + 1), f"#{k + 1}  {value:.4g}", fill=SHEET_FG, font=font)
        if name:
            draw.text((x, y + cell + 1 + CAPTION_H), _elide(name, cell, font), fill=(160, 160, 170), font=font)
    return np.asarray(canvas, dtype=np.uint8)


def write_png(path: str | os.PathLike, rgb: np.ndarray) -> Path:
    """``rgb`` as a PNG at ``path``, atomically (temp file, fsync, rename)."""
    return write_atomic(path, lambda fh: Image.fromarray(rgb).save(fh, format="PNG"))


def sheet_name(layer: str, channel: int) -> str:
    return f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', layer)}-ch{int(channel):04d}.png"


def write_channel_sheets(layer_hits, out_dir: str | os.PathLike, channels=None, side: int = PATCH_SIDE,
                         cell: int = SHEET_CELL, progress: Callable[[int, int], None] | None = None
                         ) -> tuple[list[Path], list[str]]:
    """One PNG sheet per channel of ``layer_hits`` (or of ``channels``) in ``out_dir``, named
    ``<layer>-chNNNN.png``; returns the files written and the reasons of patches that could not be read.
    Channels are cropped ``SHEET_GROUP`` at a time, so memory stays small and a file that is the top of
    many channels is decoded once per group."""
    out = Path(out_dir)
    if not out.is_dir():
        raise ConvScopeError(f"cannot write sheets to '{out}': no such folder")
    wanted = list(range(layer_hits.channels)) if channels is None else [int(c) for c in channels]
    written, errors = [], []
    label = f"{layer_hits.alias} ({layer_hits.layer})" if layer_hits.alias else layer_hits.layer
    for start in range(0, len(wanted), SHEET_GROUP):
        group = wanted[start:start + SHEET_GROUP]
        hits = [h for c in group for h in layer_hits.channel(c)]
        got = crops(hits, max(side, cell))
        k = 0
        for c in group:
            n = len(layer_hits.channel(c))
            hits_c = layer_hits.channel(c)
            mine, values, names = got[k:k + n], [h.value for h in hits_c], [h.rel for h in hits_c]
            k += n
            errors += [p for p in mine if isinstance(p, str)]
            picture = sheet(mine, values, f"{label}  channel {c}", cell, names)
            written.append(write_png(out / sheet_name(layer_hits.layer, c), picture))
            if progress is not None:
                progress(len(written), len(wanted))
    return written, sorted(set(errors))
