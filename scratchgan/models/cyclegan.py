"""CycleGAN (Zhu et al. 2017): unpaired translation between two digit domains X and Y.

Two mappings G: X → Y and F: Y → X, two discriminators D_Y (is it a y?) and D_X (is it
an x?), and the full objective (eq. 3, plus the identity term of §5.2):

    L(G, F, D_X, D_Y) = L_GAN(G, D_Y, X, Y) + L_GAN(F, D_X, Y, X)
                        + λ · (‖F(G(x)) − x‖₁ + ‖G(F(y)) − y‖₁)           cycle, λ = 10
                        + λ_id · λ · (‖F(x) − x‖₁ + ‖G(y) − y‖₁)           identity, λ_id = ½

and, for digits, CyCADA's semantic term (Hoffman et al. 2018, eq. 5), which knows what a
digit is where the terms above do not:

    + λ_sem · (−log f(G(x))[ℓ(x)] − log f_X(F(y))[ŷ(y)])

f_X is a classifier of X trained on X's labels; f, which reads G(x), is f_X or (``sem_judge
= "y"``) f_Y, a classifier of Y made without any label of Y by class-balanced
self-training from f_X (``metrics_domains.self_train``); ŷ(y) = f_Y's digit for y, the
pseudo-label of the second half (only with ``pseudo_rounds`` > 0).  Both are held fixed.

G and F descend it; D_X and D_Y ascend their L_GAN terms.  One iteration, in the paper's
(and its reference code's) order:

    fakes      G(x), F(y), and the cycles F(G(x)), G(F(y))
    G/F step   descend the objective above, D_X and D_Y held fixed
    D steps    D_Y on y against G(x), D_X on x against F(y), each fake drawn through a
               history of 50 earlier fakes (Shrivastava et al. 2017), D's loss halved

Networks (§4, appendix 7.2), scaled from 256×256 photographs to 16×16 digits:
    G, F   c7s1-k, d2k, d4k, n × R4k, u2k, uk, c7s1-1 + Tanh     (k = channels)
           InstanceNorm after every convolution but the last, reflection padding
    D      PatchGAN: C(d)-C(2d)-…, 4×4 convolutions, LeakyReLU 0.2, InstanceNorm except
           the first; d_layers of stride 2, one of stride 1, then a 1-channel patch map

``upsample="transpose"`` builds u2k, uk as the paper does (3×3 transposed convolutions at
stride 2, output_padding 1: the kernel does not divide the stride, so neighbouring outputs
get unequal numbers of contributions, the checkerboard); ``"resize"`` repeats each pixel
(nearest Upsample) and then convolves 3×3, which has no such unevenness (Odena et al. 2016).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import backend, losses, nn, optim, viz
from .. import functional as F
from ..autograd import Tensor, no_grad
from ..backend import numpy as np
from ..config import Config, require_adam, require_choice, require_float, require_int
from ..data.mnist import scale_batch
from ..errors import ConfigError
from .base import Model, to_uint8
from .dcgan import dcgan_init_


@dataclass
class CycleGANConfig(Config):
    """Everything that defines a CycleGAN run."""
    LR_FIELDS = ("lr_g", "lr_d")
    channels: int = 16              # k: G's and F's first width (c7s1-k … R4k … uk)
    n_residual: int = 2             # residual blocks R4k (6 for 128×128, 9 for 256×256)
    d_channels: int = 16            # D's first width (C64 in the paper)
    d_layers: int = 2               # D's stride-2 layers (3 in the paper: 70×70 patches)
    upsample: str = "transpose"     # or "resize": nearest Upsample + 3×3 conv
    gan_loss: str = "lsgan"         # or "minimax" (from logits)
    lambda_cyc: float = 10.0        # λ of the cycle term
    lambda_id: float = 0.5          # identity weight as a fraction of λ (0: no identity term)
    pool_size: int = 50             # earlier fakes each D may be shown (0: none kept)
    lambda_sem: float = 0.0         # > 0: CyCADA's semantic term on G (a classifier of the
                                    # source X, never of Y, must read G(x) as x's label)
    pseudo_rounds: int = 0          # > 0: the term's second half too: Y's digits labelled by
                                    # this many rounds of self-training (no label of Y used)
    sem_judge: str = "x"            # who reads G(x) in the first half: f_X, or f_Y
    x_per_class: int = 150          # MNIST training digits per class (Y has 150 per class)
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple = (0.5, 0.999)
    init_std: float = 0.02          # weights ~ N(0, init_std²), as the reference code
    slope: float = 0.2              # D's LeakyReLU
    batch_size: int = 4
    decay_from: float = 0.5         # lrs constant for this fraction of the epochs, then
                                    # linearly down to 0 (the paper: 100 + 100 epochs)
    epochs: int = 4

    def validate(self) -> None:
        """Refuse, in one line, any value that makes no sense (before any work starts)."""
        require_int("channels", self.channels)
        require_int("n_residual", self.n_residual, low=0)
        require_int("d_channels", self.d_channels)
        require_int("d_layers", self.d_layers)
        require_choice("upsample", self.upsample, ("transpose", "resize"))
        require_choice("gan_loss", self.gan_loss, ("lsgan", "minimax"))
        require_float("lambda_cyc", self.lambda_cyc, 0, 1e6)
        require_float("lambda_id", self.lambda_id, 0, 1e6)
        require_float("lambda_sem", self.lambda_sem, 0, 1e6)
        require_int("pseudo_rounds", self.pseudo_rounds, low=0)
        require_int("x_per_class", self.x_per_class)
        require_choice("sem_judge", self.sem_judge, ("x", "y"))
        if self.sem_judge == "y" and not self.pseudo_rounds:
            raise ConfigError("sem_judge=y: f_Y is made by self-training; set pseudo_rounds > 0")
        require_int("pool_size", self.pool_size, low=0)
        require_adam(self)
        require_float("init_std", self.init_std, 0, 1, low_open=True)
        require_float("slope", self.slope, 0, 1)
        require_int("batch_size", self.batch_size)
        require_float("decay_from", self.decay_from, 0, 1)
        require_int("epochs", self.epochs)


PRESETS: dict[str, CycleGANConfig] = {
    # Zhu et al. at 256×256: k = 64, 9 residual blocks, the 70×70 PatchGAN, batch 1,
    # 100 epochs at 2e-4 and 100 decaying to 0, a history of 50 fakes.
    "paper": CycleGANConfig(channels=64, n_residual=9, d_channels=64, d_layers=3,
                            batch_size=1, epochs=200, decay_from=0.5),
    # 16×16 digits: a quarter of the widths, two residual blocks at 4×4; 1,000 MNIST digits
    # per class (G learns the semantic term on 150 well and on held-out digits less well,
    # docs/cyclegan.md), 2 epochs of 10,000 pairs.  The paper's objective alone:
    "plain": CycleGANConfig(x_per_class=1000, epochs=2),
    # with CyCADA's semantic term in both directions: f_Y, self-trained from f_X without
    # Y's labels, reads G(x), and f_X reads F(y) against f_Y's labels; no identity term
    # (it measured no better with the semantic term, and costs two more passes of G and F)
    "default": CycleGANConfig(x_per_class=1000, epochs=2, lambda_sem=1.0, pseudo_rounds=10,
                              sem_judge="y", lambda_id=0.0),
}


# --- the objective, term by term ------------------------------------------------------
# The paper trains its L_GAN in least-squares form (§4, "Training details"): G minimises
# E[(D(G(x)) − 1)²], and D minimises E[(D(y) − 1)²] + E[D(G(x))²], "divided by 2".
def g_adv_least_squares(fake_out: Tensor) -> Tensor:
    """L_G = E[(D_Y(G(x)) − 1)²]   (LSGAN's ½ is not in CycleGAN's G loss: twice
    ``losses.g_loss_least_squares``)"""
    return 2 * losses.g_loss_least_squares(fake_out)


def d_adv_least_squares(real_out: Tensor, fake_out: Tensor) -> Tensor:
    """L_D = ½ (E[(D_Y(y) − 1)²] + E[D_Y(G(x))²])   the paper's halved D loss, which is
    ``losses.d_loss_least_squares`` exactly"""
    return losses.d_loss_least_squares(real_out, fake_out)


def g_adv_minimax(fake_logits: Tensor) -> Tensor:
    """L_G = −log D_Y(G(x))   eq. (1)'s log form; G takes the non-saturating side (as the
    reference code's "vanilla" mode), since log(1 − D_Y(G(x))) gives G no gradient while
    D_Y rejects its fakes confidently"""
    return losses.g_loss_nonsaturating(fake_logits)


def d_adv_minimax(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """L_D = −½ [log D_Y(y) + log(1 − D_Y(G(x)))]   eq. (1) for D, halved as the paper's D"""
    return 0.5 * losses.d_loss_minimax(real_logits, fake_logits)


