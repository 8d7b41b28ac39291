"""Setting a solver up: the checks of a :class:`~kernels.problem.Problem` before any
array is made, the device arrays (fields, cell codes, port and resistance lists, wall
distance), and the cell codes the kernels read instead of the facility's flags.
"""
from __future__ import annotations

import numpy as np

from common.errors import InputError

from .backend import PARALLEL_MIN_CELLS
from .problem import FACES, KEPS, TURBULENCE_MODELS, Problem

#: Turbulence models as the kernels' integer code.
_MODEL_CODE = {name: n for n, name in enumerate(TURBULENCE_MODELS)}
#: The kernels' code of the k-epsilon model.
KEPS_CODE = _MODEL_CODE["k-epsilon"]
#: Most aggregates the automatic coarse space may have (``kernels/README.md``).
COARSE_MAX = 4000

__all__ = ["COARSE_MAX", "KEPS_CODE", "cell_codes", "ke_coefficients", "wall_codes", "check_problem", "check_continuity", "setup_arrays",
           "cpu_threads", "wall_distance"]


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


def cpu_threads(cells: int, min_cells: int = PARALLEL_MIN_CELLS) -> int:
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


def wall_distance(problem: Problem) -> np.ndarray:
    """Distance from each cell centre to the nearest wall face [m] (solids and box faces)."""
    from scipy import ndimage
    fluid = problem.fluid_mask
    padded = np.pad(fluid, 1, constant_values=False)
    sp = problem.grid.spacing_m
    d = ndimage.distance_transform_edt(padded, sampling=sp)[1:-1, 1:-1, 1:-1]
    d = np.maximum(d - 0.5 * min(sp), 0.5 * min(sp))
    return np.where(fluid, d, 0.0)


def check_problem(solver):
    p = solver.problem
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
    check_continuity(solver)


def check_continuity(solver):
    """Each sealed fluid region must receive as much air from devices as it gives."""
    p = solver.problem
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


