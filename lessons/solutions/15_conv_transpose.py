"""Exercise 15 — the transposed convolution, as the convolution run backwards

    y = conv_transpose2d(x, W) + b      x: (N, C_in, H, W),  W: (C_in, C_out, kh, kw),
                                        b: (C_out,),  y: (N, C_out, H_out, W_out)
    H_out = (H − 1)·stride − 2·padding + kh          (and W_out alike)

The convolution cuts patches out of an image (unfold) and multiplies each by the kernel.
The transposed convolution is its adjoint (lesson 08, section 2), so it runs those steps
backwards:

  1. every input pixel's C_in values, one row per pixel: x as (N·H·W, C_in);
  2. each row times the kernel gives a whole patch of kh·kw pixels of C_out channels:
     rows @ K, with K = W as (C_in, kh·kw·C_out), its columns in the order (u, v, o)
     in which fold reads a patch;
  3. fold adds the patches onto the output, `stride` pixels apart, overlaps summed, and
     crops `padding` pixels from each side:
         F.Fold((N, C_out, H_out, W_out), (kh, kw), (s, s), (p, p)).forward(patches)
     with patches shaped (N, H·W, kh·kw·C_out);
  4. add b to every pixel of each output channel.

(Another way, just as right: y is the gradient of ⟨conv2d(z, W), x⟩ with respect to z,
an image of the output's shape: build that with Tensors and sg.grad, and return its data.)

Your job: write ConvTranspose2d.forward, on raw arrays (NumPy or CuPy), as every
forward is.  The backward is given: dL/dx is a convolution of gy with the same W.

Check:   make check EX=conv_transpose        (or: python -m scratchgan check conv_transpose)
The check compares your output with F.conv_transpose2d, then gradient-checks the op
(a forward that disagrees with the given backward fails there).
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the ops you may need)


class ConvTranspose2d(sg.Function):
    def __init__(self, stride=1, padding=0):
        self.stride, self.padding = stride, padding

    def forward(self, x, W, b):           # raw arrays (NumPy or CuPy)
        n, c_in, h, w = x.shape
        _, c_out, kh, kw = W.shape
        s, p = self.stride, self.padding
        h_out, w_out = (h - 1) * s - 2 * p + kh, (w - 1) * s - 2 * p + kw
        rows = x.transpose(0, 2, 3, 1).reshape(n * h * w, c_in)         # one row per pixel
        K = W.transpose(0, 2, 3, 1).reshape(c_in, kh * kw * c_out)      # columns (u, v, o)
        patches = (rows @ K).reshape(n, h * w, kh * kw * c_out)
        y = F.Fold((n, c_out, h_out, w_out), (kh, kw), (s, s), (p, p)).forward(patches)
        return y + b.reshape(1, c_out, 1, 1)

    def backward(self, gy):               # given: dL/dx, dL/dW, dL/db
        x, W, b = self.inputs
        n, c_in, h, w = x.shape
        _, c_out, kh, kw = W.shape
        g_x = F.conv2d(gy, W, stride=self.stride, padding=self.padding)    # the adjoint
        rows = x.transpose(0, 2, 3, 1).reshape(n * h * w, c_in)
        g_patches = F.unfold(gy, (kh, kw), self.stride, self.padding)   # (N, H·W, kh·kw·C_out)
        g_K = rows.T @ g_patches.reshape(n * h * w, kh * kw * c_out)   # (C_in, kh·kw·C_out)
        g_W = g_K.reshape(c_in, kh, kw, c_out).transpose(0, 3, 1, 2)
        return g_x, g_W, gy.sum(axis=(0, 2, 3))
