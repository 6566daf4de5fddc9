# %% [markdown]
# # Lesson 4 — Layers: modules that hold parameters
#
# Lessons 2 and 3 gave us gradients we can trust. This lesson builds networks out of
# **layers**: objects that hold parameters and compute a forward pass from them. A GAN is
# two such networks, so everything here is used again in lesson 5 and in
# `scratchgan/models/`. Lesson 4b then trains them.
#
# 1. `nn.Linear`, the layer that holds almost all the weights: $y = xW^\top + b$, its
#    gradients and its initialisation;
# 2. the activations between layers (LeakyReLU, Tanh, Sigmoid): layers without
#    parameters, and how much gradient each lets through;
# 3. `nn.Module`: how a model finds its parameters, and how `state_dict()` saves them;
# 4. `BatchNorm1d`, the layer with state that is saved but not trained, and that behaves
#    differently in training and in evaluation.

# %%
import io

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import nn
from _lesson import FAST, save_figure

sg.seed(0)                          # scratchgan's generator: initial weights
rng = np.random.default_rng(0)      # ours: the data we make up
print(f"fast mode: {FAST}   backend: {sg.backend.name}")

# %% [markdown]
# ## 1. `nn.Linear`: $y = xW^\top + b$
#
# A batch of $N$ inputs with `in_features` numbers each is a matrix $x$ of shape
# $(N, \text{in})$. A linear layer with `out_features` outputs computes, for each row,
#
# $$y_{nj} = \sum_{i} x_{ni} W_{ji} + b_j, \qquad\text{that is}\qquad y = xW^\top + b,$$
#
# with $W$ of shape $(\text{out}, \text{in})$ and $b$ of shape $(\text{out},)$. Row $j$ of
# $W$ holds the weights of output unit $j$. (The $(\text{out}, \text{in})$ layout is
# PyTorch's, kept so that what you learn here carries over.) The bias is broadcast over the
# batch, which is why its gradient sums over the batch (lesson 2):
#
# $$\frac{\partial L}{\partial W} = \bar y^\top x, \qquad
#   \frac{\partial L}{\partial b} = \sum_n \bar y_{n\cdot}, \qquad
#   \frac{\partial L}{\partial x} = \bar y\, W, \qquad\text{where } \bar y = \partial L/\partial y.$$

# %%
layer = nn.Linear(3, 2)
print(layer)
print("weight", layer.weight.shape, " bias", layer.bias.shape)

x = sg.tensor(rng.standard_normal((4, 3)).astype(np.float32))     # a batch of 4 inputs
y = layer(x)
print("x", x.shape, "->  y", y.shape)
W, b = layer.weight.numpy(), layer.bias.numpy()
assert y.shape == (4, 2)
assert np.allclose(y.numpy(), x.numpy() @ W.T + b, atol=1e-6)       # y = x Wᵀ + b

y.sum().backward()                     # L = Σ y, so ȳ is all ones
assert np.allclose(layer.weight.grad.numpy(), np.ones((4, 2)).T @ x.numpy(), atol=1e-6)
assert np.allclose(layer.bias.grad.numpy(), [4, 4])                  # Σ over the batch of 4
print("y = x Wᵀ + b and its gradients match the formulas")

# %% [markdown]
# **Initialisation.** The weights cannot start at zero: every unit of a layer would then
# compute the same thing and receive the same gradient, and they would stay identical
# forever. They start random, and the *scale* of that randomness matters. `nn.Linear` draws
# $W$ and $b$ from $U(-k, k)$ with $k = 1/\sqrt{\text{in}}$ (PyTorch's default). A uniform
# variable on $(-k, k)$ has variance $k^2/3$, so for inputs of unit variance each output is
# a sum of $\text{in}$ independent terms with variance
#
# $$\operatorname{Var}(y_j) = \text{in}\cdot\frac{k^2}{3} + \frac{k^2}{3}
#   = \frac{1}{3} + \frac{1}{3\,\text{in}} \approx \frac13,$$
#
# whatever the layer's width: the $1/\sqrt{\text{in}}$ keeps the output's scale from growing
# with the number of inputs. Let us check with a layer of 256 inputs.

