"""Every model in the registry, through the one loop: the contract holds, two iterations
train every parameter group they should, a resumed run equals an uninterrupted one bit for
bit, and the command line trains, samples and evaluates it with no model-specific flags.

Each model gets a tiny configuration and 64 synthetic 28×28 images, so these run offline
in seconds."""
import dataclasses
import json

import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import nn
from scratchgan.__main__ import main as cli_main
from scratchgan.errors import ConfigError
from scratchgan.models import MODELS
from scratchgan.models.dcgan import DCGAN, DCGANConfig
from scratchgan.train import Trainer, read_checkpoint

TINY = {
    "mnist-gan": dict(z_dim=8, g_hidden=(16, 16), d_hidden=(16,), batch_size=8, epochs=2,
                      ema_decay=0.9, pack=2, reuse_fakes=True),
    "mnist-dcgan": dict(z_dim=8, channels=4, batch_size=8, epochs=2, ema_decay=0.9,
                        reuse_fakes=True),
    "mnist-cgan": dict(z_dim=8, g_hidden=(16, 16), d_hidden=(16,), batch_size=8, epochs=2,
                       ema_decay=0.9, reuse_fakes=True),
    "mnist-wgan": dict(z_dim=8, channels=4, batch_size=8, k=2, epochs=2, ema_decay=0.9,
                       reuse_fakes=True),
    "mnist-wgan-gp": dict(z_dim=8, channels=4, batch_size=8, k=2, epochs=2, reuse_fakes=True),
}


# a model whose data is a pair of domains (CycleGAN) is tested in its own file: these
# tests feed every model single images
SINGLE_DOMAIN = [name for name, cls in MODELS.items() if not getattr(cls, "two_domains", False)]


def tiny(name, **changes):
    return MODELS[name].Config(**{**TINY[name], **changes})


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)


def data_for(name, images):
    """A conditional model's data is labelled (the digits 0..9 in turn); others' bare."""
    if getattr(MODELS[name], "conditional", False):
        from scratchgan.models.cgan import LabelledDigits
        return LabelledDigits(images, np.arange(len(images)) % 10)
    return images


def labels_for(name, n):
    """The labels a conditional D step takes beside its real images (none for the others)."""
    return {"labels": B.xp.arange(n) % 10} if getattr(MODELS[name], "conditional", False) else {}


def test_every_model_has_a_tiny_configuration_here():
    assert set(TINY) == set(SINGLE_DOMAIN)


@pytest.mark.parametrize("name", SINGLE_DOMAIN)
def test_the_contract(name):
    cls = MODELS[name]
    assert cls.name == name and "default" in cls.PRESETS
    for preset in cls.PRESETS.values():
        assert isinstance(preset, cls.Config)
        preset.validate()
    model = cls(tiny(name))
    assert set(model.history_keys) >= {"d_loss", "g_loss"}
    assert model.sample_uint8(3).shape == (3, 28, 28)


@pytest.mark.parametrize("name", SINGLE_DOMAIN)
def test_two_iterations_move_each_network_only_in_its_own_step(name, images):
    sg.seed(0)
    model = MODELS[name](tiny(name, reuse_fakes=False))
    snapshot = lambda net: [B.to_numpy(p.data).copy() for p in net.parameters()]  # noqa: E731
    g0, d0 = snapshot(model.G), snapshot(model.D)
    real = model.as_images(sg.Tensor(B.xp.asarray(images[:8].astype("float32") / 127.5 - 1)))
    model.d_step(real, **labels_for(name, 8))
    assert all(np.array_equal(a, b) for a, b in zip(g0, snapshot(model.G)))
    d1 = snapshot(model.D)
    assert all(not np.array_equal(a, b) for a, b in zip(d0, d1)), "a D parameter did not move"
    model.g_step(8)
    assert all(np.array_equal(a, b) for a, b in zip(d1, snapshot(model.D)))
    assert all(not np.array_equal(a, b) for a, b in zip(g0, snapshot(model.G))), \
        "a G parameter did not move"
    stats = model.train_step(data_for(name, images)[:8])
    assert all(np.isfinite(float(B.to_numpy(stats[k]))) for k in model.history_keys)


@pytest.mark.parametrize("name", SINGLE_DOMAIN)
def test_a_resumed_run_equals_an_uninterrupted_one(name, images, tmp_path):
    cls, images = MODELS[name], data_for(name, images)
    straight = Trainer.create(cls, tiny(name), images, tmp_path / "a", seed=5, progress=False)
    straight.fit()
    first = Trainer.create(cls, tiny(name), images, tmp_path / "b", seed=5, progress=False)
    steps = iter(range(100))
    assert not first.run_epoch(should_stop=lambda: next(steps) >= 3)
    first.save_checkpoint()
    second = Trainer.create(cls, tiny(name), images, tmp_path / "b", seed=0, progress=False)
    second.load_checkpoint()
    second.fit()
    for key in straight.history:
        assert np.array_equal(straight.history[key], second.history[key]), key
    a, b = straight.model.state_dict(), second.model.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(B.to_numpy(a[key]), B.to_numpy(b[key])), key


