"""Numba CUDA drivers: one GPU thread per cell or face, calling the pointwise functions.

The per-cell physics is :mod:`kernels.pointwise`, compiled here as CUDA device functions;
the kernels below only index, bounds-check and store, and mirror the Numba CPU drivers of
:mod:`kernels.cpu` expression for expression (``cpu.py`` is their reference in
``tests/parity``). :class:`NumbaCudaKernels` exposes them with the CPU drivers' names and
argument lists; drivers that return a value on the CPU (``dot``, ``max_abs``,
``cg_update_xr``, ...) return a Python float.

Launch layout
    Every kernel is a 1D launch over the flattened C-order index ``n = (i*n1 + j)*n2 + k``
    of the array it writes, decomposed back into ``(i, j, k)`` in the kernel. Consecutive
    threads therefore take consecutive ``k`` (the fastest index): loads and stores of a
    warp are coalesced, and no thread idles on thin grids (``nz = 1`` for 2D cases), which
    a 3D block such as ``(8, 8, 4)`` would. Kernels loop with the grid stride, so a launch
    capped at ``max_blocks`` still covers the array; uncapped (the default) each thread
    takes exactly one cell or face.

Component-specific kernels (``predict_velocity``, ``correct_velocity``) are compiled once
per component with ``c`` as a closure constant, so the component branches fold away, as
in ``cpu._make_predict``.

Sparse stages (ports, sources, resistances) take one thread per listed face or cell. Port
and source updates use ``cuda.atomic.add`` because several port faces (or listed source
cells) can touch the same cell; the intake statistics use ``cuda.atomic.add`` and
``cuda.atomic.max``. A resistance face listed twice on one axis would be updated twice
in turn on the CPU but raced on the GPU: the solver's face lists must not repeat a face.

Reductions (``dot``, ``max_abs``, ``cg_update_xr``'s ``r.r``, ...) accumulate in float64
per thread, reduce each block in shared memory, and add (``cuda.atomic.add``) or max
(``cuda.atomic.max``) the block's result into a 2x2 float64 scratch array: row ``slot``
takes this launch's result (column 0) and a NaN flag (column 1); block 0 zeroes the other
row for the next launch, so no separate zeroing launch is needed. The host copies the
scratch back (a synchronisation) and returns ``float``. Maxima of absolute values are
NaN-propagating like ``np.max`` through the flag (a float atomic max would drop NaNs);
``residual`` ignores NaNs like its CPU twin. Float sums are added in a different order
than on the CPU: results agree to rounding, not bit for bit.

Arrays and streams
    Arguments may be CuPy arrays (or anything with ``__cuda_array_interface__``), Numba
    device arrays or, under the Numba CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), NumPy
    arrays. Foreign device arrays are wrapped without Numba's per-argument stream
    synchronisation, and the kernel is launched on the stream the array interface names
    (CuPy's current stream), so CuPy work and these kernels stay ordered without blocking
    the host. One instance must be used from one stream at a time (its reduction scratch
    is shared).

Floats
    Float scalars are cast to the dtype of the array the driver writes (or reads, for
    reductions), so float32 fields run float32 kernels with float32 parameters and only
    one specialisation per dtype is compiled.
"""
from __future__ import annotations

import inspect
import math

import numpy as np
from numba import config, cuda, float64

from common.errors import InputError

from . import pointwise
from .pointwise import const

#: Largest block (and the shared-memory size of the block reductions).
MAX_THREADS = 256


def device_jit():
    """``cuda.jit(device=True)`` with forced inlining, spelt as the installed Numba wants.

    Numba's built-in CUDA target (and its simulator) takes ``inline=True``, which adds
    NVVM's ``alwaysinline``; the NVIDIA ``numba-cuda`` package calls that
    ``forceinline=True`` and keeps ``inline`` for Numba-IR inlining (``"always"``).
    """
    if "forceinline" in inspect.signature(cuda.jit).parameters:
        return cuda.jit(device=True, forceinline=True)
    return cuda.jit(device=True, inline=True)


