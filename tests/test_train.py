"""The training loop on tiny data: exact resume, Ctrl-C, atomic checkpoints, the files a
run leaves, and Algorithm 1's bookkeeping.  (The main job uses real MNIST; these tests
use 96 synthetic 28×28 images so that they run in seconds and never touch the network.)"""
import json
import os
import signal

import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan.__main__ import main as cli_main
from scratchgan.checkpoint import load_npz
from scratchgan.models.mlp_gan import MLPGAN, MLPGANConfig, PRESETS
from scratchgan.train import Interrupted, Trainer, read_checkpoint

TINY = dict(z_dim=8, g_hidden=(16, 16), d_hidden=(16,), batch_size=16, epochs=3,
            ema_decay=0.9, real_label=0.9, d_dropout=0.2)


@pytest.fixture
def images():
    """96 blurry 'digits': a bright blob at a random place in each image."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:28, 0:28]
    centers = rng.integers(8, 20, (96, 2))
    blobs = np.exp(-((yy - centers[:, :1, None]) ** 2 + (xx - centers[:, 1:, None]) ** 2) / 20)
    return (blobs * 255).astype(np.uint8)


def tiny_config(**changes):
    return MLPGANConfig(**{**TINY, **changes})


def test_a_resumed_run_equals_an_uninterrupted_one_bit_for_bit(images, tmp_path):
    # ema_every=3: the stop after 6 + 2 iterations falls between two EMA updates
    straight = Trainer.create(MLPGAN, tiny_config(ema_every=3), images, tmp_path / "straight", seed=3, progress=False)
    straight.fit()

    first = Trainer.create(MLPGAN, tiny_config(ema_every=3), images, tmp_path / "resumed", seed=3, progress=False)
    assert first.run_epoch()                                   # one whole epoch
    steps = iter(range(100))
    assert not first.run_epoch(should_stop=lambda: next(steps) >= 2)   # then 2 iterations
    first.save_checkpoint()
    del first

    second = Trainer.create(MLPGAN, tiny_config(ema_every=3), images, tmp_path / "resumed", seed=999, progress=False)
    second.load_checkpoint()                                   # seed comes from the checkpoint
    assert (second.epoch, second.position) == (1, 2)
    second.fit()

    for key in straight.history:
        assert np.array_equal(straight.history[key], second.history[key]), key
    a, b = straight.gan.state_dict(), second.gan.state_dict()
    for key in a:
        assert np.array_equal(B.to_numpy(a[key]), B.to_numpy(b[key])), key


def test_ctrl_c_saves_a_checkpoint_and_stops_cleanly(images, tmp_path, monkeypatch):
    trainer = Trainer.create(MLPGAN, tiny_config(), images, tmp_path / "run", seed=1, progress=False)
    original_step = trainer.gan.train_step
    calls = {"n": 0}

    def step_then_press_ctrl_c(reals):
        calls["n"] += 1
        if calls["n"] == 4:
            os.kill(os.getpid(), signal.SIGINT)     # as if the user pressed Ctrl-C
        return original_step(reals)

    monkeypatch.setattr(trainer.gan, "train_step", step_then_press_ctrl_c)
    with pytest.raises(Interrupted, match="--resume"):
        trainer.fit()
    assert calls["n"] == 4                                   # the iteration in flight finished
    _, meta = read_checkpoint(tmp_path / "run")
    assert (meta["epoch"], meta["position"]) == (0, 4)

    resumed = Trainer.create(MLPGAN, tiny_config(), images, tmp_path / "run", progress=False)
    resumed.load_checkpoint()
    resumed.fit()
    straight = Trainer.create(MLPGAN, tiny_config(), images, tmp_path / "straight", seed=1, progress=False)
    straight.fit()
    assert np.array_equal(straight.history["g_loss"], resumed.history["g_loss"])


def test_a_run_leaves_its_pictures_and_an_atomic_checkpoint(images, tmp_path):
    out = tmp_path / "run"
    trainer = Trainer.create(MLPGAN, tiny_config(epochs=2), images, out, seed=0, progress=False)
    trainer.fit()
    summary = trainer.finish()
    for name in ["samples/epoch_001.png", "samples/epoch_002.png", "curves.png",
                 "interpolation.png", "checkpoint.npz", "config.json"]:
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob("*.tmp"))
    arrays = load_npz(out / "checkpoint.npz")                 # allow_pickle=False inside
    assert "G/0.weight" in arrays and "opt_d/m.0" in arrays and "G_ema/0.weight" in arrays
    # the summary keeps one entry per epoch; this counts them and reads none of their
    # values (how long an epoch takes is measured by make bench, never asserted here)
    per_epoch_entries = summary["seconds_per_epoch"]
    assert summary["epochs"] == 2 and len(per_epoch_entries) == 2
    assert summary["peak_rss_mb"] > 0


def test_sample_command_writes_uint8_images(images, tmp_path):
    out = tmp_path / "run"
    Trainer.create(MLPGAN, tiny_config(epochs=1), images, out, seed=0, progress=False).fit()
    target = tmp_path / "samples.npz"
    assert cli_main(["sample", str(out), "-n", "7", "-o", str(target)]) == 0
    saved = load_npz(target)["images"]
    assert saved.dtype == np.uint8 and saved.shape == (7, 28, 28)


def test_algorithm_1_takes_k_discriminator_steps_per_generator_step(images):
    sg.seed(0)
    gan = MLPGAN(tiny_config(k=3))
    batches = [sg.Tensor(B.xp.asarray(images[i * 16:(i + 1) * 16].reshape(16, -1)
                                      .astype("float32") / 127.5 - 1)) for i in range(3)]
    gan.train_step(batches)
    assert gan.opt_d.step_count == 3 and gan.opt_g.step_count == 1


def test_one_pass_of_d_over_real_and_fake_is_two_passes_summed(images):
    """d_step runs D once over [real; fake]: the loss and D's gradients equal those of two
    separate passes (packing included: pairs never straddle the real/fake boundary)."""
    from scratchgan import losses
    sg.seed(0)
    gan = MLPGAN(tiny_config(pack=2, d_dropout=0.0, real_label=1.0))
    real = sg.Tensor(B.xp.asarray(images[:16].reshape(16, -1).astype("float32") / 127.5 - 1))
    fake = gan.G(gan.sample_z(16)).detach()
    separate = losses.d_loss_minimax(gan.discriminate(real), gan.discriminate(fake))
    separate.backward()
    expected = [B.to_numpy(p.grad.data).copy() for p in gan.D.parameters()]
    gan.opt_d.step = lambda: None                         # keep the weights to compare
    stats = gan.d_step(real, fake)
    assert np.isclose(B.to_numpy(stats["d_loss"]), separate.item(), rtol=1e-6)
    for p, g in zip(gan.D.parameters(), expected):
        assert np.allclose(B.to_numpy(p.grad.data), g, rtol=1e-5, atol=1e-7)


def test_reused_fakes_are_the_d_steps_fakes_and_reach_g(images, monkeypatch):
    """With reuse_fakes, G's step sees the very images D's step judged (one z, drawn once),
    and its gradient still reaches every weight of G."""
    sg.seed(0)
    gan = MLPGAN(tiny_config(reuse_fakes=True))
    seen = []
    judge = gan.discriminate
    monkeypatch.setattr(gan, "discriminate", lambda x: seen.append(B.to_numpy(x.data)) or judge(x))
    draws = []
    draw = gan.sample_z
    monkeypatch.setattr(gan, "sample_z", lambda n: draws.append(n) or draw(n))
    real = sg.Tensor(B.xp.asarray(images[:16].reshape(16, -1).astype("float32") / 127.5 - 1))
    gan.train_step([real])
    assert draws == [16]                                  # one batch of z per iteration
    judged_by_d, fake_for_g = seen                        # D's step: real and fake at once
    assert np.array_equal(judged_by_d[:16], B.to_numpy(real.data))
    assert np.array_equal(judged_by_d[16:], fake_for_g)
    assert all(p.grad is not None for p in gan.G.parameters())


@pytest.mark.parametrize("reuse", [False, True])
def test_a_resumed_run_is_exact_with_or_without_reused_fakes(images, tmp_path, reuse):
    straight = Trainer.create(MLPGAN, tiny_config(reuse_fakes=reuse, epochs=2), images, tmp_path / "a", seed=4,
                       progress=False)
    straight.fit()
    first = Trainer.create(MLPGAN, tiny_config(reuse_fakes=reuse, epochs=2), images, tmp_path / "b", seed=4,
                    progress=False)
    steps = iter(range(100))
    assert not first.run_epoch(should_stop=lambda: next(steps) >= 3)
    first.save_checkpoint()
    second = Trainer.create(MLPGAN, tiny_config(reuse_fakes=reuse, epochs=2), images, tmp_path / "b", seed=0,
                     progress=False)
    second.load_checkpoint()
    second.fit()
    for key in straight.history:
        assert np.array_equal(straight.history[key], second.history[key]), key


def test_the_command_line_sets_any_config_field(images, tmp_path, monkeypatch):
    from scratchgan.__main__ import _apply_override
    cfg = MLPGANConfig()
    for text in ("pack=1", "g_hidden=32,64", "reuse_fakes=true", "lr_d=3e-4", "g_loss=saturating"):
        _apply_override(cfg, text)
    assert (cfg.pack, cfg.g_hidden, cfg.reuse_fakes, cfg.lr_d, cfg.g_loss) == (
        1, (32, 64), True, 3e-4, "saturating")
    for bad, says in (("packs=2", "KEY one of"), ("pack=two", "not a valid int"),
                      ("reuse_fakes=maybe", "not a valid bool")):
        with pytest.raises(sg.errors.ConfigError, match=says):
            _apply_override(cfg, bad)
    assert cli_main(["train", "mnist-gan", "--resume", "--set", "pack=1",
                     "--out", str(tmp_path)]) == 2


def test_the_generator_step_leaves_the_discriminator_alone(images):
    sg.seed(0)
    gan = MLPGAN(tiny_config())
    before = [B.to_numpy(p.data).copy() for p in gan.D.parameters()]
    gan.g_step(16)
    assert all(p.grad is None for p in gan.D.parameters())   # D was frozen: no wasted grads
    assert all(p.requires_grad for p in gan.D.parameters())  # and is trainable again after
    for b, p in zip(before, gan.D.parameters()):
        assert np.array_equal(b, B.to_numpy(p.data))
    assert all(p.grad is not None for p in gan.G.parameters())


@pytest.mark.parametrize("warmup", [10.0, 3.0])
def test_ema_follows_its_formula(warmup):
    sg.seed(0)
    gan = MLPGAN(tiny_config(ema_decay=0.9, ema_warmup=warmup))
    for step in range(1, 4):
        e0 = [B.to_numpy(p.data).copy() for p in gan.G_ema.parameters()]
        gan.g_step(16)
        d = min(0.9, (1 + step) / (warmup + step))        # warm-up, then the set decay
        for ema0, p, ema in zip(e0, gan.G.parameters(), gan.G_ema.parameters()):
            np.testing.assert_allclose(B.to_numpy(ema.data),
                                       d * ema0 + (1 - d) * B.to_numpy(p.data), rtol=1e-5)
    assert gan.sampler is gan.G_ema


def test_ema_every_n_steps_uses_the_decay_to_the_n():
    sg.seed(0)
    gan = MLPGAN(tiny_config(ema_decay=0.9, ema_every=3))
    for step in range(1, 7):
        e0 = [B.to_numpy(p.data).copy() for p in gan.G_ema.parameters()]
        gan.g_step(16)
        for ema0, p, ema in zip(e0, gan.G.parameters(), gan.G_ema.parameters()):
            if step % 3:                                   # not this step: left alone
                assert np.array_equal(B.to_numpy(ema.data), ema0)
            else:
                d = min(0.9, (1 + step) / (10 + step)) ** 3
                np.testing.assert_allclose(B.to_numpy(ema.data),
                                           d * ema0 + (1 - d) * B.to_numpy(p.data), rtol=1e-5)


def test_ema_warmup_below_one_is_refused():
    with pytest.raises(ValueError, match="ema_warmup must be a finite number in \\[1, inf\\)"):
        MLPGAN(tiny_config(ema_decay=0.9, ema_warmup=0.5))


def test_generator_loss_is_selectable():
    from scratchgan import losses
    assert MLPGAN(tiny_config(g_loss="saturating")).g_loss_fn is losses.g_loss_saturating
    assert MLPGAN(tiny_config()).g_loss_fn is losses.g_loss_nonsaturating
    with pytest.raises(ValueError, match="g_loss"):
        MLPGAN(tiny_config(g_loss="hinge"))


def test_the_pytorch_gan_preset_is_the_published_architecture():
    gan = MLPGAN(PRESETS["pytorch-gan"])
    widths = [(m.in_features, m.out_features) for m in gan.G if hasattr(m, "in_features")]
    assert widths == [(100, 128), (128, 256), (256, 512), (512, 1024), (1024, 784)]
    assert sum(type(m).__name__ == "BatchNorm1d" for m in gan.G) == 3
    widths = [(m.in_features, m.out_features) for m in gan.D if hasattr(m, "in_features")]
    assert widths == [(784, 512), (512, 256), (256, 1)]
    cfg = PRESETS["pytorch-gan"]
    assert (cfg.lr_g, cfg.lr_d, cfg.betas, cfg.batch_size) == (2e-4, 2e-4, (0.5, 0.999), 64)


def test_packing_shows_d_groups_of_samples(images):
    """PacGAN: with pack=2, D's first layer takes two images side by side."""
    sg.seed(0)
    gan = MLPGAN(tiny_config(pack=2))
    assert gan.D[0].in_features == 2 * 784
    real = sg.Tensor(B.xp.asarray(images[:16].reshape(16, -1).astype("float32") / 127.5 - 1))
    assert gan.discriminate(real).shape == (8, 1)
    stats = gan.train_step([real])
    assert np.isfinite(B.to_numpy(stats["d_loss"])) and np.isfinite(B.to_numpy(stats["g_loss"]))