# %%
wide = nn.Linear(256, 512)
k = 1 / np.sqrt(256)
w = wide.weight.numpy()
x_wide = sg.tensor(rng.standard_normal((2000, 256)).astype(np.float32))
with sg.no_grad():                     # no graph needed: we only look at the numbers
    y_wide = wide(x_wide).numpy()
print(f"|W| ≤ {np.abs(w).max():.4f}  (k = {k:.4f});  std of W {w.std():.4f} "
      f"(k/√3 = {k / np.sqrt(3):.4f})")
print(f"std of the outputs {y_wide.std():.3f}  (predicted √(1/3 + 1/768) = "
      f"{np.sqrt(1 / 3 + 1 / 768):.3f})")
assert np.abs(w).max() <= k
assert abs(w.std() / (k / np.sqrt(3)) - 1) < 0.02
assert abs(y_wide.std() / np.sqrt(1 / 3 + 1 / 768) - 1) < 0.05

# %% [markdown]
# Other recipes live in `nn.init` and change a layer's weights in place:
# `nn.init.normal_(layer.weight, 0, 0.02)` (the DCGAN recipe),
# `nn.init.xavier_uniform_` (keeps the variance through tanh layers) and
# `nn.init.kaiming_normal_` (keeps it through (leaky) ReLU layers).
#
# ## 2. Activations and their derivatives
#
# A stack of linear layers is still one linear map ($xW_1^\top W_2^\top$ is $x$ times a
# single matrix). An elementwise nonlinearity between them is what lets a network bend. The
# three that GANs use:
#
# | activation | $f(x)$ | $f'(x)$ | where it is used |
# |---|---|---|---|
# | LeakyReLU($a$) | $x$ if $x > 0$, else $ax$ | $1$ if $x > 0$, else $a$ | hidden layers of D (and G), $a = 0.2$ |
# | Tanh | $\tanh x$ | $1 - \tanh^2 x$ | G's output: pixels in $[-1, 1]$ |
# | Sigmoid | $\sigma(x) = 1/(1 + e^{-x})$ | $\sigma(x)\,(1 - \sigma(x))$ | D's probability "real" |
#
# The derivative is the factor by which a gradient is multiplied as it flows back through
# the activation. Below, scratchgan computes each derivative with `sg.grad` at 161 points
# at once (each $y_i$ depends only on $x_i$, so the gradient of $\sum_i y_i$ is $f'(x_i)$),
# and we compare with the closed forms in the table.

# %%
grid = np.linspace(-5, 5, 161)
activations = {"LeakyReLU(0.2)": nn.LeakyReLU(0.2), "Tanh": nn.Tanh(), "Sigmoid": nn.Sigmoid()}
closed_form = {
    "LeakyReLU(0.2)": (np.where(grid > 0, grid, 0.2 * grid), np.where(grid > 0, 1.0, 0.2)),
    "Tanh": (np.tanh(grid), 1 - np.tanh(grid) ** 2),
    "Sigmoid": (1 / (1 + np.exp(-grid)), np.exp(-grid) / (1 + np.exp(-grid)) ** 2),
}
values, derivatives = {}, {}
for name, act in activations.items():
    x_grid = sg.tensor(grid, requires_grad=True)          # float64
    out = act(x_grid)
    (d_out,) = sg.grad(out.sum(), [x_grid])
    values[name], derivatives[name] = out.numpy(), d_out.numpy()
    f_exact, df_exact = closed_form[name]
    assert np.allclose(values[name], f_exact, atol=1e-12)
    assert np.allclose(derivatives[name], df_exact, atol=1e-12)
    print(f"{name:15s} f' ranges over [{derivatives[name].min():.4f}, "
          f"{derivatives[name].max():.4f}]")
assert abs(derivatives["Sigmoid"].max() - 0.25) < 1e-12     # σ' is at most 1/4, at x = 0
assert derivatives["Tanh"][np.abs(grid) >= 3].max() < 0.01   # tanh saturates past |x| = 3

fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
for ax, name in zip(axes, activations):
    ax.plot(grid, values[name], color="tab:blue", lw=2, label="f(x)")
    ax.plot(grid, derivatives[name], color="tab:red", lw=2, ls="--",
            label="f'(x)  (sg.grad)")
    ax.axhline(0, color="0.8", lw=0.8)
    ax.axvline(0, color="0.8", lw=0.8)
    ax.set(title=name, xlabel="x", ylim=(-1.2, 1.6))
    ax.grid(alpha=0.3)
