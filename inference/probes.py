"""What a re-entered run is asked: edits of a layer's output, and scalar targets to differentiate.

Plain frozen values, so a GUI request can carry them across threads and a
test can build them; each knows how to apply itself to tensors.

- An **edit** maps a layer's output (batch dim kept) to a new one: zero some
  channels, set them to their spatial mean, scale them, or keep only them.
- A **target** is a scalar of the network: a class logit, a function of the
  logits (``log Σ p_i`` over a set of classes), or one unit of a later layer.
"""
from dataclasses import dataclass
from typing import Callable

import torch

EDIT_MODES = ("zero", "mean", "scale", "keep")


@dataclass(frozen=True)
class ChannelEdit:
    """Edit channels of a [1, C, ...] output.

    ``zero``: set ``channels`` to 0; ``mean``: to their spatial mean; ``scale``:
    multiply them by ``factor``; ``keep``: zero every *other* channel.
    """

    channels: tuple[int, ...]
    mode: str = "zero"
    factor: float = 0.0

    def __post_init__(self):
        if self.mode not in EDIT_MODES:
            raise ValueError(f"unknown edit {self.mode!r}; choose one of {', '.join(EDIT_MODES)}")
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        c = output.shape[1]
        bad = [ch for ch in self.channels if not 0 <= ch < c]
        if bad:
            raise ValueError(f"channel {bad[0]} is out of range: this layer has {c} channels")
        out = output.clone()
        idx = list(self.channels)
        if self.mode == "zero":
            out[:, idx] = 0
        elif self.mode == "scale":
            out[:, idx] = out[:, idx] * self.factor
        elif self.mode == "mean":
            dims = tuple(range(2, output.dim()))
            out[:, idx] = out[:, idx].mean(dim=dims, keepdim=True).expand_as(out[:, idx]) if dims else out[:, idx]
        else:  # keep
            drop = [ch for ch in range(c) if ch not in set(idx)]
            out[:, drop] = 0
        return out


Edit = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ClassLogit:
    """The raw logit of one class (what Grad-CAM differentiates)."""

    index: int

    def of_logits(self, logits: torch.Tensor) -> torch.Tensor:
        if not 0 <= self.index < logits.shape[-1]:
            raise ValueError(f"class {self.index} is out of range: the model has {logits.shape[-1]} classes")
        return logits[0, self.index]


@dataclass(frozen=True)
class LogProbSum:
    """``log Σ_{i ∈ classes} p_i``: e.g. "cat" over ImageNet's 281–285."""

    classes: tuple[int, ...]
    label: str = ""

    def of_logits(self, logits: torch.Tensor) -> torch.Tensor:
        n = logits.shape[-1]
        if not self.classes:
            raise ValueError("no classes to sum over")
        bad = [c for c in self.classes if not 0 <= c < n]
        if bad:
            raise ValueError(f"class {bad[0]} is out of range: the model has {n} classes")
        idx = torch.as_tensor(list(self.classes), dtype=torch.long, device=logits.device)
        z = logits[0]
        return torch.logsumexp(z[idx], 0) - torch.logsumexp(z, 0)


@dataclass(frozen=True)
class LogitsFunction:
    """Any scalar function of the [1, N] logits."""

    fn: Callable[[torch.Tensor], torch.Tensor]
    label: str = ""

    def of_logits(self, logits: torch.Tensor) -> torch.Tensor:
        return self.fn(logits)


@dataclass(frozen=True)
class Unit:
    """One unit of a layer: ``channel`` at (y, x); y and x None for the channel's spatial mean."""

    layer: str
    channel: int
    y: int | None = None
    x: int | None = None

    def of_output(self, output: torch.Tensor) -> torch.Tensor:
        if output.dim() == 2:
            return output[0, self.channel]
        channel = output[0, self.channel]
        if self.y is None or self.x is None:
            return channel.mean()
        return channel[self.y, self.x]

    def check(self, shape: tuple[int, ...]) -> None:
        """One line when the unit is outside ``shape`` (batch dim excluded)."""
        if not 0 <= self.channel < shape[0]:
            raise ValueError(f"channel {self.channel} is out of range: {self.layer} has {shape[0]} channels")
        if len(shape) == 3 and self.y is not None and self.x is not None:
            if not (0 <= self.y < shape[1] and 0 <= self.x < shape[2]):
                raise ValueError(f"position ({self.y}, {self.x}) is outside {self.layer}'s {shape[1]}×{shape[2]} map")


Target = ClassLogit | LogProbSum | LogitsFunction | Unit
