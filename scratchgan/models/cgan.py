"""The conditional GAN (Mirza & Osindero 2014): G and D both see the digit y.

    G(z, y):  [z ; v(y)]          → G's network → an image of digit y
    D(x, y):  [x ; v(y)]          → D's network → a logit: "is x a real image OF DIGIT y?"

    L_D = −E_{x,y ~ data}[log D(x, y)] − E_{z, y ~ data}[log(1 − D(G(z, y), y))]
    L_G = −E_{z, y ~ data}[log D(G(z, y), y)]                      (non-saturating)

v(y) is the label's vector: the one-hot e_y (``label_input="onehot"``, the paper's) or a
learned row E[y] of an embedding table (``"embedding"``).  It is concatenated to z in G,
and to D's input: beside the flattened pixels (``arch="mlp"``), or broadcast to constant
planes stacked on the image's channels (``arch="dcgan"``).  Concatenating e_y in front of
a Linear layer adds the column W[:, y] to its pre-activation: one-hot input IS a learned
per-class bias, and an embedding of the same width adds nothing but a product E·W
(docs/family.md compares the two by measurement).

Only what differs from ``gan.py``'s GAN is here: the labelled data, the networks that take
y, the steps that pass it, the grid with one row per digit, and the extra score: the share
of samples the evaluator's classifier calls the digit that was asked for.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import backend, nn, viz
from .. import functional as F
from ..autograd import Tensor, no_grad
from ..backend import numpy as np
from ..config import require, require_choice, require_float, require_int
from ..data.mnist import scale_batch
from . import dcgan, mlp_gan
from .base import fixed_noise, to_uint8
from .gan import GAN, GANConfig

N_CLASSES = 10


# --- the data: images and their labels, sliced together -------------------------------------
@dataclass(frozen=True)
class LabelledDigits:
    """uint8 images (N, 28, 28) and their digits (N,), indexed together: the loop slices
    ``data[indices]`` and gets the images and the labels of the same samples."""
    images: "np.ndarray"
    labels: "np.ndarray"

    def __post_init__(self):
        if len(self.images) != len(self.labels):
            raise ValueError(f"LabelledDigits: {len(self.images)} images but "
                             f"{len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index) -> "LabelledDigits":
        return LabelledDigits(self.images[index], self.labels[index])


def one_hot(labels, n_classes: int = N_CLASSES, dtype="float32") -> Tensor:
    """Digits (N,) → e_y as rows (N, n_classes), on the active backend: data, no gradient."""
    xp = backend.xp
    return Tensor(xp.eye(n_classes, dtype=dtype)[xp.asarray(labels).astype("int64")])


def join_label(x: Tensor, v: Tensor) -> Tensor:
    """D's input: x with the label's vector v (N, w) joined on axis 1 — beside the pixels
    of flat x (N, F) → (N, F + w), or, for images (N, C, H, W), as w constant planes
    stacked on the channels → (N, C + w, H, W).  Built from Tensor ops: D's gradient flows
    back through it to x (to G, in G's step), and to v (to a learned embedding)."""
    if x.ndim == 4:
        n, _, h, w = x.shape
        v = F.broadcast_to(v.reshape(n, v.shape[1], 1, 1), (n, v.shape[1], h, w))
    return F.concatenate([x, v], axis=1)


def conditional_input(x: Tensor, labels, n_classes: int = N_CLASSES) -> Tensor:
    """[x ; e_y]: the one-hot form of D's input (exercise 17 asks for this function)."""
    return join_label(x, one_hot(labels, n_classes, dtype=x.data.dtype))


# --- the configuration --------------------------------------------------------------------
@dataclass
class CGANConfig(GANConfig):
    """The fields every GAN has (``GANConfig``), where y enters, and each arch's widths."""
    arch: str = "mlp"                   # "mlp" (mlp_gan's networks) or "dcgan" (dcgan's)
    label_input: str = "onehot"         # v(y): "onehot" e_y, or "embedding" E[y] (learned)
    embed_dim: int = 10                 # the width of E[y] (with "embedding")
    d_conditioning: str = "concat"      # D reads y as [x ; v(y)] at its input ("concat"),
                                        # or projects: logit += E_D[y]·φ(x) ("projection")
    g_hidden: tuple = (256, 512, 1024)  # arch="mlp"
    d_hidden: tuple = (512, 256)        # arch="mlp"
    d_dropout: float = 0.0              # arch="mlp"
    slope: float = 0.2                  # LeakyReLU's negative slope
    channels: int = 32                  # arch="dcgan": C, as in dcgan.py
    init_std: float = 0.02              # arch="dcgan": weights ~ N(0, init_std²)
    batch_size: int = 128
    epochs: int = 20

    def validate(self) -> None:
        super().validate()
        require_choice("arch", self.arch, ("mlp", "dcgan"))
        require_choice("label_input", self.label_input, ("onehot", "embedding"))
        require_choice("d_conditioning", self.d_conditioning, ("concat", "projection"))
        require_int("embed_dim", self.embed_dim)
        for name in ("g_hidden", "d_hidden"):
            widths = getattr(self, name)
            require(isinstance(widths, tuple) and len(widths) > 0 and all(
                isinstance(w, int) and w >= 1 for w in widths), name, widths,
                "one or more layer widths, each a whole number ≥ 1 (e.g. 256,512)")
        require_float("d_dropout", self.d_dropout, 0, 1, high_open=True)
        require_float("slope", self.slope, 0, 1)
        require_int("channels", self.channels)
        require_float("init_std", self.init_std, 0, 1, low_open=True)
        # a packed D would judge groups of samples that each ask for their own digit
        require(self.pack == 1, "pack", self.pack, "1: the conditional D judges each sample "
                "with its own label")

    @property
    def label_width(self) -> int:
        """The width of v(y)."""
        return N_CLASSES if self.label_input == "onehot" else self.embed_dim


PRESETS: dict[str, CGANConfig] = {
    # the default (docs/family.md, "Conditional GAN", says how it was chosen): the MLP GAN's
    # default networks, e_y concatenated to z in G, a projection D (it learns to use y far
    # sooner than a D with e_y among its inputs), EMA sampler
    "default": CGANConfig(arch="mlp", d_conditioning="projection", lr_g=4e-4, lr_d=4e-4,
                          batch_size=128, ema_decay=0.9999, ema_every=8, lr_decay_from=0.8,
                          reuse_fakes=True, epochs=25),
    # the paper's form: e_y concatenated to D's input as well
    "concat": CGANConfig(arch="mlp", lr_g=4e-4, lr_d=4e-4, batch_size=128, ema_decay=0.9999,
                         ema_every=8, lr_decay_from=0.8, reuse_fakes=True, epochs=25),
    # the DCGAN-style cGAN: dcgan.py's default networks, y as 10 constant planes in D
    "dcgan": CGANConfig(arch="dcgan", channels=32, batch_size=64, ema_decay=0.999,
                        reuse_fakes=True, lr_decay_from=0.75, epochs=8),
}


# --- the networks ---------------------------------------------------------------------------
class LabelVector(nn.Module):
    """e_y (N, 10) → v(y): e_y itself (one-hot), or e_y · E = E[y] (a learned embedding)."""

    def __init__(self, kind: str, dim: int):
        super().__init__()
        self.weight = nn.Parameter(backend.random_normal((N_CLASSES, dim))) \
            if kind == "embedding" else None

    def forward(self, e_y: Tensor) -> Tensor:
        return e_y if self.weight is None else e_y @ self.weight


class ConditionalGenerator(nn.Module):
    """G(z, y) = body([z ; v(y)]): the unconditional G's network, on a wider input."""

    def __init__(self, label: LabelVector, body: nn.Module):
        super().__init__()
        self.label, self.body = label, body

    def forward(self, z: Tensor, e_y: Tensor) -> Tensor:
        return self.body(F.concatenate([z, self.label(e_y)], axis=1))


class ConditionalDiscriminator(nn.Module):
    """D(x, y) = body([x ; v(y)]): v(y) beside the pixels (x flat, (N, 784)) or, for images
    (N, C, H, W), broadcast to constant planes stacked on the channels."""

    def __init__(self, label: LabelVector, body: nn.Module):
        super().__init__()
        self.label, self.body = label, body

    def forward(self, x: Tensor, e_y: Tensor) -> Tensor:
        return self.body(join_label(x, self.label(e_y)))


class ProjectionDiscriminator(nn.Module):
    """D(x, y) = w·φ(x) + b + E[y]·φ(x)  (Miyato & Koyama 2018): the unconditional D's
    features φ(x) (its network up to the last layer), its last layer, and one learned row
    E[y] per digit, dotted with the features.  The label reaches D's verdict directly, not
    as 10 inputs among 784 pixels: "is x a real y" is "does φ(x) point along E[y]"."""

    def __init__(self, body: nn.Sequential):
        super().__init__()
        layers = list(body)
        self.features, self.head = nn.Sequential(*layers[:-1]), layers[-1]
        width = self.head.weight.shape[1]
        self.embed = nn.Parameter(backend.random_normal((N_CLASSES, width),
                                                        std=1 / width ** 0.5))

    def forward(self, x: Tensor, e_y: Tensor) -> Tensor:
        phi = self.features(x)                                          # (N, h)
        return self.head(phi) + (phi * (e_y @ self.embed)).sum(axis=1, keepdims=True)


def make_dcgan_discriminator(cfg: CGANConfig, in_channels: int = 1) -> nn.Sequential:
    """dcgan.py's D with ``in_channels`` input channels (the image and v(y)'s planes)."""
    c = cfg.channels
    return nn.Sequential(
        nn.Conv2d(in_channels, c, 4, stride=2, padding=1), nn.LeakyReLU(cfg.slope),
        nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * c),
        nn.LeakyReLU(cfg.slope),
        nn.Flatten(), nn.Linear(2 * c * 7 * 7, 1))


