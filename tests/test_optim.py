"""Optimizers against their update rules computed by hand in NumPy float64 (PyTorch's
formulas, as the module docstring states them), over several steps with changing
gradients; skipped parameters, state round-trips, the learning-rate schedule, dtypes."""
import io

import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import nn, optim

SHAPES = [(3, 2), (4,)]
STEPS = 6


# --- the update rules, by hand -------------------------------------------------------------
class HandSGD:
    """v ← μ v + g (v = g on the first step);  θ ← θ − η v"""

    def __init__(self, lr, momentum=0.0):
        self.lr, self.momentum, self.v = lr, momentum, None

    def step(self, theta, g):
        if self.momentum:
            self.v = g.copy() if self.v is None else self.momentum * self.v + g
            g = self.v
        return theta - self.lr * g


class HandRMSprop:
    """s ← α s + (1 − α) g²;  θ ← θ − η g / (√s + ε)"""

    def __init__(self, lr, alpha=0.99, eps=1e-8):
        self.lr, self.alpha, self.eps, self.s = lr, alpha, eps, 0.0

    def step(self, theta, g):
        self.s = self.alpha * self.s + (1 - self.alpha) * g ** 2
        return theta - self.lr * g / (np.sqrt(self.s) + self.eps)


class HandAdam:
    """m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  θ ← θ − η m̂ / (√v̂ + ε), t counting
    this parameter's own updates (PyTorch keeps ``step`` per parameter)."""

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8):
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps
        self.m = self.v = 0.0
        self.t = 0

    def step(self, theta, g):
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g ** 2
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        return theta - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


OPTIMIZERS = {   # name: (make the optimizer, make the hand-written rule for one parameter)
    "sgd":          (lambda ps: optim.SGD(ps, lr=0.1),
                     lambda: HandSGD(0.1)),
    "sgd_momentum": (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                     lambda: HandSGD(0.1, momentum=0.9)),
    "rmsprop":      (lambda ps: optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-6),
                     lambda: HandRMSprop(0.01, alpha=0.9, eps=1e-6)),
    "adam":         (lambda ps: optim.Adam(ps, lr=0.01, betas=(0.5, 0.999), eps=1e-6),
                     lambda: HandAdam(0.01, betas=(0.5, 0.999), eps=1e-6)),
    "adam_default": (lambda ps: optim.Adam(ps),
                     lambda: HandAdam(1e-3)),
    "adam_readable": (lambda ps: optim.Adam(ps, lr=0.01, betas=(0.5, 0.999), eps=1e-6,
                                            fused=False),
                      lambda: HandAdam(0.01, betas=(0.5, 0.999), eps=1e-6)),
}


def make_params(rng, dtype="float64"):
    return [nn.Parameter(B.xp.asarray(rng.standard_normal(s).astype(dtype))) for s in SHAPES]


def gradient_sequence(rng, steps=STEPS, dtype="float64"):
    """Per step, one gradient per parameter: changing sign and scale from step to step."""
    return [[(rng.standard_normal(s) * rng.uniform(0.1, 5)).astype(dtype) for s in SHAPES]
            for _ in range(steps)]


def set_grads(params, grads):
    for p, g in zip(params, grads):
        p.grad = None if g is None else sg.Tensor(B.xp.asarray(g))


def values(params):
    return [sg.to_numpy(p.data).copy() for p in params]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_matches_the_update_rule_step_by_step(name, backend, rng):
    make, make_rule = OPTIMIZERS[name]
    params = make_params(rng)
    opt = make(params)
    rules = [make_rule() for _ in params]
    expected = values(params)
    for grads in gradient_sequence(rng):
        set_grads(params, grads)
        opt.step()
        expected = [rule.step(theta, g) for rule, theta, g in zip(rules, expected, grads)]
        for i, (p, e) in enumerate(zip(params, expected)):
            np.testing.assert_allclose(sg.to_numpy(p.data), e, rtol=1e-12, atol=1e-15,
                                       err_msg=f"{name}, parameter {i}, step {opt.step_count}")


