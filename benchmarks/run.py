"""The timing table of ``make bench``: scratchgan against the same math by hand in NumPy,
and against PyTorch on the CPU where torch is installed.

Timings live here, never in the tests.  Each row times the same computation through
scratchgan's autograd, written out by hand (forward and backward) in the array library
itself, and in PyTorch (``--threads``, 2 by default), and reports the ratios.

    1. an MLP 784→512→256→1: forward, BCE-with-logits loss, backward
    2. one whole GAN iteration (D step + G step, with Adam): ``MLPGAN.train_step`` against
       ``HandGAN.train_step`` and ``TorchGAN.train_step``, for the ``pytorch-gan`` preset at
       batch 64 and the ``default`` preset (D on pairs, G reuses D's fakes, EMA every 8th
       step) at 128
    3. DCGAN's four convolutions, forward + backward, at the sizes its ``default`` preset
       (C = 32) runs them at batch 64 (benchmarks/conv.py): the by-hand column is a plain
       NumPy im2col
    4. one DCGAN iteration, ``default`` (D at C = 32 with three convolutions on pairs, G at
       64 with a hidden layer of 512, G reuses D's fakes, EMA) and ``paper`` (C = 64),
       batch 64: ``DCGAN.train_step`` against ``TorchGAN.train_step`` (there is no
       by-hand DCGAN: without torch this row times scratchgan alone)
    5. one CycleGAN iteration, ``plain`` preset (the default's networks, batch 4 and 16×16
       digits, without its semantic term, which the twin does not have): the G/F
       step (least squares, cycle and identity terms, D_X and D_Y frozen), then D_X and D_Y
       on the history of fakes, Adam: ``CycleGAN.train_step`` against
       ``TorchCycleGAN.train_step`` (no by-hand CycleGAN either)

Before timing, every side is checked to compute the same numbers (benchmarks/same_math.py).

    python -m benchmarks [--repeat N] [--rounds R] [--threads T] [--only mlp|conv|cyclegan]
                         [--backend numpy|cupy] [--json PATH]
    (from the repository root; run it with a Python that has torch for the third column)

``--threads`` sets NumPy's BLAS (OPENBLAS_NUM_THREADS and its kin, read once as NumPy
loads: ``python -m benchmarks`` sets them before it imports NumPy) and torch alike.
"""
from __future__ import annotations

import argparse
import os
import json
import statistics
import time

from scratchgan.backend import numpy

import scratchgan as sg
from scratchgan import backend

from . import conv, same_math
from .handwritten import HandGAN, mlp_step_by_hand, mlp_step_scratchgan, mlp_weights

try:
    import torch
    from . import torch_side
except ImportError:            # torch is never a dependency: the table just has no torch column
    torch = None

# the variables NumPy's BLAS builds read for their thread count
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

TORCH_HINT = ("torch: not installed, so no PyTorch column (for one: a venv of its own with "
              "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu "
              "numpy matplotlib tqdm, then PYTHONPATH=$PWD that-venv/bin/python -m benchmarks)")


