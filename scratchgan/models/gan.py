"""What every GAN of the family shares: G and D, their Adam optimizers, Algorithm 1 of
Goodfellow et al. (2014) with k discriminator steps, an EMA of G's weights for sampling,
and a learning rate that is constant and then decays linearly.

    for each iteration:
        for k steps:   sample {z⁽ⁱ⁾}, {x⁽ⁱ⁾};  descend  L_D = −[log D(x) + log(1 − D(G(z)))]
        once:          sample {z⁽ⁱ⁾};          descend  L_G  (saturating:  log(1 − D(G(z)))
                                                              non-saturating: −log D(G(z)))

A model (``mlp_gan.py``, ``dcgan.py``) adds only its networks and its defaults.
"""
from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass

from .. import backend, losses, nn, optim
from .. import functional as F
from ..autograd import Tensor, no_grad
from ..config import (Config, require, require_adam, require_choice, require_float,
                      require_int)
from ..data.mnist import scale_batch
from .base import DigitGAN


@dataclass
class GANConfig(Config):
    """The fields every GAN's configuration has (each model's config adds its own)."""
    LR_FIELDS = ("lr_g", "lr_d")
    G_LOSSES = ("nonsaturating", "saturating")     # what g_loss may name (WGAN: its own)
    z_dim: int = 100
    g_loss: str = "nonsaturating"       # or "saturating" (the paper's minimax form)
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple = (0.5, 0.999)
    batch_size: int = 64
    k: int = 1                          # discriminator steps per generator step
    real_label: float = 1.0             # < 1: one-sided label smoothing
    ema_decay: float = 0.0              # > 0: keep an EMA copy of G for sampling
    ema_every: int = 1                  # update the EMA every n-th G step, with decayⁿ
    ema_warmup: float = 10.0            # c in the EMA's warm-up decay (1 + t)/(c + t): an
                                        # average over the last ~t/(c − 1) steps
    lr_decay_from: float = 1.0          # < 1: decay both lrs linearly to 0 from this fraction
                                        # of the epochs on (sharper samples at the end)
    reuse_fakes: bool = False           # G's step reuses the fakes of D's last step (one
                                        # forward pass of G fewer, as PyTorch's DCGAN example)
    pack: int = 1                       # PacGAN: D judges `pack` samples at once
    epochs: int = 20

    def validate(self) -> None:
        """Refuse, in one line, any value that makes no sense (before any work starts)."""
        require_int("z_dim", self.z_dim)
        require_choice("g_loss", self.g_loss, self.G_LOSSES)
        require_adam(self)
        require_int("batch_size", self.batch_size)
        require_int("k", self.k)
        require_float("real_label", self.real_label, 0, 1, low_open=True)
        require_float("ema_decay", self.ema_decay, 0, 1, high_open=True)
        require_int("ema_every", self.ema_every)
        # the warm-up decay (1 + t)/(c + t) must stay ≤ 1
        require_float("ema_warmup", self.ema_warmup, 1, math.inf, high_open=True)
        require_float("lr_decay_from", self.lr_decay_from, 0, 1)
        require_int("pack", self.pack)
        require(self.batch_size % self.pack == 0, "pack", self.pack,
                f"a divisor of batch_size ({self.batch_size}): D judges groups of pack samples")
        require_int("epochs", self.epochs)


