"""The conditional GAN: G(z, y) and D(x, y) in both architectures, the label really reaching
both networks, a grid whose rows are digits, the requested-digit score, and one-line
refusals — on tiny networks and synthetic data, offline, in seconds.  The loop, resume and
command line are tested for every model in test_models.py."""
import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import metrics
from scratchgan.errors import ConfigError
from scratchgan.models import MODELS
from scratchgan.models.base import fixed_noise
from scratchgan.models.cgan import (CGANConfig, ConditionalGAN, LabelledDigits, one_hot,
                                    requested_digit_scores, requested_digit_share)

ARCHS = [("mlp", "onehot"), ("mlp", "embedding"), ("dcgan", "onehot"), ("dcgan", "embedding"),
         ("mlp", "projection"), ("dcgan", "projection")]
IDS = [f"{a}-{l}" for a, l in ARCHS]


def conditioned(arch, label_input, **changes) -> dict:
    """label_input "projection" stands for a one-hot G and a projection D."""
    if label_input == "projection":
        return dict(arch=arch, d_conditioning="projection", **changes)
    return dict(arch=arch, label_input=label_input, **changes)


def tiny(**changes) -> CGANConfig:
    return CGANConfig(**{**dict(z_dim=8, g_hidden=(16,), d_hidden=(16,), channels=4,
                                batch_size=8, ema_decay=0.0), **changes})


def host(t):
    return B.to_numpy(t.data)


@pytest.mark.parametrize("arch, label_input", ARCHS, ids=IDS)
def test_conditional_shapes(arch, label_input):
    model = ConditionalGAN(tiny(**conditioned(arch, label_input, embed_dim=3)))
    z, e_y = model.sample_z(5), one_hot(np.array([0, 3, 9, 9, 1]))
    assert e_y.shape == (5, 10) and np.array_equal(host(e_y).argmax(1), [0, 3, 9, 9, 1])
    images = model.G(z, e_y)
    assert images.shape == ((5, 784) if arch == "mlp" else (5, 1, 28, 28))
    assert model.D(images, e_y).shape == (5, 1)
    width = {"onehot": 10, "embedding": 3, "projection": 0}[label_input]   # D's extra inputs
    d_net = model.D.features if label_input == "projection" else model.D.body
    first_d = next(m for _, m in d_net.named_modules() if hasattr(m, "weight"))
    assert host(first_d.weight).shape[1] == (784 + width if arch == "mlp" else 1 + width)


@pytest.mark.parametrize("arch, label_input", ARCHS, ids=IDS)
def test_the_label_reaches_g_and_d(arch, label_input):
    """Same z, other digit: another image; same image, other digit: another verdict; and
    D's gradient reaches its label input (its embedding, when it has one)."""
    model = ConditionalGAN(tiny(**conditioned(arch, label_input)))
    model.G.eval()                                   # BatchNorm: each sample on its own
    z = model.sample_z(6)
    threes, sevens = one_hot(np.full(6, 3)), one_hot(np.full(6, 7))
    a, b = host(model.G(z, threes)), host(model.G(z, sevens))
    assert np.all(np.abs(a - b).reshape(6, -1).max(1) > 1e-6)
    x = model.G(z, threes).detach()
    d3, d7 = host(model.D(x, threes)), host(model.D(x, sevens))
    assert np.all(np.abs(d3 - d7) > 1e-7)
    if label_input != "onehot":                      # a learned table: only row 3 moves
        model.D(x, threes).sum().backward()
        table = model.D.embed if label_input == "projection" else model.D.label.weight
        grad = host(table.grad)
        assert np.abs(grad[3]).max() > 0 and not grad[np.arange(10) != 3].any()


def test_a_one_hot_label_in_front_of_a_linear_layer_is_a_per_class_bias():
    """[x ; e_y] W' = x Wₓ' + W'[:, 784 + y]: the column of y, added (the module's docstring)."""
    model = ConditionalGAN(tiny())
    first = model.D.body[0]
    x = sg.Tensor(B.xp.asarray(np.random.default_rng(0).standard_normal((4, 784)), dtype="float32"))
    labels = np.array([2, 5, 5, 0])
    joined = host(first(sg.functional.concatenate([x, one_hot(labels)], axis=1)))
    W, b = host(first.weight), host(first.bias)
    expected = host(x) @ W[:, :784].T + b + W[:, 784 + labels].T
    np.testing.assert_allclose(joined, expected, rtol=1e-5, atol=1e-5)


def test_labelled_digits_slice_images_and_labels_together():
    images = np.arange(5 * 28 * 28, dtype=np.uint32).reshape(5, 28, 28).astype(np.uint8)
    data = LabelledDigits(images, np.array([4, 1, 0, 3, 2], dtype=np.uint8))
    part = data[np.array([3, 0])]
    assert len(data) == 5 and len(part) == 2
    assert np.array_equal(part.images, images[[3, 0]]) and list(part.labels) == [3, 4]
    assert list(data[1:3].labels) == [1, 0]
    with pytest.raises(ValueError, match="5 images but 4 labels"):
        LabelledDigits(images, np.zeros(4, dtype=np.uint8))


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_the_grid_has_one_row_per_digit_and_one_z_per_column(arch, tmp_path):
    model = ConditionalGAN(tiny(arch=arch))
    grid = host(model.digit_grid(seed=3)).reshape(10, 10, 784)
    z = fixed_noise(3, 10, 8)                     # the grid's z, one per column
    for digit in (0, 4, 9):
        row = host(model.generate(z, B.xp.full(10, digit))).reshape(10, 784)
        np.testing.assert_allclose(grid[digit], row, rtol=1e-5, atol=1e-6)
    assert not np.allclose(grid[0], grid[1])
    assert model.save_pictures(tmp_path, 1, seed=3).exists()
    model.final_pictures(tmp_path, seed=3)
    assert (tmp_path / "interpolation.png").exists()


