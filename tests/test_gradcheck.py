"""gradcheck must be able to fail, and its report must say what to look at."""
import numpy as np
import pytest

import scratchgan as sg
from scratchgan import functional as F


class HalfSigmoid(F.Sigmoid):
    def backward(self, gy):
        y = self.output
        return gy * y * (1 - y) * 0.5            # planted: a missing factor of 2


class FlippedTanh(F.Tanh):
    def backward(self, gy):
        y = self.output
        return -gy * (1 - y * y)                 # planted: wrong sign


class TransposedMatMul(F.MatMul):
    def backward(self, gy):
        a, b = self.inputs
        return gy @ b.T, gy.T @ a                # planted: gyᵀa = (aᵀgy)ᵀ, transposed


class ZeroExp(F.Exp):
    def backward(self, gy):
        return gy * 0                            # planted: forgot the gradient


class LeakyReLUWithoutSlope(F.LeakyReLU):
    def backward(self, gy):
        x = self.inputs[0].data                  # planted: the x < 0 branch is dropped
        return gy * sg.Tensor((x > 0).astype(x.dtype))


class TanhFirstOrderOnly(F.Tanh):
    def backward(self, gy):
        y = self.output.data                     # planted: raw array, not a Tensor:
        return gy * sg.Tensor(1 - y * y)         # right once, invisible to double backprop


def test_a_wrong_backward_fails_with_a_full_report(rng):
    x = rng.standard_normal((3, 4))
    with pytest.raises(sg.GradcheckError) as info:
        sg.gradcheck(lambda t: HalfSigmoid()(t), [x], name="Sigmoid.backward")
    report = str(info.value)
    assert "gradcheck failed for Sigmoid.backward, input 0 (shape (3, 4), float64)" in report
    assert "12 of 12 elements are off; worst at [" in report
    assert "analytic" in report and "numeric" in report and "relative error 5.0e-01" in report
    assert "missing factor of 2" in report


@pytest.mark.parametrize("op, shapes, hint", [
    (lambda t: FlippedTanh()(t), [(3, 4)], "sign is flipped"),
    (lambda a, b: TransposedMatMul()(a, b), [(4, 4), (4, 4)], "transpose"),
    (lambda t: ZeroExp()(t), [(3, 4)], "zero everywhere"),
    (lambda t: LeakyReLUWithoutSlope(0.2)(t), [(4, 5)], "zero exactly where it is off"),
])
def test_classic_mistakes_get_their_hint(op, shapes, hint, rng):
    inputs = [rng.standard_normal(s) for s in shapes]
    with pytest.raises(sg.GradcheckError, match=hint):
        sg.gradcheck(op, inputs)


def test_only_the_wrong_elements_are_marked(rng):
    class WrongAt12(F.Neg):
        def backward(self, gy):
            off = np.zeros(gy.shape)
            off[1, 2] = 0.5
            return -gy + sg.tensor(off)

    with pytest.raises(sg.GradcheckError) as info:
        sg.gradcheck(lambda t: WrongAt12()(t), [rng.standard_normal((3, 4))])
    report = str(info.value)
    assert "1 of 12 elements are off; worst at [1, 2]" in report
    assert ". . x ." in report


def test_a_backward_that_is_not_differentiable_fails_second_order(rng):
    x = [rng.standard_normal((3, 4))]
    assert sg.gradcheck(lambda t: TanhFirstOrderOnly()(t), x)
    with pytest.raises(sg.GradcheckError, match="second order"):
        sg.gradgradcheck(lambda t: TanhFirstOrderOnly()(t), x)


def test_a_shape_error_in_backward_becomes_a_report(rng):
    class ForgetsToSum(F.Add):
        def backward(self, gy):
            return gy, gy

    with pytest.raises(sg.GradcheckError, match=r"ForgetsToSum.backward returned a gradient "
                                                r"of shape \(3, 4\) for input 1 of shape \(1, 4\)"):
        sg.gradcheck(lambda a, b: ForgetsToSum()(a, b),
                     [rng.standard_normal((3, 4)), rng.standard_normal((1, 4))])


