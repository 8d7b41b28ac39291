"""The GPU backends (``numba-cuda``, ``cupy``) against ``numba-cpu`` on a real GPU.

Every test is marked ``gpu`` and skips, with the reason, where
``kernels.backend.get_backend`` raises :class:`~common.errors.BackendUnavailable` (no
GPU, no CuPy, no CUDA driver, or the Numba CUDA simulator switched on). Run them with
``python -m pytest -m gpu tests/parity/test_gpu.py -v`` on a machine with an NVIDIA GPU.

1. Each Numba CUDA driver against its CPU twin on random inputs (the checks of
   ``test_cuda_sim.py``, here on the device): 1e-12 relative in float64, 1e-5 in float32.
2. The CuPy RawKernels (``kernels/cuda/poisson.cu``) against the Numba CUDA kernels, their
   reference, on random inputs large enough for many blocks and for the grid-stride loops
   of the reductions: 1e-12 relative in float64, 1e-5 in float32 (the C Laplacian sums in
   float where Numba's typing sums in double).
3. 200 solver steps of a lid-driven cavity (32x32x1, Re 100) and of a small room with a
   rack and a cooler (24x16x12, Chen-Xu), float32, each GPU backend in lockstep with
   ``numba-cpu`` (same dt): max |dT| < 1e-3 K and max |du| < 1e-4 m/s. Why these bounds:
   in float32 the backends differ per step by rounding only (the order of the sums in the
   reductions and atomics; fused multiply-adds on the GPU), and the explicit steps carry
   those differences along; the van Leer limiter and the CG stopping test can turn an ulp
   into a little more. Emulated on the CPU by moving a random 10 to 100 % of every stencil
   output by one ulp in each step (4 runs), 200 steps drifted by max |dT| 2e-5 K and max
   |du| 3e-7 m/s (cavity), 7e-5 to 6e-4 K and 2e-6 to 1e-5 m/s (room). The bounds leave
   a factor 1.7 or more over that on |dT| and 10 on |du|, and stay far below physics:
   1e-4 m/s is 1e-4 of the lid speed and of the order of 1e-4 of the room's port speeds
   (0.8 to 3 m/s); 1e-3 K is 1e-4 of the rack's 12.5 K temperature rise.
"""
from __future__ import annotations

import numpy as np
import pytest

from common.errors import BackendUnavailable

from .test_cuda_sim import DRIVER_CHECKS, TOL, _driver_checks, _rel

pytestmark = pytest.mark.gpu

GPU_BACKENDS = ("numba-cuda", "cupy")
STEPS = 200


def _backend(name):
    from kernels.backend import get_backend
    try:
        return get_backend(name)
    except BackendUnavailable as exc:
        pytest.skip(f"backend {name} is unavailable: {exc}")


