"""The scan's resumable index on disk: every scanned image's per-channel maxima, for one layer of one model.

Why per image and not the top-N: a file that changes, or goes, must leave the top-N without a trace,
and only per-image rows allow the top-N to be rebuilt without it. So each layer keeps, for every
image, the maximum of each channel, its position, the image's stamp (size, mtime_ns), its full size
and where the network's input square lies on it (``Prepared.rect``), or the one-line reason it
failed. The top-N is rebuilt from these rows streaming, one chunk at a time (memory: one chunk).

On disk, under the index root (see ``default_index_dir``), one folder per key::

    ROOT/<layer>-<hash of the key>/index.json        the commit record: key, channels, map size, chunk list
    ROOT/<layer>-<hash of the key>/chunk-000001.npz  rows, appended as the scan goes (never rewritten)
    ROOT/weights-sha256.json                         checkpoint hashes, by (path, size, mtime_ns)

The key is the architecture, the weights (a checkpoint's content sha256; torchvision's weights by the
file name of their URL, which holds the hash; untrained: architecture and seed), the preprocessing,
the input size and the layer; an index whose key differs is refused with one line.

Crash safety: a chunk is written to a temp file, fsynced and renamed, and only then is ``index.json``
replaced the same way, listing it. Whatever is killed when, ``index.json`` lists complete chunks
only: the index is the last committed state. Files no manifest lists (a chunk whose commit never
happened, a dead process's temp file) are removed the next time a writer takes the lock. Later rows of
a file win over earlier ones; a compaction (when dead rows outnumber live ones, or chunks pile up)
rewrites the live rows into fresh chunks, commits, then deletes the old chunks.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic_file import write_atomic, write_bytes_atomic
from .errors import ConvScopeError
from .scan_files import FileEntry

FORMAT = "convscope-scan-index"
VERSION = 1
MANIFEST = "index.json"
HASHES = "weights-sha256.json"
CHUNK_ROWS = 4096     # rows per chunk a compaction writes
MAX_CHUNKS = 32       # more chunks than this: compact at the end of a scan


class ScanIndexError(ConvScopeError):
    """The index cannot be used: another model's, another scan holds it, unreadable."""


# ----------------------------------------------------------------------------- where, and which key
def user_cache_dir() -> Path:
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "convscope"


def default_index_dir(folder: str | os.PathLike) -> Path:
    """Where a folder's scans are kept unless told otherwise: the user's cache folder
    (``~/.cache/convscope/scans/<folder name>-<hash of its absolute path>`` on Linux), never the
    scanned folder itself, which may be read-only, synced or shared."""
    real = os.path.realpath(os.fspath(folder))
    name = re.sub(r"[^\w.-]+", "_", os.path.basename(real) or "root")[:40]
    digest = hashlib.sha256(os.fsencode(real)).hexdigest()[:12]
    return user_cache_dir() / "scans" / f"{name}-{digest}"


