"""What the engine sets before torch loads (inference/__init__.py), checked in a fresh interpreter,
as a user's process starts: torch does not load Triton (torchvision.ops imports torch._dynamo, which
imports Triton when the CUDA wheel installed it, 77 MB of RSS for nothing ConvScope uses), and
libgomp's threads spin 10,000 rounds, not 300,000, unless the user said otherwise."""
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


GOMP_PROBE = ("import os, inference, torch; "
              "print(os.environ.get('GOMP_SPINCOUNT', 'unset'), os.environ.get('OMP_WAIT_POLICY', 'unset'))")


def _gomp(**env) -> list[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", GOMP_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**base, **env})
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def test_openmp_threads_stop_spinning_soon_after_a_forward():
    """The engine sets libgomp's spin before torch loads it (inference/__init__.py), and only then."""
    from inference import GOMP_SPINCOUNT

    assert _gomp() == [GOMP_SPINCOUNT, "unset"]
    assert _gomp(GOMP_SPINCOUNT="123") == ["123", "unset"]
    assert _gomp(OMP_WAIT_POLICY="ACTIVE") == ["unset", "ACTIVE"]
