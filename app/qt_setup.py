"""Before Qt starts on X11: find the shared libraries its xcb plugin lacks, and name the apt packages.

When the xcb plugin cannot load, Qt aborts with *"xcb-cursor0 or libxcb-cursor0
is needed"*, whatever is really missing (on a minimal Debian it was
libxcb-icccm4 and libxcb-keysyms1). ``ldd`` on the plugin and on Qt's XcbQpa
library says exactly which sonames the loader cannot find; this module turns
them into one line with the ``apt install`` that fixes it. It is checked before
the QApplication exists, because after that Qt has already aborted.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Sonames whose Debian package does not follow the usual rule (see debian_package).
PACKAGES = {
    "libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0", "libgobject-2.0.so.0": "libglib2.0-0",
    "libGLdispatch.so.0": "libglvnd0", "libz.so.1": "zlib1g", "libbrotlidec.so.1": "libbrotli1",
    "libbrotlicommon.so.1": "libbrotli1", "libgcc_s.so.1": "libgcc-s1",
}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")


def platform_is_xcb(env=os.environ) -> bool:
    """True when Qt will use its xcb plugin: Linux, DISPLAY set, and no other platform chosen."""
    if not sys.platform.startswith("linux") or not env.get("DISPLAY"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return re.split(r"[;:]", chosen)[0] == "xcb"
    return not (env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE") == "wayland")


def qt_root() -> Path | None:
    """PySide6's bundled Qt folder, found without importing PySide6."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "Qt"


def xcb_libraries(root: Path) -> list[Path]:
    """The xcb plugin and Qt's XcbQpa library, those of them that exist."""
    return [p for p in (root / "plugins" / "platforms" / "libqxcb.so", root / "lib" / "libQt6XcbQpa.so.6") if p.is_file()]


def parse_ldd(text: str) -> list[str]:
    """The sonames ``ldd`` reports as "not found", in order, without repeats."""
    missing = []
    for line in text.splitlines():
        m = _NOT_FOUND.match(line)
        if m and m.group(1) not in missing:
            missing.append(m.group(1))
    return missing


def debian_package(soname: str) -> str:
    """libxcb-icccm.so.4 → libxcb-icccm4; libX11.so.6 → libx11-6 (Debian's rule: a digit before the
    version gets a dash); a few exceptions are listed in PACKAGES."""
    if soname in PACKAGES:
        return PACKAGES[soname]
    m = re.match(r"^(lib.+?)\.so\.(\d+)", soname)
    if not m:
        return soname
    stem, version = m.group(1).lower().replace("_", "-"), m.group(2)
    return f"{stem}-{version}" if stem[-1].isdigit() else f"{stem}{version}"


def missing_libraries(libraries: list[Path], env=None) -> list[str]:
    """Run ``ldd`` on each library (side by side); the sonames none of them can find. [] without ldd."""
    ldd = shutil.which("ldd")
    if ldd is None or not libraries:
        return []
    procs = [subprocess.Popen([ldd, str(p)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
             for p in libraries]
    missing = []
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            continue
        missing += [s for s in parse_ldd(out) if s not in missing]
    return missing


def install_line(missing: list[str]) -> str:
    """One line: what is missing and the apt command that installs it."""
    head = f"Qt's X11 (xcb) platform plugin cannot load: {', '.join(missing)} not found; "
    if any(s.startswith("libQt6") for s in missing):  # PySide6's own files: the wheel is broken
        return head + "reinstall PySide6: .venv/bin/python -m pip install --force-reinstall PySide6"
    packages = []
    for soname in missing:
        package = debian_package(soname)
        if package not in packages:
            packages.append(package)
    sudo = "" if hasattr(os, "geteuid") and os.geteuid() == 0 else "sudo "
    return head + f"install {'it' if len(packages) == 1 else 'them'} with: {sudo}apt install {' '.join(packages)}"


def xcb_problem(env=os.environ) -> str | None:
    """The one-line fix when Qt is about to use xcb and its plugin's libraries are missing, else None."""
    if not platform_is_xcb(env):
        return None
    root = qt_root()
    if root is None:
        return None
    missing = missing_libraries(xcb_libraries(root))
    return install_line(missing) if missing else None