_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> str:
    """The sha256 of a file's content, remembered by (real path, size, mtime_ns) in memory and, with
    ``cache_dir``, in its ``weights-sha256.json`` (a 500 MB checkpoint takes a second or two to hash)."""
    real = os.path.realpath(os.fspath(path))
    st = os.stat(real)
    key = (real, st.st_size, st.st_mtime_ns)
    if key in _FILE_HASHES:
        return _FILE_HASHES[key]
    store = Path(cache_dir) / HASHES if cache_dir is not None else None
    known = {}
    if store is not None:
        with contextlib.suppress(OSError, ValueError):
            known = json.loads(store.read_text(encoding="utf-8"))
        entry = known.get(real) if isinstance(known, dict) else None
        if isinstance(entry, list) and entry[:2] == [st.st_size, st.st_mtime_ns]:
            _FILE_HASHES[key] = str(entry[2])
            return _FILE_HASHES[key]
    digest = hashlib.sha256()
    with open(real, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    _FILE_HASHES[key] = digest.hexdigest()
    if store is not None:
        known = known if isinstance(known, dict) else {}
        known[real] = [st.st_size, st.st_mtime_ns, _FILE_HASHES[key]]
        with contextlib.suppress(OSError):
            store.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(store, json.dumps(known, indent=1).encode())
    return _FILE_HASHES[key]


def weights_id(bundle, cache_dir: str | os.PathLike | None = None) -> str:
    """What identifies a bundle's weights in an index key (see the module docstring)."""
    from .model import UNTRAINED_SEED

    if bundle.source == "untrained":
        return f"untrained:{bundle.arch}:seed{UNTRAINED_SEED}"
    if bundle.source == "imagenet":
        return f"torchvision:{os.path.basename(str(bundle.path))}"
    return f"sha256:{file_sha256(bundle.path, cache_dir)}"


def index_key(arch: str, weights: str, preprocess: str, input_size: tuple[int, int], layer: str) -> dict:
    return {"arch": arch, "weights": weights, "preprocess": preprocess,
            "input_size": [int(input_size[0]), int(input_size[1])], "layer": layer}


def key_dir_name(key: dict) -> str:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', key['layer'])[:60]}-{digest}"


def _describe(key: dict) -> str:
    return f"{key.get('arch')} ({key.get('weights')}), {key.get('preprocess')}, layer {key.get('layer')}"


# ----------------------------------------------------------------------------- rows
@dataclass(eq=False)
class Rows:
    """Per-image rows of one layer: what a chunk holds."""

    rels: list[str]
    stamps: np.ndarray      # int64 [n, 2]: size, mtime_ns
    ok: np.ndarray          # bool [n]
    reasons: list[str]      # "" where ok
    rects: np.ndarray       # float64 [n, 4]: the input square on the full-size photo (x, y, w, h)
    sizes: np.ndarray       # int64 [n, 2]: the photo's full (width, height)
    values: np.ndarray      # float32 [n, C]: each channel's maximum
    pos: np.ndarray         # int32 [n, C]: where it is, y·W + x

    def __len__(self) -> int:
        return len(self.rels)

    def take(self, rows) -> "Rows":
        rows = np.asarray(rows, dtype=np.int64)
        return Rows([self.rels[i] for i in rows], self.stamps[rows], self.ok[rows],
                    [self.reasons[i] for i in rows], self.rects[rows], self.sizes[rows],
                    self.values[rows], self.pos[rows])

    @staticmethod
    def concat(parts: list["Rows"], channels: int) -> "Rows":
        if not parts:
            return Rows.empty(channels)
        return Rows([r for p in parts for r in p.rels], np.concatenate([p.stamps for p in parts]),
                    np.concatenate([p.ok for p in parts]), [r for p in parts for r in p.reasons],
                    np.concatenate([p.rects for p in parts]), np.concatenate([p.sizes for p in parts]),
                    np.concatenate([p.values for p in parts]), np.concatenate([p.pos for p in parts]))

    @staticmethod
    def empty(channels: int) -> "Rows":
        return Rows([], np.zeros((0, 2), np.int64), np.zeros(0, bool), [], np.zeros((0, 4)),
                    np.zeros((0, 2), np.int64), np.zeros((0, channels), np.float32), np.zeros((0, channels), np.int32))

    def save(self, fh) -> None:
        np.savez(fh, rels=np.array(self.rels, dtype=str), stamps=self.stamps.astype(np.int64),
                 ok=self.ok.astype(bool), reasons=np.array(self.reasons, dtype=str),
                 rects=self.rects.astype(np.float64), sizes=self.sizes.astype(np.int64),
                 values=self.values.astype(np.float32), pos=self.pos.astype(np.int32))


def _load_chunk(path: Path, meta_only: bool) -> dict:
    with np.load(path, allow_pickle=False) as z:
        names = ("rels", "stamps", "ok", "reasons") if meta_only else z.files
        return {k: z[k] for k in names}


def _rows(d: dict) -> Rows:
    return Rows([str(r) for r in d["rels"]], d["stamps"], d["ok"], [str(r) for r in d["reasons"]],
                d["rects"], d["sizes"], d["values"], d["pos"])


# ----------------------------------------------------------------------------- the index
@dataclass(frozen=True)
class Entry:
    """Where a file's latest row is, and what it says."""

    chunk: int          # position in the chunk list
    row: int
    stamp: tuple[int, int]
    ok: bool
    reason: str


class ScanIndex:
    """One layer's index (see the module docstring). ``open`` reads it (or starts an empty one);
    ``append`` + ``commit`` add rows; ``live_rows`` streams the rows that hold for a listing."""

    def __init__(self, root: Path, key: dict, channels: int, map_size: tuple[int, int]):
        self.root = Path(root)
        self.key = key
        self.dir = self.root / key_dir_name(key)
        self.channels = int(channels)
        self.map_size = (int(map_size[0]), int(map_size[1]))
        self.chunks: list[dict] = []         # {"file", "rows"}
        self.next = 1
        self.entries: dict[str, Entry] = {}
        self.notes: list[str] = []           # chunks that could not be read (their images are scanned again)
        self._pending: list[Rows] = []
        self._lock_fh = None

    # -------------------------------------------------------------- reading
    @classmethod
    def open(cls, root: str | os.PathLike, key: dict, channels: int, map_size: tuple[int, int]) -> "ScanIndex":
        """The index for ``key`` under ``root`` (empty if there is none yet). One-line ``ScanIndexError``
        if the one found was made for another key, channel count or map size, or cannot be read."""
        index = cls(Path(root), key, channels, map_size)
        index._read()
        return index

    def _read(self) -> None:
        path = self.dir / MANIFEST
        if not path.exists():
            return
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            fmt, version, key = manifest["format"], manifest["version"], manifest["key"]
            chunks, nxt = list(manifest["chunks"]), int(manifest["next"])
            channels, map_size = int(manifest["channels"]), tuple(manifest["map_size"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ScanIndexError(f"cannot read the scan index {path}: {err}; delete its folder to start over") from None
        if fmt != FORMAT or version != VERSION:
            raise ScanIndexError(f"{path} is not a version {VERSION} scan index; delete its folder to start over")
        if key != self.key:
            raise ScanIndexError(f"the scan index in {self.dir} was made for {_describe(key)}, "
                                 f"not {_describe(self.key)}")
        if (channels, map_size) != (self.channels, self.map_size):
            raise ScanIndexError(f"the scan index in {self.dir} holds {channels} channels of "
                                 f"{map_size[0]}×{map_size[1]}, but {self.key['layer']} has {self.channels} "
                                 f"of {self.map_size[0]}×{self.map_size[1]}; delete its folder to start over")
        self.next = nxt
        for spec in chunks:
            try:
                meta = _load_chunk(self.dir / spec["file"], meta_only=True)
            except Exception as err:  # noqa: BLE001 - a lost chunk costs a rescan of its images, not the index
                self.notes.append(f"{spec.get('file')} could not be read ({' '.join(str(err).split())[:80]}); "
                                  "its images are scanned again")
                continue
            self._index_chunk(len(self.chunks), meta)
            self.chunks.append(spec)

    def _index_chunk(self, k: int, meta: dict) -> None:
        for row, (rel, stamp, ok, reason) in enumerate(zip(meta["rels"], meta["stamps"], meta["ok"], meta["reasons"])):
            self.entries[str(rel)] = Entry(k, row, (int(stamp[0]), int(stamp[1])), bool(ok), str(reason))

    def current(self, entry: FileEntry) -> Entry | None:
        """The row that holds for ``entry`` (same stamp), or None: the file is new or changed."""
        e = self.entries.get(entry.rel)
        return e if e is not None and e.stamp == entry.stamp and entry.size >= 0 else None

    def live_rows(self, listing: list[FileEntry]):
        """(ids, Rows) per chunk: the ok rows that hold for ``listing`` (ids index into it), chunk by chunk."""
        ids_of = {e.rel: i for i, e in enumerate(listing)}
        wanted: dict[int, list[tuple[int, int]]] = {}
        for i, e in enumerate(listing):
            cur = self.current(e)
            if cur is not None and cur.ok:
                wanted.setdefault(cur.chunk, []).append((cur.row, i))
        for k, pairs in sorted(wanted.items()):
            pairs.sort()
            rows = _rows(_load_chunk(self.dir / self.chunks[k]["file"], meta_only=False))
            picked = rows.take([r for r, _ in pairs])
            if [ids_of[r] for r in picked.rels] != [i for _, i in pairs]:
                raise ScanIndexError(f"the scan index in {self.dir} changed while it was read; scan again")
            yield np.array([i for _, i in pairs], dtype=np.int64), picked

    # -------------------------------------------------------------- writing
    @contextlib.contextmanager
    def writing(self):
        """Hold the index's lock while rows are added (one writer at a time); clears what a dead
        writer left behind. One-line ``ScanIndexError`` if another scan holds it, or it cannot be written."""
        with self._writable():
            self.dir.mkdir(parents=True, exist_ok=True)
            fh = open(self.dir / "lock", "a+b")
        try:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - Windows: no advisory lock
                fcntl = None
            if fcntl is not None:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise ScanIndexError(f"another scan is writing the index in {self.dir}; "
                                         "wait for it to finish, or use another --out") from None
            self._lock_fh = fh
            self._sweep()
            yield self
        finally:
            self._lock_fh = None
            fh.close()

    def _sweep(self) -> None:
        listed = {c["file"] for c in self.chunks} | {MANIFEST, "lock"}
        for path in self.dir.iterdir():
            if path.name not in listed and (path.name.startswith("chunk-") or path.name.endswith(".tmp")):
                with contextlib.suppress(OSError):
                    path.unlink()

    def append(self, rows: Rows) -> None:
        """Add rows; they are on disk after the next ``commit``."""
        if len(rows):
            self._pending.append(rows)

    @property
    def pending(self) -> int:
        return sum(len(r) for r in self._pending)

    def commit(self) -> None:
        """Write the pending rows as one chunk, then the manifest listing it (the commit point)."""
        if not self._pending:
            return
        rows = Rows.concat(self._pending, self.channels)
        spec = self._write_chunk(rows)
        self._commit(self.chunks + [spec])
        self._index_chunk(len(self.chunks) - 1, {"rels": rows.rels, "stamps": rows.stamps, "ok": rows.ok,
                                                  "reasons": rows.reasons})
        self._pending.clear()

    @contextlib.contextmanager
    def _writable(self):
        """An OSError (a full disk, a folder that cannot be made) as one line; the index stays at its last
        commit."""
        try:
            yield
        except OSError as err:
            raise ScanIndexError(f"cannot write the scan index in {self.dir}: {err.strerror or err}") from None

    def _write_chunk(self, rows: Rows) -> dict:
        assert self._lock_fh is not None, "rows are written under writing()"
        name = f"chunk-{self.next:06d}.npz"
        self.next += 1
        buffer = io.BytesIO()   # the rows are small (a chunk: 2 MB for 512 channels); one write, then fsync
        rows.save(buffer)
        with self._writable():
            write_bytes_atomic(self.dir / name, buffer.getvalue())
        return {"file": name, "rows": len(rows)}

    def _commit(self, chunks: list[dict]) -> None:
        manifest = {"format": FORMAT, "version": VERSION, "key": self.key, "channels": self.channels,
                    "map_size": list(self.map_size), "chunks": chunks, "next": self.next}
        with self._writable():
            write_atomic(self.dir / MANIFEST, lambda fh: fh.write(json.dumps(manifest, indent=1).encode()))
        self.chunks = list(chunks)

    def compact_if_needed(self, listing: list[FileEntry]) -> bool:
        """Rewrite the rows that hold for ``listing`` into fresh chunks when dead rows (superseded, or of
        files that are gone or changed) outnumber live ones, or there are more than MAX_CHUNKS chunks."""
        total = sum(int(c["rows"]) for c in self.chunks)
        by_rel = {e.rel: e for e in listing}
        keep: dict[int, list[int]] = {}
        for rel, e in self.entries.items():
            f = by_rel.get(rel)
            if f is not None and self.current(f) is e:
                keep.setdefault(e.chunk, []).append(e.row)
        live = sum(len(v) for v in keep.values())
        if total - live <= live and len(self.chunks) <= MAX_CHUNKS:
            return False
        old = list(self.chunks)
        fresh: list[dict] = []
        buffer: list[Rows] = []
        for k, rows in sorted(keep.items()):
            buffer.append(_rows(_load_chunk(self.dir / old[k]["file"], meta_only=False)).take(sorted(rows)))
            while sum(map(len, buffer)) >= CHUNK_ROWS:
                merged = Rows.concat(buffer, self.channels)
                fresh.append(self._write_chunk(merged.take(range(CHUNK_ROWS))))
                buffer = [merged.take(range(CHUNK_ROWS, len(merged)))]
        if sum(map(len, buffer)):
            fresh.append(self._write_chunk(Rows.concat(buffer, self.channels)))
        self._commit(fresh)
        self.entries.clear()
        for k, spec in enumerate(fresh):
            self._index_chunk(k, _load_chunk(self.dir / spec["file"], meta_only=True))
        for spec in old:
            with contextlib.suppress(OSError):
                (self.dir / spec["file"]).unlink()
        return True
