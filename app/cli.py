"""``convscope inspect | dump | export | cam | rf``: the engine from a terminal, scriptable and headless.

Every user error ends the same way: exit code 2 and exactly one line on stderr,
``convscope: error: …``. Nothing is half-written: outputs go through a temp file.
"""
import json
import os
import sys
from pathlib import Path

import numpy as np

from .cli_ablate import ablate_run, ablate_wish, ablation_of, add_ablation_options
from .cli_cam import add_cam_parser, cmd_cam
from .cli_compare import add_compare_parser, cmd_compare
from .cli_models import add_models_parser, cmd_models
from .cli_rf import add_rf_parser, cmd_rf
from .cli_scan import add_scan_parser, cmd_scan
from .options import OneLineParser, add_weight_options, fail, weights_request

COMMANDS = ("inspect", "dump", "export", "cam", "rf", "models", "compare", "scan")


class _Unparsable(Exception):
    pass


_WEB_SCHEMES = ("http://", "https://", "ftp://", "ftps://", "www.")


def web_address_error(word: str | None) -> str | None:
    """The one line for an image given as a web address (nothing is downloaded), else None.

    A file that exists is never a web address, whatever its name ("www.cat.jpg")."""
    if word and word.strip().lower().startswith(_WEB_SCHEMES) and not os.path.exists(word):
        shown = word if len(word) <= 80 else word[:77] + "…"
        return f"cannot open '{shown}': web addresses are not supported; download the image first and give its path"
    return None


