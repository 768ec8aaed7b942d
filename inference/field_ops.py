"""What one torch call does to the receptive fields of the tensors it reads (for ``inference.receptive_field``).

An ``Info`` is a :class:`~inference.field_box.Field` or a one-line note (why there is
none). The rules are few and conservative, anything not listed gets a note:

- pointwise ops and joins keep the field, or take the union of their inputs'
  fields where branches meet, if the strides agree and no input is broadcast
  from a map of another size (an SE block's 1×1 scale depends on every position);
- reshapes, slices, permutes and reductions over channels keep the field while the
  last two dims (the map's rows and columns) stay where they are, untouched;
- functional conv, pooling and constant padding apply their geometry.
"""
import torch
from torch.utils._pytree import tree_flatten

from .field_box import Field

Info = Field | str

_POINTWISE = {
    "add", "sub", "rsub", "mul", "div", "true_divide", "floor_divide", "pow", "neg", "abs", "exp", "log",
    "sqrt", "rsqrt", "reciprocal", "square", "sign", "erf", "sigmoid", "tanh", "relu", "relu6", "leaky_relu",
    "hardtanh", "elu", "selu", "celu", "gelu", "silu", "mish", "hardswish", "hardsigmoid", "softplus",
    "threshold", "prelu", "clamp", "clip", "clamp_min", "clamp_max", "maximum", "minimum", "where", "lerp",
    "addcmul", "addcdiv", "masked_fill", "dropout", "dropout1d", "dropout2d", "alpha_dropout",
    "feature_alpha_dropout", "float", "double", "half", "bfloat16", "to", "type", "type_as", "contiguous",
    "clone", "detach", "requires_grad_", "setitem", "cat", "concat", "concatenate", "stack",
}
_LAYOUT = {"view", "view_as", "reshape", "reshape_as", "flatten", "unflatten", "squeeze", "unsqueeze",
           "chunk", "split", "tensor_split", "unbind", "narrow", "select", "expand", "expand_as", "getitem"}
_PERMUTE = {"permute", "transpose", "swapaxes", "swapdims", "movedim"}
_ALONG = {"select": 1, "narrow": 1, "unbind": 1, "chunk": 2, "split": 2, "tensor_split": 2}  # where the dim is
_REDUCE = {"mean", "sum", "amax", "amin", "max", "min", "std", "var", "prod", "logsumexp", "norm",
           "softmax", "log_softmax", "argmax", "argmin"}


def pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, (int, torch.SymInt)) else (int(v[0]), int(v[1]))


def tensors(tree) -> list[torch.Tensor]:
    leaves, _ = tree_flatten(tree)
    return [t for t in leaves if isinstance(t, torch.Tensor)]


def slide(info: Info, kernel, stride, padding, dilation) -> Info:
    """The field after a sliding window (conv or pool) of that geometry; a note stays a note."""
    if isinstance(info, str):
        return info
    k, d = pair(kernel), pair(dilation)
    return info.then(tuple(di * (ki - 1) + 1 for ki, di in zip(k, d)), pair(stride if stride is not None else kernel),
                     pair(padding))


