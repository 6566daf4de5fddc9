# %% [markdown]
# # Lesson 7 — Mode collapse, and what WGAN, WGAN-GP and packing change
#
# A generator **collapses** when it covers only part of the data: it draws a few kinds of
# samples and misses the others, the "modes" it has lost. On MNIST that would be a generator
# that never draws a 2 (lesson 6 measured it with the digit histogram). Here we study collapse
# where it can be seen directly, on two-dimensional data: a **ring of 8 Gaussians**, the
# benchmark of Metz et al. (2017), and a **5 × 5 grid** of Gaussians. We train small GANs on
# the ring that are identical except for their objective, optimizer or discriminator input,
# and count how many of the 8 modes each one covers:
#
# 1. the data, and how to count covered modes and "high-quality" samples;
# 2. the contestants, and one training loop for all of them;
# 3. why the plain GAN (minimax D, non-saturating G) can collapse;
# 4. WGAN (Arjovsky et al. 2017): the Wasserstein distance, a critic, weight clipping,
#    RMSprop;
# 5. WGAN-GP (Gulrajani et al. 2017): a gradient penalty, double backpropagation, and a
#    gradient check of the penalty;
# 6. packing (PacGAN, Lin et al. 2018): D judges several samples at once;
# 7. all of them side by side: samples over training, and a table of mode coverage.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import functional as F
from scratchgan import losses, nn, optim
from scratchgan.data.toy2d import (grid_of_gaussians, mode_counts, mode_coverage,
                                   ring_of_gaussians)
from _lesson import FAST, save_figure, steps

sg.seed(0)
rng = np.random.default_rng(0)
print(f"fast mode: {FAST}   backend: {sg.backend.name}")

# %% [markdown]
# ## 1. The data, and how to count modes
#
# `scratchgan.data.toy2d` draws both mixtures. Each sample picks one of the $K$ centres
# $c_k$ uniformly and adds Gaussian noise:
#
# $$x = c_k + \sigma\,\varepsilon, \qquad k \sim \mathrm{Uniform}\{1, \dots, K\},
#   \quad \varepsilon \sim \mathcal N(0, I_2).$$
#
# * ring: $K = 8$ centres $c_k = 2\,(\cos\frac{2\pi k}{8}, \sin\frac{2\pi k}{8})$,
#   $\sigma = 0.02$ (the modes are tiny dots, 1.53 apart);
# * grid: $K = 25$ centres at $\{-4, -2, 0, 2, 4\}^2$, $\sigma = 0.05$.
#
# Because we know the centres, we can score a generator's samples without any classifier.
# This is how VEEGAN and PacGAN score them:
#
# * a sample is **high quality** when it lies within $3\sigma$ of its nearest centre. A real
#   sample does so with probability $1 - e^{-9/2} \approx 98.9\%$, since
#   $\lVert\varepsilon\rVert$ follows a Rayleigh distribution;
# * a mode is **covered** when at least a fifth of its fair share of the samples,
#   $0.2 \cdot n/K$, are high-quality samples nearest to it.
#
# On the ring, $3\sigma = 0.06$ is a strict test of sharpness. The final table also counts
# the modes a generator **reached**: covered by the same rule but with a radius of 0.3
# (a fifth of the 1.53 between neighbouring centres), which asks only whether $G$ put
# mass near each mode.
#
# `mode_coverage(samples, centres, std)` returns both numbers. A perfect generator scores
# $K$ modes and about 98.9%. A generator that collapsed onto one mode scores 1 mode,
# however sharp its samples. One that smears its samples around the ring scores few
# high-quality samples and perhaps no mode at all.

# %%
ring, ring_centres = ring_of_gaussians(2500, rng=rng)
grid, grid_centres = grid_of_gaussians(2500, rng=rng)
RING_STD, GRID_STD = 0.02, 0.05
for name, samples, centres, std in (("ring", ring, ring_centres, RING_STD),
                                     ("grid", grid, grid_centres, GRID_STD)):
    covered, quality = mode_coverage(samples, centres, std)
    print(f"real {name}: {samples.shape} {samples.dtype}, {len(centres)} modes, "
          f"covered {covered}, high quality {quality:.1%}")
    assert covered == len(centres) and quality > 0.97

