# %% [markdown]
# # Lesson 7 — Mode collapse, and what WGAN, WGAN-GP and packing change
#
# A generator **collapses** when it covers only part of the data: it draws a few kinds of
# samples and misses the others, the "modes" it has lost. On MNIST that would be a generator
# that never draws a 2. Here we study collapse where it can be counted exactly, on PacGAN's
# two-dimensional benchmark (Lin et al. 2018): a **ring of 8 Gaussians** and a **5 × 5 grid**.
# Six GANs that differ only in their objective, optimizer or discriminator input are trained
# by `scratchgan.bench_modes`, the code behind `python -m scratchgan bench-modes`; this lesson
# calls the same function and reads its table.
#
# 1. the data, and PacGAN's three scores;
# 2. the contestants, and the loop they share;
# 3. why the plain GAN can collapse;
# 4. WGAN: the Wasserstein distance, a critic, weight clipping;
# 5. WGAN-GP: a gradient penalty, double backpropagation, and its gradient check;
# 6. packing: D judges several samples at once;
# 7. the table, and the pictures.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import bench_modes as bm
from scratchgan import functional as F
from scratchgan import losses
from scratchgan.data.toy2d import pacgan_scores
from _lesson import FAST, save_figure

print(f"fast mode: {FAST}   backend: {sg.backend.name}")
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The data, and how PacGAN scores a generator
#
# Each sample picks one of the $K$ centres $c_k$ uniformly and adds Gaussian noise,
# $x = c_k + \sigma\varepsilon$ with $\varepsilon \sim \mathcal N(0, I_2)$:
#
# * ring: $K = 8$ centres on the unit circle, $\sigma = 0.01$ (tiny dots, 0.77 apart);
# * grid: $K = 25$ centres at $\{-4, -2, 0, 2, 4\}^2$, $\sigma = 0.05$.
#
# Knowing the centres, we score 2,500 generated samples without any classifier
# (`toy2d.pacgan_scores`, the rule of PacGAN's evaluation code):
#
# * a sample is **high quality** when it lies within $3\sigma$ of its nearest centre. A real
#   sample is, with probability $1 - e^{-9/2} \approx 98.9\%$ ($\lVert\varepsilon\rVert$ is
#   Rayleigh-distributed);
# * a mode is **captured** when at least one high-quality sample is nearest to it;
# * the **reverse KL** compares the histogram $\hat p$ of the high-quality samples over the
#   modes with the uniform one: $\mathrm{KL}(\hat p \,\|\, u) = \sum_k \hat p_k \log(K \hat p_k)$.
#   It is 0 for an even spread and $\log K$ when every sample sits on one mode.
#
# (`toy2d.mode_coverage` is another common rule, a fifth of a mode's fair share; a table
# uses one rule or the other, never both.)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
for ax, name, lim in ((axes[0], "ring", 1.4), (axes[1], "grid", 5.3)):
    centres, std, draw = bm.DATASETS[name]
    real = draw(2500, rng)
    one_mode = centres[0] + std * rng.standard_normal((2500, 2))
    print(f"{name}: real data {pacgan_scores(real, centres, std)}")
    print(f"{name}: all on one mode {pacgan_scores(one_mode, centres, std)}, "
          f"log K = {np.log(len(centres)):.3f}")
    assert pacgan_scores(real, centres, std).modes == len(centres)
    ax.scatter(real[:, 0], real[:, 1], s=2, alpha=0.4)
    for c in centres:
        ax.add_patch(plt.Circle(c, 3 * std, fill=False, color="tab:red", lw=0.8))
    ax.set(title=f"{name}: {len(centres)} modes, σ = {std} (red: 3σ)", aspect="equal",
           xlim=(-lim, lim), ylim=(-lim, lim))
save_figure(fig, "07_data")

