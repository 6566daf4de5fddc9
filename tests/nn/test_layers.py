"""Every layer, checked against finite differences (first and second order, with respect to
its input AND its parameters), then its behaviour: shapes, initialisation, the statistics
BatchNorm keeps, what Dropout drops, and the "layer called twice before backward" trap.

Gradients with respect to the parameters: gradcheck hands the checked function fresh
float64 tensors, and ``parameters_replaced`` puts those tensors in the layer's place for
the duration of one call, so the layer's forward differentiates through them.
"""
import contextlib

import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import nn

F64 = "float64"
MASK_SEED = 1234   # seeded before every checked forward, so Dropout draws the same mask


# --- the helpers: run a layer with its parameters swapped for gradcheck's tensors -------
def _owner(module, dotted_name):
    """'2.0.weight' -> (the module that holds it, 'weight')."""
    *path, attr = dotted_name.split(".")
    for name in path:
        module = module._modules[name]
    return module, attr


@contextlib.contextmanager
def parameters_replaced(module, tensors: dict):
    """Within the block, module's parameters named in ``tensors`` are those tensors."""
    saved = []
    for name, t in tensors.items():
        owner, attr = _owner(module, name)
        saved.append((owner, attr, owner._parameters[attr]))
        object.__setattr__(owner, attr, t)
        owner._parameters[attr] = t
    try:
        yield
    finally:
        for owner, attr, p in reversed(saved):
            object.__setattr__(owner, attr, p)
            owner._parameters[attr] = p


def checked_function(layer):
    """fn(x, *params) = layer(x) with its parameters replaced, and the parameters' arrays."""
    names = [name for name, _ in layer.named_parameters()]

    def fn(x, *params):
        with parameters_replaced(layer, dict(zip(names, params))):
            sg.seed(MASK_SEED)
            return layer(x)

    return fn, [p.data for p in layer.parameters()]


# --- the layers, in one table ----------------------------------------------------------
def batchnorm(affine=True, fused=True):
    bn = nn.BatchNorm1d(3, affine=affine, dtype=F64, fused=fused)
    if affine:   # away from γ = 1, β = 0, where a wrong gradient could hide
        bn.weight.data[...] = B.xp.asarray([1.5, -0.5, 0.8])
        bn.bias.data[...] = B.xp.asarray([0.1, -0.2, 0.3])
    return bn


def batchnorm_eval():
    bn = batchnorm()
    bn.running_mean[...] = B.xp.asarray([0.5, -1.0, 2.0])
    bn.running_var[...] = B.xp.asarray([0.25, 4.0, 1.5])
    return bn.eval()


def mlp():
    return nn.Sequential(nn.Linear(3, 4, dtype=F64), nn.LeakyReLU(0.2),
                         nn.BatchNorm1d(4, dtype=F64), nn.Dropout(0.3),
                         nn.Linear(4, 2, dtype=F64), nn.Tanh(), nn.Linear(2, 2, dtype=F64),
                         nn.Sigmoid())


def mlp_eval():
    net = mlp()
    with sg.no_grad():
        net(sg.tensor(B.xp.asarray(np.random.randn(6, 3))))   # non-trivial running stats
    return net.eval()


LAYERS = {   # name: (build the layer, input shape, input kind)
    "linear":            (lambda: nn.Linear(3, 2, dtype=F64),             (4, 3),    "any"),
    "linear_no_bias":    (lambda: nn.Linear(3, 2, bias=False, dtype=F64), (4, 3),    "any"),
    "linear_batched":    (lambda: nn.Linear(3, 2, dtype=F64),             (2, 4, 3), "any"),
    "relu":              (nn.ReLU,                                        (4, 3),    "nonzero"),
    "leaky_relu":        (lambda: nn.LeakyReLU(0.2),                      (4, 3),    "nonzero"),
    "tanh":              (nn.Tanh,                                        (4, 3),    "any"),
    "sigmoid":           (nn.Sigmoid,                                     (4, 3),    "any"),
    "batchnorm_train":   (batchnorm,                                      (5, 3),    "any"),
    "batchnorm_no_affine": (lambda: batchnorm(affine=False),              (5, 3),    "any"),
    "batchnorm_eval":    (batchnorm_eval,                                 (5, 3),    "any"),
    # the composite form (small ops) that the fused op is tested equal to
    "batchnorm_composite": (lambda: batchnorm(fused=False),               (5, 3),    "any"),
    "batchnorm_composite_no_affine": (lambda: batchnorm(affine=False, fused=False), (5, 3),
                                      "any"),
    "dropout_train":     (lambda: nn.Dropout(0.4),                        (4, 5),    "any"),
    "dropout_eval":      (lambda: nn.Dropout(0.4).eval(),                 (4, 5),    "any"),
    "sequential_train":  (mlp,                                            (5, 3),    "any"),
    "sequential_eval":   (mlp_eval,                                       (5, 3),    "any"),
    "conv2d":            (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1, dtype=F64),
                          (2, 2, 5, 6), "any"),
    "conv2d_no_bias":    (lambda: nn.Conv2d(2, 2, (2, 3), bias=False, dtype=F64),
                          (1, 2, 4, 5), "any"),
    "conv_net_train":    (lambda: nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, dtype=F64),
                                                nn.LeakyReLU(0.2), nn.Dropout(0.3),
                                                nn.Flatten(), nn.Linear(8, 2, dtype=F64)),
                          (3, 1, 5, 5), "any"),
    # eval mode: u is frozen, so the layer is a fixed function of x and W
    "spectral_norm_eval": (lambda: nn.SpectralNormLinear(3, 2, dtype=F64).eval(), (4, 3), "any"),
}


