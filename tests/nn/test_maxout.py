"""Maxout: first- and second-order gradchecks with respect to its input and its weights,
then what it computes (the largest piece of each unit) and where its gradient goes."""
import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import nn

from .test_layers import checked_function, make_input

F64 = "float64"
SHAPES = {   # name: (in, out, pieces, input shape)
    "maxout_3_pieces": (3, 4, 3, (5, 3)),
    "maxout_one_piece": (3, 2, 1, (4, 3)),       # k = 1: a plain Linear
    "maxout_pacgan_like": (4, 6, 5, (6, 4)),     # PacGAN's 5 pieces, a packed input of 2·2
}


def build(name):
    n_in, n_out, pieces, shape = SHAPES[name]
    return nn.Maxout(n_in, n_out, pieces, dtype=F64), shape


@pytest.mark.parametrize("name", SHAPES)
def test_first_order(name, backend, rng):
    layer, shape = build(name)
    fn, params = checked_function(layer)
    assert sg.gradcheck(fn, [make_input(shape, "any", rng)] + params, name=name)


@pytest.mark.parametrize("name", SHAPES)
def test_second_order(name, backend, rng):
    layer, shape = build(name)
    fn, params = checked_function(layer)
    assert sg.gradgradcheck(fn, [make_input(shape, "any", rng)] + params, name=name)


def test_forward_is_the_largest_piece(backend, rng):
    layer = nn.Maxout(3, 4, pieces=5, dtype=F64)
    x = rng.standard_normal((7, 3))
    W, b = layer.linear.weight.numpy(), layer.linear.bias.numpy()
    expected = (x @ W.T + b).reshape(7, 5, 4).max(axis=1)      # row i·out + j: piece i, unit j
    y = layer(sg.tensor(B.xp.asarray(x)))
    assert y.shape == (7, 4)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12)


def test_gradient_reaches_only_the_winning_pieces(backend, rng):
    layer = nn.Maxout(2, 3, pieces=4, dtype=F64)
    x = rng.standard_normal((1, 2))
    layer(sg.tensor(B.xp.asarray(x))).sum().backward()
    g_bias = layer.linear.bias.grad.numpy().reshape(4, 3)                  # (pieces, units)
    W, b = layer.linear.weight.numpy(), layer.linear.bias.numpy()
    winners = (x @ W.T + b).reshape(4, 3).argmax(axis=0)
    expected = np.zeros((4, 3))
    expected[winners, np.arange(3)] = 1.0
    np.testing.assert_array_equal(g_bias, expected)


def test_bad_pieces_are_refused():
    with pytest.raises(ValueError, match="pieces"):
        nn.Maxout(2, 3, pieces=0)
