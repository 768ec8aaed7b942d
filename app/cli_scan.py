"""``convscope scan FOLDER``: what each channel of a layer looks for, across a folder of images.

For each channel of each ``--layer`` (default: the model's default layer, ``inference.scan_forward.
default_scan_layer``: VGG16 relu5_3, ResNet-18 layer4.1.relu#2), the ``--top`` images where the
channel's maximum is highest, where that maximum is, its value, and the unit's receptive field on the
photo (``inference.scan``). The scan is resumable: its index lives under ``--out`` (default: the
user's cache folder), so a second run decodes only new or changed files, and Ctrl-C stops it keeping
everything done (run it again to go on). Images that cannot be read are listed on stderr, one line
each, and skipped. ``--sheets DIR`` writes one PNG per channel with its top patches.

Errors end like every other command's (one line, exit 2); a cancelled scan exits with 130.
No torch at import: ``main.py`` imports this module to dispatch, even for the window.
"""
import json
import os
import signal
import sys
import threading

from .options import add_weight_options, fail

TEXT_HITS = 3   # hits per channel in the text output (--json has them all)


def add_scan_parser(sub) -> None:
    p = sub.add_parser(
        "scan", help="find each channel's top images in a folder (resumable; --json, --sheets)",
        description="Scan a folder of images (recursively) and, for each channel of a layer, find the N images "
                    "where that channel's maximum is highest, the position of that maximum in the layer's map, "
                    "its value, and the unit's receptive field on the photo (x0, y0, x1, y1 in the photo's "
                    "full-size pixels). The scan keeps an index of every image's maxima, so a second run "
                    "decodes only new or changed files; Ctrl-C stops it and keeps what was done.")
    p.add_argument("folder", metavar="FOLDER", help="a folder of images (sub-folders are scanned too)")
    p.add_argument("--layer", action="append", metavar="NAME", default=None,
                   help="qualified name (features.29, layer4.1.relu#2) or alias (relu5_3); repeat for several; "
                        "default: the model's default layer (VGG16: relu5_3)")
    p.add_argument("--top", type=int, default=9, metavar="N", help="images per channel (default 9)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="where the scan index is kept (default: ~/.cache/convscope/scans/<folder>-<hash>)")
    p.add_argument("--batch", type=int, default=None, metavar="B",
                   help="images per forward (default: chosen from the free memory)")
    p.add_argument("--workers", type=int, default=None, metavar="W",
                   help="decoding processes (default 0: decode on a thread beside the forward, fastest on few cores)")
    p.add_argument("--json", action="store_true", help="print {layer: {channel: [{path, value, y, x, box}]}}")
    p.add_argument("--sheets", metavar="DIR", default=None,
                   help="write one PNG sheet per channel (its top patches with their values) into DIR")
    add_weight_options(p)


class _Bar:
    """tqdm on stderr (images/s and ETA), made at the first report, when the total is known; quiet
    when stderr is not a terminal."""

    def __init__(self):
        self.bar = None

    def update(self, p) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=p.total, unit="img", desc="scan", file=sys.stderr, disable=None,
                            dynamic_ncols=True, leave=False)
        self.bar.update(p.done - self.bar.n)
        if p.failed:
            self.bar.set_postfix(failed=p.failed, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _Interrupt:
    """The first Ctrl-C asks the scan to stop (it saves what it did); a second one interrupts at once."""

    def __init__(self):
        self.asked = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, *_):
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True

    def __call__(self) -> bool:
        return self.asked

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


def cmd_scan(args) -> int:
    if args.top < 1:
        return fail("--top must be at least 1")
    if args.batch is not None and args.batch < 1:
        return fail("--batch must be at least 1")
    if args.workers is not None and args.workers < 0:
        return fail("--workers must be 0 or more")
    folder = args.folder
    if not os.path.isdir(folder):   # before the model loads
        why = "it is a file, not a folder" if os.path.exists(folder) else "no such folder"
        return fail(f"cannot scan '{folder}': {why}")
    if args.sheets is not None:
        if os.path.exists(args.sheets) and not os.path.isdir(args.sheets):
            return fail(f"cannot write sheets to '{args.sheets}': it is a file, not a folder")
        os.makedirs(args.sheets, exist_ok=True)

    from inference.scan import scan_folder

    from .cli import _layer_name, _load, note

    bundle = _load(args)
    layers = [_layer_name(bundle, name) for name in args.layer] if args.layer else None
    bar = _Bar()
    try:
        with _Interrupt() as interrupt:
            result = scan_folder(folder, bundle, layers, args.top, preprocess=args.preprocess, out_dir=args.out,
                                 batch=args.batch, workers=args.workers, progress=bar.update, cancel=interrupt)
    finally:
        bar.close()
    for failure in result.failures:
        print(f"convscope: skipped {failure.message}", file=sys.stderr)
    for text in result.notes:
        note(text)
    if result.cancelled:
        print(f"convscope: scan cancelled: {result.scanned} images scanned now, {result.pending} to go; "
              f"the index in {result.index_dir} keeps them: run the same command again to go on", file=sys.stderr)
        return 130
    for lh in result.layers.values():
        if lh.note:
            note(lh.note)
    if args.sheets is not None:
        _write_sheets(result, args.sheets)
    print(json.dumps(result.as_json()) if args.json else format_scan(result, args.top))
    return 0


def _write_sheets(result, folder: str) -> None:
    from inference.patches import write_channel_sheets

    from .cli import note

    for lh in result.layers.values():
        written, errors = write_channel_sheets(lh, folder)
        note(f"wrote {len(written)} sheets of {lh.layer} into {folder}")
        for reason in errors:
            note(f"a patch is missing from the sheets: {reason}")


def _shown(text: str) -> str:
    """A file name as a terminal can print it (a name that is not UTF-8 gets U+FFFD where it is not)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def format_scan(result, top: int = TEXT_HITS) -> str:
    """The text output: what was scanned, then per layer and channel its best hits."""
    lines = [f"scanned {_shown(result.folder)}: {result.images} images ({result.scanned} decoded now, {result.reused} "
             f"from the index), {len(result.failures)} could not be read; index in {result.index_dir}"]
    for lh in result.layers.values():
        where = f"{lh.alias} ({lh.layer})" if lh.alias else lh.layer
        shown_n = min(TEXT_HITS, top)
        more = f"; --json lists all {top}" if top > shown_n else ""
        lines.append(f"{where}: {lh.channels} channels, {lh.map_size[0]}×{lh.map_size[1]} map; each channel's "
                     f"best {shown_n} (value, image, position{more}):")
        for c, hits in enumerate(lh.hits):
            shown = " · ".join(f"{h.value:.4g} {_shown(h.rel)} (y {h.y}, x {h.x})" for h in hits[:shown_n])
            lines.append(f"  {c:>5}  {shown or '(no image)'}")
    return "\n".join(lines)
