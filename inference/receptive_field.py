"""Every layer's theoretical receptive field, derived from the model's real graph, for any model.

The model runs once on the meta device, as a copy whose parameters are meta
tensors (no memory, no arithmetic), and every tensor carries its field:

- a conv or pool leaf applies its geometry (kernel, stride, padding, dilation;
  ``ceil_mode`` only adds units at the end, each still covering its window);
  an elementwise leaf (ReLU, BatchNorm, Dropout, …) keeps the field; an adaptive
  pool is a plain pool where its bins are equal (7→7, 14→7), else it gets a note;
- between leaves, and inside leaves of unknown types, a TorchFunctionMode sees
  every torch call (``inference.field_ops`` says what each does to a field): a
  join of branches (ResNet's ``out += identity``, a concatenation over channels)
  is the union of their boxes when their strides agree.

Whatever cannot be described by one box per unit gets a one-line note instead,
never a wrong box, and nothing here raises for an odd model.

Why not torch.fx: symbolic tracing patches ``nn.Module.__call__`` process-wide
while it traces, so a forward on another thread (the demo conv, a capture) would
run through the tracer and fail; a meta run touches only this thread and its own
copy, and follows forwards fx cannot trace.
"""
import copy
import itertools

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .blocks import LastListed, call_name, leaf_modules
from .field_box import IDENTITY, Field, FieldTable
from .field_ops import Info, adaptive, function_info, pair, slide, tensors

_ELEMENTWISE = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Sigmoid, nn.Tanh, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid, nn.Softplus, nn.Threshold,
    nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout, nn.FeatureAlphaDropout,
    nn.LocalResponseNorm, nn.Softmax2d,
)
_NORMS = (nn.BatchNorm2d, nn.SyncBatchNorm)   # per channel in eval mode; batch statistics in training
_SLIDING = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.LPPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
            nn.ZeroPad2d, nn.ConstantPad2d)
_KNOWN = _SLIDING + _ELEMENTWISE + _NORMS      # leaves whose geometry stands for their insides
_IN_PLACE_DUNDERS = {"__setitem__"} | {f"__i{op}__" for op in (
    "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor", "lshift", "rshift")}


def _describe(name: str, module: nn.Module) -> str:
    return f"{name} ({type(module).__name__})"


def leaf_info(name: str, module: nn.Module, info: Info, x: torch.Tensor, y: torch.Tensor) -> Info | None:
    """The field of a known leaf's output, from its input's; None for a leaf whose insides must be followed."""
    what = _describe(name, module)
    if isinstance(module, _ELEMENTWISE):
        return info
    if isinstance(module, _NORMS):
        return f"{what} in training mode normalises with statistics over every position" if module.training else info
    if isinstance(module, nn.Conv2d):
        if module.padding_mode != "zeros":
            return f"{what} pads by {module.padding_mode!r}, which folds the border back in: not a box"
        return slide(info, module.kernel_size, module.stride, module.padding, module.dilation)
    if isinstance(module, nn.MaxPool2d):
        return slide(info, module.kernel_size, module.stride, module.padding, module.dilation)
    if isinstance(module, (nn.AvgPool2d, nn.LPPool2d)):
        return slide(info, module.kernel_size, module.stride, getattr(module, "padding", 0), 1)
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        return adaptive(info, x, y, what)
    if isinstance(module, (nn.ZeroPad2d, nn.ConstantPad2d)):
        left, _right, top, _bottom = module.padding
        return slide(info, 1, 1, (top, left), 1)
    return None


