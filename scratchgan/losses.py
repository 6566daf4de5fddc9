"""The GAN objectives, written out by hand, each next to its formula.

D outputs a logit l; the probability "real" is D = σ(l).  Every loss is computed from
logits with log σ(l) = log_sigmoid(l) and log(1 − σ(l)) = log_sigmoid(−l), which are exact
for any logit, where log(sigmoid(l)) returns −inf as soon as σ(l) rounds to 0.

Goodfellow et al. (2014), the value function:
    V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))]      D ascends V, G descends it
"""
from __future__ import annotations

from . import functional as F
from .autograd import Tensor, grad
from . import backend


# --- the original minimax GAN ------------------------------------------------------------
def d_loss_minimax(real_logits: Tensor, fake_logits: Tensor, real_label: float = 1.0) -> Tensor:
    """L_D = −[log D(x) + log(1 − D(G(z)))]   (mean over the batch; −V, so D minimises it)

    ``real_label`` < 1 is one-sided label smoothing (Salimans et al. 2016): the real
    term becomes −[s log D(x) + (1 − s) log(1 − D(x))].
    """
    if real_label == 1.0:
        real_term = -F.log_sigmoid(real_logits).mean()
    else:
        # the label as a number: checked to lie in [0, 1] on the host, with no device read
        real_term = F.binary_cross_entropy_with_logits(real_logits, float(real_label))
    return real_term - F.log_sigmoid(-fake_logits).mean()


def g_loss_saturating(fake_logits: Tensor) -> Tensor:
    """L_G = log(1 − D(G(z)))   the paper's minimax generator loss.

    Its gradient w.r.t. the logit is −σ(l) = −D(G(z)): when D confidently rejects the
    fakes early in training (D(G(z)) ≈ 0), G receives almost no gradient — it saturates.
    """
    return F.log_sigmoid(-fake_logits).mean()


def g_loss_nonsaturating(fake_logits: Tensor) -> Tensor:
    """L_G = −log D(G(z))   the paper's practical alternative: same fixed point, strong
    gradient (−(1 − D(G(z)))) exactly when G is losing."""
    return -F.log_sigmoid(fake_logits).mean()


# --- least squares (LSGAN; CycleGAN's adversarial loss) ---------------------------------
def d_loss_least_squares(real_out: Tensor, fake_out: Tensor) -> Tensor:
    """L_D = ½ E[(D(x) − 1)²] + ½ E[D(G(z))²]"""
    return 0.5 * ((real_out - 1) ** 2).mean() + 0.5 * (fake_out ** 2).mean()


def g_loss_least_squares(fake_out: Tensor) -> Tensor:
    """L_G = ½ E[(D(G(z)) − 1)²]"""
    return 0.5 * ((fake_out - 1) ** 2).mean()


# --- Wasserstein (WGAN, WGAN-GP) ---------------------------------------------------------
def d_loss_wasserstein(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """L_D = E[D(G(z))] − E[D(x)]   the critic maximises the gap (an estimate of W₁)."""
    return fake_scores.mean() - real_scores.mean()


def g_loss_wasserstein(fake_scores: Tensor) -> Tensor:
    """L_G = −E[D(G(z))]"""
    return -fake_scores.mean()


def gradient_penalty(critic, real: Tensor, fake: Tensor, weight: float = 10.0) -> Tensor:
    """λ · E[(‖∇D(x̂)‖₂ − 1)²],  x̂ = εx + (1 − ε)G(z),  ε ~ U[0, 1] per sample (WGAN-GP).

    ∇D(x̂) is taken with create_graph=True, so the penalty's own gradient w.r.t. the
    critic's weights flows through it: double backpropagation.
    """
    eps_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    eps = Tensor(backend.random_uniform(eps_shape, dtype=real.dtype))
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach())
    x_hat.requires_grad = True
    scores = critic(x_hat)
    (g,) = grad(scores.sum(), [x_hat], create_graph=True)
    g = g.reshape(g.shape[0], -1)
    norms = ((g * g).sum(axis=1) + 1e-12) ** 0.5
    return weight * ((norms - 1) ** 2).mean()


# --- CycleGAN ----------------------------------------------------------------------------
def cycle_loss(x: Tensor, x_cycled: Tensor, y: Tensor, y_cycled: Tensor,
               weight: float = 10.0) -> Tensor:
    """λ · (‖F(G(x)) − x‖₁ + ‖G(F(y)) − y‖₁)   (each a mean over elements), λ = 10."""
    return weight * (F.l1_loss(x_cycled, x) + F.l1_loss(y_cycled, y))


def identity_loss(x: Tensor, f_of_x: Tensor, y: Tensor, g_of_y: Tensor,
                  weight: float = 5.0) -> Tensor:
    """0.5·λ · (‖F(x) − x‖₁ + ‖G(y) − y‖₁): each mapping should leave its own target domain
    alone (G: X→Y applied to a y, F: Y→X applied to an x)."""
    return weight * (F.l1_loss(f_of_x, x) + F.l1_loss(g_of_y, y))
