"""CycleGAN: every term of its objective against finite differences, the identity term's
direction, the history of fakes, which networks each step moves, exact resume through the
one loop, and the command line — on a tiny fake pair of domains, offline, in seconds."""
import json

import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import losses, nn
from scratchgan.__main__ import main as cli_main
from scratchgan.errors import ConfigError
from scratchgan.models import MODELS
from scratchgan.models.cyclegan import (CycleGAN, CycleGANConfig, FakeHistory, d_adv_least_squares,
                                        d_adv_minimax, g_adv_least_squares, g_adv_minimax,
                                        generator_objective, semantic_loss, total)
from scratchgan.train import Trainer, read_checkpoint

TINY = dict(channels=2, n_residual=1, d_channels=2, d_layers=2, batch_size=2, epochs=2,
            pool_size=3)


def tiny(**changes) -> CycleGANConfig:
    return CycleGANConfig(**{**TINY, **changes})


class FakeDomains:
    """The interface of ``scratchgan.data.domains``: ``data[indices]`` → (x, y), uint8
    (b, H, W) each; its length is the larger domain's (the smaller one wraps around);
    ``test``, where given, is the held-out split, of the same interface."""

    def __init__(self, n_x=12, n_y=8, size=16, seed=0, test=True):
        rng = np.random.default_rng(seed)
        self.x = rng.integers(0, 256, (n_x, size, size), dtype=np.uint8)
        self.y = rng.integers(0, 256, (n_y, size, size), dtype=np.uint8)
        if test:
            self.test = FakeDomains(4, 3, size, seed + 1, test=False)

    def __len__(self):
        return max(len(self.x), len(self.y))

    def __getitem__(self, indices):
        indices = np.asarray(indices)
        return self.x[indices % len(self.x)], self.y[indices % len(self.y)]


@pytest.fixture
def data():
    return FakeDomains()


@pytest.fixture
def fake_data(monkeypatch, data):
    """CycleGAN.load_data answers with the fake domains (no download, no domains.py)."""
    monkeypatch.setattr(CycleGAN, "load_data", classmethod(lambda cls, cfg: data))
    return data


def images(model, batch):
    return tuple(model.as_images(b) for b in batch)


def snapshot(net):
    return [B.to_numpy(p.data).copy() for p in net.parameters()]


# --- the contract and the configuration ----------------------------------------------
def test_registered_with_presets_that_follow_zhu_et_al():
    assert MODELS["cyclegan"] is CycleGAN
    assert CycleGAN.two_domains and set(CycleGAN.PRESETS) >= {"default", "paper"}
    for cfg in CycleGAN.PRESETS.values():
        cfg.validate()
        assert (cfg.lr_g, cfg.lr_d, cfg.betas) == (2e-4, 2e-4, (0.5, 0.999))
        assert (cfg.lambda_cyc, cfg.pool_size, cfg.gan_loss) == (10.0, 50, "lsgan")
    paper = CycleGAN.PRESETS["paper"]
    assert (paper.channels, paper.n_residual, paper.d_channels, paper.d_layers) == (64, 9, 64, 3)
    assert (paper.batch_size, paper.epochs, paper.decay_from, paper.upsample) == \
        (1, 200, 0.5, "transpose")
    # the paper's objective (with its identity term) has no semantic term; the digits'
    # default adds CyCADA's, both halves, in place of the identity term, on the same data
    assert paper.lambda_sem == CycleGAN.PRESETS["plain"].lambda_sem == 0.0
    assert paper.lambda_id == CycleGAN.PRESETS["plain"].lambda_id == 0.5
    default = CycleGAN.PRESETS["default"]
    assert default.lambda_sem > 0 and default.pseudo_rounds > 0 and default.sem_judge == "y"
    assert CycleGAN.PRESETS["plain"] == CycleGANConfig(**{
        **vars(default), "lambda_sem": 0.0, "pseudo_rounds": 0, "sem_judge": "x",
        "lambda_id": 0.5})


