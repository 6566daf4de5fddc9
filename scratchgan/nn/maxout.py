"""Maxout (Goodfellow et al. 2013): each unit is the largest of k linear pieces.

    y_j = max_{i=1..k} (W_{ij} · x + b_{ij})        W: (k·out, in), b: (k·out,)

One Linear to k·out numbers, a reshape to (N, k, out), a max over the pieces' axis: the
gradient reaches only the winning piece of each unit (``F.max``'s backward), and since the
max is built from differentiable ops, so does the gradient of the gradient.  The pieces sit on
the middle axis, not the last: NumPy takes a max over a short last axis many times slower
than the same max across contiguous rows (docs/modes.md measures it).  PacGAN's
discriminator is three such layers (200 units × 5 pieces) and a Linear.
"""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from .layers import Linear
from .module import Module


class Maxout(Module):
    def __init__(self, in_features: int, out_features: int, pieces: int = 5,
                 dtype: str = "float32"):
        super().__init__()
        if pieces < 1:
            raise ValueError(f"Maxout: pieces must be at least 1, got {pieces}")
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        self.linear = Linear(in_features, out_features * pieces, dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        pieces = self.linear(x)                                       # (N, k·out)
        return F.max(pieces.reshape(x.shape[0], self.pieces, self.out_features), axis=1)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, pieces={self.pieces}"