_dev = device_jit()
_P = pointwise.build(_dev)
momentum_rate = _P.momentum_rate
component = _P.component
temperature_rate = _P.temperature_rate
face_open = _P.face_open
divergence_at = _P.divergence
laplacian_at = _P.laplacian
chen_xu_nut = _P.chen_xu_nut
advection_rate = _P.advection_rate


@_dev
def _ijk(n, n1, n2):
    """Flat C-order index -> (i, j, k) of an array of shape (., n1, n2)."""
    k = n % n2
    t = n // n2
    return t // n1, t % n1, k


@_dev
def _block_sum(sm, val):
    """Sum of ``val`` over the block (valid in every thread). Block size: a power of two."""
    t = cuda.threadIdx.x
    sm[t] = val
    cuda.syncthreads()
    s = cuda.blockDim.x // 2
    while s > 0:
        if t < s:
            sm[t] += sm[t + s]
        cuda.syncthreads()
        s //= 2
    return sm[0]


@_dev
def _block_max(sm, val):
    """Maximum of ``val`` over the block (valid in every thread). Block size: a power of two."""
    t = cuda.threadIdx.x
    sm[t] = val
    cuda.syncthreads()
    s = cuda.blockDim.x // 2
    while s > 0:
        if t < s:
            if sm[t + s] > sm[t]:
                sm[t] = sm[t + s]
        cuda.syncthreads()
        s //= 2
    return sm[0]


@_dev
def _finish(buf, slot, val, is_max, nan):
    """Fold the block's result into ``buf[slot]``; block 0 zeroes the other row."""
    if nan:
        buf[slot, 1] = 1.0          # every writer stores the same value: a benign race
    if cuda.threadIdx.x == 0:
        if is_max:
            cuda.atomic.max(buf, (slot, 0), val)
        else:
            cuda.atomic.add(buf, (slot, 0), val)
        if cuda.blockIdx.x == 0:
            buf[1 - slot, 0] = 0.0
            buf[1 - slot, 1] = 0.0


# ----------------------------------------------------------------------------- momentum
def _make_predict(c):
    """Predictor for component ``c`` with ``c`` a compile-time constant."""

    @cuda.jit
    def predict(u, v, w, out, nut, T, solid, dx, dy, dz, nu, gbeta, tref, bc_slip, bc_uw, dt):
        q = component(c, u, v, w)
        n0, n1, n2 = out.shape
        nc = solid.shape[c]
        n = cuda.grid(1)
        while n < n0 * n1 * n2:
            i, j, k = _ijk(n, n1, n2)
            f = i if c == 0 else (j if c == 1 else k)
            if f >= 1 and f <= nc - 1 and face_open(c, i, j, k, solid):
                out[i, j, k] = q[i, j, k] + dt * momentum_rate(
                    c, i, j, k, u, v, w, nut, T, solid, dx, dy, dz, nu, gbeta, tref,
                    bc_slip, bc_uw, False)
            else:
                out[i, j, k] = q[i, j, k]
            n += cuda.gridsize(1)
    return predict


def _make_correct(c):
    """Pressure-gradient correction of component ``c`` (a compile-time constant)."""
    e0 = 1 if c == 0 else 0
    e1 = 1 if c == 1 else 0
    e2 = 1 if c == 2 else 0

    @cuda.jit
    def correct(q, phi, solid, d):
        n0, n1, n2 = q.shape
        nc = solid.shape[c]
        n = cuda.grid(1)
        while n < n0 * n1 * n2:
            i, j, k = _ijk(n, n1, n2)
            f = i if c == 0 else (j if c == 1 else k)
            if f >= 1 and f <= nc - 1 and face_open(c, i, j, k, solid):
                q[i, j, k] -= (phi[i, j, k] - phi[i - e0, j - e1, k - e2]) / d
            n += cuda.gridsize(1)
    return correct


_PREDICT = (_make_predict(0), _make_predict(1), _make_predict(2))
_CORRECT = (_make_correct(0), _make_correct(1), _make_correct(2))


@cuda.jit
def _apply_resistance(q, faces, k_loss, d, dt):
    n = cuda.grid(1)
    while n < faces.shape[0]:
        i = faces[n, 0]
        j = faces[n, 1]
        k = faces[n, 2]
        qq = q[i, j, k]
        q[i, j, k] = qq / (const(q, 1.0) + dt * k_loss[n] * abs(qq) / (const(q, 2.0) * d))
        n += cuda.gridsize(1)


