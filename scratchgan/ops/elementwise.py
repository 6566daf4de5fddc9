"""Elementwise functions of one or more tensors: exp, log, sqrt, abs, clip,
maximum/minimum and where.  Kinks (abs, clip, max) take the gradient of the side that
is active; their masks are constants, so second derivatives are exact away from kinks.
"""
from __future__ import annotations

from ..autograd import Function, Tensor, as_tensor
from ..backend import get_array_module
from .shape import broadcast_shape, sum_to


class Exp(Function):
    """y = eˣ   dy/dx = eˣ = y"""

    def forward(self, x):
        return get_array_module(x).exp(x)

    def backward(self, gy):
        return gy * self.output


class Log(Function):
    """y = log x   dy/dx = 1/x"""

    def forward(self, x):
        return get_array_module(x).log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Sqrt(Function):
    """y = √x   dy/dx = 1/(2√x) = 1/(2y)"""

    def forward(self, x):
        return get_array_module(x).sqrt(x)

    def backward(self, gy):
        return gy / (2 * self.output)


class Abs(Function):
    """y = |x|   dy/dx = sign(x)"""

    def forward(self, x):
        return get_array_module(x).abs(x)

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * get_array_module(x).sign(x)


class Clip(Function):
    """y = min(max(x, low), high)   dy/dx = 1 inside [low, high], 0 outside"""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        return get_array_module(x).clip(x, self.low, self.high)

    def backward(self, gy):
        x = self.inputs[0].data
        inside = x == x   # all True, then narrowed by whichever bounds exist
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return gy * inside.astype(x.dtype)


class Maximum(Function):
    """y = max(a, b) elementwise   dy/da = [a ≥ b], dy/db = [a < b]"""

    def forward(self, a, b):
        if a.shape != b.shape:
            broadcast_shape("maximum", a, b)
        return get_array_module(a).maximum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        a_wins = (a.data >= b.data)
        return (sum_to(gy * a_wins.astype(gy.dtype), a.shape),
                sum_to(gy * (~a_wins).astype(gy.dtype), b.shape))


class Minimum(Function):
    """y = min(a, b) elementwise   dy/da = [a ≤ b], dy/db = [a > b]"""

    def forward(self, a, b):
        if a.shape != b.shape:
            broadcast_shape("minimum", a, b)
        return get_array_module(a).minimum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        a_wins = (a.data <= b.data)
        return (sum_to(gy * a_wins.astype(gy.dtype), a.shape),
                sum_to(gy * (~a_wins).astype(gy.dtype), b.shape))


class Where(Function):
    """y = a where condition else b   dy/da = [condition], dy/db = [not condition]"""

    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        return get_array_module(a).where(self.condition, a, b)

    def backward(self, gy):
        a, b = self.inputs
        zero = as_tensor(0.0, like=gy)
        return (sum_to(where(self.condition, gy, zero), a.shape),
                sum_to(where(self.condition, zero, gy), b.shape))


def exp(x) -> Tensor:
    return Exp()(x)


def log(x) -> Tensor:
    return Log()(x)


def sqrt(x) -> Tensor:
    return Sqrt()(x)


def abs(x) -> Tensor:  # noqa: A001
    return Abs()(x)


def clip(x, low=None, high=None) -> Tensor:
    return Clip(low, high)(x)


def maximum(a, b) -> Tensor:
    a = as_tensor(a)
    return Maximum()(a, as_tensor(b, like=a))


def minimum(a, b) -> Tensor:
    a = as_tensor(a)
    return Minimum()(a, as_tensor(b, like=a))


def where(condition, a, b) -> Tensor:
    """Elementwise choice; ``condition`` is a boolean array or Tensor (no gradient)."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    first = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    return Where(condition)(as_tensor(a, like=first), as_tensor(b, like=first))
