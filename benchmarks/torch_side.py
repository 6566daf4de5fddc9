"""The same MLP step, MLP GAN, DCGAN and CycleGAN iteration, and convolution layers, in
PyTorch on the CPU: the third column of ``make bench``.  Imported only where torch is
installed; torch is never a dependency of scratchgan.

What matches GAN.train_step (MLPGAN and DCGAN alike), detail by detail
(``same_math.check_torch_gan_iteration`` checks it in float64):
  - the layers: the same Sequential of Linear / Conv2d / ConvTranspose2d /
    BatchNorm1d/2d(eps, momentum) / ReLU / LeakyReLU / Tanh / Flatten / Unflatten, with
    scratchgan's initial weights copied in (scratchgan stores every weight in PyTorch's
    layout: Linear (out, in), Conv2d (out, in, kh, kw), ConvTranspose2d (in, out, kh, kw));
  - D judges [real; fake] in one pass, packed ``pack`` samples to a row (a reshape);
  - losses from logits: L_D = −mean log σ(D(x)) − mean log σ(−D(G(z))),
    L_G = −mean log σ(D(G(z))) (non-saturating), real label 1;
  - D's fakes are drawn without a graph, or, with ``reuse_fakes``, drawn once with G's graph
    and used again, against the updated D, for G's step;
  - D frozen (requires_grad off) during G's backward, so no gradient is computed for it;
  - torch.optim.Adam with the config's lr and betas, eps 1e-8 (the same update; PyTorch
    divides by √(1 − β₂ᵗ) where optim.Adam multiplies ε by it — equal up to rounding);
  - the EMA of G every ``ema_every``-th G step with d = min(decay, (1 + t)/(c + t))ⁿ;
  - the same four numbers read back to the host per iteration (the losses and D's means).

CycleGAN.train_step has its own twin, TorchCycleGAN (below), which says what it matches.
"""
from __future__ import annotations

import torch
import torch.nn.functional as TF

from scratchgan import backend, nn
from scratchgan.backend import numpy
from scratchgan.data.mnist import scale_batch
from scratchgan.models import cyclegan
from scratchgan.models.gan import GAN
from scratchgan.ops.pooling import as_scale_pair

THREADS = 2


def _tensor(array) -> torch.Tensor:
    return torch.from_numpy(numpy.array(backend.to_numpy(array), copy=True))


def _twin_layer(m) -> torch.nn.Module:
    """The PyTorch layer that computes what scratchgan's layer ``m`` computes."""
    has_bias = getattr(m, "bias", None) is not None
    if isinstance(m, nn.Linear):
        return torch.nn.Linear(m.in_features, m.out_features, bias=has_bias)
    if isinstance(m, nn.Conv2d):
        return torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride,
                               m.padding, bias=has_bias)
    if isinstance(m, nn.ConvTranspose2d):
        return torch.nn.ConvTranspose2d(m.in_channels, m.out_channels, m.kernel_size,
                                        m.stride, m.padding, m.output_padding, bias=has_bias)
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        cls = torch.nn.BatchNorm1d if isinstance(m, nn.BatchNorm1d) else torch.nn.BatchNorm2d
        t = cls(m.num_features, eps=m.eps, momentum=m.momentum)
        t.running_mean, t.running_var = _tensor(m.running_mean), _tensor(m.running_var)
        return t
    if isinstance(m, nn.LeakyReLU):
        return torch.nn.LeakyReLU(m.negative_slope)
    if isinstance(m, nn.ReLU):
        return torch.nn.ReLU()
    if isinstance(m, nn.Tanh):
        return torch.nn.Tanh()
    if isinstance(m, nn.Flatten):
        return torch.nn.Flatten()
    if isinstance(m, nn.Unflatten):
        return torch.nn.Unflatten(m.dim, m.unflattened_size)
    # CycleGAN's layers
    if isinstance(m, nn.InstanceNorm2d):
        return torch.nn.InstanceNorm2d(m.num_features, eps=m.eps, affine=m.weight is not None)
    if isinstance(m, nn.ReflectionPad2d):
        return torch.nn.ReflectionPad2d(m.padding)        # both (left, right, top, bottom)
    if isinstance(m, nn.Upsample):
        return torch.nn.Upsample(scale_factor=tuple(float(s) for s in
                                                    as_scale_pair(m.scale_factor)),
                                 mode=m.mode)
    if isinstance(m, cyclegan.ResidualBlock):
        return TorchResidualBlock(torch_twin(m.body))
    raise TypeError(f"the torch GAN has no twin for {type(m).__name__}")


