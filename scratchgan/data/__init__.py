"""Data sets at the edge of scratchgan: fetched, verified, cached as uint8, scaled per batch."""
from .mnist import (FILES, MIRRORS, PACKAGES, MnistUnavailable, encode_idx, ensure_mnist,
                    load_mnist, mnist_dir, read_idx, scale_batch)

__all__ = ["FILES", "MIRRORS", "PACKAGES", "MnistUnavailable", "encode_idx", "ensure_mnist",
           "load_mnist", "mnist_dir", "read_idx", "scale_batch"]
