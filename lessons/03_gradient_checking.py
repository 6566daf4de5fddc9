# %% [markdown]
# # Lesson 3 — Gradient checking
#
# Every `backward` in scratchgan is written by hand, and so is every `backward` you will
# write in the exercises. A wrong one does not crash. The model still trains, only worse, and
# a GAN that trains worse looks exactly like a GAN with bad hyperparameters. You could spend
# days tuning learning rates around a missing factor of 2.
#
# The cure is to check every backward against an independent answer that needs no calculus:
# the **definition** of the derivative, evaluated numerically. This lesson covers
#
# 1. central differences, and how accurate they can be (a figure of error against step
#    size);
# 2. `sg.gradcheck`: what it computes and how to read its report;
# 3. three planted bugs (a wrong factor, a wrong branch, a wrong shape), found and fixed;
# 4. `sg.gradgradcheck`, which checks second derivatives.

# %%
import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import functional as F
from _lesson import FAST, save_figure, steps

sg.seed(0)
rng = np.random.default_rng(0)
print(f"fast mode: {FAST}   backend: {sg.backend.name}")

# %% [markdown]
# ## 1. Central differences
#
# Expand $f$ around $x$ (Taylor's theorem), one step $\epsilon$ to each side:
#
# $$f(x \pm \epsilon) = f(x) \pm \epsilon f'(x) + \tfrac{\epsilon^2}{2} f''(x)
#   \pm \tfrac{\epsilon^3}{6} f'''(x) + O(\epsilon^4).$$
#
# Subtract the two: the even terms cancel, and dividing by $2\epsilon$ leaves
#
# $$\frac{f(x+\epsilon) - f(x-\epsilon)}{2\epsilon} = f'(x) + \frac{\epsilon^2}{6} f'''(x)
#   + O(\epsilon^4).$$
#
# This **central difference** is off by a **truncation error** proportional to $\epsilon^2$:
# make $\epsilon$ 10 times smaller and the error drops 100 times. The one-sided **forward
# difference** $\big(f(x+\epsilon) - f(x)\big)/\epsilon = f'(x) + \tfrac{\epsilon}{2}f''(x)
# + \dots$ is only $O(\epsilon)$, which is why gradient checkers use the central one.
#
# ## 2. Rounding: why not make $\epsilon$ tiny?
#
# Because of lesson 1: each computed value of $f$ carries a rounding error of about
# $u|f(x)|$, where $u = \varepsilon_{\text{mach}}/2$ is the **unit roundoff** ($6\times10^{-8}$
# in float32, $1.1\times10^{-16}$ in float64). The difference of two such values is off by
# up to $2u|f(x)|$, and dividing by $2\epsilon$ magnifies that. The total error is roughly
#
# $$E(\epsilon) \approx \underbrace{\frac{\epsilon^2}{6}\,|f'''(x)|}_{\text{truncation}}
#   + \underbrace{\frac{u\,|f(x)|}{\epsilon}}_{\text{rounding}},$$
#
# which falls as $\epsilon^2$, reaches a minimum, then rises as $1/\epsilon$: a **V** on
# log-log axes. Setting $E'(\epsilon) = 0$ puts the bottom at
# $\epsilon^* = \big(3u|f|/|f'''|\big)^{1/3}$, where the error is of order $u^{2/3}$:
# about $10^{-5}$ in float32 (five correct digits at best) and $10^{-11}$ in float64.
#
# Let us measure it for $f = \tanh$ at $x = 0.5$, against the exact derivative from
# scratchgan's backward pass.

# %%
x0 = 0.5
x_t = sg.tensor(np.float64(x0), requires_grad=True)
F.tanh(x_t).backward()
exact = x_t.grad.item()                                   # from Tanh.backward
assert abs(exact - (1 - np.tanh(x0) ** 2)) < 1e-15        # = 1 − tanh²(0.5)

epsilons = np.logspace(-12, 0, steps(97, 49))


