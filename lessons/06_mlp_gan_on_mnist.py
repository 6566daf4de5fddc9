# %% [markdown]
# # Lesson 6 — Algorithm 1 on MNIST
#
# Lesson 5 played the minimax game with one-dimensional Gaussians, where every density is
# known. This lesson plays it on real data, as Goodfellow et al. (2014) first did: two
# multilayer perceptrons, a generator $G$ and a discriminator $D$, trained on handwritten
# digits with the paper's **Algorithm 1**, written out line by line. Then we judge the
# samples with a digit classifier, since a GAN's losses do not say how good its samples are.
#
# 1. the data: MNIST kept as `uint8`, each batch scaled to $[-1, 1]$;
# 2. the two networks;
# 3. one iteration of Algorithm 1 by hand, with $k$ discriminator steps as a knob, checked
#    bit for bit against `MLPGAN.train_step`;
# 4. training, with sample grids of the same noise over time;
# 5. the evaluator: Inception Score, Fréchet distance, the histogram of digits;
# 6. what scratchgan's default preset (`make train-mnist`) adds to the paper, and why.
#
# **Fast mode** (`SCRATCHGAN_FAST=1`, half a minute) trains on three digits only, 0, 1 and
# 7, with smaller networks: a few seconds of training, too little for ten digits, is
# enough to draw these three recognisably. The full mode trains on all ten.

# %%
from dataclasses import fields, replace

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import functional as F
from scratchgan import losses, metrics, nn
from scratchgan.data.mnist import scale_batch
from scratchgan.models.mlp_gan import PRESETS, MLPGAN, MLPGANConfig
from _draw import stroke_digits, tile
from _lesson import FAST, load_digits, save_figure, steps

sg.seed(0)                          # scratchgan's generator: weights, noise z
rng = np.random.default_rng(0)      # ours: the order of the data, the stand-in digits
DIGITS = (0, 1, 7) if FAST else tuple(range(10))      # the digits this run learns
print(f"fast mode: {FAST}   backend: {sg.backend.name}   digits: {DIGITS}")

# %% [markdown]
# ## 1. The data: bytes in memory, floats one batch at a time
#
# MNIST (LeCun, Cortes and Burges; CC BY-SA 3.0) is 60,000 training and 10,000 test
# images of $28 \times 28$ grey pixels, each a byte from 0 (paper) to 255 (ink).
# `_lesson.load_digits` gets them through scratchgan's data chain, which checks every byte
# against pinned SHA-256 sums, and keeps them as `uint8`: 47 MB, where float32 would take
# four times that. $G$ ends in $\tanh$, so real images must lie in $[-1, 1]$ too, or $D$
# could tell real from fake by their range alone. `scale_batch` maps a pixel $p$ to
# $p / 127.5 - 1$, one batch at a time.
#
# Without MNIST (an offline run with an empty cache) the lesson uses stand-in "digits",
# thick strokes drawn by `lessons/_draw.py`. The code is the same; the pictures and the
# numbers then describe the stand-in.

# %%
def only(images, labels):
    keep = np.isin(labels, DIGITS)
    return images[keep], labels[keep]


mnist = load_digits()
if mnist is not None:
    train_images, train_labels = only(*mnist)
    test_images, test_labels = only(*load_digits(split="test"))
    DATA = "MNIST"
else:
    print("So this run uses the stand-in: stroke digits, not MNIST.")
    train_images, train_labels = only(*stroke_digits(3000, rng))
    test_images, test_labels = only(*stroke_digits(1000, rng))
    DATA = "stand-in"
train_flat = train_images.reshape(len(train_images), 784)       # a view, still uint8
batch = scale_batch(train_flat[:64], xp=sg.backend.xp)          # float32 (64, 784)
print(f"{DATA}, digits {DIGITS}: {len(train_images)} training and {len(test_images)} test "
      f"images, {train_flat.dtype}; one scaled batch {batch.shape} {batch.dtype} in "
      f"[{float(batch.min()):.0f}, {float(batch.max()):.0f}]")
assert train_flat.dtype == np.uint8 and float(batch.min()) >= -1 and float(batch.max()) <= 1

fig, ax = plt.subplots(figsize=(9, 2.4))
ax.imshow(tile(batch[:30], ncol=15), cmap="gray_r", vmin=0, vmax=1)
ax.set_title(f"30 training digits ({DATA}), after scale_batch: paper at −1, ink near +1")
ax.axis("off")
save_figure(fig, "06_real_digits")

