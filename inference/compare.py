"""A/B comparison of two runs at one layer: B − A per channel, the per-channel mean changes, the predictions.

The two cases a learner asks about are two checkpoints of one architecture on
one photo (before and after fine-tuning) and two photos under one model; both
are two :class:`~inference.run.Run` objects of the same architecture, so the
layer names agree. Runs of different architectures are refused with one line.

What can be compared depends on what agrees:

- the maps are subtracted (``diff``, float32, the layer's shape) only when the
  two outputs have the same shape; otherwise ``diff`` is None and ``reason``
  says why in one line (different input sizes, a head of another width);
- the per-channel means are compared when the channel counts agree (a
  different input size changes H and W, not what a channel means). A vector
  layer (fc7) compares its units themselves;
- the predictions get per-class deltas (the ablation panel's rows, with A as
  "before" and B as "after") only when both runs name the same classes;
  otherwise both are given side by side and ``note`` says why.

The diverging colormap's levels are symmetric, ±L. After a ReLU most
positions are 0 in both maps, so their difference is 0 there too, and a few
strong spots hold the largest values: L is the 99th percentile of |B − A| over
the positions that changed, taken as a value the map holds (numpy's
``method="lower"``), so the strongest 1 % of them, and always at least the single
strongest, saturate instead of setting the scale (``diff_level``). A percentile
over every position would be 0 when fewer than 1 % changed; the maximum (or an
interpolated percentile of a 7×7 map's 49 values) lets one spot wash out the rest.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from .ablation import cat_vs_dog_change, comparison_rows
from .errors import ConvScopeError
from .layer_output import LayerOutput
from .predict import Predictions
from .run import Run

LEVEL_PERCENTILE = 99.0   # of |B − A| over the changed positions: the diverging map's ±level


class CompareError(ConvScopeError):
    """Two runs that cannot be compared at all (different architectures, a layer one of them lacks)."""


@dataclass(frozen=True, eq=False)
class ChannelDeltas:
    """Each channel's mean in A and in B and its change; ``order`` lists channels by |change|, largest first."""

    layer: str
    means_a: np.ndarray      # float32 [C]: spatial mean per channel (a vector layer: its values)
    means_b: np.ndarray      # float32 [C]
    delta: np.ndarray        # float32 [C]: means_b − means_a
    order: np.ndarray        # int64 [C]: argsort of −|delta|, stable (ties keep index order)

    def top(self, n: int | None = None) -> list[dict]:
        """The ``n`` channels that changed most (all with None): channel, mean_a, mean_b, delta."""
        chosen = self.order if n is None else self.order[: max(0, n)]
        return [{"channel": int(c), "mean_a": float(self.means_a[c]), "mean_b": float(self.means_b[c]),
                 "delta": float(self.delta[c])} for c in chosen]


