"""The image layers — ConvTranspose2d, BatchNorm2d, InstanceNorm2d, AvgPool2d, Upsample,
ReflectionPad2d, Unflatten — checked against finite differences (first and second order,
with respect to the input AND the parameters, as in test_layers.py), then their
behaviour: initialisation, the statistics each norm takes and keeps, train vs eval, errors.
"""
import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import nn

from .test_layers import assert_every_input_reaches_the_output, checked_function, make_input

F64 = "float64"


# --- the layers, in one table ----------------------------------------------------------
def away_from_identity(norm):
    """γ, β away from 1 and 0, where a wrong gradient could hide (any norm, any shape)."""
    rng = np.random.default_rng(3)
    if norm.weight is not None:
        norm.weight.data[...] = B.xp.asarray(rng.uniform(-1.5, 1.5, norm.weight.shape))
        norm.bias.data[...] = B.xp.asarray(rng.uniform(-0.5, 0.5, norm.bias.shape))
    return norm


def batchnorm2d_eval():
    bn = away_from_identity(nn.BatchNorm2d(2, dtype=F64))
    bn.running_mean[...] = B.xp.asarray([0.5, -1.0])
    bn.running_var[...] = B.xp.asarray([0.25, 4.0])
    return bn.eval()


def generator():
    """A DCGAN-shaped generator in miniature: a vector grown into images.  No bias before
    a norm: the norm subtracts it away, so its gradient is 0 (DCGAN leaves it out too)."""
    return nn.Sequential(nn.Linear(3, 8, dtype=F64), nn.Unflatten(1, (2, 2, 2)),
                         nn.ConvTranspose2d(2, 2, 4, stride=2, padding=1, bias=False,
                                            dtype=F64),
                         nn.BatchNorm2d(2, dtype=F64), nn.Tanh(), nn.Upsample(2),
                         nn.ReflectionPad2d(1), nn.Conv2d(2, 1, 3, dtype=F64), nn.Tanh())


def cyclegan_block():
    """CycleGAN's generator pattern: reflection pad, conv, instance norm, then down."""
    return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(2, 2, 3, bias=False, dtype=F64),
                         nn.InstanceNorm2d(2, affine=True, dtype=F64), nn.Tanh(),
                         nn.AvgPool2d(2))


LAYERS = {   # name: (build the layer, input shape)
    "conv_transpose2d":      (lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1,
                                                         output_padding=1, dtype=F64),
                              (2, 2, 3, 3)),
    "conv_transpose2d_no_bias": (lambda: nn.ConvTranspose2d(2, 2, (2, 3), stride=(1, 2),
                                                            bias=False, dtype=F64),
                                 (1, 2, 3, 2)),
    "batchnorm2d_train":     (lambda: away_from_identity(nn.BatchNorm2d(2, dtype=F64)),
                              (2, 2, 3, 3)),
    "batchnorm2d_no_affine": (lambda: nn.BatchNorm2d(2, affine=False, dtype=F64),
                              (3, 2, 1, 2)),
    "batchnorm2d_eval":      (batchnorm2d_eval, (2, 2, 3, 3)),
    # the composite form (small ops) that the fused op is tested equal to
    "batchnorm2d_composite": (lambda: away_from_identity(nn.BatchNorm2d(2, dtype=F64,
                                                                        fused=False)),
                              (2, 2, 3, 3)),
    "batchnorm2d_composite_no_affine": (lambda: nn.BatchNorm2d(2, affine=False, dtype=F64,
                                                               fused=False), (3, 2, 1, 2)),
    "instancenorm2d":        (lambda: nn.InstanceNorm2d(2, dtype=F64), (2, 2, 3, 3)),
    "instancenorm2d_affine": (lambda: away_from_identity(nn.InstanceNorm2d(2, affine=True,
                                                                           dtype=F64)),
                              (2, 2, 2, 3)),
    "instancenorm2d_eval":   (lambda: nn.InstanceNorm2d(2, dtype=F64).eval(), (1, 2, 3, 2)),
    "instancenorm2d_composite": (lambda: away_from_identity(nn.InstanceNorm2d(
        2, affine=True, dtype=F64, fused=False)), (2, 2, 2, 3)),
    # LayerNorm, the WGAN-GP critic's norm (its own behaviour: test_layernorm.py)
    "layernorm_images":      (lambda: away_from_identity(nn.LayerNorm((2, 2, 3), dtype=F64)),
                              (2, 2, 2, 3)),
    "layernorm_composite":   (lambda: away_from_identity(nn.LayerNorm((2, 2, 3), dtype=F64,
                                                                      fused=False)),
                              (2, 2, 2, 3)),
    "layernorm_features":    (lambda: away_from_identity(nn.LayerNorm(4, dtype=F64)), (3, 4)),
    "layernorm_no_affine":   (lambda: nn.LayerNorm(5, elementwise_affine=False, dtype=F64),
                              (2, 5)),
    "layernorm_last_axis":   (lambda: away_from_identity(nn.LayerNorm(3, dtype=F64)),
                              (2, 2, 3)),
    "avg_pool2d":            (lambda: nn.AvgPool2d(3, stride=2, padding=1), (1, 2, 5, 5)),
    "upsample":              (lambda: nn.Upsample(scale_factor=2), (1, 2, 2, 3)),
    "reflection_pad2d":      (lambda: nn.ReflectionPad2d((1, 2, 2, 0)), (1, 2, 3, 4)),
    "unflatten":             (lambda: nn.Unflatten(1, (2, 2, 2)), (3, 8)),
    "generator_train":       (generator, (2, 3)),
    "cyclegan_block":        (cyclegan_block, (1, 2, 4, 4)),
}


