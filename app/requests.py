"""Immutable request snapshots the UI hands to the worker, and the newest-wins counter.

Like napari's and ndv's background requests: every request carries an id from
one increasing counter; the worker skips or aborts any request that is no
longer the newest, and the UI drops results whose id is not current.
"""
import itertools
import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AnalyzeRequest:
    """Open one of ``paths`` (the first that loads) and run everything on it."""

    id: int
    paths: tuple[str, ...]
    preprocess: str = "imagenet"
    demo: dict = field(default_factory=dict)   # DemoConvSpec fields
    max_side: int = 1024
    focus: str | None = None                   # the layer on screen: its statistics travel with it
    cam: "CamRequest | None" = None            # the CAM to compute right after the answer (explain view, figure)


@dataclass(frozen=True)
class DemoRequest:
    """Re-run only the demo conv, on the photo of analysis ``analysis_id`` (the worker keeps it)."""

    id: int
    analysis_id: int
    demo: dict
    max_side: int = 1024


@dataclass(frozen=True)
class CamRequest:
    """A class activation map of analysis ``analysis_id``'s kept run (``inference.cam``).

    Each purpose has its own newest-wins counter, so the grid's request never cancels the explain
    view's. ``target`` is what the user picked, as text: a class index, a class name, "cat" or "dog";
    None is the top-1 class. ``layer`` None is the model's default CAM layer (its last spatial ReLU)."""

    id: int
    analysis_id: int
    layer: str | None = None
    target: str | None = None
    method: str = "gradcam"
    purpose: str = "explain"   # "top" (after each analysis, for the figure), "explain", "grid"


@dataclass(frozen=True)
class ProbeRequest:
    """The receptive-field probe of one unit of analysis ``analysis_id``'s kept run (``inference.probe``):
    its effective field (an input gradient) and its hypercolumn. The theoretical box needs no request:
    the window draws it from the model's field table at once."""

    id: int
    analysis_id: int
    layer: str
    channel: int
    y: int
    x: int


@dataclass(frozen=True)
class AblateRequest:
    """Re-run analysis ``analysis_id``'s kept run from ``layer`` on with ``channels`` ablated
    (``inference.ablation``); ``focus`` is the layer on screen, whose statistics travel with the answer."""

    id: int
    analysis_id: int
    layer: str
    channels: tuple[int, ...]
    mode: str = "zero"         # "zero" or "mean"
    keep: bool = False         # True: keep only ``channels``, ablate every other one
    focus: str | None = None


@dataclass(frozen=True)
class PinRequest:
    """Keep analysis ``analysis_id``'s run (the worker's current one) as A of an A/B comparison."""

    id: int
    analysis_id: int


@dataclass(frozen=True)
class CompareRequest:
    """B − A at ``layer``: the pinned run (A, pinned by pin request ``pin_id``) against analysis
    ``analysis_id``'s run (B, the worker's current one), both kept on the worker (``inference.compare``)."""

    id: int
    pin_id: int
    analysis_id: int
    layer: str


class Generation:
    """The id of the newest request of one kind; read by the worker, written by the UI (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._newest = 0
        self.closing = False

    def next(self) -> int:
        with self._lock:
            self._newest = next(self._counter)
            return self._newest

    @property
    def newest(self) -> int:
        return self._newest

    def is_stale(self, request_id: int) -> bool:
        return self.closing or request_id != self._newest

    def cancel_all(self) -> None:
        """Make every issued id stale (a new model, or shutdown)."""
        with self._lock:
            self._newest = next(self._counter)