@pytest.mark.parametrize("name", SINGLE_DOMAIN)
def test_the_command_line_trains_samples_and_resumes_any_model(name, images, tmp_path,
                                                                monkeypatch, capsys):
    data = data_for(name, images)
    monkeypatch.setattr(MODELS[name], "load_data", classmethod(lambda cls, cfg: data))
    out = tmp_path / "run"
    sets = [a for k, v in TINY[name].items() if k != "epochs"
            for a in ("--set", f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}")]
    assert cli_main(["train", name, "--out", str(out), "--epochs", "1", "--no-eval",
                     *sets]) == 0
    _, meta = read_checkpoint(out)
    assert meta["model"] == name and meta["epoch"] == 1
    assert json.loads((out / "config.json").read_text())["model"] == name
    assert cli_main(["sample", str(out), "-n", "4", "-o", str(tmp_path / "s.npz")]) == 0
    assert cli_main(["train", name, "--out", str(out), "--resume", "--epochs", "2",
                     "--no-eval"]) == 0
    assert read_checkpoint(out)[1]["epoch"] == 2
    assert (out / "samples" / "epoch_002.png").exists()


def test_dcgan_is_the_published_architecture_scaled_to_28x28():
    sg.seed(0)
    model = DCGAN(DCGANConfig(channels=8, z_dim=10))
    z = model.sample_z(3)
    assert model.G(z).shape == (3, 1, 28, 28)
    assert model.D(model.G(z)).shape == (3, 1)
    kinds = [type(m).__name__ for m in model.G]
    assert kinds.count("ConvTranspose2d") == 2 and kinds[-1] == "Tanh"
    assert kinds.count("BatchNorm2d") == 1 and "BatchNorm1d" in kinds
    d_kinds = [type(m).__name__ for m in model.D]
    assert d_kinds[:2] == ["Conv2d", "LeakyReLU"]                  # no norm on D's input
    assert d_kinds.count("BatchNorm2d") == 1 and model.D[1].negative_slope == 0.2
    for layer in (m for m in model.G if isinstance(m, (nn.ConvTranspose2d,))):
        assert layer.stride == (2, 2) and layer.kernel_size == (4, 4)
    for layer in (m for m in model.D if isinstance(m, nn.Conv2d)):
        assert layer.stride == (2, 2) and layer.kernel_size == (4, 4)


def test_dcgan_g_last_draws_the_image_from_a_28x28_feature_map():
    sg.seed(0)
    model = DCGAN(DCGANConfig(channels=8, z_dim=10, g_last=4))
    assert model.G(model.sample_z(3)).shape == (3, 1, 28, 28)
    kinds = [type(m).__name__ for m in model.G][-5:]
    assert kinds == ["ConvTranspose2d", "BatchNorm2d", "ReLU", "Conv2d", "Tanh"]
    assert model.G[-5].out_channels == 4 and model.G[-2].kernel_size == (3, 3)
    with pytest.raises(ConfigError, match="^g_last="):
        DCGAN(DCGANConfig(g_last=-1))


def test_dcgan_g_channels_widens_g_alone():
    sg.seed(0)
    model = DCGAN(DCGANConfig(channels=4, g_channels=6, z_dim=10))
    assert model.G(model.sample_z(3)).shape == (3, 1, 28, 28)
    g_convs = [m for m in model.G if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in g_convs] == [(12, 6), (6, 1)]
    assert model.G[0].out_features == 12 * 7 * 7
    d_convs = [m for m in model.D if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels) for m in d_convs] == [(1, 4), (4, 8)]
    with pytest.raises(ConfigError, match="^g_channels="):
        DCGAN(DCGANConfig(g_channels=-1))


def test_dcgan_g_hidden_puts_a_fully_connected_layer_before_the_projection():
    sg.seed(0)
    model = DCGAN(DCGANConfig(channels=4, g_hidden=9, z_dim=10))
    assert model.G(model.sample_z(3)).shape == (3, 1, 28, 28)
    kinds = [type(m).__name__ for m in model.G][:4]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert (model.G[0].in_features, model.G[0].out_features) == (10, 9)
    assert (model.G[3].in_features, model.G[3].out_features) == (9, 8 * 7 * 7)
    plain = DCGAN(DCGANConfig(channels=4, z_dim=10))
    assert [type(m).__name__ for m in plain.G][:4] == ["Linear", "BatchNorm1d", "ReLU",
                                                       "Unflatten"]
    with pytest.raises(ConfigError, match="^g_hidden="):
        DCGAN(DCGANConfig(g_hidden=-1))


