"""Changing an image's size without weights: average pooling (down) and nearest-neighbour
upsampling (up).  Each is the other's adjoint up to a factor: with kernel = stride = s,
avg_pool2d averages each s×s block and upsample_nearest2d copies a pixel onto an s×s
block, so the gradient of one is the other, scaled.
"""
from __future__ import annotations

from ..autograd import Function, Tensor, as_tensor
from ..backend import get_array_module
from .convolution import Unfold, as_pair, conv_output_size
from .shape import reshape, transpose


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """y[n, c, i, j] = 1/(kh·kw) Σ_(u, v) x_padded[n, c, i·s + u, j·s + v]

    x: (N, C, H, W) → (N, C, H_out, W_out),  H_out = (H + 2·padding − kh) // stride + 1.
    stride defaults to the kernel size; the zeros of the padding count in the average
    (PyTorch's ``count_include_pad=True``).  Every patch is a row of ``unfold``, so this is
    unfold, then a mean over each row's kh·kw pixels: its gradient spreads gy/(kh·kw) back
    over the patch (``fold``).
    """
    x = as_tensor(x)
    kernel = as_pair(kernel_size)
    stride = kernel if stride is None else as_pair(stride)
    padding = as_pair(padding)
    if x.ndim != 4:
        raise ValueError(f"avg_pool2d: expected images (N, C, H, W), got shape {x.shape}")
    if min(kernel) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"avg_pool2d: kernel {kernel} and stride {stride} must be ≥ 1, "
                         f"padding {padding} ≥ 0")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        # a window could then lie wholly in the padding, an average of nothing but zeros
        raise ValueError(f"avg_pool2d: padding {padding} must be at most half the kernel "
                         f"{kernel}")
    n, c, h, w = x.shape
    h_out = conv_output_size(h, kernel[0], stride[0], padding[0])
    w_out = conv_output_size(w, kernel[1], stride[1], padding[1])
    if h_out < 1 or w_out < 1:
        raise ValueError(f"avg_pool2d: a {kernel[0]}×{kernel[1]} kernel (padding {padding}) "
                         f"does not fit images of shape {x.shape}")
    patches = Unfold(kernel, stride, padding)(x)                # (N, L, kh·kw·C): (u, v, c)
    means = reshape(patches, n, h_out * w_out, kernel[0] * kernel[1], c).mean(axis=2)
    return transpose(reshape(means, n, h_out, w_out, c), (0, 3, 1, 2))


class UpsampleNearest2d(Function):
    """y[n, c, i, j] = x[n, c, i // sh, j // sw]: each pixel copied onto an sh×sw block
    dL/dx[n, c, i, j] = Σ of gy over that block"""

    def __init__(self, scale):
        self.scale = scale

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"upsample_nearest2d: expected images (N, C, H, W), got shape "
                             f"{tuple(x.shape)}")
        xp = get_array_module(x)
        (sh, sw), (n, c, h, w) = self.scale, x.shape
        blocks = xp.broadcast_to(x[:, :, :, None, :, None], (n, c, h, sh, w, sw))
        return blocks.reshape(n, c, h * sh, w * sw)

    def backward(self, gy):
        (sh, sw), (n, c, h, w) = self.scale, self.inputs[0].shape
        return reshape(gy, n, c, h, sh, w, sw).sum(axis=(3, 5))


def upsample_nearest2d(x, scale_factor=2) -> Tensor:
    """Images (N, C, H, W) → (N, C, H·s, W·s), each pixel repeated on an s×s block.

    scale_factor: a whole number, or a pair (sh, sw) of them.
    """
    return UpsampleNearest2d(as_scale_pair(scale_factor))(as_tensor(x))


def as_scale_pair(scale_factor) -> tuple[int, int]:
    """2 → (2, 2); 2.0 → (2, 2); (2, 3) → (2, 3); anything but whole numbers ≥ 1: an error."""
    pair = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * 2
    if len(pair) != 2 or any(float(s) != int(s) or int(s) < 1 for s in pair):
        raise ValueError(f"upsample_nearest2d: scale_factor must be a whole number ≥ 1 "
                         f"(or a pair of them), got {scale_factor}")
    return int(pair[0]), int(pair[1])
