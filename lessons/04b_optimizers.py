# %% [markdown]
# # Lesson 4b — Optimizers: from gradients to steps
#
# Lesson 4 built networks from layers; a network's `backward()` fills every parameter's
# `.grad`. This lesson is about what turns those gradients into better weights, the
# **optimizer**, and why the choice matters. Almost every GAN in this course is trained by
# Adam (lesson 7's clipped WGAN is the exception), so we end by writing Adam's update
# ourselves.
#
# 1. the training step `opt.zero_grad(); loss.backward(); opt.step()`, and three
#    optimizers (SGD, SGD with momentum, Adam) fitting the same network;
# 2. why they differ, on a narrow valley;
# 3. Adam's update, written out and checked against `optim.Adam` to the last digit.

# %%
import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import functional as F
from scratchgan import nn, optim
from _lesson import FAST, save_figure, steps

sg.seed(0)                          # scratchgan's generator: initial weights
rng = np.random.default_rng(0)      # ours: the data we make up
print(f"fast mode: {FAST}   backend: {sg.backend.name}")

# %% [markdown]
# ## 1. The training step
#
# Every gradient-based training loop, GANs included, repeats three lines:
#
# ```python
# opt.zero_grad()    # forget the previous step's gradients: backward() ADDS into .grad
# loss.backward()    # fill p.grad = ∂loss/∂p for every parameter p
# opt.step()         # update every p.data in place from p.grad (no graph is recorded)
# ```
#
# The optimizer was given `model.parameters()` when it was made, so it holds the same
# `Parameter` objects as the model. For plain SGD, `step()` is $\theta \leftarrow \theta -
# \eta\,\nabla_\theta L$. Here is one step, checked by hand:

# %%
sg.seed(0)
tiny = nn.Linear(2, 1)
opt = optim.SGD(tiny.parameters(), lr=0.1)
xs = sg.tensor(rng.standard_normal((8, 2)).astype(np.float32))
targets = sg.tensor(rng.standard_normal((8, 1)).astype(np.float32))
before = tiny.weight.numpy().copy()

opt.zero_grad()
loss = F.mse_loss(tiny(xs), targets)
loss.backward()
g = tiny.weight.grad.numpy().copy()
opt.step()
print("weight before", before.round(4), " gradient", g.round(4), " after",
      tiny.weight.numpy().round(4))
assert np.allclose(tiny.weight.numpy(), before - 0.1 * g, atol=1e-7)

# %% [markdown]
# Now a real fit: a small MLP, $1 \to 32 \to 32 \to 1$ with tanh, regressing
# $y = \sin 2x$ on $[-\pi, \pi]$ with the mean squared error. We train three copies **from
# the same initial weights** (copied with `state_dict` / `load_state_dict`), each with a
# different optimizer:
#
# * **SGD**, $\eta = 0.05$: $\theta \leftarrow \theta - \eta g$;
# * **SGD with momentum** $\mu = 0.9$, $\eta = 0.05$: $v \leftarrow \mu v + g$,
#   $\theta \leftarrow \theta - \eta v$ (the velocity $v$ accumulates past gradients);
# * **Adam**, $\eta = 0.01$ (section 3).

# %%
x_fit = np.linspace(-np.pi, np.pi, 128, dtype=np.float32)[:, None]
y_fit = np.sin(2 * x_fit)
X_fit, Y_fit = sg.tensor(x_fit), sg.tensor(y_fit)


def make_mlp():
    return nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                         nn.Linear(32, 1))


sg.seed(1)
initial_state = {k: v.copy() for k, v in make_mlp().state_dict().items()}   # a snapshot
OPTIMIZERS = {
    "SGD": lambda params: optim.SGD(params, lr=0.05),
    "SGD + momentum 0.9": lambda params: optim.SGD(params, lr=0.05, momentum=0.9),
    "Adam": lambda params: optim.Adam(params, lr=0.01),
}
n_fit = steps(3000, 600)
fit_curves, fit_models = {}, {}
for name, make_opt in OPTIMIZERS.items():
    model = make_mlp()
    model.load_state_dict(initial_state)
    opt = make_opt(model.parameters())
    curve = []
    for step in range(n_fit):
        loss = F.mse_loss(model(X_fit), Y_fit)
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append(loss.item())
    fit_curves[name], fit_models[name] = np.array(curve), model
    print(f"{name:20s} loss: start {curve[0]:.3f}, after {n_fit} steps {curve[-1]:.2e}")