# ----------------------------------------------------------------------------- pressure
@cuda.jit
def _divergence(out, u, v, w, solid, dx, dy, dz):
    n0, n1, n2 = out.shape
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        if (solid[i, j, k] & 1) == 0:
            out[i, j, k] = divergence_at(i, j, k, u, v, w, dx, dy, dz)
        else:
            out[i, j, k] = 0.0
        n += cuda.gridsize(1)


@cuda.jit
def _laplacian(out, phi, solid, cx, cy, cz):
    """``cx`` = 1 / dx**2 and so on (the driver computes them once, in the field type)."""
    n0, n1, n2 = out.shape
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        out[i, j, k] = laplacian_at(i, j, k, phi, solid, cx, cy, cz)
        n += cuda.gridsize(1)


@cuda.jit
def _cg_residual_inplace(r, Ax, solid):
    n0, n1, n2 = r.shape
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        if (solid[i, j, k] & 1) == 0:
            r[i, j, k] -= Ax[i, j, k]
        else:
            r[i, j, k] = 0.0
        n += cuda.gridsize(1)


@cuda.jit
def _mask_solid(a, solid):
    n0, n1, n2 = a.shape
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        if (solid[i, j, k] & 1) != 0:
            a[i, j, k] = 0.0
        n += cuda.gridsize(1)


@cuda.jit
def _masked_shift(a, solid, shift):
    n0, n1, n2 = a.shape
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        if (solid[i, j, k] & 1) == 0:
            a[i, j, k] -= shift
        else:
            a[i, j, k] = 0.0
        n += cuda.gridsize(1)


@cuda.jit
def _cg_update_p(p, z, beta):
    n0, n1, n2 = p.shape
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        p[i, j, k] = z[i, j, k] + beta * p[i, j, k]
        n += cuda.gridsize(1)


# ----------------------------------------------------------------------------- reductions
@cuda.jit
def _cg_update_xr(x, r, p, Ap, alpha, buf, slot):
    sm = cuda.shared.array(MAX_THREADS, float64)
    n0, n1, n2 = x.shape
    acc = 0.0
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        x[i, j, k] += alpha * p[i, j, k]
        r[i, j, k] -= alpha * Ap[i, j, k]
        acc += float64(r[i, j, k]) * float64(r[i, j, k])
        n += cuda.gridsize(1)
    _finish(buf, slot, _block_sum(sm, acc), False, False)


@cuda.jit
def _dot(a, b, buf, slot):
    sm = cuda.shared.array(MAX_THREADS, float64)
    n0, n1, n2 = a.shape
    acc = 0.0
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        acc += float64(a[i, j, k]) * float64(b[i, j, k])
        n += cuda.gridsize(1)
    _finish(buf, slot, _block_sum(sm, acc), False, False)


@cuda.jit
def _masked_sum(a, solid, buf, slot):
    sm = cuda.shared.array(MAX_THREADS, float64)
    n0, n1, n2 = a.shape
    acc = 0.0
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        if (solid[i, j, k] & 1) == 0:
            acc += float64(a[i, j, k])
        n += cuda.gridsize(1)
    _finish(buf, slot, _block_sum(sm, acc), False, False)


@cuda.jit
def _max_abs(a, buf, slot):
    sm = cuda.shared.array(MAX_THREADS, float64)
    n0, n1, n2 = a.shape
    m = 0.0
    nan = False
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        x = abs(float64(a[i, j, k]))
        if x != x:
            nan = True
        elif x > m:
            m = x
        n += cuda.gridsize(1)
    _finish(buf, slot, _block_max(sm, m), True, nan)


@cuda.jit
def _max_advection_rate(u, v, w, idx, idy, idz, buf, slot):
    sm = cuda.shared.array(MAX_THREADS, float64)
    n0, n1, n2 = u.shape[0] - 1, v.shape[1] - 1, w.shape[2] - 1
    m = 0.0
    nan = False
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        x = float64(advection_rate(i, j, k, u, v, w, idx, idy, idz))
        if x != x:
            nan = True
        elif x > m:
            m = x
        n += cuda.gridsize(1)
    _finish(buf, slot, _block_max(sm, m), True, nan)


