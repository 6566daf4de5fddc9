"""Exercise 11 — the least-squares GAN loss of the discriminator (LSGAN, as CycleGAN uses)

    forward    L_D = ½ mean_i (D(x_i) − 1)²  +  ½ mean_j D(G(z_j))²
               real_out = D(x): D's outputs on real data; fake_out = D(G(z)): on fakes
    backward   dL/d(real_out), dL/d(fake_out)

Your job: write LSGANDiscriminatorLoss.backward, returning both gradients.  Differentiate
one term of each mean: the square brings down a 2, and each mean divides by its own
number of elements (the real and the fake batches need not be the same size).  gy is a
scalar Tensor.

Use Tensor operations (+ − * /) on Tensors (gy, self.inputs), never `.data` or raw arrays:
the check differentiates your gradient again (second order).

Check:   make check EX=lsgan_loss        (or: python -m scratchgan check lsgan_loss)
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


class LSGANDiscriminatorLoss(sg.Function):
    def forward(self, real_out, fake_out):    # raw arrays (NumPy or CuPy)
        return 0.5 * ((real_out - 1) ** 2).mean() + 0.5 * (fake_out ** 2).mean()

    def backward(self, gy):                   # gy: a scalar Tensor, dL/dL_D
        real_out, fake_out = self.inputs
        return gy * (real_out - 1) / real_out.size, gy * fake_out / fake_out.size
