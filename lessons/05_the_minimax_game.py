# %% [markdown]
# # Lesson 5 — The minimax game
#
# A generative adversarial network (Goodfellow et al., 2014) trains two networks against
# each other:
#
# * the **generator** $G$ turns random noise $z \sim p_z$ into a sample $G(z)$; the
#   distribution of its samples is called $p_g$;
# * the **discriminator** $D$ looks at a sample $x$ and outputs $D(x) \in (0, 1)$, its
#   probability that $x$ came from the data ($p_{\text{data}}$) rather than from $G$.
#
# Both play one game, with one **value function**:
#
# $$V(D, G) = \mathbb{E}_{x \sim p_{\text{data}}}\big[\log D(x)\big]
#           + \mathbb{E}_{z \sim p_z}\big[\log\big(1 - D(G(z))\big)\big],
#   \qquad \min_G \max_D V(D, G).$$
#
# $D$ wants $V$ large: $D(x)$ near 1 on real samples and $D(G(z))$ near 0 on fakes. $G$
# wants $V$ small: fakes that $D$ takes for real. This lesson works out what that game is
# really optimising, on a problem small enough to draw: one-dimensional Gaussians. Then we
# check the theory with networks trained by scratchgan.
#
# 1. the best discriminator for a fixed generator, $D^*$, derived and drawn;
# 2. the value of the game against $D^*$: $-\log 4 + 2\,\mathrm{JSD}(p_{\text{data}}\,\|\,p_g)$;
# 3. a discriminator network trained with `d_loss_minimax` approaches $D^*$;
# 4. a tiny GAN moves $p_g$ onto $p_{\text{data}}$;
# 5. why the generator loss of the minimax game stalls early in training, and the fix.

# %%
import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import functional as F
from scratchgan import losses, nn, optim
from _lesson import FAST, save_figure, steps

sg.seed(0)
rng = np.random.default_rng(0)
print(f"fast mode: {FAST}   backend: {sg.backend.name}")
LOG4 = np.log(4.0)

# %% [markdown]
# ## 1. The optimal discriminator
#
# Fix $G$. The second expectation is over $z$, but $G(z)$ is just a sample of $p_g$, so it
# is also an expectation over $x \sim p_g$. Writing both expectations as integrals,
#
# $$V(D, G) = \int \Big[\,p_{\text{data}}(x)\,\log D(x) + p_g(x)\,\log\big(1 - D(x)\big)\Big]\,dx .$$
#
# Suppose $D$ may be any function (a network large enough). Then it can pick the number
# $D(x)$ separately at each $x$, and the integral is largest when each integrand is. At one
# $x$, write $a = p_{\text{data}}(x)$, $b = p_g(x)$ and $y = D(x)$. We maximise
#
# $$f(y) = a \log y + b \log(1 - y), \qquad f'(y) = \frac{a}{y} - \frac{b}{1 - y} = 0
#   \;\Longleftrightarrow\; a(1 - y) = b\,y \;\Longleftrightarrow\; y = \frac{a}{a + b},$$
#
# and $f''(y) = -a/y^2 - b/(1-y)^2 < 0$, so this is the maximum. Hence
#
# $$\boxed{D^*(x) = \frac{p_{\text{data}}(x)}{p_{\text{data}}(x) + p_g(x)}}$$
#
# Where only real data can appear, $D^* = 1$; where only fakes can, $D^* = 0$; where both
# are equally likely, $D^* = 1/2$. Dividing top and bottom by $p_g$ gives
# $D^* = \sigma(r)$ with
#
# $$r(x) = \log p_{\text{data}}(x) - \log p_g(x):$$
#
# the optimal **logit** is the log density ratio. This is why scratchgan's discriminators
# output a logit and its losses work with $\log\sigma(\text{logit})$: the logit is the
# quantity $D$ estimates.
#
# For our Gaussians, $\log \mathcal N(x; \mu, s) = -\tfrac12\big((x - \mu)/s\big)^2 -
# \log s - \tfrac12\log 2\pi$, so $r(x)$ is a quadratic in $x$. We take
# $p_{\text{data}} = \mathcal N(4, 1)$ (we write $\mathcal N(\mu, \sigma^2)$) and compute
# everything on a fine grid. We use scratchgan's `sigmoid` and `log_sigmoid`, which are
# stable for any logit: far in the tails $D^*$ rounds to 0 or 1, and `log(sigmoid(r))`
# would give $-\infty$ where `log_sigmoid(r)` gives the right number.

# %%
MU_DATA, SIGMA_DATA = 4.0, 1.0
xs = np.linspace(-20.0, 28.0, 9601)          # the integration grid
dx = xs[1] - xs[0]