def tanh_values(points, dtype):
    """tanh at every point, computed by scratchgan in ``dtype``, returned as float64."""
    with sg.no_grad():
        return sg.to_numpy(F.tanh(sg.tensor(points, dtype=dtype))).astype(np.float64)


central, forward = {}, None
for dtype in ("float32", "float64"):
    f_plus = tanh_values(x0 + epsilons, dtype)
    f_minus = tanh_values(x0 - epsilons, dtype)
    central[dtype] = np.abs((f_plus - f_minus) / (2 * epsilons) - exact)
    if dtype == "float64":
        f_mid = tanh_values(np.full_like(epsilons, x0), dtype)
        forward = np.abs((f_plus - f_mid) / epsilons - exact)

# %% [markdown]
# The figure plots the measured errors, and the model $E(\epsilon)$ above as dotted lines
# ($|f'''(0.5)| = 2(1 - t^2)(1 - 3t^2) \approx 0.57$ with $t = \tanh 0.5$).

# %%
t = np.tanh(x0)
f3 = abs(2 * (1 - t ** 2) * (1 - 3 * t ** 2))           # |tanh'''(0.5)|
assert abs(f3 - 0.57) < 0.01
fig, ax = plt.subplots(figsize=(8, 5))
colors = {"float32": "tab:red", "float64": "tab:blue"}
for dtype, err in central.items():
    u = np.finfo(dtype).eps / 2
    ax.loglog(epsilons, np.where(err > 0, err, np.nan), "o-", ms=3, lw=1,
              color=colors[dtype], label=f"central difference, {dtype}")
    model = epsilons ** 2 * f3 / 6 + u * abs(t) / epsilons
    ax.loglog(epsilons, model, ":", color=colors[dtype], lw=1.5)
ax.loglog(epsilons, np.where(forward > 0, forward, np.nan), "^-", ms=3, lw=1,
          color="tab:gray", alpha=0.7, label="forward difference, float64")
ax.axvline(1e-6, color="black", ls="--", lw=1)
ax.text(1.3e-6, 3e-15, "sg.gradcheck's ε = 1e-6", fontsize=9)
ax.text(2e-3, 3e-4, "slope 2: ε²", color="tab:blue", fontsize=9)
ax.text(3e-12, 2e-10, "slope −1: rounding / ε", color="tab:blue", fontsize=9)
ax.text(1e-12, 0.3, "float32: 0.5 ± ε rounds to 0.5,\nthe estimate is 0", color="tab:red",
        fontsize=8, va="top")
ax.set(xlabel="step ε", ylabel="|estimate − exact derivative|", ylim=(1e-16, 10),
       title="Error of finite differences for tanh'(0.5)  (dotted: the model E(ε))")
ax.grid(True, which="major", alpha=0.3)
ax.legend(loc="lower left", fontsize=9)
save_figure(fig, "03_finite_difference_error")

# %% [markdown]
# Read the V from right to left. At large $\epsilon$ all three curves fall as you shrink
# the step (slope 2 for central, slope 1 for forward). Then rounding takes over and the
# error climbs again. float32 turns around about three orders of magnitude earlier than
# float64: $\epsilon^*$ grows as $u^{1/3}$, and float32's $u$ is
# $2^{29} \approx 5\times10^{8}$ times larger, a factor of about 800 in $\epsilon^*$. At
# gradcheck's $\epsilon = 10^{-6}$, float64 is near its best and float32 is already wrong in
# the second digit. So **gradient checks run in float64**, whatever dtype you train in. The numbers
# behind the figure:

# %%
def fitted_slope(eps, err, low, high):
    """Slope of log(err) against log(eps) over low ≤ eps ≤ high."""
    keep = (eps >= low) & (eps <= high) & (err > 0)
    return np.polyfit(np.log10(eps[keep]), np.log10(err[keep]), 1)[0]


