"""Reverse-mode automatic differentiation on tensors.

The whole idea in three pieces:

* a ``Tensor`` holds an array (``data``) and remembers the ``Function`` that made it
  (``creator``); leaves made by the user have no creator;
* a ``Function`` computes its output from raw arrays in ``forward`` and, in ``backward``,
  turns dL/d(output) into dL/d(each input).  ``backward`` is written with Tensor ops, so
  the gradient is itself a graph when we ask for one (``create_graph=True``): that is how
  second derivatives, and the WGAN-GP penalty, come for free;
* ``backward()`` visits the functions once each, in reverse topological order (outputs
  before the inputs they were made from), adding up each tensor's gradient before
  passing it on.  An explicit stack, not recursion, so a chain of 10,000 ops is fine.

Gradients reach ``.grad`` only on leaves (tensors the user made with requires_grad=True),
as in PyTorch; ``grad(outputs, inputs)`` returns them instead.
"""
from __future__ import annotations

import contextlib
import weakref
from typing import Sequence

from . import backend


# ---------------------------------------------------------------------------------------
# Global switches: gradient recording and anomaly detection
# ---------------------------------------------------------------------------------------
class _Mode:
    grad_enabled = True      # record graphs?  False inside no_grad() and plain backward()
    detect_anomaly = False   # check every output and gradient for NaN/inf?
    in_backward_of = None    # the op whose backward is running (for anomaly messages)


@contextlib.contextmanager
def _switched(switch: str, value):
    """Set one of the _Mode switches inside a ``with`` block, then restore it."""
    previous = getattr(_Mode, switch)
    setattr(_Mode, switch, value)
    try:
        yield
    finally:
        setattr(_Mode, switch, previous)


def no_grad():
    """Run ops without recording a graph (evaluation, sampling, optimizer updates)."""
    return _switched("grad_enabled", False)


def enable_grad():
    """Record graphs again, even inside no_grad()."""
    return _switched("grad_enabled", True)


def is_grad_enabled() -> bool:
    return _Mode.grad_enabled


def detect_anomaly():
    """Raise at the first op whose output (forward) or input gradient (backward) is NaN/inf."""
    return _switched("detect_anomaly", True)


def _check_finite(array, what: str) -> None:
    xp = backend.get_array_module(array)
    if array.dtype.kind == "f" and not bool(xp.isfinite(array).all()):
        n_bad = int((~xp.isfinite(array)).sum())
        raise FloatingPointError(f"detect_anomaly: {what} has {n_bad} NaN/inf value(s) "
                                 f"(shape {tuple(array.shape)})")


# ---------------------------------------------------------------------------------------
# Tensor
# ---------------------------------------------------------------------------------------
class Tensor:
    """An array that remembers how it was made.

    Parameters
    ----------
    data : array of the active backend (numpy.ndarray or cupy.ndarray)
    requires_grad : collect dL/d(this tensor) in ``.grad`` during backward()
    """

    __array_priority__ = 1000          # so ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False):
        if requires_grad and data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, "
                            f"got dtype {data.dtype} (use .astype('float32') first)")
        self.data = data
        self.requires_grad = requires_grad
        self.grad: Tensor | None = None
        self.creator: Function | None = None   # the op that made this tensor; None for leaves
        self.name: str | None = None

    # --- what the array looks like ------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: int(self.data.size))
    dtype = property(lambda self: self.data.dtype)
    is_leaf = property(lambda self: self.creator is None)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = repr(backend.to_numpy(self.data)).replace("array(", "tensor(", 1)
        if self.creator is not None:
            body = body[:-1] + f", grad_fn={type(self.creator).__name__})"
        elif self.requires_grad:
            body = body[:-1] + ", requires_grad=True)"
        return body

    __hash__ = object.__hash__         # == is elementwise (see functional), identity hashes

    # --- leaving the graph ---------------------------------------------------------------
    def detach(self) -> Tensor:
        """The same data, cut from the graph: gradients do not flow through it."""
        return Tensor(self.data)

    def item(self) -> float:
        if self.size != 1:
            raise ValueError(f"item(): only a tensor with one element has an item, "
                             f"this one has shape {self.shape}")
        return self.data.item()

    def numpy(self):
        """The data as a NumPy array: a copy from the GPU, the array itself on NumPy."""
        return backend.to_numpy(self.data)

    def astype(self, dtype) -> Tensor:
        """A differentiable cast (the gradient is cast back); the same tensor if the dtype
        is already ``dtype``."""
        return cast(self, dtype)

    def zero_grad(self) -> None:
        self.grad = None

    # --- the backward pass ---------------------------------------------------------------
    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``gradient`` is dL/d(self); it may be left out only when self is a scalar.
        The graph is freed afterwards unless ``retain_graph`` (default: ``create_graph``).
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no "
                               "graph; was it computed under no_grad() or from detached data?")
        grads = _run_backward([self], [gradient], None, retain_graph, create_graph)
        with (enable_grad() if create_graph else no_grad()):
            for leaf, g in grads.values():
                leaf.grad = g if leaf.grad is None else leaf.grad + g


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """Make a leaf tensor on the active backend.

    Arrays keep their dtype; Python floats and lists become float32 (the training dtype).
    The whole dtype rule, ops included, is ``DTYPE_RULE``.
    """
    if isinstance(data, Tensor):
        data = data.data
    xp = backend.xp
    keeps_dtype = hasattr(data, "dtype")
    array = xp.asarray(data, dtype=dtype)
    if dtype is None and not keeps_dtype and array.dtype == "float64":
        array = array.astype("float32")
    return Tensor(array, requires_grad=requires_grad)


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """``value`` as a Tensor; a Python or NumPy scalar takes ``like``'s dtype, so
    2.0 * float32 stays float32; an array (0-d too) keeps its own (see ``DTYPE_RULE``).
    A NumPy array with a ``like`` on a device (CuPy) is copied to that device."""
    if isinstance(value, Tensor):
        return value
    is_array = type(value).__name__ == "ndarray"
    if like is not None and not is_array:          # a Python or NumPy scalar
        xp = backend.get_array_module(like.data)
        dtype = like.dtype if like.dtype.kind == "f" else None
        return Tensor(xp.asarray(value, dtype=dtype))
    if is_array:
        if like is not None and isinstance(value, backend.numpy.ndarray):
            # a host array meeting a device tensor joins it there (one explicit copy):
            # on CuPy the op would otherwise mix a NumPy and a CuPy array, a TypeError
            value = backend.get_array_module(like.data).asarray(value)
        return Tensor(value)
    return tensor(value)


