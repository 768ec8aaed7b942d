"""The kernel grids the window shows: a filter's strongest input slices, one RGB filter, conv1_1's bank.

Each is a :class:`widgets.kernel_view.PatchGrid` drawn with the shared renderers; they
only draw what they are given (the caller picks the slices: inference.kernel_slices).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal

from widgets.kernel_view import RGB_NAMES, PatchGrid, drawing_limit, numbers_block
from widgets.prediction_text import format_signed


def slice_label(index: int, labels: list[str] | None) -> str:
    """What a slice is labelled with: ``labels[index]`` when given, else "in 37"."""
    return labels[index] if labels is not None and 0 <= index < len(labels) else f"in {index}"


class KernelSlices(PatchGrid):
    """A filter's input slices on the diverging map, one shared scale, each labelled with its input
    channel; hover shows the numbers, a click emits ``inputChannelChosen(input channel)``."""

    inputChannelChosen = Signal(int)

    def __init__(self, parent=None):
        super().__init__(rgb=False, preferred_side=36, columns=8, parent=parent)
        self._indices: list[int] = []
        self.cellClicked.connect(lambda cell: self.inputChannelChosen.emit(self._indices[cell]))

    def set_slices(self, indices, slices, limit: float | None = None, labels: list[str] | None = None,
                   norms=None, hint: str = "click to show its map") -> None:
        """Draw ``slices`` [k, kh, kw] of input channels ``indices`` [k], all over ±``limit``
        (default: max |w| of the slices); ``labels`` names every input channel (by index)."""
        slices = np.asarray(slices, dtype=np.float32)
        self._indices = [int(i) for i in np.asarray(indices).ravel()]
        if slices.ndim != 3 or slices.shape[0] != len(self._indices):
            raise ValueError(f"slices must be [k, kh, kw] with k = {len(self._indices)} indices, got {slices.shape}")
        limit = drawing_limit(slices) if limit is None else float(limit)
        names = [slice_label(i, labels) for i in self._indices]
        tips = []
        for n, (name, values) in enumerate(zip(names, slices)):
            norm = f" · L2 norm {format_signed(float(norms[n]), 4, minus='-')}" if norms is not None else ""
            tail = f"<br><i>{hint}</i>" if hint else ""
            tips.append(f"<b>{name}</b>{norm}<pre>{numbers_block(values)}</pre>{tail}")
        self.set_cells(list(slices), [limit] * len(slices), names, tips)

    def indices(self) -> list[int]:
        """The input channel of each drawn slice, in drawing order."""
        return list(self._indices)


def rgb_tooltip(weight: np.ndarray, title: str) -> str:
    """An RGB filter's 27 numbers, one block per input colour, for a tooltip."""
    blocks = "\n".join(f"in {RGB_NAMES[c]}\n{numbers_block(weight[c])}" for c in range(3))
    return f"<b>{title}</b><pre>{blocks}</pre>"


class KernelPatch(PatchGrid):
    """One RGB filter [3, kh, kw] as one colour patch, as large as fits; hover shows its 27 numbers."""

    def __init__(self, parent=None):
        super().__init__(rgb=True, preferred_side=90, columns=1, parent=parent)
        self.clickable = False

    def set_filter(self, weight, limit: float | None = None, title: str = "filter") -> None:
        weight = np.asarray(weight, dtype=np.float32)
        limit = drawing_limit(weight) if limit is None else float(limit)
        self.set_cells([weight], [limit], None, [rgb_tooltip(weight, title)])


class KernelBank(PatchGrid):
    """conv1_1's filters [N, 3, kh, kw] as colour patches, 8 to a row, each on its own ±max|w|
    (so it looks as it does alone, and a weak filter's pattern still shows; ``limit`` gives
    them one shared scale instead); a click outlines one and emits ``channelChosen(index)``."""

    channelChosen = Signal(int)

    def __init__(self, parent=None):
        super().__init__(rgb=True, preferred_side=27, columns=8, fixed_columns=True, parent=parent)
        self.cellClicked.connect(self._chosen)

    def set_bank(self, weight, limit: float | None = None) -> None:
        weight = np.asarray(weight, dtype=np.float32)
        if weight.ndim != 4 or weight.shape[1] != 3:
            raise ValueError(f"a bank of RGB filters is [N, 3, kh, kw], got shape {weight.shape}")
        limits = [drawing_limit(w) if limit is None else float(limit) for w in weight]
        tips = [rgb_tooltip(w, f"filter {i} (±{format_signed(lim, 3)})") + "<i>click to select it</i>"
                for i, (w, lim) in enumerate(zip(weight, limits))]
        self.set_cells(list(weight), limits, None, tips)

    def _chosen(self, index: int) -> None:
        self.set_selected(index)
        self.channelChosen.emit(index)