# %% [markdown]
# ## 2. The two networks
#
# * $G$: noise $z \in \mathbb R^{100}$, $z \sim \mathcal N(0, I)$, through Linear layers
#   with LeakyReLU(0.2) between them, then Linear to 784 pixels and $\tanh$.
# * $D$: an image, flattened, through Linear layers with LeakyReLU(0.2), then Linear to
#   **one logit** $\ell$; the probability "real" is $D(x) = \sigma(\ell)$, and the losses
#   work with the logit (lesson 5).
#
# The paper's networks used maxout units and dropout; these are the MLPs most GAN tutorials
# use today. The algorithm is the paper's. `MLPGANConfig` holds every choice; we set the
# ones Algorithm 1 is about: no packing (`pack=1`), no averaged copy of $G$
# (`ema_decay=0`), fresh noise for every step (`reuse_fakes=False`), $k$ D steps per G
# step, Adam with the learning rate and $\beta_1 = 0.5$ of Radford et al. (2015).

# %%
paper = MLPGANConfig(g_hidden=(256, 512, 1024), d_hidden=(512, 256), d_dropout=0.0,
                     pack=1, ema_decay=0.0, reuse_fakes=False, k=1,
                     lr_g=2e-4, lr_d=2e-4, batch_size=64)
if FAST:
    paper = replace(paper, g_hidden=(128, 256), d_hidden=(256, 128))
sg.seed(0)
gan = MLPGAN(paper)
print("G =", gan.G, f"\n{gan.G.num_parameters():,} parameters")
print("D =", gan.D, f"\n{gan.D.num_parameters():,} parameters")

# %% [markdown]
# ## 3. One iteration of Algorithm 1, by hand
#
# With minibatches of $m$ real images $x_i$ and $m$ noise vectors $z_i$, one iteration is:
#
# **$k$ times, a D step.** Draw fresh $z_i$ and a fresh real batch, and descend
# $$L_D = -\frac1m \sum_{i=1}^m \Big[\log D(x_i) + \log\big(1 - D(G(z_i))\big)\Big]
#   \qquad (\texttt{losses.d\_loss\_minimax}).$$
# The fakes are made under `sg.no_grad()`: this step trains $D$ only, so $L_D$ must not
# reach $G$. $D$ judges the real and the fake batch in one pass, stacked: the same numbers
# as two passes, one matrix product per layer instead of two.
#
# **Once, a G step.** Draw fresh $z_i$ and descend the non-saturating loss (lesson 5,
# section 5)
# $$L_G = -\frac1m \sum_{i=1}^m \log D(G(z_i)) \qquad (\texttt{losses.g\_loss\_nonsaturating}).$$
# The gradient flows *through* $D$ to $G$'s weights; inside `nn.frozen(gan.D)` no gradient
# is computed for $D$'s own weights, which this step must not change.
#
# Each step is `zero_grad()`, `backward()`, `step()` (Adam, lesson 4b). The paper used
# $k = 1$ in its experiments and left $k$ as a knob: more D steps keep $D$ nearer its
# optimum $D^*$ (lesson 5), at $k$ times the cost. We write the iteration for any $k$ and
# run it with $k = 2$ beside a twin GAN with the same weights and the same random numbers
# that takes its step through `MLPGAN.train_step`. If these lines are all `train_step`
# does, the two end with identical weights and optimizer states.

# %%
def algorithm_1(gan, real_batches):
    """One iteration: a D step per real batch (k of them), then one G step."""
    for real in real_batches:                                    # k D steps
        m = real.shape[0]
        with sg.no_grad():
            fake = gan.G(gan.sample_z(m))                        # fresh z, no graph to G
        logits = gan.discriminate(F.concatenate([real, fake]))   # (2m, 1): real, then fake
        d_loss = losses.d_loss_minimax(logits[:m], logits[m:])
        gan.opt_d.zero_grad()
        d_loss.backward()
        gan.opt_d.step()
    with nn.frozen(gan.D):                                       # one G step, through D
        g_loss = losses.g_loss_nonsaturating(gan.discriminate(gan.G(gan.sample_z(m))))
        gan.opt_g.zero_grad()
        g_loss.backward()
    gan.opt_g.step()
    return d_loss.item(), g_loss.item()