@pytest.mark.parametrize("field, value", [("upsample", "bilinear"), ("gan_loss", "wgan"),
                                          ("lambda_cyc", -1.0), ("pool_size", -1),
                                          ("n_residual", -1), ("decay_from", 1.5),
                                          ("lambda_sem", -0.5), ("pseudo_rounds", -1),
                                          ("sem_judge", "z"), ("x_per_class", 0)])
def test_a_bad_setting_is_refused_in_one_line(field, value):
    with pytest.raises(ConfigError, match=f"^{field}=") as info:
        CycleGAN(tiny(**{field: value}))
    assert "\n" not in str(info.value)


def test_x_per_class_is_how_many_mnist_digits_of_each_class_x_trains_on(monkeypatch):
    import scratchgan.data.domains as domains_module
    asked = []
    monkeypatch.setattr(domains_module, "load_domains", lambda **kw: (
        asked.append(kw), domains_module.make_domains(
            *fake_sources(), x_train_per_class=kw["x_train_per_class"], x_test_per_class=1))[1])
    data = CycleGAN.load_data(tiny(x_per_class=7))
    assert asked == [{"x_train_per_class": 7}] and len(data.domains.x_train) == len(data) == 70


def fake_sources():
    """Tiny MNIST train/test and mfeat-pix stand-ins: 8 of each digit, 28×28 and 16×15."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10, dtype=np.uint8), 8)
    mnist = lambda: (rng.integers(0, 256, (80, 28, 28), dtype=np.uint8), labels)  # noqa: E731
    return mnist(), mnist(), (rng.integers(0, 7, (80, 16, 15)), labels)


def test_judging_g_by_a_y_classifier_needs_one_made_by_self_training():
    with pytest.raises(ConfigError, match="^sem_judge=y: .*pseudo_rounds > 0$"):
        CycleGAN(tiny(lambda_sem=1.0, sem_judge="y"))


def test_images_whose_sides_are_not_multiples_of_4_are_refused():
    with pytest.raises(ValueError, match="16×15"):
        CycleGAN.as_images(np.zeros((2, 16, 15), dtype=np.uint8))


def test_the_paper_networks_at_their_published_sizes():
    """c7s1-64, d128, d256, 9 × R256, u128, u64, c7s1-1 and the 70×70 PatchGAN
    C64-C128-C256-C512 (one input channel: 11.36 M and 2.76 M weights)."""
    sg.seed(0)
    from scratchgan.models.cyclegan import make_discriminator, make_generator
    cfg = CycleGAN.PRESETS["paper"]
    count = lambda net: sum(int(np.prod(p.shape)) for p in net.parameters())  # noqa: E731
    assert count(make_generator(cfg)) == 11_360_385
    assert count(make_discriminator(cfg)) == 2_761_793


# --- every term of the objective: first and second order, in float64 ------------------
def _objective(gan_loss, lambda_id):
    def fn(dy, dx, x, fgx, y, gfy, fx, gy):
        return total(generator_objective(dy, dx, x, fgx, y, gfy, fx, gy, gan_loss=gan_loss,
                                         lambda_cyc=10.0, lambda_id=lambda_id))
    return fn


def _objective_with_semantic(dy, dx, x, fgx, y, gfy, logits):
    return total(generator_objective(dy, dx, x, fgx, y, gfy, lambda_id=0.0, sem_logits=logits,
                                     x_labels=B.xp.asarray([3, 0]), lambda_sem=2.0))


def _objective_with_both_semantic_halves(dy, dx, x, fgx, y, gfy, logits, logits_f):
    return total(generator_objective(dy, dx, x, fgx, y, gfy, lambda_id=0.0, sem_logits=logits,
                                     x_labels=B.xp.asarray([3, 0]), lambda_sem=2.0,
                                     sem_logits_f=logits_f, y_pseudo=B.xp.asarray([1, 9])))


D_OUT, IMG, LOGITS = (2, 1, 2, 2), (2, 1, 3, 3), (2, 10)
TERMS = {                   # name: (function, input shapes)
    "g_adv_least_squares": (g_adv_least_squares, [D_OUT]),
    "d_adv_least_squares": (d_adv_least_squares, [D_OUT, D_OUT]),
    "g_adv_minimax": (g_adv_minimax, [D_OUT]),
    "d_adv_minimax": (d_adv_minimax, [D_OUT, D_OUT]),
    "objective_lsgan": (_objective("lsgan", 0.5), [D_OUT, D_OUT] + [IMG] * 6),
    "objective_minimax": (_objective("minimax", 0.5), [D_OUT, D_OUT] + [IMG] * 6),
    "objective_no_identity": (_objective("lsgan", 0.0), [D_OUT, D_OUT] + [IMG] * 6),
    "semantic_loss": (lambda logits: semantic_loss(logits, B.xp.asarray([3, 0])), [LOGITS]),
    "objective_semantic": (_objective_with_semantic, [D_OUT, D_OUT] + [IMG] * 4 + [LOGITS]),
    "objective_semantic_both": (_objective_with_both_semantic_halves,
                                [D_OUT, D_OUT] + [IMG] * 4 + [LOGITS, LOGITS]),
}


@pytest.mark.parametrize("name", TERMS)
def test_first_order(name, rng):
    fn, shapes = TERMS[name]
    inputs = [B.xp.asarray(rng.standard_normal(s)) for s in shapes]
    assert sg.gradcheck(fn, inputs, name=name)


@pytest.mark.parametrize("name", TERMS)
def test_second_order(name, rng):
    fn, shapes = TERMS[name]
    inputs = [B.xp.asarray(rng.standard_normal(s)) for s in shapes]
    assert sg.gradgradcheck(fn, inputs, name=name)


def test_each_term_is_the_papers_formula(rng):
    real, fake = rng.standard_normal((2, 6, 1))
    t = lambda a: sg.tensor(B.xp.asarray(a))                            # noqa: E731
    log_sig = lambda a: -np.logaddexp(0, -a)                            # noqa: E731
    assert np.isclose(g_adv_least_squares(t(fake)).item(), ((fake - 1) ** 2).mean())
    assert np.isclose(d_adv_least_squares(t(real), t(fake)).item(),
                      0.5 * (((real - 1) ** 2).mean() + (fake ** 2).mean()))
    assert np.isclose(g_adv_minimax(t(fake)).item(), -log_sig(fake).mean())
    assert np.isclose(d_adv_minimax(t(real), t(fake)).item(),
                      -0.5 * (log_sig(real).mean() + log_sig(-fake).mean()))
    x, fgx, y, gfy, fx, gy = rng.standard_normal((6, 2, 1, 3, 3))
    terms = generator_objective(t(real), t(fake), t(x), t(fgx), t(y), t(gfy), t(fx), t(gy))
    assert np.isclose(terms["cycle"].item(),
                      10 * (np.abs(fgx - x).mean() + np.abs(gfy - y).mean()))
    assert np.isclose(terms["identity"].item(),
                      5 * (np.abs(fx - x).mean() + np.abs(gy - y).mean()))


# --- the identity term's direction ----------------------------------------------------
class Identity(nn.Module):
    def forward(self, x):
        return x


class Negate(nn.Module):
    def forward(self, x):
        return -x


@pytest.mark.parametrize("g_is_identity", [True, False])
def test_identity_term_asks_g_to_keep_a_y_and_f_to_keep_an_x(g_is_identity, rng):
    """G: X → Y applied to a y must return y; F: Y → X applied to an x must return x.
    With G the identity and F a negation, the term is zero when x = 0 (F(0) = 0, G(y) = y)
    and only with the right pairing: the flipped one, ‖G(x) − x‖ + ‖F(y) − y‖, is not."""
    model = CycleGAN(tiny())
    model.G, model.F = (Identity(), Negate()) if g_is_identity else (Negate(), Identity())
    image = sg.tensor(B.xp.asarray(rng.standard_normal((2, 1, 16, 16)).astype("float32")))
    zero = sg.tensor(B.xp.zeros((2, 1, 16, 16), dtype="float32"))
    # the domain whose own mapping is the identity gets the image, the other gets zeros
    x, y = (zero, image) if g_is_identity else (image, zero)
    terms, _, _ = model.generator_terms(x, y)
    assert terms["identity"].item() == 0.0
    flipped = losses.identity_loss(x, model.G(x), y, model.F(y), weight=5.0)
    assert flipped.item() > 1.0


# --- the history of fakes -------------------------------------------------------------
def _constant_images(values):
    """One 1×2×2 image per value, filled with it: which fake came back is readable."""
    values = np.asarray(values, dtype="float32")
    return B.xp.asarray(np.broadcast_to(values[:, None, None, None], (len(values), 1, 2, 2)).copy())


def _values(images):
    return B.to_numpy(images)[:, 0, 0, 0]


def test_the_history_fills_to_its_size_showing_each_new_fake():
    history = FakeHistory(50)
    for start in range(0, 50, 5):
        shown = history.query(_constant_images(range(start, start + 5)))
        assert np.array_equal(_values(shown), np.arange(start, start + 5))
    assert history.count == 50
    assert sorted(_values(history.images)) == list(range(50))


def test_a_full_history_shows_an_old_fake_half_the_time_and_stores_the_new_one():
    sg.seed(3)
    history = FakeHistory(50)
    history.query(_constant_images(range(50)))
    n, swapped, seen = 2000, 0, set(range(50))
    for i in range(n):
        new = 1000 + i
        (shown,) = _values(history.query(_constant_images([new])))
        stored = set(_values(history.images).tolist())
        if shown != new:
            swapped += 1
            assert shown in seen and shown not in stored and new in stored
        else:
            assert new not in stored
        seen |= stored
        assert history.count == 50 and len(stored) == 50
    # binomial(2000, ½): mean 1000, standard deviation 22; ±100 is 4.5 of them
    assert abs(swapped - n / 2) < 100, swapped


def test_a_batch_goes_through_the_history_as_its_images_one_by_one():
    def run(batch):
        sg.seed(7)
        history = FakeHistory(4)
        return np.concatenate([_values(history.query(_constant_images(range(s, s + batch))))
                               for s in range(0, 24, batch)])
    assert np.array_equal(run(1), run(4))
    assert not np.array_equal(run(4), np.arange(24))


def test_the_history_resumes_exactly_and_size_zero_keeps_nothing():
    sg.seed(1)
    a = FakeHistory(5)
    a.query(_constant_images(range(7)))
    state, rng_state = a.state_dict(), B.rng_state()
    b = FakeHistory(5)
    b.load_state_dict({k: B.to_numpy(v) for k, v in state.items()})
    after_a = _values(a.query(_constant_images(range(100, 110))))
    B.set_rng_state(rng_state)
    after_b = _values(b.query(_constant_images(range(100, 110))))
    assert np.array_equal(after_a, after_b)
    assert FakeHistory(5).state_dict()["images"].shape == (0,)
    none = FakeHistory(0)
    assert np.array_equal(_values(none.query(_constant_images([1, 2]))), [1, 2])
    assert none.state_dict()["images"].shape == (0,)


# --- training -------------------------------------------------------------------------
def test_each_step_moves_its_own_networks_and_no_other(data):
    sg.seed(0)
    model = CycleGAN(tiny())
    x, y = images(model, data[np.arange(2)])
    nets = {"G": model.G, "F": model.F, "D_X": model.D_X, "D_Y": model.D_Y}
    before = {k: snapshot(v) for k, v in nets.items()}
    _, g_of_x, f_of_y = model.g_step(x, y)
    after_g = {k: snapshot(v) for k, v in nets.items()}
    for name in ("G", "F"):
        assert all(not np.array_equal(a, b) for a, b in zip(before[name], after_g[name])), \
            f"a parameter of {name} did not move in the G/F step"
    for name in ("D_X", "D_Y"):
        assert all(np.array_equal(a, b) for a, b in zip(before[name], after_g[name])), name
        assert all(p.grad is None for p in nets[name].parameters()), name
    model.d_steps(x, y, g_of_x, f_of_y)
    after_d = {k: snapshot(v) for k, v in nets.items()}
    for name in ("D_X", "D_Y"):
        assert all(not np.array_equal(a, b) for a, b in zip(after_g[name], after_d[name])), \
            f"a parameter of {name} did not move in the D step"
    for name in ("G", "F"):
        assert all(np.array_equal(a, b) for a, b in zip(after_g[name], after_d[name])), name


@pytest.mark.parametrize("upsample", ["transpose", "resize"])
@pytest.mark.parametrize("gan_loss", ["lsgan", "minimax"])
def test_both_upsamplings_and_both_adversarial_losses_train(upsample, gan_loss, data):
    sg.seed(0)
    model = CycleGAN(tiny(upsample=upsample, gan_loss=gan_loss, lambda_id=0.0))
    kinds = [type(m).__name__ for m in model.G]
    if upsample == "transpose":
        ups = [m for m in model.G if isinstance(m, nn.ConvTranspose2d)]
        assert len(ups) == 2 and "Upsample" not in kinds
        assert all((u.kernel_size, u.stride, u.output_padding) == ((3, 3), (2, 2), (1, 1))
                   for u in ups)
    else:
        assert kinds.count("Upsample") == 2 and "ConvTranspose2d" not in kinds
    x, _ = images(model, data[np.arange(2)])
    assert model.G(x).shape == (2, 1, 16, 16)
    for _ in range(2):
        stats = model.train_step(data[np.arange(2)])
    assert set(stats) == set(model.history_keys)
    assert float(B.to_numpy(stats["identity"])) == 0.0            # λ_id = 0: switched off
    assert all(np.isfinite(float(B.to_numpy(v))) for v in stats.values())


def test_the_learning_rate_is_constant_then_decays_linearly():
    model = CycleGAN(tiny(epochs=4, decay_from=0.5, lr_g=2e-4, lr_d=1e-4))
    rates = []
    for epoch in range(4):
        model.set_epoch(epoch)
        rates.append((model.opt_g.lr, model.opt_d.lr))
    assert np.allclose(rates, [(2e-4, 1e-4), (2e-4, 1e-4), (2e-4, 1e-4), (1e-4, 5e-5)])


def test_a_resumed_run_equals_an_uninterrupted_one(fake_data, tmp_path):
    """Through the one loop; the stop falls after the histories (3 fakes each) are full,
    so the resumed run must restore their contents and the coin flips' generator."""
    straight = Trainer.create(CycleGAN, tiny(), fake_data, tmp_path / "a", seed=5, progress=False)
    straight.fit()
    first = Trainer.create(CycleGAN, tiny(), fake_data, tmp_path / "b", seed=5, progress=False)
    steps = iter(range(100))
    assert not first.run_epoch(should_stop=lambda: next(steps) >= 4)
    assert first.model.history_y.count == 3
    first.save_checkpoint()
    second = Trainer.create(CycleGAN, tiny(), fake_data, tmp_path / "b", seed=0, progress=False)
    second.load_checkpoint()
    assert second.model.history_y.count == 3
    second.fit()
    for key in straight.history:
        assert len(straight.history[key]) == 12
        assert np.array_equal(straight.history[key], second.history[key]), key
    a, b = straight.model.state_dict(), second.model.state_dict()
    assert a.keys() == b.keys() and {"pool_x/images", "pool_y/images"} <= set(a)
    for key in a:
        assert np.array_equal(B.to_numpy(a[key]), B.to_numpy(b[key])), key


