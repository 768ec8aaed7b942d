"""The worker's A/B comparison: pin the current run as A, then B − A of the current run at one layer.

A mixin of ``InferenceWorker`` (its signals live there). A is a kept run,
``self.pinned``: it survives new images and new weights of the same
architecture (``keeps_pin``), so B is always the worker's current run.
Everything the compare view colours by is computed here, never on the UI
thread: the difference itself (``inference.compare.compare_runs``), the
diverging level ±L of every channel and of the layer (``channel_levels`` and
``Comparison.level``: the engine's rule, the only one), the largest |B − A|
beyond it, and A's and B's common range per channel and per layer (the
layers' own statistics). The window then only slices arrays and paints.
"""
from __future__ import annotations

import logging
import os
import traceback
from dataclasses import dataclass

import numpy as np

log = logging.getLogger("convscope.worker")


@dataclass(frozen=True, eq=False)
class ComparedLayer:
    """One CompareRequest's answer: the engine's Comparison and the scales to draw it with."""

    comparison: object                  # inference.compare.Comparison (numpy arrays, Predictions)
    pin_id: int                         # the pin request that made A
    analysis_id: int                    # B's analysis
    percentile: float                   # the engine's level percentile (for the colour bar's words)
    diff_levels: np.ndarray | None      # float32 [C]: each channel's ±L (0: nothing changed); None: no map diff
    diff_tops: np.ndarray | None        # float32 [C]: each channel's largest |B − A|
    layer_level: float | None           # ±L over the whole layer (None without a difference)
    layer_top: float | None             # the layer's largest |B − A|
    ranges: np.ndarray | None           # float32 [C, 2]: min and max of A and B together, per channel (maps)
    layer_range: tuple[float, float] | None   # min and max of A and B over the layer

    @property
    def layer(self) -> str:
        return self.comparison.layer


def pin_info(run, request, generation: int) -> dict:
    """What the window says of A: its labels (photo name, weights) and which analysis and model it is."""
    from inference.compare import side_label

    path = getattr(run.image, "path", None)
    return {"pin_id": request.id, "analysis_id": request.analysis_id, "generation": generation,
            "label": side_label(run), "image": os.path.basename(str(path)) if path else "input",
            "weights_text": run.bundle.weights_text(), "arch": run.bundle.arch, "display": run.bundle.display_name}


def compared_layer(comparison, a_out, b_out, pin_id: int, analysis_id: int) -> ComparedLayer:
    """The scales of ``comparison`` (at ``a_out``/``b_out``, the two runs' LayerOutputs there)."""
    from inference.compare import LEVEL_PERCENTILE, channel_levels

    diff = comparison.diff
    diff_levels = diff_tops = layer_level = layer_top = None
    if diff is not None:
        layer_level, layer_top = comparison.level(), float(np.abs(diff).max(initial=0.0))
        if diff.ndim == 3:
            diff_levels = channel_levels(diff)
            diff_tops = np.abs(diff).max(axis=(1, 2)).astype(np.float32)
    ranges = layer_range = None
    if a_out.is_map and b_out.is_map and a_out.shape[0] == b_out.shape[0]:
        a_out.compute_stats()
        b_out.compute_stats()
        lo = np.minimum(a_out.mins, b_out.mins)
        hi = np.maximum(a_out.maxs, b_out.maxs)
        ranges = np.stack([lo, hi], axis=1).astype(np.float32)
        layer_range = (float(lo.min()), float(hi.max()))
    else:
        values = [np.asarray(o.data, dtype=np.float32) for o in (a_out, b_out)]
        layer_range = (float(min(v.min() for v in values)), float(max(v.max() for v in values)))
    return ComparedLayer(comparison, pin_id, analysis_id, LEVEL_PERCENTILE, diff_levels, diff_tops, layer_level,
                         layer_top, ranges, layer_range)


class CompareSlots:
    """``pin(PinRequest)``, ``unpin()`` and ``compare(CompareRequest)``, run on the worker's thread."""

    pinned_id = 0   # the pin request that pinned ``self.pinned``

    def pin(self, request) -> None:
        """Keep the current run as A (it must be the run of the analysis the window shows, and whole)."""
        generation = self._reentries.get("pin")
        if generation is not None and generation.is_stale(request.id):
            self.pinFailed.emit(request, "")
            return
        run = self.run
        if run is None or self.run_id != request.analysis_id or run.predictions is None:
            self.pinFailed.emit(request, "nothing to pin yet: wait until the result is shown")
            return
        self.pinned, self.pinned_id = run, request.id
        try:
            self.pinReady.emit(request, pin_info(run, request, self._generation))
        except Exception as err:
            log.error("pinning failed:\n%s", traceback.format_exc())
            self.pinned, self.pinned_id = None, 0
            self.pinFailed.emit(request, f"internal error while pinning: {err}")

    def unpin(self) -> None:
        self.pinned, self.pinned_id = None, 0

    def keeps_pin(self, bundle) -> bool:
        """A new model arrives: keep A if it is a run of the same architecture, else let it go and say so."""
        pinned = self.pinned
        if pinned is None:
            return False
        if pinned.bundle.arch == bundle.arch:
            return True
        self.pinned, self.pinned_id = None, 0
        self.pinDropped.emit(f"unpinned A ({pinned.bundle.display_name}): the model is now {bundle.display_name}, "
                             "and a comparison needs one architecture")
        return False

    def compare(self, request) -> None:
        """B − A at the request's layer, with every scale the view colours by (see ``compared_layer``)."""
        a = self.pinned
        if self._stale("compare", request) or a is None or self.pinned_id != request.pin_id or a is self.run:
            self.compareFailed.emit(request, "")
            return
        try:
            from inference.compare import CompareError, compare_runs

            try:
                comparison = compare_runs(a, self.run, request.layer)
            except CompareError as err:
                self.compareFailed.emit(request, str(err))
                return
            result = compared_layer(comparison, a.layers[request.layer], self.run.layers[request.layer],
                                    request.pin_id, request.analysis_id)
        except ValueError as err:
            self.compareFailed.emit(request, str(err))
            return
        except Exception as err:
            log.error("comparison failed:\n%s", traceback.format_exc())
            self.compareFailed.emit(request, f"internal error in the comparison: {err}")
            return
        self.compareReady.emit(request, result)
