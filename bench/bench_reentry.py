"""Re-entering an analysed image: an edited re-run, a gradient at a layer, an input gradient.

Each is timed on a kept run of the cat (``inference.run.Run``) and compared with
a bare ``bundle.model(x)`` forward (channels_last, inference_mode) of the same
input in the same process, interleaved, medians of 9. Budgets (issue 8):

- ``reentry.rerun_conv5_3``: ``run.rerun("features.28", zero 16 channels)`` ≤ 0.25 × bare;
- ``reentry.gradient_relu5_3``: ``run.gradient("features.29", top-1 logit)``, from the logits
  each time (the run's primed gradients cleared), ≤ 0.25 × bare; ``_primed`` (no budget) is the
  same asked again, from the gradient kept at the linear head's end;
- ``reentry.input_gradient``: ``run.input_gradient(top-1 logit)`` ≤ 3 × bare.

Also reported (no budget): the input gradient of one conv5_3 unit (the
receptive-field probe), and the statistics pass the worker runs after an
analysis (every layer's channel mean, max, min and fraction active).
"""
import sys

from common import SAMPLE_CAT, emit, finish, median, note, qt_app, timed, untrained_bundle

RUNS = 9
WARMUP = 2
BUDGETS = {"rerun_conv5_3": 0.25, "gradient_relu5_3": 0.25, "input_gradient": 3.0}


def main() -> list[dict]:
    qt_app()
    import torch

    from inference.analysis import AnalysisOptions, analyze
    from inference.probes import ChannelEdit, ClassLogit, Unit

    bundle = untrained_bundle()
    run = analyze(str(SAMPLE_CAT), bundle, AnalysisOptions(stats=False))
    x = run.input_batch()
    top = ClassLogit(run.predictions.top[0]["index"])
    edit = ChannelEdit(tuple(range(16)), "zero")
    unit = Unit("features.28", 0, 7, 7)

    def bare():
        with torch.inference_mode():
            return bundle.model(x)

    def stats_pass():
        for layer in analyze(str(SAMPLE_CAT), bundle, AnalysisOptions(stats=False)).layers.values():
            layer.compute_stats()

    probes = {
        "rerun_conv5_3": lambda: run.rerun("features.28", edit),
        # From the logits every time: the run keeps each target's gradient at the linear head's end,
        # so a repeated call would time only the few layers below it (that is the primed figure).
        "gradient_relu5_3": lambda: (run.primed.clear(), run.gradient("features.29", top)),
        "gradient_relu5_3_primed": lambda: run.gradient("features.29", top),
        "input_gradient": lambda: run.input_gradient(top),
        "input_gradient_unit": lambda: run.input_gradient(unit),
    }
    for _ in range(WARMUP):
        bare()
        for fn in probes.values():
            fn()
    times = {"bare": [], **{k: [] for k in probes}}
    for _ in range(RUNS):
        times["bare"].append(timed(bare)[0])
        for k, fn in probes.items():
            times[k].append(timed(fn)[0])
    b = median(times["bare"]) * 1e3
    note(f"bare forward ms: {[round(t * 1e3) for t in times['bare']]}")
    records = []
    for k in probes:
        v = median(times[k]) * 1e3
        budget = BUDGETS.get(k)
        records.append(emit(f"reentry.{k}", v, "ms", budget=None if budget is None else budget * b, baseline=b))
    # The statistics pass, measured as what it adds to an analysis without it.
    with_stats, without = [], []
    for _ in range(5):
        without.append(timed(lambda: analyze(str(SAMPLE_CAT), bundle, AnalysisOptions(stats=False)))[0])
        with_stats.append(timed(stats_pass)[0])
    records.append(emit("reentry.stats_pass", (median(with_stats) - median(without)) * 1e3, "ms", baseline=b))
    return records


if __name__ == "__main__":
    sys.exit(finish(main()))
