"""Exercise 06 — addition with broadcasting

    forward    y = a + b       NumPy broadcasting: (3, 1) + (1, 4) → (3, 4),
                                                   (2, 3, 4) + (4,) → (2, 3, 4)
    backward   dL/da, dL/db, each with its own input's shape

Your job: write Add.backward, returning (dL/da, dL/db).  dy/da = dy/db = 1, elementwise.
But where b was broadcast, each of its elements was used several times (b[0, j] sits in
every row of y), and a value used several times collects the sum of the gradients of its
uses.  F.sum_to(g, shape) sums g over the broadcast axes, back down to `shape`.

Use Tensor operations (F.sum_to, + − * /) on Tensors (gy, self.inputs), never `.data` or
raw arrays: the check differentiates your gradient again (second order).

Check:   make check EX=broadcast_add        (or: python -m scratchgan check broadcast_add)
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


class Add(sg.Function):
    def forward(self, a, b):              # raw arrays (NumPy or CuPy), broadcast together
        return a + b

    def backward(self, gy):               # gy: a Tensor, dL/dy, with the broadcast shape
        # YOUR CODE HERE: return dL/da, dL/db (Tensors shaped like a and b)
        raise NotImplementedError("write Add.backward: return dL/da, dL/db, each summed back to "
                                  "its input's shape (F.sum_to)")