@dataclass(frozen=True, eq=False)
class Comparison:
    """Runs A and B at one layer, and everything the compare view and ``convscope compare`` show."""

    layer: str
    alias: str | None
    a: np.ndarray                      # A's output at the layer, read-only float32 ([C, H, W] or [N])
    b: np.ndarray                      # B's
    diff: np.ndarray | None            # float32, C-contiguous: b − a; None when the shapes disagree
    reason: str | None                 # why diff is None (one line), else None
    channels: ChannelDeltas | None     # None when the channel counts disagree (reason says so)
    predictions_a: Predictions
    predictions_b: Predictions
    # Per-class rows as ``inference.ablation.comparison_rows`` makes them (A = before, B = after):
    # A's top classes, then B's new ones; [] when the class lists differ (see note).
    rows: list[dict] = field(default_factory=list)
    cat_vs_dog: dict | None = None     # {"cat": {"before", "after", "delta"}, "dog": …} with ImageNet heads
    note: str | None = None            # why there are no per-class deltas, else None
    what: str = "images"               # what differs: "images", "weights", "images and weights", "nothing"
    label_a: str = "A"                 # "cat.png · untrained (random, seed 0)"
    label_b: str = "B"

    @property
    def name(self) -> str:
        """The layer as captions name it: its alias where it has one."""
        return self.alias or self.layer

    def level(self, channel: int | None = None) -> float:
        """The diverging map's symmetric level L (draw −L … L) for one channel, or for the whole layer
        (a shared scale) with None: see ``diff_level``. 0.0 when nothing changed; ValueError without a diff."""
        if self.diff is None:
            raise ValueError(f"no difference map: {self.reason}")
        return diff_level(self.diff if channel is None else self.diff[channel])

    def levels(self, channel: int | None = None) -> tuple[float, float]:
        """(−L, L) for a colormap; (−1, 1) when nothing changed, so an all-zero map draws as the centre colour."""
        level = self.level(channel)
        level = level if level > 0 else 1.0
        return -level, level

    def ab_rows(self) -> list[dict]:
        """``rows`` keyed by side, as the compare view's prediction table takes them: index, label, new,
        rank_a/rank_b, logit_a/logit_b/logit_delta, prob_a/prob_b/prob_delta ([] without deltas)."""
        def side(key: str) -> str:
            return key.replace("_before", "_a").replace("_after", "_b")
        return [{side(k): v for k, v in row.items()} for row in self.rows]

    def caption(self) -> str:
        """"B − A at conv5_3: two photos under one model" and the like, for a title."""
        case = {"images": "two photos under one model", "weights": "one photo under two weights",
                "images and weights": "two photos under two weights", "nothing": "the same photo and weights"}
        return f"B − A at {self.name}: {case.get(self.what, self.what)}"

    def report(self) -> dict:
        """``convscope compare --json``: the layer, both sides, the difference map's summary, the
        per-channel mean changes (sorted by |delta|), both predictions and their deltas."""
        diff = None
        if self.diff is not None:
            diff = {"shape": list(self.diff.shape), "max_abs": float(np.abs(self.diff).max(initial=0.0)),
                    "level": self.level(), "level_percentile": LEVEL_PERCENTILE}
        return {
            "layer": self.layer, "alias": self.alias, "what": self.what,
            "a": {"label": self.label_a, "shape": list(self.a.shape)},
            "b": {"label": self.label_b, "shape": list(self.b.shape)},
            "diff": diff, "reason": self.reason,
            "channels": None if self.channels is None else self.channels.top(),
            "predictions": {"a": self.predictions_a.top, "b": self.predictions_b.top,
                            "deltas": self.rows if self.note is None else None,
                            "cat_vs_dog": self.cat_vs_dog, "note": self.note},
        }


# ---------------------------------------------------------------------- the comparison
def compare_runs(a: Run, b: Run, layer: str) -> Comparison:
    """Compare ``a`` and ``b`` at ``layer`` (a qualified name both runs captured); see the module docstring.

    Raises CompareError (one line) for runs of different architectures or a layer either run lacks."""
    check_comparable(a, b)
    out_a, out_b = _outputs(a, b, layer)
    reason = shape_reason(a, b, out_a, out_b)
    diff = None
    if reason is None:
        diff = np.empty(out_a.shape, dtype=np.float32)  # C-contiguous whatever the inputs' strides
        np.subtract(out_b.data, out_a.data, out=diff)
        diff.setflags(write=False)
    same_classes, note = _classes_agree(a, b)
    pa, pb = a.predictions, b.predictions
    return Comparison(
        layer=layer, alias=out_a.spec.alias, a=out_a.data, b=out_b.data, diff=diff, reason=reason,
        channels=_deltas(layer, out_a, out_b),
        predictions_a=pa, predictions_b=pb,
        rows=comparison_rows(pa, pb) if same_classes else [],
        cat_vs_dog=cat_vs_dog_change(pa, pb) if same_classes else None,
        note=note, what=what_differs(a, b), label_a=side_label(a), label_b=side_label(b))


def channel_deltas(a: Run, b: Run, layer: str) -> ChannelDeltas | None:
    """The per-channel mean changes alone (no difference map is made); None when the channel counts
    disagree. The means are the layers' own statistics (``LayerOutput.means``), computed once."""
    check_comparable(a, b)
    return _deltas(layer, *_outputs(a, b, layer))


def check_comparable(a: Run, b: Run) -> None:
    """One line unless ``a`` and ``b`` are runs of one architecture with their predictions in."""
    if a.bundle.arch != b.bundle.arch:
        raise CompareError(f"A is a {a.bundle.display_name} and B a {b.bundle.display_name}: "
                           "a comparison needs two runs of one architecture")
    if a.predictions is None or b.predictions is None:
        raise CompareError("both runs must be complete (their predictions in) before they are compared")


def shape_reason(a: Run, b: Run, out_a: LayerOutput, out_b: LayerOutput) -> str | None:
    """Why the two outputs cannot be subtracted (one line), or None when their shapes agree."""
    if out_a.shape == out_b.shape:
        return None
    size_a, size_b = tuple(a.prepared.tensor.shape[-2:]), tuple(b.prepared.tensor.shape[-2:])
    name = out_a.spec.alias or out_a.name
    if size_a != size_b:
        return (f"different input sizes (A {_dims(size_a)}, B {_dims(size_b)}): {name} is "
                f"{_dims(out_a.shape)} in A and {_dims(out_b.shape)} in B")
    return f"{name} is {_dims(out_a.shape)} in A and {_dims(out_b.shape)} in B: the maps cannot be subtracted"


