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
    for real in real_batches:                           # one D step per fresh batch
        n = real.shape[0]
        fake = G(sample_z(n)).detach()                  # fresh z, every step
        logits = D(F.concatenate([real, fake]))
        d_loss = losses.d_loss_minimax(logits[:n], logits[n:])
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
    with nn.frozen(D):                                  # then G, once
        g_loss = losses.g_loss_nonsaturating(D(G(sample_z(real_batches[0].shape[0]))))
        opt_g.zero_grad()
        g_loss.backward()
    opt_g.step()
    return d_loss, g_loss
