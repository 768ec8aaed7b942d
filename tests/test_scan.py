"""The folder scan (inference.scan) against a brute force written here.

Every image of a generated folder (60 image files: nested folders, a non-ASCII name, an EXIF-rotated
JPEG, a truncated JPEG, a text file named .jpg and an empty file) goes through an independent
torchvision ResNet-18 (built here from the same seed, contiguous memory, one image at a time) with
cloning hooks; each channel's maxima are sorted here and compared with the scan's top-N, position
and value. Boxes are mapped by hand: the receptive field from the kernels and strides, the crop from
torchvision's resize rule. Resume and changed-file tests use SqueezeNet 1.1 (cheaper).
"""
import os
import shutil

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image, ImageOps

from inference.model import load_model
from inference.scan import load_scan, scan_folder
from inference.weights_request import WeightsRequest

TOP = 5
LAYERS = ("layer2.1.conv1", "layer4.1.relu#2")
BROKEN = {"broken/truncated.jpg": "truncated", "broken/text.jpg": "not an image", "empty.jpg": "empty"}
EXIF_REL = "a/rotated.jpg"
TOL = dict(rtol=1e-4, atol=1e-4)


def _picture(rng, h: int, w: int) -> np.ndarray:
    """Smooth colour blobs plus noise: channels of a random network answer to them differently."""
    coarse = rng.random((h // 16 + 2, w // 16 + 2, 3)) * 255
    img = Image.fromarray(coarse.astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC)
    noisy = np.asarray(img, dtype=np.float64) + rng.normal(0, 20, (h, w, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def make_folder(root, n_good: int = 57, seed: int = 0) -> list[str]:
    """``n_good`` readable images (one EXIF-rotated, one with a non-ASCII name) plus the BROKEN files,
    in nested folders, and two files a scan must not take (a text file, a hidden folder).
    Returns the relative paths of the readable images."""
    rng = np.random.default_rng(seed)
    rels = []
    for i in range(n_good):
        sub = ("", "a", "a/b", "c")[i % 4]
        rel = f"{sub}/img{i:02d}.{'png' if i % 5 == 0 else 'jpg'}".lstrip("/")
        if i == 7:
            rel = "c/chat_été.png"
        if i == 9:
            rel = EXIF_REL
        path = os.path.join(root, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        h, w = (int(v) for v in rng.integers(96, 161, size=2))
        img = Image.fromarray(_picture(rng, h, w))
        if rel == EXIF_REL:
            img = Image.fromarray(_picture(rng, 100, 150))
            exif = Image.Exif()
            exif[0x0112] = 6   # shown rotated by 90°: 100 wide, 150 high
            img.save(path, exif=exif, quality=92)
        else:
            img.save(path, **({"quality": 92} if rel.endswith(".jpg") else {}))
        rels.append(rel)
    os.makedirs(os.path.join(root, "broken"), exist_ok=True)
    Image.fromarray(_picture(rng, 120, 120)).save(os.path.join(root, "broken", "whole.jpg"), quality=92)
    data = open(os.path.join(root, "broken", "whole.jpg"), "rb").read()
    os.remove(os.path.join(root, "broken", "whole.jpg"))
    with open(os.path.join(root, "broken", "truncated.jpg"), "wb") as fh:
        fh.write(data[: len(data) // 2])
    with open(os.path.join(root, "broken", "text.jpg"), "w") as fh:
        fh.write("this is not a picture\n")
    open(os.path.join(root, "empty.jpg"), "wb").close()
    with open(os.path.join(root, "notes.txt"), "w") as fh:
        fh.write("not an image, not listed\n")
    os.makedirs(os.path.join(root, ".hidden"), exist_ok=True)
    Image.fromarray(_picture(rng, 100, 100)).save(os.path.join(root, ".hidden", "skipped.png"))
    return sorted(rels)


def photo(root, rel: str) -> Image.Image:
    with Image.open(os.path.join(root, *rel.split("/"))) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def brute_force(root, rels, model, transform, hooks: dict) -> dict:
    """{layer: (maps [n, C, H, W])}: each image alone through ``model``, ``hooks`` = {layer: (module, call)}."""
    maps = {name: [] for name in hooks}
    for rel in rels:
        seen = {name: 0 for name in hooks}
        got = {}
        handles = []
        for name, (module, call) in hooks.items():
            def hook(_m, _i, out, name=name, call=call):
                seen[name] += 1
                if seen[name] == call:
                    got[name] = out.detach().clone()
            handles.append(module.register_forward_hook(hook))
        try:
            with torch.no_grad():
                model(transform(photo(root, rel)).unsqueeze(0))
        finally:
            for h in handles:
                h.remove()
        for name in hooks:
            maps[name].append(got[name][0].numpy())
    return {name: np.stack(v) for name, v in maps.items()}


def expected_top(maps: np.ndarray, rels: list[str], top: int):
    """Per channel: [(value, rel, y, x)] best first, ties by path (as the scan orders them)."""
    n, c, h, w = maps.shape
    flat = maps.reshape(n, c, h * w)
    best, where = flat.max(axis=2), flat.argmax(axis=2)
    out = []
    for ch in range(c):
        order = sorted(range(n), key=lambda i: (-best[i, ch], rels[i]))[:top]
        out.append([(float(best[i, ch]), rels[i], *divmod(int(where[i, ch]), w)) for i in order])
    return out, best


def assert_matches(hits, want, ch, best, maps, rels, layer):
    """The scan's top-N of one channel against the brute force: the same values in the same order, each hit
    an image whose maximum it is, at a position holding that maximum; where the brute force leaves no
    doubt (no near-tie of values or positions), the same image at the same place."""
    index = {r: i for i, r in enumerate(rels)}
    assert len(hits) == len(want), layer
    np.testing.assert_allclose([h.value for h in hits], [v for v, *_ in want], **TOL)
    values = sorted(best[:, ch], reverse=True)
    for k, (hit, (value, rel, y, x)) in enumerate(zip(hits, want)):
        i = index[hit.rel]
        np.testing.assert_allclose(hit.value, best[i, ch], **TOL)
        np.testing.assert_allclose(maps[i, ch, hit.y, hit.x], best[i, ch], **TOL)
        gaps = [abs(values[k] - values[j]) for j in (k - 1, k + 1) if 0 <= j < len(values)]
        flat = np.sort(maps[index[rel], ch].ravel())
        if min(gaps) > 1e-3 and flat[-1] - flat[-2] > 1e-3:
            assert (hit.rel, hit.y, hit.x) == (rel, y, x), (layer, ch, k)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    return str(root), make_folder(str(root))


@pytest.fixture(scope="module")
def resnet():
    return load_model(WeightsRequest(arch="resnet18", untrained=True, device="cpu"))


@pytest.fixture(scope="module")
def squeezenet():
    return load_model(WeightsRequest(arch="squeezenet1_1", untrained=True, device="cpu"))


@pytest.fixture(scope="module")
def reference(folder, resnet):
    root, rels = folder
    torch.manual_seed(0)   # as inference.architectures.build makes the untrained model
    model = torchvision.models.resnet18().eval()
    ours = resnet.model.state_dict()
    assert all(torch.equal(v, ours[k]) for k, v in model.state_dict().items())   # the same weights, built apart
    transform = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.transforms()
    hooks = {"layer2.1.conv1": (model.layer2[1].conv1, 1), "layer4.1.relu#2": (model.layer4[1].relu, 2)}
    return brute_force(root, rels, model, transform, hooks)


@pytest.fixture(scope="module")
def scanned(folder, resnet, tmp_path_factory):
    root, _ = folder
    return scan_folder(root, resnet, list(LAYERS), TOP, out_dir=tmp_path_factory.mktemp("index"))


def test_top_n_equals_a_brute_force_over_every_image(folder, reference, scanned):
    root, rels = folder
    assert list(scanned.layers) == list(LAYERS)
    assert scanned.images == len(rels) + len(BROKEN) and scanned.scanned == scanned.images
    assert not scanned.cancelled and scanned.pending == 0
    for layer in LAYERS:
        maps = reference[layer]
        lh = scanned.layers[layer]
        assert (lh.channels, *lh.map_size) == maps.shape[1:]
        expected, best = expected_top(maps, rels, TOP)
        for ch in range(lh.channels):
            assert_matches(lh.channel(ch), expected[ch], ch, best, maps, rels, layer)


def test_broken_files_are_listed_with_one_line_reasons_and_skipped(folder, scanned):
    root, rels = folder
    got = {f.rel: f.reason for f in scanned.failures}
    assert set(got) == set(BROKEN)
    for rel, word in BROKEN.items():
        assert word in got[rel] and "\n" not in got[rel]
    shown = {h.rel for lh in scanned.layers.values() for hits in lh.hits for h in hits}
    assert "c/chat_été.png" in rels and shown <= set(rels)
    assert not any(r.startswith(".hidden") or r.endswith(".txt") for r in shown | set(got))


def _field_by_hand(layers):
    """(size, stride, padding) of ResNet-18's main path (the 1×1 shortcuts lie inside it) after ``layers``
    (kernel, stride, padding) in order."""
    size, stride, pad = 1, 1, 0
    for k, s, p in layers:
        size += (k - 1) * stride
        pad += p * stride
        stride *= s
    return size, stride, pad


STEM = [(7, 2, 3), (3, 2, 1)] + [(3, 1, 1)] * 4                # conv1, maxpool, layer1
FIELDS = {
    "layer2.1.conv1": _field_by_hand(STEM + [(3, 2, 1), (3, 1, 1), (3, 1, 1)]),
    "layer4.1.relu#2": _field_by_hand(STEM + ([(3, 2, 1)] + [(3, 1, 1)] * 3) * 3),
}


def box_by_hand(layer, y, x, width, height):
    """The unit's field, cut to the 224 input, on the photo: torchvision resizes the short side to 256
    (the long one truncated), then crops the centre 224."""
    size, stride, pad = FIELDS[layer]
    y0, x0 = max(y * stride - pad, 0), max(x * stride - pad, 0)
    y1, x1 = min(y * stride - pad + size, 224), min(x * stride - pad + size, 224)
    rw, rh = (256, int(256 * height / width)) if width <= height else (int(256 * width / height), 256)
    left, top = int(round((rw - 224) / 2.0)), int(round((rh - 224) / 2.0))
    sx, sy = width / rw, height / rh

    def clip(v, hi):
        return min(max(v, 0.0), float(hi))
    return (clip((left + x0) * sx, width), clip((top + y0) * sy, height),
            clip((left + x1) * sx, width), clip((top + y1) * sy, height))


def test_boxes_are_the_receptive_field_mapped_onto_the_original_photo(folder, scanned):
    root, rels = folder
    assert scanned.layers["layer4.1.relu#2"].field.size == (FIELDS["layer4.1.relu#2"][0],) * 2
    checked = set()
    for layer in LAYERS:
        lh = scanned.layers[layer]
        assert lh.note is None
        hits = [h for hits in lh.hits for h in hits]
        exif = [h for h in hits if h.rel == EXIF_REL]
        assert exif, "the rotated photo is a hit somewhere"
        for hit in [exif[0], hits[0], hits[len(hits) // 2], hits[-1]]:
            w, h = photo(root, hit.rel).size
            assert hit.image_size == (w, h)
            np.testing.assert_allclose(hit.box, box_by_hand(layer, hit.y, hit.x, w, h), atol=1e-9)
            checked.add(hit.rel)
    assert (100, 150) == photo(root, EXIF_REL).size and EXIF_REL in checked


def assert_same_hits(a, b):
    assert list(a.layers) == list(b.layers)
    for name in a.layers:
        for ha, hb in zip(a.layers[name].hits, b.layers[name].hits):
            assert [(h.rel, h.y, h.x) for h in ha] == [(h.rel, h.y, h.x) for h in hb]
            np.testing.assert_allclose([h.value for h in ha], [h.value for h in hb], rtol=1e-5, atol=1e-6)
            assert [h.box for h in ha] == [h.box for h in hb]
    assert [(f.rel, f.reason) for f in a.failures] == [(f.rel, f.reason) for f in b.failures]


def test_a_cancelled_scan_and_its_resumption_equal_a_full_scan(folder, squeezenet, tmp_path):
    root, _ = folder
    full = scan_folder(root, squeezenet, None, 3, out_dir=tmp_path / "full", batch=4)
    batches = []

    def progress(p):
        if p.done:
            batches.append(p.done)
    first = scan_folder(root, squeezenet, None, 3, out_dir=tmp_path / "resumed", batch=4, progress=progress,
                        cancel=lambda: len(batches) >= 3)
    assert first.cancelled and 0 < first.scanned < full.images and first.pending == full.images - first.scanned
    assert_same_hits(first, load_scan(root, squeezenet, None, 3, out_dir=tmp_path / "resumed"))
    again = scan_folder(root, squeezenet, None, 3, out_dir=tmp_path / "resumed", batch=4)
    assert not again.cancelled and again.reused == first.scanned and again.scanned == full.images - first.scanned
    assert_same_hits(again, full)


@pytest.fixture
def decodes(monkeypatch):
    """The paths the scan decodes (its dataset's load_for_network, in this process)."""
    import inference.scan_data as scan_data

    seen = []
    real = scan_data.load_for_network

    def counting(path, **kw):
        seen.append(os.path.relpath(path, counting.root).replace(os.sep, "/"))
        return real(path, **kw)
    monkeypatch.setattr(scan_data, "load_for_network", counting)
    return seen, counting


def test_only_new_or_changed_files_are_rescanned_and_deleted_ones_drop_out(folder, squeezenet, tmp_path, decodes):
    seen, counting = decodes
    root = str(tmp_path / "photos")
    shutil.copytree(folder[0], root)
    counting.root = root
    first = scan_folder(root, squeezenet, None, 3, out_dir=tmp_path / "index")
    assert len(seen) == first.images
    top_rels = [h.rel for hits in first.layers[next(iter(first.layers))].hits for h in hits]
    gone = top_rels[0]                                      # a top image: its removal must show
    rewritten = next(r for r in top_rels if r != gone)
    touched = "c/chat_été.png" if "c/chat_été.png" not in (gone, rewritten) else "img04.jpg"
    os.remove(os.path.join(root, *gone.split("/")))
    path = os.path.join(root, *rewritten.split("/"))
    Image.fromarray(np.full((120, 140, 3), 255, np.uint8)).save(path)   # flat white: a different image
    st = os.stat(os.path.join(root, *touched.split("/")))
    os.utime(os.path.join(root, *touched.split("/")), ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    del seen[:]
    second = scan_folder(root, squeezenet, None, 3, out_dir=tmp_path / "index")
    assert sorted(seen) == sorted([rewritten, touched])      # broken files are not retried either
    assert second.scanned == 2 and second.reused == first.images - 1 - 2 and second.images == first.images - 1
    fresh = scan_folder(root, squeezenet, None, 3, out_dir=tmp_path / "fresh")
    assert_same_hits(second, fresh)
    assert gone not in {h.rel for lh in second.layers.values() for hits in lh.hits for h in hits}
    del seen[:]
    third = scan_folder(root, squeezenet, None, 3, out_dir=tmp_path / "index")
    assert seen == [] and third.scanned == 0
    assert_same_hits(third, fresh)


def test_bad_folder_and_bad_layer_are_one_line_errors(squeezenet, resnet, tmp_path):
    from inference.errors import ConvScopeError

    with pytest.raises(ConvScopeError, match="no such folder"):
        scan_folder(tmp_path / "missing", squeezenet, out_dir=tmp_path / "i")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConvScopeError, match="no images"):
        scan_folder(tmp_path / "empty", squeezenet, out_dir=tmp_path / "i")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "empty" / "x.png")
    with pytest.raises(ConvScopeError, match="no layer named 'nope'"):
        scan_folder(tmp_path / "empty", squeezenet, ["nope"], out_dir=tmp_path / "i")
    with pytest.raises(ConvScopeError, match="no spatial map"):
        scan_folder(tmp_path / "empty", resnet, ["fc"], out_dir=tmp_path / "i")


def test_worker_processes_give_the_same_result_and_threads_keep_their_torch_threads(folder, squeezenet, tmp_path):
    import threading

    root, _ = folder
    small = tmp_path / "small"
    for rel in ("img00.png", "a/img01.jpg", "c/chat_été.png", "broken/text.jpg", "a/b/img02.jpg"):
        os.makedirs(small / os.path.dirname(rel), exist_ok=True)
        shutil.copy(os.path.join(root, *rel.split("/")), small / rel)
    threads = torch.get_num_threads()
    here = scan_folder(small, squeezenet, None, 2, out_dir=tmp_path / "threads")
    assert torch.get_num_threads() == threads            # the decoding pool's one-thread setting stays its own
    seen = []
    t = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    t.start()
    t.join()
    assert seen == [threads]
    there = scan_folder(small, squeezenet, None, 2, out_dir=tmp_path / "processes", workers=1)   # forkserver
    assert_same_hits(here, there)
    assert [f.rel for f in there.failures] == ["broken/text.jpg"]
