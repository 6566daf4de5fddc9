"""The command line:  python -m scratchgan COMMAND …

    train MODEL [--preset default] [--epochs N] [--batch-size N] [--lr X] [--seed N]
                [--set KEY=VALUE] [--backend numpy|cupy] [--out RUN_DIR]
                [--resume | --overwrite] [--no-eval]
    eval RUN_DIR [-n 10000]          the model's evaluation (for digit GANs: classifier scores)
    sample RUN_DIR -n N -o FILE.npz  N generated images as uint8 (N, 28, 28), key "images"
    data                             fetch and verify MNIST (the same chain train uses)
    classifier [--retrain]           the evaluator's classifier: where, how accurate; --retrain
    check [EXERCISE] [--solution] [--file PATH] [--list]   gradcheck a class exercise
    bench-modes [--seeds N] [--iterations N] [--models a,b] [--datasets ring,grid] [--out DIR]
                                     mode collapse on PacGAN's 2D mixtures, beside its Table 1
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

from . import backend
from .backend import numpy as np
from .errors import CheckpointError, ConfigError, RunFolderError, UserError

RUN_FILES = ("checkpoint.npz", "config.json", "metrics.json", "curves.png", "interpolation.png")


def load_run(run_dir):
    """The model of a run folder, restored from its checkpoint (a one-line CheckpointError
    if it cannot be)."""
    from .train import load_model
    return load_model(Path(run_dir))


def _require_count(flag: str, n: int) -> None:
    if n < 1:
        raise ConfigError(f"{flag} {n}: the number of samples must be at least 1")


def cmd_eval(args) -> dict:
    from .train import update_metrics
    _require_count("-n", args.n)
    run_dir = Path(args.run_dir)
    model = load_run(run_dir)
    start = time.perf_counter()
    scores = model.evaluate(args.n)
    scores["eval_seconds"] = round(time.perf_counter() - start, 1)
    scores["epoch"] = model.epoch
    print(model.report(scores))
    update_metrics(run_dir, evaluation=scores)
    print(f"written to {run_dir / 'metrics.json'}")
    return scores


def _check_output(output: Path, run_dir: Path) -> None:
    """Refuse an -o that would destroy something: a run's own files, a folder, a place
    that cannot be written."""
    target = output.resolve()
    run = run_dir.resolve()
    if target.is_dir():
        raise ConfigError(f"-o {output}: that is a folder; give a file name such as "
                          f"{output / 'samples.npz'}")
    inside_a_run = (target.parent / "checkpoint.npz").exists() or \
        (target.parent / "config.json").exists()
    if (target.parent == run and target.name in RUN_FILES) or \
            run in target.parents and target.exists() or \
            inside_a_run and target.name in RUN_FILES:
        raise ConfigError(f"-o {output}: that is one of a run's own files; write the samples "
                          f"elsewhere, e.g. -o {run / 'samples.npz'}")
    if target.suffix != ".npz":
        raise ConfigError(f"-o {output}: samples are written as .npz; give a name ending in .npz")
    parent = target.parent
    if not parent.is_dir():
        raise ConfigError(f"-o {output}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"-o {output}: the folder {parent} is not writable")


def cmd_sample(args) -> None:
    from .checkpoint import save_npz_atomic
    _require_count("-n", args.n)
    output, run_dir = Path(args.output), Path(args.run_dir)
    _check_output(output, run_dir)
    images = load_run(run_dir).sample_uint8(args.n, seed=args.seed)
    try:
        save_npz_atomic(output, {"images": images})
    except OSError as exc:
        raise UserError(f"-o {output}: could not write it ({exc.strerror or exc})") from None
    print(f"{args.n} images (uint8, {images.shape}) written to {output} (key 'images')")


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
    cfg.set_from_text(override)


# What a resumed run may change: only how long it trains.  Everything else would make the
# continuation differ from the run the checkpoint belongs to.
_FIXED_ON_RESUME = (("--preset", "preset"), ("--batch-size", "batch_size"), ("--lr", "lr"),
                    ("--seed", "seed"), ("--set", "overrides"))


def _resume_config(args, out: Path):
    """(cfg, seed) of the run to continue; raises UserError for what a resume cannot do."""
    from .train import read_checkpoint, read_config, run_is_finished
    given = [flag for flag, attr in _FIXED_ON_RESUME if getattr(args, attr)]
    if given:
        raise ConfigError(f"{', '.join(given)} with --resume: a resumed run keeps the "
                          f"configuration it was started with (that is what makes it continue "
                          f"exactly); only --epochs may change, to train longer")
    if args.overwrite:
        raise ConfigError("--resume and --overwrite contradict each other: choose one")
    _, meta = read_checkpoint(out)
    cfg, done = read_config(meta, out / "checkpoint.npz"), int(meta["epoch"])
    if args.epochs is not None:
        if args.epochs < done or (args.epochs == done and meta["position"] > 0):
            raise ConfigError(f"--epochs {args.epochs} with --resume: the run in {out} has "
                              f"already trained {done} epochs; give more to train longer")
        cfg.epochs = args.epochs
    elif run_is_finished(meta):
        print(f"the run in {out} has finished all {done} epochs: nothing to resume "
              f"(to train it longer, resume with more --epochs; to score it again, "
              f"python -m scratchgan eval {out})")
        return None, None
    return cfg, int(meta["seed"])


def _new_config(args, out: Path, model_cls):
    from .train import is_run_folder, read_checkpoint, run_is_finished
    PRESETS = model_cls.PRESETS
    if out.exists() and is_run_folder(out) and not args.overwrite:
        try:
            _, meta = read_checkpoint(out)
            state = (f"a finished run ({int(meta['epoch'])} epochs)" if run_is_finished(meta)
                     else f"an unfinished run (stopped in epoch {int(meta['epoch']) + 1})")
        except CheckpointError:
            state = "a run"
        raise RunFolderError(f"{out} already holds {state}: resume it with --resume "
                             f"(make: RESUME=1), replace it with --overwrite (make: OVERWRITE=1), "
                             f"or train into a new folder with --out (make: OUT=…)")
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"--out {out}: that is a file, not a folder")
    preset = args.preset or "default"
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    cfg = copy.deepcopy(PRESETS[preset])
    for name, value in (("epochs", args.epochs), ("batch_size", args.batch_size)):
        if value is not None:
            setattr(cfg, name, value)
    if args.lr is not None:
        for name in cfg.LR_FIELDS:          # --lr: the learning rate of every network
            setattr(cfg, name, args.lr)
    for override in args.overrides:
        _apply_override(cfg, override)
    return cfg, (0 if args.seed is None else args.seed)


def _resume_command(model: str, out: Path) -> str:
    """What the user types to continue: make's form when make started the run."""
    target = os.environ.get("SCRATCHGAN_MAKE_TARGET")
    if target:
        return f"make {target} RESUME=1 OUT={out}"
    return f"python -m scratchgan train {model} --resume --out {out}"


