"""``python -m benchmarks.pressure``: the pressure preconditioners side by side (A/B in one
run), the DCT box solve (``"box"``) against geometric multigrid (``"multigrid"``,
``kernels.multigrid``), on the shipped halls.

Per hall (``meshes/<hall>.toml`` at ``--cell`` m) and preconditioner, on the Numba CPU
backend in float32 (the solver's type):

* **the march**: the solver from rest, ``--steps`` steps of the steady drive's step, the
  two preconditioners in turn (A, B, A, B: ``--rounds`` rounds, each from the same rest
  state), with the CG iterations per projection and the wall time of the projection
  stage and of the whole step (medians over the rounds);
* **the V-cycle**: its levels, and its convergence factor per cycle and per CG iteration
  on a smooth right side of the hall's pressure equation (float64; hardware-independent).

Iteration counts are hardware-independent; times depend on the machine and its load,
which the output states (``os.getloadavg`` before and after). Output:
``<out>/pressure-<date>.json`` and ``.md``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # before Numba starts OpenMP

import time  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.report import (benchmark_parser, hall_arguments, hall_benchmark_start,  # noqa: E402
                               hall_meta, hall_problem, hall_stem, write_hall_benchmark)

PRECONDITIONERS = ("box", "multigrid")


def march(problem, preconditioner: str, steps: int, backend: str = "numba-cpu") -> dict:
    """``steps`` solver steps from rest; CG iterations and stage times (on a GPU backend
    the device is synchronised around each timed stage)."""
    from kernels import stages
    from kernels.solver import Solver, SolverSettings
    s = Solver(problem, backend, SolverSettings(pressure_preconditioner=preconditioner))
    sync = getattr(s.backend, "synchronize", None) or (lambda: None)
    its, t_proj, t_step = [], [], []
    for _ in range(steps):
        dt = s.compute_dt()
        s.div_tol = (s.settings.pressure_tol * stages.velocity_scale(s)
                     / min(problem.grid.size_m))
        sync()
        t0 = time.perf_counter()
        for stage in stages.STEP:
            if stage is stages.project:
                sync()
                tp = time.perf_counter()
                stage(s, dt)
                sync()
                t_proj.append(time.perf_counter() - tp)
                its.append(s.last_cg[0])
            else:
                stage(s, dt)
        sync()
        s.steps += 1
        s.time_s += dt
        t_step.append(time.perf_counter() - t0)
    return {"cg_iterations_mean": float(np.mean(its)), "cg_iterations_max": int(max(its)),
            "projection_s_median": float(np.median(t_proj)),
            "step_s_median": float(np.median(t_step)),
            "max_divergence_1_s": float(s.max_divergence())}


def cycle_factors(problem) -> dict:
    """The V-cycle's convergence factor, alone and in CG, on a smooth right side."""
    import scipy.ndimage as ndi

    from kernels import cpu
    from kernels import multigrid as mg
    from kernels.backend import get_backend
    from kernels.setup import cell_codes
    fluid = problem.fluid_mask
    b = ndi.gaussian_filter(np.random.default_rng(0).standard_normal(fluid.shape), 2.0) * fluid
    label, n = ndi.label(fluid)
    for c in range(1, n + 1):
        b[label == c] -= b[label == c].mean()
    codes = cell_codes(problem.solid)
    m = mg.Multigrid(get_backend("numba-cpu"), codes, fluid, problem.grid.spacing_m,
                     np.float64)

    def A(x):
        out = np.zeros_like(x)
        cpu.laplacian(out, x, codes, *problem.grid.spacing_m)
        return out

    x, z = np.zeros_like(b), np.zeros_like(b)
    res = [np.linalg.norm(b)]
    for _ in range(6):
        m.apply(b - A(x), z)
        x += z
        res.append(np.linalg.norm(b - A(x)))
    v = (res[-1] / res[2]) ** (1 / (len(res) - 3))
    # CG
    x, r = np.zeros_like(b), b.copy()
    m.apply(r, z)
    p = z.copy()
    rz = np.vdot(r, z)
    it = 0
    while np.linalg.norm(r) > 1e-8 * res[0] and it < 200:
        it += 1
        ap = A(p)
        a = rz / np.vdot(p, ap)
        x += a * p
        r -= a * ap
        m.apply(r, z)
        rzn = np.vdot(r, z)
        p = z + rzn / rz * p
        rz = rzn
    return {"levels": [list(s) for s in m.shapes], "v_cycle_factor": float(v),
            "cg_iterations_to_1e-8": it, "cg_factor": float(1e-8 ** (1 / max(it, 1)))}


def main(argv=None) -> int:
    ap = benchmark_parser("pressure", __doc__)
    hall_arguments(ap, "small-hall,ai-hall,legacy-hall")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=2)
    a, be, load0, halls = hall_benchmark_start(ap, argv)
    records = []
    for hall in halls:
        problem = hall_problem(hall, a.cell)
        # compile and warm both first
        for pc in PRECONDITIONERS:
            march(problem, pc, 3, a.backend)
        runs = {pc: [] for pc in PRECONDITIONERS}
        for _ in range(a.rounds):
            for pc in PRECONDITIONERS:
                runs[pc].append(march(problem, pc, a.steps, a.backend))
                print(f"{hall} {pc}: {runs[pc][-1]}", flush=True)
        rec = {"hall": hall, "cell_m": a.cell, "cells": int(problem.grid.cells),
               "fluid_cells": int(problem.fluid_mask.sum()), "steps": a.steps,
               "cycle": cycle_factors(problem)}
        for pc in PRECONDITIONERS:
            rec[pc] = {k: float(np.median([r[k] for r in runs[pc]])) for k in runs[pc][0]}
        rec["projection_speedup"] = (rec["box"]["projection_s_median"]
                                     / rec["multigrid"]["projection_s_median"])
        rec["step_speedup"] = rec["box"]["step_s_median"] / rec["multigrid"]["step_s_median"]
        records.append(rec)
    meta = hall_meta("dc-twin-benchmarks-pressure/1", be, load0)
    date, load1 = meta["date"], meta["load_after"]
    stem = hall_stem(a, be, "pressure", date)
    lines = [f"# Pressure preconditioners, {date}", "",
             f"{be.device}, float32, load average {load0[0]:.2f} before, {load1[0]:.2f} "
             f"after; {a.steps} steps from rest per run, medians of {a.rounds} A/B rounds "
             "(`python -m benchmarks.pressure`).", "",
             "| hall | cells | CG its box | CG its MG | projection box ms | projection MG ms"
             " | projection ratio | step ratio | MG levels | V factor | MG-CG factor |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        c = r["cycle"]
        lines.append(
            f"| {r['hall']} @ {r['cell_m']} m | {r['cells']} | "
            f"{r['box']['cg_iterations_mean']:.1f} | {r['multigrid']['cg_iterations_mean']:.1f} | "
            f"{1e3 * r['box']['projection_s_median']:.1f} | "
            f"{1e3 * r['multigrid']['projection_s_median']:.1f} | "
            f"{r['projection_speedup']:.2f} | {r['step_speedup']:.2f} | "
            f"{' > '.join('x'.join(map(str, s)) for s in c['levels'])} | "
            f"{c['v_cycle_factor']:.3f} | {c['cg_factor']:.3f} |")
    write_hall_benchmark(a.out, stem, meta, records, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
