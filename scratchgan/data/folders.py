"""Images on disk in the CycleGAN paper's layout, and the one resampler every domain uses.

A translation data set (monet2photo, horse2zebra, ...) is four folders of images::

    ROOT/trainA/*.jpg|png   domain X, for training       ROOT/testA/   X, held out
    ROOT/trainB/*.jpg|png   domain Y, for training       ROOT/testB/   Y, held out

Each image is cut to its central square (the aspect ratio is kept, the rim is lost) and
area-resampled to ``size × size``; grey images get three equal channels and an alpha
channel is dropped.  Images are read with ``matplotlib.image.imread``: PNG natively,
JPEG through Pillow, which matplotlib itself depends on.

    folders = load_image_folders("monet2photo", size=32)
    folders["trainA"]        # uint8 (N, 3, 32, 32), channels first as Conv2d wants
"""
from __future__ import annotations

import os
import pathlib

from ..backend import numpy as np   # images are read and resampled on the CPU
from ..errors import UserError

__all__ = ["FOLDERS", "ImageFolderError", "area_matrix", "area_resample",
           "load_image_folders"]

FOLDERS = ("trainA", "trainB", "testA", "testB")
SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


class ImageFolderError(UserError):
    """A folder of images cannot be used; the one-line message says which and why."""


def area_matrix(n_in: int, n_out: int, start: float, stop: float) -> np.ndarray:
    """(n_out, n_in) weights: output pixel i = mean of the input over its footprint.

    The input's coordinates [start, stop) are stretched onto the output's [0, n_out);
    output pixel i then covers [start + i·k, start + (i+1)·k) with k = (stop − start)/n_out,
    and input pixel j covers [j, j + 1).  w[i, j] = overlap / k, so a window reaching past
    the input averages in zeros: the same matrix crops, pads and rescales.
    """
    k = (stop - start) / n_out
    lo = start + k * np.arange(n_out)[:, None]                    # (n_out, 1)
    j = np.arange(n_in)[None, :]                                  # (1, n_in)
    overlap = np.clip(np.minimum(lo + k, j + 1) - np.maximum(lo, j), 0, None)
    return overlap / k


def area_resample(images, size: int, rows: tuple[float, float],
                  cols: tuple[float, float]) -> np.ndarray:
    """Area-resample the window ``rows × cols`` of float images (..., H, W) to size × size.

    Exact box integration, separable (``R @ image @ C.T``): no ringing, and no aliasing
    when shrinking; a constant image stays that constant wherever the window covers it.
    """
    images = np.asarray(images, dtype=np.float64)
    r = area_matrix(images.shape[-2], size, *rows)
    c = area_matrix(images.shape[-1], size, *cols)
    return r @ images @ c.T


def _read(path: pathlib.Path) -> np.ndarray:
    """One image as float 0..255, (H, W, 3)."""
    import matplotlib.image

    if SUFFIXES[path.suffix.lower()] == "JPEG":
        try:
            import PIL  # noqa: F401  (matplotlib reads JPEG only through Pillow)
        except ImportError:
            raise ImageFolderError(f"{path}: reading JPEG needs Pillow, which is not "
                                   "installed; pip install pillow, or convert to PNG") from None
    try:
        image = np.asarray(matplotlib.image.imread(path))
    except (OSError, ValueError, SyntaxError) as exc:   # Pillow reports bad data as these
        raise ImageFolderError(f"{path} cannot be read as an image ({exc})") from None
    # imread gives PNG as floats in 0..1 and JPEG as uint8 0..255
    image = image.astype(np.float64) * (255.0 if image.dtype.kind == "f" else 1.0)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise ImageFolderError(f"{path} has shape {image.shape}, not an image")
    return image[:, :, :3] if image.shape[2] >= 3 else np.repeat(image[:, :, :1], 3, axis=2)


def load_folder(folder: pathlib.Path, size: int) -> np.ndarray:
    """Every PNG/JPEG in ``folder`` (sorted by name), central square, uint8 (N, 3, size, size)."""
    if not folder.is_dir():
        raise ImageFolderError(f"{folder} is not a folder; a translation data set needs "
                               f"{', '.join(FOLDERS)} side by side")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)
    if not paths:
        raise ImageFolderError(f"{folder} holds no .png or .jpg images")
    out = np.empty((len(paths), 3, size, size), dtype=np.uint8)
    for n, path in enumerate(paths):
        image = _read(path).transpose(2, 0, 1)                  # (3, H, W)
        h, w = image.shape[1:]
        side = min(h, w)
        rows, cols = ((h - side) / 2, (h + side) / 2), ((w - side) / 2, (w + side) / 2)
        out[n] = np.clip(np.rint(area_resample(image, size, rows, cols)), 0, 255)
    return out


def load_image_folders(root: str | os.PathLike, size: int,
                       folders=FOLDERS) -> dict[str, np.ndarray]:
    """The four folders of a translation data set, each uint8 (N, 3, size, size).

    Raises ImageFolderError (one line) for a missing or empty folder or an unreadable image.
    """
    if size < 1:
        raise ImageFolderError(f"size must be at least 1, got {size}")
    root = pathlib.Path(root).expanduser()
    return {name: load_folder(root / name, size) for name in folders}
