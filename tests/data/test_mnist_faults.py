"""MNIST's data chain under faults and bad input, through the public API only.

Each test is one fault: a cached file altered in place with its mtime restored, a
read-only cache, two processes filling one cache, a gzip bomb, a full disk.  All are
offline: tiny IDX files the tests write, a loopback HTTP server for the mirror.
"""
from __future__ import annotations

import builtins
import contextlib
import errno
import gzip
import hashlib
import http.server
import io
import os
import threading
import tracemalloc
import zlib

import numpy as np
import pytest

from scratchgan.data.mnist import (SPLITS, MnistUnavailable, encode_idx, ensure_mnist,
                                   load_mnist)

# the MNIST file chain under faults: files and processes, no device
pytestmark = pytest.mark.host_only

BOMB_BYTES = 64 << 20          # unpacks to 64 MB of zeros from about 64 KB of gzip
PEAK_LIMIT = 16 << 20          # what a chain that stops early stays far below


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.delenv("SCRATCHGAN_DATA", raising=False)
    monkeypatch.delenv("SCRATCHGAN_MNIST_DIR", raising=False)


@pytest.fixture
def tiny():
    """IDX bytes and the pinned {name: (size, sha256)} table of a tiny MNIST look-alike."""
    rng = np.random.default_rng(1)
    blobs = {}
    for split, count in (("train", 5), ("test", 3)):
        image_name, label_name = SPLITS[split]
        blobs[image_name] = encode_idx(rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        blobs[label_name] = encode_idx(rng.integers(0, 10, count, dtype=np.uint8))
    files = {name: (len(b), hashlib.sha256(b).hexdigest()) for name, b in blobs.items()}
    return {"blobs": blobs, "files": files}


def write_files(folder, blobs):
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in blobs.items():
        (folder / name).write_bytes(blob)


def quiet(tiny, **kwargs):
    return dict(mirrors=[], packages=[], files=tiny["files"], log=lambda line: None, **kwargs)


def snapshot(folder):
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}


# --- 3: same-size corruption with the mtime put back ------------------------------------------

def corrupt_keeping_mtime(path):
    stat = path.stat()
    blob = bytearray(path.read_bytes())
    blob[-1] = (blob[-1] + 1) % 10                  # still a valid label, just the wrong one
    path.write_bytes(bytes(blob))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns


def test_a_corrupt_cached_file_with_its_mtime_restored_is_not_served(tmp_path, tiny):
    cache, source = tmp_path / "cache", tmp_path / "source"
    write_files(source, tiny["blobs"])
    ensure_mnist(cache, **quiet(tiny, source_dir=source))
    labels_name = SPLITS["test"][1]
    corrupt_keeping_mtime(cache / labels_name)

    # With a source at hand, the bad file is fetched again and the right labels served.
    lines = []
    _, labels = load_mnist("test", cache, **quiet(tiny, source_dir=source) | {"log": lines.append})
    assert labels.tobytes() == tiny["blobs"][labels_name][8:]
    assert any("corrupt" in line and labels_name in line for line in lines)
    assert (cache / labels_name).read_bytes() == tiny["blobs"][labels_name]

    # Without one, it is an error rather than a wrong label.
    corrupt_keeping_mtime(cache / labels_name)
    with pytest.raises(MnistUnavailable, match=labels_name):
        load_mnist("test", cache, **quiet(tiny))
    with pytest.raises(MnistUnavailable, match=labels_name):
        ensure_mnist(cache, **quiet(tiny))


# --- 9a: a read-only cache ---------------------------------------------------------------------

class ReadOnly:
    """Every way of writing a file raises EROFS, as on a read-only mount (tests run as
    root, which chmod does not stop); the attempts are recorded in ``attempts``."""

    def __init__(self):
        self.attempts, self.on = [], True

    @contextlib.contextmanager
    def lifted(self):
        """Writable for a moment, to set the scene."""
        self.on = False
        try:
            yield
        finally:
            self.on = True

    def guard(self, real, writes=lambda *args: True):
        def guarded(path, *args, **kwargs):
            if self.on and writes(*args, **kwargs):
                self.attempts.append(path)
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
            return real(path, *args, **kwargs)
        return guarded


@pytest.fixture
def read_only(monkeypatch):
    fs = ReadOnly()
    opens_for_writing = fs.guard(builtins.open,
                                 lambda mode="r", *a, **k: any(c in mode for c in "wax+"))
    monkeypatch.setattr(builtins, "open", opens_for_writing)
    monkeypatch.setattr(io, "open", opens_for_writing)
    monkeypatch.setattr(os, "open", fs.guard(
        os.open, lambda flags, *a, **k: bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))))
    for name in ("replace", "rename", "mkdir", "remove", "unlink", "utime"):
        monkeypatch.setattr(os, name, fs.guard(getattr(os, name)))
    return fs


