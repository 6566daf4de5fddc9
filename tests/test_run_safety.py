"""Faults and bad input on the command line and in run folders: nothing a user made is lost
by accident, a checkpoint cannot mix two moments, and every expected failure ends in one
line (``error: …`` on stderr, exit status 2) instead of a traceback.

The training data is 96 synthetic 28×28 images patched in for MNIST, so these run offline
in seconds."""
import json
import os

import numpy as np
import pytest

from scratchgan import fileio
from scratchgan.__main__ import main as cli_main
from scratchgan.checkpoint import META_KEY, load_npz, save_npz_atomic
from scratchgan.errors import CheckpointError
from scratchgan.models.mlp_gan import MLPGAN, MLPGANConfig
from scratchgan.train import Trainer, read_checkpoint, replace_run_folder

TINY_SET = ["--set", "z_dim=8", "--set", "g_hidden=16,16", "--set", "d_hidden=16",
            "--set", "ema_decay=0.9", "--set", "pack=1"]


def tiny_config(**changes):
    return MLPGANConfig(**{**dict(z_dim=8, g_hidden=(16, 16), d_hidden=(16,), batch_size=16,
                                  ema_decay=0.9, pack=1), **changes})


@pytest.fixture
def mnist(monkeypatch, tmp_path):
    """Patch MNIST with 96 random images; ``loads`` counts how often training data was read."""
    from scratchgan.data import mnist as mnist_module
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (96, 28, 28), dtype=np.uint8)
    loads = []
    monkeypatch.setenv("SCRATCHGAN_DATA", str(tmp_path / "cache"))   # never the user's cache

    def load(split="train", *a, **k):
        loads.append(split)
        return images, rng.integers(0, 10, 96, dtype=np.uint8)
    monkeypatch.setattr(mnist_module, "load_mnist", load)
    return loads


def run_cli(capsys, *argv):
    """(exit status, stdout, stderr) of one command."""
    status = cli_main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status, err, *words):
    assert status == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])


def train(capsys, out, *extra):
    return run_cli(capsys, "train", "mnist-gan", "--out", out, "--epochs", 2, "--no-eval",
                   "--batch-size", 16, *TINY_SET, *extra)


@pytest.fixture(scope="module")
def _template_run(tmp_path_factory):
    """One finished 2-epoch run, trained once for the module; tests get copies of it."""
    out = tmp_path_factory.mktemp("template") / "run"
    with pytest.MonkeyPatch.context() as patch:
        from scratchgan.data import mnist as mnist_module
        images = np.random.default_rng(0).integers(0, 256, (96, 28, 28), dtype=np.uint8)
        patch.setattr(mnist_module, "load_mnist", lambda *a, **k: (images, None))
        assert cli_main(["train", "mnist-gan", "--out", str(out), "--epochs", "2", "--no-eval",
                         "--batch-size", "16", *TINY_SET]) == 0
    return out


@pytest.fixture
def finished_run(_template_run, tmp_path, mnist):
    import shutil
    out = tmp_path / "run"
    shutil.copytree(_template_run, out)
    return out


# --- the checkpoint is one file: a kill cannot pair a new half with an old half -------------
def test_the_checkpoint_is_one_file_that_carries_its_own_metadata(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (96, 28, 28), dtype=np.uint8)
    trainer = Trainer.create(MLPGAN, tiny_config(epochs=2), images, tmp_path, seed=0, progress=False)
    trainer.fit()
    assert not (tmp_path / "checkpoint.json").exists()
    raw = load_npz(tmp_path / "checkpoint.npz")
    meta = json.loads(bytes(raw[META_KEY]).decode())
    assert (meta["epoch"], meta["position"]) == (2, 0)
    # the loss history and the position inside the same file agree
    assert len(raw["history/d_loss"]) == 2 * trainer.iters_per_epoch


def test_a_kill_during_the_checkpoint_write_leaves_the_old_checkpoint_whole(tmp_path, monkeypatch):
    """The kill the issue reproduced (new arrays, old metadata) is simulated at the moment
    of the rename: the old checkpoint must still load, consistent with itself, and the
    temporary file the kill left is removed by the next save."""
    images = np.random.default_rng(0).integers(0, 256, (96, 28, 28), dtype=np.uint8)
    trainer = Trainer.create(MLPGAN, tiny_config(epochs=2), images, tmp_path, seed=0, progress=False)
    assert trainer.run_epoch()
    trainer.save_checkpoint()
    assert trainer.run_epoch()

    def killed(src, dst):
        raise SystemExit("kill -9")
    monkeypatch.setattr(fileio.os, "replace", killed)
    monkeypatch.setattr(fileio.os, "remove", lambda p: None)     # a kill cleans nothing up
    with pytest.raises(SystemExit):
        trainer.save_checkpoint()
    monkeypatch.undo()
    orphans = list(tmp_path.glob("checkpoint.npz.*.tmp"))
    assert orphans                                               # what a kill leaves behind
    arrays, meta = read_checkpoint(tmp_path)
    assert meta["epoch"] == 1 and len(arrays["history/g_loss"]) == trainer.iters_per_epoch
    trainer.save_checkpoint()
    assert not list(tmp_path.glob("*.tmp"))


