"""``convscope models [--json]``: the CNNs ConvScope can show, their size, and whether their weights are here.

Everything comes from torchvision's registry (``inference.architectures``): no
model is built and nothing is downloaded, so it answers in about a second. No
torch at import: ``main.py`` imports the CLI to dispatch, even for the window.
"""
import json


def add_models_parser(sub) -> None:
    p = sub.add_parser(
        "models", help="list the CNNs ConvScope can show, their parameter counts and whether their weights are cached",
        description="Every torchvision classification CNN, with its parameter count and whether its ImageNet "
                    "weights are in torch.hub's cache (and where), or how large the download is. "
                    "Vision transformers are not listed: ConvScope shows CNNs for now.")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def _row(info) -> dict:
    return {"name": info.name, "num_params": info.num_params, "weights": info.weights,
            "input_size": info.input_size, "cached": info.cached,
            "path": info.cache_path if info.cached else None, "file": info.file_name,
            "url": info.url, "download_mb": info.download_mb}


def _params(n: int) -> str:
    return f"{n / 1e6:.1f} M"


def _state(row: dict) -> str:
    if row["cached"]:
        return f"cached: {row['path']}"
    size = f"{row['download_mb']:.0f} MB " if row["download_mb"] is not None else ""
    return f"not cached ({size}download)"


def cmd_models(args) -> int:
    from inference import architectures as archs

    rows = [_row(archs.arch_info(n)) for n in archs.cnn_names()]
    refused = archs.transformer_names()
    note = (f"not listed: {len(refused)} vision transformers ({', '.join(refused)}): "
            f"ConvScope shows CNNs for now")
    if args.json:
        print(json.dumps({"models": rows, "not_listed": refused, "note": note}))
        return 0
    width = max(len(r["name"]) for r in rows)
    print(f"{'model':<{width}}  {'params':>9}  weights")
    for r in rows:
        print(f"{r['name']:<{width}}  {_params(r['num_params']):>9}  {_state(r)}")
    cached = sum(r["cached"] for r in rows)
    print(f"{len(rows)} CNNs, {cached} with weights cached; {note}")
    return 0
