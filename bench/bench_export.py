"""Export: the composed figure (``app.figure_data.figure_data`` + ``widgets.figure.write_figure``).

The cat is analysed once (features.28, the default figure layer, and the
top-1 class's Grad-CAM for row 4); then the
figure is written to PNG, SVG and PDF in a temp folder. Budgets (median of 3):
PNG ≤ 1 s, SVG ≤ 3 s, PDF ≤ 3 s.
"""
import sys
import tempfile
import time
from pathlib import Path

from common import SAMPLE_CAT, emit, finish, median, note, untrained_bundle

RUNS = 3
BUDGETS_S = {".png": 1.0, ".svg": 3.0, ".pdf": 3.0}


def main() -> list[dict]:
    from app.figure_data import ensure_gui_application, figure_data_of_run
    from widgets.figure import write_figure

    ensure_gui_application()
    bundle = untrained_bundle()
    data = figure_data_of_run(str(SAMPLE_CAT), bundle)  # every row, the Grad-CAM row included
    records = []
    with tempfile.TemporaryDirectory(prefix="convscope-bench-export-") as folder:
        write_figure(data, Path(folder) / "warmup.png")  # fonts, plugins
        for fmt, budget in BUDGETS_S.items():
            times = []
            for i in range(RUNS):
                out = Path(folder) / f"figure{i}{fmt}"
                t0 = time.perf_counter()
                write_figure(data, out)
                times.append(time.perf_counter() - t0)
            note(f"{fmt}: {[round(t, 3) for t in times]} s, {out.stat().st_size / 1024:.0f} KB")
            records.append(emit(f"export{fmt}", median(times), "s", budget=budget))
    return records


if __name__ == "__main__":
    sys.exit(finish(main()))
