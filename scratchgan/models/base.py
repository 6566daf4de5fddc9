"""The contract between a model and everything every model shares.

The one loop (``train.py``), the checkpoints and the command line (``__main__.py``) know a
model only through this contract, so a model file holds only what differs between models:

    name            the registry key, e.g. "mnist-gan": ``python -m scratchgan train NAME``
    Config          its configuration dataclass (a ``scratchgan.config.Config``); every field
                    can be set with ``--set KEY=VALUE``, and ``validate()`` refuses bad values
    PRESETS         named configurations; "default" is what ``train NAME`` uses
    history_keys    the numbers ``train_step`` returns, in the order the bar and curves show
    load_data(cfg)  the training data as a host array (or anything indexable by an array of
                    indices, with a length): the loop draws the order and slices it
    samples_per_step   how many items of the data one ``train_step`` consumes
    check_data(data)   refuse (ConfigError, one line) data this configuration cannot train
                    on, before any work starts
    train_step(batch)  one iteration on ``data[indices]``; returns {key: 0-d device array or
                    float}: the loop reads them back to the host only every few iterations,
                    so the step itself makes no device→host transfer
    set_epoch(e)    per-epoch state (learning-rate schedules), a function of e alone
    state_dict() / load_state_dict()   every array of the model and its optimizers, flat
    save_pictures(out, epoch, seed)    what a person looks at after each epoch; returns a path
    final_pictures(out, seed)          what is drawn once at the end (an interpolation)
    evaluate(n, seed) -> dict          the evaluation that suits the model
    report(scores) -> str              those scores as a table for the terminal
    sample_uint8(n, seed)              n outputs as uint8 images (``python -m scratchgan sample``)

:class:`DigitGAN` implements the parts that every unconditional MNIST GAN shares: a fixed-z
grid each epoch, a latent interpolation, and the MNIST classifier's scores.
"""
from __future__ import annotations

from pathlib import Path

from .. import backend, viz
from ..autograd import Tensor
from ..backend import numpy as np


class Model:
    """Base of every model: the defaults of the contract above."""
    name: str = ""
    Config: type = None
    PRESETS: dict = {}
    history_keys: tuple = ()

    @classmethod
    def load_data(cls, cfg):
        raise NotImplementedError

    @property
    def samples_per_step(self) -> int:
        return self.cfg.batch_size

    def check_data(self, data) -> None:
        pass

    def set_epoch(self, epoch: int) -> None:
        pass

    def final_pictures(self, out: Path, seed: int) -> None:
        pass

    def curve_panels(self) -> list:
        """The loss-curve figure: (y label, [(history key, legend)], a reference line)."""
        return [("loss", [(k, k) for k in self.history_keys], None)]


def fixed_noise(seed: int, n: int, z_dim: int) -> Tensor:
    """The z behind every epoch's grid: its own generator, so the grid is comparable
    across epochs and the training draws are not disturbed."""
    z = np.random.default_rng([seed, 100]).standard_normal((n, z_dim)).astype("float32")
    return Tensor(backend.xp.asarray(z))


def to_uint8(images) -> "np.ndarray":
    """Images in [−1, 1] (any array, any backend) → host uint8 0..255."""
    host = backend.to_numpy(images.data if isinstance(images, Tensor) else images)
    return np.clip(np.rint((host + 1) * 127.5), 0, 255).astype(np.uint8)


class DigitGAN(Model):
    """An unconditional GAN on MNIST: G maps z (N, z_dim) to images in [−1, 1]; the model
    subclass builds G and D and writes ``train_step`` and ``generate``."""
    history_keys = ("d_loss", "g_loss", "d_real", "d_fake")

    @classmethod
    def load_data(cls, cfg):
        from ..data.mnist import load_mnist
        images, _ = load_mnist("train")
        return images

    @property
    def samples_per_step(self) -> int:
        return self.cfg.batch_size * getattr(self.cfg, "k", 1)

    def curve_panels(self) -> list:
        return [("loss", [("d_loss", "D loss"), ("g_loss", "G loss")], None),
                ("mean D output", [("d_real", "D(x)"), ("d_fake", "D(G(z))")], 0.5)]

    def generate(self, z: Tensor) -> Tensor:
        raise NotImplementedError

    def save_pictures(self, out: Path, epoch: int, seed: int) -> Path:
        grid = out / "samples" / f"epoch_{epoch:03d}.png"
        viz.save_grid(self.generate(fixed_noise(seed, 100, self.cfg.z_dim)), grid,
                      title=f"epoch {epoch}")
        return grid

    def final_pictures(self, out: Path, seed: int) -> None:
        z = viz.interpolation_z(np.random.default_rng([seed, 200]), self.cfg.z_dim)
        viz.save_grid(self.generate(Tensor(backend.xp.asarray(z))), out / "interpolation.png",
                      title="latent interpolation (slerp)")

    def sample_uint8(self, n: int, seed: int = 12345, batch: int = 1000) -> "np.ndarray":
        """n samples as uint8 (n, 28, 28), from their own generator of z."""
        rng = np.random.default_rng(seed)
        out = []
        for start in range(0, n, batch):
            z = rng.standard_normal((min(batch, n - start), self.cfg.z_dim)).astype("float32")
            out.append(to_uint8(self.generate(Tensor(backend.xp.asarray(z)))))
        return np.concatenate(out).reshape(n, 28, 28)

    def evaluate(self, n: int, seed: int = 12345) -> dict:
        from ..metrics import evaluate_samples
        return evaluate_samples(self.sample_uint8(n, seed))

    def report(self, scores: dict) -> str:
        s, r = scores["samples"], scores["real_test_set"]
        rows = [f"\n{'':28}{'samples':>12}{'real digits':>16}",
                f"{'Inception Score (↑, ≤10)':28}{s['inception_score']:>12.3f}"
                f"{r['inception_score']:>16.3f}",
                f"{'Fréchet distance (↓)':28}{s['frechet_distance']:>12.3f}"
                f"{r['frechet_distance']:>16.3f}",
                f"{'confident (p ≥ 0.9)':28}{s['confident_fraction']:>12.3f}"
                f"{r['confident_fraction']:>16.3f}",
                f"{'rarest digit':28}{s['rarest_digit_fraction']:>12.3f}"
                f"{r['rarest_digit_fraction']:>16.3f}",
                "digit histogram (samples):  " + "  ".join(
                    f"{d}:{100 * f:.1f}%" for d, f in enumerate(s["digit_fractions"])),
                f"(real digits: the test set; its Fréchet distance is 10,000 training digits' "
                f"to it. Classifier test accuracy {scores['classifier_test_accuracy']:.4f}; "
                f"{s['n_samples']} samples)"]
        return "\n".join(rows)
