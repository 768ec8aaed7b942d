"""First feature map: ``Controller.analyze(...)`` → first ``layerReady`` received on the UI thread.

A real Controller with its QThread worker; the time is taken in the slot on the
UI thread. Median over several requests after warm-up, each request allowed to
finish before the next. Budget 0.1 s.
"""
import sys
import time

from common import SAMPLE_CAT, emit, finish, median, note, percentile, qt_app, wait_until

RUNS = 9
WARMUP = 2
BUDGET_MS = 100.0


def main() -> list[dict]:
    qt_app()
    from app.controller import Controller
    from inference.weights_request import WeightsRequest

    ctl = Controller()
    state: dict = {}
    ctl.session.modelChanged.connect(lambda info: state.__setitem__("model", info))
    ctl.modelFailed.connect(lambda msg: state.__setitem__("model_error", msg))
    ctl.layerReady.connect(lambda layer: state.setdefault("first", (time.perf_counter(), layer.name)))
    ctl.session.finished.connect(lambda s: state.__setitem__("done", s))
    ctl.session.failed.connect(lambda msg: state.__setitem__("error", msg))
    ctl.load_model(WeightsRequest(untrained=True, device="cpu"))
    if not wait_until(lambda: "model" in state or "model_error" in state, 180):
        raise RuntimeError("the model did not load")
    if "model_error" in state:
        raise RuntimeError(state["model_error"])

    times = []
    try:
        for i in range(WARMUP + RUNS):
            for k in ("first", "done", "error"):
                state.pop(k, None)
            t0 = time.perf_counter()
            ctl.analyze([str(SAMPLE_CAT)], "imagenet", {}, focus="features.0")  # as the window asks
            if not wait_until(lambda: "done" in state or "error" in state, 120, step_ms=2):
                raise RuntimeError("the analysis did not finish")
            if "error" in state:
                raise RuntimeError(state["error"])
            t_first, name = state["first"]
            if i >= WARMUP:
                times.append((t_first - t0) * 1e3)
        note(f"first layer {name}; ms: {[round(t, 1) for t in times]}")
    finally:
        ctl.shutdown()
    return [
        emit("first_feature_map", median(times), "ms", budget=BUDGET_MS),
        emit("first_feature_map.p90", percentile(times, 90), "ms"),
    ]


if __name__ == "__main__":
    sys.exit(finish(main()))
