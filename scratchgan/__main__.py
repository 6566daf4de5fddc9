"""The command line:  python -m scratchgan COMMAND …

    train mnist-gan [--preset default] [--epochs N] [--batch-size N] [--lr X] [--seed N]
                    [--backend numpy|cupy] [--out RUN_DIR] [--resume] [--no-eval]
    eval RUN_DIR [-n 10000]          classifier scores of a run's samples, beside the real test set
    sample RUN_DIR -n N -o FILE.npz  N generated images as uint8 (N, 28, 28), key "images"
    data                             fetch and verify MNIST (the same chain train uses)
    classifier [--retrain]           the evaluator's classifier: where, how accurate; --retrain
    check [EXERCISE] [--solution] [--file PATH] [--list]   gradcheck a class exercise
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

from . import backend
from .backend import numpy as np


def _run_config(run_dir: Path):
    from .models.mlp_gan import MLPGANConfig
    meta = json.loads((run_dir / "checkpoint.json").read_text())
    return MLPGANConfig.from_dict(meta["config"]), meta


def load_run(run_dir) -> "object":
    """The MLPGAN of a run folder, restored from its checkpoint."""
    from .checkpoint import load_npz
    from .models.mlp_gan import MLPGAN
    run_dir = Path(run_dir)
    if not (run_dir / "checkpoint.json").exists():
        raise SystemExit(f"{run_dir}: no checkpoint.json here — is this a run folder made by "
                         f"'python -m scratchgan train'?")
    cfg, _ = _run_config(run_dir)
    gan = MLPGAN(cfg)
    arrays = load_npz(run_dir / "checkpoint.npz")
    gan.load_state_dict({k: v for k, v in arrays.items()
                         if not k.startswith("history/") and k != "order"})
    return gan


def generate_uint8(gan, n: int, seed: int = 12345, batch: int = 1000) -> "np.ndarray":
    """n samples from the run's sampler as uint8 (n, 28, 28), from their own generator."""
    from .autograd import Tensor
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, n, batch):
        z = rng.standard_normal((min(batch, n - start), gan.cfg.z_dim)).astype("float32")
        images = backend.to_numpy(gan.generate(Tensor(backend.xp.asarray(z))).data)
        out.append(np.clip(np.rint((images + 1) * 127.5), 0, 255).astype(np.uint8))
    return np.concatenate(out).reshape(n, 28, 28)


def print_scores(scores: dict) -> None:
    s, r = scores["samples"], scores["real_test_set"]
    print(f"\n{'':28}{'samples':>12}{'real digits':>16}")
    print(f"{'Inception Score (↑, ≤10)':28}{s['inception_score']:>12.3f}{r['inception_score']:>16.3f}")
    print(f"{'Fréchet distance (↓)':28}{s['frechet_distance']:>12.3f}{r['frechet_distance']:>16.3f}")
    print(f"{'confident (p ≥ 0.9)':28}{s['confident_fraction']:>12.3f}{r['confident_fraction']:>16.3f}")
    print(f"{'rarest digit':28}{s['rarest_digit_fraction']:>12.3f}{r['rarest_digit_fraction']:>16.3f}")
    print("digit histogram (samples):  " + "  ".join(
        f"{d}:{100 * f:.1f}%" for d, f in enumerate(s["digit_fractions"])))
    print(f"(real digits: the test set; its Fréchet distance is 10,000 training digits' to it. "
          f"Classifier test accuracy {scores['classifier_test_accuracy']:.4f}; "
          f"{s['n_samples']} samples)")


def cmd_eval(args) -> dict:
    from .metrics import evaluate_samples
    run_dir = Path(args.run_dir)
    gan = load_run(run_dir)
    start = time.perf_counter()
    images = generate_uint8(gan, args.n)
    scores = evaluate_samples(images)
    scores["eval_seconds"] = round(time.perf_counter() - start, 1)
    print_scores(scores)
    metrics_path = run_dir / "metrics.json"
    existing = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    existing["evaluation"] = scores
    from .checkpoint import write_json_atomic
    write_json_atomic(metrics_path, existing)
    print(f"written to {metrics_path}")
    return scores


def cmd_sample(args) -> None:
    from .checkpoint import save_npz_atomic
    images = generate_uint8(load_run(args.run_dir), args.n, seed=args.seed)
    save_npz_atomic(args.output, {"images": images})
    print(f"{args.n} images (uint8, {images.shape}) written to {args.output} (key 'images')")


def cmd_classifier(args) -> None:
    from . import metrics
    path = metrics.classifier_path()
    _, info = metrics.retrain_classifier(path) if args.retrain else metrics.get_classifier()
    print(f"evaluation classifier: {path} (test accuracy {info['test_accuracy']:.4f}, "
          f"SHA-256 {metrics.file_sha256(path)[:12]}…)")


def cmd_data(args) -> None:
    from .data.mnist import ensure_mnist
    print(f"MNIST is ready in {ensure_mnist()}")