# ---------------------------------------------------------------------------------------
# The dtype rule
# ---------------------------------------------------------------------------------------
DTYPE_RULE = ("a tensor keeps the dtype of the array it is made from (Python numbers and "
              "lists become float32); a Python or NumPy scalar in an op takes the dtype of "
              "the op's tensors; an op on tensors or arrays of two float dtypes raises "
              "TypeError: cast one with .astype()")


def _check_one_float_dtype(op: str, inputs) -> None:
    """Refuse float32 ⊗ float64: NumPy would silently promote to float64, and a float64
    batch fed to a float32 model would make every activation and gradient float64."""
    first = None
    for x in inputs:
        if x.dtype.kind == "f":
            if first is None:
                first = x.dtype
            elif x.dtype != first:
                raise TypeError(f"{op}: inputs of two float dtypes, {first} and {x.dtype}; "
                                f"scratchgan never mixes them silently: cast one with "
                                f".astype('{first}') or .astype('{x.dtype}')")


# ---------------------------------------------------------------------------------------
# Function: one op, forward and backward side by side
# ---------------------------------------------------------------------------------------
class Function:
    """Base class of every differentiable op.

    Subclasses write
        forward(self, *arrays)  -> array           raw xp arrays in, one raw array out
        backward(self, gy)      -> grad or tuple   Tensors: dL/dy in, dL/d(each input) out
    and may return ``None`` for an input whose gradient is not needed
    (``self.needs_input_grad[i]`` is False).  Inside backward, ``self.inputs`` are the
    input Tensors and ``self.output`` the output Tensor, so the backward can be built from
    differentiable ops.
    """

    inputs: tuple[Tensor, ...] | None
    needs_input_grad: tuple[bool, ...]

    def __call__(self, *inputs) -> Tensor:
        for x in inputs:
            if type(x) is not Tensor:                    # numbers, arrays: wrap them all
                tensors = [x for x in inputs if isinstance(x, Tensor)]
                like = next((x for x in tensors if x.dtype.kind == "f"),
                            tensors[0] if tensors else None)
                inputs = tuple(as_tensor(x, like=like) for x in inputs)
                break
        _check_one_float_dtype(self.name, inputs)
        y = Tensor(self.forward(*[x.data for x in inputs]))
        if _Mode.detect_anomaly:
            where = (f"{_Mode.in_backward_of}.backward: " if _Mode.in_backward_of else "")
            _check_finite(y.data, f"{where}the output of {self.name}")
        if _Mode.grad_enabled and any([x.requires_grad for x in inputs]):
            y.requires_grad = True
            y.creator = self
            self.inputs = inputs
            self.needs_input_grad = tuple(x.requires_grad for x in inputs)
            # A weak reference: the output holds its creator, not the other way round,
            # so the graph has no cycles and is freed as soon as the loss is dropped.
            self._output = weakref.ref(y)
        return y

    @property
    def output(self) -> Tensor:
        return self._output()

    @property
    def name(self) -> str:
        return type(self).__name__

    def forward(self, *arrays):
        raise NotImplementedError(f"{self.name}.forward is not written yet")

    def backward(self, gy: Tensor):
        raise NotImplementedError(f"{self.name}.backward is not written yet")


