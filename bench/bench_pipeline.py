"""Pipeline: image path → every layer captured, predictions and demo conv, through the worker's code path.

Compared with a bare ``bundle.model(x)`` forward of the same model on the same
input tensor (channels_last, inference_mode) in the same process, runs
interleaved. Budget: worker path ≤ 1.2 × bare forward (medians).
Also reported (no budget): the pure ``inference.analysis.analyze`` path and a
breakdown of the steps around the forward.
"""
import sys

from common import SAMPLE_CAT, cat_batch, emit, finish, median, note, qt_app, timed, worker_on_this_thread

RUNS = 9          # measured runs of each variant (interleaved)
WARMUP = 2
FACTOR = 1.2


def main() -> list[dict]:
    qt_app()
    import torch

    from app.requests import AnalyzeRequest
    from inference.analysis import AnalysisOptions, analyze, demo_for, forward, layer_specs
    from inference.images import load_image
    from inference.predict import predictions_from_logits
    from inference.preprocess import preprocess

    worker, analyses, info = worker_on_this_thread()
    bundle = worker._bundle
    n_layers = len(info["layers"])

    run: dict = {}
    worker.imageReady.connect(lambda rid, img: run.__setitem__("image", img))
    worker.layerReady.connect(lambda rid, layer: run.setdefault("layers", []).append(layer))
    worker.predictionsReady.connect(lambda rid, p: run.__setitem__("predictions", p))
    worker.demoReady.connect(lambda rid, d: run.__setitem__("demo", d))
    worker.failed.connect(lambda rid, msg: run.__setitem__("failed", msg))
    worker.finished.connect(lambda rid, s: run.__setitem__("finished", s))

    path = str(SAMPLE_CAT)
    x = cat_batch()

    def bare():
        with torch.inference_mode():
            return bundle.model(x)

    def through_worker():
        run.clear()
        rid = analyses.next()
        worker.analyze(AnalyzeRequest(rid, (path,), "imagenet", {}, 1024))
        if "failed" in run or "finished" not in run:
            raise RuntimeError(f"worker analysis failed: {run.get('failed')}")
        if len(run["layers"]) != n_layers or "predictions" not in run or "demo" not in run:
            raise RuntimeError("worker analysis incomplete")
        run.clear()  # drop the results before the next run

    def pure():
        analyze(path, bundle, AnalysisOptions())

    for _ in range(WARMUP):
        bare(), through_worker(), pure()
    t_bare, t_worker, t_pure = [], [], []
    for _ in range(RUNS):
        t_bare.append(timed(bare)[0])
        t_worker.append(timed(through_worker)[0])
        t_pure.append(timed(pure)[0])
    b, w, p = median(t_bare) * 1e3, median(t_worker) * 1e3, median(t_pure) * 1e3
    note(f"bare forward ms: {[round(t * 1e3) for t in t_bare]}")
    note(f"worker path ms:  {[round(t * 1e3) for t in t_worker]}")

    # Breakdown of the analysis path (medians, no budget).
    specs = layer_specs(bundle)
    opts = AnalysisOptions()
    steps: dict[str, list[float]] = {k: [] for k in ("load", "preprocess", "capture_forward", "predictions", "demo")}
    for _ in range(5):
        t, img = timed(load_image, path, max_side=1024)
        steps["load"].append(t)
        t, prep = timed(preprocess, img.for_network(), "imagenet", photo_size=img.display_size)
        steps["preprocess"].append(t)
        keep = []
        t, logits = timed(forward, bundle, prep, specs, keep.append)
        steps["capture_forward"].append(t)
        del keep
        t, _ = timed(predictions_from_logits, logits.numpy(), bundle.class_names, 5, bundle.imagenet_head)
        steps["predictions"].append(t)
        t, _ = timed(demo_for, img, opts)
        steps["demo"].append(t)

    records = [
        emit("pipeline.worker_vs_bare", w, "ms", budget=FACTOR * b, baseline=b),
        emit("pipeline.analyze_vs_bare", p, "ms", baseline=b),
    ]
    for k, v in steps.items():
        records.append(emit(f"pipeline.step.{k}", median(v) * 1e3, "ms"))
    return records


if __name__ == "__main__":
    sys.exit(finish(main()))
