"""The engine keeps torch from loading Triton (inference/__init__.py): torchvision.ops imports
torch._dynamo, which imports Triton when the CUDA wheel installed it, 77 MB of RSS for nothing
ConvScope uses. Checked in a fresh interpreter, as a user's process starts."""
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = ("import inference.analysis, torchvision.models, torchvision.ops, sys; "
         "maps = open('/proc/self/maps').read(); "
         "print(sys.modules.get('triton', 'unset') is None, 'libtriton' in maps)")


def _probe(**env) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, **env})
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_triton_is_not_loaded_with_the_engine():
    assert _probe(CONVSCOPE_TRITON="") == ["True", "False"]


def _triton_installed() -> bool:
    try:   # not find_spec: once the engine is imported here, it answers "absent"
        importlib.metadata.distribution("triton")
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _triton_installed(),
                    reason="needs Triton installed (the CUDA wheel's) and /proc")
def test_convscope_triton_lets_it_load():
    assert _probe(CONVSCOPE_TRITON="1") == ["False", "True"]