def assert_every_input_reaches_the_output(fn, inputs, rng):
    """Each input of ``fn`` (the layer's x and its swapped-in parameters) gets a nonzero
    gradient of a random projection of the output."""
    xs = [sg.tensor(a, dtype=F64, requires_grad=True) for a in inputs]
    out = fn(*xs)
    v = sg.tensor(B.xp.asarray(rng.standard_normal(out.shape)))
    for i, g in enumerate(sg.grad((out * v).sum(), xs, allow_unused=True)):
        assert g is not None and np.abs(sg.to_numpy(g.data)).max() > 1e-6, f"input {i}"


def make_input(shape, kind, rng):
    x = rng.standard_normal(shape)
    if kind == "nonzero":   # clear of the kink at 0
        x = np.sign(x) * (np.abs(x) + 0.1)
    return B.xp.asarray(x)


def layer_and_inputs(name, rng):
    build, shape, kind = LAYERS[name]
    layer = build()
    fn, params = checked_function(layer)
    return layer, fn, [make_input(shape, kind, rng)] + params


@pytest.mark.parametrize("name", LAYERS)
def test_first_order(name, backend, rng):
    _, fn, inputs = layer_and_inputs(name, rng)
    assert sg.gradcheck(fn, inputs, name=name)


@pytest.mark.parametrize("name", LAYERS)
def test_second_order(name, backend, rng):
    _, fn, inputs = layer_and_inputs(name, rng)
    assert sg.gradgradcheck(fn, inputs, name=name)


@pytest.mark.parametrize("name", LAYERS)
def test_every_checked_input_reaches_the_output(name, backend, rng):
    """Guards the checks above: a parameter the swap failed to reach would have a zero
    analytic AND a zero numeric gradient, and gradcheck would pass without checking it."""
    layer, fn, inputs = layer_and_inputs(name, rng)
    assert_every_input_reaches_the_output(fn, inputs, rng)
    # and the layer has its own parameters back
    assert all(type(p) is nn.Parameter for p in layer.parameters())


def test_parameters_replaced_restores_the_layer():
    layer = nn.Linear(3, 2, dtype=F64)
    weight, bias = layer.weight, layer.bias
    w = sg.tensor(np.zeros((2, 3)), requires_grad=True)
    with parameters_replaced(layer, {"weight": w}):
        assert layer.weight is w and dict(layer.named_parameters())["weight"] is w
    assert layer.weight is weight and layer.bias is bias
    assert [p for p in layer.parameters()] == [weight, bias]


def test_the_checks_catch_a_wrong_layer_gradient(rng):
    """A layer whose forward uses a detached parameter must fail gradcheck."""
    class Broken(nn.Linear):
        def forward(self, x):
            return x @ self.weight.detach().T + self.bias

    fn, params = checked_function(Broken(3, 2, dtype=F64))
    with pytest.raises(sg.GradcheckError, match="input 1"):
        sg.gradcheck(fn, [make_input((4, 3), "any", rng)] + params)


# --- Linear ------------------------------------------------------------------------------
def test_linear_init_is_uniform_within_one_over_sqrt_fan_in():
    layer = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    limit = bound * (1 + 1e-6)                            # float32 rounding at the edge
    assert np.abs(w).max() <= limit and np.abs(b).max() <= limit
    assert np.abs(w).max() > 0.99 * bound                 # it fills the interval
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound   # U(−a, a) has std a/√3
    assert abs(w.mean()) < 0.01 * bound