collapsed = ring_centres[2] + RING_STD * rng.standard_normal((2500, 2))
print("a generator collapsed onto one mode:", mode_coverage(collapsed, ring_centres, RING_STD))

fig, axes = plt.subplots(1, 2, figsize=(11, 5.2))
for ax, name, samples, centres, std in ((axes[0], "ring of 8", ring, ring_centres, RING_STD),
                                         (axes[1], "5 × 5 grid", grid, grid_centres, GRID_STD)):
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.4, color="tab:blue", label="samples")
    for c in centres:
        ax.add_patch(plt.Circle(c, 3 * std, fill=False, color="tab:red", lw=0.8))
    ax.plot([], [], "o", mfc="none", color="tab:red", label="3σ around each centre")
    ax.set(title=f"{name}: σ = {std}", aspect="equal")
axes[0].set(xlim=(-2.6, 2.6), ylim=(-2.6, 2.6))
axes[1].set(xlim=(-5.3, 5.3), ylim=(-5.3, 5.3))
inset = axes[0].inset_axes((0.36, 0.36, 0.28, 0.28))
inset.scatter(ring[:, 0], ring[:, 1], s=2, alpha=0.4)
inset.add_patch(plt.Circle(ring_centres[0], 3 * RING_STD, fill=False, color="tab:red"))
inset.set(xlim=(1.88, 2.12), ylim=(-0.12, 0.12), xticks=[], yticks=[], aspect="equal",
          title="the mode at (2, 0), zoomed")
inset.title.set_fontsize(7)
axes[1].legend(loc="upper center", bbox_to_anchor=(-0.1, -0.06), ncol=2, fontsize=9)
save_figure(fig, "07_data")

# %% [markdown]
# ## 2. The contestants, and one training loop for all of them
#
# Every GAN below has the same two networks. $G$ is the generator of Metz et al.'s ring
# experiment: $z \in \mathbb R^{256}$, $z \sim \mathcal N(0, I)$ → 128 → 128 → 2 (ReLU).
# $D$ is deeper than theirs, with three hidden layers instead of one: 2 → 128 → 128 → 128 → 1
# (ReLU), so that the WGAN critics have room to approximate the Wasserstein distance. Each
# step draws batches of 256 fresh ring samples. The runs differ only in what the method
# changes:
#
# | method | D's loss | G's loss | D steps per G step | optimizer | extra |
# |---|---|---|---|---|---|
# | GAN | minimax $-[\log D(x) + \log(1 - D(G(z)))]$ | $-\log D(G(z))$ | 1 | Adam $10^{-3}$, β = (0.5, 0.999) | — |
# | WGAN | $D(G(z)) - D(x)$ | $-D(G(z))$ | 5 | RMSprop $10^{-4}$ | clip D's weights to $[-0.01, 0.01]$ |
# | WGAN-GP | $D(G(z)) - D(x) + \lambda(\lVert\nabla D(\hat x)\rVert - 1)^2$ | $-D(G(z))$ | 5 | Adam $3\cdot10^{-4}$, β = (0.5, 0.9) | λ = 10 |
# | PacGAN 2, 4 | minimax, on groups of 2 or 4 | $-\log D(G(z))$, on groups | 1 | as GAN | D's input: 2 × pack |
#
# The learning rates are higher than the papers' (WGAN $5\cdot10^{-5}$, WGAN-GP $10^{-4}$),
# to fit a few thousand steps. All of them decay linearly to 0 over the second half of
# training, which lets the samples settle onto the modes (the schedule of `lr_decay_from`,
# which the MNIST default starts at 80% of its run).
# Sections 3–6 explain each change. The loop is Algorithm 1 again (lesson 6, section 3), with
# three switches: the loss, the clipping and the packing.
#
# A GAN's outcome depends on its random start, so one run per method proves little. The
# three cheap methods (GAN, PacGAN 2, PacGAN 4) are trained with three seeds each. The two
# WGANs take five critic steps per generator step and are several times slower, so they get
# one seed. The full mode trains each for 4,000 generator steps: a few minutes in all. The
# fast mode trains 80 steps, far too few for any of what follows, and only checks that the
# code runs.

# %%
Z_DIM, HIDDEN, BATCH = 256, 128, 256


