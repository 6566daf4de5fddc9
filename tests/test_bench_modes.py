"""bench-modes: PacGAN's scores on hand-made samples, the table, and every contestant end to
end for a few iterations (on every backend)."""
import json
import math

import numpy as np
import pytest

from scratchgan import bench_modes as bm
from scratchgan.__main__ import main
from scratchgan.data.toy2d import (PACGAN_GRID, PACGAN_RING, grid_of_gaussians, mode_coverage,
                                   pacgan_scores, ring_of_gaussians)

RING_CENTRES, RING_STD, _ = bm.DATASETS["ring"]
GRID_CENTRES, GRID_STD, _ = bm.DATASETS["grid"]
CASES = {"ring": (RING_CENTRES, RING_STD), "grid": (GRID_CENTRES, GRID_STD)}
REAL_HQ = 1 - math.exp(-9 / 2)      # P(‖σε‖ ≤ 3σ) for ε ~ N(0, I₂): a Rayleigh tail


# --- the scores on samples made by hand ---------------------------------------------------
def test_the_mixtures_are_pacgans():
    assert len(RING_CENTRES) == 8 and len(GRID_CENTRES) == 25
    np.testing.assert_allclose(np.linalg.norm(RING_CENTRES, axis=1), 1.0, rtol=1e-6)
    assert RING_STD == PACGAN_RING["std"] == 0.01 and GRID_STD == PACGAN_GRID["std"] == 0.05
    assert sorted(set(GRID_CENTRES[:, 0].tolist())) == [-4, -2, 0, 2, 4]


@pytest.mark.parametrize("dataset", CASES)
def test_all_samples_on_one_mode_capture_one_mode_with_kl_log_k(dataset, rng):
    centres, std = CASES[dataset]
    samples = centres[3] + 0.5 * std * rng.standard_normal((2500, 2))
    scores = pacgan_scores(samples, centres, std)
    assert scores.modes == 1
    assert scores.high_quality > 0.99
    assert scores.reverse_kl == pytest.approx(math.log(len(centres)), rel=1e-12)


@pytest.mark.parametrize("dataset", CASES)
def test_the_real_mixture_captures_every_mode_with_kl_near_zero(dataset, rng):
    centres, std = CASES[dataset]
    draw = ring_of_gaussians if dataset == "ring" else grid_of_gaussians
    params = PACGAN_RING if dataset == "ring" else PACGAN_GRID
    samples, _ = draw(2500, rng=rng, **params)
    scores = pacgan_scores(samples, centres, std)
    assert scores.modes == len(centres)
    assert abs(scores.high_quality - REAL_HQ) < 0.01          # 98.9%; binomial sd ≈ 0.2%
    # a multinomial histogram of 2,500 draws is not exactly flat: KL ≈ (K − 1)/(2n)
    assert scores.reverse_kl < 5 * (len(centres) - 1) / (2 * 2500)


def test_reverse_kl_of_a_known_histogram():
    """3 samples on mode 0, 1 on mode 1, none elsewhere, 1 far from everything: p̂ = (¾, ¼)."""
    c = RING_CENTRES
    samples = np.stack([c[0], c[0], c[0], c[1], np.array([0.0, 0.0])])
    scores = pacgan_scores(samples, c, RING_STD)
    p = np.array([0.75, 0.25])
    assert scores.modes == 2
    assert scores.high_quality == pytest.approx(4 / 5)
    assert scores.reverse_kl == pytest.approx(float((p * np.log(p * 8)).sum()), rel=1e-12)


def test_no_high_quality_sample_scores_as_a_total_collapse():
    samples = np.zeros((10, 2))                       # the ring's centre: 1 from every mode
    assert pacgan_scores(samples, RING_CENTRES, RING_STD) == (0, 0.0, pytest.approx(math.log(8)))


def test_one_sample_captures_a_mode_under_pacgans_rule_not_the_lessons():
    """The two conventions differ, which is why one table never mixes them."""
    samples = np.concatenate([np.repeat(RING_CENTRES[:1], 99, axis=0), RING_CENTRES[1:2]])
    assert pacgan_scores(samples, RING_CENTRES, RING_STD).modes == 2
    assert mode_coverage(samples, RING_CENTRES, RING_STD).modes_covered == 1


