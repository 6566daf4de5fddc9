# %% [markdown]
# # Lesson 2 — Reverse-mode automatic differentiation
#
# Training a GAN means nudging a few hundred thousand parameters downhill on a loss, over
# and over. For that we need the **gradient**: the derivative of one number (the loss) with
# respect to every parameter. Working it out by hand for every model would be slow and
# error-prone. Computing it one parameter at a time with finite differences would cost one
# or two forward passes per parameter.
#
# **Reverse-mode automatic differentiation** (backpropagation) gets the whole gradient for a
# small constant times the cost of one forward pass. The idea fits in three steps:
#
# 1. while computing the loss, **record** every operation and what it was applied to: a
#    graph;
# 2. every operation knows its own **local derivative**;
# 3. walk the graph **backwards**, from the loss to the inputs, multiplying local
#    derivatives (the chain rule) and **adding up** the contributions where a value was
#    used more than once.
#
# We first build a complete engine for single numbers in about 40 lines, then see how
# `scratchgan.autograd` does the same for arrays.

# %%
import inspect
import math
import sys
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import functional as F
from _draw import draw_graph
from _lesson import FAST, save_figure, steps

sg.seed(0)
rng = np.random.default_rng(0)
print(f"fast mode: {FAST}   backend: {sg.backend.name}")

# %% [markdown]
# ## 1. The chain rule, one node at a time
#
# Take $L = \tanh(ab + c)$ and name the intermediate results: $d = ab$, $e = d + c$,
# $L = \tanh e$. Write $\bar v$ for $\partial L/\partial v$, the **adjoint** of $v$: how
# much $L$ changes per unit change of $v$. Start from $\bar L = 1$ and go backwards, each
# step using only the local derivative of one operation:
#
# $$\bar e = \bar L\,(1 - \tanh^2 e) = 1 - L^2, \qquad
# \bar d = \bar e \cdot 1, \qquad \bar c = \bar e \cdot 1, \qquad
# \bar a = \bar d\, b, \qquad \bar b = \bar d\, a.$$
#
# So, by hand: $\dfrac{\partial L}{\partial a} = (1 - L^2)\,b$,
# $\dfrac{\partial L}{\partial b} = (1 - L^2)\,a$,
# $\dfrac{\partial L}{\partial c} = 1 - L^2$.
#
# When a value feeds several operations, its adjoint collects one term from each of them
# (the multivariable chain rule):
#
# $$\bar v = \sum_{u \text{ uses } v} \bar u \, \frac{\partial u}{\partial v}.$$
#
# That sum is why the order matters: $\bar v$ is complete only after **every** $u$ that
# uses $v$ has passed its term back. Any order in which each node comes after all the nodes
# that use it will do; such an order is a (reverse) **topological order** of the graph.

# %% [markdown]
# ## 2. A scalar engine in about 40 lines
#
# A `Value` holds one number, its gradient, the values it was made from, and a small
# function `_backward` that pushes its gradient to those parents. Note the `+=`: a parent
# used twice receives two contributions. This is the design of Andrej Karpathy's
# *micrograd*.

# %%
class Value:
    """One number that remembers how it was made."""

    def __init__(self, data, parents=()):
        self.data = float(data)
        self.grad = 0.0                  # dL/d(this value), filled in by backward()
        self._parents = parents          # the Values this one was computed from
        self._backward = lambda: None    # adds this value's grad into its parents' grads

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def _backward():                 # d(a + b)/da = 1,  d(a + b)/db = 1
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def _backward():                 # d(ab)/da = b,  d(ab)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    __radd__, __rmul__ = __add__, __mul__

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,))

        def _backward():                 # d tanh(a)/da = 1 − tanh²(a)
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    def backward(self):
        order, visited = [], set()

        def visit(v):                    # depth first: parents are listed before v
            if id(v) not in visited:
                visited.add(id(v))
                for parent in v._parents:
                    visit(parent)
                order.append(v)
        visit(self)
        self.grad = 1.0                  # dL/dL = 1
        for v in reversed(order):        # every value before the values it was made from
            v._backward()

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"


