"""Shared fixtures: every test runs seeded, once per backend.

The backends are NumPy, the strict device stand-in (``scratchgan.strict``: NumPy behind a
CuPy-like wall, so code that would break on a GPU breaks here, without one) and CuPy
where a GPU is.  A test id names its backend: ``test_first_order[strict-tanh]``.

A test that is about the host and nothing else (files, downloads, the command line,
lessons) opts out with ``@pytest.mark.host_only`` (or a module's ``pytestmark``): it runs
once, on NumPy.
"""
import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as backend_module

AVAILABLE = backend_module.available_backends()           # numpy, and cupy where a GPU is
BACKENDS = AVAILABLE[:1] + ["strict"] + AVAILABLE[1:]     # numpy, strict, cupy


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "host_only: about the host only (files, downloads, command line, lessons): "
                   "run once, on NumPy, not once per backend")


def pytest_generate_tests(metafunc):
    """Parametrise every test over the backends, through the autouse ``backend`` fixture."""
    if "backend" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("host_only"):
        return                                            # the fixture falls back to NumPy
    metafunc.parametrize("backend", BACKENDS, indirect=True, ids=BACKENDS, scope="function")


@pytest.fixture(autouse=True)
def backend(request):
    """Run the test on this backend, then restore the one the suite started with."""
    name = getattr(request, "param", "numpy")
    previous = backend_module.name
    sg.use_backend(name)
    yield name
    sg.use_backend(previous)


@pytest.fixture(autouse=True)
def _seeded(backend):
    sg.seed(0)                 # after the switch: seeding reaches the active backend too
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def pytest_terminal_summary(terminalreporter):
    """Say which backends the suite ran on, and why one did not."""
    missing = "" if "cupy" in AVAILABLE else f" (cupy: {_why_no_cupy()})"
    terminalreporter.write_line(f"backends: {', '.join(BACKENDS)}{missing}")


def _why_no_cupy() -> str:
    previous = backend_module.name
    try:
        backend_module.use_backend("cupy")
    except backend_module.BackendUnavailable as exc:
        return "not installed" if "not installed" in str(exc) else "no usable GPU"
    finally:
        backend_module.use_backend(previous)
    return "available"
