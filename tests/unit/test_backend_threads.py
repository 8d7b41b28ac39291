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


def test_stencil_updates_use_all_cores_from_their_own_threshold(monkeypatch):
    """Numba CPU: the momentum predictor and temperature step run on every core from
    ``STENCIL_PARALLEL_MIN_CELLS``, the light loops only from ``PARALLEL_MIN_CELLS``;
    the step's own count is back after each stencil stage, and the fields do not depend
    on the thread count."""
    import numba

    from benchmarks.cases import synthetic_room
    from kernels.setup import cpu_threads as _cpu_threads
    from kernels.solver import Solver
    monkeypatch.delenv("TWIN_CPU_THREADS", raising=False)
    cores = numba.config.NUMBA_NUM_THREADS
    lo, hi = backend.STENCIL_PARALLEL_MIN_CELLS, backend.PARALLEL_MIN_CELLS
    assert lo < hi
    assert _cpu_threads(lo - 1, lo) == 1 and _cpu_threads(lo, lo) == cores
    assert _cpu_threads(hi - 1) == 1 and _cpu_threads(hi) == cores
    monkeypatch.setenv("TWIN_CPU_THREADS", "1")
    assert _cpu_threads(10**8, lo) == 1 and _cpu_threads(10**8) == 1
    monkeypatch.delenv("TWIN_CPU_THREADS")

    problem = synthetic_room(24)                      # 13,824 cells: between the two
    s = Solver(problem, backend="numba-cpu")
    assert s.threads == 1 and s.stencil_threads == cores
    seen = []
    predict = s.backend.kernels.predict_velocity

    def spy(*args, **kwargs):
        seen.append(numba.get_num_threads())
        return predict(*args, **kwargs)
    monkeypatch.setattr(s.backend.kernels, "predict_velocity", spy)
    dt = s.compute_dt()
    for _ in range(3):
        s.step(dt)
    assert seen == [cores] * 9 and numba.get_num_threads() == 1
    monkeypatch.undo()
    monkeypatch.setenv("TWIN_CPU_THREADS", "1")
    one = Solver(problem, backend="numba-cpu")
    assert one.stencil_threads == 1
    for _ in range(3):
        one.step(dt)
    for name in ("u", "v", "w", "T"):
        np.testing.assert_array_equal(getattr(one, name), getattr(s, name))


def test_host_blas_runs_on_one_thread(monkeypatch):
    """Choosing a backend puts the host BLAS on one thread (its idle threads spin against
    the Numba threads: ``kernels.backend.limit_host_blas``), unless the user set it."""
    from threadpoolctl import threadpool_info
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=2, user_api="blas")      # as a fresh process has it
    monkeypatch.setattr(backend, "_blas_limited", False)
    monkeypatch.setattr(backend, "_cache", {})
    backend.get_backend("numba-cpu")
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    assert blas, "NumPy loaded no BLAS that threadpoolctl can see"
    assert all(p["num_threads"] == 1 for p in blas), blas