def _apply_override(cfg, override: str) -> None:
    """``--set key=value``: parse value as the type the field's default has."""
    import dataclasses
    key, sep, text = override.partition("=")
    kinds = {f.name: type(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if not sep or key not in kinds:
        raise SystemExit(f"--set {override}: expected KEY=VALUE with KEY one of {', '.join(kinds)}")
    kind = kinds[key]
    try:
        if kind is bool:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError(text)
            value = text.lower() in ("true", "1")
        elif kind is tuple:
            value = tuple(int(v) for v in text.split(",") if v)
        else:
            value = kind(text)
    except ValueError:
        raise SystemExit(f"--set {override}: {text!r} is not a valid {kind.__name__}") from None
    setattr(cfg, key, value)


def cmd_train(args) -> int:
    from .checkpoint import write_json_atomic
    from .data.mnist import load_mnist
    from .models.mlp_gan import PRESETS
    from .train import Interrupted, Trainer
    out = Path(args.out)
    if args.resume:
        if args.overrides:
            raise SystemExit("--set with --resume: a resumed run keeps the configuration it "
                             "was started with (that is what makes it continue exactly)")
        if not (out / "checkpoint.json").exists():
            raise SystemExit(f"--resume: there is no checkpoint in {out}")
        cfg, meta = _run_config(out)
        seed = meta["seed"]
    else:
        if (out / "checkpoint.json").exists() and not args.overwrite:
            raise SystemExit(f"{out} already holds a run: use --resume to continue it, "
                             f"--overwrite to start again, or --out for a new folder")
        if args.preset not in PRESETS:
            raise SystemExit(f"unknown preset {args.preset!r}: choose one of {', '.join(PRESETS)}")
        cfg = copy.deepcopy(PRESETS[args.preset])
        seed = args.seed
    for name, value in (("epochs", args.epochs), ("batch_size", args.batch_size)):
        if value is not None:
            setattr(cfg, name, value)
    if args.lr is not None:
        cfg.lr_g = cfg.lr_d = args.lr
    for override in args.overrides:
        _apply_override(cfg, override)
    images, _ = load_mnist("train")
    print(f"training mnist-gan (preset {args.preset if not args.resume else 'from checkpoint'}) "
          f"on {len(images)} MNIST digits, backend {backend.name}, into {out}")
    trainer = Trainer(cfg, images, out, seed=seed)
    if args.resume:
        trainer.load_checkpoint()
        print(f"resuming at epoch {trainer.epoch + 1}, iteration {trainer.position}")
    start = time.perf_counter()
    try:
        trainer.fit()
    except Interrupted as stop:
        print(f"\n{stop}")
        return 130
    summary = trainer.finish()
    summary["train_seconds_this_session"] = round(time.perf_counter() - start, 1)
    summary["config"] = cfg.to_dict()
    write_json_atomic(out / "metrics.json", {"training": summary})
    del trainer, images           # free the training set and the model before evaluating
    print(f"trained {summary['epochs']} epochs, {summary['mean_seconds_per_epoch']} s/epoch, "
          f"peak memory {summary['peak_rss_mb']} MB; samples in {out / 'samples'}")
    if not args.no_eval:
        eval_args = argparse.Namespace(run_dir=str(out), n=args.eval_samples)
        cmd_eval(eval_args)
        from .train import peak_rss_mb
        metrics = json.loads((out / "metrics.json").read_text())
        metrics["training"]["peak_rss_mb_with_eval"] = peak_rss_mb()
        write_json_atomic(out / "metrics.json", metrics)
        print(f"peak memory of the whole job: {peak_rss_mb()} MB")
    return 0


def cmd_check(args) -> int:
    from .exercises import check, listing
    if args.list or not args.exercise:
        print(listing())
        return 0
    try:
        result = check(args.exercise, path=args.file, solution=args.solution)
    except KeyError as exc:
        print(exc.args[0])
        return 2
    print(result.report)
    return 0 if result.passed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scratchgan", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default=None, help="numpy (default) or cupy")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a model")
    train.add_argument("model", choices=["mnist-gan"])
    train.add_argument("--preset", default="default", help="default, tutorial or pytorch-gan")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="learning rate of both G and D")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--backend", dest="train_backend", default=None)
    train.add_argument("--out", default="runs/mnist-gan")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="any field of MLPGANConfig, e.g. --set pack=1 --set g_hidden=256,512")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument("--overwrite", action="store_true")
    train.add_argument("--no-eval", action="store_true", help="skip the evaluation at the end")
    train.add_argument("--eval-samples", type=int, default=10_000)
    train.set_defaults(func=cmd_train)

    ev = sub.add_parser("eval", help="score a run's samples with the MNIST classifier")
    ev.add_argument("run_dir")
    ev.add_argument("-n", type=int, default=10_000)
    ev.set_defaults(func=cmd_eval)

    sample = sub.add_parser("sample", help="write N generated images to an .npz")
    sample.add_argument("run_dir")
    sample.add_argument("-n", type=int, default=100)
    sample.add_argument("-o", "--output", default="samples.npz")
    sample.add_argument("--seed", type=int, default=0)
    sample.set_defaults(func=cmd_sample)

    check = sub.add_parser("check", help="gradcheck an exercise (no name: list them)")
    check.add_argument("exercise", nargs="?", help="name or number: sigmoid, 01, 01_sigmoid")
    check.add_argument("--solution", action="store_true", help="check the model answer")
    check.add_argument("--file", help="check this file instead of lessons/exercises/…")
    check.add_argument("--list", action="store_true", help="list the exercises")
    check.set_defaults(func=cmd_check)

    clf = sub.add_parser("classifier", help="the evaluator's MNIST classifier: where it is, "
                                           "how accurate; --retrain trains it anew")
    clf.add_argument("--retrain", action="store_true",
                     help="train it from scratch (about 90 s on 2 cores) and cache it")
    clf.set_defaults(func=cmd_classifier)

    data = sub.add_parser("data", help="fetch and verify MNIST")
    data.set_defaults(func=cmd_data)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    chosen = getattr(args, "train_backend", None) or args.backend
    if chosen:
        backend.use_backend(chosen)
    result = args.func(args)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