def log_normal(x, mu, sigma):
    return -0.5 * ((x - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def integrate(values):
    """∫ values dx on the uniform grid xs (the integrands vanish at both ends)."""
    return values.sum() * dx


def optimal_logit(x, mu_g, sigma_g):
    """r(x) = log p_data(x) − log p_g(x): the logit of D*."""
    return log_normal(x, MU_DATA, SIGMA_DATA) - log_normal(x, mu_g, sigma_g)


def d_star(x, mu_g, sigma_g):
    """D*(x) = p_data / (p_data + p_g) = σ(r(x))."""
    return F.sigmoid(sg.tensor(optimal_logit(x, mu_g, sigma_g))).numpy()


def value(log_d, log_one_minus_d, mu_g, sigma_g):
    """V(D, G) = ∫ p_data log D + p_g log(1 − D) dx, given log D and log(1 − D) on xs."""
    p_data = np.exp(log_normal(xs, MU_DATA, SIGMA_DATA))
    p_g = np.exp(log_normal(xs, mu_g, sigma_g))
    return integrate(p_data * log_d + p_g * log_one_minus_d)


def value_at_optimum(mu_g, sigma_g):
    """C(G) = V(D*, G), with log D* = log σ(r) and log(1 − D*) = log σ(−r)."""
    r = sg.tensor(optimal_logit(xs, mu_g, sigma_g))
    return value(F.log_sigmoid(r).numpy(), F.log_sigmoid(-r).numpy(), mu_g, sigma_g)


# the ratio formula and the logit form agree wherever the densities are not negligible
p_d, p_g = np.exp(log_normal(xs, 4, 1)), np.exp(log_normal(xs, 1.5, 2))
mask = (p_d + p_g) > 1e-12
assert np.allclose(d_star(xs, 1.5, 2)[mask], (p_d / (p_d + p_g))[mask], atol=1e-12)

# %% [markdown]
# Here is $D^*$ for four generators, each closer to the data than the one before. Where the
# red curve ($p_g$) dominates, $D^*$ drops toward 0; where the black one ($p_{\text{data}}$)
# dominates, $D^*$ rises toward 1. Once $p_g = p_{\text{data}}$, $D^* = 1/2$ everywhere: the
# best discriminator can only guess. In the first panel $D^*$ rises again at the far left.
# That is not a mistake: $p_g$ ($\sigma = 0.5$) has thinner tails than $p_{\text{data}}$, so
# far enough out, a sample is more likely to be real, however rare both are there.

# %%
GENERATORS = [(0.0, 0.5), (1.5, 2.0), (3.0, 1.3), (4.0, 1.0)]      # (μ, σ) of p_g
fig, axes = plt.subplots(1, 4, figsize=(16, 3.6), sharey=True)
view = (xs > -4) & (xs < 10)
for ax, (mu_g, sigma_g) in zip(axes, GENERATORS):
    ax.fill_between(xs[view], np.exp(log_normal(xs, MU_DATA, SIGMA_DATA))[view],
                    color="black", alpha=0.15)
    ax.plot(xs[view], np.exp(log_normal(xs, MU_DATA, SIGMA_DATA))[view], "k", label="p_data")
    ax.plot(xs[view], np.exp(log_normal(xs, mu_g, sigma_g))[view], color="tab:red", label="p_g")
    ax.plot(xs[view], d_star(xs, mu_g, sigma_g)[view], color="tab:blue", lw=2.5, label="D*(x)")
    ax.axhline(0.5, color="tab:blue", ls=":", lw=1)
    c = value_at_optimum(mu_g, sigma_g)
    ax.set(title=f"p_g = N({mu_g:g}, {sigma_g:g}²)\nV(D*, G) = {c:.3f}", xlabel="x",
           ylim=(0, 1.05))
axes[3].legend(loc="upper left", fontsize=9)
fig.suptitle("The optimal discriminator D* = p_data / (p_data + p_g) as p_g moves onto "
             "p_data = N(4, 1)", y=1.08)
save_figure(fig, "05_optimal_discriminator")
assert np.allclose(d_star(xs, MU_DATA, SIGMA_DATA), 0.5)

# %% [markdown]
# ## 2. The value of the game against the best discriminator
#
# Put $D^*$ back into $V$ and call the result $C(G) = \max_D V(D, G)$: what $G$ minimises
# when $D$ always answers optimally. With the mixture $m = \tfrac12(p_{\text{data}} + p_g)$,
# so that $p_{\text{data}} + p_g = 2m$,
#
# $$\begin{aligned}
# C(G) &= \mathbb{E}_{p_{\text{data}}}\Big[\log \frac{p_{\text{data}}}{p_{\text{data}} + p_g}\Big]
#       + \mathbb{E}_{p_g}\Big[\log \frac{p_g}{p_{\text{data}} + p_g}\Big]
#       = \mathbb{E}_{p_{\text{data}}}\Big[\log \frac{p_{\text{data}}}{2m}\Big]
#       + \mathbb{E}_{p_g}\Big[\log \frac{p_g}{2m}\Big] \\
#      &= -\log 4 + \mathrm{KL}(p_{\text{data}}\,\|\,m) + \mathrm{KL}(p_g\,\|\,m)
#       = -\log 4 + 2\,\mathrm{JSD}(p_{\text{data}}\,\|\,p_g),
# \end{aligned}$$
#
# where $\mathrm{KL}(p\,\|\,q) = \mathbb{E}_p[\log p/q] \ge 0$ is the Kullback–Leibler
# divergence and $\mathrm{JSD}(p\,\|\,q) = \tfrac12\mathrm{KL}(p\,\|\,m) +
# \tfrac12\mathrm{KL}(q\,\|\,m)$ the **Jensen–Shannon divergence**. The JSD lies between 0
# (only when $p_g = p_{\text{data}}$) and $\log 2$ (when the two never overlap). So:
#
# * $C(G) \ge -\log 4 \approx -1.386$, with equality **exactly when $p_g = p_{\text{data}}$**:
#   the game's solution is a generator that reproduces the data distribution;
# * $C(G) \to 0$ as the two distributions stop overlapping.
#
# Training $G$ against a perfect $D$ minimises a divergence between $p_g$ and the data.
# Let us check the identity numerically, computing the JSD separately from its definition.

# %%
def jsd(mu_g, sigma_g):
    """½ KL(p_data ‖ m) + ½ KL(p_g ‖ m), m = ½(p_data + p_g), from the log densities."""
    log_p_data = log_normal(xs, MU_DATA, SIGMA_DATA)
    log_p_g = log_normal(xs, mu_g, sigma_g)
    log_m = np.logaddexp(log_p_data, log_p_g) - np.log(2)
    kl_data = integrate(np.exp(log_p_data) * (log_p_data - log_m))
    kl_g = integrate(np.exp(log_p_g) * (log_p_g - log_m))
    return 0.5 * kl_data + 0.5 * kl_g


for mu_g, sigma_g in GENERATORS + [(-10.0, 1.0)]:
    c, j = value_at_optimum(mu_g, sigma_g), jsd(mu_g, sigma_g)
    print(f"p_g = N({mu_g:5.1f}, {sigma_g:g}²):  C(G) = {c:+.6f}   −log 4 + 2·JSD = "
          f"{-LOG4 + 2 * j:+.6f}   JSD = {j:.4f}  (log 2 = {np.log(2):.4f})")
    assert abs(c - (-LOG4 + 2 * j)) < 1e-9
assert abs(value_at_optimum(MU_DATA, SIGMA_DATA) + LOG4) < 1e-9     # −log 4 at p_g = p_data
assert value_at_optimum(-10.0, 1.0) > -1e-6                         # no overlap: C → 0

# %% [markdown]
# Now slide $p_g = \mathcal N(\mu, \sigma^2)$ across the data. With $\sigma = 1$, $C$ reaches
# $-\log 4$ at $\mu = 4$, where $p_g = p_{\text{data}}$ exactly. With the wrong width it
# cannot get there, whatever $\mu$ is.

# %%
mus = np.linspace(-6, 14, steps(201, 81))
sweep = {s: np.array([value_at_optimum(mu, s) for mu in mus]) for s in (0.5, 1.0, 2.0)}
fig, ax = plt.subplots(figsize=(8, 4.5))
for (s, curve), color in zip(sweep.items(), ["tab:orange", "tab:blue", "tab:green"]):
    ax.plot(mus, curve, color=color, lw=2, label=f"p_g = N(μ, {s:g}²)")
ax.axhline(-LOG4, color="black", ls="--", lw=1)
ax.text(-5.5, -LOG4 + 0.03, "−log 4: only p_g = p_data reaches it", fontsize=9)
ax.axhline(0, color="0.5", ls=":", lw=1)
ax.text(-5.5, 0.03, "0: no overlap (JSD = log 2)", fontsize=9, color="0.4")
ax.axvline(MU_DATA, color="0.7", lw=1)
ax.set(xlabel="μ, the mean of p_g", ylabel="C(G) = V(D*, G)", ylim=(-1.5, 0.15),
       title="The value of the game against the optimal D  (p_data = N(4, 1))")
ax.legend(loc="lower right")
save_figure(fig, "05_value_vs_mu")

best = int(np.argmin(sweep[1.0]))
print(f"σ = 1: minimum {sweep[1.0][best]:.6f} at μ = {mus[best]:.2f};   "
      f"σ = 0.5: minimum {sweep[0.5].min():.4f};   σ = 2: minimum {sweep[2.0].min():.4f}")
assert abs(mus[best] - MU_DATA) < 1e-9 and abs(sweep[1.0][best] + LOG4) < 1e-9
assert all(curve.min() > -LOG4 + 0.05 for s, curve in sweep.items() if s != 1.0)
assert all((curve >= -LOG4 - 1e-12).all() for curve in sweep.values())

# %% [markdown]
# The curves for $\sigma = 0.5$ and $\sigma = 2$ have the same minimum, at $\mu = 4$. That is
# no accident: stretch the $x$ axis by 2 and the pair $\mathcal N(4, 0.5^2)$,
# $\mathcal N(4, 1)$ becomes the pair $\mathcal N(8, 1)$, $\mathcal N(8, 2^2)$, and the JSD
# does not change under a change of variables. What the game measures is how much the two
# distributions overlap, not where they sit on the axis.

# %% [markdown]
# ## 3. A discriminator network learns $D^*$
#
# So far $D^*$ came from formulas that need the densities, which in real problems we do not
# have: we only have **samples**. A discriminator network estimates $D^*$ from samples
# alone. It is trained to maximise $V$, that is, to minimise
#
# $$L_D = -\frac1N\sum_{i}\Big[\log D(x_i) + \log\big(1 - D(G(z_i))\big)\Big],$$
#
# the batch estimate of $-V$. This is `losses.d_loss_minimax(real_logits, fake_logits)`,
# computed from logits with `log_sigmoid`. Here $p_g = \mathcal N(1, 1.5^2)$ stays **fixed**
# and we train only $D$, a $1 \to 32 \to 32 \to 1$ LeakyReLU MLP, with Adam on fresh batches
# of 256 real and 256 fake samples at every step.

# %%
MU_FIXED, SIGMA_FIXED = 1.0, 1.5


def make_discriminator():
    return nn.Sequential(nn.Linear(1, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32),
                         nn.LeakyReLU(0.2), nn.Linear(32, 1))


def samples(mu, sigma, n):
    return sg.tensor((mu + sigma * rng.standard_normal((n, 1))).astype(np.float32))


sg.seed(0)
D = make_discriminator()
opt_d = optim.Adam(D.parameters(), lr=3e-3, betas=(0.5, 0.999))
n_d_steps = steps(2000, 400)
d_losses = []
for step in range(n_d_steps):
    opt_d.lr = 3e-3 * (1 - step / n_d_steps)      # decay to 0: averages out batch noise
    real = samples(MU_DATA, SIGMA_DATA, 256)
    fake = samples(MU_FIXED, SIGMA_FIXED, 256)
    loss = losses.d_loss_minimax(D(real), D(fake))        # −V, estimated on the batch
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    d_losses.append(loss.item())

with sg.no_grad():
    learned_logit = D(sg.tensor(xs[:, None].astype(np.float32))).numpy()[:, 0].astype(np.float64)
learned_d = 1 / (1 + np.exp(-learned_logit))
target_d = d_star(xs, MU_FIXED, SIGMA_FIXED)
p_mix = 0.5 * (np.exp(log_normal(xs, MU_DATA, SIGMA_DATA)) +
               np.exp(log_normal(xs, MU_FIXED, SIGMA_FIXED)))
seen = p_mix > 0.01                    # where samples actually land
worst = np.abs(learned_d - target_d)[seen].max()
c_fixed = value_at_optimum(MU_FIXED, SIGMA_FIXED)
lt = sg.tensor(learned_logit)
v_learned = value(F.log_sigmoid(lt).numpy(), F.log_sigmoid(-lt).numpy(), MU_FIXED, SIGMA_FIXED)
v_half = value(np.log(0.5), np.log(0.5), MU_FIXED, SIGMA_FIXED)     # D ≡ 1/2: −log 4
print(f"after {n_d_steps} steps: max |D − D*| where samples land = {worst:.3f}")
print(f"V(D, G) = {v_learned:.4f}   V(D*, G) = {c_fixed:.4f}   gap {c_fixed - v_learned:.4f}"
      f"   (D ≡ 1/2 would give {v_half:.4f})")
print(f"last 50 batches: mean L_D = {np.mean(d_losses[-50:]):.4f}, −V(D*, G) = {-c_fixed:.4f}")
assert worst < 0.05                                    # a constant 1/2 would be off by > 0.4
assert -1e-12 <= c_fixed - v_learned < 0.01            # D* is the maximum; D comes close
assert np.abs(0.5 - target_d)[seen].max() > 0.4       # (so the 0.05 above means something)

# %% [markdown]
# Two numbers say how close $D$ came. Where samples land, its probability is within 0.05
# of $D^*$ (a discriminator that always answers $1/2$ would be off by more than 0.4). And
# the value it achieves is within 0.01 of $V(D^*, G)$, and never above it, since $D^*$ is
# the maximum. The learning rate decays to 0 over the run: with a constant one, each step
# chases the noise of its own batch of 512 samples and the error stays larger (delete the
# `opt_d.lr = …` line and run the cell again). The figure shows where the rest of the
# error sits.

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.3))
view = (xs > -6) & (xs < 10)
axes[0].fill_between(xs[view], 0, 1, where=~seen[view], color="0.92", label="few samples here")
axes[0].plot(xs[view], np.exp(log_normal(xs, MU_DATA, SIGMA_DATA))[view], "k", label="p_data")
axes[0].plot(xs[view], np.exp(log_normal(xs, MU_FIXED, SIGMA_FIXED))[view], color="tab:red",
             label="p_g (fixed)")
