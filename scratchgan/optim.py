"""Optimizers: each ``step()`` is its update rule, written out on the raw arrays.

    SGD       v ← μ v + g;            θ ← θ − η v                     (μ = 0: plain SGD)
    RMSprop   s ← α s + (1 − α) g²;   θ ← θ − η g / (√s + ε)
    Adam      m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²
              θ ← θ − η m̂ / (√v̂ + ε),  m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
    EMA       θ̄ ← d θ̄ + (1 − d) θ    (an average of a model's weights: ``update_ema``)

Updates are in place, outside any graph (no gradient flows through an update).  The
formulas follow PyTorch's, so the same hyper-parameters mean the same thing.
"""
from __future__ import annotations

import functools
import math

from . import backend
from .backend import get_array_module


class Optimizer:
    """Holds the parameters; ``step()`` applies ``update`` to each one that has a gradient.

    A subclass writes two methods:
        prepare(i, θ, g) -> (update, (θ, g, state...))   per parameter, once per step:
                                                          creates its state, counts its t
        update(θ, g, state..., scratch)                   the rule itself, in place
    (Adam also has ``update_fused``: the same rule rearranged for speed, beside it.)
    ``update`` runs on blocks of the arrays (``backend.blockwise``: each block stays in
    cache through all of the rule's passes); it sees nothing but elementwise arithmetic,
    so blocks change nothing in the result.
    """

    def __init__(self, params, lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        self.lr = lr
        self.step_count = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        self.step_count += 1
        jobs = []
        for i, p in enumerate(self.params):
            if p.grad is not None:
                g = get_array_module(p.data).ascontiguousarray(p.grad.data)
                jobs.append(self.prepare(i, p.data, g))
        backend.blockwise(jobs)

    def prepare(self, i: int, theta, g):
        raise NotImplementedError

    def _state(self, slot: str, i: int, like):
        """The array of ``slot`` for parameter i, zeros the first time."""
        arrays = getattr(self, slot)
        if i not in arrays:
            arrays[i] = get_array_module(like).zeros_like(like)
        return arrays[i]

    # state: the step count, the hyper-parameters and one value per slot per parameter
    _slots: tuple[str, ...] = ()
    _counters: tuple[str, ...] = ()     # slots holding an int per parameter, not an array

    def state_dict(self) -> dict:
        """A snapshot (copies, so later steps do not change it)."""
        state = {"step_count": self.step_count, "lr": self.lr}
        for slot in self._slots:
            for i, value in getattr(self, slot).items():
                state[f"{slot}.{i}"] = value.copy() if hasattr(value, "copy") else value
        return state

    def load_state_dict(self, state: dict) -> None:
        self.step_count = int(state["step_count"])
        self.lr = float(state["lr"])
        for slot in self._slots:
            arrays = {}
            for i, p in enumerate(self.params):
                key = f"{slot}.{i}"
                if key in state and slot in self._counters:
                    arrays[i] = int(state[key])
                elif key in state:
                    if tuple(state[key].shape) != p.shape:
                        raise KeyError(f"{type(self).__name__}.load_state_dict: {key} has shape "
                                       f"{tuple(state[key].shape)}, parameter {i} has {p.shape}")
                    arrays[i] = get_array_module(p.data).array(state[key], dtype=p.dtype)
            setattr(self, slot, arrays)


class SGD(Optimizer):
    """v ← μ v + g;  θ ← θ − η v   (v starts at 0, so the first step is plain SGD, as PyTorch)"""
    _slots = ("velocity",)

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0):
        super().__init__(params, lr)
        self.momentum = momentum
        self.velocity: dict[int, object] = {}

    def prepare(self, i, theta, g):
        if not self.momentum:
            return self.update_plain, (theta, g)
        return self.update, (theta, g, self._state("velocity", i, g))

    def update_plain(self, theta, g, scratch):
        theta -= get_array_module(g).multiply(g, self.lr, out=scratch)     # θ ← θ − η g

    def update(self, theta, g, v, scratch):
        v *= self.momentum                                                 # v ← μ v
        v += g                                                             #   + g
        theta -= get_array_module(g).multiply(v, self.lr, out=scratch)     # θ ← θ − η v


class RMSprop(Optimizer):
    """s ← α s + (1 − α) g²;  θ ← θ − η g / (√s + ε)"""
    _slots = ("square_avg",)

    def __init__(self, params, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8):
        super().__init__(params, lr)
        self.alpha, self.eps = alpha, eps
        self.square_avg: dict[int, object] = {}

    def prepare(self, i, theta, g):
        return self.update, (theta, g, self._state("square_avg", i, g))

    def update(self, theta, g, s, scratch):
        xp = get_array_module(g)
        s *= self.alpha                                                    # s ← α s
        xp.multiply(g, g, out=scratch)
        scratch *= 1 - self.alpha
        s += scratch                                                       #   + (1 − α) g²
        denom = xp.sqrt(s, out=scratch)
        denom += self.eps                                                  # √s + ε
        step = xp.divide(g, denom, out=scratch)
        step *= self.lr
        theta -= step                                                      # θ ← θ − η g/(√s + ε)