ADVERSARIAL = {"lsgan": (g_adv_least_squares, d_adv_least_squares),
               "minimax": (g_adv_minimax, d_adv_minimax)}


def semantic_loss(logits_of_gx: Tensor, x_labels) -> Tensor:
    """L_sem = −E[log f_X(G(x))[ℓ(x)]]   (CyCADA, Hoffman et al. 2018, eq. 5, its X → Y half):
    f_X, a classifier trained on X alone and held fixed, must still read G(x) as x's digit.
    It knows what a digit is, which the cycle term does not: a map that turns every 4 into
    a 9 and back is perfectly cycle-consistent, and f_X reads that 9 as a 9.  The same
    cross-entropy serves the Y → X half, f_X(F(y)) against y's pseudo-labels."""
    logp = F.log_softmax(logits_of_gx, axis=1)
    xp = backend.get_array_module(logp.data)
    return -logp[xp.arange(logp.shape[0]), x_labels].mean()


def generator_objective(dy_of_gx, dx_of_fy, x, f_of_gx, y, g_of_fy, f_of_x=None, g_of_y=None,
                        gan_loss: str = "lsgan", lambda_cyc: float = 10.0,
                        lambda_id: float = 0.5, sem_logits=None, x_labels=None,
                        lambda_sem: float = 0.0, sem_logits_f=None, y_pseudo=None) -> dict:
    """The terms G and F descend, each as it enters the sum (so they add up to the loss):

        g_adv     L_GAN(G, D_Y): D_Y's verdict on G(x)
        f_adv     L_GAN(F, D_X): D_X's verdict on F(y)
        cycle     λ · (‖F(G(x)) − x‖₁ + ‖G(F(y)) − y‖₁)
        identity  λ_id·λ · (‖F(x) − x‖₁ + ‖G(y) − y‖₁)   F of an x must stay x, G of a y
                  must stay y (each mapping leaves its own target domain alone); only when
                  λ_id > 0, given ``f_of_x`` = F(x) and ``g_of_y`` = G(y)
        semantic  λ_sem · L_sem: only when λ_sem > 0, given ``sem_logits`` = f_X(G(x)) and
                  x's labels; plus, given ``sem_logits_f`` = f_X(F(y)) and y's pseudo-labels,
                  the same for F
    """
    g_adv, _ = ADVERSARIAL[gan_loss]
    terms = {"g_adv": g_adv(dy_of_gx), "f_adv": g_adv(dx_of_fy),
             "cycle": losses.cycle_loss(x, f_of_gx, y, g_of_fy, weight=lambda_cyc)}
    if lambda_id > 0:
        terms["identity"] = losses.identity_loss(x, f_of_x, y, g_of_y,
                                                 weight=lambda_id * lambda_cyc)
    if lambda_sem > 0:
        semantic = semantic_loss(sem_logits, x_labels)
        if sem_logits_f is not None:
            semantic = semantic + semantic_loss(sem_logits_f, y_pseudo)
        terms["semantic"] = lambda_sem * semantic
    return terms


