"""The one training loop for every model: a progress bar, pictures and loss curves every
epoch, atomic checkpoints, exact resume, and a clean stop on Ctrl-C.  A model reaches it
only through the contract in ``models/base.py``.

A run folder holds everything a run makes:

    RUN/config.json              the configuration (and seed) of the run, for people to read
    RUN/checkpoint.npz           weights, optimizer moments, loss history, and (as meta.json
                                 inside the same file) position, RNG state, configuration
    RUN/samples/epoch_NNN.png    the model's picture after each epoch (a fixed-z grid)
    RUN/curves.png               the numbers train_step returns, per iteration
    RUN/interpolation.png        (image GANs) walks through latent space, at the end
    RUN/metrics.json             the evaluator's scores and the run's timings (at the end)

Exact resume: the checkpoint stores, beside the weights, the state of the one random
generator every draw comes from (``backend.rng_state()``), the current epoch's data order
and the position in it; a resumed run therefore makes the same draws in the same order,
and its losses equal an uninterrupted run's bit for bit.

Nothing is lost by accident: a folder that holds a run is never trained into unless the
user asks to resume it (which continues it exactly) or to overwrite it (which first moves
the old run aside in one rename, so that a kill leaves one run or the other).
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sys
import time
from pathlib import Path

from tqdm import tqdm

from . import backend, viz
from .backend import numpy as np
from .checkpoint import load_checkpoint, save_checkpoint, write_json_atomic
from .errors import CheckpointError, RunFolderError
from .models import MODELS, model_class

CHECKPOINT = "checkpoint.npz"
LEGACY_META = "checkpoint.json"     # older runs kept the metadata in a second file
START_AGAIN = "start the run again with --overwrite (or train into a new --out)"
READ_EVERY = 20                     # iterations between reads of the losses from the device


class Interrupted(Exception):
    """Raised inside the loop when the user presses Ctrl-C (after a checkpoint is saved)."""


# --- run folders ---------------------------------------------------------------------------
def is_run_folder(out: Path) -> bool:
    """Does ``out`` hold (the start of) a run?  A run writes config.json before anything."""
    return any((out / name).exists() for name in ("config.json", CHECKPOINT, LEGACY_META))


def read_checkpoint(out: Path) -> tuple[dict, dict]:
    """(arrays, meta) of the run in ``out``; CheckpointError in one line when it cannot be."""
    path = out / CHECKPOINT
    if not path.exists() and (out / "config.json").exists():
        raise CheckpointError(f"{out} holds a run that stopped before its first checkpoint "
                              f"(there is no {CHECKPOINT}); {START_AGAIN}")
    if not path.exists():
        raise CheckpointError(f"{out} holds no run (no {CHECKPOINT}): is this a folder made by "
                              f"'python -m scratchgan train'?")
    legacy = out / LEGACY_META
    if legacy.exists():
        raise CheckpointError(f"{out} was written by an older scratchgan (the checkpoint in two "
                              f"files, {CHECKPOINT} and {LEGACY_META}, which could disagree); "
                              f"{START_AGAIN}")
    arrays, meta = load_checkpoint(path, what_to_do=START_AGAIN)
    missing = [k for k in ("model", "epoch", "position", "seed", "rng_state", "config")
               if k not in meta]
    if missing:
        raise CheckpointError(f"{path} is damaged: its metadata lacks {', '.join(missing)}; "
                              f"{START_AGAIN}")
    if meta["model"] not in MODELS:
        raise CheckpointError(f"{path} holds a {meta['model']!r} run, a model this scratchgan "
                              f"does not have ({', '.join(MODELS)})")
    return arrays, meta


def read_config(meta: dict, path: Path):
    """The configuration stored with a checkpoint: every field there, each value allowed."""
    config_class = model_class(meta["model"]).Config
    try:
        cfg = config_class.from_dict(meta["config"], strict=True)
        cfg.validate()
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: {exc}; {START_AGAIN}") from None
    return cfg


def model_arrays(arrays: dict) -> dict:
    """The model's own arrays among a checkpoint's (not the loss history or data order)."""
    return {k: v for k, v in arrays.items() if not k.startswith("history/") and k != "order"}


def load_model(out: Path):
    """The model of a run folder, restored from its checkpoint (CheckpointError if it
    cannot be, in one line); ``model.epoch`` says how many epochs it trained."""
    arrays, meta = read_checkpoint(out)
    model = model_class(meta["model"])(read_config(meta, out / CHECKPOINT))
    try:
        model.load_state_dict(model_arrays(arrays))
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{out / CHECKPOINT} does not fit its own configuration "
                              f"({str(exc).strip(chr(39))}); {START_AGAIN}") from None
    model.epoch = int(meta["epoch"])
    return model


def run_is_finished(meta: dict) -> bool:
    return meta["epoch"] >= meta["config"]["epochs"] and meta["position"] == 0


def replace_run_folder(out: Path) -> None:
    """Clear a run folder for a new run, asked for with --overwrite.

    The old run is first renamed aside in one step (atomic on one file system) and only then
    deleted, so a kill at any moment leaves the old run whole (in ``.NAME.replaced-*`` if
    the kill came mid-delete) or an empty folder — never new files beside an old
    checkpoint.  Leftovers of such a kill are deleted the next time.
    """
    if out.exists() and not is_run_folder(out) and any(out.iterdir()):
        raise RunFolderError(f"{out} is not a run folder (no config.json or {CHECKPOINT}) and "
                             f"is not empty: --overwrite only replaces runs; choose another --out")
    for leftover in out.parent.glob(f".{out.name}.replaced-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    if out.exists():
        aside = out.with_name(f".{out.name}.replaced-{os.getpid()}")
        os.rename(out, aside)
        shutil.rmtree(aside, ignore_errors=True)


def update_metrics(out: Path, **sections) -> dict:
    """Merge sections into RUN/metrics.json (read, change, write atomically): what a run
    has measured is never dropped; an evaluation of an earlier epoch is kept in
    ``earlier_evaluations`` when a new one replaces it."""
    path = out / "metrics.json"
    try:
        metrics = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        metrics = {}
    if not isinstance(metrics, dict):
        metrics = {}
    new_eval, old_eval = sections.get("evaluation"), metrics.get("evaluation")
    if new_eval is not None and old_eval is not None and \
            old_eval.get("epoch") != new_eval.get("epoch"):
        metrics.setdefault("earlier_evaluations", []).append(old_eval)
    metrics.update(sections)
    write_json_atomic(path, metrics)
    return metrics


def _say(line: str) -> None:
    """One line of the run's log, flushed at once: a redirected log shows each epoch as it
    ends, not when the buffer fills."""
    print(line, flush=True)


class Trainer:
    """Trains any model (see ``models/base.py``) on its data into a run folder."""

    def __init__(self, model, data, out_dir, seed: int = 0, progress: bool | None = None,
                 log=_say, resume_command: str | None = None, read_every: int = READ_EVERY):
        """``model`` is built by the caller, after seeding (``Trainer.create`` does both).
        ``seed`` is recorded with the run and fixes the pictures' z.  ``progress``: a live
        bar (None: only when stderr is a terminal; otherwise one line per epoch and no
        bar, so a redirected log stays readable).  ``resume_command``: what the user types
        to continue after Ctrl-C (the command line knows if make ran it)."""
        if progress is None:
            progress = sys.stderr.isatty()
        self.model, self.data, self.seed = model, data, seed
        self.cfg = model.cfg
        self.progress, self.log, self.read_every = progress, log, read_every
        self.out = Path(out_dir)
        self.resume_command = resume_command or \
            f"python -m scratchgan train {model.name} --resume --out {out_dir}"
        self.epoch, self.position = 0, 0           # where the next iteration starts
        self.order = None                          # this epoch's permutation of the data
        self.history = {k: [] for k in model.history_keys}
        self._pending: list[dict] = []             # stats still on the device
        self.epoch_seconds: list[float] = []

    @classmethod
    def create(cls, model_cls, cfg, data, out_dir, seed: int = 0, **kwargs) -> "Trainer":
        """Seed every generator (a run's entry point), build the model, wrap it."""
        backend.seed(seed)
        return cls(model_cls(cfg), data, out_dir, seed=seed, **kwargs)

    @property
    def gan(self):
        return self.model

    @property
    def iters_per_epoch(self) -> int:
        return len(self.data) // self.model.samples_per_step

    # --- the losses, read from the device every few iterations -------------------------
    def _record(self, stats: dict) -> None:
        self._pending.append(stats)
        if len(self._pending) >= self.read_every:
            self._flush()

    def _flush(self) -> None:
        """Move the pending stats to the host in one transfer per key, into the history."""
        if not self._pending:
            return
        for key in self.history:
            values = [s[key] for s in self._pending]
            if all(isinstance(v, float) for v in values):
                self.history[key].extend(values)
            else:
                xp = backend.get_array_module(values[0])
                stacked = xp.stack([xp.asarray(v, dtype=xp.float64) for v in values])
                self.history[key].extend(backend.to_numpy(stacked).tolist())
        self._pending = []

    # --- checkpoints -------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.out / CHECKPOINT

    def save_checkpoint(self) -> None:
        """Weights, history, data order and position in one atomic file (see checkpoint.py)."""
        self._flush()
        arrays = {k: backend.to_numpy(v) for k, v in self.model.state_dict().items()}
        for key in self.history:
            arrays[f"history/{key}"] = np.asarray(self.history[key], dtype=np.float64)
        if self.order is not None:
            arrays["order"] = self.order
        save_checkpoint(self.checkpoint_path, arrays, {
            "model": self.model.name, "epoch": self.epoch, "position": self.position,
            "seed": self.seed, "rng_state": backend.rng_state(), "config": self.cfg.to_dict(),
            "epoch_seconds": self.epoch_seconds, "backend": backend.name,
        })

    def load_checkpoint(self) -> None:
        arrays, meta = read_checkpoint(self.out)
        if meta["model"] != self.model.name:
            raise CheckpointError(f"{self.checkpoint_path} holds a {meta['model']!r} run, "
                                  f"not {self.model.name!r}")
        try:
            self.model.load_state_dict(model_arrays(arrays))
            self.history = {k: arrays[f"history/{k}"].tolist() for k in self.model.history_keys}
            self.order = arrays.get("order")
            self.epoch, self.position = int(meta["epoch"]), int(meta["position"])
            self.epoch_seconds = list(meta.get("epoch_seconds", []))
            backend.set_rng_state(meta["rng_state"])
        except (KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(f"{self.checkpoint_path} does not fit this run's model "
                                  f"({str(exc).strip(chr(39))}); {START_AGAIN}") from None
        self._pending = []
        if self.order is not None and len(self.order) != len(self.data):
            raise CheckpointError(f"{self.checkpoint_path} was trained on {len(self.order)} "
                                  f"items, not {len(self.data)}; {START_AGAIN}")

    # --- one epoch --------------------------------------------------------------------
    def run_epoch(self, should_stop=lambda: False, bar=None) -> bool:
        """Train from the current position to the end of the epoch; return True when the
        epoch is complete, False when ``should_stop()`` (Ctrl-C, or a test) ended it early.
        ``should_stop`` is asked between iterations, so a stop never splits one."""
        step = self.model.samples_per_step
        self.model.set_epoch(self.epoch)
        if self.order is None:
            self.order = backend.rng().permutation(len(self.data))
        while self.position < self.iters_per_epoch:
            if should_stop():
                self._flush()
                return False
            start = self.position * step
            self._record(self.model.train_step(self.data[self.order[start:start + step]]))
            self.position += 1
            if bar is not None:
                bar.update(1)
                if not self._pending:                   # just read back: show them
                    bar.set_postfix({k: f"{self.history[k][-1]:.3f}" for k in self.history},
                                    refresh=False)
        self._flush()
        self.epoch += 1
        self.position = 0
        self.order = None
        return True

    def save_pictures(self) -> Path:
        """The model's picture of this epoch and the curves so far; returns the picture."""
        picture = self.model.save_pictures(self.out, self.epoch, self.seed)
        viz.save_curves(self.history, self.out / "curves.png", self.iters_per_epoch,
                        panels=self.model.curve_panels())
        return picture

    # --- the whole run -----------------------------------------------------------------
    def fit(self, epochs: int | None = None) -> None:
        """Train until ``epochs`` (default: the config's) have run; Ctrl-C saves and raises
        Interrupted.  One bar for the whole run (its ETA is the run's), and one line per
        epoch saying how long it took and where its picture went."""
        epochs = epochs or self.cfg.epochs
        self.out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.out / "config.json", {"model": self.model.name,
                                                     "config": self.cfg.to_dict(),
                                                     "seed": self.seed})
        per_epoch = self.iters_per_epoch
        bar = tqdm(total=epochs * per_epoch, initial=self.epoch * per_epoch + self.position,
                   unit="it", dynamic_ncols=True, leave=False) if self.progress else None
        say = tqdm.write if bar is not None else self.log
        try:
            with _ctrl_c_deferred() as ctrl_c:
                while self.epoch < epochs:
                    if bar is not None:
                        bar.set_description(f"epoch {self.epoch + 1}/{epochs}")
                    start = time.perf_counter()
                    if not self.run_epoch(should_stop=lambda: ctrl_c.pressed, bar=bar):
                        self.save_checkpoint()
                        raise Interrupted(
                            f"stopped in epoch {self.epoch + 1} after iteration {self.position} "
                            f"of {per_epoch}; checkpoint saved in {self.out}\n"
                            f"continue with: {self.resume_command}")
                    self.epoch_seconds.append(round(time.perf_counter() - start, 2))
                    picture = self.save_pictures()
                    self.save_checkpoint()
                    means = "  ".join(f"{k} {np.mean(v[-per_epoch:]):.3f}"
                                      for k, v in self.history.items())
                    say(f"epoch {self.epoch}/{epochs}  {self.epoch_seconds[-1]:.1f} s  "
                        f"{means}  -> {picture}")
        finally:
            if bar is not None:
                bar.close()

    def finish(self) -> dict:
        """The model's final pictures and the run's timings (the evaluation is added by the
        caller)."""
        self.model.final_pictures(self.out, self.seed)
        return {
            "epochs": self.epoch,
            "seconds_per_epoch": self.epoch_seconds,
            "mean_seconds_per_epoch": round(float(np.mean(self.epoch_seconds)), 2)
            if self.epoch_seconds else None,
            "peak_rss_mb": peak_rss_mb(),
            "backend": backend.name,
        }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


class _ctrl_c_deferred:
    """While training, the first Ctrl-C only sets a flag: the current iteration finishes,
    a checkpoint is written, and the run stops cleanly.  A second Ctrl-C stops at once."""

    pressed = False

    def __enter__(self):
        self.pressed = False
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:               # not the main thread: leave signals alone
            self._previous = None
        return self

    def _handler(self, signum, frame):
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True
        print("\nCtrl-C: finishing this iteration, saving a checkpoint, then stopping "
              "(press again to stop at once)", file=sys.stderr)

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False