axes[0].plot(xs[view], target_d[view], color="tab:blue", lw=2.5, label="D* (formula)")
axes[0].plot(xs[view], learned_d[view], color="tab:orange", lw=2, ls="--",
             label=f"D, the network, after {n_d_steps} steps")
axes[0].set(xlabel="x", ylim=(0, 1.05), title="Probability of 'real'")
axes[0].legend(fontsize=8, loc="upper left")
axes[1].fill_between(xs[view], -12, 6, where=~seen[view], color="0.92")
axes[1].plot(xs[view], optimal_logit(xs, MU_FIXED, SIGMA_FIXED)[view], color="tab:blue", lw=2.5,
             label="log p_data − log p_g (a parabola)")
axes[1].plot(xs[view], learned_logit[view], color="tab:orange", lw=2, ls="--",
             label="the network's logit")
axes[1].set(xlabel="x", ylim=(-12, 6), title="The same, as logits")
axes[1].legend(fontsize=8, loc="lower center")
save_figure(fig, "05_learned_discriminator")

# %% [markdown]
# Where samples land, the network's logit follows the parabola. In the tails (shaded)
# there are almost no samples, nothing pins the logit down, and the network's piecewise
# linear logit runs off in straight lines. That costs almost nothing in $V$, because $V$
# weights each $x$ by how likely it is. But a generator that strays into such a region gets
# its gradient from the arbitrary straight lines, not from the true density ratio.
#
# ## 4. A tiny GAN
#
# Now both players learn. The generator is the smallest one possible, an affine map
# $G(z) = a z + b$ (an `nn.Linear(1, 1)`) of $z \sim \mathcal N(0, 1)$, so
# $p_g = \mathcal N(b, a^2)$. We can read $\mu_g = b$ and $\sigma_g = |a|$ off its weights,
# and compute $C(G)$ at every step with the formulas of section 2. $G$ starts at
# $\mathcal N(0, 0.5^2)$, far from the data.
#
# The loop is the paper's Algorithm 1 with $k = 1$: one step of $D$ on $L_D$, then one step
# of $G$. The generator's loss here is the **non-saturating** one,
# $L_G = -\frac1N\sum_i \log D(G(z_i))$ (`losses.g_loss_nonsaturating`); section 5 explains
# why it is used instead of the $\log(1 - D(G(z)))$ in $V$. Two details:
#
# * the $D$ step uses `G(z)` computed under `sg.no_grad()`: $D$'s step needs no gradient
#   for $G$, and skipping it saves work and leaves nothing in `G.weight.grad`; the $G$ step
#   runs inside `nn.frozen(D)`, so gradients flow *through* $D$ to $G$ without computing
#   gradients for $D$'s weights;
# * early in real training $D$ usually learns faster than $G$; here we force that with 100
#   steps of $D$ against the initial $G$, so at the start $D$ rejects the fakes confidently.
#
# $D$ uses Adam. $G$ uses plain SGD, so that the size of each of its steps is proportional
# to the size of its gradient, which section 5 is about.