def total(terms: dict) -> Tensor:
    """The sum of the terms, in their order."""
    values = list(terms.values())
    out = values[0]
    for value in values[1:]:
        out = out + value
    return out


# --- the history of fakes -------------------------------------------------------------
class FakeHistory:
    """The last fakes G made, shown to D again (Shrivastava et al. 2017, §2.3): D is
    trained on a mix of current and earlier fakes, so it cannot forget what G used to do
    and G cannot win by oscillating back to it.

    Until ``size`` fakes are stored, each new fake is stored and shown as it is.  After,
    each new fake is, with probability ½, swapped for a stored one picked uniformly, and
    the stored one is shown instead; otherwise it is shown and not stored.  The coin and
    the pick come from scratchgan's one generator (``backend.rng()``), so a run repeats for
    a seed and a resumed run draws what the uninterrupted one would.
    """

    def __init__(self, size: int):
        self.size = size
        self.images = None                   # device array (size, C, H, W) once used
        self.count = 0

    def query(self, fakes):
        """fakes: a device array (N, C, H, W) → the N images for D, in the same order."""
        if self.size == 0:
            return fakes
        xp = backend.get_array_module(fakes)
        if self.images is None:
            self.images = xp.zeros((self.size,) + tuple(fakes.shape[1:]), dtype=fakes.dtype)
        rng, shown = backend.rng(), []
        for i in range(fakes.shape[0]):
            if self.count < self.size:
                self.images[self.count] = fakes[i]
                self.count += 1
                shown.append(fakes[i])
            elif rng.random() < 0.5:
                j = int(rng.integers(self.size))
                shown.append(self.images[j].copy())
                self.images[j] = fakes[i]
            else:
                shown.append(fakes[i])
        return xp.stack(shown)

    def state_dict(self) -> dict:
        """The stored fakes only (count, C, H, W): their number is the array's length."""
        if self.images is None:
            return {"images": np.zeros((0,), dtype=np.float32)}
        return {"images": self.images[:self.count].copy()}

    def load_state_dict(self, state: dict) -> None:
        stored = state["images"]
        if stored.shape[0] > self.size:
            raise ValueError(f"the history holds {stored.shape[0]} fakes, more than "
                             f"pool_size={self.size}")
        self.count, self.images = int(stored.shape[0]), None
        if self.count:
            xp = backend.xp
            self.images = xp.zeros((self.size,) + tuple(stored.shape[1:]), dtype=stored.dtype)
            self.images[:self.count] = xp.asarray(stored)


