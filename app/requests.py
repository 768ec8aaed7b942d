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


@dataclass(frozen=True)
class DemoRequest:
    """Re-run only the demo conv, on the photo of analysis ``analysis_id`` (the worker keeps it)."""

    id: int
    analysis_id: int
    demo: dict
    max_side: int = 1024


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