class Cast(Function):
    """y = x as another dtype   dy/dx: gy cast back

    Here, not in ops/, because ``Tensor.astype`` is a cast: the core must not reach up
    into the ops built on it."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, gy):
        return cast(gy, self.inputs[0].dtype)


def cast(x, dtype) -> Tensor:
    x = as_tensor(x)
    if x.dtype == dtype:
        return x
    return Cast(dtype)(x)


# ---------------------------------------------------------------------------------------
# The graph walk
# ---------------------------------------------------------------------------------------
def _topological_order(roots: Sequence[Tensor]) -> list[Function]:
    """Every function reachable from ``roots``, each after all functions that consume its
    output (reverse topological order), found with an explicit stack."""
    order, visited = [], set()
    stack = [(r.creator, False) for r in roots if r.creator is not None]
    while stack:
        f, children_done = stack.pop()
        if children_done:
            order.append(f)
            continue
        if id(f) in visited:
            continue
        visited.add(id(f))
        if f.inputs is None:
            raise RuntimeError(
                f"backward through {f.name} a second time: its graph was freed by the first "
                f"backward(); call backward(retain_graph=True) the first time if you need to")
        stack.append((f, True))
        for x in f.inputs:
            if x.creator is not None and id(x.creator) not in visited:
                stack.append((x.creator, False))
    return order[::-1]   # post-order lists inputs before consumers; reverse it


def _backward_walk(order: list[Function], grads: dict, backward_of) -> None:
    """Pass the gradients down the graph, in place in ``grads`` ({id(tensor): dL/dtensor}).

    ``order`` lists each function before the ones that made its inputs, so when a function
    is reached, every use of its output has added its share to the output's gradient:
    backward_of(f, gy) turns that sum into one gradient per input (None: none needed),
    and each is added to what the input already collected from its other uses.
    """
    for f in order:
        y = f._output()                      # None once the output was dropped
        if y is None or id(y) not in grads:  # nothing reached this function
            continue
        for x, gx in zip(f.inputs, backward_of(f, grads[id(y)])):
            if gx is not None:
                grads[id(x)] = grads[id(x)] + gx if id(x) in grads else gx


@contextlib.contextmanager
def walk_replaced(topological_order=None, backward_walk=None):
    """Inside the block, backward() and grad() walk the graph with these functions in place
    of ``_topological_order`` and ``_backward_walk`` (same contracts): exercise 21 checks a
    student's walk by running the engine's own tests on it."""
    module = globals()
    saved = module["_topological_order"], module["_backward_walk"]
    if topological_order is not None:
        module["_topological_order"] = topological_order
    if backward_walk is not None:
        module["_backward_walk"] = backward_walk
    try:
        yield
    finally:
        module["_topological_order"], module["_backward_walk"] = saved


def _run_backward(outputs, output_grads, targets, retain_graph, create_graph):
    """Propagate gradients from ``outputs`` down the graph.

    Returns {id(tensor): (tensor, gradient)} for the leaves that require grad or, when
    ``targets`` is given, for those tensors only (walking only the paths that reach them).
    """
    if retain_graph is None:
        retain_graph = create_graph
    grads: dict[int, Tensor] = {}      # id(tensor) -> dL/d(tensor), summed over its uses
    leaves: dict[int, Tensor] = {}     # the tensors whose gradient we return
    for y, gy in zip(outputs, output_grads):
        if gy is None:
            if y.size != 1:
                raise RuntimeError(
                    f"backward(): the output has shape {y.shape}; gradients can be created "
                    f"implicitly only for a scalar output, so pass gradient=dL/dy of that shape")
            gy = Tensor(backend.get_array_module(y.data).ones_like(y.data))
        gy = as_tensor(gy, like=y)
        if gy.shape != y.shape:
            raise ValueError(f"backward(): gradient shape {gy.shape} != output shape {y.shape}")
        if gy.dtype != y.dtype:
            raise TypeError(f"backward(): gradient dtype {gy.dtype} != output dtype {y.dtype}; "
                            f"cast it with .astype('{y.dtype}')")
        grads[id(y)] = grads[id(y)] + gy if id(y) in grads else gy
        if y.is_leaf:
            leaves[id(y)] = y

    order = _topological_order(outputs)
    walked = order
    wanted = None if targets is None else {id(t): t for t in targets}
    if wanted is not None:               # only the paths from the outputs to the targets
        relevant = _functions_leading_to(order, wanted)
        walked = [f for f in order if id(f) in relevant]
    else:
        relevant = None

    def backward_of(f: Function, gy: Tensor) -> tuple:
        """dL/d(each input of f) from dL/d(its output), None where no gradient is needed;
        the output's gradient is freed here once passed on (a wanted tensor keeps it)."""
        y = f._output()
        if not (wanted and id(y) in wanted):
            grads.pop(id(y), None)
        if relevant is None:
            f.needs_input_grad = tuple([x.requires_grad for x in f.inputs])
        else:
            f.needs_input_grad = tuple(x.requires_grad and (id(x) in wanted or
                                                            id(x.creator) in relevant)
                                       for x in f.inputs)
        if _Mode.detect_anomaly:           # name the op whose backward makes a NaN/inf
            _Mode.in_backward_of = f.name
            try:
                gxs = f.backward(gy)
            finally:
                _Mode.in_backward_of = None
        else:
            gxs = f.backward(gy)
        gxs = tuple(gx if f.needs_input_grad[i] else None
                    for i, gx in enumerate(_checked(f, gxs)))
        if wanted is None:
            for x, gx in zip(f.inputs, gxs):
                if gx is not None and x.creator is None:
                    leaves[id(x)] = x
        return gxs

    with (enable_grad() if create_graph else no_grad()):
        _backward_walk(walked, grads, backward_of)
    if not retain_graph:
        for f in order:          # drop the inputs so their arrays can be freed now
            f.inputs = None
    chosen = leaves if wanted is None else wanted
    return {key: (t, grads[key]) for key, t in chosen.items() if key in grads}


