"""Exercise 08 — log-softmax (the log-probabilities of a classifier)

    forward    y = x − logsumexp(x)        along `axis`: y_i = x_i − log Σ_k e^(x_k)
    backward   dL/dx_i = Σ_j gy_j · dy_j/dx_i

Your job: write LogSoftmax.backward.  dy_j/dx_i = [i = j] − softmax(x)_i, and the
softmax is e^y (so F.exp(self.output) gives it).  Put that in the sum over j: one term
is gy_i, the other needs Σ_j gy_j, a sum along the axis; keep the axis
(gy.sum(axis=self.axis, keepdims=True)) so that it broadcasts against x.

Use Tensor operations (F.exp, .sum, + − * /) on Tensors (gy, self.output, self.inputs),
never `.data` or raw arrays: the check differentiates your gradient again (second order).

Check:   make check EX=log_softmax        (or: python -m scratchgan check log_softmax)
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


class LogSoftmax(sg.Function):
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):                 # x: a raw array (NumPy or CuPy)
        xp = sg.get_array_module(x)
        shifted = x - x.max(axis=self.axis, keepdims=True)      # e^shifted cannot overflow
        return shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, gy):               # gy: a Tensor, dL/dy, shaped like y
        softmax = F.exp(self.output)      # e^(x − logsumexp x)
        return gy - softmax * gy.sum(axis=self.axis, keepdims=True)
