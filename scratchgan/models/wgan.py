"""WGAN (Arjovsky et al. 2017) and WGAN-GP (Gulrajani et al. 2017) on MNIST.

D becomes a *critic*: a score with no sigmoid, trained toward the dual form of the
Wasserstein-1 distance

    W₁(P_r, P_g) = sup over 1-Lipschitz f of  E_x[f(x)] − E_z[f(G(z))]

    for each iteration:
        for k = 5 steps:  sample {x⁽ⁱ⁾}, {z⁽ⁱ⁾};  descend  L_D = E[D(G(z))] − E[D(x)]  (+ penalty)
                          WGAN:  w ← clip(w, −c, c)                   (RMSprop, η = 5·10⁻⁵)
        once:             sample {z⁽ⁱ⁾};          descend  L_G = −E[D(G(z))]

The two differ only in how they keep the critic Lipschitz:

    WGAN     every critic weight clipped to [−c, c], c = 0.01, after every critic step
    WGAN-GP  λ·E[(‖∇D(x̂)‖₂ − 1)²] on x̂ = εx + (1 − ε)G(z), ε ~ U[0, 1], λ = 10, added to
             L_D; its gradient w.r.t. the critic's weights is a gradient of a gradient
             (double backpropagation, ``sg.grad(create_graph=True)``); Adam 10⁻⁴, β = (0, 0.9)

G is DCGAN's (``dcgan.make_generator``).  The critic is DCGAN's discriminator without
its BatchNorm: the penalty is taken per sample (‖∇D(x̂ᵢ)‖), which BatchNorm would make
depend on the rest of the batch, and a critic with no batch statistics judges real and
fake samples in one pass.  Everything else (the loop, the EMA of G, the learning-rate
schedule, checkpoints) is the GAN's (``gan.py``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import backend, losses, nn, optim
from .. import functional as F
from ..autograd import Tensor, no_grad
from ..config import require, require_choice, require_float
from .dcgan import DCGAN, DCGANConfig, d_last_map, dcgan_init_


@dataclass
class WassersteinConfig(DCGANConfig):
    """What WGAN and WGAN-GP share: DCGAN's fields, the Wasserstein losses, k critic steps
    per G step and the critic's optimizer."""
    G_LOSSES = ("wasserstein",)
    g_loss: str = "wasserstein"         # L_G = −E[D(G(z))]: the only loss a critic gives G
    optimizer: str = "rmsprop"          # or "adam" (with ``betas``), for both networks
    k: int = 5                          # critic steps per G step
    critic_norm: str = "none"           # or "layer": LayerNorm after the critic's second
                                        # convolution (Gulrajani et al.'s stand-in for BatchNorm)
    d_batchnorm: bool = False           # DCGAN's field: a critic never has BatchNorm

    def validate(self) -> None:
        super().validate()
        require_choice("optimizer", self.optimizer, ("rmsprop", "adam"))
        require_choice("critic_norm", self.critic_norm, ("none", "layer"))
        require(not self.d_batchnorm, "d_batchnorm", self.d_batchnorm,
                "false: a critic judges each sample alone (critic_norm=layer for a norm)")
        # the penalty's ‖∇D(x̂)‖ is per sample; a packed critic would need it per pack
        require(self.pack == 1, "pack", self.pack, "1: the Wasserstein critics judge one "
                "sample per score")
        require(self.real_label == 1.0, "real_label", self.real_label,
                "1.0: a critic outputs a score, not a probability, so there is no label to smooth")


@dataclass
class WGANConfig(WassersteinConfig):
    clip: float = 0.01                  # c: every critic parameter is kept in [−c, c]
    lr_g: float = 5e-5
    lr_d: float = 5e-5

    def validate(self) -> None:
        super().validate()
        require_float("clip", self.clip, 0, math.inf, low_open=True, high_open=True)