def test_linear_shapes_and_dtype(backend):
    layer = nn.Linear(5, 3)
    assert layer.weight.shape == (3, 5) and layer.bias.shape == (3,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    x = sg.tensor(B.xp.asarray(np.random.randn(7, 5).astype("float32")))
    assert layer(x).shape == (7, 3) and layer(x).dtype == np.float32
    x3 = sg.tensor(B.xp.asarray(np.random.randn(2, 7, 5).astype("float32")))
    assert layer(x3).shape == (2, 7, 3)
    assert nn.Linear(5, 3, dtype=F64).weight.dtype == np.float64


def test_linear_computes_x_wt_plus_b(backend):
    layer = nn.Linear(4, 3, dtype=F64)
    x = np.random.randn(6, 4)
    expected = x @ layer.weight.numpy().T + layer.bias.numpy()
    np.testing.assert_allclose(layer(sg.tensor(B.xp.asarray(x))).numpy(), expected,
                               rtol=1e-12)


def test_linear_without_bias_has_only_a_weight():
    layer = nn.Linear(4, 3, bias=False)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    x = np.random.randn(2, 4).astype("float32")
    np.testing.assert_allclose(layer(sg.tensor(x)).numpy(), x @ layer.weight.numpy().T,
                               rtol=1e-6)


def test_linear_wrong_input_width_names_the_features():
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"Linear\(3, 2\).*\(4, 5\).*5 features.*expected 3"):
        layer(sg.tensor(np.zeros((4, 5), dtype="float32")))


# --- BatchNorm1d ---------------------------------------------------------------------------
def batch(n=64, features=3, dtype="float32"):
    x = np.random.randn(n, features) * np.array([2.0, 0.5, 3.0])[:features] + np.array(
        [1.0, -3.0, 0.2])[:features]
    return x.astype(dtype)


def test_batchnorm_train_normalises_with_batch_statistics(backend):
    bn = nn.BatchNorm1d(3, dtype=F64)
    y = bn(sg.tensor(B.xp.asarray(batch(dtype=F64)))).numpy()
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1, atol=1e-4)      # ε = 1e-5 shrinks it a hair


def test_batchnorm_train_applies_weight_and_bias(backend):
    bn = nn.BatchNorm1d(3, dtype=F64)
    bn.weight.data[...] = B.xp.asarray([2.0, -1.0, 0.5])
    bn.bias.data[...] = B.xp.asarray([0.3, 0.0, -4.0])
    x = batch(dtype=F64)
    x_hat = (x - x.mean(0)) / np.sqrt(x.var(0) + bn.eps)
    np.testing.assert_allclose(bn(sg.tensor(B.xp.asarray(x))).numpy(),
                               x_hat * [2.0, -1.0, 0.5] + [0.3, 0.0, -4.0], rtol=1e-10)


def test_batchnorm_running_stats_use_momentum_and_the_unbiased_variance(backend):
    bn = nn.BatchNorm1d(3)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = batch(n=8)
        bn(sg.tensor(B.xp.asarray(x)))
        mean = 0.9 * mean + 0.1 * x.astype(F64).mean(axis=0)
        var = 0.9 * var + 0.1 * x.astype(F64).var(axis=0, ddof=1)   # n − 1, as PyTorch
    np.testing.assert_allclose(sg.to_numpy(bn.running_mean), mean, rtol=1e-5)
    np.testing.assert_allclose(sg.to_numpy(bn.running_var), var, rtol=1e-5)
    assert bn.running_mean.dtype == np.float32 and bn.running_var.dtype == np.float32


def test_batchnorm_eval_uses_running_stats_and_leaves_them_alone(backend):
    bn = batchnorm_eval()
    x = batch(dtype=F64)
    rm, rv = sg.to_numpy(bn.running_mean).copy(), sg.to_numpy(bn.running_var).copy()
    y = bn(sg.tensor(B.xp.asarray(x))).numpy()
    expected = (x - rm) / np.sqrt(rv + bn.eps) * [1.5, -0.5, 0.8] + [0.1, -0.2, 0.3]
    np.testing.assert_allclose(y, expected, rtol=1e-10)
    np.testing.assert_array_equal(sg.to_numpy(bn.running_mean), rm)
    np.testing.assert_array_equal(sg.to_numpy(bn.running_var), rv)


def test_batchnorm_eval_works_on_a_single_sample_and_train_refuses_it():
    bn = nn.BatchNorm1d(3)
    one = sg.tensor(np.ones((1, 3), dtype="float32"))
    with pytest.raises(ValueError, match="2 or more"):
        bn(one)
    assert bn.eval()(one).shape == (1, 3)