def test_a_two_file_checkpoint_of_an_older_version_is_refused_in_one_line(finished_run, capsys):
    (finished_run / "checkpoint.json").write_text("{}")
    assert_one_line_error(*run_cli(capsys, "eval", finished_run)[::2], "older scratchgan")


# --- a finished run is never replaced unless asked --------------------------------------------
def test_training_into_a_finished_run_is_refused_and_changes_nothing(finished_run, capsys):
    before = {p: p.read_bytes() for p in finished_run.rglob("*") if p.is_file()}
    status, _, err = train(capsys, finished_run)
    assert_one_line_error(status, err, "already holds a finished run", "--overwrite")
    after = {p: p.read_bytes() for p in finished_run.rglob("*") if p.is_file()}
    assert after == before


def test_overwrite_starts_from_an_empty_folder(finished_run, capsys):
    stale = finished_run / "samples" / "epoch_003.png"
    stale.write_bytes(b"from an older, longer run")
    (finished_run / "metrics.json").write_text('{"evaluation": {"epoch": 3}}')
    status, _, err = train(capsys, finished_run, "--overwrite")
    assert status == 0, err
    assert not stale.exists()
    assert "evaluation" not in json.loads((finished_run / "metrics.json").read_text())


def test_a_kill_during_overwrite_leaves_one_run_or_the_other(finished_run, monkeypatch):
    """The old run is renamed aside in one step before anything is deleted: killed right
    after the rename, the folder is gone and the old run is whole beside it; the next
    overwrite removes that leftover."""
    import shutil
    checkpoint = (finished_run / "checkpoint.npz").read_bytes()
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: (_ for _ in ()).throw(SystemExit()))
    with pytest.raises(SystemExit):
        replace_run_folder(finished_run)
    monkeypatch.undo()
    assert not finished_run.exists()
    (aside,) = finished_run.parent.glob(".run.replaced-*")
    assert (aside / "checkpoint.npz").read_bytes() == checkpoint
    finished_run.mkdir()
    (finished_run / "config.json").write_text("{}")
    replace_run_folder(finished_run)
    assert not list(finished_run.parent.glob(".run.replaced-*")) and not finished_run.exists()


def test_overwrite_refuses_a_folder_that_is_not_a_run(tmp_path, mnist, capsys):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("...")
    status, _, err = train(capsys, precious, "--overwrite")
    assert_one_line_error(status, err, "not a run folder")
    assert (precious / "chapter1.tex").exists()


def test_sample_refuses_to_write_over_the_runs_own_files(finished_run, capsys):
    weights = (finished_run / "checkpoint.npz").read_bytes()
    for target in ("checkpoint.npz", "config.json", "metrics.json"):
        status, _, err = run_cli(capsys, "sample", finished_run, "-n", 5,
                                 "-o", finished_run / target)
        assert_one_line_error(status, err, "run's own files")
    assert (finished_run / "checkpoint.npz").read_bytes() == weights
    status, _, err = run_cli(capsys, "sample", finished_run, "-n", 5, "-o", finished_run)
    assert_one_line_error(status, err, "folder")


# --- one rule for resume: only --epochs may change, and nothing measured is dropped -------------
@pytest.mark.parametrize("flag", [["--batch-size", 8], ["--lr", 1e-3], ["--set", "pack=1"],
                                  ["--preset", "tutorial"], ["--seed", 3]])
def test_resume_refuses_to_change_the_configuration(finished_run, capsys, flag):
    before = (finished_run / "checkpoint.npz").read_bytes()
    status, _, err = run_cli(capsys, "train", "mnist-gan", "--out", finished_run, "--resume",
                             "--epochs", 3, "--no-eval", *flag)
    assert_one_line_error(status, err, flag[0], "only --epochs may change")
    assert (finished_run / "checkpoint.npz").read_bytes() == before


def test_resume_cannot_shorten_a_run_or_drop_its_evaluation(finished_run, capsys):
    evaluation = {"epoch": 2, "inception_score": 5.0}
    (finished_run / "metrics.json").write_text(json.dumps({"evaluation": evaluation}))
    status, _, err = run_cli(capsys, "train", "mnist-gan", "--out", finished_run, "--resume",
                             "--epochs", 1, "--no-eval")
    assert_one_line_error(status, err, "already trained 2 epochs")
    assert json.loads((finished_run / "metrics.json").read_text())["evaluation"] == evaluation


def test_resuming_a_finished_run_says_so(finished_run, capsys):
    status, out, _ = run_cli(capsys, "train", "mnist-gan", "--out", finished_run, "--resume")
    assert status == 0 and "finished all 2 epochs: nothing to resume" in out


