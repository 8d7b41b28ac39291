"""What is benchmarked on each backend: clocks, copy bandwidth, memory, kernels, steps.

A :class:`Target` is one backend at one floating type: ``numba-cpu``, ``numba-cuda`` and
``cupy`` drive :class:`kernels.solver.Solver` and the backend's own kernel drivers (same
names and arguments on every backend); ``numpy`` drives the plain NumPy reference
(:mod:`kernels.reference`, always float64).

Clocks: ``time.perf_counter`` on the CPU; CUDA events (``cupy.cuda.Event``) on a GPU,
with the host's wall time recorded beside them.
"""
from __future__ import annotations

import os
import time
import tracemalloc
from dataclasses import dataclass, field

import numpy as np

from kernels import reference as ref
from kernels import stages
from kernels.backend import GPU_NAMES  # the backends' one registry

CPU_NAMES = ("numba-cpu", "numpy")      # numpy: the float64 reference, benchmarked alongside
ALL_NAMES = (*CPU_NAMES, *GPU_NAMES)


@dataclass
class Timing:
    seconds: list            # device time per repeat (events on a GPU)
    host_seconds: list       # wall time per repeat seen by the host

    @property
    def median_s(self) -> float:
        return float(np.median(self.seconds))

    @property
    def min_s(self) -> float:
        return float(np.min(self.seconds))

    def as_dict(self) -> dict:
        return {"median_s": self.median_s, "min_s": self.min_s,
                "host_median_s": float(np.median(self.host_seconds)),
                "repeats": len(self.seconds)}


