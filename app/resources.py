"""Where the bundled files live (inside the installed package, so a wheel finds them too)."""
from pathlib import Path

from PySide6.QtGui import QIcon

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
SAMPLES = RESOURCES / "samples"
SAMPLE_CAT = SAMPLES / "cat.png"
ICON_SVG = RESOURCES / "icons" / "convscope.svg"
ICON_PNG = RESOURCES / "icons" / "convscope.png"


def app_icon() -> QIcon:
    icon = QIcon()
    for path in (ICON_SVG, ICON_PNG):
        if path.is_file():
            icon.addFile(str(path))
    return icon
