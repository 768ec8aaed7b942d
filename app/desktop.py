"""``convscope --install-desktop``: a launcher entry and icon for Linux desktops (freedesktop.org)."""
import os
import shutil
import sys
from pathlib import Path

from .resources import ICON_PNG, ICON_SVG

DESKTOP_ENTRY = """[Desktop Entry]
Type=Application
Name=ConvScope
GenericName=CNN Visualizer
Comment=See what every layer of a convolutional network extracts
Exec={exec} %f
Icon=convscope
Terminal=false
Categories=Education;Science;Graphics;
MimeType=image/png;image/jpeg;image/bmp;image/gif;image/tiff;image/webp;
StartupWMClass=convscope
"""


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def launcher_command() -> str:
    """The installed gui-script if it is on PATH, else this interpreter running main.py."""
    script = shutil.which("convscope")
    if script:
        return script
    main = Path(__file__).resolve().parent.parent / "main.py"
    return f'"{sys.executable}" "{main}"'


def install_desktop_entry() -> list[Path]:
    """Write the .desktop file and the icons; returns what was written."""
    from widgets.atomic_write import write_bytes_atomic

    home = data_home()
    written = []
    apps = home / "applications"
    apps.mkdir(parents=True, exist_ok=True)
    written.append(write_bytes_atomic(apps / "convscope.desktop",
                                      DESKTOP_ENTRY.format(exec=launcher_command()).encode()))
    for src, sub in ((ICON_SVG, "scalable"), (ICON_PNG, "256x256")):
        folder = home / "icons" / "hicolor" / sub / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        written.append(write_bytes_atomic(folder / f"convscope{src.suffix}", src.read_bytes()))
    return written