best = {name: curve.min() for name, curve in fit_curves.items()}   # the lowest loss reached
print("lowest loss reached:", {name: f"{value:.1e}" for name, value in best.items()})
assert best["SGD + momentum 0.9"] < best["SGD"] / 5
assert best["Adam"] < best["SGD"] / 5
assert best["Adam"] < 0.01 * fit_curves["Adam"][0]

fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
colors = {"SGD": "tab:gray", "SGD + momentum 0.9": "tab:blue", "Adam": "tab:red"}
for name, curve in fit_curves.items():
    axes[0].semilogy(curve, color=colors[name], label=name)
axes[0].set(xlabel="step", ylabel="mean squared error (log scale)",
            title="Fitting y = sin 2x with a 1-32-32-1 tanh MLP")
axes[0].legend()
axes[0].grid(alpha=0.3, which="both")
axes[1].plot(x_fit[:, 0], y_fit[:, 0], "k.", ms=4, label="data")
with sg.no_grad():
    for name, model in fit_models.items():
        axes[1].plot(x_fit[:, 0], model(X_fit).numpy()[:, 0], color=colors[name], lw=2,
                     label=name)
axes[1].set(xlabel="x", ylabel="y",
            title=f"The fits after {n_fit} steps (dots: the data; colours as on the left)")
save_figure(fig, "04b_mlp_fit")

# %% [markdown]
# Momentum and Adam reach a far lower loss than SGD in the same number of steps (see the
# printed lowest losses: after fast mode's 600 steps momentum's is about 20 times and Adam's
# about 400 times lower than SGD's; after 3,000 steps both are about a thousand times
# lower), and their fits follow the sine where SGD's still misses parts of it. The
# curves also have **spikes**, where the loss jumps up by orders of magnitude for a few steps and
# then recovers. Each is a step that overshoots a narrow valley. For SGD, that happens where
# the curvature exceeds $2/\eta$. Adam's steps stay near $\eta$ even when the loss is tiny,
# and when the gradient suddenly grows they briefly reach about
# $(1 - \beta_1)/\sqrt{1 - \beta_2} \approx 3$ times $\eta$ ($m$ follows the new gradient
# faster than $v$ does). Lowering $\eta$ late in training (a schedule such as
# `optim.LinearDecayLR`) is the usual cure. Because of the spikes, the checks above compare
# the lowest loss each optimizer reached, not the last one.

# %% [markdown]
# ## 2. Why the optimizers differ: a narrow valley
#
# A loss surface with directions of very different steepness makes plain SGD slow, and
# neural-network losses are full of them. The classic example is Rosenbrock's valley,
#
# $$f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2,$$
#
# with its minimum $f = 0$ at $(1, 1)$ at the bottom of a long, curved, narrow valley along
# $y = x^2$. At the minimum the Hessian (the matrix of second derivatives) is
# $\begin{pmatrix} 802 & -400 \\ -400 & 200 \end{pmatrix}$: the curvature across the valley
# is about 2500 times the curvature along it.
#
# * **SGD** must keep $\eta$ below $2/\lambda_{\max} \approx 0.002$ ($\lambda_{\max}$: the
#   largest curvature), or it overshoots across the valley and diverges. With such an
#   $\eta$, a step along the valley floor, where the slope is gentle, is tiny. (We give both
#   SGD variants $\eta = 0.001$, a margin below the limit; Try this 1 pushes it.)
# * **Momentum** keeps a velocity. Across the valley the gradient flips sign from step to
#   step and the velocity cancels out; along the floor it points the same way every time
#   and adds up, to about $1/(1 - \mu) = 10$ times a plain step.
# * **Adam** divides each coordinate's step by a running root-mean-square of its gradient,
#   so a coordinate moves by about $\eta$ per step whether its gradient is large or small.
#
# The parameters are a single `Parameter` of shape (2,), the loss is written with
# scratchgan ops, and the optimizers are the same classes as above.

# %%
hessian = np.array([[802.0, -400.0], [-400.0, 200.0]])
curvatures = np.linalg.eigvalsh(hessian)
print(f"curvatures at the minimum: {curvatures.round(2)}, "
      f"ratio {curvatures[1] / curvatures[0]:.0f}")
assert curvatures[1] / curvatures[0] > 2000


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


