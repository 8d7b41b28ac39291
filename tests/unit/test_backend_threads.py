"""Thread policy of the host DCT (the CPU pressure preconditioner)."""
import os

import numpy as np

from kernels import backend
from kernels.reference import dct_precondition


def test_small_grids_transform_on_one_thread(monkeypatch):
    monkeypatch.delenv("TWIN_CPU_THREADS", raising=False)
    assert backend.fft_workers(27_648) == 1
    assert backend.fft_workers(backend.FFT_THREADS_MIN_CELLS - 1) == 1
    assert backend.fft_workers(backend.FFT_THREADS_MIN_CELLS) == (os.cpu_count() or 1)


def test_environment_overrides_the_threads(monkeypatch):
    monkeypatch.setenv("TWIN_CPU_THREADS", "3")
    assert backend.fft_workers(10) == 3
    assert backend.fft_workers(10**8) == 3


def test_dct_preconditioner_is_the_same_on_any_thread_count(monkeypatch):
    """The thread count changes the speed of the transform, not its result."""
    rng = np.random.default_rng(3)
    r = rng.standard_normal((12, 10, 8))
    solid = np.zeros(r.shape, bool)
    solid[3:5, 2:4, :] = True
    inv = 1.0 / (1.0 + rng.random(r.shape))
    out = {}
    for n in ("1", "2"):
        monkeypatch.setenv("TWIN_CPU_THREADS", n)
        out[n] = dct_precondition(r, solid, inv)
    np.testing.assert_allclose(out["1"], out["2"], rtol=1e-12, atol=1e-14)
    assert np.all(out["1"][solid] == 0.0)
