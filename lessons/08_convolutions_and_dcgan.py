# %% [markdown]
# # Lesson 8 — Convolutions and the DCGAN
#
# The MLP GAN of lesson 6 sees an image as 784 unrelated numbers: its first layer would
# have to learn separately that a stroke at the top left and the same stroke at the bottom
# right are the same thing. A **convolution** learns one small kernel and slides it over
# every position. This lesson builds the convolutional GAN of Radford et al. (2016),
# DCGAN, from the ops underneath it:
#
# 1. a convolution is a matrix product: cut the image into patches (`unfold`, "im2col"),
#    multiply by the kernel;
# 2. the **transposed convolution**, the layer that makes images bigger, is the
#    convolution's adjoint, and why some kernel sizes paint checkerboards;
# 3. strided convolutions instead of pooling;
# 4. the DCGAN guidelines, as `scratchgan/models/dcgan.py` follows them;
# 5. a short training run, with the same noise vectors drawn as training goes on.
#
# **Fast mode** (`SCRATCHGAN_FAST=1`, half a minute) trains on three digits only, 0, 1 and
# 7, with a narrow network and a raised learning rate, so that its samples are digits
# rather than blotches; the full mode trains on all ten.
#
# Exercises 14 and 15 (`lessons/exercises/`) ask you to write the convolution's backward
# and the transposed convolution's forward yourself.

# %%
import time
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import functional as F
from scratchgan import losses, metrics, nn
from scratchgan.models.dcgan import PRESETS, DCGAN
from _draw import tile
from _lesson import FAST, load_digits, save_figure, steps

sg.seed(0)
rng = np.random.default_rng(0)
DIGITS = (0, 1, 7) if FAST else tuple(range(10))      # the digits section 5 trains on
print(f"fast mode: {FAST}   backend: {sg.backend.name}   digits: {DIGITS}")


def array(t):
    """A Tensor's values as a NumPy array (on any backend)."""
    return sg.to_numpy(t.data)


# %% [markdown]
# ## 1. im2col: a convolution is patches times a kernel
#
# A 2-D convolution (strictly, the cross-correlation that every framework calls
# convolution) with a kernel $W$ of $C_\text{out}$ filters, each $C \times k_h \times k_w$,
# computes for every output position $(i, j)$
#
# $$y[o, i, j] = \sum_{c,\,u,\,v} W[o, c, u, v]\; x[c,\; i s + u,\; j s + v] + b[o],$$
#
# with stride $s$ (and the image padded with zeros first, if asked). Read it as a
# dot product: the **patch** of $x$ under the kernel at $(i, j)$, a vector of
# $C k_h k_w$ numbers, times the filter $W[o]$ flattened the same way. So cut every patch
# out once and stack them as rows — `F.unfold`, known as **im2col** — and the whole
# convolution is one matrix product, patches $\times K^\top$, with $K$ the $C_\text{out}$
# filters as rows:
#
# $$\underbrace{P}_{(L,\ C k_h k_w)} \; \underbrace{K^\top}_{(C k_h k_w,\ C_\text{out})}
#   = \underbrace{Y}_{(L,\ C_\text{out})}, \qquad L = H_\text{out} W_\text{out}.$$
#
# Every output pixel is a `Linear` layer applied to its patch, the same layer at every
# position. Here is a $5 \times 5$ image with the numbers 0 to 24, and its patches for a
# $3 \times 3$ kernel at stride 1: nine positions, so nine rows of nine pixels.

# %%
tiny = np.arange(25.0).reshape(1, 1, 5, 5)            # (N, C, H, W): one image, one channel
patches = array(F.unfold(sg.tensor(tiny), kernel_size=3))     # (N, L, kh·kw·C)
print("patches:", patches.shape)
print(patches[0].astype(int))
for i in range(3):
    for j in range(3):      # row i·3 + j is the 3×3 window whose top left corner is (i, j)
        assert np.array_equal(patches[0, 3 * i + j], tiny[0, 0, i:i + 3, j:j + 3].ravel())

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1, 1.8]})
left.imshow(tiny[0, 0], cmap="Blues", vmin=-5, vmax=30)
for (r, c), v in np.ndenumerate(tiny[0, 0]):
    left.text(c, r, int(v), ha="center", va="center")
