"""The same math as scratchgan's MLP and MLP GAN, written out by hand on raw arrays.

The reference side of ``make bench``: every forward and every backward spelled out in the
array library itself (NumPy, or CuPy), with no autograd, so the benchmark can say what
scratchgan's graph, Function calls and Tensors cost on top of the arithmetic.  It lives
outside the package on purpose: it is a second GAN, nn and Adam, which no user of
scratchgan should import — only the benchmark and its equivalence test do.

    mlp_step_by_hand   an MLP 784→512→256→1: forward, BCE-with-logits loss, backward
    HandGAN            MLPGAN.train_step with the same layers, losses, Adam, packing, reuse
                       of D's fakes and EMA (the pytorch-gan and default presets)

``benchmarks/same_math.py`` checks that both compute the same numbers.
"""
from __future__ import annotations

import math

from scratchgan.backend import numpy   # the by-hand side runs on raw arrays

import scratchgan as sg
from scratchgan import backend, nn
from scratchgan import functional as F
from scratchgan.models.mlp_gan import MLPGAN

SLOPE = 0.2


# --- the by-hand side: each layer's forward and backward on raw arrays --------------------
# Backward functions take the gradient of the loss w.r.t. the layer's output (gy) and what
# the forward kept, and return the gradient w.r.t. the input (None where nobody needs it).
def linear(x, W, b):
    """y = x Wᵀ + b"""
    return x @ W.T + b


def linear_backward(gy, x, W, need_gx=True, need_params=True):
    """dL/dx = gy W,  dL/dW = gyᵀ x,  dL/db = Σ_n gy"""
    gx = gy @ W if need_gx else None
    grads = (gy.T @ x, gy.sum(axis=0)) if need_params else None
    return gx, grads


def leaky_relu(z, slope=SLOPE):
    """max(z, slope·z) for 0 ≤ slope ≤ 1 (the same trick as F.leaky_relu: two passes)"""
    return backend.get_array_module(z).maximum(z, z * slope)


def leaky_relu_backward(gy, z, slope=SLOPE):
    """dy/dz = 1 if z > 0 else slope, as slope + (1 − slope)·[z > 0] (as F.leaky_relu:
    np.where branches on every element and is several times slower on random signs)"""
    dydz = (z > 0).astype(gy.dtype)
    dydz *= 1 - slope
    dydz += slope
    return gy * dydz


def tanh_backward(gy, y):
    """dy/dx = 1 − y²"""
    return gy * (1 - y * y)


def sigmoid(x):
    """1 / (1 + e⁻ˣ) from e^(−|x|), which never overflows."""
    xp = backend.get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1, e) / (1 + e)


def log_sigmoid(x):
    """log σ(x) = −log(1 + e⁻ˣ);   d/dx log σ(x) = σ(−x)"""
    return -backend.get_array_module(x).logaddexp(0, -x)


def batchnorm(x, gamma, beta, eps):
    """Training mode: x̂ = (x − μ_B) / √(σ²_B + ε) (σ²_B biased), y = γ x̂ + β.

    Returns y and what the backward and the running statistics need."""
    mean = x.mean(axis=0)
    centered = x - mean
    var = (centered * centered).mean(axis=0)
    inv_std = (var + eps) ** -0.5
    x_hat = centered * inv_std
    return x_hat * gamma + beta, (x_hat, inv_std, mean, var)


def batchnorm_backward(gy, x_hat, inv_std, gamma):
    """The closed form: with g = dL/dx̂ = gy γ,
        dL/dx = (g − mean_n g − x̂ · mean_n(g x̂)) / √(σ²_B + ε)
        dL/dγ = Σ_n gy x̂,   dL/dβ = Σ_n gy"""
    g = gy * gamma
    gx = (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)) * inv_std
    return gx, ((gy * x_hat).sum(axis=0), gy.sum(axis=0))


