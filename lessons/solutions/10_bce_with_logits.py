"""Exercise 10 — binary cross-entropy from logits (the minimax GAN's loss)

    forward    L = mean_i ℓ_i,   ℓ = −[t log σ(l) + (1 − t) log(1 − σ(l))]
                                   = max(l, 0) − t·l + log(1 + e^(−|l|))   (exact for any finite l)
    backward   dL/dl and dL/dt, shaped like the logits l and the targets t

Your job: write BCEWithLogits.backward, returning (dL/dlogits, dL/dtargets).  With
log σ(l) = −softplus(−l) and log(1 − σ(l)) = −softplus(l), ℓ = softplus(l) − t·l:
differentiate that (exercise 03 gave softplus' derivative).  L is a mean over N = l.size
elements, and gy = dL/dL_out is a scalar Tensor.

Use Tensor operations (F.sigmoid, + − * /) on Tensors (gy, self.inputs), never `.data`
or raw arrays: the check differentiates your gradient again (second order).

Check:   make check EX=bce_with_logits        (or: python -m scratchgan check bce_with_logits)
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


class BCEWithLogits(sg.Function):
    def forward(self, logits, targets):   # raw arrays (NumPy or CuPy), same shape
        xp = sg.get_array_module(logits)
        loss = xp.maximum(logits, 0) - targets * logits + xp.log1p(xp.exp(-xp.abs(logits)))
        return loss.mean()

    def backward(self, gy):               # gy: a scalar Tensor, dL/dL_out
        logits, targets = self.inputs
        n = logits.size
        return gy * (F.sigmoid(logits) - targets) / n, -gy * logits / n   # dℓ/dl = σ(l) − t