left.add_patch(plt.Rectangle((0.5, 0.5), 3, 3, fill=False, color="tab:red", lw=2.5))
left.set_title("a 5×5 image; the window of row 4 in red")
right.imshow(patches[0], cmap="Blues", vmin=-5, vmax=30)
for (r, c), v in np.ndenumerate(patches[0]):
    right.text(c, r, int(v), ha="center", va="center", fontsize=8)
right.add_patch(plt.Rectangle((-0.5, 3.5), 9, 1, fill=False, color="tab:red", lw=2.5))
right.set(title="unfold: one row per output position (9 rows of 3·3 pixels)",
          xlabel="pixel of the patch (u, v)", ylabel="output position i·3 + j")
for ax in (left, right):
    ax.set_xticks([]), ax.set_yticks([])
save_figure(fig, "08_im2col")

# %% [markdown]
# With several channels a patch holds $k_h \cdot k_w \cdot C$ numbers, in scratchgan in the
# order $(u, v, c)$: the channels of one pixel side by side. The kernel, stored as
# PyTorch stores it, $(C_\text{out}, C, k_h, k_w)$, must be flattened in that same order,
# hence the transpose to $(C_\text{out}, k_h, k_w, C)$ below. We check all three ways of
# computing a convolution on a random batch, with stride 2 and padding 1: the nested loops
# of the formula, patches $\times K^\top$, and `F.conv2d`.

# %%
x = rng.standard_normal((2, 3, 7, 7))                 # N = 2 images, C = 3 channels
W = rng.standard_normal((4, 3, 3, 3))                 # C_out = 4 filters of 3×3×3
b = rng.standard_normal(4)
stride, padding = 2, 1


