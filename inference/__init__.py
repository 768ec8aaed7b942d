"""The engine: images, models and weights, capture, runs, gradients, CAM, receptive fields, scans.

Imported before torch in every path (the app and the CLI reach torch only through these
modules), so it can set what torch reads only when it loads:

- torchvision.ops imports torch._dynamo for one check, and dynamo imports Triton whenever
  it is installed (the CUDA wheel ships it), 77 MB of RSS for a compiler ConvScope never
  calls. Marked absent, torch takes the path it takes where Triton is not installed.
  ``CONVSCOPE_TRITON=1`` lets it load.
- torch's CPU threads are OpenMP's (libgomp). After each parallel region its idle threads
  spin 300,000 rounds before they sleep: after every forward one core stays busy for ~5 ms
  of nothing, taken from whatever runs next (a folder scan's decoding threads, which then
  decoded no faster on two threads than on one; the window's painting). 10,000 rounds
  (~0.3 ms here) still keep the threads awake from one op to the next within a forward.
  libgomp reads ``GOMP_SPINCOUNT`` once, as torch loads it; a ``GOMP_SPINCOUNT`` or
  ``OMP_WAIT_POLICY`` of the user's own is left as it is.
"""
import os
import sys

GOMP_SPINCOUNT = "10000"

if os.environ.get("CONVSCOPE_TRITON") != "1":
    sys.modules.setdefault("triton", None)
if "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = GOMP_SPINCOUNT