@pytest.mark.host_only                                   # it picks the stand-in itself
def test_a_training_step_reads_nothing_back_from_the_device(data):
    from scratchgan import strict
    previous = B.name
    sg.use_backend("strict")
    try:
        sg.seed(0)
        trainer = Trainer(CycleGAN(tiny()), data, "unused", seed=0, progress=False,
                          read_every=5)
        batch = data[np.arange(2)]
        trainer.model.train_step(batch)
        with strict.count_transfers() as moved:
            trainer.model.train_step(batch)              # the histories are full by now
        assert moved.to_host == 0, moved.sites
        with strict.count_transfers() as moved:
            for _ in range(10):
                trainer._record(trainer.model.train_step(batch))
        assert moved.to_host == 2 * len(trainer.model.history_keys), moved.sites
    finally:
        sg.use_backend(previous)


# --- outputs --------------------------------------------------------------------------
def test_pictures_samples_and_evaluation_use_the_held_out_split(fake_data, tmp_path):
    sg.seed(0)
    model = CycleGAN(tiny())
    samples = model.sample_uint8(6)
    assert samples.shape == (6, 16, 16) and samples.dtype == np.uint8
    x_test = model.as_images(fake_data.test.x[np.arange(6) % 4])
    with sg.no_grad():
        expected = model.G(x_test)
    assert np.array_equal(samples, np.clip(np.rint((B.to_numpy(expected.data) + 1) * 127.5),
                                           0, 255).astype(np.uint8)[:, 0])
    assert np.array_equal(model.sample_uint8(6), samples)         # the same images each time
    path = model.save_pictures(tmp_path, 1, seed=0)
    assert path.exists()
    scores = model.evaluate(100)
    assert scores["n_pairs"] == 4 and 0 <= scores["cycle_l1_x_to_y"] <= 2
    assert "|F(G(x)) − x|" in model.report(scores)          # unlabelled: cycle errors only