# %% [markdown]
# ## 2. Six contestants, one loop
#
# Every contestant has PacGAN's networks: $G$ maps $z \in \mathbb R^2$ through four hidden
# layers (Linear, BatchNorm, ReLU) to a point; $D$ is three **maxout** layers (each unit the
# largest of 5 linear pieces, `nn.Maxout`) and a Linear. Each method changes one thing:
#
# | name | D's loss | G's loss | D steps per G step | optimizer |
# |---|---|---|---|---|
# | gan-saturating | $-[\log D(x) + \log(1 - D(G(z)))]$ | $\log(1 - D(G(z)))$ | 1 | Adam $10^{-4}$, β = (0.8, 0.999) |
# | gan | same | $-\log D(G(z))$ | 1 | same |
# | wgan | $D(G(z)) - D(x)$, weights clipped to $\pm 0.01$ | $-D(G(z))$ | 5 | RMSprop $5\cdot10^{-5}$ |
# | wgan-gp | $D(G(z)) - D(x) + 10(\lVert\nabla D(\hat x)\rVert - 1)^2$ | $-D(G(z))$ | 5 | Adam $10^{-4}$, β = (0, 0.9) |
# | pacgan2, pacgan4 | as gan, on 2 or 4 samples at once | as gan | 1 | as gan |
#
# `bm.train_run(model, dataset, seed, iterations, setup=...)` is Algorithm 1 (lesson 6) with
# three switches: the loss, the clipping and the packing. The heart of it:
#
# ```python
# for _ in range(c.critic_steps):                       # D (critic) steps
#     real, fake = draw(n), G(z).detach()
#     d_loss = minimax or Wasserstein (+ penalty) of judge(real), judge(fake)
#     opt_d.zero_grad(); d_loss.backward(); opt_d.step()
#     if c.clip: clip every weight of D to [−c, c]
# with nn.frozen(D):                                     # G step
#     g_loss = the contestant's G loss of judge(G(z))
# ```
#
# PacGAN trains 400,000 steps with 400-wide networks; on two shared CPU cores that takes days.
# This lesson trains the **small** setup of `bench_modes`: the same contestants with
# 128-wide networks, learning rates ×5, decayed linearly to 0 over the second half of the
# run. The full-size table, and what it costs, is in `docs/modes.md` (`make bench-modes`).

# %%
SETUP = bm.SETUPS["small"]
if FAST:     # the two contestants the lesson is about, one seed, on the ring; WGAN for §4
    MODELS, DATASETS, SEEDS, ITERATIONS = ["gan", "pacgan4"], ["ring"], 1, 800
    WGAN_ITERATIONS = 40
else:        # as `bench-modes --setup small --seeds 2 --iterations 800` (docs/modes.md)
    MODELS, DATASETS, SEEDS, ITERATIONS = list(bm.CONTESTANTS), ["ring", "grid"], 2, 800
    WGAN_ITERATIONS = ITERATIONS
SNAPSHOTS = 8
print(f"setup {SETUP}\n{len(MODELS)} contestants × {len(DATASETS)} mixtures × {SEEDS} seeds, "
      f"{ITERATIONS} G steps each")

runs, snapshots = [], {}
start = time.perf_counter()
for model in MODELS:
    for dataset in DATASETS:
        for seed in range(SEEDS):
            shots = snapshots[model, dataset, seed] = {}

            def record(i, G, D, shots=shots, seed=seed):
                if i % (ITERATIONS // SNAPSHOTS) == 0:
                    shots[i] = bm.generate(G, 2500, seed)

            runs.append(bm.train_run(model, dataset, seed, ITERATIONS, callback=record,
                                     setup=SETUP))
            r = runs[-1]
            print(f"{model:15s}{dataset} seed {seed}: {r.modes:2d} modes, "
                  f"{r.high_quality:6.1%} high quality, reverse KL {r.reverse_kl:.2f} "
                  f"({r.seconds:.1f} s)")
print(f"{len(runs)} runs in {time.perf_counter() - start:.0f} s")

# %% [markdown]
# ## 3. Why the plain GAN can collapse
#
# The game $\min_G \max_D V(D, G)$ is solved by $p_g = p_{\text{data}}$ (lesson 5), but
# training does not solve the game: it alternates single gradient steps, and a G step sees
# only $D$'s *local* slope at each fake. The loss $-\log D(G(z))$ rewards moving every fake
# uphill on $D$; nothing in it asks the fakes to stay spread out. Against a fixed $D$, $G$'s
# best move sends every $z$ to the one point $D$ rates highest. Goodfellow's NIPS 2016
# tutorial puts it as an order of operations: alternating steps need not find
# $\min_G \max_D$, and in $\max_D \min_G$ the inner minimisation collapses $G$ to a point.
# Two things follow. **Mode hopping**: $D$ learns that the point is fake, $G$ moves on to the
# next spot $D$ likes (Metz et al. 2017 showed this on the ring). **Getting stuck**: between
# the modes lies empty space where $D$ has seen no data, so nothing pulls the fakes across.
#
# The figure shows each run of `gan` and `pacgan4` (seed 0) on the ring over training,
# the samples from the same 2,500 $z$ at each moment; the corner gives modes captured.

# %%
def snapshot_figure(models, dataset, seed=0):
    steps = sorted(snapshots[models[0], dataset, seed])
    centres, std, _ = bm.DATASETS[dataset]
    lim = 1.6 if dataset == "ring" else 5.6
    fig, axes = plt.subplots(len(models), len(steps), squeeze=False,
                             figsize=(1.9 * len(steps), 2.0 * len(models)))
    for row, model in zip(axes, models):
        for ax, step in zip(row, steps):
            x = snapshots[model, dataset, seed][step]
            ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.25)
            ax.scatter(centres[:, 0], centres[:, 1], s=6, color="tab:red")
            ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xticks=[], yticks=[], aspect="equal")
            ax.text(0.03, 0.03, f"{pacgan_scores(x, centres, std).modes}/{len(centres)}",
                    transform=ax.transAxes, fontsize=7)
            ax.set_title(f"step {step}", fontsize=8)
        row[0].set_ylabel(model, fontsize=9)
    fig.tight_layout()
    return fig


