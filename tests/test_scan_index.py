"""The scan index on disk (inference.scan_index): crash safety, keys, later rows winning, compaction, the lock.

A child process writes the index and dies (``os._exit`` inside the write of a chunk or of the manifest,
or SIGKILL at a random moment of a loop of commits and compactions); the index must then load, equal
to the last complete commit, and the next writer must clear what the dead one left.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from inference.scan_files import FileEntry
from inference.scan_index import ScanIndex, ScanIndexError, index_key

ROOT = Path(__file__).resolve().parents[1]
KEY = index_key("resnet18", "untrained:resnet18:seed0", "imagenet", (224, 224), "layer4.1.relu#2")
CHANNELS, MAP = 8, (3, 3)

ROWS = r'''
import numpy as np
from inference.scan_index import Rows

def rows(k, n=20, c=8):
    """Commit k's rows: n images, each value a function of (k, image, channel)."""
    j = np.arange(n)
    values = (k + j[:, None] / 1000 + np.arange(c)[None, :] / 1e6).astype(np.float32)
    return Rows([f"k{k:04d}/img{i:03d}.jpg" for i in j], np.stack([1000 + j, np.full(n, k)], 1).astype(np.int64),
                np.ones(n, bool), [""] * n, np.tile([1.0, 2.0, 30.0, 40.0], (n, 1)), np.tile([64, 48], (n, 1)),
                values, ((j[:, None] + np.arange(c)[None, :]) % 9).astype(np.int32))
'''
_ROWS: dict = {}
exec(ROWS, _ROWS)   # the same rows here and in the children
rows = _ROWS["rows"]


def child(code: str, *args) -> subprocess.Popen:
    prelude = f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + ROWS + "\n" + \
              "from inference.scan_index import ScanIndex, index_key\n" + f"KEY = {KEY!r}\n"
    return subprocess.Popen([sys.executable, "-c", prelude + code, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def listing_of(index: ScanIndex) -> list[FileEntry]:
    return sorted((FileEntry(rel, *e.stamp) for rel, e in index.entries.items()), key=lambda f: f.rel)


def contents(root) -> dict:
    """{rel: (values, pos)} of every live row of the index under ``root``."""
    index = ScanIndex.open(root, KEY, CHANNELS, MAP)
    listing = listing_of(index)
    out = {}
    for ids, got in index.live_rows(listing):
        for i, rel, v, p in zip(ids, got.rels, got.values, got.pos):
            assert listing[i].rel == rel
            out[rel] = (v.copy(), p.copy())
    return out


def expected(*commits) -> dict:
    out = {}
    for k in commits:
        r = rows(k)
        out.update({rel: (r.values[i], r.pos[i]) for i, rel in enumerate(r.rels)})
    return out


def assert_contents(got: dict, want: dict):
    assert sorted(got) == sorted(want)
    for rel in want:
        np.testing.assert_array_equal(got[rel][0], want[rel][0])
        np.testing.assert_array_equal(got[rel][1], want[rel][1])


DIE = r'''
import os
import inference.atomic_file as af
root, mode = sys.argv[1], sys.argv[2]
index = ScanIndex.open(root, KEY, 8, (3, 3))
with index.writing():
    index.append(rows(1))
    index.commit()
    if mode == "chunk":            # the next chunk's temp file is written, then the process dies
        af.os.fsync = lambda fd: os._exit(3)
    elif mode == "manifest":       # the chunk is in place, the manifest's rename never happens
        real, calls = af.os.replace, []
        def replace(a, b):
            calls.append(b)
            if str(b).endswith("index.json"):
                os._exit(3)
            real(a, b)
        af.os.replace = replace
    index.append(rows(2))
    index.commit()
print("not reached")
'''


@pytest.mark.parametrize("mode", ["chunk", "manifest"])
def test_dying_inside_a_write_leaves_the_last_commit(tmp_path, mode):
    proc = child(DIE, tmp_path, mode)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3 and "not reached" not in out, err
    left = {p.name for p in next(tmp_path.iterdir()).iterdir()}
    assert any(n.endswith(".tmp") or n == "chunk-000002.npz" for n in left)   # the dead write's remains
    assert_contents(contents(tmp_path), expected(1))
    index = ScanIndex.open(tmp_path, KEY, CHANNELS, MAP)
    with index.writing():            # the next writer clears them, and goes on
        assert {p.name for p in index.dir.iterdir()} == {"index.json", "lock", "chunk-000001.npz"}
        index.append(rows(3))
        index.commit()
    assert_contents(contents(tmp_path), expected(1, 3))


LOOP = r'''
import inference.scan_index as si
from inference.scan_files import FileEntry
si.MAX_CHUNKS = 3                  # compact often, so kills land in compactions too
root = sys.argv[1]
index = ScanIndex.open(root, KEY, 8, (3, 3))
with index.writing():
    k = 0
    while True:
        k += 1
        index.append(rows(k, n=400))
        index.commit()
        print(k, flush=True)
        if k % 2 == 0:
            index.compact_if_needed([FileEntry(rel, *e.stamp) for rel, e in sorted(index.entries.items())])
