"""A folder of pinned files: check what is there, fill in what is not.

A file in the cache counts only if its bytes have the pinned size and SHA-256, checked
every time it is used: hashing runs about as fast as the disk reads, so it costs little
next to anything the data is used for, and a file that merely looks unchanged (same
size, same mtime) can still have been altered.  So the cache keeps no record of what was verified, and
reading a good cache writes nothing: a read-only cache works.

New files are written with :func:`scratchgan.fileio.write_bytes_atomic` (a unique
temporary name, then a rename), so a crash leaves no half file and two processes
filling the same cache both succeed.
"""
from __future__ import annotations

import pathlib
from typing import Callable, Mapping

from ..fileio import sha256_bytes, sha256_file, write_bytes_atomic
from .sources import FETCH_ERRORS, SourceDown

Pinned = Mapping[str, tuple[int, str]]      # name -> (bytes, sha256)


class CacheNotWritable(RuntimeError):
    """A verified file could not be stored; the message says where and what to do."""


def mismatch(expected: tuple[int, str], size: int, sha256: Callable[[], str]) -> str | None:
    """Why a file fails its check (None if it passes); hashes only when the size is right."""
    want_size, want_sha = expected
    if size != want_size:
        return f"expected {want_size:,} bytes, got {size:,}"
    got_sha = sha256()
    if got_sha != want_sha:
        return f"expected sha256 {want_sha}, got {got_sha}"
    return None


def check_cached(path: pathlib.Path, expected: tuple[int, str]) -> str | None:
    """Why the cached file at ``path`` cannot be used (None if it is good)."""
    if not path.is_file():
        return "missing"
    return mismatch(expected, path.stat().st_size, lambda: sha256_file(path))


def store(path: pathlib.Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; a failure becomes one line saying what to do."""
    try:
        write_bytes_atomic(path, data)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CacheNotWritable(f"cannot write {path} ({reason}): free some space there or "
                               "point SCRATCHGAN_DATA at a writable folder") from exc


def fill_from(source, folder: pathlib.Path, missing: list[str], files: Pinned,
              log: Callable[[str], None], tried: list[str]) -> list[str]:
    """Get each missing file from ``source``, check it, cache it; return those still missing."""
    still_missing: list[str] = []
    for i, name in enumerate(missing):
        try:
            data = source.get(name, files[name][0])
        except SourceDown as exc:
            note = f"{source.label}: unusable ({exc})"
            log(note)
            tried.append(note)
            return still_missing + missing[i:]
        except FETCH_ERRORS as exc:
            note = f"{source.label}: {name}: {exc}"
        else:
            problem = mismatch(files[name], len(data), lambda: sha256_bytes(data))
            if problem is None:
                store(folder / name, data)
                log(f"{name} <- {source.label} (checksum ok)")
                continue
            note = f"{source.label}: {name} failed its check ({problem}); trying the next source"
        log(note)
        tried.append(note)
        still_missing.append(name)
    return still_missing
