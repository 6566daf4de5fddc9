"""The pictures: a grid's layout, the curves' binning, files written."""
import numpy as np

from scratchgan import backend as B, viz


def test_binned_means_and_centres():
    values = np.arange(12.0)
    centres, means = viz._binned(values, bins=4)          # bins of 3 iterations
    assert np.array_equal(means, [1.0, 4.0, 7.0, 10.0])
    assert np.array_equal(centres, [1.0, 4.0, 7.0, 10.0])  # the middle iteration of each
    centres, means = viz._binned(np.arange(14.0), bins=4)  # the last partial bin is left out
    assert len(means) == 4 and means[-1] == 10.0
    centres, means = viz._binned([5.0, 7.0], bins=300)     # shorter than the bins: as is
    assert np.array_equal(means, [5.0, 7.0]) and np.array_equal(centres, [0.0, 1.0])


def test_grid_places_each_image():
    images = np.full((3, 784), -1.0)
    images[1] = 1.0                                        # the second image all ink
    grid = viz.image_grid(B.xp.asarray(images), nrow=2, pad=2)   # generator output: on device
    assert grid.shape == (2 * 30 + 2, 2 * 30 + 2)
    assert grid[2:30, 32:60].min() == 1.0 and grid[2:30, 2:30].max() == 0.0


def test_pictures_are_written(tmp_path):
    history = {k: list(np.random.default_rng(0).random(1000)) for k in
               ("d_loss", "g_loss", "d_real", "d_fake")}
    assert viz.save_curves(history, tmp_path / "curves.png", 100).stat().st_size > 0
    assert viz.save_curves({k: [] for k in history}, tmp_path / "empty.png").stat().st_size > 0
    path = viz.save_grid(B.xp.zeros((100, 784)), tmp_path / "grid" / "g.png", title="epoch 1")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
