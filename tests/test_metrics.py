"""The evaluator's scores against their definitions, and the classifier cache."""
import numpy as np
import pytest

import scratchgan as sg
from scratchgan import metrics


def test_inception_score_limits():
    ten_digits_confident = np.eye(10)[np.arange(1000) % 10]
    assert metrics.inception_score(ten_digits_confident) == pytest.approx(10.0, rel=1e-6)
    one_digit = np.eye(10)[np.zeros(1000, dtype=int)]
    assert metrics.inception_score(one_digit) == pytest.approx(1.0, rel=1e-6)
    unsure = np.full((1000, 10), 0.1)
    assert metrics.inception_score(unsure) == pytest.approx(1.0, rel=1e-6)
    five_digits = np.eye(10)[np.arange(1000) % 5]
    assert metrics.inception_score(five_digits) == pytest.approx(5.0, rel=1e-6)


def test_inception_score_is_exp_of_mean_kl(rng):
    logits = rng.standard_normal((200, 10)) * 3
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    p_y = p.mean(0)
    expected = np.exp(np.mean([np.sum(row * np.log(row / p_y)) for row in p]))
    assert metrics.inception_score(p) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_gaussians(rng):
    a = rng.standard_normal((20000, 3))
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    shifted = a + np.array([1.0, 2.0, 0.0])
    assert metrics.frechet_distance(a, shifted) == pytest.approx(5.0, rel=1e-6)
    # N(0, I) vs N(0, 4I) in 3-D: Tr(I + 4I − 2·2I) = 3
    wide = rng.standard_normal((20000, 3)) * 2
    assert metrics.frechet_distance(a, wide) == pytest.approx(3.0, rel=0.05)


def test_mean_and_covariance_by_chunks_equal_numpys(rng):
    features = (rng.standard_normal((5003, 6)) * [1, 2, 3, 4, 5, 6] + 100).astype(np.float32)
    mean, cov = metrics.mean_and_covariance(features, chunk=1000)   # chunks of unequal size
    np.testing.assert_allclose(mean, features.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(features.astype(np.float64), rowvar=False),
                               rtol=1e-9, atol=1e-9)


def test_scores_report_mode_coverage():
    probs = np.eye(10)[np.array([0] * 50 + [1] * 30 + [2] * 20)]
    probs = 0.95 * probs + 0.005
    feats = np.random.default_rng(0).standard_normal((100, 4))
    scores = metrics.scores_from(probs, feats, feats)
    assert scores["digit_fractions"][:3] == [0.5, 0.3, 0.2]
    assert scores["rarest_digit_fraction"] == 0.0
    assert scores["confident_fraction"] == 1.0


def test_classifier_cache_is_checked(tmp_path):
    model = metrics.MnistClassifier()
    path = tmp_path / "clf.npz"
    metrics.save_classifier(model, path, {"test_accuracy": 0.5})
    loaded = metrics.load_classifier(path)
    assert loaded is not None
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert np.array_equal(sg.to_numpy(a), sg.to_numpy(b)), k
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF                          # corrupt one byte
    path.write_bytes(bytes(data))
    assert metrics.load_classifier(path) is None          # → retrained by get_classifier
    assert metrics.load_classifier(tmp_path / "missing.npz") is None


def test_a_missing_classifier_is_trained_once_then_loaded_from_the_cache(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (128, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, 128).astype(np.uint8)
    import scratchgan.data.mnist as mnist
    monkeypatch.setattr(mnist, "load_mnist", lambda split: (images, labels))   # tiny stand-in
    trained = []
    real_train = metrics.train_classifier
    monkeypatch.setattr(metrics, "train_classifier", lambda x, y, log=print: trained.append(1)
                        or real_train(x, y, epochs=1, batch_size=64, log=log))
    model, info = metrics.get_classifier(tmp_path, log=lambda *_: None)
    assert trained == [1] and 0 <= info["test_accuracy"] <= 1
    again, info_again = metrics.get_classifier(tmp_path, log=lambda *_: None)
    cached = metrics.classifier_path(tmp_path)
    assert trained == [1] and info_again["sha256"] == metrics.file_sha256(cached)
    for (k, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert np.array_equal(sg.to_numpy(a), sg.to_numpy(b)), k


def test_classifier_learns_a_tiny_task():
    """Two classes of 28×28 images (bright top half vs bright bottom half)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 60, (512, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 2, 512).astype(np.uint8)
    images[labels == 0, :14] += 150
    images[labels == 1, 14:] += 150
    model = metrics.train_classifier(images, labels, epochs=2, batch_size=64, log=lambda *_: None)
    assert metrics.accuracy(model, images, labels) > 0.95
    probs, feats = metrics.predict(model, images[:10])
    assert probs.shape == (10, 10) and feats.shape == (10, 256)
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
