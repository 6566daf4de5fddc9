"""The strict device stand-in refuses what CuPy refuses, and counts what crosses to the host.

If it let any of these through, the suite's strict runs would pass code that fails on a GPU.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import strict

# these tests pick the stand-in themselves: once is enough
pytestmark = pytest.mark.host_only


@pytest.fixture
def a():
    return strict.asarray(np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize("leak", [
    lambda a: np.asarray(a),                      # implicit conversion
    lambda a: np.array([a[0], a[1]]),
    lambda a: np.ones(3) + a,                     # mixing, either side
    lambda a: a * np.ones(3),
    lambda a: np.exp(a),                          # a NumPy ufunc on a device array
    lambda a: np.sum(a),                          # a NumPy function on a device array
    lambda a: np.testing.assert_allclose(a, 0),
    lambda a: strict.exp(np.ones(3)),             # a NumPy array into a device function
    lambda a: strict.where(np.ones(3, bool), a[0], 0.0),
    lambda a: a.__setitem__(0, np.zeros(3)),
], ids=["asarray", "array-of-list", "np+dev", "dev*np", "np.exp", "np.sum",
        "assert_allclose", "dev.exp(np)", "dev.where(np)", "setitem-np"])
def test_numpy_meeting_a_device_array_is_a_type_error(a, leak):
    with pytest.raises(TypeError):
        leak(a)


def test_numpy_only_names_are_missing():
    assert not hasattr(strict.add, "at")              # CuPy: cupyx.scatter_add
    assert not hasattr(strict, "errstate")
    target = strict.zeros(3)
    B.scatter_add(target, strict.asarray([0, 0, 2]), strict.asarray([1.0, 2.0, 5.0]))
    np.testing.assert_array_equal(target.get(), [3.0, 0.0, 5.0])   # repeats add up


def test_scalars_mix_and_reductions_stay_on_the_device(a):
    assert isinstance(2.0 * a + np.float32(1.0), strict.ndarray)
    total = a.sum()
    assert type(total) is strict.ndarray and total.shape == ()     # not a NumPy scalar
    assert type(a[0, 1]) is strict.ndarray and type(strict.allclose(a, a)) is strict.ndarray
    assert B.get_array_module(a) is strict and B.to_numpy(a).tolist() == a.tolist()


def test_reads_to_the_host_are_counted_with_their_sites(a):
    with strict.count_transfers() as moved:
        host = np.arange(3.0)
        b = strict.asarray(host)                   # host → device
        (a * 2).sum()                              # stays on the device
        float(a.max()), a.sum().item(), bool((a > 1).any()), a.get(), B.to_numpy(b)
    assert (moved.to_host, moved.to_device) == (5, 1)
    assert [what for what, _ in moved.sites] == ["float", "item", "bool", "get", "get"]
    assert all("test_strict.py" in site for _, site in moved.sites[:4])


def test_a_tensor_on_the_stand_in_answers_before_the_array(a):
    sg.use_backend("strict")
    try:
        t = sg.tensor(np.ones((2, 3)))
        assert isinstance(a * t, sg.Tensor) and isinstance(t * np.ones(3), sg.Tensor)
        assert B.get_array_module((t * np.ones(3)).data) is strict
    finally:
        sg.use_backend("numpy")


def test_the_environment_selects_the_stand_in():
    env = dict(os.environ, SCRATCHGAN_BACKEND="strict")
    code = "from scratchgan import backend; print(backend.name, backend.xp.__name__)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["strict", "scratchgan.strict"]


def test_a_smoothed_label_costs_no_read_from_the_device():
    """The label is a number, checked on the host: the loss must not read its filled array
    back (a device sync on every D step)."""
    from scratchgan import losses
    sg.use_backend("strict")
    try:
        logits = sg.tensor(np.zeros((4, 1)))
        with strict.count_transfers() as moved:
            losses.d_loss_minimax(logits, logits, real_label=0.9)
        assert moved.to_host == 0, moved.sites
    finally:
        sg.use_backend("numpy")
