"""The overlay tests' photo (the bundled cat), the network crop's rect on it, and the view under test."""
import numpy as np
import pytest
from PIL import Image

CROP = 262.5   # a 224 crop of a 256-short-side resize, in photo pixels of the 451×300 cat


@pytest.fixture
def photo(cat_path):
    with Image.open(cat_path) as im:
        return np.asarray(im.convert("RGB"))


@pytest.fixture
def rect(photo):
    h, w = photo.shape[:2]
    return ((w - CROP) / 2, (h - CROP) / 2, CROP, CROP)


@pytest.fixture
def view(overlay_view):
    return overlay_view
