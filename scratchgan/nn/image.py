"""The layers that make and reshape images in a GAN: a generator grows (Unflatten,
ConvTranspose2d, Upsample), CycleGAN pads by reflection, a discriminator shrinks
(AvgPool2d).  The arithmetic lives in ``ops/``; these hold the settings and the weights.
"""
from __future__ import annotations

import math

from .. import backend
from .. import functional as F
from ..autograd import Tensor
from ..ops.convolution import as_pair
from ..ops.padding import as_pad4
from ..ops.pooling import as_scale_pair
from . import init
from .layers import weight_and_bias
from .module import Module, Parameter


class ConvTranspose2d(Module):
    """y = conv_transpose2d(x, W, b): x (N, C_in, H, W) → (N, C_out, H_out, W_out),
    H_out = (H − 1)·stride − 2·padding + kh + output_padding,
    W: (C_in, C_out, kh, kw) (PyTorch's layout), b: (C_out,).
    See ``ops/conv_transpose.py`` for the arithmetic.

    Initialised as PyTorch does: W and b ~ U(±1/√fan_in), with fan_in read off W's shape
    as for any weight, W.shape[1]·kh·kw — here C_out·kh·kw.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, output_padding=0, bias: bool = True, dtype: str = "float32"):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = as_pair(kernel_size), as_pair(stride)
        self.padding, self.output_padding = as_pair(padding), as_pair(output_padding)
        if (self.output_padding[0] >= self.stride[0]
                or self.output_padding[1] >= self.stride[1]):
            raise ValueError(f"ConvTranspose2d: output_padding {self.output_padding} must be "
                             f"smaller than stride {self.stride}")
        kh, kw = self.kernel_size
        fan_in = out_channels * kh * kw
        self.weight, _ = weight_and_bias((in_channels, out_channels, kh, kw), fan_in,
                                         False, dtype)
        self.bias = None
        if bias:   # one per output channel: weight_and_bias would make one per input channel
            bound = 1.0 / math.sqrt(fan_in)
            self.bias = init.uniform_(Parameter(backend.xp.empty(out_channels, dtype=dtype)),
                                      -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ConvTranspose2d({self.in_channels}, {self.out_channels}): "
                             f"input of shape {x.shape}, expected (N, {self.in_channels}, H, W)")
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"output_padding={self.output_padding}, bias={self.bias is not None}")


class AvgPool2d(Module):
    """y = the mean of each kh×kw window, windows ``stride`` apart (default: the kernel
    size, so they tile the image).  See ``ops/pooling.py``."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = as_pair(kernel_size)
        self.stride = self.kernel_size if stride is None else as_pair(stride)
        self.padding = as_pair(padding)

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Upsample(Module):
    """(N, C, H, W) → (N, C, H·s, W·s), each pixel repeated on an s×s block.
    Only mode="nearest" with a whole-number scale_factor (what a GAN generator needs)."""

    def __init__(self, scale_factor=2, mode: str = "nearest"):
        super().__init__()
        if mode != "nearest":
            raise ValueError(f"Upsample: only mode='nearest' is implemented, got {mode!r}")
        as_scale_pair(scale_factor)                    # refuse a bad one here, not later
        self.scale_factor, self.mode = scale_factor, mode

    def forward(self, x: Tensor) -> Tensor:
        return F.upsample_nearest2d(x, self.scale_factor)

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}"


class ReflectionPad2d(Module):
    """Pad images with a mirror of themselves; ``padding``: an int for all four sides, or
    (left, right, top, bottom).  See ``ops/padding.py``."""

    def __init__(self, padding):
        super().__init__()
        self.padding = as_pad4(padding)

    def forward(self, x: Tensor) -> Tensor:
        return F.reflection_pad2d(x, self.padding)

    def extra_repr(self) -> str:
        return str(self.padding)


class Unflatten(Module):
    """Axis ``dim`` reshaped into ``shape``: Unflatten(1, (C, H, W)) turns (N, C·H·W) into
    (N, C, H, W), a Linear layer's output into images (the inverse of Flatten)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(int(n) for n in unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"Unflatten: dim {self.dim} is out of range for input {x.shape}")
        dim = self.dim % x.ndim
        if math.prod(self.unflattened_size) != x.shape[dim]:
            raise ValueError(f"Unflatten: axis {self.dim} of input {x.shape} has "
                             f"{x.shape[dim]} elements, {self.unflattened_size} holds "
                             f"{math.prod(self.unflattened_size)}")
        return F.reshape(x, x.shape[:dim] + self.unflattened_size + x.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
