"""The A/B comparison in the window (issue 13): pin a result as A, then open another photo or load other
weights of the same architecture (B); the compare view shows B − A of the layer and channel on screen.

What the view shows is checked against an independent computation written here: a plain torchvision
ResNet-18 holding the same weights, fed the runs' own preprocessed inputs, every call's output cloned by
a hook (tests/call_outputs.py), then numpy (the difference, the diverging level by the engine's rule,
the softmax deltas, the per-channel mean changes). And what happens on bad click orders."""
import os

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from torchvision.models import resnet18

from call_outputs import every_call
from gui_helpers import RESULT_TIMEOUT

LAYER = "layer4.1.relu#2"   # a block's output after its ReLU: sparse, ≥ 0
SIGNED = "layer2.0.conv1"   # a conv before its batch norm: signed


# ---------------------------------------------------------------------- helpers
def smooth_photo(path, size, seed) -> str:
    """A photo of smooth colour blobs (the maps get structure)."""
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(size, Image.BICUBIC).save(path)
    return str(path)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ab")
    broken = folder / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n this is no picture")
    return {"b": smooth_photo(folder / "b.png", (160, 120), 2), "broken": str(broken)}


@pytest.fixture(scope="module")
def untrained_reference():
    """A plain torchvision ResNet-18 with the engine's untrained weights (seed 0)."""
    from inference.model import load_model
    from inference.weights_request import WeightsRequest

    model = resnet18()
    model.load_state_dict(load_model(WeightsRequest(arch="resnet18", untrained=True, device="cpu")).model.state_dict())
    return model.eval()


def forward(model, x) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(logits, {call name: output}) of the plain model on one preprocessed [3, H, W] input."""
    logits, outs, _ = every_call(model, x)
    return logits.numpy(), {name: out.numpy() for name, out in outs if out is not None}


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def level_rule(d) -> float:
    """The engine's ±L, written here: the 99th percentile (a value the map holds) of the cells that changed."""
    mag = np.abs(d).ravel()
    mag = mag[mag > 0]
    return float(np.percentile(mag, 99, method="lower")) if mag.size else 0.0


def make_window(qtbot, request):
    from app.main_window import MainWindow

    win = MainWindow(weights_request=request, restore_layout=False)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitUntil(lambda: win.session.model_info is not None, timeout=RESULT_TIMEOUT)
    return win


@pytest.fixture
def rwin(qtbot):
    from inference.weights_request import WeightsRequest

    win = make_window(qtbot, WeightsRequest(arch="resnet18", untrained=True, device="cpu"))
    yield win
    win.close()


def analyse(win, qtbot, path) -> None:
    with qtbot.waitSignal(win.resultShown, timeout=RESULT_TIMEOUT):
        win.open_image(str(path))


def pin(win, qtbot) -> None:
    assert win.pin_action.isEnabled()
    win.pin_action.trigger()
    qtbot.waitUntil(lambda: win.session.pinned is not None, timeout=RESULT_TIMEOUT)


def await_comparison(win, qtbot, layer: str, what: str | None = None):
    def ready():
        c = win.session.comparison
        return c is not None and c.layer == layer and (what is None or c.comparison.what == what)
    qtbot.waitUntil(ready, timeout=RESULT_TIMEOUT)
    return win.session.comparison


def pinned_pair(win, qtbot, cat_path, photos, layer=LAYER):
    """The cat pinned as A at ``layer``, the second photo analysed as B, their comparison in."""
    analyse(win, qtbot, cat_path)
    win.show_layer(layer)
    qtbot.waitUntil(lambda: win.grid.selected_channel() is not None, timeout=RESULT_TIMEOUT)
    pin(win, qtbot)
    analyse(win, qtbot, photos["b"])
    return await_comparison(win, qtbot, layer)


def tolerance(*maps) -> float:
    return 1e-4 * max(float(np.abs(m).max()) for m in maps)


