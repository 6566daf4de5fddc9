"""Exercise 20 — a WGAN critic step with weight clipping (Arjovsky et al. 2017)

    L = E[D(G(z))] − E[D(x)]         the critic maximises E[D(x)] − E[D(G(z))], an estimate
                                     of the Wasserstein distance, so it descends L
    θ ← RMSprop step on L            (opt_d is an optim.RMSprop, as in the paper)
    θ ← clip(θ, −c, c)               after the step, every parameter of D

The supremum behind W₁ runs over 1-Lipschitz functions; clipping every parameter to
[−c, c] keeps the critic K-Lipschitz for some K (crudely: lesson 07 shows what it costs).
This check's reference clips every parameter, weights and biases alike, as Arjovsky et
al.'s code does (for p in D.parameters()) and lesson 07 does.

You get D, its optimizer, a real and a fake batch (the fake already detached) and c.
Return the loss (before the step). Change a parameter's numbers in place with
p.data[...] = xp.clip(p.data, -c, c), where xp = sg.get_array_module(p.data) (NumPy, or
CuPy on a GPU): the optimizer holds the same parameter objects.

Before you run the check, predict: the initial weights are drawn from U(±1/√fan_in), about
±0.35 here. With c = 0.1, what fraction of them sits at exactly ±c after the first clip?

Check:   make check EX=wgan_critic        (or: python -m scratchgan check wgan_critic)
The check runs three of your steps and three of the reference's on a tiny critic from the
same weights and batches and compares the loss and every parameter after each step.
"""
import scratchgan as sg  # noqa: F401
from scratchgan import losses  # noqa: F401


def critic_step(D, opt_d, real, fake, c=0.01):
    """One critic step: descend L = E[D(fake)] − E[D(real)], then clip every parameter of D
    to [−c, c].  real, fake: Tensors (N, features).  Returns L (before the step)."""
    # YOUR CODE HERE: the loss, zero_grad, backward, step, then the clip
    raise NotImplementedError("write critic_step: the loss, the step, then the clip")
