"""The fused batch-normalisation op, ``F.batch_norm_train``, checked three ways: against
finite differences in float64 (first and second order, odd shapes, every axes it serves),
against the composite form the layers keep as their reference (``fused=False``: the same
output, gradient and second derivative to float rounding, ~1e-12), and through the layers
(BatchNorm1d, BatchNorm2d: outputs, gradients and running statistics, fused or not).
"""
import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import nn
from scratchgan.nn.norm2d import _normalise

F64 = "float64"
EPS = 1e-5

CASES = {   # name: (input shape, axes, affine)
    "bn1d":             ((5, 3), (0,), True),
    "bn1d_no_affine":   ((4, 2), (0,), False),
    "bn1d_one_feature": ((3, 1), (0,), True),
    "bn2d":             ((2, 3, 3, 5), (0, 2, 3), True),
    "bn2d_one_pixel":   ((3, 2, 1, 1), (0, 2, 3), True),     # the statistics are over N only
    "bn2d_one_image":   ((1, 2, 2, 3), (0, 2, 3), True),     # ... or over the pixels only
    "bn2d_no_affine":   ((3, 2, 1, 2), (0, 2, 3), False),
    "instance":         ((2, 3, 2, 3), (2, 3), True),         # InstanceNorm2d's axes
    "instance_no_affine": ((2, 2, 3, 1), (2, 3), False),
}


def case_inputs(name, rng):
    """x with channels of different means and spreads; γ, β away from 1 and 0."""
    shape, _, affine = CASES[name]
    c = shape[1]
    spread = np.linspace(0.5, 2.0, c).reshape((1, c) + (1,) * (len(shape) - 2))
    x = rng.standard_normal(shape) * spread + spread * 3
    arrays = [x] + ([rng.standard_normal(c) + 1.0, rng.standard_normal(c)] if affine else [])
    return [B.xp.asarray(a) for a in arrays]


def fused(axes):
    return lambda x, *wb: F.batch_norm_train(x, *wb, axes=axes, eps=EPS)


def composite(axes):
    """The layers' reference: x̂ from small differentiable ops, then γ x̂ + β."""
    def fn(x, *wb):
        x_hat, _, _ = _normalise(x, axes, EPS)
        if not wb:
            return x_hat
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return x_hat * wb[0].reshape(*shape) + wb[1].reshape(*shape)
    return fn


# --- against finite differences ----------------------------------------------------------
@pytest.mark.parametrize("name", CASES)
def test_first_order(name, backend, rng):
    assert sg.gradcheck(fused(CASES[name][1]), case_inputs(name, rng), name=name)


@pytest.mark.parametrize("name", CASES)
def test_second_order(name, backend, rng):
    fn = fused(CASES[name][1])
    assert sg.gradgradcheck(lambda *xs: fn(*xs) ** 2, case_inputs(name, rng), name=name)


# --- against the composite form ----------------------------------------------------------
def derivatives(fn, arrays, rng_seed=1):
    """y, dL/d(inputs) and d(Σ g²)/d(inputs) of L = Σ (y·v)² for a fixed random v: the
    output, the gradient and (through create_graph) a second derivative, as arrays."""
    xs = [sg.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*xs)
    v = sg.tensor(B.xp.asarray(np.random.default_rng(rng_seed).standard_normal(y.shape)))
    grads = sg.grad(((y * v) ** 2).sum(), xs, create_graph=True)
    second = sg.grad(sum((g * g).sum() for g in grads), xs)
    return [y.numpy()] + [g.numpy() for g in grads] + [g.numpy() for g in second]


def assert_close(got, want, what):
    for i, (a, b) in enumerate(zip(got, want)):
        scale = max(1.0, float(np.abs(b).max()))
        assert np.abs(a - b).max() <= 1e-12 * scale, f"{what}, item {i}"


@pytest.mark.parametrize("name", CASES)
def test_equals_the_composite_form_to_second_order(name, backend, rng):
    axes = CASES[name][1]
    arrays = case_inputs(name, rng)
    assert_close(derivatives(fused(axes), arrays), derivatives(composite(axes), arrays), name)


@pytest.mark.parametrize("name", CASES)
def test_plain_backward_equals_the_create_graph_backward(name, backend, rng):
    """Without create_graph the backward takes x̂ and 1/σ from the forward as constants;
    with it, it rebuilds them from x as a graph.  The gradients are the same numbers."""
    axes = CASES[name][1]
    arrays = case_inputs(name, rng)
    v = sg.tensor(B.xp.asarray(rng.standard_normal(CASES[name][0])))
    results = []
    for create_graph in (False, True):
        xs = [sg.tensor(a, requires_grad=True) for a in arrays]
        y = fused(axes)(*xs)
        results.append([g.numpy() for g in sg.grad((y * v).sum(), xs,
                                                   create_graph=create_graph)])
    assert_close(*results, name)