class GAN(DigitGAN):
    """G, D, their optimizers and (optionally) an EMA of G: one ``train_step`` per iteration.

    A subclass builds the two networks (``make_generator``, ``make_discriminator``) and
    says how a batch of uint8 images becomes G's output shape (``as_images``)."""

    def __init__(self, cfg: GANConfig):
        cfg.validate()
        self.cfg = cfg
        self.G = self.make_generator()
        self.D = self.make_discriminator()
        self.opt_g = optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
        self.opt_d = optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
        self.G_ema = copy.deepcopy(self.G) if cfg.ema_decay > 0 else None
        self.g_loss_fn = (losses.g_loss_nonsaturating if cfg.g_loss == "nonsaturating"
                          else losses.g_loss_saturating)

    def sample_z(self, n: int) -> Tensor:
        return Tensor(backend.random_normal((n, self.cfg.z_dim)))

    def make_generator(self) -> nn.Module:
        raise NotImplementedError

    def make_discriminator(self) -> nn.Module:
        raise NotImplementedError

    def as_images(self, batch: Tensor) -> Tensor:
        """A batch (b, 28, 28) in [−1, 1] in the shape G produces and D reads."""
        return batch

    def discriminate(self, images: Tensor) -> Tensor:
        """D's logits for a batch of images.  With packing (Lin et al. 2018), D sees groups
        of ``pack`` consecutive samples at once, all real or all fake, stacked along the
        feature axis (side by side for an MLP, as channels for a convolution): a generator
        that repeats itself is easy to spot in a group, so packing punishes mode collapse."""
        pack = self.cfg.pack
        if pack > 1:
            n, features = images.shape[0], images.shape[1]
            images = images.reshape(n // pack, pack * features, *images.shape[2:])
        return self.D(images)

    @functools.cached_property
    def d_judges_each_sample_alone(self) -> bool:
        """True unless D normalises over the batch (BatchNorm): then real and fake batches
        must go through D separately.  D's layers never change, so this is read once, not
        walked on every D step."""
        return not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))
                       for _, m in self.D.named_modules())

    @property
    def logits_per_batch(self) -> int:
        """How many images one of D's logits judges (PacGAN's pack; 1 otherwise)."""
        return self.cfg.pack

    def d_step(self, real: Tensor, fake: Tensor | None = None) -> dict:
        """One step of D on a real batch and as many fakes: descend L_D.  The fakes are
        drawn here unless given (they must carry no graph: D's loss must not reach G)."""
        if fake is None:
            with no_grad():
                fake = self.G(self.sample_z(real.shape[0]))
        if self.d_judges_each_sample_alone:
            # D judges the real and the fake batch in one pass: one matrix product per
            # layer on twice the rows, instead of two, and each weight's gradient summed
            # by the product itself rather than added up from two passes afterwards
            logits = self.discriminate(F.concatenate([real, fake]))
            n_real = real.shape[0] // self.logits_per_batch
            real_logits, fake_logits = logits[:n_real], logits[n_real:]
        else:
            # BatchNorm makes D's verdict on a sample depend on the rest of its batch: a
            # mixed batch would be normalised with statistics G's step (fakes alone) never
            # sees, so D judges each batch on its own, as Radford et al. train it
            real_logits, fake_logits = self.discriminate(real), self.discriminate(fake)
        return self.descend_d(real_logits, fake_logits)

    def descend_d(self, real_logits: Tensor, fake_logits: Tensor) -> dict:
        """D's step once it has judged both batches: L_D, backward, Adam; D's loss and mean
        outputs as 0-d device arrays, not floats (the loop reads them every few iterations)."""
        d_loss = losses.d_loss_minimax(real_logits, fake_logits, real_label=self.cfg.real_label)
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        xp = backend.get_array_module(real_logits.data)
        mean_d = lambda t: (1 / (1 + xp.exp(-t.data))).mean()   # noqa: E731
        return {"d_loss": d_loss.data, "d_real": mean_d(real_logits),
                "d_fake": mean_d(fake_logits)}

    def g_step(self, n: int, fake: Tensor | None = None) -> dict:
        """One step of G: descend L_G through a D that stays fixed.  The fakes G(z) are
        drawn here unless given (then with their graph back to G's weights).

        D's parameters are frozen for this pass, so backward computes no gradient for
        them (it would be thrown away) — only the gradient flowing through D to G's output.
        """
        with nn.frozen(self.D):
            if fake is None:
                fake = self.G(self.sample_z(n))
            g_loss = self.g_loss_fn(self.discriminate(fake))
            self.opt_g.zero_grad()
            g_loss.backward()
        self.opt_g.step()
        self._update_ema()
        return {"g_loss": g_loss.data}

    def train_step(self, real_batches) -> dict:
        """Algorithm 1: k discriminator steps (one per real batch given), then one G step.

        With ``reuse_fakes`` the last D step's fakes are made with their graph and the G
        step uses them again (against the D just updated) instead of drawing new ones: the
        same estimate of G's gradient in expectation, one forward pass of G cheaper.
        """
        if not isinstance(real_batches, (list, tuple)):
            # from the loop: batch_size · k training images, uint8 as the data holds them,
            # each batch moved to the device and scaled to [−1, 1] as it is used
            b = self.cfg.batch_size
            real_batches = [self.as_images(Tensor(scale_batch(real_batches[j * b:(j + 1) * b],
                                                              xp=backend.xp)))
                            for j in range(len(real_batches) // b)]
        stats, fake = {}, None
        for j, real in enumerate(real_batches):
            if self.cfg.reuse_fakes and j == len(real_batches) - 1:
                fake = self.G(self.sample_z(real.shape[0]))       # graph kept for G's step
                stats = self.d_step(real, fake.detach())
            else:
                stats = self.d_step(real)
        stats.update(self.g_step(self.cfg.batch_size, fake))     # n is unused given fakes
        return stats

    def set_epoch(self, epoch: int) -> None:
        """Learning rates for this epoch: constant, then linear decay to 0 over the last
        (1 − lr_decay_from) of the run (as CycleGAN decays).  A function of the epoch alone,
        so a resumed run gets the same rates."""
        cfg = self.cfg
        start = cfg.lr_decay_from * cfg.epochs
        factor = 1.0 if epoch < start else max(0.0, 1 - (epoch - start) / max(1e-9, cfg.epochs - start))
        self.opt_g.lr, self.opt_d.lr = cfg.lr_g * factor, cfg.lr_d * factor

    def _update_ema(self) -> None:
        """θ_ema ← d·θ_ema + (1 − d)·θ   (Yazıcı et al. 2019: a smoother, better G)."""
        if self.G_ema is None:
            return
        # warm-up (``optim.ema_decay``): with c = 10 the average spans the last ~t/9
        # steps, still shorter than 1/(1 − d) at the end of the default's run, so the
        # warm-up sets the window throughout (docs/experiments.md compares other windows)
        t = self.opt_g.step_count
        every = self.cfg.ema_every
        if t % every:
            return
        # every n-th step with dⁿ: the same exponential weights, read from one step in n,
        # at 1/n of the cost
        optim.update_ema(self.G_ema, self.G,
                         optim.ema_decay(self.cfg.ema_decay, t, self.cfg.ema_warmup) ** every)

    @property
    def sampler(self) -> nn.Module:
        """The generator to draw samples from: the EMA copy when there is one."""
        return self.G_ema if self.G_ema is not None else self.G

    def generate(self, z: Tensor) -> Tensor:
        """Images (N, 784) in [−1, 1] from noise, in eval mode, without a graph."""
        G = self.sampler
        was_training = G.training
        G.eval()
        with no_grad():
            images = G(z)
        G.train(was_training)
        return images

    # --- checkpoints -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Every array of the run, flat, by name (for an .npz)."""
        state = {}
        parts = {"G": self.G, "D": self.D, "opt_g": self.opt_g, "opt_d": self.opt_d}
        if self.G_ema is not None:
            parts["G_ema"] = self.G_ema
        for prefix, part in parts.items():
            for k, v in part.state_dict().items():
                state[f"{prefix}/{k}"] = v
        return state

    def load_state_dict(self, state: dict) -> None:
        parts = {"G": self.G, "D": self.D, "opt_g": self.opt_g, "opt_d": self.opt_d}
        if self.G_ema is not None:
            parts["G_ema"] = self.G_ema
        for prefix, part in parts.items():
            sub = {k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + "/")}
            part.load_state_dict(sub)