class _Tracer(TorchFunctionMode):
    """Carries a field (or a note) on every tensor of one meta forward; records each leaf's output."""

    def __init__(self, known: set[str]):
        super().__init__()
        self._info: dict[int, Info] = {}
        self._alive: list[torch.Tensor] = []   # keeps the ids of tracked tensors unique
        self._known = known
        self.depth = 0                         # > 0 inside a known leaf: its geometry stands for its ops
        self.where = "the input"               # the last leaf seen, for the notes
        self._calls: dict[str, int] = {}       # how often each module has returned so far
        self._last = LastListed()              # the last recorded output (inference.blocks' rule)
        self.layers: dict[str, tuple[Info | None, tuple[int, ...] | None, str]] = {}

    def of(self, t) -> Info | None:
        return self._info.get(id(t)) if isinstance(t, torch.Tensor) else None

    def mark(self, t: torch.Tensor, info: Info) -> None:
        self._info[id(t)] = info
        self._alive.append(t)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.depth == 0:
            tracked = [(t, i) for t in tensors((args, kwargs)) if (i := self.of(t)) is not None]
            if tracked:
                outs = tensors(out)
                name = getattr(func, "__name__", "")
                in_place = name in _IN_PLACE_DUNDERS or (name.endswith("_") and not name.startswith("__"))
                if in_place and args and isinstance(args[0], torch.Tensor):
                    outs = [args[0]] + [t for t in outs if t is not args[0]]   # modified in place
                if outs:
                    info = function_info(name, args, kwargs, tracked, outs, self.where)
                    for t in outs:
                        self.mark(t, info)
        return out

    def pre_hook(self, name: str):
        def hook(module, args, kwargs):
            if name in self._known:
                self.depth += 1
            return None
        return hook

    def post_hook(self, name: str):
        def hook(module, args, output):
            x = next(iter(tensors((args,))), None)
            y = next(iter(tensors(output)), None)
            if name in self._known:
                self.depth -= 1
                info = None if x is None or self.of(x) is None else leaf_info(name, module, self.of(x), x, y)
                if info is not None:
                    for t in tensors(output):
                        self.mark(t, info)
            self.where = name
            self._record(name, module, y)
            return None
        return hook

    def block_hook(self, name: str):
        """A container's output is recorded (never marked) when it is a block's own (a residual sum, a
        concatenation): not the tensor the last recorded layer returned, as inference.blocks lists them."""
        def hook(module, args, output):
            if not isinstance(output, torch.Tensor) or self._last.already_listed(output):
                return None  # a plain container (a Sequential): its output is already listed
            self._record(name, module, output)
            return None
        return hook

    def _record(self, name: str, module: nn.Module, y) -> None:
        """The field of this call's output, under the layer name capture gives it (``relu#2`` …)."""
        k = self._calls[name] = self._calls.get(name, 0) + 1
        info = self.of(y)
        if y is not None and info is None:
            info = f"{_describe(name, module)} does not compute from the network's input"
        self.layers[call_name(name, k)] = (info, None if y is None else tuple(y.shape), type(module).__name__)
        self._last.listed(y)


def meta_copy(model: nn.Module) -> nn.Module:
    """The model's structure with meta tensors for its parameters and buffers, and none of its hooks.

    Nothing big is copied; the caller holds the model's forward lock, so no capture
    adds or removes hooks meanwhile."""
    memo = {}
    for t in itertools.chain(model.parameters(), model.buffers()):
        meta = torch.empty_like(t, device="meta")
        memo[id(t)] = nn.Parameter(meta, requires_grad=False) if isinstance(t, nn.Parameter) else meta
    for m in model.modules():
        for key, value in vars(m).items():
            if "hook" in key and isinstance(value, dict):
                memo[id(value)] = type(value)()   # a capture's hooks must not come along
    return copy.deepcopy(model, memo)


def _input_channels(model: nn.Module) -> int:
    for _, m in leaf_modules(model):
        if isinstance(m, nn.Conv2d):
            return m.in_channels
    return 3


def field_table(model: nn.Module, input_size: tuple[int, int] = (224, 224)) -> FieldTable:
    """Every captured layer's field at ``input_size`` = (H, W), or a one-line note why it has none."""
    from .run import forward_lock

    input_size = pair(input_size)
    names = [n for n, _ in leaf_modules(model)]
    try:
        with forward_lock(model):
            twin = meta_copy(model)
        return _trace(twin, input_size, names)
    except Exception as err:  # an odd model gets notes, never an exception
        reason = " ".join(str(err).split())[:120] or type(err).__name__
        note = (f"receptive fields cannot be derived for this model ({reason}); "
                "showing the effective field only")
        return FieldTable(input_size, {}, {n: note for n in names}, {})


def _trace(model: nn.Module, input_size: tuple[int, int], names: list[str]) -> FieldTable:
    leaves = dict(leaf_modules(model))
    tracer = _Tracer({n for n, m in leaves.items() if isinstance(m, _KNOWN)})
    handles = []
    for name, m in model.named_modules():
        if name in leaves:
            handles.append(m.register_forward_pre_hook(tracer.pre_hook(name), with_kwargs=True))
            handles.append(m.register_forward_hook(tracer.post_hook(name)))
        elif name:
            handles.append(m.register_forward_hook(tracer.block_hook(name)))
    x = torch.zeros((1, _input_channels(model), *input_size), device="meta")
    try:
        with torch.no_grad(), tracer:
            tracer.mark(x, IDENTITY)
            model(x)
    finally:
        for h in handles:
            h.remove()
    fields: dict[str, Field] = {}
    notes: dict[str, str] = {}
    sizes: dict[str, tuple[int, int]] = {}
    for name, (info, shape, kind) in tracer.layers.items():
        if shape is None or len(shape) != 4:
            notes[name] = f"{name} has no spatial output ({kind}): no receptive field"
            continue
        sizes[name] = (shape[2], shape[3])
        if isinstance(info, Field):
            fields[name] = info
        else:
            notes[name] = f"its receptive field cannot be derived: {info}; showing the effective field only"
    for name in names:
        if name not in tracer.layers:
            notes[name] = f"{name} did not run in the model's forward"
    return FieldTable(input_size, fields, notes, sizes)
