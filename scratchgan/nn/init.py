"""Weight initialisation, in place on a Parameter, drawing from scratchgan's seeded
generator (``sg.seed(n)`` makes them repeat, on NumPy and CuPy alike).

    normal_(w, 0, 0.02)        DCGAN's recipe: N(0, 0.02²)
    xavier_uniform_(w)         U(±√(6 / (fan_in + fan_out)))      keeps variance for tanh
    kaiming_normal_(w, a)      N(0, 2 / ((1 + a²) fan_in))         keeps variance for (leaky) ReLU
    kaiming_uniform_(w, a)     U(±√(6 / ((1 + a²) fan_in)))
"""
from __future__ import annotations

import math

from .. import backend


def _fans(shape) -> tuple[int, int]:
    """fan_in, fan_out of a weight: Linear (out, in); Conv (out, in, *kernel)."""
    if len(shape) < 2:
        raise ValueError(f"fan_in/fan_out need a weight of 2 or more dims, got shape {shape}")
    receptive = 1
    for n in shape[2:]:
        receptive *= n
    return shape[1] * receptive, shape[0] * receptive


def _fill(tensor, values) -> None:
    tensor.data = values.astype(tensor.dtype)


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    _fill(tensor, backend.random_normal(tensor.shape, mean, std, dtype=tensor.dtype))
    return tensor


def uniform_(tensor, low: float = 0.0, high: float = 1.0):
    _fill(tensor, backend.random_uniform(tensor.shape, low, high, dtype=tensor.dtype))
    return tensor


def zeros_(tensor):
    _fill(tensor, backend.xp.zeros(tensor.shape))
    return tensor


def ones_(tensor):
    _fill(tensor, backend.xp.ones(tensor.shape))
    return tensor


def xavier_uniform_(tensor, gain: float = 1.0):
    fan_in, fan_out = _fans(tensor.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain: float = 1.0):
    fan_in, fan_out = _fans(tensor.shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_normal_(tensor, a: float = 0.0):
    fan_in, _ = _fans(tensor.shape)
    return normal_(tensor, 0.0, math.sqrt(2.0 / ((1 + a * a) * fan_in)))


def kaiming_uniform_(tensor, a: float = 0.0):
    fan_in, _ = _fans(tensor.shape)
    bound = math.sqrt(6.0 / ((1 + a * a) * fan_in))
    return uniform_(tensor, -bound, bound)