save_figure(snapshot_figure(["gan", "pacgan4"], "ring"), "07_ring_over_training")
for model in ("gan", "pacgan4"):
    modes = [pacgan_scores(x, *bm.DATASETS["ring"][:2]).modes
             for _, x in sorted(snapshots[model, "ring", 0].items())]
    print(f"{model}, ring, seed 0: modes captured at each snapshot {modes}")

# %% [markdown]
# ## 4. WGAN: a distance that does not saturate
#
# Against the best discriminator, the GAN minimises the Jensen–Shannon divergence
# (lesson 5). When $p_g$ and $p_{\text{data}}$ barely overlap, as a blob of fakes and eight
# tiny dots do, the JSD is $\log 2$ however far apart they are, and a saturated $D$ tells
# $G$ little about *where* the data is. The **Wasserstein-1** distance is the cost of the
# cheapest plan $\gamma$ that moves the mass of $p_g$ onto $p_{\text{data}}$, and by
# Kantorovich–Rubinstein duality a maximum over 1-Lipschitz functions $f$:
#
# $$W_1 = \inf_{\gamma} \mathbb E_{(x, y) \sim \gamma} \lVert x - y \rVert
#   = \sup_{\lVert f \rVert_L \le 1} \mathbb E_{x}[f(x)] - \mathbb E_{z}[f(G(z))].$$
#
# A network approximates $f$: a **critic** with an unbounded score,
# $L_D = \mathbb E[D(G(z))] - \mathbb E[D(x)]$ and $L_G = -\mathbb E[D(G(z))]$. Its gradient
# at a fake points along the cheapest way to move mass onto the data, across the gaps.
#
# The critic must stay Lipschitz. WGAN clips every weight to $[-c, c]$, $c = 0.01$, after
# each critic step, and uses RMSprop (Arjovsky et al. found momentum unstable here).
# Gulrajani et al. point out the price: the critic pushes its weights to $\pm c$ and can then
# represent only simple functions. **But look first at what the first clip does alone.**
# PacGAN's initialisation draws weights from $\mathcal N(0, 0.02^2)$; a fraction
# $P(|w| > c) = 2(1 - \Phi(0.01/0.02)) \approx 61.7\%$ of them is beyond $\pm c$ before any
# training, so the first clip puts them at the bounds. Only the difference between the
# histogram after the first clip and the one after training is what training does.

# %%
first, last = {}, {}


def critic_weights(D):
    return np.concatenate([p.numpy().ravel() for name, p in D.named_parameters()
                           if name.endswith("weight")])


def keep_weights(i, G, D):
    if i == 0:
        first["w"] = np.clip(critic_weights(D), -0.01, 0.01)       # the init, clipped once
    if i == WGAN_ITERATIONS:
        last["w"] = critic_weights(D)


bm.train_run("wgan", "ring", 0, WGAN_ITERATIONS, callback=keep_weights, setup=SETUP)
at_bound = {k: float((np.abs(w) > 0.99 * 0.01).mean()) for k, w in
            (("after the first clip", first["w"]), (f"after {WGAN_ITERATIONS} G steps", last["w"]))}
for k, share in at_bound.items():
    print(f"WGAN critic {k}: {share:.1%} of {first['w'].size} weights within 1% of ±c")
assert abs(at_bound["after the first clip"] - 0.617) < 0.02     # the initialisation's share

fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=True)
for ax, (k, w) in zip(axes, (("after the first clip", first["w"]),
                             (f"after {WGAN_ITERATIONS} G steps", last["w"]))):
    ax.hist(w, bins=np.linspace(-0.0105, 0.0105, 43), color="tab:purple")
    ax.set(xlabel="weight", title=f"WGAN critic {k}: {at_bound[k]:.0%} at ±c")