def test_gradient_penalty_through_batchnorm_equals_the_composite(backend, rng):
    """WGAN-GP's shape of use: ‖∇ₓ D(x)‖² differentiated with respect to D's parameters."""
    def critic(norm):
        return nn.Sequential(nn.Conv2d(2, 3, 3, dtype=F64), norm, nn.LeakyReLU(0.2),
                             nn.Flatten(), nn.Linear(3 * 2 * 2, 1, dtype=F64))
    x = B.xp.asarray(rng.standard_normal((4, 2, 4, 4)))
    results = []
    for is_fused in (True, False):
        sg.seed(3)
        d = critic(nn.BatchNorm2d(3, dtype=F64, fused=is_fused))
        xt = sg.tensor(x, requires_grad=True)
        (gx,) = sg.grad(d(xt).sum(), [xt], create_graph=True)
        penalty = ((gx * gx).sum() - 1.0) ** 2
        params = list(d.parameters())
        # the conv's bias and BN's β do not move ∇ₓ D: no gradient (None) or a zero one
        grads = sg.grad(penalty, params, allow_unused=True)
        results.append([np.zeros(p.shape) if g is None else g.numpy()
                        for p, g in zip(params, grads)])
    assert_close(*results, "gradient penalty")


# --- through the layers --------------------------------------------------------------------
LAYERS = {   # name: (build with fused=…, input shape)
    "batchnorm1d": (lambda fused: nn.BatchNorm1d(3, dtype=F64, fused=fused), (6, 3)),
    "batchnorm1d_no_affine": (lambda fused: nn.BatchNorm1d(3, affine=False, dtype=F64,
                                                           fused=fused), (4, 3)),
    "batchnorm2d": (lambda fused: nn.BatchNorm2d(3, dtype=F64, fused=fused), (4, 3, 3, 2)),
    "batchnorm2d_no_affine": (lambda fused: nn.BatchNorm2d(3, affine=False, dtype=F64,
                                                           fused=fused), (2, 3, 2, 2)),
    "instancenorm2d": (lambda fused: nn.InstanceNorm2d(3, affine=True, dtype=F64,
                                                       fused=fused), (2, 3, 3, 2)),
    "instancenorm2d_no_affine": (lambda fused: nn.InstanceNorm2d(3, dtype=F64, fused=fused),
                                 (2, 3, 2, 2)),
}


@pytest.mark.parametrize("name", LAYERS)
def test_layer_fused_equals_composite_with_running_stats(name, backend, rng):
    """Outputs, gradients and (BatchNorm's) running statistics, step after step."""
    build, shape = LAYERS[name]
    layers = [build(True), build(False)]
    for layer in layers:
        if layer.weight is not None:
            layer.weight.data[...] = B.xp.asarray([1.5, -0.5, 0.8])
            layer.bias.data[...] = B.xp.asarray([0.1, -0.2, 0.3])
    for step in range(3):
        x = B.xp.asarray(rng.standard_normal(shape) * 2 + step)
        results = []
        for layer in layers:
            layer.zero_grad()
            xt = sg.tensor(x, requires_grad=True)
            y = layer(xt)
            (y * y * y).sum().backward()
            results.append([y.numpy(), xt.grad.numpy()]
                           + [p.grad.numpy() for p in layer.parameters()]
                           + [sg.to_numpy(b) for _, b in layer.named_buffers()])
        assert_close(*results, f"{name}, step {step}")
    for layer in layers:     # evaluation reads the running statistics the same way
        layer.eval()
    x = sg.tensor(B.xp.asarray(rng.standard_normal(shape)))
    assert_close([layers[0](x).numpy()], [layers[1](x).numpy()], f"{name}, eval")


def test_layers_are_fused_by_default_and_keep_float32(backend, rng):
    for layer, shape in ((nn.BatchNorm1d(3), (4, 3)), (nn.BatchNorm2d(3), (2, 3, 2, 2)),
                         (nn.InstanceNorm2d(3, affine=True), (2, 3, 2, 2))):
        assert layer.fused
        x = sg.tensor(B.xp.asarray(rng.standard_normal(shape).astype("float32")),
                      requires_grad=True)
        y = layer(x)
        assert type(y.creator) is F.BatchNormTrain and y.dtype == np.float32
        y.sum().backward()
        assert x.grad.dtype == np.float32 and layer.weight.grad.dtype == np.float32
        assert all(b.dtype == np.float32 for _, b in layer.named_buffers())


def test_without_grad_the_op_still_normalises(backend, rng):
    """Under no_grad (G sampling in training mode) no graph is kept, the numbers are the same."""
    x = B.xp.asarray(rng.standard_normal((4, 2, 3, 3)))
    with sg.no_grad():
        y = F.batch_norm_train(sg.tensor(x), axes=(0, 2, 3))
    assert y.creator is None
    np.testing.assert_allclose(y.numpy(), composite((0, 2, 3))(sg.tensor(x)).numpy(),
                               rtol=1e-12, atol=1e-14)


def test_errors_name_the_op():
    x = sg.tensor(np.zeros((2, 3, 2, 2)))
    w = sg.tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"batch_norm_train: give both γ \(weight\) and β"):
        F.batch_norm_train(x, w, axes=(0, 2, 3))
    with pytest.raises(ValueError, match=r"batch_norm_train: .*axes \(0, 1\) must leave axis 1"):
        F.batch_norm_train(x, w, w, axes=(0, 1))
