"""The layers of an MLP GAN: Linear, the activations, Dropout, Sequential."""
from __future__ import annotations

import math

from .. import backend
from .. import functional as F
from ..autograd import Tensor
from . import init
from .module import Module, Parameter


def weight_and_bias(weight_shape, fan_in: int, bias: bool, dtype):
    """A layer's W (weight_shape) and b (weight_shape[0],), or None for no bias, drawn as
    PyTorch initialises Linear and Conv2d: W and b ~ U(±1/√fan_in)."""
    xp = backend.xp
    bound = 1.0 / math.sqrt(fan_in)
    weight = Parameter(xp.empty(weight_shape, dtype=dtype))
    init.uniform_(weight, -bound, bound)
    if not bias:
        return weight, None
    b = Parameter(xp.empty((weight_shape[0],), dtype=dtype))
    init.uniform_(b, -bound, bound)
    return weight, b


class Linear(Module):
    """y = x Wᵀ + b,  W: (out_features, in_features), b: (out_features,)

    Initialised as PyTorch does: W and b ~ U(±1/√in_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: str = "float32"):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight, self.bias = weight_and_bias((out_features, in_features), in_features,
                                                 bias, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}): input of shape "
                             f"{x.shape} has {x.shape[-1]} features, expected {self.in_features}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return str(self.negative_slope)


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Dropout(Module):
    """Training: zero each element with probability p and scale the rest by 1/(1−p), so the
    expected activation is unchanged.  Evaluation: the identity."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = (backend.random_uniform(x.shape, dtype=x.dtype) >= self.p).astype(x.dtype)
        return x * (keep * (1.0 / (1 - self.p)))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Sequential(Module):
    """Apply the layers in order: Sequential(a, b, c)(x) = c(b(a(x)))."""

    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, x):
        for layer in self._modules.values():
            x = layer(x)
        return x
