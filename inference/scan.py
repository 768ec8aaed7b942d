"""Scan a folder: for each chosen layer and channel, the images where that channel fires most.

``scan_folder(folder, bundle, layers, top)`` walks the folder (recursively; image files by extension
or signature), decodes the images a ``torch.utils.data.DataLoader`` hands it, runs them through the
model in batches and keeps, per channel, a running top-N (memory O(channels × N), not O(images)).
Each hit has the image, the channel's maximum, where it is in the layer's map, and that unit's
receptive field on the original photo (``inference.scan_result``).

It is resumable: every image's per-channel maxima go to an index on disk (``inference.scan_index``),
committed every few seconds, so a re-run decodes only new or changed files (by size and mtime),
deleted ones drop out, and a cancelled scan (``cancel()`` returning True, polled between batches and
at every layer) keeps everything done so far. ``load_scan`` reads an index without decoding anything.

Decoding runs where it is fastest and safe: see ``WORKERS`` and ``make_loader``. The scan may run on
any thread (the window's QThread): each batch's forward holds the model's forward lock, so it never
mixes with the window's own passes on the same model; they wait at most one batch.
"""
from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from typing import Callable

import numpy as np
from torch.utils.data import DataLoader

from .errors import Cancelled, ConvScopeError
from .intra_op import default_threads_kept, one_intra_op_thread
from .scan_data import Batch, ScanDataset, collate
from .scan_files import FileEntry, list_images
from .scan_forward import Reducer, ScanPlan, choose_batch, cpu_count, scan_plan
from .scan_index import Rows, ScanIndex, default_index_dir, index_key, weights_id
from .scan_result import LayerHits, ScanFailure, ScanProgress, ScanResult, TopN, layer_hits

__all__ = ["ScanProgress", "ScanResult", "LayerHits", "load_scan", "make_loader", "scan_folder"]

DEFAULT_TOP = 9
WORKERS = 0           # decoding processes by default: 0 = a pool of threads in this process (see make_loader)
FLUSH_ROWS = 512      # images per committed chunk, at most
FLUSH_S = 5.0         # or this many seconds between commits, whichever comes first
PREFETCH = 2          # batches decoded ahead of the forward (CUDA; and per worker process)


def make_loader(dataset: ScanDataset, batch: int, workers: int, overlap: bool, pin: bool = False):
    """The batches of ``dataset``.

    ``workers`` > 0: a DataLoader with that many worker processes started by ``forkserver`` (spawn
    where there is none): never ``fork``, which copies a process's threads' locks mid-state (Qt's,
    torch's own pools) and is unsafe in the window. Each costs a fresh interpreter importing torch
    (1-3 s here) and competes with the forward for the cores.
    ``workers`` == 0 (the default): a DataLoader without workers whose dataset decodes each batch on a
    pool of threads, one per core (``ScanDataset.threads``). On the CPU (``overlap`` False) the batch
    is decoded between two forwards, each phase with every core to itself: on 2 cores this was the
    fastest (bench/bench_scan.py). With ``overlap`` (CUDA, where the forward leaves the cores free) one
    background thread keeps ``PREFETCH`` batches decoded ahead of the forward.
    """
    if workers > 0:
        import multiprocessing

        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        return DataLoader(dataset, batch_size=batch, num_workers=workers, collate_fn=collate, pin_memory=pin,
                          multiprocessing_context=method, prefetch_factor=PREFETCH)
    loader = DataLoader(dataset, batch_size=batch, num_workers=0, collate_fn=collate, pin_memory=pin)
    return _Prefetch(loader) if overlap else loader


class _Prefetch:
    """Iterate ``loader`` on a daemon thread, ``PREFETCH`` batches ahead; ``close()`` stops it."""

    _DONE = object()

    def __init__(self, loader):
        self.loader = loader
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._queue: queue.Queue = queue.Queue(PREFETCH)
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        try:
            one_intra_op_thread()   # the consumer puts the default for new threads back (see __iter__)
        finally:
            self._ready.set()
        try:
            for item in self.loader:
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._put(self._DONE)
        except BaseException as err:  # noqa: BLE001 - handed to the consumer
            self._put(err)

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self):
        with default_threads_kept():
            self._thread = threading.Thread(target=self._run, name="convscope-scan-decode", daemon=True)
            self._thread.start()
            self._ready.wait()
        try:
            while True:
                item = self._queue.get()
                if item is self._DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _alias(bundle, name: str) -> str | None:
    return (bundle.aliases or {}).get(name)


def _field(bundle, plan: ScanPlan, name: str):
    from .probe import field_table_of_model

    table = field_table_of_model(bundle.model, plan.input_size)
    f = table.field(name)
    if f is not None:
        return f, None
    return None, (f"no receptive field for {name} ({table.note(name)}); each box is the network's whole "
                  "input square on the photo")


