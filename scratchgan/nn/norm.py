"""BatchNorm1d: normalise each feature over the batch, then scale and shift.

    training:    x̂ = (x − μ_B) / √(σ²_B + ε),   y = γ x̂ + β
                 running_mean ← (1 − m) running_mean + m μ_B     (σ² unbiased, as PyTorch)
    evaluation:  x̂ = (x − running_mean) / √(running_var + ε)

Written with differentiable ops (``fused=False``), its gradient (and the gradient of its
gradient) comes from the ops' own backwards: there is no BatchNorm backward to get wrong.
That form is the reference; training runs by default (``fused=True``) as one op,
``F.batch_norm_train``, whose closed-form backward is tested equal to it.
"""
from __future__ import annotations

from .. import backend
from ..autograd import Tensor, no_grad
from ..ops.normalization import BatchNormTrain
from .module import Module, Parameter


class BatchNorm1d(Module):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, dtype: str = "float32", fused: bool = True):
        super().__init__()
        xp = backend.xp
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.fused = fused
        if affine:
            self.weight = Parameter(xp.ones(num_features, dtype=dtype))   # γ
            self.bias = Parameter(xp.zeros(num_features, dtype=dtype))    # β
        else:
            self.weight = self.bias = None
        self.register_buffer("running_mean", xp.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", xp.ones(num_features, dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}): expected input (N, "
                             f"{self.num_features}), got {x.shape}")
        if self.training:
            if x.shape[0] < 2:
                raise ValueError("BatchNorm1d in training mode needs a batch of 2 or more")
            if self.fused:
                op = BatchNormTrain((0,), self.eps)
                y = op(x) if self.weight is None else op(x, self.weight, self.bias)
                self._update_running_stats(op.mean, op.var, x.shape[0])
                return y
            mean = x.mean(axis=0, keepdims=True)
            centered = x - mean
            var = (centered * centered).mean(axis=0, keepdims=True)
            x_hat = centered * (var + self.eps) ** -0.5
            self._update_running_stats(mean.data, var.data, x.shape[0])
        else:
            scale = (self.running_var + self.eps) ** -0.5
            x_hat = (x - self.running_mean) * scale.astype(x.dtype)
        if self.weight is not None:
            return x_hat * self.weight + self.bias
        return x_hat

    def _update_running_stats(self, mean, var, n: int) -> None:
        """mean, var: this batch's μ, σ² (arrays of shape (1, C))."""
        m = self.momentum
        with no_grad():
            unbiased = var[0] * (n / (n - 1))
            self._set_buffer("running_mean",
                             ((1 - m) * self.running_mean + m * mean[0]).astype(self.running_mean.dtype))
            self._set_buffer("running_var",
                             ((1 - m) * self.running_var + m * unbiased).astype(self.running_var.dtype))

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
                + ("" if self.fused else ", fused=False"))
