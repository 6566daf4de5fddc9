# %% [markdown]
# # Lesson 11 — From scratch to a framework
#
# Everything so far was written by hand: the graph walk, each op's backward, the layers,
# Adam, the GAN losses and the MLP GAN of `make train-mnist`. This lesson writes that GAN
# again in PyTorch, line for line beside ours, so that you can see what each framework
# call does for you, and where scratchgan does the same thing in code you have read.
#
# scratchgan's names follow PyTorch's on purpose, so most lines translate one for one. The
# few that do not are the interesting ones. The comparison is also **measured**. We copy
# scratchgan's initial weights into the PyTorch model and run both on the same batches and
# the same noise $z$. Then we check how closely they agree. In float32 the losses agree to
# about $10^{-7}$ and the weights to about $10^{-6}$ over the first iterations. In float64
# everything agrees to about $10^{-14}$. A long float32 run turns out differently, and
# section 6 shows why.
#
# 1. tensors and autograd: `sg.tensor` / `backward` / `sg.grad` beside `torch.tensor` /
#    `backward` / `torch.autograd.grad`;
# 2. modules: `nn.Linear`, `nn.LeakyReLU`, `nn.Sequential`, the default-preset G and D,
#    with scratchgan's weights loaded into PyTorch;
# 3. Adam with the same hyper-parameters;
# 4. the losses: `d_loss_minimax` beside `F.binary_cross_entropy_with_logits`;
# 5. one training iteration (the D step and the G step) in each framework;
# 6. the measurement: many iterations side by side, in float32 and in float64;
# 7. what each framework call hides, and which scratchgan file holds the same thing.
#
# **PyTorch is not a dependency of scratchgan.** This lesson uses it if it is installed.
# If it is not, the lesson says so, skips the PyTorch cells and still runs the scratchgan
# half. `pip install torch==2.13.0` installs a CPU build.

# %%
import os

# One thread each for NumPy's BLAS and for PyTorch. This has to be set before either is
# imported. On a busy machine neither library's thread pool then spins waiting for a free
# core, and the float32 comparison of section 6 does not depend on how many threads
# happen to be free (the order of a sum does). (In a notebook whose kernel has
# already imported NumPy, restart the kernel for this to take effect.)
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import copy
from dataclasses import replace
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import functional as F
from scratchgan import losses, nn, optim
from scratchgan.data.mnist import scale_batch
from scratchgan.models.mlp_gan import MLPGAN, PRESETS
from _lesson import FAST, load_digits, save_figure, steps

try:
    import torch
    import torch.nn.functional as TF    # PyTorch's "F", renamed: F is scratchgan's here
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

if HAVE_TORCH:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f"PyTorch {torch.__version__} is installed: every section runs both frameworks.")
else:
    print("PyTorch is not installed; this lesson compares scratchgan with it. "
          "`pip install torch==2.13.0` (CPU) to run the comparison.")
    print("(The scratchgan half of every section runs anyway.)")
print(f"fast mode: {FAST}   scratchgan backend: {sg.backend.name}")

sg.seed(0)
rng = np.random.default_rng(0)


def as_numpy(a) -> np.ndarray:
    """A NumPy array from a scratchgan Tensor, a torch tensor or an array."""
    if HAVE_TORCH and isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return sg.to_numpy(a)


def max_diff(a, b) -> float:
    """The largest |a − b|, elementwise, whatever framework each comes from."""
    return float(np.abs(as_numpy(a).astype(np.float64) - as_numpy(b)).max())

# %% [markdown]
# ## 1. Tensors and autograd
#
# Both frameworks record a graph as the forward pass runs. `backward()` walks that graph
# from the loss back to the leaves and stores $\partial L/\partial(\text{leaf})$ in each
# leaf's `.grad`. We use one small function with a matrix product, a broadcast bias and a
# tanh:
#
# $$L = \sum_{n,j} \tanh\big((xw)_{nj} + b_j\big).$$
#
# Everything is in float64 so that the two frameworks can be compared to the last digit.

# %%
x_np = rng.standard_normal((4, 3))        # float64 arrays: both frameworks keep the dtype
w_np = rng.standard_normal((3, 2))
b_np = rng.standard_normal(2)

# scratchgan
x = sg.tensor(x_np, requires_grad=True)
w = sg.tensor(w_np, requires_grad=True)
b = sg.tensor(b_np, requires_grad=True)
loss = F.tanh(x @ w + b).sum()            # b (2,) is broadcast over the 4 rows
loss.backward()
print("scratchgan  L =", loss.item())
print("            b.grad =", b.grad.numpy())

# %%
if HAVE_TORCH:
    tx = torch.tensor(x_np, requires_grad=True)
    tw = torch.tensor(w_np, requires_grad=True)
    tb = torch.tensor(b_np, requires_grad=True)
    t_loss = torch.tanh(tx @ tw + tb).sum()
    t_loss.backward()
    print("PyTorch     L =", t_loss.item())
    print("            b.grad =", tb.grad.numpy())
    for name, ours, theirs in (("L", loss, t_loss), ("x.grad", x.grad, tx.grad),
                               ("w.grad", w.grad, tw.grad), ("b.grad", b.grad, tb.grad)):
        print(f"  {name:7s} max |scratchgan − PyTorch| = {max_diff(ours, theirs):.1e}")
        assert max_diff(ours, theirs) < 1e-14

