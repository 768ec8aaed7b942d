"""Channel ablation: switch channels of one layer off and see what the network answers then.

An :class:`Ablation` is a frozen spec (layer, channels, mode, keep) that a GUI
request or the CLI can carry; :func:`ablate` re-enters a run at that layer
(``Run.rerun``: for a chain model only the layers after it run again) and
returns an :class:`AblationResult` with everything the predictions panel shows,
computed here so the UI thread only prints numbers:

- ``mode="zero"``: the channels are set to 0; ``"mean"``: each to its own
  spatial mean (a flat map that keeps the channel's average drive);
- ``keep=True`` ablates every *other* channel instead, with the same mode: keep
  + zero zeroes the others, keep + mean sets each other channel to its own
  spatial mean (so only the kept channels still say *where* anything is).

A layer without a spatial map (fc7) has no "spatial mean" other than the value
itself, so ``mean`` there is refused rather than silently doing nothing.
The original run is never modified: a reset is simply showing it again.
"""
from dataclasses import dataclass, field

import numpy as np

from .predict import Predictions
from .probes import ChannelEdit
from .run import Rerun, Run

ABLATION_MODES = ("zero", "mean")
_SHOWN_CHANNELS = 8  # a caption lists this many channels, then "… (N channels)"


@dataclass(frozen=True)
class Ablation:
    """Which channels of which layer (its qualified name) to ablate, and how."""

    layer: str
    channels: tuple[int, ...]
    mode: str = "zero"
    keep: bool = False

    def __post_init__(self):
        if self.mode not in ABLATION_MODES:
            raise ValueError(f"unknown ablation mode {self.mode!r}; choose zero or mean")
        try:
            channels = tuple(sorted({int(c) for c in self.channels}))
        except (TypeError, ValueError):
            raise ValueError(f"channels must be whole numbers, not {self.channels!r}") from None
        if not channels:
            raise ValueError(f"no channels to ablate in {self.layer}: give at least one")
        if channels[0] < 0:
            raise ValueError(f"channel {channels[0]} is out of range: channels count from 0")
        object.__setattr__(self, "channels", channels)
        object.__setattr__(self, "keep", bool(self.keep))

    def check(self, shape: tuple[int, ...], name: str | None = None) -> None:
        """One line if this ablation does not fit a layer whose output has ``shape`` (batch dim excluded)."""
        name = name or self.layer
        if self.channels[-1] >= shape[0]:
            raise ValueError(f"channel {self.channels[-1]} is out of range: {name} has {shape[0]} channels")
        if self.mode == "mean" and len(shape) < 2:
            raise ValueError(f"{name} has no spatial map, so a channel's mean is its value: use zero to ablate it")

    def edit(self, num_channels: int | None = None) -> ChannelEdit:
        """The engine's edit. keep + mean needs the layer's channel count (the others are listed)."""
        if not self.keep:
            return ChannelEdit(self.channels, self.mode)
        if self.mode == "zero":
            return ChannelEdit(self.channels, "keep")
        if num_channels is None:
            raise ValueError("keep + mean needs the layer's channel count")
        kept = set(self.channels)
        return ChannelEdit(tuple(c for c in range(num_channels) if c not in kept), "mean")

    def describe(self, name: str | None = None, num_channels: int | None = None) -> str:
        """One line for a caption or the figure: "conv5_3: channels 12, 40 set to 0"."""
        name = name or self.layer
        listed = ", ".join(map(str, self.channels[:_SHOWN_CHANNELS]))
        if len(self.channels) > _SHOWN_CHANNELS:
            listed += f" … ({len(self.channels)} channels)"
        noun = "channel" if len(self.channels) == 1 else "channels"
        how = "0" if self.mode == "zero" else ("its spatial mean" if len(self.channels) == 1 and not self.keep
                                               else "their spatial mean")
        if not self.keep:
            return f"{name}: {noun} {listed} set to {how}"
        others = "the other" if num_channels is None else f"the other {num_channels - len(self.channels)}"
        return f"{name}: only {noun} {listed} kept, {others} set to {how}"

    def report(self) -> dict:
        """The CLI's ``"ablation"`` object."""
        return {"layer": self.layer, "channels": list(self.channels), "mode": self.mode, "keep": self.keep}


