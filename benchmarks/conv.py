"""The convolution rows of ``make bench``: DCGAN's four convolution layers, forward and
backward, through scratchgan, through a plain-NumPy im2col written out here, and through
PyTorch where it is installed.

The layers, at the sizes ``DCGAN.train_step`` runs them (``models/dcgan.py``; C = channels):

    G  ConvTranspose2d(2C → C, 4, stride 2, padding 1)       on (B, 2C, 7, 7)    no bias
    G  ConvTranspose2d(C → 1, 4, stride 2, padding 1)        on (B, C, 14, 14)   bias
    D  Conv2d(1 → C, 4, stride 2, padding 1)                 on (2B, 1, 28, 28)  bias
    D  Conv2d(C → 2C, 4, stride 2, padding 1)                on (2B, C, 14, 14)  no bias

D's batch is 2B: it judges [real; fake] in one pass.  Every row computes y and then, from
a fixed dL/dy, the gradients of the input, the weight and the bias (each layer's input
needs one in G's step: the gradient flows through D to G and through G to its Linear).
"""
from __future__ import annotations

from dataclasses import dataclass

from scratchgan.backend import numpy

import scratchgan as sg
from scratchgan import backend
from scratchgan import functional as F


@dataclass(frozen=True)
class ConvLayer:
    name: str
    transposed: bool
    c_in: int
    c_out: int
    batch: int
    size: int             # the input's height = width
    bias: bool
    kernel: int = 4
    stride: int = 2
    padding: int = 1

    @property
    def weight_shape(self) -> tuple:
        k = self.kernel
        # PyTorch's layouts, which scratchgan keeps: Conv2d (out, in, k, k),
        # ConvTranspose2d (in, out, k, k)
        return ((self.c_in, self.c_out, k, k) if self.transposed
                else (self.c_out, self.c_in, k, k))

    @property
    def out_size(self) -> int:
        k, s, p = self.kernel, self.stride, self.padding
        if self.transposed:
            return (self.size - 1) * s - 2 * p + k
        return (self.size + 2 * p - k) // s + 1


def dcgan_layers(channels: int, batch: int) -> list[ConvLayer]:
    """DCGAN's convolutions for G's batch ``batch`` (D sees twice as many images)."""
    c = channels
    return [ConvLayer(f"G ConvT {2 * c}->{c} 7->14", True, 2 * c, c, batch, 7, False),
            ConvLayer(f"G ConvT {c}->1 14->28", True, c, 1, batch, 14, True),
            ConvLayer(f"D Conv 1->{c} 28->14", False, 1, c, 2 * batch, 28, True),
            ConvLayer(f"D Conv {c}->{2 * c} 14->7", False, c, 2 * c, 2 * batch, 14, False)]


def layer_arrays(layer: ConvLayer, xp, dtype="float32", seed=0):
    """x, weight, bias (or None) and dL/dy for ``layer``: the same on every side."""
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((layer.batch, layer.c_in, layer.size, layer.size))
    weight = rng.normal(0.0, 0.02, layer.weight_shape)
    bias = rng.normal(0.0, 0.02, layer.c_out) if layer.bias else None
    gy = rng.standard_normal((layer.batch, layer.c_out, layer.out_size, layer.out_size))
    return tuple(None if a is None else xp.asarray(a.astype(dtype)) for a in (x, weight, bias, gy))


def conv_step_scratchgan(layer: ConvLayer, x, weight, bias, gy):
    """Forward, then backward from dL/dy = gy: the gradients land in .grad of x, weight, bias."""
    conv = F.conv_transpose2d if layer.transposed else F.conv2d
    y = conv(x, weight, bias, layer.stride, layer.padding)
    y.backward(gy)
    return y


# --- the same by hand: im2col as a student writes it from the textbook -------------------

def im2col(x, k: int, s: int, p: int):
    """(N, C, H, W) → cols (N·Ho·Wo, C·k·k), a row per output pixel, (c, u, v) per row."""
    xp = backend.get_array_module(x)
    n, c, h, w = x.shape
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    xpad = xp.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    sn, sc, sh, sw = xpad.strides
    windows = xp.lib.stride_tricks.as_strided(
        xpad, (n, ho, wo, c, k, k), (sn, sh * s, sw * s, sc, sh, sw))
    return windows.reshape(n * ho * wo, c * k * k), (ho, wo)


def col2im(cols, shape, k: int, s: int, p: int):
    """The adjoint of im2col: every row added back onto the pixels it was read from."""
    xp = backend.get_array_module(cols)
    n, c, h, w = shape
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    windows = cols.reshape(n, ho, wo, c, k, k).transpose(0, 3, 4, 5, 1, 2)  # (n, c, u, v, i, j)
    xpad = xp.zeros((n, c, h + 2 * p, w + 2 * p), dtype=cols.dtype)
    for u in range(k):
        for v in range(k):
            xpad[:, :, u:u + s * (ho - 1) + 1:s, v:v + s * (wo - 1) + 1:s] += windows[:, :, u, v]
    return xpad[:, :, p:p + h, p:p + w]


def conv2d_by_hand(x, weight, bias, gy, s: int, p: int):
    """y = im2col(x) Wᵀ + b; gW = gyᵀ cols, gb = Σ gy, gx = col2im(gy W)."""
    n = x.shape[0]
    c_out, _, k, _ = weight.shape
    cols, (ho, wo) = im2col(x, k, s, p)
    w2 = weight.reshape(c_out, -1)
    y = (cols @ w2.T).reshape(n, ho, wo, c_out).transpose(0, 3, 1, 2)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    g2 = gy.transpose(0, 2, 3, 1).reshape(n * ho * wo, c_out)
    gw = (g2.T @ cols).reshape(weight.shape)
    gb = g2.sum(axis=0) if bias is not None else None
    gx = col2im(g2 @ w2, x.shape, k, s, p)
    return y, (gx, gw, gb)


def conv_transpose2d_by_hand(x, weight, bias, gy, s: int, p: int):
    """conv2d's adjoint: y = col2im(rows(x) W); gx = conv2d(gy, W) = im2col(gy) Wᵀ,
    gW = rows(x)ᵀ im2col(gy), gb = Σ gy."""
    n, c_in, h, w = x.shape
    _, c_out, k, _ = weight.shape
    ho, wo = (h - 1) * s - 2 * p + k, (w - 1) * s - 2 * p + k
    rows = x.transpose(0, 2, 3, 1).reshape(n * h * w, c_in)
    w2 = weight.reshape(c_in, c_out * k * k)
    y = col2im(rows @ w2, (n, c_out, ho, wo), k, s, p)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    cols, _ = im2col(gy, k, s, p)                       # (N·H·W, C_out·k·k)
    gx = (cols @ w2.T).reshape(n, h, w, c_in).transpose(0, 3, 1, 2)
    gw = (rows.T @ cols).reshape(weight.shape)
    gb = gy.sum(axis=(0, 2, 3)) if bias is not None else None
    return y, (gx, gw, gb)


def conv_step_by_hand(layer: ConvLayer, x, weight, bias, gy):
    step = conv_transpose2d_by_hand if layer.transposed else conv2d_by_hand
    return step(x, weight, bias, gy, layer.stride, layer.padding)


def scratchgan_tensors(x, weight, bias):
    return tuple(None if a is None else sg.Tensor(a, requires_grad=True)
                 for a in (x, weight, bias))
