"""``convscope compare``: two runs at one layer, B − A: two photos under one model, or one photo under
two checkpoints of one architecture (``--weights-b``).

``--json`` prints ``inference.compare.Comparison.report()``: the per-channel mean changes sorted by
|delta|, both predictions and their per-class deltas. Without it, a short text: the difference map's
size and level, the channels that changed most, both top-5. Errors end like every other command's (one
line, exit 2), and the layer and B's weights are checked before any forward.
No torch at import: ``main.py`` imports this module to dispatch, even for the window.
"""
import json

from .options import add_weight_options

TEXT_CHANNELS = 10   # channels listed in the text output
TEXT_CLASSES = 5


def add_compare_parser(sub) -> None:
    p = sub.add_parser(
        "compare", help="compare two runs at one layer: B − A per channel, the mean changes, both predictions",
        description="Run image A and image B through the network and compare them at one layer: the difference "
                    "B − A (when the shapes agree), each channel's mean change sorted by size, and both "
                    "predictions with their per-class changes. With --weights-b, B runs under that checkpoint "
                    "(the same architecture as A's model); give the same image twice to compare two checkpoints "
                    "on one photo.")
    p.add_argument("image_a", metavar="A", help="image A (a local file)")
    p.add_argument("image_b", metavar="B", help="image B (a local file; may be A again with --weights-b)")
    p.add_argument("--layer", required=True, metavar="NAME", help="qualified name (features.28) or alias (conv5_3)")
    p.add_argument("--weights-b", metavar="FILE", default=None,
                   help="B's checkpoint, of the same architecture as A's model (default: B uses A's model)")
    p.add_argument("--json", action="store_true",
                   help="print the per-channel mean changes (sorted by |delta|) and both predictions as JSON")
    p.add_argument("--top", type=int, default=5, metavar="K", help="classes per prediction (default 5)")
    add_weight_options(p)


def _bundle_b(args, bundle_a):
    """B's model: A's without --weights-b, else that checkpoint (detected, or checked as A's architecture
    when detection alone is ambiguous); another architecture is one line."""
    from dataclasses import replace

    from inference.errors import WeightsError
    from inference.model import load_model

    from .cli import note
    from .options import weights_request

    if not args.weights_b:
        return bundle_a
    request = replace(weights_request(args), weights=args.weights_b, classes=None, arch=None)
    try:
        bundle = load_model(request)
    except WeightsError:
        bundle = load_model(replace(request, arch=bundle_a.arch))  # its own line if it is not A's either
    if bundle.arch != bundle_a.arch:
        raise WeightsError(f"--weights-b {args.weights_b} holds a {bundle.display_name}, but A's model is a "
                           f"{bundle_a.display_name}: compare needs one architecture")
    if bundle.notice:
        note(bundle.notice)
    return bundle


def cmd_compare(args) -> int:
    from inference.analysis import AnalysisOptions, analyze
    from inference.compare import compare_runs

    from .cli import _layer_name, _load, web_address_error
    from .options import fail

    for word in (args.image_a, args.image_b):
        web = web_address_error(word)
        if web:
            return fail(web)
    if args.top < 1:
        return fail("--top must be at least 1")
    bundle_a = _load(args)
    layer = _layer_name(bundle_a, args.layer)
    bundle_b = _bundle_b(args, bundle_a)
    _layer_name(bundle_b, layer)  # one architecture, so the same names; checked before any forward
    options = AnalysisOptions(preprocess=args.preprocess, top_k=args.top, layers=frozenset([layer]))
    run_a = analyze(args.image_a, bundle_a, options)
    try:
        run_b = analyze(args.image_b, bundle_b, options)
        try:
            comparison = compare_runs(run_a, run_b, layer)
        finally:
            run_b.release()
    finally:
        run_a.release()
    print(json.dumps(comparison.report()) if args.json else format_comparison(comparison))
    return 0


def format_comparison(c) -> str:
    """The short text form: the sides, the difference map, the channels that changed most, both top-5."""
    where = f"{c.alias} ({c.layer})" if c.alias else c.layer
    lines = [f"compare at {where}", f"  A: {c.label_a}", f"  B: {c.label_b}"]
    if c.diff is not None:
        shape = "×".join(map(str, c.diff.shape))
        peak = float(abs(c.diff).max(initial=0.0))
        lines.append(f"B − A: {shape}, max |B − A| {peak:.4g}, colour level ±{c.level():.4g}")
    else:
        lines.append(f"no difference map: {c.reason}")
    if c.channels is not None:
        lines.append(f"channels that changed most (mean B − A, of {len(c.channels.order)}):")
        for row in c.channels.top(TEXT_CHANNELS):
            lines.append(f"  {row['channel']:>5}  {row['delta']:+.4g}  (A {row['mean_a']:.4g} → B {row['mean_b']:.4g})")
    for side, predictions in (("A", c.predictions_a), ("B", c.predictions_b)):
        top = ", ".join(f"{e['label']} {100 * e['prob']:.1f}%" for e in predictions.top[:TEXT_CLASSES])
        lines.append(f"top-{min(TEXT_CLASSES, len(predictions.top))} {side}: {top}")
    if c.note is None:
        changes = ", ".join(f"{r['label']} {100 * r['prob_delta']:+.1f} pp" for r in c.rows[:TEXT_CLASSES])
        lines.append(f"change B − A: {changes}")
    else:
        lines.append(c.note)
    return "\n".join(lines)
