"""Where torch.hub keeps the ImageNet weights, worked out without importing torch.

The window tells an offline user where to put ``vgg16-397923af.pth`` as soon as
it shows, before torch is loaded (importing it takes seconds). The rule is
torch.hub's own (``torch.hub._get_torch_home`` and ``get_dir``):
``$TORCH_HOME/hub/checkpoints``, with TORCH_HOME defaulting to
``$XDG_CACHE_HOME/torch``, and XDG_CACHE_HOME to ``~/.cache``.
tests/test_weights_help.py checks that the two agree.
"""
import os
from collections.abc import Mapping
from pathlib import Path

IMAGENET_FILE = "vgg16-397923af.pth"
IMAGENET_URL = f"https://download.pytorch.org/models/{IMAGENET_FILE}"
IMAGENET_MB = 528


def torch_home(environ: Mapping[str, str] | None = None) -> str:
    """``torch.hub._get_torch_home()``: the same environment lookups, the same ``~`` expansion."""
    env = os.environ if environ is None else environ
    return os.path.expanduser(env.get("TORCH_HOME", os.path.join(env.get("XDG_CACHE_HOME", "~/.cache"), "torch")))


def hub_checkpoint_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``Path(torch.hub.get_dir()) / "checkpoints"`` (set_dir is never called in ConvScope)."""
    return Path(torch_home(environ)) / "hub" / "checkpoints"


def imagenet_cache_path(environ: Mapping[str, str] | None = None, file_name: str = IMAGENET_FILE) -> Path:
    """The absolute path the ImageNet weights must have for ConvScope (and torchvision) to find them
    (``file_name``: the last part of the weights enum's URL; VGG16's by default)."""
    return Path(os.path.abspath(hub_checkpoint_dir(environ) / file_name))
