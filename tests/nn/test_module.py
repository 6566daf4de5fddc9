"""Module and Parameter: finding parameters (in a fixed order, with dotted names), saving
and loading state (buffers included, clear errors), printing, zero_grad, and init."""
import io

import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import nn


class Net(nn.Module):
    """A small nest: own parameter, a layer, a Sequential holding a BatchNorm."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(3, 4)
        self.scale = nn.Parameter(np.ones(4, dtype="float32"))
        self.decoder = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4),
                                     nn.Linear(4, 2, bias=False))

    def forward(self, x):
        return self.decoder(self.encoder(x) * self.scale)


def copy_state(module):
    return {k: sg.to_numpy(v).copy() for k, v in module.state_dict().items()}


# --- finding parameters --------------------------------------------------------------------
def test_named_parameters_are_recursive_dotted_and_in_registration_order():
    # as PyTorch: a module's own parameters, then each child's, depth first
    assert [name for name, _ in Net().named_parameters()] == [
        "scale", "encoder.weight", "encoder.bias", "decoder.0.weight", "decoder.0.bias",
        "decoder.1.weight", "decoder.1.bias", "decoder.2.weight"]


def test_parameters_follows_named_parameters():
    net = Net()
    assert list(net.parameters()) == [p for _, p in net.named_parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert net.num_parameters() == 4 + (12 + 4) + (16 + 4) + (4 + 4) + 8


def test_registration_order_is_assignment_order_not_alphabetical():
    class Ordered(nn.Module):
        def __init__(self):
            super().__init__()
            self.z = nn.Parameter(np.zeros(1))
            self.a = nn.Parameter(np.zeros(2))
            self.m = nn.Parameter(np.zeros(3))

    assert [name for name, _ in Ordered().named_parameters()] == ["z", "a", "m"]


def test_reassigning_a_parameter_replaces_it_in_place_in_the_order():
    layer = nn.Linear(3, 2)
    layer.weight = nn.Parameter(np.zeros((2, 3), dtype="float32"))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert dict(layer.named_parameters())["weight"] is layer.weight


def test_assigning_a_plain_tensor_to_a_parameter_is_refused():
    """layer.weight = layer.weight * 2 would quietly stop training the weight."""
    layer = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="weight is a Parameter"):
        layer.weight = layer.weight * 2
    assert isinstance(layer.weight, nn.Parameter)
    layer.bias = None                                  # None removes it, as in PyTorch
    assert [name for name, _ in layer.named_parameters()] == ["weight"]


def test_named_modules_and_children():
    net = Net()
    assert [name for name, _ in net.named_modules()] == [
        "", "encoder", "decoder", "decoder.0", "decoder.1", "decoder.2"]
    assert list(net.children()) == [net.encoder, net.decoder]


def test_setting_an_attribute_before_super_init_says_what_to_do():
    class Forgetful(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(RuntimeError, match=r"super\(\).__init__\(\)"):
        Forgetful()


def test_parameter_wraps_an_array_or_a_tensor():
    p = nn.Parameter(np.ones(3))
    assert p.requires_grad and p.is_leaf and p.grad is None
    q = nn.Parameter(sg.tensor(np.ones(3)))
    assert type(q.data) is type(B.xp.asarray(np.ones(1))) and q.requires_grad
    assert B.get_array_module(p.data) is B.xp         # a host array joins the backend
    assert repr(p).startswith("Parameter(tensor(")


def test_forward_not_written_names_the_class():
    class Empty(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty.forward"):
        Empty()(1)


# --- state_dict / load_state_dict ----------------------------------------------------------
def test_state_dict_has_parameters_and_buffers():
    net = Net()
    state = net.state_dict()
    params = [name for name, _ in net.named_parameters()]
    assert list(state)[:len(params)] == params
    assert set(state) == set(params) | {"decoder.1.running_mean", "decoder.1.running_var"}
    assert state["encoder.weight"] is net.encoder.weight.data
    assert state["decoder.1.running_var"] is net.decoder[1].running_var


def test_load_state_dict_round_trips_through_npz(backend):
    sg.seed(1)
    source = Net()
    source(sg.tensor(B.xp.asarray(np.random.randn(8, 3).astype("float32"))))  # move the BN stats
    buffer = io.BytesIO()
    np.savez(buffer, **copy_state(source))
    buffer.seek(0)
    sg.seed(2)
    target = Net()
    with np.load(buffer, allow_pickle=False) as saved:
        target.load_state_dict(dict(saved))

    for key, value in copy_state(source).items():
        np.testing.assert_array_equal(sg.to_numpy(target.state_dict()[key]), value, err_msg=key)
    x = sg.tensor(B.xp.asarray(np.random.randn(5, 3).astype("float32")))
    np.testing.assert_array_equal(source.eval()(x).numpy(), target.eval()(x).numpy())


def test_load_state_dict_keeps_the_module_dtype_and_copies(backend):
    layer = nn.Linear(3, 2)
    state = {"weight": np.arange(6.0).reshape(2, 3), "bias": np.array([1.0, 2.0])}  # float64
    layer.load_state_dict(state)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.numpy(), state["weight"])
    state["weight"][0, 0] = 99.0                   # the module does not alias the source
    assert layer.weight.numpy()[0, 0] == 0.0
    assert B.get_array_module(layer.weight.data) is B.xp


def test_load_state_dict_restores_batchnorm_running_stats():
    bn = nn.BatchNorm1d(3)
    bn.load_state_dict({"weight": np.ones(3), "bias": np.zeros(3),
                        "running_mean": np.array([1.0, 2.0, 3.0]),
                        "running_var": np.array([4.0, 5.0, 6.0])})
    np.testing.assert_array_equal(sg.to_numpy(bn.running_mean), [1, 2, 3])
    np.testing.assert_array_equal(sg.to_numpy(bn.running_var), [4, 5, 6])
    assert bn.running_mean.dtype == np.float32
    assert dict(bn.named_buffers())["running_var"] is bn.running_var


def test_load_state_dict_names_missing_keys():
    net = Net()
    state = copy_state(net)
    del state["encoder.bias"], state["decoder.1.running_mean"]
    with pytest.raises(KeyError, match=r"missing keys: encoder.bias, decoder.1.running_mean"):
        Net().load_state_dict(state)


def test_load_state_dict_names_unexpected_keys():
    state = copy_state(Net())
    state["decoder.3.weight"] = np.zeros((2, 2))
    with pytest.raises(KeyError, match=r"unexpected keys: decoder.3.weight"):
        Net().load_state_dict(state)


def test_load_state_dict_names_the_key_and_both_shapes_when_they_differ():
    state = copy_state(Net())
    state["encoder.weight"] = np.zeros((3, 4), dtype="float32")
    with pytest.raises(KeyError, match=r"encoder.weight: expected \(4, 3\), got \(3, 4\)"):
        Net().load_state_dict(state)


def test_a_failed_load_changes_nothing():
    net = Net()
    before = copy_state(net)
    state = {k: v + 1 for k, v in before.items()}
    state["decoder.2.weight"] = np.zeros((1, 1), dtype="float32")   # wrong: fails the load
    with pytest.raises(KeyError):
        net.load_state_dict(state)
    for key, value in copy_state(net).items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


def test_load_state_dict_not_strict_ignores_missing_and_unexpected_keys():
    net = Net()
    net.load_state_dict({"encoder.bias": np.full(4, 7.0), "elsewhere.weight": np.zeros(2)},
                        strict=False)
    np.testing.assert_array_equal(net.encoder.bias.numpy(), 7.0)


def test_assigning_an_array_to_a_buffer_keeps_it_a_buffer():
    """bn.running_mean = … must stay in the state_dict (PyTorch keeps a buffer a buffer);
    losing it means a checkpoint silently leaves out the BatchNorm statistics."""
    bn = nn.BatchNorm1d(3)
    bn.running_mean = np.array([1.0, 2.0, 3.0], dtype="float32")
    assert set(bn.state_dict()) == {"weight", "bias", "running_mean", "running_var"}
    np.testing.assert_array_equal(bn.state_dict()["running_mean"], [1, 2, 3])


def test_a_layer_used_twice_contributes_its_parameters_once():
    """Shared weights (the same layer twice in a model) must appear once in parameters(),
    as in PyTorch; listed twice, an optimizer would update them twice per step."""
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, nn.Tanh(), shared)
    params = list(net.parameters())
    assert len(params) == 2 and params[0] is shared.weight and params[1] is shared.bias
    assert net.num_parameters() == 6


# --- printing ----------------------------------------------------------------------------
def test_repr_shows_the_nested_structure():
    net = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2),
                        nn.Sequential(nn.BatchNorm1d(4), nn.Dropout(0.5)), nn.Tanh())
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(3, 4, bias=True)\n"
        "  (1): LeakyReLU(0.2)\n"
        "  (2): Sequential(\n"
        "    (0): BatchNorm1d(4, eps=1e-05, momentum=0.1)\n"
        "    (1): Dropout(p=0.5)\n"
        "  )\n"
        "  (3): Tanh()\n"
        ")")


def test_repr_of_a_custom_module_names_its_children():
    text = repr(Net())
    assert text.startswith("Net(\n  (encoder): Linear(3, 4, bias=True)\n  (decoder): Sequential(")
    assert "    (2): Linear(4, 2, bias=False)" in text


# --- zero_grad -----------------------------------------------------------------------------
def test_zero_grad_clears_every_gradient():
    net = Net()
    net(sg.tensor(np.random.randn(5, 3).astype("float32"))).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_backward_twice_accumulates_until_zero_grad():
    layer = nn.Linear(3, 1, dtype="float64")
    x = sg.tensor(np.random.randn(4, 3))
    layer(x).sum().backward()
    once = layer.weight.grad.numpy()
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), 2 * once)
    layer.zero_grad()
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), once)


# --- frozen: G's step through a D that must not train ------------------------------------
def test_frozen_passes_gradients_through_but_not_into_the_module():
    G, D = nn.Linear(2, 3), nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1))
    z = sg.tensor(np.random.randn(5, 2).astype("float32"))
    with nn.frozen(D) as same:
        assert same is D
        D(G(z)).sum().backward()
    assert all(p.grad is None for p in D.parameters())
    assert all(p.grad is not None and np.abs(p.grad.numpy()).max() > 0 for p in G.parameters())
    assert all(p.requires_grad for p in D.parameters())       # trainable again afterwards


def test_frozen_restores_what_was_there_before():
    """A parameter frozen before the block (or by an outer frozen) stays frozen after it."""
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    net[0].weight.requires_grad = False                      # e.g. a fixed, pretrained part
    with nn.frozen(net):
        with nn.frozen(net[1]):
            pass
        assert not any(p.requires_grad for p in net.parameters()), "inner block unfroze"
    assert [p.requires_grad for p in net.parameters()] == [False, True, True, True]


def test_frozen_unfreezes_even_when_the_block_raises():
    net = nn.Linear(2, 2)
    with pytest.raises(ZeroDivisionError):
        with nn.frozen(net):
            1 / 0
    assert all(p.requires_grad for p in net.parameters())


# --- init ----------------------------------------------------------------------------------
F32_ROUNDING = 1 + 1e-6   # a draw just inside a bound may round onto float32(bound)


def big(shape=(500, 400), dtype="float32"):
    return nn.Parameter(np.zeros(shape, dtype=dtype))


def test_normal_has_the_asked_mean_and_std(backend):
    w = nn.init.normal_(big(), mean=0.5, std=0.02)
    values = w.numpy()
    assert abs(values.mean() - 0.5) < 1e-3
    assert abs(values.std() - 0.02) < 0.02 * 0.02
    assert w.dtype == np.float32 and B.get_array_module(w.data) is B.xp


def test_xavier_uniform_stays_within_its_bound():
    fan_out, fan_in = 500, 400
    bound = np.sqrt(6 / (fan_in + fan_out))
    values = nn.init.xavier_uniform_(big()).numpy()
    assert 0.99 * bound < np.abs(values).max() <= bound * F32_ROUNDING
    assert abs(values.std() - bound / np.sqrt(3)) < 0.02 * bound
    scaled = nn.init.xavier_uniform_(big(), gain=2.0).numpy()
    assert bound < np.abs(scaled).max() <= 2 * bound * F32_ROUNDING


def test_xavier_normal_std():
    values = nn.init.xavier_normal_(big()).numpy()
    assert abs(values.std() / np.sqrt(2 / 900) - 1) < 0.02


@pytest.mark.parametrize("a", [0.0, 0.2])
def test_kaiming_normal_std(a):
    values = nn.init.kaiming_normal_(big(), a=a).numpy()
    expected = np.sqrt(2 / ((1 + a * a) * 400))          # fan_in = 400
    assert abs(values.std() / expected - 1) < 0.02
    assert abs(values.mean()) < 0.02 * expected


def test_kaiming_uniform_bound_uses_fan_in():
    bound = np.sqrt(6 / 400)
    values = nn.init.kaiming_uniform_(big()).numpy()
    assert 0.99 * bound < np.abs(values).max() <= bound * F32_ROUNDING


def test_fans_of_a_convolution_weight_include_the_kernel():
    w = big(shape=(64, 32, 3, 3))                        # fan_in 288, fan_out 576
    values = nn.init.kaiming_normal_(w).numpy()
    assert abs(values.std() / np.sqrt(2 / 288) - 1) < 0.03


def test_init_of_a_vector_says_it_needs_two_dims():
    with pytest.raises(ValueError, match=r"2 or more dims, got shape \(5,\)"):
        nn.init.xavier_uniform_(nn.Parameter(np.zeros(5)))


def test_zeros_and_ones():
    np.testing.assert_array_equal(nn.init.ones_(big((3, 2))).numpy(), 1.0)
    np.testing.assert_array_equal(nn.init.zeros_(nn.Parameter(np.ones(4))).numpy(), 0.0)


def test_init_repeats_with_the_seed():
    sg.seed(5)
    first = nn.Linear(10, 10).weight.numpy()
    sg.seed(5)
    np.testing.assert_array_equal(nn.Linear(10, 10).weight.numpy(), first)
    assert not np.array_equal(nn.Linear(10, 10).weight.numpy(), first)
