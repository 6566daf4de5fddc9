"""Every op, checked against finite differences in float64: first and second order,
over shapes with broadcasting, scalars and leading batch axes, on every backend present.

One table drives all the checks.  Each entry: (function, input shapes, input kind).
Input kinds keep the inputs where the op is smooth: "positive" for log/sqrt, "nonzero"
for kinks at 0 (abs, relu), "unit" for probabilities (targets).
"""
import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import functional as F


def clip_away(x):
    return F.clip(x, -1.0, 1.0)


REPEATED = np.array([0, 2, 2, 1, 0])   # integer-array index with repeats

OPS = {
    # arithmetic, with broadcasting
    "add":            (lambda a, b: a + b,           [(3, 4), (3, 4)],       "any"),
    "add_bc":         (lambda a, b: a + b,           [(3, 1), (1, 4)],       "any"),
    "add_scalar":     (lambda a, b: a + b,           [(3, 4), ()],           "any"),
    "add_lead":       (lambda a, b: a + b,           [(2, 3, 4), (4,)],      "any"),
    "sub_bc":         (lambda a, b: a - b,           [(3, 1), (1, 4)],       "any"),
    "rsub_number":    (lambda a: 2.0 - a,            [(3, 4)],               "any"),
    "mul":            (lambda a, b: a * b,           [(3, 4), (3, 4)],       "any"),
    "mul_bc":         (lambda a, b: a * b,           [(2, 3, 1), (3, 4)],    "any"),
    "mul_scalar":     (lambda a, b: a * b,           [(), (3, 4)],           "any"),
    "div":            (lambda a, b: a / b,           [(3, 4), (3, 4)],       "positive"),
    "div_bc":         (lambda a, b: a / b,           [(3, 1), (1, 4)],       "positive"),
    "rdiv_number":    (lambda a: 1.0 / a,            [(3, 4)],               "positive"),
    "neg":            (lambda a: -a,                 [(3, 4)],               "any"),
    "pow_number":     (lambda a: a ** 3,             [(3, 4)],               "any"),
    "pow_tensor":     (lambda a, b: a ** b,          [(3, 1), (1, 4)],       "positive"),
    "matmul":         (lambda a, b: a @ b,           [(3, 4), (4, 5)],       "any"),
    "matmul_batched": (lambda a, b: a @ b,           [(2, 3, 4), (2, 4, 5)], "any"),
    "matmul_bc":      (lambda a, b: a @ b,           [(2, 1, 3, 4), (3, 4, 2)], "any"),
    "matmul_vec":     (lambda a, b: F.matmul(a, b),  [(4,), (4, 3)],         "any"),
    "linear":         (lambda x, w, b: F.linear(x, w, b), [(5, 4), (3, 4), (3,)], "any"),
    "linear_batched": (lambda x, w, b: F.linear(x, w, b), [(2, 5, 4), (3, 4), (3,)], "any"),
    # elementwise
    "exp":            (F.exp,                        [(3, 4)],               "any"),
    "log":            (F.log,                        [(3, 4)],               "positive"),
    "sqrt":           (F.sqrt,                       [(3, 4)],               "positive"),
    "abs":            (F.abs,                        [(3, 4)],               "nonzero"),
    "clip":           (clip_away,                    [(4, 5)],               "off_one"),
    "maximum_bc":     (F.maximum,                    [(3, 1), (1, 4)],       "any"),
    "minimum_bc":     (F.minimum,                    [(3, 4), (4,)],         "any"),
    "where_bc":       (lambda a, b: F.where(B.xp.asarray([[True], [False], [True]]), a, b),
                       [(3, 4), (1, 4)], "any"),
    # reductions
    "sum":            (lambda x: x.sum(),            [(3, 4)],               "any"),
    "sum_axis":       (lambda x: x.sum(axis=1),      [(3, 4)],               "any"),
    "sum_keepdims":   (lambda x: x.sum(axis=(0, 2), keepdims=True), [(2, 3, 4)], "any"),
    "mean":           (lambda x: x.mean(),           [(3, 4)],               "any"),
    "mean_axis":      (lambda x: x.mean(axis=0),     [(3, 4)],               "any"),
    "var":            (lambda x: x.var(),            [(3, 4)],               "any"),
    "var_axis":       (lambda x: x.var(axis=-1, keepdims=True), [(2, 3, 4)], "any"),
    "max":            (lambda x: x.max(),            [(3, 4)],               "any"),
    "max_axis":       (lambda x: x.max(axis=1),      [(3, 4)],               "any"),
    "max_keepdims":   (lambda x: x.max(axis=0, keepdims=True), [(3, 4)],     "any"),
    "logsumexp":      (lambda x: F.logsumexp(x),     [(3, 4)],               "any"),
    "logsumexp_axis": (lambda x: F.logsumexp(x, axis=-1, keepdims=True), [(2, 3, 4)], "any"),
    # shapes and indexing
    "reshape":        (lambda x: x.reshape(4, 3) * x.reshape(4, 3),  [(3, 4)], "any"),
    "transpose":      (lambda x: x.T,                [(3, 4)],               "any"),
    "transpose_axes": (lambda x: x.transpose(2, 0, 1), [(2, 3, 4)],          "any"),
    "getitem_slice":  (lambda x: x[1:, ::2],         [(3, 4)],               "any"),
    "getitem_repeat": (lambda x: x[REPEATED] * x[REPEATED], [(3, 4)],        "any"),
    "getitem_pairs":  (lambda x: x[REPEATED, np.array([1, 1, 3, 0, 1])], [(3, 4)], "any"),
    "concatenate":    (lambda a, b: F.concatenate([a, b, a], axis=1), [(3, 2), (3, 4)], "any"),
    "stack":          (lambda a, b: F.stack([a, b], axis=1), [(3, 4), (3, 4)], "any"),
    "pad":            (lambda x: F.pad(x, ((1, 2), (0, 1))), [(3, 4)],       "any"),
    "broadcast_to":   (lambda x: F.broadcast_to(x, (2, 3, 4)), [(3, 1)],     "any"),
    "sum_to":         (lambda x: F.sum_to(x, (3, 1)), [(2, 3, 4)],           "any"),
    # activations
    "sigmoid":        (F.sigmoid,                    [(3, 4)],               "any"),
    "tanh":           (F.tanh,                       [(3, 4)],               "any"),
    "relu":           (F.relu,                       [(3, 4)],               "nonzero"),
    "leaky_relu":     (lambda x: F.leaky_relu(x, 0.2), [(3, 4)],             "nonzero"),
    "leaky_relu_where": (lambda x: F.LeakyReLU(0.2)(x), [(3, 4)],            "nonzero"),
    # a slope outside [0, 1] takes the other forward (max(x, slope·x) is wrong there)
    "leaky_relu_1.5": (lambda x: F.leaky_relu(x, 1.5), [(3, 4)],             "nonzero"),
    "leaky_relu_neg": (lambda x: F.leaky_relu(x, -0.3), [(2, 3)],            "nonzero"),
    "softplus":       (F.softplus,                   [(3, 4)],               "any"),
    "log_sigmoid":    (F.log_sigmoid,                [(3, 4)],               "any"),
    "log_softmax":    (lambda x: F.log_softmax(x, axis=-1), [(3, 4)],        "any"),
    "log_softmax_0":  (lambda x: F.log_softmax(x, axis=0), [(3, 4)],         "any"),
    "softmax":        (lambda x: F.softmax(x, axis=-1), [(2, 3, 4)],         "any"),
    # losses
    "bce_logits":     (F.binary_cross_entropy_with_logits, [(6, 1), (6, 1)], "logits_targets"),
    "bce_logits_none": (lambda l, t: F.binary_cross_entropy_with_logits(l, t, reduction="none"),
                        [(3, 4), (3, 4)], "logits_targets"),
    "bce_logits_sum": (lambda l, t: F.binary_cross_entropy_with_logits(l, t, reduction="sum"),
                       [(5,), (5,)], "logits_targets"),
    "mse":            (F.mse_loss,                   [(3, 4), (3, 4)],       "any"),
    "l1":             (F.l1_loss,                    [(3, 4), (3, 4)],       "apart"),
    # convolution: patches, their adjoint, and conv2d (stride, padding, unequal kernels)
    "unfold":         (lambda x: F.unfold(x, 3, stride=2, padding=1) ** 2, [(2, 3, 5, 4)], "any"),
    "fold":           (lambda p: F.fold(p, (2, 3, 5, 4), 3, stride=2, padding=1) ** 2,
                       [(2, 6, 27)], "any"),
    "fold_by_pixel":  (lambda p: F.fold(p, (1, 2, 5, 5), 4, stride=1) ** 2,   # 4 < 16 positions
                       [(1, 4, 32)], "any"),
    "conv2d":         (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
                       [(2, 3, 7, 6), (4, 3, 3, 2), (4,)], "any"),
    "conv2d_squared": (lambda x, w: F.conv2d(x, w, stride=(1, 2)) ** 2,
                       [(1, 2, 5, 6), (3, 2, 2, 3)], "any"),
}