def conv2d_loops(x, W, b, stride, padding):
    """The formula, one output number at a time."""
    n, c, h, w = x.shape
    c_out, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h_out, w_out = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    y = np.zeros((n, c_out, h_out, w_out))
    for m in range(n):
        for o in range(c_out):
            for i in range(h_out):
                for j in range(w_out):
                    window = xp[m, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    y[m, o, i, j] = (W[o] * window).sum() + b[o]
    return y


P = array(F.unfold(sg.tensor(x), 3, stride=stride, padding=padding))      # (2, 16, 27)
K = W.transpose(0, 2, 3, 1).reshape(4, -1)                                 # (4, 27), (u, v, c)
y_im2col = (P @ K.T + b).reshape(2, 4, 4, 4).transpose(0, 3, 1, 2)   # (N, H_out, W_out, C_out)
y_loops = conv2d_loops(x, W, b, stride, padding)
y_conv = array(F.conv2d(sg.tensor(x), sg.tensor(W), sg.tensor(b), stride=stride, padding=padding))
print(f"patches {P.shape} @ Kᵀ {K.T.shape} → {y_im2col.shape}")
print(f"largest difference, im2col vs loops: {np.abs(y_im2col - y_loops).max():.1e};  "
      f"F.conv2d vs loops: {np.abs(y_conv - y_loops).max():.1e}")
assert np.allclose(y_im2col, y_loops) and np.allclose(y_conv, y_loops)

# %% [markdown]
# That is how `F.conv2d` is written (`scratchgan/ops/convolution.py`): `Unfold`, then the
# same `linear` as an MLP layer. Its backward therefore needs nothing new either. The
# gradient of $P K^\top$ is exercise 9's, and the gradient of `unfold` is `fold`: `unfold`
# copies each pixel into every patch that covers it, so its adjoint adds every patch's
# gradient back onto the pixels it came from. **Exercise 14** asks you to write that
# backward.
#
# ## 2. The transposed convolution: the convolution's adjoint
#
# A convolution is linear in $x$: $y = A x$ for some (huge, sparse) matrix $A$. A GAN's
# generator needs to go the other way, from a small feature map to a big image. The
# **transposed convolution** is the map $A^\top$: the same kernel, with the roles of
# input and output swapped. What defines a transpose (an adjoint) is that for every $x$
# and $r$
#
# $$\langle A x,\ r \rangle = \langle x,\ A^\top r \rangle .$$
#
# And $A^\top r$ is exactly what backpropagation computes through the convolution: the
# gradient of $\langle A x, r\rangle$ with respect to $x$. So the transposed convolution
# *is* the convolution's backward, used as a layer. Computed by hand, it multiplies
# every input pixel by the kernel to give a $k_h \times k_w$ patch, and `fold`s the
# patches onto the output, $s$ pixels apart, adding where they overlap.
#
# Note the layout: `F.conv_transpose2d` takes its weight as $(C_\text{in}, C_\text{out},
# k_h, k_w)$ as PyTorch does, so the convolution's own $W$, of shape $(4, 3, 3, 3)$, maps
# 4 channels back to 3 unchanged. And a stride-2 convolution maps both a $7 \times 7$ and an
# $8 \times 8$ image to $4 \times 4$; `output_padding` says which size to go back to.

# %%
X, Wt = sg.tensor(x, requires_grad=True), sg.tensor(W)
Y = F.conv2d(X, Wt, stride=stride, padding=padding)                        # (2, 4, 4, 4)
r = rng.standard_normal(Y.shape)
back = F.conv_transpose2d(sg.tensor(r), Wt, stride=stride, padding=padding)   # (2, 3, 7, 7)
lhs, rhs = float((array(Y) * r).sum()), float((x * array(back)).sum())
print(f"<conv(x), r> = {lhs:.10f}\n<x, convT(r)> = {rhs:.10f}")
assert back.shape == x.shape and np.isclose(lhs, rhs, rtol=1e-12)

(gx,) = sg.grad((Y * sg.tensor(r)).sum(), [X])              # backprop through conv2d
assert np.allclose(array(gx), array(back))                   # is the transposed convolution

eight = F.conv2d(sg.tensor(rng.standard_normal((2, 3, 8, 8))), Wt, stride=2, padding=1)
back_8 = F.conv_transpose2d(sg.tensor(r), Wt, stride=2, padding=1, output_padding=1)
print(f"conv2d: 7×7 → {Y.shape[2:]} and 8×8 → {eight.shape[2:]};  conv_transpose2d back: "
      f"{back.shape[2:]} (output_padding 0), {back_8.shape[2:]} (output_padding 1)")
assert Y.shape == eight.shape and back_8.shape[2:] == (8, 8)

# %% [markdown]
# ### Why uneven overlap paints checkerboards
#
# Feed a transposed convolution a constant image of ones, with a kernel of ones: each
# output pixel then shows **how many patches overlap on it**. With a $3 \times 3$ kernel
# at stride 2, the patches start every 2 pixels and are 3 wide, so along a row every other
# pixel is covered twice and the rest once: $1, 2, 1, 2, \dots$. In two dimensions that is
# 1, 2 and 4 in a checkerboard. A generator built from such layers starts out with this
# pattern in every image and must learn kernels that cancel it (Odena, Dumoulin and Olah,
# "Deconvolution and checkerboard artifacts", Distill 2016). With a $4 \times 4$ kernel at
# stride 2 every interior pixel is covered exactly twice along each axis: the overlap is
# **even**, because 4 is a multiple of 2. That is why DCGAN's generator uses $4 \times 4$
# kernels at stride 2 (padding 1 doubles the size exactly).
#
# The other cure replaces the transposed convolution: **upsample** by repeating each pixel
# on a $2 \times 2$ block (`nn.Upsample`, nearest neighbour), then apply an ordinary
# convolution with padding. Every output pixel then sees a full $3 \times 3$ window.

# %%
ones = sg.tensor(np.ones((1, 1, 6, 6)))
overlap_3 = array(F.conv_transpose2d(ones, sg.tensor(np.ones((1, 1, 3, 3))), stride=2,
                                     padding=1, output_padding=1))[0, 0]        # 12×12
overlap_4 = array(F.conv_transpose2d(ones, sg.tensor(np.ones((1, 1, 4, 4))), stride=2,
                                     padding=1))[0, 0]                          # 12×12
upsampled = nn.Upsample(scale_factor=2)(ones)                                   # 12×12
upsample_conv = array(F.conv2d(upsampled, sg.tensor(np.ones((1, 1, 3, 3))), padding=1))[0, 0]
print("row 5 of each output (kernel of ones, input of ones):")
print("  3×3, stride 2:    ", overlap_3[5].astype(int))
print("  4×4, stride 2:    ", overlap_4[5].astype(int))
print("  upsample + 3×3:   ", upsample_conv[5].astype(int))

inner = slice(1, -1)                       # the border pixels have fewer neighbours
assert np.array_equal(overlap_3[5, :10], np.tile([1, 2], 5) * 2)      # row 5 is covered twice
assert np.array_equal(overlap_3[inner, inner][:4, :4], [[4, 2, 4, 2], [2, 1, 2, 1]] * 2)
assert np.all(overlap_4[inner, inner] == 4)                           # even overlap
assert np.all(upsample_conv[inner, inner] == 9)

fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
for ax, image, title in zip(axes, (overlap_3, overlap_4, upsample_conv),
                            ("ConvTranspose 3×3, stride 2", "ConvTranspose 4×4, stride 2",
                             "Upsample ×2, then Conv 3×3")):
    ax.imshow(image, cmap="viridis", vmin=0)
    for (r_, c_), v in np.ndenumerate(image):
        ax.text(c_, r_, int(v), ha="center", va="center", fontsize=6, color="w")
    ax.set_title(title)
    ax.axis("off")
fig.suptitle("How many times each output pixel is painted (input and kernel all ones)", y=1.02)
save_figure(fig, "08_checkerboard")

# %% [markdown]
# The left panel is the checkerboard: 4, 2 and 1 side by side, before any learning. The
# middle is flat inside, 4 everywhere but on the border. Even overlap removes the
# imbalance that is built into the layer; it does not forbid a pattern, since a learned
# $4 \times 4$ kernel can still weight its even and odd taps differently, but the
# generator no longer has to fight its own architecture. The right panel is flat inside too,
# at 9: every output pixel sees a whole $3 \times 3$ window of upsampled input.
#
# ## 3. Strided convolutions instead of pooling
#
# Classification networks of the time shrank their feature maps with **pooling**: the
# average (or maximum) of each $2 \times 2$ block. Average pooling is itself a stride-2
# convolution, one with a fixed kernel: each channel's $2 \times 2$ block times $\tfrac14$,
# and no mixing between channels,
#
# $$W_\text{pool}[o, c, u, v] = \tfrac14\,\delta_{oc}.$$
#
# DCGAN's first guideline replaces it with a stride-2 convolution whose kernel is
# **learnt**: the network chooses how to downsample (in $D$), and with the transposed
# convolution how to upsample (in $G$).

# %%
pool = nn.AvgPool2d(2)
W_pool = np.einsum("oc,uv->ocuv", np.eye(3), np.full((2, 2), 0.25))     # (3, 3, 2, 2)
pooled = array(pool(sg.tensor(x[:, :, :6, :6])))
strided = array(F.conv2d(sg.tensor(x[:, :, :6, :6]), sg.tensor(W_pool), stride=2))
print(f"AvgPool2d(2): {pooled.shape};  conv2d with W_pool, stride 2: {strided.shape};  "
      f"largest difference {np.abs(pooled - strided).max():.1e}")
assert np.allclose(pooled, strided)

# %% [markdown]
# ## 4. The DCGAN guidelines
#
# Radford, Metz and Chintala (2016) found, by much trial and error, a set of rules that
# made convolutional GANs train stably. `scratchgan/models/dcgan.py` (the model
# `mnist-dcgan`, classes `DCGAN` and `DCGANConfig`) follows each of them, scaled to
# $28 \times 28$ digits:
#
# * **strided convolutions instead of pooling**: $D$ downsamples with `Conv2d(…, 4,
#   stride=2, padding=1)`, $G$ upsamples with `ConvTranspose2d(…, 4, stride=2,
#   padding=1)` — $4 \times 4$ at stride 2, the even overlap of section 2;
# * **BatchNorm** in both networks, except at $G$'s output and $D$'s input;
# * **no hidden fully connected layers**: only the projection of $z$ to a $2C \times 7
#   \times 7$ map at $G$'s start, and the single logit at $D$'s end;
# * **ReLU** in $G$ with $\tanh$ at the output, **LeakyReLU(0.2)** in $D$;
# * weights drawn from $\mathcal N(0, 0.02^2)$, Adam with learning rate $2 \cdot 10^{-4}$ and
#   $\beta_1 = 0.5$.
#
# A layer followed by BatchNorm has no bias: the norm subtracts the batch mean, so a bias
# there would get a gradient of exactly zero. Two presets: `"paper"`, the published widths
# ($C = 64$), and `"default"`, sized for two CPU cores: $C = 32$ in $D$ and twice that in
# $G$, an EMA of $G$'s weights for sampling (lesson 6), packing and a smoothed real label
# (lesson 7), and a **third strided convolution in $D$**. With two, each of $D$'s last
# features sees a $10 \times 10$ patch and one linear layer joins them: $D$ can weigh a
# digit's parts but not check that they belong together, and $G$ learns to draw
# well-formed strokes in the wrong shapes. At $3 \times 3$, each feature sees the whole
# digit. $G$ gets the same in turn: a **hidden fully connected layer** (512 units) before
# its projection to the $7 \times 7$ map, so that the digit's layout is planned by two
# nonlinear layers rather than one linear map of $z$ (docs/experiments.md measures both).
# That breaks the third guideline on purpose, as InfoGAN's MNIST generator does: a
# guideline written for $64 \times 64$ scenes, measured here on $28 \times 28$ digits.

# %%
print({name: (cfg.channels, cfg.g_channels or cfg.channels, cfg.g_hidden, cfg.d_convs,
              cfg.batch_size, cfg.ema_decay) for name, cfg in PRESETS.items()},
      "  (D's C, G's C, G's hidden layer, D's convolutions, batch, EMA decay)")
sg.seed(0)
gan = DCGAN(PRESETS["default"])
print("G =", gan.G)
print("D =", gan.D)
z = gan.sample_z(6)
images = gan.G(z)
logits = gan.discriminate(images)      # the default's D judges pairs: one logit per two images
print(f"z {z.shape} → G → {images.shape} → D → {logits.shape};   "
      f"G {gan.G.num_parameters():,} and D {gan.D.num_parameters():,} parameters")
assert images.shape == (6, 1, 28, 28) and logits.shape == (3, 1)
upsamplers = [m for _, m in gan.G.named_modules() if isinstance(m, nn.ConvTranspose2d)]
assert [(m.kernel_size, m.stride) for m in upsamplers] == [((4, 4), (2, 2))] * 2

# %% [markdown]
# ### BatchNorm makes a verdict depend on the rest of the batch
#
# In training mode BatchNorm normalises with the mean and variance of the batch it is
# given. So $D$'s verdict on one image depends on which other images share its batch.
# The check below feeds the same six fakes (three pairs: the default's $D$ judges pairs) to
# $D$ twice: once alone, once stacked with six real digits (or, without MNIST, six other
# fakes).

# %%
mnist = load_digits()                             # all 60,000 digits and their labels
other = (sg.tensor((mnist[0][:6].reshape(6, 1, 28, 28) / 127.5 - 1).astype(np.float32))
         if mnist is not None else gan.G(gan.sample_z(6)))
with sg.no_grad():
    alone = array(gan.discriminate(images))
    mixed = array(gan.discriminate(F.concatenate([other, images])))[3:]
print(f"D's logits for the same three pairs of fakes, alone: {np.round(alone.ravel(), 3)}\n"
      f"                                 beside three others: {np.round(mixed.ravel(), 3)}")
assert not np.allclose(alone, mixed)

# %% [markdown]
# The verdicts differ. This matters for how a training step feeds $D$. If the D step
# judges real and fake digits in one stacked batch, but the G step shows $D$ a batch of
# fakes only, the fakes are normalised differently in the two steps: $G$ is trained
# against a $D$ that sees them otherwise than the $D$ that was trained to reject them.
# The DCGAN paper's own code, and PyTorch's DCGAN example, give $D$ the real and the fake
# batch in **separate passes**, each normalised by its own statistics, so that a fake
# batch looks the same to $D$ in both steps. `GAN.d_step` in `scratchgan/models/gan.py`
# does so whenever $D$ holds a BatchNorm, and stacks the two batches into one pass only
# for a $D$ without one (the MLP GAN's), where that is the same loss at less cost. Our
# loop below is that step written out, as in lesson 6.
#
# ## 5. A short training run
#
# The same 36 noise vectors go through $G$ as training goes on. The network is DCGAN's at
# a quarter of the paper's width ($C = 16$), with the published two-convolution $D$ and
# none of the default's extras, trained without an EMA (we look at $G$ itself), in batches of 32, with Adam's learning rate raised from the paper's
# $2 \cdot 10^{-4}$ to $10^{-3}$ for both players: at the paper's rate a few hundred steps
# leave $D$ far ahead and $G$ still painting blotches (Try this 4). Fast mode trains 500
# iterations on the 0s, 1s and 7s, under half a minute on two cores; the full mode trains
# 3,000 on all ten digits.
#
# A GAN's losses do not say whether the samples look like digits, so at the end a judge
# reads them: the evaluation classifier of lesson 6 where it is cached, otherwise the
# simplest judge there is, the nearest of the ten **mean digits** of the training set.
# Either way the judge knows all ten digits, so a blotch is not read as a trained digit
# for free.

# %%
def dcgan_step(gan, real):
    """One step of Algorithm 1 with D's real and fake batches in separate passes."""
    fake = gan.G(gan.sample_z(real.shape[0]))                  # graph kept for G's step
    d_loss = losses.d_loss_minimax(gan.D(real), gan.D(fake.detach()))
    gan.opt_d.zero_grad()
    d_loss.backward()
    gan.opt_d.step()
    with nn.frozen(gan.D):
        g_loss = losses.g_loss_nonsaturating(gan.D(fake))
        gan.opt_g.zero_grad()
        g_loss.backward()
    gan.opt_g.step()
    return d_loss.item(), g_loss.item()


def judge(images, all_images, all_labels):
    """The digit each image in [−1, 1] is read as, and a sentence saying who read it."""
    flat = sg.to_numpy(images).reshape(len(images), 784)
    classifier = metrics.load_classifier(metrics.classifier_path())
    if classifier is not None:
        probs, _ = metrics.predict(classifier, flat)
        return probs.argmax(axis=1), "the evaluation classifier"
    means = np.stack([all_images[all_labels == d].reshape(-1, 784).mean(axis=0) / 127.5 - 1
                      for d in range(10)])                       # the ten mean digits
    distances = ((flat[:, None, :] - means[None]) ** 2).sum(axis=2)
    return distances.argmin(axis=1), "the nearest mean digit"


if mnist is None:
    print("No MNIST here (offline, empty cache): the training run is skipped.")
else:
    all_images, all_labels = mnist
    train_images = all_images[np.isin(all_labels, DIGITS)]
    cfg = replace(PRESETS["default"], channels=16, g_channels=0, g_hidden=0, d_convs=2,
                  pack=1, real_label=1.0, batch_size=32, ema_decay=0.0, lr_g=1e-3, lr_d=1e-3)
    n_iters = steps(3000, 500)
    snap_at = sorted({0, n_iters // 10, n_iters // 2, n_iters})
    z_grid = sg.tensor(np.random.default_rng([0, 100]).standard_normal((36, cfg.z_dim))
                       .astype(np.float32))
    sg.seed(0)
    gan = DCGAN(cfg)
    grids, history = {}, []
    start = time.perf_counter()
    for it in range(n_iters + 1):
        if it in snap_at:
            grids[it] = gan.generate(z_grid).data
        if it == n_iters:
            break
        batch = train_images[rng.integers(0, len(train_images), cfg.batch_size)]
        real = sg.tensor((batch.reshape(-1, 1, 28, 28) / 127.5 - 1).astype(np.float32))
        history.append(dcgan_step(gan, real))
    seconds = time.perf_counter() - start
    d_losses, g_losses = np.array(history).T
    print(f"{n_iters} iterations on {len(train_images):,} digits {DIGITS} in {seconds:.0f} s;"
          f"  L_D over the last 50: {d_losses[-50:].mean():.2f},  L_G: {g_losses[-50:].mean():.2f}")
    spread = [float(np.std(sg.to_numpy(grids[k]), axis=0).mean()) for k in snap_at]
    print("how much the 36 samples differ from each other (mean std over pixels):",
          [f"{s:.3f}" for s in spread])
    assert spread[0] < 0.01 < spread[-1]    # one flat grey at first; then they differ

    z_judged = sg.tensor(np.random.default_rng([0, 101]).standard_normal((500, cfg.z_dim))
                         .astype(np.float32))
    read_as, judge_name = judge(gan.generate(z_judged).data, all_images, all_labels)
    shares = np.bincount(read_as, minlength=10) / len(read_as)
    trained_share = shares[list(DIGITS)].sum()
    print(f"500 samples, read by {judge_name}: {trained_share:.0%} as one of {DIGITS};  "
          + "  ".join(f"{d}: {shares[d]:.0%}" for d in range(10)))
    assert trained_share > 0.5                                  # most samples are trained digits
    assert shares[list(DIGITS)].min() > 1 / (4 * len(DIGITS))   # and none of them is lost

    fig, axes = plt.subplots(1, len(snap_at) + 2, figsize=(2.7 * (len(snap_at) + 2), 3.2))
    for ax, k in zip(axes, snap_at):
        ax.imshow(tile(grids[k], ncol=6), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"iteration {k}", fontsize=10)
        ax.axis("off")
    axes[-2].plot(d_losses, label="L_D", lw=0.6)
    axes[-2].plot(g_losses, label="L_G", lw=0.6)
    axes[-2].set(xlabel="iteration", title="losses")
    axes[-2].legend()
    axes[-1].bar(range(10), shares, color=["tab:blue" if d in DIGITS else "0.6"
                                           for d in range(10)])
    axes[-1].set(xticks=range(10), xlabel="read as digit", title="500 samples, judged")
    fig.suptitle(f"The same 36 noise vectors through the DCGAN generator as training goes on "
                 f"(digits {', '.join(map(str, DIGITS))})", y=1.02)
    save_figure(fig, "08_dcgan_samples")

# %% [markdown]
# What the run shows: at iteration 0 every $z$ gives the same flat grey, since $G$'s
# weights are tiny ($\mathcal N(0, 0.02^2)$) and, sampling in eval mode, its BatchNorms
# divide by running variances that still hold their starting value 1 (lesson 4). Within
# the first tenth of training the samples differ from each other (the printed spread
# grows, and the grid shows a fine, regular texture first). By the end they are strokes
# that read as digits, and the judge agrees: the cell checks that most samples are read as
# a trained digit and that each trained digit gets a fair share. In fast mode the printed
# share is about 70% with the evaluation classifier, which is strict about thin or broken
# strokes; the full mode's 3,000 iterations on all ten digits draw every digit, each in at
# least 4% of the samples. The losses look nothing like a loss going down: for the first
# hundred or so iterations $D$ wins ($L_D$ near 0, $L_G$ high), then the two settle near
# $L_D \approx 0.9$ and $L_G \approx 1.5$, neither player winning outright, and stay
# there while the samples keep improving. `make train-dcgan` trains the full network
# (the `"default"` preset) for minutes and scores it as lesson 6 does.
#
# ## What you should now be able to do
#
# * Cut an image into patches with `F.unfold` and compute a convolution as
#   patches $\times K^\top$, with the kernel flattened in the patches' order.
# * Say why `fold` is `unfold`'s adjoint, and so the convolution's backward (exercise 14).
# * Explain the transposed convolution as the convolution's adjoint,
#   $\langle A x, r\rangle = \langle x, A^\top r\rangle$, and compute it as pixels times the
#   kernel, folded (exercise 15); choose `output_padding`.
# * Predict the overlap pattern of a transposed convolution from its kernel and stride,
#   and name two cures for the checkerboard (a kernel divisible by the stride; upsample,
#   then convolve).
# * Write average pooling as a stride-2 convolution with a fixed kernel, and say what a
#   strided convolution learns instead.
# * List the DCGAN guidelines and find each in `scratchgan/models/dcgan.py`; explain why a
#   BatchNorm discriminator should see real and fake batches in separate passes.
#
# ## Try this
#
# 1. Replace $G$'s transposed convolutions by `nn.Upsample(2)` followed by
#    `nn.Conv2d(…, 3, padding=1)` and train again. Do the early grids still show a
#    regular texture?
# 2. Make `dcgan_step` stack real and fake into one pass through $D$
#    (`gan.D(F.concatenate([real, fake.detach()]))`, then split the logits) and compare
#    $L_D$, $L_G$ and the grids with the separate passes.
# 3. Give $G$ a $3 \times 3$ kernel at stride 2 (`padding=1, output_padding=1`) and look
#    for the checkerboard of section 2 in the samples of the first iterations.
# 4. Set the learning rates back to the paper's $2 \cdot 10^{-4}$ (`lr_g=2e-4, lr_d=2e-4`)
#    and run fast mode again. What share of the samples does the judge now read as 0, 1
#    or 7, and what do $L_D$ and $L_G$ say about who is winning?
