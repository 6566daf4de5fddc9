"""The transposed convolution: the adjoint of ``conv2d``, the layer a DCGAN or CycleGAN
generator grows its images with.

Where conv2d cuts the image into patches and multiplies each by the kernel, the transposed
convolution runs the same steps backwards: every input pixel is multiplied by the kernel
into a patch of kh×kw output pixels, and ``fold`` adds the patches back onto the output
image, ``stride`` pixels apart (where they overlap, they add).

    x: (N, C_in, H, W)  --one row per pixel-->  (N·H·W, C_in)
    patches = rows @ K,  K: the kernel as (C_in, kh·kw·C_out)      (N, H·W, kh·kw·C_out)
                        --fold-->  y: (N, C_out, H_out, W_out),  plus b[o] on every pixel

    H_out = (H − 1)·stride − 2·padding + kh + output_padding     (and W_out alike)

This is exactly conv2d's gradient with respect to its input, so
⟨conv2d(y, W), x⟩ = ⟨y, conv_transpose2d(x, W)⟩ for any x, y; and its own gradient with
respect to x is a conv2d with the same W (``fold``'s backward is ``unfold``).  Built from
differentiable ops, it is differentiable to any order.

``output_padding`` settles an ambiguity: conv2d with stride s maps s different input sizes
to the same output size, and output_padding (< s) picks which one to go back to.  It adds
rows and columns at the bottom and right that no patch reaches (only the bias).
"""
from __future__ import annotations

from ..autograd import Tensor, as_tensor
from .convolution import Fold, as_pair
from .shape import reshape, transpose


def conv_transpose_output_size(size: int, kernel: int, stride: int, padding: int,
                               output_padding: int = 0) -> int:
    return (size - 1) * stride - 2 * padding + kernel + output_padding


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0) -> Tensor:
    """y[n, o] = Σ_c Σ_(i, j) x[n, c, i, j] · weight[c, o] placed at (i·s − p, j·s − p),
    + bias[o]

    x: (N, C_in, H, W), weight: (C_in, C_out, kh, kw) (PyTorch's layout), bias: (C_out,)
    → (N, C_out, H_out, W_out)
    """
    x, weight = as_tensor(x), as_tensor(weight)
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[0]:
        raise ValueError(f"conv_transpose2d: input {x.shape} does not fit weight "
                         f"{weight.shape} (expected input (N, "
                         f"{weight.shape[0] if weight.ndim == 4 else 'C_in'}, H, W) and "
                         f"weight (C_in, C_out, kh, kw))")
    c_in, c_out, kh, kw = weight.shape
    stride, padding, output_padding = as_pair(stride), as_pair(padding), as_pair(output_padding)
    if bias is not None and tuple(as_tensor(bias).shape) != (c_out,):
        raise ValueError(f"conv_transpose2d: bias of shape {as_tensor(bias).shape} for "
                         f"{c_out} output channels (expected ({c_out},))")
    if min(stride) < 1 or min(padding) < 0 or min(output_padding) < 0:
        raise ValueError(f"conv_transpose2d: stride {stride} must be ≥ 1, padding {padding} "
                         f"and output_padding {output_padding} ≥ 0")
    if output_padding[0] >= stride[0] or output_padding[1] >= stride[1]:
        raise ValueError(f"conv_transpose2d: output_padding {output_padding} must be smaller "
                         f"than stride {stride}")
    n, _, h, w = x.shape
    h_out, w_out = (conv_transpose_output_size(h, kh, stride[0], padding[0], output_padding[0]),
                    conv_transpose_output_size(w, kw, stride[1], padding[1], output_padding[1]))
    if h_out < 1 or w_out < 1:
        raise ValueError(f"conv_transpose2d: input {x.shape} with a {kh}×{kw} kernel, stride "
                         f"{stride} and padding {padding} gives an empty output "
                         f"({h_out}×{w_out})")
    rows = reshape(transpose(x, (0, 2, 3, 1)), n * h * w, c_in)      # one row per pixel
    # the kernel's columns in the order fold reads a patch: (u, v, o)
    kernel = reshape(transpose(weight, (0, 2, 3, 1)), c_in, kh * kw * c_out)
    patches = reshape(rows @ kernel, n, h * w, kh * kw * c_out)
    y = Fold((n, c_out, h_out, w_out), (kh, kw), stride, padding)(patches)
    if bias is not None:
        y = y + reshape(as_tensor(bias), 1, c_out, 1, 1)
    return y