class Adam(Optimizer):
    """m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  θ ← θ − η m̂/(√v̂ + ε),
    m̂ = m/(1 − β₁ᵗ),  v̂ = v/(1 − β₂ᵗ)

    ``update`` is the rule as written above, one line per formula.  ``update_fused`` is
    the same rule rearranged to make no temporary arrays and one pass fewer (equal to
    float rounding; tests/test_optim.py checks it); ``fused=True``, the default, uses it
    because the optimizer step is a noticeable part of a small GAN's iteration.
    """
    _slots = ("m", "v", "steps")
    _counters = ("steps",)

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 *, fused: bool = True):
        super().__init__(params, lr)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.fused = fused
        self.m: dict[int, object] = {}
        self.v: dict[int, object] = {}
        self.steps: dict[int, int] = {}   # t per parameter: one that joins late starts at 1

    def prepare(self, i, theta, g):
        m, v = self._state("m", i, g), self._state("v", i, g)
        t = self.steps[i] = self.steps.get(i, 0) + 1
        update = self.update_fused if self.fused else self.update
        return functools.partial(update, t=t), (theta, g, m, v)

    def update(self, theta, g, m, v, scratch, t: int):
        """The textbook rule (``scratch`` unused: each line makes its own arrays)."""
        xp = get_array_module(g)
        m[...] = self.beta1 * m + (1 - self.beta1) * g                    # m ← β₁m + (1 − β₁)g
        v[...] = self.beta2 * v + (1 - self.beta2) * g * g                # v ← β₂v + (1 − β₂)g²
        m_hat = m / (1 - self.beta1 ** t)                                 # m̂ = m / (1 − β₁ᵗ)
        v_hat = v / (1 - self.beta2 ** t)                                 # v̂ = v / (1 − β₂ᵗ)
        theta -= self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)            # θ ← θ − η m̂/(√v̂ + ε)

    def update_fused(self, theta, g, m, v, scratch, t: int):
        """The same rule, in place, every intermediate in ``scratch`` (no temporaries)."""
        xp = get_array_module(g)
        m *= self.beta1                                                    # m ← β₁m
        m += xp.multiply(g, 1 - self.beta1, out=scratch)                   #   + (1 − β₁)g
        v *= self.beta2                                                    # v ← β₂v
        xp.multiply(g, g, out=scratch)
        scratch *= 1 - self.beta2
        v += scratch                                                       #   + (1 − β₂)g²
        # θ ← θ − η/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε); multiplying the fraction's top and
        # bottom by √(1−β₂ᵗ) moves that factor onto a scalar, one pass fewer:
        # θ ← θ − η√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε√(1−β₂ᵗ))
        bias1, root_bias2 = 1 - self.beta1 ** t, math.sqrt(1 - self.beta2 ** t)
        denom = xp.sqrt(v, out=scratch)
        denom += self.eps * root_bias2
        step = xp.divide(m, denom, out=scratch)
        step *= self.lr * root_bias2 / bias1
        theta -= step


class LinearDecayLR:
    """Keep the learning rate for ``constant_epochs``, then decay it linearly to 0 over
    ``decay_epochs`` (CycleGAN's schedule).  Call ``step()`` once per epoch."""

    def __init__(self, optimizer: Optimizer, constant_epochs: int, decay_epochs: int):
        self.optimizer, self.base_lr = optimizer, optimizer.lr
        self.constant_epochs, self.decay_epochs = constant_epochs, decay_epochs
        self.epoch = 0

    def step(self) -> None:
        self.epoch += 1
        past = max(0, self.epoch - self.constant_epochs)
        self.optimizer.lr = self.base_lr * max(0.0, 1 - past / max(1, self.decay_epochs))


def ema_decay(decay: float, step: int, warmup: float = 10.0) -> float:
    """The EMA's decay after ``step`` updates: min(d, (1 + t) / (c + t)).

    Early on the average spans the t steps there have been (about t / (c − 1) of them),
    not a horizon of 1 / (1 − d) steps, most of which would be the random initial weights."""
    return min(decay, (1 + step) / (warmup + step))


def _ema_update(theta_ema, theta, scratch, decay: float) -> None:
    """θ̄ ← d·θ̄ + (1 − d)·θ, in place (run a cache-sized block at a time)."""
    theta_ema *= decay
    theta_ema += get_array_module(theta).multiply(theta, 1 - decay, out=scratch)


def update_ema(average, model, decay: float) -> None:
    """Move ``average`` (a copy of ``model``) toward it: θ̄ ← d·θ̄ + (1 − d)·θ for every
    parameter (Yazıcı et al. 2019: an average of G's weights is a smoother, better G).
    Buffers (BatchNorm's running statistics) are copied, not averaged: they describe the
    current activations, which is what the average is evaluated on."""
    backend.blockwise([(functools.partial(_ema_update, decay=decay), (p_ema.data, p.data))
                       for p_ema, p in zip(average.parameters(), model.parameters())])
    for (_, b_ema), (_, b) in zip(average.named_buffers(), model.named_buffers()):
        b_ema[...] = b
