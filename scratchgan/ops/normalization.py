"""Batch normalisation in training mode as one op, the statistics taken over chosen axes:

    μ = mean_axes x,   σ² = mean_axes (x − μ)²   (biased),   x̂ = (x − μ) / √(σ² + ε)
    y = γ x̂ + β        γ, β: one value per channel (axis 1), or left out

    axes (0,)        BatchNorm1d     (N, C): each feature over the batch
    axes (0, 2, 3)   BatchNorm2d     (N, C, H, W): each channel over batch and pixels
    axes (2, 3)      InstanceNorm2d  each image and channel over its pixels

The layers in ``nn/norm.py`` and ``nn/norm2d.py`` also keep the same normalisation written
as small differentiable ops (``fused=False``): that form is the reference this op is
tested equal to, to float rounding, in its output, its gradient and its second derivative.
The op does the same arithmetic with a handful of array passes and a closed-form backward
instead of a dozen recorded ops each way.

The backward, with m values per statistic (the count over ``axes``) and g = γ·gy:

    dL/dx = (1/σ) (g − mean_axes g − x̂ · mean_axes(g x̂))      σ = √(σ² + ε)
    dL/dγ = Σ gy x̂,     dL/dβ = Σ gy          (summed over every axis but the channel)

(x̂ depends on x through μ and σ as well: the two means are what those paths add up to.)
"""
from __future__ import annotations

from ..autograd import Function, Tensor, is_grad_enabled
from ..backend import get_array_module
from .reductions import mean, sum, var


def _sorted_axes(axes, ndim: int) -> tuple:
    """(-1, 0) of a 4-d array → (0, 3); an axis out of range is a ValueError."""
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"batch_norm_train: axis {a} is out of range for an input with "
                             f"{ndim} dimensions")
    return tuple(sorted(a % ndim for a in axes))


def _channel_shape(ndim: int, channels: int) -> tuple:
    """(C,) seen along axis 1 of an ndim array: (1, C) or (1, C, 1, 1)."""
    return (1, channels) + (1,) * (ndim - 2)


class BatchNormTrain(Function):
    """y = γ (x − μ) / √(σ² + ε) + β,  μ, σ² (biased) over ``axes``;  γ, β: (C,) or absent

    dL/dx = (γ/σ)(gy − mean gy − x̂ mean(gy x̂)),  dL/dγ = Σ gy x̂,  dL/dβ = Σ gy

    After the call, ``self.mean`` and ``self.var`` hold μ and σ² (arrays, keepdims), for
    the running statistics a layer keeps.
    """

    def __init__(self, axes, eps: float):
        self.axes, self.eps = tuple(axes), float(eps)

    def forward(self, x, weight=None, bias=None):
        xp = get_array_module(x)
        self.axes = _sorted_axes(self.axes, x.ndim)
        if 1 in self.axes and weight is not None:
            raise ValueError(f"batch_norm_train: γ, β are per channel (axis 1), so axes "
                             f"{self.axes} must leave axis 1 out")
        self.mean = x.mean(axis=self.axes, keepdims=True)
        centered = x - self.mean
        self.var = xp.mean(centered * centered, axis=self.axes, keepdims=True)
        self.inv_std = (self.var + self.eps) ** -0.5
        self.x_hat = centered * self.inv_std        # kept: the backward's x̂
        if weight is None:
            return self.x_hat
        shape = _channel_shape(x.ndim, x.shape[1])
        return self.x_hat * weight.reshape(shape) + bias.reshape(shape)

    def backward(self, gy):
        x = self.inputs[0]
        affine = len(self.inputs) == 3
        x_hat, inv_std = self._x_hat_and_inv_std()
        count = 1
        for a in self.axes:
            count *= x.shape[a]
        # Σ gy and Σ gy x̂ per statistic: both the means of dL/dx and dL/dγ, dL/dβ
        sum_gy = sum(gy, self.axes, keepdims=True)
        sum_gy_x_hat = sum(gy * x_hat, self.axes, keepdims=True)
        gx = None
        if self.needs_input_grad[0]:
            scale = inv_std                                   # γ/σ, per statistic
            if affine:
                scale = scale * self.inputs[1].reshape(_channel_shape(x.ndim, x.shape[1]))
            gx = (scale * (gy - sum_gy * (1.0 / count))
                  - (scale * sum_gy_x_hat * (1.0 / count)) * x_hat)
        if not affine:
            return gx
        # what is left to sum: the axes a statistic does not cover, except the channel's
        per_channel = tuple(a for a in range(x.ndim) if a != 1)
        return gx, sum(sum_gy_x_hat, per_channel), sum(sum_gy, per_channel)

    def _x_hat_and_inv_std(self):
        """x̂ and 1/σ as Tensors.  Under ``create_graph`` the gradient is itself
        differentiated, and x̂, 1/σ depend on x: they are rebuilt from the input Tensor with
        differentiable ops, so that dependence is in the graph.  Otherwise the forward's
        arrays are the same numbers, taken as constants, and spare the recomputation."""
        if not is_grad_enabled():
            return Tensor(self.x_hat), Tensor(self.inv_std)
        x = self.inputs[0]
        inv_std = (var(x, self.axes, keepdims=True) + self.eps) ** -0.5
        return (x - mean(x, self.axes, keepdims=True)) * inv_std, inv_std


def batch_norm_train(x, weight=None, bias=None, axes=(0,), eps: float = 1e-5) -> Tensor:
    """Batch normalisation in training mode: x normalised over ``axes`` (statistics of this
    batch), then γ, β of shape (C,) per channel (axis 1) when given.

    x: (N, C) with axes (0,), or (N, C, H, W) with axes (0, 2, 3) or (2, 3) → y: x's shape
    """
    if (weight is None) != (bias is None):
        raise ValueError("batch_norm_train: give both γ (weight) and β (bias), or neither")
    op = BatchNormTrain(axes, eps)
    return op(x) if weight is None else op(x, weight, bias)