axes[0].legend(loc="upper left")
axes[2].annotate("σ'(0) = 1/4: each sigmoid\ndivides the gradient by ≥ 4",
                 xy=(0, 0.25), xytext=(0.6, 1.0), fontsize=9,
                 arrowprops=dict(arrowstyle="->", color="0.3"))
axes[1].annotate("saturated: f' ≈ 0", xy=(3.5, 0.01), xytext=(0.8, -0.7), fontsize=9,
                 arrowprops=dict(arrowstyle="->", color="0.3"))
fig.suptitle("Three activations (solid) and their derivatives (dashed)", y=1.02)
save_figure(fig, "04_activations")

# %% [markdown]
# Read the dashed curves as "how much gradient gets through":
#
# * **Tanh and Sigmoid saturate.** For $|x| \gtrsim 3$ their derivative is nearly 0, so a
#   unit pushed far from 0 passes back almost no gradient and stops learning. Sigmoid's
#   derivative is at most $1/4$, so every sigmoid between two layers shrinks the gradient at
#   least fourfold.
# * **LeakyReLU never saturates.** Its slope is 1 or $a$. Plain ReLU ($a = 0$) passes no
#   gradient at all for negative inputs, and a unit that is negative for every input is
#   "dead". The small slope $a = 0.2$ keeps a gradient flowing, which matters in D: the
#   gradient that trains G has to come back *through* D.
# * **Sigmoid at D's output** turns a logit into a probability. scratchgan's losses take the
#   logit and apply $\log\sigma$ inside (lesson 5), so D itself ends with a plain
#   `Linear`.
#
# ## 3. Modules: parameters and `state_dict`
#
# An `nn.Module` is anything with a `forward`. Layers are modules, and so are models built
# from them: `nn.Sequential(a, b, c)(x)` is `c(b(a(x)))`. A module finds its trainable
# tensors (`Parameter`s) by looking at its own attributes, recursively and in a fixed order,
# so `model.parameters()` is everything an optimizer needs to be given.

# %%
sg.seed(0)
mlp = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
print(mlp)
for name, p in mlp.named_parameters():
    print(f"  parameter {name:10s} {str(p.shape):9s} {p.size:4d} numbers")
print("total:", mlp.num_parameters())
assert mlp.num_parameters() == (2 * 16 + 16) + (16 + 16) + (16 * 1 + 1)    # = 97

# %% [markdown]
# `state_dict()` maps a name to an array for every parameter **and every buffer**. A buffer
# is state that is saved but not trained, like BatchNorm's running statistics (section 4).
# That is all that distinguishes one trained model from another with the same architecture.
# So saving is `np.savez` (no pickle), and loading copies the arrays into a freshly built
# model, checking names and shapes:

# %%
state = mlp.state_dict()
print("state_dict keys:", list(state))
buffer = io.BytesIO()                          # a file in memory; a path works the same
np.savez(buffer, **{k: sg.to_numpy(v) for k, v in state.items()})
buffer.seek(0)
loaded = dict(np.load(buffer, allow_pickle=False))

sg.seed(123)                                   # different random weights...
twin = nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
twin.load_state_dict(loaded)                   # ...replaced by mlp's
probe = sg.tensor(rng.standard_normal((5, 2)).astype(np.float32))
with sg.no_grad():
    same = np.array_equal(mlp.eval()(probe).numpy(), twin.eval()(probe).numpy())
print("the twin computes exactly what mlp computes:", same)
assert same
assert "1.running_mean" in state and "1.running_var" in state     # buffers are saved too