class TorchResidualBlock(torch.nn.Module):
    """cyclegan.ResidualBlock: x + body(x), the body a twin of scratchgan's."""

    def __init__(self, body: torch.nn.Sequential):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def torch_twin(net: nn.Sequential) -> torch.nn.Sequential:
    """The PyTorch Sequential with ``net``'s layers and a copy of its weights and statistics."""
    layers = []
    for m in net:
        t = _twin_layer(m)
        for name in ("weight", "bias"):
            if getattr(m, name, None) is not None:
                getattr(t, name).data = _tensor(getattr(m, name).data)
        layers.append(t)
    return torch.nn.Sequential(*layers)


class TorchGAN:
    """GAN.train_step in PyTorch: MLPGAN (the presets HandGAN covers) and DCGAN."""

    def __init__(self, gan: GAN, seed: int = 0):
        cfg = self.cfg = gan.cfg
        self.pack = cfg.pack                            # D judges groups of pack samples
        if (cfg.g_loss, getattr(cfg, "d_dropout", 0.0),
                getattr(cfg, "d_spectral_norm", False)) != ("nonsaturating", 0.0, False):
            raise ValueError("TorchGAN implements the non-saturating G loss, no dropout and no "
                             "spectral norm")
        self.G, self.D = torch_twin(gan.G), torch_twin(gan.D)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
        self.G_ema = torch_twin(gan.G_ema) if gan.G_ema is not None else None
        self.g_steps = 0
        self.rng = numpy.random.default_rng(seed)

    def sample_z(self, n: int) -> torch.Tensor:
        z = torch.from_numpy(self.rng.normal(0.0, 1.0, (n, self.cfg.z_dim)))
        return z.to(self.G[0].weight.dtype)

    def discriminate(self, images: torch.Tensor) -> torch.Tensor:
        pack = self.pack
        if pack == 1:
            return self.D(images)
        return self.D(images.reshape(images.shape[0] // pack, pack * images.shape[1],
                                     *images.shape[2:]))

    def d_step(self, real: torch.Tensor, fake: torch.Tensor | None = None) -> dict:
        if fake is None:
            with torch.no_grad():
                fake = self.G(self.sample_z(real.shape[0]))
        if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in self.D.modules()):
            # as GAN.d_step: a BatchNorm D judges the real and the fake batch apart
            real_logits, fake_logits = self.discriminate(real), self.discriminate(fake)
        else:
            logits = self.discriminate(torch.cat([real, fake]))
            n = real.shape[0] // self.pack
            real_logits, fake_logits = logits[:n], logits[n:]
        # one-sided label smoothing: the real targets are real_label (1 when off)
        target = torch.full_like(real_logits, self.cfg.real_label)
        d_loss = (TF.binary_cross_entropy_with_logits(real_logits, target)
                  - TF.logsigmoid(-fake_logits).mean())
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        with torch.no_grad():
            return {"d_loss": d_loss.item(), "d_real": torch.sigmoid(real_logits).mean().item(),
                    "d_fake": torch.sigmoid(fake_logits).mean().item()}

    def g_step(self, n: int, fake: torch.Tensor | None = None) -> dict:
        params_d = list(self.D.parameters())
        for p in params_d:
            p.requires_grad_(False)
        try:
            if fake is None:
                fake = self.G(self.sample_z(n))
            g_loss = -TF.logsigmoid(self.discriminate(fake)).mean()
            self.opt_g.zero_grad()
            g_loss.backward()
        finally:
            for p in params_d:
                p.requires_grad_(True)
        self.opt_g.step()
        self.g_steps += 1
        self._update_ema()
        return {"g_loss": g_loss.item()}

    @torch.no_grad()
    def _update_ema(self) -> None:
        cfg, t = self.cfg, self.g_steps
        if self.G_ema is None or t % cfg.ema_every:
            return
        d = min(cfg.ema_decay, (1 + t) / (cfg.ema_warmup + t)) ** cfg.ema_every
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.mul_(d).add_(p, alpha=1 - d)
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    def train_step(self, real_batches) -> dict:
        stats, fake = {}, None
        for j, real in enumerate(real_batches):
            if self.cfg.reuse_fakes and j == len(real_batches) - 1:
                fake = self.G(self.sample_z(real.shape[0]))     # graph kept for G's step
                stats = self.d_step(real, fake.detach())
            else:
                stats = self.d_step(real)
        stats.update(self.g_step(self.cfg.batch_size, fake))
        return stats