# %% [markdown]
# Let us run it on $L = \tanh(ab + c)$ with $a = 0.5$, $b = -1.5$, $c = 1$, and compare with
# the derivatives worked out by hand above.

# %%
a, b, c = Value(0.5), Value(-1.5), Value(1.0)
L = (a * b + c).tanh()
L.backward()
print("L =", L)
for name, v in (("a", a), ("b", b), ("c", c)):
    print(f"  dL/d{name} = {v.grad:+.10f}")

by_hand = {"a": (1 - L.data ** 2) * b.data, "b": (1 - L.data ** 2) * a.data,
           "c": 1 - L.data ** 2}
assert math.isclose(a.grad, by_hand["a"], rel_tol=1e-12)
assert math.isclose(b.grad, by_hand["b"], rel_tol=1e-12)
assert math.isclose(c.grad, by_hand["c"], rel_tol=1e-12)
print("the engine agrees with the hand derivation")

# %% [markdown]
# **A value used twice.** In $y = x\cdot x + x$ the value $x$ feeds the product twice and the
# sum once, so $\bar x$ collects three terms: $x + x + 1 = 2x + 1$, which is $7$ at $x = 3$.
# If `_backward` wrote `self.grad = ...` instead of `+=`, the later terms would overwrite the
# earlier ones and the answer would be wrong without any error.

# %%
x = Value(3.0)
y = x * x + x
y.backward()
print(y, "  dy/dx =", x.grad)
assert x.grad == 2 * 3.0 + 1

# %% [markdown]
# **Where the scalar engine stops.** It has two limits. One node per *number*: a single
# 64 × 784 by 784 × 512 matrix product would create about 50 million `Value` objects (one
# per multiplication, one per addition). And `visit` is recursive: Python allows about
# 1,000 nested calls, so a graph deeper than that cannot be sorted. A chain of 10,000
# multiplications shows it:

# %%
N_CHAIN = 10_000
v = Value(1.0)
chain = v
for _ in range(N_CHAIN):
    chain = chain * 1.0001
try:
    chain.backward()
    print("the recursive sort managed", N_CHAIN, "levels (a large recursion limit?)")
except RecursionError as err:
    print(f"RecursionError: {err} (Python's limit: {sys.getrecursionlimit()} nested calls)")

# %% [markdown]
# ## 3. From numbers to tensors: `scratchgan.autograd`
#
# scratchgan keeps the three ideas and changes the unit of work from a number to an
# array:
#
# | scalar engine | scratchgan |
# |---|---|
# | `Value.data`: one float | `Tensor.data`: an array (NumPy or CuPy) |
# | `_parents` and a `_backward` closure | `Tensor.creator`: a `Function`, with `inputs`, `backward` |
# | `grad` added with `+=` | gradients summed per tensor during the walk, then put in `leaf.grad` |
# | recursive topological sort | an explicit stack: no depth limit |
#
# A **`Function`** is one operation. Its `forward` takes **raw arrays** and returns a raw
# array: it is plain NumPy/CuPy arithmetic. Its `backward` receives $\bar y$ (called `gy`) as
# a **Tensor** and returns $\bar x$ (called `gx`) for each input, as Tensors, computed with
# scratchgan's own operations. Here is scratchgan's `Tanh`, exactly as in
# `scratchgan/ops/activations.py`:

# %%
print(inspect.getsource(F.Tanh))

# %% [markdown]
# Calling `F.tanh(x)` creates a `Tanh` object, runs `forward` on `x.data`, wraps the result
# in a new Tensor and, if some input requires a gradient (and recording is on: not inside
# `sg.no_grad()`), records `creator` on the output and `inputs` on the function. Here is
# the same $L = \tanh(ab + c)$ with tensors (float64, to compare with the scalar engine to
# the last digit):