# --- the table ------------------------------------------------------------------------------
def fake_run(model, dataset, seed, modes, hq, kl):
    return bm.Run(model, dataset, seed, 10, modes, hq, kl, 1.0, 1.0, np.zeros((1, 2)))


def test_summary_is_mean_and_sample_std_over_seeds():
    runs = [fake_run("gan", "ring", 0, 6, 0.90, 0.5), fake_run("gan", "ring", 1, 8, 0.96, 0.1)]
    row = bm.summarize(runs)["gan"]["ring"]
    assert row["modes"] == pytest.approx((7.0, math.sqrt(2)))
    assert row["high_quality"] == pytest.approx((0.93, np.std([0.90, 0.96], ddof=1)))
    assert row["seeds"] == 2


def test_table_shows_ours_beside_pacgans_anchors():
    runs = [fake_run(m, d, 0, 5, 0.5, 0.25) for m in ("gan", "wgan") for d in ("ring", "grid")]
    text = bm.format_table(bm.summarize(runs), 10)
    lines = text.splitlines()
    assert lines[0].startswith("ring (8 modes")
    assert any(line.startswith("grid (25") for line in lines)
    gan_row = next(i for i, line in enumerate(lines) if line.split()[:1] == ["gan"])
    assert "PacGAN Table 1" in lines[gan_row + 1] and "6.3" in lines[gan_row + 1]
    assert "98.2" in lines[gan_row + 1] and "0.45" in lines[gan_row + 1]
    assert "5.0 ± 0.0" in lines[gan_row] and "50.0" in lines[gan_row]
    wgan_row = next(i for i, line in enumerate(lines) if line.split()[:1] == ["wgan"])
    assert wgan_row + 1 == len(lines) or "PacGAN" not in lines[wgan_row + 1]   # no anchor


# --- every contestant, end to end --------------------------------------------------------
SMALL = bm.SETUPS["small"]     # the same contestants on narrower networks: a faster test


@pytest.mark.parametrize("model", bm.CONTESTANTS)
def test_every_contestant_trains_and_is_scored(model, backend):
    seen = []
    run = bm.train_run(model, "ring", seed=0, iterations=2, setup=SMALL,
                       callback=lambda i, G, D: seen.append(i))
    assert seen == [0, 1, 2]
    assert run.samples.shape == (2500, 2) and np.isfinite(run.samples).all()
    assert 0 <= run.modes <= 8 and 0 <= run.high_quality <= 1
    assert 0 <= run.reverse_kl <= math.log(8) + 1e-9
    again = bm.train_run(model, "ring", seed=0, iterations=2, setup=SMALL)
    np.testing.assert_array_equal(run.samples, again.samples)          # seeded: repeatable


def test_scoring_along_the_way_records_a_trace_and_changes_nothing(backend):
    lines = []
    run = bm.train_run("pacgan2", "grid", seed=1, iterations=4, setup=SMALL, score_every=2,
                       log=lines.append)
    assert [point["step"] for point in run.trace] == [2, 4] and len(lines) == 2
    assert "G step 2:" in lines[0] and "modes" in lines[0]
    last = run.trace[-1]                                  # the final score, the same z
    assert (last["modes"], last["high_quality"], last["reverse_kl"]) == \
        (run.modes, run.high_quality, run.reverse_kl)
    plain = bm.train_run("pacgan2", "grid", seed=1, iterations=4, setup=SMALL)
    assert plain.trace == []
    np.testing.assert_array_equal(run.samples, plain.samples)   # scoring drew no training noise


