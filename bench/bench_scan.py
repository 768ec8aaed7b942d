"""Folder scan (issue 13): throughput against the bare batched forward, and RSS while scanning 1,000 images.

(a) For vgg16 and resnet18 (untrained, seeded), a folder of small JPEGs (320×240, generated) is
scanned by ``inference.scan.scan_folder`` at the model's default layer, with the batch and the
decoding the scanner chooses, into a fresh index each time (every image decoded), against a bare
forward of the same batches of pre-decoded tensors under inference_mode (channels_last, as the scan
feeds them). Bare and scan alternate, round after round (3 for VGG16, 5 for ResNet-18); the figures
are the medians, in ms per image.
Budget: scan ≤ bare / 0.85, i.e. the scan's throughput ≥ 0.85 × the bare forward's.
(b) In a child process (``bench_scan.py rss``): resnet18 scans 1,000 JPEGs (160×120) after a warm-up
scan of 32 others; RSS is sampled every 20 ms. Budget: peak RSS − RSS before the scan ≤ 200 MB.
(c) Where CUDA is present, (a) for resnet18 on the GPU (reported, no budget).
"""
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import cpu_busy, emit, finish, median, note, run_python

THROUGHPUT = {"vgg16": (24, 3), "resnet18": (96, 5)}   # images per run, rounds
FACTOR = 0.85
RSS_IMAGES = 1000
RSS_BUDGET_MB = 200.0


def make_jpegs(folder: Path, n: int, size=(320, 240), seed: int = 0) -> Path:
    """``n`` smooth random JPEGs (blobs of colour: a photo's cost to decode, not noise's)."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w, h = size
    for i in range(n):
        coarse = (rng.random((h // 16 + 2, w // 16 + 2, 3)) * 255).astype(np.uint8)
        Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC).save(folder / f"img{i:04d}.jpg", quality=90)
    return folder


def throughput(arch: str, n: int, rounds: int, device: str = "cpu") -> tuple[float, float, int, list]:
    """(bare ms/img, scan ms/img, batch, per-round pairs), medians over ``rounds`` alternating rounds."""
    import torch

    from inference.model import load_model
    from inference.scan import scan_folder
    from inference.scan_data import ScanDataset, collate
    from inference.scan_files import list_images
    from inference.scan_forward import choose_batch, scan_plan
    from inference.weights_request import WeightsRequest

    bundle = load_model(WeightsRequest(arch=arch, untrained=True, device=device))
    work = Path(tempfile.mkdtemp(prefix=f"convscope-bench-scan-{arch}-"))
    try:
        folder = make_jpegs(work / "photos", n)
        plan = scan_plan(bundle, None)
        batch = choose_batch(plan, bundle.device)
        paths = [str(folder / e.rel) for e in list_images(folder)]
        dataset = ScanDataset(paths, "imagenet", bundle.transform)
        batches = [collate([dataset[i] for i in range(j, min(j + batch, n))]).tensor for j in range(0, n, batch)]
        fmt = torch.channels_last if bundle.device.type == "cpu" else torch.contiguous_format

        def bare() -> float:
            t0 = time.perf_counter()
            with torch.inference_mode():
                for x in batches:
                    bundle.model(x.to(bundle.device).contiguous(memory_format=fmt))
                if bundle.device.type == "cuda":
                    torch.cuda.synchronize()
            return (time.perf_counter() - t0) / n * 1e3

        def scan(k: int) -> float:
            out = work / f"index{k}"
            t0 = time.perf_counter()
            result = scan_folder(folder, bundle, None, 9, out_dir=out)
            seconds = time.perf_counter() - t0
            if result.scanned != n or result.failures:
                raise RuntimeError(f"{arch}: scanned {result.scanned} of {n}, {len(result.failures)} failed")
            shutil.rmtree(out)
            return seconds / n * 1e3

        with torch.inference_mode():
            bundle.model(batches[0].to(bundle.device).contiguous(memory_format=fmt))   # warm-up
        scan(-1)
        pairs = [(bare(), scan(k)) for k in range(rounds)]
        return median([b for b, _ in pairs]), median([s for _, s in pairs]), batch, pairs
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_child() -> None:
    """(b), in this process: one JSON line."""
    import gc

    from inference.model import load_model
    from inference.scan import scan_folder
    from inference.weights_request import WeightsRequest

    work = Path(tempfile.mkdtemp(prefix="convscope-bench-scan-rss-"))
    try:
        warm = make_jpegs(work / "warm", 32, (160, 120), seed=1)
        photos = make_jpegs(work / "photos", RSS_IMAGES, (160, 120), seed=2)
        bundle = load_model(WeightsRequest(arch="resnet18", untrained=True, device="cpu"))
        scan_folder(warm, bundle, None, 9, out_dir=work / "warm-index")
        gc.collect()
        base = _rss_mb()
        peak = [base]
        done = threading.Event()

        def sample():
            while not done.wait(0.02):
                peak[0] = max(peak[0], _rss_mb())
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        result = scan_folder(photos, bundle, None, 9, out_dir=work / "index")
        seconds = time.perf_counter() - t0
        done.set()
        sampler.join()
        peak[0] = max(peak[0], _rss_mb())
        print(json.dumps({"base_mb": base, "peak_mb": peak[0], "after_mb": _rss_mb(), "images": result.scanned,
                          "failed": len(result.failures), "seconds": seconds}), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> list[dict]:
    import torch

    note(f"torch threads {torch.get_num_threads()}; other CPU use before start {cpu_busy():.0%}")
    records = []
    _, proc = run_python([str(Path(__file__).resolve()), "rss"], timeout=900)   # the child first, while this is small
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"bench_scan.py rss failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    r = lines[-1]
    note(f"rss: {r['images']} images in {r['seconds']:.1f} s ({r['images'] / r['seconds']:.1f}/s); "
         f"RSS {r['base_mb']:.0f} MB before, peak {r['peak_mb']:.0f}, after {r['after_mb']:.0f}")
    records.append(emit("scan.rss_growth_1000_images", r["peak_mb"] - r["base_mb"], "MB", budget=RSS_BUDGET_MB))
    for arch, (n, rounds) in THROUGHPUT.items():
        bare, scan, batch, pairs = throughput(arch, n, rounds)
        note(f"{arch}: {n} images, batch {batch}; ms/img per round (bare, scan): "
             + ", ".join(f"({b:.1f}, {s:.1f})" for b, s in pairs)
             + f"; scan {1e3 / scan:.1f} img/s vs bare {1e3 / bare:.1f} img/s")
        records.append(emit(f"scan.ms_per_image.{arch}", scan, "ms", budget=bare / FACTOR, baseline=bare))
    if torch.cuda.is_available():
        bare, scan, batch, _ = throughput("resnet18", 512, 3, "cuda")
        note(f"resnet18 on CUDA: batch {batch}; scan {1e3 / scan:.0f} img/s vs bare {1e3 / bare:.0f} img/s")
        records.append(emit("scan.ms_per_image.resnet18_cuda", scan, "ms", baseline=bare))
    return records


if __name__ == "__main__":
    if sys.argv[1:] == ["rss"]:
        rss_child()
    else:
        sys.exit(finish(main()))