'''


def test_sigkill_at_any_moment_leaves_a_loadable_index_equal_to_a_commit(tmp_path):
    rng = random.Random(13)
    for round_ in range(3):
        root = tmp_path / f"round{round_}"
        proc = child(LOOP, root)
        last = 0
        target = rng.randint(3, 7)
        while last < target:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            last = int(line)
        time.sleep(rng.uniform(0, 0.02))          # a random point of the next commit or compaction
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=60)   # commits it printed before the kill that were not read yet
        last = max([last] + [int(line) for line in rest.split()])
        got = contents(root)
        committed = max(int(rel[1:5]) for rel in got)
        assert committed in (last, last + 1)      # the commit in flight may have completed
        big = {rel: v for rel, v in got.items()}
        want = {}
        for k in range(1, committed + 1):
            r = rows(k, n=400)
            want.update({rel: (r.values[i], r.pos[i]) for i, rel in enumerate(r.rels)})
        assert_contents(big, want)


def test_later_rows_of_a_file_win_and_a_compaction_keeps_what_holds(tmp_path, monkeypatch):
    import inference.scan_index as si

    index = ScanIndex.open(tmp_path, KEY, CHANNELS, MAP)
    with index.writing():
        for k in (1, 2):
            index.append(rows(k))
            index.commit()
        newer = rows(5)
        newer.rels = rows(1).rels                      # the same files again, changed: their rows are new
        newer.stamps[:, 1] += 100
        index.append(newer)
        index.commit()
        listing = [FileEntry(rel, *e.stamp) for rel, e in sorted(index.entries.items())][:-3]   # 3 are gone
        before = {rel: v for rel, v in contents(tmp_path).items() if rel in {f.rel for f in listing}}
        monkeypatch.setattr(si, "MAX_CHUNKS", 100)
        assert index.compact_if_needed(listing) is False   # dead rows (20 + 3) < live ones (37)
        monkeypatch.setattr(si, "MAX_CHUNKS", 2)
        assert index.compact_if_needed(listing) is True
        assert [c["file"] for c in index.chunks] == ["chunk-000004.npz"]
        assert {p.name for p in index.dir.iterdir()} == {"index.json", "lock", "chunk-000004.npz"}
    np.testing.assert_array_equal(before[rows(1).rels[0]][0], newer.values[0])
    assert_contents(contents(tmp_path), before)


def test_an_index_of_another_model_or_shape_is_refused_in_one_line(tmp_path):
    index = ScanIndex.open(tmp_path, KEY, CHANNELS, MAP)
    with index.writing():
        index.append(rows(1))
        index.commit()
    manifest = index.dir / "index.json"
    data = json.loads(manifest.read_text())
    data["key"] = dict(KEY, weights="sha256:0123")
    manifest.write_text(json.dumps(data))
    with pytest.raises(ScanIndexError, match="was made for resnet18 .sha256:0123.") as err:
        ScanIndex.open(tmp_path, KEY, CHANNELS, MAP)
    assert "\n" not in str(err.value)
    data["key"] = KEY
    manifest.write_text(json.dumps(data))
    with pytest.raises(ScanIndexError, match="holds 8 channels"):
        ScanIndex.open(tmp_path, KEY, 16, MAP)
    manifest.write_text("{not json")
    with pytest.raises(ScanIndexError, match="cannot read the scan index"):
        ScanIndex.open(tmp_path, KEY, CHANNELS, MAP)


def test_a_lost_chunk_costs_a_rescan_of_its_images_not_the_index(tmp_path):
    index = ScanIndex.open(tmp_path, KEY, CHANNELS, MAP)
    with index.writing():
        for k in (1, 2):
            index.append(rows(k))
            index.commit()
    (index.dir / "chunk-000001.npz").write_bytes(b"garbage")
    again = ScanIndex.open(tmp_path, KEY, CHANNELS, MAP)
    assert len(again.notes) == 1 and "scanned again" in again.notes[0]
    assert_contents(contents(tmp_path), expected(2))


def test_one_writer_at_a_time(tmp_path):
    a = ScanIndex.open(tmp_path, KEY, CHANNELS, MAP)
    b = ScanIndex.open(tmp_path, KEY, CHANNELS, MAP)
    with a.writing():
        with pytest.raises(ScanIndexError, match="another scan is writing"):
            with b.writing():
                pass
    with b.writing():
        pass


def test_an_index_that_cannot_be_written_is_one_line(tmp_path):
    (tmp_path / "taken").write_text("a file where the index folder would go")
    index = ScanIndex.open(tmp_path / "taken", KEY, CHANNELS, MAP)
    with pytest.raises(ScanIndexError, match="cannot write the scan index in .*taken") as err:
        with index.writing():
            pass
    assert "\n" not in str(err.value)
