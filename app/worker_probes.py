"""The worker's probes of the kept run: a unit's receptive field and an ablation's re-run.

A mixin of ``InferenceWorker`` (its signals live there): both re-enter the run
of the analysis on screen, never another image's, and each kind keeps its own
newest-wins counter, so a burst of clicks costs one answer.
"""
import logging
import traceback

log = logging.getLogger("convscope.worker")

STATS_CHUNK = 8  # layers of statistics per signal after an ablation


class ProbeSlots:
    """``probe(ProbeRequest)`` and ``ablate(AblateRequest)``, run on the worker's thread."""

    def _stale(self, kind: str, request) -> bool:
        generation = self._reentries.get(kind)
        stale = generation is not None and generation.is_stale(request.id)
        return stale or self.run is None or self.run_id != request.analysis_id

    def probe(self, request) -> None:
        """The effective receptive field and hypercolumn of one unit (one input gradient, no forward)."""
        if self._stale("probe", request):
            self.probeFailed.emit(request, "")
            return
        try:
            from inference.probe import probe_of_run

            result = probe_of_run(self.run, request.layer, request.channel, request.y, request.x)
            self.probeReady.emit(request, result)
        except ValueError as err:
            self.probeFailed.emit(request, str(err))
        except Exception as err:
            log.error("probe failed:\n%s", traceback.format_exc())
            self.probeFailed.emit(request, f"internal error in the probe: {err}")

    def ablate(self, request) -> None:
        """Re-run from the layer on with the channels ablated. The answer (the new prediction) goes at
        once; then the changed layers' statistics, the layer on screen first (abandoned when a newer
        request exists), and the window shows each ablated map when its statistics are in."""
        if self._stale("ablation", request):
            self.ablationFailed.emit(request, "")
            return
        try:
            from inference.ablation import Ablation, ablate

            result = ablate(self.run, Ablation(request.layer, tuple(request.channels), request.mode, request.keep))
        except ValueError as err:
            self.ablationFailed.emit(request, str(err))
            return
        except Exception as err:
            log.error("ablation failed:\n%s", traceback.format_exc())
            self.ablationFailed.emit(request, f"internal error in the ablation: {err}")
            return
        self.ablationReady.emit(request, result)  # the new prediction first; the maps' statistics follow
        changed = result.rerun.changed
        focus = [request.focus] if request.focus in changed else []
        done = []
        for name in focus + [n for n in changed if n not in focus]:
            layer = changed[name]
            if self._stale("ablation", request):
                return
            if not layer.has_stats:
                layer.compute_stats()
                done.append(name)
                if len(done) >= STATS_CHUNK or name in focus:  # the layer on screen at once
                    self.ablationStats.emit(request, done)
                    done = []
        self.ablationStats.emit(request, done)

    def _send_fields(self) -> None:
        """The model's receptive-field table, once per model, after its first analysis (the window
        draws a probed unit's box from it at once, without asking the worker)."""
        if self._fields_sent == self._generation or self.run is None:
            return
        self._fields_sent = self._generation
        try:
            from inference.probe import field_table_of_run

            table = field_table_of_run(self.run)
            self.fieldsReady.emit(self._generation, table.as_dict())
        except Exception:
            log.error("the receptive-field table failed:\n%s", traceback.format_exc())
        try:  # and the Model menu's list, with each model's weights state now (a download may have cached one)
            from inference.architectures import model_catalogue

            self.modelsReady.emit(model_catalogue())
        except Exception:
            log.error("the model list failed:\n%s", traceback.format_exc())
