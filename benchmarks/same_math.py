"""Before anything is timed: the sides of the benchmark compute the same numbers.

A timing compares like with like only if both sides do the same work, so each check runs
both from the same weights on the same inputs, in float64, and compares every array they
update.  ``make bench`` runs these first; ``tests/test_bench.py`` runs them at small sizes.
"""
from __future__ import annotations

import dataclasses

from scratchgan.backend import numpy

import scratchgan as sg
from scratchgan import backend, nn
from scratchgan.models import cyclegan, dcgan
from scratchgan.models.gan import GAN
from scratchgan.models.mlp_gan import MLPGAN, PRESETS

from . import conv
from .handwritten import (HandBatchNorm1d, HandGAN, mlp_step_by_hand, mlp_step_scratchgan,
                          mlp_weights)


def make_gan(preset: str, batch: int) -> MLPGAN:
    """The preset, with its batch size set to ``batch`` (train_step's G step uses it)."""
    return MLPGAN(dataclasses.replace(PRESETS[preset], batch_size=batch))


def make_dcgan(preset: str, batch: int, channels: int | None = None) -> dcgan.DCGAN:
    """The DCGAN preset at batch ``batch`` (and ``channels``, where given: small checks)."""
    cfg = dataclasses.replace(dcgan.PRESETS[preset], batch_size=batch)
    if channels is not None:
        cfg = dataclasses.replace(cfg, channels=channels)
    return dcgan.DCGAN(cfg)


def make_cyclegan(preset: str, batch: int, **changes) -> cyclegan.CycleGAN:
    """The CycleGAN preset at batch ``batch``, with ``changes`` to its config (small checks)."""
    return cyclegan.CycleGAN(dataclasses.replace(cyclegan.PRESETS[preset], batch_size=batch,
                                                 **changes))


def digit_pair(batch: int, size: int = 16, seed: int = 2):
    """A batch of (x, y) uint8 images (batch, size, size) as CycleGAN takes them: random
    pixels (what they show does not change what one iteration computes, nor its time)."""
    rng = numpy.random.default_rng(seed)
    return tuple(rng.integers(0, 256, (batch, size, size), dtype=numpy.uint8) for _ in "xy")


def check_same_mlp_gradients(batch: int = 8, sizes=(784, 512, 256, 1),
                             rtol: float = 1e-8) -> float:
    """The engine's MLP step and the by-hand one give the same gradients (float64).

    Returns the largest difference relative to each gradient's largest entry."""
    xp = backend.xp
    raw = mlp_weights(sizes, xp, dtype="float64")
    params = [(sg.Tensor(W, requires_grad=True), sg.Tensor(b, requires_grad=True)) for W, b in raw]
    x = xp.random.RandomState(2).standard_normal((batch, sizes[0]))
    t = xp.ones((batch, 1))
    mlp_step_scratchgan(params, sg.Tensor(x), sg.Tensor(t))
    _, grads = mlp_step_by_hand(raw, x, t)
    worst = 0.0
    for (W, b), (gW, gb) in zip(params, reversed(grads)):
        worst = max(worst, _rel_diff(W.grad.data, gW), _rel_diff(b.grad.data, gb))
    assert worst <= rtol, f"MLP bench mismatch: gradients differ by {worst:.1e} (relative)"
    return worst


def _cast(gan: GAN, dtype: str) -> None:
    """Every parameter and BatchNorm statistic of ``gan`` converted to ``dtype``."""
    for net in (n for n in (gan.G, gan.D, gan.G_ema) if n is not None):
        for p in net.parameters():
            p.data = p.data.astype(dtype)
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean = m.running_mean.astype(dtype)
                m.running_var = m.running_var.astype(dtype)


def _rel_diff(ours, hand, scale=None) -> float:
    """max |ours − hand| / scale, the scale max |hand| unless given."""
    ours, hand = backend.to_numpy(ours), backend.to_numpy(hand)
    scale = numpy.abs(hand).max() if scale is None else scale
    return float(numpy.abs(ours - hand).max() / max(scale, 1e-300))


