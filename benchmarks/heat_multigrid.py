"""The steady heat solve's preconditioner, Jacobi against the aggregation multigrid: an
A/B in one process.

``python -m benchmarks.heat_multigrid [--facility meshes/small-hall.toml] [--cell 0.2]
[--steps 2000] [--repeats 2] [--backend numba-cpu]`` meshes the hall, marches ``--steps`` pseudo-steps to a
developed flow, and from that one state:

* solves one defect-correction system ``J x = b`` (the first of a heat finish) by
  BiCGSTAB to 1e-2 (``energy.INNER_RTOL``), 1e-4 and 1e-6 with each preconditioner:
  iterations (hardware-independent) and seconds, with the multigrid's set-up and levels;
* the multigrid cycle alone as a stationary iteration: the residual's ratio per cycle;
* the whole heat finish (``Solver.finish_energy``) with each, ``--repeats`` times
  alternating: seconds, outer iterations, the heat balance, and the largest difference
  of the two temperature fields.

With ``--steady`` instead: a whole steady solve (``Solver.solve_steady``) from rest with
each preconditioner: steps, wall and CPU seconds, the time spent in heat finishes (one at
every averaging window and the final one), and the largest difference of the intakes.

Prints a Markdown report (machine and load included); nothing is asserted.
"""
from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np


def _problem(facility, cell_m):
    from twin.thermal.mesh import mesh_hall
    p = mesh_hall(facility, cell_m=cell_m)
    return p[0] if isinstance(p, tuple) else p


def _system(solver):
    """The first defect-correction system of a heat finish at the solver's state."""
    from kernels import energy, stages
    T = solver.backend.to_host(solver.T).astype(np.float64)
    J, _, fluid = energy._jacobian(solver, T)
    solver.device_temperatures()
    stages.advance_temperature(solver, 1.0)
    R = solver.backend.to_host(solver.T).astype(np.float64) - T
    solver.T = solver.backend.asarray(T.astype(solver.dtype))
    b = np.concatenate([-R[fluid], np.zeros(len(solver.devices))])
    return J, fluid, b


def _counted(M):
    calls = []

    def pc(r):
        calls.append(1)
        return M(r) if callable(M) else M * r
    return pc, calls


def _steady_ab(problem, a) -> str:
    """Whole steady solves with each preconditioner, the heat finishes timed inside."""
    from kernels.solver import Solver, SolverSettings
    load0 = os.getloadavg()
    out = [f"# Steady solves by heat preconditioner: {Path(a.facility).stem} at {a.cell:g} m",
           "", f"Machine: {platform.node()}, {os.cpu_count()} logical CPUs, {a.backend}; load "
           f"{' '.join(f'{x:.2f}' for x in load0)} at the start. Grid {problem.grid.shape}.", "",
           "| preconditioner | steps | converged | wall s | CPU s | heat finishes | their s |",
           "|---|---|---|---|---|---|---|"]
    intakes = {}
    for pc in ("jacobi", "multigrid"):
        s = Solver(problem, backend=a.backend, settings=SolverSettings(heat_preconditioner=pc))
        spent = [0.0, 0]
        finish = s.finish_energy

        def timed(*args, finish=finish, spent=spent, **kw):
            t = time.perf_counter()
            info = finish(*args, **kw)
            spent[0] += time.perf_counter() - t
            spent[1] += 1
            return info
        s.finish_energy = timed
        t0, c0 = time.perf_counter(), time.process_time()
        run = s.solve_steady()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        intakes[pc] = np.array(s.dev_tin, float)
        out.append(f"| {pc} | {run.iterations} | {run.converged} | {wall:.1f} | {cpu:.1f} | "
                   f"{spent[1]} | {spent[0]:.1f} ({100 * spent[0] / wall:.0f} % of wall) |")
    diff = float(np.max(np.abs(intakes["multigrid"] - intakes["jacobi"])))
    out += ["", f"Largest difference of the device intake means: {diff:.1e} K. Load at the "
            f"end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}."]
    return "\n".join(out)


