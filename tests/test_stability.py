"""Saturated logits: the stable forms must give exact, finite values and gradients."""
import numpy as np
import pytest

import scratchgan as sg
from scratchgan import functional as F

LOGITS = np.array([-1000.0, -100.0, -20.0, 0.0, 20.0, 100.0, 1000.0])


def value_and_grad(fn, x, dtype):
    t = sg.tensor(x.astype(dtype), requires_grad=True)
    y = fn(t)
    y.sum().backward()
    return y.numpy(), t.grad.numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_with_logits_is_exact_at_saturation(dtype):
    for target in (0.0, 1.0):
        t = np.full_like(LOGITS, target)
        loss, grad = value_and_grad(
            lambda x: F.binary_cross_entropy_with_logits(x, t.astype(dtype), reduction="none"),
            LOGITS, dtype)
        expected = np.maximum(LOGITS, 0) - LOGITS * target + np.log1p(np.exp(-np.abs(LOGITS)))
        assert np.isfinite(loss).all() and np.isfinite(grad).all()
        np.testing.assert_allclose(loss, expected, rtol=1e-6, atol=1e-30)
        sig = lambda z: np.exp(-np.logaddexp(0, -z))               # σ(z), exact in float64
        exact = (1 - target) * sig(LOGITS) - target * sig(-LOGITS)  # = σ(l) − t
        np.testing.assert_allclose(grad, exact, rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log_sigmoid_and_softplus_are_exact_at_saturation(dtype):
    ls, g_ls = value_and_grad(F.log_sigmoid, LOGITS, dtype)
    sp, g_sp = value_and_grad(F.softplus, LOGITS, dtype)
    assert np.isfinite(ls).all() and np.isfinite(sp).all()
    assert ls[-1] == 0.0 and ls[0] == -1000.0        # log σ(1000) = 0, log σ(−1000) = −1000
    assert sp[0] == 0.0 and sp[-1] == 1000.0
    assert g_ls[0] == 1.0 and g_ls[-1] == 0.0
    assert g_sp[0] == 0.0 and g_sp[-1] == 1.0
    np.testing.assert_allclose(ls, -np.logaddexp(0, -LOGITS).astype(dtype), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_keeps_relative_precision_in_the_tails(dtype):
    s, g = value_and_grad(F.sigmoid, LOGITS, dtype)
    assert np.isfinite(s).all() and np.isfinite(g).all()
    # σ(−20) = 2.06e−9: a ½(1 + tanh) form would return 0 in float32
    np.testing.assert_allclose(s[2], 1 / (1 + np.exp(20.0)), rtol=1e-6)
    assert s[-1] == 1.0 and s[0] == 0.0


def test_logsumexp_and_log_softmax_do_not_overflow():
    x = np.array([[1000.0, 1000.0], [-1000.0, 0.0]])
    lse, g = value_and_grad(lambda t: F.logsumexp(t, axis=1), x, "float64")
    np.testing.assert_allclose(lse, [1000 + np.log(2), 0.0])
    np.testing.assert_allclose(g, [[0.5, 0.5], [0.0, 1.0]])
    ls, _ = value_and_grad(lambda t: F.log_softmax(t, axis=1), x, "float64")
    np.testing.assert_allclose(ls, [[-np.log(2), -np.log(2)], [-1000.0, 0.0]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 0.3, 0.7, 1.0, 1.5, -0.3])
def test_leaky_relu_gradient_is_exactly_one_or_the_slope(dtype, slope):
    # the backward builds dy/dx by arithmetic, slope + (1 − slope)·[x > 0], not np.where:
    # it must still be exactly 1 and exactly the slope, in the input's dtype
    x = np.random.default_rng(0).standard_normal(1000)
    _, grad = value_and_grad(lambda t: F.leaky_relu(t, slope), x, dtype)
    assert grad.dtype == np.dtype(dtype)
    expected = np.where(x > 0, np.array(1, dtype), np.array(slope, dtype))
    assert np.array_equal(grad, expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("target", [0.0, 1.0, 0.3])
def test_bce_with_logits_at_infinite_and_huge_logits(dtype, target):
    # ℓ(+∞, t=1) = ℓ(−∞, t=0) = 0 and σ(l) − t = 0 there: max(l, 0) − t·l gave ∞ − ∞ = nan
    logits = np.array([-np.inf, -1000.0, -1.0, 0.0, 1.0, 1000.0, np.inf])
    loss, grad = value_and_grad(
        lambda x: F.binary_cross_entropy_with_logits(
            x, np.full(logits.shape, target, dtype=dtype), reduction="none"), logits, dtype)
    with np.errstate(invalid="ignore"):      # the reference: each log term only if weighted
        log_sig = lambda z: -np.logaddexp(0, -z)                    # noqa: E731
        expected = -(np.where(target > 0, target * log_sig(logits), 0)
                     + np.where(target < 1, (1 - target) * log_sig(-logits), 0))
    np.testing.assert_allclose(loss, expected, rtol=1e-6)
    assert not np.isnan(loss).any() and np.isfinite(grad).all()
    sig = np.exp(log_sig(logits))
    np.testing.assert_allclose(grad, sig - target, rtol=1e-6, atol=1e-7)
    if target == 1.0:
        assert loss[-1] == 0.0 and grad[-1] == 0.0
    if target == 0.0:
        assert loss[0] == 0.0 and grad[0] == 0.0
