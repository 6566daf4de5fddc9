# %% [markdown]
# # Lesson 1 — Arrays and the backend
#
# Everything scratchgan computes is an **array**: a block of numbers with a **shape** (how
# many numbers along each axis) and a **dtype** (what kind of number each one is). scratchgan
# does not implement arrays itself. It borrows them from **NumPy**, on the CPU, or from
# **CuPy**, on an NVIDIA GPU; the two libraries have almost the same interface, so the same
# code runs on both. The library that holds the arrays is called the **backend**.
#
# This lesson covers three things you need before you write a gradient by hand:
#
# 1. the backend: how to choose it, and how to write code that works with either one;
# 2. float32 and float64: why we train in one and check gradients in the other;
# 3. broadcasting: how arrays of different shapes combine, and what that means for
#    their gradients.
#
# Run it as a script (`python lessons/01_arrays_and_the_backend.py`), step through it in a
# debugger, or open it as a notebook. Figures go to `lessons/output/`.

# %%
import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import functional as F
from _draw import draw_sum
from _lesson import FAST, save_figure, steps

sg.seed(0)                          # scratchgan's random generator
rng = np.random.default_rng(0)      # and our own, for the arrays we make here
print(f"fast mode: {FAST}   active backend: {sg.backend.name}")

# %% [markdown]
# ## 1. An array: shape, dtype, memory
#
# A 3 × 4 array of float32 holds 12 numbers of 4 bytes each. `sg.tensor` wraps an array in a
# `Tensor`, the object the autodiff engine (lesson 2) works with; the numbers themselves stay
# in an ordinary array of the active backend, in `tensor.data`.

# %%
a = np.arange(12, dtype=np.float32).reshape(3, 4)
print(a)
print("shape", a.shape, " dtype", a.dtype, " bytes", a.nbytes)

t = sg.tensor(a)
print("the tensor's data is a", type(t.data).__module__ + "." + type(t.data).__name__,
      "of shape", t.shape, "and dtype", t.dtype)
assert a.nbytes == 12 * 4

# %% [markdown]
# scratchgan has one rule about dtypes, one sentence long (it is `sg.autograd.DTYPE_RULE`):
#
# > **A tensor keeps the dtype of the array it is made from (Python numbers and lists become
# > float32); a Python or NumPy scalar in an op takes the dtype of the op's tensors; an op
# > on tensors or arrays of two float dtypes raises TypeError: cast one with `.astype()`.**
#
# Its first part is about making tensors. NumPy makes float64 by default
# (`np.random.randn`, `np.array([1.0])`), so a tensor made from a NumPy array is float64
# unless you say otherwise.

# %%
from_list = sg.tensor([1.0, 2.0])
from_numpy = sg.tensor(np.array([1.0, 2.0]))
as_float32 = sg.tensor(np.array([1.0, 2.0]), dtype="float32")
print("from a list:       ", from_list.dtype)
print("from a NumPy array:", from_numpy.dtype)
print("with dtype=        ", as_float32.dtype)
assert from_list.dtype == np.float32 and from_numpy.dtype == np.float64
assert as_float32.dtype == np.float32

# %% [markdown]
# Its second and third parts are about ops. NumPy quietly promotes float32 ⊗ float64 to
# float64, so a float64 batch fed to a float32 model would turn every activation and every
# gradient into float64: twice the memory, a fraction of the speed, and no message. scratchgan
# refuses instead, naming the op and both dtypes. A number such as `0.5` has no dtype of its
# own worth keeping, so it takes the tensor's; a NumPy array, even a 0-d one like
# `np.asarray(0.5)`, has one, so it counts as a second dtype.

# %%
print(sg.autograd.DTYPE_RULE)
half = from_list * 0.5                           # a Python number: stays float32
print("float32 tensor * 0.5:", half.dtype)
try:
    from_list + from_numpy                       # float32 + float64
except TypeError as err:
    print("float32 + float64:   ", err)
mixed = from_list + from_numpy.astype("float32")   # the explicit cast says what you mean
print("after .astype:       ", mixed.dtype)
assert half.dtype == np.float32 and mixed.dtype == np.float32

