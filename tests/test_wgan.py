"""WGAN and WGAN-GP: what differs from the GAN, each checked on its own.

The contract, two iterations, resume-equals-uninterrupted, the command line and the
strict stand-in are tests/test_models.py's (both models have a TINY entry there).  Here:
clipping keeps the critic in its box, the penalty's gradient with respect to the critic's
weights against finite differences (first and second order), no BatchNorm in the critics,
Algorithm 1's k critic steps per G step, and the refusals of meaningless settings.
"""
import contextlib

import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import losses, nn, optim
from scratchgan.errors import ConfigError
from scratchgan.models.wgan import WGAN, WGANGP, WGANConfig, WGANGPConfig


def tiny_wgan(**changes):
    return WGANConfig(**{**dict(z_dim=8, channels=4, batch_size=8, k=2), **changes})


def tiny_gp(**changes):
    return WGANGPConfig(**{**dict(z_dim=8, channels=4, batch_size=8, k=2), **changes})


def real_batch(n=8, seed=0):
    x = np.random.default_rng(seed).uniform(-1, 1, (n, 1, 28, 28)).astype("float32")
    return sg.Tensor(B.xp.asarray(x))


def critic_weights(model):
    return [B.to_numpy(p.data).copy() for p in model.D.parameters()]


# --- WGAN: weight clipping ------------------------------------------------------------
def test_clipping_keeps_every_critic_parameter_in_range_after_each_step():
    """The update pushes weights out of [−c, c] and the clip brings them back, on every
    step.  The critic is built already clipped (DCGAN's N(0, 0.02²) init puts most draws
    outside ±0.01; that first clip is an artefact of the init), so what the clip catches
    here is the update's overshoot, not the init."""
    sg.seed(0)
    model = WGAN(tiny_wgan())
    c = model.cfg.clip
    assert max(np.abs(w).max() for w in critic_weights(model)) <= c
    overshoot = []
    update = model.opt_d.step

    def step_then_look():
        update()
        overshoot.append(max(np.abs(w).max() for w in critic_weights(model)))
    model.opt_d.step = step_then_look
    for seed in range(3):
        model.d_step(real_batch(seed=seed))
        weights = critic_weights(model)
        assert all(np.abs(w).max() <= c for w in weights)
        at_bound = np.mean(np.concatenate([np.isclose(np.abs(w), c).ravel() for w in weights]))
        assert at_bound > 0.1
    assert len(overshoot) == 3 and min(overshoot) > c      # the clip was doing work each time


def test_clipping_covers_biases_and_a_clip_of_another_size():
    sg.seed(0)
    model = WGAN(tiny_wgan(clip=0.002, lr_d=1e-2))
    for p in model.D.parameters():
        p.data[...] = 1.0                           # as far out as a big step could throw it
    model.after_critic_step()
    for name, p in model.D.named_parameters():
        assert np.allclose(B.to_numpy(p.data), 0.002), name


def test_the_optimizers_are_the_papers():
    wgan, gp = WGAN(tiny_wgan()), WGANGP(tiny_gp())
    assert isinstance(wgan.opt_d, optim.RMSprop) and isinstance(wgan.opt_g, optim.RMSprop)
    assert isinstance(gp.opt_d, optim.Adam) and (gp.opt_d.beta1, gp.opt_d.beta2) == (0.0, 0.9)
    paper = WGAN.PRESETS["paper"]
    assert (paper.clip, paper.lr_d, paper.lr_g, paper.k, paper.optimizer) == \
        (0.01, 5e-5, 5e-5, 5, "rmsprop")
    paper = WGANGP.PRESETS["paper"]
    assert (paper.gp_weight, paper.lr_d, paper.lr_g, paper.betas, paper.k, paper.optimizer) == \
        (10.0, 1e-4, 1e-4, (0.0, 0.9), 5, "adam")
    assert WGAN(tiny_wgan(optimizer="adam")).opt_d.__class__ is optim.Adam
    assert wgan.g_loss_fn is losses.g_loss_wasserstein and gp.g_loss_fn is losses.g_loss_wasserstein


# --- the critics ------------------------------------------------------------------------
@pytest.mark.parametrize("model_cls, config, norm", [(WGAN, tiny_wgan, "none"),
                                                     (WGANGP, tiny_gp, "none"),
                                                     (WGANGP, tiny_gp, "layer")])
def test_the_critic_has_no_batchnorm_no_sigmoid_and_no_output_bias(model_cls, config, norm):
    """No BatchNorm: the penalty is taken sample by sample, which batch statistics would
    tie together.  No output bias: E[D(G(z))] − E[D(x)] gives it exactly zero gradient."""
    model = model_cls(config(critic_norm=norm))
    kinds = [type(m) for _, m in model.D.named_modules()]
    assert (nn.LayerNorm in kinds) == (norm == "layer")
    assert not any(issubclass(k, (nn.BatchNorm1d, nn.BatchNorm2d, nn.Sigmoid)) for k in kinds)
    assert model.d_judges_each_sample_alone
    assert model.D[-1].bias is None
    scores = model.D(real_batch(4))
    assert scores.shape == (4, 1)


