"""The rest of the desktop app: paste, recent files, settings, CLI export, screenshot mode, desktop entry."""
import configparser
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from gui_helpers import RESULT_TIMEOUT
from main import main

ROOT = Path(__file__).resolve().parents[1]




def test_paste_image_from_clipboard(window, qtbot):
    img = QImage(64, 48, QImage.Format.Format_RGB32)
    img.fill(0xFF3366CC)
    QApplication.clipboard().setImage(img)
    with qtbot.waitSignal(window.resultShown, timeout=RESULT_TIMEOUT) as sig:
        window.paste()
    assert "convscope-paste-" in sig.args[0]
    assert (window.session.image["width"], window.session.image["height"]) == (64, 48)
    np.testing.assert_array_equal(window.session.image["rgb"][0, 0], [0x33, 0x66, 0xCC])


def test_paste_path_text_and_recent_files(window, qtbot, tmp_path):
    from app.settings import recent_files

    p = tmp_path / "pasted.png"
    Image.new("RGB", (40, 30), (10, 200, 10)).save(p)
    QApplication.clipboard().setText(str(p))
    with qtbot.waitSignal(window.resultShown, timeout=RESULT_TIMEOUT):
        window.paste()
    assert window.session.image["path"] == str(p)
    assert recent_files(window.settings)[0] == str(p)
    assert window.recent_menu.actions()[0].toolTip() == str(p)



def test_recent_files_are_absolute_and_open_from_another_folder(window, qtbot, tmp_path, monkeypatch):
    from app.settings import recent_files

    start, elsewhere = tmp_path / "start", tmp_path / "elsewhere"
    start.mkdir()
    elsewhere.mkdir()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(start / "red.png")
    monkeypatch.chdir(start)
    with qtbot.waitSignal(window.resultShown, timeout=RESULT_TIMEOUT):
        window.open_image("red.png")  # as given on the command line
    assert window.session.image["path"] == str(start / "red.png")  # absolute from the moment it came in
    assert recent_files(window.settings)[0] == str(start / "red.png")
    Image.new("RGB", (40, 30), (10, 10, 200)).save(start / "blue.png")
    QApplication.clipboard().setText("blue.png")  # a pasted relative path
    with qtbot.waitSignal(window.resultShown, timeout=RESULT_TIMEOUT):
        window.paste()
    assert recent_files(window.settings)[:2] == [str(start / "blue.png"), str(start / "red.png")]
    monkeypatch.chdir(elsewhere)
    red = next(a for a in window.recent_menu.actions() if a.text() == "red.png")
    with qtbot.waitSignal(window.resultShown, timeout=RESULT_TIMEOUT) as sig:
        red.trigger()
    assert sig.args == [str(start / "red.png")]
    np.testing.assert_array_equal(window.session.image["rgb"][0, 0], [200, 10, 10])


def test_relative_recent_entries_from_older_versions_are_dropped(tmp_path):
    from app.settings import push_recent, recent_files, settings

    s = settings()
    s.clear()
    s.setValue("recent", ["cat.png", str(tmp_path / "a.png")])
    assert recent_files(s) == [str(tmp_path / "a.png")]
    assert push_recent(s, str(tmp_path / "sub" / ".." / "b.png"))[0] == str(tmp_path / "b.png")
    s.clear()


def test_open_dialog_starts_in_samples_then_in_the_last_folder(window, qtbot, monkeypatch, tmp_path):
    import app.window_open as wo
    from app.resources import SAMPLE_CAT

    folder = tmp_path / "photos"
    folder.mkdir()
    picked = folder / "green.png"
    Image.new("RGB", (40, 30), (10, 200, 10)).save(picked)
    starts = []
    monkeypatch.setattr(wo.QFileDialog, "getOpenFileName",
                        staticmethod(lambda parent, title, start, filt: starts.append(start) or (str(picked), "")))
    with qtbot.waitSignal(window.resultShown, timeout=RESULT_TIMEOUT):
        window.open_dialog()
    with qtbot.waitSignal(window.resultShown, timeout=RESULT_TIMEOUT):
        window.open_dialog()
    assert starts == [str(SAMPLE_CAT.parent), str(folder)]
    assert SAMPLE_CAT.parent.is_dir() and SAMPLE_CAT.is_file()