# %% [markdown]
# ## 2. The backend: NumPy or CuPy
#
# In the engine (autograd, the ops, the layers), `scratchgan/backend.py` is the only file
# that imports NumPy or CuPy. The active module is `sg.backend.xp` (`xp` stands for "NumPy
# or CuPy"). You choose it in one of two ways:
#
# * in code: `sg.use_backend("cupy")` (or `"numpy"`); tensors made **afterwards** live on
#   that backend, tensors that already exist stay where they are;
# * from the shell: `SCRATCHGAN_BACKEND=cupy python lessons/01_arrays_and_the_backend.py`;
#   the variable is read once, when `scratchgan` is imported.
#
# CuPy is optional. On a machine without it (or without a GPU), asking for it raises
# `sg.backend.BackendUnavailable`, whose message is one line saying what is missing and what
# to do; a misspelt name raises `sg.backend.UnknownBackend`. Both are a
# `sg.backend.BackendError`, which the lesson catches before carrying on with NumPy.

# %%
print("backends that work here:", sg.backend.available_backends())
start_backend = sg.backend.name

try:
    cupy = sg.use_backend("cupy")
    HAVE_CUPY = True
    print("CuPy is here: the GPU backend is active for the next cell.")
except sg.backend.BackendError as err:
    HAVE_CUPY = False
    print("No GPU backend on this machine:", err)
    print("That is fine: every lesson runs on NumPy. Carrying on with", sg.backend.name)

# %% [markdown]
# Code that must work on both backends never names NumPy directly. It asks an array
# which module it belongs to, with `sg.get_array_module(array)`, and uses that module's
# functions. (To **create** a new array from nothing, use `sg.backend.xp`.)
#
# Why not simply `import numpy as np` everywhere? A GPU array lives in the GPU's memory.
# `np.zeros(...)` makes a CPU array, and mixing a CPU and a GPU array in one operation is an
# error: CuPy refuses to copy between devices behind your back, because such copies are
# slow.

# %%
def softsign(x):
    """x / (1 + |x|) for a NumPy or a CuPy array: ask the array where it lives."""
    xp = sg.get_array_module(x)
    return x / (1 + xp.abs(x))


x_cpu = np.linspace(-3, 3, 7, dtype=np.float32)
print("module:", sg.get_array_module(x_cpu).__name__, " softsign:", softsign(x_cpu))

if HAVE_CUPY:
    x_gpu = cupy.asarray(x_cpu)                  # an explicit copy to the GPU
    y_gpu = softsign(x_gpu)                      # computed on the GPU
    print("module:", sg.get_array_module(x_gpu).__name__, " result type:", type(y_gpu))
    assert np.allclose(sg.to_numpy(y_gpu), softsign(x_cpu), atol=1e-6)
    print("a tensor made now lives in:", type(sg.tensor(x_cpu).data).__module__)
    sg.use_backend(start_backend)                # back to where we started
else:
    print("(with CuPy, the same softsign would run on a cupy.ndarray, unchanged)")
print("active backend:", sg.backend.name)

# %% [markdown]
# The random numbers do not depend on the backend: scratchgan draws every random number
# (initial weights, noise $z$, dropout masks) from one seeded NumPy generator and then moves
# it to the backend. So `sg.seed(0)` gives the same run on the CPU and on the GPU.

# %%
sg.seed(0)
first = sg.to_numpy(sg.backend.random_normal((2, 3)))
sg.seed(0)
again = sg.to_numpy(sg.backend.random_normal((2, 3)))
print(first)
assert np.array_equal(first, again)

# %% [markdown]
# ## 3. `to_numpy`: leaving the backend at the edges
#
# Matplotlib, `np.savez` and `print` want NumPy arrays. `sg.to_numpy(x)` takes a Tensor or an
# array of either backend and returns a NumPy array; `tensor.numpy()` does the same.
# On a GPU this is a copy from the device to the host, which is slow, so it belongs at the
# **edges** of a program (a plot every few hundred steps, a checkpoint), never inside the
# training step.
#
# On the NumPy backend there is nothing to move, and the array you get back may share the
# tensor's memory. Copy it (`.copy()`) before you modify it.

# %%
t = sg.tensor(rng.standard_normal((2, 3)).astype(np.float32))
out = sg.to_numpy(t)
print(type(out).__name__, out.dtype, out.shape)
if sg.backend.name == "numpy":
    print("shares memory with the tensor:", np.shares_memory(out, t.data))
else:
    print("copied from the GPU")
assert isinstance(out, np.ndarray) and np.array_equal(out, t.numpy())