def test_a_verified_read_only_cache_is_read_without_writing(tmp_path, tiny, read_only):
    cache = tmp_path / "cache"
    with read_only.lifted():                         # files placed by hand, before the mount
        write_files(cache, tiny["blobs"])
    before = snapshot(cache)
    assert ensure_mnist(cache, **quiet(tiny)) == cache
    images, labels = load_mnist("train", cache, **quiet(tiny))
    assert images.tobytes() == tiny["blobs"][SPLITS["train"][0]][16:]
    assert read_only.attempts == []                  # not one write was tried
    assert snapshot(cache) == before


def test_a_read_only_cache_missing_a_file_says_so_in_one_line(tmp_path, tiny, read_only):
    source = tmp_path / "source"
    with read_only.lifted():
        write_files(source, tiny["blobs"])
    with pytest.raises(MnistUnavailable) as info:
        ensure_mnist(tmp_path / "cache", **quiet(tiny, source_dir=source))
    message = str(info.value)
    assert "\n" not in message
    assert "read-only file system" in message.lower() and "SCRATCHGAN_DATA" in message
    assert read_only.attempts                        # it did try, and said so in one line


# --- 9b: two processes filling one cache -------------------------------------------------------

def test_two_fills_of_one_cache_at_once_both_succeed(tmp_path, tiny, monkeypatch):
    source, cache = tmp_path / "source", tmp_path / "cache"
    write_files(source, tiny["blobs"])
    # Both writers meet between writing their temporary file and renaming it, the moment
    # at which a shared temporary name is overwritten or renamed away under the other.
    meet, real_fsync = threading.Barrier(2), os.fsync

    def fsync(fd):
        real_fsync(fd)
        try:
            meet.wait(timeout=10)
        except threading.BrokenBarrierError:
            pass                                     # the other one is gone: go on alone
    monkeypatch.setattr(os, "fsync", fsync)
    errors = []

    def fill():
        try:
            ensure_mnist(cache, **quiet(tiny, source_dir=source))
        except BaseException as exc:                 # reported by the main thread
            errors.append(exc)
            meet.abort()
    threads = [threading.Thread(target=fill) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(p.name for p in cache.iterdir()) == sorted(tiny["blobs"])
    for name, blob in tiny["blobs"].items():
        assert (cache / name).read_bytes() == blob


# --- 9c: gzip bombs ----------------------------------------------------------------------------

def gzip_bomb(n_bytes: int) -> bytes:
    """gzip of ``n_bytes`` zeros, made a megabyte at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    parts = [packer.compress(zeros) for _ in range(n_bytes >> 20)]
    return b"".join(parts) + packer.flush()


def peak_bytes(call):
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_gzip_bomb_in_a_folder_is_refused_early(tmp_path, tiny):
    source = tmp_path / "source"
    write_files(source, {n: b for n, b in tiny["blobs"].items() if "labels" in n})
    bomb = gzip_bomb(BOMB_BYTES)
    for name in tiny["blobs"]:
        if "images" in name:
            (source / (name + ".gz")).write_bytes(bomb)
    lines = []

    def fill():
        with pytest.raises(MnistUnavailable):
            ensure_mnist(tmp_path / "cache", **quiet(tiny, source_dir=source)
                         | {"log": lines.append})
    assert peak_bytes(fill) < PEAK_LIMIT
    assert sum("more than" in line and "images" in line for line in lines) == 2


def test_a_gzip_bomb_on_a_mirror_is_refused_early(tmp_path, tiny):
    routes = {f"/mnist/{n}.gz": gzip.compress(b, mtime=0) for n, b in tiny["blobs"].items()}
    images_name = SPLITS["train"][0]
    routes[f"/mnist/{images_name}.gz"] = gzip_bomb(BOMB_BYTES)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = routes.get(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    lines = []
    try:
        url = f"http://127.0.0.1:{server.server_port}/mnist/"

        def fill():
            with pytest.raises(MnistUnavailable, match=images_name):
                ensure_mnist(tmp_path / "cache", mirrors=[url], packages=[], timeout=5,
                             retries=0, files=tiny["files"], log=lines.append)
        assert peak_bytes(fill) < PEAK_LIMIT
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert any("more than" in line and images_name in line for line in lines)


# --- 9d: a full disk ---------------------------------------------------------------------------

def test_a_full_disk_is_one_line_and_leaves_no_partial_file(tmp_path, tiny, monkeypatch):
    source, cache = tmp_path / "source", tmp_path / "cache"
    write_files(source, tiny["blobs"])
    train_images = SPLITS["train"][0]
    write_files(cache, {train_images: tiny["blobs"][train_images]})   # one good file already

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(MnistUnavailable) as info:
        ensure_mnist(cache, **quiet(tiny, source_dir=source))
    message = str(info.value)
    assert "\n" not in message and "No space left on device" in message
    assert str(cache) in message and "SCRATCHGAN_DATA" in message
    assert sorted(p.name for p in cache.iterdir()) == [train_images]
    assert (cache / train_images).read_bytes() == tiny["blobs"][train_images]