def test_gradcheck_returns_false_when_asked_not_to_raise(rng):
    assert sg.gradcheck(lambda t: ZeroExp()(t), [rng.standard_normal(3)],
                        raise_exception=False) is False


class NaNSigmoid(F.Sigmoid):
    def backward(self, gy):
        y = self.output
        return gy * y * (1 - y) * float("nan")   # planted: NaN compares False with any tolerance


class NaNRowSigmoid(F.Sigmoid):
    def backward(self, gy):
        y = self.output
        row = np.zeros(y.shape)
        row[1] = np.nan                          # planted: one NaN row among right ones
        return gy * y * (1 - y) + sg.tensor(row)


@pytest.mark.parametrize("op, off", [(NaNSigmoid, "12 of 12"), (NaNRowSigmoid, "4 of 12")])
def test_a_nan_gradient_fails_first_and_second_order(op, off, rng):
    x = [rng.standard_normal((3, 4))]
    with pytest.raises(sg.GradcheckError) as info:
        sg.gradcheck(lambda t: op()(t), x, name="Sigmoid.backward")
    report = str(info.value)
    assert f"{off} elements are off" in report
    assert "the analytic gradient is nan" in report and "backward returns nan" in report
    assert "hint:" not in report
    with pytest.raises(sg.GradcheckError, match="second order.*backward returns nan or inf"):
        sg.gradgradcheck(lambda t: op()(t), x, name="Sigmoid.backward")


def test_a_function_that_is_not_finite_near_the_point_is_blamed_not_backward():
    # log at 5e-7 with ε = 1e-6: L(x − ε) = log(−5e-7) = nan, while backward (1/x) is finite
    with np.errstate(invalid="ignore"), pytest.raises(sg.GradcheckError) as info:
        sg.gradcheck(F.log, [np.array([0.5, 5e-7, 2.0])])
    report = str(info.value)
    assert "1 of 3 elements are off; worst at [1]" in report
    assert "the numeric gradient is not finite at 1 of them (first at [1])" in report
    assert "the function itself is not finite near this point" in report
    assert "L(x − ε) = nan" in report and "cannot judge" in report


def test_an_input_on_a_kink_is_named_and_gets_no_misleading_hint(rng):
    x = rng.standard_normal((3, 4))
    x[1, 2] = 0.0
    with pytest.raises(sg.GradcheckError) as info:
        sg.gradcheck(lambda t: F.leaky_relu(t, 0.2).sum(), [x])
    report = str(info.value)
    assert "1 of 12 elements are off; worst at [1, 2]" in report
    assert ("input 0 element [1, 2] sits on a kink (one-sided slopes 1 and 0.2 differ): "
            "the function is not differentiable there; move the input away from it") in report
    assert "hint:" not in report


def test_inputs_all_on_a_kink_do_not_read_as_a_zero_backward():
    with pytest.raises(sg.GradcheckError) as info:
        sg.gradcheck(F.relu, [np.zeros((2, 3))])
    report = str(info.value)
    assert "6 of 6 elements are off" in report and "sits on a kink" in report
    assert "… and 3 more elements on kinks" in report
    assert "zero everywhere" not in report and "hint:" not in report


def test_a_wrong_backward_next_to_a_kink_still_gets_its_hint(rng):
    x = rng.standard_normal((3, 4))
    x[0, 0] = 0.0
    with pytest.raises(sg.GradcheckError) as info:
        sg.gradcheck(lambda t: FlippedTanh()(F.leaky_relu(t, 0.2)), [x])
    report = str(info.value)
    assert "input 0 element [0, 0] sits on a kink" in report
    assert "sign is flipped" in report


def test_host_inputs_are_checked_on_the_active_backend():
    """NumPy inputs meet the function's own constants (made with sg.tensor, on the active
    backend): on CuPy they must be checked there, or the first op mixes two backends."""
    assert sg.gradcheck(lambda v: v * sg.tensor(np.full(3, 2.0)), [np.ones(3)])
