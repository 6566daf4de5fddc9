"""The generic losses the GAN objectives are built from, each next to its formula.

binary_cross_entropy_with_logits(l, t) = −[t log σ(l) + (1 − t) log(1 − σ(l))]
                                      = (1 − t)·max(l, 0) − t·min(l, 0) + log(1 + e^(−|l|))
The second form is exact for any logit: at l = ±1000, log σ(l) would be log 0, and
softplus(l) − t·l would cancel to 0 where the true loss is 2e−9 (l = 20, t = 1, float32).
It is max(l, 0) − t·l split by sign, so that at l = +∞, t = 1 no ∞ − ∞ appears.
"""
from __future__ import annotations

import numbers

from ..autograd import Function, Tensor, as_tensor
from ..backend import get_array_module
from .activations import sigmoid
from .elementwise import abs
from .reductions import mean, sum


def _weighted(weight, z, xp):
    """weight · z, where a weight of 0 makes the term 0 even for z = ±∞: a term whose weight
    is 0 is absent from the loss (a target of 1 has no log(1 − σ) term), not 0 · ∞ = nan."""
    return weight * xp.where(weight == 0, 0, z)


class BCEWithLogits(Function):
    """ℓ = (1 − t)·max(l, 0) − t·min(l, 0) + log(1 + e^(−|l|)), then averaged (or summed, or kept)

    (= max(l, 0) − t·l + log(1 + e^(−|l|)), without the ∞ − ∞ at l = +∞, t = 1: ℓ = 0 there)

    dℓ/dl = σ(l) − t,   dℓ/dt = −l        (for the mean, each divided by N)
    The reduction is part of the op, as in every framework: one op instead of three on
    the hot path of every GAN step.
    """

    def __init__(self, reduction: str = "mean"):
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def forward(self, logits, targets):
        xp = get_array_module(logits)
        loss = (_weighted(1 - targets, xp.maximum(logits, 0), xp)
                - _weighted(targets, xp.minimum(logits, 0), xp)
                + xp.log1p(xp.exp(-xp.abs(logits))))
        if self.reduction == "mean":
            return loss.mean()
        return loss.sum() if self.reduction == "sum" else loss

    def backward(self, gy):
        logits, targets = self.inputs
        if self.reduction == "mean":
            gy = gy * (1.0 / logits.size)
        g_logits = SigmoidMinus()(logits, targets) * gy if self.needs_input_grad[0] else None
        g_targets = -logits * gy if self.needs_input_grad[1] else None
        return g_logits, g_targets


class SigmoidMinus(Function):
    """y = σ(l) − t, computed as (1 − t)·σ(l) − t·σ(−l)      dy/dl = σ(l)(1 − σ(l)), dy/dt = −1

    Equal, but exact: σ(l) − t cancels to 1 − 1 = 0 where σ(l) rounds to 1, while the true
    gradient at l = 20, t = 1 is −2e−9.  (The gradient of the BCE above.)
    """

    def forward(self, logits, targets):
        xp = get_array_module(logits)
        e = xp.exp(-xp.abs(logits))                      # σ(|l|) = 1/(1+e), σ(−|l|) = e/(1+e)
        sig_pos = xp.where(logits >= 0, 1, e) / (1 + e)  # σ(l)
        sig_neg = xp.where(logits >= 0, e, 1) / (1 + e)  # σ(−l)
        return (1 - targets) * sig_pos - targets * sig_neg

    def backward(self, gy):
        logits, targets = self.inputs
        s = sigmoid(logits)
        g_logits = gy * s * (1 - s) if self.needs_input_grad[0] else None
        g_targets = -gy if self.needs_input_grad[1] else None
        return g_logits, g_targets


def _reduce(values: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return mean(values)
    if reduction == "sum":
        return sum(values)
    if reduction == "none":
        return values
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_same_shape(op, a: Tensor, b: Tensor):
    if a.shape != b.shape:
        raise ValueError(f"{op}: input shape {a.shape} and target shape {b.shape} differ")


def _targets_outside_unit_interval(targets) -> bool:
    """Is any target outside [0, 1] (or NaN)?  One reduction, one bool read back."""
    data = targets.data
    xp = get_array_module(data)
    return not bool(xp.all((data >= 0) & (data <= 1)))


def binary_cross_entropy_with_logits(logits, targets, reduction: str = "mean") -> Tensor:
    """−[t log σ(l) + (1 − t) log(1 − σ(l))], elementwise, then reduced (mean by default).

    ``targets`` is an array (or Tensor) shaped like the logits, or one number for all of
    them; either way in [0, 1], the probability that the sample is real.  A number is
    checked on the host for free; an array costs one bool read back from the device.
    """
    logits = as_tensor(logits)
    op = "binary_cross_entropy_with_logits"
    checked_on_host = isinstance(targets, numbers.Real)
    if checked_on_host:
        if not 0 <= targets <= 1:
            raise ValueError(f"{op}: the target {targets} is outside [0, 1]: a target is the "
                             f"probability that the sample is real")
        xp = get_array_module(logits.data)
        targets = Tensor(xp.full(logits.shape, targets, dtype=logits.dtype))
    targets = as_tensor(targets, like=logits)
    _check_same_shape(op, logits, targets)
    # a number was checked above: reading its filled array back would cost a device sync
    if not checked_on_host and _targets_outside_unit_interval(targets):
        raise ValueError(f"{op}: targets outside [0, 1] (or NaN): a target is the probability "
                         f"that the sample is real; pass labels in [0, 1]")
    return BCEWithLogits(reduction)(logits, targets)


def mse_loss(prediction, target, reduction: str = "mean") -> Tensor:
    """mean (prediction − target)²"""
    prediction = as_tensor(prediction)
    target = as_tensor(target, like=prediction)
    _check_same_shape("mse_loss", prediction, target)
    diff = prediction - target
    return _reduce(diff * diff, reduction)


def l1_loss(prediction, target, reduction: str = "mean") -> Tensor:
    """mean |prediction − target|"""
    prediction = as_tensor(prediction)
    target = as_tensor(target, like=prediction)
    _check_same_shape("l1_loss", prediction, target)
    return _reduce(abs(prediction - target), reduction)
