"""The training loop: a progress bar, sample grids and loss curves every epoch,
atomic checkpoints, exact resume, and a clean stop on Ctrl-C.

A run folder holds everything a run makes:

    RUN/config.json              the configuration (and seed) of the run, for people to read
    RUN/checkpoint.npz           weights, optimizer moments, loss history, and (as meta.json
                                 inside the same file) position, RNG state, configuration
    RUN/samples/epoch_NNN.png    100 samples from one fixed z, after each epoch
    RUN/curves.png               losses and D's outputs, per iteration
    RUN/interpolation.png        walks through latent space (at the end)
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
from .autograd import Tensor
from .backend import numpy as np
from .checkpoint import load_checkpoint, save_checkpoint, write_json_atomic
from .errors import CheckpointError, RunFolderError
from .data.mnist import scale_batch
from .models.mlp_gan import MLPGAN, MLPGANConfig

HISTORY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake")
MODEL_NAME = "mnist-gan"
CHECKPOINT = "checkpoint.npz"
LEGACY_META = "checkpoint.json"     # older runs kept the metadata in a second file
START_AGAIN = "start the run again with --overwrite (or train into a new --out)"


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
    if meta["model"] != MODEL_NAME:
        raise CheckpointError(f"{path} holds a {meta['model']!r} run, not {MODEL_NAME!r}")
    return arrays, meta


def read_config(meta: dict, path: Path) -> MLPGANConfig:
    """The configuration stored with a checkpoint: every field there, each value allowed."""
    try:
        cfg = MLPGANConfig.from_dict(meta["config"], strict=True)
        cfg.validate()
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: {exc}; {START_AGAIN}") from None
    return cfg


def model_arrays(arrays: dict) -> dict:
    """The model's own arrays among a checkpoint's (not the loss history or data order)."""
    return {k: v for k, v in arrays.items() if not k.startswith("history/") and k != "order"}


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


def fixed_noise(seed: int, n: int, z_dim: int) -> Tensor:
    """The z behind every epoch's grid: its own generator, so the grid is comparable
    across epochs and the training draws are not disturbed."""
    z = np.random.default_rng([seed, 100]).standard_normal((n, z_dim)).astype("float32")
    return Tensor(backend.xp.asarray(z))


class Trainer:
    """Trains an MLPGAN on uint8 images (N, 784) into a run folder."""

    def __init__(self, cfg: MLPGANConfig, images_uint8, out_dir, seed: int = 0,
                 progress: bool | None = None, log=print, resume_command: str | None = None):
        """``progress``: a live bar (None: only when stderr is a terminal; otherwise one line
        per epoch and no bar, so a redirected log stays readable).  ``resume_command``: what
        the user types to continue after Ctrl-C (the command line knows if make ran it)."""
        if progress is None:
            progress = sys.stderr.isatty()
        self.cfg, self.seed, self.progress, self.log = cfg, seed, progress, log
        self.resume_command = resume_command or \
            f"python -m scratchgan train {MODEL_NAME} --resume --out {out_dir}"
        self.images = images_uint8.reshape(len(images_uint8), -1)
        self.out = Path(out_dir)
        backend.seed(seed)
        self.gan = MLPGAN(cfg)
        self.epoch, self.position = 0, 0           # where the next iteration starts
        self.order = None                          # this epoch's permutation of the data
        self.history = {k: [] for k in HISTORY_KEYS}
        self.epoch_seconds: list[float] = []

    @property
    def iters_per_epoch(self) -> int:
        return len(self.images) // (self.cfg.batch_size * self.cfg.k)

    # --- checkpoints -------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.out / CHECKPOINT

    def save_checkpoint(self) -> None:
        """Weights, history, data order and position in one atomic file (see checkpoint.py)."""
        arrays = {k: backend.to_numpy(v) for k, v in self.gan.state_dict().items()}
        for key in HISTORY_KEYS:
            arrays[f"history/{key}"] = np.asarray(self.history[key], dtype=np.float64)
        if self.order is not None:
            arrays["order"] = self.order
        save_checkpoint(self.checkpoint_path, arrays, {
            "model": MODEL_NAME, "epoch": self.epoch, "position": self.position,
            "seed": self.seed, "rng_state": backend.rng_state(), "config": self.cfg.to_dict(),
            "epoch_seconds": self.epoch_seconds, "backend": backend.name,
        })

    def load_checkpoint(self) -> None:
        arrays, meta = read_checkpoint(self.out)
        try:
            self.gan.load_state_dict(model_arrays(arrays))
            self.history = {k: arrays[f"history/{k}"].tolist() for k in HISTORY_KEYS}
            self.order = arrays.get("order")
            self.epoch, self.position = int(meta["epoch"]), int(meta["position"])
            self.epoch_seconds = list(meta.get("epoch_seconds", []))
            backend.set_rng_state(meta["rng_state"])
        except (KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(f"{self.checkpoint_path} does not fit this run's model "
                                  f"({str(exc).strip(chr(39))}); {START_AGAIN}") from None
        if self.order is not None and len(self.order) != len(self.images):
            raise CheckpointError(f"{self.checkpoint_path} was trained on {len(self.order)} "
                                  f"images, not {len(self.images)}; {START_AGAIN}")

    # --- one epoch --------------------------------------------------------------------
    def run_epoch(self, should_stop=lambda: False, bar=None) -> bool:
        """Train from the current position to the end of the epoch; return True when the
        epoch is complete, False when ``should_stop()`` (Ctrl-C, or a test) ended it early.
        ``should_stop`` is asked between iterations, so a stop never splits one."""
        cfg, batch = self.cfg, self.cfg.batch_size
        self.gan.set_epoch(self.epoch)
        if self.order is None:
            self.order = backend.rng().permutation(len(self.images))
        while self.position < self.iters_per_epoch:
            if should_stop():
                return False
            start = self.position * batch * cfg.k
            # uint8 in memory; each batch is scaled to [−1, 1] as it is used
            reals = [Tensor(scale_batch(self.images[self.order[start + j * batch:
                                                               start + (j + 1) * batch]],
                                        xp=backend.xp))
                     for j in range(cfg.k)]
            stats = self.gan.train_step(reals)
            for key in HISTORY_KEYS:
                self.history[key].append(stats[key])
            self.position += 1
            if bar is not None:
                bar.update(1)
                if self.position % 20 == 0:
                    bar.set_postfix({"D": f"{stats['d_loss']:.3f}", "G": f"{stats['g_loss']:.3f}",
                                     "D(x)": f"{stats['d_real']:.2f}",
                                     "D(G(z))": f"{stats['d_fake']:.2f}"}, refresh=False)
        self.epoch += 1
        self.position = 0
        self.order = None
        return True

    def save_pictures(self) -> Path:
        """This epoch's grid (from the fixed z) and the curves so far; returns the grid's path."""
        z = fixed_noise(self.seed, 100, self.cfg.z_dim)
        grid = self.out / "samples" / f"epoch_{self.epoch:03d}.png"
        viz.save_grid(self.gan.generate(z), grid, title=f"epoch {self.epoch}")
        viz.save_curves(self.history, self.out / "curves.png", self.iters_per_epoch)
        return grid

    # --- the whole run -----------------------------------------------------------------
    def fit(self, epochs: int | None = None) -> None:
        """Train until ``epochs`` (default: the config's) have run; Ctrl-C saves and raises
        Interrupted.  One bar for the whole run (its ETA is the run's), and one line per
        epoch saying how long it took and where its grid went."""
        epochs = epochs or self.cfg.epochs
        self.out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.out / "config.json", {"model": MODEL_NAME,
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
                    grid = self.save_pictures()
                    self.save_checkpoint()
                    h = self.history
                    say(f"epoch {self.epoch}/{epochs}  {self.epoch_seconds[-1]:.1f} s  "
                        f"D {np.mean(h['d_loss'][-per_epoch:]):.3f}  "
                        f"G {np.mean(h['g_loss'][-per_epoch:]):.3f}  -> {grid}")
        finally:
            if bar is not None:
                bar.close()

    def finish(self) -> dict:
        """Interpolation grid and timings (the evaluation is added by the caller)."""
        rng = np.random.default_rng([self.seed, 200])
        z = viz.interpolation_z(rng, self.cfg.z_dim)
        viz.save_grid(self.gan.generate(Tensor(backend.xp.asarray(z))),
                      self.out / "interpolation.png", title="latent interpolation (slerp)")
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
