"""Checkpoints that cannot lie: one file, written atomically, checked when read.

A checkpoint is a single ``.npz`` (loaded with allow_pickle=False, never pickle) that holds
the run's arrays and, under the key ``meta.json``, its metadata (position, RNG state,
configuration) as UTF-8 JSON bytes.  Arrays and metadata are therefore written by one
atomic rename (:func:`scratchgan.fileio.atomic_write`): a kill at any moment leaves the
old checkpoint or the new one, never a new half with an old half.  Reading one checks the
zip's CRC-32 of every member, so a truncated or flipped file is reported as damaged, in one
line that says what the user can do, instead of a ``BadZipFile`` traceback.
"""
from __future__ import annotations

import json
import zipfile

from .backend import numpy as np
from .errors import CheckpointError
from .fileio import atomic_write, remove_orphans

META_KEY = "meta.json"

# what can go wrong reading a damaged .npz: a cut zip, a bad CRC, a mangled .npy header
_DAMAGE = (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, UnicodeDecodeError)


def save_npz_atomic(path, arrays: dict) -> None:
    """arrays: name -> NumPy array (or scalar)."""
    atomic_write(path, lambda f: np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()}))


def write_json_atomic(path, data) -> None:
    atomic_write(path, lambda f: f.write(json.dumps(data, indent=2, sort_keys=True).encode()))


def load_npz(path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def save_checkpoint(path, arrays: dict, meta: dict) -> None:
    """Arrays and metadata in one file, by one atomic rename; stale temporaries removed."""
    blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    save_npz_atomic(path, {**arrays, META_KEY: blob})
    remove_orphans(path.parent, path.name)


def load_checkpoint(path, what_to_do: str = "") -> tuple[dict, dict]:
    """(arrays, meta) of a checkpoint; CheckpointError in one line if missing or damaged.

    ``what_to_do`` completes the message (e.g. how to start the run again)."""
    advice = f"; {what_to_do}" if what_to_do else ""
    if not path.is_file():
        raise CheckpointError(f"{path} is missing{advice}")
    try:
        arrays = load_npz(path)
        meta = json.loads(bytes(arrays.pop(META_KEY)).decode())
        if not isinstance(meta, dict):
            raise ValueError("its metadata is not a JSON object")
    except _DAMAGE as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path} is damaged and cannot be read ({reason}){advice}") from None
    return arrays, meta
