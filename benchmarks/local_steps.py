"""``python -m benchmarks.local_steps``: a steady solve with one global pseudo-time step
against local time steps (``SolverSettings.local_steps``, ``kernels/local_steps.py``), A/B
in one run, on the shipped halls.

Per hall (``meshes/<hall>.toml`` at ``--cell`` m), on ``--backend`` (the Numba CPU one by
default) in float32 (the solver's type), the steady solve of ``Solver.solve_steady`` from rest, first with the
global step (``local_steps = 0``), then with ``--ratio``; for each: the iterations (the
hardware-independent figure), whether the record test accepted the answer, the process
CPU time and wall time, the heat balance, and every rack's intake mean; then the largest
difference of the two answers at any rack. Each solve stops where its own record test
accepts its mean to ``tol_temp_k`` (0.2 K), so the two answers may differ by about that.

Times depend on the machine and its load, which the output states (``os.getloadavg``
before and after). Output: ``<out>/local-steps-<date>.json`` and ``.md``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # before Numba starts OpenMP

import time  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.report import (benchmark_parser, hall_arguments, hall_benchmark_start,  # noqa: E402
                               hall_meta, hall_problem, hall_stem, write_hall_benchmark)


def solve(problem, ratio: float, backend: str = "numba-cpu", max_steps: int = 20000) -> dict:
    """One steady solve from rest; iterations, CPU and wall time, rack intakes."""
    from kernels.solver import Solver, SolverSettings
    s = Solver(problem, backend, SolverSettings(local_steps=ratio, max_steps=max_steps))
    c0, t0 = time.process_time(), time.perf_counter()
    run = s.solve_steady()
    rec = {"local_steps": ratio, "iterations": int(run.iterations),
           "converged": bool(run.converged), "mode": run.residuals["mode"],
           "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - t0,
           "energy_imbalance": float(run.residuals["energy_imbalance"]),
           "record_uncertainty_k": float(run.residuals["record_uncertainty_k"]),
           "intake_c": {d.name: float(t) for d, t in zip(problem.devices, s.dev_tin)
                        if d.kind == "rack"}}
    print(f"  local_steps {ratio:g}: {rec['iterations']} iterations, {rec['mode']}, "
          f"{rec['cpu_s']:.0f} s CPU", flush=True)
    return rec


def main(argv=None) -> int:
    ap = benchmark_parser("local_steps", __doc__)
    hall_arguments(ap, "small-hall,ai-hall")
    ap.add_argument("--ratio", type=float, default=20.0)
    ap.add_argument("--max-steps", type=int, default=20000)
    a, be, load0, halls = hall_benchmark_start(ap, argv)
    records = []
    for hall in halls:
        problem = hall_problem(hall, a.cell)
        print(f"{hall} at {a.cell} m: {problem.grid.cells} cells", flush=True)
        solve(problem, a.ratio, a.backend, max_steps=60)   # compile before timing
        glob = solve(problem, 0.0, a.backend, max_steps=a.max_steps)
        loc = solve(problem, a.ratio, a.backend, max_steps=a.max_steps)
        diff = {n: loc["intake_c"][n] - glob["intake_c"][n] for n in glob["intake_c"]}
        worst = max(diff, key=lambda n: abs(diff[n]))
        records.append({"hall": hall, "cell_m": a.cell, "cells": int(problem.grid.cells),
                        "global": glob, "local": loc,
                        "iteration_ratio": glob["iterations"] / loc["iterations"],
                        "cpu_ratio": glob["cpu_s"] / loc["cpu_s"],
                        "max_difference_k": float(diff[worst]), "worst_rack": worst,
                        "rms_difference_k": float(np.sqrt(np.mean(np.square(
                            list(diff.values())))))})
    meta = hall_meta("dc-twin-benchmarks-local-steps/1", be, load0, ratio=a.ratio)
    date, load1 = meta["date"], meta["load_after"]
    stem = hall_stem(a, be, "local-steps", date)
    lines = [f"# Local time steps against one global step, {date}", "",
             f"{be.device}, float32, load average {load0[0]:.2f} before, {load1[0]:.2f} "
             f"after; steady solves from rest, global step then local steps up to "
             f"{a.ratio:g}x (`python -m benchmarks.local_steps`). Iterations are "
             "hardware-independent; CPU times are process times on a shared machine.", "",
             "| hall | cells | iterations global | iterations local | ratio | CPU global s"
             " | CPU local s | CPU ratio | both accepted | RMS diff K | worst diff K |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        g, lo = r["global"], r["local"]
        lines.append(
            f"| {r['hall']} @ {r['cell_m']} m | {r['cells']} | {g['iterations']} | "
            f"{lo['iterations']} | {r['iteration_ratio']:.2f} | {g['cpu_s']:.0f} | "
            f"{lo['cpu_s']:.0f} | {r['cpu_ratio']:.2f} | "
            f"{'yes' if g['converged'] and lo['converged'] else 'no'} | "
            f"{r['rms_difference_k']:.2f} | {r['max_difference_k']:+.2f} ({r['worst_rack']}) |")
    write_hall_benchmark(a.out, stem, meta, records, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
