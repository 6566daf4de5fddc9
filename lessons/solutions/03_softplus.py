"""Exercise 03 — softplus

    forward    y = softplus(x) = log(1 + eˣ)      (a smooth ReLU; log σ(x) = −softplus(−x))
    backward   dL/dx = gy · dy/dx

Your job: find dy/dx and write Softplus.backward.  Differentiate log(1 + eˣ) with the
chain rule; the result is a function you met in exercise 01 (F.sigmoid is there for you).
The input is `self.inputs[0]`, a Tensor.

Use Tensor operations (+ − * /, F.…) on Tensors (gy, self.output, self.inputs), never
`.data` or raw arrays: the check differentiates your gradient again (second order).

Check:   make check EX=softplus        (or: python -m scratchgan check softplus)
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


class Softplus(sg.Function):
    def forward(self, x):                 # x: a raw array (NumPy or CuPy)
        return sg.get_array_module(x).logaddexp(0, x)   # log(e⁰ + eˣ), no overflow

    def backward(self, gy):               # gy: a Tensor, dL/dy, shaped like y
        x = self.inputs[0]
        return gy * F.sigmoid(x)          # dy/dx = eˣ / (1 + eˣ) = σ(x)