class _Scan:
    """One scan's state: the listing, the indexes, the running top-N and what is known of each image."""

    def __init__(self, folder, bundle, layers, top, mode, out_dir):
        if int(top) < 1:
            raise ValueError("top must be at least 1")
        self.folder = os.path.abspath(os.fspath(folder))
        self.listing: list[FileEntry] = list_images(self.folder)
        if not self.listing:
            raise ConvScopeError(f"no images in '{folder}' (looked for image files in it and its sub-folders)")
        self.bundle, self.top, self.mode = bundle, int(top), mode
        self.plan = scan_plan(bundle, layers, mode)
        self.root = default_index_dir(self.folder) if out_dir is None else os.path.abspath(os.fspath(out_dir))
        wid = weights_id(bundle, self.root)
        self.indexes = {name: ScanIndex.open(self.root, index_key(bundle.arch, wid, mode, self.plan.input_size, name),
                                             self.plan.channels(name), self.plan.map_size(name))
                        for name in self.plan.layers}
        n = len(self.listing)
        self.tops = {name: TopN(self.plan.channels(name), self.top) for name in self.plan.layers}
        self.rects = np.zeros((n, 4))
        self.sizes = np.zeros((n, 2), np.int64)
        self.failures: dict[int, str] = {}
        self.needs = {name: [idx.current(e) is None for e in self.listing] for name, idx in self.indexes.items()}
        self.todo = [i for i in range(n) if any(self.needs[name][i] for name in self.plan.layers)]

    def read_index(self, cancel: Callable[[], bool]) -> None:
        """Fill the running top-N with the rows that hold (streaming, a chunk at a time)."""
        for name, idx in self.indexes.items():
            for ids, rows in idx.live_rows(self.listing):
                if cancel():
                    raise Cancelled("the scan was cancelled")
                self.tops[name].add(ids, rows.values, rows.pos)
                self.rects[ids], self.sizes[ids] = rows.rects, rows.sizes
            for i, e in enumerate(self.listing):
                cur = idx.current(e)
                if cur is not None and not cur.ok:
                    self.failures[i] = cur.reason

    def take(self, batch: Batch, reduced: dict) -> None:
        """Merge one decoded batch into the top-N and queue its rows for the index."""
        ids = np.array([self.todo[j] for j in batch.indices], dtype=np.int64)
        bad = [(self.todo[j], reason) for j, reason in batch.failures]
        if len(ids):
            self.rects[ids] = np.asarray(batch.rects, dtype=np.float64)
            self.sizes[ids] = np.asarray(batch.sizes, dtype=np.int64)
        for i, reason in bad:
            self.failures[i] = reason
        for name, idx in self.indexes.items():
            need = self.needs[name]
            if len(ids):
                values, pos = reduced[name]
                mask = np.array([need[i] for i in ids], dtype=bool)
                if mask.any():
                    self.tops[name].add(ids[mask], values[mask], pos[mask])
                    idx.append(self._rows(ids[mask], values[mask], pos[mask]))
            failed = [(i, r) for i, r in bad if need[i]]
            if failed:
                c = self.plan.channels(name)
                fi = np.array([i for i, _ in failed], dtype=np.int64)
                rows = self._rows(fi, np.full((len(fi), c), -np.inf, np.float32), np.zeros((len(fi), c), np.int32))
                rows.ok[:] = False
                rows.reasons = [r for _, r in failed]
                idx.append(rows)

    def _rows(self, ids: np.ndarray, values: np.ndarray, pos: np.ndarray) -> Rows:
        entries = [self.listing[i] for i in ids]
        return Rows([e.rel for e in entries], np.array([e.stamp for e in entries], np.int64).reshape(-1, 2),
                    np.ones(len(ids), bool), [""] * len(ids), self.rects[ids].copy(), self.sizes[ids].copy(),
                    np.ascontiguousarray(values, np.float32), np.ascontiguousarray(pos, np.int32))

    def commit(self) -> None:
        for idx in self.indexes.values():
            idx.commit()

    def result(self, scanned: int, cancelled: bool, seconds: float, pending: int, notes=()) -> ScanResult:
        rels = [e.rel for e in self.listing]
        stamps = [e.stamp for e in self.listing]
        layers: dict[str, LayerHits] = {}
        for name in self.plan.layers:
            field, note = _field(self.bundle, self.plan, name)
            layers[name] = layer_hits(name, _alias(self.bundle, name), self.tops[name], self.plan.map_size(name),
                                      self.plan.input_size, field, note, self.folder, rels, stamps,
                                      self.rects, self.sizes)
        failures = tuple(ScanFailure(self.listing[i].rel, os.path.join(self.folder, *self.listing[i].rel.split("/")),
                                     reason) for i, reason in sorted(self.failures.items()))
        notes = tuple(notes) + tuple(n for idx in self.indexes.values() for n in idx.notes)
        return ScanResult(self.folder, layers, failures, len(self.listing), scanned,
                          len(self.listing) - len(self.todo), pending, cancelled, self.root, seconds, notes)


