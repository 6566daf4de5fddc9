"""Exercise 12 — CycleGAN's cycle-consistency loss

    forward    L = λ · ( mean |F(G(x)) − x|  +  mean |G(F(y)) − y| )         λ = self.weight
               G: X → Y and F: Y → X; going there and back should give the input again
    backward   dL/dx, dL/dx_cycled, dL/dy, dL/dy_cycled     (x_cycled = F(G(x)), y_cycled = G(F(y)))

Your job: write CycleLoss.backward, returning the four gradients in that order.  Hints:
d|u|/du = sign(u) = +1 where u > 0, −1 where u < 0 (the check keeps u away from 0); u
changes one way with x_cycled and the other way with x; each mean divides by its own
number of elements.  F.where(condition, a, b) takes a where the condition holds and b
elsewhere, and a comparison of Tensors (x_cycled > x) is a fine condition.  g_loss is
the scalar dL/dL_out (called gy elsewhere: here y is a domain).

Use Tensor operations (F.where, + − * /) on Tensors (g_loss, self.inputs), never `.data`
or raw arrays.

Check:   make check EX=cycle_loss        (or: python -m scratchgan check cycle_loss)
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


class CycleLoss(sg.Function):
    def __init__(self, weight=10.0):
        self.weight = weight

    def forward(self, x, x_cycled, y, y_cycled):   # raw arrays (NumPy or CuPy)
        xp = sg.get_array_module(x)
        return self.weight * (xp.abs(x_cycled - x).mean() + xp.abs(y_cycled - y).mean())

    def backward(self, g_loss):                    # g_loss: a scalar Tensor, dL/dL_out
        # YOUR CODE HERE: return dL/dx, dL/dx_cycled, dL/dy, dL/dy_cycled
        raise NotImplementedError("write CycleLoss.backward: return dL/dx, dL/dx_cycled, dL/dy, "
                                  "dL/dy_cycled")
