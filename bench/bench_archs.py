"""Architectures (issue 12): full capture vs bare forward, switching model, peak RSS of ResNet-50.

(a) For resnet50, mobilenet_v3_large, densenet121 and efficientnet_b0
(untrained, seeded, 224): every layer captured, block outputs and every call of
a shared module included (``layer_specs(bundle)`` through
``inference.analysis.forward``), vs a bare ``bundle.model(x)`` under
inference_mode on the same channels_last input; interleaved, medians of 7
after 2 warm-ups. Budget: ≤ 1.25 × bare, per model. Beside it, for information, the floor under any
capture: the same forward with every leaf's output merely kept alive by a plain hook
(``keep_only_vs_bare``: fresh memory for every output instead of a few reused buffers).
(b) In an offscreen MainWindow that shows the analysed cat, the Model menu's
call ``controller.load_model(...)`` for the untrained resnet18, until the first
layer of the new model's analysis reaches the Session. Budget ≤ 2 s (the first
switch; the switches back and forth after it are reported too).
(c) Peak RSS (VmHWM) of a fresh process that loads the untrained resnet50
and analyses the cat through ``InferenceWorker.analyze``. Budget ≤ 1.2 GB.
(b) and (c) run in child processes of their own (``bench_archs.py switch|peak``).
"""
import sys
import time
from dataclasses import replace
from pathlib import Path

from common import SAMPLE_CAT, cpu_busy, emit, finish, json_lines, median, note, qt_app, run_python, timed, wait_until

ARCHS = ("resnet50", "mobilenet_v3_large", "densenet121", "efficientnet_b0")
RUNS = 7
WARMUP = 2
CAPTURE_FACTOR = 1.25
SWITCH_BUDGET_S = 2.0
PEAK_BUDGET_MB = 1.2 * 1024


def capture_vs_bare() -> list[dict]:
    import torch

    from inference.analysis import forward, layer_specs
    from inference.capture import out_of_place
    from inference.images import load_image
    from inference.model import load_model
    from inference.preprocess import preprocess
    from inference.weights_request import WeightsRequest

    image = load_image(str(SAMPLE_CAT), max_side=1024)
    records = []
    for arch in ARCHS:
        bundle = load_model(WeightsRequest(arch=arch, untrained=True, device="cpu"))
        prepared = preprocess(image.for_network(), "imagenet", photo_size=image.display_size,
                              transform=bundle.transform)
        specs = layer_specs(bundle)
        x = prepared.tensor.unsqueeze(0).contiguous(memory_format=torch.channels_last)

        def bare():
            with torch.inference_mode():
                return bundle.model(x)

        def capture():
            kept = []
            forward(bundle, prepared, specs, kept.append)
            if len(kept) != sum(s.ran for s in specs):
                raise RuntimeError(f"{arch}: {len(kept)} of {len(specs)} layers captured")

        leaves = [m for m in bundle.model.modules() if not any(True for _ in m.children())]

        def keep_only():
            """The floor under any capture: the bare forward, out of place, with every leaf's output merely
            kept alive by a plain forward hook (no names, no views, no blocks, nothing handed out)."""
            kept = []
            handles = [m.register_forward_hook(lambda _m, _i, out: kept.append(out)) for m in leaves]
            try:
                with torch.no_grad(), out_of_place(bundle.model):
                    bundle.model(x)
            finally:
                for h in handles:
                    h.remove()

        for _ in range(WARMUP):
            bare(), capture(), keep_only()
        t_bare, t_cap, t_keep = [], [], []
        for _ in range(RUNS):
            t_bare.append(timed(bare)[0])
            t_cap.append(timed(capture)[0])
            t_keep.append(timed(keep_only)[0])
        b, c, k = median(t_bare) * 1e3, median(t_cap) * 1e3, median(t_keep) * 1e3
        note(f"{arch}: {len(specs)} layers; bare ms {[round(t * 1e3, 1) for t in t_bare]}; "
             f"capture ms {[round(t * 1e3, 1) for t in t_cap]}; keep-only ms {[round(t * 1e3, 1) for t in t_keep]}")
        records.append(emit(f"archs.capture_vs_bare.{arch}", c, "ms", budget=CAPTURE_FACTOR * b, baseline=b))
        records.append(emit(f"archs.keep_only_vs_bare.{arch}", k, "ms", baseline=b))
    return records


