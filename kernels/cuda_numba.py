"""Numba CUDA drivers: one GPU thread per cell or face, calling the pointwise functions.

The per-cell physics and the per-item body of every stage are :mod:`kernels.pointwise`,
compiled here as CUDA device functions: the functions the Numba CPU drivers of
:mod:`kernels.cpu` call (``cpu.py`` is the reference in ``tests/parity``). The kernels only
loop, index and store: three skeletons close over a pointwise item, as ``_make_predict(c)``
closes over ``c`` -- ``_cells`` stores the item's value in every cell (or face) of the
output, unchanged ones included; ``_scatter`` stores or adds it (atomically) into the cell
a listed row names; ``_reduction`` sums or maxes it -- and each kernel is a one-line stub that
names its arguments and hands them on as a tuple. :class:`NumbaCudaKernels` exposes them
with the CPU drivers' names and argument lists; drivers that return a value on the CPU
(``dot``, ``max_abs``, ``cg_update_xr``, ...) return a Python float.

Over the project's 600 lines: one launch wrapper and one stub per driver of the kernel
protocol (``kernels/protocol.py``, the k-epsilon drivers included) and the reduction
machinery that the CPU drivers do not need; splitting them would separate a stub from the
method that launches it.

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
component, face_open, fluid = _P.component, _P.face_open, _P.fluid
momentum_rate, temperature_rate = _P.momentum_rate, _P.temperature_rate
intake_sample, restricted, prolonged = _P.intake_sample, _P.restricted, _P.prolonged


@_dev
def _ijk(n, n1, n2):
    """Flat C-order index -> (i, j, k) of an array of shape (., n1, n2)."""
    k = n % n2
    t = n // n2
    return t // n1, t % n1, k


@_dev
def _block_reduce(sm, val, is_max):
    """Sum (or, ``is_max``, maximum) of ``val`` over the block, valid in every thread.
    Block size: a power of two."""
    t = cuda.threadIdx.x
    sm[t] = val
    cuda.syncthreads()
    s = cuda.blockDim.x // 2
    while s > 0:
        if t < s:
            if not is_max:
                sm[t] += sm[t + s]
            elif sm[t + s] > sm[t]:
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


# ----------------------------------------------------------------------------- skeletons
def _cells(item):
    """Device loop ``run(out, args)``: ``out[i, j, k] = item(i, j, k, *args)`` for every
    cell (or face) of ``out``, one thread each, with the grid stride."""

    @_dev
    def run(out, args):
        n0, n1, n2 = out.shape
        n = cuda.grid(1)
        while n < n0 * n1 * n2:
            i, j, k = _ijk(n, n1, n2)
            out[i, j, k] = item(i, j, k, *args)
            n += cuda.gridsize(1)
    return run


def _scatter(item, add):
    """Device loop ``run(out, rows, args)`` over the rows of a list: ``i, j, k, x =
    item(n, *args)``, then ``out[i, j, k] += x`` (``add``; atomic, as rows may share a
    cell) or ``out[i, j, k] = x``."""

    @_dev
    def run(out, rows, args):
        n = cuda.grid(1)
        while n < rows:
            i, j, k, x = item(n, *args)
            if add:
                cuda.atomic.add(out, (i, j, k), x)
            else:
                out[i, j, k] = x
            n += cuda.gridsize(1)
    return run


def _reduction(item, is_max, keep_nan=True):
    """Device loop ``run(shape, args, buf, slot)``: the float64 sum (``is_max`` False) or
    maximum of ``item(i, j, k, *args)`` over the cells of ``shape``, folded into
    ``buf[slot]`` (:func:`_finish`). A maximum raises the NaN flag when an item is NaN,
    unless ``keep_nan`` is False (NaNs are then ignored)."""

    @_dev
    def run(shape, args, buf, slot):
        sm = cuda.shared.array(MAX_THREADS, float64)
        n0, n1, n2 = shape
        acc = 0.0
        nan = False
        n = cuda.grid(1)
        while n < n0 * n1 * n2:
            i, j, k = _ijk(n, n1, n2)
            x = item(i, j, k, *args)
            if not is_max:
                acc += x
            elif x != x:
                nan = True
            elif x > acc:
                acc = x
            n += cuda.gridsize(1)
        _finish(buf, slot, _block_reduce(sm, acc, is_max), is_max, keep_nan and nan)
    return run


#: The launch functions by name, for tests that compile them for a GPU architecture
#: without one.
KERNELS = {}


def _kernel(name, stub):
    """``cuda.jit(stub)`` for a one-line stub, named ``name`` (in the PTX and profilers),
    listed in :data:`KERNELS`."""
    stub.__name__ = stub.__qualname__ = name
    KERNELS[name] = cuda.jit(stub)
    return KERNELS[name]


# ----------------------------------------------------------------------------- momentum
def _make_predict(c):
    """Predictor for component ``c`` with ``c`` a compile-time constant."""

    @_dev
    def item(i, j, k, u, v, w, nut, nutw, T, solid, dx, dy, dz, nu, gbeta, tref, bc_slip, bc_uw,
             dt):
        q = component(c, u, v, w)
        f = i if c == 0 else (j if c == 1 else k)
        if f >= 1 and f <= solid.shape[c] - 1 and face_open(c, i, j, k, solid):
            return q[i, j, k] + dt * momentum_rate(c, i, j, k, u, v, w, nut, nutw, T, solid, dx,
                                                   dy, dz, nu, gbeta, tref, bc_slip, bc_uw,
                                                   False)
        return q[i, j, k]
    run = _cells(item)

    @cuda.jit
    def predict(u, v, w, out, nut, nutw, T, solid, dx, dy, dz, nu, gbeta, tref, bc_slip, bc_uw,
                dt):
        run(out, (u, v, w, nut, nutw, T, solid, dx, dy, dz, nu, gbeta, tref, bc_slip, bc_uw,
                  dt))
    return predict


def _make_correct(c):
    """Pressure-gradient correction of component ``c`` (a compile-time constant)."""
    e0 = 1 if c == 0 else 0
    e1 = 1 if c == 1 else 0
    e2 = 1 if c == 2 else 0

    @_dev
    def item(i, j, k, q, phi, solid, d):
        f = i if c == 0 else (j if c == 1 else k)
        x = q[i, j, k]
        if f >= 1 and f <= solid.shape[c] - 1 and face_open(c, i, j, k, solid):
            return x - (phi[i, j, k] - phi[i - e0, j - e1, k - e2]) / d
        return x
    run = _cells(item)

    @cuda.jit
    def correct(q, phi, solid, d):
        run(q, (q, phi, solid, d))
    return correct


_PREDICT = (_make_predict(0), _make_predict(1), _make_predict(2))
_CORRECT = (_make_correct(0), _make_correct(1), _make_correct(2))


_resist_rows = _scatter(_P.resisted, add=False)
_apply_resistance = _kernel("apply_resistance", lambda q, qold, faces, k_loss, d, dt, phi, solid,
                           c: _resist_rows(q, faces.shape[0], (q, qold, faces, k_loss, d, dt,
                                                               phi, solid, c)))


# ----------------------------------------------------------------------------- cell updates
@_dev
def _temperature_item(i, j, k, T, u, v, w, nut, solid, dx, dy, dz, alpha, inv_prt, bc_hk,
                      bc_tb, dt):
    if fluid(solid, i, j, k):
        return T[i, j, k] + dt * temperature_rate(i, j, k, u, v, w, nut, T, solid, dx, dy, dz,
                                                  alpha, inv_prt, bc_hk, bc_tb)
    return T[i, j, k]


_div_cells = _cells(_P.fluid_divergence)
_divergence = _kernel("divergence", lambda out, u, v, w, solid, dx, dy, dz:
                      _div_cells(out, (u, v, w, solid, dx, dy, dz)))
_lap_cells = _cells(_P.laplacian)       # cx = 1 / dx**2 and so on, in the field type
_laplacian = _kernel("laplacian", lambda out, phi, solid, cx, cy, cz:
                     _lap_cells(out, (phi, solid, cx, cy, cz)))
_diff_cells = _cells(_P.masked_difference)
_cg_residual_inplace = _kernel("cg_residual_inplace", lambda r, Ax, solid:
                               _diff_cells(r, (r, Ax, solid)))
_mask_cells = _cells(_P.fluid_only)
_mask_solid = _kernel("mask_solid", lambda a, solid: _mask_cells(a, (a, solid)))
_shift_cells = _cells(_P.masked_shifted)
_masked_shift = _kernel("masked_shift", lambda a, solid, shift:
                        _shift_cells(a, (a, solid, shift)))
_p_cells = _cells(_P.cg_direction)
_cg_update_p = _kernel("cg_update_p", lambda p, z, beta: _p_cells(p, (p, z, beta)))
_nut_cells = _cells(_P.eddy_viscosity)
_update_nut = _kernel("update_nut", lambda nut, u, v, w, walldist, nu_t_const, model:
                      _nut_cells(nut, (u, v, w, walldist, nu_t_const, model)))
_box_cells = _cells(_P.box_scaled)
_box_scale = _kernel("box_scale", lambda h, ex, ey, ez: _box_cells(h, (h, ex, ey, ez)))
_mg_relax_cells = _cells(_P.mg_relaxed)
_mg_relax = _kernel("mg_relax", lambda x, b, solid, gx, gy, gz, cx, cy, cz, fine, colour:
                    _mg_relax_cells(x, (x, b, solid, gx, gy, gz, cx, cy, cz, fine, colour)))
_mg_restrict_cells = _cells(_P.mg_restricted)
_mg_restrict = _kernel("mg_restrict", lambda bc, x, b, solid, gx, gy, gz, cx, cy, cz, fine, fx,
                       fy, fz: _mg_restrict_cells(bc, (x, b, solid, gx, gy, gz, cx, cy, cz,
                                                       fine, fx, fy, fz)))
_mg_prolong_cells = _cells(_P.mg_prolonged)
_mg_prolong = _kernel("mg_prolong", lambda x, xc, solid, gx, gy, gz, cx, cy, cz, fine, fx, fy,
                      fz: _mg_prolong_cells(x, (x, xc, solid, gx, gy, gz, cx, cy, cz, fine, fx,
                                                fy, fz)))
_t_cells = _cells(_temperature_item)
_temperature_step = _kernel(
    "temperature_step", lambda Tn, T, u, v, w, nut, solid, dx, dy, dz, alpha, inv_prt, bc_hk,
    bc_tb, dt: _t_cells(Tn, (T, u, v, w, nut, solid, dx, dy, dz, alpha, inv_prt, bc_hk, bc_tb,
                             dt)))

# the k-epsilon items: the skeletons take the coefficient array ``kec``
# (``setup.ke_coefficients``) and unpack it for the pointwise functions
_k_fn, _eps_fn, _ke_nut_fn, _nutw_fn = _P.k_item, _P.eps_item, _P.ke_nut, _P.wall_viscosity


@_dev
def _k_item(i, j, k, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip, bc_zero, kec,
            dt):
    return _k_fn(i, j, k, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip, bc_zero,
                 kec[0], kec[1], kec[3], kec[7], kec[8], kec[9], kec[10], kec[11], kec[12], dt)


@_dev
def _eps_item(i, j, k, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip, bc_zero,
              kec, dt):
    return _eps_fn(i, j, k, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip,
                   bc_zero, kec[0], kec[2], kec[3], kec[4], kec[5], kec[7], kec[8], kec[9],
                   kec[10], kec[11], kec[12], dt)


@_dev
def _ke_nut_item(i, j, k, tk, teps, solid, kec):
    return _ke_nut_fn(i, j, k, tk, teps, solid, kec[6], kec[11], kec[12])


@_dev
def _nutw_item(i, j, k, tk, nut, wallc, dx, dy, dz, kec):
    return _nutw_fn(i, j, k, tk, nut, wallc, kec[0], dx, dy, dz, kec[7], kec[8], kec[9],
                    kec[10], kec[11])


_k_cells = _cells(_k_item)
_turbulence_k = _kernel(
    "turbulence_k", lambda kn, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip,
    bc_zero, kec, dt: _k_cells(kn, (tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz,
                                    bc_slip, bc_zero, kec, dt)))
_eps_cells = _cells(_eps_item)
_turbulence_eps = _kernel(
    "turbulence_eps", lambda en, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip,
    bc_zero, kec, dt: _eps_cells(en, (tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz,
                                      bc_slip, bc_zero, kec, dt)))
_ke_nut_cells = _cells(_ke_nut_item)
_ke_nut = _kernel("ke_nut", lambda nut, tk, teps, solid, kec:
                  _ke_nut_cells(nut, (tk, teps, solid, kec)))
_nutw_cells = _cells(_nutw_item)
_nutw = _kernel("wall_viscosity", lambda nutw, tk, nut, wallc, dx, dy, dz, kec:
                _nutw_cells(nutw, (tk, nut, wallc, dx, dy, dz, kec)))

# ----------------------------------------------------------------------------- reductions
_xr_sum = _reduction(_P.cg_advance, False)
_cg_update_xr = _kernel("cg_update_xr", lambda x, r, p, Ap, alpha, buf, slot:
                        _xr_sum(x.shape, (x, r, p, Ap, alpha), buf, slot))
_dot_sum = _reduction(_P.dot_item, False)
_dot = _kernel("dot", lambda a, b, buf, slot: _dot_sum(a.shape, (a, b), buf, slot))
_fluid_sum = _reduction(_P.fluid_value64, False)
_masked_sum = _kernel("masked_sum", lambda a, solid, buf, slot:
                      _fluid_sum(a.shape, (a, solid), buf, slot))
_abs_max = _reduction(_P.abs64, True)
_max_abs = _kernel("max_abs", lambda a, buf, slot: _abs_max(a.shape, (a,), buf, slot))
_abs_diff_max = _reduction(_P.abs_diff64, True)
_max_abs_diff = _kernel("max_abs_diff", lambda a, b, buf, slot:
                        _abs_diff_max(a.shape, (a, b), buf, slot))
_rate_max = _reduction(_P.advection_rate64, True)
_max_advection_rate = _kernel(
    "max_advection_rate", lambda u, v, w, idx, idy, idz, buf, slot: _rate_max(
        (u.shape[0] - 1, v.shape[1] - 1, w.shape[2] - 1), (u, v, w, idx, idy, idz), buf, slot))
_residual_max = _reduction(_P.residual_stored, True, keep_nan=False)   # as on the CPU
_residual = _kernel("residual", lambda r, b, Ax, solid, buf, slot:
                    _residual_max(r.shape, (r, b, Ax, solid), buf, slot))

# ----------------------------------------------------------------------------- sparse stages
_port_rows = _scatter(_P.port_heat, add=True)
_apply_ports = _kernel("apply_ports", lambda Tn, T, pf_cell, pf_dev, pf_role, pf_rate, dev_tout,
                       dt: _port_rows(Tn, pf_cell.shape[0],
                                      (T, pf_cell, pf_dev, pf_role, pf_rate, dev_tout, dt)))
_source_rows = _scatter(_P.source_heat, add=True)
_apply_sources = _kernel("apply_sources", lambda Tn, src_cell, src_rate, dt:
                         _source_rows(Tn, src_cell.shape[0], (src_cell, src_rate, dt)))


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
        d, t = intake_sample(n, T, pf_cell, pf_dev, pf_role)
        if d >= 0:
            cuda.atomic.add(sums, d, t)
            cuda.atomic.max(maxs, d, t)
        n += cuda.gridsize(1)


@cuda.jit
def _coarse_restrict(r, agg, rc):
    n = cuda.grid(1)
    while n < r.shape[0]:
        a, x = restricted(n, r, agg)
        if a >= 0:
            cuda.atomic.add(rc, a, x)
        n += cuda.gridsize(1)


@cuda.jit
def _coarse_prolong_add(out, agg, xc):
    n = cuda.grid(1)
    while n < out.shape[0]:
        a, x = prolonged(n, agg, xc)
        if a >= 0:
            out[n] += x
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
        (0: Numba's default stream, what a launch without one takes)."""
        if self.simulator:
            return args, 0
        stream = 0
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
        if total > 0:
            args, stream = self._prepare(args)
            kernel[self._blocks(total, self.max_blocks), self.threads_per_block, stream](*args)

    def _reduce(self, kernel, total, *args):
        """Launch a reduction kernel ``kernel(*args, buf, slot)``; return its float."""
        if total <= 0:
            return 0.0
        if self._scratch is None:
            self._scratch = cuda.to_device(np.zeros((2, 2), np.float64))
        slot = self._slot
        args, stream = self._prepare(args)
        grid = self._blocks(total, self.reduction_blocks)
        kernel[grid, self.threads_per_block, stream](*args, self._scratch, slot)
        self._slot = 1 - slot           # only once the launch (which zeroes that row) is queued
        host = self._scratch.copy_to_host(stream=stream)
        if not isinstance(stream, int):     # a named stream: the copy was asynchronous
            stream.synchronize()
        if host[slot, 1] != 0.0:
            return math.nan
        return float(host[slot, 0])

    # -- momentum
    def predict_velocity(self, c, u, v, w, out, nut, T, solid, dx, dy, dz, nu, gbeta, tref,
                         bc_slip, bc_uw, dt, nutw=None):
        """``out = q + dt * rate`` on open interior faces of component ``c``; copy elsewhere.
        ``nutw``: the wall-side eddy viscosity (k-epsilon), ``nut`` if None."""
        f = out.dtype.type
        self._launch(_PREDICT[c], _size(out), u, v, w, out, nut, nut if nutw is None else nutw,
                     T, solid, f(dx), f(dy), f(dz), f(nu), f(gbeta), f(tref), bc_slip, bc_uw,
                     f(dt))

    def apply_resistance(self, q, qold, faces, k_loss, d, dt, phi, solid, c):
        """Quadratic loss on listed faces of component ``c`` (see ``cpu.apply_resistance``)."""
        f = q.dtype.type
        self._launch(_apply_resistance, int(faces.shape[0]), q, qold, faces, k_loss, f(d),
                     f(dt), phi, solid, int(c))

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

    def turbulence_k(self, kn, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip,
                     bc_zero, kec, dt):
        """k one step on (see ``cpu.turbulence_k``)."""
        f = kn.dtype.type
        self._launch(_turbulence_k, _size(kn), kn, tk, teps, u, v, w, nut, T, solid, wallc,
                     f(dx), f(dy), f(dz), bc_slip, bc_zero, kec, f(dt))

    def turbulence_eps(self, en, tk, teps, u, v, w, nut, T, solid, wallc, dx, dy, dz, bc_slip,
                       bc_zero, kec, dt):
        """eps one step on (see ``cpu.turbulence_eps``)."""
        f = en.dtype.type
        self._launch(_turbulence_eps, _size(en), en, tk, teps, u, v, w, nut, T, solid, wallc,
                     f(dx), f(dy), f(dz), bc_slip, bc_zero, kec, f(dt))

    def turbulence_viscosity(self, nut, nutw, tk, teps, solid, wallc, dx, dy, dz, kec):
        """``nut`` and the wall-side ``nutw`` from k and eps (see ``cpu``)."""
        f = nut.dtype.type
        self._launch(_ke_nut, _size(nut), nut, tk, teps, solid, kec)
        self._launch(_nutw, _size(nutw), nutw, tk, nut, wallc, f(dx), f(dy), f(dz), kec)

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

    # -- multigrid (every cell of the level is a thread; a sweep leaves the other colour
    #    as it is: ``pointwise.mg_relaxed``)
    def mg_relax(self, x, b, solid, gx, gy, gz, cx, cy, cz, fine, colour):
        f = x.dtype.type
        self._launch(_mg_relax, _size(x), x, b, solid, gx, gy, gz, f(cx), f(cy), f(cz),
                     bool(fine), int(colour))

    def mg_restrict(self, bc, x, b, solid, gx, gy, gz, cx, cy, cz, fine, fx, fy, fz):
        f = x.dtype.type
        self._launch(_mg_restrict, _size(bc), bc, x, b, solid, gx, gy, gz, f(cx), f(cy),
                     f(cz), bool(fine), int(fx), int(fy), int(fz))

    def mg_prolong(self, x, xc, solid, gx, gy, gz, cx, cy, cz, fine, fx, fy, fz):
        f = x.dtype.type
        self._launch(_mg_prolong, _size(x), x, xc, solid, gx, gy, gz, f(cx), f(cy), f(cz),
                     bool(fine), int(fx), int(fy), int(fz))

    def apply_sources(self, Tn, src_cell, src_rate, dt):
        """Volumetric heat: ``src_rate`` is W / (rho cp V) [K/s] per listed cell."""
        self._launch(_apply_sources, int(src_cell.shape[0]), Tn, src_cell, src_rate,
                     Tn.dtype.type(dt))


KERNELS.update({f"predict_velocity_{c}": k for c, k in enumerate(_PREDICT)})
KERNELS.update({f"correct_velocity_{c}": k for c, k in enumerate(_CORRECT)})
KERNELS.update(stats_init=_stats_init, stats_accumulate=_stats_accumulate,
               coarse_restrict=_coarse_restrict, coarse_prolong_add=_coarse_prolong_add)
