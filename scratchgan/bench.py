"""``make bench``: scratchgan against the same math written by hand in plain NumPy/CuPy.

Timings live here, never in the tests.  Each row times the same computation twice, once
through scratchgan's autograd and once written out by hand (forward and backward) in the
array library itself, and reports the ratio.

    python -m scratchgan.bench [--repeat N] [--backend numpy|cupy]
"""
from __future__ import annotations

import argparse
import statistics
import time

import scratchgan as sg
from scratchgan import backend
from scratchgan import functional as F

SLOPE = 0.2


def _sync():
    if backend.name == "cupy":
        backend.xp.cuda.Device().synchronize()


def time_pair(fn_a, fn_b, repeat: int, rounds: int = 7) -> tuple[float, float, float]:
    """Seconds per call of fn_a and fn_b, and the ratio a/b.

    The two are timed in alternating rounds of ``repeat`` calls each, so drift in the
    machine's speed hits both alike; each figure is the median over the rounds, the ratio
    the median of the per-round ratios.
    """
    fn_a(), fn_b()
    _sync()
    times_a, times_b = [], []
    for _ in range(rounds):
        for fn, times in ((fn_a, times_a), (fn_b, times_b)):
            start = time.perf_counter()
            for _ in range(repeat):
                fn()
            _sync()
            times.append((time.perf_counter() - start) / repeat)
    ratio = statistics.median(a / b for a, b in zip(times_a, times_b))
    return statistics.median(times_a), statistics.median(times_b), ratio


# --- 1. forward + backward of an MLP 784→512→256→1 ---------------------------------------
def mlp_weights(sizes, xp, dtype="float32", seed=0):
    rng = xp.random.RandomState(seed)
    return [(rng.standard_normal((n_out, n_in)).astype(dtype) * 0.02,
             xp.zeros(n_out, dtype=dtype)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def mlp_step_scratchgan(params, x, target):
    """Forward, BCE-with-logits loss, backward, through the engine."""
    h = x
    for i, (W, b) in enumerate(params):
        h = F.linear(h, W, b)
        if i < len(params) - 1:
            h = F.leaky_relu(h, SLOPE)
    loss = F.binary_cross_entropy_with_logits(h, target)
    loss.backward()
    return loss


def mlp_step_by_hand(params, x, target):
    """The same math with raw arrays: forward, loss, and the backward written out."""
    xp = backend.get_array_module(x)
    acts, pre = [x], []
    h = x
    for i, (W, b) in enumerate(params):
        z = h @ W.T + b
        pre.append(z)
        h = xp.where(z > 0, z, z * SLOPE) if i < len(params) - 1 else z
        acts.append(h)
    logits = h
    loss = (xp.maximum(logits, 0) - target * logits + xp.log1p(xp.exp(-xp.abs(logits)))).mean()
    e = xp.exp(-xp.abs(logits))
    sig = xp.where(logits >= 0, 1, e) / (1 + e)
    g = (sig - target) / logits.size
    grads = []
    for i in reversed(range(len(params))):
        W, _ = params[i]
        if i < len(params) - 1:
            g = g * xp.where(pre[i] > 0, 1, SLOPE).astype(g.dtype)
        grads.append((g.T @ acts[i], g.sum(axis=0)))
        if i > 0:
            g = g @ W
    return loss, grads


def bench_mlp(batch: int, repeat: int) -> tuple[float, float, float]:
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

    def by_hand():
        mlp_step_by_hand(raw, x, target)

    return time_pair(ours, by_hand, repeat)


def check_same_math():
    """The two sides compute the same gradients (so the timing compares like with like)."""
    xp = backend.xp
    raw = mlp_weights((784, 512, 256, 1), xp, dtype="float64")
    params = [(sg.Tensor(W, requires_grad=True), sg.Tensor(b, requires_grad=True)) for W, b in raw]
    x = xp.random.RandomState(2).standard_normal((8, 784))
    t = xp.ones((8, 1))
    mlp_step_scratchgan(params, sg.Tensor(x), sg.Tensor(t))
    _, grads = mlp_step_by_hand(raw, x, t)
    for (W, b), (gW, gb) in zip(params, reversed(grads)):
        assert xp.allclose(W.grad.data, gW) and xp.allclose(b.grad.data, gb), "bench mismatch"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--backend", default=None, help="numpy (default) or cupy")
    args = parser.parse_args(argv)
    if args.backend:
        sg.use_backend(args.backend)
    check_same_math()
    print(f"backend: {backend.name}    (medians of 7 alternating rounds of {args.repeat} "
          f"calls, float32)")
    print(f"{'what':<44} {'batch':>5} {'scratchgan':>12} {'by hand':>12} {'ratio':>7}")
    for batch in (64, 256):
        ours, hand, ratio = bench_mlp(batch, args.repeat)
        print(f"{'MLP 784-512-256-1 forward+backward':<44} {batch:>5} "
              f"{ours * 1e3:>9.3f} ms {hand * 1e3:>9.3f} ms {ratio:>6.2f}x")


if __name__ == "__main__":
    main()