k2 = replace(paper, k=2)
sg.seed(1)
mine, twin = MLPGAN(k2), MLPGAN(k2)
twin.load_state_dict(mine.state_dict())                      # same weights, same Adam state
reals = [sg.Tensor(scale_batch(train_flat[j * 64:(j + 1) * 64], xp=sg.backend.xp))
         for j in range(2)]                                  # k = 2 real batches
rng_before = sg.backend.rng_state()                          # the same noise to come
d_loss, g_loss = algorithm_1(mine, reals)
assert all(p.grad is not None for p in mine.G.parameters())
sg.backend.set_rng_state(rng_before)
twin.train_step(reals)
ours, theirs = mine.state_dict(), twin.state_dict()
same = all(np.array_equal(sg.to_numpy(ours[k]), sg.to_numpy(theirs[k])) for k in ours)
print(f"L_D = {d_loss:.4f} (log 4 = {np.log(4):.4f}), L_G = {g_loss:.4f}")
print(f"by hand vs train_step, k = 2: {len(ours)} arrays (G, D, both Adams) identical: {same}")
assert same

# %% [markdown]
# At the start $D$ can only guess, so $L_D$ is near $\log 4$. The last line is the point:
# nothing happens inside `train_step` beyond the lines above, bit for bit.
#
# ## 4. Training
#
# Now we train with `MLPGAN.train_step` ($k = 1$), one shuffled real batch per iteration,
# as `Trainer` (`scratchgan/train.py`) does with a progress bar and checkpoints added.
# Every so often we draw 36 digits from the **same** 36 noise vectors, to watch what the
# same $z$ turn into.

