"""Conv2d and Flatten: the layers of a small convolutional network (the evaluator's
MNIST classifier; DCGAN's discriminator later)."""
from __future__ import annotations

from .. import functional as F
from ..autograd import Tensor
from ..ops.convolution import as_pair
from .layers import weight_and_bias
from .module import Module


class Conv2d(Module):
    """y = conv2d(x, W, b): x (N, C_in, H, W) → (N, C_out, H_out, W_out),
    W: (C_out, C_in, kh, kw), b: (C_out,).  See ``ops/convolution.py`` for the arithmetic.

    Initialised as PyTorch does: W and b ~ U(±1/√fan_in), fan_in = C_in·kh·kw.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, bias: bool = True, dtype: str = "float32"):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (as_pair(kernel_size), as_pair(stride),
                                                       as_pair(padding))
        kh, kw = self.kernel_size
        self.weight, self.bias = weight_and_bias((out_channels, in_channels, kh, kw),
                                                 in_channels * kh * kw, bias, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2d({self.in_channels}, {self.out_channels}): input of shape "
                             f"{x.shape}, expected (N, {self.in_channels}, H, W)")
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}")


class Flatten(Module):
    """(N, d1, d2, …) → (N, d1·d2·…): images into vectors for a Linear layer."""

    def forward(self, x: Tensor) -> Tensor:
        return F.reshape(x, x.shape[0], -1)