def layer_and_inputs(name, rng):
    build, shape = LAYERS[name]
    layer = build()
    fn, params = checked_function(layer)
    return layer, fn, [make_input(shape, "any", rng)] + params


def squared(fn):
    """Most of these layers are linear in x: squaring makes their second derivative count."""
    return lambda *xs: fn(*xs) ** 2


@pytest.mark.parametrize("name", LAYERS)
def test_first_order(name, backend, rng):
    _, fn, inputs = layer_and_inputs(name, rng)
    assert sg.gradcheck(fn, inputs, name=name)


@pytest.mark.parametrize("name", LAYERS)
def test_second_order(name, backend, rng):
    _, fn, inputs = layer_and_inputs(name, rng)
    assert sg.gradgradcheck(squared(fn), inputs, name=name)


@pytest.mark.parametrize("name", LAYERS)
def test_every_checked_input_reaches_the_output(name, backend, rng):
    """A parameter the swap failed to reach would pass gradcheck with two zero gradients."""
    layer, fn, inputs = layer_and_inputs(name, rng)
    assert_every_input_reaches_the_output(fn, inputs, rng)
    assert all(type(p) is nn.Parameter for p in layer.parameters())


def images(shape, dtype=F64, scale=(2.0, 0.5), shift=(1.0, -3.0)):
    """Random images whose channels have different means and spreads."""
    x = np.random.randn(*shape)
    x = x * np.array(scale).reshape(1, -1, 1, 1) + np.array(shift).reshape(1, -1, 1, 1)
    return sg.tensor(B.xp.asarray(x.astype(dtype)))


# --- ConvTranspose2d -----------------------------------------------------------------------
def test_conv_transpose2d_init_uses_fan_in_c_out_kh_kw_as_pytorch():
    """PyTorch reads fan_in off the weight's shape (C_in, C_out, kh, kw) as for any weight:
    C_out·kh·kw = 128 here, a bound of 0.088, where C_in·kh·kw would give 0.031."""
    layer = nn.ConvTranspose2d(64, 8, 4)
    assert layer.weight.shape == (64, 8, 4, 4) and layer.bias.shape == (8,)
    bound = 1 / np.sqrt(8 * 4 * 4)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    limit = bound * (1 + 1e-6)
    assert np.abs(w).max() <= limit and np.abs(b).max() <= limit
    assert np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.02 * bound
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32