@dataclass
class WGANGPConfig(WassersteinConfig):
    gp_weight: float = 10.0             # λ (0: no constraint at all on the critic)
    optimizer: str = "adam"
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple = (0.0, 0.9)

    def validate(self) -> None:
        super().validate()
        require_float("gp_weight", self.gp_weight, 0, math.inf, high_open=True)


WGAN_PRESETS: dict[str, WGANConfig] = {
    # Arjovsky et al., Algorithm 1: RMSprop 5e-5, c = 0.01, k = 5, batches of 64, at
    # DCGAN's published widths (C = 64); 25 epochs, the reference code's default (it also
    # takes 100 critic steps for the first 25 G steps and every 500th: not done here)
    "paper": WGANConfig(channels=64, epochs=25),
    # scratchgan's default, sized for `make train-wgan` on a two-core CPU: DCGAN's default
    # networks (C = 32), a 4× higher learning rate (at 5e-5 the samples are still noise
    # after two epochs, docs/family.md), decayed over the last quarter, an EMA of G
    "default": WGANConfig(channels=32, lr_g=2e-4, lr_d=2e-4, lr_decay_from=0.75, epochs=18,
                          ema_decay=0.999, reuse_fakes=True),
}

WGAN_GP_PRESETS: dict[str, WGANGPConfig] = {
    # Gulrajani et al., Algorithm 1: λ = 10, k = 5, Adam 1e-4, β = (0, 0.9), batches of 64,
    # at DCGAN's widths; the epochs are WGAN's preset's, not a published number
    "paper": WGANGPConfig(channels=64, epochs=25),
    # scratchgan's default, sized for `make train-wgan-gp` on a two-core CPU: DCGAN's
    # default networks (C = 32), lesson 07's faster Adam (3e-4, β = (0.5, 0.9): at 1e-4
    # the first epoch draws noise, docs/family.md), decayed over the last quarter, an EMA of G
    "default": WGANGPConfig(channels=32, lr_g=3e-4, lr_d=3e-4, betas=(0.5, 0.9),
                            lr_decay_from=0.75, epochs=12, ema_decay=0.999, reuse_fakes=True),
}


def make_critic(cfg: WassersteinConfig) -> nn.Sequential:
    """DCGAN's discriminator without BatchNorm (so with the bias the norm made useless):
        x (N, 1, 28, 28) → Conv2d 4×4 s2 → (C, 14, 14) → LeakyReLU
                         → Conv2d 4×4 s2 → (2C, 7, 7) → [LayerNorm] → LeakyReLU
                         [→ Conv2d 4×4 s2 → (4C, 3, 3) → [LayerNorm] → LeakyReLU]  (d_convs=3)
                         → Linear → score (N, 1)

    The last Linear has no bias: E[D(G(z))] − E[D(x)] does not change when a constant is
    added to every score, so that bias would get exactly zero gradient, and neither
    the penalty nor G's loss depends on it.  LayerNorm, when asked for, normalises each
    sample on its own, so the critic still judges every sample alone."""
    c = cfg.channels
    layer_norm = cfg.critic_norm == "layer"

    def block(c_in, c_out, size):       # a bias before a norm is subtracted away: none
        return [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=not layer_norm),
                *([nn.LayerNorm((c_out, size, size))] if layer_norm else []),
                nn.LeakyReLU(cfg.slope)]
    third = block(2 * c, 4 * c, 3) if cfg.d_convs == 3 else []    # as DCGAN's d_convs=3
    channels, side = d_last_map(cfg)
    return nn.Sequential(
        nn.Conv2d(1, c, 4, stride=2, padding=1), nn.LeakyReLU(cfg.slope),
        *block(c, 2 * c, 7), *third,
        nn.Flatten(), nn.Linear(channels * side * side, 1, bias=False))