def test_training_longer_keeps_the_earlier_evaluation(finished_run, capsys):
    evaluation = {"epoch": 2, "inception_score": 5.0}
    (finished_run / "metrics.json").write_text(json.dumps({"evaluation": evaluation}))
    status, _, err = run_cli(capsys, "train", "mnist-gan", "--out", finished_run, "--resume",
                             "--epochs", 3, "--no-eval")
    assert status == 0, err
    metrics = json.loads((finished_run / "metrics.json").read_text())
    assert metrics["evaluation"] == evaluation and metrics["training"]["epochs"] == 3


# --- meaningless settings are refused before any work starts -----------------------------------
@pytest.mark.parametrize("argv, field", [
    (["--epochs", 0], "epochs"), (["--epochs", -2], "epochs"),
    (["--batch-size", 0], "batch_size"), (["--batch-size", -5], "batch_size"),
    (["--lr", "nan"], "lr_g"), (["--set", "lr_g=-1"], "lr_g"), (["--set", "k=0"], "k"),
    (["--set", "ema_every=0"], "ema_every"), (["--set", "pack=0"], "pack"),
    (["--set", "z_dim=0"], "z_dim"), (["--set", "pack=3"], "divisor of batch_size"),
    (["--set", "d_dropout=1.5"], "d_dropout"), (["--set", "g_loss=foo"], "g_loss"),
    (["--eval-samples", 0], "eval-samples"), (["--set", "lr_d=inf"], "lr_d"),
    (["--set", "betas=1,2"], "betas"), (["--preset", "nope"], "unknown preset"),
])
def test_a_meaningless_setting_is_refused_before_training(tmp_path, mnist, capsys, argv, field):
    status, _, err = run_cli(capsys, "train", "mnist-gan", "--out", tmp_path / "run",
                             "--no-eval", "--epochs", 1, *TINY_SET, *argv)
    assert_one_line_error(status, err, field)
    assert mnist == [] and not (tmp_path / "run").exists()    # no data read, no folder made


def test_a_batch_larger_than_the_data_is_refused(tmp_path, mnist, capsys):
    status, _, err = run_cli(capsys, "train", "mnist-gan", "--out", tmp_path / "run",
                             "--no-eval", *TINY_SET, "--batch-size", 128)
    assert_one_line_error(status, err, "batch_size=128", "96")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["eval", "sample"])
@pytest.mark.parametrize("n", [0, -3])
def test_a_count_below_one_is_refused(finished_run, capsys, command, n):
    extra = ["-o", finished_run.parent / "s.npz"] if command == "sample" else []
    assert_one_line_error(*run_cli(capsys, command, finished_run, "-n", n, *extra)[::2], "-n")


def test_an_unwritable_output_is_refused(finished_run, tmp_path, capsys):
    status, _, err = run_cli(capsys, "sample", finished_run, "-o", tmp_path / "nowhere" / "s.npz")
    assert_one_line_error(status, err, "does not exist")


# --- damaged or hand-edited checkpoints: one line naming the file ------------------------------
def _truncate(run):
    data = (run / "checkpoint.npz").read_bytes()
    (run / "checkpoint.npz").write_bytes(data[: len(data) // 2])


def _flip(run):
    path = run / "checkpoint.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))


def _drop_config_key(run):
    raw = load_npz(run / "checkpoint.npz")
    meta = json.loads(bytes(raw[META_KEY]).decode())
    del meta["config"]["pack"]
    raw[META_KEY] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    save_npz_atomic(run / "checkpoint.npz", raw)


def _remove(run):
    os.remove(run / "checkpoint.npz")


def _bad_meta(run):
    raw = load_npz(run / "checkpoint.npz")
    raw[META_KEY] = np.frombuffer(b'{"epoch": 2', np.uint8)
    save_npz_atomic(run / "checkpoint.npz", raw)


@pytest.mark.parametrize("damage, says", [(_truncate, "damaged"), (_flip, "damaged"),
                                          (_drop_config_key, "missing pack"),
                                          (_remove, "before its first checkpoint"),
                                          (_bad_meta, "damaged")])
@pytest.mark.parametrize("command", ["eval", "sample", "resume"])
def test_a_damaged_checkpoint_gives_one_line(finished_run, capsys, damage, says, command):
    damage(finished_run)
    if command == "resume":
        argv = ["train", "mnist-gan", "--out", finished_run, "--resume", "--epochs", 3]
    else:
        argv = [command, finished_run] + (["-o", finished_run.parent / "s.npz"]
                                          if command == "sample" else [])
    assert_one_line_error(*run_cli(capsys, *argv)[::2], says, "--overwrite")


def test_read_checkpoint_names_the_file(finished_run):
    _flip(finished_run)
    with pytest.raises(CheckpointError, match="checkpoint.npz is damaged"):
        read_checkpoint(finished_run)
