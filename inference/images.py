"""Load any image file the user drops on ConvScope as one 8-bit RGB array.

Everything odd about real files is handled here, once: EXIF orientation, multi-frame
files (first frame), every Pillow mode (alpha is composited onto white), reduced
decoding of huge photos for display, and a one-line ``ImageLoadError`` for every way a
file can be bad. Pure Pillow + numpy.

Two views of one file: ``rgb`` is capped at ``max_side`` (what is drawn and what the
demo conv uses); ``for_network()`` is the full-resolution photo, so the network's own
resize sees the file itself, not a resized copy. The full-size pixels are not kept:
for a reduced image ``for_network()`` decodes the file again, and the caller keeps only
the 224×224 input it prepares from it.

Value mapping for modes that are not already 8-bit:

* 16-bit (``I;16``, ``I;16B``, ``I;16L``, ``I;16N``): full range, ``v / 257``.
* ``I`` (32-bit int): min-max normalised to 0..255 (its nominal range says nothing
  about the data; a flat image maps to 0).
* ``F`` (float): kept as is if every finite value lies in [0, 1] (scaled by 255),
  otherwise min-max normalised like ``I``. NaN and -inf take the smallest finite value,
  +inf the largest (an all-NaN image is black).
* Premultiplied ``RGBa``/``La`` are composited directly (``c + 255 - a``).
"""
from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from inference.errors import ImageLoadError

__all__ = ["LoadedImage", "load_image"]

# Resampling used when shrinking to max_side; reducing_gap lets Pillow box-reduce first.
_RESAMPLE = Image.Resampling.LANCZOS
_REDUCING_GAP = 3.0

