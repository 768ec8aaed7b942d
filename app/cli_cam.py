"""``convscope cam``: why the network answers a class, as a Grad-CAM file, headless.

``.npy`` keeps the raw map at the layer's resolution (what a script computes with);
``.png`` is the picture a person reads: the map min–max normalised, upsampled onto the
network's input crop and laid on the photo through the crop rect, viridis from 0 with
its opacity following the value. Errors end like every other command's (one line, exit 2),
and the names are checked before the forward so a typo costs no analysis.
No torch at import: ``main.py`` imports this module to dispatch, even for the window.
"""
import json

import numpy as np

from .options import add_weight_options

CAM_METHODS = ("gradcam", "gradcam++")   # inference.cam.METHODS, named here so parsing needs no torch
CAM_SUFFIXES = (".npy", ".png")
CAM_COLORMAP = "viridis"                 # sequential from 0: "yellow = active"; opacity by value


def add_cam_parser(sub) -> None:
    p = sub.add_parser(
        "cam", help="write a class's Grad-CAM: the raw map (.npy) or the map laid on the photo (.png)",
        description="Which parts of the photo made the network answer a class: Grad-CAM (or Grad-CAM++) "
                    "at one layer. FILE.npy holds the raw map, float32 [h, w] at the layer's resolution, "
                    "ReLU(Σ_k w_k A_k), neither normalised nor upsampled; FILE.png is the map laid on the "
                    "photo over the region the network saw (viridis, transparent where low).")
    p.add_argument("image", help="a local image file")
    p.add_argument("--out", required=True, metavar="FILE.(npy|png)",
                   help=".npy: the raw map at the layer's resolution; .png: the map laid on the photo")
    p.add_argument("--class", dest="target", metavar="N|NAME|cat|dog", default=None,
                   help="the class to explain: an index, a class name (or a unique part of one), or, with "
                        "ImageNet weights, cat or dog (log of the summed probability); default: the top-1 class")
    p.add_argument("--layer", metavar="NAME", default=None,
                   help="qualified name (features.29) or alias (relu5_3); default: the last ReLU with a "
                        "spatial output (VGG16: relu5_3, 14×14)")
    p.add_argument("--method", choices=CAM_METHODS, default="gradcam",
                   help="gradcam (default) or gradcam++ (as pytorch-grad-cam computes it)")
    p.add_argument("--json", action="store_true",
                   help="print class, layer, method, shape, min, max and the 10 channels of largest |contribution|")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    add_weight_options(p)


def cmd_cam(args) -> int:
    from inference.analysis import AnalysisOptions, analyze
    from inference.cam import cam_of_run, resolve_target

    from .cli import _check_out, _layer_name, _load

    out = _check_out(args.out, args.force, CAM_SUFFIXES)
    bundle = _load(args)
    layer = _layer_name(bundle, args.layer) if args.layer else None
    if args.target is not None:  # a bad class name fails here, before the forward
        resolve_target(args.target, bundle.class_names, bundle.imagenet_head)
    run = analyze(args.image, bundle, AnalysisOptions(preprocess=args.preprocess, stats=False))
    try:
        cam = cam_of_run(run, layer, args.target, args.method)
        if out.suffix.lower() == ".npy":
            _write_npy(out, cam.raw, args.force)
        else:
            _write_png(out, overlay_picture(run, cam), args.force)
    finally:
        run.release()
    if args.json:
        print(json.dumps(cam.report()))
    else:
        alias = next((s.alias for s in run.specs if s.name == cam.layer and s.alias), None)
        where = f"{cam.layer} ({alias})" if alias else cam.layer
        h, w = cam.raw.shape
        print(f"wrote {out}: {cam.method_name} of {cam.label} at {where}, {h}×{w}, "
              f"max {float(cam.raw.max()):.4g}")
    return 0


def overlay_picture(run, cam) -> np.ndarray:
    """The .png's picture: the normalised CAM upsampled onto the input crop, laid on ``run.image.rgb``."""
    from inference.cam import upsample_to_input
    from widgets.colormaps import heat_lut
    from widgets.heat_blend import lay_heat

    size = tuple(run.prepared.tensor.shape[-2:])
    on_crop = upsample_to_input(cam.normalised(), size)
    return lay_heat(run.image.rgb, on_crop, run.prepared.rect, heat_lut(CAM_COLORMAP, "value"), 0.0, 1.0)


def _write_npy(out, raw: np.ndarray, force: bool) -> None:
    from widgets.atomic_write import atomic_target

    with atomic_target(out, overwrite=force) as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.ascontiguousarray(raw, dtype=np.float32))


def _write_png(out, picture: np.ndarray, force: bool) -> None:
    from PIL import Image

    from widgets.atomic_write import atomic_target

    with atomic_target(out, overwrite=force) as tmp:
        Image.fromarray(picture).save(tmp, format="PNG")
