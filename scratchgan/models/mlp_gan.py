"""The original GAN (Goodfellow et al. 2014) on MNIST: two multilayer perceptrons.

G maps noise z ~ N(0, I) to an image in [−1, 1]⁷⁸⁴; D maps an image to a logit, the
probability "real" being σ(logit).  Training is the paper's Algorithm 1:

    for each iteration:
        for k steps:   sample {z⁽ⁱ⁾}, {x⁽ⁱ⁾};  descend  L_D = −[log D(x) + log(1 − D(G(z)))]
        once:          sample {z⁽ⁱ⁾};          descend  L_G  (saturating:  log(1 − D(G(z)))
                                                              non-saturating: −log D(G(z)))

On top of the paper, each preset can switch on what the literature found to help:
one-sided label smoothing, an exponential moving average of G's weights, dropout in D,
separate learning rates for D and G.  ``PRESETS`` holds the named setups.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import nn
from ..autograd import Tensor
from ..config import require, require_float, require_int
from .gan import GAN, GANConfig


@dataclass
class MLPGANConfig(GANConfig):
    """Everything that defines a run (saved in the checkpoint and metrics.json): the
    fields every GAN has (``GANConfig``) and the MLPs' own."""
    g_hidden: tuple = (256, 512, 1024)
    d_hidden: tuple = (1024, 512, 256)
    slope: float = 0.2                  # LeakyReLU's negative slope, in G and D
    g_batchnorm: bool = False
    d_dropout: float = 0.3
    d_spectral_norm: bool = False       # D's Linear layers as W / σ(W) (Miyato et al. 2018)

    def validate(self) -> None:
        """Refuse, in one line, any value that makes no sense (before any work starts)."""
        super().validate()
        for name in ("g_hidden", "d_hidden"):
            widths = getattr(self, name)
            require(isinstance(widths, tuple) and len(widths) > 0 and all(
                isinstance(w, int) and w >= 1 for w in widths), name, widths,
                "one or more layer widths, each a whole number ≥ 1 (e.g. 256,512)")
        require_float("slope", self.slope, 0, 1)
        require_float("d_dropout", self.d_dropout, 0, 1, high_open=True)


PRESETS: dict[str, MLPGANConfig] = {
    # PyTorch-GAN's gan.py: kept to compare with; BatchNorm in G, a small D, no dropout.
    "pytorch-gan": MLPGANConfig(z_dim=100, g_hidden=(128, 256, 512, 1024), d_hidden=(512, 256),
                                g_batchnorm=True, d_dropout=0.0, batch_size=64, epochs=13),
    # The common tutorial MLP GAN: no BatchNorm, dropout 0.3 in D.
    "tutorial": MLPGANConfig(z_dim=100, g_hidden=(256, 512, 1024), d_hidden=(1024, 512, 256),
                             d_dropout=0.3, batch_size=64, epochs=40),
    # scratchgan's default (docs/experiments.md says how it was chosen): the tutorial G, a
    # smaller D that judges pairs (packing), a higher learning rate decayed over the last
    # fifth, samples drawn from an EMA of G's weights (updated every 8th step with decay⁸:
    # it averages thousands of steps, so the same average at an eighth of the cost), and
    # batches of 128 (on a CPU a step costs far less than twice a step of 64, so more
    # epochs fit in the same time).
    "default": MLPGANConfig(z_dim=100, g_hidden=(256, 512, 1024), d_hidden=(512, 256),
                            d_dropout=0.0, pack=2, lr_g=4e-4, lr_d=4e-4, batch_size=128,
                            ema_decay=0.9999, ema_every=8, lr_decay_from=0.8, reuse_fakes=True,
                            epochs=36),
}


def make_generator(cfg: MLPGANConfig, image_dim: int = 784) -> nn.Sequential:
    """z (N, z_dim) → Linear → [BatchNorm] → LeakyReLU → … → Linear → Tanh → (N, 784)"""
    layers, width = [], cfg.z_dim
    for i, hidden in enumerate(cfg.g_hidden):
        layers.append(nn.Linear(width, hidden))
        if cfg.g_batchnorm and i > 0:             # as PyTorch-GAN: no norm on the first block
            layers.append(nn.BatchNorm1d(hidden, eps=0.8))
        layers.append(nn.LeakyReLU(cfg.slope))
        width = hidden
    layers += [nn.Linear(width, image_dim), nn.Tanh()]
    return nn.Sequential(*layers)


def make_discriminator(cfg: MLPGANConfig, image_dim: int = 784) -> nn.Sequential:
    """x (N/pack, pack·784) → Linear → LeakyReLU → [Dropout] → … → Linear → logit (N/pack, 1)"""
    linear = nn.SpectralNormLinear if cfg.d_spectral_norm else nn.Linear
    layers, width = [], image_dim * cfg.pack
    for hidden in cfg.d_hidden:
        layers += [linear(width, hidden), nn.LeakyReLU(cfg.slope)]
        if cfg.d_dropout:
            layers.append(nn.Dropout(cfg.d_dropout))
        width = hidden
    layers.append(linear(width, 1))
    return nn.Sequential(*layers)


class MLPGAN(GAN):
    """The 2014 GAN: two multilayer perceptrons, on images flattened to 784 pixels."""
    name = "mnist-gan"
    Config = MLPGANConfig
    PRESETS = PRESETS

    def make_generator(self) -> nn.Module:
        return make_generator(self.cfg)

    def make_discriminator(self) -> nn.Module:
        return make_discriminator(self.cfg)

    def as_images(self, batch: Tensor) -> Tensor:
        return batch.reshape(batch.shape[0], -1)            # (b, 28, 28) → (b, 784)
