"""Atomic files: a crash (or Ctrl-C) mid-write never leaves a half-written checkpoint.

Each file is written to a temporary name in the same folder, flushed to disk, and renamed
over the target (``os.replace`` is atomic on POSIX and Windows).  Arrays go to ``.npz``
(loaded with allow_pickle=False, never pickle); everything else to JSON.
"""
from __future__ import annotations

import json

from .backend import numpy as np
from .fileio import atomic_write as _atomic_write


def save_npz_atomic(path, arrays: dict) -> None:
    """arrays: name -> NumPy array (or scalar)."""
    _atomic_write(path, lambda f: np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()}))


def write_json_atomic(path, data) -> None:
    _atomic_write(path, lambda f: f.write(json.dumps(data, indent=2, sort_keys=True).encode()))


def load_npz(path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