# ---------------------------------------------------------------------- tests
def test_a_second_photo_against_the_pinned_cat(rwin, qtbot, cat_path, photos, untrained_reference):
    win, view = rwin, rwin.compare_view
    analyse(win, qtbot, cat_path)
    win.show_layer(LAYER)
    qtbot.waitUntil(lambda: win.grid.selected_channel() is not None, timeout=RESULT_TIMEOUT)
    assert win.central_tabs.count() == 1 and not win.unpin_action.isEnabled()
    pin(win, qtbot)
    # A alone, with the hint, in a tab beside the maps.
    assert win.central_tabs.count() == 2 and win.central_tabs.currentWidget() is view
    ch = win.grid.selected_channel()
    np.testing.assert_array_equal(view.maps.a.values, win.session.layer(LAYER).data[ch])
    assert view.maps.b.values is None and "open another image" in view.maps.b.note.text()
    assert win.session.pinned["label"] == "cat.png · untrained (random, seed 0)"

    analyse(win, qtbot, photos["b"])
    result = await_comparison(win, qtbot, LAYER)
    assert win.grid.selected_channel() == ch               # B opens on the channel A was shown with
    assert view.caption().startswith("B − A at") and view.caption().endswith(f"channel {ch}")
    worker = win.controller.worker
    logits_a, outs_a = forward(untrained_reference, worker.pinned.prepared.tensor)
    logits_b, outs_b = forward(untrained_reference, worker.run.prepared.tensor)
    a, b = outs_a[LAYER], outs_b[LAYER]
    tol = tolerance(a, b)
    np.testing.assert_allclose(view.maps.a.values, a[ch], rtol=0, atol=tol)
    np.testing.assert_allclose(view.maps.b.values, b[ch], rtol=0, atol=tol)
    np.testing.assert_allclose(view.maps.diff.values, b[ch] - a[ch], rtol=0, atol=tol)
    lo, hi = view.maps.diff_levels()
    assert lo == -hi and hi == pytest.approx(level_rule(b[ch] - a[ch]), rel=1e-3)
    assert tuple(view.maps.a.item.levels) == tuple(view.maps.b.item.levels) == pytest.approx(
        (0.0, max(a[ch].max(), b[ch].max())), rel=1e-4)     # one scale, from 0 (maps ≥ 0)

    # The predictions: A's top classes first, B's change = the difference of the two softmaxes.
    pa, pb = softmax(logits_a), softmax(logits_b)
    rows = view.predictions.rows
    assert [r["index"] for r in rows[:5]] == list(np.argsort(-pa)[:5])
    for row, line in zip(rows, view.predictions.lines):
        i = row["index"]
        assert row["prob_a"] == pytest.approx(pa[i], abs=1e-6) and row["prob_b"] == pytest.approx(pb[i], abs=1e-6)
        pp = (pb[i] - pa[i]) * 100
        assert line["delta"].text()[0] == ("▲" if pp > 0 else "▼") and line["delta"].text().endswith(f"{abs(pp):.1f}")

    # The channel means' changes, largest |Δ| first.
    delta = b.mean(axis=(1, 2)) - a.mean(axis=(1, 2))
    bars = view.deltas
    shown = np.asarray(bars.channels)
    np.testing.assert_allclose(bars.deltas, delta[shown], rtol=0, atol=1e-5 * np.abs(delta).max())
    assert len(shown) == 20 and np.all(np.diff(np.abs(bars.deltas)) <= 1e-6)
    rest = np.setdiff1d(np.arange(delta.size), shown)
    assert np.abs(delta[shown]).min() >= np.abs(delta[rest]).max() - 1e-5

    # A click in the view's list selects that channel in the grid, and the view shows it.
    qtbot.waitUntil(lambda: bars.isVisible() and bars.height() > bars.row_rect(2).bottom())
    target = int(shown[2])
    r = bars.row_rect(2)
    qtbot.mouseClick(bars, Qt.MouseButton.LeftButton, pos=QPoint(r.center().x(), r.center().y()))
    qtbot.waitUntil(lambda: win.grid.selected_channel() == target)
    np.testing.assert_allclose(view.maps.diff.values, b[target] - a[target], rtol=0, atol=tol)
    assert view.caption().endswith(f"channel {target}") and result is win.session.comparison  # no new request