def test_samples_ask_for_every_digit_in_turn():
    model = ConditionalGAN(tiny())
    assert list(model.requested_digits(12)) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    images = model.sample_uint8(12, seed=1)
    assert images.shape == (12, 28, 28) and images.dtype == np.uint8
    twos = model.sample_uint8(12, seed=1, labels=np.full(12, 2))
    assert np.array_equal(images[2], twos[2]) and not np.array_equal(images[3], twos[3])


def blocks(n, rng):
    """A ten-class task a classifier learns in seconds: digit c is a bright 4×10 block at
    row 1 + 5·(c // 2), left or right half by c % 2."""
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, c in enumerate(labels):
        top, left = 1 + 5 * (c // 2), 2 + 14 * (c % 2)
        images[i, top:top + 4, left:left + 10] = 230
    return images, labels


@pytest.fixture(scope="module")
def block_classifier():
    images, labels = blocks(1024, np.random.default_rng(1))
    return metrics.train_classifier(images, labels, epochs=2, batch_size=64, log=lambda *_: None)


@pytest.mark.host_only
def test_the_requested_digit_share_is_high_for_true_labels_and_chance_for_shuffled(
        block_classifier):
    images, labels = blocks(1000, np.random.default_rng(2))
    right = requested_digit_scores(block_classifier, images, labels)
    shuffled = requested_digit_scores(block_classifier, images,
                                      np.random.default_rng(3).permutation(labels))
    assert right["requested_digit_share"] > 0.95
    assert min(right["requested_digit_by_class"]) > 0.8
    assert abs(shuffled["requested_digit_share"] - 0.1) < 0.04
    assert requested_digit_share(np.eye(10)[[1, 2, 3]], [1, 2, 0]) == pytest.approx(2 / 3)


@pytest.mark.host_only
def test_on_real_mnist_the_share_is_the_classifiers_accuracy_and_shuffled_it_is_chance():
    """With MNIST and the evaluator's classifier in the cache (else skipped: no download)."""
    from scratchgan.data.mnist import MnistUnavailable, load_mnist
    classifier = metrics.load_classifier(metrics.classifier_path())
    try:
        images, labels = load_mnist("test", mirrors=(), packages=(), log=lambda *_: None)
    except MnistUnavailable:
        images = None
    if classifier is None or images is None:
        pytest.skip("MNIST or the evaluator's classifier is not in the cache")
    images, labels = images[:2000], labels[:2000]
    right = requested_digit_scores(classifier, images, labels)
    shuffled = requested_digit_scores(classifier, images,
                                      np.random.default_rng(0).permutation(labels))
    assert right["requested_digit_share"] > 0.97
    assert abs(shuffled["requested_digit_share"] - 0.1) < 0.03


@pytest.mark.host_only
def test_evaluate_adds_the_requested_digit_share_and_report_shows_it(block_classifier,
                                                                     monkeypatch):
    model = ConditionalGAN(tiny())
    usual = {"inception_score": 2.0, "frechet_distance": 50.0, "confident_fraction": 0.5,
             "rarest_digit_fraction": 0.05, "digit_fractions": [0.1] * 10, "n_samples": 20}
    monkeypatch.setattr(metrics, "evaluate_samples", lambda images: {
        "samples": dict(usual), "real_test_set": dict(usual), "classifier_test_accuracy": 0.99})
    monkeypatch.setattr(metrics, "get_classifier", lambda: (block_classifier, {}))
    scores = model.evaluate(20, seed=0)
    share = scores["samples"]["requested_digit_share"]
    assert 0 <= share <= 1 and len(scores["samples"]["requested_digit_by_class"]) == 10
    text = model.report(scores)
    assert "requested digit" in text and f"{share:.3f}" in text and "goal ≥ 0.95" in text


def test_a_conditional_d_step_refuses_images_without_labels():
    model = ConditionalGAN(tiny())
    with pytest.raises(ValueError, match="labels"):
        model.d_step(model.as_images(sg.Tensor(B.xp.zeros((8, 28, 28), dtype="float32"))))


def test_presets_and_registry():
    assert MODELS["mnist-cgan"] is ConditionalGAN
    assert ConditionalGAN.PRESETS["default"].arch == "mlp"
    assert ConditionalGAN.PRESETS["default"].d_conditioning == "projection"
    assert ConditionalGAN.PRESETS["concat"].d_conditioning == "concat"
    assert ConditionalGAN.PRESETS["dcgan"].arch == "dcgan"


@pytest.mark.parametrize("field, value", [("arch", "resnet"), ("label_input", "text"),
                                          ("d_conditioning", "sum"),
                                          ("embed_dim", 0), ("g_hidden", ()),
                                          ("d_hidden", (8, 0)), ("channels", 0),
                                          ("d_dropout", 1.0), ("init_std", 0.0)])
def test_a_bad_setting_is_refused_in_one_line(field, value):
    with pytest.raises(ConfigError, match=f"^{field}=") as info:
        ConditionalGAN(tiny(**{field: value}))
    assert "\n" not in str(info.value)