def cmd_train(args) -> int:
    from .models import model_class
    from .train import Interrupted, Trainer, peak_rss_mb, replace_run_folder, update_metrics
    model_cls = model_class(args.model)
    out = Path(args.out or f"runs/{args.model}")
    if args.resume:
        cfg, seed = _resume_config(args, out)
        if cfg is None:
            return 0
        if not isinstance(cfg, model_cls.Config):
            raise ConfigError(f"--resume: the run in {out} is not a {args.model} run")
    else:
        cfg, seed = _new_config(args, out, model_cls)
    cfg.validate()                           # every setting checked before any work starts
    if args.eval_samples < 1:
        raise ConfigError(f"--eval-samples {args.eval_samples}: must be at least 1")
    data = model_cls.load_data(cfg)
    backend.seed(seed)                       # the run's entry point: every draw from here on
    model = model_cls(cfg)
    if model.samples_per_step > len(data):
        raise ConfigError(f"one iteration of {args.model} takes {model.samples_per_step} "
                          f"training items (batch_size={cfg.batch_size}), but the data has "
                          f"{len(data)}")
    model.check_data(data)
    if not args.resume and args.overwrite:
        replace_run_folder(out)
    how = "resumed from its checkpoint" if args.resume else f"preset {args.preset or 'default'}"
    print(f"training {args.model} ({how}) on {len(data)} training items, backend "
          f"{backend.name}, into {out}")
    trainer = Trainer(model, data, out, seed=seed,
                      resume_command=_resume_command(args.model, out))
    if args.resume:
        trainer.load_checkpoint()
        print(f"resuming at epoch {trainer.epoch + 1} of {cfg.epochs}, iteration "
              f"{trainer.position} of {trainer.iters_per_epoch}")
    start = time.perf_counter()
    try:
        trainer.fit()
    except Interrupted as stop:
        print(f"\n{stop}")
        return 130
    summary = trainer.finish()
    summary["train_seconds_this_session"] = round(time.perf_counter() - start, 1)
    summary["config"] = cfg.to_dict()
    update_metrics(out, training=summary)
    del trainer, model, data      # free the training set and the model before evaluating
    print(f"trained {summary['epochs']} epochs, {summary['mean_seconds_per_epoch']} s/epoch, "
          f"peak memory {summary['peak_rss_mb']} MB; samples in {out / 'samples'}")
    if not args.no_eval:
        cmd_eval(argparse.Namespace(run_dir=str(out), n=args.eval_samples))
        summary["peak_rss_mb_with_eval"] = peak_rss_mb()
        update_metrics(out, training=summary)
        print(f"peak memory of the whole job: {peak_rss_mb()} MB")
    return 0


