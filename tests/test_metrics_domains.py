"""The translation scores of scratchgan.metrics_domains on tiny synthetic labelled domains:
each row's definition (identity, oracle and label-shifting maps), the per-domain classifier
(learns, repeats for a seed, leaves the run's generator alone) and its cache (SHA-256
sidecar, retrained when corrupt or for other data), offline and in a temporary cache."""
import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import metrics_domains as md

# class k is a 4×4 code of lit 4×4 blocks; X draws it bright on dark, Y dark on bright,
# so a classifier of one domain misreads the other (source only is low)
CODES = np.array([[int(b) for b in f"{v:016b}"] for v in
                  (0x0F0F, 0xF0F0, 0x3C3C, 0xC3C3, 0x00FF, 0xFF00, 0x6666, 0x9999, 0x5A5A,
                   0xA5A5)], dtype=bool).reshape(10, 4, 4)
LEVELS = {"x": (10, 245), "y": (235, 25)}          # (background, ink)


def test_the_codes_are_far_apart():
    flat = CODES.reshape(10, -1)
    distances = (flat[:, None] != flat[None]).sum(-1) + 16 * np.eye(10, dtype=int)
    assert distances.min() >= 4


def render(labels, domain: str, rng, noise: int = 10) -> np.ndarray:
    """uint8 (n, 16, 16): each label's code in the domain's levels, plus noise."""
    background, ink = LEVELS[domain]
    lit = CODES[np.asarray(labels)].repeat(4, 1).repeat(4, 2)
    images = np.where(lit, ink, background) + rng.integers(-noise, noise + 1, lit.shape)
    return np.clip(images, 0, 255).astype(np.uint8)


def labelled(n_per_class: int, domain: str, seed: int):
    labels = np.repeat(np.arange(10, dtype=np.uint8), n_per_class)
    return render(labels, domain, np.random.default_rng(seed)), labels


def decoder(domain: str):
    """A perfect classifier of clean digits of one domain: each 4×4 block's mean against
    the midpoint of the domain's levels, then the nearest code."""
    background, ink = LEVELS[domain]

    def classify(images):
        host = (B.to_numpy(md.as_input(images).data)[:, 0] + 1) * 127.5        # (n, 16, 16)
        blocks = host.reshape(-1, 4, 4, 4, 4).mean(axis=(2, 4))
        lit = (blocks > (background + ink) / 2) == (ink > background)
        return (lit.reshape(-1, 1, 16) != CODES.reshape(1, 10, 16)).sum(-1).argmin(1)
    return classify


def decoded_then_drawn(classify, domain: str, shift: int = 0):
    """A map that reads each digit's class and draws that class (+ shift) in ``domain``."""
    def translate(images):
        labels = (classify(images) + shift) % 10
        drawn = render(labels, domain, np.random.default_rng(1), noise=0)
        return md.as_input(drawn).data
    return translate


@pytest.fixture
def held_out():
    return labelled(3, "x", 10) + labelled(3, "y", 11)


def scores(g, f, held_out):
    x, x_labels, y, y_labels = held_out
    return md.translation_scores(g, f, x, x_labels, y, y_labels, decoder("x"), decoder("y"))


def test_with_identity_maps_label_preservation_is_source_only_and_the_cycle_exact(held_out):
    s = scores(lambda a: a, lambda a: a, held_out)
    for d in md.DIRECTIONS:
        assert s[f"label_preservation_{d}"] == s[f"source_only_{d}"]
        assert s[f"cycle_l1_{d}"] == 0
        assert s[f"target_supervised_{d}"] == 1.0
    assert s["source_only_x_to_y"] < 0.5 and (s["n_x"], s["n_y"]) == (30, 30)


def test_an_oracle_preserves_every_label_and_a_shifted_one_none(held_out):
    oracle = scores(decoded_then_drawn(decoder("x"), "y"), decoded_then_drawn(decoder("y"), "x"),
                    held_out)
    assert oracle["label_preservation_x_to_y"] == oracle["label_preservation_y_to_x"] == 1.0
    assert oracle["cycle_l1_x_to_y"] < 0.1     # the round trip drops only the noise
    shifted = scores(decoded_then_drawn(decoder("x"), "y", shift=1),
                     decoded_then_drawn(decoder("y"), "x", shift=-1), held_out)
    assert shifted["label_preservation_x_to_y"] == shifted["label_preservation_y_to_x"] == 0
    assert shifted["cycle_l1_x_to_y"] < 0.1    # a 3 → 4 → 3 map is cycle-consistent too


def test_the_cycle_error_is_the_mean_absolute_difference_on_the_unit_range(held_out):
    x, _, y, _ = held_out
    s = scores(lambda a: a, lambda a: a * 0 - 1, held_out)     # F draws a blank
    unit = lambda a: a.astype(np.float64) / 127.5 - 1           # noqa: E731
    assert s["cycle_l1_x_to_y"] == pytest.approx(np.abs(-1 - unit(x)).mean(), rel=1e-5)
    assert s["cycle_l1_y_to_x"] == pytest.approx(np.abs(-1 - unit(y)).mean(), rel=1e-5)


def test_the_classifier_learns_a_domain_repeats_for_a_seed_and_leaves_the_run_rng():
    images, labels = labelled(8, "y", 0)
    test_images, test_labels = labelled(4, "y", 1)
    sg.seed(3)
    expected_next = B.rng().random()
    sg.seed(3)
    first = md.train_domain_classifier(images, labels, epochs=8, batch_size=20, log=lambda s: 0)
    assert B.rng().random() == expected_next
    second = md.train_domain_classifier(images, labels, epochs=8, batch_size=20, log=lambda s: 0)
    for a, b in zip(first.parameters(), second.parameters()):
        assert np.array_equal(B.to_numpy(a.data), B.to_numpy(b.data))
    assert md.accuracy(md.predict_labels(first, test_images), test_labels) >= 0.9


