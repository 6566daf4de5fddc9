"""Files that cannot lie: one atomic writer, one SHA-256, one cache folder for the package.

An atomic write goes to a fresh temporary name in the target's folder (same file system,
so the rename is atomic), is flushed to disk, and only then replaces the target with
``os.replace``.  A kill at any moment leaves the old file or the new one, never half of
one; the temporary name is unique (``mkstemp``), so two processes writing the same
target at once both succeed, the last rename winning.  A temporary file orphaned by a
kill is named ``NAME.<random>.tmp`` and is removed by :func:`remove_orphans`.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
import tempfile
from typing import Callable, BinaryIO

TMP_SUFFIX = ".tmp"


def cache_home() -> pathlib.Path:
    """Where scratchgan caches data and the evaluator: ``$SCRATCHGAN_DATA``, else
    ``~/.cache/scratchgan``."""
    data_home = os.environ.get("SCRATCHGAN_DATA")
    if data_home:
        return pathlib.Path(data_home).expanduser()
    return pathlib.Path.home() / ".cache" / "scratchgan"


def atomic_write(path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, fsync it, rename it over ``path``."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_bytes_atomic(path, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def remove_orphans(folder, name: str) -> list[pathlib.Path]:
    """Delete temporary files a killed writer of ``folder/name`` left behind; return them."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob(name + ".*" + TMP_SUFFIX) if p.is_file()]
    for p in found:
        p.unlink(missing_ok=True)
    return found


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path) -> str:
    """The SHA-256 of a file, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
