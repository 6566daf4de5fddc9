"""Arithmetic with NumPy broadcasting, and matrix products.

Every binary op may broadcast; its backward computes the gradient at the broadcast
shape and hands it to ``sum_to``, which sums it back to each input's own shape.
"""
from __future__ import annotations

from ..autograd import Function, Tensor, as_tensor
from ..backend import get_array_module
from .elementwise import log
from .shape import broadcast_shape, sum_to, swapaxes, transpose, reshape


class Add(Function):
    """y = a + b   dy/da = 1, dy/db = 1 (summed back to each input's shape)"""

    def forward(self, a, b):
        if a.shape != b.shape:
            broadcast_shape("add", a, b)
        return a + b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(gy, b.shape)


class Sub(Function):
    """y = a − b   dy/da = 1, dy/db = −1"""

    def forward(self, a, b):
        if a.shape != b.shape:
            broadcast_shape("sub", a, b)
        return a - b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(-gy, b.shape)


class Mul(Function):
    """y = a · b   dy/da = b, dy/db = a"""

    def forward(self, a, b):
        if a.shape != b.shape:
            broadcast_shape("mul", a, b)
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        ga = sum_to(gy * b, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(gy * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """y = a / b   dy/da = 1/b, dy/db = −a/b² = −y/b"""

    def forward(self, a, b):
        if a.shape != b.shape:
            broadcast_shape("div", a, b)
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = sum_to(gy / b, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(-gy * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    """y = −x   dy/dx = −1"""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """y = a ** b   dy/da = b·a^(b−1),  dy/db = y·log(a)  (only where b needs a gradient)"""

    def forward(self, a, b):
        if a.shape != b.shape:
            broadcast_shape("pow", a, b)
        return a ** b

    def backward(self, gy):
        a, b = self.inputs
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = sum_to(gy * b * a ** (b - 1), a.shape)
        if self.needs_input_grad[1]:
            gb = sum_to(gy * self.output * log(a), b.shape)
        return ga, gb


def add(a, b) -> Tensor:
    return Add()(a, b)


def sub(a, b) -> Tensor:
    return Sub()(a, b)


def mul(a, b) -> Tensor:
    return Mul()(a, b)


def div(a, b) -> Tensor:
    return Div()(a, b)


def neg(x) -> Tensor:
    return Neg()(x)


def pow(a, b) -> Tensor:  # noqa: A001 (the name students expect)
    return Pow()(a, b)


# --- matrix products -----------------------------------------------------------------
class MatMul(Function):
    """Y = A @ B (batched: leading axes broadcast)   dL/dA = gY @ Bᵀ,  dL/dB = Aᵀ @ gY"""

    def forward(self, a, b):
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError(f"matmul: {tuple(a.shape)} @ {tuple(b.shape)} — MatMul takes "
                             f"2-D or batched operands (use F.matmul for vectors)")
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: {tuple(a.shape)} @ {tuple(b.shape)} — inner dims "
                             f"differ ({a.shape[-1]} vs {b.shape[-2]})")
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        ga = sum_to(gy @ swapaxes(b, -1, -2), a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(swapaxes(a, -1, -2) @ gy, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


def matmul(a, b) -> Tensor:
    """a @ b with NumPy's rules; 1-D operands are promoted to matrices and squeezed back."""
    a, b = as_tensor(a), as_tensor(b, like=a)
    if a.ndim == 1 and b.ndim == 1:
        return reshape(MatMul()(reshape(a, 1, -1), reshape(b, -1, 1)), ())
    if a.ndim == 1:
        y = MatMul()(reshape(a, 1, -1), b)
        return reshape(y, y.shape[:-2] + y.shape[-1:])
    if b.ndim == 1:
        y = MatMul()(a, reshape(b, -1, 1))
        return reshape(y, y.shape[:-1])
    return MatMul()(a, b)


class Linear(Function):
    """y = x Wᵀ + b  (x: (N, in), W: (out, in), b: (out,)) — one op for the commonest layer

    dL/dx = gy W,   dL/dW = gyᵀ x,   dL/db = Σ_n gy
    """

    def forward(self, x, W, b=None):
        if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[1]:
            raise ValueError(f"linear: input {tuple(x.shape)} does not fit weight "
                             f"{tuple(W.shape)} (expected input (N, {W.shape[-1]}))")
        y = x @ W.T
        if b is not None:
            y += b
        return y

    def backward(self, gy):
        x, W = self.inputs[:2]
        need = self.needs_input_grad
        gx = gy @ W if need[0] else None
        gW = transpose(gy) @ x if need[1] else None
        if len(self.inputs) == 2:
            return gx, gW
        gb = sum_to(gy, self.inputs[2].shape) if need[2] else None
        return gx, gW, gb


def linear(x, W, b=None) -> Tensor:
    x = as_tensor(x)
    if x.ndim != 2:   # leading batch axes: the general path
        y = matmul(x, transpose(W))
        return y if b is None else y + b
    return Linear()(x, W) if b is None else Linear()(x, W, b)
