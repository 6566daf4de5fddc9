"""The 2D mixtures and the mode-coverage count, on seeded samples and constructed cases."""
from __future__ import annotations

import numpy as np
import pytest

from scratchgan.data.toy2d import (grid_of_gaussians, mode_counts, mode_coverage,
                                   nearest_centre, ring_of_gaussians)

# the 2D mixtures are host data (NumPy in, NumPy out), made before any device copy
pytestmark = pytest.mark.host_only

MIXTURES = {              # name: (function, number of modes, default std)
    "ring": (ring_of_gaussians, 8, 0.02),
    "grid": (grid_of_gaussians, 25, 0.05),
}


@pytest.mark.parametrize("name", MIXTURES)
def test_shapes_and_dtypes(name):
    make, modes, _ = MIXTURES[name]
    samples, centres = make(1000, rng=np.random.default_rng(0))
    assert samples.shape == (1000, 2) and samples.dtype == np.float32
    assert centres.shape == (modes, 2) and centres.dtype == np.float32


def test_ring_centres_lie_on_the_circle():
    _, centres = ring_of_gaussians(10, modes=8, radius=2.0, rng=0)
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 2.0, rtol=1e-6)
    np.testing.assert_allclose(centres[0], [2.0, 0.0], atol=1e-6)
    # neighbours are 2π/8 apart: chord 2·r·sin(π/8)
    np.testing.assert_allclose(np.linalg.norm(centres[1] - centres[0]),
                               2 * 2.0 * np.sin(np.pi / 8), rtol=1e-6)


def test_grid_centres_are_the_grid():
    _, centres = grid_of_gaussians(10, side=5, spacing=2.0, rng=0)
    assert sorted(set(np.round(centres[:, 0], 6))) == [-4, -2, 0, 2, 4]
    assert sorted(set(np.round(centres[:, 1], 6))) == [-4, -2, 0, 2, 4]
    assert len({tuple(c) for c in centres.tolist()}) == 25


@pytest.mark.parametrize("name", MIXTURES)
def test_samples_sit_near_their_centres(name):
    make, modes, std = MIXTURES[name]
    samples, centres = make(20000, rng=np.random.default_rng(1))
    index, distance = nearest_centre(samples, centres)
    # the distance to the centre is std × a Rayleigh variable: mean std·√(π/2)
    assert distance.mean() == pytest.approx(std * np.sqrt(np.pi / 2), rel=0.03)
    assert distance.max() < 6 * std
    # every mode gets its fair share, 1/K
    np.testing.assert_allclose(np.bincount(index, minlength=modes) / len(samples),
                               1 / modes, atol=0.01)


@pytest.mark.parametrize("name", MIXTURES)
def test_real_samples_cover_every_mode(name):
    make, modes, std = MIXTURES[name]
    samples, centres = make(2500, rng=np.random.default_rng(2))
    covered, high_quality = mode_coverage(samples, centres, std)
    assert covered == modes
    assert high_quality == pytest.approx(1 - np.exp(-4.5), abs=0.01)    # P(‖noise‖ ≤ 3σ)


def test_the_same_seed_gives_the_same_samples():
    a, _ = ring_of_gaussians(100, rng=np.random.default_rng(3))
    b, _ = ring_of_gaussians(100, rng=np.random.default_rng(3))
    c, _ = ring_of_gaussians(100, rng=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_collapse_onto_one_mode_covers_one():
    _, centres = ring_of_gaussians(1, rng=0)
    rng = np.random.default_rng(4)
    collapsed = centres[3] + 0.02 * rng.standard_normal((1000, 2))
    covered, high_quality = mode_coverage(collapsed, centres, std=0.02)
    assert covered == 1
    assert high_quality > 0.95
    counts = mode_counts(collapsed, centres, std=0.02)
    assert counts.argmax() == 3 and counts.sum() == counts[3]


def test_spread_over_all_modes_covers_all():
    _, centres = ring_of_gaussians(1, rng=0)
    spread = np.repeat(centres, 50, axis=0)            # exactly on every centre
    assert mode_coverage(spread, centres, std=0.02) == (8, 1.0)


def test_a_blurry_generator_covers_nothing():
    """Samples spread over the whole ring, not concentrated at the modes: low quality."""
    _, centres = ring_of_gaussians(1, rng=0)
    angles = np.linspace(0, 2 * np.pi, 8000, endpoint=False) + np.pi / 8   # between modes
    halfway = 2.0 * np.stack([np.cos(angles), np.sin(angles)], 1)
    covered, high_quality = mode_coverage(halfway, centres, std=0.02)
    # only the arcs within 0.06 of a centre count: 8 arcs of ≈ 2·0.06 in 4π of circle
    assert high_quality == pytest.approx(8 * 2 * 0.06 / (4 * np.pi), rel=0.05)
    assert covered == 0          # each centre gets ≈ 0.0095 n, less than 0.2 · n/8 = 0.025 n


def test_a_mode_needs_its_minimum_share():
    _, centres = ring_of_gaussians(1, rng=0)
    # 800 samples: mode 0 gets 780, mode 1 gets 20 (fair share 100; 20 ≥ 0.2·100 counts)
    samples = np.concatenate([np.repeat(centres[:1], 780, 0), np.repeat(centres[1:2], 20, 0)])
    assert mode_coverage(samples, centres, std=0.02).modes_covered == 2
    assert mode_coverage(samples, centres, std=0.02, min_share=0.21).modes_covered == 1
    # far from every centre: no high-quality samples at all
    assert mode_coverage(np.zeros((100, 2)), centres, std=0.02) == (0, 0.0)
