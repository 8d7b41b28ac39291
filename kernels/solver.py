"""The thermal solver: a time step composed from named stages, run to steady state or in time.

Numerics (``kernels/README.md`` has the details):

* staggered (MAC) finite volumes; explicit (forward Euler) momentum and heat with
  MUSCL/van Leer advection and central diffusion (``pointwise.py``);
* projection (Chorin 1968): ``lap(phi) = div(u*)``, ``u = u* - grad(phi)``,
  ``p = rho * phi / dt``; the masked Poisson problem is solved by conjugate gradients
  preconditioned by the exact DCT solve of the obstacle-free box (Neumann walls);
* steady state by pseudo-time stepping (``solve_steady``) with the convergence
  criterion of :class:`SolverSettings`; the heat equation at the converged flow is then
  finished by defect correction (``energy.py``): exact to solver tolerance, so the heat
  balance closes without thousands of explicit steps;
* transient runs (``run``) in real seconds for failure studies.

Stages of one step: ``update_eddy_viscosity -> predict_momentum -> apply_resistances ->
project -> device_temperatures -> advance_temperature``.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from common.errors import DivergenceError, InputError

from .backend import STENCIL_PARALLEL_MIN_CELLS, Backend, get_backend
from .memory import check_fits
from .problem import Problem
from . import budget
from .setup import check_problem, cpu_threads, setup_arrays
from .steady import RunResult, solve_steady



@dataclass(frozen=True)
class SolverSettings:
    """Numerical settings (all dimensionless unless the name says otherwise).

    Steady-state convergence criterion (checked every ``check_every`` steps): the RMS over
    all faces of the velocity change per unit time since the last check, scaled by
    ``L / U^2`` (``U`` the largest face speed, ``L`` the smallest box side), below
    ``tol_velocity`` where there are no devices, else the window rules on the intake
    temperatures (:meth:`Solver.solve_steady`); then, after the energy finish, the heat
    balance (heat in minus heat out, over heat in) below ``tol_energy``.
    """

    dtype: str = "float32"
    cfl: float = 0.35
    diffusion_safety: float = 0.8
    max_dt_s: float = 1.0
    pressure_tol: float = 1e-3        # max |div u| after projection, times L / U
    final_pressure_tol: float = 1e-6  # the same for the last projection of a steady solve
    pressure_max_iter: int = 300
    tol_velocity: float = 2e-3
    tol_energy: float = 1e-3
    check_every: int = 50
    max_steps: int = 20000
    energy_finish: bool = True
    energy_finish_every: int = 0      # also finish the heat equation every N steps (0: off)
    min_steps: int = 200
    tol_temp_k: float = 0.2           # statistically steady: twice the standard error of
                                      # the record mean of the intakes, and the difference
                                      # of the record's halves [K]
    min_windows: int = 3
    record_min_windows: int = 4       # fewest windows a record mean is judged on
    coarse_block: int = -1            # aggregate size of the pressure coarse space (-1: on
                                      # GPU backends the smallest of 2, 4, 8 giving
                                      # <= COARSE_MAX aggregates, off on the CPU; 0: off)

    def __post_init__(self):
        if self.dtype not in ("float32", "float64"):
            raise InputError(f"solver dtype '{self.dtype}' must be float32 or float64")
        for name in ("cfl", "diffusion_safety", "max_dt_s", "pressure_tol", "tol_velocity",
                     "tol_energy"):
            v = getattr(self, name)
            if not np.isfinite(v) or v <= 0:
                raise InputError(f"solver setting {name} = {v} must be a positive number")
        for name in ("min_windows", "record_min_windows"):
            if int(getattr(self, name)) < 2:
                raise InputError(f"solver setting {name} = {getattr(self, name)} must be >= 2")
        if self.cfl > 0.5:
            raise InputError(f"solver setting cfl = {self.cfl} must be <= 0.5 (explicit TVD limit)")


class Solver:
    """Airflow and heat on one :class:`~kernels.problem.Problem`, on one backend."""

    def __init__(self, problem: Problem, backend="auto", settings: SolverSettings | None = None):
        self.problem = problem
        self.settings = settings or SolverSettings()
        self.backend: Backend = get_backend(backend)
        self.dtype = np.dtype(self.settings.dtype)
        g = problem.grid
        check_fits(g, self.backend, self.dtype.itemsize)
        check_problem(self)
        setup_arrays(self)
        self.set_devices(problem.devices)
        self.steps = 0
        self.time_s = 0.0
        self.ledger_j = 0.0
        self.dt = None
        self._walldist_max_m = None
        cpu = self.backend.name == "numba-cpu"
        self._threads = cpu_threads(g.cells) if cpu else None
        self._stencil_threads = (cpu_threads(g.cells, STENCIL_PARALLEL_MIN_CELLS) if cpu
                                 else None)

    # ------------------------------------------------------------------ setup


    def set_devices(self, devices):
        """New flows, heats and supply temperatures for the same ports (same order)."""
        devices = tuple(devices)
        p = self.problem
        if len(devices) != len(p.devices):
            raise InputError(f"{p.name}: expected {len(p.devices)} devices, got {len(devices)}")
        for old, new in zip(p.devices, devices):
            if old.intake is not new.intake and not (
                    np.array_equal(old.intake.cells, new.intake.cells)
                    and np.array_equal(old.exhaust.cells, new.exhaust.cells)):
                raise InputError(f"device {new.name}: ports changed; build a new solver")
        self.devices = devices
        g, be, dt = p.grid, self.backend, self.dtype
        speeds = np.zeros(len(self.pf_cell_h))
        area = np.array([g.face_area_m2(a) for a in range(3)])
        for n, dev in enumerate(devices):
            for role, port in ((0, dev.intake), (1, dev.exhaust)):
                m = (self.pf_dev_h == n) & (self.pf_role_h == role)
                if port.uniform:
                    speeds[m] = dev.flow_m3_s / (port.n_faces * g.face_area_m2(port.axis))
                else:       # each face its share of the flow over its own area
                    speeds[m] = dev.flow_m3_s * self.pf_frac_h[m] / area[self.pf_axis_h[m]]
        self.pf_speed_h = speeds
        d_axis = np.array(g.spacing_m)[self.pf_axis_h] if len(speeds) else np.zeros(0)
        self.pf_rate = be.asarray((speeds / np.where(d_axis > 0, d_axis, 1.0)).astype(dt))
        # prescribed velocities on port faces: intake flows out of the fluid cell
        vel = [be.to_host(a).copy() for a in (self.u, self.v, self.w)]
        for n in range(len(speeds)):
            ax = self.pf_axis_h[n]
            f = self.pf_cell_h[n].copy()
            s = self.pf_side_h[n]
            if s > 0:
                f[ax] += 1
            sign = s if self.pf_role_h[n] == 0 else -s
            vel[ax][f[0], f[1], f[2]] = sign * speeds[n]
        self.u, self.v, self.w = (be.asarray(a.astype(dt)) for a in vel)
        for a, b in ((self.us, self.u), (self.vs, self.v), (self.ws, self.w)):
            a[...] = b
        self.problem = p.with_devices(devices)

    # ------------------------------------------------------------------ stages
    def _params(self):
        p = self.problem
        g = p.grid
        fl = p.fluid
        dx, dy, dz = g.spacing_m
        gbeta = fl.gravity_m_s2 * fl.expansion_1_k
        return dx, dy, dz, fl.viscosity_m2_s, gbeta, fl.reference_temp_c

    def update_eddy_viscosity(self):
        t = self.problem.turbulence
        self.backend.kernels.update_nut(self.nut, self.u, self.v, self.w, self.walldist,
                                        self.dtype.type(t.nu_t_m2_s), self.model_code)

    def predict_momentum(self, dt):
        k = self.backend.kernels
        dx, dy, dz, nu, gbeta, tref = self._params()
        T = self.dtype.type
        with self._stencil_cores():
            for c, out in enumerate((self.us, self.vs, self.ws)):
                k.predict_velocity(c, self.u, self.v, self.w, out, self.nut, self.T,
                                   self.solid, T(dx), T(dy), T(dz), T(nu), T(gbeta), T(tref),
                                   self.bc_slip, self.bc_uw, T(dt))

    @contextmanager
    def _stencil_cores(self):
        """Run the stencil updates on ``_stencil_threads`` Numba threads (CPU backend),
        then go back to the step's own count (``backend.STENCIL_PARALLEL_MIN_CELLS``)."""
        if self._stencil_threads is None or self._stencil_threads == self._threads:
            yield
            return
        import numba
        before = numba.get_num_threads()
        numba.set_num_threads(self._stencil_threads)
        try:
            yield
        finally:
            numba.set_num_threads(before)

    def apply_resistances(self, dt):
        k = self.backend.kernels
        arrays = (self.us, self.vs, self.ws)
        for ax, faces, kl in self.res:
            k.apply_resistance(arrays[ax], faces, kl,
                               self.dtype.type(self.problem.grid.spacing_m[ax]),
                               self.dtype.type(dt))

    def project(self):
        """Make (u*, v*, w*) divergence-free; they become (u, v, w). Returns CG iterations."""
        k = self.backend.kernels
        g = self.problem.grid
        T = self.dtype.type
        dx, dy, dz = (T(d) for d in g.spacing_m)
        r, pdir, z = self.r, self.pdir, self.z
        k.divergence(r, self.us, self.vs, self.ws, self.solid, dx, dy, dz)   # r holds b
        # r = b - A phi  (z holds A phi)
        k.laplacian(z, self.phi, self.solid, dx, dy, dz)
        k.cg_residual_inplace(r, z, self.solid)
        tol = self._div_tol
        rmax = k.max_abs(r)
        it = 0
        if rmax > tol:
            self._precondition(r, z)
            pdir[...] = z
            rz = k.dot(r, z)
            for it in range(1, self.settings.pressure_max_iter + 1):
                k.laplacian(z, pdir, self.solid, dx, dy, dz)         # z = A p
                pap = k.dot(pdir, z)
                if not (np.isfinite(pap) and pap != 0.0 and rz != 0.0):
                    break                      # stagnated at the float precision
                alpha = rz / pap
                k.cg_update_xr(self.phi, r, pdir, z, T(alpha))
                rmax = k.max_abs(r)
                if rmax <= tol:
                    break
                self._precondition(r, z)
                rz_new = k.dot(r, z)
                if not np.isfinite(rz_new) or rz_new == 0.0:
                    break
                beta = rz_new / rz
                rz = rz_new
                k.cg_update_p(pdir, z, T(beta))
        self.last_cg = (it, float(rmax))
        for c, (q, d) in enumerate(((self.us, dx), (self.vs, dy), (self.ws, dz))):
            k.correct_velocity(c, q, self.phi, self.solid, d)
        self.u, self.us = self.us, self.u
        self.v, self.vs = self.vs, self.v
        self.w, self.ws = self.ws, self.w
        return it

    def _precondition(self, r, out):
        """``out = A_box^-1 r`` masked to the fluid, plus the coarse correction.

        ``A_box`` is the Laplacian of the same box without obstacles (Neumann walls),
        solved exactly: a DCT-II over y and z and Thomas sweeps along x where the kernels
        have them (``cpu.box_solve_x``), else a 3D DCT and ``box_scale``. Both are the
        same linear operator; they agree to rounding.
        """
        be = self.backend
        k = be.kernels
        if self._box_x is not None:
            rh = be.dctn(r, axes=(1, 2))
            k.box_solve_x(rh, *self._box_x)
            out[...] = be.idctn(rh, axes=(1, 2))
        else:
            rh = be.dctn(r)
            k.box_scale(rh, *self._box_eig)
            out[...] = be.idctn(rh)
        k.mask_solid(out, self.solid)
        if self.coarse is not None:
            cs = self.coarse
            k.coarse_restrict(r.reshape(-1), self.agg_flat, self.rc)
            xc = cs.solve(be.to_host(self.rc))
            k.coarse_prolong_add(out.reshape(-1), self.agg_flat, be.asarray(xc))

    def device_temperatures(self):
        """Intake means and outlet temperatures of every device (rack and cooler models)."""
        p = self.problem
        if not p.devices:
            return
        be = self.backend
        be.kernels.port_intake_stats(self.T, self.pf_cell, self.pf_dev, self.pf_role,
                                     self.dev_sum, self.dev_max)
        tin = be.to_host(self.dev_sum)[:len(p.devices)] / self.n_intake
        if len(self.weighted_devs):
            t = be.to_host(self.T[self.w_idx]).astype(np.float64)
            wsum = np.bincount(self.w_dev_h, weights=self.w_frac_h * t, minlength=len(p.devices))
            tin[self.weighted_devs] = wsum[self.weighted_devs]
        self.dev_tin = tin
        self.dev_tin_max = be.to_host(self.dev_max)[:len(p.devices)].copy()
        rcp = p.fluid.rho_cp
        tout = np.empty(len(p.devices))
        for n, d in enumerate(self.devices):
            if d.flow_m3_s <= 0:
                tout[n] = tin[n]
            elif d.kind == "rack":
                tout[n] = tin[n] + d.heat_w / (rcp * d.flow_m3_s)
            else:
                limited = tin[n] - d.capacity_w / (rcp * d.flow_m3_s)
                tout[n] = min(tin[n], max(d.supply_temp_c, limited))
        self.dev_tout = tout
        self.dev_tout_dev = be.asarray(tout.astype(self.dtype))

    def advance_temperature(self, dt):
        k = self.backend.kernels
        g = self.problem.grid
        p = self.problem
        T = self.dtype.type
        dx, dy, dz = (T(d) for d in g.spacing_m)
        Tn = self.z
        with self._stencil_cores():
            k.temperature_step(Tn, self.T, self.u, self.v, self.w, self.nut, self.solid,
                               dx, dy, dz, T(p.fluid.diffusivity_m2_s),
                               T(1.0 / p.turbulence.prandtl_t), self.bc_hk, self.bc_tb, T(dt))
        if len(self.pf_cell_h):
            k.apply_ports(Tn, self.T, self.pf_cell, self.pf_dev, self.pf_role, self.pf_rate,
                          self.dev_tout_dev, T(dt))
        if self.src_cell is not None:
            k.apply_sources(Tn, self.src_cell, self.src_rate, T(dt))
        # ledger of heat put into the air by devices and sources [J] (walls: energy_budget)
        rcp = p.fluid.rho_cp
        self.ledger_j += dt * (self.source_w + sum(
            rcp * d.flow_m3_s * (self.dev_tout[n] - self.dev_tin[n])
            for n, d in enumerate(self.devices)))
        self.T, self.z = Tn, self.T

    # ------------------------------------------------------------------ driving
    def _max_speed_m_s(self) -> float:
        """Largest face-normal speed of the flow, ``max |u|, |v|, |w|`` [m/s]."""
        k = self.backend.kernels
        return max(k.max_abs(self.u), k.max_abs(self.v), k.max_abs(self.w))

    def _lid_speed_m_s(self) -> float:
        """Largest moving-wall speed of the domain boundaries [m/s] (0 without one)."""
        return max((abs(x) for bc in self.problem.boundaries.values()
                    for x in bc.wall_velocity_m_s), default=0.0)

    def _velocity_scale(self):
        return max(self._max_speed_m_s(), self._lid_speed_m_s(), 1e-6)

    def compute_dt(self):
        """Largest stable step: advective CFL and explicit diffusion limits [s].

        The advective limit is ``cfl / max(rate)`` over every cell and momentum control
        volume (``pointwise.advection_rate``: the Courant number summed over the three
        axes where it is taken, not the sum of the three components' maxima over the whole
        box, which bounds it from above and mixes speeds from different places; on the
        shipped halls that bound was 1.2-1.4x the local one, so every step was that much
        shorter than it needed to be).
        """
        s = self.settings
        g = self.problem.grid
        k = self.backend.kernels
        dx, dy, dz = g.spacing_m
        T = self.dtype.type
        rate = k.max_advection_rate(self.u, self.v, self.w, T(1 / dx), T(1 / dy), T(1 / dz))
        if not np.isfinite(rate):
            self._check_finite()                 # raises, naming the divergence
        adv = max(rate, self._lid_speed_m_s() * (1 / dx + 1 / dy + 1 / dz))
        fl = self.problem.fluid
        nut_max = k.max_abs(self.nut) if self.model_code else 0.0
        # Chen-Xu nu_t grows with speed: allow for it before the field exists
        if self.model_code == 2:
            if self._walldist_max_m is None:          # constant: one device read
                self._walldist_max_m = float(self.backend.to_host(self.walldist).max())
            nut_max = max(nut_max, 0.03874 * self._max_speed_m_s() * self._walldist_max_m)
        diff = max(fl.viscosity_m2_s + nut_max,
                   fl.diffusivity_m2_s + nut_max / self.problem.turbulence.prandtl_t)
        inv_d2 = 1 / dx ** 2 + 1 / dy ** 2 + 1 / dz ** 2
        dt = s.max_dt_s
        if adv > 0:
            dt = min(dt, s.cfl / adv)
        dt = min(dt, s.diffusion_safety / (2.0 * diff * inv_d2))
        fl_b = fl.gravity_m_s2 * fl.expansion_1_k
        if fl_b > 0:
            # buoyancy: a parcel must not cross a cell in one step under g*beta*dT
            dT = 50.0
            dt = min(dt, np.sqrt(min(dx, dy, dz) / (fl_b * dT)) * 0.5)
        return dt

    def step(self, dt=None):
        """One time step of ``dt`` seconds (default: the stable step)."""
        if dt is None:
            dt = self.compute_dt()
        self.dt = dt
        if self._threads:
            import numba
            numba.set_num_threads(self._threads)
        U = self._velocity_scale()
        g = self.problem.grid
        self._div_tol = self.settings.pressure_tol * U / min(g.size_m)
        self.update_eddy_viscosity()
        self.predict_momentum(dt)
        self.apply_resistances(dt)
        self.project()
        self.device_temperatures()
        self.advance_temperature(dt)
        self.steps += 1
        self.time_s += dt
        return dt

    def _check_finite(self):
        k = self.backend.kernels
        tm = k.max_abs(self.T)
        um = self._velocity_scale()
        if not (np.isfinite(tm) and np.isfinite(um)) or um > 1e3 or tm > 1e4:
            raise DivergenceError(
                f"{self.problem.name}: the solution diverged after {self.steps} steps "
                f"(max speed {um:.3g} m/s, max |T| {tm:.3g} degC); check the inputs (flows, "
                "heat) or use a smaller cfl; no results were written")

    def check_steady_state_exists(self):
        """Refuse a steady solve whose heat cannot be removed: with adiabatic walls the
        running cooling units must be able to take at least the heat the racks and sources
        put into the air, otherwise the air warms without end."""
        if any(h > 0 for h in self.bc_hk_host):
            return                       # conducting walls can carry heat out
        load = self.source_w + sum(d.heat_w for d in self.devices if d.kind == "rack")
        cap = sum(d.capacity_w for d in self.devices if d.kind == "cooler" and d.flow_m3_s > 0)
        if load > 0 and cap < load * (1 - 1e-9):
            raise InputError(
                f"{self.problem.name}: no steady state exists: the air-side heat load is "
                f"{load / 1e3:.1f} kW but the running cooling units can remove only "
                f"{cap / 1e3:.1f} kW; add cooling capacity or reduce the load, or run a "
                "transient (twin fail) to see how fast the room heats up")

    def solve_steady(self, max_steps=None, progress=None) -> RunResult:
        """Pseudo-time stepping to a steady (or statistically steady) state
        (:func:`kernels.steady.solve_steady`)."""
        return solve_steady(self, max_steps, progress)

    def _heat_tol_k(self) -> float:
        """Stopping change of a full heat solve [K] (float32 rounding leaves ~1e-3 K)."""
        return 5e-3 if self.dtype == np.float32 else 1e-8

    def _set_flow(self, flow):
        """Set the face velocities to the host arrays ``flow`` (u, v, w)."""
        for dst, a in zip((self.u, self.v, self.w), flow):
            dst[...] = self.backend.asarray(a.astype(self.dtype))

    def run(self, duration_s, dt=None, progress=None, callback=None, callback_every_s=None):
        """Transient run over ``duration_s`` real seconds.

        ``callback(solver)`` is called every ``callback_every_s`` of simulated time (and at
        the end); it may change devices with :meth:`set_devices`.
        """
        if not np.isfinite(duration_s) or duration_s < 0:
            raise InputError(f"run duration {duration_s} s must be >= 0")
        t0 = time.perf_counter()
        t_end = self.time_s + duration_s
        next_cb = self.time_s + (callback_every_s or np.inf)
        n = 0
        step_dt = dt or self.compute_dt()
        while self.time_s < t_end - 1e-12:
            h = min(step_dt, t_end - self.time_s)
            if callback_every_s:
                h = min(h, max(next_cb - self.time_s, 1e-9))
            self.step(h)
            n += 1
            if callback is not None and self.time_s >= next_cb - 1e-9:
                callback(self)
                next_cb += callback_every_s
            if n % self.settings.check_every == 0:
                self._check_finite()
                if dt is None:
                    step_dt = self.compute_dt()
                if progress is not None:
                    progress(n, {"time_s": self.time_s})
        self._check_finite()
        return RunResult(converged=True, iterations=n, wall_s=time.perf_counter() - t0,
                         sim_time_s=self.time_s)

    def final_projection(self):
        """Project the current velocity once more with the tight tolerance."""
        for a, b in ((self.us, self.u), (self.vs, self.v), (self.ws, self.w)):
            a[...] = b
        U = self._velocity_scale()
        tol = self.settings.final_pressure_tol
        if self.dtype == np.float32:
            tol = max(tol, 2e-5)               # float32 CG cannot go much lower
        self._div_tol = tol * U / min(self.problem.grid.size_m)
        self.project()

    def finish_energy(self, iterations=20, tol_k=None):
        """Bring the heat equation to steady state at the current flow (defect correction)."""
        from .energy import steady_temperature
        if tol_k is None:
            tol_k = self._heat_tol_k()
        T = self.backend.to_host(self.T).astype(np.float64)
        T_new, info = steady_temperature(self, T, iterations=iterations, tol_k=tol_k)
        self.T = self.backend.asarray(T_new.astype(self.dtype))
        self.device_temperatures()
        return info

    # ------------------------------------------------------------------ results
    def boundary_heat_w(self, T=None, split=False):
        """Heat flowing into the air through the domain boundary [W]
        (:func:`kernels.budget.boundary_heat_w`)."""
        return budget.boundary_heat_w(self, T, split)

    def stored_heat_j(self) -> float:
        """Heat stored in the air relative to 0 degC, rho*cp*V*sum(T) over fluid cells [J]
        (:func:`kernels.budget.stored_heat_j`)."""
        return budget.stored_heat_j(self)

    def energy_budget(self) -> dict:
        """Heat into and out of the air [W] and the imbalance over the heat input
        (:func:`kernels.budget.energy_budget`)."""
        return budget.energy_budget(self)

    def device_report(self) -> list[dict]:
        """Per device: intake mean and max, outlet, flow and heat (rack adds, cooler removes)
        (:func:`kernels.budget.device_report`)."""
        return budget.device_report(self)

    def max_divergence(self) -> float:
        """Largest |div u| over fluid cells times the cell size [m/s]
        (:func:`kernels.budget.max_divergence`)."""
        return budget.max_divergence(self)

    STATE_FIELDS = ("u", "v", "w", "nut", "phi", "T")

    def get_state(self) -> dict:
        """Host copies of the fields that define the solver's state (staggered velocities,
        eddy viscosity, pressure potential, temperature), in the solver's float type.

        With :meth:`set_state` a caller can keep several flow states (a what-if, a warm
        start) and come back to one without reaching into the solver's arrays.
        """
        be = self.backend
        return {name: np.array(be.to_host(getattr(self, name)), copy=True)
                for name in self.STATE_FIELDS}

    def set_state(self, state: dict) -> None:
        """Load fields from :meth:`get_state` (any subset; shapes must match, values finite)."""
        unknown = sorted(set(state) - set(self.STATE_FIELDS))
        if unknown:
            raise InputError(f"set_state: unknown field(s) {', '.join(unknown)}; "
                             f"the state holds {', '.join(self.STATE_FIELDS)}")
        be = self.backend
        for name, a in state.items():
            a = np.asarray(a)
            dest = getattr(self, name)
            if a.shape != tuple(dest.shape):
                raise InputError(f"set_state: field {name} has shape {a.shape}, the solver's is "
                                 f"{tuple(dest.shape)} (a state of another grid?)")
            if not np.isfinite(a).all():
                raise InputError(f"set_state: field {name} holds NaN or infinite values")
            dest[...] = be.asarray(a.astype(self.dtype, copy=False))

    def start_from(self, other: "Solver") -> None:
        """Start from ``other``'s flow and temperature, solved on another grid of the same
        box (grid sequencing, ``resample.py``): interpolated to this grid, then projected
        onto this grid's mask. The pressure potential and eddy viscosity start afresh."""
        from .resample import resample_state
        state = resample_state(other.get_state(), other.problem.grid, other.problem.fluid_mask,
                               self.problem.grid, self.problem.fluid_mask)
        self.set_state(state)
        self.set_devices(self.devices)        # the port faces' prescribed velocities
        self.phi[...] = 0
        self.device_temperatures()
        self.final_projection()

    def fields(self) -> dict:
        """Cell-centred host arrays: temperature, velocity components, speed, pressure
        (:func:`kernels.budget.fields`)."""
        return budget.fields(self)
