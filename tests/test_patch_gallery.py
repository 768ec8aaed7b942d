"""PatchGallery: a channel's top-N patches across a folder, its tiles, clicks, keys and scan states.

Patches are crops of the bundled cat (Pillow, here in the test) and synthetic two-colour
pictures whose painted pixels can be checked against the geometry written in the test."""
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

from conftest import SAMPLE_CAT
from widgets.grid_canvas import BACKGROUND
from widgets.patch_gallery import EMPTY_TEXT, PatchGallery, format_eta, gallery_header
from widgets.patch_tiles import MAX_TILE, MIN_TILE, caption_fonts
from widgets.qimage import qimage_to_rgb

LONG = "IMG_20230514_183012_a_very_long_name_straight_from_a_phone_camera.jpg"


@pytest.fixture(scope="module")
def photo():
    return np.asarray(Image.open(SAMPLE_CAT).convert("RGB"))


def crops(photo, n, field=96, seed=0):
    """Receptive fields cut from the photo, clipped at its borders (so sizes differ), best first."""
    rng = np.random.default_rng(seed)
    h, w = photo.shape[:2]
    out = []
    for i in range(n):
        cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
        y0, y1 = max(0, cy - field // 2), min(h, cy + field // 2)
        x0, x1 = max(0, cx - field // 2), min(w, cx + field // 2)
        out.append({"image": photo[y0:y1, x0:x1].copy(), "path": f"/data/cats/img_{i:03d}.png",
                    "value": 30.0 - i, "y": cy // 16, "x": cx // 16})
    return out


@pytest.fixture
def gallery(qtbot):
    g = PatchGallery()
    qtbot.addWidget(g)
    g.resize(340, 560)           # a dock beside the photo's map
    g.show()
    qtbot.waitExposed(g)
    return g


def settle(qtbot, g):
    qtbot.waitUntil(lambda: all(t.isVisible() for t in g.tiles()))


@pytest.mark.parametrize("top, hits", [(9, 12), (9, 9), (9, 4), (4, 20), (16, 16)])
def test_shows_exactly_min_of_top_and_hits(gallery, qtbot, photo, top, hits):
    gallery.set_patches(crops(photo, hits), top=top, layer="features.28", channel=17, n_images=60, folder="/data/cats")
    settle(qtbot, gallery)
    tiles = gallery.tiles()
    assert len(tiles) == min(top, hits)
    assert [t.rank for t in tiles] == list(range(1, len(tiles) + 1))
    assert [t.path for t in tiles] == [f"/data/cats/img_{i:03d}.png" for i in range(len(tiles))]
    # Every tile whole inside the area, none overlapping another.
    area = tiles[0].parentWidget().rect()
    rects = [t.geometry() for t in tiles]
    for i, r in enumerate(rects):
        assert area.contains(r)
        assert not any(r.intersects(o) for o in rects[i + 1:])
    note = gallery.note_text()
    assert (f"only {hits} of {top}" in note) if hits < top else note == ""


def test_header_composed_from_its_parts(gallery, photo):
    gallery.set_patches(crops(photo, 9), layer="features.28", channel=17, n_images=60, folder="/home/ana/cats/")
    assert gallery.header_text() == "features.28 · channel 17 · top 9 of 60 images in cats/"
    gallery.set_patches(crops(photo, 3), header="given by the caller")
    assert gallery.header_text() == "given by the caller"
    assert gallery_header(None, 3, 1, 1, None) == "channel 3 · top 1 of 1 image"


def test_click_emits_the_patch_path(gallery, qtbot, photo):
    gallery.set_patches(crops(photo, 9), layer="features.28", channel=17)
    settle(qtbot, gallery)
    for k in (0, 4, 8):
        tile = gallery.tiles()[k]
        assert tile.cursor().shape() == Qt.CursorShape.PointingHandCursor
        with qtbot.waitSignal(gallery.patchActivated) as sig:
            qtbot.mouseClick(tile, Qt.MouseButton.LeftButton, pos=tile.rect().center())
        assert sig.args == [f"/data/cats/img_{k:03d}.png"]


def test_keyboard_moves_between_tiles_and_enter_activates(gallery, qtbot, photo):
    gallery.set_patches(crops(photo, 9))
    settle(qtbot, gallery)
    tiles = gallery.tiles()
    assert all(t.focusPolicy() & Qt.FocusPolicy.TabFocus for t in tiles)
    tiles[0].setFocus()
    qtbot.waitUntil(tiles[0].hasFocus)
    qtbot.keyClick(tiles[0], Qt.Key.Key_Right)
    assert tiles[1].hasFocus()
    cols = sum(1 for t in tiles if t.y() == tiles[0].y())
    qtbot.keyClick(tiles[1], Qt.Key.Key_Down)
    assert tiles[1 + cols].hasFocus()
    with qtbot.waitSignal(gallery.patchActivated) as sig:
        qtbot.keyClick(tiles[1 + cols], Qt.Key.Key_Return)
    assert sig.args == [tiles[1 + cols].path]


def test_long_names_are_elided_with_the_full_path_in_the_tooltip(gallery, qtbot, photo):
    patches = crops(photo, 3)
    patches[1]["path"] = f"/home/ana/pictures/holidays/2023/{LONG}"
    gallery.set_patches(patches)
    settle(qtbot, gallery)
    tile = gallery.tiles()[1]
    shown = tile.name_text()
    assert shown != LONG and "…" in shown
    assert shown.endswith(".jpg")                 # elided in the middle: the extension stays
    assert QFontMetrics(caption_fonts(tile.font())[0]).horizontalAdvance(shown) <= tile.box_rect().width()
    assert patches[1]["path"] in tile.toolTip()
    assert gallery.tiles()[0].name_text() == "img_000.png"   # a short name is whole


def test_patches_are_scaled_to_one_box_with_their_aspect(gallery, qtbot):
    """A 40×20 patch (left red, right blue) and a 10×30 one (green): each fills its box's width or
    height, letterboxed on the dark background; painted pixels read back from grab()."""
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, :20] = (220, 30, 30)
    wide[:, 20:] = (30, 30, 220)
    tall = np.full((30, 10, 3), (30, 200, 30), np.uint8)
    gallery.set_patches([{"image": wide, "path": "w.png", "value": 2.0},
                         {"image": tall, "path": "t.png", "value": 1.0}])
    settle(qtbot, gallery)
    t_wide, t_tall = gallery.tiles()
    assert t_wide.box_rect().size() == t_tall.box_rect().size()
    side = t_wide.box_rect().width()
    assert MIN_TILE <= side <= MAX_TILE
    for tile, (h, w) in ((t_wide, (20, 40)), (t_tall, (30, 10))):
        r = tile.picture_rect()
        assert r.width() / r.height() == pytest.approx(w / h, rel=0.02)
        assert max(r.width(), r.height()) == pytest.approx(side, abs=0.5)
    img = qimage_to_rgb(t_wide.grab().toImage())
    dpr = img.shape[1] / t_wide.width()
    box, pic = t_wide.box_rect(), t_wide.picture_rect()
    cy = int((pic.center().y()) * dpr)
    assert tuple(img[cy, int((pic.left() + pic.width() * 0.25) * dpr)]) == (220, 30, 30)
    assert tuple(img[cy, int((pic.left() + pic.width() * 0.75) * dpr)]) == (30, 30, 220)
    letterbox = img[int((box.top() + 3) * dpr), int(box.center().x() * dpr)]
    assert tuple(letterbox) == BACKGROUND.getRgb()[:3]


@pytest.mark.parametrize("width", [300, 420, 900])
def test_nine_patches_fit_the_width(qtbot, photo, width):
    g = PatchGallery()
    qtbot.addWidget(g)
    g.resize(width, 640)
    g.show()
    qtbot.waitExposed(g)
    g.set_patches(crops(photo, 9))
    settle(qtbot, g)
    tiles = g.tiles()
    assert max(t.geometry().right() for t in tiles) < g._scroll.viewport().width()
    if width <= 420:
        assert len({t.x() for t in tiles}) == 3       # the classic 3×3 in a dock
    side = tiles[0].box_rect().width()
    assert MIN_TILE <= side <= MAX_TILE


def test_empty_progress_stale_states(gallery, qtbot, photo):
    assert gallery.state() == "empty" and gallery.note_text() == EMPTY_TEXT
    assert gallery.progress_text() == "" and gallery.stale_text() == ""
    gallery.set_progress(120, 1000, rate=35.24, eta=25, folder="/data/cats")
    text = gallery.progress_text()
    assert text == "Scanning cats/: 120 of 1,000 images · 35.2 images/s · ETA 25 s"
    gallery.set_patches(crops(photo, 5))                       # partial results during the scan
    assert len(gallery.tiles()) == 5 and "so far" in gallery.note_text()
    gallery.set_stale("index from other weights")
    assert gallery.stale_text() == "index from other weights"
    with qtbot.waitSignal(gallery.cancelRequested):
        qtbot.mouseClick(gallery.cancel_button(), Qt.MouseButton.LeftButton)
    assert not gallery.cancel_button().isEnabled()            # one request is enough
    gallery.set_progress(130, 1000, rate=35.0, eta=24)
    assert not gallery.cancel_button().isEnabled()
    gallery.finish_progress()
    assert gallery.progress_text() == "" and gallery.cancel_button().isEnabled()
    gallery.set_stale("")
    assert gallery.stale_text() == ""
    gallery.set_patches([], layer="features.28", channel=17)
    assert gallery.state() == "empty" and "no image" in gallery.note_text()
    gallery.show_empty()
    assert gallery.note_text() == EMPTY_TEXT and gallery.tiles() == []


def test_progress_without_a_total_is_busy(gallery):
    gallery.set_progress(7)
    assert gallery.progress_text() == "Scanning: 7 images"
    assert gallery._progress_bar.maximum() == 0


def test_current_image_is_framed(gallery, qtbot, photo):
    gallery.set_patches(crops(photo, 4))
    gallery.set_current_path("/data/cats/img_002.png")
    assert [t.current for t in gallery.tiles()] == [False, False, True, False]


@pytest.mark.parametrize("bad, words", [
    ({"image": np.zeros((4, 4, 3), np.float32), "path": "a.png", "value": 1.0}, "uint8"),
    ({"image": np.zeros((4, 4), np.uint8), "path": "a.png", "value": 1.0}, "(H, W, 3)"),
    ({"image": np.zeros((4, 4, 3), np.uint8), "path": "a.png", "value": float("nan")}, "value"),
    ({"path": "a.png", "value": 1.0}, "needs"),
])
def test_bad_patches_are_refused_in_one_line(gallery, photo, bad, words):
    gallery.set_patches(crops(photo, 3))
    with pytest.raises(ValueError) as err:
        gallery.set_patches([crops(photo, 1)[0], bad])
    assert words in str(err.value) and "\n" not in str(err.value)
    assert len(gallery.tiles()) == 3                           # what was on show stays


def test_format_eta():
    assert [format_eta(s) for s in (None, 0.4, 25, 185, 3720)] == ["…", "0 s", "25 s", "3 min 05 s", "1 h 02 min"]
