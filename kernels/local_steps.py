"""Local time stepping: a steady solve marched with a pseudo-time step per cell.

A steady state does not depend on the path to it, so a steady solve may advance every cell
by the largest step that is stable *there* instead of the one global step the fastest jet
allows (local time stepping, Jameson, Schmidt & Turkel 1981, AIAA 81-1259; Blazek,
*Computational Fluid Dynamics: Principles and Applications*, 3rd ed. 2015, sec. 9.3). In a
data hall the supply jets run at 2-5 m/s and most of the room at 0.1-0.5 m/s: the room's
own limit is 5-10 times the jets'.

With a step ``D`` per face, the projection is weighted (after the local-step and
pseudo-compressibility literature for incompressible flow, e.g. Turkel 1999, Annu. Rev.
Fluid Mech. 31:385, sec. 4)::

    u* = u + D R(u)                    (R: advection, diffusion, buoyancy)
    div(D grad pi) = div u*            u = u* - D grad pi

so that a steady state, ``u = u*``, satisfies ``R(u) = grad pi`` whatever ``D`` is: the
answer is the one the global step reaches, only the path differs. ``pi`` is the
kinematic pressure ``p / rho``. The heat equation takes each cell's step ``D_c`` the
same way (``T + D_c rate``); the exact heat solve at the end (``finish_energy``) makes the
final temperatures independent of it too. Tiles' and grilles' losses are implicit with
the face's own step around the last ``D grad pi`` (as :func:`kernels.stages.apply_resistances`).

The step of a cell (:func:`cell_steps`) is the explicit limit of the global step
(:func:`kernels.stages.stable_dt`: advective CFL, diffusion, buoyancy) with the cell's own
speed and eddy viscosity, the speed taken at least ``1 / ratio`` of the fastest port speed
(so no step exceeds ``ratio`` times the jets'), and never below the global step. A face
takes the smaller step of its two cells. The steps are set again every
:data:`UPDATE_EVERY` iterations, and ``ratio`` ramps up from 1 over the first
:data:`RAMP_ITERATIONS` (the jets start from rest in a room whose steps were set for rest).

The weighted pressure equation is solved by the same conjugate gradients
(:func:`kernels.stages.pcg`), preconditioned by the V-cycle with the faces' weights
(:meth:`kernels.multigrid.Multigrid.reweight`). k-epsilon keeps the global step (its
source terms are implicit in the step; its steady state does not depend on it either).

Measured (``benchmarks/results/local-steps-2026-12-07.md``): at 0.2 m the shipped small
hall reaches the global step's record mean (within 0.18 K at every rack) in 1,600
iterations instead of 5,150, the AI hall (within 0.20 K) in 2,250 instead of 11,450.
"""
from __future__ import annotations

import math

import numpy as np

from . import stages

#: Iterations between two settings of the local steps.
UPDATE_EVERY = 10
#: Iterations over which the largest ratio of a local step to the global one ramps up.
RAMP_ITERATIONS = 300


def _axis_slice(axis: int, lo, hi) -> tuple:
    return tuple(slice(lo, hi) if a == axis else slice(None) for a in range(3))


def cell_steps(u, v, w, nut, fluid, spacing_m, fluid_props, prandtl_t, cfl,
               diffusion_safety, port_speed_m_s, ratio, dt_global):
    """The pseudo-time step of every cell [s] (host float64, NumPy arrays).

    ``cfl / (|u|/dx + |v|/dy + |w|/dz)`` with the cell-centred speeds (the mean magnitude
    of the two faces along each axis), the speed's magnitude taken at least
    ``port_speed_m_s / ratio`` (spread over the three axes); ``diffusion_safety / (2
    nu_eff sum 1/d^2)`` with the cell's eddy viscosity; the buoyancy limit of
    :func:`kernels.stages.stable_dt`; at least ``dt_global``. Solid cells take the
    largest fluid step (their faces take the fluid cell's)."""
    dx, dy, dz = spacing_m
    uc = 0.5 * (np.abs(u[1:]) + np.abs(u[:-1]))
    vc = 0.5 * (np.abs(v[:, 1:]) + np.abs(v[:, :-1]))
    wc = 0.5 * (np.abs(w[:, :, 1:]) + np.abs(w[:, :, :-1]))
    floor = port_speed_m_s / max(ratio, 1.0) * (1 / dx + 1 / dy + 1 / dz) / math.sqrt(3.0)
    adv = np.maximum(uc / dx + vc / dy + wc / dz, floor)
    diff = np.maximum(fluid_props.viscosity_m2_s + nut,
                      fluid_props.diffusivity_m2_s + nut / prandtl_t)
    inv_d2 = 1 / dx ** 2 + 1 / dy ** 2 + 1 / dz ** 2
    with np.errstate(divide="ignore"):
        dt = np.minimum(cfl / adv, diffusion_safety / (2.0 * diff * inv_d2))
    fl_b = fluid_props.gravity_m_s2 * fluid_props.expansion_1_k
    if fl_b > 0:
        dt = np.minimum(dt, math.sqrt(min(spacing_m) / (fl_b * 50.0)) * 0.5)
    dt = np.maximum(dt, dt_global)
    if fluid.any():
        dt[~fluid] = float(dt[fluid].max())
    return dt