# --- the networks ---------------------------------------------------------------------
# Every convolution followed by InstanceNorm has no bias: the norm subtracts each channel's
# mean over the image, so a bias there would get exactly zero gradient.
def conv_norm_relu(c_in: int, c_out: int, kernel: int, stride: int = 1, pad: int = 0,
                   reflect: int = 0) -> list:
    """A convolution (after ``reflect`` pixels of reflection padding), InstanceNorm, ReLU."""
    pad_layer = [nn.ReflectionPad2d(reflect)] if reflect else []
    return pad_layer + [nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=pad, bias=False),
                        nn.InstanceNorm2d(c_out), nn.ReLU()]


class ResidualBlock(nn.Module):
    """Rk: x + [pad 1, conv 3×3, IN, ReLU, pad 1, conv 3×3, IN](x)   (He et al. 2016, as
    Johnson et al. 2016 use it: no ReLU after the sum)"""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            *conv_norm_relu(channels, channels, 3, reflect=1),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False),
            nn.InstanceNorm2d(channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def upsampling(c_in: int, c_out: int, mode: str) -> list:
    """uk: twice the height and width, then IN and ReLU."""
    if mode == "transpose":
        # 3×3 at stride 2, padding 1, output_padding 1: H → 2H exactly
        layers = [nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1,
                                     bias=False)]
    else:
        layers = [nn.Upsample(2), nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)]
    return layers + [nn.InstanceNorm2d(c_out), nn.ReLU()]


def make_generator(cfg: CycleGANConfig) -> nn.Sequential:
    """c7s1-k, d2k, d4k, n × R4k, u2k, uk, c7s1-1, Tanh: (N, 1, H, W) → (N, 1, H, W), with
    H and W multiples of 4."""
    k = cfg.channels
    return nn.Sequential(
        *conv_norm_relu(1, k, 7, reflect=3),
        *conv_norm_relu(k, 2 * k, 3, stride=2, pad=1),
        *conv_norm_relu(2 * k, 4 * k, 3, stride=2, pad=1),
        *[ResidualBlock(4 * k) for _ in range(cfg.n_residual)],
        *upsampling(4 * k, 2 * k, cfg.upsample),
        *upsampling(2 * k, k, cfg.upsample),
        nn.ReflectionPad2d(3), nn.Conv2d(k, 1, 7), nn.Tanh())


def make_discriminator(cfg: CycleGANConfig) -> nn.Sequential:
    """The PatchGAN as the reference code builds it: d_layers 4×4 convolutions of stride 2
    (widths d, 2d, 4d, …, capped at 8d; InstanceNorm on all but the first), one of stride 1
    at twice the last width, and a 4×4 convolution to one logit per patch.  On 16×16 the
    default judges a 2×2 map of overlapping patches; the paper's (d_layers=3) judges 70×70
    patches of a 256×256 photograph."""
    d, slope = cfg.d_channels, cfg.slope
    layers = [nn.Conv2d(1, d, 4, stride=2, padding=1), nn.LeakyReLU(slope)]
    width = d
    for i in range(1, cfg.d_layers + 1):
        stride = 2 if i < cfg.d_layers else 1      # the last of these is the stride-1 C512
        new_width = d * min(2 ** i, 8)
        layers += [nn.Conv2d(width, new_width, 4, stride=stride, padding=1, bias=False),
                   nn.InstanceNorm2d(new_width), nn.LeakyReLU(slope)]
        width = new_width
    return nn.Sequential(*layers, nn.Conv2d(width, 1, 4, padding=1))