def test_open_dialog_folder_falls_back_when_the_last_one_is_gone(tmp_path):
    from app.settings import open_dialog_folder, remember_open_folder, settings

    s = settings()
    s.clear()
    samples = tmp_path / "samples"
    assert open_dialog_folder(s, samples) == str(samples)
    gone = tmp_path / "gone"
    gone.mkdir()
    remember_open_folder(s, str(gone / "x.png"))
    assert open_dialog_folder(s, samples) == str(gone)
    gone.rmdir()
    assert open_dialog_folder(s, samples) == str(samples)
    s.clear()


def test_settings_persist_colormap_and_layer(qtbot, cat_path):
    from app.main_window import MainWindow
    from app.settings import settings

    settings().clear()
    first = MainWindow()
    qtbot.addWidget(first)
    first.grid.set_colormap("inferno")
    first.grid.set_normalization("layer")
    first.show_layer("features.5")
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert second.grid.colormap() == "inferno" and second.grid.normalization() == "layer"
    assert second.selected_layer == "features.5"
    second.close()


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_cli_export_writes_figure(capsys, cat_path, vgg_checkpoint, tmp_path, suffix):
    out = tmp_path / f"fig{suffix}"
    code = main(["export", str(cat_path), "--out", str(out), "--weights", str(vgg_checkpoint), "--layer", "conv4_3", "--top", "4"])
    _, err = capsys.readouterr()
    assert code == 0, err
    data = out.read_bytes()
    if suffix == ".png":
        with Image.open(out) as im:
            im.verify()
    elif suffix == ".svg":
        root = ET.fromstring(data)
        assert root.tag.endswith("svg") and b"features.21" in data and b"dog" in data
    else:
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")


def test_cli_export_refuses_vector_layer_and_overwrite(capsys, cat_path, tmp_path):
    out = tmp_path / "fig.png"
    assert main(["export", str(cat_path), "--out", str(out), "--layer", "fc7", "--offline"]) == 2
    assert "vector" in capsys.readouterr().err and not out.exists()
    out.write_bytes(b"old")
    assert main(["export", str(cat_path), "--out", str(out), "--offline"]) == 2
    assert out.read_bytes() == b"old"


def test_screenshot_mode_subprocess(tmp_path, cat_path):
    shot = tmp_path / "shot.png"
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), str(cat_path), "--offline", "--screenshot", str(shot),
                           "--layer", "conv5_3", "--channel", "7", "--size", "1400x900"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr
    with Image.open(shot) as im:
        assert im.size[0] >= 1000 and im.size[1] >= 600
        assert np.asarray(im.convert("L")).std() > 20  # not a blank window


def test_install_desktop_entry(tmp_path, monkeypatch):
    from app.desktop import install_desktop_entry

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    written = install_desktop_entry()
    entry = tmp_path / "applications" / "convscope.desktop"
    assert entry in written
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(entry)
    section = cfg["Desktop Entry"]
    assert section["Exec"].endswith("%f") and section["Icon"] == "convscope" and "image/png" in section["MimeType"]
    assert (tmp_path / "icons/hicolor/256x256/apps/convscope.png").is_file()
    assert (tmp_path / "icons/hicolor/scalable/apps/convscope.svg").is_file()


def test_screenshot_of_a_folder_scan_and_of_a_comparison(tmp_path, cat_path, monkeypatch):
    """--scan shows the scanned folder's patches (its index is written where the user's cache is) and
    --compare the A/B view; each screenshot is taken once what it was asked to show is there."""
    import os

    from inference.scan_index import default_index_dir

    folder = tmp_path / "photos"
    folder.mkdir()
    with Image.open(cat_path) as cat:
        cat = cat.convert("RGB")
    for i in range(4):
        cat.rotate(40 * i).resize((200, 150)).save(folder / f"p{i}.jpg")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for extra in (["--scan", str(folder)], ["--compare", str(folder / "p1.jpg")]):
        shot = tmp_path / f"{extra[0][2:]}.png"
        proc = subprocess.run([sys.executable, str(ROOT / "main.py"), str(cat_path), "--offline", "--screenshot",
                               str(shot), "--layer", "conv5_3", "--size", "1280x720", *extra],
                              capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "without all it was asked to show" not in proc.stderr
        with Image.open(shot) as im:
            assert im.size == (1280, 720) and np.asarray(im.convert("L")).std() > 20
    assert list(default_index_dir(folder).rglob("index.json"))  # the scan's index, in the user's cache
