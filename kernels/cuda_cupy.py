"""CuPy drivers: the Poisson operator and CG updates as CUDA C kernels, the rest in Numba.

The pressure projection spends most of a step in a handful of kernels called once or
twice per CG iteration: ``laplacian``, ``dot``, ``max_abs``, ``cg_update_xr``,
``cg_update_p``, with ``divergence`` and ``correct_velocity`` around them. Those are
written in CUDA C in ``kernels/cuda/poisson.cu`` (beside this module), compiled by CuPy
with NVRTC and specialised by a ``#define`` preamble for the float type (``REAL``) and
the block size (``THREADS``); each compiled module is memoised per device, as
``cupyx.scipy.ndimage`` does. Every other driver is :class:`~kernels.cuda_numba.
NumbaCudaKernels`'s, and the Numba kernels are the reference the C kernels are tested
against on a GPU (``tests/parity/test_gpu.py``): same masks, same terms in the same
order. Without a GPU, ``tests/parity/test_cuda_sim.py`` builds the C kernels for the host
and runs this module's drivers against the CPU ones.

Arrays are CuPy arrays, C-contiguous (as the solver allocates them); the C kernels run on
CuPy's current stream, which is also the stream the Numba kernels are launched on.
Reductions sum in double into a two-word scratch per device (value, NaN flag), cleared
with an asynchronous memset before each launch, and return a Python float.
"""
from __future__ import annotations

import functools
from pathlib import Path

import cupy
import numpy as np

from common.errors import InputError

#: Block size of every launch (a power of two; the block reductions need one).
THREADS = 256
#: Cap on the blocks of a reduction: each thread first sums a strip of cells.
REDUCTION_BLOCKS = 1024

_SOURCES = Path(__file__).with_name("cuda")
_REAL = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}

#: The drivers that stay with the Numba CUDA kernels.
DELEGATED = (
    "predict_velocity", "apply_resistance", "cg_residual_inplace", "mask_solid",
    "masked_shift", "masked_sum", "max_abs_diff", "residual", "temperature_step",
    "update_nut", "port_intake_stats", "apply_ports", "apply_sources", "coarse_restrict",
    "coarse_prolong_add", "box_scale", "max_advection_rate", "turbulence_k", "turbulence_eps",
    "turbulence_viscosity", "mg_relax", "mg_restrict", "mg_prolong",
)


@functools.lru_cache(maxsize=None)
def _source(name: str) -> str:
    return (_SOURCES / name).read_text()


@cupy.memoize(for_each_device=True)
def _module(real: str):
    preamble = f"#define REAL {real}\n#define THREADS {THREADS}\n"
    return cupy.RawModule(code=preamble + _source("poisson.cu"), options=("--std=c++11",))


@cupy.memoize(for_each_device=True)
def _function(real: str, name: str):
    return _module(real).get_function(name)


def _real(a) -> str:
    try:
        return _REAL[a.dtype]
    except KeyError:
        raise InputError(f"CuPy kernels take float32 or float64 fields, not {a.dtype}") from None


def _check(a, *others):
    """Refuse what the C kernels would misread: other kinds, layouts or dtypes."""
    for b in (a,) + others:
        if not isinstance(b, cupy.ndarray):
            raise InputError(f"CuPy kernels take CuPy arrays, not {type(b).__name__}")
        if not b.flags.c_contiguous:
            raise InputError("CuPy kernels take C-contiguous arrays")
        if b.dtype != a.dtype:
            raise InputError(f"CuPy kernels got mixed dtypes {a.dtype} and {b.dtype}")


def _check_solid(solid):
    if not (isinstance(solid, cupy.ndarray) and solid.dtype == np.uint8
            and solid.flags.c_contiguous):
        raise InputError("the solid flags must be a C-contiguous uint8 CuPy array")


class CupyKernels:
    """The drivers of :mod:`kernels.cpu` (same names, same arguments) for the ``cupy`` backend.

    ``numba_kernels`` (a :class:`~kernels.cuda_numba.NumbaCudaKernels`) runs every driver
    that has no C kernel here (:data:`DELEGATED`).
    """

    def __init__(self, numba_kernels):
        self.numba = numba_kernels
        for name in DELEGATED:
            setattr(self, name, getattr(numba_kernels, name))
        self._scratch = {}

    # -- launching
    @staticmethod
    def _grid(total: int, cap: int | None = None) -> int:
        b = max(1, -(-total // THREADS))
        return b if cap is None else min(b, cap)

    def _out(self):
        """The per-device two-word result (value, NaN flag), cleared on the current stream."""
        dev = cupy.cuda.Device().id
        buf = self._scratch.get(dev)
        if buf is None:
            buf = self._scratch[dev] = cupy.zeros(2, np.float64)
        buf.data.memset_async(0, buf.nbytes)
        return buf

    @staticmethod
    def _value(buf) -> float:
        h = buf.get()
        return float("nan") if h[1] != 0.0 else float(h[0])

    # -- stencils
    def laplacian(self, out, phi, solid, dx, dy, dz):
        _check(out, phi)
        _check_solid(solid)
        f = out.dtype.type
        n0, n1, n2 = out.shape
        _function(_real(out), "laplacian")(
            (self._grid(out.size),), (THREADS,),
            (out, phi, solid, np.int32(n0), np.int32(n1), np.int32(n2), f(dx), f(dy), f(dz)))

    def divergence(self, out, u, v, w, solid, dx, dy, dz):
        _check(out, u, v, w)
        _check_solid(solid)
        f = out.dtype.type
        n0, n1, n2 = out.shape
        _function(_real(out), "divergence")(
            (self._grid(out.size),), (THREADS,),
            (out, u, v, w, solid, np.int32(n0), np.int32(n1), np.int32(n2), f(dx), f(dy),
             f(dz)))

    def correct_velocity(self, c, q, phi, solid, d):
        """``q -= d(phi)/d(axis)`` on open interior faces of component ``c``."""
        _check(q, phi)
        _check_solid(solid)
        n0, n1, n2 = phi.shape
        _function(_real(q), "correct_velocity")(
            (self._grid(q.size),), (THREADS,),
            (np.int32(c), q, phi, solid, np.int32(n0), np.int32(n1), np.int32(n2),
             q.dtype.type(d)))

    # -- CG vector updates and reductions
    def cg_update_p(self, p, z, beta):
        _check(p, z)
        _function(_real(p), "cg_update_p")(
            (self._grid(p.size),), (THREADS,), (p, z, p.dtype.type(beta), np.int64(p.size)))

    def cg_update_xr(self, x, r, p, Ap, alpha):
        """x += alpha p; r -= alpha Ap; return r.r (summed in double)."""
        _check(x, r, p, Ap)
        buf = self._out()
        _function(_real(x), "cg_update_xr")(
            (self._grid(x.size, REDUCTION_BLOCKS),), (THREADS,),
            (x, r, p, Ap, x.dtype.type(alpha), np.int64(x.size), buf))
        return self._value(buf)

    def dot(self, a, b):
        _check(a, b)
        buf = self._out()
        _function(_real(a), "dot")(
            (self._grid(a.size, REDUCTION_BLOCKS),), (THREADS,), (a, b, np.int64(a.size), buf))
        return self._value(buf)

    def max_abs(self, a):
        _check(a)
        buf = self._out()
        _function(_real(a), "max_abs")(
            (self._grid(a.size, REDUCTION_BLOCKS),), (THREADS,), (a, np.int64(a.size), buf))
        return self._value(buf)