axes[0].set_ylabel("count")
save_figure(fig, "07_wgan_clipped_weights")

# %% [markdown]
# The left histogram is the initialisation's doing, not training's; the right one is what
# training left, and the line below says which way training moved the share at the bounds.

# %%
before, after = at_bound.values()
print(f"training {'pushed more' if after > before else 'pulled some'} of the critic's weights "
      f"{'to' if after > before else 'back from'} ±c: {before:.1%} → {after:.1%}")

# %% [markdown]
# ## 5. WGAN-GP: a penalty on the gradient, and double backpropagation
#
# A differentiable $f$ is 1-Lipschitz exactly when $\lVert\nabla f\rVert \le 1$, and the
# optimal critic has gradient norm 1 on the lines between coupled real and fake points.
# Gulrajani et al. penalise the deviation from 1 at random points of such lines:
#
# $$L_D = \mathbb E[D(G(z))] - \mathbb E[D(x)]
#   + \lambda\, \mathbb E_{\hat x}\big(\lVert \nabla_{\hat x} D(\hat x) \rVert_2 - 1\big)^2,
#   \qquad \hat x = \epsilon x + (1 - \epsilon) G(z),\ \epsilon \sim U[0, 1],$$
#
# with $\lambda = 10$, 5 critic steps per G step and Adam with $\alpha = 10^{-4}$,
# $\beta = (0, 0.9)$ (their Algorithm 1). The penalty contains a gradient, so the critic's
# optimizer needs the derivative of a derivative with respect to $D$'s weights $\theta$.
# `losses.gradient_penalty` takes $\nabla_{\hat x} D$ with `sg.grad(..., create_graph=True)`:
# every backward in scratchgan is built from differentiable ops (lesson 2), so the backward
# pass is itself a graph, and `backward()` differentiates through it. If one op's backward
# used raw arrays, the penalty's gradient would be silently wrong, so we check it on a small
# critic in float64, written as a function of its weights. The penalty draws a random
# $\epsilon$; each evaluation replays the same one.

# %%
check_rng = np.random.default_rng(1)
real_pts = sg.tensor(check_rng.standard_normal((6, 2)))                 # float64
fake_pts = sg.tensor(check_rng.standard_normal((6, 2)))
shapes = [(8, 2), (8,), (8, 8), (8,), (1, 8), (1,)]                     # 2 → 8 → 8 → 1
weights0 = [check_rng.standard_normal(s) * 0.7 for s in shapes]
eps_state = sg.backend.rng_state()


def penalty_of_weights(W1, b1, W2, b2, W3, b3, create_graph=True):
    """λ·E[(‖∇D(x̂)‖ − 1)²] of a ReLU critic with these weights, the same ε each call."""
    def critic(x):
        return F.linear(F.relu(F.linear(F.relu(F.linear(x, W1, b1)), W2, b2)), W3, b3)
    sg.backend.set_rng_state(eps_state)
    if create_graph:
        return losses.gradient_penalty(critic, real_pts, fake_pts, weight=10.0)
    eps = sg.Tensor(sg.backend.random_uniform((6, 1), dtype=real_pts.dtype))
    x_hat = eps * real_pts + (1 - eps) * fake_pts
    x_hat.requires_grad = True
    (g,) = sg.grad(critic(x_hat).sum(), [x_hat], create_graph=False)   # the slip
    return 10.0 * ((((g * g).sum(axis=1) + 1e-12) ** 0.5 - 1) ** 2).mean()


print("gradcheck of the penalty's gradient w.r.t. the weights:",
      sg.gradcheck(penalty_of_weights, weights0, name="gradient_penalty"))
print("gradgradcheck (its second derivatives):",
      sg.gradgradcheck(penalty_of_weights, weights0, name="gradient_penalty"))

# %% [markdown]
# Both pass. What would a mistake look like? With `create_graph=False` (a natural slip)
# $g$ comes out right but as a constant, cut off from the weights: the penalty's value is
# unchanged, its gradient is zero, and training would quietly ignore it. The check says so.

# %%
def broken(*w):
    return penalty_of_weights(*w, create_graph=False)


same = np.isclose(penalty_of_weights(*map(sg.tensor, weights0)).item(),
                  broken(*map(sg.tensor, weights0)).item())
print(f"same penalty value with create_graph=False: {same}")
try:
    sg.gradcheck(broken, weights0, name="penalty, create_graph=False")
    raise AssertionError("the gradient check should have failed")