# %% [markdown]
# One caution, the same as in PyTorch: `state_dict()` hands you the model's **live arrays**,
# not copies. The optimizer updates weights in place, so a `state_dict()` kept in a variable
# changes as training goes on. For a snapshot, copy it:
# `{k: v.copy() for k, v in model.state_dict().items()}` (or write it to a file).
#
# ## 4. BatchNorm1d: batch statistics in training, running statistics in evaluation
#
# `BatchNorm1d` normalises each feature with the mean and variance **of the current batch**,
# then lets the network rescale it with two trained parameters $\gamma$ (`weight`) and
# $\beta$ (`bias`):
#
# $$\hat x_{nj} = \frac{x_{nj} - \mu_j}{\sqrt{\sigma_j^2 + \epsilon}}, \qquad
#   y_{nj} = \gamma_j\,\hat x_{nj} + \beta_j, \qquad
#   \mu_j = \frac1N\sum_n x_{nj},\quad \sigma_j^2 = \frac1N\sum_n (x_{nj} - \mu_j)^2 .$$
#
# Each training step also updates a **running** estimate of the statistics, an exponential
# moving average with momentum $m = 0.1$ (the variance in its unbiased form, with $N - 1$,
# as PyTorch does):
#
# $$\text{running\_mean} \leftarrow (1 - m)\,\text{running\_mean} + m\,\mu, \qquad
#   \text{running\_var} \leftarrow (1 - m)\,\text{running\_var} + m\,\tfrac{N}{N-1}\sigma^2 .$$
#
# In **evaluation** mode (`model.eval()`) the layer uses the running estimates instead of
# the batch's. That is what lets it process a single example. We feed three features with
# very different scales (means 5, −2, 0 and standard deviations 3, 0.5, 1).

# %%
MEANS, STDS = np.array([5.0, -2.0, 0.0]), np.array([3.0, 0.5, 1.0])


def feature_batch(n):
    return sg.tensor((MEANS + STDS * rng.standard_normal((n, 3))).astype(np.float32))


bn = nn.BatchNorm1d(3)                 # γ = 1, β = 0: the output is x̂ itself
batch = feature_batch(64)
out_train = bn(batch).numpy()          # training mode (the default)
mu_batch = batch.numpy().mean(axis=0)
var_batch = batch.numpy().var(axis=0)  # the biased σ² (divides by N)
print("training mode: output means", out_train.mean(axis=0).round(6),
      " variances", out_train.var(axis=0).round(4))
assert np.allclose(out_train.mean(axis=0), 0, atol=1e-5)
assert np.allclose(out_train.var(axis=0), var_batch / (var_batch + bn.eps), atol=1e-4)

print("after one step: running_mean", sg.to_numpy(bn.running_mean).round(3),
      " running_var", sg.to_numpy(bn.running_var).round(3))
assert np.allclose(sg.to_numpy(bn.running_mean), 0.9 * 0 + 0.1 * mu_batch, atol=1e-5)
assert np.allclose(sg.to_numpy(bn.running_var), 0.9 * 1 + 0.1 * var_batch * 64 / 63, atol=1e-4)

# %% [markdown]
# After one step the running estimates have moved only 10% of the way from their starting
# values (mean 0, variance 1) toward the data's. So a BatchNorm that has seen few batches
# barely normalises in eval mode. Let us look at the same batch in eval mode, then run more
# training batches (every forward pass in training mode updates the running statistics,
# even without a backward) and look again.

# %%
bn.eval()
with sg.no_grad():
    out_eval_early = bn(batch).numpy()
print("eval mode, 1 batch seen:   output means", out_eval_early.mean(axis=0).round(2))

n_warm = 60
history = [(sg.to_numpy(bn.running_mean).copy(), sg.to_numpy(bn.running_var).copy())]
bn.train()
for _ in range(n_warm):
    with sg.no_grad():
        bn(feature_batch(64))
    history.append((sg.to_numpy(bn.running_mean).copy(), sg.to_numpy(bn.running_var).copy()))
bn.eval()
with sg.no_grad():
    out_eval_late = bn(batch).numpy()
print(f"eval mode, {n_warm + 1} batches seen: output means", out_eval_late.mean(axis=0).round(2))
print("running_mean", sg.to_numpy(bn.running_mean).round(2), " running_var",
      sg.to_numpy(bn.running_var).round(2), " (true: ", MEANS, STDS ** 2, ")")
assert np.abs(out_eval_early.mean(axis=0)[0]) > 2   # barely normalised: (5 − 0.49)/√1.85 ≈ 3.3
assert np.allclose(sg.to_numpy(bn.running_mean), MEANS, atol=0.3)
assert np.allclose(sg.to_numpy(bn.running_var), STDS ** 2, rtol=0.2)
assert np.abs(out_eval_late - out_train).max() < 0.3         # eval ≈ train once warmed up

# %% [markdown]
# **The other difference: who else is in the batch.** In training mode an example's output
# depends on the other examples in its batch (through $\mu$ and $\sigma^2$); in eval mode it
# depends on that example alone. Put the same first example in two batches, the second
# with every other example shifted by +10 in feature 0:

