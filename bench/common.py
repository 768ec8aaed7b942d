"""Shared helpers for the benchmarks: offline environment, result lines, RSS, timing, subprocesses.

Importing this module first sets up the environment every benchmark runs in
(offscreen Qt, offline, throw-away torch hub and config folders), before Qt or
torch is imported, and puts the repository on ``sys.path``.

Every figure is printed as one JSON line::

    {"name", "value", "unit", "budget", "baseline", "ratio", "ok"}

``budget`` is always absolute, in ``unit`` (a relative budget such as
"1.2 × bare forward" is turned into a number using the baseline measured in the
same run). ``ratio`` is value / baseline when there is a baseline, else
value / budget. ``ok`` is value <= budget (null for figures without a budget).
"""
from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CAT = ROOT / "resources" / "samples" / "cat.png"
PAGE = os.sysconf("SC_PAGE_SIZE")


def _offline_env() -> dict:
    """The variables every benchmark process runs with (a temp home made once per process tree)."""
    home = os.environ.get("CONVSCOPE_BENCH_HOME")
    if not home:
        home = tempfile.mkdtemp(prefix="convscope-bench-home-")
    return {
        "CONVSCOPE_BENCH_HOME": home,
        "CONVSCOPE_OFFLINE": "1",
        "QT_QPA_PLATFORM": "offscreen",
        "TORCH_HOME": os.path.join(home, "torch"),
        "XDG_CONFIG_HOME": os.path.join(home, "config"),
        "XDG_DATA_HOME": os.path.join(home, "data"),
        "XDG_CACHE_HOME": os.path.join(home, "cache"),
    }


os.environ.update(_offline_env())
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def bench_env(**extra: str) -> dict:
    """A full environment for a benchmark subprocess (the offline set-up plus ``extra``)."""
    env = dict(os.environ)
    env.update(_offline_env())
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


# ----------------------------------------------------------------------------- results
def emit(name: str, value: float, unit: str, budget: float | None = None, baseline: float | None = None,
         digits: int = 4) -> dict:
    """Print one figure as a JSON line and return it (see the module docstring for the fields)."""
    ratio = None
    if baseline:
        ratio = value / baseline
    elif budget:
        ratio = value / budget
    rec = {"name": name, "value": round(float(value), digits), "unit": unit,
           "budget": None if budget is None else round(float(budget), digits),
           "baseline": None if baseline is None else round(float(baseline), digits),
           "ratio": None if ratio is None else round(ratio, 3),
           "ok": None if budget is None else bool(value <= budget)}
    print(json.dumps(rec), flush=True)
    return rec


def note(text: str) -> None:
    """Human-readable detail, on stderr so stdout stays JSON lines."""
    print(f"  [{Path(sys.argv[0]).stem}] {text}", file=sys.stderr, flush=True)


def finish(records: list[dict]) -> int:
    """Exit status of a benchmark script: 1 when any budget was missed."""
    return 1 if any(r.get("ok") is False for r in records) else 0


# ----------------------------------------------------------------------------- statistics
def median(values) -> float:
    return statistics.median(values)


def percentile(values, q: float) -> float:
    """The q-th percentile (0..100), linear interpolation."""
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


# ----------------------------------------------------------------------------- memory
def rss_mb() -> float:
    """Current resident set size (MB) from /proc/self/statm."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 2**20


def rss_after_gc_mb() -> float:
    gc.collect()
    return rss_mb()


def peak_rss_mb() -> float:
    """Peak RSS of this process (ru_maxrss is KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------- machine load
def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return sum(v) - idle, sum(v)


def cpu_busy(seconds: float = 1.0) -> float:
    """Fraction (0..1) of all cores busy over ``seconds`` (this process sleeps meanwhile)."""
    b0, t0 = _cpu_times()
    time.sleep(seconds)
    b1, t1 = _cpu_times()
    return (b1 - b0) / max(1, t1 - t0)


def wait_for_quiet(limit: float = 0.25, max_wait_s: float = 20.0) -> float:
    """Wait (up to ``max_wait_s``) until other work uses < ``limit`` of the CPU; returns the last reading."""
    deadline = time.monotonic() + max_wait_s
    busy = cpu_busy()
    while busy >= limit and time.monotonic() < deadline:
        busy = cpu_busy(2.0)
    return busy


# ----------------------------------------------------------------------------- subprocesses
def run_python(args: list[str], *, env: dict | None = None, timeout: float = 300,
               cwd: Path = ROOT) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``python *args``; returns (wall-clock time.time() just before Popen, the finished process)."""
    env = env or bench_env()
    t_start = time.time()
    proc = subprocess.run([sys.executable, *args], env=env, cwd=str(cwd), capture_output=True,
                          text=True, timeout=timeout)
    return t_start, proc


def json_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def run_snippet(code: str, *, env: dict | None = None, timeout: float = 300) -> list[dict]:
    """Run ``code`` in a fresh interpreter; return the JSON lines it printed (raises on failure)."""
    _, proc = run_python(["-c", code], env=env, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"subprocess failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json_lines(proc.stdout)


# ----------------------------------------------------------------------------- app objects
def qt_app():
    """The process's QApplication (created offscreen when missing)."""
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(["convscope-bench"])


def untrained_bundle():
    """The seeded untrained VGG16 (same compute as the ImageNet weights), on the CPU."""
    from inference.model import load_model
    from inference.weights_request import WeightsRequest

    return load_model(WeightsRequest(untrained=True, device="cpu"))


def worker_on_this_thread(cams: dict | None = None):
    """An InferenceWorker driven on this thread with the untrained VGG16 loaded: (worker, analyses, model info).

    It is not on its own QThread here, so it must not lower its priority after the first result
    (what it does for the app's UI): that would nice this whole benchmark, bare forwards included,
    and leave both at the mercy of any other load on the machine."""
    from app.requests import Generation
    from app.worker import InferenceWorker
    from inference.weights_request import WeightsRequest

    analyses = Generation()
    worker = InferenceWorker(analyses, Generation(), cams)
    worker._niced = True
    got: dict = {}
    worker.modelReady.connect(lambda info: got.__setitem__("model", info))
    worker.modelFailed.connect(lambda msg: got.__setitem__("model_error", msg))
    worker.load_model(WeightsRequest(untrained=True, device="cpu"))
    if "model" not in got:
        raise RuntimeError(f"model did not load: {got.get('model_error')}")
    return worker, analyses, got["model"]


def cat_batch():
    """The bundled cat as the network takes it: [1, 3, 224, 224], channels_last."""
    import torch

    from inference.images import load_image
    from inference.preprocess import preprocess

    image = load_image(str(SAMPLE_CAT), max_side=1024)
    return preprocess(image.for_network(), "imagenet").tensor.unsqueeze(0).contiguous(memory_format=torch.channels_last)


def wait_until(predicate, timeout_s: float = 120.0, step_ms: int = 5) -> bool:
    """Run the Qt event loop until ``predicate()`` is true (or the timeout passes)."""
    from PySide6.QtCore import QEventLoop, QTimer

    deadline = time.perf_counter() + timeout_s
    loop = QEventLoop()
    while not predicate():
        if time.perf_counter() > deadline:
            return False
        QTimer.singleShot(step_ms, loop.quit)
        loop.exec()
    return True