# %%
ta = sg.tensor(np.float64(0.5), requires_grad=True)
tb = sg.tensor(np.float64(-1.5), requires_grad=True)
tc = sg.tensor(np.float64(1.0), requires_grad=True)
tL = F.tanh(ta * tb + tc)
print("L:", tL)
print("L was made by", type(tL.creator).__name__, "from",
      [type(t.creator).__name__ for t in tL.creator.inputs])
tL.backward()
for name, t, v in (("a", ta, a), ("b", tb, b), ("c", tc, c)):
    print(f"  dL/d{name}: scratchgan {t.grad.item():+.10f}   scalar engine {v.grad:+.10f}")
    assert math.isclose(t.grad.item(), v.grad, rel_tol=1e-12)

# %% [markdown]
# ## 4. The graph
#
# With arrays the graph stays small: one node per *operation*, however many numbers flow
# through it. Below is the graph of a small layer and loss,
#
# $$h = xw + b, \qquad y = \tanh h, \qquad L = \textstyle\sum_{ij} y_{ij}^2,$$
#
# with $x$ of shape (4, 3), $w$ (3, 2) and $b$ (2,). Tensors are rounded boxes (green: leaves
# that want a gradient), functions are orange. The number on each function (#1, #2, ...) is
# its place in the backward walk, which `sg.autograd._topological_order` computes (a private
# helper, which `draw_graph` in `lessons/_draw.py` calls only to look). Note the two arrows
# from $y$ into `Mul`: $y \cdot y$ uses $y$ twice.

# %%
gx_in = sg.tensor(rng.standard_normal((4, 3)))
gw = sg.tensor(rng.standard_normal((3, 2)), requires_grad=True)
gb = sg.tensor(rng.standard_normal(2), requires_grad=True)
gh = gx_in @ gw + gb
gy_ = F.tanh(gh)
gL = (gy_ * gy_).sum()
for t, name in ((gx_in, "x"), (gw, "w"), (gb, "b"), (gh, "h"), (gy_, "y"), (gL, "L")):
    t.name = name

fig, ax = plt.subplots(figsize=(16, 4.4))
draw_graph(ax, gL)
ax.set_title("The graph of L = Σ tanh(x @ w + b)²  (x is data: it needs no gradient)")
save_figure(fig, "02_graph")

backward_order = [f.name for f in sg.autograd._topological_order([gL])]
print("backward order:", " → ".join(backward_order))
assert backward_order == ["Sum", "Mul", "Tanh", "Add", "MatMul"]

# %% [markdown]
# ## 5. Topological order without recursion
#
# scratchgan sorts the graph with a depth-first search that keeps its own **stack** (a
# Python list) instead of calling itself. Each function is pushed twice: once to be
# expanded (push its inputs' creators), once, marked "children done", to be appended to the
# order after everything it depends on. The list it builds has every function after the
# functions that made its inputs; reversed, it is the backward order. A list can grow to
# millions of entries; the call stack cannot. So the same chain of 10,000 multiplications
# that broke the scalar engine is no problem:

# %%
x = sg.tensor(np.float64(1.0), requires_grad=True)
chain = x
start = time.perf_counter()
for _ in range(N_CHAIN):
    chain = chain * 1.0001
chain.backward()
elapsed = time.perf_counter() - start
expected = 1.0001 ** N_CHAIN                  # d(x · 1.0001^N)/dx
print(f"{N_CHAIN} ops deep: dy/dx = {x.grad.item():.12f}, expected {expected:.12f} "
      f"({elapsed:.2f} s forward and backward)")
assert math.isclose(x.grad.item(), expected, rel_tol=1e-10)

