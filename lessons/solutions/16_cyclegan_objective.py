"""Exercise 16 — CycleGAN's generator objective, and which term reaches which mapping

G: X → Y and F: Y → X descend, together (lesson 10, section 1):

    g_adv     L_GAN(G, D_Y) = mean (D_Y(G(x)) − 1)²        LSGAN, without LSGAN's ½
    f_adv     L_GAN(F, D_X) = mean (D_X(F(y)) − 1)²
    cycle     λ · ( mean |F(G(x)) − x|  +  mean |G(F(y)) − y| )              λ = lambda_cyc
    identity  λ_id · λ · ( mean |F(x) − x|  +  mean |G(y) − y| )            λ_id = lambda_id

You get the images already made (G(x), F(y), the cycles F(G(x)), G(F(y)), and F(x), G(y))
and the discriminators' outputs on the fakes.  Return the four terms as a dict with the
keys g_adv, f_adv, cycle, identity, each a Tensor with one element.  F.l1_loss(a, b) is
mean |a − b|; ** 2, .mean(), + and * work on Tensors.

Before you run the check, predict: which terms send gradient to G's weights, which to
F's, which to both?  The check measures it on your terms and says where yours differ from
the model's (scratchgan.models.cyclegan.generator_objective).

Check:   make check EX=cyclegan_objective        (or: python -m scratchgan check cyclegan_objective)
The check builds a tiny G and F on 2-D points (D_X, D_Y fixed), compares your four values
with the model's, checks which mapping each term reaches, and gradient-checks the sum
with respect to G's and F's weights.
"""
import scratchgan as sg  # noqa: F401
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


def cyclegan_objective(dy_of_gx, dx_of_fy, x, f_of_gx, y, g_of_fy, f_of_x, g_of_y,
                       lambda_cyc=10.0, lambda_id=0.5):
    """dy_of_gx = D_Y(G(x)), dx_of_fy = D_X(F(y)); f_of_gx = F(G(x)), g_of_fy = G(F(y));
    f_of_x = F(x), g_of_y = G(y).  Returns {"g_adv", "f_adv", "cycle", "identity"}."""
    return {
        "g_adv": ((dy_of_gx - 1) ** 2).mean(),                       # D_Y's verdict: G only
        "f_adv": ((dx_of_fy - 1) ** 2).mean(),                       # D_X's verdict: F only
        "cycle": lambda_cyc * (F.l1_loss(f_of_gx, x) + F.l1_loss(g_of_fy, y)),   # G and F
        "identity": lambda_id * lambda_cyc * (F.l1_loss(f_of_x, x) + F.l1_loss(g_of_y, y)),
    }
