"""Normalisation of images (N, C, H, W): the same x̂ = (x − μ) / √(σ² + ε), y = γ x̂ + β,
with the mean and variance taken over different axes.

    BatchNorm2d     per channel, over (N, H, W): the whole batch shares the statistics
                    (DCGAN); running averages of them stand in at evaluation.
    InstanceNorm2d  per sample and channel, over (H, W): each image is normalised on its
                    own (CycleGAN), so there is nothing to average and train = eval.

Written with differentiable ops, as BatchNorm1d is: the gradients, and their gradients,
come from the ops' own backwards.  BatchNorm2d's training step and InstanceNorm2d run, by
default, as one op (``F.batch_norm_train`` over their axes, ``fused=True``): the same
arithmetic with a closed-form backward, tested equal to the composite form, which
``fused=False`` keeps selectable.
"""
from __future__ import annotations

from .. import backend
from ..autograd import Tensor, no_grad
from ..ops.normalization import BatchNormTrain
from .module import Module, Parameter


def _affine_parameters(num_features, affine, dtype):
    """γ = 1 and β = 0 of shape (C,), or (None, None) without ``affine``."""
    if not affine:
        return None, None
    xp = backend.xp
    return (Parameter(xp.ones(num_features, dtype=dtype)),
            Parameter(xp.zeros(num_features, dtype=dtype)))


def _normalise(x: Tensor, axes, eps: float):
    """x̂ = (x − μ) / √(σ² + ε) with μ, σ² (biased) over ``axes``; and μ, σ²."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    return centered * (var + eps) ** -0.5, mean, var


def _check_images(layer: str, x: Tensor, num_features: int) -> None:
    if x.ndim != 4 or x.shape[1] != num_features:
        raise ValueError(f"{layer}({num_features}): expected input (N, {num_features}, H, W), "
                         f"got {x.shape}")


def _per_channel(v) -> object:
    """(C,) → (1, C, 1, 1), to broadcast over images."""
    return v.reshape(1, -1, 1, 1)


class BatchNorm2d(Module):
    """training:    x̂ = (x − μ_c) / √(σ²_c + ε), μ_c, σ²_c over (N, H, W) of channel c
                 running_mean ← (1 − m) running_mean + m μ_c     (σ² unbiased, as PyTorch)
    evaluation:  x̂ = (x − running_mean) / √(running_var + ε)
    y = γ_c x̂ + β_c

    ``fused=False`` trains with the composite form (``_normalise``) instead of the one op:
    the same numbers to float rounding, a dozen recorded ops where the op is one.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, dtype: str = "float32", fused: bool = True):
        super().__init__()
        xp = backend.xp
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.fused = fused
        self.weight, self.bias = _affine_parameters(num_features, affine, dtype)
        self.register_buffer("running_mean", xp.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", xp.ones(num_features, dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        _check_images("BatchNorm2d", x, self.num_features)
        if self.training:
            n, _, h, w = x.shape
            if n * h * w < 2:
                raise ValueError(f"BatchNorm2d in training mode needs 2 or more values per "
                                 f"channel, got input {x.shape}")
            if self.fused:
                op = BatchNormTrain((0, 2, 3), self.eps)
                y = op(x) if self.weight is None else op(x, self.weight, self.bias)
                self._update_running_stats(op.mean, op.var, n * h * w)
                return y
            x_hat, mean, var = _normalise(x, (0, 2, 3), self.eps)
            self._update_running_stats(mean.data, var.data, n * h * w)
        else:
            scale = (self.running_var + self.eps) ** -0.5
            x_hat = (x - _per_channel(self.running_mean)) * _per_channel(scale.astype(x.dtype))
        if self.weight is not None:
            return x_hat * _per_channel(self.weight) + _per_channel(self.bias)
        return x_hat

    def _update_running_stats(self, mean, var, count: int) -> None:
        """mean, var: this batch's μ, σ² (arrays, one per channel, any shape)."""
        m = self.momentum
        with no_grad():
            unbiased = var.reshape(-1) * (count / (count - 1))
            self._set_buffer("running_mean", ((1 - m) * self.running_mean + m * mean.reshape(-1))
                             .astype(self.running_mean.dtype))
            self._set_buffer("running_var", ((1 - m) * self.running_var + m * unbiased)
                             .astype(self.running_var.dtype))

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.weight is not None}" + ("" if self.fused else ", fused=False"))


class InstanceNorm2d(Module):
    """x̂ = (x − μ_nc) / √(σ²_nc + ε), μ_nc, σ²_nc over (H, W) of image n, channel c
    y = γ_c x̂ + β_c  (with ``affine``; PyTorch's default is without)

    No running statistics (PyTorch's default ``track_running_stats=False``): evaluation
    normalises each image by its own statistics, exactly as training does.

    ``fused=False`` uses the composite form (``_normalise``) instead of the one op.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = False,
                 dtype: str = "float32", fused: bool = True):
        super().__init__()
        self.num_features, self.eps, self.fused = num_features, eps, fused
        self.weight, self.bias = _affine_parameters(num_features, affine, dtype)

    def forward(self, x: Tensor) -> Tensor:
        _check_images("InstanceNorm2d", x, self.num_features)
        if x.shape[2] * x.shape[3] < 2:
            # one pixel is its own mean: x̂ would be 0 whatever the image
            raise ValueError(f"InstanceNorm2d({self.num_features}) needs 2 or more pixels per "
                             f"image, got input {x.shape}")
        if self.fused:
            op = BatchNormTrain((2, 3), self.eps)
            return op(x) if self.weight is None else op(x, self.weight, self.bias)
        x_hat, _, _ = _normalise(x, (2, 3), self.eps)
        if self.weight is not None:
            return x_hat * _per_channel(self.weight) + _per_channel(self.bias)
        return x_hat

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, affine={self.weight is not None}"
                + ("" if self.fused else ", fused=False"))