# %% [markdown]
# ## 6. Broadcasting and `sum_to`
#
# Lesson 1 showed that in $h = xw + b$ the bias $b$ of shape (2,) is stretched to (4, 2):
# each $b_j$ is used once per row. By the sum rule of section 1, its gradient adds up those
# uses:
#
# $$\frac{\partial L}{\partial b_j} = \sum_{i} \frac{\partial L}{\partial h_{ij}}.$$
#
# Every broadcasting op (`Add`, `Mul`, ...) does this in one place: it computes its gradient
# at the broadcast shape and hands it to `F.sum_to(g, input.shape)`, which sums over the
# extra leading axes and over every axis where the input had size 1.

# %%
g = sg.tensor(rng.standard_normal((5, 4, 3)))
print("sum_to (5, 4, 3) → (3,):  ", F.sum_to(g, (3,)).shape)
print("sum_to (5, 4, 3) → (4, 1):", F.sum_to(g, (4, 1)).shape)
assert np.allclose(F.sum_to(g, (3,)).numpy(), g.numpy().sum(axis=(0, 1)))
assert np.allclose(F.sum_to(g, (4, 1)).numpy(), g.numpy().sum(axis=(0, 2))[:, None])

bx = sg.tensor(rng.standard_normal((4, 3)))
bb = sg.tensor(rng.standard_normal(3), requires_grad=True)
weights = rng.standard_normal((4, 3))
((bx + bb) * sg.tensor(weights)).sum().backward()
print("b has shape", bb.shape, "and so does its gradient:", bb.grad.shape)
assert np.allclose(bb.grad.numpy(), weights.sum(axis=0))   # ∂L/∂b_j = Σ_i weights_ij

# %% [markdown]
# ## 7. Gradients add up
#
# **A node used twice.** In $b = a + a$, $c = b\cdot b$ the tensor $a$ reaches `Add` through
# both inputs, and `Mul` receives $b$ twice. The walk adds every contribution before passing
# a gradient on: $\bar b = 2b$, $\bar a = 2\bar b = 4b = 8a$. At $a = 1.5$ that is 12.

# %%
a_t = sg.tensor(np.float64(1.5), requires_grad=True)
b_t = a_t + a_t
c_t = b_t * b_t
c_t.backward()
print("dc/da =", a_t.grad.item())
assert a_t.grad.item() == 8 * 1.5

# %% [markdown]
# **`backward()` twice.** Gradients also add up *across* calls: `backward()` adds into
# `.grad`, it does not overwrite it (the same convention as PyTorch). That is what lets you
# sum the gradients of several losses, and it is why a training step starts with
# `optimizer.zero_grad()`. Forgetting that makes the gradient grow step after step.

# %%
p = sg.tensor(np.float64(3.0), requires_grad=True)
(p * p).backward()
first = p.grad.item()                 # 2p = 6
(p * p).backward()                    # a new graph, the same leaf
print("after one backward:", first, "  after two:", p.grad.item())
assert first == 6.0 and p.grad.item() == 12.0
p.zero_grad()
assert p.grad is None

# %% [markdown]
# ## 8. Second derivatives: `create_graph=True`
#
# A `backward` is written with tensor operations, so the gradient computation can itself be
# recorded as a graph. `sg.grad(outputs, inputs, create_graph=True)` returns gradients that
# remember how they were made, and differentiating them again gives second derivatives. The
# WGAN-GP penalty needs exactly this: it penalises the *gradient* of the discriminator, and
# training it differentiates through that gradient.
#
# For $f(x) = x^3$: $f'(x) = 3x^2$ and $f''(x) = 6x$, both 12 at $x = 2$.

# %%
x = sg.tensor(np.float64(2.0), requires_grad=True)
(d1,) = sg.grad(x ** 3, [x], create_graph=True)
(d2,) = sg.grad(d1, [x])
print(f"f'(2) = {d1.item()},  f''(2) = {d2.item()},  d1 has a graph: {d1.creator is not None}")
assert math.isclose(d1.item(), 12.0) and math.isclose(d2.item(), 12.0)

