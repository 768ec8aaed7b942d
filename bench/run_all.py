"""Run every benchmark in its own process, print a summary table, exit 1 when any budget is missed.

``make bench`` runs this. Each ``bench_*.py`` prints JSON result lines on stdout
(details on stderr, passed through); a benchmark that crashes counts as a miss.
``python bench/run_all.py pipeline startup`` runs only the named ones.
"""
import compileall
import json
import os
import sys
import time
from pathlib import Path

from common import bench_env, json_lines, run_python, wait_for_quiet

HERE = Path(__file__).resolve().parent
ORDER = ["pipeline", "reentry", "cam", "probe", "first_map", "ui_stall", "layer_switch", "startup", "memory", "large_photo", "export", "archs", "scan"]


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "ok" if v else "MISS"
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


def table(records: list[dict]) -> str:
    head = ("name", "value", "unit", "budget", "baseline", "ratio", "status")
    rows = [head] + [(r["name"], _fmt(r["value"]), r["unit"], _fmt(r["budget"]), _fmt(r["baseline"]),
                      _fmt(r["ratio"]), _fmt(r["ok"]) if r["ok"] is not None else "info") for r in records]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def byte_compile() -> None:
    """Measure the app as an installed copy runs: pip byte-compiles a package it installs, while this
    checkout's modules would otherwise be compiled anew at every start (PYTHONDONTWRITEBYTECODE is set
    here), about 0.1-0.2 s of the start-up that no user pays."""
    root = HERE.parent
    for package in ("app", "widgets", "inference"):
        compileall.compile_dir(str(root / package), quiet=1)


def main(argv: list[str]) -> int:
    names = argv or ORDER
    byte_compile()
    load = os.getloadavg()[0]
    print(f"ConvScope benchmarks on {os.cpu_count()} cores; load average {load:.2f} "
          "(each benchmark waits up to 20 s for other work to use < 25 % of the CPU)", flush=True)
    records, crashed, noisy = [], [], []
    t_all = time.perf_counter()
    for name in names:
        script = HERE / f"bench_{name}.py"
        busy = wait_for_quiet()
        print(f"== {name} (other CPU use before start: {busy:.0%})", flush=True)
        if busy >= 0.25:
            print("  warning: the machine is busy; this benchmark's timings will be noisy", flush=True)
            noisy.append(name)
        t0 = time.perf_counter()
        _, proc = run_python([str(script)], env=bench_env(), timeout=600)
        for line in proc.stderr.splitlines():
            if "propagateSizeHints" not in line:  # offscreen Qt chatter
                print(line, file=sys.stderr, flush=True)
        got = json_lines(proc.stdout)
        for rec in got:
            print("  " + json.dumps(rec), flush=True)
        records += got
        if not got or (proc.returncode not in (0, 1)):
            crashed.append(name)
            print(f"  {name} crashed (exit {proc.returncode})", flush=True)
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    print()
    print(table(records))
    missed = [r["name"] for r in records if r["ok"] is False]
    print()
    print(f"total {time.perf_counter() - t_all:.0f} s; "
          f"{sum(r['ok'] is True for r in records)} within budget, {len(missed)} missed"
          + (f" ({', '.join(missed)})" if missed else "")
          + (f"; crashed: {', '.join(crashed)}" if crashed else "")
          + (f"; ran on a busy machine: {', '.join(noisy)}" if noisy else ""))
    status = 1 if missed or crashed else 0
    print(f"exit status {status}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