def test_batchnorm_wrong_width_names_the_shapes():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\).*\(N, 3\).*\(4, 5\)"):
        nn.BatchNorm1d(3)(sg.tensor(np.zeros((4, 5), dtype="float32")))


# --- Dropout -------------------------------------------------------------------------------
def test_dropout_train_zeroes_about_p_and_scales_the_rest(backend):
    p = 0.3
    x = sg.tensor(B.xp.ones((200, 500), dtype="float32"))
    y = nn.Dropout(p)(x).numpy()
    dropped = (y == 0).mean()
    assert abs(dropped - p) < 0.01
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-6)
    assert y.dtype == np.float32


def test_dropout_masks_differ_between_calls_and_repeat_with_the_seed():
    x = sg.tensor(np.ones((10, 10), dtype="float32"))
    drop = nn.Dropout(0.5)
    first, second = drop(x).numpy(), drop(x).numpy()
    assert not np.array_equal(first, second)
    sg.seed(7)
    again = drop(x).numpy()
    sg.seed(7)
    np.testing.assert_array_equal(drop(x).numpy(), again)


def test_dropout_gradient_is_zero_where_dropped():
    x = sg.tensor(np.random.randn(20, 20), requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    kept = y.numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, 2.0, 0.0))


def test_dropout_eval_is_the_identity(backend):
    x = sg.tensor(B.xp.asarray(np.random.randn(5, 6)))
    np.testing.assert_array_equal(nn.Dropout(0.5).eval()(x).numpy(), x.numpy())


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_rejects_a_probability_outside_0_1(p):
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(p)


# --- modes and containers ----------------------------------------------------------------
def test_train_and_eval_reach_every_child():
    net = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.BatchNorm1d(4), nn.Dropout(0.5)))
    assert net.eval() is net
    assert [m.training for m in net.modules()] == [False] * 5
    net.train()
    assert [m.training for m in net.modules()] == [True] * 5
    net[1].eval()   # a sub-tree only
    assert [m.training for m in net.modules()] == [True, True, False, False, False]


def test_sequential_applies_layers_in_order():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = sg.tensor(np.random.randn(5, 3).astype("float32"))
    np.testing.assert_array_equal(net(x).numpy(), net[2](net[1](net[0](x))).numpy())
    assert len(net) == 3 and list(net) == [net[0], net[1], net[2]]
    assert isinstance(net[-1], nn.Linear)


# --- the trap: a layer called twice before backward (D on real, then D on fake) ----------
def discriminator_mlp():
    return nn.Sequential(nn.Linear(4, 8, dtype=F64), nn.LeakyReLU(0.2), nn.Linear(8, 1, dtype=F64))


def discriminator_bn():
    return nn.Sequential(nn.Linear(4, 8, dtype=F64), nn.BatchNorm1d(8, dtype=F64),
                         nn.LeakyReLU(0.2), nn.Linear(8, 1, dtype=F64))


