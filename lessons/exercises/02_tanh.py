"""Exercise 02 — tanh

    forward    y = tanh x = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)
    backward   dL/dx = gy · dy/dx

Your job: find dy/dx and write Tanh.backward.  As for the sigmoid, the derivative is a
polynomial in y itself (`self.output`): differentiate the quotient and compare with y².

Use Tensor operations (+ − * /, F.…) on Tensors (gy, self.output, self.inputs), never
`.data` or raw arrays: the check differentiates your gradient again (second order).

Check:   make check EX=tanh        (or: python -m scratchgan check tanh)
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


class Tanh(sg.Function):
    def forward(self, x):                 # x: a raw array (NumPy or CuPy)
        return sg.get_array_module(x).tanh(x)

    def backward(self, gy):               # gy: a Tensor, dL/dy, shaped like y
        # YOUR CODE HERE: return dL/dx, a Tensor shaped like x
        raise NotImplementedError("write Tanh.backward: dL/dx = gy · dy/dx, with dy/dx a "
                                  "polynomial in y = self.output")
