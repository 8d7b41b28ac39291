"""``python -m benchmarks.steady_stop``: where a steady solve stops, the record test against
the settled-flow rule (``kernels.steady.settled_flow``), A/B in one run, on the
cross-check halls.

Per case of the cross-check (``benchmarks/validation``; the problem its twin answer
solves, at the case's cell), on ``--backend`` (the Numba CPU one by default) in float32,
three steady solves from rest, all with local steps (``--ratio``, 20) and the heat solved
exactly every ``LOCAL_STEPS_HEAT_EVERY`` (50) iterations, as ``twin solve
--local-steps`` runs them: (A) the record test alone (``settle_velocity = 0``), (B) with
the settled-flow rule, (C) the same after a coarse start at twice the cell (grid
sequencing, ``Solver.start_from``; its coarse iterations counted apart). For each: the
iterations (the hardware-independent figure), how it ended, the process CPU time, and
the rack intakes, compared with (A)'s and with the stored twin answer of the case
(``benchmarks/validation/results/<case>-twin.json``, the record mean of a global-step
solve).

CPU times depend on the machine and its load, which the output states. Output:
``<out>/steady-stop-<date>.json`` and ``.md``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # before Numba starts OpenMP

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.report import REPO, benchmark_parser, hall_meta, write_hall_benchmark  # noqa: E402

#: The cross-check cases at 0.2 m (floor-diffusers-lo-0.1 is at 0.1 m: minutes per solve).
DEFAULT_CASES = ("floor-diffusers-lo,floor-diffusers-hi,slab-ceiling-lo,slab-ceiling-hi,"
                 "small-hall-lo,small-hall-hi")


def _solve(problem, settings, backend, start=None) -> tuple:
    from kernels.solver import Solver
    s = Solver(problem, backend, settings)
    if start is not None:
        s.start_from(start)
    c0 = time.process_time()
    run = s.solve_steady()
    rec = {"iterations": int(run.iterations), "converged": bool(run.converged),
           "mode": run.residuals["mode"], "cpu_s": time.process_time() - c0,
           "velocity_residual": float(run.residuals["velocity"]),
           "energy_imbalance": float(run.residuals["energy_imbalance"]),
           "intake_c": {d.name: float(t) for d, t in zip(problem.devices, s.dev_tin)
                        if d.kind == "rack"}}
    return rec, s


def _diff(a: dict, b: dict) -> dict:
    """RMS and largest |a - b| over the racks both name [K]."""
    d = np.array([a[n] - b[n] for n in a if n in b])
    if not d.size:
        return {"rms_k": None, "max_k": None}
    return {"rms_k": float(np.sqrt(np.mean(d ** 2))), "max_k": float(np.abs(d).max())}


def run_case(name: str, ratio: float, backend: str, max_steps: int,
             coarse: bool = True) -> dict:
    """The three solves of one cross-check case (see the module's docstring)."""
    from dataclasses import replace

    from benchmarks.validation import crosscheck
    from kernels.solver import LOCAL_STEPS_HEAT_EVERY, SolverSettings
    case = crosscheck.ALL_CASES[name]
    problem = crosscheck.case_problem(case)
    st = SolverSettings(local_steps=ratio, energy_finish_every=LOCAL_STEPS_HEAT_EVERY,
                        max_steps=max_steps)
    out = {"case": name, "cell_m": case.cell_m, "cells": int(problem.grid.cells)}
    out["record"], _ = _solve(problem, replace(st, settle_velocity=0.0), backend)
    out["settled"], _ = _solve(problem, st, backend)
    if coarse:
        cp = crosscheck.case_problem(case, cell_m=round(2 * case.cell_m, 9))
        c, cs = _solve(cp, st, backend)
        out["coarse_start"], _ = _solve(problem, st, backend, start=cs)
        out["coarse_start"]["coarse"] = {k: c[k] for k in ("iterations", "mode", "cpu_s")}
    stored = {}
    if crosscheck.twin_path(name).exists():
        stored = {r["name"]: r["intake_temp_c"]
                  for r in crosscheck.load_result(name)["twin"]["racks"]}
    for key in ("record", "settled", "coarse_start"):
        if key in out:
            out[key]["vs_record"] = _diff(out[key]["intake_c"], out["record"]["intake_c"])
            out[key]["vs_stored"] = _diff(out[key]["intake_c"], stored)
    s = out["settled"]
    print(f"{name}: record {out['record']['iterations']} it, settled rule "
          f"{s['iterations']} it ({s['mode']})"
          + (f", coarse start {out['coarse_start']['iterations']} it"
             if "coarse_start" in out else ""), flush=True)
    return out


def _k(d: dict) -> str:
    return "-" if d["rms_k"] is None else f"{d['rms_k']:.2f} ({d['max_k']:.2f})"


def main(argv=None) -> int:
    ap = benchmark_parser("steady_stop", __doc__)
    ap.add_argument("--cases", default=DEFAULT_CASES, help="comma separated")
    ap.add_argument("--ratio", type=float, default=20.0)
    ap.add_argument("--max-steps", type=int, default=8000)
    ap.add_argument("--no-coarse", action="store_true", help="skip the coarse-start solves")
    ap.add_argument("--backend", default="numba-cpu")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--stem", default=None)
    a = ap.parse_args(argv)
    from benchmarks.validation.crosscheck import ALL_CASES
    from kernels.backend import get_backend
    cases = [c for c in a.cases.split(",") if c]
    bad = [c for c in cases if c not in ALL_CASES]
    if bad:
        ap.error(f"unknown case {bad[0]!r}; choose from {', '.join(ALL_CASES)}")
    be = get_backend(a.backend)
    load0 = os.getloadavg()
    records = [run_case(c, a.ratio, a.backend, a.max_steps, coarse=not a.no_coarse)
               for c in cases]
    meta = hall_meta("dc-twin-benchmarks-steady-stop/1", be, load0, ratio=a.ratio)
    date = meta["date"]
    stem = a.stem or f"steady-stop-{date}"
    lines = [f"# Where a steady solve stops: the record test against the settled-flow "
             f"rule, {date}", "",
             f"{be.device}, float32, load average {load0[0]:.2f} before, "
             f"{meta['load_after'][0]:.2f} after (`python -m benchmarks.steady_stop`). Local "
             f"steps up to {a.ratio:g}x, the heat solved every 50 iterations, from rest; "
             "iterations are hardware-independent, CPU seconds are process times on a "
             "shared machine. Intakes: RMS (max) K from the record-test solve (A) and from "
             "the case's stored twin answer (a global-step record mean).", "",
             "| case | cells | A: record test, it | B: settled rule, it | B ends | B from A, K "
             "| B from stored, K | C: coarse start, it (+ coarse) | C from A, K | "
             "CPU A / B / C s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        A, B, C = r["record"], r["settled"], r.get("coarse_start")
        c_it = (f"{C['iterations']} (+{C['coarse']['iterations']})" if C else "-")
        lines.append(
            f"| {r['case']} | {r['cells']} | {A['iterations']} | {B['iterations']} | "
            f"{B['mode']} | {_k(B['vs_record'])} | {_k(B['vs_stored'])} | {c_it} | "
            f"{_k(C['vs_record']) if C else '-'} | {A['cpu_s']:.0f} / {B['cpu_s']:.0f}"
            + (f" / {C['cpu_s'] + C['coarse']['cpu_s']:.0f}" if C else "") + " |")
    write_hall_benchmark(a.out, stem, meta, records, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
