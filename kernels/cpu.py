"""Numba CPU drivers: parallel loops over cells that call the pointwise functions.

Every driver has the same name and argument list as its CUDA twin in
``cuda_numba.py``; the solver calls them through the backend object. The per-cell and
per-item bodies are :mod:`kernels.pointwise`; the drivers loop, index and store.

Loading this module changes nothing outside it: no environment variable is set and no
file is touched (Numba's disk cache of each driver is only opened when the driver first
compiles). :func:`prepare` readies the process, once: it is called when the
``numba-cpu`` backend is created (``backend.get_backend``) and, for code that calls
these drivers directly, at the first compilation of any of them.

Over the project's 600 lines: besides the loops, the CPU has drivers the GPU does not
need (the Thomas sweeps of the box solve, reductions with partial sums, the cache guard).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.core.caching import FunctionCache
from numba.extending import intrinsic

from . import pointwise
from .pointwise import const

_prepared = False


def prepare() -> None:
    """Ready this process for the CPU drivers (once; later calls do nothing).

    * Numba's OpenMP layer busy-waits between parallel regions; on a shared or small
      machine that costs ~8 ms per region (benchmarks/results/cpu-2026-11-23.md). Threads
      that sleep instead cost ~20 us. ``OMP_WAIT_POLICY=PASSIVE`` is set here, before
      Numba starts its thread pool (its first parallel loop, or ``threads()``); a user's
      own setting wins.
    * Stale cached machine code is dropped (:func:`_drop_stale_cache`) before any driver
      reads the cache.
    """
    global _prepared
    if _prepared:
        return
    _prepared = True
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    _drop_stale_cache()


def _drop_stale_cache() -> None:
    """Forget this module's cached machine code when ``pointwise.py`` has changed.

    Numba's disk cache stamps a kernel with its own source file only; the pointwise
    functions it inlines live in ``pointwise.py``, so an edit there would otherwise leave
    stale kernels in ``__pycache__``. A digest of that file is kept next to the cache;
    when it differs, this module's cache entries are removed and rebuilt.
    """
    here = Path(__file__).resolve().parent
    cache = here / "__pycache__"
    try:
        digest = hashlib.sha256((here / "pointwise.py").read_bytes()).hexdigest()
        stamp = cache / "pointwise.sha256"
        if stamp.is_file() and stamp.read_text().strip() == digest:
            return
        cache.mkdir(exist_ok=True)
        for f in cache.glob("cpu.*.nb[ic]"):
            f.unlink(missing_ok=True)
        stamp.write_text(digest + "\n")
    except OSError:
        pass        # a read-only install: Numba then caches in its user-wide folder


class _PreparedCache:
    """Numba's disk cache of one driver (what ``cache=True`` gives), opened at the
    driver's first compilation, after :func:`prepare`.

    ``cache=True`` opens the cache when the function is decorated, which creates the
    cache folder and probes it with a file: a side effect of importing this module, and
    before :func:`prepare` could check the cache. This stand-in has the interface the
    dispatcher calls (``numba.core.caching._Cache``) and opens the real cache on first
    use.
    """

    def __init__(self, py_func):
        self._py_func = py_func
        self._cache = None

    def _open(self):
        if self._cache is None:
            prepare()
            self._cache = FunctionCache(self._py_func)
        return self._cache

    @property
    def cache_path(self):
        return self._open().cache_path

    def load_overload(self, sig, target_context):
        return self._open().load_overload(sig, target_context)

    def save_overload(self, sig, data):
        self._open().save_overload(sig, data)

    def enable(self):
        self._open().enable()

    def disable(self):
        self._open().disable()

    def flush(self):
        self._open().flush()


def _jit(**options):
    """``numba.njit(**options)`` with a disk cache opened at first use
    (:class:`_PreparedCache`), as ``cache=True`` would give one."""
    def decorate(fn):
        dispatcher = njit(**options)(fn)
        dispatcher._cache = _PreparedCache(dispatcher.py_func)
        return dispatcher
    return decorate


@intrinsic
def assume_nonneg(typingctx, x):
    """``x``, with ``llvm.assume(x >= 0)``: an index hint for :func:`kernels.pointwise.at`.

    Only where the index is known to be in range (a negative ``x`` here is undefined
    behaviour, not a wraparound). Lets LLVM fold Numba's negative-index select so that
    neighbouring ``k`` load from consecutive addresses (LLVM Language Reference,
    ``llvm.assume``).
    """
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        (v,) = args
        fnty = ir.FunctionType(ir.VoidType(), [ir.IntType(1)])
        assume = cgutils.get_or_insert_function(builder.module, fnty, "llvm.assume")
        builder.call(assume, [builder.icmp_signed(">=", v, ir.Constant(v.type, 0))])
        return v
    return x(x), codegen


_P = pointwise.build(_jit(inline="always", error_model="numpy"), nonneg=assume_nonneg)
at = _P.at
nn = assume_nonneg
momentum_rate = _P.momentum_rate
component = _P.component
temperature_rate = _P.temperature_rate
face_open = _P.face_open
laplacian_at = _P.laplacian
fluid_divergence = _P.fluid_divergence
eddy_viscosity = _P.eddy_viscosity
masked_difference = _P.masked_difference
masked_shifted = _P.masked_shifted
fluid_only = _P.fluid_only
cg_direction = _P.cg_direction
box_scaled = _P.box_scaled
product64 = _P.product64
fluid_value64 = _P.fluid_value64
abs_diff64 = _P.abs_diff64
advection_rate64 = _P.advection_rate64
cg_advance = _P.cg_advance
resisted = _P.resisted
port_heat = _P.port_heat
source_heat = _P.source_heat
intake_sample = _P.intake_sample
restricted = _P.restricted
prolonged = _P.prolonged
mg_relaxed = _P.mg_relaxed
mg_restricted = _P.mg_restricted
mg_prolonged = _P.mg_prolonged
k_item = _P.k_item
eps_item = _P.eps_item
ke_nut = _P.ke_nut
wall_viscosity = _P.wall_viscosity

#: Numba options of every parallel driver. ``error_model="numpy"``: a float division by
#: zero gives inf/NaN (caught by the solver's divergence check) instead of a test and a
#: Python exception per division; those tests kept LLVM from vectorising the loops.
_PAR = dict(parallel=True, error_model="numpy")


@_jit(inline="always", error_model="numpy")
def _predict_face(c, i, j, k, q, u, v, w, out, nut, nutw, T, solid, dx, dy, dz, nu, gbeta,
                  tref, bc_slip, bc_uw, dt, k_inner):
    """``out = q + dt * rate`` at interior face ``(i, j, k)`` of component ``c`` where the
    face is open (the lower-face bit of its upper cell), ``q`` where it is not: a select."""
    r = momentum_rate(c, i, j, k, u, v, w, nut, nutw, T, solid, dx, dy, dz, nu, gbeta, tref,
                      bc_slip, bc_uw, k_inner)
    keep = ((at(solid, i, j, k) >> (2 + 2 * c)) & 1) != 0
    out[nn(i), nn(j), nn(k)] = at(q, i, j, k) + (dt * r if keep else const(q, 0.0))


def _make_predict(c):
    """Driver for component ``c``, compiled with ``c`` as a constant (branches fold away).

    Every interior face takes :func:`~kernels.pointwise.momentum_rate` and keeps it where
    the face is open (:func:`_predict_face`); faces on the box keep their value. For ``u``
    and ``v`` each row of ``k`` runs in two loops: the faces two or more cells from both
    ends of the row with ``k_inner`` (no clamps along ``k``, contiguous loads: LLVM
    vectorises it), then the up to four faces at the ends. ``w``'s faces along ``k`` are
    its own axis, which needs no clamp, so one loop serves.
    """

    @_jit(**_PAR)
    def predict(u, v, w, out, nut, nutw, T, solid, dx, dy, dz, nu, gbeta, tref, bc_slip, bc_uw,
                dt):
        q = component(c, u, v, w)
        n0, n1, n2 = out.shape
        e0 = 1 if c == 0 else 0
        e1 = 1 if c == 1 else 0
        for i in prange(n0):
            for j in range(n1):
                if i < e0 or i >= n0 - e0 or j < e1 or j >= n1 - e1:
                    for k in range(n2):
                        out[i, j, k] = q[i, j, k]
                    continue
                if c == 2:
                    out[i, j, 0] = q[i, j, 0]
                    out[i, j, n2 - 1] = q[i, j, n2 - 1]
                    for k in range(1, n2 - 1):
                        _predict_face(c, i, j, k, q, u, v, w, out, nut, nutw, T, solid, dx, dy, dz,
                                      nu, gbeta, tref, bc_slip, bc_uw, dt, False)
                else:
                    for k in range(2, n2 - 2):
                        _predict_face(c, i, j, k, q, u, v, w, out, nut, nutw, T, solid, dx, dy, dz,
                                      nu, gbeta, tref, bc_slip, bc_uw, dt, True)
                    for t in range(min(4, n2)):
                        k = t if (t < 2 or n2 < 4) else n2 - 4 + t
                        _predict_face(c, i, j, k, q, u, v, w, out, nut, nutw, T, solid, dx, dy, dz,
                                      nu, gbeta, tref, bc_slip, bc_uw, dt, False)
    return predict


_PREDICT = (_make_predict(0), _make_predict(1), _make_predict(2))


def predict_velocity(c, u, v, w, out, nut, T, solid, dx, dy, dz, nu, gbeta, tref, bc_slip,
                     bc_uw, dt, nutw=None):
    """``out = q + dt * rate`` on open interior faces of component ``c``; copy elsewhere.
    ``nutw``: the wall-side eddy viscosity (k-epsilon's wall functions), ``nut`` if None."""
    _PREDICT[c](u, v, w, out, nut, nut if nutw is None else nutw, T, solid, dx, dy, dz, nu,
                gbeta, tref, bc_slip, bc_uw, dt)


@_jit()
def apply_resistance(q, qold, faces, k_loss, d, dt, phi, solid, c):
    """Quadratic loss on the listed faces of component ``c`` (``pointwise.resisted``):
    ``q = (q - g) / (1 + dt K |qold| / (2 d)) + g``, ``g`` the face gradient of ``phi``."""
    for n in range(faces.shape[0]):
        i, j, k, x = resisted(n, q, qold, faces, k_loss, d, dt, phi, solid, c)
        q[i, j, k] = x


@_jit(**_PAR)
def divergence(out, u, v, w, solid, dx, dy, dz):
    n0, n1, n2 = out.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                out[i, j, k] = fluid_divergence(i, j, k, u, v, w, solid, dx, dy, dz)


@_jit(**_PAR)
def laplacian(out, phi, solid, dx, dy, dz):
    """Masked Laplacian (:func:`kernels.pointwise.laplacian`), 0 in solid cells."""
    n0, n1, n2 = out.shape
    one = const(out, 1.0)
    cx = one / (dx * dx)
    cy = one / (dy * dy)
    cz = one / (dz * dz)
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                out[i, j, k] = laplacian_at(i, j, k, phi, solid, cx, cy, cz)


def _make_correct(c):
    """Driver of :func:`correct_velocity` for component ``c`` (a compile-time constant).

    The loops run over the interior faces only, where both neighbouring cells exist, so
    the gradient can be formed everywhere and kept where the face is open: a select, not
    a branch around the store (small hall at 0.2 m, float64, the three components on one
    core: 0.25 ms with the face range and both cells tested per face, 0.16 ms this way).
    """

    @_jit(**_PAR)
    def correct(q, phi, solid, d):
        n0, n1, n2 = q.shape
        e0 = 1 if c == 0 else 0
        e1 = 1 if c == 1 else 0
        e2 = 1 if c == 2 else 0
        zero = const(q, 0.0)
        for i in prange(e0, n0 - e0):
            for j in range(e1, n1 - e1):
                for k in range(e2, n2 - e2):
                    g = (at(phi, i, j, k) - at(phi, i - e0, j - e1, k - e2)) / d
                    q[nn(i), nn(j), nn(k)] -= g if face_open(c, i, j, k, solid) else zero
    return correct


_CORRECT = (_make_correct(0), _make_correct(1), _make_correct(2))


def correct_velocity(c, q, phi, solid, d):
    """``q -= d(phi)/d(axis)`` on open interior faces of component ``c``."""
    _CORRECT[c](q, phi, solid, d)


@_jit(**_PAR)
def temperature_step(Tn, T, u, v, w, nut, solid, dx, dy, dz, alpha, inv_prt, bc_hk, bc_tb,
                     dt):
    """``Tn = T + dt * rate`` in fluid cells, ``T`` in the others. One formula for every
    cell (:func:`kernels.pointwise.heat_axis`), a select for the solid ones: LLVM compiles
    the loop without branches on the data."""
    n0, n1, n2 = T.shape
    zero = const(T, 0.0)
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                rate = temperature_rate(i, j, k, u, v, w, nut, T, solid, dx, dy, dz, alpha,
                                        inv_prt, bc_hk, bc_tb)
                Tn[i, j, k] = T[i, j, k] + (dt * rate if (solid[i, j, k] & 1) == 0 else zero)


@_jit(**_PAR)
def update_nut(nut, u, v, w, walldist, nu_t_const, model):
    """model 0 laminar, 1 constant, 2 Chen-Xu."""
    n0, n1, n2 = nut.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                nut[i, j, k] = eddy_viscosity(i, j, k, u, v, w, walldist, nu_t_const, model)


@_jit(**_PAR)
def turbulence_k(kn, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip, bc_zero,
                 kec, dt):
    """``kn``: the turbulent kinetic energy one step on (:func:`kernels.pointwise.k_item`);
    ``kec`` the model's coefficients in the field type (``kernels.setup.ke_coefficients``)."""
    n0, n1, n2 = kn.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                kn[i, j, k] = k_item(i, j, k, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy,
                                     dz, bc_slip, bc_zero, kec[0], kec[1], kec[3], kec[7],
                                     kec[8], kec[9], kec[10], kec[11], kec[12], dt)


@_jit(**_PAR)
def turbulence_eps(en, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip, bc_zero,
                   kec, dt):
    """``en``: the dissipation rate one step on (:func:`kernels.pointwise.eps_item`)."""
    n0, n1, n2 = en.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                en[i, j, k] = eps_item(i, j, k, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy,
                                       dz, bc_slip, bc_zero, kec[0], kec[2], kec[3], kec[4],
                                       kec[5], kec[7], kec[8], kec[9], kec[10], kec[11],
                                       kec[12], dt)


@_jit(**_PAR)
def turbulence_viscosity(nut, nutw, tk, teps, solid, wallc, dx, dy, dz, kec):
    """``nut = Cmu k^2 / eps`` and the wall-side ``nutw`` of every cell
    (:func:`kernels.pointwise.ke_nut`, :func:`kernels.pointwise.wall_viscosity`)."""
    n0, n1, n2 = nut.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                nut[i, j, k] = ke_nut(i, j, k, tk, teps, solid, kec[6], kec[11], kec[12])
            for k in range(n2):
                nutw[i, j, k] = wall_viscosity(i, j, k, tk, nut, wallc, kec[0], dx, dy, dz,
                                               kec[7], kec[8], kec[9], kec[10], kec[11])


@_jit()
def port_intake_stats(T, pf_cell, pf_dev, pf_role, sums, maxs):
    """Per device: sum and max of the temperature over its intake-port cells."""
    for d in range(sums.shape[0]):
        sums[d] = 0.0
        maxs[d] = -1e30
    for n in range(pf_cell.shape[0]):
        d, t = intake_sample(n, T, pf_cell, pf_dev, pf_role)
        if d >= 0:
            sums[d] += t
            if t > maxs[d]:
                maxs[d] = t


@_jit()
def apply_ports(Tn, T, pf_cell, pf_dev, pf_role, pf_rate, dev_tout, dt):
    """Advective heat through device ports (:func:`kernels.pointwise.port_heat`)."""
    for n in range(pf_cell.shape[0]):
        i, j, k, x = port_heat(n, T, pf_cell, pf_dev, pf_role, pf_rate, dev_tout, dt)
        Tn[i, j, k] += x


@_jit()
def apply_sources(Tn, src_cell, src_rate, dt):
    """Volumetric heat: ``src_rate`` is W / (rho cp V) [K/s] per listed cell."""
    for n in range(src_cell.shape[0]):
        i, j, k, x = source_heat(n, src_cell, src_rate, dt)
        Tn[i, j, k] += x


#: Pieces of a flat reduction (``dot``, ``max_abs``): a few per thread for any core count.
REDUCE_CHUNKS = 64


@_jit(error_model="numpy")
def _dot_piece(a, b, lo, hi):
    """``sum a[lo:hi] * b[lo:hi]`` in float64 with four partial sums: independent adds
    that the CPU overlaps (a single running sum waits on each add)."""
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    n = lo
    while n + 4 <= hi:
        s0 += product64(a[n], b[n])
        s1 += product64(a[n + 1], b[n + 1])
        s2 += product64(a[n + 2], b[n + 2])
        s3 += product64(a[n + 3], b[n + 3])
        n += 4
    while n < hi:
        s0 += product64(a[n], b[n])
        n += 1
    return (s0 + s1) + (s2 + s3)


@_jit(**_PAR)
def _dot_flat(a, b):
    n = a.size
    per = (n + REDUCE_CHUNKS - 1) // REDUCE_CHUNKS
    part = np.zeros(REDUCE_CHUNKS)
    for c in prange(REDUCE_CHUNKS):
        part[c] = _dot_piece(a, b, min(n, c * per), min(n, (c + 1) * per))
    return part.sum()


def dot(a, b):
    """``sum(a * b)`` in float64 over two C-contiguous arrays of one shape."""
    return _dot_flat(a.reshape(-1), b.reshape(-1))


@_jit(**_PAR)
def cg_update_xr(x, r, p, Ap, alpha):
    """x += alpha p; r -= alpha Ap; return r.r (summed in float64)."""
    n0, n1, n2 = x.shape
    s = 0.0
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                s += cg_advance(i, j, k, x, r, p, Ap, alpha)
    return s


@_jit(**_PAR)
def cg_update_p(p, z, beta):
    n0, n1, n2 = p.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                p[i, j, k] = cg_direction(i, j, k, p, z, beta)


@_jit(**_PAR)
def max_abs_diff(a, b):
    """max |a - b|; NaN if either holds a NaN (a prange max reduction would drop it)."""
    n0, n1, n2 = a.shape
    m = np.zeros(n0)
    bad = np.zeros(n0, dtype=np.bool_)
    for i in prange(n0):
        mi = 0.0
        for j in range(n1):
            for k in range(n2):
                v = abs_diff64(i, j, k, a, b)
                if v != v:
                    bad[i] = True
                elif v > mi:
                    mi = v
        m[i] = mi
    if bad.any():
        return np.nan
    return m.max()


@_jit(error_model="numpy")
def _max_bits_piece(b, lo, hi, mask):
    m = b.dtype.type(0)
    for n in range(lo, hi):
        x = b[n] & mask
        m = x if x > m else m
    return m


@_jit(**_PAR)
def _max_bits(b, mask):
    n = b.size
    per = (n + REDUCE_CHUNKS - 1) // REDUCE_CHUNKS
    part = np.zeros(REDUCE_CHUNKS, b.dtype)
    for c in prange(REDUCE_CHUNKS):
        part[c] = _max_bits_piece(b, min(n, c * per), min(n, (c + 1) * per), mask)
    return part.max()


#: Integer view of each float type; its sign mask; the bits of +inf (IEEE 754: with the
#: sign cleared, a float's bits order like its magnitude, and every NaN lies above inf).
_BITS = {np.dtype(np.float64): (np.int64, np.int64(0x7FFFFFFFFFFFFFFF), 0x7FF0000000000000),
         np.dtype(np.float32): (np.int32, np.int32(0x7FFFFFFF), 0x7F800000)}


def max_abs(a):
    """max |a| of a C-contiguous float array; NaN if it holds a NaN (so divergence checks
    cannot miss one).

    Taken on the bits: with the sign bit cleared, IEEE 754 floats order as integers, and a
    NaN's bits exceed those of infinity. An integer maximum vectorises; a float one with
    a NaN test per value did not (small hall at 0.2 m, float64, one core: 43 -> 24 us).
    """
    if a.size == 0:
        return 0.0
    itype, mask, inf = _BITS[a.dtype]
    m = int(_max_bits(a.reshape(-1).view(itype), mask))
    if m > inf:
        return np.nan
    return float(np.array(m, dtype=itype).view(a.dtype))


@_jit(**_PAR)
def max_advection_rate(u, v, w, idx, idy, idz):
    """Largest advective Courant rate of any cell or momentum control volume [1/s]
    (``pointwise.advection_rate``); ``idx`` = 1 / dx and so on. NaN if a face holds one
    (``pointwise.larger`` passes it on)."""
    n0, n1, n2 = u.shape[0] - 1, v.shape[1] - 1, w.shape[2] - 1
    m = np.zeros(n0)
    bad = np.zeros(n0, dtype=np.bool_)
    for i in prange(n0):
        mi = 0.0
        for j in range(n1):
            for k in range(n2):
                r = advection_rate64(i, j, k, u, v, w, idx, idy, idz)
                if r != r:
                    bad[i] = True
                elif r > mi:
                    mi = r
        m[i] = mi
    if bad.any():
        return np.nan
    return m.max()


@_jit(**_PAR)
def masked_sum(a, solid):
    n0, n1, n2 = a.shape
    s = 0.0
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                s += fluid_value64(i, j, k, a, solid)
    return s


@_jit(**_PAR)
def masked_shift(a, solid, shift):
    n0, n1, n2 = a.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                a[i, j, k] = masked_shifted(i, j, k, a, solid, shift)


def threads() -> int:
    return numba.get_num_threads()


@_jit(**_PAR)
def cg_residual_inplace(r, Ax, solid):
    """r = r - Ax on fluid cells, 0 on solid cells."""
    n0, n1, n2 = r.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                r[i, j, k] = masked_difference(i, j, k, r, Ax, solid)


@_jit(**_PAR)
def mask_solid(a, solid):
    n0, n1, n2 = a.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                a[i, j, k] = fluid_only(i, j, k, a, solid)


@_jit()
def coarse_restrict(r, agg, rc):
    """``rc[a] = sum of r over the cells of aggregate a`` (flat views; ``agg < 0``: solid).

    One pass instead of NumPy's mask, gather, cast and ``bincount``; serial, because
    neighbouring cells add into the same aggregate.
    """
    for a in range(rc.shape[0]):
        rc[a] = 0.0
    for n in range(r.shape[0]):
        a, x = restricted(n, r, agg)
        if a >= 0:
            rc[a] += x


@_jit(**_PAR)
def coarse_prolong_add(out, agg, xc):
    """``out += xc[aggregate of each cell]`` on fluid cells (flat views)."""
    for n in prange(out.shape[0]):
        a, x = prolonged(n, agg, xc)
        if a >= 0:
            out[n] += x


# ----------------------------------------------------------------------------- multigrid
@_jit(**_PAR)
def mg_relax(x, b, solid, gx, gy, gz, cx, cy, cz, fine, colour):
    """One half sweep of red-black Gauss-Seidel on a multigrid level, in place: the cells
    of ``colour`` only (``pointwise.mg_relaxed``; ``kernels.multigrid`` for the level's
    arrays and ``fine``)."""
    n0, n1, n2 = x.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range((i + j + colour) % 2, n2, 2):
                x[i, j, k] = mg_relaxed(i, j, k, x, b, solid, gx, gy, gz, cx, cy, cz, fine,
                                        colour)


@_jit(**_PAR)
def mg_restrict(bc, x, b, solid, gx, gy, gz, cx, cy, cz, fine, fx, fy, fz):
    """``bc`` = the residual ``b - A x`` of the finer level restricted to the coarser one,
    coarsened by ``fx, fy, fz`` (``pointwise.mg_restricted``)."""
    n0, n1, n2 = bc.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                bc[i, j, k] = mg_restricted(i, j, k, x, b, solid, gx, gy, gz, cx, cy, cz, fine,
                                            fx, fy, fz)


@_jit(**_PAR)
def mg_prolong(x, xc, solid, gx, gy, gz, cx, cy, cz, fine, fx, fy, fz):
    """``x += xc`` of each cell's parent, on cells with an open face
    (``pointwise.mg_prolonged``)."""
    n0, n1, n2 = x.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                x[i, j, k] = mg_prolonged(i, j, k, x, xc, solid, gx, gy, gz, cx, cy, cz, fine,
                                          fx, fy, fz)


# ----------------------------------------------------------------------------- box solve
@_jit(**_PAR)
def box_scale(h, ex, ey, ez):
    """``h /= ex[i] + ey[j] + ez[k]`` (0 where the sum is 0: the mean mode), in place.

    The diagonal step of the DCT solve of the obstacle-free Neumann box Laplacian: ``h``
    holds DCT-II coefficients and ``ex, ey, ez`` the 1D eigenvalues
    ``(2 cos(pi m / n) - 2) / d**2`` of each axis (Strang, SIAM Review 41 (1999) 135-147:
    the DCT-II diagonalises the 3-point Laplacian with mirrored, i.e. Neumann, ends).
    The GPU backends' preconditioner; on the CPU :func:`box_solve_x` does the same solve
    with one transform axis fewer.
    """
    n0, n1, n2 = h.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                h[i, j, k] = box_scaled(i, j, k, h, ex, ey, ez)


@_jit(**_PAR)
def box_solve_x(h, ey, ez, dx):
    """Solve the Neumann box Laplacian along axis 0 in the DCT basis of axes 1 and 2.

    On entry ``h`` holds the right side transformed by a DCT-II over axes 1 and 2 (not
    axis 0); on return, in place, the solution in the same mixed basis. Each column
    ``h[:, j, k]`` is one tridiagonal system (the 3-point second difference along x with
    mirrored ends, shifted by the eigenvalue ``ey[j] + ez[k]`` of the other two axes),
    solved by the Thomas algorithm (forward elimination, back substitution) in float64;
    the matrix is diagonally dominant, so no pivoting is needed (Golub & Van Loan,
    Matrix Computations, 4th ed. 2013, sec. 4.3). The one singular column (``j = k = 0``,
    the constant mode in x) is solved by summing fluxes of its mean-free right side and
    then shifting to zero mean, which is what the 3D DCT solve does when it drops the mean
    mode (``box_scale``): the two agree to rounding. An inverse DCT over axes 1 and 2
    then gives ``A_box^-1 r``.

    Why: with the DCT along x replaced by this O(n) sweep, the pair of transforms per CG
    iteration runs over two axes instead of three (the two contiguous ones). Needs
    ``h.shape[0] >= 2``.
    """
    n0, n1, n2 = h.shape
    a = 1.0 / (dx * dx)
    for j in prange(n1):
        cp = np.empty((n0, n2))
        dp = np.empty((n0, n2))
        for k in range(n2):
            m = ey[j] + ez[k] - a
            cp[0, k] = a / m
            dp[0, k] = h[0, j, k] / m
        for i in range(1, n0):
            end = a if i == n0 - 1 else 0.0          # the mirrored end drops one -a
            for k in range(n2):
                m = ey[j] + ez[k] - 2.0 * a + end - a * cp[i - 1, k]
                cp[i, k] = a / m
                dp[i, k] = (h[i, j, k] - a * dp[i - 1, k]) / m
        for i in range(n0 - 2, -1, -1):
            for k in range(n2):
                dp[i, k] -= cp[i, k] * dp[i + 1, k]
        if j == 0 and ey[0] + ez[0] == 0.0:
            # column (0, 0): flux F_{i+1/2} = dx * sum_{m<=i} (b_m - mean b); phi
            # rises by dx * F across each face; then the mean is removed
            s = 0.0
            for i in range(n0):
                s += h[i, 0, 0]
            mean = s / n0
            phi = 0.0
            flux = 0.0
            tot = 0.0
            for i in range(n0):
                dp[i, 0] = phi
                tot += phi
                flux += (h[i, 0, 0] - mean) * dx
                phi += flux * dx
            shift = tot / n0
            for i in range(n0):
                dp[i, 0] -= shift
        for i in range(n0):
            for k in range(n2):
                h[i, j, k] = dp[i, k]