@pytest.mark.parametrize("build", [discriminator_mlp, discriminator_bn], ids=["mlp", "batchnorm"])
def test_a_layer_called_twice_before_backward_uses_each_input(build, backend):
    D = build()
    real = sg.tensor(B.xp.asarray(np.random.randn(6, 4)), requires_grad=True)
    fake = sg.tensor(B.xp.asarray(np.random.randn(6, 4) * 3 + 1), requires_grad=True)

    (D(real).sum() + D(fake).sum()).backward()       # one backward through both calls
    together = [p.grad.numpy() for p in D.parameters()]
    real_grad, fake_grad = real.grad.numpy(), fake.grad.numpy()

    D.zero_grad()
    real.grad = fake.grad = None
    D(real).sum().backward()
    from_real = [p.grad.numpy() for p in D.parameters()]
    D.zero_grad()
    D(fake).sum().backward()
    from_fake = [p.grad.numpy() for p in D.parameters()]

    for name, g, a, b in zip([n for n, _ in D.named_parameters()], together, from_real,
                             from_fake):
        np.testing.assert_allclose(g, a + b, rtol=1e-10, atol=1e-12, err_msg=name)
    # and each input got the gradient of its own call, not the other's
    np.testing.assert_allclose(real_grad, real.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(fake_grad, fake.grad.numpy(), rtol=1e-10)
    assert not np.allclose(from_real[0], from_fake[0])   # the two calls really differ


# --- the activations compute their formulas ------------------------------------------------
ACTIVATIONS = {   # name: (layer, the formula in NumPy)
    "relu":       (nn.ReLU(),          lambda x: np.maximum(x, 0)),
    "leaky_relu": (nn.LeakyReLU(0.2),  lambda x: np.where(x > 0, x, 0.2 * x)),
    "leaky_default": (nn.LeakyReLU(),  lambda x: np.where(x > 0, x, 0.01 * x)),
    "tanh":       (nn.Tanh(),          np.tanh),
    "sigmoid":    (nn.Sigmoid(),       lambda x: 1 / (1 + np.exp(-x))),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_values(name, backend):
    layer, formula = ACTIVATIONS[name]
    x = np.random.randn(4, 5) * 3
    y = layer(sg.tensor(B.xp.asarray(x)))
    np.testing.assert_allclose(y.numpy(), formula(x), rtol=1e-12, atol=1e-15)
    assert layer.num_parameters() == 0


def test_spectral_norm_power_iteration_finds_the_largest_singular_value(rng):
    layer = nn.SpectralNormLinear(6, 4, dtype=F64)
    x = sg.tensor(B.xp.asarray(rng.standard_normal((3, 6))))
    with sg.no_grad():
        for _ in range(30):                     # one power-iteration step per forward
            layer(x)
    W = B.to_numpy(layer.weight.data)
    top = np.linalg.svd(W, compute_uv=False)[0]
    assert layer.sigma().item() == pytest.approx(top, rel=1e-6)
    # so the normalised weight has spectral norm 1
    W_sn = W / layer.sigma().item()
    assert np.linalg.svd(W_sn, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-6)
    assert "u" in dict(layer.named_buffers())   # saved with the weights


# --- convolution ------------------------------------------------------------------------
def naive_conv2d(x, w, b, stride, padding):
    """The definition, one output value at a time."""
    (sh, sw), (ph, pw) = stride, padding
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    out = np.zeros((n, c_out, (h - kh) // sh + 1, (wd - kw) // sw + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            patch = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]       # (n, c, kh, kw)
            out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w) + b
    return out


@pytest.mark.parametrize("kernel, stride, padding", [
    (3, (1, 1), (0, 0)), (3, (2, 2), (1, 1)), ((2, 4), (2, 1), (0, 2)), (5, (2, 2), (0, 0))])
def test_conv2d_is_the_sum_over_each_patch(kernel, stride, padding, backend, rng):
    conv = nn.Conv2d(3, 4, kernel, stride=stride, padding=padding, dtype=F64)
    x = rng.standard_normal((2, 3, 9, 8))
    y = sg.to_numpy(conv(sg.tensor(B.xp.asarray(x))).data)
    expected = naive_conv2d(x, sg.to_numpy(conv.weight.data), sg.to_numpy(conv.bias.data),
                            stride, padding)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


def test_fold_is_the_adjoint_of_unfold(rng):
    """⟨unfold(x), p⟩ = ⟨x, fold(p)⟩ for every x and p: what makes each the other's backward."""
    from scratchgan import functional as F
    x = rng.standard_normal((2, 3, 7, 6))
    patches = F.unfold(sg.tensor(x), 3, stride=2, padding=1).numpy()
    p = rng.standard_normal(patches.shape)
    back = F.fold(sg.tensor(p), x.shape, 3, stride=2, padding=1).numpy()
    np.testing.assert_allclose((patches * p).sum(), (x * back).sum(), rtol=1e-12)


def test_conv2d_init_is_uniform_within_one_over_sqrt_fan_in():
    sg.seed(0)
    conv = nn.Conv2d(4, 8, 3)
    bound = 1 / np.sqrt(4 * 3 * 3)
    w = sg.to_numpy(conv.weight.data)
    assert w.shape == (8, 4, 3, 3) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


def test_conv2d_wrong_channels_name_the_shapes():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 4\).*\(2, 1, 8, 8\).*\(N, 3, H, W\)"):
        conv(sg.tensor(np.zeros((2, 1, 8, 8), dtype=np.float32)))


def test_a_kernel_larger_than_the_image_is_a_clear_error():
    from scratchgan import functional as F
    with pytest.raises(ValueError, match=r"conv2d: a 5×5 kernel .* \(1, 1, 3, 3\)"):
        F.conv2d(np.zeros((1, 1, 3, 3)), np.zeros((2, 1, 5, 5)))


def test_flatten_keeps_the_batch_axis():
    x = sg.tensor(np.arange(24.0).reshape(2, 3, 2, 2))
    assert nn.Flatten()(x).shape == (2, 12)
