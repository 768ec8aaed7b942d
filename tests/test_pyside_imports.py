"""PySide6's __feature__ import hook is taken off, and Qt's lazy classes still import (app/pyside_imports.py)."""
import builtins
import sys
import textwrap

from PySide6 import QtCore  # noqa: F401  (shiboken is up: its hooks exist)

from app.pyside_imports import drop_feature_import_hook


def test_the_hook_goes_and_what_it_wrapped_stays(tmp_path, monkeypatch):
    feature = sys.modules["shibokensupport.feature"]
    drop_feature_import_hook()
    assert builtins.__import__ is builtins.__orig_import__
    assert builtins.__import__.__name__ != "__feature_import__"
    assert drop_feature_import_hook() is False  # once is enough: nothing left to drop

    # A module imported from now on is not read back by the hook (it was, for every module: 1,600 for torch).
    seen = []
    monkeypatch.setattr(feature, "_mod_uses_pyside", lambda module: seen.append(module.__name__))
    (tmp_path / "convscope_fresh_module.py").write_text("VALUE = 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import convscope_fresh_module
    assert convscope_fresh_module.VALUE == 7 and seen == []

    # shiboken's lazy import stays: a star import still sees classes Qt creates on first use.
    names = {}
    exec(textwrap.dedent("from PySide6.QtSvg import *"), names)
    assert "QSvgGenerator" in names


def test_without_pyside_hook_nothing_changes(monkeypatch):
    monkeypatch.setattr(builtins, "__import__", builtins.__import__)  # restored after the test
    monkeypatch.delattr(builtins, "__orig_import__", raising=False)
    before = builtins.__import__
    assert drop_feature_import_hook() is False
    assert builtins.__import__ is before


def test_without_cuda_python_blocks_it_only_inside():
    """In a fresh interpreter: pyqtgraph imported inside the block has no CUDA runtime; after it, ``cuda``
    imports as it would have (where cuda-python is installed) or fails as it would have (where not)."""
    import subprocess
    from pathlib import Path

    code = textwrap.dedent("""
        import importlib.util, sys
        from app.pyside_imports import without_cuda_python
        installed = importlib.util.find_spec("cuda") is not None
        with without_cuda_python():
            import pyqtgraph.widgets.RawImageWidget as raw
            try:
                import cuda  # noqa: F401
                inside = True
            except ImportError:
                inside = False
        after = importlib.util.find_spec("cuda") is not None
        print(raw.cudart is None, inside, after == installed)
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "False", "True"]
