"""The training loop: a progress bar, sample grids and loss curves every epoch,
atomic checkpoints, exact resume, and a clean stop on Ctrl-C.

A run folder holds everything a run makes:

    RUN/config.json              the configuration (and seed) of the run
    RUN/checkpoint.npz / .json   weights, optimizer moments, loss history; position, RNG state
    RUN/samples/epoch_NNN.png    100 samples from one fixed z, after each epoch
    RUN/curves.png               losses and D's outputs, per iteration
    RUN/interpolation.png        walks through latent space (at the end)
    RUN/metrics.json             the evaluator's scores and the run's timings (at the end)

Exact resume: the checkpoint stores, beside the weights, the state of the one random
generator every draw comes from (``backend.rng_state()``), the current epoch's data order
and the position in it; a resumed run therefore makes the same draws in the same order,
and its losses equal an uninterrupted run's bit for bit.
"""
from __future__ import annotations

import json
import resource
import signal
import sys
import time
from pathlib import Path

from tqdm import tqdm

from . import backend, viz
from .autograd import Tensor
from .backend import numpy as np
from .checkpoint import load_npz, save_npz_atomic, write_json_atomic
from .data.mnist import scale_batch
from .models.mlp_gan import MLPGAN, MLPGANConfig

HISTORY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake")


class Interrupted(Exception):
    """Raised inside the loop when the user presses Ctrl-C (after a checkpoint is saved)."""


def fixed_noise(seed: int, n: int, z_dim: int) -> Tensor:
    """The z behind every epoch's grid: its own generator, so the grid is comparable
    across epochs and the training draws are not disturbed."""
    z = np.random.default_rng([seed, 100]).standard_normal((n, z_dim)).astype("float32")
    return Tensor(backend.xp.asarray(z))


class Trainer:
    """Trains an MLPGAN on uint8 images (N, 784) into a run folder."""

    def __init__(self, cfg: MLPGANConfig, images_uint8, out_dir, seed: int = 0,
                 progress: bool = True, log=print):
        self.cfg, self.seed, self.progress, self.log = cfg, seed, progress, log
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
    def save_checkpoint(self) -> None:
        arrays = {k: backend.to_numpy(v) for k, v in self.gan.state_dict().items()}
        for key in HISTORY_KEYS:
            arrays[f"history/{key}"] = np.asarray(self.history[key], dtype=np.float64)
        if self.order is not None:
            arrays["order"] = self.order
        save_npz_atomic(self.out / "checkpoint.npz", arrays)
        # the JSON is written second: a crash between the two leaves an older JSON that
        # still matches an .npz written atomically, never a half file
        write_json_atomic(self.out / "checkpoint.json", {
            "epoch": self.epoch, "position": self.position, "seed": self.seed,
            "rng_state": backend.rng_state(), "config": self.cfg.to_dict(),
            "epoch_seconds": self.epoch_seconds, "backend": backend.name,
        })

    def load_checkpoint(self) -> None:
        meta = json.loads((self.out / "checkpoint.json").read_text())
        arrays = load_npz(self.out / "checkpoint.npz")
        self.gan.load_state_dict({k: v for k, v in arrays.items()
                                  if not k.startswith("history/") and k != "order"})
        self.history = {k: arrays[f"history/{k}"].tolist() for k in HISTORY_KEYS}
        self.order = arrays.get("order")
        self.epoch, self.position = meta["epoch"], meta["position"]
        self.epoch_seconds = meta.get("epoch_seconds", [])
        backend.set_rng_state(meta["rng_state"])

    # --- one epoch --------------------------------------------------------------------
    def run_epoch(self, should_stop=lambda: False) -> bool:
        """Train from the current position to the end of the epoch; return True when the
        epoch is complete, False when ``should_stop()`` (Ctrl-C, or a test) ended it early.
        ``should_stop`` is asked between iterations, so a stop never splits one."""
        cfg, batch = self.cfg, self.cfg.batch_size
        self.gan.set_epoch(self.epoch)
        if self.order is None:
            self.order = backend.rng().permutation(len(self.images))
        bar = tqdm(total=self.iters_per_epoch, initial=self.position, disable=not self.progress,
                   desc=f"epoch {self.epoch + 1}/{cfg.epochs}", leave=True, dynamic_ncols=True)
        try:
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
                bar.update(1)
                if self.position % 20 == 0:
                    bar.set_postfix({"D": f"{stats['d_loss']:.3f}", "G": f"{stats['g_loss']:.3f}",
                                     "D(x)": f"{stats['d_real']:.2f}",
                                     "D(G(z))": f"{stats['d_fake']:.2f}"}, refresh=False)
        finally:
            bar.close()
        self.epoch += 1
        self.position = 0
        self.order = None
        return True

    def save_pictures(self) -> None:
        z = fixed_noise(self.seed, 100, self.cfg.z_dim)
        viz.save_grid(self.gan.generate(z), self.out / "samples" / f"epoch_{self.epoch:03d}.png",
                      title=f"epoch {self.epoch}")
        viz.save_curves(self.history, self.out / "curves.png", self.iters_per_epoch)

    # --- the whole run -----------------------------------------------------------------
    def fit(self, epochs: int | None = None) -> None:
        """Train until ``epochs`` (default: the config's) have run; Ctrl-C saves and raises
        Interrupted."""
        epochs = epochs or self.cfg.epochs
        self.out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.out / "config.json", {"config": self.cfg.to_dict(), "seed": self.seed})
        with _ctrl_c_deferred() as ctrl_c:
            while self.epoch < epochs:
                start = time.perf_counter()
                if not self.run_epoch(should_stop=lambda: ctrl_c.pressed):
                    self.save_checkpoint()
                    raise Interrupted(f"stopped in epoch {self.epoch + 1} after iteration "
                                      f"{self.position}; checkpoint saved in {self.out} — "
                                      f"continue with --resume")
                self.epoch_seconds.append(round(time.perf_counter() - start, 2))
                self.save_pictures()
                self.save_checkpoint()

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