@cuda.jit
def _max_abs_diff(a, b, buf, slot):
    sm = cuda.shared.array(MAX_THREADS, float64)
    n0, n1, n2 = a.shape
    m = 0.0
    nan = False
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        x = abs(float64(a[i, j, k] - b[i, j, k]))
        if x != x:
            nan = True
        elif x > m:
            m = x
        n += cuda.gridsize(1)
    _finish(buf, slot, _block_max(sm, m), True, nan)


@cuda.jit
def _residual(r, b, Ax, solid, buf, slot):
    sm = cuda.shared.array(MAX_THREADS, float64)
    n0, n1, n2 = r.shape
    m = 0.0
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        if (solid[i, j, k] & 1) == 0:
            val = b[i, j, k] - Ax[i, j, k]
            r[i, j, k] = val
            x = abs(float64(val))
            if x > m:                 # NaN never passes: ignored, as on the CPU
                m = x
        else:
            r[i, j, k] = 0.0
        n += cuda.gridsize(1)
    _finish(buf, slot, _block_max(sm, m), True, False)


# ----------------------------------------------------------------------------- heat
@cuda.jit
def _temperature_step(Tn, T, u, v, w, nut, solid, dx, dy, dz, alpha, inv_prt, bc_hk, bc_tb,
                      dt):
    n0, n1, n2 = T.shape
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        if (solid[i, j, k] & 1) == 0:
            Tn[i, j, k] = T[i, j, k] + dt * temperature_rate(
                i, j, k, u, v, w, nut, T, solid, dx, dy, dz, alpha, inv_prt, bc_hk, bc_tb)
        else:
            Tn[i, j, k] = T[i, j, k]
        n += cuda.gridsize(1)


@cuda.jit
def _update_nut(nut, u, v, w, walldist, nu_t_const, model):
    n0, n1, n2 = nut.shape
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        if model == 2:
            nut[i, j, k] = chen_xu_nut(i, j, k, u, v, w, walldist)
        elif model == 1:
            nut[i, j, k] = nu_t_const
        else:
            nut[i, j, k] = 0.0
        n += cuda.gridsize(1)


@cuda.jit
def _stats_init(sums, maxs):
    d = cuda.grid(1)
    while d < sums.shape[0]:
        sums[d] = 0.0
        maxs[d] = -1e30
        d += cuda.gridsize(1)


@cuda.jit
def _stats_accumulate(T, pf_cell, pf_dev, pf_role, sums, maxs):
    n = cuda.grid(1)
    while n < pf_cell.shape[0]:
        if pf_role[n] == 0:
            t = T[pf_cell[n, 0], pf_cell[n, 1], pf_cell[n, 2]]
            d = pf_dev[n]
            cuda.atomic.add(sums, d, t)
            cuda.atomic.max(maxs, d, t)
        n += cuda.gridsize(1)


@cuda.jit
def _apply_ports(Tn, T, pf_cell, pf_dev, pf_role, pf_rate, dev_tout, dt):
    n = cuda.grid(1)
    while n < pf_cell.shape[0]:
        i = pf_cell[n, 0]
        j = pf_cell[n, 1]
        k = pf_cell[n, 2]
        if pf_role[n] == 0:
            cuda.atomic.add(Tn, (i, j, k), -(dt * pf_rate[n] * T[i, j, k]))
        else:
            cuda.atomic.add(Tn, (i, j, k), dt * pf_rate[n] * dev_tout[pf_dev[n]])
        n += cuda.gridsize(1)


@cuda.jit
def _apply_sources(Tn, src_cell, src_rate, dt):
    n = cuda.grid(1)
    while n < src_cell.shape[0]:
        cuda.atomic.add(Tn, (src_cell[n, 0], src_cell[n, 1], src_cell[n, 2]),
                        dt * src_rate[n])
        n += cuda.gridsize(1)


# ----------------------------------------------------------------------------- coarse space
@cuda.jit
def _coarse_restrict(r, agg, rc):
    n = cuda.grid(1)
    while n < r.shape[0]:
        a = agg[n]
        if a >= 0:
            cuda.atomic.add(rc, a, float64(r[n]))
        n += cuda.gridsize(1)


