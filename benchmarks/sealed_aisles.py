"""``python -m benchmarks.sealed_aisles``: the steady flow of a hall with sealed contained
aisles, its cooling units at their design airflow and matched to their aisles' racks
(``twin solve --units design|matched``, :func:`twin.thermal.aisles.match_sealed_aisles`).

For each sealed aisle: its racks' and units' airflow (the difference passes the doors'
leaks); for each case, after a capped flow and heat solve from rest (the racks as
meshed, ``kernels.solver.Solver`` with ``max_steps``): the steps, wall time, the mean and
least pressure in each aisle against the mean of the rest of the hall, the pressure range
over the hall and the largest rack intake. A solve that diverges is reported as such.
Options: ``--facility`` (``meshes/ai-hall.toml``), ``--cell`` (0.3 m), ``--steps``
(matched; 1500), ``--design-steps`` (1000: at design the pressure solve is slow).
Prints one line per aisle and per case; the dated results go by hand into
``benchmarks/results/sealed-aisles-*.md``.
"""
from __future__ import annotations

import os
import time

import numpy as np

from benchmarks.report import benchmark_parser


def aisle_masks(facility, hall: str, grid) -> list[tuple[str, np.ndarray]]:
    """Cells of each contained aisle with doors (between its doors, below its roof)."""
    panels = {pn.name: pn.box for pn in facility.layout(hall).panels}
    h = np.asarray(grid.spacing_m, float)
    centres = [grid.origin_m[a] + (np.arange(grid.shape[a]) + 0.5) * h[a] for a in range(3)]
    x, y, z = np.meshgrid(*centres, indexing="ij")
    out = []
    for ct in facility.hall(hall).containment:
        a, b = panels.get(f"{hall}/{ct.name}/door-start"), panels.get(f"{hall}/{ct.name}/door-end")
        if a is None or b is None:
            continue
        lo = (min(a.x0, b.x0), min(a.y0, b.y0))
        hi = (max(a.x1, b.x1), max(a.y1, b.y1), max(a.z1, b.z1))
        out.append((ct.name, (x > lo[0]) & (x < hi[0]) & (y > lo[1]) & (y < hi[1])
                    & (z < hi[2] - 0.5 * h[2])))
    return out


def solve_case(problem, steps: int, masks) -> dict:
    """Solve ``problem`` for at most ``steps`` pseudo-time steps; the pressures."""
    from common.errors import DivergenceError
    from kernels.solver import Solver, SolverSettings
    t0 = time.perf_counter()
    solver = Solver(problem, backend="cpu", settings=SolverSettings(max_steps=steps))
    try:
        run = solver.solve_steady()
    except DivergenceError as exc:
        return {"diverged": str(exc).splitlines()[0], "wall_s": time.perf_counter() - t0}
    p = solver.fields()["pressure_pa"].astype(float)
    room = ~np.isnan(p)
    for _, m in masks:
        room &= ~m
    ref = float(np.nanmean(p[room]))
    racks = [i for i, d in enumerate(problem.devices) if d.kind == "rack"]
    return {"steps": int(run.iterations), "converged": bool(run.converged),
            "wall_s": time.perf_counter() - t0,
            "aisles_pa": {n: (float(np.nanmean(p[m])) - ref, float(np.nanmin(p[m])) - ref)
                          for n, m in masks},
            "range_pa": float(np.nanmax(p) - np.nanmin(p)),
            "max_intake_c": float(max(solver.dev_tin[i] for i in racks))}


def main(argv=None) -> int:
    from twin.facility import load_facility
    from twin.thermal.aisles import match_sealed_aisles
    from twin.thermal.mesh import mesh_hall
    ap = benchmark_parser("sealed_aisles", __doc__, "ai-hall.toml")
    ap.add_argument("--cell", type=float, default=0.3)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--design-steps", type=int, default=1000)
    a = ap.parse_args(argv)
    if a.steps < 1 or a.design_steps < 1:
        ap.error("--steps and --design-steps: at least 1")
    fac = load_facility(a.facility)
    problem, report = mesh_hall(fac, None, cell_m=a.cell, utilization=1.0, backend="cpu")
    matched, aisles = match_sealed_aisles(problem, fac, report.hall)
    print(f"{report.hall} at {a.cell:g} m: {problem.grid.cells} cells, {len(aisles)} sealed "
          f"aisle(s); load average {os.getloadavg()[0]:.1f}")
    for x in aisles:
        print(f"  {len(x['racks'])} racks {x['racks_airflow_m3_s']:.2f} m3/s; {len(x['units'])} units "
              f"{x['units_design_airflow_m3_s']:.2f} m3/s at design, {x['units_airflow_m3_s']:.2f} "
              f"matched ({x['speed_frac']:.0%}); at design "
              f"{x['units_design_airflow_m3_s'] - x['racks_airflow_m3_s']:+.2f} m3/s through the doors")
    masks = aisle_masks(fac, report.hall, problem.grid)
    for label, pr, steps in (("matched", matched, a.steps), ("design", problem, a.design_steps)):
        r = solve_case(pr, steps, masks)
        if "diverged" in r:
            print(f"{label}: {r['diverged']} ({r['wall_s']:.0f} s)")
            continue
        ais = ", ".join(f"{n} {m:+.1f} Pa (least {lo:+.1f})" for n, (m, lo) in r["aisles_pa"].items())
        print(f"{label}: {r['steps']} steps, converged {r['converged']}, {r['wall_s']:.0f} s "
              f"(load {os.getloadavg()[0]:.1f}); aisle pressure against the room: {ais}; hall "
              f"range {r['range_pa']:.0f} Pa; largest rack intake {r['max_intake_c']:.2f} degC")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