best = {dtype: err.min() for dtype, err in central.items()}
slope_central = fitted_slope(epsilons, central["float64"], 1e-4, 1e-1)
slope_forward = fitted_slope(epsilons, forward, 1e-6, 1e-2)
at_default = central["float64"][np.argmin(np.abs(epsilons - 1e-6))]
at_default32 = central["float32"][np.argmin(np.abs(epsilons - 1e-6))]
best_eps32 = epsilons[np.argmin(central["float32"])]
print(f"slope of the central difference (float64, large ε): {slope_central:.2f}")
print(f"slope of the forward difference (float64):          {slope_forward:.2f}")
print(f"best error, float32: {best['float32']:.1e} (at ε = {best_eps32:.0e}; "
      f"theory: ε* ≈ {(3 * np.finfo(np.float32).eps / 2 * t / f3) ** (1 / 3):.0e})")
print(f"best error, float64: {best['float64']:.1e}")
print(f"error at ε = 1e-6: float64 {at_default:.1e}, float32 {at_default32:.1e} "
      f"(the derivative is {exact:.3f})")
assert 1.9 < slope_central < 2.1                # O(ε²)
assert 0.9 < slope_forward < 1.1                # O(ε)
assert best["float32"] > 100 * best["float64"]  # float32 cannot get close
assert 1e-4 < best_eps32 < 1e-1                 # float32's best step is large
assert at_default < 1e-9                        # float64 at ε = 1e-6: 9+ digits
assert at_default32 > 0.005                     # float32: wrong in the second digit

# %% [markdown]
# ## 3. Checking a whole tensor function: `sg.gradcheck`
#
# For a function of tensors, $y = f(x_1, \dots, x_k)$ of any shape, `sg.gradcheck(f, inputs)`:
#
# 1. copies every floating input to **float64**;
# 2. turns the output into one number, $L = \sum_j y_j v_j$, with a fixed random $v$ (so every
#    output element is checked, and errors cannot cancel the way they could in a plain
#    sum);
# 3. gets the **analytic** gradient $\partial L/\partial x_i$ from backward;
# 4. gets the **numeric** one by perturbing each element of each input by $\pm\epsilon$ and
#    taking the central difference of $L$;
# 5. calls an element **off** when $|a - n| > \text{atol} + \text{rtol}\cdot|n|$
#    (defaults $\epsilon = 10^{-6}$, atol $= 10^{-5}$, rtol $= 10^{-3}$);
# 6. returns `True`, or raises `sg.GradcheckError` with a report.
#
# Step 4 costs two forward passes per input element, so check on **small** inputs: a
# 3 × 4 matrix is 24 passes, a 784 × 512 weight would be 800,000. Here is a check that
# passes:

# %%
a_in = rng.standard_normal((3, 4))
b_in = rng.standard_normal((4, 2))
assert sg.gradcheck(lambda a, b: F.sigmoid(a @ b), [a_in, b_in])
assert sg.gradcheck(F.tanh, [a_in])
print("sigmoid(a @ b) and tanh: backward agrees with central differences")

# %% [markdown]
# ## 4. A planted bug: a missing factor
#
# Here is an op you might write for a model: a Gaussian bump $y = e^{-x^2}$. By the chain
# rule, $\dfrac{dy}{dx} = e^{-x^2}\cdot\dfrac{d(-x^2)}{dx} = -2x\,e^{-x^2} = -2xy$. A classic
# slip is to forget the 2 from $\frac{d}{dx}x^2 = 2x$. The `Function` below has exactly that
# slip. It is written the way every scratchgan op is: `forward` on raw arrays, `backward`
# from `gy` with Tensor ops.

# %%
class BumpWrong(sg.Function):
    """y = exp(−x²)   dy/dx = −2x·y   (this backward forgets the 2)"""

    def forward(self, x):
        return sg.get_array_module(x).exp(-x * x)

    def backward(self, gy):
        (x,) = self.inputs
        y = self.output
        return gy * (-x * y)                 # BUG: d(x²)/dx is 2x, not x