# %%
def train_gan(g_loss, n_steps, head_start=100, batch=128, seed=0):
    """Algorithm 1 (k = 1) on the 1D problem. Returns the history and the two networks."""
    sg.seed(seed)
    gen_rng = np.random.default_rng(seed)
    D = make_discriminator()
    G = nn.Linear(1, 1)
    G.weight.data[...] = 0.5           # p_g = N(0, 0.5²) at the start
    G.bias.data[...] = 0.0
    opt_d = optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.999))
    opt_g = optim.SGD(G.parameters(), lr=0.1)

    def draw(mu, sigma):
        return sg.tensor((mu + sigma * gen_rng.standard_normal((batch, 1))).astype(np.float32))

    history = {"mu": [], "sigma": [], "C": [], "D(G(z))": [], "L_D": []}
    for step in range(n_steps):
        for _ in range(head_start if step == 0 else 1):           # D: descend L_D
            with sg.no_grad():
                fake = G(draw(0, 1))
            loss_d = losses.d_loss_minimax(D(draw(MU_DATA, SIGMA_DATA)), D(fake))
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
        with nn.frozen(D):                                         # G: descend L_G
            fake_logits = D(G(draw(0, 1)))
            loss_g = g_loss(fake_logits)
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
        mu, sigma = G.bias.data.item(), abs(G.weight.data.item())
        history["mu"].append(mu)
        history["sigma"].append(sigma)
        history["C"].append(value_at_optimum(mu, sigma))
        history["D(G(z))"].append(float(F.sigmoid(fake_logits).numpy().mean()))
        history["L_D"].append(loss_d.item())
    return {k: np.array(v) for k, v in history.items()}, D, G