# Signatures of formats we know; a file that starts with one but Pillow cannot
# identify is a damaged image, not "not an image".
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded image: read-only RGB pixels plus the file's full (oriented) size."""

    path: str
    rgb: np.ndarray
    width: int
    height: int
    reduced: bool
    stamp: tuple[int, int] | None = field(default=None, repr=False)  # (size, mtime_ns) when loaded

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) of ``rgb``, the copy that is drawn."""
        return self.rgb.shape[1], self.rgb.shape[0]

    def pil(self) -> Image.Image:
        """The (possibly capped) display pixels as a new Pillow RGB image."""
        return Image.fromarray(self.rgb)

    def for_network(self) -> Image.Image:
        """The full-resolution oriented RGB photo, converted exactly like ``rgb``.

        When ``rgb`` was not reduced it holds every pixel already; otherwise the file is
        decoded again at full size (no JPEG draft, same bomb limit). Raises
        ``ImageLoadError`` if the file is gone or changed since it was loaded.
        """
        if not self.reduced:
            return self.pil()
        return _guarded(self.path, lambda: _decode_full(self))


class _Unsupported(Exception):
    """Internal: a mode we cannot turn into RGB."""


class _Empty(Exception):
    """Internal: a 0-byte file."""


class _Changed(Exception):
    """Internal: the file is not the one that was loaded any more."""


def load_image(path: str | os.PathLike, *, max_side: int | None = None) -> LoadedImage:
    """Decode ``path`` to RGB; with ``max_side`` shrink so the longest side <= it.

    Raises ``ImageLoadError`` (one line naming the file) for any unreadable file.
    """
    if max_side is not None and (isinstance(max_side, bool) or int(max_side) < 1):
        raise ValueError(f"max_side must be a positive integer, got {max_side!r}")
    text_path = os.fsdecode(os.fspath(path))

    def load() -> LoadedImage:
        stamp = _check_file(text_path)
        rgb, width, height = _decode(text_path, max_side)
        rgb.setflags(write=False)
        reduced = rgb.shape[0] < height or rgb.shape[1] < width
        return LoadedImage(text_path, rgb, width, height, reduced, stamp)

    return _guarded(text_path, load)


def _guarded(path: str, action):
    """Run ``action()``; any failure becomes one ``ImageLoadError`` line naming the file."""
    name = os.path.basename(os.path.normpath(path)) or path

    def fail(reason: str) -> ImageLoadError:
        return ImageLoadError(f"cannot open '{name}': {reason}")

    try:
        return action()
    except _Unsupported as exc:
        raise fail(f"unsupported image ({exc})") from exc
    except _Changed as exc:
        raise fail("the file changed since it was loaded") from exc
    except MemoryError as exc:  # pragma: no cover - depends on the machine
        raise fail("the image is too large (not enough memory to decode it)") from exc
    except Exception as exc:  # noqa: BLE001 - every failure becomes one clean line
        raise fail(_reason(exc, path)) from exc


def _check_file(path: str) -> tuple[int, int]:
    """Reject missing paths, folders and empty files before Pillow sees them; (size, mtime)."""
    st = os.stat(path)  # FileNotFoundError / PermissionError are mapped by _reason
    if os.path.isdir(path):
        raise IsADirectoryError(path)
    if st.st_size == 0:
        raise _Empty(path)
    return st.st_size, st.st_mtime_ns


def _open_oriented(im: Image.Image, max_side: int | None) -> tuple[int, int]:
    """Decode (JPEG-drafted towards ``max_side`` if given) and orient ``im``; its full oriented size."""
    full_w, full_h = im.size
    if max_side is not None and max(full_w, full_h) > max_side and im.format == "JPEG":
        # JPEG can decode at 1/2, 1/4, 1/8 scale; ask for at least the target size.
        scale = max_side / max(full_w, full_h)
        im.draft("RGB", (max(1, int(np.ceil(full_w * scale))),
                         max(1, int(np.ceil(full_h * scale)))))
    im.load()  # decoding is lazy: truncation/corruption surfaces here
    before = im.size
    _orient(im)
    if im.size != before and im.size == (before[1], before[0]):
        full_w, full_h = full_h, full_w  # rotated by 90/270 degrees
    return full_w, full_h


def load_for_network(path: str | os.PathLike) -> Image.Image:
    """The full-size, oriented RGB photo alone: ``load_image(path).for_network()``'s pixels without the
    display copy and its two conversions (a folder scan never draws the photo). Raises
    ``ImageLoadError`` like ``load_image``."""
    text_path = os.fsdecode(os.fspath(path))

    def load() -> Image.Image:
        _check_file(text_path)
        with Image.open(text_path) as im:  # the bomb check runs here, as in load_image
            _open_oriented(im, None)
            return _network_pixels(im)

    return _guarded(text_path, load)


def _network_pixels(im: Image.Image) -> Image.Image:
    """An oriented decode as RGB by the ``_to_rgb`` rules; an RGB decode already is: no copy."""
    return im if im.mode == "RGB" else Image.fromarray(_to_rgb(im))


def _decode_full(image: LoadedImage) -> Image.Image:
    """The network's view: the whole file, oriented, through the same ``_to_rgb`` rules."""
    if image.stamp is not None and _check_file(image.path) != image.stamp:
        raise _Changed(image.path)
    with Image.open(image.path) as im:  # the bomb check runs here, as in load_image
        size = _open_oriented(im, None)
        if size != (image.width, image.height):
            raise _Changed(image.path)
        return _network_pixels(im)


def _decode(path: str, max_side: int | None) -> tuple[np.ndarray, int, int]:
    """Open, orient, convert and (optionally) shrink; returns (rgb, full_w, full_h)."""
    with Image.open(path) as im:  # the first frame of multi-frame files
        full_w, full_h = _open_oriented(im, max_side)
        rgb = _to_rgb(im)

    if max_side is not None and max(full_w, full_h) > max_side:
        scale = max_side / max(full_w, full_h)
        target = (max(1, min(max_side, round(full_w * scale))),
                  max(1, min(max_side, round(full_h * scale))))
        if (rgb.shape[1], rgb.shape[0]) != target:
            small = Image.fromarray(rgb).resize(target, _RESAMPLE, reducing_gap=_REDUCING_GAP)
            rgb = np.asarray(small, dtype=np.uint8)
    return np.ascontiguousarray(rgb, dtype=np.uint8), full_w, full_h


def _orient(im: Image.Image) -> None:
    """Apply EXIF orientation in place; unreadable EXIF leaves the pixels as stored."""
    try:
        ImageOps.exif_transpose(im, in_place=True)
    except (OSError, ValueError, SyntaxError, KeyError, TypeError, struct.error):
        pass  # a broken EXIF block should not make a good picture unloadable


