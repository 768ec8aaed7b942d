"""The weight download against a loopback HTTP server: success, every failure, cancel.

Nothing here touches the internet. The served files are named like torch.hub's
(``<name>-<first 8 hex of sha256>.pth``) so the real integrity check applies.
"""
import hashlib
import http.server
import random
import socket
import threading
from pathlib import Path

import pytest

from inference.download import (
    IMAGENET_URL,
    cached_path,
    download_weights,
    hash_prefix,
    hub_checkpoint_dir,
)
from inference.errors import Cancelled, DownloadError

PAYLOAD = random.Random(0).randbytes(3 << 20)
OTHER = random.Random(1).randbytes(1 << 20)
FIRST = 64 << 10  # what the slow and the dropping server send before stopping


def _named(stem: str, data: bytes) -> str:
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth"


GOOD = _named("weights", PAYLOAD)
NOLEN = _named("nolength", PAYLOAD)
DROPPED = _named("dropped", PAYLOAD)
SLOW = _named("slow", PAYLOAD)
STALL = _named("stall", PAYLOAD)
WRONG = _named("wrong", PAYLOAD)  # its name promises PAYLOAD, the server sends OTHER


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every handler, so teardown is bounded
    release: threading.Event

    def handle_error(self, request, client_address):
        pass  # clients that hang up on purpose are expected here


class _Handler(http.server.BaseHTTPRequestHandler):
    timeout = 5  # no handler can hang on a socket longer than this

    def log_message(self, *args):
        pass

    def do_GET(self):
        name = self.path.lstrip("/")
        self.server.hits.append(name)
        if name in (GOOD, DROPPED, SLOW, STALL):
            if name == STALL and not self.server.release.wait(5):
                return
            self._head(len(PAYLOAD))
            if name == GOOD:
                self.wfile.write(PAYLOAD)
            elif name == DROPPED:
                self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])  # then close: the rest never comes
            elif name == SLOW:
                self.wfile.write(PAYLOAD[:FIRST])
                self.wfile.flush()
                if self.server.release.wait(5):  # held until teardown
                    self.wfile.write(PAYLOAD[FIRST:])
        elif name == NOLEN:
            self._head(None)  # HTTP/1.0: the body ends when the connection closes
            self.wfile.write(PAYLOAD)
        elif name == WRONG:
            self._head(len(OTHER))
            self.wfile.write(OTHER)
        else:
            self.send_error(404, "Not Found")

    def _head(self, length):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()


@pytest.fixture
def server():
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.release = threading.Event()
    srv.hits = []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/"
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()
    thread.join(5)
    assert not thread.is_alive()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _one_line(err) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_success_reports_monotonic_progress_and_writes_the_served_bytes(server, tmp_path):
    calls = []
    dest = tmp_path / "cache" / GOOD  # folder does not exist yet
    got = download_weights(server.url + GOOD, dest, progress=lambda d, t: calls.append((d, t)), chunk=256 << 10)
    assert got == dest
    assert dest.read_bytes() == PAYLOAD
    assert _leftovers(dest.parent) == [GOOD]
    dones = [d for d, _ in calls]
    assert len(calls) >= 2
    assert dones == sorted(dones) and dones[0] > 0
    assert {t for _, t in calls} == {len(PAYLOAD)}
    assert calls[-1] == (len(PAYLOAD), len(PAYLOAD))


def test_missing_content_length_reports_unknown_total(server, tmp_path):
    calls = []
    dest = download_weights(server.url + NOLEN, tmp_path / NOLEN, progress=lambda d, t: calls.append((d, t)))
    assert dest.read_bytes() == PAYLOAD
    assert {t for _, t in calls} == {None}
    assert calls[-1][0] == len(PAYLOAD)


