"""Download the pretrained weights with progress, cancel and an integrity check.

``torch.hub.download_url_to_file`` cannot report progress to a GUI or be
cancelled, so this streams the file itself, but keeps torch.hub's cache folder
and hash-in-file-name convention. The bytes go to a temp file beside the
destination and are moved into place only once complete and verified: the
cache holds either the whole file or nothing.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import socket
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import torch.hub
import torchvision

from inference.atomic_file import fsync_dir
from inference.errors import Cancelled, DownloadError

IMAGENET_URL: str = torchvision.models.VGG16_Weights.IMAGENET1K_V1.url
"""torchvision's ImageNet VGG16 weights (https://download.pytorch.org/models/vgg16-397923af.pth)."""

Progress = Callable[[int, "int | None"], None]


def hub_checkpoint_dir() -> Path:
    """torch.hub's checkpoint cache (``$TORCH_HOME/hub/checkpoints`` by default)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def cached_path(url: str) -> Path:
    """Where torch.hub keeps the file behind ``url``."""
    return hub_checkpoint_dir() / _file_name(url)


def hash_prefix(filename: str) -> str | None:
    """The sha256 prefix torch.hub puts in file names (``vgg16-397923af.pth`` -> ``397923af``)."""
    match = torch.hub.HASH_REGEX.search(filename)
    return match.group(1) if match and match.group(1) else None


def download_weights(
    url: str,
    dest: Path | None = None,
    *,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    timeout: float = 30.0,
    chunk: int = 1 << 20,
) -> Path:
    """Fetch ``url`` into ``dest`` (default: the torch.hub cache) and return the path.

    ``progress(done, total)`` is called as bytes arrive and once at the end (total is
    None when the server does not say). ``cancel()`` is polled between reads; when it
    returns True the download stops with ``Cancelled``. Any failure raises
    ``DownloadError``; either way no partial file is left behind.
    """
    dest = Path(dest) if dest is not None else cached_path(url)
    expected = hash_prefix(_file_name(url))
    _check_cancel(cancel)
    folder = dest.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.NamedTemporaryFile(delete=False, dir=folder, prefix=f".{dest.name}.", suffix=".partial")
    except OSError as err:
        raise DownloadError(f"cannot download {url}: cache folder {folder} is not writable ({_reason(err)})") from err

    done_ok = False
    try:
        with tmp:
            digest = _stream(url, tmp, progress, cancel, timeout, chunk)
            if expected is not None and not digest.startswith(expected):
                raise DownloadError(
                    f"download of {url} is corrupt: expected sha256 starting {expected}, "
                    f"received {digest[:len(expected)]} (sha256 {digest[:16]}...)"
                )
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp.name, dest)
        done_ok = True
    except OSError as err:  # writing, fsync or rename failed
        raise DownloadError(f"cannot download {url}: writing {dest} failed ({_reason(err)})") from err
    finally:
        if not done_ok:
            _remove(tmp.name)
    fsync_dir(folder)
    return dest


# ---------------------------------------------------------------------------- helpers


def _stream(url, out, progress, cancel, timeout, chunk) -> str:
    """Copy the response body into ``out``; return its sha256 hex digest."""
    request = urllib.request.Request(url, headers={"User-Agent": "convscope"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        raise DownloadError(f"cannot download {url}: HTTP {err.code} {err.reason}") from err
    except urllib.error.URLError as err:
        raise DownloadError(f"cannot download {url}: {_reason(err.reason, timeout)}") from err
    except (OSError, http.client.HTTPException, ValueError) as err:
        raise DownloadError(f"cannot download {url}: {_reason(err, timeout)}") from err

    with response:
        total = _content_length(response)
        sha = hashlib.sha256()
        done = 0
        while True:
            _check_cancel(cancel)
            try:
                # read1 returns what has arrived, so progress and cancel stay responsive.
                block = response.read1(chunk)
            except http.client.IncompleteRead as err:
                raise DownloadError(f"download of {url} broke off after {_got(done, total)}") from err
            except (OSError, http.client.HTTPException) as err:
                raise DownloadError(
                    f"download of {url} broke off after {_got(done, total)}: {_reason(err, timeout)}"
                ) from err
            if not block:
                break
            try:
                out.write(block)
            except OSError as err:
                raise DownloadError(f"cannot download {url}: writing {out.name} failed ({_reason(err)})") from err
            sha.update(block)
            done += len(block)
            if progress is not None:
                progress(done, total)
        _check_cancel(cancel)
    if total is not None and done != total:
        raise DownloadError(f"download of {url} broke off: connection closed after {_got(done, total)}")
    if done == 0:
        raise DownloadError(f"cannot download {url}: the server sent an empty file")
    if progress is not None:
        progress(done, total)
    return sha.hexdigest()


def _file_name(url: str) -> str:
    name = os.path.basename(urllib.parse.urlparse(url).path)
    if not name:
        raise DownloadError(f"cannot download {url}: the URL does not name a file")
    return name


def _content_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None and int(value) >= 0 else None
    except ValueError:
        return None


def _check_cancel(cancel) -> None:
    if cancel is not None and cancel():
        raise Cancelled("download cancelled")


def _got(done: int, total: int | None) -> str:
    return f"{done} of {total} bytes" if total is not None else f"{done} bytes"


def _reason(err, timeout: float | None = None) -> str:
    """A short human reason for a network or file-system error."""
    if isinstance(err, str):
        return err
    if isinstance(err, (TimeoutError, socket.timeout)):
        return f"timed out after {timeout:g} s" if timeout is not None else "timed out"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, socket.gaierror):
        return f"host not found ({err.strerror or err})"
    if isinstance(err, ConnectionError):
        return f"connection lost ({err.strerror or type(err).__name__})"
    if isinstance(err, ssl.SSLError):
        return f"TLS error ({err.reason or err})"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def _remove(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


__all__ = ["IMAGENET_URL", "cached_path", "download_weights", "hash_prefix", "hub_checkpoint_dir"]
