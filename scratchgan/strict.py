"""A strict device stand-in: an array module that breaks NumPy-only code the way CuPy does.

CI has no GPU, yet most CuPy bugs in NumPy-first code are not about the GPU at all: they
are places where a device array meets NumPy.  This module makes those places fail on the
CPU, so the test suite finds them (``use_backend("strict")`` or ``SCRATCHGAN_BACKEND=strict``):

* ``numpy.asarray(a)`` raises TypeError, as ``cupy.ndarray.__array__`` does; ``a.get()``
  (and so ``backend.to_numpy``) is the explicit copy to the host;
* a NumPy array in an operator or a function of this module raises TypeError, and a
  NumPy function on one of its arrays raises TypeError (``__array_ufunc__ = None``,
  ``__array_function__`` refuses), as they do with CuPy;
* the module has only names that CuPy's top-level namespace has: no ``errstate``, no
  ``add.at`` (CuPy spells it ``cupyx.scatter_add``: here ``strict.cupyx.scatter_add``);
* reductions and scalar indexing return 0-d arrays, never NumPy scalars, as CuPy does;
  ``float(a)``, ``a.item()``, ``bool(a)``, ``a.tolist()``, printing, ``a.get()`` work, and
  each counts as a device→host transfer (see ``count_transfers``).

It is not an ndarray subclass on purpose: ``numpy.asarray`` of a subclass silently returns a
base-class view, which is exactly the leak this module exists to catch.  Dtypes are
NumPy's (``strict.float32 is numpy.float32``), as CuPy's are.  Numbers come out exactly as
NumPy computes them, so a test that passes on NumPy and fails here fails for a reason of
the kind above, never for a numerical one.
"""
from __future__ import annotations

import builtins
import contextlib
import sys
import types

import numpy

__all__ = ["ndarray", "count_transfers", "Transfers"]


# --- counting transfers ---------------------------------------------------------------
class Transfers:
    """What crossed between host and device while a ``count_transfers`` block ran.

    ``to_host``: reads of device data by the host (``.get()``, ``float(a)``, ``bool(a)``,
    ``.item()``, printing); ``to_device``: host arrays copied in (``asarray(numpy_array)``,
    a NumPy array used as an index); ``sites``: for each read, what it was and the first
    caller outside this module, as ``(what, "file:line function")``.
    """

    def __init__(self):
        self.to_host = 0
        self.to_device = 0
        self.sites: list[tuple[str, str]] = []

    def __repr__(self) -> str:
        return f"Transfers(to_host={self.to_host}, to_device={self.to_device})"


_counters: list[Transfers] = []


@contextlib.contextmanager
def count_transfers():
    """Count the transfers made inside the block:  ``with count_transfers() as t: ...``."""
    counter = Transfers()
    _counters.append(counter)
    try:
        yield counter
    finally:
        _counters.remove(counter)


def _caller() -> str:
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}"


def _to_host(what: str) -> None:
    if _counters:
        site = _caller()
        for counter in _counters:
            counter.to_host += 1
            counter.sites.append((what, site))


def _to_device() -> None:
    for counter in _counters:
        counter.to_device += 1


# --- wrapping and unwrapping ----------------------------------------------------------
def _refuse_numpy(value, where: str):
    raise TypeError(f"{where}: a numpy.ndarray cannot be mixed with a device array "
                    f"(as with CuPy); copy it explicitly with xp.asarray(...)")


def _unwrap(value, where: str):
    """Device arrays become their NumPy arrays; NumPy arrays are refused, as CuPy refuses
    them; lists and tuples are searched; scalars (Python or NumPy) pass."""
    if type(value) is ndarray:
        return value._a
    if isinstance(value, numpy.ndarray):
        _refuse_numpy(value, where)
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, where) for v in value)
    return value


