"""The generic losses the GAN objectives are built from, each next to its formula.

binary_cross_entropy_with_logits(l, t) = −[t log σ(l) + (1 − t) log(1 − σ(l))]
                                      = max(l, 0) − t·l + log(1 + e^(−|l|))
The second form is exact for any logit: at l = ±1000, log σ(l) would be log 0, and
softplus(l) − t·l would cancel to 0 where the true loss is 2e−9 (l = 20, t = 1, float32).
"""
from __future__ import annotations

from ..autograd import Function, Tensor, as_tensor
from ..backend import get_array_module
from .activations import sigmoid
from .elementwise import abs
from .reductions import mean, sum


class BCEWithLogits(Function):
    """y = max(l, 0) − t·l + log(1 + e^(−|l|))   dy/dl = σ(l) − t,   dy/dt = −l

    σ(l) − t is computed as (1 − t)·σ(l) − t·σ(−l): equal, but without the cancellation
    1 − 1 = 0 where σ(l) rounds to 1 (the true gradient at l = 20, t = 1 is −2e−9).
    """

    def forward(self, logits, targets):
        xp = get_array_module(logits)
        return (xp.maximum(logits, 0) - targets * logits
                + xp.log1p(xp.exp(-xp.abs(logits))))

    def backward(self, gy):
        logits, targets = self.inputs
        g_logits = None
        if self.needs_input_grad[0]:
            g_logits = gy * ((1 - targets) * sigmoid(logits) - targets * sigmoid(-logits))
        g_targets = -gy * logits if self.needs_input_grad[1] else None
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


def binary_cross_entropy_with_logits(logits, targets, reduction: str = "mean") -> Tensor:
    """−[t log σ(l) + (1 − t) log(1 − σ(l))], elementwise, then reduced (mean by default)."""
    logits = as_tensor(logits)
    targets = as_tensor(targets, like=logits)
    _check_same_shape("binary_cross_entropy_with_logits", logits, targets)
    return _reduce(BCEWithLogits()(logits, targets), reduction)


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