@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-6), ("float64", 1e-14)])
def test_fused_adam_equals_the_textbook_rule(dtype, rtol, backend):
    """update_fused rearranges the formula (the bias corrections moved onto scalars), so
    it equals the textbook ``update`` to rounding, step after step, in the training dtype."""
    rng = np.random.default_rng(7)
    params = {fused: make_params(np.random.default_rng(3), dtype) for fused in (False, True)}
    opts = {fused: optim.Adam(ps, lr=0.01, betas=(0.5, 0.999), fused=fused)
            for fused, ps in params.items()}
    assert optim.Adam(params[True]).fused                  # the fast form is the default
    for grads in gradient_sequence(rng, steps=20, dtype=dtype):
        for fused in (False, True):
            set_grads(params[fused], grads)
            opts[fused].step()
    for textbook, fused in zip(values(params[False]), values(params[True])):
        assert textbook.dtype == fused.dtype == np.dtype(dtype)
        np.testing.assert_allclose(fused, textbook, rtol=rtol, atol=1e-7 * (dtype == "float32"))
    for key, value in opts[False].state_dict().items():     # m and v are computed alike
        np.testing.assert_allclose(sg.to_numpy(opts[True].state_dict()[key]),
                                   sg.to_numpy(value), rtol=rtol)


def test_the_first_adam_step_moves_each_weight_by_about_lr():
    """m̂/√v̂ = g/|g| on the first step: the bias correction makes the first move ±η."""
    p = nn.Parameter(np.zeros(4))
    opt = optim.Adam([p], lr=0.01)
    p.grad = sg.tensor(np.array([1e-3, -2.0, 50.0, -0.3]))
    opt.step()
    np.testing.assert_allclose(sg.to_numpy(p.data), [-0.01, 0.01, -0.01, 0.01], rtol=1e-4)


def test_the_update_is_in_place_and_outside_the_graph(rng):
    p = make_params(rng)[0]
    data = p.data
    opt = optim.Adam([p])
    p.grad = sg.tensor(np.ones(p.shape))
    opt.step()
    assert p.data is data and p.is_leaf and p.requires_grad


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_step_leaves_the_gradient_untouched(name, rng):
    """The same .grad stepped on twice (no zero_grad between) is read, never written:
    an optimizer slot that aliases the gradient array would scale it in place."""
    make, make_rule = OPTIMIZERS[name]
    params = make_params(rng)
    opt = make(params)
    rules = [make_rule() for _ in params]
    grads = gradient_sequence(rng, 1)[0]
    set_grads(params, grads)
    expected = values(params)
    for _ in range(3):
        opt.step()
        expected = [rule.step(theta, g) for rule, theta, g in zip(rules, expected, grads)]
    for p, g, e in zip(params, grads, expected):
        np.testing.assert_array_equal(p.grad.numpy(), g)
        np.testing.assert_allclose(sg.to_numpy(p.data), e, rtol=1e-12, atol=1e-15)


# --- zero_grad and skipped parameters -----------------------------------------------------
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_zero_grad_clears_every_gradient(name, rng):
    params = make_params(rng)
    opt = OPTIMIZERS[name][0](params)
    set_grads(params, gradient_sequence(rng, 1)[0])
    opt.zero_grad()
    assert all(p.grad is None for p in params)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_parameter_without_grad_is_left_alone(name, rng):
    params = make_params(rng)
    opt = OPTIMIZERS[name][0](params)
    before = values(params)
    for grads in gradient_sequence(rng, 3):
        set_grads(params, [grads[0], None])
        opt.step()
    np.testing.assert_array_equal(sg.to_numpy(params[1].data), before[1])
    assert not np.array_equal(sg.to_numpy(params[0].data), before[0])


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_parameter_that_joins_late_starts_fresh(name, rng):
    """A parameter skipped for the first steps (no grad) then updated must follow its own
    update rule from its first gradient on, as in PyTorch, where the state (Adam's step
    count t included) is kept per parameter."""
    make, make_rule = OPTIMIZERS[name]
    params = make_params(rng)
    opt = make(params)
    rule = make_rule()
    expected = values(params)[1]
    for k, grads in enumerate(gradient_sequence(rng)):
        joined = k >= 2
        set_grads(params, [grads[0], grads[1] if joined else None])
        opt.step()
        if joined:
            expected = rule.step(expected, grads[1])
        np.testing.assert_allclose(sg.to_numpy(params[1].data), expected, rtol=1e-12,
                                   atol=1e-15, err_msg=f"{name}, step {k + 1}")