VALLEY = {
    "SGD, η = 0.001": lambda params: optim.SGD(params, lr=1e-3),
    "SGD + momentum 0.9, η = 0.001": lambda params: optim.SGD(params, lr=1e-3, momentum=0.9),
    "Adam, η = 0.05": lambda params: optim.Adam(params, lr=0.05),
}
n_valley = steps(3000, 1000)
paths, valley_curves = {}, {}
for name, make_opt in VALLEY.items():
    p = nn.Parameter(sg.tensor(np.array([-1.5, 2.0])))       # float64, the same start
    opt = make_opt([p])
    path, curve = [p.numpy().copy()], []
    for _ in range(n_valley):
        loss = rosenbrock(p)
        opt.zero_grad()
        loss.backward()
        opt.step()
        curve.append(loss.item())
        path.append(p.numpy().copy())
    paths[name], valley_curves[name] = np.array(path), np.array(curve)
    print(f"{name:30s} f after {n_valley} steps: {curve[-1]:.2e}   at {path[-1].round(4)}")

f_end = {name: curve[-1] for name, curve in valley_curves.items()}
sgd_name, momentum_name, adam_name = VALLEY
assert f_end[momentum_name] < 1e-3 and f_end[adam_name] < 1e-3   # both reach the minimum
assert f_end[sgd_name] > 10 * max(f_end[momentum_name], f_end[adam_name])   # SGD lags

fig = plt.figure(figsize=(14, 8.5))
grid_spec = fig.add_gridspec(2, 3, height_ratios=[1.1, 1], hspace=0.35)
gx, gy = np.meshgrid(np.linspace(-2, 2, 300), np.linspace(-1, 3, 300))
surface = (1 - gx) ** 2 + 100 * (gy - gx ** 2) ** 2
colors = dict(zip(VALLEY, ["black", "tab:blue", "tab:red"]))
every = 50                             # a dot every 50 steps shows each one's pace
for k, (name, path) in enumerate(paths.items()):
    ax = fig.add_subplot(grid_spec[0, k])
    ax.contour(gx, gy, surface, levels=np.logspace(-1, 3.5, 10), colors="0.75",
               linewidths=0.8)
    ax.plot(path[:, 0], path[:, 1], color=colors[name], lw=1)
    ax.plot(path[::every, 0], path[::every, 1], "o", color=colors[name], ms=3.5)
    ax.plot(-1.5, 2.0, "s", color="0.3", ms=6)
    ax.plot(1, 1, "*", color="gold", mec="black", ms=15)
    ax.set(xlabel="x", ylabel="y" if k == 0 else None, xlim=(-2, 2), ylim=(-1, 3),
           title=f"{name}\n(a dot every {every} steps)")
ax_loss = fig.add_subplot(grid_spec[1, :])
for name, curve in valley_curves.items():
    ax_loss.semilogy(curve, color=colors[name], label=name)
lowest = min(curve.min() for curve in valley_curves.values())
ax_loss.set(xlabel="step", ylabel="f(x, y)  (log scale)", ylim=(max(lowest, 1e-14) / 3, 1e2),
            title=f"Rosenbrock's valley from (−1.5, 2) (square) to the minimum (1, 1) (star): "
                  f"the loss")
ax_loss.grid(alpha=0.3, which="both")
ax_loss.legend(fontsize=9)
save_figure(fig, "04b_rosenbrock")