class CycleGAN(Model):
    """G: X → Y, F: Y → X, D_X, D_Y; the data is a pair of unpaired digit domains."""
    name = "cyclegan"
    Config = CycleGANConfig
    PRESETS = PRESETS
    # one item of the data is an (x, y) pair of images, not one image: the generic tests
    # of single-domain models (tests/test_models.py) leave this model to its own
    two_domains = True
    history_keys = ("g_adv", "f_adv", "cycle", "identity", "semantic", "d_x", "d_y")

    def __init__(self, cfg: CycleGANConfig):
        cfg.validate()
        self.cfg = cfg
        self.G, self.F = make_generator(cfg), make_generator(cfg)
        self.D_X, self.D_Y = make_discriminator(cfg), make_discriminator(cfg)
        for net in (self.G, self.F, self.D_X, self.D_Y):
            dcgan_init_(net, cfg.init_std)
        # one optimizer for both mappings and one for both discriminators, as the
        # reference code (Adam keeps per-weight moments, so this equals one per network)
        self.opt_g = optim.Adam(list(self.G.parameters()) + list(self.F.parameters()),
                                lr=cfg.lr_g, betas=cfg.betas)
        self.opt_d = optim.Adam(list(self.D_X.parameters()) + list(self.D_Y.parameters()),
                                lr=cfg.lr_d, betas=cfg.betas)
        self.history_x, self.history_y = FakeHistory(cfg.pool_size), FakeHistory(cfg.pool_size)
        self.d_adv = ADVERSARIAL[cfg.gan_loss][1]
        self._held_out = None
        self._semantic = None
        self._pseudo = None

    # --- data ----------------------------------------------------------------------------
    @classmethod
    def load_data(cls, cfg):
        """The two domains: ``data[indices]`` → (x uint8 (b, H, W), y uint8 (b, H, W), x's
        labels (b,)): X's labels only, for the semantic term; Y's stay with the evaluation."""
        from ..data.domains import UnpairedBatches, load_domains
        domains = load_domains(x_train_per_class=cfg.x_per_class)
        data = domains.unpaired(seed=0, x_labels=True)
        data.test = UnpairedBatches(domains.x_test, domains.y_test, seed=1)
        data.domains = domains           # with labels, for the evaluation
        data.names = ("MNIST", "mfeat-pix")
        return data

    def check_data(self, data) -> None:
        """The semantic term needs X's labels (and the domains its classifier learns from)."""
        if self.cfg.lambda_sem > 0 and (getattr(data, "x_labels", None) is None
                                        or getattr(data, "domains", None) is None):
            raise ConfigError(f"lambda_sem={self.cfg.lambda_sem}: the semantic term needs X's "
                              f"labels, and this data has none; --preset plain (or --set "
                              f"lambda_sem=0) trains without it")

    def held_out_data(self):
        """The data's test split (``data.test``) where it has one, else the training data:
        the same pairs every time, for pictures, samples and the evaluation."""
        if self._held_out is None:
            data = type(self).load_data(self.cfg)
            self._held_out = getattr(data, "test", data)
        return self._held_out

    def held_out(self, n: int):
        """n held-out (x, y) pairs, uint8, spread evenly over the split (class-sorted test
        splits then show every class, not the first one), repeated past its end."""
        from ..metrics_domains import spread
        data = self.held_out_data()
        if n <= len(data):
            return data[spread(n, len(data))]
        return data[np.arange(n) % len(data)]

    @staticmethod
    def as_images(batch_uint8) -> Tensor:
        """uint8 (b, H, W) → (b, 1, H, W) in [−1, 1] on the device."""
        h, w = batch_uint8.shape[-2:]
        if h % 4 or w % 4:
            # two stride-2 downsamplings and two ×2 upsamplings: any other size comes back
            # as a different size, and the cycle loss would compare unequal shapes
            raise ValueError(f"CycleGAN: images must have a height and width divisible by 4, "
                             f"got {h}×{w} (pad them, e.g. mfeat-pix's 16×15 to 16×16)")
        x = scale_batch(batch_uint8, xp=backend.xp)
        return Tensor(x.reshape(x.shape[0], 1, x.shape[-2], x.shape[-1]))

    @property
    def semantic_classifier(self) -> nn.Module:
        """f_X of the semantic term: trained on X's training digits and labels alone, with
        its own seed (1), so it is not the classifier that scores the run (seed 0); cached
        like it, and held fixed: eval mode (no dropout), and its weights require no
        gradient, so backward passes through it to G without computing one for them."""
        if self._semantic is None:
            from .. import metrics_domains as md
            domains = type(self).load_data(self.cfg).domains
            self._semantic = held_fixed(md.get_domain_classifier(
                "MNIST", domains.x_train, domains.x_train_labels, domains.x_test,
                domains.x_test_labels, seed=1, purpose="the semantic term")[0])
        return self._semantic

    @property
    def pseudo_classifier(self) -> nn.Module:
        """f_Y: a classifier of Y made from Y's training images and f_X alone, by
        class-balanced self-training (``metrics_domains.self_train``), cached and held fixed
        like f_X.  Its digits are y's pseudo-labels; no label of Y is used."""
        if self._pseudo is None:
            from .. import metrics_domains as md
            data = type(self).load_data(self.cfg)
            name = getattr(data, "names", ("X", "Y"))[1]
            self._pseudo = held_fixed(md.get_self_trained_classifier(
                name, self.semantic_classifier, data.domains.y_train,
                rounds=self.cfg.pseudo_rounds)[0])
        return self._pseudo

    # --- one iteration -------------------------------------------------------------------
    def generator_terms(self, x: Tensor, y: Tensor, x_labels=None) -> tuple[dict, Tensor, Tensor]:
        """The terms of G's and F's objective (``generator_objective``), and G(x), F(y)."""
        cfg = self.cfg
        g_of_x, f_of_y = self.G(x), self.F(y)
        identity = (self.F(x), self.G(y)) if cfg.lambda_id > 0 else (None, None)
        semantic = {}
        if cfg.lambda_sem > 0:
            judge = self.pseudo_classifier if cfg.sem_judge == "y" else self.semantic_classifier
            semantic = {"sem_logits": judge(g_of_x),
                        "x_labels": backend.xp.asarray(x_labels).astype("int64"),
                        "lambda_sem": cfg.lambda_sem}
            if cfg.pseudo_rounds > 0:
                with no_grad():
                    y_pseudo = self.pseudo_classifier(y).data.argmax(axis=1)
                semantic.update(sem_logits_f=self.semantic_classifier(f_of_y), y_pseudo=y_pseudo)
        terms = generator_objective(self.D_Y(g_of_x), self.D_X(f_of_y), x, self.F(g_of_x),
                                    y, self.G(f_of_y), *identity, gan_loss=cfg.gan_loss,
                                    lambda_cyc=cfg.lambda_cyc, lambda_id=cfg.lambda_id,
                                    **semantic)
        return terms, g_of_x, f_of_y

    def d_step(self, D: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        """D's loss on a real and a fake batch, judged in one pass (InstanceNorm normalises
        each image alone, so the two batches cannot see each other)."""
        logits = D(F.concatenate([real, fake]))
        n = real.shape[0]
        return self.d_adv(logits[:n], logits[n:])

    def g_step(self, x: Tensor, y: Tensor, x_labels=None) -> tuple[dict, Tensor, Tensor]:
        """One step of G and F on their objective, through D_X and D_Y held fixed (their
        weights are frozen: backward computes no gradient for them, only through them).
        Returns the terms (0-d device arrays) and the fakes G(x), F(y), detached."""
        with nn.frozen(self.D_X), nn.frozen(self.D_Y):
            terms, g_of_x, f_of_y = self.generator_terms(x, y, x_labels)
            self.opt_g.zero_grad()
            total(terms).backward()
        self.opt_g.step()
        stats = {k: v.data for k, v in terms.items()}
        for absent in ("identity", "semantic"):         # switched off: curves show 0
            if absent not in stats:
                stats[absent] = backend.xp.zeros((), dtype=stats["cycle"].dtype)
        return stats, g_of_x.detach(), f_of_y.detach()

    def d_steps(self, x: Tensor, y: Tensor, g_of_x: Tensor, f_of_y: Tensor) -> dict:
        """One step of D_X (x against F(y)) and of D_Y (y against G(x)), each fake drawn
        through that discriminator's history."""
        fake_y = Tensor(self.history_y.query(g_of_x.data))
        fake_x = Tensor(self.history_x.query(f_of_y.data))
        d_x, d_y = self.d_step(self.D_X, x, fake_x), self.d_step(self.D_Y, y, fake_y)
        self.opt_d.zero_grad()
        (d_x + d_y).backward()          # the two share no weight: one backward for both
        self.opt_d.step()
        return {"d_x": d_x.data, "d_y": d_y.data}

    def train_step(self, batch) -> dict:
        """One iteration on a batch (x uint8 (b, H, W), y uint8 (b, H, W)): the G/F step,
        then D_X and D_Y.  D learns from the fakes G and F made before their step, as the
        reference code: they are already made.  Every term comes back as a 0-d device
        array (the loop reads them every few iterations)."""
        x, y = (self.as_images(b) for b in batch[:2])
        x_labels = batch[2] if len(batch) > 2 else None
        if self.cfg.lambda_sem > 0 and x_labels is None:
            raise ValueError("CycleGAN: lambda_sem > 0 needs the data to carry X's labels")
        stats, g_of_x, f_of_y = self.g_step(x, y, x_labels)
        stats.update(self.d_steps(x, y, g_of_x, f_of_y))
        return stats

    def set_epoch(self, epoch: int) -> None:
        """Constant learning rates, then a linear decay to 0 over the last (1 − decay_from)
        of the epochs (the paper: 100 + 100).  A function of the epoch alone, so a resumed
        run gets the same rates."""
        cfg = self.cfg
        start = cfg.decay_from * cfg.epochs
        factor = 1.0 if epoch < start else \
            max(0.0, 1 - (epoch - start) / max(1e-9, cfg.epochs - start))
        self.opt_g.lr, self.opt_d.lr = cfg.lr_g * factor, cfg.lr_d * factor

    def curve_panels(self) -> list:
        return [("G and F", [("g_adv", "L_GAN(G, D_Y)"), ("f_adv", "L_GAN(F, D_X)"),
                             ("cycle", "λ·cycle"), ("identity", "λ_id·λ·identity"),
                             ("semantic", "λ_sem·semantic")], None),
                ("discriminators", [("d_x", "D_X"), ("d_y", "D_Y")], None)]

    # --- outputs -------------------------------------------------------------------------
    def translate(self, net: nn.Module, images: Tensor, batch: int = 500) -> Tensor:
        """net(images) without a graph, a batch at a time."""
        with no_grad():
            parts = [net(images[i:i + batch]) for i in range(0, images.shape[0], batch)]
        return parts[0] if len(parts) == 1 else F.concatenate(parts)

    def save_pictures(self, out: Path, epoch: int, seed: int) -> Path:
        """Rows x, G(x), F(G(x)) and y, F(y), G(F(y)) for the same 10 held-out pairs each
        epoch (``seed`` is not needed: the pictures show fixed images)."""
        x, y = (self.as_images(b) for b in self.held_out(10))
        g_of_x, f_of_y = self.translate(self.G, x), self.translate(self.F, y)
        rows = [x, g_of_x, self.translate(self.F, g_of_x),
                y, f_of_y, self.translate(self.G, f_of_y)]
        grid = out / "samples" / f"epoch_{epoch:03d}.png"
        viz.save_grid(tiles(F.concatenate(rows).data), grid,
                      title=f"epoch {epoch}: x, G(x), F(G(x)) / y, F(y), G(F(y))")
        return grid

    def sample_uint8(self, n: int, seed: int = 12345) -> "np.ndarray":
        """G(x) for the first n held-out x, uint8 (n, H, W) (``seed`` is not needed: G is
        deterministic)."""
        x, _ = self.held_out(n)
        g_of_x = self.translate(self.G, self.as_images(x))
        return to_uint8(g_of_x).reshape(n, *g_of_x.shape[2:])

    def evaluate(self, n: int, seed: int = 12345) -> dict:
        """The translation scores of ``metrics_domains`` on up to n held-out digits of each
        domain (spread over the classes; n is cut to the test splits' sizes): each domain's
        classifier on its own test split (target supervised), on the other domain's digits
        untranslated (source only) and translated (label preservation), and the cycle
        errors.  Data without labels (no ``domains``) gets the cycle errors alone.
        ``seed`` is not needed: G and F are deterministic."""
        from .. import metrics_domains as md
        data = type(self).load_data(self.cfg)
        domains = getattr(data, "domains", None)
        if domains is None:
            return self._cycle_errors(n)
        x_idx, y_idx = md.spread(n, len(domains.x_test)), md.spread(n, len(domains.y_test))
        names = getattr(data, "names", ("X", "Y"))
        classifiers = [md.get_domain_classifier(name, *splits)[0] for name, splits in
                       zip(names, ((domains.x_train, domains.x_train_labels,
                                    domains.x_test, domains.x_test_labels),
                                   (domains.y_train, domains.y_train_labels,
                                    domains.y_test, domains.y_test_labels)))]
        scores = md.translation_scores(
            lambda images: self.translate(self.G, images),
            lambda images: self.translate(self.F, images),
            domains.x_test[x_idx], domains.x_test_labels[x_idx],
            domains.y_test[y_idx], domains.y_test_labels[y_idx],
            *(lambda images, c=c: md.predict_labels(c, images) for c in classifiers))
        scores["domain_names"] = list(names)
        if self.cfg.lambda_sem > 0 and self.cfg.pseudo_rounds > 0:
            # how good the labels F learned from were, read against Y's true ones (which
            # only the evaluation holds)
            scores["pseudo_labels_y"] = md.accuracy(md.predict_labels(
                self.pseudo_classifier, domains.y_test[y_idx]), domains.y_test_labels[y_idx])
        return scores

    def _cycle_errors(self, n: int) -> dict:
        """Mean |F(G(x)) − x| and |G(F(y)) − y| (pixels in [−1, 1]) on up to n held-out
        pairs: what can be measured without labels."""
        n = min(n, len(self.held_out_data()))
        x, y = (self.as_images(b) for b in self.held_out(n))
        x_cyc = self.translate(self.F, self.translate(self.G, x))
        y_cyc = self.translate(self.G, self.translate(self.F, y))
        xp = backend.get_array_module(x.data)
        errors = xp.stack([xp.abs(x_cyc.data - x.data).mean(), xp.abs(y_cyc.data - y.data).mean()])
        ex, ey = backend.to_numpy(errors).tolist()
        return {"cycle_l1_x_to_y": ex, "cycle_l1_y_to_x": ey, "n_pairs": n}

    def report(self, scores: dict) -> str:
        from .. import metrics_domains as md
        if "label_preservation_x_to_y" in scores:
            return "\n" + md.report_table(scores, scores.get("domain_names", ("X", "Y")))
        return (f"\ncycle reconstruction on {scores['n_pairs']} held-out pairs "
                f"(mean |·| on [−1, 1]; the data has no labels to classify by):\n"
                f"  |F(G(x)) − x|  {scores['cycle_l1_x_to_y']:.4f}\n"
                f"  |G(F(y)) − y|  {scores['cycle_l1_y_to_x']:.4f}")

    # --- checkpoints ---------------------------------------------------------------------
    def _parts(self) -> dict:
        # "pool_", not "history/": the loop keeps its loss history under that prefix
        return {"G": self.G, "F": self.F, "D_X": self.D_X, "D_Y": self.D_Y,
                "opt_g": self.opt_g, "opt_d": self.opt_d,
                "pool_x": self.history_x, "pool_y": self.history_y}

    def state_dict(self) -> dict:
        """Every array of the run, flat, by name (for an .npz), the stored fakes included."""
        return {f"{prefix}/{k}": v for prefix, part in self._parts().items()
                for k, v in part.state_dict().items()}

    def load_state_dict(self, state: dict) -> None:
        for prefix, part in self._parts().items():
            part.load_state_dict({k[len(prefix) + 1:]: v for k, v in state.items()
                                  if k.startswith(prefix + "/")})


def held_fixed(classifier: nn.Module) -> nn.Module:
    """A classifier the objective reads but never trains: eval mode (no dropout), and no
    gradient for its weights, so backward passes through it without computing one."""
    for p in classifier.parameters():
        p.requires_grad = False
    return classifier.eval()


def tiles(images, size: int = 28) -> "np.ndarray":
    """Images (N, 1, H, W) in [−1, 1] → host (N, 28, 28), each centred on background (−1):
    ``viz.save_grid`` draws 28×28 tiles, and a 16×16 digit keeps its own pixels in one."""
    host = backend.to_numpy(images)
    n, h, w = host.shape[0], host.shape[-2], host.shape[-1]
    if h > size or w > size:
        raise ValueError(f"tiles: images of {h}×{w} do not fit the grid's {size}×{size} tiles")
    out = np.full((n, size, size), -1.0, dtype=np.float32)
    top, left = (size - h) // 2, (size - w) // 2
    out[:, top:top + h, left:left + w] = host.reshape(n, h, w)
    return out