def check_same_gan_iteration(preset: str = "pytorch-gan", iterations: int = 2, batch: int = 16,
                             rtol: float = 1e-8) -> float:
    """The by-hand GAN iteration updates every array exactly as MLPGAN.train_step does.

    In float64, from the same weights, on the same real batches and the same z's: after
    ``iterations`` steps, the losses, G's and D's weights, BN's running statistics, the EMA
    of G's weights (where the preset keeps one: run at least ``ema_every`` iterations for
    it to move) and Adam's moments agree to ``rtol``, relative to each array's largest
    entry.  Adam's moments are compared relative to the optimizer's largest, because the
    gradient of a
    Linear bias just before a BatchNorm is exactly 0 in exact arithmetic: only rounding
    noise, on both sides.  (The weights alone would check little after one step: Adam's
    first step is ≈ η·sign(g) whatever g's size; m = (1 − β₁)g checks g itself.)
    Returns the largest relative difference seen.
    """
    backend.seed(3)
    gan = make_gan(preset, batch)
    _cast(gan, "float64")
    hand = HandGAN(gan)
    rng = numpy.random.default_rng(4)
    zs = [backend.asarray(rng.standard_normal((batch, gan.cfg.z_dim)))
          for _ in range(2 * iterations)]     # one for D's step, one for G's (unless reused)
    reals = [backend.asarray(rng.uniform(-1, 1, (batch, 784))) for _ in range(iterations)]
    gan_zs, hand_zs = iter(zs), iter(zs)
    gan.sample_z = lambda n: sg.Tensor(next(gan_zs).copy())
    hand.sample_z = lambda n: next(hand_zs).copy()
    for real in reals:
        ours_stats = gan.train_step([sg.Tensor(real)])
        hand_stats = hand.train_step([real])

    diffs = {f"stats[{k}]": _rel_diff(ours_stats[k], hand_stats[k]) for k in ours_stats}
    for name, net, hand_net in (("G", gan.G, hand.G), ("D", gan.D, hand.D)):
        assert len(list(net.parameters())) == len(hand_net.params), f"{name}: other layers"
        for i, (p, q) in enumerate(zip(net.parameters(), hand_net.params)):
            diffs[f"{name} parameter {i}"] = _rel_diff(p.data, q)
        bns = [m for m in net if isinstance(m, nn.BatchNorm1d)]
        hand_bns = [m for m in hand_net.layers if isinstance(m, HandBatchNorm1d)]
        for i, (m, h) in enumerate(zip(bns, hand_bns)):
            diffs[f"{name} BN {i} running_mean"] = _rel_diff(m.running_mean, h.running_mean)
            diffs[f"{name} BN {i} running_var"] = _rel_diff(m.running_var, h.running_var)
    if gan.G_ema is not None:
        for i, (p, q) in enumerate(zip(gan.G_ema.parameters(), hand.G_ema)):
            diffs[f"G_ema parameter {i}"] = _rel_diff(p.data, q)
    for name, opt, hand_opt in (("G", gan.opt_g, hand.opt_g), ("D", gan.opt_d, hand.opt_d)):
        assert [opt.steps[i] for i in range(len(opt.params))] == hand_opt.t, f"Adam {name}: t"
        for slot in ("m", "v"):
            ours = [getattr(opt, slot)[i] for i in range(len(opt.params))]
            theirs = getattr(hand_opt, slot)
            scale = max(float(abs(a).max()) for a in theirs)
            for i, (a, b) in enumerate(zip(ours, theirs)):
                diffs[f"Adam {name} {slot} {i}"] = _rel_diff(a, b, scale)
    worst = max(diffs, key=diffs.get)
    assert diffs[worst] <= rtol, (f"GAN bench mismatch ({preset}): {worst} differs by "
                                  f"{diffs[worst]:.1e} (relative)")
    return diffs[worst]




def check_torch_gan_iteration(preset: str = "pytorch-gan", iterations: int = 2, batch: int = 16,
                              rtol: float = 1e-8, model: str = "mnist-gan",
                              channels: int | None = None) -> float:
    """The PyTorch GAN iteration updates G, D and the EMA as GAN.train_step does (float64,
    same weights, same real batches and z's); the losses agree too.  ``model``: the MLP GAN
    ("mnist-gan") or DCGAN ("mnist-dcgan", at ``channels`` where given).

    Linear biases just before a BatchNorm are left out: BatchNorm subtracts them again, so
    their gradient is 0 in exact arithmetic and what Adam does with the rounding noise
    differs between any two implementations (and changes nothing downstream); so is
    BatchNorm's running mean, which carries them.  (DCGAN has no bias before a norm.)
    Returns the largest relative difference seen.
    """
    from .torch_side import TorchGAN

    backend.seed(3)
    if model == "mnist-dcgan":
        gan, image_shape = make_dcgan(preset, batch, channels), (batch, 1, 28, 28)
    else:
        gan, image_shape = make_gan(preset, batch), (batch, 784)
    _cast(gan, "float64")
    twin = TorchGAN(gan)
    rng = numpy.random.default_rng(4)
    zs = [rng.standard_normal((batch, gan.cfg.z_dim)) for _ in range(2 * iterations)]
    reals = [rng.uniform(-1, 1, image_shape) for _ in range(iterations)]
    gan_zs, twin_zs = iter(zs), iter(zs)
    gan.sample_z = lambda n: sg.Tensor(backend.asarray(next(gan_zs)))
    twin.sample_z = lambda n: _torch().from_numpy(next(twin_zs).copy())
    for real in reals:
        ours_stats = gan.train_step([sg.Tensor(backend.asarray(real))])
        twin_stats = twin.train_step([_torch().from_numpy(real.copy())])

    diffs = {f"stats[{k}]": _rel_diff(ours_stats[k], twin_stats[k]) for k in ours_stats}
    pairs = [("G", gan.G, twin.G), ("D", gan.D, twin.D)]
    if gan.G_ema is not None:
        pairs.append(("G_ema", gan.G_ema, twin.G_ema))
    for name, net, twin_net in pairs:
        layers = list(net)
        for i, m in enumerate(layers):
            if getattr(m, "weight", None) is None:
                continue
            norms = (nn.BatchNorm1d, nn.BatchNorm2d)
            before_bn = i + 1 < len(layers) and isinstance(layers[i + 1], norms)
            t = twin_net[i]
            diffs[f"{name}[{i}].weight"] = _rel_diff(m.weight.data, t.weight.detach().numpy())
            if m.bias is not None and (isinstance(m, norms) or not before_bn):
                diffs[f"{name}[{i}].bias"] = _rel_diff(m.bias.data, t.bias.detach().numpy())
            if isinstance(m, norms):
                diffs[f"{name}[{i}].running_var"] = _rel_diff(m.running_var, t.running_var.numpy())
    worst = max(diffs, key=diffs.get)
    assert diffs[worst] <= rtol, (f"torch bench mismatch ({model} {preset}): {worst} differs by "
                                  f"{diffs[worst]:.1e} (relative)")
    return diffs[worst]