def face_steps(dt_cell, axis: int) -> np.ndarray:
    """The step of every face along ``axis``: the smaller of its two cells' (a box face:
    its one cell's)."""
    n = dt_cell.shape[axis]
    shape = list(dt_cell.shape)
    shape[axis] += 1
    out = np.empty(shape)
    out[_axis_slice(axis, 1, n)] = np.minimum(dt_cell[_axis_slice(axis, 0, n - 1)],
                                              dt_cell[_axis_slice(axis, 1, n)])
    out[_axis_slice(axis, 0, 1)] = dt_cell[_axis_slice(axis, 0, 1)]
    out[_axis_slice(axis, n, n + 1)] = dt_cell[_axis_slice(axis, n - 1, n)]
    return out


class LocalSteps:
    """The local steps of one solver and the stages that use them (:func:`step`).

    Holds, on the backend, the cells' steps ``dc`` and the faces' weights ``gw`` (the
    open-face bit times ``D / D_ref``, ``D_ref`` the largest face step), and ``x`` =
    ``D_ref pi``, the weighted projection's unknown (warm start). The solver's ``phi`` is
    kept at ``dt pi`` (``dt`` the global step), so the ports' static pressure
    ``rho phi / dt`` (:func:`kernels.budget.port_pressures_pa`) reads as with the global
    step."""

    def __init__(self, solver, ratio: float):
        if solver.mg is None:
            from .multigrid import Multigrid
            p = solver.problem
            solver.mg = Multigrid(solver.backend, solver.solid, p.fluid_mask,
                                  p.grid.spacing_m, solver.dtype)
        self.s = solver
        self.ratio_max = float(ratio)
        self.iterations = 0
        self.fluid = solver.problem.fluid_mask
        from .multigrid import finest_level
        self.open = finest_level(self.fluid, solver.problem.grid.spacing_m).g
        self.x = solver.backend.zeros(solver.problem.grid.shape, solver.dtype)
        self.d_ref = 1.0
        self.dt_global = None
        self._zero = None
        self.rhs_bound = stages.RhsBound()    # of x and the weighted Laplacian
        self.update()

    @property
    def ratio(self) -> float:
        """The largest local step over the global one at this iteration (the ramp)."""
        ramp = min(1.0, self.iterations / RAMP_ITERATIONS)
        return 1.0 + (self.ratio_max - 1.0) * ramp

    def update(self) -> None:
        """Set the cells' and faces' steps from the present flow, and the V-cycle's
        weights; the unknown keeps ``pi`` (rescaled to the new ``D_ref``)."""
        s = self.s
        be = s.backend
        p = s.problem
        dt_global = s.compute_dt()
        port = float(np.max(s.pf_speed_h)) if len(s.pf_speed_h) else 0.0
        port = max(port, stages.velocity_scale(s))
        u, v, w, nut = (be.to_host(a).astype(np.float64) for a in (s.u, s.v, s.w, s.nut))
        if nut.shape != p.grid.shape:
            nut = np.zeros(p.grid.shape)
        dc = cell_steps(u, v, w, nut, self.fluid, p.grid.spacing_m, p.fluid,
                        p.turbulence.prandtl_t, s.settings.cfl, s.settings.diffusion_safety,
                        port, self.ratio, dt_global)
        faces = [face_steps(dc, a) for a in range(3)]
        d_ref = float(max(np.max(f * o) for f, o in zip(faces, self.open)) or 1.0)
        weights = [f / d_ref for f in faces]
        self.x *= s.dtype.type(d_ref / self.d_ref)
        self.rhs_bound.forget()               # new weights, a rescaled x
        self.d_ref = d_ref
        self.dt_global = dt_global
        self.dc_host = dc
        self.dc = be.asarray(dc.astype(s.dtype))
        s.mg.reweight(weights)
        self.gw = s.mg.g[0]
        self.c = s.mg.c[0]

    # ------------------------------------------------------------------ operators
    def weighted_laplacian(self, x, out) -> None:
        """``out = sum over faces gw (x_nb - x_c) / d^2`` (``div(D grad x) / D_ref``), by
        the V-cycle's own compiled residual on its finest level (``mg_restrict`` with
        factors 1: ``0 - A x``), so the operator the conjugate gradients iterate on is
        the one the V-cycle inverts. (The NumPy expression it replaced took 0.9 ms a call
        on the AI hall at 0.2 m, 10 % of an iteration, and allocated four arrays.)"""
        s = self.s
        if self._zero is None or self._zero.shape != x.shape:
            self._zero = s.backend.zeros(x.shape, s.dtype)
        s.backend.kernels.mg_restrict(out, x, self._zero, *s.mg._args(0), 1, 1, 1)
        out *= s.dtype.type(-1.0)

    def face_gradient(self, x, ax):
        """``gw * d x / d axis`` on the faces along ``ax`` (0 on closed and box faces)."""
        s = self.s
        n = x.shape[ax]
        shape = list(x.shape)
        shape[ax] += 1
        g = s.backend.zeros(tuple(shape), s.dtype)
        d = s.dtype.type(s.problem.grid.spacing_m[ax])
        g[_axis_slice(ax, 1, n)] = (x[_axis_slice(ax, 1, n)] - x[_axis_slice(ax, 0, n - 1)]) / d
        g *= self.gw[ax]
        return g


