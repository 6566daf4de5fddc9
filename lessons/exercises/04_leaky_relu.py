"""Exercise 04 — leaky ReLU (the activation of every GAN discriminator)

    forward    y = x        where x > 0
               y = slope·x  elsewhere                    (slope = self.slope, e.g. 0.2)
    backward   dL/dx = gy · dy/dx

Your job: write LeakyReLU.backward.  dy/dx is 1 on one side and `slope` on the other.
F.where(condition, a, b) takes a where the condition holds and b elsewhere; a comparison
such as `x > 0` on the Tensor x = self.inputs[0] is a fine condition (a constant mask:
the check keeps x away from the kink at 0).

Use Tensor operations (+ − * /, F.…) on Tensors (gy, self.output, self.inputs), never
`.data` or raw arrays: the check differentiates your gradient again (second order).

Check:   make check EX=leaky_relu        (or: python -m scratchgan check leaky_relu)
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


class LeakyReLU(sg.Function):
    def __init__(self, slope=0.2):
        self.slope = slope

    def forward(self, x):                 # x: a raw array (NumPy or CuPy)
        return sg.get_array_module(x).where(x > 0, x, self.slope * x)

    def backward(self, gy):               # gy: a Tensor, dL/dy, shaped like y
        # YOUR CODE HERE: return dL/dx, a Tensor shaped like x
        raise NotImplementedError("write LeakyReLU.backward: gy where x > 0, slope · gy "
                                  "elsewhere (F.where)")