def switch_child() -> None:
    """(b), in this process: prints one JSON line per switch."""
    qt_app()
    from bench_ui_stall import open_window

    win = open_window()
    try:
        switches(win)
    finally:
        win.close()


def switches(win) -> None:
    from bench_ui_stall import analyse

    analyse(win)
    session = win.session
    seen: dict = {}

    def on_layer(_name: str) -> None:
        model = session.results_model or {}
        if "t" not in seen and model.get("arch") == seen.get("arch") and session.layers:
            seen["t"] = time.perf_counter()
    session.layerChanged.connect(on_layer)
    for arch in ("resnet18", "vgg16", "resnet18"):
        seen.clear()
        seen["arch"] = arch
        t0 = time.perf_counter()
        win.controller.load_model(replace(win.base_request, arch=arch, weights=None, classes=None, untrained=True))
        if not wait_until(lambda: "t" in seen, 120, step_ms=1):
            raise RuntimeError(f"no layer of {arch} arrived")
        print('{"arch": "%s", "seconds": %.4f}' % (arch, seen["t"] - t0), flush=True)
        wait_until(lambda: not session.busy, 120)  # the rest of that analysis, before the next switch


def peak_child() -> None:
    """(c), in this process: one JSON line with the peak RSS."""
    import resource

    qt_app()
    from app.requests import AnalyzeRequest, Generation
    from app.worker import InferenceWorker
    from inference.weights_request import WeightsRequest

    analyses = Generation()
    worker = InferenceWorker(analyses, Generation())
    worker._niced = True  # on this process's main thread: see common.worker_on_this_thread
    got: dict = {"layers": 0}
    worker.layerReady.connect(lambda rid, layer: got.__setitem__("layers", got["layers"] + 1))
    worker.finished.connect(lambda rid, s: got.__setitem__("finished", True))
    worker.failed.connect(lambda rid, msg: got.__setitem__("failed", msg))
    worker.load_model(WeightsRequest(arch="resnet50", untrained=True, device="cpu"))
    if worker._bundle is None:
        raise RuntimeError("resnet50 did not load")
    worker.analyze(AnalyzeRequest(analyses.next(), (str(SAMPLE_CAT),), "imagenet", {}, 1024))
    if "failed" in got or "finished" not in got:
        raise RuntimeError(f"the analysis failed: {got}")
    with open("/proc/self/status") as fh:   # VmHWM: this image's own peak (ru_maxrss starts from the parent's)
        hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    print('{"peak_kb": %d, "ru_maxrss_kb": %d, "layers": %d}'
          % (hwm, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, got["layers"]), flush=True)


def child(mode: str) -> list[dict]:
    _, proc = run_python([str(Path(__file__).resolve()), mode], timeout=600)
    for line in proc.stderr.splitlines():
        if "propagateSizeHints" not in line:
            print(line, file=sys.stderr, flush=True)
    out = json_lines(proc.stdout)
    if proc.returncode != 0 or not out:
        raise RuntimeError(f"bench_archs.py {mode} failed ({proc.returncode})")
    return out


def main() -> list[dict]:
    import torch

    note(f"torch threads {torch.get_num_threads()}; other CPU use before start {cpu_busy():.0%}")
    switches = child("switch")   # the children first, while this process is small
    note("model switches (s): " + ", ".join(f"{s['arch']} {s['seconds']:.2f}" for s in switches))
    peak = child("peak")[-1]
    note(f"resnet50 through the worker: {peak['layers']} layers")
    records = [emit("archs.switch_to_resnet18_first_map", switches[0]["seconds"], "s", budget=SWITCH_BUDGET_S),
               emit("archs.switch_back_and_forth_first_map", median(s["seconds"] for s in switches[1:]), "s"),
               emit("archs.peak_rss_resnet50", peak["peak_kb"] / 1024, "MB", budget=PEAK_BUDGET_MB)]
    return capture_vs_bare() + records


if __name__ == "__main__":
    if sys.argv[1:] == ["switch"]:
        switch_child()
    elif sys.argv[1:] == ["peak"]:
        peak_child()
    else:
        sys.exit(finish(main()))
