"""DCGAN (Radford et al. 2016) on MNIST, scaled to 28×28: convolutions instead of MLPs.

    G: z (N, z_dim) [→ Linear → BatchNorm → ReLU → (N, g_hidden)]               (g_hidden)
         → Linear → BatchNorm → ReLU → (2C, 7, 7)
         → ConvTranspose2d 4×4 stride 2 → (C, 14, 14) → BatchNorm → ReLU
         → ConvTranspose2d 4×4 stride 2 → (1, 28, 28) → Tanh
    D: x (N, 1, 28, 28) → Conv2d 4×4 stride 2 → (C, 14, 14) → LeakyReLU 0.2
         → Conv2d 4×4 stride 2 → (2C, 7, 7) → BatchNorm → LeakyReLU 0.2
         [→ Conv2d 4×4 stride 2 → (4C, 3, 3) → BatchNorm → LeakyReLU 0.2]   (d_convs=3)
         → Linear → logit

The paper's guidelines, each visible above: strided convolutions instead of pooling (D
learns its own downsampling, G its own upsampling); BatchNorm in both networks except G's
output and D's input; ReLU in G with Tanh at the end, LeakyReLU 0.2 in D; no hidden fully
connected layers beyond the projection of z and D's last layer; weights from N(0, 0.02),
Adam with lr 2e-4 and β₁ = 0.5.  A 4×4 kernel at stride 2 overlaps evenly (4 is a multiple
of 2), which avoids the checkerboard a 3×3 kernel at stride 2 paints (lesson 08).  The
``default`` preset breaks one of them where measurement said so, a hidden layer in G
(g_hidden, docs/experiments.md); ``paper`` keeps them all.

Training is the same Algorithm 1 as the MLP GAN (``gan.py``); only the networks differ.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import nn
from ..autograd import Tensor
from ..config import require, require_float, require_int
from .gan import GAN, GANConfig


@dataclass
class DCGANConfig(GANConfig):
    """The fields every GAN has (``GANConfig``) and DCGAN's own: its widths and init."""
    channels: int = 64          # C: D's first and G's last hidden width (the other is 2C)
    g_channels: int = 0         # > 0: G's own C (G then has 2·g_channels at 7×7 and
                                # g_channels at 14×14), D keeps `channels`
    init_std: float = 0.02      # weights ~ N(0, init_std²), BatchNorm's γ ~ N(1, init_std²)
    slope: float = 0.2          # D's LeakyReLU
    d_batchnorm: bool = True    # BatchNorm in D after its second convolution (the paper's)
    d_convs: int = 2            # 3: a third strided convolution (4C channels at 3×3), so
                                # that D's last features each see the whole digit
    g_hidden: int = 0           # > 0: a hidden fully connected layer this wide (BatchNorm,
                                # ReLU) between z and the projection to the 7×7 map, as
                                # InfoGAN's MNIST G: the digit's layout is planned by two
                                # nonlinear layers instead of one linear map of z
    g_last: int = 0             # > 0: G's last transposed convolution makes this many
                                # channels at 28×28 (BatchNorm, ReLU), and a 3×3
                                # convolution draws the image from them
    batch_size: int = 64
    epochs: int = 5

    def validate(self) -> None:
        super().validate()
        require_int("channels", self.channels)
        require_int("g_last", self.g_last, low=0)
        require_int("g_channels", self.g_channels, low=0)
        require_int("g_hidden", self.g_hidden, low=0)
        require(self.d_convs in (2, 3), "d_convs", self.d_convs, "2 or 3")
        require_float("init_std", self.init_std, 0, 1, low_open=True)
        require_float("slope", self.slope, 0, 1)