# %%
first = batch.numpy()[:1]
others = batch.numpy()[1:]
batch_a = sg.tensor(np.concatenate([first, others]))
batch_b = sg.tensor(np.concatenate([first, others + np.array([10, 0, 0], np.float32)]))
probe_bn = nn.BatchNorm1d(3)           # a fresh layer, so bn's running statistics stay
with sg.no_grad():
    train_a, train_b = probe_bn(batch_a).numpy()[0], probe_bn(batch_b).numpy()[0]
    bn.eval()
    eval_a, eval_b = bn(batch_a).numpy()[0], bn(batch_b).numpy()[0]
print("training mode, example 0:", train_a.round(3), "vs", train_b.round(3))
print("eval mode,     example 0:", eval_a.round(3), "vs", eval_b.round(3))
assert abs(train_a[0] - train_b[0]) > 1.0      # its batch mates moved it
assert np.array_equal(eval_a, eval_b)          # eval mode: the example alone decides

fig, axes = plt.subplots(1, 2, figsize=(12, 4))
seen = np.arange(len(history)) + 1
axes[0].plot(seen, [h[0][0] for h in history], color="tab:blue", label="running_mean[0]")
axes[0].plot(seen, [h[1][0] for h in history], color="tab:red", label="running_var[0]")
axes[0].axhline(MEANS[0], color="tab:blue", ls=":", label="true mean 5")
axes[0].axhline(STDS[0] ** 2, color="tab:red", ls=":", label="true variance 9")
axes[0].set(xlabel="training batches seen", ylabel="value",
            title="Running statistics: an average with momentum 0.1")
axes[0].legend(fontsize=9)
axes[0].grid(alpha=0.3)
bins = np.linspace(-4, 8, 61)
axes[1].hist(out_train[:, 0], bins=bins, alpha=0.6, label="train mode (batch statistics)")
axes[1].hist(out_eval_early[:, 0], bins=bins, alpha=0.6, label="eval mode after 1 batch")
axes[1].hist(out_eval_late[:, 0], bins=bins, histtype="step", lw=2, color="black",
             label=f"eval mode after {n_warm + 1} batches")
axes[1].set(xlabel="BatchNorm output, feature 0", ylabel="count",
            title="The same 64 inputs, three ways")
axes[1].legend(fontsize=9)
save_figure(fig, "04_batchnorm")

# %% [markdown]
# So: **call `model.train()` before training and `model.eval()` before using the model**
# (sampling, evaluating). A generator with BatchNorm that samples in training mode makes
# each image depend on the other images in the batch. One that samples in eval mode right
# after a few steps uses running statistics that have not caught up. Both are classic
# sources of "my samples look different from what I saw during training".
#
# ## What you should now be able to do
#
# * Write what `nn.Linear(in, out)` computes ($y = xW^\top + b$, $W$ of shape
#   $(\text{out}, \text{in})$), its gradients, and why its default init keeps the output
#   variance near $1/3$.
# * Sketch LeakyReLU, Tanh and Sigmoid and their derivatives, and say where each saturates
#   and where each is used in a GAN.
# * List a model's parameters, save it with `state_dict()` and `np.savez`, and load it
#   into a fresh copy.
# * Explain what BatchNorm1d does in training and in evaluation mode, how the running
#   statistics are updated, and why `model.eval()` matters when sampling.
#
# ## Try this
#
# 1. Build a 10-layer MLP of `nn.Linear(256, 256)` and `nn.LeakyReLU(0.2)` and print the
#    standard deviation of the activations after each layer. Then re-initialise each
#    weight with `nn.init.kaiming_normal_(layer.weight, a=0.2)` and compare.
# 2. Stack five `nn.Sigmoid()` layers and use `sg.grad` to get the derivative of the output
#    with respect to the input at $x = 0$. Compare with $(1/4)^5$: why is it smaller
#    still? Do the same with five `nn.LeakyReLU(0.2)`, at $x = 1$ and at $x = -1$.
# 3. Set `momentum=0.5` in the `BatchNorm1d` of section 4. How many batches does the
#    running mean now need to get within 0.3 of 5? Derive the number from
#    $(1 - m)^t$ and check it.