def make_generator():
    return nn.Sequential(nn.Linear(Z_DIM, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN),
                         nn.ReLU(), nn.Linear(HIDDEN, 2))


def make_discriminator(pack=1):
    return nn.Sequential(nn.Linear(2 * pack, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN),
                         nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 1))


METHODS = {
    "GAN": dict(loss="minimax", critic_steps=1, pack=1,
                optimizer=lambda params: optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))),
    "WGAN": dict(loss="wasserstein", critic_steps=5, pack=1, clip=0.01,
                 optimizer=lambda params: optim.RMSprop(params, lr=1e-4)),
    "WGAN-GP": dict(loss="wasserstein", critic_steps=5, pack=1, penalty=10.0,
                    optimizer=lambda params: optim.Adam(params, lr=3e-4, betas=(0.5, 0.9))),
    "PacGAN 2": dict(loss="minimax", critic_steps=1, pack=2,
                     optimizer=lambda params: optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))),
    "PacGAN 4": dict(loss="minimax", critic_steps=1, pack=4,
                     optimizer=lambda params: optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))),
}


def noise(n):
    return sg.Tensor(sg.backend.random_normal((n, Z_DIM)))


def train(method, n_steps, draw_data, snapshot_every, seed=0):
    """Train one GAN of METHODS; return G, D and {step: samples from a fixed z}."""
    m = METHODS[method]
    sg.seed(seed)
    data_rng = np.random.default_rng(seed)
    G, D = make_generator(), make_discriminator(m["pack"])
    opt_g, opt_d = m["optimizer"](G.parameters()), m["optimizer"](D.parameters())
    base_lr = opt_g.lr
    z_fixed = noise(2500)
    pack = m["pack"]

    def judge(x):                       # (N, 2) → (N / pack, 2·pack) → D → (N / pack, 1)
        return D(x.reshape(x.shape[0] // pack, 2 * pack) if pack > 1 else x)

    snapshots = {}
    for step in range(n_steps + 1):
        if step % snapshot_every == 0 or step == n_steps:
            with sg.no_grad():
                snapshots[step] = sg.to_numpy(G(z_fixed).data)
        if step == n_steps:
            break
        # linear decay to 0 over the second half
        opt_g.lr = opt_d.lr = base_lr * min(1.0, 2 * (1 - step / n_steps))
        for _ in range(m["critic_steps"]):                     # --- D (critic) steps
            real = sg.tensor(draw_data(BATCH, data_rng))
            with sg.no_grad():
                fake = G(noise(BATCH))
            if m["loss"] == "minimax":
                d_loss = losses.d_loss_minimax(judge(real), judge(fake))
            else:
                d_loss = losses.d_loss_wasserstein(D(real), D(fake))
                if "penalty" in m:
                    d_loss = d_loss + losses.gradient_penalty(D, real, fake, weight=m["penalty"])
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            if "clip" in m:                                    # WGAN: w ← clip(w, −c, c)
                for p in D.parameters():
                    p.data[...] = sg.get_array_module(p.data).clip(p.data, -m["clip"], m["clip"])
        with nn.frozen(D):                                     # --- G step
            scores = judge(G(noise(BATCH)))
            g_loss = (losses.g_loss_nonsaturating(scores) if m["loss"] == "minimax"
                      else losses.g_loss_wasserstein(scores))
            opt_g.zero_grad()
            g_loss.backward()
        opt_g.step()
    return G, D, snapshots


def draw_ring(n, rng):
    return ring_of_gaussians(n, rng=rng)[0]


N_STEPS = steps(4000, 80)
SNAPSHOT_EVERY = N_STEPS // 8
RUNS = [("GAN", 0), ("GAN", 1), ("GAN", 2), ("WGAN", 0), ("WGAN-GP", 0),
        ("PacGAN 2", 0), ("PacGAN 2", 1), ("PacGAN 2", 2),
        ("PacGAN 4", 0), ("PacGAN 4", 1), ("PacGAN 4", 2)]
results, seconds = {}, {}
for method, seed in RUNS:
    start = time.perf_counter()
    results[method, seed] = train(method, N_STEPS, draw_ring, SNAPSHOT_EVERY, seed=seed)
    seconds[method, seed] = time.perf_counter() - start
    final = results[method, seed][2][N_STEPS]
    print(f"{method:9s} seed {seed}: {N_STEPS} G steps in {seconds[method, seed]:5.1f} s, "
          f"{mode_coverage(final, ring_centres, RING_STD)}")

# %% [markdown]
# ## 3. Why the plain GAN can collapse
#
# Section 7 shows the runs side by side: two of the three GAN seeds end on 2 of the 8 modes.
# First, why that can happen.
#
# The game $\min_G \max_D V(D, G)$ is solved by $p_g = p_{\text{data}}$ (lesson 5), but
# training does not solve the game. It alternates single gradient steps, and a G step sees
# only $D$'s *local* slope where each fake lies. The loss $-\log D(G(z))$ rewards moving
# every fake uphill on $D$. Nothing in it asks the fakes to stay spread out. Against a
# fixed $D$, $G$'s best move is to send every $z$ to the one point $D$ rates highest.
# Goodfellow (2016, NIPS tutorial) puts it as a difference of order: alternating gradient
# steps need not find $\min_G \max_D$, and in $\max_D \min_G$ the inner
# minimisation collapses $G$ onto a single point. Two things can follow:
#
# * **mode hopping**: $D$ learns that the point is fake, $G$ moves on to the next spot $D$
#   likes, and so on around the ring. Metz et al. (2017) showed this on the ring;
# * **getting stuck**: $G$ settles on a few modes and stays. A plausible picture: at a
#   covered mode, real data and fakes mix, so $D$ is unsure there. An uncovered mode, where $D$ has seen only real data,
#   would be rated higher. But between the modes lies empty space where $D$ has seen
#   neither real nor fake samples, and nothing makes it rate that space highly. The fakes
#   would have to cross it, and a gradient step cannot. The generator sits in a local
#   optimum.
#
# Metz et al.'s fix, the **unrolled GAN**, lets $G$'s update look $k$ steps ahead. It
# differentiates through $k$ simulated updates of $D$, so that $G$ sees how $D$ would respond
# to its move. (It is not implemented here. It needs the gradient of an optimizer step,
# which is again double backpropagation, as in section 5.) The other fixes change the
# objective or what $D$ sees.
#
# ## 4. WGAN: a distance that does not saturate
#
# **The problem with the JSD.** Against the best discriminator, the GAN minimises the
# Jensen–Shannon divergence (lesson 5). When $p_g$ and $p_{\text{data}}$ have (nearly)
# disjoint supports, as a blob of fakes and eight tiny dots do, the JSD is $\log 2$ no
# matter how far apart they are. Arjovsky et al.'s example: a point mass at 0 against a
# point mass at $\theta$ gives $\mathrm{JSD} = \log 2$ for every $\theta \ne 0$, a function
# with zero gradient. A discriminator near the optimum saturates, and its gradient tells
# $G$ little about *where* the data is.
#
# **The Wasserstein-1 (earth mover's) distance** is the cost of the cheapest plan $\gamma$
# that moves the mass of $p_g$ onto $p_{\text{data}}$:
#
# $$W_1(p_{\text{data}}, p_g) = \inf_{\gamma \in \Pi(p_{\text{data}}, p_g)}
#   \mathbb E_{(x, y) \sim \gamma} \lVert x - y \rVert
#   = \sup_{\lVert f \rVert_L \le 1} \; \mathbb E_{x \sim p_{\text{data}}}[f(x)]
#     - \mathbb E_{z}[f(G(z))].$$
#
# In the example, $W_1 = |\theta|$, which shrinks smoothly as the fakes approach. The second
# form (Kantorovich–Rubinstein duality) is a maximisation over **1-Lipschitz** functions $f$,
# functions with $|f(x) - f(y)| \le \lVert x - y\rVert$. A network can do it. The
# discriminator becomes a **critic** $D$ that outputs an unbounded score, not a probability:
#
# $$L_D = \mathbb E_z[D(G(z))] - \mathbb E_x[D(x)] \quad(\texttt{d\_loss\_wasserstein}),
#   \qquad L_G = -\mathbb E_z[D(G(z))] \quad(\texttt{g\_loss\_wasserstein}).$$
#
# Why it should help against collapse: the critic is trained toward the supremum (5 steps
# per G step) and does not saturate. The optimal critic has gradient norm 1 along the
# straight line from each fake to the real point the cheapest plan sends it to (Gulrajani
# et al., Proposition 1), and those lines cross the empty space between modes. So its
# gradient at a fake points along the cheapest way to move mass onto the data. Fakes piled
# on one mode are pulled toward the modes with missing mass, because that lowers $W_1$:
# there is no flat gap to get stuck in. Arjovsky et al. report that they saw no mode
# collapse in their experiments.
#
# **Weight clipping.** The supremum is over Lipschitz functions, so the critic must be kept
# Lipschitz. WGAN does it crudely: after every critic step, each weight is clipped to
# $[-c, c]$ with $c = 0.01$. A network with bounded weights is $K$-Lipschitz for some $K$,
# which only rescales $W_1$. Arjovsky et al. found training unstable with momentum-based
# optimizers such as Adam under clipping, so WGAN uses RMSprop. Gulrajani et al. point out the
# price: to make the most of its tiny weights, the critic pushes most of them to the bounds
# $\pm c$, and it can then only represent very simple functions. The histogram below shows
# where our WGAN critic's weights ended up.

# %%
_, D_wgan, _ = results["WGAN", 0]
weights = np.concatenate([sg.to_numpy(p.data).ravel() for name, p in D_wgan.named_parameters()
                          if name.endswith("weight")])
at_bound = float((np.abs(weights) > 0.99 * 0.01).mean())
print(f"WGAN critic: {weights.size} weights, {at_bound:.0%} of them within 1% of ±c = ±0.01")
fig, ax = plt.subplots(figsize=(7, 3))
ax.hist(weights, bins=np.linspace(-0.0105, 0.0105, 43), color="tab:purple")
ax.set(xlabel="weight value", ylabel="count",
       title=f"WGAN critic after {N_STEPS} steps: {at_bound:.0%} of the weights at ±c")
save_figure(fig, "07_wgan_clipped_weights")

# %% [markdown]
# ## 5. WGAN-GP: a penalty on the gradient, and double backpropagation
#
# Gulrajani et al. replace clipping by a soft constraint. A differentiable $f$ is
# 1-Lipschitz exactly when $\lVert\nabla f\rVert \le 1$ everywhere, and the optimal critic
# has gradient norm exactly 1 along the lines between coupled real and fake points. So they
# penalise the deviation from 1 at random points $\hat x$ on such lines:
#
# $$L_D = \mathbb E_z[D(G(z))] - \mathbb E_x[D(x)]
#   + \lambda\, \mathbb E_{\hat x}\Big[\big(\lVert \nabla_{\hat x} D(\hat x) \rVert_2 - 1\big)^2\Big],
#   \qquad \hat x = \epsilon x + (1 - \epsilon) G(z), \;\; \epsilon \sim U[0, 1],$$
#
# with $\lambda = 10$ (`losses.gradient_penalty`). They also drop RMSprop for Adam with
# $\beta = (0.5, 0.9)$.
#
# **Double backpropagation.** The penalty contains a gradient, $\nabla_{\hat x} D$. To
# descend $L_D$, the critic's optimizer needs the gradient of the penalty with respect to
# $D$'s weights $\theta$, that is, the derivative of a derivative:
#
# $$\frac{\partial}{\partial \theta}\,\big(\lVert \nabla_{\hat x} D_\theta(\hat x)\rVert - 1\big)^2
#   = 2\big(\lVert g\rVert - 1\big)\,\frac{g^\top}{\lVert g \rVert}\,
#     \frac{\partial^2 D_\theta(\hat x)}{\partial \theta\, \partial \hat x},
#   \qquad g = \nabla_{\hat x} D_\theta(\hat x).$$
#
# `gradient_penalty` computes $g$ with `sg.grad(..., create_graph=True)`. Because every op's
# backward in scratchgan is built from differentiable ops (lesson 2), the backward pass
# itself is recorded as a graph. The penalty is an ordinary function of $\theta$ built from
# that graph, and `backward()` differentiates it. If one op's backward were written with raw
# arrays, the penalty's gradient would be silently wrong.
#
# So we check it. On a small critic in float64, written as a function of its weights:
#
# * `sg.gradcheck` compares the penalty's gradient with respect to the weights, the one
#   the optimizer uses and the one computed by double backpropagation, with finite
#   differences;
# * `sg.gradgradcheck` goes one order further and checks the penalty's second derivatives.
#   This needs the backward of the backward of the backward to be right.
#
# The penalty draws a random $\epsilon$ per sample. The check evaluates it many times, so
# each evaluation replays the same random numbers.

# %%
check_rng = np.random.default_rng(1)
real_pts = sg.tensor(check_rng.standard_normal((6, 2)))                 # float64
fake_pts = sg.tensor(check_rng.standard_normal((6, 2)))
shapes = [(8, 2), (8,), (8, 8), (8,), (1, 8), (1,)]                     # 2 → 8 → 8 → 1
weights0 = [check_rng.standard_normal(s) * 0.7 for s in shapes]
eps_state = sg.backend.rng_state()


def penalty_of_weights(W1, b1, W2, b2, W3, b3):
    """λ·E[(‖∇D(x̂)‖ − 1)²] for the ReLU critic with these weights, the same ε every call."""
    def critic(x):
        return F.linear(F.relu(F.linear(F.relu(F.linear(x, W1, b1)), W2, b2)), W3, b3)
    sg.backend.set_rng_state(eps_state)
    return losses.gradient_penalty(critic, real_pts, fake_pts, weight=10.0)


start = time.perf_counter()
print("penalty:", float(penalty_of_weights(*[sg.tensor(w) for w in weights0]).item()))
print("gradcheck (the penalty's gradient w.r.t. the weights):",
      sg.gradcheck(penalty_of_weights, weights0, name="gradient_penalty"))
print("gradgradcheck (its second derivatives):",
      sg.gradgradcheck(penalty_of_weights, weights0, name="gradient_penalty"))
print(f"both checks: {time.perf_counter() - start:.1f} s")

# %% [markdown]
# Both pass. The gradient that WGAN-GP's critic descends is the true one.
#
# What would a mistake look like? Here is the penalty written with `create_graph=False`,
# a natural slip. $g$ is then computed correctly, but as a constant, cut off from the
# weights. The penalty's value is right and its gradient with respect to $\theta$ is zero.
# Training would run and quietly ignore the penalty. The gradient check catches it at once.

# %%
def penalty_without_create_graph(critic, real, fake, weight=10.0):
    eps = sg.Tensor(sg.backend.random_uniform((real.shape[0], 1), dtype=real.dtype))
    x_hat = eps * real + (1 - eps) * fake
    x_hat.requires_grad = True
    (g,) = sg.grad(critic(x_hat).sum(), [x_hat], create_graph=False)   # the slip
    norms = ((g * g).sum(axis=1) + 1e-12) ** 0.5
    return weight * ((norms - 1) ** 2).mean()


def broken_penalty_of_weights(W1, b1, W2, b2, W3, b3):
    def critic(x):
        return F.linear(F.relu(F.linear(F.relu(F.linear(x, W1, b1)), W2, b2)), W3, b3)
    sg.backend.set_rng_state(eps_state)
    return penalty_without_create_graph(critic, real_pts, fake_pts)


same_value = np.isclose(penalty_of_weights(*[sg.tensor(w) for w in weights0]).item(),
                        broken_penalty_of_weights(*[sg.tensor(w) for w in weights0]).item())
print(f"same penalty value: {same_value}")
try:
    sg.gradcheck(broken_penalty_of_weights, weights0, name="penalty, create_graph=False")
    raise AssertionError("the gradient check should have failed")
except sg.GradcheckError as report:
    print("\n".join(str(report).splitlines()[:4] + ["  ..."] +
                    [line for line in str(report).splitlines() if "hint" in line][:1]))

# %% [markdown]
# ## 6. Packing
#
# PacGAN (Lin et al. 2018) leaves the loss alone and changes what $D$ sees: $m$ samples at
# once, all real or all fake, concatenated into one input of $2m$ numbers. Lesson 6
# (section 4) gave the intuition with digits. On the ring it is even simpler. Suppose $G$
# covers 2 of the 8 modes, evenly. Two real samples come from the same mode with probability
# $1/8$; two fakes with probability $1/2$. A single sample from a covered mode looks real.
# A *pair* drawn from the same mode is suspicious, and the packed $D$ can learn exactly that.
# Its gradient then pushes $G$ to spread its mass. Lin et al. prove that packing
# penalises distributions that miss mass more strongly than those that are slightly off
# everywhere, and that the effect grows with $m$. The price is small: $D$'s first layer gets
# $2m$ inputs instead of 2, and each batch of 256 samples gives $256/m$ verdicts.
#
# ## 7. The GANs side by side
#
# Each row is one run, each column a moment in training. The samples always come from the
# same 2,500 noise vectors, and the red dots are the 8 centres. The corner of each panel
# gives the modes covered and the share of high-quality samples. All runs use seed 0, plus
# the GAN's seeds 1 and 2, because its result depends on the seed.

# %%
SHOWN_RUNS = [("GAN", 0), ("GAN", 1), ("GAN", 2), ("WGAN", 0), ("WGAN-GP", 0),
              ("PacGAN 2", 0), ("PacGAN 4", 0)]
snapshot_steps = sorted(results["GAN", 0][2])
shown_steps = sorted({N_STEPS * k // 8 for k in (1, 2, 3, 4, 6, 8)} & set(snapshot_steps))
fig, axes = plt.subplots(len(SHOWN_RUNS), len(shown_steps), squeeze=False,
                         figsize=(2.1 * len(shown_steps), 2.1 * len(SHOWN_RUNS)))
for row, (method, seed) in zip(axes, SHOWN_RUNS):
    for ax, step in zip(row, shown_steps):
        samples = results[method, seed][2][step]
        ax.scatter(samples[:, 0], samples[:, 1], s=1, alpha=0.25, color="tab:blue")
        ax.scatter(ring_centres[:, 0], ring_centres[:, 1], s=10, color="tab:red")
        ax.set(xlim=(-3, 3), ylim=(-3, 3), xticks=[], yticks=[], aspect="equal")
        covered, quality = mode_coverage(samples, ring_centres, RING_STD)
        ax.text(0.03, 0.03, f"{covered}/8, {quality:.0%}", transform=ax.transAxes, fontsize=7)
    row[0].set_ylabel(f"{method}, seed {seed}", fontsize=9)
for ax, step in zip(axes[0], shown_steps):
    ax.set_title(f"step {step}", fontsize=9)
fig.suptitle("Samples over training on the ring (corner: modes covered, high-quality share)")
fig.tight_layout(rect=(0, 0, 1, 0.975))
save_figure(fig, "07_ring_samples_over_training")

# %%
colors = dict(zip(METHODS, ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]))
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8))
for (method, seed), (_, _, snaps) in results.items():
    coverage = [mode_coverage(snaps[s], ring_centres, RING_STD) for s in snapshot_steps]
    style = dict(color=colors[method], ls=["-", "--", ":"][seed], marker="o", ms=3,
                 label=f"{method}, seed {seed}")
    left.plot(snapshot_steps, [c.modes_covered for c in coverage], **style)
    right.plot(snapshot_steps, [c.high_quality for c in coverage], **style)
left.set(xlabel="G step", ylabel="modes covered (of 8)", ylim=(-0.3, 8.3),
         title="Modes covered over training")
right.set(xlabel="G step", ylabel="share within 3σ of a centre", ylim=(0, 1),
          title="High-quality samples over training")
right.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
save_figure(fig, "07_coverage_over_training")

# %% [markdown]
# And the final numbers, from the 2,500 samples of each run's last column:

# %%
REACH = 0.3       # a looser yardstick: within 0.3 of a centre (neighbours are 1.53 apart)


def table_row(name, samples, secs=None):
    strict = mode_coverage(samples, ring_centres, RING_STD)
    loose = mode_coverage(samples, ring_centres, REACH / 3)    # 3 · (0.3 / 3) = 0.3
    fewest = mode_counts(samples, ring_centres, RING_STD).min()
    print(f"{name:20s}{strict.modes_covered:>6d}/8{strict.high_quality:>14.1%}"
          f"{fewest:>10d}{loose.modes_covered:>10d}/8"
          + (f"{secs:>9.1f}" if secs is not None else ""))
    return strict, loose


print(f"ring, {N_STEPS} G steps, 2,500 samples each")
print(f"{'':20s}{'covered':>8s}{'high quality':>14s}{'fewest':>10s}{'reached':>12s}"
      f"{'seconds':>9s}")
print(f"{'':20s}{'(≤ 0.06)':>8s}{'(≤ 3σ)':>14s}{'per mode':>10s}{'(≤ 0.3)':>12s}")
table = {"real data": table_row("real data", ring)}
for method, seed in RUNS:
    table[method, seed] = table_row(f"{method}, seed {seed}",
                                    results[method, seed][2][N_STEPS], seconds[method, seed])

# %% [markdown]
# What the full run's table and figures show (the fast mode's 80 steps show none of it).
#
# * **GAN.** The same networks and optimizer give different outcomes from different seeds.
#   Seed 0 ends on all 8 modes, and sharply. Seeds 1 and 2 find 2 neighbouring modes
#   early and never leave them: "modes covered" stays at 2 for almost the whole run while
#   the high-quality share climbs past 90%. That is the stuck kind of collapse of section 3.
#   The collapsed runs are the *sharpest* in the table. A sharpness score alone (high
#   quality here, or the confidence part of an Inception Score on MNIST) would rank them
#   best. Coverage has to be measured separately.
# * **WGAN (clipping).** It does not pile its samples on a few modes. In 4,000 steps it does
#   not concentrate them on the ring either: they start as a cloud over the whole square and
#   drift slowly toward the ring, reaching few modes and covering none. The histogram of
#   section 4 shows why it is slow: most critic weights sit at $\pm c$, so the critic is
#   a very restricted function.
# * **WGAN-GP.** It spreads over the whole ring, reaches all 8 modes, and is still
#   sharpening when the run ends: its high-quality share rises steadily but stays well below
#   the GAN's. Per generator step it is also the slowest (five critic steps, each with a
#   double backward pass).
# * **PacGAN.** The discriminator's loss is the GAN's, and only its input changed. All
#   three seeds of both packed variants reach most modes or all of them. Packing 4 reaches
#   all 8 in every seed. In this budget it is the cheapest fix, at the cost of a
#   high-quality share below the uncollapsed GAN's.
#
# Keep the scale of this experiment in mind: one small network, 4,000 generator steps, one
# to three seeds. The WGAN-GP run was still improving when it stopped, and with more steps
# or other learning rates the order could change; this lesson did not test that. Its point
# is the method: look at the samples, count the modes and the quality separately, and run
# more than one seed.
#
# ## What you should now be able to do
#
# * Say what mode collapse is, and measure it on a mixture with known centres: modes covered
#   and the share of high-quality samples (`scratchgan.data.toy2d.mode_coverage`).
# * Explain why alternating gradient steps let a GAN's generator collapse, and what the
#   unrolled GAN does about it.
# * State the Wasserstein-1 distance in both forms, write the WGAN critic and generator
#   losses, and explain weight clipping, why RMSprop, and what clipping costs.
# * Write the WGAN-GP penalty, explain why its gradient needs double backpropagation
#   (`create_graph=True`), and check it with `sg.gradcheck` and `sg.gradgradcheck`.
# * Explain why a packed discriminator punishes a generator that misses modes.
#
# ## Try this
#
# 1. Give WGAN Adam instead of RMSprop (`optim.Adam(params, lr=1e-4, betas=(0.5, 0.9))`),
#    or a clip of 0.1 instead of 0.01. Watch the weight histogram and the coverage.
# 2. Set WGAN-GP's `penalty` to 0: what is left is a WGAN with no Lipschitz constraint at
#    all. What happens to the critic's scores and to the samples?
# 3. Train the GAN with more seeds (`train("GAN", N_STEPS, draw_ring, 500, seed=s)`). In
#    how many does it collapse? Onto how many modes, and are they always neighbours?
# 4. Repeat the comparison on the 5 × 5 grid: `train(method, N_STEPS, draw_grid, 500)`,
#    scored with `mode_coverage(samples, grid_centres, GRID_STD)`. Twenty-five modes
#    spread over a larger square: how many does each method cover in 4,000 steps, and what
#    do you have to change (steps, learning rate, width) to cover more?