class TorchFakeHistory:
    """cyclegan.FakeHistory on torch tensors: the same rule (store until full; then, with
    probability ½, show a stored fake picked uniformly and store the new one in its place),
    drawing its coin and pick from ``rng`` in the same order."""

    def __init__(self, size: int, rng: numpy.random.Generator):
        self.size, self.rng = size, rng
        self.images, self.count = None, 0

    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return fakes
        if self.images is None:
            self.images = fakes.new_zeros((self.size,) + tuple(fakes.shape[1:]))
        shown = []
        for i in range(fakes.shape[0]):
            if self.count < self.size:
                self.images[self.count] = fakes[i]
                self.count += 1
                shown.append(fakes[i])
            elif self.rng.random() < 0.5:
                j = int(self.rng.integers(self.size))
                shown.append(self.images[j].clone())
                self.images[j] = fakes[i]
            else:
                shown.append(fakes[i])
        return torch.stack(shown)


class TorchCycleGAN:
    """CycleGAN.train_step in PyTorch, from the same weights (``same_math.
    check_torch_cyclegan_iteration`` checks it in float64), detail by detail:
      - G, F, D_X, D_Y: twins of scratchgan's Sequentials (ReflectionPad2d, Conv2d with and
        without bias, InstanceNorm2d, ReLU, ResidualBlock, ConvTranspose2d with
        output_padding or Upsample + Conv2d, Tanh; LeakyReLU in the PatchGANs);
      - the G/F step first, D_X and D_Y frozen (requires_grad off) during its backward:
            g_adv + f_adv + λ·(|F(G(x)) − x| + |G(F(y)) − y|) + λ_id·λ·(|F(x) − x| + |G(y) − y|)
        the adversarial terms E[(D(fake) − 1)²] ("lsgan") or −E[log σ(D(fake))] ("minimax");
      - then D_X on [x; F(y)] and D_Y on [y; G(x)], each judged in one pass, the fakes
        (made before G/F's step, detached) drawn through a history of ``pool_size``;
        L_D = ½(E[(D(real) − 1)²] + E[D(fake)²]) or −½(E[log σ(D(real))] + E[log σ(−D(fake))]);
        one backward of d_x + d_y;
      - torch.optim.Adam with the config's lr and betas: one over G + F, one over D_X + D_Y;
      - the terms come back as 0-d tensors, not read to the host (as scratchgan's).
    The images come in as uint8 and are scaled as scratchgan scales them (``scale_batch``).
    """

    def __init__(self, gan: "cyclegan.CycleGAN", rng: numpy.random.Generator | None = None):
        cfg = self.cfg = gan.cfg
        if cfg.lambda_sem > 0:
            raise ValueError("TorchCycleGAN implements no semantic term (lambda_sem = 0)")
        self.G, self.F = torch_twin(gan.G), torch_twin(gan.F)
        self.D_X, self.D_Y = torch_twin(gan.D_X), torch_twin(gan.D_Y)
        self.opt_g = torch.optim.Adam(list(self.G.parameters()) + list(self.F.parameters()),
                                      lr=cfg.lr_g, betas=cfg.betas)
        self.opt_d = torch.optim.Adam(list(self.D_X.parameters()) + list(self.D_Y.parameters()),
                                      lr=cfg.lr_d, betas=cfg.betas)
        rng = numpy.random.default_rng(0) if rng is None else rng
        self.history_x = TorchFakeHistory(cfg.pool_size, rng)
        self.history_y = TorchFakeHistory(cfg.pool_size, rng)

    def as_images(self, batch_uint8) -> torch.Tensor:
        x = torch.from_numpy(scale_batch(numpy.asarray(batch_uint8), xp=numpy))
        return x.reshape(x.shape[0], 1, *x.shape[-2:]).to(next(self.G.parameters()).dtype)

    def g_adv(self, out: torch.Tensor) -> torch.Tensor:
        if self.cfg.gan_loss == "lsgan":
            return ((out - 1) ** 2).mean()                       # E[(D(fake) − 1)²]
        return -TF.logsigmoid(out).mean()                        # −E[log σ(D(fake))]

    def d_adv(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        if self.cfg.gan_loss == "lsgan":
            return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean()
        return 0.5 * (-TF.logsigmoid(real).mean() - TF.logsigmoid(-fake).mean())

    def identity(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """λ_id·λ·(|F(x) − x| + |G(y) − y|): F leaves an x alone, G leaves a y alone."""
        cfg = self.cfg
        return cfg.lambda_id * cfg.lambda_cyc * ((self.F(x) - x).abs().mean()
                                                 + (self.G(y) - y).abs().mean())

    def g_step(self, x: torch.Tensor, y: torch.Tensor):
        cfg = self.cfg
        params_d = list(self.D_X.parameters()) + list(self.D_Y.parameters())
        for p in params_d:
            p.requires_grad_(False)
        try:
            g_of_x, f_of_y = self.G(x), self.F(y)
            terms = {"g_adv": self.g_adv(self.D_Y(g_of_x)), "f_adv": self.g_adv(self.D_X(f_of_y)),
                     "cycle": cfg.lambda_cyc * ((self.F(g_of_x) - x).abs().mean()
                                                + (self.G(f_of_y) - y).abs().mean())}
            if cfg.lambda_id > 0:
                terms["identity"] = self.identity(x, y)
            self.opt_g.zero_grad()
            sum(terms.values()).backward()
        finally:
            for p in params_d:
                p.requires_grad_(True)
        self.opt_g.step()
        return {k: v.detach() for k, v in terms.items()}, g_of_x.detach(), f_of_y.detach()

    def d_step(self, D: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor):
        out = D(torch.cat([real, fake]))
        return self.d_adv(out[:real.shape[0]], out[real.shape[0]:])

    def train_step(self, batch) -> dict:
        x, y = (self.as_images(b) for b in batch[:2])
        stats, g_of_x, f_of_y = self.g_step(x, y)
        fake_y, fake_x = self.history_y.query(g_of_x), self.history_x.query(f_of_y)
        d_x, d_y = self.d_step(self.D_X, x, fake_x), self.d_step(self.D_Y, y, fake_y)
        self.opt_d.zero_grad()
        (d_x + d_y).backward()
        self.opt_d.step()
        stats.update(d_x=d_x.detach(), d_y=d_y.detach())
        return stats


def mlp_step_torch(params, x, target) -> torch.Tensor:
    """mlp_step_scratchgan in PyTorch: forward, BCE-with-logits loss, backward."""
    h = x
    for i, (W, b) in enumerate(params):
        h = TF.linear(h, W, b)
        if i < len(params) - 1:
            h = TF.leaky_relu(h, 0.2)
    loss = TF.binary_cross_entropy_with_logits(h, target)
    loss.backward()
    return loss


def conv_step_torch(transposed: bool, x, weight, bias, gy, stride: int, padding: int):
    """One convolution layer forward and backward (dL/dy = gy given), as ``conv_step_scratchgan``."""
    conv = TF.conv_transpose2d if transposed else TF.conv2d
    y = conv(x, weight, bias, stride, padding)
    y.backward(gy)
    return y
