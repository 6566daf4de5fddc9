"""Two-dimensional mixtures of Gaussians: the standard test beds for mode collapse.

    ring   8 Gaussians evenly spaced on a circle of radius 2, std 0.02 (Metz et al. 2017,
           unrolled GANs)
    grid   25 Gaussians on a 5 × 5 grid, spacing 2, std 0.05 (as in VEEGAN and PacGAN,
           Lin et al. 2018)

Every mode has the same weight, so a generator that reproduces the data puts 1/K of its
samples near each of the K centres.  ``mode_coverage`` counts how many modes it reaches:

    high quality   a sample within 3σ of its nearest centre (a real sample is, with
                   probability 1 − e^(−9/2) ≈ 98.9%: its distance to the centre is σ times
                   a Rayleigh variable)
    covered mode   a centre that is the nearest one of at least ``min_share`` × n/K of the
                   high-quality samples (min_share = 0.2: a mode with fewer than 20 of the
                   100 samples it should get is lost): a stricter rule than PacGAN's, which
                   ``pacgan_scores`` below follows

    samples, centres = ring_of_gaussians(2500, rng=np.random.default_rng(0))
    modes, high_quality = mode_coverage(samples, centres, std=0.02)      # 8, ≈ 0.99

PacGAN's benchmark (``bench-modes``) uses other sizes (``PACGAN_RING``: radius 1, σ = 0.01;
``PACGAN_GRID``) and its own rule, ``pacgan_scores``: a mode is captured by a single
high-quality sample, and the evenness of the spread is a reverse KL.  A table uses one
convention, never both.
"""
from __future__ import annotations

from typing import NamedTuple

from ..backend import numpy as np   # the mixtures are drawn on the CPU, as plain arrays


def _generator(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _mixture(n: int, centres: np.ndarray, std: float, rng) -> np.ndarray:
    """n samples, each from a uniformly chosen centre plus N(0, std² I) noise."""
    rng = _generator(rng)
    which = rng.integers(0, len(centres), size=n)
    return (centres[which] + std * rng.standard_normal((n, 2))).astype(np.float32)


def ring_centres(modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """The centres (modes, 2) of the ring: angles 0, 2π/modes, … on a circle."""
    angles = 2 * np.pi * np.arange(modes) / modes
    return (radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype(np.float32)


def grid_centres(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    """The centres (side², 2) of the grid, centred on the origin (−4 … 4 for the default)."""
    ticks = (np.arange(side) - (side - 1) / 2) * spacing
    xs, ys = np.meshgrid(ticks, ticks, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


def ring_of_gaussians(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.02,
                      rng=None) -> tuple[np.ndarray, np.ndarray]:
    """n samples of an equal mixture of ``modes`` Gaussians on a circle.

    Parameters
    ----------
    n : number of samples
    modes, radius : how many centres, on a circle of what radius (around the origin)
    std : the standard deviation of each Gaussian, per coordinate
    rng : numpy Generator or seed (None: fresh entropy)

    Returns
    -------
    samples : float32 (n, 2)
    centres : float32 (modes, 2)
    """
    centres = ring_centres(modes, radius)
    return _mixture(n, centres, std, rng), centres


def grid_of_gaussians(n: int, side: int = 5, spacing: float = 2.0, std: float = 0.05,
                      rng=None) -> tuple[np.ndarray, np.ndarray]:
    """n samples of an equal mixture of side × side Gaussians on a square grid.

    Returns
    -------
    samples : float32 (n, 2)
    centres : float32 (side², 2)
    """
    centres = grid_centres(side, spacing)
    return _mixture(n, centres, std, rng), centres


def nearest_centre(samples, centres) -> tuple[np.ndarray, np.ndarray]:
    """For each sample (n, 2): the index of its nearest centre (n,) and the distance (n,)."""
    samples = np.asarray(samples, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    d2 = ((samples[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)      # (n, K)
    index = d2.argmin(axis=1)
    return index, np.sqrt(d2[np.arange(len(samples)), index])


def mode_counts(samples, centres, std: float) -> np.ndarray:
    """How many high-quality samples (within 3σ of their nearest centre) each centre has: (K,)."""
    index, distance = nearest_centre(samples, centres)
    return np.bincount(index[distance <= 3 * std], minlength=len(centres))


class Coverage(NamedTuple):
    modes_covered: int      # centres with at least min_share × n/K high-quality samples
    high_quality: float     # the fraction of samples within 3σ of their nearest centre


def mode_coverage(samples, centres, std: float, min_share: float = 0.2) -> Coverage:
    """Modes covered and the fraction of high-quality samples (see the module docstring).

    Parameters
    ----------
    samples : (n, 2) array
    centres : (K, 2) array, the modes
    std : the modes' standard deviation: "high quality" means within 3·std of a centre
    min_share : a mode is covered when it has at least min_share × n / K high-quality
        samples (0.2: a fifth of its fair share)
    """
    n = len(samples)
    counts = mode_counts(samples, centres, std)
    needed = min_share * n / len(centres)
    return Coverage(int((counts >= max(needed, 1)).sum()), float(counts.sum()) / n)


# --- PacGAN's benchmark (Lin et al. 2018, Table 1): its own sizes and its own rule --------
# The ring here has radius 1 and σ = 0.01 (the lesson's ring above: radius 2, σ = 0.02), and
# a mode counts as captured with a single high-quality sample (above: a fifth of its fair
# share).  One table uses one convention: ``pacgan_scores`` for bench-modes, never mixed
# with ``mode_coverage``.
PACGAN_RING = dict(modes=8, radius=1.0, std=0.01)
PACGAN_GRID = dict(side=5, spacing=2.0, std=0.05)


class PacGANScores(NamedTuple):
    modes: int              # centres with at least one high-quality sample nearest to them
    high_quality: float     # the fraction of all samples within 3σ of their nearest centre
    reverse_kl: float       # KL(p̂ ‖ uniform) of the high-quality samples' mode histogram


def pacgan_scores(samples, centres, std: float) -> PacGANScores:
    """PacGAN's three numbers for generated samples (n, 2), as its evaluation code counts them.

        histogram   h_k = #{samples whose nearest centre is k and lie within 3σ of it}
                    (samples further than 3σ from every centre enter no bin)
        modes       #{k : h_k ≥ 1}
        high qual.  Σ_k h_k / n
        reverse KL  KL(p̂ ‖ u) = Σ_k p̂_k log(p̂_k · K),  p̂ = h / Σ h,  u = 1/K
                    = log K − H(p̂); an empty mode adds 0 (p log p → 0), so all mass on one
                    mode gives log K.  With no high-quality sample at all p̂ is undefined;
                    we score it log K, as bad as a total collapse.
    """
    counts = mode_counts(samples, centres, std).astype(np.float64)
    K, total = len(centres), counts.sum()
    if total == 0:
        return PacGANScores(0, 0.0, float(np.log(K)))
    p = counts[counts > 0] / total
    return PacGANScores(int((counts > 0).sum()), float(total / len(samples)),
                        float((p * np.log(p * K)).sum()))
