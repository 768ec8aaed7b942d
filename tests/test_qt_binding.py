"""Guard against a Qt binding that corrupts reference counts (seen with PySide6 6.12.0 on Python 3.11).

That build dropped a reference to ``None`` on every void method call; after a few
thousand calls Python 3.11 aborted with "none_dealloc". pyproject excludes it.

Two guards, because a refcount can only be watched where it moves: on Python 3.12+
``None`` is immortal, its count never changes, and the same bug drops nothing we
can see (nor crashes). So the behavioural check runs only where ``None`` is counted
(it checks that it is, and that it would catch the bug), and the version check
holds everywhere.
"""
import ctypes
import sys

import pytest
from PySide6.QtCore import QObject
from PySide6.QtGui import QPen

CALLS = 2000
KNOWN_BAD_FROM = (6, 12)  # first release with the bug; pyproject says <6.12 for the same reason


def none_references_lost(call, n: int = CALLS) -> int:
    """How many references to None disappeared over ``n`` calls of ``call``."""
    before = sys.getrefcount(None)
    for _ in range(n):
        call()
    return before - sys.getrefcount(None)


def none_is_counted() -> bool:
    """True where None is a mortal object whose refcount follows its references (Python ≤ 3.11)."""
    before = sys.getrefcount(None)
    held = [None] * 1000
    counted = sys.getrefcount(None) - before
    del held
    return counted == 1000


needs_counted_none = pytest.mark.skipif(
    not none_is_counted(), reason="None is immortal here: its refcount cannot show the bug (the version guard holds)")


@needs_counted_none
def test_void_calls_keep_none_refcount():
    pen, obj = QPen(), QObject()

    def void_calls():
        pen.setWidth(2)
        obj.setObjectName("x")

    lost = none_references_lost(void_calls)
    assert abs(lost) < CALLS // 4, f"None lost {lost} references over {CALLS} void calls: broken PySide6 build"


@needs_counted_none
def test_the_refcount_check_sees_a_binding_that_drops_none():
    """The measurement above, fed a call that drops one reference to None as 6.12 did, reports it."""
    pen = QPen()
    decref, incref = ctypes.pythonapi.Py_DecRef, ctypes.pythonapi.Py_IncRef
    decref.argtypes = incref.argtypes = [ctypes.py_object]
    none = ctypes.py_object(None)

    def broken_void_call():
        pen.setWidth(2)
        decref(none)

    lost = none_references_lost(broken_void_call)
    for _ in range(CALLS):  # give the references back before anything notices
        incref(none)
    assert lost >= CALLS - CALLS // 4


def test_installed_binding_is_outside_the_known_bad_range():
    import PySide6
    import shiboken6

    for name, module in (("PySide6", PySide6), ("shiboken6", shiboken6)):
        version = tuple(module.__version_info__[:2])
        assert version < KNOWN_BAD_FROM, (
            f"{name} {module.__version__} is installed; {'.'.join(map(str, KNOWN_BAD_FROM))} drops a reference to "
            f"None on every void call (pyproject excludes it)")
