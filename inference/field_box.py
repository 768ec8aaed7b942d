"""Where one unit of a feature map looks: its theoretical receptive field, in input and photo pixels.

Pure Python, no torch and no numpy: the UI thread imports this to draw a probed
unit's box the moment it is clicked (within 10 ms), from the plain dict the
worker sent (``FieldTable.as_dict``). ``inference.receptive_field`` derives the
table from a model.

A :class:`Field` is the classic (size, stride, padding) description: a unit at
(y, x) covers the input rows ``[y·ty − py, y·ty − py + sy)`` and the columns
``[x·tx − px, x·tx − px + sx)``. Rows and sizes come first, (y, x), as in a
tensor; boxes on the photo are (x0, y0, x1, y1), as the photo is drawn.
"""
from dataclasses import dataclass, field as dc_field

Box = tuple[int, int, int, int]   # (y0, x0, y1, x1), half-open, input pixels


def _pair(value, what: str) -> tuple[int, int]:
    try:
        a, b = value
        pair = (int(a), int(b))
    except (TypeError, ValueError):
        raise ValueError(f"a receptive field's {what} must be two integers, not {value!r}") from None
    if pair != (a, b):
        raise ValueError(f"a receptive field's {what} must be two integers, not {value!r}")
    return pair


@dataclass(frozen=True)
class Field:
    """A unit's theoretical receptive field: size, stride and padding, each (rows, columns)."""

    size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]

    def __post_init__(self):
        for what in ("size", "stride", "padding"):
            object.__setattr__(self, what, _pair(getattr(self, what), what))
        if min(self.size) < 1 or min(self.stride) < 1:
            raise ValueError(f"a receptive field needs a size and stride of at least 1, not {self.size}, {self.stride}")

    def box(self, y: int, x: int) -> Box:
        """The input pixels unit (y, x) depends on: (y0, x0, y1, x1), half-open, not clipped."""
        y0 = y * self.stride[0] - self.padding[0]
        x0 = x * self.stride[1] - self.padding[1]
        return (y0, x0, y0 + self.size[0], x0 + self.size[1])

    def then(self, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]) -> "Field":
        """The field after one more sliding window (``kernel`` is its extent: dilation·(k − 1) + 1)."""
        return Field(tuple((k - 1) * t + s for k, t, s in zip(kernel, self.stride, self.size)),
                     tuple(s * t for s, t in zip(stride, self.stride)),
                     tuple(p * t + q for p, t, q in zip(padding, self.stride, self.padding)))

    def union(self, other: "Field") -> "Field | None":
        """The smallest field holding both (where two branches join); None if their strides differ."""
        if self.stride != other.stride:
            return None
        pad = tuple(max(a, b) for a, b in zip(self.padding, other.padding))
        end = tuple(max(sa - pa, sb - pb) for sa, pa, sb, pb in zip(self.size, self.padding, other.size, other.padding))
        return Field(tuple(e + p for e, p in zip(end, pad)), self.stride, pad)

    def as_dict(self) -> dict:
        return {"size": list(self.size), "stride": list(self.stride), "padding": list(self.padding)}

    @classmethod
    def from_dict(cls, d: dict) -> "Field":
        """The field of ``as_dict``'s output (other keys, such as a map size, are ignored)."""
        try:
            return cls(d["size"], d["stride"], d["padding"])
        except (KeyError, TypeError):
            raise ValueError(f"not a receptive field: {d!r}") from None


IDENTITY = Field((1, 1), (1, 1), (0, 0))   # the input itself: each pixel sees itself


def clip_box(box: Box, size: tuple[int, int]) -> Box:
    """``box`` cut to an (H, W) input; an empty result keeps y1 ≥ y0 and x1 ≥ x0."""
    h, w = size
    y0, x0 = min(max(box[0], 0), h), min(max(box[1], 0), w)
    return (y0, x0, max(min(box[2], h), y0), max(min(box[3], w), x0))


def box_on_photo(box: Box, input_size: tuple[int, int], rect: tuple[float, float, float, float],
                 photo_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """``box`` (input pixels) on the photo: (x0, y0, x1, y1) in the pixels ``rect`` is given in.

    ``rect`` = (x, y, w, h) is where the (H, W) input square lies on the photo; it
    may reach past the photo (letterbox). The box is first cut to the input (its
    padding is no photo), then to ``photo_size`` = (width, height). It may come out
    empty (x1 == x0) when the unit sees only a letterbox's fill.
    """
    h, w = input_size
    y0, x0, y1, x1 = clip_box(box, input_size)
    rx, ry, rw, rh = rect
    sx, sy = rw / w, rh / h
    pw, ph = photo_size

    def cut(v, hi):
        return min(max(v, 0.0), float(hi))

    px0, py0 = cut(rx + x0 * sx, pw), cut(ry + y0 * sy, ph)
    return (px0, py0, max(cut(rx + x1 * sx, pw), px0), max(cut(ry + y1 * sy, ph), py0))


@dataclass(frozen=True, eq=False)
class FieldTable:
    """Every layer's field, or the one-line note why it has none, for one input size.

    ``map_sizes`` holds the (H, W) of each layer with a spatial output, in forward
    order; a layer without one (a Linear) has only a note. ``as_dict`` is the plain
    form the worker sends to the window: {layer: field dict + "map_size", or {"note"}},
    spatial layers only.
    """

    input_size: tuple[int, int]
    fields: dict[str, Field] = dc_field(default_factory=dict)
    notes: dict[str, str] = dc_field(default_factory=dict)
    map_sizes: dict[str, tuple[int, int]] = dc_field(default_factory=dict)

    def field(self, name: str) -> Field | None:
        return self.fields.get(name)

    def note(self, name: str) -> str | None:
        """Why ``name`` has no field (None when it has one)."""
        if name in self.fields:
            return None
        return self.notes.get(name, f"{name} was not seen in the model's forward")

    def spatial(self) -> list[str]:
        """The layers with a spatial output, in forward order."""
        return list(self.map_sizes)

    def as_dict(self) -> dict:
        out = {}
        for name, size in self.map_sizes.items():
            f = self.fields.get(name)
            entry = f.as_dict() if f is not None else {"note": self.note(name)}
            out[name] = {**entry, "map_size": list(size)}
        return out

    @classmethod
    def from_dict(cls, d: dict, input_size: tuple[int, int] = (224, 224)) -> "FieldTable":
        fields, notes, sizes = {}, {}, {}
        for name, entry in d.items():
            sizes[name] = _pair(entry["map_size"], "map size")
            if entry.get("note"):
                notes[name] = entry["note"]
            else:
                fields[name] = Field.from_dict(entry)
        return cls(_pair(input_size, "input size"), fields, notes, sizes)