def check_torch_cyclegan_iteration(iterations: int = 2, batch: int = 4, rtol: float = 1e-8,
                                   preset: str = "plain", **changes) -> float:
    """The PyTorch CycleGAN iteration updates G, F, D_X, D_Y, both Adams' moments and the two
    histories of fakes as CycleGAN.train_step does (float64, same weights, same uint8
    batches); the loss terms agree too.  ``changes``: to the preset's config; the default
    is a tiny width (k = d = 2, one residual block) and a history of 3, so that with a
    batch of 4 the history fills in the first iteration and then shows stored fakes: both
    sides draw its coins and picks from generators in the same state.

    Adam's moments are compared relative to the optimizer's largest (as in
    ``check_same_gan_iteration``: after one step the weights check little but sign(g)).
    Returns the largest relative difference seen.
    """
    from .torch_side import TorchCycleGAN

    changes = {"channels": 2, "d_channels": 2, "n_residual": 1, "pool_size": 3, **changes}
    backend.seed(3)
    gan = make_cyclegan(preset, batch, **changes)
    for net in (gan.G, gan.F, gan.D_X, gan.D_Y):
        for p in net.parameters():
            p.data = p.data.astype("float64")
    # scratchgan scales uint8 to float32 (so does the twin, then casts): the same values
    as_float32 = gan.as_images
    gan.as_images = lambda b: sg.Tensor(as_float32(b).data.astype("float64"))
    twin_rng = numpy.random.default_rng()
    twin_rng.bit_generator.state = backend.rng_state()
    twin = TorchCycleGAN(gan, rng=twin_rng)
    for i in range(iterations):
        batch_pair = digit_pair(batch, seed=10 + i)
        ours_stats = gan.train_step(batch_pair)
        twin_stats = twin.train_step(batch_pair)

    diffs = {}
    for k in ours_stats:        # a term switched off is 0 on scratchgan's side, absent on torch's
        theirs = twin_stats[k].numpy() if k in twin_stats else numpy.zeros(())
        diffs[f"stats[{k}]"] = _rel_diff(ours_stats[k], theirs)
    for name in ("G", "F", "D_X", "D_Y"):
        ours, theirs = getattr(gan, name).named_parameters(), getattr(twin, name).named_parameters()
        for (key, p), (twin_key, q) in zip(ours, theirs, strict=True):
            assert key == twin_key, f"{name}: {key} against torch's {twin_key}"
            diffs[f"{name}.{key}"] = _rel_diff(p.data, q.detach().numpy())
    for name, opt, twin_opt in (("G+F", gan.opt_g, twin.opt_g), ("D", gan.opt_d, twin.opt_d)):
        twin_params = [p for group in twin_opt.param_groups for p in group["params"]]
        for slot, twin_slot in (("m", "exp_avg"), ("v", "exp_avg_sq")):
            theirs = [twin_opt.state[p][twin_slot].numpy() for p in twin_params]
            scale = max(float(numpy.abs(a).max()) for a in theirs)
            for i, a in enumerate(theirs):
                diffs[f"Adam {name} {slot} {i}"] = _rel_diff(getattr(opt, slot)[i], a, scale)
    for name in ("history_x", "history_y"):
        ours, theirs = getattr(gan, name), getattr(twin, name)
        assert ours.count == theirs.count, f"{name}: {ours.count} fakes against {theirs.count}"
        if ours.count:
            diffs[name] = _rel_diff(ours.images, theirs.images.numpy())
    worst = max(diffs, key=diffs.get)
    assert diffs[worst] <= rtol, (f"torch CycleGAN bench mismatch ({preset}, {changes}): {worst} "
                                  f"differs by {diffs[worst]:.1e} (relative)")
    return diffs[worst]