@pytest.mark.host_only
def test_the_classifier_is_cached_checked_and_retrained_when_corrupt_or_for_other_data(
        tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHGAN_DATA", str(tmp_path))
    monkeypatch.setattr(md, "train_domain_classifier",
                        lambda images, labels, log, seed=0: md.DomainClassifier())
    images, labels = labelled(2, "x", 0)
    logs = []
    model, info = md.get_domain_classifier("X", images, labels, images, labels, log=logs.append)
    path = md.classifier_path(md.data_fingerprint(images, labels))
    assert path.parent == tmp_path / "classifier" and path.exists()
    assert info["version"] == md.DOMAIN_CLASSIFIER_VERSION and len(logs) == 2
    again, _ = md.get_domain_classifier("X", images, labels, images, labels, log=logs.append)
    assert len(logs) == 2                                         # loaded, not trained
    assert np.array_equal(md.predict_labels(again, images), md.predict_labels(model, images))
    with open(path, "ab") as f:
        f.write(b"\0")
    md.get_domain_classifier("X", images, labels, images, labels, log=logs.append)
    assert len(logs) == 4                                         # corrupt: trained again
    other = labels[::-1].copy()
    assert md.classifier_path(md.data_fingerprint(images, other)) != path


# --- a classifier of a domain without labels (class-balanced self-training) -------------
def test_balanced_selection_keeps_each_class_its_surest_quota(rng):
    logits = rng.standard_normal((200, 10)) * 3
    logits[:120, 9] += 6                      # class 9 named far too often, others rarely
    keep = md.balanced_selection(logits, 0.5)
    labels, top = logits.argmax(1), logits.max(1) - np.logaddexp.reduce(logits, axis=1)
    assert len(set(keep.tolist())) == len(keep)
    for k in range(10):
        mine = np.flatnonzero(labels == k)
        kept = np.intersect1d(keep, mine)
        assert len(kept) == min(len(mine), 10)                  # quota: 0.5 · 200 / 10
        if len(kept) < len(mine):                               # the surest ones
            assert top[kept].min() >= top[np.setdiff1d(mine, kept)].max()


class Confused(sg.nn.Module):
    """A source classifier that is right on every class but reads most 1s as 9s, less
    surely than it reads the real 9s: the kind of systematic error MNIST's classifier makes
    on mfeat-pix."""

    def __init__(self, labels):
        super().__init__()
        self.labels = labels
        self.seen = 0

    def forward(self, x):
        n = x.shape[0]
        labels = self.labels[self.seen:self.seen + n]
        self.seen = (self.seen + n) % len(self.labels)
        logits = np.zeros((n, 10))
        logits[np.arange(n), labels] = 5.0
        ones = np.flatnonzero(labels == 1)[2:]                  # all but two 1s → 9
        logits[ones, 1], logits[ones, 9] = 1.0, 2.0
        return sg.tensor(B.xp.asarray(logits))


@pytest.mark.host_only
def test_self_training_corrects_a_systematic_error_of_the_source_without_labels():
    images, labels = labelled(10, "x", 0)
    source = Confused(labels)
    before = md.accuracy(md.predict_labels(source, images), labels)
    model = md.self_train(source, images, rounds=4, log=lambda s: 0)
    after = md.predict_labels(model, images)
    assert before == 0.92 and md.accuracy(after, labels) >= 0.99
    assert (after[labels == 1] == 1).all()


@pytest.mark.host_only
def test_the_self_trained_classifier_is_cached_by_its_images_and_source(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHGAN_DATA", str(tmp_path))
    made = []
    monkeypatch.setattr(md, "self_train", lambda source, images, **kw: (
        made.append(kw["rounds"]), md.DomainClassifier())[1])
    images, labels = labelled(2, "y", 0)
    first, info = md.get_self_trained_classifier("Y", Confused(labels), images, rounds=3,
                                                 log=lambda s: 0)
    again, _ = md.get_self_trained_classifier("Y", Confused(labels), images, rounds=3,
                                              log=lambda s: 0)
    assert made == [3] and info["self_training_rounds"] == 3
    assert all(np.array_equal(B.to_numpy(a.data), B.to_numpy(b.data))
               for a, b in zip(first.parameters(), again.parameters()))
    md.get_self_trained_classifier("Y", Confused(labels), images, rounds=4, log=lambda s: 0)
    md.get_self_trained_classifier("Y", Confused(labels[::-1].copy()), images, rounds=3,
                                   log=lambda s: 0)
    assert made == [3, 4, 3]                    # more rounds, another source: trained again
    assert len(list((tmp_path / "classifier").glob("*_selftrained*.npz"))) == 3


def test_the_report_has_every_row_for_both_directions(held_out):
    table = md.report_table(scores(lambda a: a, lambda a: a, held_out), ("MNIST", "mfeat"))
    for words in ("target supervised", "source only", "label preservation", "cycle error",
                  "X→Y", "Y→X", "MNIST", "mfeat"):
        assert words in table


def test_spread_picks_distinct_indices_over_the_whole_split():
    assert md.spread(5, 50).tolist() == [0, 10, 20, 30, 40]
    assert md.spread(100, 7).tolist() == list(range(7))