def test_an_empty_parameter_list_is_refused():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    net = nn.Linear(2, 2)
    params = net.parameters()        # a generator: used up once listed
    optim.SGD(params)
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        optim.SGD(params)


# --- state_dict / load_state_dict: resume mid-way, bit for bit -------------------------
def through_npz(state):
    buffer = io.BytesIO()
    np.savez(buffer, **{k: sg.to_numpy(v) if hasattr(v, "shape") else np.asarray(v)
                        for k, v in state.items()})
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as saved:
        return dict(saved)


@pytest.mark.parametrize("via_npz", [False, True], ids=["in_memory", "npz"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_restored_optimizer_continues_bit_for_bit(name, via_npz, backend, rng):
    make = OPTIMIZERS[name][0]
    grads = gradient_sequence(rng, 7)
    uninterrupted = make_params(rng)
    start = values(uninterrupted)
    opt = make(uninterrupted)
    for g in grads[:4]:
        set_grads(uninterrupted, g)
        opt.step()

    # a checkpoint, taken and restored into a fresh optimizer before training goes on
    state = opt.state_dict()
    params_state = values(uninterrupted)
    if via_npz:
        state = through_npz(state)
    resumed = [nn.Parameter(B.xp.asarray(a)) for a in params_state]
    opt2 = make(resumed)
    opt2.load_state_dict(state)
    assert opt2.step_count == 4

    for g in grads[4:]:
        set_grads(uninterrupted, g)
        opt.step()
        set_grads(resumed, g)
        opt2.step()
    for a, b, s in zip(uninterrupted, resumed, start):
        assert not np.array_equal(sg.to_numpy(a.data), s)
        np.testing.assert_array_equal(sg.to_numpy(a.data), sg.to_numpy(b.data))


def test_state_dict_holds_the_step_count_lr_and_one_array_per_slot(rng):
    params = make_params(rng)
    opt = optim.Adam(params, lr=0.02)
    set_grads(params, gradient_sequence(rng, 1)[0])
    opt.step()
    state = opt.state_dict()
    assert {"step_count", "lr", "m.0", "m.1", "v.0", "v.1"} <= set(state)
    assert state["step_count"] == 1 and state["lr"] == 0.02
    assert state["m.1"].shape == SHAPES[1]


def test_load_state_dict_restores_the_learning_rate(rng):
    params = make_params(rng)
    opt = optim.SGD(params, lr=0.5)
    opt.load_state_dict({"step_count": 3, "lr": 0.125})
    assert opt.lr == 0.125 and opt.step_count == 3


def test_load_state_dict_names_a_mis_shaped_slot(rng):
    params = make_params(rng)
    state = {"step_count": 1, "lr": 0.1, "velocity.1": np.zeros(5)}
    with pytest.raises(KeyError, match=r"velocity.1 has shape \(5,\), parameter 1 has \(4,\)"):
        optim.SGD(params, momentum=0.9).load_state_dict(state)


# --- dtype ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_float32_parameter_stays_float32(name, backend, rng):
    params = make_params(rng, dtype="float32")
    opt = OPTIMIZERS[name][0](params)
    for grads in gradient_sequence(rng, 3, dtype="float32"):
        set_grads(params, grads)
        opt.step()
    assert all(p.dtype == np.float32 for p in params)
    slots = [a for a in opt.state_dict().values() if getattr(a, "ndim", 0) > 0]
    assert bool(slots) == (name != "sgd")           # plain SGD keeps no per-parameter state
    assert all(a.dtype == np.float32 for a in slots)


def test_a_float32_parameter_stays_float32_under_float64_gradients(rng):
    p = nn.Parameter(np.ones(3, dtype="float32"))
    opt = optim.Adam([p])
    p.grad = sg.tensor(np.ones(3))       # float64
    opt.step()
    assert p.dtype == np.float32


# --- the learning-rate schedule ----------------------------------------------------------
def test_linear_decay_keeps_then_decays_to_zero(rng):
    opt = optim.Adam(make_params(rng), lr=0.2)
    schedule = optim.LinearDecayLR(opt, constant_epochs=3, decay_epochs=4)
    seen = [opt.lr]
    for _ in range(9):
        schedule.step()
        seen.append(opt.lr)
    # after k calls to step(): η = η₀ · (1 − max(0, k − 3) / 4), never below 0
    np.testing.assert_allclose(seen, [0.2, 0.2, 0.2, 0.2, 0.15, 0.1, 0.05, 0.0, 0.0, 0.0],
                               atol=1e-15)


def test_the_schedule_drives_the_step_size(rng):
    p = nn.Parameter(np.zeros(2))
    opt = optim.SGD([p], lr=1.0)
    schedule = optim.LinearDecayLR(opt, constant_epochs=0, decay_epochs=2)
    schedule.step()                  # η = 0.5
    p.grad = sg.tensor(np.ones(2))
    opt.step()
    np.testing.assert_allclose(sg.to_numpy(p.data), -0.5)


# --- an average of the weights ------------------------------------------------------------
def test_ema_averages_the_parameters_and_copies_the_buffers(backend, rng):
    import copy

    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
    average = copy.deepcopy(model)
    before = [B.to_numpy(p.data).copy() for p in average.parameters()]
    for p in model.parameters():                         # the model moves on
        p.data = p.data + B.xp.asarray(rng.standard_normal(p.shape), dtype=p.data.dtype)
    model(sg.tensor(B.xp.asarray(rng.standard_normal((5, 3)), dtype=B.xp.float32)))
    optim.update_ema(average, model, 0.75)
    for old, p, p_avg in zip(before, model.parameters(), average.parameters()):
        np.testing.assert_allclose(B.to_numpy(p_avg.data), 0.75 * old + 0.25 * B.to_numpy(p.data),
                                   rtol=1e-6)
    for (_, b), (_, b_avg) in zip(model.named_buffers(), average.named_buffers()):
        np.testing.assert_array_equal(B.to_numpy(b_avg), B.to_numpy(b))   # the running stats


def test_ema_decay_warms_up_to_its_value():
    # (1 + t) / (c + t): the mean of the t steps so far, as long as it is below d
    assert optim.ema_decay(0.999, 0) == pytest.approx(0.1)
    assert optim.ema_decay(0.999, 8, warmup=1.0) == 0.999
    assert optim.ema_decay(0.999, 90) == pytest.approx(91 / 100)
    assert optim.ema_decay(0.9, 10 ** 6) == 0.9


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_updating_a_block_at_a_time_changes_nothing(name, monkeypatch):
    """backend.blockwise runs each update on cache-sized blocks: with blocks of 7 elements
    (so every parameter is cut, and not evenly) the weights equal one whole-array update's."""
    results = []
    for block in (7, 1 << 20):
        rng = np.random.default_rng(5)
        monkeypatch.setattr(B.blockwise, "__defaults__", (block,))
        params = [nn.Parameter(B.xp.asarray(rng.standard_normal((6, 5)).astype("float32")))]
        opt = OPTIMIZERS[name][0](params)
        for _ in range(3):
            set_grads(params, [rng.standard_normal((6, 5)).astype("float32")])
            opt.step()
        results.append(values(params)[0])
    assert np.array_equal(results[0], results[1])


def test_blockwise_refuses_arrays_it_would_copy():
    a = np.zeros((4, 6))
    with pytest.raises(ValueError, match="C-contiguous"):
        B.blockwise([(lambda x, y, scratch: None, (a[:, ::2], a[:, 1::2]))])
