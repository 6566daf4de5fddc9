"""Shared fixtures: every test runs seeded, on each backend present (CuPy where a GPU is)."""
import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as backend_module

BACKENDS = backend_module.available_backends()


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Run the test on this backend, then restore the one the suite started with."""
    previous = backend_module.name
    sg.use_backend(request.param)
    yield request.param
    sg.use_backend(previous)


@pytest.fixture(autouse=True)
def _seeded():
    sg.seed(0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