# --- the model -----------------------------------------------------------------------------
class ConditionalGAN(GAN):
    """G(z, y) and D(x, y); every step passes the digits along with the images."""
    name = "mnist-cgan"
    Config = CGANConfig
    PRESETS = PRESETS
    conditional = True                  # its data is LabelledDigits, not bare images

    @classmethod
    def load_data(cls, cfg) -> LabelledDigits:
        from ..data.mnist import load_mnist
        return LabelledDigits(*load_mnist("train"))

    def make_generator(self) -> nn.Module:
        cfg = self.cfg
        wide_z = cfg.z_dim + cfg.label_width            # G's body takes [z ; v(y)]
        if cfg.arch == "mlp":
            body = mlp_gan.make_generator(mlp_gan.MLPGANConfig(
                z_dim=wide_z, g_hidden=cfg.g_hidden, slope=cfg.slope))
        else:
            body = dcgan.make_generator(dcgan.DCGANConfig(z_dim=wide_z, channels=cfg.channels))
            dcgan.dcgan_init_(body, cfg.init_std)
        return ConditionalGenerator(LabelVector(cfg.label_input, cfg.embed_dim), body)

    def make_discriminator(self) -> nn.Module:
        cfg = self.cfg
        extra = cfg.label_width if cfg.d_conditioning == "concat" else 0   # v(y)'s inputs
        if cfg.arch == "mlp":
            body = mlp_gan.make_discriminator(mlp_gan.MLPGANConfig(
                d_hidden=cfg.d_hidden, slope=cfg.slope, d_dropout=cfg.d_dropout),
                image_dim=784 + extra)
        else:
            body = make_dcgan_discriminator(cfg, in_channels=1 + extra)
            dcgan.dcgan_init_(body, cfg.init_std)
        if cfg.d_conditioning == "projection":
            return ProjectionDiscriminator(body)
        return ConditionalDiscriminator(LabelVector(cfg.label_input, cfg.embed_dim), body)

    def as_images(self, batch: Tensor) -> Tensor:
        if self.cfg.arch == "mlp":
            return batch.reshape(batch.shape[0], -1)                    # (b, 784)
        return batch.reshape(batch.shape[0], 1, 28, 28)

    # --- training: Algorithm 1 with y beside every image ---------------------------------
    def d_step(self, real: Tensor, fake: Tensor | None = None, labels=None) -> dict:
        """One step of D on real (x, y) pairs and as many fakes (G(z, y), y) with the same
        digits y: D must learn "x is a real y", not "x is real"."""
        if labels is None:
            raise ValueError("a conditional D step needs the real images' labels")
        e_y = one_hot(labels)
        if fake is None:
            with no_grad():
                fake = self.G(self.sample_z(real.shape[0]), e_y)
        if self.d_judges_each_sample_alone:              # one pass over [real; fake]
            logits = self.D(F.concatenate([real, fake]), F.concatenate([e_y, e_y]))
            real_logits, fake_logits = logits[:real.shape[0]], logits[real.shape[0]:]
        else:                                            # BatchNorm: apart (see gan.py)
            real_logits, fake_logits = self.D(real, e_y), self.D(fake, e_y)
        return self.descend_d(real_logits, fake_logits)

    def g_step(self, n: int, fake: Tensor | None = None, labels=None) -> dict:
        """One step of G through a frozen D on fakes of the digits ``labels`` (default: the
        digits 0..9 in turn); ``fake``, when given, must have been made for those digits."""
        labels = backend.xp.arange(n) % N_CLASSES if labels is None else labels
        e_y = one_hot(labels)
        with nn.frozen(self.D):
            if fake is None:
                fake = self.G(self.sample_z(len(labels)), e_y)
            g_loss = self.g_loss_fn(self.D(fake, e_y))
            self.opt_g.zero_grad()
            g_loss.backward()
        self.opt_g.step()
        self._update_ema()
        return {"g_loss": g_loss.data}

    def train_step(self, batch: LabelledDigits) -> dict:
        """k D steps, one per real batch of ``batch_size``, then one G step.  The fakes are
        made for the real batch's digits, so y ~ p_data(y) in both steps."""
        b, xp = self.cfg.batch_size, backend.xp
        stats, fake = {}, None
        for j in range(len(batch) // b):
            part = batch[j * b:(j + 1) * b]
            real = self.as_images(Tensor(scale_batch(part.images, xp=xp)))
            labels = xp.asarray(part.labels)
            if self.cfg.reuse_fakes and j == len(batch) // b - 1:
                fake = self.G(self.sample_z(b), one_hot(labels))   # graph kept for G
                stats = self.d_step(real, fake.detach(), labels=labels)
            else:
                stats = self.d_step(real, labels=labels)
        stats.update(self.g_step(b, fake, labels=labels))
        return stats

    # --- sampling: every image is drawn for a digit ------------------------------------------
    def generate(self, z: Tensor, labels=None) -> Tensor:
        """Images in [−1, 1] of the digits ``labels`` (default 0..9 in turn), in eval mode."""
        labels = backend.xp.arange(z.shape[0]) % N_CLASSES if labels is None else labels
        G = self.sampler
        was_training = G.training
        G.eval()
        with no_grad():
            images = G(z, one_hot(labels))
        G.train(was_training)
        return images

    def digit_grid(self, seed: int, per_digit: int = 10):
        """One row per digit, one column per z: row r draws digit r from the same
        ``per_digit`` noise vectors, so a column shows one "style" across the ten digits."""
        z = backend.xp.tile(fixed_noise(seed, per_digit, self.cfg.z_dim).data, (N_CLASSES, 1))
        labels = backend.xp.repeat(backend.xp.arange(N_CLASSES), per_digit)
        return self.generate(Tensor(z), labels)

    def save_pictures(self, out: Path, epoch: int, seed: int) -> Path:
        grid = out / "samples" / f"epoch_{epoch:03d}.png"
        viz.save_grid(self.digit_grid(seed), grid, title=f"epoch {epoch}: row r is digit r")
        return grid

    def final_pictures(self, out: Path, seed: int) -> None:
        """Ten walks through z, one per digit: y fixed, only the style moves."""
        z = viz.interpolation_z(np.random.default_rng([seed, 200]), self.cfg.z_dim, rows=10)
        labels = backend.xp.repeat(backend.xp.arange(N_CLASSES), 10)
        viz.save_grid(self.generate(Tensor(backend.xp.asarray(z)), labels),
                      out / "interpolation.png", title="latent interpolation, row r: digit r")

    @staticmethod
    def requested_digits(n: int) -> "np.ndarray":
        """The digits a sample of n asks for: 0..9 in turn (as balanced as n allows)."""
        return np.arange(n) % N_CLASSES

    def sample_uint8(self, n: int, seed: int = 12345, batch: int = 1000,
                     labels=None) -> "np.ndarray":
        """n samples as uint8 (n, 28, 28) of the digits ``labels`` (default 0..9 in turn)."""
        labels = self.requested_digits(n) if labels is None else np.asarray(labels)
        rng = np.random.default_rng(seed)
        out = []
        for start in range(0, n, batch):
            m = min(batch, n - start)
            z = rng.standard_normal((m, self.cfg.z_dim)).astype("float32")
            out.append(to_uint8(self.generate(Tensor(backend.xp.asarray(z)),
                                              backend.xp.asarray(labels[start:start + m]))))
        return np.concatenate(out).reshape(n, 28, 28)

    def evaluate(self, n: int, seed: int = 12345) -> dict:
        """The usual scores, plus how often the classifier sees the digit that was asked for."""
        from .. import metrics
        images, labels = self.sample_uint8(n, seed), self.requested_digits(n)
        scores = metrics.evaluate_samples(images)
        classifier, _ = metrics.get_classifier()
        scores["samples"].update(requested_digit_scores(classifier, images, labels))
        return scores

    def report(self, scores: dict) -> str:
        s = scores["samples"]
        lines = [super().report(scores),
                 f"{'requested digit (↑, goal ≥ 0.95)':34}{s['requested_digit_share']:>6.3f}"
                 f"   (real test digits: {scores['classifier_test_accuracy']:.3f}, the "
                 f"classifier's accuracy)",
                 "per digit asked for:  " + "  ".join(
                     f"{d}:{100 * f:.1f}%" for d, f in enumerate(s["requested_digit_by_class"]))]
        return "\n".join(lines)


def requested_digit_share(probs, labels) -> float:
    """The share of images the classifier assigns the digit they were made (or labelled) as."""
    return float((np.asarray(probs).argmax(1) == np.asarray(labels)).mean())


def requested_digit_scores(classifier, images, labels) -> dict:
    """``requested_digit_share`` over all images and for each digit asked for."""
    from ..metrics import predict
    probs, _ = predict(classifier, images)
    labels = np.asarray(labels)
    return {"requested_digit_share": requested_digit_share(probs, labels),
            "requested_digit_by_class": [
                round(requested_digit_share(probs[labels == d], labels[labels == d]), 4)
                if (labels == d).any() else float("nan") for d in range(N_CLASSES)]}
