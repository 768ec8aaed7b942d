"""Helper threads that run torch on one core, beside a thread that keeps all of them.

torch's intra-op thread count is per thread once torch has started in that thread
(``get_num_threads`` starts it), so a helper can take one core for itself while the
forward's thread keeps two. But ``set_num_threads`` also moves the default that
threads started later get, so whoever starts helpers puts that default back.
"""
from contextlib import contextmanager

import torch


def one_intra_op_thread() -> None:
    """Make the calling thread's torch ops use one intra-op thread (a pool's initializer)."""
    torch.get_num_threads()
    torch.set_num_threads(1)


@contextmanager
def default_threads_kept():
    """Put back this thread's count, and with it the default for new threads, once the helpers started inside
    have set theirs."""
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)