def _to_rgb(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> uint8 (H, W, 3); alpha is composited onto white."""
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im, dtype=np.uint8)
    if mode in ("RGBa", "La"):  # premultiplied: over white is simply c + (255 - a)
        arr = np.asarray(im, dtype=np.uint8).astype(np.uint16)
        color, alpha = arr[..., :-1], arr[..., -1:]
        out = np.minimum(color + (255 - alpha), 255).astype(np.uint8)
        return _gray3(out[..., 0]) if mode == "La" else out
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and im.has_transparency_data):
        arr = np.asarray(im.convert("RGBA"), dtype=np.uint8)
        return _over_white(arr[..., :3], arr[..., 3])
    if mode.startswith("I;16"):
        arr = np.asarray(im)
        if arr.dtype.kind != "u" or arr.dtype.itemsize != 2:
            raise _Unsupported(f"mode {mode}")
        gray = ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
        return _gray3(gray)
    if mode in ("I", "F"):
        return _gray3(_normalise(np.asarray(im), unit_ok=(mode == "F")))
    if mode in ("1", "L"):
        return _gray3(np.asarray(im.convert("L"), dtype=np.uint8))
    try:  # P without transparency, CMYK, YCbCr, LAB, HSV, RGBX, ...
        converted = im.convert("RGB")
    except (ValueError, OSError) as exc:
        raise _Unsupported(f"mode {mode}") from exc
    return np.asarray(converted, dtype=np.uint8)


def _over_white(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Straight-alpha compositing onto white, rounded to nearest."""
    a = alpha.astype(np.uint32)[..., None]
    out = (color.astype(np.uint32) * a + 255 * (255 - a) + 127) // 255
    return out.astype(np.uint8)


def _normalise(arr: np.ndarray, *, unit_ok: bool) -> np.ndarray:
    """32-bit int/float -> uint8: [0,1] floats kept, otherwise min-max (flat -> 0)."""
    values = arr.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(arr.shape, np.uint8)
    lo, hi = float(values[finite].min()), float(values[finite].max())
    values = np.nan_to_num(values, nan=lo, posinf=hi, neginf=lo)
    if unit_ok and lo >= 0.0 and hi <= 1.0:
        scaled = values * 255.0
    elif hi > lo:
        scaled = (values - lo) * (255.0 / (hi - lo))
    else:
        scaled = np.zeros_like(values)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _gray3(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


def _reason(exc: BaseException, path: str) -> str:
    """Map any exception from opening/decoding to a short human reason."""
    if isinstance(exc, Image.DecompressionBombError):
        return "the image is too large (over Pillow's decompression-bomb pixel limit)"
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied (the file is unreadable)"
    if isinstance(exc, _Empty):
        return "the file is empty (0 bytes)"
    if isinstance(exc, UnidentifiedImageError):
        kind = _sniff(path)
        if kind:
            return f"the file looks like a {kind} but its data is corrupt or truncated"
        return "not an image (unrecognised file format)"
    text = str(exc).lower()
    if isinstance(exc, EOFError) or "truncated" in text:
        return "the file is truncated"
    if isinstance(exc, OSError) and any(w in text for w in
                                        ("not available", "not supported", "unsupported",
                                         "unknown", "not implemented")):
        return f"unsupported image format or feature ({_short(exc)})"
    if isinstance(exc, OSError) and exc.errno is not None:  # a real I/O error (EIO, ...)
        return f"the file could not be read ({exc.strerror or _short(exc)})"
    if isinstance(exc, (OSError, SyntaxError, ValueError, struct.error, zlib.error,
                        IndexError, KeyError, TypeError)):
        return f"the image data is corrupt ({_short(exc)})"
    return f"the image data is corrupt ({type(exc).__name__}: {_short(exc)})"


def _sniff(path: str) -> str | None:
    """The format a file's first bytes claim, if we know it."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return None


def _short(exc: BaseException, limit: int = 100) -> str:
    """The exception's message on one short line (never the full path)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