# %% [markdown]
# Each dot marks 50 steps, so the spacing of the dots is each optimizer's speed. SGD
# (black) creeps: after 1,000 steps it has covered less than half of the valley. Momentum
# (blue) zigzags across the valley at first, where the gradient flips sign from step to
# step, then its velocity builds up along the floor and the dots spread far apart. Adam
# (red) moves at a steadier pace, about $\eta$ per coordinate per step, and slows near the
# minimum, where the gradient shrinks faster than its long-memory average $v$ of squared
# gradients (section 3). Do not generalise the ranking from one toy problem. What
# transfers is the mechanism: momentum accumulates consistent directions, and Adam rescales
# each coordinate.
#
# ## 3. Adam, line by line
#
# Adam (Kingma & Ba, 2015) keeps two running averages per parameter, of the gradient $g$
# (like momentum) and of its square (like RMSprop), and divides one by the square root of
# the other. With $\beta_1 = 0.9$, $\beta_2 = 0.999$, $\epsilon = 10^{-8}$ by default and
# $m_0 = v_0 = 0$, step $t$ is
#
# $$\begin{aligned}
# m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\,g_t & &\text{average gradient}\\
# v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\,g_t^2 & &\text{average squared gradient}\\
# \hat m_t &= m_t / (1 - \beta_1^t), \quad \hat v_t = v_t / (1 - \beta_2^t) & &\text{bias correction}\\
# \theta_t &= \theta_{t-1} - \eta\,\hat m_t / (\sqrt{\hat v_t} + \epsilon) & &\text{the update}
# \end{aligned}$$
#
# **Why the bias correction.** The averages start at 0, so early on they are too small:
# $m_1 = (1 - \beta_1)\,g_1 = 0.1\,g_1$. Dividing by $1 - \beta_1^t$ undoes exactly that
# (the weights $(1-\beta_1)\beta_1^{t-1}, \dots, (1-\beta_1)$ sum to $1 - \beta_1^t$), so
# $\hat m_1 = g_1$ and $\hat v_1 = g_1^2$. The **first step** is therefore
# $-\eta\, g_1/(|g_1| + \epsilon) \approx -\eta\,\operatorname{sign}(g_1)$: every
# coordinate moves by $\eta$, whatever the size of its gradient.
#
# Here is the update in NumPy, next to its formula, and a check against `optim.Adam` over
# three steps with gradients that span six orders of magnitude. We set `p.grad` by hand,
# since `step()` only reads it.

# %%
def adam_by_hand(theta, grads, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam on a list of gradients, one line per line of the formula."""
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    thetas = []
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g                 # m_t
        v = beta2 * v + (1 - beta2) * g * g             # v_t
        m_hat = m / (1 - beta1 ** t)                    # bias corrections
        v_hat = v / (1 - beta2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        thetas.append(theta)
    return thetas


theta0 = np.array([0.5, -1.0, 2.0])
grads = [np.array([1e-3, 1.0, 1e3]), np.array([2e-3, -0.5, 1e3]), np.array([-1e-3, 0.2, 5e2])]
expected = adam_by_hand(theta0, grads, lr=0.01)

p = nn.Parameter(sg.tensor(theta0.copy()))             # float64
opt = optim.Adam([p], lr=0.01)
for t, g in enumerate(grads, start=1):
    p.grad = sg.tensor(g)                              # as if backward() had put it there
    opt.step()
    print(f"step {t}: optim.Adam {p.numpy()}   by hand {expected[t - 1]}")
    assert np.allclose(p.numpy(), expected[t - 1], rtol=1e-12, atol=1e-15)

first_move = expected[0] - theta0
print("first step moved each coordinate by", first_move, "(η = 0.01)")
assert np.allclose(np.abs(first_move), 0.01, rtol=1e-4)   # |Δθ| ≈ η, for g from 1e-3 to 1e3

# %% [markdown]
# The check passes to twelve digits. The first step moved all three coordinates by 0.01,
# although their gradients differ by a factor of a million: Adam's step size is set by
# $\eta$, not by the gradient's scale. That is why it tolerates badly scaled problems, and
# why GAN recipes state a learning rate like $2\times10^{-4}$ and expect it to mean roughly
# the same thing for every layer. GAN recipes also lower $\beta_1$ to 0.5 (a shorter
# memory), because the game changes the loss surface under each player at every step.
#
# ## What you should now be able to do
#
# * Write the training step and say what each of its three lines does.
# * Explain why SGD is slow in a narrow valley, how momentum and Adam help, and write
#   Adam's update with its bias correction.
#
# ## Try this
#
# 1. Raise plain SGD's learning rate on Rosenbrock's valley to 0.0015, 0.002 and 0.0025.
#    How much lower is the loss after 1,000 steps, and what happens at 0.0025? Compare with
#    $2/\lambda_{\max}$ at the minimum, and at the start $(-1.5, 2)$, where the Hessian is
#    $\begin{pmatrix} 1902 & 600 \\ 600 & 200 \end{pmatrix}$.
# 2. In the Adam check, set $\beta_1 = 0.5$ (`betas=(0.5, 0.999)`, the GAN setting) in both
#    `optim.Adam` and `adam_by_hand`. Does the first step change? Why not?
# 3. Remove `opt.zero_grad()` from the MLP fit and watch the three losses. Write out what
#    `p.grad` holds after $t$ steps: which optimizer does plain SGD turn into, and with what
#    momentum?
