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
os.environ["CONVSCOPE_MALLOC"] = "default"  # see inference/allocator.py: the suite's peak, not its speed
_HOME = tempfile.mkdtemp(prefix="convscope-test-home-")
os.environ["TORCH_HOME"] = os.path.join(_HOME, "torch")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_HOME, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_HOME, "data")
os.environ["XDG_CACHE_HOME"] = os.path.join(_HOME, "cache")  # the folder scans' indexes
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs the suite in two processes (pytest-xdist), one per core: each keeps torch to one
    # intra-op thread, or two processes of two threads would fight over two cores.
    os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

SAMPLE_CAT = ROOT / "resources" / "samples" / "cat.png"


def pytest_configure(config):
    """``CONVSCOPE_RSS_PROBE=1``: report the suite's peak RSS and the tests that raised it (tests/rss_probe.py)."""
    if os.environ.get("CONVSCOPE_RSS_PROBE"):
        from rss_probe import RssProbe  # tests/ is on sys.path, as for gui_helpers

        config.pluginmanager.register(RssProbe(), "convscope-rss-probe")


def _libc():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


_LIBC = _libc() if sys.platform.startswith("linux") else None


def _malloc_trim() -> None:
    """Hand glibc's free heap pages back to the OS (a few ms; a no-op without glibc)."""
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Keep the suite's peak RSS down (bench/README, "The test suite's memory").

    After each test, freed memory goes back to the OS: glibc otherwise keeps a
    test's freed activations and weights, and the next test's peak sits on top.
    After a module (its module fixtures are finalised by then), cycles are
    collected and the engine's cached untrained VGG16 (0.5 GB) is forgotten;
    the next module that opens a window builds it again in under a second.
    """
    yield
    if nextitem is None or nextitem.path != item.path:
        import gc

        model = sys.modules.get("inference.model")
        if model is not None:
            model.release_untrained()
        gc.collect()
    _malloc_trim()


@pytest.fixture(scope="session")
def cat_path() -> Path:
    return SAMPLE_CAT


@pytest.fixture(scope="session")
def vgg_checkpoint(tmp_path_factory):
    """A seeded random 2-class VGG16 saved the way the cat/dog training code saves it.

    torchvision key names, a plain state_dict, ``cls_classes.txt`` = ``cat\\r\\ndog``
    beside it. Written once per session (it is 537 MB).
    """
    import torch
    from torchvision.models import vgg16

    folder = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(1234)
    model = vgg16(num_classes=2)
    path = folder / "catdog_vgg16.pth"
    torch.save(model.state_dict(), path)
    del model  # a yield fixture's frame lives until the session ends: do not keep 528 MB in it
    (folder / "cls_classes.txt").write_bytes(b"cat\r\ndog\r\n")
    yield path
    path.unlink(missing_ok=True)  # pytest keeps recent temp folders; do not leave 537 MB behind


@pytest.fixture(scope="module")
def reference_vgg(vgg_checkpoint, file_bundle):
    """An independent model: a plain torchvision VGG16 (its own modules, in-place ReLUs) holding the
    checkpoint's weights. It shares their storage with ``file_bundle`` rather than holding another
    528 MB (test_model checks the engine's weights against the file). Tests must not modify it."""
    import torch
    from torchvision.models import vgg16

    with torch.device("meta"):
        model = vgg16(num_classes=2)
    model.load_state_dict(file_bundle.model.state_dict(), assign=True)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


@pytest.fixture(scope="module")
def reference_forward(reference_vgg):
    """An independent computation: ``reference_vgg`` applied module by module, each output cloned. Returns a function of a [3,224,224] input tensor → {qualified name: numpy
    array without batch dim}."""
    import torch

    model = reference_vgg

    def run(x):
        outs = {}
        with torch.no_grad():
            h = x.unsqueeze(0)
            for i, m in enumerate(model.features):
                h = m(h)
                outs[f"features.{i}"] = h[0].clone().numpy()
            h = model.avgpool(h)
            outs["avgpool"] = h[0].clone().numpy()
            h = torch.flatten(h, 1)
            for i, m in enumerate(model.classifier):
                h = m(h)
                outs[f"classifier.{i}"] = h[0].clone().numpy()
        return outs

    return run


@pytest.fixture(scope="module")
def file_bundle(vgg_checkpoint):
    """The engine's model loaded from the seeded checkpoint, once per module that uses it: 6 modules
    of 47 do, and 528 MB held for the whole session raised the suite's peak (bench/README)."""
    from inference.model import WeightsRequest, load_model

    return load_model(WeightsRequest(weights=str(vgg_checkpoint), device="cpu"))


@pytest.fixture
def file_server(tmp_path):
    """Serve a folder over HTTP on 127.0.0.1 (never the internet); yields (folder, base_url)."""
    import functools
    import http.server
    import threading

    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def window(qtbot):
    """A fresh main window (settings cleared) whose model is loaded."""
    from app.main_window import MainWindow
    from app.settings import settings
    from gui_helpers import RESULT_TIMEOUT

    settings().clear()
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitUntil(lambda: win.session.model_info is not None, timeout=RESULT_TIMEOUT)
    yield win
    win.close()


@pytest.fixture
def shown(window, qtbot, cat_path):
    """The window with the cat analysed and on screen."""
    from gui_helpers import RESULT_TIMEOUT

    with qtbot.waitSignal(window.resultShown, timeout=RESULT_TIMEOUT):
        window.open_image(str(cat_path))
    return window


@pytest.fixture(scope="session")
def noise_photo(tmp_path_factory):
    """A photo of pixel noise: no flat regions, so no max-pool ties, where either gradient would be right."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    path = tmp_path_factory.mktemp("noise") / "noise.png"
    Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="session")
def imagenet_like_bytes(tmp_path_factory):
    """A seeded 1000-class VGG16 state_dict, serialised once per session (528 MB)."""
    import torch
    from torchvision.models import vgg16

    torch.manual_seed(5)
    path = tmp_path_factory.mktemp("imnet") / "w.pth"
    model = vgg16()
    torch.save(model.state_dict(), path)
    del model
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture
def overlay_view(qtbot):
    """An OverlayView on screen at 640×520."""
    from widgets.overlay_view import OverlayView

    v = OverlayView()
    qtbot.addWidget(v)
    v.resize(640, 520)
    v.show()
    qtbot.waitExposed(v)
    return v


@pytest.fixture
def viridis_grid(qtbot):
    """A ChannelGrid on screen at 720×520, drawing viridis over each range as given."""
    from widgets.channel_grid import ChannelGrid

    g = ChannelGrid()
    g.set_colormap("viridis")
    qtbot.addWidget(g)
    g.resize(720, 520)
    g.show()
    qtbot.waitExposed(g)
    return g


def pytest_collection_modifyitems(session, config, items):
    """The soak first: in CI it runs beside the suite in two processes, and a 2-minute test taken last
    would leave one process idle that long."""
    items.sort(key=lambda item: item.get_closest_marker("soak") is None)
