"""The engine: images, models and weights, capture, runs, gradients, CAM, receptive fields, scans.

Imported before torch in every path (the app and the CLI reach torch only through these
modules), so it can tell torch what not to load: torchvision.ops imports torch._dynamo
for one check, and dynamo imports Triton whenever it is installed (the CUDA wheel ships
it), 77 MB of RSS for a compiler ConvScope never calls. Marked absent, torch takes the
path it takes where Triton is not installed. ``CONVSCOPE_TRITON=1`` lets it load.
"""
import os
import sys

if os.environ.get("CONVSCOPE_TRITON") != "1":
    sys.modules.setdefault("triton", None)
