"""``convscope inspect --ablate LAYER:CH[,CH…]``: the same summary, of the run with those channels ablated.

The spelling is checked before the model loads (a typo costs nothing), the layer
name once it has (aliases such as conv5_3 resolve), the channels against the
layer's output once the image has run. Every error is the CLI's one line, exit 2.
No torch at import: ``app.cli`` imports this module to build its parser.
"""
from dataclasses import dataclass

ABLATE_MODES = ("zero", "mean")   # inference.ablation.ABLATION_MODES, named here so parsing needs no torch
_FORM = "give it as LAYER:CH[,CH…], e.g. conv5_3:12,40"


def add_ablation_options(p) -> None:
    g = p.add_argument_group("ablation (the predictions and layers reported are then the ablated run's)")
    g.add_argument("--ablate", metavar="LAYER:CH[,CH…]", default=None,
                   help="ablate channels of a layer (qualified name or alias), e.g. conv5_3:12,40")
    g.add_argument("--ablate-mode", choices=ABLATE_MODES, default=None,
                   help="zero (default): set them to 0; mean: set each to its own spatial mean")
    g.add_argument("--keep", action="store_true",
                   help="keep only these channels: ablate every other channel of the layer instead")


@dataclass(frozen=True)
class AblateWish:
    """``--ablate`` as typed: the layer word (not resolved yet) and the channels."""

    layer: str
    channels: tuple[int, ...]
    mode: str
    keep: bool


def ablate_wish(args) -> AblateWish | None:
    """The ablation the options ask for, None without ``--ablate``; ValueError (one line) when misspelt."""
    text = getattr(args, "ablate", None)
    if text is None:
        for given, option in ((args.keep, "--keep"), (args.ablate_mode is not None, "--ablate-mode")):
            if given:
                raise ValueError(f"{option} needs --ablate LAYER:CH[,CH…] (which channels of which layer)")
        return None
    layer, colon, listed = text.strip().rpartition(":")
    if not colon:
        raise ValueError(f"--ablate {text!r} names no channels; {_FORM}")
    layer = layer.strip()
    if not layer:
        raise ValueError(f"--ablate {text!r} names no layer; {_FORM}")
    words = [w.strip() for w in listed.split(",")]
    if not any(words):
        raise ValueError(f"--ablate {text!r} names no channels; {_FORM}")
    channels = []
    for word in words:
        try:
            channels.append(int(word))
        except ValueError:
            raise ValueError(f"--ablate {text!r}: {word!r} is not a channel number; {_FORM}") from None
    return AblateWish(layer, tuple(channels), args.ablate_mode or "zero", bool(args.keep))


def ablation_of(wish: AblateWish, bundle):
    """The engine's Ablation, the layer resolved (an unknown name is one line, before any forward)."""
    from inference.ablation import Ablation

    from .cli import _layer_name

    return Ablation(_layer_name(bundle, wish.layer), wish.channels, wish.mode, wish.keep)


def ablate_run(run, ablation):
    """``ablate()``, with the statistics of every changed layer that the report lists."""
    from inference.ablation import ablate

    result = ablate(run, ablation)
    for layer in result.rerun.changed.values():
        layer.compute_stats()
    return result
