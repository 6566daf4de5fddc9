"""Reductions: sum, mean, var, max and logsumexp, over all axes or some, keepdims or not.

The backward of a reduction spreads gy back over the axes it removed: put the removed
axes back as size 1 (``_restore_axes``), then broadcast.
"""
from __future__ import annotations

from ..autograd import Function, Tensor, as_tensor
from ..backend import get_array_module
from .elementwise import exp
from .shape import broadcast_to, reshape


def _normalize_axis(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
    return tuple(sorted(a % ndim for a in axes))


def _kept_shape(in_shape, axes):
    """The shape a reduction over ``axes`` has with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(in_shape))


def _restore_axes(gy: Tensor, in_shape, axes, keepdims) -> Tensor:
    """gy with the reduced axes put back as size 1, ready to broadcast to in_shape."""
    return gy if keepdims else reshape(gy, _kept_shape(in_shape, axes))


class Sum(Function):
    """y = Σ_axes x   dy/dx = 1 for every summed element: gy broadcast back"""

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = _normalize_axis(self.axis, x.ndim)
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        return broadcast_to(_restore_axes(gy, x.shape, self.axes, self.keepdims), x.shape)


class Max(Function):
    """y = max_axes x   dy/dx = 1 at the maximum (shared equally between ties), else 0"""

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = _normalize_axis(self.axis, x.ndim)
        return x.max(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        is_max = x.data == self.output.data.reshape(_kept_shape(x.shape, self.axes))
        share = (is_max / is_max.sum(axis=self.axes, keepdims=True)).astype(x.dtype)
        gy = _restore_axes(gy, x.shape, self.axes, self.keepdims)
        return broadcast_to(gy, x.shape) * share


class LogSumExp(Function):
    """y = log Σ_axes eˣ, computed as m + log Σ e^(x−m) with m = max x (no overflow)

    dy/dx = eˣ / Σ eˣ = e^(x − y)   (the softmax)
    """

    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        xp = get_array_module(x)
        self.axes = _normalize_axis(self.axis, x.ndim)
        m = x.max(axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)          # all −inf along an axis: keep −inf
        y = m + xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True))
        return y if self.keepdims else y.squeeze(axis=self.axes)

    def backward(self, gy):
        x = self.inputs[0]
        y = _restore_axes(self.output, x.shape, self.axes, self.keepdims)
        gy = _restore_axes(gy, x.shape, self.axes, self.keepdims)
        return gy * exp(x - y)


def sum(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Sum(axis, keepdims)(x)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """Σ x / n over the axes: a sum and a scale, so its gradient is gy / n everywhere."""
    x = as_tensor(x)
    axes = _normalize_axis(axis, x.ndim)
    count = 1
    for a in axes:
        count *= x.shape[a]
    return sum(x, axis, keepdims) * (1.0 / count)


def var(x, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """mean((x − mean x)²) (ddof=0, as NumPy; ddof=1 divides by n − 1)."""
    x = as_tensor(x)
    axes = _normalize_axis(axis, x.ndim)
    count = 1
    for a in axes:
        count *= x.shape[a]
    centered = x - mean(x, axis, keepdims=True)
    return sum(centered * centered, axis, keepdims) * (1.0 / (count - ddof))


def max(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Max(axis, keepdims)(x)


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    return LogSumExp(axis, keepdims)(x)
