"""Exercise 14 — the convolution's backward, through unfold

    forward    patches = unfold(x)                 x: (N, C, H, W) → (N, L, kh·kw·C)
               K = W as (C_out, kh·kw·C)            W: (C_out, C, kh, kw), in the patches' order
               y = patches Kᵀ + b                   (N, L, C_out), L = H_out·W_out
                 → (N, C_out, H_out, W_out)
    backward   dL/dx (N, C, H, W),  dL/dW (C_out, C, kh, kw),  dL/db (C_out,)
               from gy = dL/dy (N, C_out, H_out, W_out)

The forward is given: it is lesson 08's im2col, a Linear layer (exercise 09) applied to
every patch.  Your job: write Conv2d.backward, returning (dL/dx, dL/dW, dL/db).

  1. Undo the forward's last step: gy back to the layout of patches Kᵀ, (N·L, C_out)
     (the channels last, as the forward had them before its final transpose).
  2. The product patches Kᵀ + b is exercise 09: dL/dpatches = g K, dL/dK = gᵀ patches,
     dL/db = the sum of g over every row (every image and every position).
  3. unfold only copies pixels into patches, so its adjoint adds them back:
     dL/dx = F.fold(dL/dpatches, x.shape, kernel, stride, padding).
  4. dL/dK has K's layout, (C_out, kh·kw·C): undo the forward's reshape and transpose to
     get back to W's (C_out, C, kh, kw).

Use Tensor operations (`@`, `.T`, .reshape, .transpose, .sum, F.unfold, F.fold) on
Tensors (gy, self.inputs), never `.data` or raw arrays: the check differentiates your
gradient again (second order).

Check:   make check EX=conv2d        (or: python -m scratchgan check conv2d)
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


class Conv2d(sg.Function):
    def __init__(self, stride=1, padding=0):
        self.stride, self.padding = stride, padding

    def forward(self, x, W, b):           # raw arrays (NumPy or CuPy)
        n, c, h, w = x.shape
        c_out, _, kh, kw = W.shape
        s, p = self.stride, self.padding
        h_out, w_out = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
        patches = F.Unfold((kh, kw), (s, s), (p, p)).forward(x)    # (N, L, kh·kw·C)
        K = W.transpose(0, 2, 3, 1).reshape(c_out, kh * kw * c)    # rows in order (u, v, c)
        y = patches.reshape(n * h_out * w_out, kh * kw * c) @ K.T + b      # (N·L, C_out)
        return y.reshape(n, h_out, w_out, c_out).transpose(0, 3, 1, 2)

    def backward(self, gy):               # gy: a Tensor, dL/dy, shaped like y
        x, W, b = self.inputs
        n, c_out, h_out, w_out = gy.shape
        _, c, kh, kw = W.shape
        g = gy.transpose(0, 2, 3, 1).reshape(n * h_out * w_out, c_out)    # as patches Kᵀ
        patches = F.unfold(x, (kh, kw), self.stride, self.padding).reshape(-1, kh * kw * c)
        K = W.transpose(0, 2, 3, 1).reshape(c_out, kh * kw * c)
        g_patches = (g @ K).reshape(n, h_out * w_out, kh * kw * c)
        g_x = F.fold(g_patches, x.shape, (kh, kw), self.stride, self.padding)
        g_W = (g.T @ patches).reshape(c_out, kh, kw, c).transpose(0, 3, 1, 2)
        return g_x, g_W, g.sum(axis=0)
