"""Two unpaired domains for CycleGAN: MNIST (X) and the Dutch map numerals of mfeat-pix (Y).

Both are handwritten digits with ink high on black, so what a translation has to learn is
the style: MNIST's thin, anti-aliased pen strokes against mfeat's thick strokes in seven
grey levels, stretched to fill their box (a mfeat 1 is a broad bar).

One frame for both, ``size × size`` (16 by default), by area resampling:

    MNIST   the central 24 × 24 of the 28 × 28 image.  It keeps 99.7% of the ink (measured
            on 10,000 training digits), where the central 20 × 20 keeps 96.6% and cuts
            more than 2% off 63% of the digits.  The 20-pixel digit box is then 5/6 of
            the frame: about 13 of 16 pixels.
    mfeat   levels 0..6 → 0..255, and the 16 × 15 box put in a frame of 16 · 6/5 = 19.2
            pixels around its centre, so that its digit also fills 5/6 of the frame.

16 × 16 rather than 28 × 28: mfeat holds 16 rows of information, so a larger frame only
interpolates it, and every convolution costs 784 / 256 ≈ 3× less.

The splits are fixed rules, not draws, so they never depend on a seed or a NumPy version:

    X train   the first ``x_train_per_class`` (150) digits of each class of MNIST train
    X test    the first ``x_test_per_class`` (50) of each class of MNIST test
    Y         within each class, in file order, every 4th digit (positions 3, 7, ...) is
              test: 150 train / 50 test per class

    d = load_domains()               # d.x_train (1500, 16, 16) uint8, d.y_test (500, 16, 16)
    data = d.unpaired()              # data[indices] -> (x batch, y batch) for the loop
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, NamedTuple

from ..backend import numpy as np   # data lives on the CPU, as uint8
from .folders import area_resample
from .mfeat import LEVELS, SHAPE, load_mfeat
from .mnist import load_mnist
from .toy2d import ring_centres

__all__ = ["Domains", "ToyPair", "UnpairedBatches", "load_domains",
           "make_domains", "mfeat_to_frame", "mnist_to_frame", "ring_pair", "rotate_scale"]

MNIST_WINDOW = (2.0, 26.0)          # the central 24 × 24 of 28 × 28
MFEAT_FRAME = SHAPE[0] * 24 / 20    # 19.2: mfeat's 16 rows fill 20/24 of it, as MNIST's 20
Y_TEST_EVERY = 4                    # within a class, positions 3, 7, 11, ... are test


def _to_uint8(images: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def mnist_to_frame(images, size: int = 16) -> np.ndarray:
    """uint8 (N, 28, 28) → uint8 (N, size, size): the central 24 × 24, area-resampled."""
    return _to_uint8(area_resample(images, size, MNIST_WINDOW, MNIST_WINDOW))


def mfeat_to_frame(pixels, size: int = 16) -> np.ndarray:
    """levels 0..6 (N, 16, 15) → uint8 (N, size, size), digit centred in a 19.2 frame."""
    rows, cols = (np.array(SHAPE) - MFEAT_FRAME) / 2            # (−1.6, −2.1)
    scaled = np.asarray(pixels, dtype=np.float64) * (255.0 / LEVELS)
    return _to_uint8(area_resample(scaled, size, (rows, rows + MFEAT_FRAME),
                                   (cols, cols + MFEAT_FRAME)))


def _first_per_class(labels: np.ndarray, count: int, what: str) -> np.ndarray:
    """Indices of the first ``count`` of each class 0..9, in class order."""
    chosen = []
    for digit in range(10):
        where = np.flatnonzero(labels == digit)
        if len(where) < count:
            raise ValueError(f"{what} has {len(where)} digits of class {digit}, "
                             f"fewer than the {count} asked for")
        chosen.append(where[:count])
    return np.concatenate(chosen)


@dataclass(frozen=True)
class Domains:
    """X = MNIST and Y = mfeat-pix in one frame: uint8 (N, size, size), labels uint8 (N,)."""
    x_train: np.ndarray
    x_train_labels: np.ndarray
    x_test: np.ndarray
    x_test_labels: np.ndarray
    y_train: np.ndarray
    y_train_labels: np.ndarray
    y_test: np.ndarray
    y_test_labels: np.ndarray

    def unpaired(self, seed: int = 0, x_labels: bool = False) -> "UnpairedBatches":
        """The training pairs; with ``x_labels`` each batch also carries its x's labels
        (the source domain's, which a semantic term may use; Y's are never handed out)."""
        return UnpairedBatches(self.x_train, self.y_train, seed,
                               x_labels=self.x_train_labels if x_labels else None)


def make_domains(mnist_train, mnist_test, mfeat, size: int = 16,
                 x_train_per_class: int = 150, x_test_per_class: int = 50) -> Domains:
    """The splits of the module docstring, from (images, labels) pairs already loaded."""
    (xa, xa_labels), (xb, xb_labels), (y, y_labels) = mnist_train, mnist_test, mfeat
    train = _first_per_class(xa_labels, x_train_per_class, "MNIST train")
    test = _first_per_class(xb_labels, x_test_per_class, "MNIST test")
    y_labels = np.asarray(y_labels)
    position = np.empty(len(y_labels), dtype=np.int64)   # rank of each digit in its class
    for digit in range(10):
        where = np.flatnonzero(y_labels == digit)
        position[where] = np.arange(len(where))
    held_out = position % Y_TEST_EVERY == Y_TEST_EVERY - 1
    order = np.argsort(y_labels, kind="stable")          # class order, file order within
    y_train = order[~held_out[order]]
    y_test = order[held_out[order]]
    y_frames = mfeat_to_frame(y, size)
    return Domains(mnist_to_frame(xa[train], size), xa_labels[train],
                   mnist_to_frame(xb[test], size), xb_labels[test],
                   y_frames[y_train], y_labels[y_train], y_frames[y_test], y_labels[y_test])


def load_domains(size: int = 16, *, x_train_per_class: int = 150,
                 x_test_per_class: int = 50, mnist_root: str | os.PathLike | None = None,
                 mfeat_root: str | os.PathLike | None = None,
                 log: Callable[[str], None] = print, mnist_kwargs: dict | None = None,
                 mfeat_kwargs: dict | None = None) -> Domains:
    """MNIST and mfeat-pix, fetched and verified as needed, split and framed.

    Raises MnistUnavailable or MfeatUnavailable (one line each, both caught by the
    command line) when a data set cannot be had.
    """
    mnist_kwargs = dict(mnist_kwargs or {}, log=log)
    return make_domains(load_mnist("train", mnist_root, **mnist_kwargs),
                        load_mnist("test", mnist_root, **mnist_kwargs),
                        load_mfeat(mfeat_root, log=log, **(mfeat_kwargs or {})),
                        size, x_train_per_class, x_test_per_class)


class UnpairedBatches:
    """Two unpaired domains as one indexable data set for the training loop.

    ``len`` is the larger domain's size; ``data[indices]`` is an (x, y) pair of batches
    (and the x's labels, when given): the larger domain's items at the indices and, for the smaller, ``j = perm[indices % len(small)]``
    for one permutation drawn at construction from ``seed``.  As the loop shuffles the
    indices each epoch, every digit of the smaller domain appears ⌊L/S⌋ or ⌈L/S⌉ times per
    epoch.  The matching of an x with its y is fixed but random: a y's class agrees with
    its x's 1 time in 10 (without the permutation two class-sorted domains would pair
    every 3 with a 3: paired data by accident).  Fixed keeps ``data[indices]`` a pure
    function of the indices, so a resumed run sees the same batches.
    """

    def __init__(self, x, y, seed: int = 0, x_labels=None):
        self.x, self.y, self.x_labels = x, y, x_labels
        self.x_is_larger = len(x) >= len(y)
        small = len(y) if self.x_is_larger else len(x)
        if small == 0:
            raise ValueError("a domain with no images cannot be trained on")
        self.perm = np.random.default_rng(seed).permutation(small)

    def __len__(self) -> int:
        return max(len(self.x), len(self.y))

    def __getitem__(self, indices):
        indices = np.asarray(indices)
        other = self.perm[indices % len(self.perm)]
        ix, iy = (indices, other) if self.x_is_larger else (other, indices)
        if self.x_labels is None:
            return self.x[ix], self.y[iy]
        return self.x[ix], self.y[iy], self.x_labels[ix]


# --- a 2-D pair for the lesson's pictures ------------------------------------------------------

class ToyPair(NamedTuple):
    x: np.ndarray             # float32 (n, 2), the ring
    y: np.ndarray             # float32 (n, 2), drawn independently, the ring rotated and scaled
    x_centres: np.ndarray     # float32 (modes, 2)
    y_centres: np.ndarray     # float32 (modes, 2): y_centres[k] = rotate_scale(x_centres[k])


def rotate_scale(points, angle: float = np.pi / 8, scale: float = 1.5) -> np.ndarray:
    """The intended map X → Y: rotate by ``angle`` about the origin, then scale."""
    c, s = np.cos(angle), np.sin(angle)
    return (scale * np.asarray(points) @ np.array([[c, s], [-s, c]])).astype(np.float32)


def ring_pair(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05,
              angle: float = np.pi / 8, scale: float = 1.5, rng=None) -> ToyPair:
    """X: ``modes`` Gaussians on a ring; Y: the same mixture mapped by :func:`rotate_scale`.

    The adversarial loss only asks that G(X) look like Y: any of the modes! ways of
    sending X's modes onto Y's does, and with F = G⁻¹ each is cycle-consistent too.  Which
    one a trained G picks (nearest Y centre of G(x_centres[k]) = k?) is the lesson.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    x_centres = ring_centres(modes, radius)
    y_centres = rotate_scale(x_centres, angle, scale)

    def draw(centres, spread):
        which = rng.integers(0, modes, size=n)
        return (centres[which] + spread * rng.standard_normal((n, 2))).astype(np.float32)

    return ToyPair(draw(x_centres, std), draw(y_centres, std * scale), x_centres, y_centres)