# %% [markdown]
# `sg.grad` and `torch.autograd.grad` return the gradients instead of storing them. With
# `create_graph=True` the gradient is itself a differentiable tensor. That is how we can
# differentiate a function of a gradient: the WGAN-GP penalty $(\lVert\nabla_x D\rVert - 1)^2$
# is one. Here we take $h = \lVert \partial L/\partial x \rVert^2$ and then
# $\partial h/\partial x$, which is a second derivative of $L$.

# %%
# scratchgan
loss = F.tanh(x @ w + b).sum()            # a fresh graph: backward() freed the last one
(g_x,) = sg.grad(loss, [x], create_graph=True)
h = (g_x * g_x).sum()
(g_h,) = sg.grad(h, [x])
print("scratchgan  ∂h/∂x[0] =", g_h.numpy()[0])

# %%
if HAVE_TORCH:
    t_loss = torch.tanh(tx @ tw + tb).sum()
    (tg_x,) = torch.autograd.grad(t_loss, [tx], create_graph=True)
    t_h = (tg_x * tg_x).sum()
    (tg_h,) = torch.autograd.grad(t_h, [tx])
    print("PyTorch     ∂h/∂x[0] =", tg_h.numpy()[0])
    print(f"  max |difference| of ∂L/∂x {max_diff(g_x, tg_x):.1e}, "
          f"of ∂h/∂x {max_diff(g_h, tg_h):.1e}")
    assert max_diff(g_x, tg_x) < 1e-14 and max_diff(g_h, tg_h) < 1e-13

# %% [markdown]
# The two programs are almost identical. `F.tanh` is `torch.tanh`, `.item()`, `.numpy()`
# and `.grad` are the same, and the two `grad` functions share their keywords
# (`create_graph`, `retain_graph`, `allow_unused`).
#
# What `loss.backward()` hides, and where scratchgan does the same thing:
#
# * **recording**: every op that gets an input needing a gradient remembers its inputs
#   and how to differentiate itself (`Function.__call__` in `scratchgan/autograd.py`;
#   PyTorch's C++ `Node`s, seen as `t_loss.grad_fn`);
# * **the walk**: the functions are visited in reverse topological order, and a tensor's
#   gradient is summed over all its uses before it is passed on (`_topological_order` and
#   `_run_backward` in `autograd.py`);
# * **un-broadcasting**: `b` was added to every row, so its gradient is summed over the
#   rows (`sum_to` in `scratchgan/ops/shape.py`);
# * **freeing**: the graph is dropped after the walk unless `retain_graph=True`. That is
#   why we built `loss` again before calling `sg.grad`.
#
# ## 2. Modules: the default GAN in both frameworks
#
# `scratchgan.models.mlp_gan` builds the GAN of `make train-mnist` from the `default`
# preset (lesson 6, section 6, lists what it adds to Algorithm 1):
#
# * G: $z$ (100) → 256 → 512 → 1024 → 784, with LeakyReLU(0.2) after each hidden layer and
#   Tanh at the end;
# * D: two images side by side (packing 2, so 2·784 inputs) → 512 → 256 → one logit;
# * Adam with $\eta = 4\cdot10^{-4}$ and $\beta = (0.5, 0.999)$, batches of 128, and an
#   EMA of G's weights.
#
# Two switches differ from `make train-mnist`: the default preset lets G's step reuse the
# fakes of D's step (`reuse_fakes`, lesson 6), and here G's step draws fresh noise, as
# Algorithm 1 of the paper writes it, so that the two steps below stay independent. And the
# default updates the EMA only every 8th step (`ema_every`, docs/experiments.md); here
# every step, so that each iteration below does all of its work.

# %%
cfg = replace(PRESETS["default"], reuse_fakes=False,    # Algorithm 1 as the paper writes it
              ema_every=1)                              # and the EMA after every G step
assert cfg.d_dropout == 0 and not cfg.g_batchnorm and cfg.k == 1   # what we port below
sg.seed(0)
gan = MLPGAN(cfg)           # G, D, their two Adams and G_ema, the moving average of G
print(gan.G)
print(gan.D)
print(f"parameters: G {gan.G.num_parameters():,}, D {gan.D.num_parameters():,}")

# %% [markdown]
# The PyTorch version is the same two loops as `make_generator` and `make_discriminator`
# in `scratchgan/models/mlp_gan.py`, with `torch.nn` in place of `nn`. `nn.Linear` stores
# its weight as (out, in) in both frameworks and computes $y = xW^\top + b$. Both
# `Sequential`s name their layers `0`, `1`, `2`, … So the state dicts have the same keys
# (`0.weight`, `0.bias`, `2.weight`, …) and the same shapes. `load_state_dict` then copies
# scratchgan's weights into PyTorch, and its strict key check shows that nothing is
# missing.