def test_without_a_test_split_training_pairs_spread_over_it_are_held_out(monkeypatch):
    from scratchgan.metrics_domains import spread
    plain = FakeDomains(test=False)
    monkeypatch.setattr(CycleGAN, "load_data", classmethod(lambda cls, cfg: plain))
    model = CycleGAN(tiny())
    x, y = model.held_out(3)
    picked = plain[spread(3, len(plain))]
    assert np.array_equal(x, picked[0]) and np.array_equal(y, picked[1])
    assert len(set(spread(3, len(plain)).tolist())) == 3 and spread(3, len(plain))[-1] > 2


@pytest.mark.host_only
def test_the_command_line_trains_samples_evaluates_and_resumes(fake_data, tmp_path):
    out = tmp_path / "run"
    sets = [a for k, v in TINY.items() if k != "epochs" for a in ("--set", f"{k}={v}")]
    assert cli_main(["train", "cyclegan", "--out", str(out), "--epochs", "1", "--preset",
                     "plain", *sets]) == 0
    _, meta = read_checkpoint(out)
    assert meta["model"] == "cyclegan" and meta["epoch"] == 1
    assert "cycle_l1_x_to_y" in json.loads((out / "metrics.json").read_text())["evaluation"]
    assert cli_main(["sample", str(out), "-n", "4", "-o", str(tmp_path / "s.npz")]) == 0
    assert np.load(tmp_path / "s.npz")["images"].shape == (4, 16, 16)
    assert cli_main(["train", "cyclegan", "--out", str(out), "--resume", "--epochs", "2",
                     "--no-eval"]) == 0
    assert read_checkpoint(out)[1]["epoch"] == 2
    assert (out / "samples" / "epoch_002.png").exists()


