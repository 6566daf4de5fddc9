"""Data sets at the edge of scratchgan: fetched, verified, cached as uint8, scaled per batch."""
from .mnist import (FILES, MIRRORS, PACKAGES, MnistUnavailable, encode_idx, ensure_mnist,
                    load_mnist, mnist_dir, read_idx, scale_batch)

__all__ = ["FILES", "MIRRORS", "PACKAGES", "MnistUnavailable", "encode_idx", "ensure_mnist",
           "load_mnist", "mnist_dir", "read_idx", "scale_batch"]
from .domains import Domains, ToyPair, UnpairedBatches, load_domains, ring_pair
from .folders import ImageFolderError, load_image_folders
from .mfeat import MfeatUnavailable, load_mfeat

__all__ += ["Domains", "ImageFolderError", "MfeatUnavailable", "ToyPair", "UnpairedBatches",
            "load_domains", "load_image_folders", "load_mfeat", "ring_pair"]
