"""kill -9 a short training run at random moments, resume it each time, and check that the
result equals an uninterrupted run's, array for array, bit for bit.

    python tests/faults/kill_loop.py [--kills 12] [--seed 0]      (make test-faults)

Each child process trains a tiny GAN on synthetic images into one run folder, resuming
from the checkpoint when there is one; the parent kills it with SIGKILL after a random
delay, so kills land anywhere: inside an iteration, inside the checkpoint write, between
epochs.  A checkpoint that is not whole, or that mixes two moments, would make a resumed
run fail to load or diverge from the straight run.  Offline; about a minute on two cores.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 6


def child(out: str) -> None:
    """Train (or resume) the tiny run in ``out`` to the end."""
    sys.path.insert(0, str(ROOT))
    import numpy as np
    from scratchgan.models.mlp_gan import MLPGAN, MLPGANConfig
    from scratchgan.train import Trainer
    images = np.random.default_rng(0).integers(0, 256, (512, 28, 28), dtype=np.uint8)
    cfg = MLPGANConfig(z_dim=16, g_hidden=(64, 64), d_hidden=(64,), batch_size=16,
                       ema_decay=0.9, ema_every=3, pack=2, epochs=EPOCHS)
    trainer = Trainer.create(MLPGAN, cfg, images, out, seed=7, progress=False, log=lambda *a: None)
    if (Path(out) / "checkpoint.npz").exists():
        trainer.load_checkpoint()
    trainer.fit()


def run_child(out: Path, kill_after: float | None) -> bool:
    """Start a child; SIGKILL it after ``kill_after`` s.  True if it finished by itself."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(out)], cwd=ROOT)
    try:
        proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return False
    if proc.returncode != 0:
        raise SystemExit(f"FAIL: the child exited with status {proc.returncode} (see above)")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    sys.path.insert(0, str(ROOT))
    import numpy as np
    from scratchgan.train import model_arrays, read_checkpoint

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        straight, killed = Path(tmp) / "straight", Path(tmp) / "killed"
        start = time.perf_counter()
        run_child(straight, None)
        full = time.perf_counter() - start
        kills = 0
        while kills < args.kills:
            # import time is ~a third of a run: aim the kills over the whole child's life
            if run_child(killed, rng.uniform(0.1, full)):
                break
            kills += 1
        while not run_child(killed, None):
            pass
        a, meta_a = read_checkpoint(straight)
        b, meta_b = read_checkpoint(killed)
        assert (meta_a["epoch"], meta_b["epoch"]) == (EPOCHS, EPOCHS)
        assert sorted(a) == sorted(b), "the checkpoints hold different arrays"
        differ = [k for k in a if not np.array_equal(a[k], b[k])]
        leftovers = sorted(p.name for p in killed.glob("*.tmp"))
        if differ:
            print(f"FAIL: after {kills} kills, {len(differ)} arrays differ from the straight "
                  f"run: {', '.join(differ[:5])}")
            return 1
        if leftovers:
            print(f"FAIL: temporary files left behind: {', '.join(leftovers)}")
            return 1
        n = len(model_arrays(a))
        print(f"ok: {kills} kill -9s, each resumed; all {n} model arrays and the loss history "
              f"equal an uninterrupted run's bit for bit; no temporary file left")
    return 0


if __name__ == "__main__":
    sys.exit(main())