def use_labelled_domains(monkeypatch, tmp_path):
    """CycleGAN.load_data answers with tiny labelled domains ("ink" and "paper": 4 training
    and 2 held-out digits of each class each), and classifiers cache in ``tmp_path``.
    Returns the splits as (images, labels): X train, X test, Y train, Y test."""
    from scratchgan.data.domains import Domains
    from test_metrics_domains import labelled
    monkeypatch.setenv("SCRATCHGAN_DATA", str(tmp_path))
    splits = (labelled(4, "x", 0), labelled(2, "x", 1), labelled(4, "y", 2), labelled(2, "y", 3))
    data = FakeDomains(test=False)
    data.domains = Domains(*(array for split in splits for array in split))
    data.names = ("ink", "paper")
    monkeypatch.setattr(CycleGAN, "load_data", classmethod(lambda cls, cfg: data))
    return splits


def test_labelled_domains_are_scored_by_each_domains_classifier(monkeypatch, tmp_path):
    """With labels (``data.domains``), the evaluation trains a classifier per domain into
    the cache (here a temporary one) and scores both directions; with G and F the identity,
    label preservation is source only and the cycle is exact."""
    use_labelled_domains(monkeypatch, tmp_path)
    model = CycleGAN(tiny())
    model.G = model.F = nn.Sequential()
    scores = model.evaluate(15)
    assert (scores["n_x"], scores["n_y"]) == (15, 15)
    for d in ("x_to_y", "y_to_x"):
        assert scores[f"label_preservation_{d}"] == scores[f"source_only_{d}"]
        assert scores[f"cycle_l1_{d}"] == 0
    assert len(list((tmp_path / "classifier").glob("domain_classifier_*.npz"))) == 2
    report = model.report(scores)
    assert "label preservation" in report and "ink" in report and "paper" in report