x_in = rng.standard_normal((3, 4))
caught = False
try:
    sg.gradcheck(lambda x: BumpWrong()(x), [x_in], name="BumpWrong.backward")
except sg.GradcheckError as err:
    caught = True
    print(err)
assert caught, "gradcheck should have caught the missing factor of 2"

# %% [markdown]
# **Reading the report**, line by line:
#
# * `gradcheck failed for BumpWrong.backward, input 0 (shape (3, 4), float64)`: which
#   function, and which of its inputs (counting from 0), checked in float64.
# * `12 of 12 elements are off; worst at [i, j]`: how many gradient elements fail the
#   tolerance, and where the largest error is.
# * `analytic ... numeric ... relative error 5.0e-01`: the two values at that element. A
#   relative error of 0.5 means "off by half": not a rounding problem (those are $10^{-9}$
#   in float64), a real bug.
# * the map: one character per element, laid out like the input; `x` is off, `.` is right.
#   All `x` means the mistake is in the formula itself, not in some branch of it.
# * `hint:` the checker compares analytic and numeric over the failing elements and
#   recognises common patterns: a constant ratio of 1/2, 2 or −1, all zeros, a transpose.
#   Here, half: a missing factor of 2.
#
# The same picture drawn as a plot: the derivative we compute (by backward) against the one we
# measure (by central differences, done here for each element at once, which is valid for an
# elementwise function). The buggy backward sits on the line "analytic = numeric / 2".

# %%
class Bump(sg.Function):
    """y = exp(−x²)   dy/dx = −2x·y"""

    def forward(self, x):
        return sg.get_array_module(x).exp(-x * x)

    def backward(self, gy):
        (x,) = self.inputs
        y = self.output
        return gy * (-2 * x * y)             # fixed


def backward_derivative(op_class, points):
    """d op(x)/dx at every point, from backward (the op is elementwise, so sum works)."""
    x = sg.tensor(points, requires_grad=True)
    (g,) = sg.grad(op_class()(x).sum(), [x])
    return g.numpy()


def numeric_derivative(op_class, points, eps=1e-6):
    """The same derivative by central differences, every element perturbed at once."""
    with sg.no_grad():
        f_plus = op_class()(sg.tensor(points + eps)).numpy()
        f_minus = op_class()(sg.tensor(points - eps)).numpy()
    return (f_plus - f_minus) / (2 * eps)


grid = np.linspace(-2.5, 2.5, steps(101, 41))
numeric = numeric_derivative(Bump, grid)
wrong, right = backward_derivative(BumpWrong, grid), backward_derivative(Bump, grid)
mask = np.abs(numeric) > 1e-3
ratio = wrong[mask] / numeric[mask]
print(f"BumpWrong / numeric: between {ratio.min():.6f} and {ratio.max():.6f}")
assert np.allclose(ratio, 0.5, atol=1e-6)            # exactly the missing factor
assert np.allclose(right, numeric, atol=1e-8)

