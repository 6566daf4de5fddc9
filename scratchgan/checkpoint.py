"""Atomic files: a crash (or Ctrl-C) mid-write never leaves a half-written checkpoint.

Each file is written to a temporary name in the same folder, flushed to disk, and renamed
over the target (``os.replace`` is atomic on POSIX and Windows).  Arrays go to ``.npz``
(loaded with allow_pickle=False, never pickle); everything else to JSON.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .backend import numpy as np


def _atomic_write(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
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


def save_npz_atomic(path, arrays: dict) -> None:
    """arrays: name -> NumPy array (or scalar)."""
    _atomic_write(path, lambda f: np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()}))


def write_json_atomic(path, data) -> None:
    _atomic_write(path, lambda f: f.write(json.dumps(data, indent=2, sort_keys=True).encode()))


def load_npz(path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