def test_with_an_ema_the_average_of_gs_weights_is_scored(backend):
    import copy

    from scratchgan import optim

    mine = {}

    def keep_my_own_average(iteration, G, D):          # the formula, beside the run
        if iteration == 0:
            mine["G"] = copy.deepcopy(G)
        else:
            optim.update_ema(mine["G"], G, min(0.9, (1 + iteration) / (10 + iteration)))
        mine["last"] = G

    setup = bm.Setup(g_hidden=16, d_hidden=16, lr_scale=5.0, ema=0.9)
    run = bm.train_run("gan", "ring", seed=3, iterations=3, setup=setup,
                       callback=keep_my_own_average)
    np.testing.assert_array_equal(run.samples, bm.generate(mine["G"], bm.EVAL_SAMPLES, 3))
    last = bm.generate(mine["last"], bm.EVAL_SAMPLES, 3)           # not G's last weights
    assert np.abs(run.samples - last).max() > 1e-6


def test_the_learning_rate_is_constant_then_decays_linearly():
    lrs = [bm.scheduled_lr(1.0, i, 6, decay_from=0.5) for i in range(1, 7)]
    assert lrs == pytest.approx([1, 1, 1, 1, 2 / 3, 1 / 3])
    assert [bm.scheduled_lr(1.0, i, 6, decay_from=1.0) for i in range(1, 7)] == [1.0] * 6


def test_networks_are_pacgans(backend):
    G, D = bm.make_generator(), bm.make_discriminator(pack=4)
    assert [type(m).__name__ for m in G] == ["Linear", "BatchNorm1d", "ReLU"] * 4 + ["Linear"]
    assert G[0].bias is None and G[0].out_features == 400
    assert [type(m).__name__ for m in D] == ["Maxout"] * 3 + ["Linear"]
    assert D[0].in_features == 8 and D[0].out_features == 200 and D[0].pieces == 5
    w = D[1].linear.weight.numpy()
    assert abs(w.std() - 0.02) < 0.001 and np.all(D[1].linear.bias.numpy() == 0)


def test_wgan_clipping_keeps_the_critics_weights_in_range(backend):
    worst = []

    def record(i, G, D):
        if i:
            worst.append(max(float(np.abs(p.numpy()).max()) for p in D.parameters()))

    bm.train_run("wgan", "grid", seed=0, iterations=2, callback=record, setup=SMALL)
    assert len(worst) == 2 and max(worst) <= 0.01