def check_torch_mlp_gradients(batch: int = 8, sizes=(784, 512, 256, 1),
                              rtol: float = 1e-8) -> float:
    """The PyTorch MLP step gives the engine's gradients (float64)."""
    from .torch_side import mlp_step_torch

    torch, xp = _torch(), backend.xp
    raw = mlp_weights(sizes, xp, dtype="float64")
    params = [(sg.Tensor(W, requires_grad=True), sg.Tensor(b, requires_grad=True)) for W, b in raw]
    twin = [tuple(torch.from_numpy(backend.to_numpy(a).copy()).requires_grad_() for a in Wb)
            for Wb in raw]
    x = xp.random.RandomState(2).standard_normal((batch, sizes[0]))
    t = xp.ones((batch, 1))
    mlp_step_scratchgan(params, sg.Tensor(x), sg.Tensor(t))
    mlp_step_torch(twin, *(torch.from_numpy(backend.to_numpy(a)) for a in (x, t)))
    worst = max(_rel_diff(p.grad.data, q.grad.numpy())
                for Wb, Wb_twin in zip(params, twin) for p, q in zip(Wb, Wb_twin))
    assert worst <= rtol, f"torch MLP bench mismatch: gradients differ by {worst:.1e} (relative)"
    return worst


def _conv_cases(channels: int, batch: int):
    """Each DCGAN convolution at small sizes, in float64: its arrays on every side."""
    for layer in conv.dcgan_layers(channels, batch):
        yield layer, conv.layer_arrays(layer, backend.xp, "float64", seed=5)


def _conv_scratchgan(layer, x, weight, bias, gy):
    """y, then the gradients of x, weight and bias (None without a bias), as raw arrays."""
    tensors = conv.scratchgan_tensors(x, weight, bias)
    y = conv.conv_step_scratchgan(layer, *tensors, sg.Tensor(gy))
    return y.data, tuple(None if t is None else t.grad.data for t in tensors)


def _conv_diff(layer, ours, theirs) -> dict:
    (y, grads), (y2, grads2) = ours, theirs
    diffs = {f"{layer.name}: y": _rel_diff(y, y2)}
    for what, a, b in zip(("dL/dx", "dL/dW", "dL/db"), grads, grads2):
        if a is not None:
            diffs[f"{layer.name}: {what}"] = _rel_diff(a, b)
    return diffs


def check_same_conv_layers(channels: int = 4, batch: int = 4, rtol: float = 1e-8) -> float:
    """The by-hand im2col computes each DCGAN convolution's output and gradients as
    scratchgan does (float64).  Returns the largest relative difference."""
    diffs = {}
    for layer, (x, weight, bias, gy) in _conv_cases(channels, batch):
        ours = _conv_scratchgan(layer, x, weight, bias, gy)
        diffs.update(_conv_diff(layer, ours, conv.conv_step_by_hand(layer, x, weight, bias, gy)))
    worst = max(diffs, key=diffs.get)
    assert diffs[worst] <= rtol, f"conv bench mismatch: {worst} differs by {diffs[worst]:.1e}"
    return diffs[worst]


def check_torch_conv_layers(channels: int = 4, batch: int = 4, rtol: float = 1e-8) -> float:
    """PyTorch computes each DCGAN convolution's output and gradients as scratchgan (float64)."""
    from .torch_side import conv_step_torch

    torch, diffs = _torch(), {}
    for layer, (x, weight, bias, gy) in _conv_cases(channels, batch):
        ours = _conv_scratchgan(layer, x, weight, bias, gy)
        leaves = [None if a is None else torch.from_numpy(backend.to_numpy(a).copy())
                  .requires_grad_() for a in (x, weight, bias)]
        y = conv_step_torch(layer.transposed, *leaves,
                            torch.from_numpy(backend.to_numpy(gy).copy()),
                            layer.stride, layer.padding)
        theirs = (y.detach().numpy(), tuple(None if t is None else t.grad.numpy() for t in leaves))
        diffs.update(_conv_diff(layer, ours, theirs))
    worst = max(diffs, key=diffs.get)
    assert diffs[worst] <= rtol, f"torch conv bench mismatch: {worst} differs by {diffs[worst]:.1e}"
    return diffs[worst]


def _torch():
    import torch
    return torch