def gui_image_error(argv: list[str]) -> str | None:
    """Why the window's IMAGE argument cannot be meant, or None to open the window.

    Checked before any window exists: a mistyped command (``convscope modles``) or a
    missing file would otherwise open a window that, headless, never closes.
    """
    from difflib import get_close_matches

    from .gui import build_parser

    if any(a in ("-h", "--help") for a in argv):
        return None
    parser = build_parser()

    def quiet(message):
        raise _Unparsable(message)

    parser.error = quiet  # usage errors are left to the window's own parse, which reports them
    try:
        word = parser.parse_args(argv).image
    except (_Unparsable, SystemExit):
        return None
    if word is None or os.path.exists(word):
        return None
    web = web_address_error(word)
    if web:
        return web
    separators = {"/", os.sep, os.altsep or "/"}
    if any(s in word for s in separators) or Path(word).suffix:
        return f"cannot open '{os.path.basename(os.path.normpath(word)) or word}': no such file"
    close = get_close_matches(word, COMMANDS, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"'{word}' is neither a command ({', '.join(COMMANDS)}) nor a file; give an image to open the window{hint}"


def build_parser() -> OneLineParser:
    parser = OneLineParser(prog="convscope", description="See what every layer of a convolutional network extracts.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    p = sub.add_parser("inspect", help="print what the network answers and what each layer produced")
    p.add_argument("image")
    p.add_argument("--json", action="store_true", help="print the machine-readable JSON summary")
    p.add_argument("--top", type=int, default=5, metavar="K", help="how many classes to list (default 5)")
    add_ablation_options(p)
    add_weight_options(p)

    p = sub.add_parser("dump", help="save raw activations: one layer as .npy, or every layer as .npz")
    p.add_argument("image")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--layer", metavar="NAME", help="qualified name (features.0) or alias (conv1_1)")
    which.add_argument("--all", action="store_true", help="every layer, plus input, logits and demo_conv")
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    add_weight_options(p)

    p = sub.add_parser("export", help="write the composed figure (PNG, SVG or PDF)")
    p.add_argument("image")
    p.add_argument("--out", required=True, metavar="FILE.(png|svg|pdf)")
    p.add_argument("--layer", metavar="NAME", default=None, help="layer to show (default: the model's last conv; VGG16: conv5_3)")
    p.add_argument("--top", type=int, default=8, metavar="N", help="how many top channels (default 8)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    add_weight_options(p)

    add_cam_parser(sub)
    add_rf_parser(sub)
    add_models_parser(sub)
    add_compare_parser(sub)
    add_scan_parser(sub)
    return parser


_notes: list[str] = []


def note(message: str) -> None:
    """Remember a remark for stderr; printed only on success so an error stays the one line."""
    _notes.append(message)


def _flush_notes() -> None:
    for message in _notes:
        print(f"convscope: note: {message}", file=sys.stderr)
    _notes.clear()


def _load(args):
    from inference.model import load_model

    bundle = load_model(weights_request(args))
    if bundle.notice:
        note(bundle.notice)
    return bundle


def _layer_name(bundle, name: str) -> str:
    from inference.analysis import layer_specs

    return layer_named(name, bundle.aliases, [s.name for s in layer_specs(bundle)])


def layer_named(name: str, aliases: dict, known: list[str]) -> str:
    """The qualified layer name for ``name`` (a name or an alias), or one line naming some that exist."""
    from inference.aliases import resolve_layer_name
    from inference.errors import ConvScopeError

    resolved = resolve_layer_name(name, aliases, known)
    if resolved is None:
        hint = f" or an alias like {next(iter(aliases.values()))}" if aliases else ""
        raise ConvScopeError(f"no layer named {name!r}; try one of {', '.join(known[:3])} …{hint}")
    return resolved


def _check_out(path: str, force: bool, suffixes: tuple[str, ...]) -> Path:
    from widgets.atomic_write import check_target

    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise ValueError(f"cannot write {out}: use a {' or '.join(suffixes)} file name")
    try:
        return check_target(out, overwrite=force)
    except FileExistsError as err:
        raise FileExistsError(f"{err}; add --force to overwrite it") from None


def cmd_inspect(args) -> int:
    from inference.analysis import AnalysisOptions, analyze
    from inference.report import analysis_report, format_report

    if args.top < 1:
        return fail("--top must be at least 1")
    wish = ablate_wish(args)  # a misspelt --ablate fails before the model loads
    bundle = _load(args)
    ablation = ablation_of(wish, bundle) if wish else None
    result = analyze(args.image, bundle, AnalysisOptions(preprocess=args.preprocess, top_k=args.top))
    report = analysis_report(result, bundle, ablate_run(result, ablation) if ablation else None)
    print(json.dumps(report) if args.json else format_report(report, bundle))
    return 0


def cmd_dump(args) -> int:
    from inference.analysis import AnalysisOptions, analyze
    from widgets.atomic_write import atomic_target

    out = _check_out(args.out, args.force, (".npz",) if args.all else (".npy",))
    bundle = _load(args)
    layers = None if args.all else frozenset([_layer_name(bundle, args.layer)])
    result = analyze(args.image, bundle, AnalysisOptions(preprocess=args.preprocess, layers=layers))
    with atomic_target(out, overwrite=args.force) as tmp:
        if args.all:
            arrays = {name: layer.data for name, layer in result.layers.items()}
            arrays.update(input=result.prepared.tensor.numpy(), logits=result.predictions.logits,
                          demo_conv=result.demo.raw)
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
        else:
            (layer,) = result.layers.values()
            with open(tmp, "wb") as fh:
                np.save(fh, np.ascontiguousarray(layer.data))
    print(f"wrote {out}")
    return 0


def cmd_export(args) -> int:
    from .figure_data import export_figure_headless

    out = _check_out(args.out, args.force, (".png", ".svg", ".pdf"))
    if args.top < 1:
        return fail("--top must be at least 1")
    bundle = _load(args)
    layer = _layer_name(bundle, args.layer) if args.layer else None
    export_figure_headless(args.image, bundle, out, layer=layer, top=args.top,
                           preprocess=args.preprocess, overwrite=args.force)
    print(f"wrote {out}")
    return 0


def run(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # usage errors (already one line) and --help
        return int(exit_.code or 0)
    try:
        from inference.errors import ConvScopeError
    except Exception as err:  # a broken install should still be one line
        return fail(f"cannot load the engine: {err}")
    handlers = {"inspect": cmd_inspect, "dump": cmd_dump, "export": cmd_export, "cam": cmd_cam, "rf": cmd_rf,
                "models": cmd_models, "compare": cmd_compare, "scan": cmd_scan}
    _notes.clear()
    web = web_address_error(getattr(args, "image", None))  # rf takes no image
    if web:
        return fail(web)
    try:
        code = handlers[args.command](args)
        _flush_notes()
        return code
    except (ConvScopeError, OSError, ValueError) as err:
        return fail(str(err))
    except KeyboardInterrupt:
        return fail("interrupted")
