"""Exercise 05 — the matrix product

    forward    Y = A @ B              A: (n, k),  B: (k, m),  Y: (n, m)
               Y[i, j] = Σ_p A[i, p] · B[p, j]
    backward   dL/dA = ?   (shape (n, k))        dL/dB = ?   (shape (k, m))
               from gy = dL/dY, shape (n, m)

Your job: write MatMul.backward, returning both gradients as a tuple (dL/dA, dL/dB).
Write dL/dA[i, p] = Σ_j gy[i, j] · dY[i, j]/dA[i, p] for one element, then recognise
the sum as a matrix product.  Shapes are a strong hint: the only products of gy, A, B and
their transposes (`.T`) with A's shape, and with B's shape, are the answers.

Use Tensor operations (`@`, `.T`, + − * /) on Tensors (gy, self.inputs), never `.data`
or raw arrays: the check differentiates your gradient again (second order).

Check:   make check EX=matmul        (or: python -m scratchgan check matmul)
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


class MatMul(sg.Function):
    def forward(self, a, b):              # raw 2-D arrays (NumPy or CuPy)
        return a @ b

    def backward(self, gy):               # gy: a Tensor, dL/dY, shaped like Y
        # YOUR CODE HERE: return dL/dA, dL/dB (Tensors shaped like A and B)
        raise NotImplementedError("write MatMul.backward: return dL/dA, dL/dB, with the shapes "
                                  "of A and B")