def test_switching_layers_asks_again_and_drops_stale_answers(rwin, qtbot, cat_path, photos, untrained_reference):
    win, view = rwin, rwin.compare_view
    pinned_pair(win, qtbot, cat_path, photos)
    seen = []
    win.session.comparisonChanged.connect(seen.append)
    asked = win.controller.cams["compare"].newest
    win.show_layer("layer3.0.conv1")
    win.show_layer(SIGNED)                                  # before the first answer could land
    assert win.controller.cams["compare"].newest == asked + 2
    await_comparison(win, qtbot, SIGNED)
    # The worker answers in order: the first request's answer came (or was skipped) before this one.
    assert [r.layer for r in seen] == [SIGNED]
    worker = win.controller.worker
    _, outs_a = forward(untrained_reference, worker.pinned.prepared.tensor)
    _, outs_b = forward(untrained_reference, worker.run.prepared.tensor)
    a, b = outs_a[SIGNED], outs_b[SIGNED]
    ch = win.grid.selected_channel()
    np.testing.assert_allclose(view.maps.diff.values, b[ch] - a[ch], rtol=0, atol=tolerance(a, b))
    # The grid's table and scale: a signed layer is blue–red centred on 0, every channel of it.
    assert view.maps.table() == win.grid.shown_colormap() == "CET-D1"
    m = max(np.abs(a[ch]).max(), np.abs(b[ch]).max())
    assert tuple(view.maps.a.item.levels) == pytest.approx((-m, m), rel=1e-4)
    # The grid's shared scale: A, B and B − A take the layer's range and level.
    win.grid.set_normalization("layer")
    m = max(np.abs(a).max(), np.abs(b).max())
    assert tuple(view.maps.a.item.levels) == pytest.approx((-m, m), rel=1e-4)
    assert view.maps.diff_levels()[1] == pytest.approx(level_rule(b - a), rel=1e-3)
    win.grid.set_normalization("channel")

    # An image that fails to load while pinned: one line, and nothing on screen is lost.
    result, diff = win.session.comparison, view.maps.diff.values.copy()
    with qtbot.waitSignal(win.errorShown, timeout=RESULT_TIMEOUT) as sig:
        win.open_image(photos["broken"])
    assert "\n" not in sig.args[0] and "broken.png" in sig.args[0]
    assert win.session.comparison is result and win.session.pinned is not None
    np.testing.assert_array_equal(view.maps.diff.values, diff)
    assert win.central_tabs.indexOf(view) >= 0 and view.caption().startswith("B − A at")


def test_bad_click_orders_are_quiet_and_unpin_hides_the_view(rwin, qtbot, cat_path, photos):
    win, view = rwin, rwin.compare_view
    errors = []
    win.errorShown.connect(errors.append)
    assert not win.pin_action.isEnabled() and not win.unpin_action.isEnabled()
    win.pin_result()                                         # nothing analysed: nothing happens
    win.unpin()
    win.unpin()
    assert win.session.pinned is None and win.central_tabs.count() == 1 and errors == []

    analyse(win, qtbot, cat_path)
    pin(win, qtbot)
    assert win.unpin_action.isEnabled() and not view.unpin_button.isHidden()
    win.unpin_action.trigger()
    assert win.session.pinned is None and win.central_tabs.indexOf(view) < 0 and win.central_tabs.count() == 1
    qtbot.waitUntil(lambda: win.controller.worker.pinned is None)
    win.unpin()                                              # twice: still nothing to say
    assert errors == [] and not win.unpin_action.isEnabled()

    # Pinned again, then B, then the view's own Unpin button.
    pin(win, qtbot)
    analyse(win, qtbot, photos["b"])
    await_comparison(win, qtbot, win.selected_layer)
    qtbot.mouseClick(view.unpin_button, Qt.MouseButton.LeftButton)
    assert win.session.pinned is None and win.session.comparison is None and win.central_tabs.indexOf(view) < 0
    assert errors == []


def seeded_resnet18(seed: int, path) -> str:
    """A seeded 10-class ResNet-18 checkpoint with non-trivial batch-norm statistics."""
    torch.manual_seed(seed)
    model = resnet18(num_classes=10).eval()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    torch.save(model.state_dict(), path)
    return str(path)


def reference_from(path):
    state = torch.load(path, weights_only=True)
    model = resnet18(num_classes=state["fc.weight"].shape[0])
    model.load_state_dict(state)
    return model.eval()


def test_two_checkpoints_of_one_architecture_then_another_architecture(qtbot, tmp_path, cat_path):
    from inference.weights_request import WeightsRequest

    before, after = seeded_resnet18(5, tmp_path / "before.pth"), seeded_resnet18(6, tmp_path / "after.pth")
    win = make_window(qtbot, WeightsRequest(weights=before, device="cpu"))
    try:
        view = win.compare_view
        analyse(win, qtbot, cat_path)
        win.show_layer(LAYER)
        qtbot.waitUntil(lambda: win.grid.selected_channel() is not None, timeout=RESULT_TIMEOUT)
        pin(win, qtbot)
        win.load_weights(after)                              # the same photo is analysed again: B
        result = await_comparison(win, qtbot, LAYER, what="weights")
        comp = result.comparison
        assert comp.label_a.endswith("before.pth (10 classes)") and comp.label_b.endswith("after.pth (10 classes)")
        assert "one photo under two weights" in view.caption()
        worker = win.controller.worker
        x = worker.run.prepared.tensor
        assert torch.equal(x, worker.pinned.prepared.tensor)
        logits_a, outs_a = forward(reference_from(before), x)
        logits_b, outs_b = forward(reference_from(after), x)
        a, b = outs_a[LAYER], outs_b[LAYER]
        ch = win.grid.selected_channel()
        np.testing.assert_allclose(view.maps.diff.values, b[ch] - a[ch], rtol=0, atol=tolerance(a, b))
        pa, pb = softmax(logits_a), softmax(logits_b)
        for row in view.predictions.rows:
            assert row["prob_b"] - row["prob_a"] == pytest.approx(pb[row["index"]] - pa[row["index"]], abs=1e-6)

        # Another architecture lets A go, in one line (with the new model's own notice).
        win.choose_model("squeezenet1_1")
        qtbot.waitUntil(lambda: win.session.pinned is None, timeout=RESULT_TIMEOUT)
        qtbot.waitUntil(lambda: (win.session.model_info or {}).get("arch") == "squeezenet1_1", timeout=RESULT_TIMEOUT)
        text = win.message.text()
        assert text.startswith("unpinned A (ResNet18): the model is now SqueezeNet1_1") and "\n" not in text
        assert win.central_tabs.indexOf(view) < 0 and worker.pinned is None
    finally:
        win.close()


