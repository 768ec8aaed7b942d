"""Keep freed activation memory in the process instead of handing it back to the OS.

Every forward pass allocates ~110 MB of fresh activations while the previous
image's are still on screen. With glibc's defaults each of those large blocks
is mmap'ed and munmap'ed, so every pass pays page faults on memory it just had.
Raising the mmap and trim thresholds lets malloc reuse the freed blocks; RSS
then stays at its working-set peak instead of breathing in and out.
"""
import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
_done = False


def keep_freed_memory() -> bool:
    """Tune glibc malloc once per process; a no-op (False) elsewhere, or with CONVSCOPE_MALLOC=default
    (the test suite: a long process of many models, where holding freed memory only raises the peak)."""
    global _done
    if _done or not sys.platform.startswith("linux") or os.environ.get("CONVSCOPE_MALLOC") == "default":
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 512 << 20) == 1
    except (OSError, AttributeError):
        ok = False
    _done = ok
    return ok
