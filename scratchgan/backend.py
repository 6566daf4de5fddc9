"""The array backend: the one core module that imports NumPy or CuPy.

Everything else in scratchgan reaches arrays through ``backend.xp`` (the active
module) or ``get_array_module(array)`` (the module an array belongs to), so the
same code runs on the CPU (NumPy, the default) and on a GPU (CuPy).

    import scratchgan as sg
    sg.use_backend("cupy")           # or: SCRATCHGAN_BACKEND=cupy python ...
    xp = sg.backend.xp               # numpy or cupy

A third backend, ``"strict"`` (``scratchgan.strict``), exists for the tests: NumPy behind a
CuPy-like wall (no implicit conversion to NumPy, no mixing with NumPy arrays), so that code
which would break on a GPU breaks on the CPU too.  It imports nothing but NumPy, as this
module, and is loaded only when asked for.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import sys
import types

import numpy

xp: types.ModuleType = numpy          # the active array module; replaced by use_backend()
name: str = "numpy"


class BackendError(RuntimeError):
    """The requested backend cannot be used: its message is one line that says what to do."""


class BackendUnavailable(BackendError):
    """The backend exists but not on this machine (CuPy not installed, or no GPU)."""


class UnknownBackend(BackendError, ValueError):
    """A backend name that scratchgan does not have."""


def _import_cupy() -> types.ModuleType:
    # ``from None``: the one-line message is the whole story; CuPy's own chain of
    # exceptions would bury it under a traceback.
    try:
        import cupy
    except ImportError:  # cupy is an optional extra
        raise BackendUnavailable(
            "CuPy is not installed: pip install cupy-cuda12x (or the wheel for your CUDA, "
            "see README), or use the numpy backend") from None
    try:
        n_gpus = cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError as exc:
        raise BackendUnavailable(f"CuPy is installed but finds no usable GPU "
                                 f"({_one_line(exc)}): use the numpy backend") from None
    if n_gpus < 1:
        raise BackendUnavailable("CuPy is installed but this machine has no GPU: "
                                 "use the numpy backend")
    return cupy


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def available_backends() -> list[str]:
    """The backends that work on this machine: always 'numpy', 'cupy' where a GPU is."""
    names = ["numpy"]
    try:
        _import_cupy()
        names.append("cupy")
    except BackendUnavailable:
        pass
    return names


def use_backend(backend: str) -> types.ModuleType:
    """Switch the active array module to ``'numpy'`` or ``'cupy'`` and return it.

    Tensors created afterwards live on that backend; existing ones stay where they are.
    Raises ``BackendUnavailable`` (no CuPy, no GPU) or ``UnknownBackend`` (a misspelt
    name), both ``BackendError``s whose message is one line saying what to do.
    """
    global xp, name
    if backend == "numpy":
        xp, name = numpy, "numpy"
    elif backend == "cupy":
        xp, name = _import_cupy(), "cupy"
    elif backend == "strict":
        # by name, not ``from . import``: this module imports nothing of ours at its top
        xp, name = importlib.import_module(f"{__package__}.strict"), "strict"
    else:
        raise UnknownBackend(f"unknown backend {backend!r}: choose 'numpy' or 'cupy' "
                             f"(or 'strict', the tests' device stand-in)")
    return xp


_STRICT = f"{__package__}.strict"


def _is_device_array(array) -> bool:
    """A CuPy array, or one of the strict stand-in's: an array NumPy must not touch."""
    module = type(array).__module__
    return module.startswith("cupy") or module == _STRICT


def get_array_module(array) -> types.ModuleType:
    """numpy, cupy or the strict stand-in: the module that owns ``array`` (numpy for
    anything not on a device)."""
    if isinstance(array, numpy.ndarray):
        return numpy
    module = type(array).__module__
    if module.startswith("cupy"):
        import cupy
        return cupy
    if module == _STRICT:
        return sys.modules[_STRICT]
    return numpy


def to_numpy(array) -> numpy.ndarray:
    """Any array (or Tensor) as a NumPy array: for plots, files and printing, at the edges.

    From the GPU this is a copy; a NumPy array comes back as itself (no copy, as torch's
    ``.numpy()``), so ``.copy()`` it before editing it in place."""
    array = getattr(array, "data", array) if hasattr(array, "creator") else array
    if _is_device_array(array):
        return array.get()
    return numpy.asarray(array)


def asarray(data, dtype=None):
    """``data`` as an array of the active backend (copied to the GPU if needed)."""
    return xp.asarray(data, dtype=dtype)


# --- random numbers -------------------------------------------------------------------
# One NumPy Generator draws every random number scratchgan uses (initial weights, noise
# z, dropout masks, shuffling), on the CPU, then moves it to the active backend.  So a
# seed gives the same numbers on NumPy and on CuPy, and the generator's state can be
# saved in a checkpoint and restored for an exact resume.
_rng = numpy.random.default_rng(0)


def seed(n: int) -> None:
    """Seed scratchgan's generator (and NumPy's/CuPy's global ones, for user code)."""
    global _rng
    _rng = numpy.random.default_rng(n)
    numpy.random.seed(n)
    if name != "numpy":
        xp.random.seed(n)


def rng() -> numpy.random.Generator:
    return _rng


@contextlib.contextmanager
def fork_rng(n: int):
    """Inside the block, draw from a generator seeded with ``n``; afterwards carry on with
    the one from before, untouched (as ``torch.random.fork_rng``).

    For a piece of code that must repeat for a given seed (training the evaluation
    classifier) without reseeding the run around it: seeding is for entry points only.
    """
    global _rng
    outer, _rng = _rng, numpy.random.default_rng(n)
    try:
        yield _rng
    finally:
        _rng = outer


