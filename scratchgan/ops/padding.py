"""Reflection padding: the border CycleGAN's generator pads with, so that a convolution at
the edge sees image-like pixels instead of a frame of zeros.

    x = [a b c d],  pad 2 each side  →  [c b | a b c d | c b]

The border mirrors the image about its first and last pixel (which are not repeated).
Its gradient folds the border back: each padded pixel's gradient is added onto the pixel
it copies.  That fold-back is linear too, and its own adjoint is reflection padding again,
so the two Functions are each other's backward and the pair is differentiable to any order.
"""
from __future__ import annotations

from ..autograd import Function, Tensor, as_tensor
from ..backend import get_array_module


def as_pad4(pad) -> tuple[int, int, int, int]:
    """3 → (3, 3, 3, 3); (left, right, top, bottom) as PyTorch orders them, each ≥ 0."""
    pad4 = (pad,) * 4 if isinstance(pad, int) else tuple(pad)
    if len(pad4) != 4 or any(int(p) != p or p < 0 for p in pad4):
        raise ValueError(f"reflection_pad2d: pad must be an int ≥ 0 or (left, right, top, "
                         f"bottom), got {pad}")
    return tuple(int(p) for p in pad4)


class ReflectionPad2d(Function):
    """y = x with a mirrored border: y[.., i, j] = x[.., r(i − top, H), r(j − left, W)],
    r(k, n) = |k| for k < 0, 2(n − 1) − k for k ≥ n, else k
    dL/dx: fold_back(gy), each border gradient added onto the pixel it copies"""

    def __init__(self, pad):
        self.pad = pad            # (left, right, top, bottom)

    def forward(self, x):
        left, right, top, bottom = self.pad
        if x.ndim != 4:
            raise ValueError(f"reflection_pad2d: expected images (N, C, H, W), got shape "
                             f"{tuple(x.shape)}")
        h, w = x.shape[2:]
        if max(left, right) >= w or max(top, bottom) >= h:
            # the mirror of a row needs that many rows besides the edge one
            raise ValueError(f"reflection_pad2d: padding (left, right, top, bottom) = "
                             f"{self.pad} must be smaller than the image's width and height, "
                             f"got images of shape {tuple(x.shape)}")
        return get_array_module(x).pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)),
                                       mode="reflect")

    def backward(self, gy):
        return ReflectionFoldBack(self.pad)(gy)


class ReflectionFoldBack(Function):
    """The adjoint of reflection padding: the middle of g, plus each border pixel's value
    added onto the pixel it mirrors.   dL/dg: reflection_pad2d(gy)"""

    def __init__(self, pad):
        self.pad = pad

    def forward(self, g):
        left, right, top, bottom = self.pad
        g = _fold_back_last_axis(g, left, right)                  # the columns
        g = _fold_back_last_axis(g.swapaxes(2, 3), top, bottom)   # then the rows
        return g.swapaxes(2, 3)

    def backward(self, gy):
        return ReflectionPad2d(self.pad)(gy)


def _fold_back_last_axis(g, before, after):
    """Padded columns back onto the image: column k < before copies x[before − k], and
    column before + n + k copies x[n − 2 − k] (n the unpadded width)."""
    n = g.shape[-1] - before - after
    x = g[..., before:before + n].copy()
    x[..., 1:before + 1] += g[..., :before][..., ::-1]
    x[..., n - 1 - after:n - 1] += g[..., before + n:][..., ::-1]
    return x


def reflection_pad2d(x, pad) -> Tensor:
    """Images (N, C, H, W) → (N, C, H + top + bottom, W + left + right), the border a mirror
    of the image.  pad: an int for all four sides, or (left, right, top, bottom); each must
    be smaller than the side it mirrors (as PyTorch requires)."""
    return ReflectionPad2d(as_pad4(pad))(as_tensor(x))
