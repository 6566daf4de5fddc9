"""The dtype rule, in one sentence (``sg.autograd.DTYPE_RULE``), and what it means at each place
a dtype could silently change: making a tensor, scalars in ops, mixed inputs, gradients."""
from pathlib import Path

import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import nn


def t(values, dtype, requires_grad=False):
    return sg.tensor(B.xp.asarray(np.asarray(values, dtype=dtype)), requires_grad=requires_grad)


# --- making a tensor: arrays keep their dtype, Python numbers and lists become float32 ------
def test_a_tensor_keeps_its_arrays_dtype_and_python_data_becomes_float32(backend):
    assert sg.tensor(B.xp.zeros(2)).dtype == np.float64
    assert sg.tensor(B.xp.zeros(2, dtype="float32")).dtype == np.float32
    assert sg.tensor([1.0, 2.0]).dtype == np.float32
    assert sg.tensor(1.5).dtype == np.float32
    assert sg.tensor([1.0, 2.0], dtype="float64").dtype == np.float64


# --- scalars adapt ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_python_and_numpy_scalars_take_the_tensors_dtype(dtype, backend):
    x = t([1.0, -2.0], dtype)
    for y in (x * 0.5, 0.5 * x, x + 1, 2 - x, x / np.float64(3), np.float32(2) * x, x ** 2,
              F.where(x > 0, x, 0.0), F.maximum(x, 0.0)):
        assert y.dtype == np.dtype(dtype)


# --- tensors and arrays of two float dtypes do not mix -------------------------------------
def test_mixing_float32_and_float64_tensors_names_the_op_and_both_dtypes(backend):
    with pytest.raises(TypeError) as caught:
        t([1.0], "float32") + t([1.0], "float64")
    message = str(caught.value)
    assert message.startswith("Add: inputs of two float dtypes, float32 and float64")
    assert ".astype(" in message and "\n" not in message


def test_a_float64_batch_fed_to_a_float32_model_is_refused_not_upcast(backend):
    model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1))
    batch = sg.tensor(B.xp.asarray(np.random.randn(5, 3)))          # float64, as NumPy makes
    with pytest.raises(TypeError, match="Linear: inputs of two float dtypes, float64 and float32"):
        model(batch)
    assert model(batch.astype("float32")).dtype == np.float32          # the documented cast


def test_an_array_even_zero_dimensional_keeps_its_dtype_in_an_op(backend):
    x = t([1.0, 2.0], "float32")
    with pytest.raises(TypeError, match="Mul: inputs of two float dtypes"):
        x * B.xp.asarray(0.5)                       # a 0-d float64 array is an array
    with pytest.raises(TypeError, match="Sub: inputs of two float dtypes"):
        x - B.xp.ones(2)
    assert (x * B.xp.asarray(0.5, dtype="float32")).dtype == np.float32


def test_integer_and_boolean_inputs_are_not_float_dtypes(backend):
    x = t([[1.0, 2.0], [3.0, 4.0]], "float32")
    assert x[B.xp.asarray([1, 0])].dtype == np.float32
    assert F.where(x > 2, x, t([0.0], "float32")).dtype == np.float32


def test_an_explicit_cast_carries_the_gradient_back_in_the_inputs_dtype(backend):
    x64 = t([1.0, -3.0], "float64", requires_grad=True)
    w32 = t([2.0, 5.0], "float32", requires_grad=True)
    (x64.astype("float32") * w32).sum().backward()
    assert x64.grad.dtype == np.float64 and w32.grad.dtype == np.float32
    np.testing.assert_array_equal(sg.to_numpy(x64.grad.data), [2.0, 5.0])


# --- gradients keep their tensor's dtype ----------------------------------------------------
def test_backward_refuses_a_gradient_of_another_dtype(backend):
    y = t([1.0, 2.0], "float32", requires_grad=True) * 3.0
    with pytest.raises(TypeError, match=r"gradient dtype float64 != output dtype float32"):
        y.backward(t([1.0, 1.0], "float64"))
    y2 = t([1.0, 2.0], "float32", requires_grad=True) * 3.0
    y2.backward([1.0, 1.0])                         # Python data takes the output's dtype


class _Float64Backward(sg.Function):
    """A student's slip: the gradient computed in NumPy's default float64."""

    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return B.xp.full(gy.shape, 2.0)


def test_a_backward_returning_another_dtype_is_named(backend):
    x = t([1.0, 2.0], "float32", requires_grad=True)
    with pytest.raises(TypeError, match="_Float64Backward.backward returned a float64 gradient "
                                        "for input 0 of dtype float32"):
        _Float64Backward()(x).sum().backward()


# --- the rule is one sentence, and lesson 01 teaches it -------------------------------------
def test_the_rule_is_one_sentence_and_lesson_01_states_it():
    rule = sg.autograd.DTYPE_RULE
    assert rule.count(". ") == 0 and "\n" not in rule
    lesson = (Path(__file__).parents[1] / "lessons" / "01_arrays_and_the_backend.py").read_text()
    assert "sg.autograd.DTYPE_RULE" in lesson
