"""Shared test set-up: headless Qt, no network, no user cache, seeded model files.

Environment variables are set before anything imports Qt or torch, so that every
test runs offscreen, offline and against a throw-away torch hub directory.
"""
import os
import sys
import tempfile
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["CONVSCOPE_OFFLINE"] = "1"
_HOME = tempfile.mkdtemp(prefix="convscope-test-home-")
os.environ["TORCH_HOME"] = os.path.join(_HOME, "torch")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_HOME, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_HOME, "data")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

SAMPLE_CAT = ROOT / "resources" / "samples" / "cat.png"


@pytest.fixture(scope="session")
def cat_path() -> Path:
    return SAMPLE_CAT
