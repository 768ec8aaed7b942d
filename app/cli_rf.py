"""``convscope rf``: a layer's theoretical receptive field, from the model's geometry alone.

No image and no weights are needed: without ``--weights`` the network is built on
torch's meta device (no memory, nothing downloaded, well under a second); with
``--weights FILE`` that checkpoint's model is used, so a file that is not the
expected network fails as it does for every other command. Errors end like every
other command's (one line, exit 2). No torch at import: ``main.py`` imports this
module to dispatch, even for the window.
"""
import json

from .options import add_weight_options, fail



def add_rf_parser(sub) -> None:
    p = sub.add_parser(
        "rf", help="print a layer's receptive field: size, stride, padding and one unit's box (or --table)",
        description="The theoretical receptive field of a layer's units, derived from the kernels, strides, "
                    "paddings and dilations on the way from the 224×224 input: a unit at (y, x) covers the "
                    "input rows [y·stride − padding, y·stride − padding + size), and the same for columns. "
                    "The geometry needs no image and no weights.")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--layer", metavar="NAME", help="qualified name (features.28) or alias (conv5_3, relu5_3)")
    which.add_argument("--table", action="store_true", help="every layer with a spatial output")
    p.add_argument("--at", nargs=2, type=int, metavar=("Y", "X"),
                   help="the unit's position in the layer's map (with --layer)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_weight_options(p)


def _network(args):
    """(model, aliases, input size): the checkpoint's model with --weights, else the architecture on the
    meta device; the input is the crop its weights' transforms take (inception_v3: 299)."""
    from inference.architectures import arch_info, build_meta, check_name

    if args.weights:
        from .cli import _load

        bundle = _load(args)
        return bundle.model, bundle.aliases, _square(arch_info(bundle.arch).input_size)
    from inference.aliases import ALIASES_BY_ARCH
    from inference.model import ARCH

    arch = check_name(getattr(args, "arch", None) or ARCH)  # --arch resnet50: that model's geometry
    return build_meta(arch).eval(), ALIASES_BY_ARCH.get(arch, {}), _square(arch_info(arch).input_size)


def _square(side: int) -> tuple[int, int]:
    return (int(side), int(side))


def _xy(pair) -> str:
    return "×".join(map(str, pair))


def _interval(box) -> str:
    return "[" + ", ".join(map(str, box)) + ")"


def cmd_rf(args) -> int:
    if args.layer is not None and args.at is None:
        return fail("--layer needs --at Y X: the position of the unit whose box to print")
    if args.table and args.at is not None:
        return fail("--at goes with --layer NAME, not with --table")
    from inference.blocks import leaf_modules
    from inference.field_box import clip_box
    from inference.probe import field_table_of_model

    model, aliases, size = _network(args)
    table = field_table_of_model(model, size)
    if args.table:
        rows = []
        for name in table.spatial():
            row = {"layer": name, "alias": aliases.get(name), "map_size": list(table.map_sizes[name])}
            f = table.field(name)
            rows.append({**row, **f.as_dict()} if f is not None else {**row, "note": table.note(name)})
        print(json.dumps(rows) if args.json else _table_text(rows, size))
        return 0

    from .cli import layer_named

    name = layer_named(args.layer, aliases, [n for n, _ in leaf_modules(model)] + list(table.map_sizes))
    shown = f"{aliases[name]} ({name})" if aliases.get(name) else name
    if name not in table.map_sizes:
        return fail(f"{shown} has no spatial map, so no receptive field; choose a layer with one (--table lists them)")
    h, w = table.map_sizes[name]
    y, x = args.at
    if not (0 <= y < h and 0 <= x < w):
        return fail(f"position ({y}, {x}) is outside the {h}×{w} map of {shown}: y is 0…{h - 1}, x is 0…{w - 1}")
    report = {"layer": name, "alias": aliases.get(name), "input_size": list(size), "map_size": [h, w],
              "at": [y, x]}
    f = table.field(name)
    if f is None:
        report["note"] = table.note(name)
        print(json.dumps(report) if args.json else f"{shown}: {report['note']}")
        return 0
    box = f.box(y, x)
    report.update(f.as_dict(), box=list(box), box_clipped=list(clip_box(box, size)))
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{shown}: {h}×{w} map of a {_xy(size)} input\n"
              f"  size {_xy(f.size)}, stride {_xy(f.stride)}, padding {_xy(f.padding)}\n"
              f"  unit (y {y}, x {x}) covers [y0, x0, y1, x1) = {_interval(box)} unclipped, "
              f"{_interval(report['box_clipped'])} clipped to the input")
    return 0


def _table_text(rows: list[dict], size: tuple[int, int]) -> str:
    lines = [f"receptive fields at a {_xy(size)} input (a unit at (y, x) covers rows "
             "[y·stride − padding, y·stride − padding + size), the same for columns)",
             f"{'layer':<14}{'alias':<10}{'map':<10}{'size':<10}{'stride':<8}{'padding'}"]
    for r in rows:
        head = f"{r['layer']:<14}{r['alias'] or '':<10}{_xy(r['map_size']):<10}"
        if "note" in r:
            lines.append(head + r["note"])
        else:
            lines.append(head + f"{_xy(r['size']):<10}{_xy(r['stride']):<8}{_xy(r['padding'])}")
    return "\n".join(lines)