def test_conv_transpose2d_layer_is_the_op_with_its_weights(backend, rng):
    layer = nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1, dtype=F64)
    x = sg.tensor(B.xp.asarray(rng.standard_normal((2, 3, 5, 4))))
    y = layer(x)
    assert y.shape == (2, 2, 10, 8)            # k4 s2 p1 doubles the size
    np.testing.assert_array_equal(
        y.numpy(), F.conv_transpose2d(x, layer.weight, layer.bias, 2, 1).numpy())
    assert nn.ConvTranspose2d(3, 2, 4, bias=False).bias is None
    assert [n for n, _ in nn.ConvTranspose2d(3, 2, 4, bias=False).named_parameters()] == [
        "weight"]


def test_conv_transpose2d_layer_errors():
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(3, 2\): input of shape "
                                         r"\(1, 2, 4, 4\), expected \(N, 3, H, W\)"):
        nn.ConvTranspose2d(3, 2, 3)(sg.tensor(np.zeros((1, 2, 4, 4), dtype="float32")))
    with pytest.raises(ValueError, match=r"ConvTranspose2d: output_padding \(1, 1\) must be "
                                         r"smaller than stride \(1, 1\)"):
        nn.ConvTranspose2d(3, 2, 3, output_padding=1)


# --- BatchNorm2d ---------------------------------------------------------------------------
def test_batchnorm2d_normalises_each_channel_over_batch_and_pixels(backend):
    y = nn.BatchNorm2d(2, dtype=F64)(images((8, 2, 5, 5))).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-4)


def test_batchnorm2d_is_batchnorm1d_over_every_pixel(backend):
    """BatchNorm2d on (N, C, H, W) = BatchNorm1d on the N·H·W pixels as rows of C features:
    the same outputs, and the same running statistics (the unbiased variance uses N·H·W)."""
    bn2, bn1 = nn.BatchNorm2d(2, dtype=F64), nn.BatchNorm1d(2, dtype=F64)
    for bn in (bn1, bn2):
        bn.weight.data[...] = B.xp.asarray([2.0, -1.0])
        bn.bias.data[...] = B.xp.asarray([0.3, -4.0])
    for _ in range(3):
        x = images((3, 2, 2, 3))
        rows = x.transpose(0, 2, 3, 1).reshape(-1, 2)
        np.testing.assert_allclose(bn2(x).numpy(),
                                   bn1(rows).reshape(3, 2, 3, 2).transpose(0, 3, 1, 2).numpy(),
                                   rtol=1e-12, atol=1e-14)
    for buffer in ("running_mean", "running_var"):
        np.testing.assert_allclose(sg.to_numpy(getattr(bn2, buffer)),
                                   sg.to_numpy(getattr(bn1, buffer)), rtol=1e-12)


def test_batchnorm2d_running_stats_use_momentum_and_the_unbiased_variance(backend):
    bn = nn.BatchNorm2d(2, momentum=0.2)
    mean, var = np.zeros(2), np.ones(2)
    for _ in range(3):
        x = images((4, 2, 3, 3), dtype="float32")
        bn(x)
        x = x.numpy().astype(F64)
        mean = 0.8 * mean + 0.2 * x.mean(axis=(0, 2, 3))
        var = 0.8 * var + 0.2 * x.var(axis=(0, 2, 3), ddof=1)    # N·H·W − 1, as PyTorch
    np.testing.assert_allclose(sg.to_numpy(bn.running_mean), mean, rtol=1e-5)
    np.testing.assert_allclose(sg.to_numpy(bn.running_var), var, rtol=1e-5)
    assert bn.running_mean.dtype == np.float32 and bn.running_var.dtype == np.float32


def test_batchnorm2d_eval_uses_running_stats_and_leaves_them_alone(backend):
    bn = batchnorm2d_eval()
    x = images((3, 2, 2, 2))
    y = bn(x).numpy()
    rm, rv = np.array([0.5, -1.0]).reshape(1, 2, 1, 1), np.array([0.25, 4.0]).reshape(1, 2, 1, 1)
    gamma, beta = (sg.to_numpy(p.data).reshape(1, 2, 1, 1) for p in (bn.weight, bn.bias))
    expected = (x.numpy() - rm) / np.sqrt(rv + bn.eps) * gamma + beta
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    np.testing.assert_array_equal(sg.to_numpy(bn.running_mean), [0.5, -1.0])
    np.testing.assert_array_equal(sg.to_numpy(bn.running_var), [0.25, 4.0])


