"""The first idea of all: one ``nn.Conv2d(3, 3, 3, 1, 1)`` applied to the photo.

Exactly as the original write-up does it: the photo as float/255 in NCHW, a
3-in/3-out 3×3 convolution with PyTorch's default initialisation (from a visible
seed, so a picture can be reproduced), the combined output as a uint8 picture, and
each output channel alone. Presets replace the random kernel with classic filters
applied to each colour channel.

The output has values outside 0..1, so turning it into a picture is a choice, and
every choice is computed here (the UI only picks one, no statistics on its thread):
"wrap" is the write-up's literal ``(out*255).astype(np.uint8)``, "clip" (the
default) clips to 0..255, "stretch" maps one min..max over all three channels to
0..255. See :func:`renderings`.
"""
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

DEFAULT_SEED = 0
DEFAULT_MAX_SIDE = 1024
CUSTOM = "custom"

_FILTERS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],     # responds to vertical edges
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],     # responds to horizontal edges
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "gaussian_blur": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}
PRESETS = ("random", *_FILTERS)
OUTPUT_MODES = ("wrap", "clip", "stretch")   # how the output becomes a picture (widgets/demo_output_mode.py)
DEFAULT_OUTPUT_MODE = "clip"


@dataclass(frozen=True)
class DemoConvSpec:
    """What to convolve with: a preset (random uses ``seed``) or a custom kernel."""

    preset: str = "random"
    seed: int = DEFAULT_SEED
    weight: tuple | None = None   # custom only: nested [3][3][3][3] (out, in, kh, kw)
    bias: tuple | None = None     # custom only: [3]


@dataclass(frozen=True)
class DemoConvResult:
    input_rgb: np.ndarray     # uint8 [H, W, 3]: the photo at the working resolution
    raw: np.ndarray           # float32 [3, H, W]: the conv output as computed
    rgb: np.ndarray           # uint8 [H, W, 3]: clip(out*255), the default picture (renderings["clip"])
    weight: np.ndarray        # float32 [3, 3, 3, 3]
    bias: np.ndarray          # float32 [3]
    spec: DemoConvSpec
    original_size: tuple[int, int]   # (width, height) of the photo given
    capped: bool                     # True when the photo was reduced to max_side
    renderings: dict = field(default_factory=dict)  # OUTPUT_MODES key → uint8 [H, W, 3]
    ranges: np.ndarray | None = None  # float32 [3, 2]: each output channel's (min, max)
    size: tuple[int, int] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "size", (self.raw.shape[2], self.raw.shape[1]))
        if self.ranges is None:
            object.__setattr__(self, "ranges", channel_ranges(self.raw))

    @property
    def stretch_range(self) -> tuple[float, float]:
        """The (min, max) over all three channels that "stretch" maps to 0..255."""
        return float(self.ranges[:, 0].min()), float(self.ranges[:, 1].max())

    @property
    def channels(self) -> list[np.ndarray]:
        """Each output channel alone, float32 [H, W]."""
        return [self.raw[i] for i in range(3)]

    @property
    def note(self) -> str | None:
        if not self.capped:
            return None
        (w, h), (ow, oh) = self.size, self.original_size
        return f"computed at {w}×{h} (capped from {ow}×{oh})"


def make_conv(spec: DemoConvSpec) -> nn.Conv2d:
    """The ``nn.Conv2d(3, 3, 3, 1, 1)`` of the write-up, initialised as ``spec`` says."""
    if spec.preset not in PRESETS and spec.preset != CUSTOM:
        raise ValueError(f"unknown kernel preset {spec.preset!r}; choose one of {', '.join(PRESETS)} or custom")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(spec.seed))
        conv = nn.Conv2d(3, 3, kernel_size=3, stride=1, padding=1)  # PyTorch's default init, seeded
    if spec.preset == "random":
        return conv
    with torch.no_grad():
        if spec.preset == CUSTOM:
            weight = torch.as_tensor(np.asarray(spec.weight, dtype=np.float32))
            bias = torch.as_tensor(np.asarray(spec.bias if spec.bias is not None else [0, 0, 0], dtype=np.float32))
            if weight.shape != (3, 3, 3, 3) or bias.shape != (3,):
                raise ValueError(f"a custom kernel is 3×3×3×3 plus 3 biases, got {tuple(weight.shape)} and {tuple(bias.shape)}")
        else:
            # Each output channel filters its own colour channel: out_c = k * in_c.
            weight = torch.zeros(3, 3, 3, 3)
            for c in range(3):
                weight[c, c] = torch.tensor(_FILTERS[spec.preset], dtype=torch.float32)
            bias = torch.zeros(3)
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
    return conv