# --- the command line ---------------------------------------------------------------------
@pytest.mark.host_only
def test_command_line_writes_json_and_a_figure_per_model(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["bench-modes", "--seeds", "1", "--iterations", "1", "--models",
                 "gan,pacgan2", "--datasets", "ring", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "PacGAN Table 1" in printed and "pacgan2" in printed
    record = json.loads((out / "bench_modes.json").read_text())
    assert len(record["runs"]) == 2 and record["settings"]["iterations"] == 1
    assert set(record["summary"]) == {"gan", "pacgan2"}
    assert (out / "gan.png").stat().st_size > 0 and (out / "pacgan2.png").stat().st_size > 0


def test_a_benchmark_stopped_midway_keeps_the_seeds_it_finished(tmp_path):
    lines = []

    def log(line):
        lines.append(line)
        if len(lines) == 2:                 # the second run is trained, not yet saved
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bm.run_benchmark(["gan"], ["ring"], seeds=3, iterations=1, out=tmp_path, setup=SMALL,
                         log=log)
    record = json.loads((tmp_path / "bench_modes.json").read_text())
    assert record["finished"] is False and [r["seed"] for r in record["runs"]] == [0]
    assert record["summary"]["gan"]["ring"]["seeds"] == 1
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob("*.png"))


@pytest.mark.host_only
def test_a_saved_benchmark_is_replaced_only_when_asked(tmp_path, capsys):
    argv = ["bench-modes", "--seeds", "1", "--iterations", "1", "--models", "gan",
            "--datasets", "ring", "--setup", "small", "--out", str(tmp_path)]
    assert main(argv) == 0
    saved = (tmp_path / "bench_modes.json").read_text()
    assert json.loads(saved)["finished"] is True
    capsys.readouterr()
    assert main([*argv, "--first-seed", "4"]) == 2
    err = capsys.readouterr().err
    assert "holds a benchmark already" in err and err.count("\n") == 1
    assert (tmp_path / "bench_modes.json").read_text() == saved
    assert main([*argv, "--first-seed", "4", "--overwrite"]) == 0
    assert [r["seed"] for r in json.loads((tmp_path / "bench_modes.json").read_text())["runs"]] == [4]


@pytest.mark.host_only
def test_table_sums_up_the_seeds_of_several_invocations(tmp_path, capsys):
    common = ["bench-modes", "--iterations", "1", "--models", "pacgan2", "--datasets", "ring"]
    assert main([*common, "--seeds", "2", "--out", str(tmp_path / "a"), "--score-every", "1"]) == 0
    assert main([*common, "--seeds", "1", "--first-seed", "2", "--out", str(tmp_path / "b")]) == 0
    a, b = (json.loads((tmp_path / x / "bench_modes.json").read_text()) for x in "ab")
    assert [r["seed"] for r in a["runs"]] == [0, 1] and [r["seed"] for r in b["runs"]] == [2]
    assert [len(r["trace"]) for r in a["runs"] + b["runs"]] == [1, 1, 0]   # traced or not
    capsys.readouterr()
    assert main(["bench-modes", "--table", str(tmp_path / "a" / "bench_modes.json"),
                 str(tmp_path / "b" / "bench_modes.json")]) == 0
    printed = capsys.readouterr().out
    runs = a["runs"] + b["runs"]
    modes = np.array([r["modes"] for r in runs], dtype=float)
    quality = np.array([r["high_quality"] for r in runs])
    row = next(line for line in printed.splitlines() if line.strip().startswith("pacgan2"))
    assert row.split()[1:] == [f"{modes.mean():.1f}", "±", f"{modes.std(ddof=1):.1f}",
                               f"{100 * quality.mean():.1f}", "±",
                               f"{100 * quality.std(ddof=1):.1f}"] + row.split()[7:]
    assert row.split()[-1] == "3"                                       # seeds
    # the same seed twice, or another schedule, is refused in one line
    other = ["bench-modes", "--iterations", "2", *common[3:], "--seeds", "1", "--first-seed", "5"]
    assert main([*other, "--out", str(tmp_path / "c")]) == 0
    for extra, message in (("a", "give each seed once"), ("c", "iterations differ")):
        capsys.readouterr()
        assert main(["bench-modes", "--table", str(tmp_path / "a" / "bench_modes.json"),
                     str(tmp_path / extra / "bench_modes.json")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    # a file written before the setup had an EMA reads as none; another EMA is another schedule
    b_path, paths = tmp_path / "b" / "bench_modes.json", [str(tmp_path / x / "bench_modes.json")
                                                          for x in "ab"]
    old = json.loads(b_path.read_text())
    del old["settings"]["setup"]["ema"]
    b_path.write_text(json.dumps(old))
    assert main(["bench-modes", "--table", *paths]) == 0
    old["settings"]["setup"]["ema"] = 0.999
    b_path.write_text(json.dumps(old))
    capsys.readouterr()
    assert main(["bench-modes", "--table", *paths]) == 2
    assert "setup differ" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("[1, 2]")
    assert main(["bench-modes", "--table", str(tmp_path / "junk.json")]) == 2
    assert "not a bench_modes.json" in capsys.readouterr().err


@pytest.mark.host_only
@pytest.mark.parametrize("argv, message", [
    (["--models", "gan,vae"], "--models 'gan,vae': choose from"),
    (["--datasets", "spiral"], "--datasets 'spiral': choose from"),
    (["--seeds", "0"], "--seeds=0 is not allowed"),
    (["--iterations", "0"], "--iterations=0 is not allowed"),
    (["--first-seed", "-1"], "--first-seed=-1 is not allowed"),
    (["--score-every", "-5"], "--score-every=-5 is not allowed"),
    (["--ema", "1"], "--ema=1.0 is not allowed: --ema must be a finite number in [0, 1)"),
])
def test_bad_settings_are_refused_in_one_line(argv, message, tmp_path, capsys):
    assert main(["bench-modes", "--out", str(tmp_path / "x"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "x").exists()