def test_the_figure_and_the_window_with_a_comparison(rwin, qtbot, cat_path, photos, tmp_path):
    from dataclasses import replace

    from app.figure_data import session_figure_data
    from widgets.colormaps import colorize
    from widgets.compare_view import below_is_larger
    from widgets.figure import PNG_SCALE, panel_rects
    from widgets.figure_scale import SIGNED_MAP

    win, view = rwin, rwin.compare_view
    pinned_pair(win, qtbot, cat_path, photos)
    ch = win.grid.selected_channel()

    # The exported figure gains a comparison row: A, B and B − A of the channel on screen.
    with_row, without = tmp_path / "with.png", tmp_path / "without.png"
    assert win.export_figure(str(with_row))
    panel = win.compare_figure_panel()
    assert panel.channel == ch and panel.diff_level == pytest.approx(view.maps.diff_levels()[1])
    np.testing.assert_array_equal(panel.diff, view.maps.diff.values)
    data = replace(session_figure_data(win.session, win.selected_layer, channel=ch, colormap=win.grid.colormap(),
                                       overlay_colormap=win.overlay.colormap(), alpha=win.overlay.alpha(),
                                       blend=win.overlay.blend(), demo_mode=win.demo_panel.output_mode()),
                   compare=panel)
    image = QImage(str(with_row))
    assert not image.isNull()
    box = panel_rects(data)["compare_diff"]
    h, w = panel.diff.shape
    rgb = colorize(panel.diff, -panel.diff_level, panel.diff_level, SIGNED_MAP)
    for y, x in ((0, 0), (h // 2, w // 3), (h - 1, w - 1)):   # the centre of each cell: its colour
        px = image.pixelColor(int((box.left() + (x + 0.5) * box.width() / w) * PNG_SCALE),
                              int((box.top() + (y + 0.5) * box.height() / h) * PNG_SCALE))
        assert np.abs(np.array([px.red(), px.green(), px.blue()]) - rgb[y, x].astype(int)).max() <= 3
    win.unpin()
    assert win.compare_figure_panel() is None and win.export_figure(str(without))
    plain = QImage(str(without))
    assert plain.width() == image.width() and image.height() > plain.height() + 300 * PNG_SCALE

    # The window with a comparison at 1280×720 and 1600×1000: every part on show, inside, maps of a size.
    pin(win, qtbot)                                          # the second photo is A now, the cat B
    analyse(win, qtbot, cat_path)
    await_comparison(win, qtbot, win.selected_layer, what="images")
    shots = os.environ.get("CONVSCOPE_SHOTS") or str(tmp_path)
    for size in ((1280, 720), (1600, 1000)):
        win.resize(*size)
        last = [None]

        def settled():   # the window's size, then its layouts, then the maps' height for their width
            now = (win.size().toTuple(), view.size().toTuple(), view.maps.a.view.size().toTuple(), view.side_below())
            same, last[0] = now == last[0], now
            return same and now[0] == size and view.side_below() == below_is_larger(view.width(), view.height())
        qtbot.waitUntil(settled)
        assert win.grab().save(os.path.join(shots, f"compare-{size[0]}x{size[1]}.png"))
        whole = view.rect()
        for w in (view.unpin_button, view.maps.a.view, view.maps.b.view, view.maps.diff.view, view.maps.diff_bar,
                  view.predictions.lines[-1]["delta"], view.deltas):
            top_left, bottom_right = w.mapTo(view, w.rect().topLeft()), w.mapTo(view, w.rect().bottomRight())
            assert w.isVisible() and whole.contains(top_left), (size, w)
            assert whole.contains(bottom_right) or w is view.deltas, (size, w)   # the list scrolls
        for p in (view.maps.a, view.maps.b, view.maps.diff):
            r = p.box.sceneBoundingRect()
            assert min(r.width(), r.height()) >= 90, size
