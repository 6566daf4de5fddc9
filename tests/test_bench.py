"""The benchmark compares like with like: its by-hand NumPy side computes what scratchgan
computes (float64, same weights, same inputs).  Only the numbers are checked here; how long
anything takes is measured by ``make bench``, never asserted in a test."""
import pathlib
import sys

import pytest

# benchmarks/ sits next to the package, not inside it, and is not installed: import it from
# the repository root
ROOT = str(pathlib.Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks import same_math  # noqa: E402


def test_by_hand_mlp_gives_the_engines_gradients(backend):
    assert same_math.check_same_mlp_gradients(batch=4, sizes=(20, 16, 8, 1)) <= 1e-8


def test_by_hand_gan_iteration_updates_every_array_as_mlpgan(backend):
    """pytorch-gan: losses, weights, BatchNorm statistics and Adam's moments after two
    iterations."""
    assert same_math.check_same_gan_iteration("pytorch-gan", iterations=2, batch=8) <= 1e-8


def test_by_hand_gan_packs_reuses_fakes_and_keeps_the_ema_as_mlpgan(backend):
    """default: D on pairs, G's step on D's fakes, and eight iterations, so that the EMA of
    G (updated every 8th step) has moved once."""
    assert same_math.check_same_gan_iteration("default", iterations=8, batch=8) <= 1e-8


def test_a_wrong_by_hand_gradient_is_caught(backend, monkeypatch):
    """The check is not vacuous: a by-hand backward off by a little fails it."""
    from benchmarks import handwritten

    original = handwritten.tanh_backward
    monkeypatch.setattr(handwritten, "tanh_backward", lambda gy, y: original(gy, y) * (1 + 1e-6))
    with pytest.raises(AssertionError, match="GAN bench mismatch"):
        same_math.check_same_gan_iteration(iterations=1, batch=8)


def test_torch_side_computes_what_scratchgan_computes():
    """Where torch is installed (it is never a dependency): the PyTorch column's MLP step and
    GAN iterations match the engine in float64, so its timings compare like with like."""
    pytest.importorskip("torch")
    assert same_math.check_torch_mlp_gradients(batch=4, sizes=(20, 16, 8, 1)) <= 1e-8
    assert same_math.check_torch_gan_iteration("pytorch-gan", iterations=2, batch=8) <= 1e-8
    assert same_math.check_torch_gan_iteration("default", iterations=8, batch=8) <= 1e-8


def test_by_hand_convolutions_give_the_engines_output_and_gradients(backend):
    """DCGAN's four convolutions (C = 4): the plain-NumPy im2col column computes y and the
    gradients of x, W and b as scratchgan does."""
    assert same_math.check_same_conv_layers(channels=4, batch=4) <= 1e-8


def test_a_wrong_by_hand_col2im_is_caught(backend, monkeypatch):
    """The convolution check is not vacuous: a col2im off by a little fails it."""
    from benchmarks import conv

    original = conv.col2im
    monkeypatch.setattr(conv, "col2im", lambda *a: original(*a) * (1 + 1e-6))
    with pytest.raises(AssertionError, match="conv bench mismatch"):
        same_math.check_same_conv_layers(channels=4, batch=4)


def test_torch_side_convolutions_and_dcgan_iterations_compute_what_scratchgan_computes():
    """Where torch is installed: DCGAN's convolutions, forward and backward, and two DCGAN
    iterations of each preset (C = 4, batch 8: D on [real; fake], G's step through a frozen D,
    the default's reuse of D's fakes and EMA, Adam β = (0.5, 0.999)) match the engine in
    float64."""
    pytest.importorskip("torch")
    assert same_math.check_torch_conv_layers(channels=4, batch=4) <= 1e-8
    for preset in ("default", "paper"):
        assert same_math.check_torch_gan_iteration(preset, iterations=2, batch=8,
                                                   model="mnist-dcgan", channels=4) <= 1e-8


def test_torch_side_cyclegan_iterations_compute_what_scratchgan_computes():
    """Where torch is installed: two CycleGAN iterations (k = d = 2, batch 4, a history of 3
    that fills and then shows stored fakes) update G, F, D_X, D_Y, both Adams' moments and
    the histories as CycleGAN.train_step does, in float64: the paper's form (transposed
    convolutions, least squares), the other switches (nearest resize + convolution, the log
    form), and no identity term with no history."""
    pytest.importorskip("torch")
    assert same_math.check_torch_cyclegan_iteration() <= 1e-8
    assert same_math.check_torch_cyclegan_iteration(upsample="resize", gan_loss="minimax") <= 1e-8
    assert same_math.check_torch_cyclegan_iteration(lambda_id=0.0, pool_size=0) <= 1e-8


def test_a_torch_cyclegan_with_the_identity_direction_flipped_is_caught(monkeypatch):
    """The CycleGAN check is not vacuous: a twin whose identity term asks G to leave an x
    alone and F a y (the flipped direction) fails it."""
    pytest.importorskip("torch")
    from benchmarks import torch_side

    def flipped(self, x, y):
        cfg = self.cfg
        return cfg.lambda_id * cfg.lambda_cyc * ((self.G(x) - x).abs().mean()
                                                 + (self.F(y) - y).abs().mean())

    monkeypatch.setattr(torch_side.TorchCycleGAN, "identity", flipped)
    with pytest.raises(AssertionError, match="torch CycleGAN bench mismatch"):
        same_math.check_torch_cyclegan_iteration()


def test_a_torch_history_that_never_shows_a_stored_fake_is_caught(monkeypatch):
    """The check reaches the history's draws: a twin whose history stores fakes but always
    shows the new ones fails it."""
    pytest.importorskip("torch")
    from benchmarks import torch_side

    query = torch_side.TorchFakeHistory.query
    monkeypatch.setattr(torch_side.TorchFakeHistory, "query",
                        lambda self, fakes: (query(self, fakes), fakes)[1])
    with pytest.raises(AssertionError, match="torch CycleGAN bench mismatch"):
        same_math.check_torch_cyclegan_iteration()


@pytest.mark.host_only
def test_the_bench_names_the_blas_kernels_it_ran():
    """The header's kernel name is the library's own answer: forced to the AVX2 kernels in a
    fresh process, OpenBLAS reports them (skipped where NumPy is not built on OpenBLAS)."""
    import os
    import subprocess
    env = dict(os.environ, OPENBLAS_CORETYPE="Haswell", PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, "-c", "from benchmarks import run; "
                           "print(run.openblas_kernels()); print(run._blas())"],
                          env=env, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    kernels, header = done.stdout.splitlines()
    if kernels == "None":
        pytest.skip("NumPy here is not built on OpenBLAS")
    assert kernels == "Haswell"
    assert "kernels Haswell (OPENBLAS_CORETYPE=Haswell)" in header