def adaptive(info: Info, x: torch.Tensor, y: torch.Tensor, what: str) -> Info:
    """An adaptive pool is a plain pool (kernel = stride = in/out) where every bin has the same size."""
    if isinstance(info, str):
        return info
    (h, w), (oh, ow) = tuple(x.shape[-2:]), tuple(y.shape[-2:])
    if h % oh or w % ow:
        return f"{what} pools {h}×{w} to {oh}×{ow} in bins of unequal size: no one stride fits"
    k = (h // oh, w // ow)
    return info.then(k, k, (0, 0))


def _core(name: str) -> str:
    """``__iadd__`` → ``add``, ``relu_`` → ``relu``, ``__getitem__`` → ``getitem``."""
    if name.startswith("__") and name.endswith("__"):
        core = name[2:-2]
        return core[1:] if core[:1] in ("r", "i") and core[1:] in _POINTWISE else core
    return name[:-1] if name.endswith("_") and name[:-1] in _POINTWISE else name


def _arg(args, kwargs, i: int, key: str, default=None):
    if key in kwargs:
        return kwargs[key]
    return args[i] if len(args) > i else default


def _dims(spec, n: int) -> set[int] | None:
    if spec is None:
        return None
    items = spec if isinstance(spec, (tuple, list)) else (spec,)
    return {int(d) % n for d in items}


def _spatial_dims_touched(name: str, args, kwargs, x: torch.Tensor) -> bool:
    """True when a layout op, permute or reduction moves or reduces the map's rows or columns."""
    n = x.dim()
    spatial = {n - 2, n - 1}
    if name in _PERMUTE:
        if name == "permute":
            dims = args[1:] if len(args) > 2 or not isinstance(_arg(args, kwargs, 1, "dims"), (tuple, list)) \
                else _arg(args, kwargs, 1, "dims")
            dims = [int(d) % n for d in dims]
            return dims[-2:] != [n - 2, n - 1]
        a, b = _arg(args, kwargs, 1, "dim0"), _arg(args, kwargs, 2, "dim1")
        if name == "movedim":
            a, b = _arg(args, kwargs, 1, "source"), _arg(args, kwargs, 2, "destination")
        touched = (_dims(a, n) or set()) | (_dims(b, n) or set())
        return bool(touched & spatial)
    if name in _ALONG:
        dim = _arg(args, kwargs, _ALONG[name], "dim", 0)
        return bool((_dims(dim, n) or set()) & spatial)
    if name in _REDUCE:
        dims = _dims(_arg(args, kwargs, 1, "dim"), n) if not isinstance(_arg(args, kwargs, 1, "dim"), torch.Tensor) \
            else None
        return dims is None or bool(dims & spatial)
    if name == "getitem":
        index = args[1] if isinstance(args[1], tuple) else (args[1],)
        if any(i is None or isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in index):
            return True   # a new axis or a mask: the positions of the dims move
        if Ellipsis in index:
            after = index[index.index(Ellipsis) + 1:]
            return not all(i == slice(None) for i in after)
        return not all(i == slice(None) for i in index[2:])
    return False


def _join(infos: list[Info], where: str, name: str) -> Info:
    notes = [i for i in infos if isinstance(i, str)]
    if notes:
        return notes[0]
    joined = infos[0]
    for other in infos[1:]:
        union = joined.union(other)
        if union is None:
            return (f"branches with strides {'×'.join(map(str, joined.stride))} and "
                    f"{'×'.join(map(str, other.stride))} join after {where} ({name})")
        joined = union
    return joined


def function_info(func_name: str, args, kwargs, tracked, outs, where: str) -> Info:
    """The field of ``outs``, the results of one torch call on ``tracked`` [(tensor, Info)] inputs."""
    name = _core(func_name)
    out = outs[0]
    infos = [i for _, i in tracked]
    same_map = all(t.dim() >= 2 and out.dim() >= 2 and t.shape[-2:] == out.shape[-2:] for t, _ in tracked)
    if name in ("max", "min") and isinstance(_arg(args, kwargs, 1, "other"), torch.Tensor):
        name = "maximum"   # the binary form: pointwise
    if name in _POINTWISE:
        if name in ("cat", "concat", "concatenate", "stack"):
            dim = int(_arg(args, kwargs, 1, "dim", 0)) % out.dim()
            if dim >= out.dim() - 2:
                return f"{func_name}() after {where} joins maps along their rows or columns"
        if not same_map:
            return f"{func_name}() after {where} broadcasts a map of another size over the positions"
        return _join(infos, where, func_name)
    if name in _LAYOUT or name in _PERMUTE or name in _REDUCE:
        x = tracked[0][0]
        if not same_map or out.dim() < 3 or _spatial_dims_touched(name, args, kwargs, x):
            return f"{func_name}() after {where} moves or merges the map's positions"
        return infos[0]
    x, info = tracked[0]
    if x is not args[0]:
        return f"{func_name}() after {where} computes from the map in a way not derived here"
    if name == "conv2d":
        weight = _arg(args, kwargs, 1, "weight")
        padding = _arg(args, kwargs, 4, "padding", 0)
        dilation = pair(_arg(args, kwargs, 5, "dilation", 1))
        kernel = tuple(weight.shape[-2:])
        if padding == "same":
            padding = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation))
        elif padding == "valid":
            padding = 0
        return slide(info, kernel, _arg(args, kwargs, 3, "stride", 1), padding, dilation)
    if name in ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d"):
        kernel = _arg(args, kwargs, 1, "kernel_size")
        stride = _arg(args, kwargs, 2, "stride") or kernel
        dilation = _arg(args, kwargs, 4, "dilation", 1) if name != "avg_pool2d" else 1
        return slide(info, kernel, stride, _arg(args, kwargs, 3, "padding", 0), dilation)
    if name in ("adaptive_avg_pool2d", "adaptive_max_pool2d", "adaptive_max_pool2d_with_indices"):
        return adaptive(info, x, out, f"{func_name}() after {where}")
    if name == "pad":
        pads = list(_arg(args, kwargs, 1, "pad")) + [0, 0, 0, 0]
        if _arg(args, kwargs, 2, "mode", "constant") != "constant":
            return f"{func_name}() after {where} pads by reflecting or wrapping the border: not a box"
        return slide(info, 1, 1, (pads[2], pads[0]), 1)
    return f"{func_name}() after {where} is neither a sliding window nor a pointwise op"
