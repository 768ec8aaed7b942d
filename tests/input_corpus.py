"""Generated files people drop on the window: broken ones and unusual-but-valid ones.

Each maker writes one file into a folder and returns its path. Shared by the GUI
and CLI reliability tests so both face exactly the same inputs.
"""
import io
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _rgb(w=64, h=48):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // max(1, w - 1), y * 255 // max(1, h - 1), np.full_like(x, 128)], -1).astype(np.uint8)


# ------------------------------------------------------------------ broken: must give a one-line error
def zero_bytes(d: Path) -> Path:
    p = d / "empty.jpg"
    p.write_bytes(b"")
    return p


def text_as_jpg(d: Path) -> Path:
    p = d / "notes.jpg"
    p.write_text("this is not a photo\n")
    return p


def html_as_png(d: Path) -> Path:
    p = d / "page.png"
    p.write_text("<!doctype html><html><body>404</body></html>")
    return p


def truncated_jpeg(d: Path) -> Path:
    buf = io.BytesIO()
    Image.fromarray(_rgb(320, 240)).save(buf, "JPEG", quality=90)
    p = d / "half.jpg"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return p


def png_bad_crc(d: Path) -> Path:
    """A PNG whose compressed image data was damaged (the chunk CRC no longer matches)."""
    buf = io.BytesIO()
    Image.fromarray(_rgb(64, 48)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    i = data.index(b"IDAT") + 4 + 10
    data[i] ^= 0xFF
    p = d / "crc.png"
    p.write_bytes(bytes(data))
    return p


def bomb(d: Path) -> Path:
    """A tiny file that decodes to more pixels than Pillow's bomb limit allows (2× the limit → error)."""
    from PIL import Image as PILImage

    side = int((2 * PILImage.MAX_IMAGE_PIXELS) ** 0.5) + 64
    # A 1-bit PNG of that size compresses to a few hundred KB; write IHDR by hand to keep it instant.
    raw_row = b"\x00" + b"\x00" * ((side + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(raw_row) for _ in range(side)) + comp.flush()

    def chunk(tag, payload):
        return len(payload).to_bytes(4, "big") + tag + payload + zlib.crc32(tag + payload).to_bytes(4, "big")

    ihdr = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])
    p = d / "bomb.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return p


BROKEN = [zero_bytes, text_as_jpg, html_as_png, truncated_jpeg, png_bad_crc, bomb]


# ------------------------------------------------------------------ unusual but valid: must give a result
def sixteen_bit(d: Path) -> Path:
    arr = (np.linspace(0, 65535, 64 * 48).reshape(48, 64)).astype(np.uint16)
    p = d / "deep16.png"
    Image.fromarray(arr).save(p)  # uint16 → mode I;16
    return p


def float_tiff(d: Path) -> Path:
    p = d / "float.tif"
    Image.fromarray(np.linspace(-3, 7, 64 * 48, dtype=np.float32).reshape(48, 64)).save(p)  # mode F
    return p


def palette_transparency(d: Path) -> Path:
    im = Image.fromarray(_rgb()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    p = d / "palette.png"
    im.save(p, transparency=0)
    return p


def cmyk_jpeg(d: Path) -> Path:
    p = d / "print.jpg"
    Image.fromarray(_rgb()).convert("CMYK").save(p, "JPEG")
    return p


def animated_gif(d: Path) -> Path:
    frames = [Image.new("RGB", (40, 30), c) for c in [(255, 0, 0), (0, 0, 255)]]
    p = d / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return p


def animated_webp(d: Path) -> Path:
    frames = [Image.new("RGB", (40, 30), c) for c in [(0, 255, 0), (255, 0, 255)]]
    p = d / "anim.webp"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, lossless=True)
    return p


def exif_rotated(d: Path) -> Path:
    """Stored 80×40 landscape, EXIF orientation 6: shows as 40×80 portrait."""
    exif = Image.Exif()
    exif[0x0112] = 6
    p = d / "phone.jpg"
    Image.fromarray(_rgb(80, 40)).save(p, "JPEG", exif=exif.tobytes())
    return p


def one_pixel(d: Path) -> Path:
    p = d / "dot.png"
    Image.new("RGB", (1, 1), (200, 10, 10)).save(p)
    return p


def long_thin(d: Path) -> Path:
    p = d / "strip.png"
    Image.fromarray(_rgb(4000, 8)).save(p)
    return p


def non_ascii_name(d: Path) -> Path:
    p = d / "chat_été_猫.png"
    Image.fromarray(_rgb()).save(p)
    return p


UNUSUAL = [sixteen_bit, float_tiff, palette_transparency, cmyk_jpeg, animated_gif, animated_webp, exif_rotated,
           one_pixel, long_thin, non_ascii_name]

# (width, height) the result must report, where it is not the stored size
EXPECTED_SIZE = {"exif_rotated": (40, 80), "long_thin": (4000, 8), "one_pixel": (1, 1)}