# %% [markdown]
# ## 4. float32 for training, float64 for checking
#
# A floating-point number stores a fixed number of significant binary digits: 24 for float32
# (about 7 decimal digits), 53 for float64 (about 16). Every arithmetic result is rounded to
# the nearest number that can be stored. The gap between neighbouring stored numbers near
# $x$ is about $\varepsilon_{\text{mach}}|x|$, where the **machine epsilon** is
#
# $$\varepsilon_{\text{mach}} = 2^{-23} \approx 1.19\times10^{-7} \ \text{(float32)},
# \qquad \varepsilon_{\text{mach}} = 2^{-52} \approx 2.22\times10^{-16} \ \text{(float64)}.$$
#
# So in float32, $1 + 10^{-8}$ is exactly $1$: the $10^{-8}$ falls between two stored numbers
# and is rounded away.

# %%
for dtype in (np.float32, np.float64):
    info = np.finfo(dtype)
    one, tiny = dtype(1), dtype(1e-8)
    print(f"{info.dtype}: machine epsilon {info.eps:.3g}, "
          f"gap after 1000: {np.spacing(dtype(1000)):.3g}, 1 + 1e-8 == 1: {one + tiny == one}")
assert np.float32(1) + np.float32(1e-8) == np.float32(1)
assert np.float64(1) + np.float64(1e-8) != np.float64(1)

# %% [markdown]
# **Why train in float32.** Half the bytes of float64: twice the parameters in the same
# memory, twice the numbers per second through the memory bus, and most GPUs do float32
# arithmetic far faster than float64 (consumer cards dozens of times faster). Training does
# not need the extra digits: the gradient of one random minibatch differs from the
# full-data gradient by far more than $10^{-7}$, so the rounding disappears in that noise.

# %%
w32 = rng.standard_normal((512, 784)).astype(np.float32)     # one layer of the MNIST GAN
w64 = w32.astype(np.float64)
print(f"a 512 x 784 weight: {w32.nbytes / 1e6:.2f} MB in float32, "
      f"{w64.nbytes / 1e6:.2f} MB in float64")
assert w64.nbytes == 2 * w32.nbytes

# %% [markdown]
# **Why check gradients in float64.** A gradient check (lesson 3) compares the backward
# pass with a **central difference**, a slope measured over a small step $\epsilon$:
#
# $$f'(x) \approx \frac{f(x+\epsilon) - f(x-\epsilon)}{2\epsilon}.$$
#
# Each value of $f$ carries a rounding error of about $\varepsilon_{\text{mach}}|f(x)|$. The
# two values are nearly equal, so their difference is small, but their rounding errors do not
# shrink with it, and dividing by $2\epsilon$ magnifies them: the estimate is off by roughly
# $\varepsilon_{\text{mach}}|f(x)|/\epsilon$. With the usual $\epsilon = 10^{-6}$ that is
# $10^{-7}/10^{-6} \approx 0.1$ in float32, useless, and $10^{-16}/10^{-6} = 10^{-10}$ in
# float64, plenty.
#
# Let us measure it on $f = \tanh$ at $x = 0.5$, whose derivative is $1 - \tanh^2 x$.

# %%
x0 = 0.5
exact = 1 - np.tanh(x0) ** 2
print(f"exact derivative: {exact:.10f}")
print(f"{'eps':>8} {'float32 estimate':>17} {'error':>9} "
      f"{'float64 estimate':>17} {'error':>9}")
errors = {}
for eps in (1e-2, 1e-4, 1e-6):
    row = f"{eps:8.0e}"
    for dtype in ("float32", "float64"):
        with sg.no_grad():
            points = sg.tensor(np.array([x0 - eps, x0 + eps]), dtype=dtype)
            f_minus, f_plus = sg.to_numpy(F.tanh(points))
        estimate = float(f_plus - f_minus) / (2 * eps)
        errors[dtype, eps] = abs(estimate - exact)
        row += f" {estimate:17.10f} {errors[dtype, eps]:9.1e}"
    print(row)
assert errors["float32", 1e-6] > 1e-3      # float32: the rounding swamps the slope
assert errors["float64", 1e-6] < 1e-8      # float64: accurate to 8+ digits
assert all(1e-6 < errors[dtype, 1e-2] < 1e-4 for dtype in ("float32", "float64"))