def _wrap(value):
    """NumPy arrays and NumPy scalars become device arrays (0-d for scalars, as CuPy's
    reductions return); tuples and lists of them are wrapped item by item."""
    if isinstance(value, numpy.ndarray):
        return ndarray(value)
    if isinstance(value, numpy.generic):
        return ndarray(numpy.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _call(function, name: str, args, kwargs):
    args = [_unwrap(a, name) for a in args]
    kwargs = {k: _unwrap(v, name) for k, v in kwargs.items()}
    return _wrap(function(*args, **kwargs))


def _index(index):
    """An index for the wrapped array: device arrays unwrapped, NumPy index arrays
    allowed (CuPy copies them to the device, so they count as host→device copies)."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if type(index) is ndarray:
        return index._a
    if isinstance(index, (numpy.ndarray, list)):
        _to_device()
    return index


class _MemoryPointer:
    """What ``cupy.ndarray.data`` is: a handle to device memory, not an array.  Here so
    that code reaching for ``.data`` to unwrap a Tensor fails on an array as on CuPy."""

    def __repr__(self) -> str:
        return "<strict device memory pointer>"


# --- the array ------------------------------------------------------------------------
def _binary(name):
    def op(self, other):
        if isinstance(other, numpy.ndarray):
            _refuse_numpy(other, f"ndarray.{name}")
        if type(other) is ndarray:
            other = other._a
        elif not isinstance(other, (int, float, complex, numpy.generic)):
            return NotImplemented            # a Tensor, say: let it answer (__r*__)
        result = getattr(self._a, name)(other)
        if result is NotImplemented:
            return result
        if name.startswith("__i"):           # in place: the same device array
            return self
        return _wrap(result)
    op.__name__ = name
    return op


def _method(name):
    def method(self, *args, **kwargs):
        result = _call(getattr(self._a, name), f"ndarray.{name}", args, kwargs)
        return self if name == "fill" else result
    method.__name__ = name
    return method


class ndarray:
    """A device array (a NumPy array kept private, reachable only through ``.get()``)."""

    __slots__ = ("_a",)
    __array_ufunc__ = None            # numpy ufuncs and ndarray operators refuse us
    __array_priority__ = 100          # as cupy.ndarray: a Tensor (1000) answers first
    __hash__ = None

    def __init__(self, array: numpy.ndarray):
        self._a = array

    # NumPy meets a device array: refuse, with CuPy's message
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_function__(self, func, types_, args, kwargs):
        return NotImplemented         # numpy.f(device array) raises TypeError

    # the explicit ways to the host, each a transfer
    def get(self, stream=None, order="C", out=None) -> numpy.ndarray:
        _to_host("get")
        return self._a.copy()

    def item(self, *args):
        _to_host("item")
        return self._a.item(*args)

    def tolist(self):
        _to_host("tolist")
        return self._a.tolist()

    def __float__(self):
        _to_host("float")
        return float(self._a)

    def __int__(self):
        _to_host("int")
        return int(self._a)

    def __complex__(self):
        _to_host("complex")
        return complex(self._a)

    def __bool__(self):
        _to_host("bool")
        return builtins.bool(self._a)

    def __repr__(self):
        _to_host("repr")
        return repr(self._a)

    def __str__(self):
        _to_host("str")
        return str(self._a)

    def __format__(self, spec):
        _to_host("format")
        return format(self._a, spec) if self._a.ndim == 0 else format(str(self._a), spec)

    # what the array looks like (metadata lives on the host: no transfer)
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    data = property(lambda self: _MemoryPointer())
    T = property(lambda self: ndarray(self._a.T))

    @property
    def base(self):
        return None if self._a.base is None else ndarray(self._a.base)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self._a.shape[0]))

    def __getitem__(self, index):
        return _wrap(self._a[_index(index)])

    def __setitem__(self, index, value):
        if isinstance(value, numpy.ndarray) and value.ndim:
            # CuPy: fill() of a slice refuses a non-scalar numpy.ndarray
            _refuse_numpy(value, "ndarray.__setitem__")
        self._a[_index(index)] = _unwrap(value, "ndarray.__setitem__")

    def __neg__(self):
        return ndarray(-self._a)

    def __pos__(self):
        return ndarray(+self._a)

    def __abs__(self):
        return ndarray(builtins.abs(self._a))

    def __invert__(self):
        return ndarray(~self._a)

    def __copy__(self):
        return ndarray(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray(self._a.copy())

    def __reduce__(self):
        raise TypeError("a strict device array is not pickled (scratchgan never pickles)")


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul",
              "and", "or", "xor", "lshift", "rshift"):
    for _form in ("__{}__", "__r{}__", "__i{}__"):
        setattr(ndarray, _form.format(_name), _binary(_form.format(_name)))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(ndarray, f"__{_name}__", _binary(f"__{_name}__"))
for _name in ("reshape", "transpose", "swapaxes", "astype", "copy", "view", "ravel",
              "flatten", "squeeze", "fill", "sum", "prod", "mean", "var", "std", "max", "min",
              "argmax", "argmin", "any", "all", "cumsum", "cumprod", "clip", "round", "dot",
              "take", "repeat", "nonzero", "sort", "argsort", "diagonal", "trace", "conj"):
    setattr(ndarray, _name, _method(_name))


# --- the module's functions -----------------------------------------------------------
def _function(name: str, source=numpy):
    numpy_function = getattr(source, name)

    def function(*args, **kwargs):
        out = kwargs.get("out")
        result = _call(numpy_function, name, args, kwargs)
        if type(out) is ndarray:       # a function that wrote into ``out`` returns it
            return out
        if type(result) is builtins.bool:   # allclose, array_equal: CuPy answers on device
            return ndarray(numpy.asarray(result))
        return result
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"numpy.{name} on device arrays (NumPy arrays refused, as CuPy does)."
    return function


class ufunc:
    """A ufunc of the stand-in: callable, with ``reduce``/``outer``; no ``at`` (CuPy has
    ``cupyx.scatter_add`` for ``numpy.add.at``: use ``backend.scatter_add``)."""

    def __init__(self, name: str):
        self.__name__ = name
        self._ufunc = getattr(numpy, name)
        self._call = _function(name)
        self.reduce = _function("reduce", self._ufunc)
        self.outer = _function("outer", self._ufunc)
        self.nin, self.nout = self._ufunc.nin, self._ufunc.nout

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<strict ufunc {self.__name__!r}>"


def asarray(a, dtype=None, order=None):
    """A device array: a NumPy array (or list, or number) is copied to the device."""
    if type(a) is ndarray:
        return a if dtype is None or a.dtype == dtype else a.astype(dtype)
    if isinstance(a, numpy.ndarray):
        _to_device()
    return ndarray(numpy.array(_unwrap_nested(a), dtype=dtype, order=order or "K"))


def array(obj, dtype=None, copy=True, order="K", ndmin=0):
    """A new device array (a copy, unless ``copy=False`` allows a view)."""
    if type(obj) is ndarray:
        return ndarray(numpy.array(obj._a, dtype=dtype, copy=copy, order=order, ndmin=ndmin))
    if isinstance(obj, numpy.ndarray):
        _to_device()
    return ndarray(numpy.array(_unwrap_nested(obj), dtype=dtype, order=order, ndmin=ndmin))


def _unwrap_nested(obj):
    """Lists of device arrays (as ``cupy.array([a, b])`` takes) unwrapped for NumPy."""
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap_nested(o) for o in obj)
    return obj._a if type(obj) is ndarray else obj


asanyarray = asarray


# Every name below is in CuPy's top-level namespace, with NumPy's meaning.
_UFUNCS = """add subtract multiply divide true_divide floor_divide power float_power negative
positive absolute abs fabs sign sqrt cbrt square reciprocal exp exp2 expm1 log log2 log10
log1p logaddexp logaddexp2 sin cos tan arcsin arccos arctan arctan2 hypot sinh cosh tanh
arcsinh arccosh arctanh deg2rad rad2deg maximum minimum fmax fmin floor ceil trunc rint
isfinite isinf isnan signbit copysign nextafter mod remainder fmod logical_and logical_or
logical_not logical_xor equal not_equal less less_equal greater greater_equal bitwise_and
bitwise_or bitwise_xor invert left_shift right_shift""".split()
_FUNCTIONS = """empty empty_like eye identity full full_like ones ones_like zeros zeros_like copy
ascontiguousarray asfortranarray arange linspace logspace meshgrid diag diagflat tri tril
triu copyto ravel reshape moveaxis rollaxis swapaxes transpose atleast_1d atleast_2d
atleast_3d broadcast_arrays broadcast_to expand_dims squeeze concatenate stack vstack hstack
dstack column_stack split array_split hsplit vsplit repeat tile unique flip fliplr flipud
roll rot90 pad clip around round sum prod mean var std median average max min amax amin
nanmax nanmin nansum nanmean argmax argmin all any cumsum cumprod diff count_nonzero where
nonzero argwhere flatnonzero take take_along_axis choose compress diagonal dot vdot inner
outer matmul tensordot einsum kron trace allclose isclose array_equal sort argsort
searchsorted bincount histogram cov corrcoef unravel_index ravel_multi_index indices
percentile quantile ptp cross convolve interp real imag conj""".split()
_FROM_NUMPY = """dtype finfo iinfo promote_types result_type can_cast issubdtype isscalar
broadcast_shapes ndim shape size newaxis pi e inf nan bool_ int8 int16 int32 int64 uint8
uint16 uint32 uint64 intp uintp float16 float32 float64 complex64 complex128 floating integer
signedinteger unsignedinteger number inexact complexfloating generic""".split()

_module = sys.modules[__name__]
for _name in _UFUNCS:
    setattr(_module, _name, ufunc(_name))
for _name in _FUNCTIONS:
    setattr(_module, _name, _function(_name))
for _name in _FROM_NUMPY:
    setattr(_module, _name, getattr(numpy, _name))
# Module names that shadow builtins (abs, sum, max, min, all, any, round, bool) are CuPy's;
# code in this module reaches the builtins through ``builtins.``.
bool = numpy.bool_                   # noqa: A001  (cupy.bool, as numpy.bool)
float_ = numpy.float64


def result_type(*arrays_and_dtypes):  # noqa: F811  (device arrays in, as CuPy's)
    return numpy.result_type(*[a.dtype if type(a) is ndarray else a
                               for a in arrays_and_dtypes])


# --- sub-namespaces that CuPy has ---------------------------------------------------
lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(
    as_strided=_function("as_strided", numpy.lib.stride_tricks),
    sliding_window_view=_function("sliding_window_view", numpy.lib.stride_tricks)))

linalg = types.SimpleNamespace(**{n: _function(n, numpy.linalg) for n in
                                  ("norm", "eigh", "eigvalsh", "svd", "inv", "solve", "det",
                                   "qr", "cholesky", "slogdet", "pinv", "matrix_power")})


class RandomState:
    """cupy.random.RandomState's common methods, drawing with NumPy's legacy generator."""

    def __init__(self, seed=None):
        self._rs = numpy.random.RandomState(seed)

    def seed(self, seed=None):
        self._rs.seed(seed)

    def __getattr__(self, name):
        if name not in _RANDOM_METHODS:
            raise AttributeError(f"RandomState.{name} is not in the stand-in's CuPy subset")
        return _function(name, self._rs)


class Generator:
    """cupy.random.Generator's common methods (from cupy.random.default_rng)."""

    def __init__(self, seed=None):
        self._g = numpy.random.default_rng(seed)

    def __getattr__(self, name):
        if name not in ("random", "standard_normal", "normal", "uniform", "integers",
                        "permutation", "choice", "shuffle", "exponential", "binomial"):
            raise AttributeError(f"Generator.{name} is not in the stand-in's CuPy subset")
        return _function(name, self._g)


_RANDOM_METHODS = ("rand", "randn", "random", "random_sample", "uniform", "normal",
                   "standard_normal", "randint", "permutation", "shuffle", "choice",
                   "binomial", "exponential", "beta", "gamma", "poisson", "multinomial")
_global_random = RandomState(0)


def _random_module():
    def seed(seed=None):
        _global_random.seed(seed)

    namespace = types.SimpleNamespace(seed=seed, RandomState=RandomState,
                                      Generator=Generator, default_rng=Generator)
    for name in _RANDOM_METHODS:
        setattr(namespace, name, lambda *a, _name=name, **k: getattr(_global_random, _name)(*a, **k))
    return namespace


random = _random_module()


def _scatter_add(a, slices, value):
    """cupyx.scatter_add(a, slices, value): a[slices] += value, repeated indices adding."""
    if type(a) is not ndarray:
        raise TypeError(f"cupyx.scatter_add: expected a device array, got {type(a).__name__}")
    numpy.add.at(a._a, _index(slices), _unwrap(value, "cupyx.scatter_add"))


# what CuPy keeps outside its NumPy namespace, in the ``cupyx`` package
cupyx = types.SimpleNamespace(scatter_add=_scatter_add)
