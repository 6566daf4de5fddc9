"""Ops that move values around without changing them: broadcasting and its inverse
``sum_to``, reshape, transpose, indexing, concatenate, stack, pad, cast.

Their backwards are each other: the gradient of a broadcast is a sum back to the
original shape, the gradient of indexing is a scatter-add, of a pad a slice.
"""
from __future__ import annotations

from ..autograd import Cast, Function, Tensor, as_tensor, cast  # noqa: F401 (see the end)
from ..backend import get_array_module, scatter_add


# --- broadcasting --------------------------------------------------------------------
def broadcast_shape(op: str, a, b) -> tuple:
    """The shape ``a`` and ``b`` broadcast to, or a ValueError naming ``op`` and both shapes."""
    try:
        return tuple(get_array_module(a).broadcast_shapes(a.shape, b.shape))
    except ValueError:
        raise ValueError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} "
                         f"cannot be broadcast together") from None


def _sum_axes(from_shape, to_shape):
    """Axes to sum so that an array of from_shape becomes to_shape (NumPy broadcasting,
    read backwards): every extra leading axis, and every axis where to_shape has 1."""
    lead = len(from_shape) - len(to_shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(to_shape) if n == 1 and from_shape[lead + i] != 1)
    return axes, lead


class SumTo(Function):
    """y = x summed down to ``shape``   dy/dx: broadcast gy back to x's shape"""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        axes, lead = _sum_axes(x.shape, self.shape)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(self.shape) if lead else y

    def backward(self, gy):
        return broadcast_to(gy, self.inputs[0].shape)


class BroadcastTo(Function):
    """y = x repeated along broadcast axes   dy/dx: sum gy back to x's shape"""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.inputs[0].shape)


def sum_to(x, shape) -> Tensor:
    """Sum ``x`` down to ``shape``: the one place where broadcasting is undone."""
    x = as_tensor(x)
    if x.shape == tuple(shape):
        return x
    return SumTo(shape)(x)


def broadcast_to(x, shape) -> Tensor:
    x = as_tensor(x)
    if x.shape == tuple(shape):
        return x
    return BroadcastTo(shape)(x)


# --- reshape, transpose ----------------------------------------------------------------
class Reshape(Function):
    """y = x with a new shape   dy/dx: gy reshaped back"""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape {tuple(x.shape)} "
                             f"({x.size} elements) into {self.shape}") from None

    def backward(self, gy):
        return reshape(gy, self.inputs[0].shape)


def reshape(x, *shape) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    x = as_tensor(x)
    if x.shape == shape:
        return x
    return Reshape(shape)(x)


class Transpose(Function):
    """y = x with axes permuted   dy/dx: gy permuted by the inverse permutation"""

    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return transpose(gy)
        inverse = tuple(sorted(range(len(self.axes)), key=lambda i: self.axes[i]))
        return transpose(gy, inverse)


def transpose(x, axes=None) -> Tensor:
    if axes is not None:
        axes = tuple(a % as_tensor(x).ndim for a in axes)
    return Transpose(axes)(x)


def swapaxes(x, a: int, b: int) -> Tensor:
    axes = list(range(as_tensor(x).ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


# --- indexing ------------------------------------------------------------------------
def _raw_index(index):
    """Tensors inside an index become their arrays."""
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index.data if isinstance(index, Tensor) else index


class GetItem(Function):
    """y = x[index]   dy/dx: gy scattered back into zeros of x's shape (added, so that
    repeated integer indices collect every gradient)"""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, gy):
        return ScatterAdd(self.index, self.inputs[0].shape)(gy)


class ScatterAdd(Function):
    """y = zeros(shape); y[index] += g   (the backward of indexing)   dy/dg: y[index]"""

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, g):
        y = get_array_module(g).zeros(self.shape, dtype=g.dtype)
        scatter_add(y, self.index, g)
        return y

    def backward(self, gy):
        return GetItem(self.index)(gy)


def getitem(x, index) -> Tensor:
    return GetItem(_raw_index(index))(x)


# --- joining and padding -------------------------------------------------------------
class Concatenate(Function):
    """y = [x1 | x2 | ...] along ``axis``   dy/dxi: the slice of gy where xi sits"""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        shapes = [tuple(x.shape) for x in xs]
        for s in shapes[1:]:
            if len(s) != len(shapes[0]) or any(
                    a != b for i, (a, b) in enumerate(zip(s, shapes[0]))
                    if i != self.axis % len(s)):
                raise ValueError(f"concatenate: shapes {shapes} differ outside axis {self.axis}")
        return get_array_module(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        grads, start = [], 0
        axis = self.axis % gy.ndim
        for x in self.inputs:
            index = (slice(None),) * axis + (slice(start, start + x.shape[axis]),)
            grads.append(gy[index])
            start += x.shape[axis]
        return tuple(grads)


def concatenate(xs, axis: int = 0) -> Tensor:
    return Concatenate(axis)(*xs)


def stack(xs, axis: int = 0) -> Tensor:
    """Stack equal-shaped tensors along a new axis (a concatenate of reshaped inputs)."""
    xs = [as_tensor(x) for x in xs]
    shapes = {x.shape for x in xs}
    if len(shapes) != 1:
        raise ValueError(f"stack: all inputs need one shape, got {sorted(shapes)}")
    axis = axis % (xs[0].ndim + 1)
    expanded = [reshape(x, x.shape[:axis] + (1,) + x.shape[axis:]) for x in xs]
    return concatenate(expanded, axis=axis)


class Pad(Function):
    """y = x surrounded by zeros (pad_width as numpy.pad)   dy/dx: the middle of gy"""

    def __init__(self, pad_width):
        self.pad_width = pad_width

    def forward(self, x):
        return get_array_module(x).pad(x, self.pad_width)

    def backward(self, gy):
        index = tuple(slice(before, gy.shape[i] - after)
                      for i, (before, after) in enumerate(self.pad_width))
        return gy[index]


def pad(x, pad_width) -> Tensor:
    x = as_tensor(x)
    if isinstance(pad_width, int):
        pad_width = ((pad_width, pad_width),) * x.ndim
    pad_width = tuple((int(a), int(b)) for a, b in pad_width)
    if len(pad_width) != x.ndim:
        raise ValueError(f"pad: {len(pad_width)} (before, after) pairs for a tensor of "
                         f"shape {x.shape}")
    return Pad(pad_width)(x)


# --- dtype: Cast and cast live in autograd (Tensor.astype needs them) and are re-exported
# here, with the other ops that move values without changing them.