PRESETS: dict[str, DCGANConfig] = {
    # The paper's setup at its published widths (C = 64): Adam 2e-4, β = (0.5, 0.999).
    "paper": DCGANConfig(channels=64, batch_size=64, epochs=5),
    # scratchgan's default for the main job's budget (docs/experiments.md): a third strided
    # convolution in D, so that its last features see whole digits (with two, G learned
    # clean strokes in the wrong shapes), and a hidden layer in G before its projection, so
    # that G can plan a whole digit in turn; D at C = 32 judging pairs (packing halves its
    # cost) with a smoothed real label, G twice as wide; batches of 128 at twice the
    # paper's learning rate, as the MLP default found (on a CPU a batch of 128 costs far
    # less than two of 64); an EMA sampler; the learning rates decayed over the last quarter.
    "default": DCGANConfig(channels=32, g_channels=64, g_hidden=512, d_convs=3, pack=2,
                           real_label=0.9, batch_size=128, lr_g=4e-4, lr_d=4e-4, epochs=16,
                           ema_decay=0.999, reuse_fakes=True, lr_decay_from=0.75),
}


# A layer followed by BatchNorm has no bias: the norm subtracts the mean, so a bias there
# would get exactly zero gradient.
def make_generator(cfg: DCGANConfig) -> nn.Sequential:
    c, last = cfg.g_channels or cfg.channels, cfg.g_last
    head = [nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1)] if not last else [
        nn.ConvTranspose2d(c, last, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(last),
        nn.ReLU(), nn.Conv2d(last, 1, 3, padding=1)]
    hidden = [] if not cfg.g_hidden else [
        nn.Linear(cfg.z_dim, cfg.g_hidden, bias=False), nn.BatchNorm1d(cfg.g_hidden), nn.ReLU()]
    return nn.Sequential(
        *hidden, nn.Linear(cfg.g_hidden or cfg.z_dim, 2 * c * 7 * 7, bias=False),
        nn.BatchNorm1d(2 * c * 7 * 7), nn.ReLU(),
        nn.Unflatten(1, (2 * c, 7, 7)),
        nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
        *head, nn.Tanh())


def d_last_map(cfg: DCGANConfig) -> tuple[int, int]:
    """(channels, side) of D's last feature map, before its Linear: (2C, 7) after two
    strided convolutions, (4C, 3) after three.  The WGAN critic shares the geometry."""
    return (2 * cfg.channels, 7) if cfg.d_convs == 2 else (4 * cfg.channels, 3)


def make_discriminator(cfg: DCGANConfig) -> nn.Sequential:
    """With packing, D's first convolution reads ``pack`` images as that many channels."""
    c, bn = cfg.channels, cfg.d_batchnorm
    third = [] if cfg.d_convs == 2 else [                         # (2C, 7, 7) → (4C, 3, 3)
        nn.Conv2d(2 * c, 4 * c, 4, stride=2, padding=1, bias=not bn),
        *([nn.BatchNorm2d(4 * c)] if bn else []), nn.LeakyReLU(cfg.slope)]
    channels, side = d_last_map(cfg)
    return nn.Sequential(
        nn.Conv2d(cfg.pack, c, 4, stride=2, padding=1), nn.LeakyReLU(cfg.slope),
        nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=not bn),
        *([nn.BatchNorm2d(2 * c)] if bn else []), nn.LeakyReLU(cfg.slope),
        *third, nn.Flatten(), nn.Linear(channels * side * side, 1))


def dcgan_init_(module: nn.Module, std: float) -> None:
    """Radford et al.: every weight ~ N(0, std²); BatchNorm's scale γ ~ N(1, std²); biases 0."""
    for _, layer in module.named_modules():
        weight, bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
        if isinstance(weight, nn.Parameter):
            is_norm = isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d))
            nn.init.normal_(weight, 1.0 if is_norm else 0.0, std)
        if isinstance(bias, nn.Parameter):
            nn.init.zeros_(bias)


class DCGAN(GAN):
    """Deep convolutional G and D on (N, 1, 28, 28) images."""
    name = "mnist-dcgan"
    Config = DCGANConfig
    PRESETS = PRESETS

    def make_generator(self) -> nn.Module:
        G = make_generator(self.cfg)
        dcgan_init_(G, self.cfg.init_std)
        return G

    def make_discriminator(self) -> nn.Module:
        D = make_discriminator(self.cfg)
        dcgan_init_(D, self.cfg.init_std)
        return D

    def as_images(self, batch: Tensor) -> Tensor:
        return batch.reshape(batch.shape[0], 1, 28, 28)