def make_inputs(shapes, kind, rng):
    xs = [rng.standard_normal(s) for s in shapes]
    if kind == "positive":
        xs = [np.abs(x) + 0.5 for x in xs]
    elif kind == "nonzero":
        xs = [np.sign(x) * (np.abs(x) + 0.1) for x in xs]
    elif kind == "off_one":   # keep clear of the clip bounds ±1
        xs = [np.where(np.abs(np.abs(x) - 1) < 0.1, x * 1.3, x) for x in xs]
    elif kind == "logits_targets":
        xs = [3 * xs[0], rng.uniform(0, 1, shapes[1])]
    elif kind == "apart":     # |a − b| well away from 0
        xs = [xs[0], xs[0] + np.sign(xs[1]) * (np.abs(xs[1]) + 0.2)]
    return [B.xp.asarray(x) for x in xs]


@pytest.mark.parametrize("name", OPS)
def test_first_order(name, backend, rng):
    fn, shapes, kind = OPS[name]
    assert sg.gradcheck(fn, make_inputs(shapes, kind, rng), name=name)


@pytest.mark.parametrize("name", OPS)
def test_second_order(name, backend, rng):
    fn, shapes, kind = OPS[name]
    assert sg.gradgradcheck(fn, make_inputs(shapes, kind, rng), name=name)