class WassersteinGAN(DCGAN):
    """A DCGAN generator against a critic, trained with the Wasserstein losses.  Subclasses
    keep the critic Lipschitz: ``penalty`` adds a term to L_D, ``after_critic_step`` acts
    on the weights after each update."""
    history_keys = ("d_loss", "g_loss", "w_estimate")

    def __init__(self, cfg: WassersteinConfig):
        super().__init__(cfg)
        self.g_loss_fn = losses.g_loss_wasserstein
        if cfg.optimizer == "rmsprop":                   # GAN.__init__ built Adam: replace it
            self.opt_g = optim.RMSprop(self.G.parameters(), lr=cfg.lr_g)
            self.opt_d = optim.RMSprop(self.D.parameters(), lr=cfg.lr_d)

    def make_discriminator(self) -> nn.Module:
        D = make_critic(self.cfg)
        dcgan_init_(D, self.cfg.init_std)
        return D

    def penalty(self, real: Tensor, fake: Tensor) -> Tensor | None:
        """A term added to L_D (none here)."""
        return None

    def after_critic_step(self) -> None:
        """What happens to the critic's weights after each of its updates (nothing here)."""

    def d_step(self, real: Tensor, fake: Tensor | None = None) -> dict:
        """One critic step: descend L_D = E[D(G(z))] − E[D(x)] (+ the penalty).  The fakes
        are drawn here unless given (they must carry no graph: L_D must not reach G)."""
        if fake is None:
            with no_grad():
                fake = self.G(self.sample_z(real.shape[0]))
        # no batch statistics in the critic: each sample's score is its own, so one pass
        # scores the real and the fake batch together
        scores = self.discriminate(F.concatenate([real, fake]))
        real_scores, fake_scores = scores[:real.shape[0]], scores[real.shape[0]:]
        d_loss = losses.d_loss_wasserstein(real_scores, fake_scores)
        # the critic's estimate of W₁ (up to the Lipschitz constant it is held to): −L_D
        stats = {"w_estimate": -d_loss.data}
        penalty = self.penalty(real, fake)
        if penalty is not None:
            d_loss = d_loss + penalty
            stats["penalty"] = penalty.data
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        self.after_critic_step()
        stats["d_loss"] = d_loss.data
        return stats

    def curve_panels(self) -> list:
        return [("critic's W₁ estimate", [("w_estimate", "E[D(x)] − E[D(G(z))]")], None),
                ("G loss", [("g_loss", "−E[D(G(z))]")], None)]


class WGAN(WassersteinGAN):
    """WGAN: the critic's weights clipped to [−c, c] after every critic step."""
    name = "mnist-wgan"
    Config = WGANConfig
    PRESETS = WGAN_PRESETS

    def __init__(self, cfg: WGANConfig):
        super().__init__(cfg)
        # the critic starts inside the box it is kept in (as the reference code, which
        # clips before each critic step): DCGAN's N(0, 0.02²) draws would otherwise put
        # about 60% of the initial weights outside [−0.01, 0.01]
        self.after_critic_step()

    def after_critic_step(self) -> None:
        """w ← clip(w, −c, c) for every parameter of the critic (weights and biases)."""
        c = self.cfg.clip
        for p in self.D.parameters():
            p.data[...] = backend.get_array_module(p.data).clip(p.data, -c, c)


class WGANGP(WassersteinGAN):
    """WGAN-GP: a penalty on the critic's gradient at random interpolates, no clipping."""
    name = "mnist-wgan-gp"
    Config = WGANGPConfig
    PRESETS = WGAN_GP_PRESETS
    history_keys = WassersteinGAN.history_keys + ("penalty",)

    def penalty(self, real: Tensor, fake: Tensor) -> Tensor:
        """λ·E[(‖∇D(x̂)‖₂ − 1)²], x̂ = εx + (1 − ε)G(z)   (``losses.gradient_penalty``)"""
        return losses.gradient_penalty(self.discriminate, real, fake, weight=self.cfg.gp_weight)

    def curve_panels(self) -> list:
        return super().curve_panels() + [
            ("gradient penalty", [("penalty", "λ·E[(‖∇D(x̂)‖ − 1)²]")], None)]