def _never() -> bool:
    return False


def scan_folder(folder, bundle, layers: list[str] | None = None, top: int = DEFAULT_TOP, *,
                preprocess: str = "imagenet", out_dir=None, batch: int | None = None, workers: int | None = None,
                progress: Callable[[ScanProgress], None] | None = None,
                cancel: Callable[[], bool] | None = None) -> ScanResult:
    """Scan ``folder`` (see the module docstring) and return the top ``top`` images of every channel of
    each of ``layers`` (names or aliases; None: ``inference.scan_forward.default_scan_layer``).

    ``out_dir``: the index root (default ``inference.scan_index.default_index_dir(folder)``, in the
    user's cache). ``batch``: images per forward (default: from free memory, ``choose_batch``).
    ``workers``: decoding processes (default ``WORKERS``). ``progress(ScanProgress)`` is called before
    the first batch and after each one; ``cancel()`` is polled between batches and at every layer:
    then the result has ``cancelled=True`` and holds, like the index, everything done so far.
    Bad input (a folder that is not one, no images, an unknown layer, an index of another model) is a
    one-line ``ConvScopeError``; images that fail are in ``result.failures`` and the scan goes on."""
    t0 = time.perf_counter()
    cancel = cancel or _never
    scan = _Scan(folder, bundle, layers, top, preprocess, out_dir)
    batch = int(batch) if batch else choose_batch(scan.plan, bundle.device)
    if batch < 1:
        raise ValueError("batch must be at least 1")
    workers = WORKERS if workers is None else max(0, int(workers))
    total, done, failed, cancelled = len(scan.todo), 0, 0, False
    reused = len(scan.listing) - total

    def report(t_start: float) -> None:
        if progress is None:
            return
        elapsed = time.perf_counter() - t_start
        rate = done / elapsed if done and elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else None
        progress(ScanProgress(done, total, failed, rate, eta, elapsed, reused, len(scan.listing)))

    with contextlib.ExitStack() as stack:
        for idx in scan.indexes.values():
            stack.enter_context(idx.writing())
        try:
            scan.read_index(cancel)
        except Cancelled:
            return scan.result(0, True, time.perf_counter() - t0, total)
        t_loop = time.perf_counter()
        report(t_loop)
        if scan.todo and not cancel():
            paths = [os.path.join(scan.folder, *scan.listing[i].rel.split("/")) for i in scan.todo]
            cuda = bundle.device.type == "cuda"
            dataset = ScanDataset(paths, preprocess, bundle.transform, threads=cpu_count())
            reducer = Reducer(bundle, scan.plan.layers, cancel)
            loader = make_loader(dataset, batch, workers, overlap=cuda, pin=cuda)
            last_commit = time.perf_counter()
            iterator = iter(loader)
            try:
                for b in iterator:
                    if cancel():
                        cancelled = True
                        break
                    try:
                        reduced = reducer(b.tensor) if b.tensor is not None else {}
                    except Cancelled:
                        cancelled = True
                        break
                    scan.take(b, reduced)
                    done += len(b)
                    failed += len(b.failures)
                    pending = max(idx.pending for idx in scan.indexes.values())
                    if pending >= FLUSH_ROWS or time.perf_counter() - last_commit >= FLUSH_S:
                        scan.commit()
                        last_commit = time.perf_counter()
                    report(t_loop)
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
                del iterator, loader
                dataset.close()
        else:
            cancelled = bool(scan.todo)
        scan.commit()
        if not cancelled:
            for idx in scan.indexes.values():
                idx.compact_if_needed(scan.listing)
    return scan.result(done, cancelled, time.perf_counter() - t0, total - done)


def load_scan(folder, bundle, layers: list[str] | None = None, top: int = DEFAULT_TOP, *,
              preprocess: str = "imagenet", out_dir=None) -> ScanResult:
    """The result the index under ``out_dir`` holds for ``folder`` now, without decoding anything:
    files that are new or changed since it was written count as ``pending``."""
    t0 = time.perf_counter()
    scan = _Scan(folder, bundle, layers, top, preprocess, out_dir)
    scan.read_index(_never)
    return scan.result(0, False, time.perf_counter() - t0, len(scan.todo))