def test_batchnorm2d_train_and_eval_differ_and_eval_takes_one_pixel():
    bn = nn.BatchNorm2d(2)
    x = images((4, 2, 3, 3), dtype="float32")
    train = bn(x).numpy()
    assert not np.allclose(train, bn.eval()(x).numpy())
    bn.train()
    one = images((1, 2, 1, 1), dtype="float32")
    with pytest.raises(ValueError, match=r"BatchNorm2d in training mode needs 2 or more "
                                         r"values per channel, got input \(1, 2, 1, 1\)"):
        bn(one)
    assert bn.eval()(one).shape == (1, 2, 1, 1)


def test_batchnorm2d_wrong_shape_names_the_shapes():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected input \(N, 3, H, W\), "
                                         r"got \(4, 3\)"):
        nn.BatchNorm2d(3)(sg.tensor(np.zeros((4, 3), dtype="float32")))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\).*got \(1, 2, 4, 4\)"):
        nn.BatchNorm2d(3)(sg.tensor(np.zeros((1, 2, 4, 4), dtype="float32")))


# --- InstanceNorm2d ------------------------------------------------------------------------
def test_instancenorm2d_normalises_each_image_and_channel_on_its_own(backend):
    x = images((3, 2, 4, 5))
    y = nn.InstanceNorm2d(2, dtype=F64)(x).numpy()
    np.testing.assert_allclose(y.mean(axis=(2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(2, 3)), 1, atol=1e-3)
    xs = x.numpy()
    expected = (xs - xs.mean(axis=(2, 3), keepdims=True)) / np.sqrt(
        xs.var(axis=(2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-14)


def test_instancenorm2d_is_the_same_in_train_and_eval_and_keeps_no_statistics(backend):
    norm = nn.InstanceNorm2d(2, affine=True, dtype=F64)
    norm.weight.data[...] = B.xp.asarray([2.0, 0.5])
    x = images((2, 2, 3, 3))
    train = norm(x).numpy()
    np.testing.assert_array_equal(norm.eval()(x).numpy(), train)
    assert sorted(norm.state_dict()) == ["bias", "weight"]
    assert nn.InstanceNorm2d(2).state_dict() == {}
    assert nn.InstanceNorm2d(2).num_parameters() == 0


def test_instancenorm2d_output_of_one_image_does_not_depend_on_the_others():
    norm = nn.InstanceNorm2d(2, dtype=F64)
    x = images((3, 2, 3, 3))
    alone = norm(x[1:2]).numpy()
    np.testing.assert_allclose(norm(x).numpy()[1:2], alone, rtol=1e-13)


def test_instancenorm2d_affine_scales_and_shifts_per_channel():
    norm = nn.InstanceNorm2d(2, affine=True, dtype=F64)
    norm.weight.data[...] = B.xp.asarray([2.0, -1.0])
    norm.bias.data[...] = B.xp.asarray([0.5, 3.0])
    x = images((2, 2, 3, 4))
    plain = nn.InstanceNorm2d(2, dtype=F64)(x).numpy()
    np.testing.assert_allclose(norm(x).numpy(),
                               plain * np.array([2.0, -1.0]).reshape(1, 2, 1, 1)
                               + np.array([0.5, 3.0]).reshape(1, 2, 1, 1), rtol=1e-12)


def test_instancenorm2d_errors():
    with pytest.raises(ValueError, match=r"InstanceNorm2d\(2\) needs 2 or more pixels per "
                                         r"image, got input \(3, 2, 1, 1\)"):
        nn.InstanceNorm2d(2)(sg.tensor(np.zeros((3, 2, 1, 1), dtype="float32")))
    with pytest.raises(ValueError, match=r"InstanceNorm2d\(2\): expected input \(N, 2, H, W\), "
                                         r"got \(2, 4, 4\)"):
        nn.InstanceNorm2d(2)(sg.tensor(np.zeros((2, 4, 4), dtype="float32")))


# --- the shape layers ----------------------------------------------------------------------
def test_unflatten_turns_vectors_into_images_and_flatten_undoes_it(backend, rng):
    x = sg.tensor(B.xp.asarray(rng.standard_normal((4, 2 * 3 * 5))))
    y = nn.Unflatten(1, (2, 3, 5))(x)
    assert y.shape == (4, 2, 3, 5)
    np.testing.assert_array_equal(y.numpy(), x.numpy().reshape(4, 2, 3, 5))
    np.testing.assert_array_equal(nn.Flatten()(y).numpy(), x.numpy())
    assert nn.Unflatten(-1, (3, 2))(sg.tensor(np.zeros((2, 5, 6)))).shape == (2, 5, 3, 2)


def test_unflatten_errors():
    with pytest.raises(ValueError, match=r"Unflatten: axis 1 of input \(4, 10\) has 10 "
                                         r"elements, \(2, 3\) holds 6"):
        nn.Unflatten(1, (2, 3))(sg.tensor(np.zeros((4, 10))))
    with pytest.raises(ValueError, match=r"Unflatten: dim 2 is out of range for input \(4, 10\)"):
        nn.Unflatten(2, (2, 5))(sg.tensor(np.zeros((4, 10))))


def test_upsample_layer_refuses_other_modes_and_bad_scales_when_built():
    with pytest.raises(ValueError, match="Upsample: only mode='nearest'.*'bilinear'"):
        nn.Upsample(scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="scale_factor must be a whole number"):
        nn.Upsample(scale_factor=1.5)


def test_reflection_pad_layer_refuses_a_pad_as_wide_as_the_image():
    with pytest.raises(ValueError, match=r"reflection_pad2d: padding .* \(3, 3, 3, 3\) must be "
                                         r"smaller .* \(1, 1, 3, 3\)"):
        nn.ReflectionPad2d(3)(sg.tensor(np.zeros((1, 1, 3, 3))))


def test_the_shape_layers_have_no_parameters_and_keep_the_dtype():
    x = sg.tensor(np.ones((1, 2, 4, 4), dtype="float32"))
    for layer in (nn.AvgPool2d(2), nn.Upsample(2), nn.ReflectionPad2d(1),
                  nn.Unflatten(1, (1, 2))):
        assert layer.num_parameters() == 0
        assert layer(x).dtype == np.float32


@pytest.mark.parametrize("layer, text", [
    (nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1),
     "ConvTranspose2d(3, 2, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), "
     "output_padding=(0, 0), bias=True)"),
    (nn.BatchNorm2d(3), "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True)"),
    (nn.BatchNorm2d(3, fused=False),
     "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, fused=False)"),
    (nn.InstanceNorm2d(3), "InstanceNorm2d(3, eps=1e-05, affine=False)"),
    (nn.AvgPool2d(3, padding=1), "AvgPool2d(kernel_size=(3, 3), stride=(3, 3), padding=(1, 1))"),
    (nn.Upsample(scale_factor=2), "Upsample(scale_factor=2, mode='nearest')"),
    (nn.ReflectionPad2d((1, 2, 3, 0)), "ReflectionPad2d((1, 2, 3, 0))"),
    (nn.Unflatten(1, (2, 3, 3)), "Unflatten(dim=1, unflattened_size=(2, 3, 3))"),
], ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else "")
def test_repr(layer, text):
    assert repr(layer) == text


# --- the trap: D on real, then D on fake, one backward ---------------------------------
def test_batchnorm2d_called_twice_before_backward_uses_each_input(backend):
    D = nn.Sequential(nn.Conv2d(1, 2, 3, dtype=F64), nn.BatchNorm2d(2, dtype=F64),
                      nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(8, 1, dtype=F64))
    real = images((3, 1, 4, 4), scale=(1.0,), shift=(0.0,))
    fake = images((3, 1, 4, 4), scale=(3.0,), shift=(1.0,))
    (D(real).sum() + D(fake).sum()).backward()
    together = [p.grad.numpy() for p in D.parameters()]
    separate = []
    for x in (real, fake):
        D.zero_grad()
        D(x).sum().backward()
        separate.append([p.grad.numpy() for p in D.parameters()])
    for g, a, b in zip(together, *separate):
        np.testing.assert_allclose(g, a + b, rtol=1e-10, atol=1e-12)