n_gan = steps(600, 300)
ns, _, _ = train_gan(losses.g_loss_nonsaturating, n_gan)
for step in (0, 10, 25, 50, 100, n_gan - 1):
    print(f"step {step:4d}: p_g = N({ns['mu'][step]:.3f}, {ns['sigma'][step]:.3f}²)   "
          f"C(G) = {ns['C'][step]:+.4f}   mean D(G(z)) = {ns['D(G(z))'][step]:.3f}")
last = slice(-50, None)
print(f"last 50 steps: mean L_D = {ns['L_D'][last].mean():.4f} (log 4 = {LOG4:.4f}), "
      f"mean D(G(z)) = {ns['D(G(z))'][last].mean():.3f}")
assert ns["D(G(z))"][0] < 0.05                              # D starts far ahead
assert abs(ns["mu"][-1] - MU_DATA) < 0.3 and abs(ns["sigma"][-1] - SIGMA_DATA) < 0.3
assert ns["C"][-1] < -LOG4 + 0.02                           # JSD < 0.01
assert abs(ns["L_D"][last].mean() - LOG4) < 0.05            # D can only guess: L_D → log 4

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
view = (xs > -3) & (xs < 9)
axes[0].fill_between(xs[view], np.exp(log_normal(xs, MU_DATA, SIGMA_DATA))[view],
                     color="black", alpha=0.15, label="p_data")
