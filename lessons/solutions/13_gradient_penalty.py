"""Exercise 13 — the gradient penalty of WGAN-GP (second order)

    x̂  = ε·x + (1 − ε)·G(z)                 one ε ~ U[0, 1] per sample (given to you)
    GP = λ · mean over the batch of (‖∇D(x̂)‖₂ − 1)²

∇D(x̂) is the gradient of the critic's score with respect to its input, one per sample;
‖·‖₂ is the Euclidean norm of each sample's gradient, over all its features.

Your job: the lines after `scores = critic(x_hat)`:
  1. ∇D(x̂) = sg.grad(scores.sum(), [x_hat], create_graph=True).  The scores of different
     samples do not interact, so the gradient of their sum gives each sample its own.
  2. each sample's norm: reshape the gradient to (N, −1), then square, sum over axis 1,
     square root (add 1e-12 under the root: √ has an infinite slope at 0);
  3. λ · mean((norm − 1)²).
The penalty is minimised over the critic's weights, so its gradient must flow through
∇D(x̂) — a gradient of a gradient.  That only works if the first gradient was recorded as
a graph: that is what create_graph=True asks for.

Check:   make check EX=gradient_penalty        (or: python -m scratchgan check gradient_penalty)
The check compares your value with scratchgan.losses.gradient_penalty (same ε), then
gradient-checks the penalty with respect to the weights of a tiny critic.
"""
import scratchgan as sg
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


def gradient_penalty(critic, real, fake, eps, weight=10.0):
    """critic: Tensor (N, …) → scores (N, 1);  real, fake: (N, …);  eps: (N, 1, …)."""
    x_hat = eps * real.detach() + (1 - eps) * fake.detach()
    x_hat.requires_grad = True
    scores = critic(x_hat)
    (g,) = sg.grad(scores.sum(), [x_hat], create_graph=True)   # ∇D(x̂), itself a graph
    g = g.reshape(g.shape[0], -1)                              # one row per sample
    norms = F.sqrt((g * g).sum(axis=1) + 1e-12)
    return weight * ((norms - 1) ** 2).mean()