class _OnDevice:
    """GPU drivers called with host arrays: each array is copied to the device, the driver
    runs, and every array is copied back (so in-place results land in the host arrays)."""

    def __init__(self, kernels):
        self._kernels = kernels

    def __getattr__(self, name):
        import cupy
        fn = getattr(self._kernels, name)

        def call(*args):
            dev = [cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
            val = fn(*dev)
            for a, d in zip(args, dev):
                if isinstance(a, np.ndarray):
                    a[...] = d.get()
            return val
        return call


# ----------------------------------------------------------------------------- drivers
@pytest.fixture(scope="module")
def numba_cuda_records():
    be = _backend("numba-cuda")
    from kernels import cpu
    out = {}
    for dtype in ("float64", "float32"):
        for name, rel in _driver_checks(cpu, _OnDevice(be.kernels), dtype).items():
            out[f"{name}[{dtype}]"] = rel
    return out


@pytest.mark.parametrize("dtype", ("float64", "float32"))
@pytest.mark.parametrize("check", DRIVER_CHECKS)
def test_numba_cuda_driver_matches_cpu(numba_cuda_records, check, dtype):
    rel = numba_cuda_records[f"{check}[{dtype}]"]
    assert rel <= TOL[dtype], f"{check} ({dtype}) on the GPU: relative difference {rel:.3g}"


def test_numba_cuda_max_abs_propagates_nan():
    k = _backend("numba-cuda").kernels
    import cupy
    a = cupy.ones((9, 8, 7))
    a[4, 3, 2] = cupy.nan
    assert np.isnan(k.max_abs(a))
    assert k.max_abs(cupy.ones((9, 8, 7))) == 1.0


# ----------------------------------------------------------------------------- RawKernels
def _random_case(dtype, shape=(80, 60, 64), seed=3):
    import cupy
    rng = np.random.default_rng(seed)
    n0, n1, n2 = shape
    solid = np.zeros(shape, np.uint8)
    solid[rng.random(shape) < 0.1] = 1
    solid[10:30, 5:25, 0:20] = 1 | 2
    solid[rng.random(shape) < 0.05] |= 32           # other bits must not count as solid
    f = {k: rng.standard_normal(s).astype(dtype) for k, s in (
        ("phi", shape), ("a", shape), ("b", shape), ("c", shape), ("d", shape),
        ("u", (n0 + 1, n1, n2)), ("v", (n0, n1 + 1, n2)), ("w", (n0, n1, n2 + 1)))}
    return {k: cupy.asarray(v) for k, v in f.items()}, cupy.asarray(solid)


@pytest.mark.parametrize("dtype", ("float64", "float32"))
def test_raw_kernels_match_numba_cuda(dtype):
    be = _backend("cupy")
    import cupy
    raw, ref = be.kernels, be.kernels.numba
    f, solid = _random_case(dtype)
    R = np.dtype(dtype).type
    dx, dy, dz = R(0.1), R(0.12), R(0.15)
    tol = TOL[dtype]
    failures = []

    def check(name, got, want, t=tol):
        rel = _rel(cupy.asnumpy(got), cupy.asnumpy(want))
        if not rel <= t:
            failures.append(f"{name}: {rel:.3g}")

    o1, o2 = cupy.zeros_like(f["phi"]), cupy.full_like(f["phi"], 9)
    ref.laplacian(o1, f["phi"], solid, dx, dy, dz)
    raw.laplacian(o2, f["phi"], solid, dx, dy, dz)
    check("laplacian", o2, o1)
    ref.divergence(o1, f["u"], f["v"], f["w"], solid, dx, dy, dz)
    raw.divergence(o2, f["u"], f["v"], f["w"], solid, dx, dy, dz)
    check("divergence", o2, o1)
    for c, (q, d) in enumerate(zip("uvw", (dx, dy, dz))):
        q1, q2 = f[q].copy(), f[q].copy()
        ref.correct_velocity(c, q1, f["phi"], solid, d)
        raw.correct_velocity(c, q2, f["phi"], solid, d)
        check(f"correct_velocity_{c}", q2, q1)
    p1, p2 = f["a"].copy(), f["a"].copy()
    ref.cg_update_p(p1, f["b"], R(0.7))
    raw.cg_update_p(p2, f["b"], R(0.7))
    check("cg_update_p", p2, p1)
    x1, r1, x2, r2 = f["a"].copy(), f["b"].copy(), f["a"].copy(), f["b"].copy()
    s1 = ref.cg_update_xr(x1, r1, f["c"], f["d"], R(0.3))
    s2 = raw.cg_update_xr(x2, r2, f["c"], f["d"], R(0.3))
    check("cg_update_xr x", x2, x1)
    check("cg_update_xr r", r2, r1)
    check("cg_update_xr r.r", s2, s1, 1e-12)
    check("dot", raw.dot(f["a"], f["b"]), ref.dot(f["a"], f["b"]), 1e-12)
    check("max_abs", raw.max_abs(f["w"]), ref.max_abs(f["w"]), 0.0)
    nan = f["a"].copy()
    nan[7, 8, 9] = np.nan
    if not np.isnan(raw.max_abs(nan)):
        failures.append("max_abs ignores a NaN")
    assert not failures, "RawKernels differ from the Numba CUDA kernels: " + "; ".join(failures)


def test_numba_kernels_follow_cupy_stream():
    """Numba kernels launched on CuPy arrays run in order on CuPy's current stream (here a
    non-blocking one, which does not synchronise with the legacy default stream)."""
    k = _backend("numba-cuda").kernels
    import cupy
    n = 128
    shape = (n, n, n)
    solid = cupy.zeros(shape, np.uint8)
    out = cupy.empty(shape, np.float32)
    x2 = cupy.arange(n, dtype=np.float32) ** 2
    one = np.float32(1.0)
    with cupy.cuda.Stream(non_blocking=True):
        for m in range(1, 11):
            phi = cupy.ascontiguousarray(cupy.broadcast_to(x2[:, None, None] * m, shape))
            k.laplacian(out, phi, solid, one, one, one)       # exactly 2 m inside along x
            phi.fill(0)                                       # must wait for the laplacian
            assert float(cupy.abs(out[1:-1] - 2 * m).max()) == 0.0
            assert k.max_abs(out) == ((n - 1) ** 2 - (n - 2) ** 2) * m   # the x+ wall cell


# ----------------------------------------------------------------------------- 200 steps
def _cases():
    from verification.cases import lid_cavity, room
    return {"cavity": lambda: lid_cavity(32, 100.0), "room": lambda: room(cell_m=0.25)}


@pytest.mark.parametrize("case", ("cavity", "room"))
@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_steps_match_numba_cpu(backend, case):
    from kernels.solver import Solver, SolverSettings
    be = _backend(backend)
    settings = SolverSettings(dtype="float32")
    build = _cases()[case]
    ref = Solver(build(), backend="numba-cpu", settings=settings)
    gpu = Solver(build(), backend=be, settings=settings)
    for _ in range(STEPS):
        dt = ref.compute_dt()
        ref.step(dt)
        gpu.step(dt)
    host = gpu.backend.to_host
    dT = float(np.max(np.abs(host(gpu.T).astype(np.float64) - ref.T)))
    du = max(float(np.max(np.abs(host(a).astype(np.float64) - b)))
             for a, b in ((gpu.u, ref.u), (gpu.v, ref.v), (gpu.w, ref.w)))
    assert dT < 1e-3, f"{case} on {backend}: max |dT| = {dT:.3g} K after {STEPS} steps"
    assert du < 1e-4, f"{case} on {backend}: max |du| = {du:.3g} m/s after {STEPS} steps"


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_heat_solve_on_device_matches_host(backend):
    """The steady heat solve at a frozen flow (``energy.steady_temperature``): its inner
    BiCGSTAB runs on the device with ``J`` in cupyx.scipy.sparse. From the same flow and
    temperature (100 steps of the room on the CPU, float64) both backends reach the same
    field: within 1e-3 K, where the defect correction stops on a 1e-8 K change in float64
    or after 20 iterations (rate about 0.8 each), and the inner solves round differently."""
    from kernels.solver import Solver, SolverSettings
    be = _backend(backend)
    settings = SolverSettings(dtype="float64")
    build = _cases()["room"]
    ref = Solver(build(), backend="numba-cpu", settings=settings)
    for _ in range(100):
        ref.step()
    gpu = Solver(build(), backend=be, settings=settings)
    gpu.set_state(ref.get_state())
    ref.finish_energy()
    gpu.finish_energy()
    dT = float(np.max(np.abs(gpu.backend.to_host(gpu.T) - ref.T)))
    assert dT < 1e-3, f"heat solve on {backend}: max |dT| = {dT:.3g} K"
    assert np.max(np.abs(np.asarray(gpu.dev_tin) - np.asarray(ref.dev_tin))) < 1e-3
