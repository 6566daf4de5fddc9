"""Exercise 09 — the linear layer

    forward    y = x Wᵀ + b         x: (N, in),  W: (out, in),  b: (out,),  y: (N, out)
    backward   dL/dx (N, in),  dL/dW (out, in),  dL/db (out,)   from gy = dL/dy (N, out)

Your job: write Linear.backward, returning (dL/dx, dL/dW, dL/db).  It is exercise 05
(a matrix product, here with Wᵀ) and exercise 06 (b is broadcast over the N rows of the
batch) together.  Check each answer's shape against its input's.

Use Tensor operations (`@`, `.T`, .sum, F.sum_to) on Tensors (gy, self.inputs), never
`.data` or raw arrays: the check differentiates your gradient again (second order).

Check:   make check EX=linear        (or: python -m scratchgan check linear)
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


class Linear(sg.Function):
    def forward(self, x, W, b):           # raw arrays (NumPy or CuPy)
        return x @ W.T + b

    def backward(self, gy):               # gy: a Tensor, dL/dy, shaped like y
        x, W, b = self.inputs
        return gy @ W, gy.T @ x, gy.sum(axis=0)   # b's gradient: summed over the batch
