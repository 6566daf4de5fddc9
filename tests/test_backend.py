"""The backend: what decides where an update runs, the generator, and the one-line errors."""
import os
import subprocess
import sys

import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend, metrics


class _NoArrayModule:
    """Stands in for the active module after use_backend("cupy"): touching it is an error."""

    def __getattr__(self, name):
        raise AssertionError(f"blockwise used the active backend's xp.{name}, not the arrays'")


def test_blockwise_dispatches_on_the_arrays_not_on_the_active_backend(monkeypatch):
    """Parameters made before use_backend("cupy") are NumPy arrays: they must be updated
    a block at a time with a NumPy scratch array, whatever the active backend is."""
    monkeypatch.setattr(backend, "name", "cupy")
    monkeypatch.setattr(backend, "xp", _NoArrayModule())
    theta, g = np.arange(10, dtype=np.float32), np.full(10, 0.5, np.float32)
    seen = []

    def update(theta, g, scratch):
        seen.append((theta.size, type(scratch)))
        theta -= np.multiply(g, 2, out=scratch)

    backend.blockwise([(update, (theta, g))], block=4)
    assert seen == [(4, np.ndarray), (4, np.ndarray), (2, np.ndarray)]
    np.testing.assert_array_equal(theta, np.arange(10, dtype=np.float32) - 1)


def _tiny_digits():
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (64, 28, 28)).astype(np.uint8), rng.integers(0, 10, 64)


def _train(images, labels):
    return metrics.train_classifier(images, labels, epochs=1, batch_size=32,
                                    log=lambda *_: None).state_dict()


def test_training_the_classifier_repeats_and_leaves_the_run_generator_alone():
    images, labels = _tiny_digits()
    sg.seed(1)
    state_before = backend.rng_state()
    first = _train(images, labels)
    assert backend.rng_state() == state_before         # the run draws on as if nothing ran
    backend.rng().normal(size=5)                        # whatever the run drew before …
    second = _train(images, labels)                     # … the classifier is the same
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(sg.to_numpy(first[key]), sg.to_numpy(second[key]),
                                      err_msg=key)


def test_fork_rng_draws_from_its_seed_then_restores_the_outer_generator():
    sg.seed(3)
    expected_outer = np.random.default_rng(3).normal(size=4)
    with backend.fork_rng(7):
        inner = backend.random_normal((4,), dtype="float64")
    np.testing.assert_array_equal(sg.to_numpy(inner), np.random.default_rng(7).normal(size=4))
    np.testing.assert_array_equal(sg.to_numpy(backend.random_normal((4,), dtype="float64")),
                                  expected_outer)


def _one_actionable_line(message: str) -> None:
    assert "\n" not in message and message.strip() == message and len(message) < 160


def test_cupy_missing_is_one_actionable_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)          # import cupy → ImportError
    previous = backend.name
    with pytest.raises(backend.BackendUnavailable) as caught:
        sg.use_backend("cupy")
    message = str(caught.value)
    _one_actionable_line(message)
    assert "CuPy is not installed" in message and "pip install" in message
    assert "numpy backend" in message
    assert caught.value.__suppress_context__            # no chained ImportError traceback
    assert backend.name == previous                     # the failed switch changed nothing
    assert "numpy" in backend.available_backends()


def test_an_unknown_backend_name_is_one_line_naming_the_choices():
    with pytest.raises(backend.UnknownBackend) as caught:
        sg.use_backend("tpu")
    message = str(caught.value)
    _one_actionable_line(message)
    assert "'tpu'" in message and "'numpy'" in message and "'cupy'" in message
    assert isinstance(caught.value, backend.BackendError)


def test_a_bad_scratchgan_backend_variable_names_the_variable():
    code = ("try:\n    import scratchgan\n"
            "except Exception as exc:\n    print(type(exc).__name__, '|', exc)\n")
    env = dict(os.environ, SCRATCHGAN_BACKEND="tpu",
               PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60).stdout.strip()
    assert out.startswith("UnknownBackend | SCRATCHGAN_BACKEND=tpu: unknown backend 'tpu'"), out


@pytest.mark.host_only                      # a child process: the same on every backend
def test_a_bad_backend_in_the_environment_ends_the_command_line_in_one_line():
    import subprocess
    import sys
    env = dict(__import__("os").environ, SCRATCHGAN_BACKEND="tpu")
    done = subprocess.run([sys.executable, "-m", "scratchgan", "data"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: SCRATCHGAN_BACKEND=tpu: unknown backend 'tpu': choose 'numpy' or 'cupy' "
        "(or 'strict', the tests' device stand-in)"]


@pytest.mark.host_only
def test_freed_memory_is_kept_on_glibc_unless_asked_not_to(monkeypatch):
    """On Linux with glibc every setting is accepted (mallopt returns 1 for each); with
    SCRATCHGAN_MALLOC=system nothing is asked of malloc."""
    import ctypes
    calls = []
    real_cdll = ctypes.CDLL
    monkeypatch.setattr(ctypes, "CDLL", lambda name: calls.append(name) or real_cdll(name))
    monkeypatch.setenv("SCRATCHGAN_MALLOC", "system")
    assert backend.keep_freed_memory() is False and calls == []
    monkeypatch.delenv("SCRATCHGAN_MALLOC")
    import platform
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert backend.keep_freed_memory() is glibc
    assert backend.MALLOC_KEPT is glibc