def rng_state() -> dict:
    """The generator's state as plain JSON-able data (for checkpoints)."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    _rng.bit_generator.state = state


def random_normal(shape, mean: float = 0.0, std: float = 1.0, dtype="float32"):
    """An array of the active backend with N(mean, std²) entries."""
    return xp.asarray(_rng.normal(mean, std, shape).astype(dtype))


def random_uniform(shape, low: float = 0.0, high: float = 1.0, dtype="float32"):
    """An array of the active backend with U[low, high) entries."""
    return xp.asarray(_rng.uniform(low, high, shape).astype(dtype))


def _backend_from_environment() -> None:
    requested = os.environ.get("SCRATCHGAN_BACKEND", "numpy").strip().lower() or "numpy"
    try:
        use_backend(requested)
    except BackendError as exc:     # say where the request came from
        # raised while scratchgan is imported, before the command line can catch it: if
        # nothing else does, it is printed as one line instead of an import traceback
        previous = sys.excepthook

        def one_line(kind, value, tb):
            if isinstance(value, BackendError):
                print(f"error: {value}", file=sys.stderr)
            else:
                previous(kind, value, tb)
        sys.excepthook = one_line
        raise type(exc)(f"SCRATCHGAN_BACKEND={requested}: {exc}") from None


_backend_from_environment()


# glibc hands every freed block larger than its mmap threshold back to the system, and trims
# the heap as soon as 128 KB are free at its top.  A training step allocates and frees the
# same large arrays (a convolution's patches, a layer's activations) every iteration, so the
# kernel maps, zeroes and faults in those pages again each time: measured on DCGAN's step,
# a sixth of the process's time went to the kernel.  Keeping freed memory in the heap for
# reuse (docs/performance.md measures the difference) costs at most the trim threshold in
# resident memory beyond what the arrays themselves need.  SCRATCHGAN_MALLOC=system keeps
# glibc's defaults.
MALLOC_SETTINGS = {"M_TRIM_THRESHOLD": (-1, 512 << 20), "M_TOP_PAD": (-2, 64 << 20),
                   "M_MMAP_THRESHOLD": (-3, 32 << 20)}


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed blocks for reuse (``MALLOC_SETTINGS``); False where
    the C library is not glibc (macOS, Windows, musl) or the settings are refused."""
    if os.environ.get("SCRATCHGAN_MALLOC", "").lower() == "system" or \
            not sys.platform.startswith("linux"):
        return False
    import ctypes
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return all(mallopt(code, value) == 1 for code, value in MALLOC_SETTINGS.values())


MALLOC_KEPT = keep_freed_memory()


def scatter_add(target, index, values) -> None:
    """target[index] += values, adding (not overwriting) where an index repeats."""
    module = type(target).__module__
    if module.startswith("cupy"):
        import cupyx                  # CuPy's ufuncs have no .at: this is its spelling
        cupyx.scatter_add(target, index, values)
    elif module == _STRICT:
        sys.modules[_STRICT].cupyx.scatter_add(target, index, values)
    else:
        numpy.add.at(target, index, values)


# --- in-place updates of big arrays, one cache-sized block at a time -------------------
# An optimizer step touches every weight many times (Adam: 12 passes for m, v, √v, …).  Done
# on whole arrays, each of those passes streams megabytes to and from memory; done a block
# at a time, all the passes over a block run while it sits in the core's cache.  Each
# element's arithmetic is the same either way, so the result is bit for bit the same.
BLOCK = 1 << 16                       # elements per block (a few such arrays fit in L2)
_scratch_arrays: dict = {}            # one work array per dtype, reused by every block


def blockwise(jobs, block: int = BLOCK) -> None:
    """Run in-place updates given as ``(update, (array, ...))`` pairs.

    ``update(*arrays, scratch)`` is called on views of consecutive blocks of ``block``
    elements of the (same-shaped, C-contiguous) arrays, with a scratch array of the same
    size to work in; it may write to any of them.  On CuPy it is called once on the whole
    arrays (the GPU gains nothing from blocks), with a fresh scratch array.  Which of the
    two is decided by the arrays themselves, not by the active backend: parameters made
    before ``use_backend("cupy")`` are still NumPy arrays.
    """
    for update, arrays in jobs:
        xp_of_job = get_array_module(arrays[0])
        if any(get_array_module(a) is not xp_of_job for a in arrays):
            raise TypeError(f"blockwise: the arrays of one update must live on one backend, "
                            f"got {sorted({get_array_module(a).__name__ for a in arrays})}")
        if xp_of_job is not numpy:
            update(*arrays, xp_of_job.empty_like(arrays[0]))
            continue
        for a in arrays:
            if a.shape != arrays[0].shape or not a.flags.c_contiguous:
                raise ValueError(f"blockwise: arrays must share one shape and be C-contiguous, "
                                 f"got shapes {[tuple(b.shape) for b in arrays]}")
        flat = [a.reshape(-1) for a in arrays]           # views, since each is contiguous
        scratch = _scratch_arrays.get(flat[0].dtype)
        if scratch is None or scratch.size < block:
            scratch = _scratch_arrays[flat[0].dtype] = numpy.empty(block, flat[0].dtype)
        for start in range(0, flat[0].size, block):
            views = [f[start:start + block] for f in flat]
            update(*views, scratch[:views[0].size])