@dataclass
class Target:
    name: str
    dtype: np.dtype
    backend: object = None          # kernels.backend.Backend (None for numpy)
    info: dict = field(default_factory=dict)

    @property
    def is_gpu(self) -> bool:
        return self.name in GPU_NAMES

    @property
    def label(self) -> str:
        return f"{self.name}/{np.dtype(self.dtype).name}"

    @property
    def timer(self) -> str:
        return "cuda-event" if self.is_gpu else "perf_counter"

    # ------------------------------------------------------------------ clocks
    def sync(self):
        if self.is_gpu:
            import cupy
            cupy.cuda.get_current_stream().synchronize()

    def time(self, fn, repeats: int, warmup: int = 1) -> Timing:
        """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times timed."""
        for _ in range(warmup):
            fn()
        self.sync()
        dev, host = [], []
        if self.is_gpu:
            import cupy
            for _ in range(repeats):
                start, stop = cupy.cuda.Event(), cupy.cuda.Event()
                t0 = time.perf_counter()
                start.record()
                fn()
                stop.record()
                stop.synchronize()
                host.append(time.perf_counter() - t0)
                dev.append(cupy.cuda.get_elapsed_time(start, stop) / 1e3)
        else:
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                dev.append(time.perf_counter() - t0)
            host = list(dev)
        return Timing(dev, host)

    # ------------------------------------------------------------------ device
    def copy_bandwidth(self, nbytes: int, repeats: int) -> dict:
        """Bytes per second of a large array copy ``b[...] = a`` (read + write counted)."""
        n = max(1, nbytes // 8)
        if self.is_gpu:
            import cupy
            a = cupy.random.random(n)
            b = cupy.empty_like(a)
            t = self.time(lambda: b.__setitem__(Ellipsis, a), repeats, warmup=2)
            out = {"method": "cupy b[...] = a", "bytes": 2 * a.nbytes,
                   "bandwidth_B_s": 2 * a.nbytes / t.median_s, **t.as_dict()}
            del a, b
            cupy.get_default_memory_pool().free_all_blocks()
            return out
        a = np.random.default_rng(0).random(n)
        b = np.empty_like(a)
        t = self.time(lambda: b.__setitem__(Ellipsis, a), repeats, warmup=2)
        out = {"method": "numpy b[...] = a", "bytes": 2 * a.nbytes,
               "bandwidth_B_s": 2 * a.nbytes / t.median_s, **t.as_dict()}
        if self.name == "numba-cpu":
            tp = self.time(lambda: _parallel_copy(b, a), repeats, warmup=2)
            out["numba_parallel_copy_B_s"] = 2 * a.nbytes / tp.median_s
        return out

    def device_name(self) -> str:
        if self.backend is not None:
            return self.backend.device
        return cpu_model()


def _parallel_copy(b, a):
    _parallel_copy_kernel()(b, a)


_PCOPY = []


def _parallel_copy_kernel():
    if not _PCOPY:
        from numba import njit, prange

        @njit(parallel=True, cache=False)
        def pcopy(b, a):
            for i in prange(a.shape[0]):
                b[i] = a[i]
        _PCOPY.append(pcopy)
    return _PCOPY[0]


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()


def make_target(name: str, dtype: str) -> Target:
    """The target ``name`` at ``dtype``; raises ``BackendUnavailable`` with the reason."""
    if name == "numpy":
        return Target("numpy", np.dtype(np.float64), None, {"device": cpu_model()})
    from kernels.backend import get_backend
    be = get_backend(name)
    return Target(name, np.dtype(dtype), be, {"device": be.device, **be.info})


# ---------------------------------------------------------------------- threads (CPU)
def cpu_threads(cells: int, requested: int | None) -> int:
    """Threads for Numba CPU work at ``cells``: ``requested``, else the solver's policy for
    its light loops (one thread below 200k cells, all of them above; its stencil updates
    use all cores from ``STENCIL_PARALLEL_MIN_CELLS``)."""
    import numba
    if requested:
        return max(1, min(int(requested), numba.config.NUMBA_NUM_THREADS))
    return 1 if cells < 200_000 else numba.config.NUMBA_NUM_THREADS


def set_cpu_threads(n: int, pin: bool = False):
    """Numba threads for the work outside the solver; ``pin`` (``--threads`` given) also
    fixes the solver's own counts (``TWIN_CPU_THREADS``, read at construction), else the
    solver keeps its policy."""
    import numba
    numba.set_num_threads(n)
    if pin:
        os.environ["TWIN_CPU_THREADS"] = str(n)
    else:
        os.environ.pop("TWIN_CPU_THREADS", None)


# ---------------------------------------------------------------------- memory
def host_resident_bytes(obj) -> int:
    """Bytes of the NumPy arrays held as attributes of ``obj`` (one level, plus dict values)."""
    seen, total = set(), 0
    for v in list(vars(obj).values()):
        vals = v.values() if isinstance(v, dict) else (v if isinstance(v, (list, tuple)) else (v,))
        for a in vals:
            if isinstance(a, np.ndarray) and id(a) not in seen:
                seen.add(id(a))
                total += a.nbytes
    return total


def host_available_bytes() -> int:
    """Free host memory [bytes] (MemAvailable, else physical pages)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def gpu_pool_bytes() -> int:
    import cupy
    return int(cupy.get_default_memory_pool().used_bytes())


def traced_peak(fn) -> int:
    """Peak bytes allocated by NumPy (tracemalloc) while ``fn`` runs."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return int(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------------- kernels alone
def solver_kernels(solver) -> dict:
    """Closures running each backend driver once on the solver's own arrays."""
    be = solver.backend
    k = be.kernels
    xp = be.xp
    p = solver.problem
    g = p.grid
    T = solver.dtype.type
    dx, dy, dz = (T(d) for d in g.spacing_m)
    fl = p.fluid
    nu = T(fl.viscosity_m2_s)
    gbeta = T(fl.gravity_m_s2 * fl.expansion_1_k)
    tref = T(fl.reference_temp_c)
    alpha, inv_prt = T(fl.diffusivity_m2_s), T(1.0 / p.turbulence.prandtl_t)
    dt = T(solver.dt or solver.compute_dt())
    s = solver
    rng = np.random.default_rng(1)
    scratch = [xp.asarray(rng.standard_normal(g.shape).astype(solver.dtype)) for _ in range(4)]
    x, r, pdir, Ap = scratch
    outs = (s.us, s.vs, s.ws)
    dd = (dx, dy, dz)

    def predict(c):
        return lambda: k.predict_velocity(c, s.u, s.v, s.w, outs[c], s.nut, s.T, s.solid, dx, dy,
                                          dz, nu, gbeta, tref, s.bc_slip, s.bc_uw, dt)

    def correct(c):
        return lambda: k.correct_velocity(c, outs[c], s.phi, s.solid, dd[c])

    out = {
        "predict_velocity_u": predict(0), "predict_velocity_v": predict(1),
        "predict_velocity_w": predict(2),
        "temperature_step": lambda: k.temperature_step(s.z, s.T, s.u, s.v, s.w, s.nut, s.solid,
                                                       dx, dy, dz, alpha, inv_prt, s.bc_hk,
                                                       s.bc_tb, dt),
        "update_nut": lambda: k.update_nut(s.nut, s.u, s.v, s.w, s.walldist,
                                           T(p.turbulence.nu_t_m2_s), s.model_code),
        "divergence": lambda: k.divergence(s.r, s.us, s.vs, s.ws, s.solid, dx, dy, dz),
        "laplacian": lambda: k.laplacian(Ap, s.phi, s.solid, dx, dy, dz),
        "correct_velocity_u": correct(0), "correct_velocity_v": correct(1),
        "correct_velocity_w": correct(2),
        "cg_update_xr": lambda: k.cg_update_xr(x, r, pdir, Ap, T(1e-4)),
        "cg_update_p": lambda: k.cg_update_p(pdir, Ap, T(0.5)),
        "dot": lambda: k.dot(r, pdir),
        "max_abs": lambda: k.max_abs(r),
    }
    out["precondition"] = lambda: stages.precondition(solver, r, Ap)  # DCT + coarse
    return out


def reference_kernels(params: ref.Params, state: dict, dt: float) -> dict:
    """Closures running each NumPy reference operator once (they return new arrays)."""
    u, v, w, T, phi = (state[k] for k in ("u", "v", "w", "T", "phi"))
    sp = params.spacing
    solid = params.solid
    nut = ref.eddy_viscosity(u, v, w, params.turbulence, params.nu_t_const, params.walldist)
    rng = np.random.default_rng(1)
    x, r, pdir, Ap = (rng.standard_normal(params.shape) for _ in range(4))
    inv_eig = ref.inverse_box_eigenvalues(params.shape, sp)
    solid_b = (solid & 1) != 0
    vel = (u, v, w)
    walldist = params.walldist if params.walldist is not None else np.zeros(params.shape)

    def predict(c):
        return lambda: ref.predict_velocity(c, u, v, w, nut, T, params, dt)

    def correct(c):
        return lambda: ref.correct_velocity(c, vel[c], phi, solid, sp[c])

    return {
        "predict_velocity_u": predict(0), "predict_velocity_v": predict(1),
        "predict_velocity_w": predict(2),
        "temperature_step": lambda: ref.temperature_step(T, u, v, w, nut, params, dt),
        "update_nut": lambda: ref.chen_xu_nut(u, v, w, walldist),
        "divergence": lambda: ref.divergence(u, v, w, solid, sp),
        "laplacian": lambda: ref.laplacian(phi, solid, sp),
        "correct_velocity_u": correct(0), "correct_velocity_v": correct(1),
        "correct_velocity_w": correct(2),
        "cg_update_xr": lambda: ref.cg_update_xr(x, r, pdir, Ap, 1e-4),
        "cg_update_p": lambda: ref.cg_update_p(pdir, Ap, 0.5),
        "dot": lambda: ref.dot(r, pdir),
        "max_abs": lambda: float(np.max(np.abs(r))),
        "precondition": lambda: ref.dct_precondition(r, solid_b, inv_eig),
    }


# ---------------------------------------------------------------------- solver stages
def time_solver_stages(target: Target, solver, dt: float, steps: int) -> dict:
    """Wall time of each named stage of a step (``kernels.stages.STEP``; median over
    ``steps``) [s].

    The stages are run one by one as :func:`kernels.stages.step` runs them; on a GPU the
    device is synchronised around each (so the sum exceeds an unsynchronised step a
    little).
    """
    acc = {stage.__name__: [] for stage in stages.STEP}
    for _ in range(steps):
        solver.div_tol = (solver.settings.pressure_tol * stages.velocity_scale(solver)
                          / min(solver.problem.grid.size_m))
        for stage in stages.STEP:
            target.sync()
            t0 = time.perf_counter()
            stage(solver, dt)
            target.sync()
            acc[stage.__name__].append(time.perf_counter() - t0)
        solver.steps += 1
        solver.time_s += dt
    return {k: float(np.median(v)) for k, v in acc.items() if v}