# %%
if HAVE_TORCH:
    def torch_generator(cfg):
        layers, width = [], cfg.z_dim
        for hidden in cfg.g_hidden:
            layers += [torch.nn.Linear(width, hidden), torch.nn.LeakyReLU(cfg.slope)]
            width = hidden
        layers += [torch.nn.Linear(width, 784), torch.nn.Tanh()]
        return torch.nn.Sequential(*layers)

    def torch_discriminator(cfg):
        layers, width = [], 784 * cfg.pack
        for hidden in cfg.d_hidden:
            layers += [torch.nn.Linear(width, hidden), torch.nn.LeakyReLU(cfg.slope)]
            width = hidden
        layers.append(torch.nn.Linear(width, 1))
        return torch.nn.Sequential(*layers)

    def to_torch(model: nn.Module) -> dict:
        """A scratchgan module's state dict (name → array) as torch tensors."""
        return {name: torch.from_numpy(sg.to_numpy(a)) for name, a in model.state_dict().items()}

    class TorchGAN:
        """The default preset's GAN in PyTorch, from the weights of a scratchgan MLPGAN."""

        def __init__(self, gan: MLPGAN):
            self.cfg = cfg = gan.cfg
            dtype = getattr(torch, str(gan.G[0].weight.dtype))      # float32 or float64
            self.G = torch_generator(cfg).to(dtype)
            self.D = torch_discriminator(cfg).to(dtype)
            self.G_ema = torch_generator(cfg).to(dtype)
            for ours, theirs in ((gan.G, self.G), (gan.D, self.D), (gan.G_ema, self.G_ema)):
                theirs.load_state_dict(to_torch(ours))                # strict: same keys
            self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
            self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=cfg.betas)

        def discriminate(self, images):
            """D's logits for the images taken `pack` at a time (as MLPGAN.discriminate)."""
            pack = self.cfg.pack
            return self.D(images.reshape(images.shape[0] // pack, pack * images.shape[1]))

    t_gan = TorchGAN(gan)
    print(t_gan.G)
    n_torch = sum(p.numel() for p in t_gan.G.parameters())
    assert n_torch == gan.G.num_parameters()
    print(f"PyTorch G: {n_torch:,} parameters, the same keys and shapes as ours")

# %% [markdown]
# Both frameworks initialise a `Linear` layer the same way, with $W$ and $b$ drawn from
# $U(\pm 1/\sqrt{\text{in}})$. PyTorch writes it as `kaiming_uniform_(W, a=√5)`, which
# works out to the same bound (lesson 4). Only the random numbers themselves differ, and
# that is why we copy the weights across. With the same weights, the two forward passes
# agree to float32 rounding:

# %%
z_check = rng.standard_normal((128, cfg.z_dim)).astype(np.float32)
with sg.no_grad():
    sg_images = gan.G(sg.tensor(z_check))                    # (128, 784) in [−1, 1]
    sg_logits = gan.discriminate(sg_images)                  # (64, 1): one per pair
print("scratchgan: G(z)", sg_images.shape, "  D(G(z))", sg_logits.shape)

# %%
if HAVE_TORCH:
    with torch.no_grad():
        t_images = t_gan.G(torch.from_numpy(z_check))
        t_logits = t_gan.discriminate(t_images)
    print(f"PyTorch:    G(z) {tuple(t_images.shape)}   D(G(z)) {tuple(t_logits.shape)}")
    print(f"  max |difference|: images {max_diff(sg_images, t_images):.1e}, "
          f"logits {max_diff(sg_logits, t_logits):.1e}")
    assert max_diff(sg_images, t_images) < 1e-5 and max_diff(sg_logits, t_logits) < 1e-5
    bound = 1 / np.sqrt(cfg.z_dim)
    fresh = torch.nn.Linear(cfg.z_dim, 256).weight.detach().numpy()
    assert np.abs(fresh).max() <= bound and np.abs(gan.G[0].weight.numpy()).max() <= bound

# %% [markdown]
# They do not agree to the last bit, because each uses its own matrix-multiply library
# (scratchgan calls NumPy's OpenBLAS, PyTorch the BLAS it was built with). The two add up
# the 784 or 1024 products of a dot product in different orders, and float32 addition is
# not associative. The difference is one or two units in the last place of the result.
#
# ## 3. Adam, with the same hyper-parameters
#
# `optim.Adam(params, lr=4e-4, betas=(0.5, 0.999))` and
# `torch.optim.Adam(params, lr=4e-4, betas=(0.5, 0.999))` both default to
# $\varepsilon = 10^{-8}$ and implement the same update (lesson 4b):
#
# $$m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
#   \theta \leftarrow \theta - \frac{\eta}{1-\beta_1^t}\,
#   \frac{m}{\sqrt{v}/\sqrt{1-\beta_2^t} + \varepsilon}.$$
#
# Three steps with the same gradients, in float64:

# %%
theta0, grads = rng.standard_normal(6), rng.standard_normal((3, 6))

# scratchgan
p = nn.Parameter(sg.tensor(theta0.copy()))
opt = optim.Adam([p], lr=cfg.lr_d, betas=cfg.betas)
for g in grads:
    p.grad = sg.tensor(g)               # what backward() would have stored
    opt.step()
print("scratchgan θ after 3 steps:", np.round(p.numpy(), 6))

# %%
if HAVE_TORCH:
    tp = torch.nn.Parameter(torch.tensor(theta0.copy()))
    t_opt = torch.optim.Adam([tp], lr=cfg.lr_d, betas=cfg.betas)
    for g in grads:
        tp.grad = torch.tensor(g)
        t_opt.step()
    print("PyTorch    θ after 3 steps:", np.round(as_numpy(tp), 6))
    print(f"  max |difference| {max_diff(p, tp):.1e}")
    assert max_diff(p, tp) < 1e-15

# %% [markdown]
# The formulas are the same, but the code is not. PyTorch updates $m$ as
# $m + (1-\beta_1)(g - m)$ (`lerp_`), and scratchgan as $\beta_1 m + (1-\beta_1)g$. These
# are equal in exact arithmetic and can differ in the last bit. One property of Adam
# matters for the comparison below. On the first step $\hat m = g$ and $\sqrt{\hat v} =
# |g|$, so the step is $\eta\, g/(|g| + \varepsilon)$. For $|g| \gg \varepsilon$ this is
# $\pm\eta$ whatever the digits of $g$. For $|g| \approx \varepsilon$ the step depends on
# $g$ itself. A gradient of $10^{-9}$ computed in float32 as a small difference of much
# larger terms may be known to only a few digits. Here is scratchgan's Adam on gradients
# from $10^{-12}$ to $10^{-4}$, each also perturbed by 1%:

# %%
def first_adam_step(g: np.ndarray) -> np.ndarray:
    """θ after one step of scratchgan's Adam from θ = 0 with gradient g."""
    p = nn.Parameter(sg.tensor(np.zeros_like(g)))
    opt = optim.Adam([p], lr=cfg.lr_d, betas=cfg.betas)
    p.grad = sg.tensor(g)
    opt.step()
    return p.numpy()


g_sizes = np.logspace(-12, -4, 5)
step_exact, step_off = first_adam_step(g_sizes), first_adam_step(g_sizes * 1.01)
print("      |g|    first step   with g off by 1%   change")
for g, a, b_ in zip(g_sizes, step_exact, step_off):
    print(f"  {g:8.0e}   {a:10.3e}     {b_:10.3e}       {abs(a - b_):.1e}")
assert abs(step_off[2] - step_exact[2]) > 1e-7 > abs(step_off[-1] - step_exact[-1])

# %% [markdown]
# Around $|g| = \varepsilon$, a 1% error in the gradient moves a weight by about $10^{-6}$.
# That is the size of the float32 weight differences we are about to measure.
#
# ## 4. The losses
#
# scratchgan writes the GAN losses from logits with `log_sigmoid` (`scratchgan/losses.py`):
#
# $$L_D = -\big[\log\sigma(\ell_{\text{real}}) + \log(1 - \sigma(\ell_{\text{fake}}))\big],
#   \qquad L_G = -\log\sigma(\ell_{\text{fake}}).$$
#
# In PyTorch the usual way is binary cross-entropy on logits,
# $\text{BCE}(\ell, t) = -[t\log\sigma(\ell) + (1-t)\log(1-\sigma(\ell))]$. A target of
# $t = 1$ gives the real term and $t = 0$ the fake term, so
# $L_D = \text{BCE}(\ell_{\text{real}}, 1) + \text{BCE}(\ell_{\text{fake}}, 0)$ and
# $L_G = \text{BCE}(\ell_{\text{fake}}, 1)$. We compare them on logits from $-1000$ to
# $1000$, where `log(sigmoid(ℓ))` would give $-\infty$:

# %%
logit_values = np.array([[-1000.0], [-20.0], [-1.0], [0.0], [2.0], [30.0], [1000.0]])

# scratchgan
real_logits = sg.tensor(logit_values, requires_grad=True)
fake_logits = sg.tensor(logit_values[::-1].copy(), requires_grad=True)
d_loss = losses.d_loss_minimax(real_logits, fake_logits)
g_loss = losses.g_loss_nonsaturating(fake_logits)
d_grads = sg.grad(d_loss, [real_logits, fake_logits])
print(f"scratchgan  L_D = {d_loss.item():.6f}   L_G = {g_loss.item():.6f}")
with np.errstate(divide="ignore"):
    naive = -F.log(F.sigmoid(real_logits)).mean()        # the form never to write
print(f"            −mean log(sigmoid(ℓ)) = {naive.item()}   (σ(−1000) rounds to 0)")

# %%
if HAVE_TORCH:
    t_real = torch.tensor(logit_values, requires_grad=True)
    t_fake = torch.tensor(logit_values[::-1].copy(), requires_grad=True)
    t_d_loss = (TF.binary_cross_entropy_with_logits(t_real, torch.ones_like(t_real))
                + TF.binary_cross_entropy_with_logits(t_fake, torch.zeros_like(t_fake)))
    t_g_loss = TF.binary_cross_entropy_with_logits(t_fake, torch.ones_like(t_fake))
    t_d_grads = torch.autograd.grad(t_d_loss, [t_real, t_fake])
    print(f"PyTorch     L_D = {t_d_loss.item():.6f}   L_G = {t_g_loss.item():.6f}")
    print(f"            −mean log(sigmoid(ℓ)) = "
          f"{-torch.log(torch.sigmoid(t_real)).mean().item()}")
    assert max_diff(d_loss, t_d_loss) < 1e-12 and max_diff(g_loss, t_g_loss) < 1e-12
    assert all(max_diff(a, b_) < 1e-15 for a, b_ in zip(d_grads, t_d_grads))
    print("  the losses and their gradients agree (to 1e-12 and 1e-15)")

# %% [markdown]
# `TF.binary_cross_entropy_with_logits` hides three things: the stable form
# $\max(\ell, 0) - t\ell + \log(1 + e^{-|\ell|})$, the mean over the batch (done inside the
# one op), and a backward of $\sigma(\ell) - t$. scratchgan has the same op in
# `scratchgan/ops/loss_functions.py` (`BCEWithLogits`). The GAN losses in
# `scratchgan/losses.py` are written with `log_sigmoid` (`ops/activations.py`), so each
# line reads like its formula: $-\log\sigma(\ell) = \text{BCE}(\ell, 1)$ and
# $-\log(1 - \sigma(\ell)) = -\log\sigma(-\ell) = \text{BCE}(\ell, 0)$.
#
# ## 5. One iteration: the D step and the G step
#
# First the data. These are the real MNIST digits of lesson 6, or random stand-in images
# when MNIST is not cached and the run is offline. The point of this lesson is that both
# frameworks compute the same numbers, and any data can show that. Every iteration gets
# a real batch and two noise batches, $z$ for the D step and $z$ for the G step. Both
# frameworks get exactly the same arrays.

# %%
BATCH = cfg.batch_size                       # 128, as the default preset trains
N_ITERS = steps(200, 6)                      # iterations side by side, in each dtype
N_CHECK = min(5, N_ITERS)                    # float32 is checked over the first 5
loaded = load_digits(N_ITERS * BATCH)
if loaded is None:
    print("No MNIST here: the comparison runs on random stand-in images in [−1, 1] "
          "(identical computation shows on any data).")
    digits = rng.integers(0, 256, size=(N_ITERS * BATCH, 28, 28), dtype=np.uint8)
else:
    digits = loaded[0]
digits = digits.reshape(len(digits), 784)    # uint8; each batch is scaled as it is used


def batch_and_noise(i: int, dtype: str = "float32", batch: int = BATCH):
    """Iteration i's real batch (batch, 784) in [−1, 1] and its two z's (batch, 100)."""
    real = scale_batch(digits[(i * batch) % len(digits):][:batch], dtype=dtype)
    noise = np.random.default_rng([11, i])
    z_d = noise.standard_normal((batch, cfg.z_dim)).astype(dtype)
    z_g = noise.standard_normal((batch, cfg.z_dim)).astype(dtype)
    return real, z_d, z_g


print(f"{len(digits)} images, {N_ITERS} iterations of batch {BATCH}")

# %% [markdown]
# The iteration is Algorithm 1 of the GAN paper with $k = 1$ (lesson 5). It is written
# out here exactly as `MLPGAN.train_step` runs it, except that the noise is passed in
# (`MLPGAN` draws its own). Read the two cells side by side. They differ in only three
# places:
#
# * **the losses**: `losses.d_loss_minimax` is written as two BCE calls (section 4);
# * **freezing D for the G step**: `with nn.frozen(gan.D):` becomes
#   `D.requires_grad_(False)` … `D.requires_grad_(True)`. Gradients still flow *through*
#   D to G's output, but none is computed for D's own weights;
# * **the EMA update**: `p_ema.data *= d` on the raw array becomes `p_ema.mul_(d)` under
#   `torch.no_grad()`, because a PyTorch parameter may only be changed in place outside
#   of recording.
#
# The default preset also decays both learning rates over the last fifth of a run, set
# once per epoch by `MLPGAN.set_epoch` (PyTorch would use a
# `torch.optim.lr_scheduler.LambdaLR`). Our few iterations all lie in the first epoch,
# where the rate is constant.

# %%
def sg_iteration(gan: MLPGAN, real, z_d, z_g, t: int) -> tuple[float, float]:
    """One iteration of MLPGAN.train_step (k = 1), with the noise handed in."""
    # D step: descend L_D = −[log D(x) + log(1 − D(G(z)))]
    with sg.no_grad():                           # G is not trained here: record nothing
        fake = gan.G(z_d)
    logits = gan.discriminate(F.concatenate([real, fake]))   # D judges both in one pass
    n_real = real.shape[0] // gan.cfg.pack
    real_logits, fake_logits = logits[:n_real], logits[n_real:]
    d_loss = losses.d_loss_minimax(real_logits, fake_logits)
    gan.opt_d.zero_grad()
    d_loss.backward()
    gan.opt_d.step()
    # G step: descend L_G = −log D(G(z)) through a D that stays fixed
    with nn.frozen(gan.D):
        g_loss = losses.g_loss_nonsaturating(gan.discriminate(gan.G(z_g)))
        gan.opt_g.zero_grad()
        g_loss.backward()
    gan.opt_g.step()
    # θ_ema ← d·θ_ema + (1 − d)·θ, with a warm-up over the first steps t
    decay = min(gan.cfg.ema_decay, (1 + t) / (10 + t))
    for p_ema, p in zip(gan.G_ema.parameters(), gan.G.parameters()):
        p_ema.data *= decay
        p_ema.data += (1 - decay) * p.data
    return d_loss.item(), g_loss.item()

# %%
if HAVE_TORCH:
    def torch_iteration(gan: TorchGAN, real, z_d, z_g, t: int) -> tuple[float, float]:
        """The same iteration in PyTorch."""
        # D step
        with torch.no_grad():
            fake = gan.G(z_d)
        logits = gan.discriminate(torch.cat([real, fake]))
        n_real = real.shape[0] // gan.cfg.pack
        real_logits, fake_logits = logits[:n_real], logits[n_real:]
        d_loss = (TF.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + TF.binary_cross_entropy_with_logits(fake_logits,
                                                        torch.zeros_like(fake_logits)))
        gan.opt_d.zero_grad()
        d_loss.backward()
        gan.opt_d.step()
        # G step
        gan.D.requires_grad_(False)
        fake_logits = gan.discriminate(gan.G(z_g))
        g_loss = TF.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        gan.opt_g.zero_grad()
        g_loss.backward()
        gan.D.requires_grad_(True)
        gan.opt_g.step()
        # EMA
        decay = min(gan.cfg.ema_decay, (1 + t) / (10 + t))
        with torch.no_grad():
            for p_ema, p in zip(gan.G_ema.parameters(), gan.G.parameters()):
                p_ema.mul_(decay).add_(p, alpha=1 - decay)
        return d_loss.item(), g_loss.item()

# %% [markdown]
# Is `sg_iteration` really what the package runs? We run `MLPGAN.train_step` on one copy
# of the GAN, handing it our $z$ through `sample_z`, and `sg_iteration` on another copy.
# The losses and every weight must be equal **bit for bit**. Same code, same library, same
# order of operations: there is no rounding difference to allow for.

# %%
reference, ours = copy.deepcopy(gan), copy.deepcopy(gan)
real, z_d, z_g = batch_and_noise(0)
handed_over = iter([sg.tensor(z_d), sg.tensor(z_g)])
reference.sample_z = lambda n: next(handed_over)     # MLPGAN draws z here; we hand ours
stats = reference.train_step([sg.tensor(real)])
d_ours, g_ours = sg_iteration(ours, sg.tensor(real), sg.tensor(z_d), sg.tensor(z_g), t=1)
assert (stats["d_loss"], stats["g_loss"]) == (d_ours, g_ours)
for part in ("G", "D", "G_ema"):
    for name, a in getattr(reference, part).state_dict().items():
        assert np.array_equal(a, getattr(ours, part).state_dict()[name]), (part, name)
print(f"sg_iteration == MLPGAN.train_step, bit for bit "
      f"(L_D = {d_ours:.6f}, L_G = {g_ours:.6f})")
del reference, ours

# %% [markdown]
# ## 6. The measurement: the same run in both frameworks
#
# Now both frameworks train from the same initial weights on the same batches and noise,
# for several iterations, once in float32 (the training dtype) and once in float64.
# scratchgan has no `.double()`. A parameter is an array in a box, so we swap in a
# float64 copy of each array (the Adam moments are created on the first step, in the
# parameter's dtype). PyTorch gets its float64 copy by loading that state into a
# `.to(torch.float64)` model.
#
# After each iteration we record both losses and the largest difference between any two
# corresponding weights of G, D and G_ema. Before each iteration we also count the
# **kink flips**: inputs of a LeakyReLU, anywhere in G or D, that sit on opposite sides
# of 0 in the two frameworks. The reason for counting them comes after the figure.

# %%
def to_float64(gan: MLPGAN) -> MLPGAN:
    for model in (gan.G, gan.D, gan.G_ema):
        for p in model.parameters():
            p.data = p.data.astype(np.float64)
    return gan


def weight_gap(ours: MLPGAN, theirs) -> float:
    """max |θ_scratchgan − θ_PyTorch| over every weight of G, D and G_ema (same keys)."""
    gap = 0.0
    for part in ("G", "D", "G_ema"):
        their_state = getattr(theirs, part).state_dict()
        for name, a in getattr(ours, part).state_dict().items():
            gap = max(gap, max_diff(a, their_state[name]))
    return gap


def kink_flips(ours: MLPGAN, theirs, real, z_d, z_g) -> int:
    """How many inputs of a LeakyReLU have opposite signs in the two frameworks, on the
    way through G(z), D(G(z)) for both z's and D(real), each framework on its own numbers."""
    flips = 0

    def through(our_model, their_model, a, b_):
        nonlocal flips
        for our_layer, their_layer in zip(our_model, their_model):
            if isinstance(our_layer, nn.LeakyReLU):
                flips += int(((as_numpy(a) > 0) != (as_numpy(b_) > 0)).sum())
            a, b_ = our_layer(a), their_layer(b_)
        return a, b_

    def packed(images):
        return images.reshape(images.shape[0] // cfg.pack, cfg.pack * images.shape[1])

    with sg.no_grad(), torch.no_grad():
        for z in (z_d, z_g):
            fake, t_fake = through(ours.G, theirs.G, sg.tensor(z), torch.from_numpy(z))
            through(ours.D, theirs.D, packed(fake), packed(t_fake))
        through(ours.D, theirs.D, sg.tensor(packed(real)), torch.from_numpy(packed(real)))
    return flips


def run_side_by_side(dtype: str, n_iters: int) -> dict:
    ours = copy.deepcopy(gan)
    if dtype == "float64":
        to_float64(ours)
    theirs = TorchGAN(ours) if HAVE_TORCH else None
    run = {"sg": [], "torch": [], "weight_gap": [], "flips": []}
    for i in range(n_iters):
        real, z_d, z_g = batch_and_noise(i, dtype)
        if HAVE_TORCH:
            run["flips"].append(kink_flips(ours, theirs, real, z_d, z_g))
        run["sg"].append(sg_iteration(ours, sg.tensor(real), sg.tensor(z_d),
                                      sg.tensor(z_g), t=i + 1))
        if HAVE_TORCH:
            run["torch"].append(torch_iteration(theirs, torch.from_numpy(real),
                                                torch.from_numpy(z_d), torch.from_numpy(z_g),
                                                t=i + 1))
            run["weight_gap"].append(weight_gap(ours, theirs))
    run = {k: np.array(v) for k, v in run.items()}
    run["models"] = (ours, theirs)
    return run


runs = {}
for dtype in ("float32", "float64"):
    start = time.perf_counter()
    runs[dtype] = run_side_by_side(dtype, N_ITERS)
    print(f"{dtype}: {N_ITERS} iterations in {time.perf_counter() - start:.1f} s")

# %%
if HAVE_TORCH:
    print("                    max |Δ L_D|  max |Δ L_G|  max |Δ weight|   first kink flip")
    for dtype, n in (("float32", N_CHECK), ("float32", N_ITERS), ("float64", N_ITERS)):
        r = runs[dtype]
        loss_gap = np.abs(r["sg"][:n] - r["torch"][:n]).max(axis=0)
        flipped = np.flatnonzero(r["flips"][:n])
        first_flip = f"iteration {flipped[0] + 1}" if len(flipped) else "none"
        print(f"  {dtype}, {n:3d} its   {loss_gap[0]:9.1e}    {loss_gap[1]:9.1e}    "
              f"{r['weight_gap'][:n].max():9.1e}       {first_flip}")
    r32, r64 = runs["float32"], runs["float64"]
    assert np.abs(r32["sg"][:N_CHECK] - r32["torch"][:N_CHECK]).max() < 1e-4
    assert r32["weight_gap"][:N_CHECK].max() < 1e-4
    assert np.abs(r64["sg"] - r64["torch"]).max() < 1e-10
    assert r64["weight_gap"].max() < 1e-10
    print("the two frameworks compute the same GAN: float32 agrees to 1e-4 over the first "
          f"{N_CHECK} iterations, float64 to 1e-10 over all {N_ITERS}")
else:
    print("(PyTorch is not installed: these were scratchgan's runs alone, nothing to compare)")

# %%
fig, axes = plt.subplots(1, 3 if HAVE_TORCH else 2, figsize=(16 if HAVE_TORCH else 11, 4.2))
its = np.arange(1, N_ITERS + 1)
for ax, dtype in zip(axes, ("float64", "float32")):
    r = runs[dtype]
    for k, (name, color) in enumerate((("L_D", "tab:blue"), ("L_G", "tab:orange"))):
        ax.plot(its, r["sg"][:, k], color=color, lw=2.5, alpha=0.6,
                label=f"{name} scratchgan")
        if HAVE_TORCH:
            ax.plot(its, r["torch"][:, k], color="black", lw=0.9, ls="--",
                    label="PyTorch" if k == 0 else None)
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + 0.25 * (high - low))            # room for the legend
    ax.set(xlabel="iteration", ylabel="loss",
           title=f"{dtype}: the same run in both" if HAVE_TORCH
           else f"{dtype}: scratchgan's run alone")
    ax.legend(fontsize=8, loc="upper center", ncol=3)
if HAVE_TORCH:
    ax = axes[2]
    for dtype, color in (("float32", "tab:red"), ("float64", "tab:green")):
        ax.semilogy(its, runs[dtype]["weight_gap"], color=color, lw=2, label=dtype)
    flipped = np.flatnonzero(runs["float32"]["flips"])
    if len(flipped):
        ax.axvline(flipped[0] + 1, color="tab:red", ls=":", lw=1,
                   label=f"first kink flip (it. {flipped[0] + 1})")
    ax.set(xlabel="iteration", ylabel="max |θ_scratchgan − θ_PyTorch|",
           title="How far the weights are apart")
    ax.legend(fontsize=8, loc="center right")
else:
    fig.suptitle("scratchgan alone: PyTorch is not installed, so there is nothing to compare")
fig.tight_layout()
save_figure(fig, "11_side_by_side")

# %% [markdown]
# In float64 the two runs agree to about $10^{-14}$ at every iteration. That is the proof
# that the two programs compute the same function: the same forward pass, the same
# gradients, the same Adam, the same EMA. If any one of them differed, even by a relative
# $10^{-6}$, the weights would part by far more than $10^{-14}$.
#
# In float32 the first iterations agree to about $10^{-6}$: the losses to their last
# digit, the weights to the size of Adam's first step on gradients near $\varepsilon$
# (section 3). Run the lesson without `SCRATCHGAN_FAST` (200 iterations on MNIST) and the
# float32 runs part. The weight gap stays between $10^{-6}$ and $10^{-5}$ until the first
# kink flip, which came at about iteration 30 when we ran it. Within a few iterations it
# then grows a hundredfold, and after about 100 iterations the two loss curves no longer
# overlap.
#
# A kink flip is a pre-activation that rounding puts at $+10^{-8}$ in one framework and
# at $-10^{-8}$ in the other. LeakyReLU's slope there is 1 in one run and 0.2 in the
# other, so that sample's gradient through that unit differs by 80%, which is no longer a
# rounding error. The weights then differ by more, more pre-activations sit close enough
# to 0 to flip, and each flip feeds the next. Both runs are correct: they are two GAN
# trainings from the same starting point. In float64 the rounding is $10^{9}$ times
# smaller, no flip happens in 200 iterations, and the gap grows only about tenfold over
# the whole run.
#
# The lesson for checking any two implementations against each other (a port, a
# refactor, a GPU backend) is the one lesson 3 taught for gradients: **compare in
# float64**, or compare single steps. A long float32 run does not agree, and that
# disagreement does not mean a bug.
#
# ## 7. What each framework call hides
#
# | PyTorch | what it does for you | the same in scratchgan |
# |---|---|---|
# | `torch.tensor(a, requires_grad=True)` | a leaf that collects `.grad` | `sg.tensor` and `Tensor` in `scratchgan/autograd.py` |
# | `loss.backward()` | records the graph, walks it in reverse topological order, sums each tensor's gradient over its uses, un-broadcasts, frees the graph | `Function.__call__`, `_topological_order` and `_run_backward` in `autograd.py`; `sum_to` in `ops/shape.py` |
# | `torch.autograd.grad(..., create_graph=True)` | returns the gradients instead of storing them, and records the backward as a graph | `grad` in `autograd.py`; every `backward` in `ops/` is written with Tensor ops |
# | `torch.no_grad()` | one global switch that every op consults | `_Mode.grad_enabled` and `no_grad` in `autograd.py` |
# | `torch.autograd.Function` | a custom op: `ctx`, `save_for_backward`, `apply` | `Function` in `autograd.py`; every op in `ops/` is one |
# | `torch.nn.Linear` | registers $W$, $b$; draws them from $U(\pm1/\sqrt{\text{in}})$; $y = xW^\top + b$ and its backward $\bar y^\top x$, $\bar y W$, $\sum_n \bar y$ | `nn/layers.py`, `nn/init.py`, the `Linear` op in `ops/arithmetic.py` |
# | `torch.nn.Module`, `Sequential` | finds parameters through attribute assignment, names them (`0.weight`), `train()`/`eval()`, `state_dict()` | `nn/module.py`, `Sequential` in `nn/layers.py` |
# | `D.requires_grad_(False)` | no gradients for D's weights, still through D | `nn.frozen` in `nn/module.py` |
# | `torch.optim.Adam` | moments, bias correction, the in-place update outside any graph | `Adam.update` in `scratchgan/optim.py` |
# | `TF.binary_cross_entropy_with_logits` | the stable formula, the mean in one op, the backward $\sigma(\ell) - t$ | `BCEWithLogits` in `ops/loss_functions.py`; the GAN losses in `losses.py` |
# | `torch.manual_seed` | one seeded generator | `sg.seed` and `random_normal` in `scratchgan/backend.py` |
# | `.to("cuda")` | the same ops on a GPU | `sg.use_backend("cupy")`: `backend.xp` is NumPy or CuPy |
#
# And what PyTorch has that scratchgan does not: compiled kernels for every op on many
# devices, a dispatcher that picks one, version counters that catch in-place changes to
# saved tensors, hooks on modules and tensors, multi-threaded and fused optimizers,
# `torch.compile`. None of this changes the numbers. All of it changes the speed or the
# convenience. The mathematics of this GAN fits in the files listed above.
#
# ## What you should now be able to do
#
# * Translate a scratchgan program into PyTorch and back, line for line: tensors,
#   `backward`, `grad`, modules, Adam, the losses, a training step.
# * Move weights between the two through `state_dict()`: same names, same (out, in) layout.
# * Write the minimax GAN losses as binary cross-entropy on logits, and explain why both
#   frameworks compute them from logits.
# * Prove that two implementations compute the same thing: the same start, the same
#   inputs, a comparison in float64.
# * Explain why two correct float32 GAN runs drift apart (rounding near zero in Adam,
#   then kink flips in LeakyReLU), and why that is not a bug.
# * Name the scratchgan file behind each PyTorch call used in a GAN.
#
# ## Try this
#
# 1. Give D one-sided label smoothing, `losses.d_loss_minimax(..., real_label=0.9)`, and
#    change the PyTorch D loss to match (a target of `torch.full_like(real_logits, 0.9)`).
#    Check that float64 still agrees to $10^{-10}$.
# 2. Remove `gan.D.requires_grad_(False)` from `torch_iteration`. Do the weights still
#    agree? (Where do D's gradients from the G step go?)
# 3. Run the float32 comparison with `OPENBLAS_NUM_THREADS=2` and again with 1. Does the
#    first kink flip move? Why would the number of threads change the order of a sum?
# 4. Port the `pytorch-gan` preset (G with `BatchNorm1d(eps=0.8)`) and compare it the same
#    way, `running_mean` and `running_var` included. PyTorch's BatchNorm keeps the
#    *unbiased* running variance. Does scratchgan's `nn/norm.py`?
