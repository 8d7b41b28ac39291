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
from dataclasses import dataclass, field

import numpy as np

from common.errors import DivergenceError, InputError

from .backend import PARALLEL_MIN_CELLS, STENCIL_PARALLEL_MIN_CELLS, Backend, get_backend
from .memory import check_fits
from .problem import FACES, Problem

_MODEL_CODE = {"laminar": 0, "constant": 1, "chen-xu": 2}
COARSE_MAX = 4000      # most aggregates the automatic coarse space may have


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


@dataclass
class RunResult:
    converged: bool
    iterations: int
    wall_s: float
    sim_time_s: float
    residuals: dict = field(default_factory=dict)


class Solver:
    """Airflow and heat on one :class:`~kernels.problem.Problem`, on one backend."""

    def __init__(self, problem: Problem, backend="auto", settings: SolverSettings | None = None):
        self.problem = problem
        self.settings = settings or SolverSettings()
        self.backend: Backend = get_backend(backend)
        self.dtype = np.dtype(self.settings.dtype)
        g = problem.grid
        check_fits(g, self.backend, self.dtype.itemsize)
        self._check_problem()
        self._setup_arrays()
        self.set_devices(problem.devices)
        self.steps = 0
        self.time_s = 0.0
        self.ledger_j = 0.0
        self.dt = None
        self._walldist_max_m = None
        cpu = self.backend.name == "numba-cpu"
        self._threads = _cpu_threads(g.cells) if cpu else None
        self._stencil_threads = (_cpu_threads(g.cells, STENCIL_PARALLEL_MIN_CELLS) if cpu
                                 else None)

    # ------------------------------------------------------------------ setup
    def _check_problem(self):
        p = self.problem
        g = p.grid
        fluid = p.fluid_mask
        if not fluid.any():
            raise InputError(f"{p.name}: the grid has no fluid cell")
        taken = {}
        for dev in p.devices:
            for role, port in (("intake", dev.intake), ("exhaust", dev.exhaust)):
                c, axes, sides = port.faces()
                if c.size == 0:
                    continue
                if (c < 0).any() or (c >= np.array(g.shape)).any():
                    raise InputError(f"device {dev.name}: {role} port has cells outside the grid "
                                     f"{g.shape}; move the device inside the hall")
                if not fluid[c[:, 0], c[:, 1], c[:, 2]].all():
                    raise InputError(f"device {dev.name}: {role} port cells must be fluid; "
                                     "something solid stands in front of the face")
                # the face borders the device's solid body, or lies on the domain boundary
                # (a supply or return patch in a wall, the floor or the ceiling)
                body = c.copy()
                rows = np.arange(len(c))
                body[rows, axes] += sides
                n_ax = np.array(g.shape)[axes]
                inside = (body[rows, axes] >= 0) & (body[rows, axes] < n_ax)
                b = body[inside]
                if fluid[b[:, 0], b[:, 1], b[:, 2]].any():
                    raise InputError(f"device {dev.name}: {role} port faces must border the "
                                     "device's solid body or the domain boundary")
                for key in map(tuple, np.column_stack([port.face_index(), axes])):
                    if key in taken:
                        raise InputError(f"device {dev.name}: a {role} face is also a port of "
                                         f"{taken[key]}; devices must not share faces")
                    taken[key] = dev.name
        seen = {}
        for r in p.resistances:
            f = r.faces
            ax = r.axis
            hi = np.array(g.shape)
            hi[ax] += 1
            if (f < 0).any() or (f >= hi).any():
                raise InputError(f"resistance {r.name}: faces outside the grid")
            for key in map(tuple, np.column_stack([f, np.full(len(f), ax)])):
                if key in seen:
                    raise InputError(f"resistance {r.name}: a face is also listed by "
                                     f"{seen[key]}; list each face once (combine the losses)")
                seen[key] = r.name
        for s in p.sources:
            c = s.cells
            if c.size and ((c < 0).any() or (c >= np.array(g.shape)).any()):
                raise InputError(f"heat source {s.name}: cells outside the grid")
        self._check_continuity()

    def _check_continuity(self):
        """Each sealed fluid region must receive as much air from devices as it gives."""
        p = self.problem
        if not p.devices:
            return
        from scipy import ndimage
        labels, nreg = ndimage.label(p.fluid_mask)
        if nreg <= 1:
            return
        net = np.zeros(nreg + 1)
        names = [[] for _ in range(nreg + 1)]
        for dev in p.devices:
            for port, sign in ((dev.intake, -1.0), (dev.exhaust, 1.0)):
                c = port.cells
                lab = labels[c[:, 0], c[:, 1], c[:, 2]]
                frac = port.face_fractions(p.grid.spacing_m)
                share = np.bincount(lab, weights=frac, minlength=nreg + 1)
                for L in np.unique(lab):
                    net[L] += sign * dev.flow_m3_s * share[L]
                    names[L].append(dev.name)
        bad = [L for L in range(1, nreg + 1)
               if abs(net[L]) > 1e-9 + 1e-6 * sum(d.flow_m3_s for d in p.devices)]
        if bad:
            L = bad[0]
            idx = np.argwhere(labels == L)[0]
            x, y, z = (p.grid.origin_m[a] + (idx[a] + 0.5) * p.grid.spacing_m[a] for a in range(3))
            raise InputError(
                f"{p.name}: the flow cannot satisfy continuity: a sealed air region (around "
                f"x={x:.2f} m, y={y:.2f} m, z={z:.2f} m) gets {net[L]:+.3f} m3/s net from "
                f"{', '.join(sorted(set(names[L]))[:4])}; open a path (tiles, gaps) or balance "
                "the flows")

    def _setup_arrays(self):
        be, p, g, dt = self.backend, self.problem, self.problem.grid, self.dtype
        nx, ny, nz = g.shape
        xp = be.xp
        self.solid = be.asarray(cell_codes(p.solid))
        self.u = be.zeros((nx + 1, ny, nz), dt)
        self.v = be.zeros((nx, ny + 1, nz), dt)
        self.w = be.zeros((nx, ny, nz + 1), dt)
        self.us = be.zeros((nx + 1, ny, nz), dt)
        self.vs = be.zeros((nx, ny + 1, nz), dt)
        self.ws = be.zeros((nx, ny, nz + 1), dt)
        T0 = np.full(g.shape, p.initial_temp_c, dtype=dt)
        self.T = be.asarray(T0)
        self.phi = be.zeros(g.shape, dt)
        self.nut = be.zeros(g.shape, dt)
        self.r = be.zeros(g.shape, dt)
        self.pdir = be.zeros(g.shape, dt)
        self.z = be.zeros(g.shape, dt)       # also Ap and the new temperature
        model = p.turbulence.model
        self.model_code = _MODEL_CODE[model]
        if model == "chen-xu":
            self.walldist = be.asarray(_wall_distance(p).astype(dt))
        else:
            self.walldist = be.zeros((1, 1, 1), dt)
        # DCT eigenvalues of the Neumann box Laplacian, separable: three 1D vectors (no
        # per-cell array). With Thomas sweeps along x (CPU kernels that have them) the
        # box solve transforms over y and z only; otherwise a 3D DCT and a division.
        ev = []
        for a in range(3):
            n, d = g.shape[a], g.spacing_m[a]
            lam = (2.0 * np.cos(np.pi * np.arange(n) / n) - 2.0) / (d * d)
            ev.append(lam)
        self._box_x = None
        if hasattr(be.kernels, "box_solve_x") and nx >= 2:
            self._box_x = (ev[1], ev[2], float(g.spacing_m[0]))
        self._box_eig = tuple(be.asarray(e.astype(dt)) for e in ev)
        # coarse correction where walls split the box (raised floor, panels, racks)
        self.coarse = None
        fluid = p.fluid_mask
        block = self.settings.coarse_block
        if block < 0 and not be.is_gpu:
            # measured on 2 CPU cores (kernels/README.md): the coarse solve and transfers
            # cost as much as the CG iterations they save; small hall steady at 0.25 m
            # 30.9 s without, 36.0 s with, at 0.2 m 109.6 s against 112.7 s
            block = 0
        if block and not fluid.all() and g.cells >= 512:
            from .coarse import CoarseSpace, aggregates
            agg = None
            if block < 0:
                # the coarse LU solve runs once per CG iteration on the host: its cost
                # grows faster than the aggregate count (fill-in), so keep that count
                # small (measured on 2 CPU cores: 3.2k aggregates 1 ms a solve, 30k 35 ms)
                for block in (2, 4, 8):
                    agg = aggregates(fluid, block)
                    if int(agg.max()) + 1 <= COARSE_MAX:
                        break
            self.coarse = CoarseSpace(fluid, g.spacing_m, block, agg=agg)
            # the aggregate of every cell (-1 solid), int16 below 32k aggregates: 2 B/cell
            self.agg_flat = be.asarray(np.ascontiguousarray(self.coarse.agg.reshape(-1)))
            self.rc = be.zeros(self.coarse.n_coarse, np.float64)
        # boundary conditions
        fl = p.fluid
        slip = np.zeros(6, np.int32)
        uw = np.zeros((6, 3), dt)
        hk = np.zeros(6, dt)
        tb = np.zeros(6, dt)
        for f, name in enumerate(FACES):
            bc = p.boundaries[name]
            slip[f] = 1 if bc.velocity == "slip" else 0
            uw[f] = bc.wall_velocity_m_s
            d = g.spacing_m[f // 2]
            k_over_rcp = fl.diffusivity_m2_s / (0.5 * d)   # wall-to-centre conductance / (rho cp)
            if bc.thermal == "temperature":
                hk[f] = k_over_rcp
            elif bc.thermal == "convective" and bc.h_w_m2k > 0:
                h = bc.h_w_m2k / fl.rho_cp
                hk[f] = 1.0 / (1.0 / h + 1.0 / k_over_rcp)
            tb[f] = bc.temp_c
        self.bc_slip = be.asarray(slip)
        self.bc_uw = be.asarray(uw)
        self.bc_hk_host = hk
        self.bc_tb_host = tb
        self.bc_hk = be.asarray(hk)
        self.bc_tb = be.asarray(tb)
        # resistances: one face list per axis
        self.res = []
        for ax in range(3):
            rs = [r for r in p.resistances if r.axis == ax]
            if rs:
                faces = np.concatenate([r.faces for r in rs]).astype(np.int64)
                kl = np.concatenate([np.full(len(r.faces), r.k_loss) for r in rs]).astype(dt)
                self.res.append((ax, be.asarray(faces), be.asarray(kl)))
        # sources
        if p.sources:
            cells = np.concatenate([s.cells for s in p.sources]).astype(np.int64)
            rate = np.concatenate([np.full(len(s.cells), s.power_w / len(s.cells))
                                   for s in p.sources if len(s.cells)])
            rate = rate / (fl.rho_cp * g.cell_volume_m3)
            self.src_cell = be.asarray(cells)
            self.src_rate = be.asarray(rate.astype(dt))
            self.source_w = float(sum(s.power_w for s in p.sources if len(s.cells)))
        else:
            self.src_cell = None
            self.source_w = 0.0
        # port faces (all devices): cell, axis, side, device, role, share of the flow
        cells, axes, sides, devs, roles, fracs = [], [], [], [], [], []
        for n, dev in enumerate(p.devices):
            for role, port in ((0, dev.intake), (1, dev.exhaust)):
                c, ax, sd = port.faces()
                cells.append(c)
                axes.append(ax)
                sides.append(sd)
                devs.append(np.full(port.n_faces, n))
                roles.append(np.full(port.n_faces, role))
                fracs.append(port.face_fractions(g.spacing_m))
        if cells:
            self.pf_cell_h = np.concatenate(cells).astype(np.int64)
            self.pf_axis_h = np.concatenate(axes).astype(np.int64)
            self.pf_side_h = np.concatenate(sides).astype(np.int64)
            self.pf_dev_h = np.concatenate(devs).astype(np.int64)
            self.pf_role_h = np.concatenate(roles).astype(np.int64)
            self.pf_frac_h = np.concatenate(fracs).astype(np.float64)
        else:
            self.pf_cell_h = np.zeros((0, 3), np.int64)
            self.pf_axis_h = self.pf_side_h = self.pf_dev_h = self.pf_role_h = np.zeros(0, np.int64)
            self.pf_frac_h = np.zeros(0)
        self.pf_cell = be.asarray(self.pf_cell_h)
        self.pf_dev = be.asarray(self.pf_dev_h)
        self.pf_role = be.asarray(self.pf_role_h)
        ndev = len(p.devices)
        self.n_intake = np.array([d.intake.n_faces for d in p.devices], dtype=np.float64)
        # devices whose intake faces carry unequal shares (ports made of patches): their
        # intake temperature is the flow-weighted mean, gathered on the host
        self.weighted_devs = np.array([n for n, d in enumerate(p.devices)
                                       if not d.intake.uniform], dtype=np.int64)
        wsel = (self.pf_role_h == 0) & np.isin(self.pf_dev_h, self.weighted_devs)
        self.w_cell_h = self.pf_cell_h[wsel]
        self.w_dev_h = self.pf_dev_h[wsel]
        self.w_frac_h = self.pf_frac_h[wsel]
        self.w_idx = tuple(be.asarray(self.w_cell_h[:, a].copy()) for a in range(3))
        self.dev_sum = be.zeros(max(ndev, 1), np.float64)
        self.dev_max = be.zeros(max(ndev, 1), np.float64)
        self.dev_tin = np.full(ndev, p.initial_temp_c)
        self.dev_tin_max = np.full(ndev, p.initial_temp_c)
        self.dev_tout = np.full(ndev, p.initial_temp_c)

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

    def _window_s(self) -> float:
        """Averaging window: the time a jet at the fastest port speed takes to cross the box."""
        g = self.problem.grid
        U = max([float(np.max(self.pf_speed_h))] if len(self.pf_speed_h) else [0.0])
        U = max(U, self._velocity_scale())
        return max(g.size_m) / U

    def solve_steady(self, max_steps=None, progress=None) -> RunResult:
        """Pseudo-time stepping to a steady (or statistically steady) state.

        Two ways to converge:

        * **steady** (problems without devices, such as the verification cavities): the
          RMS velocity residual falls below ``tol_velocity``. With devices the answer is
          judged on what it is for, the intake temperatures, by the rule below: a
          velocity residual says little about them. Measured on the small hall
          (``kernels/README.md``): at 0.2 m the residual plateaus at 2.0-2.5e-3 and dipped
          under the 2e-3 tolerance for 250 steps, where the instantaneous flow was 0.35 K
          from the long-run mean at one rack; at 0.25 m it stayed under the tolerance for
          a whole window while the intake means still drifted by 0.7 K.
        * **statistically steady (record mean)**: room jets often keep oscillating
          slowly, so the solver averages the velocity field over windows of one
          jet-crossing time (largest box side over the fastest port speed). At the end of
          each window the heat equation is solved exactly at the window's mean flow
          (divergence-free, being an average of divergence-free fields), which also
          removes the slow thermal transient of the room from the pseudo-time march. The
          windows from ``min_windows`` on form a record (:class:`FlowRecord`), and the
          answer is the record's mean flow once :func:`record_test` says that mean is known
          to within ``tol_temp_k`` (batch means, after dropping the start-up MSER finds).
          A hall that truly settles passes it ``record_min_windows`` windows after it
          settles. A run that stops at ``max_steps`` without converging also returns the
          record mean, the best estimate it has, flagged not converged.

        Until 2026-12-06 a second rule also stopped a solve when the last three windows lay
        within ``tol_temp_k`` of each other (``window_change_k``, still reported). Near a
        turning point of a swing several windows long, three windows agree by chance: on
        the small hall at 0.25 m it stopped at window 8, 0.69 K from the record mean of an
        18-window solve (and two windows, the rule before 2026-12-05, 0.5 K at 0.2 m).

        The heat equation is then solved exactly at the final flow (``finish_energy``).
        The flow samples and their window and record sums live on the host (float64), so a
        steady solve needs no device memory beyond the step's own arrays
        (``memory.STEADY_HOST_BYTES``).
        """
        s = self.settings
        max_steps = max_steps or s.max_steps
        self.check_steady_state_exists()
        be = self.backend
        t0 = time.perf_counter()
        dt = self.compute_dt()
        prev = [be.to_host(a).copy() for a in (self.u, self.v, self.w)]
        t_prev = self.time_s
        L = min(self.problem.grid.size_m)
        res_u = np.inf
        converged = False
        mode = "steady"
        n = 0
        history = []
        window = self._window_s() if self.devices else np.inf
        w_start = self.time_s
        w_sum = [np.zeros(a.shape) for a in prev]     # flow samples of the current window
        w_n = 0
        record = FlowRecord()                         # windows from min_windows on
        rec = record.test(s.tol_temp_k, s.record_min_windows)
        recent = []                                   # intake means of the last 3 windows
        windows = 0
        max_change = np.inf                           # their range, largest over devices
        while n < max_steps:
            self.step(dt)
            n += 1
            if s.energy_finish_every and n % s.energy_finish_every == 0:
                self.finish_energy()
            if n % s.check_every == 0:
                self._check_finite()
                dt = self.compute_dt()
                U = self._velocity_scale()
                sq = 0.0
                for acc, old, a in zip(w_sum, prev, (self.u, self.v, self.w)):
                    cur = be.to_host(a)
                    acc += cur
                    sq += float(np.sum((cur.astype(np.float64) - old) ** 2))
                    old[...] = cur
                w_n += 1
                nf = sum(a.size for a in prev)
                res_u = self._steady_residual(
                    np.sqrt(sq / nf) / max(self.time_s - t_prev, 1e-30), L, U)
                t_prev = self.time_s
                history.append((n, res_u))
                if self.time_s - w_start >= window and w_n > 0:
                    # the window's mean flow, its exact steady heat field, its intake means;
                    # the instantaneous flow waits in the predictor's buffers meanwhile
                    for tmp, a in zip((self.us, self.vs, self.ws), (self.u, self.v, self.w)):
                        tmp[...] = a
                    self._set_flow([a / w_n for a in w_sum])
                    self.finish_energy(tol_k=self._window_heat_tol_k())
                    means = self.dev_tin.copy()
                    windows += 1
                    recent = (recent + [means])[-3:]
                    if len(recent) == 3:
                        max_change = float(np.max(np.ptp(np.array(recent), axis=0),
                                                  initial=0.0))
                    # the range of the last three windows is reported, but it does not
                    # end a solve: near a turning point of a slow swing three windows
                    # agree by chance (kernels/README.md, "Steady state")
                    if windows >= s.min_windows:
                        record.add(w_sum, w_n, means)
                        rec = record.test(s.tol_temp_k, s.record_min_windows)
                        if rec["converged"]:
                            self._set_flow(record.mean_flow(rec["start"]))
                            converged = True
                            mode = "statistically steady (record mean)"
                    if not converged:
                        for a, tmp in zip((self.u, self.v, self.w), (self.us, self.vs, self.ws)):
                            a[...] = tmp
                    for acc in w_sum:
                        acc[...] = 0.0
                    w_n, w_start = 0, self.time_s
                if progress is not None:
                    progress(n, {"res_velocity": res_u, "time_s": self.time_s, "dt_s": dt,
                                 "cg": self.last_cg, "window_change_k": max_change,
                                 "windows": windows, "record_windows": rec["windows"],
                                 "record_uncertainty_k": rec["uncertainty_k"],
                                 "record_drift_k": rec["drift_k"]})
                if converged:
                    break
                # rule 1 without devices only: with them the intakes decide (the record)
                if not self.devices and n >= s.min_steps and res_u < s.tol_velocity:
                    converged = True
                    break
        if not converged and record.means:
            self._set_flow(record.mean_flow(rec["start"]))    # the best estimate there is
            mode = "not converged (record mean)"
        elif not converged:
            mode = "not converged"
        self.final_projection()
        energy = None
        if s.energy_finish:
            energy = self.finish_energy()
        bud = self.energy_budget()
        ok_energy = abs(bud["imbalance_frac"]) < s.tol_energy
        self._check_finite()
        return RunResult(converged=bool(converged and ok_energy), iterations=n,
                         wall_s=time.perf_counter() - t0, sim_time_s=self.time_s,
                         residuals={"velocity": res_u, "energy_imbalance": bud["imbalance_frac"],
                                    "energy_finish": energy, "history": history,
                                    "mode": mode, "windows": windows,
                                    "window_change_k": max_change,
                                    "record_windows": rec["windows"],
                                    "record_start": rec["start"],
                                    "record_uncertainty_k": rec["uncertainty_k"],
                                    "record_drift_k": rec["drift_k"]})

    def _window_heat_tol_k(self) -> float:
        """Stopping change of a window-end heat solve [K]: a tenth of ``tol_temp_k``, or the
        final solve's own where that is looser. The window means it gives are judged
        against ``tol_temp_k``; the final answer gets the full solve (``finish_energy``'s
        default). Measured 2026-12-06 on the small hall at 0.2 m (8 windows, float32),
        against a solve to 1e-3 K: stopping at 5e-3 K took 9-20 defect-correction
        iterations, intake means within 1.5e-4 K; at 2e-2 K 6-15 iterations, within
        1.1e-3 K (fields within 0.03 K); at 5e-2 K 5-12 iterations, within 2.7e-3 K."""
        return max(self.settings.tol_temp_k / 10.0, self._heat_tol_k())

    def _heat_tol_k(self) -> float:
        """Stopping change of a full heat solve [K] (float32 rounding leaves ~1e-3 K)."""
        return 5e-3 if self.dtype == np.float32 else 1e-8

    @staticmethod
    def _steady_residual(rms_rate_m_s2, length_m, speed_m_s):
        """Rule 1's residual: the RMS velocity change per unit time scaled by ``L / U^2``."""
        return rms_rate_m_s2 * length_m / (speed_m_s * speed_m_s)

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
        """Heat flowing into the air through the domain boundary [W].

        With ``split=True`` returns ``(into_air_w, out_of_air_w)`` summed cell by cell, so
        that a hot wall and a cold wall do not cancel.
        """
        p = self.problem
        g = p.grid
        T = self.backend.to_host(self.T) if T is None else T
        fluid = p.fluid_mask
        q_in = q_out = 0.0
        for f in range(6):
            hk = self.bc_hk_host[f]
            if hk <= 0:
                continue
            ax, hi = f // 2, f % 2
            sl = [slice(None)] * 3
            sl[ax] = -1 if hi else 0
            Tl = T[tuple(sl)].astype(np.float64)
            m = fluid[tuple(sl)]
            q = (self.bc_tb_host[f] - Tl[m]) * hk * g.face_area_m2(ax) * p.fluid.rho_cp
            q_in += float(q[q > 0].sum())
            q_out += float(-q[q < 0].sum())
        if split:
            return q_in, q_out
        return q_in - q_out

    def stored_heat_j(self) -> float:
        """Heat stored in the air relative to 0 degC, rho*cp*V*sum(T) over fluid cells [J]."""
        p = self.problem
        T = self.backend.to_host(self.T).astype(np.float64)
        return float(T[p.fluid_mask].sum()) * p.fluid.rho_cp * p.grid.cell_volume_m3

    def energy_budget(self) -> dict:
        """Heat into and out of the air [W] and the imbalance over the heat input."""
        p = self.problem
        rcp = p.fluid.rho_cp
        rack = sum(rcp * d.flow_m3_s * (self.dev_tout[n] - self.dev_tin[n])
                   for n, d in enumerate(self.devices) if d.kind == "rack")
        cool = sum(rcp * d.flow_m3_s * (self.dev_tin[n] - self.dev_tout[n])
                   for n, d in enumerate(self.devices) if d.kind == "cooler")
        b_in, b_out = self.boundary_heat_w(split=True)
        heat_in = rack + self.source_w + b_in
        heat_out = cool + b_out
        imb = (heat_in - heat_out) / heat_in if heat_in > 0 else 0.0
        return {"rack_heat_w": float(rack), "source_heat_w": self.source_w,
                "cooler_heat_w": float(cool), "boundary_heat_w": float(b_in - b_out),
                "boundary_in_w": b_in, "boundary_out_w": b_out,
                "heat_in_w": float(heat_in), "heat_out_w": float(heat_out),
                "imbalance_w": float(heat_in - heat_out), "imbalance_frac": float(imb)}

    def device_report(self) -> list[dict]:
        """Per device: intake mean and max, outlet, flow and heat (rack adds, cooler removes)."""
        rcp = self.problem.fluid.rho_cp
        out = []
        for n, d in enumerate(self.devices):
            tin, tout = float(self.dev_tin[n]), float(self.dev_tout[n])
            rec = {"name": d.name, "kind": d.kind, "intake_temp_c": tin,
                   "intake_max_c": float(self.dev_tin_max[n]), "exhaust_temp_c": tout,
                   "flow_m3_s": d.flow_m3_s}
            if d.kind == "rack":
                rec["heat_w"] = rcp * d.flow_m3_s * (tout - tin)
            else:
                rec["heat_w"] = rcp * d.flow_m3_s * (tin - tout)
                rec["return_temp_c"] = tin
                rec["supply_temp_c"] = tout
            out.append(rec)
        return out

    def max_divergence(self) -> float:
        """Largest |div u| over fluid cells times the cell size [m/s]."""
        k = self.backend.kernels
        g = self.problem.grid
        T = self.dtype.type
        k.divergence(self.r, self.u, self.v, self.w, self.solid, *(T(d) for d in g.spacing_m))
        return k.max_abs(self.r) * min(g.spacing_m)

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
        """Cell-centred host arrays: temperature, velocity components, speed, pressure."""
        be = self.backend
        u, v, w = (be.to_host(a).astype(np.float32) for a in (self.u, self.v, self.w))
        uc = 0.5 * (u[1:] + u[:-1])
        vc = 0.5 * (v[:, 1:] + v[:, :-1])
        wc = 0.5 * (w[:, :, 1:] + w[:, :, :-1])
        T = be.to_host(self.T).astype(np.float32)
        solid = ~self.problem.fluid_mask
        T = np.where(solid, np.nan, T).astype(np.float32)
        dt = self.dt or 1.0
        p = be.to_host(self.phi).astype(np.float32) * self.problem.fluid.density_kg_m3 / dt
        return {"temp_c": T, "u_m_s": uc, "v_m_s": vc, "w_m_s": wc,
                "speed_m_s": np.sqrt(uc ** 2 + vc ** 2 + wc ** 2),
                "pressure_pa": np.where(solid, np.nan, p).astype(np.float32),
                "flags": self.problem.solid}


def mser_start(means, max_start: int) -> int:
    """Start of the stationary part of a series of window means: the truncation ``d`` (at
    most ``max_start``, at most half the series) that minimises the marginal standard error
    ``sum_i (x_i - mean(x[d:]))^2 / (n - d)^2`` summed over the devices (MSER, White,
    Simulation 69:323, 1997). Windows still carrying the start-up transient inflate the
    spread of what follows them more than they lengthen it, so the rule drops them."""
    K = len(means)
    if K < 3:
        return 0
    m = np.asarray(means, dtype=np.float64).reshape(K, -1)
    best, best_d = np.inf, 0
    for d in range(0, min(max_start, K // 2) + 1):
        x = m[d:]
        n = K - d
        if n < 2:
            break
        stat = float(np.sum((x - x.mean(axis=0)) ** 2)) / (n * n)
        if stat < best * (1 - 1e-12):
            best, best_d = stat, d
    return best_d


def record_test(means, tol_k: float, min_windows: int = 4, max_start: int = 0) -> dict:
    """Is the mean over a record of averaging windows known to within ``tol_k``?

    ``means`` holds one vector per window (the device intake means at that window's mean
    flow). The first ``start`` windows (at most ``max_start``, chosen by
    :func:`mser_start`) are left out as start-up. On the rest this is the method of batch
    means (Law, *Simulation Modeling and Analysis*, 5th ed., 2015, sec. 9.5.3; Schmeiser,
    Oper. Res. 30:556, 1982): each window is one batch, and with ``K`` windows of
    per-device sample standard deviation ``s`` the record mean has a standard error
    ``s / sqrt(K)``. The record mean is accepted when

    * ``K >= min_windows``,
    * twice the standard error (about the 95 % half-width) is below ``tol_k`` for every
      device, and
    * the means of the record's first and second halves differ by less than ``tol_k`` for
      every device: no drift is left from the start-up (the windows would otherwise be
      samples of a moving target, and their scatter would not measure the uncertainty).

    Returns ``start``, ``windows`` (K), ``uncertainty_k`` (largest standard error),
    ``drift_k`` (largest difference of the halves) and ``converged``.
    """
    out = {"start": 0, "windows": len(means), "uncertainty_k": float("inf"),
           "drift_k": float("inf"), "converged": False}
    if len(means) < 2:
        return out
    m = np.asarray(means, dtype=np.float64).reshape(len(means), -1)
    if m.shape[1] == 0:
        return out
    d = mser_start(m, max_start)
    m = m[d:]
    K = len(m)
    se = m.std(axis=0, ddof=1) / np.sqrt(K)
    h = K // 2
    drift = np.abs(m[:h].mean(axis=0) - m[K - h:].mean(axis=0))   # odd K: middle left out
    out.update(start=d, windows=K, uncertainty_k=float(np.max(se)),
               drift_k=float(np.max(drift)))
    out["converged"] = bool(K >= min_windows and 2.0 * out["uncertainty_k"] < tol_k
                            and out["drift_k"] < tol_k)
    return out


class FlowRecord:
    """The record of averaging windows of a statistically steady solve, on the host.

    Each window's intake means are kept; its mean flow goes into one of at most
    ``BATCHES`` float32 batches. When a window would make one batch too many, the two
    adjacent batches with the fewest windows together (the oldest such pair) merge, so
    the batches stay about equal in length and the memory stays bounded (dynamic batch
    means: Yeh & Schmeiser, Proc. Winter Simulation Conf. 2000, 1:592). The start-up that
    :func:`mser_start` finds is dropped in whole batches.
    """

    BATCHES = 8

    def __init__(self):
        self.batches = []       # [mean flow per component (float32), samples, windows]
        self.means = []         # intake means of each window

    def add(self, sums, count, means):
        self.batches.append([[(a / count).astype(np.float32) for a in sums], count, 1])
        self.means.append(means)
        if len(self.batches) > self.BATCHES:
            sizes = [self.batches[i][2] + self.batches[i + 1][2]
                     for i in range(len(self.batches) - 1)]
            i = int(np.argmin(sizes))
            (fa, na, wa), (fb, nb, wb) = self.batches[i], self.batches[i + 1]
            merged = [((na * x.astype(np.float64) + nb * y) / (na + nb)).astype(np.float32)
                      for x, y in zip(fa, fb)]
            self.batches[i:i + 2] = [[merged, na + nb, wa + wb]]

    def start_batch(self, start: int) -> tuple[int, int]:
        """The first batch at or after window ``start``, and the window it begins with."""
        w = 0
        for b, (_, _, nw) in enumerate(self.batches):
            if w >= start:
                return b, w
            w += nw
        return len(self.batches), w

    def test(self, tol_k, min_windows) -> dict:
        K = len(self.means)
        _, start = self.start_batch(mser_start(self.means, K // 2))
        out = record_test(self.means[start:], tol_k, min_windows)
        out["start"] = start
        return out

    def mean_flow(self, start: int):
        """Sample-weighted mean flow of the batches from window ``start`` on (float64)."""
        b0, _ = self.start_batch(start)
        batches = self.batches[b0:] or self.batches[-1:]
        total = [np.zeros(a.shape) for a in batches[0][0]]
        n = 0
        for flows, count, _ in batches:
            for acc, a in zip(total, flows):
                acc += count * a.astype(np.float64)
            n += count
        return [a / n for a in total]


def cell_codes(flags: np.ndarray) -> np.ndarray:
    """The solver's per-cell byte: bit 0 not fluid, bits 2-7 open faces, bit 1 unused.

    Bit ``2 + f`` of a fluid cell, ``f = 2 * axis + side`` (side 1 the upper), says its
    neighbour across face ``f`` is fluid and inside the box (``pointwise.opened``): the
    momentum and temperature updates and the Laplacian read their walls from it instead of
    testing bounds and neighbours. The facility's other flag bits are not needed by the
    kernels and are dropped. (Until 2026-12-06 bit 1 marked *regular* cells, two clear of
    any wall, for fast paths that the branch-free updates replaced.)
    """
    fluid = (np.asarray(flags) & 1) == 0

    def shifted(s, ax):
        """``out[i] = fluid[i + s]`` along ``ax``, False past the box."""
        n = fluid.shape[ax]
        out = np.zeros_like(fluid)
        dst = [slice(None)] * 3
        src = [slice(None)] * 3
        if s > 0:
            dst[ax] = slice(0, max(n - s, 0))
            src[ax] = slice(s, n)
        else:
            dst[ax] = slice(-s, n)
            src[ax] = slice(0, max(n + s, 0))
        out[tuple(dst)] = fluid[tuple(src)]
        return out

    codes = (~fluid).astype(np.uint8)
    for ax in range(3):
        for s in (-1, 1):
            bit = 2 + 2 * ax + (1 if s > 0 else 0)
            codes |= ((fluid & shifted(s, ax)).astype(np.uint8) << bit)
    return codes


def _cpu_threads(cells: int, min_cells: int = PARALLEL_MIN_CELLS) -> int:
    """Threads for the Numba CPU backend: one below ``min_cells`` (~200k cells for the
    light loops, ``STENCIL_PARALLEL_MIN_CELLS`` for the stencil updates), where a parallel
    region's start-up (and any other process on the cores) costs more than the loop; all
    cores above. ``TWIN_CPU_THREADS`` overrides both."""
    import os

    import numba
    env = os.environ.get("TWIN_CPU_THREADS")
    if env:
        return max(1, min(int(env), numba.config.NUMBA_NUM_THREADS))
    return 1 if cells < min_cells else numba.config.NUMBA_NUM_THREADS


def _wall_distance(problem: Problem) -> np.ndarray:
    """Distance from each cell centre to the nearest wall face [m] (solids and box faces)."""
    from scipy import ndimage
    fluid = problem.fluid_mask
    padded = np.pad(fluid, 1, constant_values=False)
    sp = problem.grid.spacing_m
    d = ndimage.distance_transform_edt(padded, sampling=sp)[1:-1, 1:-1, 1:-1]
    d = np.maximum(d - 0.5 * min(sp), 0.5 * min(sp))
    return np.where(fluid, d, 0.0)
