"""Read user-supplied checkpoints and class lists without ever running their code.

A checkpoint is someone else's pickle, so it is always opened with
``torch.load(weights_only=True)``: anything other than plain tensors is refused
before it can execute. Every failure becomes a one-line ``WeightsError`` naming
the file, so the CLI and the GUI can show it as is.
"""
from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path

import torch

from inference.errors import WeightsError

CLASSES_FILE = "cls_classes.txt"
"""Class-name file looked for next to a checkpoint (bubbliiiing/classification-pytorch layout)."""

_WRAPPER_KEYS = ("state_dict", "model_state_dict")
_ZIP_MAGIC = b"PK\x03\x04"      # torch.save since 1.6
_PICKLE_MAGIC = b"\x80"          # legacy torch.save and pickle protocol >= 2
_PREFIX = "module."              # added by nn.DataParallel / DistributedDataParallel
_SHOW = 3                        # how many keys an error message lists


def read_state_dict(path) -> dict[str, torch.Tensor]:
    """Load a state dict from ``path`` safely; strip wrappers and ``module.`` prefixes."""
    path = Path(path)
    _sniff(path)
    obj = _safe_load(path)
    state = _unwrap(obj, path)
    return _strip_prefix(state, path)


def key_mismatch(state: dict, expected: dict) -> str | None:
    """"missing keys …; unexpected keys …" between ``state`` and ``expected``, or None."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    parts = []
    if missing:
        parts.append(f"missing keys {few_keys(missing)}")
    if unexpected:
        parts.append(f"unexpected keys {few_keys(unexpected)}")
    return "; ".join(parts) or None


def size_mismatch(state: dict, expected: dict) -> str | None:
    """The first key whose shape differs ("key: checkpoint has …, model expects …"), or None."""
    for key, shape in expected.items():
        got = tuple(state[key].shape)
        if got != tuple(shape):
            return f"{key}: checkpoint has {got}, model expects {tuple(shape)}"
    return None


def shape_mismatch(state: dict, expected: dict) -> str | None:
    """Why ``state`` does not have exactly ``expected``'s keys and shapes, or None."""
    return key_mismatch(state, expected) or size_mismatch(state, expected)


def check_state_dict(state: dict, expected: dict[str, tuple[int, ...]] | None = None, path=None,
                     arch: str = "vgg16") -> None:
    """Raise ``WeightsError`` unless ``state`` has exactly the keys and shapes in ``expected``.

    Without ``expected``, they are ``arch``'s with the class count of ``state``'s own head
    (and its auxiliary heads, if the file holds them: GoogLeNet, Inception v3).
    """
    if expected is None:
        from . import arch_detection

        aux = arch_detection.has_aux_keys(state, arch)
        expected = arch_detection.expected_shapes(arch, num_classes_of(state, path, arch), aux)
    keys = key_mismatch(state, expected)
    if keys:
        raise WeightsError(f"{path} is not a {arch} checkpoint: {keys}")
    sizes = size_mismatch(state, expected)
    if sizes:
        raise WeightsError(f"{path} does not fit the {arch} model: {sizes}")


def num_classes_of(state: dict, path=None, arch: str = "vgg16") -> int:
    """Number of output classes: the rows of ``arch``'s final layer weight, whatever it is called.

    VGG's is ``classifier.6``, ResNet's ``fc``, SqueezeNet's ``classifier.1`` (a conv);
    the name comes from the model itself (``inference.architectures.head_of``)."""
    from . import arch_detection

    where = f"{path}: " if path is not None else ""
    sig = arch_detection.signature(arch)
    key = sig.head_keys[0]
    dims = len(dict(sig.shapes)[key])
    weight = state.get(key)
    if not isinstance(weight, torch.Tensor) or weight.dim() != dims:
        kind = "matrix" if dims == 2 else f"{dims}-d tensor"
        raise WeightsError(f"{where}checkpoint has no {key} {kind}, so its number of classes is unknown")
    return int(weight.shape[0])