except sg.GradcheckError as report:
    print("\n".join(str(report).splitlines()[:4]))

# %% [markdown]
# ## 6. Packing
#
# PacGAN leaves the loss alone and changes what $D$ sees: $m$ samples at once, all real or
# all fake, concatenated into one input of $2m$ numbers. Suppose $G$ covers 2 of the 8
# modes, evenly. Two real samples come from the same mode with probability $1/8$; two fakes
# with probability $1/2$. One sample from a covered mode looks real; a *pair* from the same
# mode is suspicious, and a packed $D$ can learn exactly that. Lin et al. prove that packing
# penalises a $p_g$ that misses mass more than one that is slightly off everywhere, more so
# as $m$ grows. The price: $D$'s first layer takes $2m$ inputs, and G draws $m$ times as many
# samples per step (100 verdicts of D per batch, each on $m$ samples).
#
# ## 7. The table, and the pictures
#
# `bm.summarize` and `bm.format_table` are what `bench-modes` prints: mean ± standard
# deviation over the seeds, PacGAN's Table 1 beside the two contestants it reports (its
# numbers come from the full-size networks and 400,000 steps, not this setup).

# %%
summary = bm.summarize(runs)
print(bm.format_table(summary, ITERATIONS))
for model in MODELS:         # each model's final samples: a row per mixture, a column per seed
    save_figure(bm.scatter_figure([r for r in runs if r.model == model]), f"07_final_{model}")

best = {d: max(MODELS, key=lambda m: summary[m][d]["modes"][0]) for d in DATASETS}
for d, m in best.items():
    print(f"{d}: the most modes on average, {summary[m][d]['modes'][0]:.1f} of "
          f"{len(bm.DATASETS[d][0])}, from {m}; packing 4 vs plain GAN: "
          f"{summary['pacgan4'][d]['modes'][0]:.1f} vs {summary['gan'][d]['modes'][0]:.1f} modes, "
          f"reverse KL {summary['pacgan4'][d]['reverse_kl'][0]:.2f} vs "
          f"{summary['gan'][d]['reverse_kl'][0]:.2f}")
if FAST:
    assert all(r.high_quality < 0.9 for r in runs), "the prose below says fast mode is not sharp"

# %% [markdown]
# Whether packing comes out ahead in runs this short, the line above says; PacGAN's gap
# (6.3 against 7.8 ring modes, 17.3 against 24.8 grid modes) comes from 400,000 steps and
# ten seeds. Read the table with three questions: how many modes, how sharp, how even. A collapsed run
# can be the sharpest in the table, so a sharpness score alone (high quality here, the
# confidence part of an Inception Score on MNIST) would rank it best: coverage has to be
# measured separately, and on several seeds, because one seed's outcome is an anecdote.
#
# The fast mode trains one seed of two contestants for 800 steps: enough to see where the
# mass goes (the snapshots, the modes captured), not to sharpen it, so its high-quality
# shares stay far below the real data's 98.9% (the cell below checks it). The full mode
# trains all six on both mixtures, two seeds each, for the same 800 steps; `docs/modes.md`
# has that table, and one with PacGAN's full-size networks, with the commands and costs.
#
# ## What you should now be able to do
#
# * Say what mode collapse is, and measure it on a mixture with known centres: modes
#   captured, high-quality share and reverse KL (`toy2d.pacgan_scores`), over several seeds.
# * Explain why alternating gradient steps let a generator collapse or hop between modes.
# * State the Wasserstein-1 distance in both forms, write the WGAN losses, and say what
#   weight clipping does, and what a histogram of clipped weights does and does not show.
# * Write the WGAN-GP penalty, explain why its gradient needs double backpropagation
#   (`create_graph=True`), and check it with `sg.gradcheck` and `sg.gradgradcheck`.
# * Explain why a packed discriminator punishes a generator that misses modes.
#
# ## Try this
#
# 1. Give WGAN Adam instead of RMSprop, or a clip of 0.1: add a contestant to
#    `bm.CONTESTANTS` (`dataclasses.replace(bm.CONTESTANTS["wgan"], clip=0.1)`) and compare
#    the weight histograms and the table.
# 2. Set WGAN-GP's penalty to 0: a WGAN with no Lipschitz constraint at all. What happens to
#    the critic's scores and the samples?
# 3. Train `gan` on ten seeds. In how many does it miss modes, and are the missed ones
#    neighbours?
# 4. Run `python -m scratchgan bench-modes --setup small --models gan,pacgan4 --seeds 3`
#    with more `--iterations`: when does the high-quality share pass 90%?
