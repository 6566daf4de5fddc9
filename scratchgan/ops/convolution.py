"""Convolution as a matrix product: cut the image into patches (``unfold``, "im2col"), then
every output pixel is one row of patches times the kernel, a Linear layer shared by all
positions.

    x: (N, C, H, W)  --unfold-->  patches: (N, L, kh·kw·C)   one row per output position
    y = patches @ Wᵀ + b,  W: the kernel as (C_out, kh·kw·C)   (N, L, C_out), L = H_out·W_out
                 --reshape, transpose-->  (N, C_out, H_out, W_out)

    H_out = (H + 2·padding − kh) // stride + 1   (and W_out alike)

``unfold`` only copies pixels, so it is linear; its adjoint ``fold`` ("col2im") adds every
patch back where it came from (a pixel in several patches collects all their gradients).
Each is the other's backward, so convolutions are differentiable to any order, as the
gradient penalty of WGAN-GP needs.
"""
from __future__ import annotations

from ..autograd import Function, Tensor, as_tensor
from ..backend import get_array_module
from .arithmetic import linear
from .shape import reshape, transpose


def as_pair(v) -> tuple[int, int]:
    """3 → (3, 3); (3, 5) → (3, 5): a kernel size, stride or padding per image axis."""
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _geometry(op, image_shape, kernel, stride, padding):
    """(H_out, W_out) of a convolution, or a clear error when the kernel does not fit."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    h, w = image_shape[-2:]
    h_out, w_out = (conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw))
    if h_out < 1 or w_out < 1:
        raise ValueError(f"{op}: a {kh}×{kw} kernel (padding {padding}) does not fit an image "
                         f"of shape {tuple(image_shape)}")
    return h_out, w_out


class Unfold(Function):
    """patches[n, i·W_out + j, (u, v, c)] = x_padded[n, c, i·s + u, j·s + v]
    dL/dx: fold(g), every patch's gradient added back onto the pixels it was cut from"""

    def __init__(self, kernel, stride, padding):
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"unfold: expected images (N, C, H, W), got shape {tuple(x.shape)}")
        xp = get_array_module(x)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        h_out, w_out = _geometry("unfold", x.shape, self.kernel, self.stride, self.padding)
        n, c, h, w = x.shape
        if ph or pw:
            padded = _channels_last_zeros(xp, (n, c, h + 2 * ph, w + 2 * pw), x.dtype)
            padded[:, :, ph:ph + h, pw:pw + w] = x
            x = padded
        s_n, s_c, s_h, s_w = x.strides
        # a view, no copy: axes (n, i, j, u, v, c) over the padded image.  Channels come
        # last in a patch so that, in channels-last memory, (v, c) is one contiguous run.
        windows = xp.lib.stride_tricks.as_strided(
            x, shape=(n, h_out, w_out, kh, kw, c),
            strides=(s_n, s_h * sh, s_w * sw, s_h, s_w, s_c))
        return windows.reshape(n, h_out * w_out, kh * kw * c)       # the one copy

    def backward(self, g):
        return Fold(self.inputs[0].shape, self.kernel, self.stride, self.padding)(g)


class Fold(Function):
    """x[n, c, i·s + u, j·s + v] += patches[n, i·W_out + j, (u, v, c)]  (then unpadded)
    dL/dpatches: unfold(g), each patch reads the gradient of the pixels it adds to"""

    def __init__(self, image_shape, kernel, stride, padding):
        self.image_shape = tuple(image_shape)
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, patches):
        xp = get_array_module(patches)
        n, c, h, w = self.image_shape
        (kh, kw), (ph, pw) = self.kernel, self.padding
        h_out, w_out = _geometry("fold", self.image_shape, self.kernel, self.stride,
                                 self.padding)
        if patches.shape != (n, h_out * w_out, kh * kw * c):
            raise ValueError(f"fold: patches of shape {tuple(patches.shape)} do not come from "
                             f"images {self.image_shape} (expected "
                             f"{(n, h_out * w_out, kh * kw * c)})")
        windows = patches.reshape(n, h_out, w_out, kh, kw, c)
        if _fits_blocks(self.kernel, self.stride, c):
            image = _fold_in_blocks(xp, windows, (h + 2 * ph, w + 2 * pw), self.stride)
        else:
            image = xp.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=patches.dtype)  # channels last
            # The same sum two ways; the loop runs over whichever is shorter.
            if kh * kw <= h_out * w_out:
                _fold_by_offsets(image, windows, self.stride)
            else:
                _fold_by_pixels(image, windows, self.stride)
        return image[:, ph:ph + h, pw:pw + w].transpose(0, 3, 1, 2)   # (N, C, H, W) view

    def backward(self, g):
        return Unfold(self.kernel, self.stride, self.padding)(g)


def _fold_by_offsets(image, windows, stride) -> None:
    """Each kernel offset (u, v): one strided slice of the image gets every patch's (u, v)
    pixel.  image: (N, H', W', C) padded, channels last; windows: (N, H_out, W_out, kh, kw, C)."""
    _, h_out, w_out, kh, kw, _ = windows.shape
    sh, sw = stride
    for u in range(kh):
        for v in range(kw):
            image[:, u:u + sh * (h_out - 1) + 1:sh,
                  v:v + sw * (w_out - 1) + 1:sw] += windows[:, :, :, u, v]


