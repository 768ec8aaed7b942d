"""Memory: peak RSS of one full analysis, and RSS growth over 50 images through the worker path.

(a) A fresh subprocess loads the model and analyses the cat (224×224 network
input) with every layer captured and kept; its peak RSS (ru_maxrss) ≤ 1.6 GB.
(b) 50 different generated 640×480 PNGs in a row through
``InferenceWorker.analyze`` (signals connected to collectors that keep nothing);
current RSS after gc, from after image 5 to after image 50, grows ≤ 50 MB.
"""
import sys
import tempfile
from pathlib import Path

from common import SAMPLE_CAT, emit, finish, note, qt_app, rss_after_gc_mb, run_snippet

PEAK_BUDGET_MB = 1.6 * 1024
GROWTH_BUDGET_MB = 50.0
IMAGES = 50
FROM_IMAGE = 5

PEAK_CHILD = f"""
import json, resource, sys
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
import common
from inference.analysis import AnalysisOptions, analyze
bundle = common.untrained_bundle()
result = analyze({str(SAMPLE_CAT)!r}, bundle, AnalysisOptions())
assert len(result.layers) == 39, len(result.layers)
print(json.dumps({{"peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "layers_mb": sum(l.data.nbytes for l in result.layers.values()) / 2**20}}))
"""


def make_images(folder: Path, n: int) -> list[str]:
    """``n`` different 640×480 PNGs: a random colour gradient, a rectangle and some noise each."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:480, 0:640].astype(np.float32)
    paths = []
    for i in range(n):
        a, b, c = rng.uniform(0, 1, 3)
        base = np.stack([xx / 640 * 255 * a, yy / 480 * 255 * b, (xx + yy) / 1120 * 255 * c], axis=-1)
        x0, y0 = rng.integers(0, 400), rng.integers(0, 300)
        base[y0:y0 + 150, x0:x0 + 200] = rng.uniform(0, 255, 3)
        base += rng.normal(0, 12, base.shape)
        p = folder / f"img{i:02d}.png"
        Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(p, compress_level=1)
        paths.append(str(p))
    return paths


def growth() -> tuple[float, list[float]]:
    qt_app()
    from app.requests import AnalyzeRequest, Generation
    from app.worker import InferenceWorker
    from inference.weights_request import WeightsRequest

    analyses = Generation()
    worker = InferenceWorker(analyses, Generation())
    worker._niced = True  # on this process's main thread: see bench_pipeline
    seen = {"layers": 0, "finished": 0, "failed": []}

    def count(key):
        def slot(*_):
            seen[key] += 1
        return slot
    worker.layerReady.connect(count("layers"))
    worker.finished.connect(count("finished"))
    worker.failed.connect(lambda rid, msg: seen["failed"].append(msg))
    worker.load_model(WeightsRequest(untrained=True, device="cpu"))
    if worker._bundle is None:
        raise RuntimeError("the model did not load")

    rss = []
    with tempfile.TemporaryDirectory(prefix="convscope-bench-imgs-") as folder:
        for path in make_images(Path(folder), IMAGES):
            worker.analyze(AnalyzeRequest(analyses.next(), (path,), "imagenet", {}, 1024))
            rss.append(rss_after_gc_mb())
    if seen["failed"] or seen["finished"] != IMAGES or seen["layers"] != 39 * IMAGES:
        raise RuntimeError(f"analyses failed: {seen}")
    return rss[IMAGES - 1] - rss[FROM_IMAGE - 1], rss


def main() -> list[dict]:
    out = run_snippet(PEAK_CHILD)[-1]
    peak = out["peak_kb"] / 1024
    note(f"captured activations: {out['layers_mb']:.0f} MB")
    grow, rss = growth()
    note("RSS MB after image 1,5,10,20,30,40,50: "
         + ", ".join(f"{rss[i - 1]:.0f}" for i in (1, 5, 10, 20, 30, 40, 50)))
    return [
        emit("memory.peak_rss_one_image", peak, "MB", budget=PEAK_BUDGET_MB),
        emit("memory.growth_50_images", grow, "MB", budget=GROWTH_BUDGET_MB),
    ]


if __name__ == "__main__":
    sys.exit(finish(main()))
