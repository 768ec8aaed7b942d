"""One probed unit of a kept run: its receptive fields on the photo and its hypercolumn.

``probe_of_run`` is what the worker computes when a position of a map is clicked:
the theoretical field (a box, from the model's geometry), the effective field
(|d unit / d input|, one input gradient of the kept run, no new forward where the
model is a chain) and the hypercolumn (every channel at that position). The
result holds numpy arrays and plain values only, so it can cross to the UI thread.
"""
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from .blocks import alone
from .field_box import Box, Field, FieldTable, box_on_photo, clip_box
from .probes import Unit
from .receptive_field import field_table

_TABLES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # model → {input size: FieldTable}
_TABLES_LOCK = threading.Lock()


def field_table_of_model(model, input_size: tuple[int, int] = (224, 224)) -> FieldTable:
    """The model's field table at ``input_size``, derived once per model (then ~free)."""
    key = tuple(int(v) for v in input_size)
    with _TABLES_LOCK:
        table = _TABLES.get(model, {}).get(key)
    if table is None:
        table = field_table(model, key)
        with _TABLES_LOCK:
            _TABLES.setdefault(model, {})[key] = table
    return table


def field_table_of_run(run) -> FieldTable:
    """The field table of ``run``'s model at ``run``'s input size."""
    return field_table_of_model(run.bundle.model, tuple(run.prepared.tensor.shape[-2:]))


@dataclass(frozen=True, eq=False)
class Probe:
    """What one unit (``layer``, ``channel``, ``y``, ``x``) of a run looks at.

    Boxes: ``box_input`` is not clipped (it may reach into the padding), ``box_clipped``
    is cut to the input; both (y0, x0, y1, x1), half-open, in input pixels.
    ``box_photo`` is (x0, y0, x1, y1) in the pixels of the photo as drawn
    (``run.image.rgb``, the display copy, ≤ 1024 px, the pixels ``prepared.rect`` is in),
    clipped to it; ``box_full`` is the same box in the file's full-size pixels.
    All boxes are None when ``field`` is (``note`` says why).
    """

    layer: str
    channel: int
    y: int
    x: int
    field: Field | None
    note: str | None
    box_input: Box | None
    box_clipped: Box | None
    box_photo: tuple[float, float, float, float] | None
    box_full: tuple[float, float, float, float] | None
    input_size: tuple[int, int]                      # (H, W) of the network's input
    erf: np.ndarray | None                           # float32 [H, W]: Σ_c |d unit / d input_c|
    erf_rect: tuple[float, float, float, float]      # where ``erf`` lies on the photo (= prepared.rect)
    erf_note: str | None                             # why ``erf`` is None
    hypercolumn: np.ndarray                          # float32 [C]: every channel at (y, x)
    order: np.ndarray                                # int64 [C]: channels by value, highest first
    erf_levels: tuple[float, float] | None = None    # (0, its 99.5th percentile): how to colour ``erf``

    def __post_init__(self):
        # A few input pixels carry most of |d unit / d input| (the centre of the field, an edge of the
        # photo), so colour up to the 99.5th percentile: the field's spread shows, its peak saturates.
        if self.erf is not None and self.erf_levels is None:
            hi = float(np.percentile(self.erf, ERF_PERCENTILE))
            object.__setattr__(self, "erf_levels", (0.0, hi if hi > 0 else float(self.erf.max()) or 1.0))


ERF_PERCENTILE = 99.5


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _resolve(run, layer: str) -> str:
    if layer in run.layers:
        return layer
    for name, alias in run.bundle.aliases.items():
        if alias == layer and name in run.layers:
            return name
    raise ValueError(f"no layer named {layer!r} in this run")


def probe_of_run(run, layer: str, channel: int, y: int, x: int, *, effective: bool = True) -> Probe:
    """Probe unit (``channel``, ``y``, ``x``) of ``layer`` (a name or alias); ``effective=False``
    skips the input gradient. A bad layer, channel or position raises a one-line ValueError."""
    name = _resolve(run, layer)
    data = run.layers[name].data
    if data.ndim != 3:
        raise ValueError(f"{layer} has no spatial map (its output is {'×'.join(map(str, data.shape))}): "
                         "choose a layer with one")
    c, h, w = data.shape
    channel, y, x = int(channel), int(y), int(x)
    if not 0 <= channel < c:
        raise ValueError(f"channel {channel} is out of range: {layer} has {c} channels")
    if not (0 <= y < h and 0 <= x < w):
        raise ValueError(f"position ({y}, {x}) is outside {layer}'s {h}×{w} map")

    input_size = tuple(int(v) for v in run.prepared.tensor.shape[-2:])
    table = field_table_of_run(run)
    field = table.field(name)
    note = table.note(name)
    box_input = box_clipped = box_photo = box_full = None
    if field is not None:
        box_input = field.box(y, x)
        box_clipped = clip_box(box_input, input_size)
        image = run.image
        box_photo = box_on_photo(box_clipped, input_size, run.prepared.rect, image.display_size)
        dw, dh = image.display_size
        sx, sy = image.width / dw, image.height / dh
        box_full = (box_photo[0] * sx, box_photo[1] * sy, box_photo[2] * sx, box_photo[3] * sy)

    erf, erf_note = None, None
    if not effective:
        erf_note = "not asked for"
    elif not alone(name, run.calls, run.layers):
        erf_note = (f"{layer} runs {run.calls[name]} times in one forward (a shared module): "
                    "its effective field cannot be taken alone")
    else:
        grad = run.input_gradient(Unit(name, channel, y, x))
        erf = _frozen(np.abs(grad).sum(axis=0, dtype=np.float32))

    column = np.array(data[:, y, x], dtype=np.float32)
    order = np.argsort(-column, kind="stable").astype(np.int64)
    return Probe(name, channel, y, x, field, note, box_input, box_clipped, box_photo, box_full, input_size,
                 erf, tuple(run.prepared.rect), erf_note, _frozen(column), _frozen(order))