@dataclass(frozen=True, eq=False)
class AblationResult:
    """What an ablation changed. ``rows``, ``cat_vs_dog`` and ``caption`` are plain data (floats, ints,
    strings) for the predictions panel's ``set_comparison``; ``rerun.changed`` holds the edited layer
    and every later layer as the ablated run produced them."""

    ablation: Ablation
    rerun: Rerun
    before: Predictions
    after: Predictions
    caption: str
    # One dict per class: the original top classes in their order, then new top classes of the
    # ablated run: index, label, new (not in the original top), rank_before/rank_after (1 = top),
    # logit_before/after/delta, prob_before/after/delta.
    rows: list[dict] = field(default_factory=list)
    # {"cat": {"before", "after", "delta"}, "dog": {...}} for ImageNet's head, else None.
    cat_vs_dog: dict | None = None

    def comparison(self) -> dict:
        """The keyword arguments of ``PredictionsPanel.set_comparison``."""
        return {"rows": self.rows, "cat_vs_dog": self.cat_vs_dog, "caption": self.caption}


def ablate(run: Run, ablation: Ablation) -> AblationResult:
    """Re-run ``run`` from ``ablation.layer`` with its channels ablated; ``run`` itself is left as it was."""
    out = run.layers.get(ablation.layer)
    if out is None:
        raise ValueError(f"no layer named {ablation.layer!r} in this run")
    name = out.spec.alias or ablation.layer
    ablation.check(out.shape, name)
    if run.predictions is None and run.logits is None:
        raise ValueError("this run has no logits (its forward did not finish): analyse the image again")
    before = run.answer()   # a run captured without its answer (capture_run alone): from its logits
    rerun = run.rerun(ablation.layer, ablation.edit(out.shape[0]))
    after = rerun.predictions
    return AblationResult(ablation, rerun, before, after, ablation.describe(name, out.shape[0]),
                          comparison_rows(before, after), cat_vs_dog_change(before, after))


def _ranks(probs: np.ndarray) -> np.ndarray:
    """1-based rank of every class, ties broken by index as the top list breaks them."""
    order = np.argsort(-np.asarray(probs), kind="stable")
    ranks = np.empty(order.shape[0], dtype=np.int64)
    ranks[order] = np.arange(1, order.shape[0] + 1)
    return ranks


def comparison_rows(before: Predictions, after: Predictions) -> list[dict]:
    """Before/after/Δ of the original top classes, then of the ablated run's new top classes."""
    indices = [int(e["index"]) for e in before.top]
    new = [int(e["index"]) for e in after.top if int(e["index"]) not in indices]
    labels = {int(e["index"]): str(e["label"]) for e in [*before.top, *after.top]}
    rank_b, rank_a = _ranks(before.probs), _ranks(after.probs)
    rows = []
    for i in indices + new:
        zb, za = float(before.logits[i]), float(after.logits[i])
        pb, pa = float(before.probs[i]), float(after.probs[i])
        rows.append({"index": i, "label": labels[i], "new": i in new,
                     "rank_before": int(rank_b[i]), "rank_after": int(rank_a[i]),
                     "logit_before": zb, "logit_after": za, "logit_delta": za - zb,
                     "prob_before": pb, "prob_after": pa, "prob_delta": pa - pb})
    return rows


def cat_vs_dog_change(before: Predictions, after: Predictions) -> dict | None:
    """The cat-vs-dog answer's before/after/Δ (ImageNet's head only, where the engine gives one)."""
    if before.cat_vs_dog is None or after.cat_vs_dog is None:
        return None
    return {key: {"before": float(before.cat_vs_dog[key]), "after": float(after.cat_vs_dog[key]),
                  "delta": float(after.cat_vs_dog[key]) - float(before.cat_vs_dog[key])}
            for key in ("cat", "dog")}
