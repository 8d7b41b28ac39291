"""Backends: an explicit object chosen once, carrying arrays, kernels and the DCT.

* ``numba-cpu``  — Numba parallel loops on the host (the default where no GPU is found).
* ``numba-cuda`` — the same pointwise functions compiled by ``numba.cuda``; arrays are
  CuPy arrays (zero-copy through ``__cuda_array_interface__``) and the pressure
  preconditioner uses ``cupyx.scipy.fft``.
* ``cupy``       — CuPy arrays and cuFFT, with the hottest stencils (the Poisson operator
  and the fused CG updates) as CuPy RawKernels from ``kernels/cuda/*.cu``; every other
  stage runs the Numba CUDA kernels, which are its reference in the parity tests.

``get_backend("auto")`` picks ``cupy`` when a GPU and CuPy are present, then
``numba-cuda``, else ``numba-cpu``. ``available_backends()`` says what this machine has
and why a backend is unavailable (``twin backends``).
"""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field

import numpy as np

from common.errors import BackendUnavailable, InputError

#: The backends (the one registry: the CLI's choices, the sweep's GPU placement and
#: ``auto``'s order of preference read from here).
NAMES = ("numba-cpu", "numba-cuda", "cupy")
#: The backends that run on a GPU.
GPU_NAMES = ("numba-cuda", "cupy")
#: Short names a user may type.
ALIASES = {"cpu": "numba-cpu", "numba": "numba-cpu", "cuda": "numba-cuda", "gpu": "cupy"}
#: What ``--backend`` accepts on the command line.
CHOICES = ("auto", "cpu", *NAMES)
#: ``auto`` takes the first of these that works.
AUTO_ORDER = ("cupy", "numba-cuda", "numba-cpu")


@dataclass
class Backend:
    """The arrays, kernels and transforms of one kind of device."""

    name: str
    xp: object
    kernels: object
    device: str
    memory_bytes: int
    is_gpu: bool = False
    info: dict = field(default_factory=dict)

    def asarray(self, a, dtype=None):
        return self.xp.asarray(a, dtype=dtype)

    def zeros(self, shape, dtype):
        return self.xp.zeros(shape, dtype=dtype)

    def to_host(self, a) -> np.ndarray:
        if self.is_gpu:
            return a.get()
        return np.asarray(a)

    def sparse(self, m):
        """A scipy.sparse matrix on this backend's device (cupyx.scipy.sparse on a GPU)."""
        if self.is_gpu:
            import cupy
            import cupyx.scipy.sparse as csp
            m = m.tocsr()                   # cuSPARSE takes 32-bit indices
            return csp.csr_matrix((cupy.asarray(m.data), cupy.asarray(m.indices, np.int32),
                                   cupy.asarray(m.indptr, np.int32)), shape=m.shape)
        return m

    def synchronize(self):
        if self.is_gpu:
            import cupy
            cupy.cuda.get_current_stream().synchronize()

    def dctn(self, a, axes=None):
        """Orthonormal DCT-II of ``a`` over ``axes`` (all by default), a new array."""
        if self.is_gpu:
            import cupyx.scipy.fft as cfft
            return cfft.dctn(a, type=2, norm="ortho", axes=axes)
        import scipy.fft
        return scipy.fft.dctn(a, type=2, norm="ortho", axes=axes, workers=fft_workers(a.size))

    def idctn(self, a, axes=None):
        """Inverse of :meth:`dctn` over the same ``axes``."""
        if self.is_gpu:
            import cupyx.scipy.fft as cfft
            return cfft.idctn(a, type=2, norm="ortho", axes=axes)
        import scipy.fft
        return scipy.fft.idctn(a, type=2, norm="ortho", axes=axes, workers=fft_workers(a.size))


#: Below this many cells a host DCT runs on one thread (measured on 2 AMD EPYC cores,
#: float32 DCT + inverse alone: 27,648 cells 0.33 ms on one thread, 0.45 ms on two;
#: 54,000 0.71 / 1.73 ms; 262,144 3.45 / 4.69 ms; 884,736 14.4 / 10.7 ms). Inside whole
#: steps at 262,144 cells (where the Numba loops run on all cores) the two were equal
#: within this machine's noise, so the threshold is the Numba loops' own
#: (``setup.cpu_threads``), ``PARALLEL_MIN_CELLS``.
PARALLEL_MIN_CELLS = 200_000

#: From this many cells the stencil updates (momentum predictor, temperature step) run on
#: all cores even where the light loops (reductions, CG updates, Laplacian) keep one:
#: a stencil does 20-60 ns of work per cell, so a parallel region's start-up (tens of us
#: with ``OMP_WAIT_POLICY=PASSIVE``) is paid back from ~10k cells. Measured 2026-12-06 on
#: 2 Intel Xeon cores, float32 momentum predictor (three components) and temperature step,
#: one / two threads: 8,000 cells 0.56 / 0.50 and 0.23 / 0.20 ms; 13,824 0.88 / 0.67 and
#: 0.36 / 0.28 ms; 32,768 1.80 / 1.08 and 0.73 / 0.47 ms; 4,096 cells lose (0.33 / 0.39).
STENCIL_PARALLEL_MIN_CELLS = 12_000
FFT_THREADS_MIN_CELLS = PARALLEL_MIN_CELLS


def fft_workers(cells: int) -> int:
    """Threads for scipy's DCT of ``cells`` values: one for small grids, where starting
    threads costs more than they save; all cores above ``FFT_THREADS_MIN_CELLS``.
    ``TWIN_CPU_THREADS`` overrides, as for the Numba loops."""
    env = os.environ.get("TWIN_CPU_THREADS")
    if env:
        return max(1, int(env))
    return 1 if cells < FFT_THREADS_MIN_CELLS else (os.cpu_count() or 1)