def openblas_kernels() -> str | None:
    """The kernel family NumPy's OpenBLAS runs ('Haswell': AVX2, 'SkylakeX': AVX-512, …), as
    the library itself reports it; None where NumPy is not built on OpenBLAS."""
    import ctypes
    import glob
    here = os.path.dirname(numpy.__file__)
    for path in sorted(glob.glob(os.path.join(here, os.pardir, "numpy.libs", "*openblas*"))
                       + glob.glob(os.path.join(here, ".dylibs", "*openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                       "openblas_get_corename64_", "openblas_get_corename"):
            get = getattr(lib, symbol, None)
            if get is not None:
                get.restype = ctypes.c_char_p
                return get().decode()
    return None


def _blas() -> str:
    """NumPy's BLAS, the kernels it runs and its thread setting: the matrix products are
    most of every row.  OPENBLAS_CORETYPE, where set, forces the kernels (some machines pin
    the AVX2 ones, which take about twice as long here as the AVX-512 ones on a CPU that
    has them: docs/performance.md), so the header names both."""
    threads = f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    kernels = openblas_kernels()
    if kernels is not None:
        forced = os.environ.get("OPENBLAS_CORETYPE")
        threads = (f"kernels {kernels} ("
                   + (f"OPENBLAS_CORETYPE={forced}" if forced else "OpenBLAS's own choice")
                   + f"), {threads}")
    try:                                # mode="dicts" is NumPy ≥ 1.26
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas.get('version', '')}, {threads}"
    except (TypeError, KeyError):
        return threads


def _check_blas_threads(threads: int) -> None:
    """NumPy's BLAS reads its thread count once, as NumPy loads: ``--threads`` reaches it only
    through the environment that ``python -m benchmarks`` sets before importing NumPy."""
    for var in BLAS_THREAD_VARS:
        if os.environ.get(var) != str(threads):
            raise SystemExit(f"--threads {threads}: {var} is "
                             f"{os.environ.get(var, 'unset')} in this process, set before "
                             f"NumPy loaded; run python -m benchmarks --threads {threads}, "
                             f"or set {var}={threads} yourself")


def _sync():
    if backend.name == "cupy":
        backend.xp.cuda.Device().synchronize()


def time_rounds(fns: dict, repeat: int, rounds: int = 7) -> dict:
    """Seconds per call of each function in ``fns`` (name → callable), median over rounds.

    The functions take turns within each round (``repeat`` calls each, the first to go
    rotating from round to round), so drift in the machine's speed hits every side alike.
    Also returns, under ``("ratio", a, b)``, the median of the per-round ratios a/b for
    each pair, which drift cancels out of better than the ratio of the medians.
    """
    for fn in fns.values():
        fn()
    _sync()
    names = list(fns)
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn = fns[name]
            start = time.perf_counter()
            for _ in range(repeat):
                fn()
            _sync()
            times[name].append((time.perf_counter() - start) / repeat)
    result = {name: statistics.median(t) for name, t in times.items()}
    for a in names:
        for b in names:
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

    sides = {"scratchgan": ours, "by hand": lambda: mlp_step_by_hand(raw, x, target)}
    if torch is not None and backend.name == "numpy":
        twin = [tuple(torch.from_numpy(a.copy()).requires_grad_() for a in Wb) for Wb in raw]
        x_twin, target_twin = torch.from_numpy(x), torch.from_numpy(target)

        def theirs():
            for W, b in twin:
                W.grad = b.grad = None          # as zero_grad(set_to_none=True)
            torch_side.mlp_step_torch(twin, x_twin, target_twin)

        sides["torch"] = theirs
    return sides


def gan_sides(preset: str, batch: int) -> dict:
    """One GAN iteration of ``preset``, one callable per side, from the same weights."""
    backend.seed(0)
    gan = same_math.make_gan(preset, batch)
    hand = HandGAN(gan, seed=1)
    real = numpy.random.default_rng(2).uniform(-1, 1, (batch, 784)).astype("float32")
    real_xp = backend.asarray(real)
    real_t = sg.Tensor(real_xp)
    sides = {"scratchgan": lambda: gan.train_step([real_t]),
             "by hand": lambda: hand.train_step([real_xp])}
    if torch is not None and backend.name == "numpy":
        twin, real_twin = torch_side.TorchGAN(gan, seed=1), torch.from_numpy(real)
        sides["torch"] = lambda: twin.train_step([real_twin])
    return sides


def conv_sides(layer: conv.ConvLayer) -> dict:
    """One DCGAN convolution forward and backward, one callable per side, on the same arrays."""
    x, weight, bias, gy = conv.layer_arrays(layer, backend.xp)
    tensors = conv.scratchgan_tensors(x, weight, bias)
    gy_t = sg.Tensor(gy)

    def ours():
        for t in tensors:
            if t is not None:
                t.grad = None
        conv.conv_step_scratchgan(layer, *tensors, gy_t)

    sides = {"scratchgan": ours,
             "by hand": lambda: conv.conv_step_by_hand(layer, x, weight, bias, gy)}
    if torch is not None and backend.name == "numpy":
        leaves = [None if a is None else torch.from_numpy(a.copy()).requires_grad_()
                  for a in (x, weight, bias)]
        gy_twin = torch.from_numpy(gy)

        def theirs():
            for t in leaves:
                if t is not None:
                    t.grad = None
            torch_side.conv_step_torch(layer.transposed, *leaves, gy_twin, layer.stride,
                                       layer.padding)

        sides["torch"] = theirs
    return sides


def dcgan_sides(preset: str, batch: int) -> dict:
    """One DCGAN iteration of ``preset``: scratchgan, and torch from the same weights."""
    backend.seed(0)
    gan = same_math.make_dcgan(preset, batch)
    real = numpy.random.default_rng(2).uniform(-1, 1, (batch, 1, 28, 28)).astype("float32")
    real_t = sg.Tensor(backend.asarray(real))
    sides = {"scratchgan": lambda: gan.train_step([real_t])}
    if torch is not None and backend.name == "numpy":
        twin, real_twin = torch_side.TorchGAN(gan, seed=1), torch.from_numpy(real)
        sides["torch"] = lambda: twin.train_step([real_twin])
    return sides


def cyclegan_sides(preset: str, batch: int) -> dict:
    """One CycleGAN iteration of ``preset`` on a uint8 (x, y) batch: scratchgan, and torch
    from the same weights (its history of fakes drawing from a generator of its own)."""
    backend.seed(0)
    gan = same_math.make_cyclegan(preset, batch)
    pair = same_math.digit_pair(batch)
    sides = {"scratchgan": lambda: gan.train_step(pair)}
    if torch is not None and backend.name == "numpy":
        twin = torch_side.TorchCycleGAN(gan, rng=numpy.random.default_rng(1))
        sides["torch"] = lambda: twin.train_step(pair)
    return sides


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="calls per round (MLP and "
                        "convolution rows; GAN, DCGAN and CycleGAN rows a quarter of it)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--backend", default=None, help="numpy (default) or cupy")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for NumPy's BLAS and torch alike (default: torch 2, the "
                        "cores of the reference machine, NumPy's BLAS as the environment says); "
                        "1 on a machine that other work shares")
    parser.add_argument("--only", choices=("mlp", "conv", "cyclegan"), default=None,
                        help="only the MLP rows (1, 2), only DCGAN's convolution rows (3, 4) "
                        "or only the CycleGAN row (5)")
    parser.add_argument("--json", metavar="PATH", default=None,
                        help="also write the measured rows to this JSON file")
    args = parser.parse_args(argv)
    if args.backend:
        sg.use_backend(args.backend)
    gan_repeat = max(3, args.repeat // 4)

    if args.threads is not None:
        _check_blas_threads(args.threads)
    same_math.check_same_mlp_gradients()
    worst = max(same_math.check_same_gan_iteration("pytorch-gan"),
                same_math.check_same_gan_iteration("default", iterations=8),
                same_math.check_same_conv_layers())
    print(f"backend: {backend.name}, numpy {numpy.__version__} ({_blas()})    (medians of "
          f"{args.rounds} rounds taking turns, {args.repeat} calls per side per round, GAN, "
          f"DCGAN and CycleGAN rows {gan_repeat}; float32)")
    print(f"checked: by hand = scratchgan (float64: MLP gradients; 2 pytorch-gan and 8 default "
          f"GAN iterations; DCGAN's convolutions at C = 4; max rel. diff {worst:.1e})")
    if torch is None:
        print(TORCH_HINT)
    elif backend.name != "numpy":
        print(f"torch: the CPU column is left out on the {backend.name} backend")
    else:
        torch.set_num_threads(args.threads or torch_side.THREADS)
        worst = max(same_math.check_torch_mlp_gradients(),
                    same_math.check_torch_gan_iteration("pytorch-gan"),
                    same_math.check_torch_gan_iteration("default", iterations=8),
                    same_math.check_torch_conv_layers(),
                    *(same_math.check_torch_gan_iteration(p, iterations=2, batch=8,
                                                          model="mnist-dcgan", channels=4)
                      for p in ("default", "paper")),
                    same_math.check_torch_cyclegan_iteration(),
                    same_math.check_torch_cyclegan_iteration(upsample="resize",
                                                             gan_loss="minimax"))
        print(f"torch: {torch.__version__}, {torch.get_num_threads()} threads; checked = "
              f"scratchgan (float64, same runs and DCGAN's convolutions and 2 iterations at "
              f"C = 4, 2 CycleGAN iterations at k = 2 with a history of 3, max rel. diff "
              f"{worst:.1e})")

    mlp_benches = [("MLP 784-512-256-1 forward+backward", mlp_sides, 64, args.repeat),
               ("MLP 784-512-256-1 forward+backward", mlp_sides, 256, args.repeat),
               ("GAN iteration pytorch-gan (D+G, Adam)",
                lambda batch: gan_sides("pytorch-gan", batch), 64, gan_repeat),
               ("GAN iteration default (D+G, Adam, EMA/8)",
                lambda batch: gan_sides("default", batch), 128, gan_repeat)]
    channels = same_math.dcgan.PRESETS["default"].channels
    conv_benches = [(f"{layer.name} fwd+bwd", lambda _, layer=layer: conv_sides(layer),
                     layer.batch, args.repeat) for layer in conv.dcgan_layers(channels, 64)]
    def dcgan_title(p):                 # D's C, and G's where it is wider or has a hidden layer
        cfg = same_math.dcgan.PRESETS[p]
        return (f"DCGAN iteration {p} (C={cfg.channels}"
                + (f", G {cfg.g_channels}" if cfg.g_channels else "")
                + (f"+fc{cfg.g_hidden}" if cfg.g_hidden else "") + ")")
    conv_benches += [(dcgan_title(p), lambda batch, p=p: dcgan_sides(p, batch), 64, gan_repeat)
                     for p in ("default", "paper")]
    cyclegan_batch = same_math.cyclegan.PRESETS["plain"].batch_size
    cyclegan_benches = [("CycleGAN iteration plain (G+F, D_X+D_Y)",
                         lambda batch: cyclegan_sides("plain", batch), cyclegan_batch,
                         gan_repeat)]
    benches = {"mlp": mlp_benches, "conv": conv_benches, "cyclegan": cyclegan_benches}.get(
        args.only, mlp_benches + conv_benches + cyclegan_benches)
    head = f"{'what':<44} {'batch':>5} {'scratchgan':>11} {'by hand':>11}"
    print(head + (f" {'torch':>11} {'sg/hand':>8} {'sg/torch':>8}" if torch is not None
                  and backend.name == "numpy" else f" {'sg/hand':>8}"))
    rows = []
    for name, sides, batch, repeat in benches:
        t = time_rounds(sides(batch), repeat, args.rounds)
        row = {"name": name, "batch": batch, "backend": backend.name,
               "ms_scratchgan": t["scratchgan"] * 1e3}
        line = f"{name:<44} {batch:>5} {row['ms_scratchgan']:>8.3f} ms "
        if "by hand" in t:
            row["ms_by_hand"] = t["by hand"] * 1e3
            row["ratio_by_hand"] = t[("ratio", "scratchgan", "by hand")]
            line += f"{row['ms_by_hand']:>8.3f} ms"
        else:                   # no by-hand DCGAN: a dash, not a number
            line += f"{'—':>11}"
        if "torch" in t:
            row["ms_torch"] = t["torch"] * 1e3
            row["ratio_torch"] = t[("ratio", "scratchgan", "torch")]
            line += f" {row['ms_torch']:>8.3f} ms"
        line += f" {row['ratio_by_hand']:>7.2f}x" if "by hand" in t else f" {'—':>8}"
        if "torch" in t:
            line += f" {row['ratio_torch']:>7.2f}x"
        print(line, flush=True)
        rows.append(row)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
            f.write("\n")