# --- the semantic term (CyCADA) ---------------------------------------------------------
def test_the_semantic_term_is_cross_entropy_of_x_labels(rng):
    logits = rng.standard_normal((3, 10))
    labels = np.array([7, 0, 7])
    log_p = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    expected = -log_p[np.arange(3), labels].mean()
    got = semantic_loss(sg.tensor(B.xp.asarray(logits)), B.xp.asarray(labels))
    assert np.isclose(float(B.to_numpy(got.data)), expected, rtol=1e-12)


class LabelledFakeDomains(FakeDomains):
    """FakeDomains whose batches carry x's labels, as ``domains.unpaired(x_labels=True)``."""

    def __getitem__(self, indices):
        indices = np.asarray(indices)
        return (*super().__getitem__(indices), (indices % len(self.x)) % 10)


def test_the_semantic_term_reaches_g_alone_through_a_fixed_classifier(monkeypatch):
    from scratchgan.metrics_domains import DomainClassifier
    import types
    sg.seed(0)
    data = LabelledFakeDomains()
    data.domains = types.SimpleNamespace(x_train=data.x, x_train_labels=None, x_test=None,
                                         x_test_labels=None)
    model = CycleGAN(tiny(lambda_sem=1.0))
    monkeypatch.setattr(CycleGAN, "load_data", classmethod(lambda cls, cfg: data))
    monkeypatch.setattr("scratchgan.metrics_domains.get_domain_classifier",
                        lambda *a, **kw: (DomainClassifier(size=16), {}))
    batch = data[np.arange(2)]
    x, y = images(model, batch[:2])
    with nn.frozen(model.D_X), nn.frozen(model.D_Y):
        terms, _, _ = model.generator_terms(x, y, batch[2])
        terms["semantic"].backward()
    assert set(terms) == {"g_adv", "f_adv", "cycle", "identity", "semantic"}
    assert all(p.grad is not None and np.abs(B.to_numpy(p.grad.data)).sum() > 0
               for p in model.G.parameters())
    for net in (model.F, model.D_X, model.D_Y, model._semantic):
        assert all(p.grad is None for p in net.parameters())
    stats = model.train_step(batch)
    assert float(B.to_numpy(stats["semantic"])) > 0
    with pytest.raises(ValueError, match="X's labels"):
        model.train_step(batch[:2])