def read_class_names(path) -> list[str]:
    """One class name per line (UTF-8, BOM and CRLF tolerated, blank lines dropped)."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"{path}: class-name file not found")
    if path.is_dir():
        raise WeightsError(f"{path} is a folder, not a class-name file")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise WeightsError(f"{path}: cannot read class-name file ({err.strerror or err})") from err
    if b"\x00" in data:
        raise WeightsError(f"{path} is a binary file, not a text file of class names")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise WeightsError(f"{path} is not UTF-8 text (bad byte at offset {err.start})") from err
    names = [line.strip() for line in text.splitlines()]
    names = [n for n in names if n]
    if not names:
        raise WeightsError(f"{path} holds no class names")
    return names


def find_class_names(checkpoint_path, classes_path=None) -> list[str] | None:
    """Class names from ``classes_path``, else ``cls_classes.txt`` beside the checkpoint, else None."""
    if classes_path is not None:
        return read_class_names(classes_path)
    if checkpoint_path is None:
        return None
    beside = Path(checkpoint_path).parent / CLASSES_FILE
    if beside.is_file():
        return read_class_names(beside)
    return None


# ---------------------------------------------------------------------------- helpers


def _sniff(path: Path) -> str:
    """Check the file is there and looks like a torch checkpoint; return 'zip' or 'pickle'."""
    if not path.exists():
        raise WeightsError(f"{path}: checkpoint file not found")
    if path.is_dir():
        raise WeightsError(f"{path} is a folder, not a checkpoint file")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as err:
        raise WeightsError(f"{path}: cannot read checkpoint ({err.strerror or err})") from err
    if not head:
        raise WeightsError(f"{path} is empty, not a checkpoint")
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head.startswith(_PICKLE_MAGIC):
        return "pickle"
    raise WeightsError(f"{path} is not a PyTorch checkpoint (unrecognised file format)")


def _safe_load(path: Path):
    """``torch.load`` with ``weights_only=True``, every failure turned into a WeightsError."""
    try:
        # No mmap: the tensors may become the model's parameters (assign=True), and a
        # mapped file that is re-saved in place while the app runs would crash it (SIGBUS).
        with warnings.catch_warnings():
            # torch warns about a plain pickle of protocol != 2 before refusing it (or loading
            # it); that would be a second stderr line after our one-line answer.
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "Weights only load failed" in str(err):
            raise WeightsError(
                f"{path} was refused for safety: it contains objects other than plain tensors "
                f"(nothing in it was executed)"
            ) from err
        raise WeightsError(f"{path} is corrupt ({_first_line(err)})") from err
    except (EOFError, RuntimeError, IndexError, ValueError) as err:
        reason = _first_line(err)
        if isinstance(err, EOFError) or any(w in reason for w in ("EOF", "truncated", "central directory")):
            raise WeightsError(f"{path} is truncated or corrupt ({reason or 'file ends too early'})") from err
        raise WeightsError(f"{path} is corrupt or not a PyTorch checkpoint ({reason or type(err).__name__})") from err
    except OSError as err:
        raise WeightsError(f"{path}: cannot read checkpoint ({err.strerror or err})") from err
    except Exception as err:  # any other unpickler failure is still a bad file, not a crash
        raise WeightsError(f"{path} is not a readable PyTorch checkpoint ({type(err).__name__}: {_first_line(err)})") from err


def _unwrap(obj, path: Path) -> dict:
    """Return the state dict inside a training checkpoint, or the object itself."""
    if not isinstance(obj, dict):
        raise WeightsError(f"{path} does not hold a state dict (it holds a {type(obj).__name__})")
    for key in _WRAPPER_KEYS:
        if isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not obj:
        raise WeightsError(f"{path} holds an empty state dict")
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise WeightsError(
                f"{path} does not hold a state dict: entry {key!r} is of type {type(value).__name__}, not a tensor"
            )
    return obj


def _strip_prefix(state: dict, path: Path) -> dict[str, torch.Tensor]:
    """Drop the ``module.`` prefix DataParallel puts in front of every key."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key[len(_PREFIX):] if key.startswith(_PREFIX) else key
        if name in out:
            raise WeightsError(f"{path} holds both {name!r} and {_PREFIX + name!r}")
        out[name] = value
    return out


def few_keys(keys: list[str]) -> str:
    """The first few keys, then "and N more"."""
    shown = ", ".join(keys[:_SHOW])
    more = len(keys) - _SHOW
    return f"{shown} and {more} more" if more > 0 else shown


def _first_line(err: BaseException) -> str:
    """First sentence of an exception message, short enough for one line."""
    text = re.sub(r"^\[enforce fail at [^\]]*\]\s*\.?\s*", "", str(err).strip())
    text = text.splitlines()[0] if text else ""
    return text.split(". ")[0][:120]


__all__ = [
    "CLASSES_FILE",
    "check_state_dict",
    "few_keys",
    "key_mismatch",
    "find_class_names",
    "num_classes_of",
    "read_class_names",
    "read_state_dict",
    "shape_mismatch",
    "size_mismatch",
]