def _functions_leading_to(order, wanted) -> set[int]:
    """ids of the functions on some path from a wanted tensor to the outputs."""
    relevant: set[int] = set()
    for f in reversed(order):        # in this direction, inputs' creators come first
        if any(id(x) in wanted or id(x.creator) in relevant for x in f.inputs):
            relevant.add(id(f))
    return relevant


def _checked(f: Function, gxs) -> tuple:
    """The gradients a backward returned, one per input, each of its input's shape."""
    if not isinstance(gxs, tuple):
        gxs = (gxs,)
    if len(gxs) != len(f.inputs):
        raise RuntimeError(f"{f.name}.backward returned {len(gxs)} gradient(s) for "
                           f"{len(f.inputs)} input(s)")
    checked = []
    for i, (x, gx) in enumerate(zip(f.inputs, gxs)):
        if gx is not None:
            if type(gx) is not Tensor:
                gx = as_tensor(gx, like=x)
            if gx.data.shape != x.data.shape:
                why = ("the transpose of it: a missing .T, or factors in the wrong order?"
                       if gx.shape == x.shape[::-1] else
                       "was a broadcast axis not summed with sum_to?")
                raise RuntimeError(
                    f"{f.name}.backward returned a gradient of shape {gx.shape} for input "
                    f"{i} of shape {x.shape}; gradients must have their input's shape ({why})")
            if gx.dtype != x.dtype and x.dtype.kind == "f":
                raise TypeError(f"{f.name}.backward returned a {gx.dtype} gradient for input {i} "
                                f"of dtype {x.dtype}; gradients must have their input's dtype")
            if _Mode.detect_anomaly:
                _check_finite(gx.data, f"the gradient {f.name}.backward returned for input {i}")
        checked.append(gx)
    return tuple(checked)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """d(sum of outputs)/d(each input), returned rather than stored in ``.grad``.

    Mirrors ``torch.autograd.grad``: ``create_graph=True`` makes the gradients themselves
    differentiable (needed for a gradient penalty); an input the outputs do not depend on
    raises unless ``allow_unused=True``, which returns None for it.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(f"grad(): input {i} does not require grad")
    for y in outputs:
        if not y.requires_grad:
            raise RuntimeError("grad(): an output does not require grad (no graph to walk)")
    results = _run_backward(outputs, grad_outputs, inputs, retain_graph, create_graph)
    found = []
    for i, x in enumerate(inputs):
        if id(x) in results:
            found.append(results[id(x)][1])
        elif allow_unused:
            found.append(None)
        else:
            raise RuntimeError(f"grad(): input {i} (shape {x.shape}) was not used to compute "
                               f"the outputs; pass allow_unused=True if that is intended")
    return tuple(found)
