"""Steady heat transport at a frozen flow field, by defect correction.

At a fixed velocity field the discrete heat equation is (piecewise) linear in the
temperatures: the racks' outlet temperatures depend linearly on their intake means and a
cooler's outlet is its set point (or its return minus the capacity). Rather than march
thousands of explicit steps until the room's heat balance settles, we solve

    J dT = -R(T),   T <- T + dT

where ``R`` is the exact rate of the explicit step (computed by the backend's own
kernels, so the answer is the steady state of *the same* discretisation, MUSCL limiter
included) and ``J`` an approximate Jacobian: first-order upwind advection, central
diffusion, boundary conductances and device ports, augmented with one unknown per device
outlet temperature so that it stays sparse. This is the deferred-correction idea of
Khosla & Rubin (Computers & Fluids 2 (1974) 207-209): the low-order operator drives the
iteration, the high-order residual sets the answer. It converges in a handful of
iterations; the heat balance then closes to the solver's tolerance.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from common.errors import DivergenceError

from . import budget, stages

#: Relative residual of the inner BiCGSTAB solve of each defect-correction step. The outer
#: iteration's rate is set by the gap between the upwind ``J`` and the MUSCL residual, not
#: by the inner accuracy. Measured 2026-12-06 on the small hall at 0.2 m (47k unknowns,
#: 2 CPU cores, a developed flow, 20 outer iterations each): rtol 1e-3 1.13 s, 1e-2 0.58 s,
#: 3e-2 0.45 s, 1e-1 0.42 s, every one within 0.007 K of a solve to 1e-6 K (intakes within
#: 1e-4 K). 1e-2 keeps a margin.
INNER_RTOL = 1e-2


def _jacobian(solver, T):
    p = solver.problem
    g = p.grid
    be = solver.backend
    fluid = p.fluid_mask
    N = int(fluid.sum())
    idx = np.full(g.shape, -1, dtype=np.int64)
    idx[fluid] = np.arange(N)
    nut = be.to_host(solver.nut).astype(np.float64)
    alpha = p.fluid.diffusivity_m2_s + nut / p.turbulence.prandtl_t
    vel = [be.to_host(a).astype(np.float64) for a in (solver.u, solver.v, solver.w)]
    rows, cols, vals = [], [], []

    def add(r, c, v):
        rows.append(r)
        cols.append(c)
        vals.append(v)

    diag = np.zeros(N)
    for c in range(3):
        d = g.spacing_m[c]
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[c] = slice(0, -1)
        hi[c] = slice(1, None)
        lo, hi = tuple(lo), tuple(hi)
        ia, ib = idx[lo], idx[hi]
        open_ = (ia >= 0) & (ib >= 0)
        fs = [slice(None)] * 3
        fs[c] = slice(1, -1)
        q = vel[c][tuple(fs)][open_]
        a, b = ia[open_], ib[open_]
        D = 0.5 * (alpha[lo][open_] + alpha[hi][open_]) / (d * d)
        qp = np.maximum(q, 0.0) / d
        qm = np.minimum(q, 0.0) / d
        # cell a loses q*T_up/d, cell b gains it
        np.add.at(diag, a, -qp - D)
        add(a, b, -qm + D)
        np.add.at(diag, b, qm - D)
        add(b, a, qp + D)
        # boundary conductance
        for s, sl in ((0, 0), (1, -1)):
            hk = solver.bc_hk_host[2 * c + s]
            if hk > 0:
                bs = [slice(None)] * 3
                bs[c] = sl
                ib_ = idx[tuple(bs)]
                ib_ = ib_[ib_ >= 0]
                np.add.at(diag, ib_, -hk / d)
    # device ports: intake faces remove the cell's temperature, exhaust faces bring T_out
    ndev = len(solver.devices)
    pf_cell = solver.pf_cell_h
    rate = be.to_host(solver.pf_rate).astype(np.float64)
    cells = idx[pf_cell[:, 0], pf_cell[:, 1], pf_cell[:, 2]] if len(pf_cell) else np.zeros(0, int)
    intake = solver.pf_role_h == 0
    np.add.at(diag, cells[intake], -rate[intake])
    ex = ~intake
    add(cells[ex], N + solver.pf_dev_h[ex], rate[ex])
    # device rows: T_out - mean T_in = const  (rack, limited cooler, idle cooler)
    #              T_out = set point                (cooler at its set point)
    rcp = p.fluid.rho_cp
    follows = np.zeros(ndev, dtype=bool)
    for n, dv in enumerate(solver.devices):
        if dv.kind == "rack" or dv.flow_m3_s <= 0:
            follows[n] = True
        else:
            tin = solver.dev_tin[n]
            follows[n] = not (tin - dv.capacity_w / (rcp * dv.flow_m3_s) <= dv.supply_temp_c <= tin)
    # nothing holds the temperature level if every running cooler is (linearised as)
    # capacity-limited and no wall conducts: anchor the cooler closest to its set point,
    # the one that will hold it at the steady state if the capacity covers the load
    running = [n for n, dv in enumerate(solver.devices)
               if dv.kind == "cooler" and dv.flow_m3_s > 0]
    if running and all(follows[n] for n in running) and not any(h > 0 for h in solver.bc_hk_host):
        margin = [solver.dev_tin[n] - solver.devices[n].capacity_w
                  / (rcp * solver.devices[n].flow_m3_s) - solver.devices[n].supply_temp_c
                  for n in running]
        follows[running[int(np.argmin(margin))]] = False
    # the intake mean: (1/n) sum T_in on a uniform port, sum frac T_in on a port of patches
    ninl = solver.n_intake
    m = intake & follows[solver.pf_dev_h]
    wts = -1.0 / ninl[solver.pf_dev_h[m]]
    patch = np.isin(solver.pf_dev_h[m], solver.weighted_devs)
    wts[patch] = -solver.pf_frac_h[m][patch]
    add(N + solver.pf_dev_h[m], cells[m], wts)
    add(np.arange(N), np.arange(N), diag)
    add(N + np.arange(ndev), N + np.arange(ndev), np.ones(ndev))
    J = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(N + ndev, N + ndev))
    return J, idx, fluid


def _linear_solver(J, backend=None, hierarchy=None):
    """An approximate solver for ``J x = b``, as the outer defect correction needs.

    BiCGSTAB (van der Vorst, SIAM J. Sci. Stat. Comput. 13 (1992) 631-644) to a relative
    residual of ``INNER_RTOL``: the outer iteration only needs the direction, so an
    inexact inner solve costs outer iterations, not accuracy. Preconditioned by one V-cycle
    of aggregation multigrid (:mod:`kernels.heat_multigrid`) where ``hierarchy`` is given
    as ``(fluid mask, spacing_m, device unknowns)``, else by Jacobi (upwind advection and
    diffusion make ``J`` a diagonally dominant M-matrix). Measured 2026-12-07 on the small
    hall (a developed flow, 2 CPU cores): to 1e-2 Jacobi takes 147 iterations at 0.2 m
    (47k unknowns) and 190 at 0.1 m (388k), the V-cycle (2 + 2 Jacobi sweeps) 5 at both;
    a whole heat finish at 0.1 m 24-43 s with Jacobi, 4.9-9.2 s with the V-cycle
    (``benchmarks/results/heat-multigrid-2026-12-07.md``). Earlier, a sparse
    LU took 1.6-6.2 s (its factorisation fills 60x), SuperLU's incomplete LU 0.37-1.2 s
    to build. Where BiCGSTAB does not reach its tolerance, the solve falls back to a sparse
    LU (up to 200k unknowns), computed once and kept.

    On a GPU backend ``J`` (and the multigrid's levels) are copied to the device once
    (``Backend.sparse``) and the iteration (:func:`bicgstab`, the same code as on the
    host) runs there; only the multigrid's coarsest level (at most
    :data:`kernels.heat_multigrid.COARSEST_UNKNOWNS` values a cycle) and the LU fallback
    go through the host. The host BiCGSTAB with Jacobi took 8.6 s per heat solve of the
    small hall at 0.1 m (380k unknowns, 20 outer iterations), against 52 ms per
    pseudo-step: on a GPU, where the steps are far faster, host heat solves at every window
    would dominate a steady solve.
    """
    n = J.shape[0]
    d = J.diagonal()
    inv_d = 1.0 / np.where(d != 0.0, d, 1.0)
    gpu = backend is not None and backend.is_gpu
    xp = backend.xp if gpu else np
    to_dev = backend.asarray if gpu else (lambda a: a)
    to_host = backend.to_host if gpu else (lambda a: a)
    A = backend.sparse(J) if gpu else J
    precondition = None
    if hierarchy is not None:
        from .heat_multigrid import AggregationMultigrid, NoHierarchy
        fluid, spacing_m, n_extra = hierarchy
        try:
            precondition = AggregationMultigrid(J, fluid, spacing_m, n_extra,
                                                backend if gpu else None)
        except NoHierarchy:         # nothing holds the level, or no coarse level: Jacobi
            precondition = None
    if precondition is None:
        precondition = to_dev(inv_d)
    lu = []

    def exact(b):
        if not lu:
            try:
                lu.append(spla.splu(J.tocsc()))
            except RuntimeError as exc:       # "Factor is exactly singular"
                raise DivergenceError(
                    "the steady heat equation has no unique solution at this flow (no cooling "
                    "unit holds its set point and no wall conducts heat: the air would warm "
                    f"without end); add cooling capacity or reduce the load ({exc})") from None
        return lu[0].solve(b)

    def solve(b):
        if lu:
            return exact(b)
        x, info = bicgstab(A, to_dev(b), precondition, xp, INNER_RTOL, maxiter=1000)
        if info != 0 and n <= 200_000:
            return exact(b)
        return to_host(x)
    return solve


def bicgstab(A, b, inv_diag, xp, rtol, maxiter=1000):
    """Solve ``A x = b`` by BiCGSTAB with the preconditioner ``inv_diag``: an array (the
    Jacobi preconditioner, the inverse diagonal) or a callable ``r -> M^-1 r`` (a
    multigrid cycle, :class:`kernels.heat_multigrid.AggregationMultigrid`); van der
    Vorst, SIAM J. Sci. Stat. Comput. 13 (1992) 631-644, right-preconditioned, so the
    residual tested is the true one: ``||b - A x|| <= rtol ||b||``, scipy's rule.

    Written with the array operations of ``xp`` (NumPy or CuPy) and ``A @ x``
    (scipy.sparse or cupyx.scipy.sparse), so the same iteration runs on the host and on a
    GPU. Returns ``(x, info)`` as scipy does: 0 when converged, the iterations done when
    ``maxiter`` ran out, -1 on a breakdown (a zero inner product).
    """
    M = inv_diag if callable(inv_diag) else (lambda y: inv_diag * y)
    x = xp.zeros_like(b)
    bnorm = float(xp.linalg.norm(b))
    if bnorm == 0.0:
        return x, 0
    tol = rtol * bnorm
    r = b.copy()
    rhat = r.copy()
    p = xp.zeros_like(b)
    v = xp.zeros_like(b)
    rho = alpha = omega = 1.0
    for it in range(1, maxiter + 1):
        rho_new = float(xp.dot(rhat, r))
        if rho_new == 0.0:
            return x, -1
        if it == 1:
            p = r.copy()
        else:
            p = r + (rho_new / rho) * (alpha / omega) * (p - omega * v)
        phat = M(p)
        v = A @ phat
        den = float(xp.dot(rhat, v))
        if den == 0.0:
            return x, -1
        alpha = rho_new / den
        s = r - alpha * v
        if float(xp.linalg.norm(s)) <= tol:
            return x + alpha * phat, 0
        shat = M(s)
        t = A @ shat
        tt = float(xp.dot(t, t))
        if tt == 0.0:
            return x, -1
        omega = float(xp.dot(t, s)) / tt
        x = x + alpha * phat + omega * shat
        r = s - omega * t
        rho = rho_new
        if float(xp.linalg.norm(r)) <= tol:
            return x, 0
        if omega == 0.0:
            return x, -1
    return x, maxiter


def steady_temperature(solver, T, iterations=30, tol_k=1e-5, imbalance_frac=None):
    """Steady temperature at the solver's current flow; returns ``(T, info)``.

    The iteration stops when no cell changes by more than ``tol_k`` [K] and, with
    ``imbalance_frac``, the heat balance (:func:`kernels.budget.energy_budget`) closes to it
    as well; in any case after ``iterations``. ``info`` has ``iterations``,
    ``last_change_k`` and, with ``imbalance_frac``, ``imbalance_frac`` (the last one
    evaluated).

    The defect correction converges linearly (about 0.8 per iteration on the small hall,
    the gap between the upwind ``J`` and the MUSCL residual). Anderson acceleration was
    tried (depth 5 and 8): it stopped earlier on the correction size but left a larger
    error against a converged solution (0.013-0.018 K against 0.005-0.011 K after 20
    plain iterations), so the plain iteration stays.
    """
    be = solver.backend
    J, idx, fluid = _jacobian(solver, T)
    N = int(fluid.sum())
    ndev = len(solver.devices)
    hierarchy = ((fluid, solver.problem.grid.spacing_m, ndev)
                 if solver.settings.heat_preconditioner == "multigrid" else None)
    solve = _linear_solver(J, be, hierarchy)
    T = T.copy()
    history = []
    it = 0
    for it in range(1, iterations + 1):
        solver.T = be.asarray(T.astype(solver.dtype))
        solver.device_temperatures()
        stages.advance_temperature(solver, 1.0)  # T + 1 s * rate
        R = be.to_host(solver.T).astype(np.float64) - T
        rhs = np.concatenate([-R[fluid], np.zeros(ndev)])
        x = solve(rhs)
        dT = x[:N]
        if not np.all(np.isfinite(dT)) or float(np.max(np.abs(dT))) > 1e4:
            raise DivergenceError(
                "the steady heat solve diverged (temperature change "
                f"{float(np.nanmax(np.abs(dT))):.3g} K): the cooling units cannot hold the "
                "load at this flow; add cooling capacity or reduce the load")
        T[fluid] += dT
        step = float(np.max(np.abs(dT))) if N else 0.0
        history.append(step)
        if step < tol_k:
            if imbalance_frac is None:
                break
            solver.T = be.asarray(T.astype(solver.dtype))
            solver.device_temperatures()
            imbalance = budget.energy_budget(solver)["imbalance_frac"]
            if abs(imbalance) <= imbalance_frac:
                break
    solver.T = be.asarray(T.astype(solver.dtype))
    info = {"iterations": it, "last_change_k": history[-1] if history else 0.0}
    if imbalance_frac is not None:
        solver.device_temperatures()
        info["imbalance_frac"] = budget.energy_budget(solver)["imbalance_frac"]
    return T, info