def cap_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """The (width, height) that fits ``max_side`` on the longest side, aspect kept."""
    if not max_side or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def channel_ranges(raw: np.ndarray) -> np.ndarray:
    """Each channel's (min, max) of a [3, H, W] output, float32 [3, 2] (what the captions print)."""
    flat = raw.reshape(raw.shape[0], -1)
    return np.stack([flat.min(axis=1), flat.max(axis=1)], axis=1).astype(np.float32)


def wrap_picture(hwc: np.ndarray) -> np.ndarray:
    """The write-up's ``(out*255).astype(np.uint8)`` of an [H, W, 3] float32 output, made
    deterministic: ``trunc(out*255) mod 256``.

    numpy's float→uint8 cast of a value outside 0..255 is C's undefined conversion; on
    x86-64 (numpy 2.4 measured) it truncates toward zero and keeps the low 8 bits, so
    −0.5 → 0, −1.5 → 255, 256.7 → 0, 300.2 → 44. This function does that on every
    platform (float → int64 truncates, int → uint8 wraps: both defined), for any finite
    |out·255| < 2^63 (``floor`` would differ: −0.5 → 255). In 0..255 it is the plain cast.
    """
    scaled = np.multiply(hwc, np.float32(255.0), dtype=np.float32)  # out*255 in float32, as the write-up
    return scaled.astype(np.int64).astype(np.uint8)


def clip_picture(hwc: np.ndarray) -> np.ndarray:
    """``clip(out*255, 0, 255)`` as uint8 [H, W, 3] (truncating, as astype does): below 0 black, above 1 white."""
    scaled = np.multiply(hwc, np.float32(255.0), dtype=np.float32)
    np.clip(scaled, 0, 255, out=scaled)
    return scaled.astype(np.uint8)


def stretch_picture(hwc: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``round((out − lo)/(hi − lo)·255)`` as uint8 [H, W, 3], one lo..hi for all three channels
    (so their balance is kept); a flat output (hi == lo) is mid-grey (128)."""
    if not hi > lo:
        return np.full(hwc.shape, 128, np.uint8)
    scaled = np.subtract(hwc, np.float32(lo), dtype=np.float32)
    scaled *= np.float32(255.0 / (hi - lo))
    np.rint(scaled, out=scaled)
    np.clip(scaled, 0, 255, out=scaled)
    return scaled.astype(np.uint8)


def renderings(raw: np.ndarray, ranges: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every OUTPUT_MODES picture of a [3, H, W] output, C-contiguous uint8 [H, W, 3] each (~13 ms at 1024×768)."""
    ranges = channel_ranges(raw) if ranges is None else ranges
    lo, hi = float(ranges[:, 0].min()), float(ranges[:, 1].max())
    hwc = np.ascontiguousarray(np.asarray(raw, np.float32).transpose(1, 2, 0))  # one transpose, not one per picture
    return {"wrap": wrap_picture(hwc), "clip": clip_picture(hwc), "stretch": stretch_picture(hwc, lo, hi)}


def run_demo_conv(rgb: np.ndarray, spec: DemoConvSpec = DemoConvSpec(), max_side: int | None = DEFAULT_MAX_SIDE,
                  original_size: tuple[int, int] | None = None) -> DemoConvResult:
    """Convolve an (H, W, 3) uint8 photo as the write-up does; large photos are reduced to ``max_side``."""
    from PIL import Image

    h, w = rgb.shape[:2]
    original = original_size or (w, h)
    cw, ch = cap_size(w, h, max_side)
    capped = (cw, ch) != (w, h) or tuple(original) != (w, h)
    if (cw, ch) != (w, h):
        rgb = np.asarray(Image.fromarray(rgb).resize((cw, ch), Image.Resampling.LANCZOS))
    conv = make_conv(spec)
    pixels = rgb if rgb.flags.writeable and rgb.flags.c_contiguous else np.array(rgb)  # torch wants writable memory
    x = torch.from_numpy(pixels).permute(2, 0, 1).unsqueeze(0).float() / 255.0
    with torch.inference_mode():
        out = conv(x)[0]
    raw = np.ascontiguousarray(out.numpy(), dtype=np.float32)
    ranges = channel_ranges(raw)
    pictures = renderings(raw, ranges)
    return DemoConvResult(
        input_rgb=np.ascontiguousarray(rgb),
        raw=raw,
        rgb=pictures["clip"],
        weight=conv.weight.detach().numpy().copy(),
        bias=conv.bias.detach().numpy().copy(),
        spec=spec,
        original_size=tuple(original),
        capped=capped,
        renderings=pictures,
        ranges=ranges,
    )
