"""Guard against a Qt binding that corrupts reference counts (seen with PySide6 6.12.0 on Python 3.11).

That build dropped a reference to ``None`` on every void method call; after a few
thousand calls the interpreter aborted with "none_dealloc". pyproject excludes it;
this test fails loudly if such a build is installed again.
"""
import sys

from PySide6.QtGui import QPen


def test_void_calls_keep_none_refcount():
    pen = QPen()
    before = sys.getrefcount(None)
    for _ in range(2000):
        pen.setWidth(2)
    after = sys.getrefcount(None)
    assert abs(after - before) < 100, f"None refcount went from {before} to {after}: broken PySide6 build"
