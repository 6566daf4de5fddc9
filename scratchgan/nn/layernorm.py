"""LayerNorm: normalise each sample over its own trailing axes, then scale and shift.

    x̂ = (x − μ) / √(σ² + ε),   μ, σ² (biased) over the last len(normalized_shape) axes
    y = γ ⊙ x̂ + β              γ, β: one value per element of normalized_shape

Unlike BatchNorm, nothing is shared across the batch: a sample's output depends on that
sample alone, in training and in evaluation alike (no running statistics).  That is why
Gulrajani et al. (2017) suggest it for a WGAN-GP critic: the gradient penalty is taken
sample by sample, ‖∇D(x̂ᵢ)‖, and BatchNorm would make D(x̂ᵢ) depend on the rest of the batch.

Written with differentiable ops (``fused=False``), its gradient and second derivative come
from the ops' own backwards; by default (``fused=True``) the normalisation runs as one op,
``BatchNormTrain`` over the trailing axes, tested equal to the composite form.
"""
from __future__ import annotations

from .. import backend
from ..autograd import Tensor
from ..ops.normalization import BatchNormTrain
from .module import Module, Parameter


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 dtype: str = "float32", fused: bool = True):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape, self.eps, self.fused = tuple(shape), eps, fused
        xp = backend.xp
        if elementwise_affine:
            self.weight = Parameter(xp.ones(self.normalized_shape, dtype=dtype))    # γ
            self.bias = Parameter(xp.zeros(self.normalized_shape, dtype=dtype))     # β
        else:
            self.weight = self.bias = None

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if tuple(x.shape[x.ndim - k:]) != self.normalized_shape or x.ndim <= k:
            raise ValueError(f"LayerNorm{self.normalized_shape}: expected input (N, "
                             f"{', '.join(map(str, self.normalized_shape))}), got {x.shape}")
        axes = tuple(range(x.ndim - k, x.ndim))
        if self.fused:
            x_hat = BatchNormTrain(axes, self.eps)(x)
        else:
            mean = x.mean(axis=axes, keepdims=True)
            centered = x - mean
            var = (centered * centered).mean(axis=axes, keepdims=True)
            x_hat = centered * (var + self.eps) ** -0.5
        if self.weight is not None:
            return x_hat * self.weight + self.bias
        return x_hat

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.weight is not None}"
                + ("" if self.fused else ", fused=False"))
