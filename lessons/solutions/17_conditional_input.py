"""Exercise 17 — the conditional discriminator's input: [x ; e_y]

A conditional GAN's D judges a pair (x, y): "is x a real image of the digit y?" (lesson 9).
It reads y as the one-hot vector e_y (n_classes numbers, 1 at position y, 0 elsewhere),
joined to x on axis 1, x first:

    x flat    (N, F)          →  (N, F + n_classes):     e_y beside the features
    x images  (N, C, H, W)    →  (N, C + n_classes, H, W): channel C + k is a constant
                                  plane, all 1 where the sample's label is k, else all 0

labels is an integer array (N,) (not a Tensor), each in 0 … n_classes − 1.  Use Tensor ops
(F.concatenate, F.broadcast_to, .reshape): in G's step x is G(z, y), and the gradient of
D's verdict flowing back through this input to x is all that G learns from.  The one-hot
part is data, a constant: sg.Tensor(array) with no gradient.  xp = sg.backend.
get_array_module(x.data) is the array module of x (NumPy, or CuPy on a GPU).

Before you run the check, predict: why must the width be n_classes and not
labels.max() + 1?  And why not append y as a single number, (N, F + 1)?

Check:   make check EX=conditional_input        (or: python -m scratchgan check conditional_input)
The check compares your input with scratchgan.models.cgan.conditional_input for a flat
batch that lacks a class and for a batch of images, then gradient-checks it with respect
to x, to first and second order (a WGAN-GP critic differentiates through it twice).
"""
import scratchgan as sg  # noqa: F401
from scratchgan import functional as F  # noqa: F401 (the Tensor ops you may need)


def conditional_input(x, labels, n_classes=10):
    """x: Tensor (N, F) or (N, C, H, W); labels: integers (N,).  Returns D's input, x
    joined with the one-hot labels on axis 1: (N, F + n_classes) or (N, C + n_classes, H, W)."""
    xp = sg.backend.get_array_module(x.data)
    e_y = sg.Tensor(xp.eye(n_classes, dtype=x.data.dtype)[labels])     # (N, n_classes), data
    if x.ndim == 4:                                                     # images: planes
        n, _, h, w = x.shape
        e_y = F.broadcast_to(e_y.reshape(n, n_classes, 1, 1), (n, n_classes, h, w))
    return F.concatenate([x, e_y], axis=1)                              # x first, then y