@cuda.jit
def _coarse_prolong_add(out, agg, xc):
    n = cuda.grid(1)
    while n < out.shape[0]:
        a = agg[n]
        if a >= 0:
            out[n] += xc[a]
        n += cuda.gridsize(1)


# ----------------------------------------------------------------------------- box solve
@cuda.jit
def _box_scale(h, ex, ey, ez):
    n0, n1, n2 = h.shape
    n = cuda.grid(1)
    while n < n0 * n1 * n2:
        i, j, k = _ijk(n, n1, n2)
        s = ex[i] + ey[j] + ez[k]
        zero = const(h, 0.0)
        h[i, j, k] = h[i, j, k] / s if s != zero else zero
        n += cuda.gridsize(1)


# ----------------------------------------------------------------------------- the drivers
def _size(a) -> int:
    s = 1
    for n in a.shape:
        s *= int(n)
    return s


class NumbaCudaKernels:
    """The drivers of :mod:`kernels.cpu` (same names, same arguments) on a CUDA device.

    Parameters
    ----------
    threads_per_block : int
        Block size of every launch; a power of two up to :data:`MAX_THREADS` (the block
        reductions need one).
    max_blocks : int or None
        Cap on the blocks of a cell- or face-wise launch (kernels then loop with the grid
        stride); ``None``: one thread per cell or face.
    reduction_blocks : int
        Cap on the blocks of a reduction: each thread first sums several cells, which
        keeps the atomics on the scratch to a few hundred.
    """

    def __init__(self, threads_per_block: int = 256, max_blocks: int | None = None,
                 reduction_blocks: int = 1024):
        tpb = int(threads_per_block)
        if tpb < 1 or tpb > MAX_THREADS or tpb & (tpb - 1):
            raise InputError(f"threads_per_block = {threads_per_block}: use a power of two "
                             f"from 1 to {MAX_THREADS}")
        if max_blocks is not None and int(max_blocks) < 1:
            raise InputError(f"max_blocks = {max_blocks} must be >= 1 or None")
        if int(reduction_blocks) < 1:
            raise InputError(f"reduction_blocks = {reduction_blocks} must be >= 1")
        self.threads_per_block = tpb
        self.max_blocks = None if max_blocks is None else int(max_blocks)
        self.reduction_blocks = int(reduction_blocks)
        self.simulator = bool(config.ENABLE_CUDASIM)
        self._scratch = None
        self._slot = 0
        self._streams = {}

    # -- launching
    def _stream(self, cai_stream):
        """Numba stream for a ``__cuda_array_interface__`` stream value (v3 semantics:
        absent or None, no stream named; 1 legacy default; 2 per-thread default)."""
        if cai_stream is None:
            return None
        s = self._streams.get(cai_stream)
        if s is None:
            if cai_stream == 1:
                s = cuda.legacy_default_stream()
            elif cai_stream == 2:
                s = cuda.per_thread_default_stream()
            else:
                s = cuda.external_stream(cai_stream)
            self._streams[cai_stream] = s
        return s

    def _prepare(self, args):
        """Wrap foreign device arrays (no stream sync) and find the stream to launch on
        (``None``: Numba's default stream)."""
        if self.simulator:
            return args, None
        stream = None
        out = []
        for a in args:
            cai = None
            if not getattr(a, "__cuda_ndarray__", False):
                cai = getattr(a, "__cuda_array_interface__", None)
            if cai is not None:
                named = self._stream(cai.get("stream"))
                if named is not None:
                    stream = named
                a = cuda.from_cuda_array_interface(cai, owner=a, sync=False)
            out.append(a)
        return out, stream

    def _blocks(self, total, cap):
        b = -(-total // self.threads_per_block)
        return b if cap is None else min(b, cap)

    def _launch(self, kernel, total, *args):
        if total <= 0:
            return
        args, stream = self._prepare(args)
        grid = self._blocks(total, self.max_blocks)
        if stream is not None:
            kernel[grid, self.threads_per_block, stream](*args)
        else:
            kernel[grid, self.threads_per_block](*args)

    def _reduce(self, kernel, total, *args):
        """Launch a reduction kernel ``kernel(*args, buf, slot)``; return its float."""
        if total <= 0:
            return 0.0
        if self._scratch is None:
            self._scratch = cuda.to_device(np.zeros((2, 2), np.float64))
        slot = self._slot
        args, stream = self._prepare(args)
        grid = self._blocks(total, self.reduction_blocks)
        if stream is not None:
            kernel[grid, self.threads_per_block, stream](*args, self._scratch, slot)
        else:
            kernel[grid, self.threads_per_block](*args, self._scratch, slot)
        self._slot = 1 - slot           # only once the launch (which zeroes that row) is queued
        if stream is not None:
            host = self._scratch.copy_to_host(stream=stream)
            stream.synchronize()
        else:
            host = self._scratch.copy_to_host()
        if host[slot, 1] != 0.0:
            return math.nan
        return float(host[slot, 0])

    # -- momentum
    def predict_velocity(self, c, u, v, w, out, nut, T, solid, dx, dy, dz, nu, gbeta, tref,
                         bc_slip, bc_uw, dt):
        """``out = q + dt * rate`` on open interior faces of component ``c``; copy elsewhere."""
        f = out.dtype.type
        self._launch(_PREDICT[c], _size(out), u, v, w, out, nut, T, solid, f(dx), f(dy),
                     f(dz), f(nu), f(gbeta), f(tref), bc_slip, bc_uw, f(dt))

    def apply_resistance(self, q, faces, k_loss, d, dt):
        """Implicit quadratic loss on listed faces: ``q /= 1 + dt * K * |q| / (2 d)``."""
        f = q.dtype.type
        self._launch(_apply_resistance, int(faces.shape[0]), q, faces, k_loss, f(d), f(dt))

    # -- pressure
    def divergence(self, out, u, v, w, solid, dx, dy, dz):
        f = out.dtype.type
        self._launch(_divergence, _size(out), out, u, v, w, solid, f(dx), f(dy), f(dz))

    def laplacian(self, out, phi, solid, dx, dy, dz):
        f = out.dtype.type
        # in the field type, as the CPU driver computes them
        cx, cy, cz = (f(1) / (f(d) * f(d)) for d in (dx, dy, dz))
        self._launch(_laplacian, _size(out), out, phi, solid, cx, cy, cz)

    def correct_velocity(self, c, q, phi, solid, d):
        """``q -= d(phi)/d(axis)`` on open interior faces of component ``c``."""
        self._launch(_CORRECT[c], _size(q), q, phi, solid, q.dtype.type(d))

    def cg_residual_inplace(self, r, Ax, solid):
        """r = r - Ax on fluid cells, 0 on solid cells."""
        self._launch(_cg_residual_inplace, _size(r), r, Ax, solid)

    def mask_solid(self, a, solid):
        self._launch(_mask_solid, _size(a), a, solid)

    def box_scale(self, h, ex, ey, ez):
        """``h /= ex[i] + ey[j] + ez[k]``, 0 for the mean mode (``cpu.box_scale``)."""
        self._launch(_box_scale, _size(h), h, ex, ey, ez)

    def masked_shift(self, a, solid, shift):
        self._launch(_masked_shift, _size(a), a, solid, a.dtype.type(shift))

    def cg_update_p(self, p, z, beta):
        self._launch(_cg_update_p, _size(p), p, z, p.dtype.type(beta))

    def cg_update_xr(self, x, r, p, Ap, alpha):
        """x += alpha p; r -= alpha Ap; return r.r (summed in float64)."""
        return self._reduce(_cg_update_xr, _size(x), x, r, p, Ap, x.dtype.type(alpha))

    def dot(self, a, b):
        return self._reduce(_dot, _size(a), a, b)

    def masked_sum(self, a, solid):
        return self._reduce(_masked_sum, _size(a), a, solid)

    def max_abs(self, a):
        return self._reduce(_max_abs, _size(a), a)

    def max_abs_diff(self, a, b):
        return self._reduce(_max_abs_diff, _size(a), a, b)

    def max_advection_rate(self, u, v, w, idx, idy, idz):
        """Largest advective Courant rate [1/s] (``cpu.max_advection_rate``)."""
        f = u.dtype.type
        cells = (u.shape[0] - 1) * u.shape[1] * u.shape[2]
        return self._reduce(_max_advection_rate, cells, u, v, w, f(idx), f(idy), f(idz))

    def residual(self, r, b, Ax, solid):
        """r = b - Ax on fluid cells (0 on solid); returns max |r|."""
        return self._reduce(_residual, _size(r), r, b, Ax, solid)

    # -- heat
    def temperature_step(self, Tn, T, u, v, w, nut, solid, dx, dy, dz, alpha, inv_prt, bc_hk,
                         bc_tb, dt):
        f = Tn.dtype.type
        self._launch(_temperature_step, _size(Tn), Tn, T, u, v, w, nut, solid, f(dx), f(dy),
                     f(dz), f(alpha), f(inv_prt), bc_hk, bc_tb, f(dt))

    def update_nut(self, nut, u, v, w, walldist, nu_t_const, model):
        """model 0 laminar, 1 constant, 2 Chen-Xu."""
        self._launch(_update_nut, _size(nut), nut, u, v, w, walldist,
                     nut.dtype.type(nu_t_const), int(model))

    def port_intake_stats(self, T, pf_cell, pf_dev, pf_role, sums, maxs):
        """Per device: sum and max of the temperature over its intake-port cells."""
        self._launch(_stats_init, int(sums.shape[0]), sums, maxs)
        self._launch(_stats_accumulate, int(pf_cell.shape[0]), T, pf_cell, pf_dev, pf_role,
                     sums, maxs)

    def apply_ports(self, Tn, T, pf_cell, pf_dev, pf_role, pf_rate, dev_tout, dt):
        """Advective heat through device ports (see ``cpu.apply_ports``)."""
        self._launch(_apply_ports, int(pf_cell.shape[0]), Tn, T, pf_cell, pf_dev, pf_role,
                     pf_rate, dev_tout, Tn.dtype.type(dt))

    def coarse_restrict(self, r, agg, rc):
        """``rc[a] = sum of r over aggregate a`` (flat arrays; ``agg < 0``: solid; ``rc``
        float64, zeroed here; float64 atomics, so the sum order differs from the CPU)."""
        rc[...] = 0.0
        self._launch(_coarse_restrict, _size(r), r, agg, rc)

    def coarse_prolong_add(self, out, agg, xc):
        """``out += xc[aggregate of each cell]`` on fluid cells (flat arrays)."""
        self._launch(_coarse_prolong_add, _size(out), out, agg, xc)

    def apply_sources(self, Tn, src_cell, src_rate, dt):
        """Volumetric heat: ``src_rate`` is W / (rho cp V) [K/s] per listed cell."""
        self._launch(_apply_sources, int(src_cell.shape[0]), Tn, src_cell, src_rate,
                     Tn.dtype.type(dt))


#: The launch functions, for tests that compile them for a GPU architecture without one.
KERNELS = {
    "predict_velocity_0": _PREDICT[0], "predict_velocity_1": _PREDICT[1],
    "predict_velocity_2": _PREDICT[2], "correct_velocity_0": _CORRECT[0],
    "correct_velocity_1": _CORRECT[1], "correct_velocity_2": _CORRECT[2],
    "apply_resistance": _apply_resistance, "divergence": _divergence,
    "laplacian": _laplacian, "cg_residual_inplace": _cg_residual_inplace,
    "mask_solid": _mask_solid, "masked_shift": _masked_shift, "cg_update_p": _cg_update_p,
    "cg_update_xr": _cg_update_xr, "dot": _dot, "masked_sum": _masked_sum,
    "max_abs": _max_abs, "max_abs_diff": _max_abs_diff, "residual": _residual,
    "max_advection_rate": _max_advection_rate,
    "temperature_step": _temperature_step, "update_nut": _update_nut,
    "stats_init": _stats_init, "stats_accumulate": _stats_accumulate,
    "apply_ports": _apply_ports, "apply_sources": _apply_sources,
    "coarse_restrict": _coarse_restrict, "coarse_prolong_add": _coarse_prolong_add,
    "box_scale": _box_scale,
}
