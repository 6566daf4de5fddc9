"""Pictures: sample grids, loss curves, latent interpolations.  Saved as PNG with
matplotlib's file-only backend (no screen needed)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .backend import numpy as np, to_numpy  # noqa: E402


def image_grid(images, nrow: int = 10, pad: int = 2) -> "np.ndarray":
    """(N, 784) or (N, 28, 28) in [−1, 1] → one (H, W) array in [0, 1], nrow images a row."""
    images = to_numpy(images).reshape(-1, 28, 28)
    n = len(images)
    ncol = nrow
    nrows = (n + ncol - 1) // ncol
    grid = np.zeros((nrows * (28 + pad) + pad, ncol * (28 + pad) + pad))   # white gaps
    for i, img in enumerate(images):
        r, c = divmod(i, ncol)
        top, left = pad + r * (28 + pad), pad + c * (28 + pad)
        grid[top:top + 28, left:left + 28] = (img + 1) / 2
    return np.clip(grid, 0, 1)


def save_grid(images, path, nrow: int = 10, title: str | None = None) -> Path:
    grid = image_grid(images, nrow)
    scale = 0.025
    fig = plt.figure(figsize=(grid.shape[1] * scale + 0.2, grid.shape[0] * scale + (0.45 if title else 0.2)))
    ax = fig.add_axes((0, 0, 1, 1 if not title else 0.93))
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _binned(values, bins: int = 300) -> tuple["np.ndarray", "np.ndarray"]:
    """Means over consecutive bins of iterations, and each bin's centre: a smooth curve of
    a few hundred points however long the run (plotting every one of 20,000 iterations
    with a sliding window cost most of a second each epoch, and showed the same line)."""
    values = np.asarray(values, dtype=float)
    width = max(1, len(values) // bins)
    n = len(values) // width * width                  # the last partial bin is left out
    centres = np.arange(0, n, width) + (width - 1) / 2
    return centres, values[:n].reshape(-1, width).mean(axis=1)


GAN_PANELS = [("loss", [("d_loss", "D loss"), ("g_loss", "G loss")], None),
              ("mean D output", [("d_real", "D(x)"), ("d_fake", "D(G(z))")], 0.5)]


def save_curves(history: dict, path, iters_per_epoch: int | None = None,
                panels: list | None = None) -> Path:
    """One panel per (y label, [(history key, legend)], reference line or None), averaged
    over bins of iterations; by default a GAN's losses (top) and D's mean outputs on real
    and fake (bottom)."""
    panels = panels or GAN_PANELS
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3 * len(panels)), sharex=True,
                             squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.98, bottom=0.09, hspace=0.06)
    for axis, (ylabel, series, line) in zip(axes[:, 0], panels):
        drawn = False
        for key, label in series:
            if len(history.get(key, [])):
                axis.plot(*_binned(history[key]), label=label)
                drawn = True
        if line is not None:
            axis.axhline(line, color="gray", lw=0.5, ls="--")
        axis.set_ylabel(ylabel)
        if drawn:
            axis.legend()
    axes[-1, 0].set_xlabel("iteration" + (f"  ({iters_per_epoch} per epoch)"
                                          if iters_per_epoch else ""))
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def slerp(z0, z1, t: float):
    """Spherical interpolation: stays on the shell where Gaussian noise lives."""
    z0n, z1n = z0 / np.linalg.norm(z0), z1 / np.linalg.norm(z1)
    omega = np.arccos(np.clip((z0n * z1n).sum(), -1, 1))
    if omega < 1e-6:
        return (1 - t) * z0 + t * z1
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def interpolation_z(rng, z_dim: int, rows: int = 8, steps: int = 10) -> "np.ndarray":
    """rows × steps noise vectors: each row walks from one random z to another."""
    out = []
    for _ in range(rows):
        a, b = rng.standard_normal(z_dim), rng.standard_normal(z_dim)
        out += [slerp(a, b, t) for t in np.linspace(0, 1, steps)]
    return np.asarray(out, dtype=np.float32)
