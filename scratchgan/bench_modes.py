"""bench-modes: mode collapse on PacGAN's 2D mixtures, scored the way PacGAN scores it.

    python -m scratchgan bench-modes [--seeds 10] [--first-seed 0] [--iterations N]
                                     [--models gan,pacgan4] [--datasets ring,grid]
                                     [--out runs/bench-modes]
    python -m scratchgan bench-modes --table A/bench_modes.json B/bench_modes.json …
        (one table over the runs of several invocations: a long schedule's seeds can be run
        a few at a time, on several machines or days, and summed up here)

The setup of Lin et al. (2018), PacGAN, Table 1 (and the code that made it):

    data      ring: 8 Gaussians on a circle of radius 1, σ = 0.01
              grid: 25 Gaussians at {−4, −2, 0, 2, 4}², σ = 0.05
    G         z ∈ R², z ~ N(0, I) → 4 × [Linear 400 (no bias), BatchNorm, ReLU] → Linear 2
    D         3 × Maxout (200 units, 5 pieces) → Linear 1;  every weight N(0, 0.02²), bias 0
    training  Adam 1e-4, β = (0.8, 0.999), batches of 100 inputs of D (a packed input holds
              m samples, so G draws 100·m per step); fresh data every step
    scoring   2,500 samples of G with BatchNorm in evaluation mode; ``toy2d.pacgan_scores``:
              modes with at least one high-quality sample (within 3σ of its nearest centre),
              the share of high-quality samples, and the reverse KL of the high-quality
              samples' mode histogram to the uniform one

The contestants change only what their method changes:

    gan-saturating   minimax D, G descends log(1 − D(G(z)))
    gan              minimax D, G descends −log D(G(z))      (PacGAN's "GAN")
    wgan             critic D(G(z)) − D(x), weights clipped to ±0.01 after every critic step,
                     5 critic steps per G step, RMSprop 5e-5 (Arjovsky et al. 2017)
    wgan-gp          the critic's loss + 10·(‖∇D(x̂)‖ − 1)², 5 critic steps, Adam 1e-4,
                     β = (0, 0.9) (Gulrajani et al. 2017, Algorithm 1)
    pacgan2/4        gan, with D judging 2 or 4 samples at once (PacGAN)

Every run alternates D's steps and G's (Algorithm 1 of Goodfellow et al.); PacGAN's code
updates both from one forward pass.  PacGAN trains 400 epochs of 1,000 steps; two cores
cannot, so the number of G steps is a knob (``--iterations``, default 1,500) and the
default setup, ``pacgan-short``, keeps PacGAN's networks but multiplies every learning rate
by 5 and decays it linearly over the second half.  ``--setup pacgan`` is PacGAN's schedule
exactly (for 400,000 steps); ``--setup small`` narrows the networks to 128 (lesson 07).
``--ema 0.999`` scores an average of G's weights instead of G's last ones (not PacGAN's).
docs/modes.md has the measured tables, their commands and what they cost.
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from . import backend, losses, nn, optim
from . import functional as F
from .autograd import Tensor, no_grad
from .backend import numpy as np
from .config import require, require_float, require_int
from .data.toy2d import (PACGAN_GRID, PACGAN_RING, grid_centres, grid_of_gaussians,
                         pacgan_scores, ring_centres, ring_of_gaussians)
from .errors import ConfigError
from .fileio import write_bytes_atomic

Z_DIM, PIECES, INIT_STD = 2, 5, 0.02
BATCH, EVAL_SAMPLES = 100, 2500
DEFAULT_ITERATIONS = 1500


@dataclass(frozen=True)
class Setup:
    """The networks' widths and the schedule: PacGAN's by default.  A smaller setup (as
    lesson 07's fast mode uses) changes these numbers only, never the contestants."""
    g_hidden: int = 400             # G: 4 hidden layers this wide
    d_hidden: int = 200             # D: 3 Maxout layers of this many units (5 pieces each)
    lr_scale: float = 1.0           # every contestant's learning rate times this
    decay_from: float = 1.0         # < 1: both lrs decay linearly to 0 from this fraction
                                    # of the G steps on (PacGAN: none)
    ema: float = 0.0                # > 0: score an average of G's weights, θ̄ ← d θ̄ + (1 − d) θ
                                    # after every G step, with this d (PacGAN: none)


PACGAN_SETUP = Setup()
SETUPS = {"pacgan": PACGAN_SETUP,            # as PacGAN's code: meant for 400,000 G steps
          # PacGAN's networks on a schedule two cores can afford: every lr ×5, decayed
          # linearly over the second half of the run (the default of bench-modes)
          "pacgan-short": Setup(lr_scale=5.0, decay_from=0.5),
          # 128-wide networks at 5× the learning rates, decayed over the second half: the
          # same contestants at a size two cores train in seconds (lesson 07's)
          "small": Setup(g_hidden=128, d_hidden=128, lr_scale=5.0, decay_from=0.5)}


@dataclass(frozen=True)
class Contestant:
    title: str
    g_loss: str                     # "saturating", "nonsaturating" or "wasserstein"
    pack: int = 1                   # samples per input of D
    critic_steps: int = 1           # D steps per G step
    clip: float = 0.0               # > 0: WGAN's weight clipping, w ← clip(w, −c, c)
    penalty: float = 0.0            # > 0: WGAN-GP's λ
    optimizer: str = "adam"         # or "rmsprop"
    lr: float = 1e-4
    betas: tuple = (0.8, 0.999)

    @property
    def wasserstein(self) -> bool:
        return self.g_loss == "wasserstein"


CONTESTANTS = {
    "gan-saturating": Contestant("GAN, saturating G", "saturating"),
    "gan": Contestant("GAN", "nonsaturating"),
    "wgan": Contestant("WGAN", "wasserstein", critic_steps=5, clip=0.01, optimizer="rmsprop",
                       lr=5e-5),
    "wgan-gp": Contestant("WGAN-GP", "wasserstein", critic_steps=5, penalty=10.0,
                          betas=(0.0, 0.9)),
    "pacgan2": Contestant("PacGAN2", "nonsaturating", pack=2),
    "pacgan4": Contestant("PacGAN4", "nonsaturating", pack=4),
}

# PacGAN Table 1 (10 trials each): modes, % high-quality samples, reverse KL
ANCHORS = {
    "gan": {"ring": (6.3, 98.2, 0.45), "grid": (17.3, 94.8, 0.70)},
    "pacgan4": {"ring": (7.8, 95.9, 0.07), "grid": (24.8, 93.6, 0.04)},
}

DATASETS = {   # name: (centres, σ, draw n samples with a numpy Generator)
    "ring": (ring_centres(PACGAN_RING["modes"], PACGAN_RING["radius"]), PACGAN_RING["std"],
             lambda n, rng: ring_of_gaussians(n, rng=rng, **PACGAN_RING)[0]),
    "grid": (grid_centres(PACGAN_GRID["side"], PACGAN_GRID["spacing"]), PACGAN_GRID["std"],
             lambda n, rng: grid_of_gaussians(n, rng=rng, **PACGAN_GRID)[0]),
}


# --- the networks --------------------------------------------------------------------------
def _normal_init(module: nn.Module) -> nn.Module:
    """PacGAN's initialisation: every weight N(0, 0.02²), every bias 0."""
    for name, p in module.named_parameters():
        if name.endswith("bias"):                  # (BatchNorm's β starts at 0 anyway)
            nn.init.zeros_(p)
        elif p.ndim == 2:
            nn.init.normal_(p, 0.0, INIT_STD)
    return module


def make_generator(hidden: int = 400) -> nn.Module:
    """z (N, 2) → 4 × [Linear 400 without bias, BatchNorm, ReLU] → Linear 2.

    BatchNorm's running statistics move by 0.05 a step, as in PacGAN's code."""
    layers, width = [], Z_DIM
    for _ in range(4):
        layers += [nn.Linear(width, hidden, bias=False),
                   nn.BatchNorm1d(hidden, momentum=0.05), nn.ReLU()]
        width = hidden
    return _normal_init(nn.Sequential(*layers, nn.Linear(hidden, 2)))


def make_discriminator(pack: int = 1, hidden: int = 200) -> nn.Module:
    """x (N, 2·pack) → 3 × Maxout(200 units, 5 pieces) → Linear 1: a logit (or a score)."""
    return _normal_init(nn.Sequential(nn.Maxout(2 * pack, hidden, PIECES),
                                      nn.Maxout(hidden, hidden, PIECES),
                                      nn.Maxout(hidden, hidden, PIECES),
                                      nn.Linear(hidden, 1)))


def _optimizer(c: Contestant, params, lr: float):
    if c.optimizer == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    return optim.Adam(params, lr=lr, betas=c.betas)


def _noise(n: int) -> Tensor:
    return Tensor(backend.random_normal((n, Z_DIM)))


def scheduled_lr(lr: float, iteration: int, iterations: int, decay_from: float) -> float:
    """lr for G step ``iteration`` (1 … iterations): constant up to s = decay_from · iterations,
    then on a straight line toward 0, lr · (iterations − iteration + 1) / (iterations − s):
    lr at the first step after s, lr / (iterations − s) at the last (which still moves)."""
    start = decay_from * iterations
    if iteration <= start:
        return lr
    return lr * (iterations - iteration + 1) / (iterations - start)


# --- one run -------------------------------------------------------------------------------
@dataclass
class Run:
    model: str
    dataset: str
    seed: int
    iterations: int
    modes: int
    high_quality: float
    reverse_kl: float
    seconds: float                                # wall clock
    cpu_seconds: float                            # this process's CPU time (on a shared
                                                  # machine the honest cost of a run)
    samples: np.ndarray = field(repr=False)       # (2500, 2): what was scored
    # with score_every = N: the same three scores every N G steps, [{"step", "modes",
    # "high_quality", "reverse_kl"}, …], to see when modes are found, sharpened or lost
    trace: list = field(default_factory=list, repr=False)


def train_run(model: str, dataset: str, seed: int, iterations: int = DEFAULT_ITERATIONS,
              callback=None, setup: Setup = PACGAN_SETUP, score_every: int = 0,
              log=None) -> Run:
    """Train one contestant on one mixture from one seed; score 2,500 of its samples.

    ``callback(iteration, G, D)``, if given, runs after every G step (iteration 1, 2, …) and
    once before training (iteration 0): to record samples or weights along the way.
    ``score_every`` = N > 0 also scores G after every N-th G step (the same samples' z as the
    final score, so the last point of a trace is the final score) into ``Run.trace``, and
    hands each point to ``log`` as a line, if given.  With ``setup.ema`` > 0 what is scored
    is the average of G's weights (``optim.update_ema``), not G's last weights.
    """
    c = CONTESTANTS[model]
    centres, std, draw = DATASETS[dataset]
    start, cpu_start = time.perf_counter(), time.process_time()
    backend.seed(seed)
    data_rng = np.random.default_rng(seed)
    G, D = make_generator(setup.g_hidden), make_discriminator(c.pack, setup.d_hidden)
    lr = c.lr * setup.lr_scale
    opt_g, opt_d = _optimizer(c, G.parameters(), lr), _optimizer(c, D.parameters(), lr)
    G_ema = copy.deepcopy(G) if setup.ema else None
    scored = G if G_ema is None else G_ema   # (not ``G_ema or G``: a Sequential has a len)
    n = BATCH * c.pack                       # samples per batch: 100 inputs of D
    trace = []

    def judge(x: Tensor) -> Tensor:          # (n, 2) → (n/m, 2m): m samples per input → D
        return D(x.reshape(x.shape[0] // c.pack, 2 * c.pack) if c.pack > 1 else x)

    if callback:
        callback(0, G, D)
    for iteration in range(1, iterations + 1):
        opt_g.lr = opt_d.lr = scheduled_lr(lr, iteration, iterations, setup.decay_from)
        for _ in range(c.critic_steps):                              # --- D (critic) steps
            real = Tensor(backend.xp.asarray(draw(n, data_rng)))
            with no_grad():
                fake = G(_noise(n))
            scores = judge(F.concatenate([real, fake], axis=0))      # one pass for both
            real_scores, fake_scores = scores[:BATCH], scores[BATCH:]
            if c.wasserstein:
                d_loss = losses.d_loss_wasserstein(real_scores, fake_scores)
                if c.penalty:
                    d_loss = d_loss + losses.gradient_penalty(D, real, fake, weight=c.penalty)
            else:
                d_loss = losses.d_loss_minimax(real_scores, fake_scores)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            if c.clip:                                               # WGAN: w ← clip(w, −c, c)
                for p in D.parameters():
                    backend.get_array_module(p.data).clip(p.data, -c.clip, c.clip, out=p.data)
        with nn.frozen(D):                                           # --- G step
            fake_scores = judge(G(_noise(n)))
            g_loss = {"saturating": losses.g_loss_saturating,
                      "nonsaturating": losses.g_loss_nonsaturating,
                      "wasserstein": losses.g_loss_wasserstein}[c.g_loss](fake_scores)
            opt_g.zero_grad()
            g_loss.backward()
        opt_g.step()
        if G_ema is not None:
            optim.update_ema(G_ema, G, optim.ema_decay(setup.ema, iteration))
        if callback:
            callback(iteration, G, D)
        if score_every and iteration % score_every == 0:
            point = pacgan_scores(generate(scored, EVAL_SAMPLES, seed), centres, std)
            trace.append({"step": iteration, **point._asdict()})
            if log:
                log(f"  {model} {dataset} seed {seed}, G step {iteration}: {point.modes} modes, "
                    f"{point.high_quality:.1%} high quality, reverse KL {point.reverse_kl:.3f}")
    samples = generate(scored, EVAL_SAMPLES, seed)
    scores = pacgan_scores(samples, centres, std)
    return Run(model, dataset, seed, iterations, scores.modes, scores.high_quality,
               scores.reverse_kl, time.perf_counter() - start, time.process_time() - cpu_start,
               samples, trace)


def generate(G: nn.Module, n: int, seed: int) -> np.ndarray:
    """n samples of G (float32 (n, 2) on the host), BatchNorm in evaluation mode, from z
    drawn by their own generator (the training draws stay as they were)."""
    z = np.random.default_rng([seed, 2500]).standard_normal((n, Z_DIM)).astype(np.float32)
    G.eval()
    try:
        with no_grad():
            return backend.to_numpy(G(Tensor(backend.xp.asarray(z))).data)
    finally:
        G.train()


# --- many runs, a table ------------------------------------------------------------------
def summarize(runs: list[Run]) -> dict:
    """{model: {dataset: {metric: (mean, std)}, ...}} over seeds; std with ddof 1 (0 for 1 run)."""
    table: dict = {}
    for run in runs:
        table.setdefault(run.model, {}).setdefault(run.dataset, []).append(run)
    summary = {}
    for model, by_dataset in table.items():
        summary[model] = {}
        for dataset, rs in by_dataset.items():
            row = {}
            for metric in ("modes", "high_quality", "reverse_kl", "seconds", "cpu_seconds"):
                values = np.array([getattr(r, metric) for r in rs], dtype=np.float64)
                std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
                row[metric] = (float(values.mean()), std)
            row["seeds"] = len(rs)
            summary[model][dataset] = row
    return summary


def format_table(summary: dict, iterations: int) -> str:
    """Ours (mean ± std over seeds) beside PacGAN's Table 1, one block per mixture."""
    lines = []
    for dataset in ("ring", "grid"):
        models = [m for m in summary if dataset in summary[m]]
        if not models:
            continue
        K = len(DATASETS[dataset][0])
        lines.append(f"{dataset} ({K} modes, σ = {DATASETS[dataset][1]}), {iterations} G steps, "
                     f"{EVAL_SAMPLES} samples per run")
        lines.append(f"  {'model':<26}{'modes':>14}{'high quality %':>18}{'reverse KL':>16}"
                     f"{'CPU s/run':>11}{'seeds':>7}")
        for model in models:
            row = summary[model][dataset]
            (m, ms), (q, qs), (kl, kls) = row["modes"], row["high_quality"], row["reverse_kl"]
            cpu = row["cpu_seconds"][0]
            lines.append(f"  {model:<26}{m:>7.1f} ± {ms:<4.1f}{100 * q:>10.1f} ± {100 * qs:<5.1f}"
                         f"{kl:>8.2f} ± {kls:<5.2f}{cpu:>11.1f}{row['seeds']:>7d}")
            if model in ANCHORS:
                pm, pq, pkl = ANCHORS[model][dataset]
                lines.append(f"  {'  PacGAN Table 1':<26}{pm:>7.1f}{'':7}{pq:>10.1f}{'':8}"
                             f"{pkl:>8.2f}")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def scatter_figure(runs: list[Run], max_seeds: int = 5):
    """One model's samples: a row per mixture, a column per seed (up to max_seeds); the
    matplotlib figure, for the caller to save."""
    from .viz import plt
    datasets = [d for d in DATASETS if any(r.dataset == d for r in runs)]
    seeds = sorted({r.seed for r in runs})[:max_seeds]
    fig, axes = plt.subplots(len(datasets), len(seeds), squeeze=False,
                             figsize=(2.6 * len(seeds), 2.7 * len(datasets)))
    for row, dataset in zip(axes, datasets):
        centres, std, _ = DATASETS[dataset]
        lim = 1.6 if dataset == "ring" else 5.6
        for ax, seed in zip(row, seeds):
            run = next(r for r in runs if r.dataset == dataset and r.seed == seed)
            ax.scatter(run.samples[:, 0], run.samples[:, 1], s=1, alpha=0.3, color="tab:blue")
            ax.scatter(centres[:, 0], centres[:, 1], s=8, color="tab:red")
            ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xticks=[], yticks=[], aspect="equal")
            ax.set_title(f"{dataset}, seed {seed}: {run.modes}/{len(centres)}, "
                         f"{run.high_quality:.0%}", fontsize=8)
    fig.suptitle(f"{CONTESTANTS[runs[0].model].title}, {runs[0].iterations} G steps "
                 f"(modes captured, high-quality share)", fontsize=9)
    fig.tight_layout()
    return fig


def parse_list(flag: str, text: str, known) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if not names or unknown:
        raise ConfigError(f"{flag} {text!r}: choose from {', '.join(known)} (comma-separated)")
    return names


def run_benchmark(models, datasets=("ring", "grid"), seeds: int = 10,
                  iterations: int = DEFAULT_ITERATIONS, out: Path | None = None,
                  setup: Setup = PACGAN_SETUP, log=print, first_seed: int = 0,
                  overwrite: bool = False, score_every: int = 0) -> tuple[list[Run], dict]:
    """Every (model, dataset, seed) run for the seeds first_seed … first_seed + seeds − 1;
    the summary; with ``out``: the JSON, rewritten (atomically) after every run, so that a
    long benchmark stopped midway keeps the seeds it finished, and a figure per model.
    ``score_every`` = N > 0 logs and saves each run's scores every N G steps as well."""
    require_int("--seeds", seeds)
    require_int("--first-seed", first_seed, low=0)
    require_int("--iterations", iterations)
    require_int("--score-every", score_every, low=0)
    require_int("g_hidden", setup.g_hidden)
    require_int("d_hidden", setup.d_hidden)
    require_float("--lr-scale", setup.lr_scale, 0, 1e4, low_open=True)
    require_float("--decay-from", setup.decay_from, 0, 1)
    require_float("--ema", setup.ema, 0, 1, high_open=True)
    for name in models:
        require(name in CONTESTANTS, "--models", name, "one of " + ", ".join(CONTESTANTS))
    for name in datasets:
        require(name in DATASETS, "--datasets", name, "one of " + ", ".join(DATASETS))
    if out is not None:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out}: that is a file, not a folder")
        if (out / "bench_modes.json").exists() and not overwrite:
            raise ConfigError(f"--out {out} holds a benchmark already: choose another --out, "
                              f"or --overwrite to replace it")
        out.mkdir(parents=True, exist_ok=True)
    start, runs = time.perf_counter(), []

    def save(finished: bool) -> None:
        record = {
            "settings": {"iterations": iterations, "seeds": seeds, "first_seed": first_seed,
                         "score_every": score_every, "models": list(models),
                         "datasets": list(datasets), "batch": BATCH, "samples": EVAL_SAMPLES,
                         "setup": asdict(setup),
                         "contestants": {m: asdict(CONTESTANTS[m]) for m in models}},
            "finished": finished,
            "wall_seconds": round(time.perf_counter() - start, 1),
            "summary": summarize(runs),
            "anchors_pacgan_table1": ANCHORS,
            "runs": [{k: v for k, v in asdict(r).items() if k != "samples"} for r in runs],
        }
        write_bytes_atomic(out / "bench_modes.json", json.dumps(record, indent=1).encode())

    for model in models:
        for dataset in datasets:
            for seed in range(first_seed, first_seed + seeds):
                run = train_run(model, dataset, seed, iterations, setup=setup,
                                score_every=score_every, log=log)
                runs.append(run)
                log(f"{model:<15}{dataset:<5} seed {seed}: {run.modes:2d} modes, "
                    f"{run.high_quality:6.1%} high quality, reverse KL {run.reverse_kl:.3f}"
                    f"  ({run.seconds:.1f} s, CPU {run.cpu_seconds:.1f} s)")
                if out is not None:
                    save(finished=False)
    summary = summarize(runs)
    wall = time.perf_counter() - start
    if out is not None:
        save(finished=True)
        from .viz import plt
        for model in models:
            fig = scatter_figure([r for r in runs if r.model == model])
            fig.savefig(out / f"{model}.png", dpi=90)
            plt.close(fig)
    return runs, summary | {"_wall_seconds": wall}


# The settings that make runs comparable: a table may only sum up runs that agree on these
# (and on each contestant that two files share).
SAME_SETTINGS = ("iterations", "batch", "samples", "setup")


def load_runs(paths) -> tuple[list[Run], int]:
    """The runs saved by several invocations (their ``bench_modes.json``), and their number
    of G steps; refused in one line if the files disagree on a setting that changes the
    scores, or hold the same (model, mixture, seed) twice."""
    runs, settings, seen, known = [], None, {}, {}
    for path in map(Path, paths):
        try:
            record = json.loads(path.read_text())
            these, saved = record["settings"], record["runs"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"--table {path}: not a bench_modes.json that bench-modes wrote "
                              f"({type(e).__name__}); run bench-modes with --out first") from None
        contestants = these.get("contestants") or {}
        these = {k: these.get(k) for k in SAME_SETTINGS}
        if isinstance(these["setup"], dict):   # written before a Setup field existed:
            these["setup"] = asdict(Setup()) | these["setup"]          # its default, then
        if settings is not None:
            differ = [k for k in SAME_SETTINGS if these[k] != settings[k]]
            differ += [f"contestant {m}" for m in contestants
                       if m in known and contestants[m] != known[m]]
            if differ:
                raise ConfigError(f"--table {path}: its {', '.join(differ)} differ from "
                                  f"{paths[0]}'s: only runs of one schedule make one table")
        settings = settings or these
        known = known | contestants
        for saved_run in saved:
            try:
                run = Run(**saved_run, samples=None)
            except TypeError:
                raise ConfigError(f"--table {path}: a run there lacks or adds fields "
                                  f"({sorted(saved_run)}): was it written by bench-modes?"
                                  ) from None
            key = (run.model, run.dataset, run.seed)
            if key in seen:
                raise ConfigError(f"--table {path}: {run.model} on {run.dataset}, seed "
                                  f"{run.seed}, is also in {seen[key]}: give each seed once")
            seen[key] = path
            runs.append(run)
    return runs, settings["iterations"]


def cmd_bench_modes(args) -> int:
    if args.table:
        runs, iterations = load_runs(args.table)
        print(format_table(summarize(runs), iterations))
        return 0
    models = parse_list("--models", args.models, CONTESTANTS)
    datasets = parse_list("--datasets", args.datasets, DATASETS)
    if args.setup not in SETUPS:
        raise ConfigError(f"--setup {args.setup!r}: choose from {', '.join(SETUPS)}")
    setup = replace(SETUPS[args.setup], **{k: v for k, v in (("lr_scale", args.lr_scale),
                                                           ("decay_from", args.decay_from),
                                                           ("ema", args.ema))
                                           if v is not None})
    print(f"bench-modes: setup {args.setup} {setup}")
    runs, summary = run_benchmark(models, datasets, args.seeds, args.iterations,
                                  Path(args.out), setup, first_seed=args.first_seed,
                                  overwrite=args.overwrite, score_every=args.score_every)
    wall = summary.pop("_wall_seconds")
    print()
    print(format_table(summary, args.iterations))
    cpu = sum(run.cpu_seconds for run in runs)
    print(f"\n{len(runs)} runs in {wall:.0f} s wall clock ({cpu:.0f} s of CPU time); JSON and "
          f"one scatter figure per model in {args.out}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("bench-modes", help="mode collapse on PacGAN's ring and grid, "
                                           "beside PacGAN's Table 1")
    p.add_argument("--seeds", type=int, default=10, help="N seeds per model and mixture")
    p.add_argument("--first-seed", type=int, default=0,
                   help="the seeds are S … S+N−1 (default 0): a long schedule a few seeds at "
                   "a time")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the benchmark saved in --out (it is never replaced otherwise)")
    p.add_argument("--table", nargs="+", metavar="JSON", default=None,
                   help="train nothing: print one table over the runs saved in these "
                   "bench_modes.json files (the same schedule, each seed once)")
    p.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS, help="G steps per run")
    p.add_argument("--score-every", type=int, default=0, metavar="N",
                   help="also score every run after every N-th G step (printed, and saved in "
                   "the JSON as the run's trace): when modes are found, sharpened or lost")
    p.add_argument("--models", default=",".join(CONTESTANTS),
                   help=f"comma-separated, of: {', '.join(CONTESTANTS)}")
    p.add_argument("--datasets", default="ring,grid", help="ring, grid or both")
    p.add_argument("--out", default="runs/bench-modes", help="folder for the JSON and figures")
    p.add_argument("--setup", default="pacgan-short", help=f"the networks' widths and schedule: "
                   f"{'; '.join(f'{k}: {v}' for k, v in SETUPS.items())}")
    p.add_argument("--lr-scale", type=float, default=None,
                   help="every contestant's learning rate times this (default: the setup's)")
    p.add_argument("--decay-from", type=float, default=None,
                   help="decay the lrs linearly to 0 from this fraction of the run on")
    p.add_argument("--ema", type=float, default=None, metavar="D",
                   help="score an exponential moving average of G's weights, updated after "
                   "every G step with decay D (e.g. 0.999; default: the setup's, none)")
    p.set_defaults(func=cmd_bench_modes)
