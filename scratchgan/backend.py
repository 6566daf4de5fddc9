"""The array backend: the one core module that imports NumPy or CuPy.

Everything else in scratchgan reaches arrays through ``backend.xp`` (the active
module) or ``get_array_module(array)`` (the module an array belongs to), so the
same code runs on the CPU (NumPy, the default) and on a GPU (CuPy).

    import scratchgan as sg
    sg.use_backend("cupy")           # or: SCRATCHGAN_BACKEND=cupy python ...
    xp = sg.backend.xp               # numpy or cupy
"""
from __future__ import annotations

import os
import types

import numpy

xp: types.ModuleType = numpy          # the active array module; replaced by use_backend()
name: str = "numpy"


class BackendError(RuntimeError):
    """The requested backend cannot be used on this machine."""


def _import_cupy() -> types.ModuleType:
    try:
        import cupy
    except ImportError as exc:  # cupy is an optional extra
        raise BackendError(
            "the 'cupy' backend needs CuPy, which is not installed: "
            "pip install 'scratchgan[cuda]' (or the cupy-cudaXXx wheel for your CUDA)"
        ) from exc
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            raise BackendError("the 'cupy' backend found CuPy but no GPU")
    except cupy.cuda.runtime.CUDARuntimeError as exc:
        raise BackendError(f"the 'cupy' backend found CuPy but no usable GPU: {exc}") from exc
    return cupy


def available_backends() -> list[str]:
    """The backends that work on this machine: always 'numpy', 'cupy' where a GPU is."""
    names = ["numpy"]
    try:
        _import_cupy()
        names.append("cupy")
    except BackendError:
        pass
    return names


def use_backend(backend: str) -> types.ModuleType:
    """Switch the active array module to ``'numpy'`` or ``'cupy'`` and return it.

    Tensors created afterwards live on that backend; existing ones stay where they are.
    """
    global xp, name
    if backend == "numpy":
        xp, name = numpy, "numpy"
    elif backend == "cupy":
        xp, name = _import_cupy(), "cupy"
    else:
        raise BackendError(f"unknown backend {backend!r}: choose 'numpy' or 'cupy'")
    return xp


def get_array_module(array) -> types.ModuleType:
    """numpy or cupy: the module that owns ``array`` (numpy for anything not on a GPU)."""
    if isinstance(array, numpy.ndarray):
        return numpy
    if type(array).__module__.startswith("cupy"):
        import cupy
        return cupy
    return numpy


def to_numpy(array) -> numpy.ndarray:
    """Any array (or Tensor) as a NumPy array: for plots, files and printing, at the edges.

    From the GPU this is a copy; a NumPy array comes back as itself (no copy, as torch's
    ``.numpy()``), so ``.copy()`` it before editing it in place."""
    array = getattr(array, "data", array) if hasattr(array, "creator") else array
    if type(array).__module__.startswith("cupy"):
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
    if name == "cupy":
        xp.random.seed(n)


def rng() -> numpy.random.Generator:
    return _rng


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
    use_backend(requested)


_backend_from_environment()


def scatter_add(target, index, values) -> None:
    """target[index] += values, adding (not overwriting) where an index repeats."""
    if type(target).__module__.startswith("cupy"):
        import cupyx
        cupyx.scatter_add(target, index, values)
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
    arrays (the GPU gains nothing from blocks), with a fresh scratch array.
    """
    for update, arrays in jobs:
        if name == "cupy":
            update(*arrays, xp.empty_like(arrays[0]))
            continue
        for a in arrays:
            if a.shape != arrays[0].shape or not a.flags.c_contiguous:
                raise ValueError(f"blockwise: arrays must share one shape and be C-contiguous, "
                                 f"got shapes {[tuple(b.shape) for b in arrays]}")
        flat = [a.reshape(-1) for a in arrays]           # views, since each is contiguous
        scratch = _scratch_arrays.get(flat[0].dtype)
        if scratch is None:
            scratch = _scratch_arrays[flat[0].dtype] = numpy.empty(block, flat[0].dtype)
        for start in range(0, flat[0].size, block):
            views = [f[start:start + block] for f in flat]
            update(*views, scratch[:views[0].size])