def main(argv=None) -> int:
    from benchmarks.report import benchmark_parser
    from kernels import energy
    from kernels.heat_multigrid import AggregationMultigrid
    from kernels.solver import Solver, SolverSettings
    ap = benchmark_parser("heat_multigrid", __doc__, "small-hall.toml")
    ap.add_argument("--cell", type=float, default=0.2, help="cell size [m]")
    ap.add_argument("--steps", type=int, default=2000, help="pseudo-steps before the A/B")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--backend", default="numba-cpu", help="a backend name (twin backends)")
    ap.add_argument("--steady", action="store_true",
                    help="A/B whole steady solves instead (--steps and --repeats unused)")
    a = ap.parse_args(argv)
    problem = _problem(a.facility, a.cell)
    if a.steady:
        print(_steady_ab(problem, a))
        return 0
    load0 = os.getloadavg()
    s = Solver(problem, backend=a.backend)
    be = s.backend
    gpu = be.is_gpu
    t0 = time.perf_counter()
    for _ in range(a.steps):
        s.step()
    march_s = time.perf_counter() - t0
    state = s.get_state()
    J, fluid, b = _system(s)
    ndev = len(s.devices)
    d = J.diagonal()
    t0 = time.perf_counter()
    mg = AggregationMultigrid(J, fluid, problem.grid.spacing_m, ndev, be if gpu else None)
    setup_s = time.perf_counter() - t0
    xp = be.xp if gpu else np
    A = be.sparse(J) if gpu else J
    b_dev = be.asarray(b) if gpu else b
    out = [f"# The steady heat solve's preconditioner: {Path(a.facility).stem} at {a.cell:g} m",
           "",
           f"Machine: {platform.node()}, {os.cpu_count()} logical CPUs, {be.name}; load "
           f"{' '.join(f'{x:.2f}' for x in load0)} at the start. Grid {problem.grid.shape}, "
           f"{J.shape[0]:,} unknowns ({ndev} device outlets); the flow after {a.steps} "
           f"pseudo-steps ({march_s:.0f} s).",
           "",
           f"Multigrid levels (unknowns): {', '.join(f'{n:,}' for n in mg.sizes)}; set-up "
           f"{setup_s:.3f} s.",
           "",
           "## One system, BiCGSTAB",
           "",
           "| preconditioner | rtol | iterations | s | relative residual |",
           "|---|---|---|---|---|"]
    inv_d = be.asarray(1.0 / d) if gpu else 1.0 / d
    for name, M in (("Jacobi", inv_d), ("multigrid V(2,2)", mg)):
        for rtol in (1e-2, 1e-4, 1e-6):
            pc, calls = _counted(M)
            t0 = time.perf_counter()
            x, info = energy.bicgstab(A, b_dev, pc, xp, rtol, maxiter=5000)
            be.synchronize()
            dt = time.perf_counter() - t0
            x = be.to_host(x) if gpu else x
            res = np.linalg.norm(J @ x - b) / np.linalg.norm(b)
            out.append(f"| {name} | {rtol:g} | {len(calls) // 2}{'' if info == 0 else ' (not converged)'} "
                       f"| {dt:.3f} | {res:.1e} |")
    x = np.zeros_like(b)
    r = b.copy()
    norms = [np.linalg.norm(r)]
    for _ in range(10):
        x = x + (be.to_host(mg(be.asarray(r))) if gpu else mg(r))
        r = b - J @ x
        norms.append(np.linalg.norm(r))
    ratios = [norms[k + 1] / norms[k] for k in range(len(norms) - 1)]
    out += ["", "The V-cycle alone (stationary), residual ratio per cycle: "
            + ", ".join(f"{q:.2f}" for q in ratios), "",
            "## The heat finish (`Solver.finish_energy`)", "",
            "| repeat | preconditioner | s | outer iterations | last change K | imbalance |",
            "|---|---|---|---|---|---|"]
    fields = {}
    for rep in range(a.repeats):
        for pc in ("jacobi", "multigrid"):
            sv = Solver(problem, backend=a.backend,
                        settings=SolverSettings(heat_preconditioner=pc))
            sv.set_state(state)
            t0 = time.perf_counter()
            info = sv.finish_energy()
            be.synchronize()
            dt = time.perf_counter() - t0
            fields[pc] = sv.backend.to_host(sv.T).astype(np.float64)
            out.append(f"| {rep + 1} | {pc} | {dt:.2f} | {info['iterations']} | "
                       f"{info['last_change_k']:.2e} | {info['imbalance_frac']:.1e} |")
    diff = float(np.max(np.abs(fields["multigrid"] - fields["jacobi"])[problem.fluid_mask]))
    out += ["", f"Largest difference of the two finished fields: {diff:.2e} K. Load at the "
            f"end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}."]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
