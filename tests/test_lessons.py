"""Every lesson runs top to bottom, in fast mode, offline, as a student would run it."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

# each lesson runs in a child process with its own SCRATCHGAN_BACKEND, as a student runs it
pytestmark = pytest.mark.host_only

LESSONS_DIR = Path(__file__).resolve().parent.parent / "lessons"
LESSONS = sorted(p.name for p in LESSONS_DIR.glob("[0-9][0-9]*_*.py"))   # 04b_… too

# Fast mode's budget is 30 s a lesson on two cores; the limit here is a loose multiple of it,
# for machines shared with other work, so that only a lesson far over its budget fails.
FAST_BUDGET_S = 30
TIMEOUT_S = 4 * FAST_BUDGET_S


def test_there_are_lessons():
    assert len(LESSONS) >= 1, f"no lessons found in {LESSONS_DIR}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_in_fast_mode(lesson, tmp_path):
    env = dict(os.environ, SCRATCHGAN_FAST="1", SCRATCHGAN_OFFLINE="1", MPLBACKEND="Agg",
               SCRATCHGAN_BACKEND=os.environ.get("SCRATCHGAN_BACKEND", "numpy"),
               PYTHONPATH=str(LESSONS_DIR.parent))
    timeout = TIMEOUT_S
    try:
        result = subprocess.run([sys.executable, str(LESSONS_DIR / lesson)], env=env,
                                cwd=tmp_path, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{lesson} ran past {timeout} s in fast mode (its budget: "
                    f"{FAST_BUDGET_S} s on two cores)", pytrace=False)
    assert result.returncode == 0, (f"{lesson} failed (exit {result.returncode}):\n"
                                    f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    assert "what you should now be able to do" in (LESSONS_DIR / lesson).read_text().lower()


def test_notebook_kernels_talk_over_private_sockets_where_there_are_any(tmp_path):
    """make lessons: no kernel on plain TCP (the cause of ipykernel's transport warning)."""
    spec = importlib.util.spec_from_file_location("lesson_notebooks", LESSONS_DIR / "_notebooks.py")
    notebooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(notebooks)

    class Config:                       # traitlets' Config, as far as the function uses it
        def __init__(self):
            self.KernelManager = types.SimpleNamespace()

    settings = notebooks.kernel_transport(str(tmp_path), Config).KernelManager
    if os.name == "posix":
        assert settings.transport == "ipc"
        assert Path(settings.ip).parent == tmp_path
    else:
        assert not hasattr(settings, "transport")
