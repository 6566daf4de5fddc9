"""Scores for a translation between two labelled digit domains (CycleGAN's X and Y).

A classifier per domain, trained with scratchgan on that domain's training split, judges
the translations.  For the direction X → Y (G, judged by Y's classifier C_Y), on held-out
x with labels l(x) and held-out y with labels l(y):

    target supervised    P[C_Y(y) = l(y)]        C_Y on its own domain: the ceiling
    source only          P[C_Y(x) = l(x)]        C_Y on untranslated x: what no translation gives
    label preservation   P[C_Y(G(x)) = l(x)]     G kept the digit and made it read as a y
    cycle error          mean |F(G(x)) − x|      pixels in [−1, 1]

and the same for Y → X (F, judged by C_X).  With G the identity, label preservation equals
source only; with G an oracle that maps each x to a y of its class, it equals C_Y's accuracy
on those y.  The adversarial terms alone cannot tell a 3 → 3 map from a 3 → 8 one: label
preservation is the score that can.

Each classifier is cached under ``cache_home()/classifier`` as .npz with a JSON sidecar
(its SHA-256, the version, and a fingerprint of the data it was trained on): a missing,
corrupt, outdated or other-data cache is retrained, with the same weights for the same data.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Callable

from . import backend, nn, optim
from . import functional as F
from .autograd import Tensor, no_grad
from .backend import numpy as np      # data and labels stay on the host, as uint8
from .data.mnist import scale_batch
from .fileio import cache_home, sha256_file

DOMAIN_CLASSIFIER_VERSION = 1   # bump when the classifier or its training changes
ROWS = ("target_supervised", "source_only", "label_preservation", "cycle_l1")
DIRECTIONS = ("x_to_y", "y_to_x")


class DomainClassifier(nn.Module):
    """MnistClassifier scaled to 16×16: 1×H×W → conv 4×4 stride 2 → 16×H/2×W/2 → conv 4×4
    stride 2 → 32×H/4×W/4 → 128 → 10, ReLU, dropout."""

    def __init__(self, size: int = 16, channels=(16, 32), hidden: int = 128,
                 dropout: float = 0.2):
        super().__init__()
        c1, c2 = channels
        self.body = nn.Sequential(nn.Conv2d(1, c1, 4, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(),
                                  nn.Flatten(), nn.Linear(c2 * (size // 4) ** 2, hidden),
                                  nn.ReLU(), nn.Dropout(dropout))
        self.head = nn.Linear(hidden, 10)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def as_input(images) -> Tensor:
    """uint8 host (N, H, W) → a device Tensor (N, 1, H, W) in [−1, 1]; a float device array
    or Tensor already in [−1, 1] (a generator's output) is only reshaped."""
    if isinstance(images, np.ndarray) and images.dtype == np.uint8:
        images = scale_batch(images, xp=backend.xp)
    data = images.data if isinstance(images, Tensor) else images
    return Tensor(data.reshape(data.shape[0], 1, data.shape[-2], data.shape[-1]))


def predict_logits(model: DomainClassifier, images, batch_size: int = 500) -> "np.ndarray":
    """The classifier's 10 logits for each image (uint8 host or float device, see
    ``as_input``), as host (N, 10)."""
    model.eval()
    logits = []
    with no_grad():
        for start in range(0, images.shape[0], batch_size):
            logits.append(backend.to_numpy(model(as_input(images[start:start + batch_size])).data))
    return np.concatenate(logits)


def predict_labels(model: DomainClassifier, images, batch_size: int = 500) -> "np.ndarray":
    """The classifier's digit for each image, as host int64 (N,)."""
    return predict_logits(model, images, batch_size).argmax(1).astype(np.int64)


def accuracy(predicted, labels) -> float:
    return float((np.asarray(predicted) == np.asarray(labels)).mean())


def _shift(batch: "np.ndarray", rng, max_shift: int = 1) -> "np.ndarray":
    """uint8 (n, H, W), each moved by up to ±max_shift pixels on background 0: a translated
    digit need not sit where the training digits sat."""
    n, h, w = batch.shape
    padded = np.pad(batch, ((0, 0), (max_shift,) * 2, (max_shift,) * 2))
    dy, dx = rng.integers(0, 2 * max_shift + 1, (2, n))
    rows = dy[:, None] + np.arange(h)[None, :]
    cols = dx[:, None] + np.arange(w)[None, :]
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def train_domain_classifier(images, labels, epochs: int = 30, batch_size: int = 50,
                            lr: float = 2e-3, seed: int = 0, log=print) -> DomainClassifier:
    """Adam with a cosine decay on uint8 (N, H, W) digits and their labels.  The same weights
    for the same data and seed, whatever ran before; the run's own generator is left where
    it was (a score must not change what a training run draws next)."""
    with backend.fork_rng(seed):            # initial weights and dropout masks
        return _train(np.asarray(images), np.asarray(labels, dtype=np.int64), epochs,
                      batch_size, lr, np.random.default_rng(seed), log)


def _train(images, labels, epochs, batch_size, lr, rng, log):
    xp = backend.xp
    model = DomainClassifier(size=images.shape[-1])
    opt = optim.Adam(model.parameters(), lr=lr)
    n = len(images)
    batch_size = min(batch_size, n)
    total_steps, step = epochs * (n // batch_size), 0
    for epoch in range(epochs):
        order, loss_sum = rng.permutation(n), 0.0
        for start in range(0, n - batch_size + 1, batch_size):
            opt.lr = lr * 0.5 * (1 + np.cos(np.pi * step / total_steps))
            step += 1
            idx = order[start:start + batch_size]
            logp = F.log_softmax(model(as_input(_shift(images[idx], rng))), axis=1)
            loss = -logp[xp.arange(len(idx)), xp.asarray(labels[idx])].mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item()
        if (epoch + 1) % 10 == 0 or epoch + 1 == epochs:
            log(f"  classifier epoch {epoch + 1}/{epochs}: loss "
                f"{loss_sum / (n // batch_size):.4f}")
    return model.eval()


# --- a classifier of a domain without labels -------------------------------------------
def self_train(source_classifier: DomainClassifier, images, rounds: int = 6,
               start: float = 0.3, step: float = 0.15, seed: int = 2,
               log=print) -> DomainClassifier:
    """A classifier of an unlabelled domain, from its images and another domain's classifier
    alone: class-balanced self-training (Zou et al. 2018, "CBST").

        round 0   label every image with the source classifier's digit (right where the
                  two domains draw a digit alike, wrong where they do not)
        round r   for each digit k, keep the fraction p_r = min(1, start + r·step) of N/10
                  images labelled k that are labelled most confidently; train a fresh
                  classifier on them; its digits and confidences label round r + 1

    Keeping the same number per digit is what corrects the source's systematic errors: a
    digit the source rarely names (mfeat's 1, which MNIST's classifier reads as a 9) still
    keeps its most confident few, so the next classifier learns it, while a digit the source
    names too often keeps only its surest N/10·p_r.  No label of ``images`` is used."""
    images = np.asarray(images)
    logits = predict_logits(source_classifier, images)
    model = source_classifier
    for r in range(rounds):
        keep = balanced_selection(logits, min(1.0, start + r * step))
        log(f"  self-training round {r + 1}/{rounds}: {len(keep)} images kept")
        model = train_domain_classifier(images[keep], logits[keep].argmax(1), seed=seed + r,
                                        log=lambda *_: None)
        logits = predict_logits(model, images)
    return model


def balanced_selection(logits: "np.ndarray", fraction: float) -> "np.ndarray":
    """Indices of the images to learn from: for each class k, of the images whose most
    likely class is k, the int(fraction · N/K) with the highest probability of k (all of
    them where fewer are labelled k), in class order."""
    n, classes = logits.shape
    labels = logits.argmax(1)
    confidence = (logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)).max(1)
    quota = int(fraction * n / classes)
    return np.concatenate([
        np.flatnonzero(labels == k)[np.argsort(-confidence[labels == k], kind="stable")][:quota]
        for k in range(classes)])


# --- the cache ---------------------------------------------------------------------------
def data_fingerprint(images, labels) -> str:
    """SHA-256 of the training images and labels (shape, dtype and bytes): a classifier is
    reused only for the very data it was trained on."""
    digest = hashlib.sha256()
    for array in (np.ascontiguousarray(images), np.ascontiguousarray(labels)):
        digest.update(f"{array.shape} {array.dtype}\n".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def classifier_path(fingerprint: str, cache_dir=None, seed: int = 0, tag: str = "") -> Path:
    root = Path(cache_dir) if cache_dir else cache_home()
    seeded = f"_seed{seed}" if seed else ""
    return root / "classifier" / \
        f"domain_classifier_v{DOMAIN_CLASSIFIER_VERSION}_{fingerprint[:16]}{tag}{seeded}.npz"


def load_domain_classifier(path: Path, fingerprint: str, size: int) -> DomainClassifier | None:
    """The cached classifier, or None when missing, corrupt, of another version or trained
    on other data."""
    sidecar = path.with_suffix(".json")
    if not path.exists() or not sidecar.exists():
        return None
    try:
        info = json.loads(sidecar.read_text())
    except ValueError:
        return None
    if (info.get("sha256") != sha256_file(path) or info.get("data_sha256") != fingerprint
            or info.get("version") != DOMAIN_CLASSIFIER_VERSION):
        return None
    with np.load(path, allow_pickle=False) as data:
        state = {k: data[k] for k in data.files}
    model = DomainClassifier(size=size)
    model.load_state_dict(state)
    return model.eval()


def _cached(path: Path, fingerprint: str, size: int, train: Callable, describe: str,
            log) -> tuple[DomainClassifier, dict]:
    """The classifier at ``path`` if it is there, whole and made from the same data; else
    ``train()`` → (model, info), written atomically with its sidecar."""
    from .checkpoint import save_npz_atomic, write_json_atomic
    model = load_domain_classifier(path, fingerprint, size)
    if model is not None:
        return model, json.loads(path.with_suffix(".json").read_text())
    log(f"training {describe} (cached at {path}) ...")
    start = time.perf_counter()
    model, info = train()
    info = dict(info, seconds=round(time.perf_counter() - start, 1),
                version=DOMAIN_CLASSIFIER_VERSION, data_sha256=fingerprint)
    save_npz_atomic(path, {k: backend.to_numpy(v) for k, v in model.state_dict().items()})
    write_json_atomic(path.with_suffix(".json"), dict(info, sha256=sha256_file(path)))
    return model, info


def get_domain_classifier(name: str, train_images, train_labels, test_images, test_labels,
                          cache_dir=None, log=print, seed: int = 0,
                          purpose: str = "evaluation") -> tuple[DomainClassifier, dict]:
    """The classifier of one domain, from the cache or trained (on the train split) and
    scored (on the test split) and cached.  Returns it and its sidecar's information.
    Another ``seed`` gives other weights, cached apart: a classifier a model trains against
    must not be the one that scores it."""
    fingerprint = data_fingerprint(train_images, train_labels)

    def train():
        model = train_domain_classifier(train_images, train_labels, seed=seed, log=log)
        acc = accuracy(predict_labels(model, np.asarray(test_images)), test_labels)
        log(f"{name} classifier test accuracy {acc:.4f}")
        return model, {"domain": name, "seed": seed, "test_accuracy": acc,
                       "n_train": int(len(train_labels))}

    return _cached(classifier_path(fingerprint, cache_dir, seed), fingerprint,
                   np.asarray(train_images).shape[-1], train,
                   f"the {name} classifier used for {purpose}", log)


def get_self_trained_classifier(name: str, source_classifier: DomainClassifier, images,
                                rounds: int, cache_dir=None, log=print,
                                seed: int = 2) -> tuple[DomainClassifier, dict]:
    """``self_train``'s classifier of an unlabelled domain, cached like the others: its
    fingerprint is the images and the source classifier's digits for them, so another
    source classifier or other images train it again."""
    images = np.asarray(images)
    fingerprint = data_fingerprint(images, predict_labels(source_classifier, images))

    def train():
        model = self_train(source_classifier, images, rounds=rounds, seed=seed, log=log)
        return model, {"domain": name, "seed": seed, "self_training_rounds": rounds,
                       "n_images": int(len(images))}

    return _cached(classifier_path(fingerprint, cache_dir, seed, tag=f"_selftrained{rounds}"),
                   fingerprint, images.shape[-1], train,
                   f"a {name} classifier by self-training, without {name}'s labels", log)


# --- the scores --------------------------------------------------------------------------
def translation_scores(g: Callable, f: Callable, x, x_labels, y, y_labels,
                       classify_x: Callable, classify_y: Callable) -> dict:
    """The four rows of the module docstring for both directions, flat: ``{row}_{direction}``.

    x, y: uint8 host (N, H, W) held-out digits, x_labels, y_labels: (N,);
    g, f: device (N, 1, H, W) in [−1, 1] → the same (G: X → Y, F: Y → X);
    classify_x, classify_y: images (uint8 host or float device) → host labels (N,).
    """
    x_in, y_in = as_input(x), as_input(y)
    g_of_x, f_of_y = g(x_in), f(y_in)
    xp = backend.get_array_module(x_in.data)
    errors = xp.stack([xp.abs(_data(f(g_of_x)) - x_in.data).mean(),
                       xp.abs(_data(g(f_of_y)) - y_in.data).mean()])
    cycle_x, cycle_y = backend.to_numpy(errors).tolist()
    return {
        "target_supervised_x_to_y": accuracy(classify_y(y), y_labels),
        "source_only_x_to_y": accuracy(classify_y(x), x_labels),
        "label_preservation_x_to_y": accuracy(classify_y(g_of_x), x_labels),
        "cycle_l1_x_to_y": cycle_x,
        "target_supervised_y_to_x": accuracy(classify_x(x), x_labels),
        "source_only_y_to_x": accuracy(classify_x(y), y_labels),
        "label_preservation_y_to_x": accuracy(classify_x(f_of_y), y_labels),
        "cycle_l1_y_to_x": cycle_y,
        "n_x": int(len(x_labels)), "n_y": int(len(y_labels)),
    }


def _data(images):
    return images.data if isinstance(images, Tensor) else images


def spread(n: int, total: int) -> "np.ndarray":
    """n distinct indices spread evenly over range(total) (every class of a class-sorted
    split is represented, not the first few)."""
    n = min(n, total)
    return (np.arange(n) * total) // n


def report_table(scores: dict, names=("X", "Y")) -> str:
    """The scores as a table, one column per direction."""
    nx, ny = names
    head = (f"translation scores on {scores['n_x']} held-out x ({nx}) and {scores['n_y']} "
            f"held-out y ({ny}), each direction judged by its target domain's classifier:")
    col_a, col_b = "X→Y: G, by C_Y", "Y→X: F, by C_X"
    lines = [head, f"  {'':34s}{col_a:>18s}{col_b:>18s}"]
    labels = {"target_supervised": "target supervised (the ceiling)",
              "source_only": "source only (no translation)",
              "label_preservation": "label preservation",
              "cycle_l1": "cycle error, mean |·| on [−1, 1]"}
    for row in ROWS:
        a, b = scores[f"{row}_x_to_y"], scores[f"{row}_y_to_x"]
        cells = [f"{v:.4f}" if row == "cycle_l1" else f"{100 * v:.1f}%" for v in (a, b)]
        lines.append(f"  {labels[row]:34s}{cells[0]:>18s}{cells[1]:>18s}")
    if "pseudo_labels_y" in scores:
        lines.append(f"  Y's pseudo-labels (f_Y, self-trained without Y's labels) right on "
                     f"{100 * scores['pseudo_labels_y']:.1f}% of the held-out y")
    return "\n".join(lines)