def test_default_destination_is_the_torch_hub_cache(server, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert hub_checkpoint_dir() == tmp_path / "th" / "hub" / "checkpoints"
    assert cached_path(server.url + GOOD) == tmp_path / "th" / "hub" / "checkpoints" / GOOD
    got = download_weights(server.url + GOOD)
    assert got == tmp_path / "th" / "hub" / "checkpoints" / GOOD
    assert got.read_bytes() == PAYLOAD


def test_imagenet_url_and_hash_prefix():
    assert IMAGENET_URL.endswith("/vgg16-397923af.pth")
    assert hash_prefix("vgg16-397923af.pth") == "397923af"
    assert hash_prefix(GOOD) == hashlib.sha256(PAYLOAD).hexdigest()[:8]
    assert hash_prefix("model.pth") is None
    assert hash_prefix("best_epoch_weights.pth") is None


def test_http_404(server, tmp_path):
    url = server.url + "nothere-12345678.pth"
    with pytest.raises(DownloadError) as err:
        download_weights(url, tmp_path / "nothere-12345678.pth")
    msg = _one_line(err)
    assert url in msg and "404" in msg
    assert _leftovers(tmp_path) == []


def test_connection_refused(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nobody listens on this port now
    url = f"http://127.0.0.1:{port}/{GOOD}"
    with pytest.raises(DownloadError) as err:
        download_weights(url, tmp_path / GOOD, timeout=5)
    msg = _one_line(err)
    assert url in msg and "refused" in msg
    assert _leftovers(tmp_path) == []


def test_host_not_found(tmp_path, monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    url = f"http://no-such-host.invalid/{GOOD}"
    with pytest.raises(DownloadError) as err:
        download_weights(url, tmp_path / GOOD)
    msg = _one_line(err)
    assert url in msg and "host not found" in msg
    assert _leftovers(tmp_path) == []


def test_server_that_never_answers_times_out(server, tmp_path):
    url = server.url + STALL
    with pytest.raises(DownloadError) as err:
        download_weights(url, tmp_path / STALL, timeout=0.3)
    msg = _one_line(err)
    assert url in msg and "timed out" in msg
    assert _leftovers(tmp_path) == []


def test_connection_dropped_mid_file(server, tmp_path):
    url = server.url + DROPPED
    with pytest.raises(DownloadError) as err:
        download_weights(url, tmp_path / DROPPED)
    msg = _one_line(err)
    assert url in msg and f"{len(PAYLOAD) // 2} of {len(PAYLOAD)} bytes" in msg
    assert _leftovers(tmp_path) == []


def test_hash_mismatch_leaves_nothing(server, tmp_path):
    url = server.url + WRONG
    with pytest.raises(DownloadError) as err:
        download_weights(url, tmp_path / WRONG)
    msg = _one_line(err)
    assert url in msg
    assert hash_prefix(WRONG) in msg  # what the name promised
    assert hashlib.sha256(OTHER).hexdigest()[:8] in msg  # what actually came
    assert _leftovers(tmp_path) == []


def test_cancel_during_a_slow_download_leaves_nothing(server, tmp_path):
    calls = []
    with pytest.raises(Cancelled) as err:
        download_weights(
            server.url + SLOW,
            tmp_path / SLOW,
            progress=lambda d, t: calls.append(d),
            cancel=lambda: bool(calls),
            timeout=5,
        )
    assert str(err.value) == "download cancelled"
    assert 0 < calls[-1] <= FIRST  # stopped while the server was still holding the rest
    assert _leftovers(tmp_path) == []


def test_cancel_before_start_does_not_connect(server, tmp_path):
    with pytest.raises(Cancelled):
        download_weights(server.url + GOOD, tmp_path / GOOD, cancel=lambda: True)
    assert server.hits == []
    assert _leftovers(tmp_path) == []


def test_unwritable_cache_folder(server, tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_bytes(b"a file where the folder should be")
    url = server.url + GOOD
    with pytest.raises(DownloadError) as err:
        download_weights(url, blocker / "hub" / GOOD)
    msg = _one_line(err)
    assert url in msg and str(blocker / "hub") in msg and "not writable" in msg
    assert _leftovers(tmp_path) == ["cache"]
    assert blocker.read_bytes() == b"a file where the folder should be"
