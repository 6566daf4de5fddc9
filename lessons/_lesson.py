"""What every lesson shares: fast mode, where figures go, and MNIST without surprises.

Each lesson starts with ``from _lesson import FAST, save_figure, ...`` (Python puts the
lesson's own folder on the path when it runs as ``python lessons/NN_name.py``, and a
notebook runs in that folder).

    FAST              True under SCRATCHGAN_FAST=1: small data, few steps, ≤ 30 s a lesson
    steps(full, fast) the number of steps to run: ``full`` normally, ``fast`` in fast mode
    save_figure(fig, name)  writes lessons/output/NAME.png (and shows it in a notebook)
    load_digits(n)    n MNIST training digits as uint8 (n, 28, 28) with labels
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

IN_NOTEBOOK = "ipykernel" in sys.modules
if not IN_NOTEBOOK:
    matplotlib.use("Agg")              # a script draws into files, never a window
import matplotlib.pyplot as plt  # noqa: E402

FAST = os.environ.get("SCRATCHGAN_FAST") == "1"
OFFLINE = os.environ.get("SCRATCHGAN_OFFLINE") == "1"    # the tests set it: no network
OUTPUT = Path(__file__).resolve().parent / "output"


def steps(full: int, fast: int) -> int:
    """How many steps (epochs, iterations, samples) to run: fewer in fast mode."""
    return fast if FAST else full


def save_figure(fig, name: str) -> Path:
    """Write the figure to lessons/output/NAME.png; in a notebook, also show it."""
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / f"{name}.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    if IN_NOTEBOOK:
        plt.show()
    else:
        print(f"[figure] {path}")
    plt.close(fig)
    return path


def load_digits(n: int | None = None, split: str = "train"):
    """MNIST digits (uint8 (n, 28, 28)) and labels, through scratchgan's own data chain.

    With SCRATCHGAN_OFFLINE=1 (as in the tests) the chain may only use the cache and a
    folder you point at; if MNIST is not there, returns None so the lesson can say so and
    use a stand-in rather than reach for the network.
    """
    from scratchgan.data.mnist import MnistUnavailable, load_mnist
    kwargs = {"mirrors": (), "packages": ()} if OFFLINE else {}
    try:
        images, labels = load_mnist(split, log=lambda line: None, **kwargs)
    except MnistUnavailable:
        if not OFFLINE:
            raise
        print("MNIST is not in the cache and this run is offline (SCRATCHGAN_OFFLINE=1).")
        return None
    return (images, labels) if n is None else (images[:n], labels[:n])