# %% [markdown]
# At $\epsilon = 10^{-2}$ both dtypes are off by about the same $10^{-5}$: that error has
# nothing to do with rounding; it comes from the curvature of $\tanh$ over a step that is
# too wide (lesson 3 works it out). As $\epsilon$ shrinks, float64 keeps improving and
# float32 gets worse.
#
# There is a second, sneakier rounding. In float32, $0.5 + \epsilon$ is itself rounded to a
# storable number, so the step actually taken is not the step you asked for. Near $0.5$ the
# float32 gap is $2^{-24} \approx 6\times10^{-8}$: ask for a step of $10^{-7}$ and you get
# $0.6\times10^{-7}$ or $1.2\times10^{-7}$; ask for less than $3\times10^{-8}$ and you get no
# step at all. The figure shows both effects: on the left the gap between neighbouring
# numbers (it grows with $|x|$: the precision is *relative*), on the right how far the step
# actually taken is from the step asked for.

# %%
half = np.float32(0.5)
assert np.spacing(half) == 2.0 ** -24                      # the gap just above 0.5
assert half + np.float32(2.9e-8) == half                   # a step below half a gap is lost
magnitudes = np.logspace(-6, 6, 200)
requested = np.logspace(-12, -1, steps(600, 200))
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
for dtype, color in ((np.float32, "tab:red"), (np.float64, "tab:blue")):
    name = np.dtype(dtype).name
    left.loglog(magnitudes, np.spacing(magnitudes.astype(dtype)).astype(np.float64),
                color=color, label=f"{name}: gap ≈ {np.finfo(dtype).eps:.1e} · |x|")
    start = dtype(x0)
    taken = ((start + requested.astype(dtype)) - start).astype(np.float64)
    step_error = np.abs(taken - requested) / requested
    right.loglog(requested, np.where(step_error > 0, step_error, np.nan), color=color,
                 lw=1, label=name)
right.axhline(1.0, color="k", ls=":", lw=1)
right.text(2e-12, 1.5, "100%: the step is lost (0.5 + ε == 0.5)", fontsize=9, va="bottom")
right.axvline(1e-6, color="0.5", ls="--", lw=1)
right.text(1.3e-6, 1e-15, "ε = 1e-6", color="0.4", fontsize=9)
left.set(xlabel="|x|", ylabel="distance to the next stored number",
         title="Gap between neighbouring floats")
right.set(xlabel="step ε asked for", ylabel="relative error of the step taken",
          title="A step of ε from x = 0.5, as stored", ylim=(1e-18, 30))
left.legend()
right.legend(loc="lower left")
for ax in (left, right):
    ax.grid(True, which="major", alpha=0.3)
save_figure(fig, "01_float_precision")

# %% [markdown]
# ## 5. Broadcasting
#
# Adding a bias vector of shape `(784,)` to a batch of shape `(64, 784)` adds the same bias
# to all 64 rows. NumPy, CuPy and scratchgan follow the same **broadcasting** rules to decide
# how arrays of different shapes combine:
#
# 1. line the shapes up **at the right**;
# 2. where one shape has fewer axes, pad it **on the left** with axes of size 1;
# 3. on each axis the sizes must be **equal, or one of them 1**; an axis of size 1 is
#    stretched (its values repeated) to the other size.
#
# The result has the larger size on every axis. A small helper prints the shapes lined up
# the way the rules read them.

# %%
def show_shapes(**shapes):
    """Print shapes aligned at the right, and the shape they broadcast to."""
    result = np.broadcast_shapes(*shapes.values())
    width = max(len(result), *(len(s) for s in shapes.values()))
    name_width = max(len(name) for name in [*shapes, "result"])
    for name, shape in list(shapes.items()) + [("result", result)]:
        cells = ["" for _ in range(width - len(shape))] + [str(n) for n in shape]
        print(f"  {name:>{name_width}} : " + " ".join(f"{c:>4}" for c in cells))
    print()
    return result


assert show_shapes(x=(64, 784), bias=(784,)) == (64, 784)
assert show_shapes(column=(3, 1), row=(1, 4)) == (3, 4)
assert show_shapes(images=(64, 3, 28, 28), per_channel=(3, 1, 1)) == (64, 3, 28, 28)

# %% [markdown]
# Broadcasting does not copy anything: the stretched axis is a view that reads the same
# memory again (its *stride*, the bytes to step to the next element, is 0). The picture
# below draws the stored numbers with solid borders and the virtual copies dashed and grey
# (`draw_sum`, in `lessons/_draw.py`, draws; the sums are scratchgan's).

# %%
x = np.arange(12.0).reshape(4, 3)
bias = np.array([100.0, 200.0, 300.0])
column = np.array([[0.0], [10.0], [20.0]])
row = np.array([[1.0, 2.0, 3.0, 4.0]])

fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5))
with_bias = draw_sum(top, x, bias, "x  (4, 3)", "bias  (3,) → (1, 3) → (4, 3)")
outer = draw_sum(bottom, column, row, "column  (3, 1) → (3, 4)", "row  (1, 4) → (3, 4)")
fig.suptitle("Broadcasting: solid cells are stored, dashed cells are virtual copies")
save_figure(fig, "01_broadcasting")

assert np.array_equal(with_bias, x + bias) and with_bias.shape == (4, 3)
assert np.array_equal(outer, column + row) and outer.shape == (3, 4)
strides = np.broadcast_to(bias, (4, 3)).strides
print("strides of the broadcast bias:", strides,
      "(0 bytes to the next row: the same row, read again)")
assert strides[0] == 0

# %% [markdown]
# Two things go wrong with broadcasting. The loud one: shapes that do not fit. scratchgan
# names the op and the shapes.

# %%
try:
    sg.tensor(np.ones((2, 3))) + sg.tensor(np.ones((3, 2)))
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# The quiet one is worse: shapes that fit **by accident**. A discriminator returns logits of
# shape `(N, 1)`; labels are often stored with shape `(N,)`. By the rules, `(N, 1)` and
# `(N,)` broadcast to `(N, N)`: every prediction minus every label. No error, and a loss
# that averages $N^2$ wrong numbers. Check the shapes whenever you combine two arrays.

# %%
logits = sg.tensor(rng.standard_normal((4, 1)))
labels = sg.tensor(np.ones(4))
difference = logits - labels
print("(4, 1) - (4,) has shape", difference.shape, "- not (4, 1)!")
assert difference.shape == (4, 4)
assert (logits - labels.reshape(4, 1)).shape == (4, 1)   # the fix: make the shapes agree

# %% [markdown]
# Finally, a look ahead at gradients. Broadcasting used each bias value 4 times (once per
# row), so the bias's gradient must collect the contributions of all 4 uses: it is the
# **sum** of the output's gradient over the stretched axis, and it has the bias's own shape
# `(3,)`. For $L = \sum_{ij} (x + b)_{ij}$, each $\partial L/\partial b_j$ is $4$.
# Lesson 2 shows where in the engine that sum happens (`sum_to`).

# %%
x_t = sg.tensor(x)
b_t = sg.tensor(bias, requires_grad=True)
(x_t + b_t).sum().backward()
print("bias shape", b_t.shape, " gradient shape", b_t.grad.shape,
      " gradient", b_t.grad.numpy())
assert b_t.grad.shape == (3,) and np.array_equal(b_t.grad.numpy(), [4.0, 4.0, 4.0])

# %% [markdown]
# ## What you should now be able to do
#
# * Say which backend is active (`sg.backend.name`), switch it with `sg.use_backend` or
#   `SCRATCHGAN_BACKEND`, and handle a machine without CuPy (`sg.backend.BackendError`).
# * Write an array function that runs on both backends with `sg.get_array_module`, and
#   bring results back to NumPy with `sg.to_numpy` only at the edges.
# * Predict the dtype `sg.tensor` gives, and explain why training uses float32 while
#   gradient checks use float64 (the rounding error of a central difference is about
#   $\varepsilon_{\text{mach}}|f|/\epsilon$).
# * Apply the three broadcasting rules to predict a result's shape, spot the `(N, 1)` vs
#   `(N,)` trap, and say why a broadcast input's gradient is a sum.
#
# ## Try this
#
# 1. Scan $\epsilon$ from $10^{-6}$ to $10^{-1}$ for the float32 central difference of
#    $\tanh$ at $0.5$. Which $\epsilon$ gives the smallest error, and how small is it? (Lesson
#    3 explains the answer, about $\varepsilon_{\text{mach}}^{1/3}$.)
# 2. Predict the shape of `(5, 1, 3) + (4, 1)`, then check with `np.broadcast_shapes`. For
#    `L = (a + b).sum()` with those shapes, predict `a.grad` and `b.grad`, and check them.
# 3. Compute `np.float32(16_777_216) + np.float32(1)`. Why is the answer $2^{24}$? What is
#    the smallest positive integer that float32 cannot store?
# 4. On a machine with a GPU, run this lesson with `SCRATCHGAN_BACKEND=cupy`. Which printed
#    lines change?