# %%
per_epoch = len(train_flat) // paper.batch_size
n_iters = steps(5 * per_epoch, 1500)
snap_at = sorted({0, n_iters // 10, n_iters // 3, n_iters})
print(f"{n_iters} iterations of batch {paper.batch_size} "
      f"({n_iters / per_epoch:.1f} epochs of the {len(train_flat)} images)")

z_grid = sg.tensor(np.random.default_rng([0, 100]).standard_normal((36, paper.z_dim))
                   .astype(np.float32))              # its own generator: training's z untouched
history = {"d_loss": [], "g_loss": [], "d_real": [], "d_fake": []}
grids, it = {}, 0
while it < n_iters:
    order = rng.permutation(len(train_flat))         # a new order every epoch
    for first in range(0, per_epoch * paper.batch_size, paper.batch_size):
        if it in snap_at:
            grids[it] = sg.to_numpy(gan.generate(z_grid).data)
        real = sg.Tensor(scale_batch(train_flat[order[first:first + paper.batch_size]],
                                     xp=sg.backend.xp))
        stats = gan.train_step([real])
        for key in history:
            history[key].append(float(stats[key]))
        it += 1
        if it == n_iters:
            break
grids[n_iters] = sg.to_numpy(gan.generate(z_grid).data)
print(f"last iteration: L_D {history['d_loss'][-1]:.3f}  L_G {history['g_loss'][-1]:.3f}  "
      f"D(x) {history['d_real'][-1]:.2f}  D(G(z)) {history['d_fake'][-1]:.2f}")

# %%
fig, axes = plt.subplots(1, len(snap_at), figsize=(2.8 * len(snap_at), 3.0))
for ax, k in zip(axes, snap_at):
    ax.imshow(tile(grids[k], ncol=6), cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(f"iteration {k}", fontsize=10)
    ax.axis("off")
fig.suptitle(f"The same 36 noise vectors through G as training goes on ({DATA}, digits "
             f"{', '.join(map(str, DIGITS))})", y=1.03)
save_figure(fig, "06_samples_over_training")

window = max(1, n_iters // 50)
smooth = lambda v: np.convolve(v, np.ones(window) / window, mode="valid")  # noqa: E731
fig, (left, right) = plt.subplots(1, 2, figsize=(13, 3.6))
left.plot(smooth(history["d_loss"]), label="L_D")
left.plot(smooth(history["g_loss"]), label="L_G")
left.axhline(np.log(4), color="gray", ls="--", lw=1, label="log 4 (D guessing)")
left.set(xlabel="iteration", title=f"Losses (moving average of {window})")
left.legend()
right.plot(smooth(history["d_real"]), label="mean D(x)")
right.plot(smooth(history["d_fake"]), label="mean D(G(z))")
right.axhline(0.5, color="gray", ls="--", lw=1)
right.set(xlabel="iteration", ylim=(0, 1), title="D's verdicts")
right.legend()
save_figure(fig, "06_training_curves")
last = slice(-max(1, n_iters // 10), None)
d_real, d_fake = np.mean(history["d_real"][last]), np.mean(history["d_fake"][last])
print(f"last tenth of the run: mean D(x) {d_real:.2f}, mean D(G(z)) {d_fake:.2f}")
assert 0.02 < d_fake < 0.5 < d_real < 0.98       # an edge for D, but no knockout

# %% [markdown]
# At iteration 0 the untrained $G$ gives the same grey haze for every $z$. Soon every $z$
# gives one blurred "average digit": $G$ has learnt where ink tends to be, not yet that
# different $z$ should give different digits. Then distinct shapes appear. The curves do
# **not** fall to zero, and should not: both players improve together, so $D$ keeps an
# edge, $D(x)$ above $1/2$ and $D(G(z))$ below (the cell above checks it over the last
# tenth of the run), but neither verdict reaches 1 or 0, and neither loss keeps falling.
# A GAN's loss does not say how good the samples are. For that we need an evaluator.
#
# ## 5. The evaluator
#
# We judge the samples as a reader would, with a digit classifier trained once on real
# MNIST with scratchgan itself (`metrics.py`; cached in `~/.cache/scratchgan`). For each
# sample $x$ it gives class probabilities $p(y \mid x)$ and a 256-dimensional feature vector.
#
# * **Inception Score** (Salimans et al. 2016):
#   $\mathrm{IS} = \exp\big(\mathbb E_x\, \mathrm{KL}(p(y \mid x)\,\|\,p(y))\big)$ with
#   $p(y) = \mathbb E_x\, p(y \mid x)$. High when each sample is confidently one digit
#   *and* all digits occur; between 1 and the number of digits drawn.
# * **Fréchet distance** (Heusel et al. 2017): fit Gaussians $\mathcal N(\mu, \Sigma)$ to the
#   features of the samples and of the real test set;
#   $\mathrm{FD} = \lVert \mu_1 - \mu_2 \rVert^2
#   + \operatorname{Tr}\big(\Sigma_1 + \Sigma_2 - 2(\Sigma_1\Sigma_2)^{1/2}\big)$; 0 when
#   they match, lower is better; compare only FDs from the same number of samples.
# * **Mode coverage**: the histogram of predicted digits. A lost mode is a digit near 0%.
#
# A score means something only beside a **ceiling**: the same scores for real test digits
# of the digits trained on (their FD against as many training digits). The table prints
# both. Without the cached classifier (or on the stand-in) the lesson trains a quick one on
# the images at hand and says so: its scores are not comparable with the README's.

# %%
def evaluation_classifier():
    """The classifier that judges the samples, and a sentence saying which one it is."""
    if DATA == "MNIST":
        cached = metrics.load_classifier(metrics.classifier_path())
        if cached is not None:
            return cached, "the cached evaluation classifier"
        if not FAST:
            return metrics.get_classifier()[0], "the evaluation classifier, trained just now"
    model = metrics.train_classifier(train_images, train_labels, epochs=2, log=print)
    return model, f"a quick classifier on {len(train_images)} {DATA} images (not the README's)"


classifier, which = evaluation_classifier()
n_eval = min(steps(10_000, 1000), len(test_images), len(train_images))
samples = sg.to_numpy(gan.generate(sg.Tensor(sg.backend.random_normal((n_eval, paper.z_dim))))
                      .data)
test_probs, test_feats = metrics.predict(classifier, test_images[:n_eval])
_, train_feats = metrics.predict(classifier, train_images[:n_eval])
probs, feats = metrics.predict(classifier, samples)
scores = {"real test digits (ceiling)": metrics.scores_from(test_probs, train_feats, test_feats),
          "G's samples": metrics.scores_from(probs, feats, test_feats)}

print(f"{n_eval} images each, judged by {which}")
print(f"{'':28s}{'IS ↑':>7s}{'FD ↓':>8s}{'trained digits':>16s}  "
      + "".join(f"{f'as {d}':>6s}" for d in DIGITS))
for name, s in scores.items():
    print(f"{name:28s}{s['inception_score']:7.2f}{s['frechet_distance']:8.1f}"
          f"{sum(s['digit_fractions'][d] for d in DIGITS):16.0%}  "
          + "".join(f"{s['digit_fractions'][d]:6.0%}" for d in DIGITS))
trained_share = sum(scores["G's samples"]["digit_fractions"][d] for d in DIGITS)
assert 1 <= scores["G's samples"]["inception_score"] <= 10
assert trained_share > 0.5          # most samples are read as digits the GAN was shown

fig, ax = plt.subplots(figsize=(9, 3.2))
for j, (name, color) in enumerate(((n, c) for n, c in zip(scores, ("gray", "tab:blue")))):
    ax.bar(np.arange(10) + (j - 0.5) * 0.4, scores[name]["digit_fractions"], 0.4, color=color,
           label=f"{name}: IS {scores[name]['inception_score']:.2f}")
ax.set(xticks=range(10), xlabel="predicted digit", ylabel="fraction of samples",
       title=f"Which digits G draws (trained on {', '.join(map(str, DIGITS))}; {DATA})")
ax.legend(fontsize=8)
save_figure(fig, "06_digit_histogram")

# %% [markdown]
# Read the table from the ceiling down. The real digits set the best this judge can give:
# an IS close to the number of digits trained on, and an FD that is not 0, since two sets
# of real digits differ too. $G$'s row says how far its samples are from that: the share
# the judge reads as one of the trained digits (the cell checks that it is most of them),
# how evenly those digits are drawn, and, in the IS and the FD, how clearly and how
# variedly. A missing bar among the trained digits would be a lost mode, the failure
# lesson 7 is about.
#
# ## 6. What the default preset adds, and why
#
# `make train-mnist` trains `PRESETS["default"]` for 36 epochs. It is Algorithm 1 plus a
# few changes, each kept because it measurably helped (docs/experiments.md, "What
# mattered", has the runs and the commands). The cell below prints every field where the
# default differs from the paper's configuration above:
#
# * `pack=2` — **packing** (PacGAN, Lin et al. 2018): $D$ judges two images side by side,
#   both real or both fake, so a generator that repeats itself is easy to catch. Against
#   mode collapse; lesson 7.
# * `ema_decay`, `ema_every` — samples come from an **exponential moving average of $G$'s
#   weights** (Yazıcı et al. 2019): GAN training circles around a solution, and the average
#   sits closer to it than the iterates do. Lesson 7.
# * `reuse_fakes=True` — the G step reuses the fakes of the last D step (made with their
#   graph), judged by the $D$ just updated, instead of drawing fresh $z$: an equally valid
#   sample of the noise, one forward pass of $G$ cheaper (as PyTorch's DCGAN example does).
# * `lr_g`, `lr_d`, `lr_decay_from`, `batch_size` — a higher learning rate with batches of
#   128, decayed linearly to 0 over the last fifth of the run: sharper samples at the end.
# * `epochs` — how long `make train-mnist` runs (this lesson counts its own iterations).

# %%
default = PRESETS["default"]
for f in fields(MLPGANConfig):
    ours, theirs = getattr(replace(paper, g_hidden=(256, 512, 1024), d_hidden=(512, 256)),
                           f.name), getattr(default, f.name)
    if ours != theirs:
        print(f"  {f.name:15s} Algorithm 1 here: {str(ours):8s}  default: {theirs}")

# %% [markdown]
# ## What you should now be able to do
#
# * Load MNIST as `uint8`, scale each batch to $[-1, 1]$, and say why the range must match
#   $G$'s $\tanh$.
# * Write one iteration of Algorithm 1 for any $k$: D steps on fresh, detached fakes with
#   `d_loss_minimax`; a G step on fresh $z$ through `nn.frozen(D)` with
#   `g_loss_nonsaturating`; each with `zero_grad`, `backward`, `step`.
# * Explain why a GAN's losses do not measure its samples, and compute and read the
#   Inception Score, the Fréchet distance and the digit histogram against the real ceiling.
# * Name what the default preset adds to the paper (packing, the EMA, reused fakes, the
#   learning-rate schedule) and why.
#
# ## Try this
#
# 1. Train with `k=2` (`replace(paper, k=2)`, and `train_step` given two real batches, as in
#    section 3). Do the samples improve for the same number of G steps? For the same time?
# 2. Train with `g_loss="saturating"`. What happens to $D(G(z))$ in the first iterations,
#    and to the grids? (Lesson 5, section 5, predicts it.)
# 3. In fast mode, set `DIGITS` to all ten digits. How many of them does the histogram show
#    after the same 1500 iterations?
# 4. Run `make train-mnist EPOCHS=5`, open the run folder's `samples/` and `curves.png`,
#    and compare its `metrics.json` with the table of section 5.