shown = [0, 5, 10, 20, 40, n_gan - 1]
for step, shade in zip(shown, np.linspace(0.25, 1, len(shown))):
    axes[0].plot(xs[view], np.exp(log_normal(xs, ns["mu"][step], ns["sigma"][step]))[view],
                 color=plt.cm.Reds(shade), label=f"p_g after step {step}")
axes[0].set(xlabel="x", title="p_g moves onto p_data")
axes[0].legend(fontsize=8)
axes[1].plot(ns["mu"], color="tab:red", label="μ_g")
axes[1].plot(ns["sigma"], color="tab:purple", label="σ_g")
axes[1].axhline(MU_DATA, color="tab:red", ls=":")
axes[1].axhline(SIGMA_DATA, color="tab:purple", ls=":")
axes[1].set(xlabel="generator step", title="G's parameters (dotted: the data's)")
axes[1].legend()
axes[2].plot(ns["C"], color="tab:blue", label="C(G) = V(D*, G) = −log 4 + 2·JSD")
axes[2].plot(-ns["L_D"], color="tab:orange", alpha=0.6, lw=1, label="−L_D (the network D)")
axes[2].axhline(-LOG4, color="black", ls="--", lw=1, label="−log 4")
axes[2].set(xlabel="generator step", title="The value of the game")
axes[2].legend(fontsize=8)
save_figure(fig, "05_tiny_gan")

# %% [markdown]
# Within about 25 steps $\mu_g$ reaches the data. $\sigma_g$ first shrinks, because $D$
# pulls every fake toward the region it currently rates most "real", and takes about a
# hundred steps to recover. Then $C(G)$ is at $-\log 4$, the JSD nearly 0, and $D$'s loss
# settles at $\log 4 \approx 1.386$, the loss of guessing $1/2$ on everything. $-L_D$
# (orange) is the value the *network* $D$ achieves on each batch. It lies below $C(G)$
# while $G$ moves, because $D$ is one step behind the optimum, and it is noisy, because it
# is estimated from 128 + 128 samples. The equilibrium is not a point where the losses
# reach 0. It is a point where neither player can improve: $G$ reproduces the data and $D$
# can only guess.
#
# ## 5. Why the saturating generator loss stalls
#
# In the game as written, $G$ minimises $V$, and only the second term depends on $G$:
#
# $$L_G^{\text{sat}} = \frac1N\sum_i \log\big(1 - D(G(z_i))\big),$$
#
# which is `losses.g_loss_saturating`.
#
# Goodfellow et al. point out that this works badly early in training. Write $\ell$ for the
# logit that $D$ gives a fake, so $D(G(z)) = \sigma(\ell)$, and use
# $\sigma'(\ell) = \sigma(\ell)(1 - \sigma(\ell))$:
#
# $$\frac{\partial}{\partial \ell}\log\big(1 - \sigma(\ell)\big) = -\sigma(\ell) = -D(G(z)),
#   \qquad
#   \frac{\partial}{\partial \ell}\big[-\log \sigma(\ell)\big] = -\big(1 - \sigma(\ell)\big)
#   = -\big(1 - D(G(z))\big).$$
#
# The right one is the **non-saturating** loss
# $L_G^{\text{ns}} = -\frac1N\sum_i \log D(G(z_i))$. Both push $\ell$ up (both derivatives are
# negative, and $G$ descends), and both are optimal at the same point. But early in
# training $D$ rejects the fakes easily, so $D(G(z)) \approx 0$. Then the saturating
# gradient $-D(G(z))$ is nearly 0, exactly when $G$ most needs to move, while the
# non-saturating one is nearly $-1$. Every gradient that reaches $G$'s weights is this
# factor times $\partial\ell/\partial\theta_G$ (the chain rule through $D$ and $G$), so
# the factor scales $G$'s whole gradient.
#
# We compute these derivatives with scratchgan's autograd, through the two loss functions
# of `scratchgan.losses`, for logits from $-12$ to $12$ ($D(G(z))$ from $6\times10^{-6}$ to
# $1 - 6\times10^{-6}$). Each loss averages over its $N$ inputs, so the gradient for each
# logit is $1/N$ times the per-sample derivative, and we multiply by $N$.

