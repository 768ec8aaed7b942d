"""Take PySide6's ``__feature__`` hook off ``import``: it made torch's import 0.3–0.7 s slower.

When PySide6 starts, shiboken replaces ``builtins.__import__`` with
``__feature_import__``, which exists for the opt-in ``from __feature__ import
snake_case, true_property`` syntax. From then on, every import statement in the
process calls two Python functions, and every newly loaded module has its source
read (``inspect.getsource``) to see whether it mentions PySide6. torch and
torchvision run about 27,000 import statements and load 1,600 modules on the
worker thread after the window is up: measured here, 0.29 s in those two
functions alone, and 0.3–0.7 s of the time to the first prediction.

ConvScope uses no ``__feature__`` option, so the hook is dropped right after Qt is
imported. What it wraps, shiboken's ``__lazy_import__`` (``builtins.__orig_import__``,
which makes ``from PySide6.QtX import *`` see the lazily created classes), stays.

``without_cuda_python()`` is the other start-up cut: pyqtgraph's RawImageWidget (which
ConvScope never uses) tries ``from cuda.bindings import runtime`` on import, and with
the CUDA wheel's cuda-python installed that costs 0.1 s of the time to the first paint.
"""
import builtins
import sys
from contextlib import contextmanager


def drop_feature_import_hook() -> bool:
    """Restore the import that shiboken's feature hook wraps; False when there is no such hook."""
    hook, wrapped = builtins.__import__, getattr(builtins, "__orig_import__", None)
    if wrapped is None or getattr(hook, "__name__", "") != "__feature_import__":
        return False
    builtins.__import__ = wrapped
    return True


@contextmanager
def without_cuda_python():
    """Within the block, ``import cuda…`` fails at once (pyqtgraph then has no CUDA path, as without
    cuda-python); afterwards it imports again, so torch can still use it on a GPU."""
    if "cuda" in sys.modules:
        yield
        return
    sys.modules["cuda"] = None
    try:
        yield
    finally:
        if "cuda" in sys.modules and sys.modules["cuda"] is None:
            del sys.modules["cuda"]
