"""Exercise 19 — Algorithm 1's k discriminator steps per generator step

    for k steps:  x ← a fresh real batch,  z ← fresh noise;   descend L_D   (D only)
    once:         z ← fresh noise;                            descend L_G   (G only)

Goodfellow et al. make k a knob (they used k = 1): more D steps per G step keep D nearer
its optimum D*, so G learns from a better judge. You get G, D, their optimizers, the k real
batches of this iteration (a list, as MLPGAN.train_step gets them) and sample_z(n), which
draws n fresh noise vectors each time it is called. Each D step is exercise 18's: its own
batch, its own z, the fake detached; G's step comes once, after the loop.

Before you run the check, predict: what would D learn if every one of its k steps saw the
same real batch and the same z?

Check:   make check EX=k_step_loop        (or: python -m scratchgan check k_step_loop)
The check runs three iterations with k = 3 of your function and of MLPGAN.train_step from
the same weights, batches and noise (sample_z gives both the same draws in the same order:
draw a D step's z before its fake, G's z after the loop) and compares every optimizer step.
"""
import scratchgan as sg  # noqa: F401
from scratchgan import functional as F  # noqa: F401
from scratchgan import losses, nn  # noqa: F401


def train_iteration(G, D, opt_g, opt_d, real_batches, sample_z):
    """k = len(real_batches) D steps, each on its own batch (N, 784) and its own z =
    sample_z(N), then one G step on G(sample_z(N)).  Returns (last d_loss, g_loss)."""
    # YOUR CODE HERE: k D steps (each: its batch, a fresh z, a detached fake), then G's step
    raise NotImplementedError("write train_iteration: k D steps, then one G step")
