"""Exercise 01 — the sigmoid

    forward    y = σ(x) = 1 / (1 + e⁻ˣ)
    backward   dL/dx = gy · dy/dx,   gy = dL/dy (what the ops after this one send back)

Your job: find dy/dx and write Sigmoid.backward.  Differentiate 1/(1 + e⁻ˣ), then write
the result with y itself: the output is at hand as `self.output`, so backward computes
no exponential again.

Use Tensor operations (+ − * /, F.…) on Tensors (gy, self.output, self.inputs), never
`.data` or raw arrays: the check differentiates your gradient again (second order), as
the WGAN-GP penalty does.

Check:   make check EX=sigmoid        (or: python -m scratchgan check sigmoid)
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


class Sigmoid(sg.Function):
    def forward(self, x):                 # x: a raw array (NumPy or CuPy)
        xp = sg.get_array_module(x)
        return 1 / (1 + xp.exp(-x))

    def backward(self, gy):               # gy: a Tensor, dL/dy, shaped like y
        # YOUR CODE HERE: return dL/dx, a Tensor shaped like x
        raise NotImplementedError("write Sigmoid.backward: dL/dx = gy · dy/dx, with dy/dx "
                                  "written with y = self.output")