# --- an MLP 784→512→256→1: forward, loss, backward ----------------------------------
def mlp_weights(sizes, xp, dtype="float32", seed=0):
    rng = xp.random.RandomState(seed)
    return [(rng.standard_normal((n_out, n_in)).astype(dtype) * 0.02,
             xp.zeros(n_out, dtype=dtype)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def mlp_step_scratchgan(params, x, target):
    """Forward, BCE-with-logits loss, backward, through the engine."""
    h = x
    for i, (W, b) in enumerate(params):
        h = F.linear(h, W, b)
        if i < len(params) - 1:
            h = F.leaky_relu(h, SLOPE)
    loss = F.binary_cross_entropy_with_logits(h, target)
    loss.backward()
    return loss


def mlp_step_by_hand(params, x, target):
    """The same math with raw arrays: forward, loss, and the backward written out."""
    xp = backend.get_array_module(x)
    last = len(params) - 1
    inputs, pre = [], []          # each Linear's input, and its output before the activation
    h = x
    for i, (W, b) in enumerate(params):
        inputs.append(h)
        pre.append(linear(h, W, b))
        h = leaky_relu(pre[i]) if i < last else pre[i]
    logits = h
    loss = (xp.maximum(logits, 0) - target * logits + xp.log1p(xp.exp(-xp.abs(logits)))).mean()
    g = (sigmoid(logits) - target) / logits.size
    grads = []
    for i in reversed(range(len(params))):
        if i < last:
            g = leaky_relu_backward(g, pre[i])
        g, grads_i = linear_backward(g, inputs[i], params[i][0], need_gx=i > 0)
        grads.append(grads_i)
    return loss, grads


# --- one GAN iteration, by hand ---------------------------------------------------------
# The layers as small objects: ``params`` (the arrays Adam updates, in place), forward(x)
# → (y, saved), backward(gy, saved, need_gx, need_params) → (dL/dx, grads of params).
# ``saved`` is handed back rather than kept, so one net can run forward twice (D on the
# real batch and on the fakes) before the backward passes.
class HandLinear:
    def __init__(self, W, b):
        self.params = [W, b]

    def forward(self, x):
        return linear(x, *self.params), x

    def backward(self, gy, x, need_gx, need_params):
        return linear_backward(gy, x, self.params[0], need_gx, need_params)


class HandLeakyReLU:
    params = ()

    def __init__(self, slope):
        self.slope = slope

    def forward(self, z):
        return leaky_relu(z, self.slope), z

    def backward(self, gy, z, need_gx, need_params):
        return leaky_relu_backward(gy, z, self.slope), ()


class HandTanh:
    params = ()

    def forward(self, x):
        y = backend.get_array_module(x).tanh(x)
        return y, y

    def backward(self, gy, y, need_gx, need_params):
        return tanh_backward(gy, y), ()


class HandBatchNorm1d:
    """Training mode only; every forward also updates the running statistics
    (r ← (1 − m) r + m · batch statistic, the variance unbiased), as nn.BatchNorm1d does."""

    def __init__(self, gamma, beta, running_mean, running_var, eps, momentum):
        self.params = [gamma, beta]
        self.running_mean, self.running_var = running_mean, running_var
        self.eps, self.momentum = eps, momentum

    def forward(self, x):
        y, (x_hat, inv_std, mean, var) = batchnorm(x, *self.params, self.eps)
        n, m = x.shape[0], self.momentum
        self.running_mean = (1 - m) * self.running_mean + m * mean
        self.running_var = (1 - m) * self.running_var + m * var * (n / (n - 1))
        return y, (x_hat, inv_std)

    def backward(self, gy, saved, need_gx, need_params):
        gx, grads = batchnorm_backward(gy, *saved, self.params[0])
        return gx, (grads if need_params else ())


def hand_layer(module):
    """The by-hand twin of one scratchgan layer, holding copies of its arrays."""
    if isinstance(module, nn.Linear):
        return HandLinear(module.weight.data.copy(), module.bias.data.copy())
    if isinstance(module, nn.LeakyReLU):
        return HandLeakyReLU(module.negative_slope)
    if isinstance(module, nn.Tanh):
        return HandTanh()
    if isinstance(module, nn.BatchNorm1d):
        return HandBatchNorm1d(module.weight.data.copy(), module.bias.data.copy(),
                               module.running_mean.copy(), module.running_var.copy(),
                               module.eps, module.momentum)
    raise TypeError(f"the by-hand GAN has no {type(module).__name__} (Dropout: use a preset "
                    f"without it)")


class HandNet:
    """A stack of hand layers: forward keeps what each layer saved, backward walks it back."""

    def __init__(self, layers):
        self.layers = layers

    @property
    def params(self):
        """In the order of nn.Module.parameters(): W, b of each Linear, γ, β of each BN."""
        return [p for layer in self.layers for p in layer.params]

    def forward(self, x):
        saved = []
        for layer in self.layers:
            x, s = layer.forward(x)
            saved.append(s)
        return x, saved

    def backward(self, gy, saved, need_input_grad=True, need_params=True):
        """dL/d(input) (None unless asked for) and the gradients of ``params`` (None if not
        asked for: a frozen net still passes the gradient through to its input)."""
        grads = [()] * len(self.layers)
        for i in reversed(range(len(self.layers))):
            gy, grads[i] = self.layers[i].backward(gy, saved[i], need_input_grad or i > 0,
                                                   need_params)
        return gy, ([g for layer_grads in grads for g in layer_grads] if need_params else None)


class HandAdam:
    """optim.Adam written out (PyTorch's formula, a step count t per parameter):
        m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²
        θ ← θ − η√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε√(1 − β₂ᵗ))   (12 passes, as optim.Adam)"""

    def __init__(self, params, lr, betas, eps=1e-8):
        xp = backend.get_array_module(params[0])
        self.params, self.lr, (self.beta1, self.beta2), self.eps = params, lr, betas, eps
        self.m = [xp.zeros_like(p) for p in params]
        self.v = [xp.zeros_like(p) for p in params]
        self.t = [0] * len(params)

    def step(self, grads):
        xp = backend.get_array_module(grads[0])
        for i, (theta, g, m, v) in enumerate(zip(self.params, grads, self.m, self.v)):
            # in place on whole arrays, one work array per parameter: what a careful hand
            # writes (optim.Adam does the same arithmetic, a cache-sized block at a time)
            self.t[i] += 1
            work = xp.multiply(g, 1 - self.beta1)
            m *= self.beta1
            m += work                                         # m ← β₁m + (1 − β₁)g
            xp.multiply(g, g, out=work)
            work *= 1 - self.beta2
            v *= self.beta2
            v += work                                         # v ← β₂v + (1 − β₂)g²
            bias1, root_bias2 = 1 - self.beta1 ** self.t[i], math.sqrt(1 - self.beta2 ** self.t[i])
            xp.sqrt(v, out=work)
            work += self.eps * root_bias2                     # √v + ε√(1 − β₂ᵗ)
            xp.divide(m, work, out=work)
            work *= self.lr * root_bias2 / bias1
            theta -= work


class HandGAN:
    """MLPGAN.train_step with raw arrays and every gradient written out: the ``pytorch-gan``
    and ``default`` presets (real label 1, non-saturating G loss, no dropout, no spectral
    norm; packing, reuse of D's fakes and the EMA of G as the config says).

    pytorch-gan  G: z(100) → 128 → LReLU → 256 → BN → LReLU → 512 → BN → LReLU → 1024 → BN
                    → LReLU → 784 → Tanh;   D: 784 → 512 → LReLU → 256 → LReLU → 1 (a logit)
    default      G: z(100) → 256 → LReLU → 512 → LReLU → 1024 → LReLU → 784 → Tanh;
                 D on pairs: 1568 → 512 → LReLU → 256 → LReLU → 1;   G reuses D's fakes;
                 EMA of G every 8th G step
    """

    def __init__(self, gan: MLPGAN, seed: int = 0):
        cfg = self.cfg = gan.cfg
        setup = (cfg.real_label, cfg.g_loss, cfg.d_dropout, cfg.d_spectral_norm)
        if setup != (1.0, "nonsaturating", 0.0, False):
            raise ValueError("HandGAN implements real label 1, the non-saturating G loss, no "
                             "dropout and no spectral norm")
        if cfg.ema_decay > 0 and cfg.g_batchnorm:
            raise ValueError("HandGAN's EMA does not copy BatchNorm statistics")
        self.G = HandNet([hand_layer(m) for m in gan.G])
        self.D = HandNet([hand_layer(m) for m in gan.D])
        self.opt_g = HandAdam(self.G.params, cfg.lr_g, cfg.betas)
        self.opt_d = HandAdam(self.D.params, cfg.lr_d, cfg.betas)
        self.G_ema = [p.copy() for p in self.G.params] if cfg.ema_decay > 0 else None
        self.g_steps = 0
        self.rng = numpy.random.default_rng(seed)

    def sample_z(self, n):
        """As backend.random_normal: drawn on the CPU, then moved to the array library."""
        dtype = self.G.params[0].dtype
        return backend.xp.asarray(self.rng.normal(0.0, 1.0, (n, self.cfg.z_dim)).astype(dtype))

    def discriminate(self, images):
        """D's logits and what its backward needs; with packing, D sees rows of ``pack``
        images side by side (a reshape: the gradient comes back by the inverse reshape)."""
        pack = self.cfg.pack
        return self.D.forward(images.reshape(images.shape[0] // pack, pack * images.shape[1]))

    def d_step(self, real, fake=None) -> dict:
        """L_D = −mean log σ(D(x)) − mean log σ(−D(G(z))); gradients for D only.
        D runs once over [real; fake], as MLPGAN.d_step does."""
        xp = backend.get_array_module(real)
        if fake is None:
            fake, _ = self.G.forward(self.sample_z(real.shape[0]))   # G's backward not needed
        logits, saved = self.discriminate(xp.concatenate([real, fake]))
        n = real.shape[0] // self.cfg.pack
        real_logits, fake_logits = logits[:n], logits[n:]
        d_loss = -log_sigmoid(real_logits).mean() - log_sigmoid(-fake_logits).mean()
        # d/dl of −mean log σ(l) is −σ(−l)/N;  of −mean log σ(−l) it is σ(l)/N
        g_logits = xp.concatenate([-sigmoid(-real_logits) / real_logits.size,
                                   sigmoid(fake_logits) / fake_logits.size])
        _, grads = self.D.backward(g_logits, saved, need_input_grad=False)
        self.opt_d.step(grads)
        return {"d_loss": float(d_loss), "d_real": float(sigmoid(real_logits).mean()),
                "d_fake": float(sigmoid(fake_logits).mean())}

    def g_step(self, n: int, fake=None, g_saved=None) -> dict:
        """L_G = −mean log σ(D(G(z))): the gradient goes through a frozen D (no gradients
        for D's weights) into G.  The fakes are drawn here unless given with G's saved
        forward (then D judges them again, as just updated)."""
        if fake is None:
            fake, g_saved = self.G.forward(self.sample_z(n))
        logits, d_saved = self.discriminate(fake)
        g_loss = -log_sigmoid(logits).mean()
        g_fake, _ = self.D.backward(-sigmoid(-logits) / logits.size, d_saved, need_params=False)
        _, grads = self.G.backward(g_fake.reshape(fake.shape), g_saved, need_input_grad=False)
        self.opt_g.step(grads)
        self.g_steps += 1
        self._update_ema()
        return {"g_loss": float(g_loss)}

    def _update_ema(self) -> None:
        """θ_ema ← d·θ_ema + (1 − d)·θ every n-th G step, d = min(decay, (1 + t)/(c + t))ⁿ
        (MLPGAN._update_ema's warm-up).  MLPGAN also copies G's BatchNorm statistics into
        its EMA copy; no preset has both, so HandGAN refuses that setup rather than skip it."""
        cfg, t = self.cfg, self.g_steps
        if self.G_ema is None or t % cfg.ema_every:
            return
        xp = backend.get_array_module(self.G_ema[0])
        d = min(cfg.ema_decay, (1 + t) / (cfg.ema_warmup + t)) ** cfg.ema_every
        for theta_ema, theta in zip(self.G_ema, self.G.params):
            theta_ema *= d
            theta_ema += xp.multiply(theta, 1 - d)

    def train_step(self, real_batches) -> dict:
        stats, fake, g_saved = {}, None, None
        for j, real in enumerate(real_batches):
            if self.cfg.reuse_fakes and j == len(real_batches) - 1:
                fake, g_saved = self.G.forward(self.sample_z(real.shape[0]))
                stats = self.d_step(real, fake)
            else:
                stats = self.d_step(real)
        stats.update(self.g_step(self.cfg.batch_size, fake, g_saved))
        return stats