def test_with_pseudo_labels_the_term_reaches_g_and_f_and_y_labels_are_never_read(monkeypatch):
    """Both halves: f_Y reads G(x) as x's label, f_X reads F(y) as f_Y's label of y.  The
    domains handed to the model have no label of Y at all, and neither classifier moves."""
    from scratchgan.metrics_domains import DomainClassifier
    import types
    sg.seed(0)
    data = LabelledFakeDomains()
    data.domains = types.SimpleNamespace(x_train=data.x, x_train_labels=np.arange(12) % 10,
                                         x_test=None, x_test_labels=None, y_train=data.y)
    made_from = []
    monkeypatch.setattr(CycleGAN, "load_data", classmethod(lambda cls, cfg: data))
    monkeypatch.setattr("scratchgan.metrics_domains.get_domain_classifier",
                        lambda *a, **kw: (DomainClassifier(size=16), {}))
    monkeypatch.setattr("scratchgan.metrics_domains.get_self_trained_classifier",
                        lambda name, source, images, rounds, **kw: (
                            made_from.append((source, images, rounds)),
                            (DomainClassifier(size=16), {}))[1])
    model = CycleGAN(tiny(lambda_sem=1.0, pseudo_rounds=3, sem_judge="y"))
    batch = data[np.arange(2)]
    x, y = images(model, batch[:2])
    with nn.frozen(model.D_X), nn.frozen(model.D_Y):
        terms, _, _ = model.generator_terms(x, y, batch[2])
        terms["semantic"].backward()
    assert made_from == [(model._semantic, data.y, 3)]
    for net in (model.G, model.F):
        assert all(p.grad is not None and np.abs(B.to_numpy(p.grad.data)).sum() > 0
                   for p in net.parameters())
    for net in (model.D_X, model.D_Y, model._semantic, model._pseudo):
        assert all(p.grad is None for p in net.parameters())
    assert model._pseudo is not model._semantic


