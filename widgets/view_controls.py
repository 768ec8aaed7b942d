"""The combo boxes of the colour-mapped views (grid and overlay), built in one place.

Both views offer the same colormaps under the same readable names, and both must fit
at 1280×720: every box here is a CompactCombo, which falls back to a short form of its
text ("shared") when its row is narrow instead of cutting it ("shared across laye").
"""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from widgets.colormaps import CHOICES, colormap_label, colormap_short
from widgets.compact import CompactCombo

# key → (text, short text for a narrow window)
NORMALIZATIONS = {"channel": ("per channel", "per channel"), "layer": ("shared across layer", "shared")}
SORTS = {"index": "index", "mean": "mean ↓", "max": "max ↓", "active": "active ↓", "contribution": "contribution ↓"}
SIGN_NOTE = ("auto: maps with negative values get blue–red centred on 0, maps ≥ 0 viridis from 0 (yellow = active).\n"
             "Diverging maps: red = positive, blue = negative, the middle colour = 0.")


def colormap_combo(current: str, what: str) -> CompactCombo:
    """Every colormap by its label ("blue–red (diverging)"); item data is the key."""
    combo = CompactCombo()
    for key in CHOICES:
        combo.add(key, colormap_label(key), colormap_short(key))
    combo.setCurrentIndex(combo.findData(current))
    combo.setToolTip(f"Colormap of {what}. {SIGN_NOTE}")
    return combo


def scale_combo() -> CompactCombo:
    combo = CompactCombo()
    for key, (text, short) in NORMALIZATIONS.items():
        combo.add(key, text, short)
    combo.setToolTip("per channel: each tile spans its own min..max\n"
                     "shared across layer: one min..max for all tiles, so strengths compare")
    return combo


def sort_combo() -> CompactCombo:
    combo = CompactCombo()
    for key, text in SORTS.items():
        combo.add(key, text, "contrib." if key == "contribution" else None)
    combo.setToolTip("Tile order, and the number under each tile: mean (μ), max, "
                     "active (% of positions > 0),\nor each channel's Grad-CAM contribution w·mean(A) to the "
                     "explained class (red: pushes it up, blue: pushes it down)")
    return combo


def control_row(*items: tuple[str, QWidget] | QWidget) -> QHBoxLayout:
    """A row of (label, widget) pairs or bare widgets, left-aligned."""
    row = QHBoxLayout()
    row.setContentsMargins(4, 0, 4, 2)
    row.setSpacing(4)
    for item in items:
        if isinstance(item, tuple):
            text, widget = item
            row.addWidget(QLabel(text))
            row.addWidget(widget)
        else:
            row.addWidget(item)
        row.addSpacing(4)
    row.addStretch(1)
    return row