def test_every_op_family_is_in_the_table():
    """The issue's op list, so that an op cannot be added without its checks."""
    covered = " ".join(OPS)
    for op in ["add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log", "sqrt",
               "abs", "clip", "maximum", "minimum", "where", "sum", "mean", "var", "max",
               "reshape", "transpose", "getitem", "concatenate", "stack", "pad", "sigmoid",
               "tanh", "relu", "leaky_relu", "softplus", "log_sigmoid", "logsumexp",
               "log_softmax", "softmax", "bce_logits", "mse", "l1", "linear", "unfold", "fold",
               "conv2d"]:
        assert op in covered, f"{op} has no gradcheck entry"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("slope", [0.0, 0.01, 0.2, 1 / 3, 0.7, 1.0])
def test_leaky_relu_fast_form_equals_the_where_form_bit_for_bit(slope, dtype, backend, rng):
    """max(x, s·x) and s + (1 − s)·[x > 0] promise exactly where(x > 0, x, s·x) and
    where(x > 0, 1, s): the same bits, forward and backward, zeros and ±0 included."""
    x = rng.standard_normal(1000) * 10.0 ** rng.integers(-30, 30, 1000)
    x[:4] = [0.0, -0.0, 1e-45, -1e-45]
    gy = sg.tensor(B.xp.asarray(rng.standard_normal(1000).astype(dtype)))
    results = []
    for op in (F.LeakyReLU(slope), F.LeakyReLUFast(slope)):
        xt = sg.tensor(B.xp.asarray(x.astype(dtype)), requires_grad=True)
        y = op(xt)
        y.backward(gy)
        results.append((sg.to_numpy(y.data), sg.to_numpy(xt.grad.data)))
    (y_where, g_where), (y_fast, g_fast) = results
    assert y_fast.dtype == y_where.dtype == g_fast.dtype == np.dtype(dtype)
    assert y_fast.tobytes() == y_where.tobytes()
    assert g_fast.tobytes() == g_where.tobytes()


def test_leaky_relu_takes_the_fast_form_only_where_it_holds():
    x = sg.tensor(np.array([-1.0, 2.0]), requires_grad=True)
    assert type(F.leaky_relu(x, 0.2).creator) is F.LeakyReLUFast
    assert type(F.leaky_relu(x, 1.5).creator) is F.LeakyReLU
    with pytest.raises(ValueError, match=r"slope must be in \[0, 1\], got -0.3"):
        F.LeakyReLUFast(-0.3)