def test_learning_rate_decays_linearly_over_the_second_half():
    gan = MLPGAN(tiny_config(epochs=10, lr_decay_from=0.5, lr_g=1e-3, lr_d=2e-3))
    rates = []
    for epoch in range(10):
        gan.set_epoch(epoch)
        rates.append((gan.opt_g.lr, gan.opt_d.lr))
    assert rates[:6] == [(1e-3, 2e-3)] * 6
    np.testing.assert_allclose([g for g, _ in rates[5:]], [1e-3, 8e-4, 6e-4, 4e-4, 2e-4])


def test_a_redirected_run_logs_one_line_per_epoch_and_no_bar(images, tmp_path, capsys):
    """stderr is not a terminal under pytest: no carriage-return updates, one line an epoch
    naming its time and where its grid went."""
    lines = []
    trainer = Trainer.create(MLPGAN, tiny_config(epochs=3), images, tmp_path, seed=0,
                             log=lines.append)
    assert trainer.progress is False
    trainer.fit()
    captured = capsys.readouterr()
    assert "\r" not in captured.err + captured.out
    assert len(lines) == 3
    for epoch, line in enumerate(lines, 1):
        assert line.startswith(f"epoch {epoch}/3 ") and f"epoch_{epoch:03d}.png" in line


def test_ctrl_c_names_the_command_the_user_can_type(monkeypatch, tmp_path):
    from scratchgan.__main__ import _resume_command
    monkeypatch.delenv("SCRATCHGAN_MAKE_TARGET", raising=False)
    assert _resume_command("mnist-gan", tmp_path) == \
        f"python -m scratchgan train mnist-gan --resume --out {tmp_path}"
    monkeypatch.setenv("SCRATCHGAN_MAKE_TARGET", "train-dcgan")
    assert _resume_command("mnist-dcgan", tmp_path) == f"make train-dcgan RESUME=1 OUT={tmp_path}"
