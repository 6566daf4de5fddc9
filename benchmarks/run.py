"""The timing table of ``make bench``: scratchgan against the same math by hand in NumPy.

Timings live here, never in the tests.  Each row times the same computation through
scratchgan's autograd and written out by hand (forward and backward) in the array library
itself, and reports the ratio.

    1. an MLP 784→512→256→1: forward, BCE-with-logits loss, backward
    2. one whole GAN iteration (D step + G step, with Adam): ``MLPGAN.train_step`` against
       ``HandGAN.train_step``, for the ``pytorch-gan`` preset at batch 64 and the
       ``default`` preset (D on pairs, G reuses D's fakes, EMA every 8th step) at 128

    python -m benchmarks [--repeat N] [--backend numpy|cupy] [--json PATH]   (from the repo root)
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

from scratchgan.backend import numpy

import scratchgan as sg
from scratchgan import backend

from .handwritten import HandGAN, mlp_step_by_hand, mlp_step_scratchgan, mlp_weights
from .same_math import check_same_gan_iteration, check_same_mlp_gradients, make_gan


def _sync():
    if backend.name == "cupy":
        backend.xp.cuda.Device().synchronize()


def time_rounds(fns: dict, repeat: int, rounds: int = 7) -> dict:
    """Seconds per call of each function in ``fns`` (name → callable), median over rounds.

    The functions take turns within each round (``repeat`` calls each), so drift in the
    machine's speed hits every side alike.  Also returns, under ``("ratio", a, b)``, the
    median of the per-round ratios a/b for each pair, which drift cancels out of better
    than the ratio of the medians.
    """
    for fn in fns.values():
        fn()
    _sync()
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(repeat):
                fn()
            _sync()
            times[name].append((time.perf_counter() - start) / repeat)
    result = {name: statistics.median(t) for name, t in times.items()}
    for a in fns:
        for b in fns:
            if a != b:
                result[("ratio", a, b)] = statistics.median(
                    x / y for x, y in zip(times[a], times[b]))
    return result


def mlp_sides(batch: int) -> dict:
    """The MLP step, one callable per side, on the same weights and batch."""
    xp = backend.xp
    sizes = (784, 512, 256, 1)
    raw = mlp_weights(sizes, xp)
    params = [(sg.Tensor(W, requires_grad=True), sg.Tensor(b, requires_grad=True)) for W, b in raw]
    rng = xp.random.RandomState(1)
    x = rng.standard_normal((batch, 784)).astype("float32")
    target = xp.ones((batch, 1), dtype="float32")
    xt, tt = sg.Tensor(x), sg.Tensor(target)

    def ours():
        for W, b in params:
            W.grad = b.grad = None
        mlp_step_scratchgan(params, xt, tt)

    return {"scratchgan": ours, "by hand": lambda: mlp_step_by_hand(raw, x, target)}


def gan_sides(preset: str, batch: int) -> dict:
    """One GAN iteration of ``preset``, one callable per side, from the same weights."""
    backend.seed(0)
    gan = make_gan(preset, batch)
    hand = HandGAN(gan, seed=1)
    real = backend.asarray(numpy.random.default_rng(2).uniform(-1, 1, (batch, 784))
                           .astype("float32"))
    real_t = sg.Tensor(real)
    return {"scratchgan": lambda: gan.train_step([real_t]),
            "by hand": lambda: hand.train_step([real])}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--backend", default=None, help="numpy (default) or cupy")
    parser.add_argument("--json", metavar="PATH", default=None,
                        help="also write the measured rows to this JSON file")
    args = parser.parse_args(argv)
    if args.backend:
        sg.use_backend(args.backend)
    gan_repeat = max(3, args.repeat // 4)
    check_same_mlp_gradients()
    worst = max(check_same_gan_iteration("pytorch-gan"),
                check_same_gan_iteration("default", iterations=8))
    print(f"backend: {backend.name}    (medians of 7 alternating rounds of {args.repeat} "
          f"calls, GAN rows {gan_repeat}; float32)")
    print(f"checked: same gradients (MLP); same GAN iteration (float64, max rel. diff "
          f"{worst:.1e})")
    print(f"{'what':<44} {'batch':>5} {'scratchgan':>12} {'by hand':>12} {'ratio':>7}")
    benches = [("MLP 784-512-256-1 forward+backward", mlp_sides, 64, args.repeat),
               ("MLP 784-512-256-1 forward+backward", mlp_sides, 256, args.repeat),
               ("GAN iteration (pytorch-gan, D+G step)",
                lambda batch: gan_sides("pytorch-gan", batch), 64, gan_repeat),
               ("GAN iteration (default, D+G step)",
                lambda batch: gan_sides("default", batch), 128, gan_repeat)]
    rows = []
    for name, sides, batch, repeat in benches:
        t = time_rounds(sides(batch), repeat)
        ours, hand, ratio = t["scratchgan"], t["by hand"], t[("ratio", "scratchgan", "by hand")]
        print(f"{name:<44} {batch:>5} {ours * 1e3:>9.3f} ms {hand * 1e3:>9.3f} ms "
              f"{ratio:>6.2f}x", flush=True)
        rows.append({"name": name, "batch": batch, "ms_scratchgan": ours * 1e3,
                     "ms_by_hand": hand * 1e3, "ratio": ratio, "backend": backend.name})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
            f.write("\n")