# ----------------------------------------------------------------------------- stages
def predict_momentum(s, dt):
    """``us = u + D R(u)`` per face: the global predictor with a unit step gives
    ``u + R``, and each face takes its share (the predictor is linear in its step)."""
    stages.predict_momentum(s, 1.0)
    ls = s.local
    for q, q0, g in zip((s.us, s.vs, s.ws), (s.u, s.v, s.w), ls.gw):
        q -= q0
        q *= g * s.dtype.type(ls.d_ref)
        q += q0


def apply_resistances(s, dt):
    """Tiles' and grilles' losses with each face's own step, implicit around the last
    ``D grad pi`` (:func:`kernels.stages.apply_resistances` with a step per face)."""
    ls = s.local
    arrays = (s.us, s.vs, s.ws)
    old = (s.u, s.v, s.w)
    F = s.dtype.type
    for ax, faces, kl in s.res:
        i, j, k = faces[:, 0], faces[:, 1], faces[:, 2]
        n = ls.x.shape[ax]
        f = faces[:, ax]
        lo = [i, j, k]
        hi = [i, j, k]
        lo[ax] = (f - 1).clip(0, n - 1)
        hi[ax] = f.clip(0, n - 1)
        gw = ls.gw[ax][i, j, k]
        d = F(s.problem.grid.spacing_m[ax])
        g = gw * (ls.x[tuple(hi)] - ls.x[tuple(lo)]) / d
        beta = gw * F(ls.d_ref) * kl * abs(old[ax][i, j, k]) / (F(2.0) * d)
        q = arrays[ax]
        q[i, j, k] = (q[i, j, k] - g) / (F(1.0) + beta) + g


def project(s, dt):
    """``div(D grad pi) = div u*``, ``u = u* - D grad pi`` (to ``s.div_tol``, by the
    conjugate gradients of :func:`kernels.stages.pcg` with the weighted V-cycle); then
    ``phi = dt pi``."""
    ls = s.local
    F = s.dtype.type
    it, rmax = stages.solve_pressure(s, ls.rhs_bound, ls.x, ls.weighted_laplacian,
                                     lambda res, out: s.mg.apply(res, out))
    s.last_cg = (it, rmax)
    for ax, q in enumerate((s.us, s.vs, s.ws)):
        q -= ls.face_gradient(ls.x, ax)
    s.phi[...] = ls.x * F(dt / ls.d_ref)
    s.rhs_bound.forget()                     # phi written outside stages.project
    s.u, s.us = s.us, s.u
    s.v, s.vs = s.vs, s.v
    s.w, s.ws = s.ws, s.w
    return it


def advance_temperature(s, dt):
    """``T + D_c rate`` per cell: the global heat step with a unit step (advection,
    diffusion, ports, sources: linear in the step), each cell taking its share."""
    stages.advance_temperature(s, 1.0)
    T_old = s.z                     # the step swapped them
    s.T -= T_old
    s.T *= s.local.dc
    s.T += T_old


#: One local-step iteration (a steady solve with ``SolverSettings.local_steps``).
STEP = (stages.update_eddy_viscosity, predict_momentum, apply_resistances, project,
        stages.device_temperatures, advance_temperature)


def step(s, dt):
    """One iteration of :data:`STEP`; ``dt`` is the global step (k-epsilon's, and the
    clock's). The local steps are set again every :data:`UPDATE_EVERY` iterations."""
    ls = s.local
    if ls.iterations and ls.iterations % UPDATE_EVERY == 0:
        ls.update()
    s.div_tol = s.settings.pressure_tol * stages.velocity_scale(s) / min(s.problem.grid.size_m)
    ledger = s.ledger_j
    for stage in STEP:
        stage(s, dt)
    s.ledger_j = ledger             # pseudo-time: no heat stored along the way
    ls.iterations += 1


def window_iterations(s) -> int:
    """Iterations per averaging window of a local-step solve: a disturbance crosses the
    largest side of the box at the CFL number per iteration where the steps are at their
    advective limit (``ceil(max cells / cfl)``; 172 for 60 cells at 0.35)."""
    return int(math.ceil(max(s.problem.grid.shape) / s.settings.cfl))