def test_dcgan_d_convs_3_adds_a_strided_convolution_that_sees_the_whole_digit():
    sg.seed(0)
    model = DCGAN(DCGANConfig(channels=4, d_convs=3, z_dim=10))
    assert model.D(model.G(model.sample_z(3))).shape == (3, 1)
    convs = [m for m in model.D if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [(1, 4), (4, 8), (8, 16)]
    assert [type(m).__name__ for m in model.D].count("BatchNorm2d") == 2
    assert model.D[-1].in_features == 16 * 3 * 3
    with pytest.raises(ConfigError, match="^d_convs="):
        DCGAN(DCGANConfig(d_convs=4))


@pytest.mark.parametrize("name", ["mnist-wgan", "mnist-wgan-gp"])
def test_the_critic_takes_d_convs_as_dcgans_discriminator_does(name):
    sg.seed(0)
    cfg = dataclasses.replace(MODELS[name].PRESETS["default"], channels=4, z_dim=5, d_convs=3,
                              critic_norm="layer")
    model = MODELS[name](cfg)
    assert model.D(model.G(model.sample_z(2))).shape == (2, 1)
    convs = [m for m in model.D if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels) for m in convs] == [(1, 4), (4, 8), (8, 16)]
    assert [type(m).__name__ for m in model.D].count("LayerNorm") == 2


def test_dcgan_initialises_from_n_0_0_02():
    sg.seed(0)
    model = DCGAN(DCGANConfig(channels=64))
    big = model.G[4].weight                                          # (128, 64, 4, 4)
    w = B.to_numpy(big.data)
    assert abs(w.mean()) < 2e-4 and abs(w.std() - 0.02) < 5e-4
    gamma = B.to_numpy(model.G[5].weight.data)                       # BatchNorm2d's γ
    assert abs(gamma.mean() - 1) < 0.01 and abs(gamma.std() - 0.02) < 0.01
    assert model.G[0].bias is None and model.D[2].bias is None       # no bias before a norm
    assert not B.to_numpy(model.D[0].bias.data).any()


def test_dcgan_presets_follow_radford_et_al():
    paper, default = DCGAN.PRESETS["paper"], DCGAN.PRESETS["default"]
    assert (paper.lr_g, paper.lr_d, paper.betas, paper.init_std) == (2e-4, 2e-4, (0.5, 0.999), 0.02)
    assert (paper.channels, paper.batch_size) == (64, 64)
    # the default keeps the paper's init and betas; it doubles batch and learning rate
    assert (default.betas, default.init_std) == (paper.betas, paper.init_std)
    assert default.lr_g / paper.lr_g == default.batch_size / paper.batch_size == 2


def test_a_discriminator_with_batchnorm_judges_real_and_fake_batches_apart(images):
    """With BatchNorm in D a mixed [real; fake] batch would be normalised with statistics
    that G's step (fakes alone) never sees; D's loss must equal two separate passes."""
    from scratchgan import losses
    sg.seed(0)
    model = DCGAN(tiny("mnist-dcgan"))
    assert not model.d_judges_each_sample_alone
    real = model.as_images(sg.Tensor(B.xp.asarray(images[:8].astype("float32") / 127.5 - 1)))
    fake = model.G(model.sample_z(8)).detach()
    apart = losses.d_loss_minimax(model.D(real), model.D(fake))
    model.opt_d.step = lambda: None
    stats = model.d_step(real, fake)
    assert np.isclose(float(B.to_numpy(stats["d_loss"])), float(B.to_numpy(apart.data)),
                      rtol=1e-6)


@pytest.mark.host_only                                   # it picks the stand-in itself
@pytest.mark.parametrize("name", SINGLE_DOMAIN)
def test_a_training_step_reads_nothing_back_from_the_device(name, images):
    """On the strict stand-in every device→host read is counted: one iteration of any
    model makes none (its losses stay on the device), and the loop reads them back once
    every ``read_every`` iterations, one transfer per number it keeps."""
    from scratchgan import strict
    previous = B.name
    sg.use_backend("strict")
    try:
        sg.seed(0)
        images = data_for(name, images)
        trainer = Trainer(MODELS[name](tiny(name, batch_size=4)), images, "unused", seed=0,
                          progress=False, read_every=5)
        trainer.order = B.rng().permutation(len(images))
        step = trainer.model.samples_per_step
        trainer.model.train_step(images[:step])          # a first call may build caches
        with strict.count_transfers() as moved:
            trainer.model.train_step(images[:step])
        assert moved.to_host == 0, moved.sites
        with strict.count_transfers() as moved:
            for _ in range(10):
                trainer._record(trainer.model.train_step(images[:step]))
        assert moved.to_host == 2 * len(trainer.model.history_keys), moved.sites
    finally:
        sg.use_backend(previous)