def _host_memory_bytes() -> int:
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
        avail = os.sysconf("SC_AVPHYS_PAGES") if hasattr(os, "sysconf") else pages
        return int(min(pages, max(avail, 1)) * size)
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def _cpu_backend() -> Backend:
    import numba

    from . import cpu
    cpu.prepare()       # Numba's wait policy and cache check, before its threads start
    return Backend(
        name="numba-cpu", xp=np, kernels=cpu,
        device=f"{platform.processor() or platform.machine()} ({cpu.threads()} threads)",
        memory_bytes=_host_memory_bytes(), is_gpu=False,
        info={"numba": numba.__version__, "numpy": np.__version__})


def _gpu_probe():
    """Return (cupy module, device name, free bytes) or raise BackendUnavailable."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        raise BackendUnavailable("the Numba CUDA simulator is on (NUMBA_ENABLE_CUDASIM=1): no real GPU")
    try:
        import cupy
    except Exception as exc:  # ImportError, or a CUDA library missing
        raise BackendUnavailable(f"CuPy is not importable ({type(exc).__name__}: {exc}); "
                                 "install the gpu extra: pip install -e '.[gpu]' in the source tree") from None
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        raise BackendUnavailable(f"no CUDA device ({type(exc).__name__}: {exc})") from None
    if n < 1:
        raise BackendUnavailable("no CUDA device found")
    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    free, total = cupy.cuda.runtime.memGetInfo()
    return cupy, name, int(free), int(total)


def _numba_cuda_backend() -> Backend:
    cupy, name, free, total = _gpu_probe()
    try:
        from numba import cuda
        if not cuda.is_available():
            raise BackendUnavailable("numba.cuda reports no usable GPU (driver or numba-cuda missing)")
        from . import cuda_numba
    except BackendUnavailable:
        raise
    except Exception as exc:
        raise BackendUnavailable(f"numba CUDA is not usable ({type(exc).__name__}: {exc}); "
                                 "install numba-cuda") from None
    import numba
    return Backend(name="numba-cuda", xp=cupy, kernels=cuda_numba.NumbaCudaKernels(),
                   device=name, memory_bytes=free, is_gpu=True,
                   info={"numba": numba.__version__, "cupy": cupy.__version__,
                         "total_bytes": total})


def _cupy_backend() -> Backend:
    cupy, name, free, total = _gpu_probe()
    try:
        from . import cuda_cupy, cuda_numba
        kernels = cuda_cupy.CupyKernels(cuda_numba.NumbaCudaKernels())
    except BackendUnavailable:
        raise
    except Exception as exc:
        raise BackendUnavailable(f"CuPy kernels could not be built ({type(exc).__name__}: {exc})") from None
    return Backend(name="cupy", xp=cupy, kernels=kernels, device=name, memory_bytes=free,
                   is_gpu=True, info={"cupy": cupy.__version__, "total_bytes": total})


def limit_host_blas() -> None:
    """Run the host's BLAS (NumPy's and SciPy's OpenBLAS or MKL) on one thread, once per
    process, through ``threadpoolctl`` (which acts on the libraries already loaded).

    The host vector work of the solvers (the BiCGSTAB of the steady heat solve,
    :func:`kernels.energy.bicgstab`: dot products and norms of 10^5 values) is far too
    small for BLAS threads, and the idle BLAS threads spin between calls against the
    Numba threads that run the stencils (on a shared 2-core machine they made a dot
    product of 10^5 values some 60 times slower and counted as the solver's CPU time:
    ``benchmarks/results/local-steps-blas-2026-12-07.md``). The solvers' parallel
    work is in the backend's kernels, not in BLAS. A user's ``OPENBLAS_NUM_THREADS`` or
    ``MKL_NUM_THREADS`` wins."""
    global _blas_limited
    if _blas_limited:
        return
    _blas_limited = True
    if any(os.environ.get(v) for v in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")):
        return
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=1, user_api="blas")


_blas_limited = False

_FACTORIES = {"numba-cpu": _cpu_backend, "numba-cuda": _numba_cuda_backend, "cupy": _cupy_backend}
_cache: dict = {}


def get_backend(name: str = "auto") -> Backend:
    """The backend called ``name`` (``auto``, ``numba-cpu``/``cpu``, ``numba-cuda``, ``cupy``)."""
    if isinstance(name, Backend):
        return name
    key = ALIASES.get(name, name)
    if key == "auto":
        for cand in AUTO_ORDER:
            try:
                return get_backend(cand)
            except BackendUnavailable:
                continue
        raise BackendUnavailable("no backend is available")  # pragma: no cover
    if key not in _FACTORIES:
        raise InputError(f"backend '{name}' is unknown; choose auto, {', '.join(NAMES)}")
    if key not in _cache:
        limit_host_blas()
        _cache[key] = _FACTORIES[key]()
    return _cache[key]


def available_backends() -> list[dict]:
    """One record per backend: name, available, device, memory_bytes, versions, reason."""
    out = []
    for n in NAMES:
        try:
            b = get_backend(n)
            out.append({"name": n, "available": True, "device": b.device,
                        "memory_bytes": b.memory_bytes, "versions": dict(b.info), "reason": ""})
        except BackendUnavailable as exc:
            out.append({"name": n, "available": False, "device": "", "memory_bytes": 0,
                        "versions": {}, "reason": str(exc)})
    return out