# %% [markdown]
# Now over a whole array. For $y = \tanh x$ applied elementwise, $\sum_i y_i$ has the
# gradient $y_i' = 1 - \tanh^2 x_i$ (each $y_i$ depends on $x_i$ only), so one call gives the
# derivative at every point at once; and once more:
#
# $$\frac{d}{dx}\tanh x = 1 - \tanh^2 x, \qquad
# \frac{d^2}{dx^2}\tanh x = -2\tanh x\,(1 - \tanh^2 x).$$

# %%
grid = np.linspace(-3, 3, steps(121, 41))
x = sg.tensor(grid, requires_grad=True)              # float64
y = F.tanh(x)
(dy,) = sg.grad(y.sum(), [x], create_graph=True)     # tanh'(x), differentiable
(d2y,) = sg.grad(dy.sum(), [x])                      # tanh''(x)

t = np.tanh(grid)
first_exact, second_exact = 1 - t ** 2, -2 * t * (1 - t ** 2)
err1 = np.abs(dy.numpy() - first_exact).max()
err2 = np.abs(d2y.numpy() - second_exact).max()
print(f"largest error: first derivative {err1:.1e}, second derivative {err2:.1e}")
assert err1 < 1e-12 and err2 < 1e-12

fine = np.linspace(-3, 3, 400)
tf = np.tanh(fine)
fig, ax = plt.subplots(figsize=(7.0, 4.2))
ax.plot(fine, tf, color="0.3", label="tanh x")
ax.plot(fine, 1 - tf ** 2, color="tab:blue", label="1 − tanh² x  (by hand)")
ax.plot(fine, -2 * tf * (1 - tf ** 2), color="tab:red",
        label="−2 tanh x (1 − tanh² x)  (by hand)")
every = max(1, len(grid) // 30)
ax.plot(grid[::every], dy.numpy()[::every], "o", color="tab:blue", mfc="none",
        label="sg.grad, create_graph=True")
ax.plot(grid[::every], d2y.numpy()[::every], "s", color="tab:red", mfc="none",
        label="sg.grad of that gradient")
ax.axhline(0, color="0.8", lw=0.8)
ax.set(xlabel="x", title="tanh and its first two derivatives: autodiff (markers) vs by hand")
ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5))
save_figure(fig, "02_tanh_derivatives")

# %% [markdown]
# ## What you should now be able to do
#
# * Compute adjoints $\bar v = \partial L/\partial v$ by hand on a small expression, going
#   backwards with one local derivative per operation, and summing over a value's uses.
# * Build a scalar reverse-mode engine (`Value` with +, ×, tanh and a topological backward)
#   and say why it needs `+=` and a topological order.
# * Read a scratchgan `Function`: `forward` on raw arrays, `backward` from `gy` to one
#   gradient per input, written with Tensor ops.
# * Explain why scratchgan sorts the graph with an explicit stack, what `sum_to` does for
#   broadcast inputs, and why `.grad` must be zeroed between steps.
# * Get a second derivative with `sg.grad(..., create_graph=True)` and check it against the
#   analytic one.
#
# ## Try this
#
# 1. Add `__pow__` (for a constant exponent) and `exp` to `Value`, then check
#    $\frac{d}{dx}\,e^{x^2}$ at $x = 0.7$ against the hand derivation $2x\,e^{x^2}$.
# 2. Change one `+=` in `Value.__mul__` to `=`. Which of this lesson's asserts fail, and
#    why does the single-use example $L = \tanh(ab + c)$ still pass?
# 3. Draw the graph of `F.sigmoid(x @ w).mean()` with `draw_graph` (in `lessons/_draw.py`).
#    Where does the constant `1/n` of the mean appear, and why is it a leaf without a
#    gradient?
# 4. Use `create_graph=True` twice to get the third derivative of $\tanh$, and compare it
#    with $-2(1 - \tanh^2 x)(1 - 3\tanh^2 x)$.
