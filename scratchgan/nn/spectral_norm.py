"""Spectral normalisation (Miyato et al. 2018): divide a weight by its largest singular
value σ(W), so the layer is 1-Lipschitz and D cannot sharpen without bound.

    σ(W) ≈ uᵀ W v,   with u, v from power iteration:  v ← Wᵀu/‖Wᵀu‖,  u ← Wv/‖Wv‖
    W_SN = W / σ(W)

One power-iteration step per training forward is enough because W changes slowly; u is
kept between steps (a buffer, saved in the state_dict).  u and v are constants for the
gradient; σ(W) = uᵀWv is not, so the gradient of W_SN includes the −W ∂σ/∂W / σ² term.
"""
from __future__ import annotations

from .. import backend
from .. import functional as F
from ..autograd import Tensor
from .layers import Linear


def _normalize(a, eps: float = 1e-12):
    xp = backend.get_array_module(a)
    return a / (xp.sqrt((a * a).sum()) + eps)


class SpectralNormLinear(Linear):
    """A Linear layer whose weight is used as W / σ(W)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: str = "float32"):
        super().__init__(in_features, out_features, bias, dtype)
        u = _normalize(backend.random_normal((out_features,), dtype=dtype))
        self.register_buffer("u", u)
        self.register_buffer("v", _normalize(self.weight.data.T @ u))

    def sigma(self) -> Tensor:
        """σ(W) ≈ uᵀWv; in training mode, after one power-iteration step.

        u and v are buffers, so in eval mode σ is exactly uᵀWv for fixed u, v — the
        function whose gradients autograd computes (and gradgradcheck checks).
        """
        if self.training:
            W = self.weight.data
            v = _normalize(W.T @ self.u)
            self._set_buffer("u", _normalize(W @ v))
            self._set_buffer("v", _normalize(W.T @ self.u))
        u, v = Tensor(self.u[None, :]), Tensor(self.v[:, None])
        return F.matmul(F.matmul(u, self.weight), v).reshape(())

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"SpectralNormLinear({self.in_features}, {self.out_features}): "
                             f"input of shape {x.shape} has {x.shape[-1]} features")
        return F.linear(x, self.weight / self.sigma(), self.bias)

    def extra_repr(self) -> str:
        return super().extra_repr() + ", spectral_norm=True"
