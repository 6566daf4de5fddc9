"""Exercise 18 — one iteration of Algorithm 1 (Goodfellow et al. 2014), k = 1

    D's step:  descend  L_D = −[log D(x) + log(1 − D(G(z_d)))]     (D's weights only)
    G's step:  descend  L_G = −log D(G(z_g))                        (G's weights only)

You get G, D, their Adam optimizers, a real batch (N, 784) in [−1, 1] and the two noise
batches, z_d for D's step and z_g for G's (the check draws them as MLPGAN.train_step
draws them). Write both steps: for each, the loss from D's logits (losses.d_loss_minimax,
losses.g_loss_nonsaturating), then zero_grad, backward, step — on the right optimizer.

Three things make it right, and each has a classic way of going wrong:
  * in D's step the fake is data: G(z_d).detach() (or made under sg.no_grad()), so that
    D's loss never reaches G's weights;
  * every step starts from zero gradients: backward() ADDS to .grad;
  * in G's step D is the fixed judge: only opt_g steps, and D is frozen
    (with nn.frozen(D): …) so that backward computes no gradient for D's weights.

Check:   make check EX=gan_iteration        (or: python -m scratchgan check gan_iteration)
The check runs three iterations of your function and of MLPGAN.train_step (a tiny MLP GAN
with pack=1, no EMA, no dropout, k=1, in float64) from the same weights on the same data
and noise, and compares every optimizer step: the gradient it found, the weights it left.
train_step judges real and fake in one pass of D, F.concatenate([real, fake]); do the
same and your weights agree bit for bit (two passes agree to rounding, also a pass).
"""
import scratchgan as sg  # noqa: F401
from scratchgan import functional as F  # noqa: F401
from scratchgan import losses, nn  # noqa: F401


def train_iteration(G, D, opt_g, opt_d, real, z_d, z_g):
    """One D step on (real, G(z_d)), then one G step on G(z_g).  real: Tensor (N, 784);
    z_d, z_g: Tensors (N, z_dim).  Returns (d_loss, g_loss)."""
    # D's step: the fake is data (detached), so D's loss cannot reach G
    fake = G(z_d).detach()
    logits = D(F.concatenate([real, fake]))            # one pass over both halves
    n = real.shape[0]
    d_loss = losses.d_loss_minimax(logits[:n], logits[n:])
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    # G's step: through a frozen D, to G's weights alone
    with nn.frozen(D):
        g_loss = losses.g_loss_nonsaturating(D(G(z_g)))
        opt_g.zero_grad()
        g_loss.backward()
    opt_g.step()
    return d_loss, g_loss