@pytest.mark.parametrize("norm", ["none", "layer"])
def test_the_critic_scores_each_sample_alone(norm):
    """One pass on [real; fake] gives each sample the score it gets alone."""
    sg.seed(0)
    model = WGANGP(tiny_gp(critic_norm=norm))
    x = real_batch(6)
    together = B.to_numpy(model.D(x).data)
    alone = np.concatenate([B.to_numpy(model.D(x[i:i + 1]).data) for i in range(6)])
    assert np.allclose(together, alone, rtol=1e-5, atol=1e-6)


# --- WGAN-GP: the penalty's gradient w.r.t. the critic's weights -------------------------
@contextlib.contextmanager
def parameters_replaced(module, tensors):
    """Within the block, ``module``'s parameters are ``tensors`` (in named_parameters order),
    so the critic differentiates through gradcheck's float64 inputs."""
    owners = []
    for (name, _), t in zip(list(module.named_parameters()), tensors):
        *path, attr = name.split(".")
        owner = module
        for part in path:
            owner = owner._modules[part]
        owners.append((owner, attr, owner._parameters[attr]))
        object.__setattr__(owner, attr, t)
        owner._parameters[attr] = t
    try:
        yield
    finally:
        for owner, attr, p in reversed(owners):
            object.__setattr__(owner, attr, p)
            owner._parameters[attr] = p


def penalty_as_a_function_of_the_critic_weights(channels=1, n=2, norm="none"):
    """fn(*θ) = λ·E[(‖∇D_θ(x̂)‖ − 1)²] with the model's own critic, and θ₀ (float64).  Every
    call replays the same ε, so fn is a deterministic function of θ."""
    sg.seed(0)
    model = WGANGP(tiny_gp(channels=channels, critic_norm=norm))
    rng = np.random.default_rng(1)
    real = sg.tensor(B.xp.asarray(rng.uniform(-1, 1, (n, 1, 28, 28))))
    fake = sg.tensor(B.xp.asarray(rng.uniform(-1, 1, (n, 1, 28, 28))))
    # weights larger than the init's 0.02, so ‖∇D(x̂)‖ is near 1 and the penalty's slope
    # is not dwarfed by rounding
    theta = [rng.standard_normal(p.shape) * 0.3 for p in model.D.parameters()]
    eps_state = B.rng_state()

    def fn(*weights):
        with parameters_replaced(model.D, weights):
            B.set_rng_state(eps_state)
            return model.penalty(real, fake)
    return fn, theta


def test_the_penalty_is_a_function_of_the_critic_weights():
    """Not a constant: the check below would pass trivially on a gradient that is zero.
    The biases are the exception, and rightly: with piecewise-linear activations
    ∇ₓD = W₁ᵀ·diag(mask₁)·W₂ᵀ·diag(mask₂)·w₃ holds no bias, which only moves the masks."""
    fn, theta = penalty_as_a_function_of_the_critic_weights()
    xs = [sg.tensor(B.xp.asarray(t), requires_grad=True) for t in theta]
    value = fn(*xs)
    grads = sg.grad(value, xs, allow_unused=True)
    assert value.item() > 0
    names = [name for name, _ in WGANGP(tiny_gp(channels=1)).D.named_parameters()]
    for name, g in zip(names, grads):
        if name.endswith("weight"):
            assert np.abs(B.to_numpy(g.data)).max() > 1e-6, name
        else:
            assert g is None or not np.abs(B.to_numpy(g.data)).any(), name


@pytest.mark.parametrize("norm", ["none", "layer"])
def test_the_penalty_gradient_matches_finite_differences(norm):
    fn, theta = penalty_as_a_function_of_the_critic_weights(norm=norm)
    assert sg.gradcheck(fn, theta, name="gradient_penalty w.r.t. the critic's weights")


def test_the_penalty_second_derivatives_match_finite_differences():
    """The penalty's gradient w.r.t. θ already differentiates a gradient; its second
    derivatives need the backward of that, one order further still.  (With LayerNorm in
    the critic this takes ten times as long; LayerNorm's own second derivatives are
    tests/nn/test_layernorm.py's.)"""
    fn, theta = penalty_as_a_function_of_the_critic_weights(n=1)
    assert sg.gradgradcheck(fn, theta, name="gradient_penalty w.r.t. the critic's weights")


def test_a_penalty_without_create_graph_fails_the_check():
    """The slip the check exists for: ∇D(x̂) taken as a constant leaves the penalty's
    value right and its gradient w.r.t. the weights zero."""
    fn, theta = penalty_as_a_function_of_the_critic_weights(n=1)
    right = fn
    original = losses.grad

    def grad_without_graph(outputs, inputs, create_graph=False, **kw):
        return original(outputs, inputs, create_graph=False, **kw)
    losses.grad = grad_without_graph
    try:
        xs = [sg.tensor(B.xp.asarray(t)) for t in theta]
        broken_value = fn(*xs).item()
        with pytest.raises(sg.GradcheckError):
            sg.gradcheck(fn, theta)
    finally:
        losses.grad = original
    assert np.isclose(broken_value, right(*xs).item())