def wall_codes(codes: np.ndarray, problem: Problem, pf_cell, pf_axis, pf_side) -> np.ndarray:
    """The no-slip wall faces of every fluid cell, bit ``2 * axis + side`` (side 1 the
    upper), for k-epsilon's wall functions (``pointwise.wall_terms``).

    A face is a wall where the cell code says it is closed (a solid neighbour or the box,
    ``cell_codes``), except a device port face (air crosses it: OpenFOAM's inlet and
    outlet patches have no wall function either) and a slip box face (no shear)."""
    codes = np.asarray(codes)
    fluid = (codes & 1) == 0
    out = np.zeros(codes.shape, np.uint8)
    for f in range(6):
        closed = fluid & (((codes >> (2 + f)) & 1) == 0)
        out |= (closed.astype(np.uint8) << f)
    for f, name in enumerate(FACES):
        if problem.boundaries[name].velocity == "slip":
            edge = [slice(None)] * 3
            edge[f // 2] = -1 if f % 2 else 0
            out[tuple(edge)] &= np.uint8(~(1 << f) & 0xFF)
    if len(pf_cell):
        bit = (2 * np.asarray(pf_axis) + (np.asarray(pf_side) > 0)).astype(np.uint8)
        c = np.asarray(pf_cell)
        np.bitwise_and.at(out, (c[:, 0], c[:, 1], c[:, 2]),
                          (~(np.uint8(1) << bit)).astype(np.uint8))
    return out


def ke_coefficients(problem: Problem, dtype) -> np.ndarray:
    """The k-epsilon kernels' coefficients as one array of the field type, in the order
    the drivers read them: ``nu, 1/sigma_k, 1/sigma_eps, g beta / Pr_t (0 without buoyancy
    production), C1, C2, Cmu, Cmu^1/4, kappa, E, y+_lam, k_min, eps_min``."""
    fl, tu = problem.fluid, problem.turbulence
    gb = fl.gravity_m_s2 * fl.expansion_1_k / tu.prandtl_t if tu.buoyancy_production else 0.0
    c = KEPS
    return np.array([fl.viscosity_m2_s, 1.0 / c["sigma_k"], 1.0 / c["sigma_eps"], gb,
                     c["c1"], c["c2"], c["c_mu"], c["c_mu"] ** 0.25, c["kappa"], c["e_log"],
                     c["yplus_lam"], c["k_min"], c["eps_min"]], dtype=dtype)


def _setup_k_epsilon(solver):
    """k, eps, the wall-side eddy viscosity and the wall bits of the k-epsilon model; with
    another model ``tk`` is None and ``nutw`` is ``nut`` itself."""
    be, p, dt = solver.backend, solver.problem, solver.dtype
    if solver.model_code != KEPS_CODE:
        solver.tk = solver.teps = solver.wallc = None
        solver.nutw = solver.nut
        return
    tu = p.turbulence
    fluid = p.fluid_mask
    solver.tk = be.asarray(np.where(fluid, tu.initial_k_m2_s2, 0.0).astype(dt))
    solver.teps = be.asarray(np.where(fluid, tu.initial_eps_m2_s3, 0.0).astype(dt))
    nut0 = KEPS["c_mu"] * tu.initial_k_m2_s2 ** 2 / tu.initial_eps_m2_s3
    solver.nut = be.asarray(np.where(fluid, nut0, 0.0).astype(dt))
    solver.nutw = be.asarray(np.where(fluid, nut0, 0.0).astype(dt))
    codes = cell_codes(p.solid)
    solver.wallc = be.asarray(wall_codes(codes, p, solver.pf_cell_h, solver.pf_axis_h,
                                         solver.pf_side_h))
    solver.kec = be.asarray(ke_coefficients(p, dt))
    solver.bc_zero = be.zeros(6, dt)


def setup_arrays(solver):
    be, p, g, dt = solver.backend, solver.problem, solver.problem.grid, solver.dtype
    nx, ny, nz = g.shape
    solver.solid = be.asarray(cell_codes(p.solid))
    solver.u = be.zeros((nx + 1, ny, nz), dt)
    solver.v = be.zeros((nx, ny + 1, nz), dt)
    solver.w = be.zeros((nx, ny, nz + 1), dt)
    solver.us = be.zeros((nx + 1, ny, nz), dt)
    solver.vs = be.zeros((nx, ny + 1, nz), dt)
    solver.ws = be.zeros((nx, ny, nz + 1), dt)
    T0 = np.full(g.shape, p.initial_temp_c, dtype=dt)
    solver.T = be.asarray(T0)
    solver.phi = be.zeros(g.shape, dt)
    solver.nut = be.zeros(g.shape, dt)
    solver.r = be.zeros(g.shape, dt)
    solver.pdir = be.zeros(g.shape, dt)
    solver.z = be.zeros(g.shape, dt)       # also Ap and the new temperature
    model = p.turbulence.model
    solver.model_code = _MODEL_CODE[model]
    if model == "chen-xu":
        solver.walldist = be.asarray(wall_distance(p).astype(dt))
    else:
        solver.walldist = be.zeros((1, 1, 1), dt)
    # DCT eigenvalues of the Neumann box Laplacian, separable: three 1D vectors (no
    # per-cell array). With Thomas sweeps along x (CPU kernels that have them) the
    # box solve transforms over y and z only; otherwise a 3D DCT and a division.
    ev = []
    for a in range(3):
        n, d = g.shape[a], g.spacing_m[a]
        lam = (2.0 * np.cos(np.pi * np.arange(n) / n) - 2.0) / (d * d)
        ev.append(lam)
    solver.box_x = None
    if hasattr(be.kernels, "box_solve_x") and nx >= 2:
        solver.box_x = (ev[1], ev[2], float(g.spacing_m[0]))
    solver.box_eig = tuple(be.asarray(e.astype(dt)) for e in ev)
    # coarse correction where walls split the box (raised floor, panels, racks)
    solver.coarse = None
    fluid = p.fluid_mask
    block = solver.settings.coarse_block
    if block < 0 and not be.is_gpu:
        # on the CPU the coarse solve and transfers cost as much as the CG iterations
        # they save (benchmarks/results/kernels-notes.md)
        block = 0
    solver.mg = None
    if solver.settings.pressure_preconditioner == "multigrid":
        from .multigrid import Multigrid
        solver.mg = Multigrid(be, solver.solid, fluid, g.spacing_m, dt)
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
        solver.coarse = CoarseSpace(fluid, g.spacing_m, block, agg=agg)
        # the aggregate of every cell (-1 solid), int16 below 32k aggregates: 2 B/cell
        solver.agg_flat = be.asarray(np.ascontiguousarray(solver.coarse.agg.reshape(-1)))
        solver.rc = be.zeros(solver.coarse.n_coarse, np.float64)
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
    solver.bc_slip = be.asarray(slip)
    solver.bc_uw = be.asarray(uw)
    solver.bc_hk_host = hk
    solver.bc_tb_host = tb
    solver.bc_hk = be.asarray(hk)
    solver.bc_tb = be.asarray(tb)
    # resistances: one face list per axis
    solver.res = []
    for ax in range(3):
        rs = [r for r in p.resistances if r.axis == ax]
        if rs:
            faces = np.concatenate([r.faces for r in rs]).astype(np.int64)
            kl = np.concatenate([np.full(len(r.faces), r.k_loss) for r in rs]).astype(dt)
            solver.res.append((ax, be.asarray(faces), be.asarray(kl)))
    # sources
    if p.sources:
        cells = np.concatenate([s.cells for s in p.sources]).astype(np.int64)
        rate = np.concatenate([np.full(len(s.cells), s.power_w / len(s.cells))
                               for s in p.sources if len(s.cells)])
        rate = rate / (fl.rho_cp * g.cell_volume_m3)
        solver.src_cell = be.asarray(cells)
        solver.src_rate = be.asarray(rate.astype(dt))
        solver.source_w = float(sum(s.power_w for s in p.sources if len(s.cells)))
    else:
        solver.src_cell = None
        solver.source_w = 0.0
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
        solver.pf_cell_h = np.concatenate(cells).astype(np.int64)
        solver.pf_axis_h = np.concatenate(axes).astype(np.int64)
        solver.pf_side_h = np.concatenate(sides).astype(np.int64)
        solver.pf_dev_h = np.concatenate(devs).astype(np.int64)
        solver.pf_role_h = np.concatenate(roles).astype(np.int64)
        solver.pf_frac_h = np.concatenate(fracs).astype(np.float64)
    else:
        solver.pf_cell_h = np.zeros((0, 3), np.int64)
        solver.pf_axis_h = solver.pf_side_h = solver.pf_dev_h = solver.pf_role_h = np.zeros(0, np.int64)
        solver.pf_frac_h = np.zeros(0)
    solver.pf_cell = be.asarray(solver.pf_cell_h)
    solver.pf_dev = be.asarray(solver.pf_dev_h)
    solver.pf_role = be.asarray(solver.pf_role_h)
    ndev = len(p.devices)
    solver.n_intake = np.array([d.intake.n_faces for d in p.devices], dtype=np.float64)
    # devices whose intake faces carry unequal shares (ports made of patches): their
    # intake temperature is the flow-weighted mean, gathered on the host
    solver.weighted_devs = np.array([n for n, d in enumerate(p.devices)
                                   if not d.intake.uniform], dtype=np.int64)
    wsel = (solver.pf_role_h == 0) & np.isin(solver.pf_dev_h, solver.weighted_devs)
    solver.w_cell_h = solver.pf_cell_h[wsel]
    solver.w_dev_h = solver.pf_dev_h[wsel]
    solver.w_frac_h = solver.pf_frac_h[wsel]
    solver.w_idx = tuple(be.asarray(solver.w_cell_h[:, a].copy()) for a in range(3))
    solver.dev_sum = be.zeros(max(ndev, 1), np.float64)
    solver.dev_max = be.zeros(max(ndev, 1), np.float64)
    solver.dev_tin = np.full(ndev, p.initial_temp_c)
    solver.dev_tin_max = np.full(ndev, p.initial_temp_c)
    solver.dev_tout = np.full(ndev, p.initial_temp_c)
    _setup_k_epsilon(solver)


def set_devices(solver, devices) -> None:
    """New flows, heats and supply temperatures for the same ports (same order): the port
    rates of the heat equation and the prescribed velocities on the port faces (an intake
    draws air out of its fluid cell, an exhaust blows it in)."""
    devices = tuple(devices)
    p = solver.problem
    if len(devices) != len(p.devices):
        raise InputError(f"{p.name}: expected {len(p.devices)} devices, got {len(devices)}")
    for old, new in zip(p.devices, devices):
        if old.intake is not new.intake and not (
                np.array_equal(old.intake.cells, new.intake.cells)
                and np.array_equal(old.exhaust.cells, new.exhaust.cells)):
            raise InputError(f"device {new.name}: ports changed; build a new solver")
    solver.devices = devices
    g, be, dt = p.grid, solver.backend, solver.dtype
    speeds = np.zeros(len(solver.pf_cell_h))
    area = np.array([g.face_area_m2(a) for a in range(3)])
    for n, dev in enumerate(devices):
        for role, port in ((0, dev.intake), (1, dev.exhaust)):
            m = (solver.pf_dev_h == n) & (solver.pf_role_h == role)
            if port.uniform:
                speeds[m] = dev.flow_m3_s / (port.n_faces * g.face_area_m2(port.axis))
            else:       # each face its share of the flow over its own area
                speeds[m] = dev.flow_m3_s * solver.pf_frac_h[m] / area[solver.pf_axis_h[m]]
    solver.pf_speed_h = speeds
    if solver.model_code == KEPS_CODE:
        # what each device's outflow brings in: k and eps of its mean exhaust speed
        ex = np.zeros(len(devices))
        for n, dev in enumerate(devices):
            area = sum(g.face_area_m2(int(a)) for a in dev.exhaust.axes)
            ex[n] = dev.flow_m3_s / area if area > 0 else 0.0
        k_in, e_in = p.turbulence.inlet_k_eps(ex)
        solver.dev_k_in = be.asarray(k_in.astype(dt))
        solver.dev_eps_in = be.asarray(e_in.astype(dt))
    d_axis = np.array(g.spacing_m)[solver.pf_axis_h] if len(speeds) else np.zeros(0)
    solver.pf_rate = be.asarray((speeds / np.where(d_axis > 0, d_axis, 1.0)).astype(dt))
    vel = [be.to_host(a).copy() for a in (solver.u, solver.v, solver.w)]
    for n in range(len(speeds)):
        ax = solver.pf_axis_h[n]
        f = solver.pf_cell_h[n].copy()
        s = solver.pf_side_h[n]
        if s > 0:
            f[ax] += 1
        sign = s if solver.pf_role_h[n] == 0 else -s
        vel[ax][f[0], f[1], f[2]] = sign * speeds[n]
    solver.u, solver.v, solver.w = (be.asarray(a.astype(dt)) for a in vel)
    for a, b in ((solver.us, solver.u), (solver.vs, solver.v), (solver.ws, solver.w)):
        a[...] = b
    solver.problem = p.with_devices(devices)