# %%
logits = sg.tensor(np.linspace(-12, 12, 481), requires_grad=True)      # float64
N = logits.shape[0]
(g_sat,) = sg.grad(losses.g_loss_saturating(logits), [logits])
(g_ns,) = sg.grad(losses.g_loss_nonsaturating(logits), [logits])
grad_sat, grad_ns = N * g_sat.numpy(), N * g_ns.numpy()

ell = logits.numpy()
d_fake = 1 / (1 + np.exp(-ell))            # D(G(z)) = σ(ℓ)
one_minus_d = 1 / (1 + np.exp(ell))        # 1 − σ(ℓ) = σ(−ℓ), exact in the far tail too
assert np.allclose(grad_sat, -d_fake, rtol=1e-12, atol=0)          # ∂/∂ℓ log(1 − D) = −D
assert np.allclose(grad_ns, -one_minus_d, rtol=1e-12, atol=0)      # ∂/∂ℓ [−log D] = −(1 − D)
at = int(np.argmin(np.abs(d_fake - 1e-3)))
print(f"at D(G(z)) = {d_fake[at]:.2e}: saturating gradient {grad_sat[at]:.2e}, "
      f"non-saturating {grad_ns[at]:.4f}, ratio {grad_ns[at] / grad_sat[at]:.0f}")

fig, axes = plt.subplots(1, 3, figsize=(16, 4.3))
early = dict(color="tab:red", alpha=0.08)
axes[0].axvspan(0, 0.1, **early)
axes[0].plot(d_fake, np.log(one_minus_d), color="tab:purple", lw=2,
             label="saturating: log(1 − D(G(z)))")
axes[0].plot(d_fake, -np.log(d_fake), color="tab:green", lw=2,
             label="non-saturating: −log D(G(z))")
axes[0].set(xlabel="D(G(z))", ylabel="G's loss (G descends it)", ylim=(-5, 5),
            title="The two generator losses")
axes[0].text(0.01, -4.6, "early training:\nD rejects fakes", color="tab:red", fontsize=9)
axes[0].legend(fontsize=8, loc="upper right")
axes[1].axvspan(0, 0.1, **early)
axes[1].plot(d_fake, -d_fake, color="tab:purple", lw=2, label="−D  (closed form)")
axes[1].plot(d_fake, -one_minus_d, color="tab:green", lw=2, label="−(1 − D)  (closed form)")
marks = slice(None, None, 24)
axes[1].plot(d_fake[marks], grad_sat[marks], "o", color="tab:purple", mfc="none",
             label="saturating, sg.grad")
axes[1].plot(d_fake[marks], grad_ns[marks], "s", color="tab:green", mfc="none",
             label="non-saturating, sg.grad")
axes[1].set(xlabel="D(G(z))", ylabel="∂L_G / ∂ℓ  (ℓ: D's logit)",
            title="Their gradients with respect to the logit")
axes[1].legend(fontsize=8, loc="center right")
axes[2].loglog(d_fake, np.abs(grad_sat), color="tab:purple", lw=2, label="saturating: D")
axes[2].loglog(d_fake, np.abs(grad_ns), color="tab:green", lw=2, label="non-saturating: 1 − D")
axes[2].axvspan(d_fake[0], 0.1, **early)
axes[2].set(xlabel="D(G(z))  (log scale)", ylabel="|∂L_G / ∂ℓ|  (log scale)", xlim=(1e-5, 1),
            title="Near D(G(z)) = 0: a gradient 1/D(G(z)) times weaker")
axes[2].legend(fontsize=8, loc="lower right")
save_figure(fig, "05_generator_gradients")

# %% [markdown]
# At $D(G(z)) = 10^{-3}$ the saturating loss passes back a thousandth of the gradient the
# non-saturating one does. The two are mirror images: the saturating loss is strong only
# once $G$ already fools $D$, the non-saturating one while $G$ is losing.
#
# The same factor shows up in a real network, per sample. Take the discriminator and the
# generator from the start of a GAN run (after $D$'s head start), one noise sample $z$, and
# compare $G$'s two gradients. Everything after the logit is shared, so the ratio must be
# exactly $D(G(z)) / (1 - D(G(z)))$.

# %%
_, D_start, G_start = train_gan(losses.g_loss_nonsaturating, n_steps=1)
z_one = sg.tensor(np.array([[0.3]], dtype=np.float32))
logit_one = D_start(G_start(z_one))
(gb_sat,) = sg.grad(losses.g_loss_saturating(logit_one), [G_start.bias], retain_graph=True)
(gb_ns,) = sg.grad(losses.g_loss_nonsaturating(logit_one), [G_start.bias])
p_one = float(F.sigmoid(logit_one).numpy().item())
ratio = gb_sat.numpy().item() / gb_ns.numpy().item()
print(f"D(G(z)) = {p_one:.4f}:  ∂L_sat/∂b = {gb_sat.numpy().item():+.3e}   "
      f"∂L_ns/∂b = {gb_ns.numpy().item():+.3e}   ratio {ratio:.4f} vs D/(1 − D) = "
      f"{p_one / (1 - p_one):.4f}")
