"""Large photo: a 6000×4000 JPEG (quality 90) through the full analysis path in a fresh process.

The analysis loads a display copy with max_side=1024 (JPEG draft decoding), decodes
the file again at full size for the network (``LoadedImage.for_network()``: the
224×224 input is torchvision's transform of the file itself), runs the forward with
every layer captured, the predictions, and the demo conv at the capped resolution.
Only the ``analyze`` call is timed (the model is loaded and has already analysed the
cat once, as in the app); the child checks that the network really got the full-size
view. Budgets: median of 3 analyses ≤ 3 s; peak RSS of the process ≤ 2 GB.
"""
import sys
import tempfile
from pathlib import Path

from common import SAMPLE_CAT, emit, finish, note, run_snippet

TIME_BUDGET_S = 3.0
PEAK_BUDGET_MB = 2 * 1024
RUNS = 3

CHILD = """
import json, resource, statistics, sys, time
sys.path.insert(0, {bench!r})
import common
from inference.analysis import AnalysisOptions, analyze
from inference.images import LoadedImage
seen = []
_full_view = LoadedImage.for_network
def _spy(self):
    view = _full_view(self)
    seen.append(list(view.size))
    return view
LoadedImage.for_network = _spy
bundle = common.untrained_bundle()
analyze({cat!r}, bundle, AnalysisOptions())
times = []
for _ in range({runs}):
    t0 = time.perf_counter()
    result = analyze({photo!r}, bundle, AnalysisOptions(max_side=1024))
    times.append(time.perf_counter() - t0)
    assert len(result.layers) == 39 and result.predictions is not None and result.demo is not None
    shape = list(result.image.rgb.shape); demo = list(result.demo.rgb.shape)
    assert seen and seen[-1] == [result.image.width, result.image.height], ("network view", seen)
    del result
print(json.dumps({{"times": times, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "image": shape, "network": seen[-1], "demo": demo}}))
"""


def make_photo(path: Path) -> None:
    """6000×4000 with structure: smooth gradients, circles, stripes, and mild noise."""
    import numpy as np
    from PIL import Image, ImageDraw

    w, h = 6000, 4000
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[..., 0] = (255 * x * (1 - 0.5 * y)).astype(np.uint8)
    rgb[..., 1] = (255 * y * (0.5 + 0.5 * np.sin(12 * x))).astype(np.uint8)
    rgb[..., 2] = (128 + 127 * np.cos(9 * (x + y))).astype(np.uint8)
    rng = np.random.default_rng(1)
    noise = rng.integers(-10, 11, size=(h, w, 1), dtype=np.int16)
    rgb = np.clip(rgb.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    im = Image.fromarray(rgb)
    draw = ImageDraw.Draw(im)
    for i in range(40):
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(50, 600)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    for i in range(0, w, 240):
        draw.rectangle([i, 3500, i + 100, 3900], fill=(20, 20, 20))
    im.save(path, "JPEG", quality=90)


def main() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="convscope-bench-large-") as folder:
        photo = Path(folder) / "large.jpg"
        make_photo(photo)
        note(f"photo: {photo.stat().st_size / 2**20:.1f} MB JPEG")
        code = CHILD.format(bench=str(Path(__file__).resolve().parent), cat=str(SAMPLE_CAT), photo=str(photo), runs=RUNS)
        out = run_snippet(code)[-1]
    times = sorted(out["times"])
    note(f"analyze s {[round(t, 3) for t in out['times']]}; display {out['image']}, network saw {out['network']}, demo {out['demo']}")
    return [
        emit("large_photo.analyze", times[len(times) // 2], "s", budget=TIME_BUDGET_S),
        emit("large_photo.peak_rss", out["peak_kb"] / 1024, "MB", budget=PEAK_BUDGET_MB),
    ]


if __name__ == "__main__":
    sys.exit(finish(main()))