def _fold_by_pixels(image, windows, stride) -> None:
    """Each output pixel (i, j): its whole patch added onto the kh×kw image pixels under it."""
    _, h_out, w_out, kh, kw, _ = windows.shape
    sh, sw = stride
    for i in range(h_out):
        for j in range(w_out):
            image[:, i * sh:i * sh + kh, j * sw:j * sw + kw] += windows[:, i, j]


def _fits_blocks(kernel, stride, channels: int) -> bool:
    """Fold in blocks where the stride divides the kernel (and is not 1, where a block is
    one offset).  Not with one channel: there NumPy runs the offsets loop's slices as
    flat strided copies, several times faster than the blocks' 6-axis slabs (measured at
    DCGAN's (64, 1, 28, 28); from 2 channels up the blocks win, 2–3× at 2 to 8)."""
    (kh, kw), (sh, sw) = kernel, stride
    return (sh > 1 or sw > 1) and kh % sh == 0 and kw % sw == 0 and channels > 1


def _fold_in_blocks(xp, windows, padded_hw, stride):
    """``_fold_by_offsets`` regrouped: with u = a·s + r, the offset (u, v) of patch (i, j)
    lands on image row (i + a)·s + r, so seen as blocks of s×s pixels the image takes, for
    each (a, b), one whole slab: every patch's (a, b) sub-block of s×s pixels, at block
    (i + a, j + b).  kh/s · kw/s slab adds where the offsets loop makes kh·kw strided
    ones, each pixel receiving the same terms in the same order (so the same bits).

    windows: (N, H_out, W_out, kh, kw, C) → the padded image (N, H', W', C), channels
    last, rows and columns rounded up to whole blocks (the extra ones stay 0)."""
    n, h_out, w_out, kh, kw, c = windows.shape
    sh, sw = stride
    rows, cols = -(-padded_hw[0] // sh), -(-padded_hw[1] // sw)     # blocks, rounded up
    image = xp.zeros((n, rows * sh, cols * sw, c), dtype=windows.dtype)
    blocks = image.reshape(n, rows, sh, cols, sw, c)                # a view: (n, p, r, p', q, c)
    sub = windows.reshape(n, h_out, w_out, kh // sh, sh, kw // sw, sw, c)   # (…, a, r, b, q, c)
    for a in range(kh // sh):
        for b in range(kw // sw):
            blocks[:, a:a + h_out, :, b:b + w_out] += sub[:, :, :, a, :, b].transpose(
                0, 1, 3, 2, 4, 5)
    return image


def _channels_last_zeros(xp, shape, dtype):
    """Zeros of shape (N, C, H, W) laid out in memory as (N, H, W, C), as PyTorch's
    ``channels_last``: the layout a convolution's output has anyway (one row of C_out values
    per pixel), and the one in which a patch's pixels are read in contiguous runs."""
    n, c, h, w = shape
    return xp.zeros((n, h, w, c), dtype=dtype).transpose(0, 3, 1, 2)


def unfold(x, kernel_size, stride=1, padding=0) -> Tensor:
    """Images (N, C, H, W) → patches (N, H_out·W_out, kh·kw·C), one row per output pixel."""
    return Unfold(as_pair(kernel_size), as_pair(stride), as_pair(padding))(as_tensor(x))


def fold(patches, image_shape, kernel_size, stride=1, padding=0) -> Tensor:
    """The adjoint of ``unfold``: patches back onto images of ``image_shape``, overlaps added."""
    return Fold(image_shape, as_pair(kernel_size), as_pair(stride), as_pair(padding))(
        as_tensor(patches))


def conv2d(x, weight, bias=None, stride=1, padding=0) -> Tensor:
    """y[n, o] = Σ_c x[n, c] ⋆ weight[o, c] + bias[o]   (cross-correlation, as PyTorch)

    x: (N, C, H, W), weight: (C_out, C, kh, kw), bias: (C_out,) → (N, C_out, H_out, W_out)
    """
    x, weight = as_tensor(x), as_tensor(weight)
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d: input {x.shape} does not fit weight {weight.shape} "
                         f"(expected input (N, {weight.shape[1] if weight.ndim == 4 else 'C'}, "
                         f"H, W))")
    c_out, _, kh, kw = weight.shape
    stride, padding = as_pair(stride), as_pair(padding)
    h_out, w_out = _geometry("conv2d", x.shape, (kh, kw), stride, padding)
    patches = Unfold((kh, kw), stride, padding)(x)                     # (N, L, kh·kw·C)
    n, length, k = patches.shape
    kernel = reshape(transpose(weight, (0, 2, 3, 1)), c_out, k)        # in the patches' order
    # every output pixel is a Linear layer on its patch: patches Kᵀ + b, (N·L, C_out)
    y = linear(reshape(patches, n * length, k), kernel, bias)
    # (N, H_out, W_out, C_out) in memory, seen as (N, C_out, H_out, W_out): channels last
    return transpose(reshape(y, n, h_out, w_out, c_out), (0, 3, 1, 2))