def test_without_the_semantic_term_its_curve_is_zero_and_no_classifier_is_made(data):
    sg.seed(0)
    model = CycleGAN(tiny())
    stats = model.train_step(data[np.arange(2)])
    assert float(B.to_numpy(stats["semantic"])) == 0.0 and model._semantic is None


@pytest.mark.host_only
def test_the_semantic_classifier_learns_x_alone_and_is_not_the_judge(monkeypatch, tmp_path):
    """f_X is trained on X's training split with seed 1 and cached apart from the
    evaluation's classifiers (seed 0): other weights, another file."""
    (xa, la), (xb, lb), (ya, _), _ = use_labelled_domains(monkeypatch, tmp_path)
    trained_on = []
    import scratchgan.metrics_domains as md
    real_train = md.train_domain_classifier
    monkeypatch.setattr(md, "train_domain_classifier", lambda images, labels, **kw: (
        trained_on.append((images, kw["seed"])), real_train(images, labels, epochs=2, **kw))[1])
    model = CycleGAN(tiny(lambda_sem=1.0))
    semantic = model.semantic_classifier
    assert len(trained_on) == 1 and trained_on[0][0] is xa and trained_on[0][1] == 1
    assert not semantic.training
    model.evaluate(10)
    files = sorted(p.name for p in (tmp_path / "classifier").glob("domain_classifier_*.npz"))
    assert len(files) == 3 and sum("_seed1" in f for f in files) == 1
    judge = md.get_domain_classifier("ink", xa, la, xb, lb)[0]
    assert not all(np.array_equal(B.to_numpy(a.data), B.to_numpy(b.data))
                   for a, b in zip(judge.parameters(), semantic.parameters()))

    # with pseudo-labels: f_Y learns from Y's training images (never their labels), is
    # cached apart, and the evaluation says how often its labels are right
    trained_on.clear()
    model = CycleGAN(tiny(lambda_sem=1.0, pseudo_rounds=2, sem_judge="y"))
    assert model.pseudo_classifier is not None and len(trained_on) == 2
    y_rows = {image.tobytes() for image in ya}
    assert all(image.tobytes() in y_rows for images, _ in trained_on for image in images)
    scores = model.evaluate(10)
    assert 0 <= scores["pseudo_labels_y"] <= 1
    assert "Y's pseudo-labels" in model.report(scores)
    assert len(list((tmp_path / "classifier").glob("*_selftrained2_seed2.npz"))) == 1


@pytest.mark.host_only
def test_the_semantic_term_on_data_without_labels_is_refused_before_any_work(
        fake_data, tmp_path, capsys):
    out = tmp_path / "run"
    sets = [a for k, v in TINY.items() if k != "epochs" for a in ("--set", f"{k}={v}")]
    assert cli_main(["train", "cyclegan", "--out", str(out), "--epochs", "1", *sets]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: lambda_sem=1.0:") and "--preset plain" in err
    assert "\n" not in err and not out.exists()