fig, (left, right_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
left.plot(grid, np.exp(-grid ** 2), color="0.6", label="y = exp(−x²)")
left.plot(grid, numeric, color="black", lw=5, alpha=0.25, label="numeric dy/dx")
left.plot(grid, right, color="tab:blue", label="Bump.backward")
left.plot(grid, wrong, color="tab:red", ls="--", label="BumpWrong.backward")
left.set(xlabel="x", title="The derivative, three ways")
left.legend(fontsize=9)
lim = 1.0
right_ax.plot([-lim, lim], [-lim, lim], color="0.7", lw=1, label="analytic = numeric")
right_ax.plot([-lim, lim], [-lim / 2, lim / 2], color="tab:red", lw=1, ls=":",
              label="analytic = numeric / 2")
right_ax.plot(numeric, right, "o", ms=4, color="tab:blue", label="Bump")
right_ax.plot(numeric, wrong, "s", ms=4, mfc="none", color="tab:red", label="BumpWrong")
right_ax.set(xlabel="numeric (central difference)", ylabel="analytic (backward)",
             title="What gradcheck compares", aspect="equal")
right_ax.legend(fontsize=9, loc="upper left")
save_figure(fig, "03_planted_bug")

# %% [markdown]
# With the fix, the same check passes:

# %%
assert sg.gradcheck(lambda x: Bump()(x), [x_in], name="Bump.backward")
print("Bump.backward passes gradcheck")

# %% [markdown]
# ## 5. A bug in some elements only: read the map
#
# A leaky ReLU is $y = x$ for $x > 0$ and $y = 0.2x$ otherwise, so $dy/dx$ is 1 or 0.2. The
# backward below forgets the 0.2 branch. Now only some elements are off, and the map shows
# which. Compare it with the signs of the input: the `x` marks sit exactly where $x < 0$.
# (The hint says that the analytic gradient is zero exactly where it is off, a dropped
# branch; the map says which branch.)
#
# Keep inputs away from kinks: within $\epsilon$ of $x = 0$ the central difference straddles
# the corner and measures a slope between 0.2 and 1, and the check fails for a correct
# backward.

# %%
class LeakyWrong(sg.Function):
    """y = x if x > 0 else 0.2·x   dy/dx = 1 if x > 0 else 0.2   (backward forgets the 0.2)"""

    def forward(self, x):
        return sg.get_array_module(x).where(x > 0, x, 0.2 * x)

    def backward(self, gy):
        x = self.inputs[0].data                       # a mask is a constant: raw data is fine
        return gy * (x > 0).astype(x.dtype)           # BUG: should be 1 where x > 0, else 0.2


leaky_in = rng.standard_normal((3, 4))
assert np.abs(leaky_in).min() > 1e-3                  # no element near the kink
try:
    sg.gradcheck(lambda x: LeakyWrong()(x), [leaky_in], name="LeakyWrong.backward")
    raise AssertionError("gradcheck should have caught the missing 0.2")
except sg.GradcheckError as err:
    print(err)
    map_rows = str(err).split("x = off, . = right)\n")[1].splitlines()[:len(leaky_in)]
print("\nwhere the input is negative (− = negative, + = positive)")
for row in leaky_in:
    print("    " + " ".join("−" if v < 0 else "+" for v in row))
off = np.array([[mark == "x" for mark in row.split()] for row in map_rows])
assert np.array_equal(off, leaky_in < 0)              # off exactly where x < 0

assert sg.gradcheck(lambda x: F.leaky_relu(x, 0.2), [leaky_in])
print("\nscratchgan's F.leaky_relu passes")

# %% [markdown]
# ## 6. A shape bug: the broadcast that was not summed
#
# Lesson 2's `sum_to` exists because a broadcast input's gradient must be summed back to its
# own shape. Forget it, and the engine itself refuses the gradient (it checks every
# gradient's shape against its input's). `gradcheck` turns that error into a report too.

# %%
class AddWrong(sg.Function):
    """y = a + b (broadcast)   dy/da = 1, dy/db = 1, summed back to each input's shape"""

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy                                  # BUG: no sum_to


class AddRight(AddWrong):
    def backward(self, gy):
        a, b = self.inputs
        return F.sum_to(gy, a.shape), F.sum_to(gy, b.shape)


pair = [rng.standard_normal((4, 3)), rng.standard_normal(3)]
try:
    sg.gradcheck(lambda a, b: AddWrong()(a, b), pair, name="AddWrong.backward")
    raise AssertionError("gradcheck should have caught the shape error")
except sg.GradcheckError as err:
    print(err)
assert sg.gradcheck(lambda a, b: AddRight()(a, b), pair, name="AddRight.backward")
print("AddRight.backward passes")

# %% [markdown]
# ## 7. Second order: `sg.gradgradcheck`
#
# Lesson 2 got second derivatives by differentiating a gradient built with
# `create_graph=True`. That works only if every `backward` on the way is made of
# differentiable Tensor ops. A backward that computes with raw arrays (`.data`) gives the
# right *first* derivative, but to the engine those arrays are constants, so the gradient of
# the gradient comes out wrong, usually zero. WGAN-GP trains through a gradient, so this
# matters.
#
# `sg.gradgradcheck(f, inputs)` checks second order the same way. With $L = \sum_j f(x)_j v_j$
# as before and another fixed random $u$, it gradchecks the function
#
# $$x \mapsto \sum_i \frac{\partial L}{\partial x_i}\,u_i,$$
#
# whose gradient is the Hessian of $L$ times $u$, computed by differentiating the backward
# pass. Here is the bump again, with its backward done on raw arrays:

# %%
class BumpRaw(sg.Function):
    """y = exp(−x²)   dy/dx = −2x·y, computed on raw arrays (right, but a dead end)"""

    def forward(self, x):
        return sg.get_array_module(x).exp(-x * x)

    def backward(self, gy):
        x, y = self.inputs[0].data, self.output.data  # raw arrays: constants to autodiff
        return gy * sg.Tensor(-2 * x * y)


assert sg.gradcheck(lambda x: BumpRaw()(x), [x_in], name="BumpRaw.backward")
print("first order: BumpRaw passes gradcheck")
caught = False
try:
    sg.gradgradcheck(lambda x: BumpRaw()(x), [x_in], name="BumpRaw")
except sg.GradcheckError as err:
    caught = True
    print(err)
assert caught, "gradgradcheck should have caught the raw-array backward"

# %% [markdown]
# The report is for "the gradient of BumpRaw (second order)": the analytic second derivative
# is zero everywhere, and the hint names the usual cause, a raw array or `.data`. `Bump`,
# whose backward is built from Tensor ops, passes, and so do scratchgan's own ops:

# %%
assert sg.gradgradcheck(lambda x: Bump()(x), [x_in], name="Bump")
assert sg.gradgradcheck(lambda a, b: F.sigmoid(a @ b), [a_in, b_in])
assert sg.gradgradcheck(F.tanh, [a_in])
print("second order: Bump, sigmoid(a @ b) and tanh pass gradgradcheck")

# %% [markdown]
# Not every raw array is a mistake: a **mask** such as `x > 0` in `LeakyWrong` is piecewise
# constant, its derivative really is zero, and scratchgan's ReLU uses one. The rule is about
# values that depend smoothly on the input, like $-2xy$ here.
#
# ## What you should now be able to do
#
# * Derive the $O(\epsilon^2)$ error of a central difference (and $O(\epsilon)$ of a forward
#   one), and explain the V shape of the error: truncation on the right, rounding on the left.
# * Explain why gradient checks run in float64 and use $\epsilon \approx 10^{-6}$.
# * Run `sg.gradcheck` on a function of several tensors, catch `sg.GradcheckError`, and read
#   its report: which input, how many elements, analytic vs numeric, the map, the hint.
# * Recognise three kinds of bug from their reports: a constant factor, a wrong branch, a
#   missing `sum_to`.
# * Use `sg.gradgradcheck` to check second derivatives, and say why a backward must be built
#   from Tensor ops for it to pass.
#
# ## Try this
#
# 1. Flip the sign in `Bump.backward` (`gy * (2 * x * y)`). What does the hint say? Then
#    return `(gy * (-2 * x * y)).T` for a 3 × 3 input and see which hint you get.
# 2. Run `sg.gradcheck` on `lambda x: F.relu(x)` with an input containing `1e-7`. Why does
#    it fail although `ReLU.backward` is right? What does the map show?
# 3. Pass `eps=1e-2` and then `eps=1e-10` to `sg.gradcheck` for `Bump`. Using the figure,
#    predict which one still passes with the default tolerances, then check.
# 4. Write `Softplus` ($y = \log(1 + e^x)$, $dy/dx = \sigma(x)$) as a `Function`, with its
#    backward built from `F.sigmoid`, and check it with both `sg.gradcheck` and
#    `sg.gradgradcheck`.