def test_the_critic_step_adds_the_penalty_to_the_wasserstein_loss():
    sg.seed(0)
    model = WGANGP(tiny_gp())
    stats = model.d_step(real_batch())
    d_loss, w, penalty = (float(B.to_numpy(stats[k])) for k in ("d_loss", "w_estimate", "penalty"))
    assert penalty > 0 and np.isclose(d_loss, -w + penalty, rtol=1e-5)
    sg.seed(0)
    stats = WGANGP(tiny_gp(gp_weight=0.0)).d_step(real_batch())
    assert float(B.to_numpy(stats["penalty"])) == 0
    assert np.isclose(float(B.to_numpy(stats["d_loss"])), -w, rtol=1e-5)   # the same draws


def test_the_critic_step_descends_the_penalty_too():
    """The critic's gradient in a step is the Wasserstein term's plus the penalty's: the
    difference between λ = 10 and λ = 0 is 10× the penalty's own gradient (weights only:
    the biases get none, see above)."""
    def critic_grads(gp_weight):
        sg.seed(0)
        model = WGANGP(tiny_gp(gp_weight=gp_weight))
        model.opt_d.step = lambda: None                 # keep the gradients, move nothing
        model.d_step(real_batch())
        return model, [B.to_numpy(p.grad.data).astype("float64") for p in model.D.parameters()]

    _, with_penalty = critic_grads(10.0)
    _, without = critic_grads(0.0)
    sg.seed(0)
    model = WGANGP(tiny_gp(gp_weight=1.0))
    real = real_batch()
    with sg.no_grad():
        fake = model.G(model.sample_z(8))               # the draws d_step makes, in order
    params = list(model.D.parameters())
    penalty_grads = sg.grad(model.penalty(real, fake), params, allow_unused=True)
    for (name, _), a, b, g in zip(model.D.named_parameters(), with_penalty, without,
                                  penalty_grads):
        expected = np.zeros_like(a) if g is None else 10 * B.to_numpy(g.data)
        assert np.allclose(a - b, expected, rtol=1e-3, atol=1e-5), name
    assert any(np.abs(a - b).max() > 1e-4 for a, b in zip(with_penalty, without))


# --- Algorithm 1: k critic steps, then one G step ----------------------------------------
@pytest.mark.parametrize("model_cls, config", [(WGAN, tiny_wgan), (WGANGP, tiny_gp)])
@pytest.mark.parametrize("reuse_fakes", [False, True])
def test_k_critic_steps_on_k_real_batches_then_one_generator_step(model_cls, config,
                                                                   reuse_fakes):
    sg.seed(0)
    model = model_cls(config(k=3, reuse_fakes=reuse_fakes))
    calls = []
    d_step, g_step = model.d_step, model.g_step
    model.d_step = lambda real, fake=None: calls.append(("D", B.to_numpy(real.data))) or \
        d_step(real, fake)
    model.g_step = lambda n, fake=None: calls.append(("G", None)) or g_step(n, fake)
    images = np.random.default_rng(0).integers(0, 256, (24, 28, 28), dtype=np.uint8)
    assert model.samples_per_step == 24
    stats = model.train_step(images)
    assert [kind for kind, _ in calls] == ["D", "D", "D", "G"]
    for j in range(3):                                    # each critic step its own batch
        expected = images[8 * j:8 * (j + 1)].astype("float32") / 127.5 - 1
        assert np.allclose(calls[j][1][:, 0], expected)
    assert (model.opt_d.step_count, model.opt_g.step_count) == (3, 1)
    assert set(stats) == set(model.history_keys)


# --- refusals ----------------------------------------------------------------------------
@pytest.mark.parametrize("model_cls, config, field, value", [
    (WGAN, tiny_wgan, "clip", 0.0),
    (WGAN, tiny_wgan, "clip", -0.01),
    (WGAN, tiny_wgan, "clip", float("nan")),
    (WGANGP, tiny_gp, "gp_weight", -1.0),
    (WGANGP, tiny_gp, "gp_weight", float("inf")),
    (WGANGP, tiny_gp, "optimizer", "sgd"),
    (WGANGP, tiny_gp, "critic_norm", "batch"),
    (WGANGP, tiny_gp, "d_batchnorm", True),
    (WGAN, tiny_wgan, "pack", 2),
    (WGAN, tiny_wgan, "g_loss", "nonsaturating"),
    (WGAN, tiny_wgan, "real_label", 0.9),
    (WGANGP, tiny_gp, "k", 0),
])
def test_a_bad_setting_is_refused_in_one_line(model_cls, config, field, value):
    with pytest.raises(ConfigError, match=f"^{field}=") as info:
        model_cls(config(**{field: value}))
    assert "\n" not in str(info.value)


@pytest.mark.host_only
def test_the_command_line_refuses_a_bad_clip_before_any_work(tmp_path, capsys):
    from scratchgan.__main__ import main as cli_main
    assert cli_main(["train", "mnist-wgan", "--set", "clip=-1", "--out",
                     str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "clip=-1.0" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()
