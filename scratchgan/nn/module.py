"""Module and Parameter: the containers every layer and model is built from.

A ``Module`` finds its parameters, buffers and sub-modules by looking at its own
attributes, in the order they were assigned (so ``parameters()`` has a fixed order, and
a state_dict saved today loads tomorrow).  Names follow PyTorch, so what a student
learns here carries over.
"""
from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Iterator

from .. import backend
from ..autograd import Tensor
from ..backend import get_array_module


class Parameter(Tensor):
    """A Tensor that a Module trains: requires_grad=True, found by ``parameters()``."""

    def __init__(self, data):
        # an array or list is put on the active backend, as sg.tensor() puts it: a NumPy
        # parameter in a CuPy model would meet CuPy activations, a TypeError on a GPU
        data = data.data if isinstance(data, Tensor) else backend.xp.asarray(data)
        super().__init__(data, requires_grad=True)

    def __repr__(self) -> str:
        return "Parameter(" + super().__repr__() + ")"


class Module:
    """Base class of layers and models: subclasses set parameters and sub-modules as
    attributes in ``__init__`` and write ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before "
                               f"assigning attributes")
        # a name lives in one registry; re-assigning it keeps its place in the order
        kind = (self._parameters if isinstance(value, Parameter) else
                self._modules if isinstance(value, Module) else
                self._buffers if name in self._buffers and value is not None else None)
        if kind is None and name in self._parameters and value is not None:
            raise TypeError(f"{type(self).__name__}.{name} is a Parameter: assign a Parameter "
                            f"or None, not {type(value).__name__}")
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not kind:
                registry.pop(name, None)
        if kind is not None:
            kind[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, array) -> None:
        """A state array that is saved and loaded but not trained (BatchNorm's running mean)."""
        self._buffers[name] = array
        object.__setattr__(self, name, array)

    def _set_buffer(self, name: str, array) -> None:
        self._buffers[name] = array
        object.__setattr__(self, name, array)

    # --- calling -------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not written")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # --- walking the tree ---------------------------------------------------------------
    def named_modules(self, prefix: str = "", _seen=None) -> Iterator[tuple[str, Module]]:
        """Every module in the tree, each once (a layer used twice is listed once)."""
        _seen = set() if _seen is None else _seen
        if id(self) in _seen:
            return
        _seen.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name, _seen)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        seen = set()
        for module_name, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self) -> Iterator[tuple[str, object]]:
        for module_name, module in self.named_modules():
            for name, b in module._buffers.items():
                yield (f"{module_name}.{name}" if module_name else name), b

    # --- modes ---------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode: BatchNorm uses batch statistics, Dropout drops."""
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: BatchNorm uses running statistics, Dropout passes through."""
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    # --- saving and loading --------------------------------------------------------------
    def state_dict(self) -> OrderedDict:
        """name -> array (on the active backend) for every parameter and buffer."""
        state = OrderedDict((name, p.data) for name, p in self.named_parameters())
        state.update(self.named_buffers())
        return state

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy arrays into this module's parameters and buffers, checking names and shapes."""
        own = self.state_dict()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        mis_shaped = [f"{k}: expected {tuple(own[k].shape)}, got {tuple(state[k].shape)}"
                      for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mis_shaped:
            problems.append("shapes differ: " + "; ".join(mis_shaped))
        if problems:
            raise KeyError(f"load_state_dict for {type(self).__name__}: " + " | ".join(problems))
        params = dict(self.named_parameters())
        for module_name, module in self.named_modules():
            for name in list(module._buffers):
                key = f"{module_name}.{name}" if module_name else name
                if key in state:
                    module._set_buffer(name, _like(own[key], state[key]))
        for key, p in params.items():
            if key in state:
                p.data = _like(p.data, state[key])

    # --- printing ------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        if self._modules:
            for name, child in self._modules.items():
                child_lines = repr(child).split("\n")
                lines.append(f"  ({name}): " + "\n  ".join(child_lines))
            lines.append(")")
            return "\n".join(lines)
        return lines[0] + ")"

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())


@contextlib.contextmanager
def frozen(module: Module):
    """Inside the block, ``module``'s parameters require no gradient: gradients still flow
    *through* the module to its inputs, but none is computed for its own weights."""
    params = list(module.parameters())
    before = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad = False
    try:
        yield module
    finally:
        for p, was in zip(params, before):
            p.requires_grad = was


def _like(reference, array):
    """``array`` copied into reference's backend and dtype."""
    xp = get_array_module(reference)
    return xp.array(array, dtype=reference.dtype)
