"""Activations and their log-domain relatives, each in its numerically stable form.

    sigmoid(x)     = 1 / (1 + e⁻ˣ), from e^(−|x|)            never overflows
    softplus(x)    = log(1 + eˣ)   = logaddexp(0, x)        exact for |x| up to 1e308
    log_sigmoid(x) = −softplus(−x)                          log D without log(sigmoid)
    log_softmax(x) = x − logsumexp(x)
"""
from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import get_array_module
from .elementwise import exp
from .reductions import logsumexp, sum


class Sigmoid(Function):
    """y = 1 / (1 + e⁻ˣ)   dy/dx = y(1 − y)"""

    def forward(self, x):
        # e = e^(−|x|) never overflows; 1/(1+e) for x ≥ 0 and e/(1+e) for x < 0 are the
        # same function, each exact on its side (no 1 − (almost 1) cancellation).
        xp = get_array_module(x)
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1, e) / (1 + e)

    def backward(self, gy):
        y = self.output
        return gy * y * (1 - y)


class Tanh(Function):
    """y = tanh x   dy/dx = 1 − y²"""

    def forward(self, x):
        return get_array_module(x).tanh(x)

    def backward(self, gy):
        y = self.output
        return gy * (1 - y * y)


class ReLU(Function):
    """y = max(x, 0)   dy/dx = [x > 0]"""

    def forward(self, x):
        return get_array_module(x).maximum(x, 0)

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * (x > 0).astype(x.dtype)


class LeakyReLU(Function):
    """y = x if x > 0 else slope·x   dy/dx = 1 if x > 0 else slope"""

    def __init__(self, slope: float = 0.01):
        self.slope = slope

    def forward(self, x):
        slope = x.dtype.type(self.slope)                         # keep x's dtype: no cast
        return get_array_module(x).where(x > 0, x, slope * x)

    def backward(self, gy):
        x = self.inputs[0].data
        one, slope = x.dtype.type(1), x.dtype.type(self.slope)
        return gy * get_array_module(x).where(x > 0, one, slope)


class LeakyReLUFast(LeakyReLU):
    """LeakyReLU for 0 ≤ slope ≤ 1, by arithmetic instead of a choice per element; equal to
    LeakyReLU bit for bit (tests/test_ops_gradcheck.py runs both on the same inputs).

        y = max(x, slope·x)                  slope·x ≤ x exactly where x ≥ 0
        dy/dx = slope + (1 − slope)·[x > 0]  exactly 1 or slope: (1 − s) + s rounds to 1
                                             for any s in [0, 1]

    Why: ``where`` decides per element, and the random signs of activations defeat the
    CPU's branch predictor; multiplies, adds and max do not branch.  leaky_relu() uses
    this form whenever the slope allows it.
    """

    def __init__(self, slope: float = 0.01):
        if not 0 <= slope <= 1:
            raise ValueError(f"LeakyReLUFast: slope must be in [0, 1], got {slope} "
                             f"(use LeakyReLU)")
        super().__init__(slope)

    def forward(self, x):
        xp = get_array_module(x)
        y = xp.multiply(x, x.dtype.type(self.slope))            # slope·x
        return xp.maximum(x, y, out=y)                          # max(x, slope·x), in place

    def backward(self, gy):
        x = self.inputs[0].data
        slope = x.dtype.type(self.slope)
        dydx = (x > 0).astype(x.dtype)                          # [x > 0]
        dydx *= 1 - slope                                       # (1 − slope)·[x > 0]
        dydx += slope                                           # + slope
        return gy * dydx


class Softplus(Function):
    """y = log(1 + eˣ)   dy/dx = sigmoid(x)"""

    def forward(self, x):
        return get_array_module(x).logaddexp(0, x)

    def backward(self, gy):
        return gy * sigmoid(self.inputs[0])


class LogSigmoid(Function):
    """y = log sigmoid(x) = −log(1 + e⁻ˣ)   dy/dx = 1 − sigmoid(x) = sigmoid(−x)"""

    def forward(self, x):
        return -get_array_module(x).logaddexp(0, -x)

    def backward(self, gy):
        return gy * sigmoid(-self.inputs[0])


class LogSoftmax(Function):
    """y = x − logsumexp(x)   dL/dx = gy − softmax(x) · Σ gy   (softmax = eʸ)"""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        m = x.max(axis=self.axis, keepdims=True)
        shifted = x - m
        return shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, gy):
        softmax_x = exp(self.output)
        return gy - softmax_x * sum(gy, axis=self.axis, keepdims=True)


class Softmax(Function):
    """y = eˣ / Σ eˣ   dL/dx = y · (gy − Σ gy·y)"""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, gy):
        y = self.output
        return y * (gy - sum(gy * y, axis=self.axis, keepdims=True))


def sigmoid(x) -> Tensor:
    return Sigmoid()(x)


def tanh(x) -> Tensor:
    return Tanh()(x)


def relu(x) -> Tensor:
    return ReLU()(x)


def leaky_relu(x, slope: float = 0.01) -> Tensor:
    return (LeakyReLUFast if 0 <= slope <= 1 else LeakyReLU)(slope)(x)


def softplus(x) -> Tensor:
    return Softplus()(x)


def log_sigmoid(x) -> Tensor:
    return LogSigmoid()(x)


def log_softmax(x, axis: int = -1) -> Tensor:
    return LogSoftmax(axis)(x)


def softmax(x, axis: int = -1) -> Tensor:
    return Softmax(axis)(x)


__all__ = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "log_sigmoid",
           "log_softmax", "softmax", "logsumexp"]
