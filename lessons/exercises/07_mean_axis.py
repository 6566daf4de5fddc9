"""Exercise 07 — the mean over one axis

    forward    y = mean of x over `axis`          x: (3, 4), axis 0  →  y: (4,)
               y[j] = (1/N) Σ_i x[i, j],  N = x.shape[axis]
    backward   dL/dx, shaped like x

Your job: write Mean.backward.  Each x[i, j] enters exactly one y[j], with weight 1/N.
gy has y's shape, x's without the averaged axis: `gy.reshape(self.kept_shape)` puts that
axis back with size 1, and F.broadcast_to(g, x.shape) copies it along the axis.

Use Tensor operations (reshape, F.broadcast_to, + − * /) on Tensors (gy, self.inputs),
never `.data` or raw arrays.

Check:   make check EX=mean_axis        (or: python -m scratchgan check mean_axis)
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


class Mean(sg.Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):                 # x: a raw array (NumPy or CuPy)
        self.kept_shape = x.mean(axis=self.axis, keepdims=True).shape   # axis as size 1
        return x.mean(axis=self.axis)

    def backward(self, gy):               # gy: a Tensor, dL/dy, shaped like y
        # YOUR CODE HERE: return dL/dx, a Tensor shaped like x
        raise NotImplementedError("write Mean.backward: gy spread back over the averaged axis, "
                                  "times 1/N")
