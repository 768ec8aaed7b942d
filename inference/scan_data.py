"""The scan's input side: the DataLoader dataset that decodes the images ``scan_files`` lists.

Decoding is the window's own: ``inference.images.load_for_network`` (``load_image``'s pixels for the
network: EXIF orientation, every Pillow mode, the decompression-bomb limit, one line for every way a
file can be bad) and ``inference.preprocess`` with the model's transform, on the full-size photo. So
a hit found by a scan has the value the window shows when that image is opened, and ``rect`` (where
the network's input square lies) is in the photo's full-size, EXIF-oriented pixels.

An image that fails is not an exception here: its item carries the one-line reason, so a worker
process never dies over a bad file and the scan goes on. The collate keeps the good tensors in one
batch and the failures beside it.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import torch
from torch.utils.data import Dataset

from .images import load_for_network
from .intra_op import default_threads_kept, one_intra_op_thread
from .preprocess import preprocess


def failure_reason(err: Exception, path: str) -> str:
    """The reason part of a load error ("the file is truncated"), without its "cannot open 'NAME': "."""
    text = " ".join(str(err).split()) or type(err).__name__
    prefix = f"cannot open '{os.path.basename(os.path.normpath(path))}': "
    return text[len(prefix):] if text.startswith(prefix) else text


@dataclass(frozen=True, eq=False)
class Decoded:
    """One dataset item: the prepared input, or why there is none."""

    index: int
    tensor: torch.Tensor | None                       # float32 [3, S, S]
    rect: tuple[float, float, float, float] | None    # the input square on the full-size photo (x, y, w, h)
    size: tuple[int, int] | None                      # the photo's full (oriented) (width, height)
    error: str | None = None


def _one_intra_op_thread(barrier: threading.Barrier) -> None:
    """Run in each pool thread once (the barrier: each of them, not one thread twice)."""
    one_intra_op_thread()
    barrier.wait()


class ScanDataset(Dataset):
    """The images of a scan, decoded and prepared one by one (in a DataLoader worker or in-process).

    With ``threads`` > 1, a DataLoader's batch (``__getitems__``) is decoded by that many threads at
    once, each running torch with one intra-op thread: Pillow and torch release the GIL, so a batch
    is decoded on every core, between two forwards that have every core to themselves. (Decoding
    beside the forward instead puts three busy threads on two cores, and torch's intra-op threads
    then wait for each other; its small ops on a 224×224 input took 7 ms on one thread, 25-80 ms on
    two that share their cores.)"""

    def __init__(self, paths: list[str], mode: str = "imagenet", transform=None, threads: int = 1):
        self.paths = list(paths)
        self.mode = mode
        self.transform = transform
        self.threads = max(1, int(threads))
        self._pool: ThreadPoolExecutor | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def __getstate__(self):   # a worker process gets the paths, not this process's threads
        state = dict(self.__dict__)
        state["_pool"] = None
        state["threads"] = 1
        return state

    def __getitems__(self, indices: list[int]) -> list["Decoded"]:
        if self.threads == 1 or len(indices) == 1:
            return [self[i] for i in indices]
        if self._pool is None:
            with default_threads_kept():
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="convscope-scan-decode")
                barrier = threading.Barrier(self.threads)
                for f in [self._pool.submit(_one_intra_op_thread, barrier) for _ in range(self.threads)]:
                    f.result()
        return list(self._pool.map(self.__getitem__, indices))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __getitem__(self, index: int) -> Decoded:
        path = self.paths[index]
        try:
            image = load_for_network(path)
            prepared = preprocess(image, self.mode, transform=self.transform, view=False)
        except Exception as err:  # noqa: BLE001 - a bad file is an item with its reason, never a dead worker
            return Decoded(index, None, None, None, failure_reason(err, path))
        return Decoded(index, prepared.tensor, tuple(map(float, prepared.rect)), image.size)


@dataclass(eq=False)
class Batch:
    """A collated batch: the good images stacked, in dataset order, and the failures beside them."""

    indices: list[int] = field(default_factory=list)             # dataset indices of ``tensor``'s rows
    tensor: torch.Tensor | None = None                            # [B, 3, S, S]
    rects: list[tuple[float, float, float, float]] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)  # (dataset index, reason)

    def __len__(self) -> int:
        return len(self.indices) + len(self.failures)

    def pin_memory(self) -> "Batch":
        """What a DataLoader with ``pin_memory=True`` calls (CUDA: the copy to the device can overlap)."""
        if self.tensor is not None:
            self.tensor = self.tensor.pin_memory()
        return self


def collate(items: list[Decoded]) -> Batch:
    batch = Batch()
    good = []
    for item in items:
        if item.tensor is None:
            batch.failures.append((item.index, item.error or "could not be decoded"))
        else:
            batch.indices.append(item.index)
            batch.rects.append(item.rect)
            batch.sizes.append(item.size)
            good.append(item.tensor)
    if good:
        batch.tensor = torch.stack(good)
    return batch
