"""The GAN objectives: equal to their formulas, exact at saturated logits, gradchecked."""
import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import losses, nn


def sig(x):
    return 1 / (1 + np.exp(-x))


def t(x, requires_grad=False):
    return sg.tensor(B.xp.asarray(np.asarray(x, dtype=np.float64)), requires_grad=requires_grad)


@pytest.fixture
def logits(rng):
    return rng.standard_normal((8, 1)) * 2, rng.standard_normal((8, 1)) * 2


def test_values_equal_the_formulas(logits, backend):
    lr, lf = logits
    d_real, d_fake = sig(lr), sig(lf)
    cases = [
        (losses.d_loss_minimax(t(lr), t(lf)), -(np.log(d_real) + np.log(1 - d_fake)).mean()),
        (losses.g_loss_saturating(t(lf)), np.log(1 - d_fake).mean()),
        (losses.g_loss_nonsaturating(t(lf)), -np.log(d_fake).mean()),
        (losses.d_loss_least_squares(t(lr), t(lf)),
         0.5 * ((lr - 1) ** 2).mean() + 0.5 * (lf ** 2).mean()),
        (losses.g_loss_least_squares(t(lf)), 0.5 * ((lf - 1) ** 2).mean()),
        (losses.d_loss_wasserstein(t(lr), t(lf)), lf.mean() - lr.mean()),
        (losses.g_loss_wasserstein(t(lf)), -lf.mean()),
    ]
    for value, expected in cases:
        np.testing.assert_allclose(value.item(), expected, rtol=1e-10)


def test_label_smoothing_is_one_sided(logits):
    lr, lf = logits
    s = 0.9
    expected = (-(s * np.log(sig(lr)) + (1 - s) * np.log(1 - sig(lr))).mean()
                - np.log(1 - sig(lf)).mean())
    np.testing.assert_allclose(losses.d_loss_minimax(t(lr), t(lf), real_label=s).item(), expected,
                               rtol=1e-10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_minimax_losses_are_exact_at_saturation(dtype):
    big = np.array([[100.0], [-100.0]], dtype=dtype)
    for loss_fn, args in [(losses.d_loss_minimax, 2), (losses.g_loss_saturating, 1),
                          (losses.g_loss_nonsaturating, 1)]:
        xs = [sg.tensor(big.copy(), requires_grad=True) for _ in range(args)]
        value = loss_fn(*xs)
        value.backward()
        assert np.isfinite(value.item())
        for x in xs:
            assert np.isfinite(x.grad.numpy()).all()
    # D(x) = σ(100): −log D(x) = log(1 + e^−100) ≈ 3.7e−44, and −log(1 − σ(−100)) likewise
    x = sg.tensor(np.array([[100.0]]), requires_grad=True)
    loss = losses.g_loss_nonsaturating(x)
    np.testing.assert_allclose(loss.item(), np.log1p(np.exp(-100.0)), rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), -sig(-100.0), rtol=1e-12)   # −(1 − D)
    # the saturating loss really saturates: at D(G(z)) ≈ 0 its gradient is ≈ 0
    x = sg.tensor(np.array([[-100.0]]), requires_grad=True)
    losses.g_loss_saturating(x).backward()
    assert abs(x.grad.item()) < 1e-40
    x.grad = None
    losses.g_loss_nonsaturating(x).backward()
    np.testing.assert_allclose(x.grad.item(), -1.0)


LOSS_CHECKS = {
    "d_loss_minimax": (losses.d_loss_minimax, [(6, 1), (6, 1)]),
    "d_loss_minimax_smoothed": (lambda a, b: losses.d_loss_minimax(a, b, real_label=0.9),
                                [(6, 1), (6, 1)]),
    "g_loss_saturating": (losses.g_loss_saturating, [(6, 1)]),
    "g_loss_nonsaturating": (losses.g_loss_nonsaturating, [(6, 1)]),
    "d_loss_least_squares": (losses.d_loss_least_squares, [(6, 1), (6, 1)]),
    "g_loss_least_squares": (losses.g_loss_least_squares, [(6, 1)]),
    "d_loss_wasserstein": (losses.d_loss_wasserstein, [(6, 1), (6, 1)]),
    "g_loss_wasserstein": (losses.g_loss_wasserstein, [(6, 1)]),
    "cycle_loss": (losses.cycle_loss, [(2, 5), (2, 5), (2, 5), (2, 5)]),
    "identity_loss": (losses.identity_loss, [(2, 5), (2, 5), (2, 5), (2, 5)]),
}


@pytest.mark.parametrize("name", LOSS_CHECKS)
def test_loss_gradients(name, backend, rng):
    fn, shapes = LOSS_CHECKS[name]
    inputs = [B.xp.asarray(rng.standard_normal(s)) for s in shapes]
    assert sg.gradcheck(fn, inputs, name=name)
    assert sg.gradgradcheck(fn, inputs, name=name)


def test_cycle_and_identity_losses_match_their_formulas(rng):
    x, fx, y, gy = (rng.standard_normal((2, 5)) for _ in range(4))
    np.testing.assert_allclose(
        losses.cycle_loss(t(x), t(fx), t(y), t(gy)).item(),
        10 * (np.abs(fx - x).mean() + np.abs(gy - y).mean()))
    np.testing.assert_allclose(
        losses.identity_loss(t(x), t(fx), t(y), t(gy)).item(),
        5 * (np.abs(fx - x).mean() + np.abs(gy - y).mean()))


def test_gradient_penalty_is_differentiable_twice(backend, rng):
    """WGAN-GP: λ(‖∇D(x̂)‖ − 1)² needs ∂/∂θ of a gradient — double backprop through D."""
    sg.seed(1)
    critic = nn.Sequential(nn.Linear(4, 8, dtype="float64"), nn.Tanh(),
                           nn.Linear(8, 1, dtype="float64"))
    real, fake = t(rng.standard_normal((5, 4))), t(rng.standard_normal((5, 4)))
    W = critic[0].weight

    def penalty_of(weight):
        saved = critic[0].weight
        object.__setattr__(critic[0], "weight", weight)
        try:
            sg.seed(7)                         # the same interpolation ε every evaluation
            return losses.gradient_penalty(critic, real, fake)
        finally:
            object.__setattr__(critic[0], "weight", saved)

    assert sg.gradcheck(penalty_of, [W.data])
    # and the penalty is zero for a critic whose gradient has norm 1 everywhere
    linear = nn.Linear(4, 1, bias=False, dtype="float64")
    linear.weight.data = B.xp.asarray(np.array([[0.6, 0.8, 0.0, 0.0]]))
    assert losses.gradient_penalty(linear, real, fake).item() == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("targets", [np.array([[0.5], [1.2]]), np.array([[-0.1], [0.0]]),
                                     np.array([[np.nan], [1.0]]), 1.5, -1])
def test_bce_refuses_targets_outside_zero_one(targets):
    logits = sg.tensor(np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: .*outside \[0, 1\]"):
        sg.functional.binary_cross_entropy_with_logits(logits, targets)


def test_bce_takes_one_number_for_every_target(rng):
    logits = sg.tensor(rng.standard_normal((4, 1)).astype("float32"))
    by_number = sg.functional.binary_cross_entropy_with_logits(logits, 0.9)
    by_array = sg.functional.binary_cross_entropy_with_logits(
        logits, np.full((4, 1), 0.9, dtype="float32"))
    assert by_number.dtype == by_array.dtype == np.float32
    assert by_number.item() == by_array.item()
    with pytest.raises(ValueError, match="outside"):
        losses.d_loss_minimax(logits, logits, real_label=1.1)