def what_differs(a: Run, b: Run) -> str:
    """"images", "weights", "images and weights" or "nothing" between the two runs."""
    images = _image_key(a) != _image_key(b)
    weights = a.bundle is not b.bundle and (a.bundle.source, a.bundle.path) != (b.bundle.source, b.bundle.path)
    return {(True, False): "images", (False, True): "weights", (True, True): "images and weights"}.get(
        (images, weights), "nothing")


def side_label(run: Run) -> str:
    """"cat.png · weights from ep100.pth (2 classes)": which photo under which weights."""
    path = getattr(run.image, "path", None)
    name = os.path.basename(str(path)) if path is not None else "input"
    return f"{name} · {run.bundle.weights_text()}"


# ---------------------------------------------------------------------- levels
def diff_level(diff: np.ndarray, percentile: float = LEVEL_PERCENTILE) -> float:
    """The symmetric level L for a diverging map of ``diff`` (any shape): the ``percentile`` of |diff|
    over the entries that are not 0, rounded down to one of them (see the module docstring); 0.0 when
    every entry is 0."""
    magnitude = np.abs(np.asarray(diff, dtype=np.float32)).ravel()
    changed = magnitude[magnitude > 0]
    return float(np.percentile(changed, percentile, method="lower")) if changed.size else 0.0


def channel_levels(diff: np.ndarray, percentile: float = LEVEL_PERCENTILE) -> np.ndarray:
    """``diff_level`` of every channel of a [C, H, W] difference at once, float32 [C] (one sort per layer:
    a view's per-channel scale for the whole grid)."""
    diff = np.asarray(diff, dtype=np.float32)
    if diff.ndim < 2:
        raise ValueError(f"channel levels need a [C, H, W] difference, not one of shape {diff.shape}")
    rows = np.sort(np.abs(diff.reshape(diff.shape[0], -1)), axis=1)   # the zeros first
    changed = np.count_nonzero(rows, axis=1)
    # np.percentile's "lower" method within each row's block of changed entries (its last `changed`).
    count = np.maximum(changed, 1)
    rank = np.floor((count - 1) * (percentile / 100.0)).astype(np.int64)
    levels = np.take_along_axis(rows, (rows.shape[1] - count + rank)[:, None], axis=1)[:, 0]
    return np.where(changed > 0, levels, 0.0).astype(np.float32)


# ---------------------------------------------------------------------- helpers
def _outputs(a: Run, b: Run, layer: str) -> tuple[LayerOutput, LayerOutput]:
    missing = [side for side, run in (("A", a), ("B", b)) if layer not in run.layers]
    if missing:
        raise CompareError(f"no layer named {layer!r} in run {' and '.join(missing)}")
    return a.layers[layer], b.layers[layer]


def _values(out: LayerOutput) -> np.ndarray:
    """A channel's summary value: its spatial mean for a map, the unit itself for a vector."""
    if out.is_map:
        return out.compute_stats().means
    return np.asarray(out.data, dtype=np.float32).reshape(-1)


def _deltas(layer: str, out_a: LayerOutput, out_b: LayerOutput) -> ChannelDeltas | None:
    if out_a.shape[0] != out_b.shape[0] or out_a.is_map != out_b.is_map:
        return None
    means_a, means_b = _values(out_a), _values(out_b)
    delta = (means_b - means_a).astype(np.float32)
    order = np.argsort(-np.abs(delta), kind="stable").astype(np.int64)
    return ChannelDeltas(layer, means_a, means_b, delta, order)


def _classes_agree(a: Run, b: Run) -> tuple[bool, str | None]:
    names_a, names_b = a.bundle.class_names, b.bundle.class_names
    n_a, n_b = a.predictions.logits.shape[0], b.predictions.logits.shape[0]
    if n_a != n_b:
        return False, f"A has {n_a} classes and B {n_b}: no per-class deltas"
    if list(names_a) != list(names_b):
        return False, "A and B name their classes differently: no per-class deltas"
    return True, None


def _image_key(run: Run):
    image = run.image
    return (str(getattr(image, "path", None)), getattr(image, "stamp", None))


def _dims(shape) -> str:
    return "×".join(str(int(d)) for d in shape)


__all__ = ["LEVEL_PERCENTILE", "ChannelDeltas", "CompareError", "Comparison", "channel_deltas", "channel_levels",
           "check_comparable", "compare_runs", "diff_level", "shape_reason", "side_label", "what_differs"]
