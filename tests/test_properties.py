"""Property-based: random compositions of ops on random broadcast-compatible shapes pass
gradcheck (first order, and second order for the smooth ones)."""
import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import scratchgan as sg
from scratchgan import functional as F

UNARY = {
    "tanh": F.tanh, "sigmoid": F.sigmoid, "softplus": F.softplus, "exp_small": lambda x: F.exp(0.3 * x),
    "log_sigmoid": F.log_sigmoid, "square": lambda x: x * x, "neg": lambda x: -x,
    "sum_last_keep": lambda x: x.sum(axis=-1, keepdims=True) if x.ndim else x,
    "log_softmax": lambda x: F.log_softmax(x, axis=-1) if x.ndim else x,
    "mean_first_keep": lambda x: x.mean(axis=0, keepdims=True) if x.ndim else x,
}
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div_safe": lambda a, b: a / (1.5 + F.tanh(b)),
}

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


@st.composite
def compositions(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    steps = draw(st.lists(st.tuples(st.sampled_from(sorted(UNARY)), st.sampled_from(sorted(BINARY))),
                          min_size=1, max_size=4))
    seed = draw(st.integers(0, 2 ** 16))
    return shapes.input_shapes, steps, seed


def build(steps):
    def fn(a, b):
        y = a
        for unary, binary in steps:
            y = BINARY[binary](UNARY[unary](y), b)
        return y
    return fn


@SETTINGS
@given(compositions())
def test_random_compositions_pass_gradcheck(case):
    shapes, steps, seed = case
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal(s) for s in shapes]
    assert sg.gradcheck(build(steps), inputs, name=str(steps))


@settings(max_examples=15, deadline=None, derandomize=True)
@given(compositions())
def test_random_compositions_pass_gradgradcheck(case):
    shapes, steps, seed = case
    rng = np.random.default_rng(seed)
    inputs = [rng.standard_normal(s) for s in shapes]
    assert sg.gradgradcheck(build(steps), inputs, name=str(steps))