def cmd_check(args) -> int:
    from .exercises import check, listing
    if args.list or not args.exercise:
        print(listing())
        return 0
    try:
        if args.timeout is not None and not args.timeout > 0:
            raise ConfigError(f"--timeout {args.timeout}: give a number of seconds above 0")
        limit = {} if args.timeout is None else {"timeout": args.timeout}
        result = check(args.exercise, path=args.file, solution=args.solution, **limit)
    except KeyError as exc:
        print(exc.args[0])
        return 2
    print(result.report)
    return 0 if result.passed else 1


def build_parser() -> argparse.ArgumentParser:
    from .models import MODELS
    parser = argparse.ArgumentParser(prog="python -m scratchgan", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default=None, help="numpy (default) or cupy")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a model")
    train.add_argument("model", choices=list(MODELS), help="the model to train")
    train.add_argument("--preset", default=None, help="a named configuration of the model: " +
                       "; ".join(f"{name}: {', '.join(cls.PRESETS)}" for name, cls in MODELS.items()))
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="learning rate of every network (G and D)")
    train.add_argument("--seed", type=int, default=None, help="default 0")
    train.add_argument("--backend", dest="train_backend", default=None)
    train.add_argument("--out", default=None, help="the run folder (default runs/MODEL)")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="any field of the model's config, e.g. --set pack=1 --set g_hidden=256,512")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --out exactly (only --epochs may change)")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run in --out (it is never replaced otherwise)")
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
    check.add_argument("--timeout", type=float, default=None,
                       help="seconds one check may take (default 60, or $SCRATCHGAN_CHECK_TIMEOUT)")
    check.set_defaults(func=cmd_check)

    clf = sub.add_parser("classifier", help="the evaluator's MNIST classifier: where it is, "
                                           "how accurate; --retrain trains it anew")
    clf.add_argument("--retrain", action="store_true",
                     help="train it from scratch and cache it")
    clf.set_defaults(func=cmd_classifier)

    data = sub.add_parser("data", help="fetch and verify MNIST")
    data.set_defaults(func=cmd_data)

    from .bench_modes import add_parser as add_bench_modes
    add_bench_modes(sub)
    return parser


def main(argv=None) -> int:
    """Run one command.  An expected failure (a bad setting, a damaged checkpoint, no data)
    ends in one line on stderr and exit status 2; a traceback means a bug."""
    from .data.mnist import MnistUnavailable
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)   # a redirected log shows each line as it comes
    args = build_parser().parse_args(argv)
    try:
        chosen = getattr(args, "train_backend", None) or args.backend
        if chosen:
            backend.use_backend(chosen)
        result = args.func(args)
    except (UserError, MnistUnavailable, backend.BackendError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