assert abs(ratio / (p_one / (1 - p_one)) - 1) < 1e-4

# %% [markdown]
# Now train the tiny GAN again with **the saturating loss**, from the same start (same seed:
# the same $D$ head start and the same noise), and compare with the run of section 4.

# %%
sat, _, _ = train_gan(losses.g_loss_saturating, n_gan)


def first_step_at(mu_history, level=3.0):
    above = np.nonzero(mu_history >= level)[0]
    return int(above[0]) if len(above) else len(mu_history)


reach_ns, reach_sat = first_step_at(ns["mu"]), first_step_at(sat["mu"])
print(f"first step with μ_g ≥ 3: non-saturating {reach_ns}, saturating {reach_sat}")
print(f"after {n_gan} steps: non-saturating N({ns['mu'][-1]:.2f}, {ns['sigma'][-1]:.2f}²), "
      f"saturating N({sat['mu'][-1]:.2f}, {sat['sigma'][-1]:.2f}²)")
assert 3 * reach_ns < reach_sat and reach_ns <= 15      # "about a dozen steps", below

fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
for run, name, color in ((ns, "non-saturating  −log D(G(z))", "tab:green"),
                         (sat, "saturating  log(1 − D(G(z)))", "tab:purple")):
    axes[0].plot(run["mu"], color=color, lw=2, label=name)
    axes[1].plot(run["D(G(z))"], color=color, lw=1.5, label=name)
axes[0].axhline(MU_DATA, color="black", ls=":", lw=1)
axes[0].set(xlabel="generator step", ylabel="μ_g", title="The mean of p_g (data: 4)")
axes[0].legend(loc="lower right")
axes[1].axhline(0.5, color="black", ls=":", lw=1)
axes[1].set(xlabel="generator step", ylabel="mean D(G(z)) on the batch",
            title="How much D is fooled (equilibrium: 1/2)")
axes[1].legend(loc="lower right")
save_figure(fig, "05_saturating_vs_nonsaturating")

# %% [markdown]
# With the non-saturating loss, $G$'s first steps are large and $\mu_g$ passes 3 within
# about a dozen steps (the first line printed above). With the saturating loss, $G$ starts
# with a gradient about $D(G(z)) \approx 0.01$ times smaller (step 0 of section 4 printed
# the mean $D(G(z))$) and creeps. It speeds up only once some fakes fool
# $D$, which is exactly the stall the theory predicts. Here it recovers, because the
# problem is tiny. On MNIST, $D$ can keep $D(G(z))$ near 0 for the whole run.
#
# This is why nearly every GAN, scratchgan's MNIST GAN included (`g_loss="nonsaturating"`
# in `scratchgan/models/mlp_gan.py`), trains $G$ on $-\log D(G(z))$. It has the same fixed
# point as the minimax game, $p_g = p_{\text{data}}$ with $D = 1/2$, but it is no longer a
# zero-sum game with a single $V$. The theory of sections 1–2 still tells us where training
# should end up.
#
# ## What you should now be able to do
#
# * Write the value function $V(D, G)$ and say which player maximises it and which
#   minimises it.
# * Derive $D^*(x) = p_{\text{data}}(x)/(p_{\text{data}}(x) + p_g(x))$ by maximising the
#   integrand pointwise, and explain why its logit is $\log p_{\text{data}} - \log p_g$.
# * Show that $V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}(p_{\text{data}}\,\|\,p_g)$, and why its
#   minimum $-\log 4$ is reached only at $p_g = p_{\text{data}}$.
# * Train a discriminator with `losses.d_loss_minimax`, and check it against $D^*$ where the
#   densities are known.
# * Write Algorithm 1 for a small GAN: the $D$ step with `no_grad` fakes, the $G$ step
#   through `nn.frozen(D)`.
# * Derive $\partial/\partial\ell$ of both generator losses, $-D(G(z))$ and
#   $-(1 - D(G(z)))$, and explain why the saturating one stalls early in training.
#
# ## Try this
#
# 1. Give the generator Adam (`optim.Adam(G.parameters(), lr=0.02, betas=(0.5, 0.999))`)
#    and train both losses again. The gap between them nearly closes. Why? (Lesson 4b,
#    section 3: what does Adam do to a gradient's scale?)
# 2. Set `head_start=1000` in `train_gan`. How long does the saturating loss stall now, and
#    what is the mean $D(G(z))$ while it does?
# 3. Fix $p_g = \mathcal N(4, 3^2)$: same mean as the data, but too wide. Predict the shape of
#    $D^*$ and of its logit before you plot them, then train the discriminator of section 3
#    against it.
# 4. Replace the affine $G$ with a small MLP ($1 \to 16 \to 1$ with LeakyReLU) and make the
#    data a mixture of $\mathcal N(-2, 0.5^2)$ and $\mathcal N(2, 0.5^2)$. Does $G$ cover both
#    modes, or settle on one?
