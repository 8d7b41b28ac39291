"""The stages of one time step, as free functions over the solver's state.

A stage takes the solver ``s`` (:class:`kernels.solver.Solver`) and the step ``dt`` [s],
reads and writes its fields through the backend's kernel set (:mod:`kernels.protocol`)
and nothing else; the field arrays it touches are named in its docstring. This is where a
per-cell function of :mod:`kernels.pointwise` enters the time loop (after jax-cfd's step
functions and Oceananigans' tendencies: the step is the composition :data:`STEP`).

One step, in order (:func:`step`)::

    update_eddy_viscosity   nut  <- turbulence model (pointwise.chen_xu_nut), or k-epsilon:
                                    k, eps one step on (pointwise.k_item, eps_item), then
                                    nut = Cmu k^2/eps and the wall functions' nutw
    predict_momentum        us   <- u + dt * (advection + diffusion + buoyancy)
                                    (pointwise.momentum_rate)
    apply_resistances       us   <- (us - grad phi) / (1 + dt k |u| / 2d) + grad phi on tile
                                    and grille faces
    project                 u    <- us - grad(phi), div u = 0 (pointwise.divergence,
                                    pointwise.laplacian; CG with the box preconditioner)
    device_temperatures     intake means and outlet temperatures of racks and coolers
    advance_temperature     T    <- T + dt * (advection + diffusion + conduction)
                                    (pointwise.temperature_rate) + ports + sources

The projection is Chorin's (1968): ``lap(phi) = div(u*)``, ``u = u* - grad(phi)``.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from common.errors import DivergenceError

from .pointwise import CHEN_XU_C


# ----------------------------------------------------------------------------- momentum
def update_eddy_viscosity(s, dt=None):
    """``nut`` from the turbulence model of the problem: none, constant, Chen-Xu, or
    k-epsilon (:func:`advance_turbulence`, which needs the step ``dt``)."""
    if s.tk is not None:
        advance_turbulence(s, dt)
        return
    t = s.problem.turbulence
    s.backend.kernels.update_nut(s.nut, s.u, s.v, s.w, s.walldist,
                                 s.dtype.type(t.nu_t_m2_s), s.model_code)


def advance_turbulence(s, dt):
    """k-epsilon: ``tk, teps`` one step of ``dt`` on, with the flow ``u, v, w``, ``nut``
    and ``T`` of the step's start (``pointwise.k_item``, ``pointwise.eps_item``), the
    inflow of k and eps through the device ports (the port stage of the heat equation,
    with each device's inflow values ``dev_k_in``, ``dev_eps_in``), then ``nut`` and the
    wall-side ``nutw`` from the new values. The new values are formed in the work arrays
    ``r`` and ``z`` (free before the projection), which then swap with ``tk`` and
    ``teps``."""
    k = s.backend.kernels
    F = s.dtype.type
    dx, dy, dz = (F(d) for d in s.problem.grid.spacing_m)
    kn, en = s.r, s.z
    if dt is None:
        dt = 0.0
    args = (s.u, s.v, s.w, s.nut, s.T, s.solid, s.wallc, dx, dy, dz, s.bc_slip, s.bc_zero,
            s.kec, F(dt))
    with stencil_cores(s):
        k.turbulence_k(kn, s.tk, s.teps, *args)
        k.turbulence_eps(en, s.tk, s.teps, *args)
    if len(s.pf_cell_h):
        k.apply_ports(kn, s.tk, s.pf_cell, s.pf_dev, s.pf_role, s.pf_rate, s.dev_k_in, F(dt))
        k.apply_ports(en, s.teps, s.pf_cell, s.pf_dev, s.pf_role, s.pf_rate, s.dev_eps_in,
                      F(dt))
    s.tk, s.r = kn, s.tk
    s.teps, s.z = en, s.teps
    with stencil_cores(s):
        k.turbulence_viscosity(s.nut, s.nutw, s.tk, s.teps, s.solid, s.wallc, dx, dy, dz,
                               s.kec)


def predict_momentum(s, dt):
    """``us, vs, ws`` (the predicted velocities) from ``u, v, w``, ``nut`` and ``T``."""
    k = s.backend.kernels
    g, fl = s.problem.grid, s.problem.fluid
    F = s.dtype.type
    dx, dy, dz = (F(d) for d in g.spacing_m)
    gbeta = F(fl.gravity_m_s2 * fl.expansion_1_k)
    with stencil_cores(s):
        for c, out in enumerate((s.us, s.vs, s.ws)):
            k.predict_velocity(c, s.u, s.v, s.w, out, s.nut, s.T, s.solid, dx, dy, dz,
                               F(fl.viscosity_m2_s), gbeta, F(fl.reference_temp_c),
                               s.bc_slip, s.bc_uw, F(dt), nutw=s.nutw)


def apply_resistances(s, dt):
    """Quadratic pressure loss of perforated tiles and grilles on the listed faces of
    ``us, vs, ws``, implicit in the new face speed with the old one's coefficient (stable
    at any ``dt``), the last pressure gradient ``grad(phi)`` taken out of the division
    (``pointwise.resisted``): a steady state balances the loss exactly at any ``dt``.
    Reads ``u, v, w`` (still the old flow) and ``phi``."""
    k = s.backend.kernels
    arrays = (s.us, s.vs, s.ws)
    old = (s.u, s.v, s.w)
    for ax, faces, kl in s.res:
        k.apply_resistance(arrays[ax], old[ax], faces, kl,
                           s.dtype.type(s.problem.grid.spacing_m[ax]), s.dtype.type(dt),
                           s.phi, s.solid, ax)


# ----------------------------------------------------------------------------- pressure
def project(s, dt=None):
    """Make ``us, vs, ws`` divergence-free to ``s.div_tol`` [1/s]; they become ``u, v, w``
    (the arrays are swapped). ``phi`` is the pressure potential, warm-started from the
    last step; ``r, z, pdir`` are work arrays. Sets ``s.last_cg`` = (iterations, max
    residual) and ``s.last_div0``, the largest ``|div u* - lap phi|`` before the
    iterations (the imbalance the last step's pressure leaves: 0 at a steady state), and
    returns the iterations. The tolerance is never below the equation's rounding floor
    (:func:`rounding_floor`, bounded without a reduction of its own: :class:`RhsBound`)."""
    k = s.backend.kernels
    F = s.dtype.type
    dx, dy, dz = (F(d) for d in s.problem.grid.spacing_m)
    it, rmax = solve_pressure(s, s.rhs_bound, s.phi,
                              lambda p, out: k.laplacian(out, p, s.solid, dx, dy, dz),
                              lambda res, out: precondition(s, res, out))
    s.last_cg = (it, float(rmax))
    for c, (q, d) in enumerate(((s.us, dx), (s.vs, dy), (s.ws, dz))):
        k.correct_velocity(c, q, s.phi, s.solid, d)
    s.u, s.us = s.us, s.u
    s.v, s.vs = s.vs, s.v
    s.w, s.ws = s.ws, s.w
    return it


def solve_pressure(s, bound, x, apply_a, apply_m):
    """``A x = b``, ``b = div(us, vs, ws)``, from the warm start ``x`` by :func:`pcg` (``A``
    and the preconditioner as ``apply_a(p, out)``, ``apply_m(r, out)``): sets
    ``s.last_div0`` = ``max |b - A x|`` before the iterations; the tolerance is
    ``s.div_tol``, never below the rounding floor (:func:`rounding_floor`, with the
    :class:`RhsBound` ``bound`` of ``x``, carried on). Returns the iterations and the last
    ``max |r|``."""
    k = s.backend.kernels
    F = s.dtype.type
    dx, dy, dz = (F(d) for d in s.problem.grid.spacing_m)

    def rhs(out):
        k.divergence(out, s.us, s.vs, s.ws, s.solid, dx, dy, dz)

    rhs(s.r)                                                  # r holds b
    b_max = bound.measure_first(s, s.r)
    apply_a(x, s.z)                                           # z holds A x
    k.cg_residual_inplace(s.r, s.z, s.solid)                  # r = b - A x
    s.last_div0 = float(k.max_abs(s.r))  # the mass imbalance left by the last pressure [1/s]
    it, rmax = pcg(s, x, s.last_div0, apply_a, apply_m, bound.tolerance(s, b_max, rhs))
    bound.carry(rmax)
    return it, rmax


#: The residual a projection can reach, in units of the float's epsilon times the largest
#: ``|b| = |div u*|`` of its equation (:func:`rounding_floor`).
ROUNDING_FLOOR_EPS = 4.0


def rounding_floor(s, b_max) -> float:
    """The smallest ``max |div u* - lap phi|`` [1/s] a projection can reach: the rounding of
    its right-hand side ``b = div u*`` (which ``A phi`` must match), ``ROUNDING_FLOOR_EPS``
    epsilons of its largest value. In a hall of a few pascals it lies below ``div_tol``
    (the small hall at 0.25 m: about 5 % of it, in float32); where a sealed aisle is
    pressurised to kPa across its door leaks, ``b`` near the doors is large and, in float32, its rounding exceeds ``div_tol``: the
    conjugate gradients then stagnated at the floor for ``pressure_max_iter`` iterations
    and their iterate drifted until the flow diverged (the AI hall at 0.8x supply, 0.3 m:
    ``benchmarks/results/ai-hall-divergence-2026-12-07.md``)."""
    return ROUNDING_FLOOR_EPS * float(np.finfo(s.dtype).eps) * float(b_max)


class RhsBound:
    """An upper bound on ``max |b|`` (``b = div u*``), carried from one projection to the
    next, so that the rounding floor (:func:`rounding_floor`) costs no full-grid reduction
    of its own where it lies below the tolerance.

    The argument (the triangle inequality, cell by cell): the warm start ``x`` leaves the
    residual ``r0 = b - A x``, so ``max |b| <= max |r0| + max |A x|``, and ``max |r0|`` is
    taken anyway (``s.last_div0``). After the iterations ``A x = b - r``, so the next
    step's ``max |A x| <= max |b| + max |r|``, with :data:`SLACK` for the rounding between
    the iterated ``r`` and ``b - A x``. Where the bound puts the floor at or below the
    tolerance, so is the floor itself and the tolerance is the step's: the same as with
    ``max |b|`` taken, to the bit. Otherwise ``max |b|`` is taken: before the residual
    where the last bound lies within :data:`MARGIN` of the tolerance (the kPa aisles of
    :func:`rounding_floor`, every step) or is unknown or :data:`REFRESH` projections old;
    after it, from ``b`` computed again into ``pdir``, where the bound rose past the
    tolerance in one step. Whoever writes the warm start (or the operator ``A``) outside
    the projection calls :meth:`forget`."""

    #: Take ``max |b|`` before the residual where the floor of the last bound is above
    #: ``tolerance / MARGIN``.
    MARGIN = 16.0
    #: Take ``max |b|`` at least once in this many projections.
    REFRESH = 64
    #: Relative slack on the carried bound for the float rounding of the iterations.
    SLACK = 1e-3

    def __init__(self):
        self.a_x_max = None        # bound on max |A x| of the warm start [1/s]; None: unknown
        self.b_max = None          # max |b| of this projection, or its bound [1/s]
        self.age = 0               # projections since max |b| was last taken
        self.taken = 0             # projections that took max |b| (for tests and counts)

    def forget(self):
        """The warm start (or ``A``) changed outside the projection: the bound is unknown."""
        self.a_x_max = None

    def measure_first(self, s, b):
        """``max |b|`` of the right-hand side ``b`` (before the residual overwrites it)
        where the bound cannot be trusted to rule the floor out; else None."""
        a = self.a_x_max
        if (a is None or not np.isfinite(a) or self.age >= self.REFRESH
                or rounding_floor(s, a) * self.MARGIN > s.div_tol):
            return self._taken(s.backend.kernels.max_abs(b))
        return None

    def tolerance(self, s, b_max, rhs):
        """The CG's tolerance ``max(s.div_tol, floor)``, after ``s.last_div0`` is set:
        from ``b_max`` where :meth:`measure_first` took it, else from the bound, else
        (the bound's floor above the tolerance) from ``b`` recomputed by ``rhs(out)``."""
        if b_max is None:
            b_max = s.last_div0 + self.a_x_max          # |b| <= |b - A x| + |A x|
            if rounding_floor(s, b_max) > s.div_tol:
                rhs(s.pdir)                             # a work array, free until the CG
                b_max = self._taken(s.backend.kernels.max_abs(s.pdir))
            else:
                self.age += 1
                self.b_max = b_max
        return max(s.div_tol, rounding_floor(s, b_max))

    def carry(self, rmax):
        """After the iterations (``rmax`` = the last ``max |r|``): the bound on the next
        projection's ``max |A x|``."""
        self.a_x_max = (self.b_max + float(rmax)) * (1.0 + self.SLACK)

    def _taken(self, b_max):
        self.age = 0
        self.taken += 1
        self.b_max = float(b_max)
        return self.b_max


def pcg(s, x, rmax, apply_a, apply_m, tol):
    """Preconditioned conjugate gradients on ``A x = b`` from the residual ``s.r = b - A
    x`` (both updated in place; ``rmax`` its largest magnitude) until ``max |r| <= tol`` [1/s] or
    ``pressure_max_iter``; ``apply_a(p, out)`` writes ``A p``, ``apply_m(r, out)`` the
    preconditioned residual; ``s.pdir`` and ``s.z`` are work arrays. Returns the
    iterations and the last ``max |r|``. Stops early where the float precision
    stagnates (a zero or non-finite curvature or ``r . z``)."""
    k = s.backend.kernels
    F = s.dtype.type
    r, pdir, z = s.r, s.pdir, s.z
    it = 0
    if rmax > tol:
        apply_m(r, z)
        pdir[...] = z
        rz = k.dot(r, z)
        for it in range(1, s.settings.pressure_max_iter + 1):
            apply_a(pdir, z)                                  # z = A p
            pap = k.dot(pdir, z)
            if not (np.isfinite(pap) and pap != 0.0 and rz != 0.0):
                break                      # stagnated at the float precision
            alpha = rz / pap
            k.cg_update_xr(x, r, pdir, z, F(alpha))
            rmax = k.max_abs(r)
            if rmax <= tol:
                break
            apply_m(r, z)
            rz_new = k.dot(r, z)
            if not np.isfinite(rz_new) or rz_new == 0.0:
                break
            beta = rz_new / rz
            rz = rz_new
            k.cg_update_p(pdir, z, F(beta))
    return it, float(rmax)


def precondition(s, r, out):
    """``out = A_box^-1 r`` masked to the fluid, plus the coarse correction; or, with
    ``pressure_preconditioner = "multigrid"``, one V-cycle (:mod:`kernels.multigrid`).

    ``A_box`` is the Laplacian of the same box without obstacles (Neumann walls), solved
    exactly: a DCT-II over y and z and Thomas sweeps along x where the kernels have them
    (``cpu.box_solve_x``), else a 3D DCT and ``box_scale``. Both are the same linear
    operator; they agree to rounding. The coarse space (``coarse.py``) corrects the
    aggregates that walls cut off from each other.
    """
    be = s.backend
    k = be.kernels
    if s.mg is not None:
        s.mg.apply(r, out)             # a V-cycle (kernels.multigrid)
        return
    if s.box_x is not None:
        rh = be.dctn(r, axes=(1, 2))
        k.box_solve_x(rh, *s.box_x)
        out[...] = be.idctn(rh, axes=(1, 2))
    else:
        rh = be.dctn(r)
        k.box_scale(rh, *s.box_eig)
        out[...] = be.idctn(rh)
    k.mask_solid(out, s.solid)
    if s.coarse is not None:
        k.coarse_restrict(r.reshape(-1), s.agg_flat, s.rc)
        xc = s.coarse.solve(be.to_host(s.rc))
        k.coarse_prolong_add(out.reshape(-1), s.agg_flat, be.asarray(xc))


# ----------------------------------------------------------------------------- heat
def device_temperatures(s, dt=None):
    """Intake means and maxima (``dev_tin``, ``dev_tin_max``) and outlet temperatures
    (``dev_tout``) of every device: a rack adds its heat to its airflow, a cooler brings
    its air to its supply temperature within its capacity (``Q = rho cp V dT``)."""
    p = s.problem
    if not p.devices:
        return
    be = s.backend
    be.kernels.port_intake_stats(s.T, s.pf_cell, s.pf_dev, s.pf_role, s.dev_sum, s.dev_max)
    tin = be.to_host(s.dev_sum)[:len(p.devices)] / s.n_intake
    if len(s.weighted_devs):
        t = be.to_host(s.T[s.w_idx]).astype(np.float64)
        wsum = np.bincount(s.w_dev_h, weights=s.w_frac_h * t, minlength=len(p.devices))
        tin[s.weighted_devs] = wsum[s.weighted_devs]
    s.dev_tin = tin
    s.dev_tin_max = be.to_host(s.dev_max)[:len(p.devices)].copy()
    rcp = p.fluid.rho_cp
    tout = np.empty(len(p.devices))
    for n, d in enumerate(s.devices):
        if d.flow_m3_s <= 0:
            tout[n] = tin[n]
        elif d.kind == "rack":
            tout[n] = tin[n] + d.heat_w / (rcp * d.flow_m3_s)
        else:
            limited = tin[n] - d.capacity_w / (rcp * d.flow_m3_s)
            tout[n] = min(tin[n], max(d.supply_temp_c, limited))
    s.dev_tout = tout
    s.dev_tout_dev = be.asarray(tout.astype(s.dtype))


def advance_temperature(s, dt):
    """``T`` one explicit step on, with the device ports and heat sources; the heat the
    devices and sources put into the air is added to ``s.ledger_j`` [J]."""
    k = s.backend.kernels
    p = s.problem
    F = s.dtype.type
    dx, dy, dz = (F(d) for d in p.grid.spacing_m)
    Tn = s.z
    with stencil_cores(s):
        k.temperature_step(Tn, s.T, s.u, s.v, s.w, s.nut, s.solid, dx, dy, dz,
                           F(p.fluid.diffusivity_m2_s), F(1.0 / p.turbulence.prandtl_t),
                           s.bc_hk, s.bc_tb, F(dt))
    if len(s.pf_cell_h):
        k.apply_ports(Tn, s.T, s.pf_cell, s.pf_dev, s.pf_role, s.pf_rate, s.dev_tout_dev,
                      F(dt))
    if s.src_cell is not None:
        k.apply_sources(Tn, s.src_cell, s.src_rate, F(dt))
    rcp = p.fluid.rho_cp
    s.ledger_j += dt * (s.source_w + sum(
        rcp * d.flow_m3_s * (s.dev_tout[n] - s.dev_tin[n]) for n, d in enumerate(s.devices)))
    s.T, s.z = Tn, s.T


#: One time step: every stage is called as ``stage(s, dt)``, in this order.
STEP = (update_eddy_viscosity, predict_momentum, apply_resistances, project,
        device_temperatures, advance_temperature)


def step(s, dt):
    """Run :data:`STEP` once, with the projection tolerance of this step's speed scale."""
    s.div_tol = s.settings.pressure_tol * velocity_scale(s) / min(s.problem.grid.size_m)
    for stage in STEP:
        stage(s, dt)


# ----------------------------------------------------------------------------- step size
def max_speed_m_s(s) -> float:
    """Largest face-normal speed of the flow, ``max |u|, |v|, |w|`` [m/s]."""
    k = s.backend.kernels
    return max(k.max_abs(s.u), k.max_abs(s.v), k.max_abs(s.w))


def lid_speed_m_s(s) -> float:
    """Largest moving-wall speed of the domain boundaries [m/s] (0 without one)."""
    return max((abs(x) for bc in s.problem.boundaries.values() for x in bc.wall_velocity_m_s),
               default=0.0)


def velocity_scale(s) -> float:
    """Speed scale of the projection tolerance and the divergence check [m/s]."""
    return max(max_speed_m_s(s), lid_speed_m_s(s), 1e-6)


def stable_dt(s) -> float:
    """Largest stable step: advective CFL and explicit diffusion limits [s].

    The advective limit is ``cfl / max(rate)`` over every cell and momentum control volume
    (``pointwise.advection_rate``: the Courant number summed over the three axes where it
    is taken, not the sum of the three components' maxima over the whole box, which
    bounds it from above and mixes speeds from different places). Buoyancy: a parcel must
    not cross a cell in one step under ``g beta dT`` with ``dT`` = 50 K.
    """
    st = s.settings
    g = s.problem.grid
    k = s.backend.kernels
    dx, dy, dz = g.spacing_m
    F = s.dtype.type
    rate = k.max_advection_rate(s.u, s.v, s.w, F(1 / dx), F(1 / dy), F(1 / dz))
    if not np.isfinite(rate):
        check_finite(s)                      # raises, naming the divergence
    adv = max(rate, lid_speed_m_s(s) * (1 / dx + 1 / dy + 1 / dz))
    fl = s.problem.fluid
    nut_max = k.max_abs(s.nut) if s.model_code else 0.0
    # a constant nu_t before the first step has filled the field
    nut_max = max(nut_max, s.problem.turbulence.nu_t_m2_s if s.model_code == 1 else 0.0)
    # Chen-Xu nu_t grows with speed: allow for it before the field exists
    if s.model_code == 2:
        if s.walldist_max_m is None:          # constant: one device read
            s.walldist_max_m = float(s.backend.to_host(s.walldist).max())
        nut_max = max(nut_max, CHEN_XU_C * max_speed_m_s(s) * s.walldist_max_m)
    diff = max(fl.viscosity_m2_s + nut_max,
               fl.diffusivity_m2_s + nut_max / s.problem.turbulence.prandtl_t)
    inv_d2 = 1 / dx ** 2 + 1 / dy ** 2 + 1 / dz ** 2
    dt = st.max_dt_s
    if adv > 0:
        dt = min(dt, st.cfl / adv)
    dt = min(dt, st.diffusion_safety / (2.0 * diff * inv_d2))
    fl_b = fl.gravity_m_s2 * fl.expansion_1_k
    if fl_b > 0:
        dt = min(dt, np.sqrt(min(dx, dy, dz) / (fl_b * 50.0)) * 0.5)
    return dt


def check_finite(s) -> None:
    """Raise :class:`DivergenceError` when the temperature or the flow has blown up."""
    k = s.backend.kernels
    tm = k.max_abs(s.T)
    um = velocity_scale(s)
    if not (np.isfinite(tm) and np.isfinite(um)) or um > 1e3 or tm > 1e4:
        raise DivergenceError(
            f"{s.problem.name}: the solution diverged after {s.steps} steps "
            f"(max speed {um:.3g} m/s, max |T| {tm:.3g} degC); check the inputs (flows, "
            "heat) or use a smaller cfl; no results were written")


@contextmanager
def stencil_cores(s):
    """Run the stencil updates on ``s.stencil_threads`` Numba threads (CPU backend), then
    go back to the step's own count (``backend.STENCIL_PARALLEL_MIN_CELLS``)."""
    if s.stencil_threads is None or s.stencil_threads == s.threads:
        yield
        return
    import numba
    before = numba.get_num_threads()
    numba.set_num_threads(s.stencil_threads)
    try:
        yield
    finally:
        numba.set_num_threads(before)
