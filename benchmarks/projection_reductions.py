"""``python -m benchmarks.projection_reductions``: the projection with the rounding floor
bounded (``kernels.stages.RhsBound``, A) against the same projection taking ``max |b|``
every step (B, the reductions before the bound: one more full-grid ``max_abs`` per step).

Both march the same hall from rest with the same steps; their answers are the same to the
bit (``tests/unit/test_projection_bound.py``), so the CG iterations are the same and the
difference is the one reduction. Rounds alternate A and B, each ``--steps`` steps from
rest; the medians over every timed step (the first ``--skip`` of a round left out) of the
projection stage and of the whole step, one ``max_abs`` over the grid alone, and the load
before and after are printed.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # before Numba starts OpenMP

import time  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.report import benchmark_parser, hall_problem  # noqa: E402


def march(problem, exact: bool, steps: int, skip: int) -> tuple[list, list, int]:
    """Projection and step times [s] of ``steps`` steps from rest (after ``skip``), and the
    projections that took ``max |b|``."""
    from kernels import stages
    from kernels.solver import Solver
    s = Solver(problem, "numba-cpu")
    if exact:
        s.rhs_bound.MARGIN = float("inf")
    t_proj, t_step = [], []
    for n in range(steps):
        dt = s.compute_dt()
        s.div_tol = s.settings.pressure_tol * stages.velocity_scale(s) / min(problem.grid.size_m)
        t0 = time.perf_counter()
        for stage in stages.STEP:
            if stage is stages.project:
                p0 = time.perf_counter()
                stage(s, dt)
                p1 = time.perf_counter()
            else:
                stage(s, dt)
        t1 = time.perf_counter()
        if n >= skip:
            t_proj.append(p1 - p0)
            t_step.append(t1 - t0)
    return t_proj, t_step, s.rhs_bound.taken


def main(argv=None) -> int:
    ap = benchmark_parser("projection_reductions", __doc__)
    ap.add_argument("--hall", default="small-hall")
    ap.add_argument("--cell", type=float, default=0.25)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--skip", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args(argv)
    from kernels.backend import get_backend
    problem = hall_problem(a.hall, a.cell)
    load0 = os.getloadavg()
    march(problem, False, 3, 0)                     # compile and warm
    res = {"A bound": ([], [], 0), "B exact": ([], [], 0)}
    for _ in range(a.rounds):
        for name, exact in (("A bound", False), ("B exact", True)):
            p, s, taken = march(problem, exact, a.steps, a.skip)
            res[name] = (res[name][0] + p, res[name][1] + s, res[name][2] + taken)
    k = get_backend("numba-cpu").kernels
    x = np.random.default_rng(1).standard_normal(problem.grid.shape).astype(np.float32)
    k.max_abs(x)
    reps = []
    for _ in range(200):
        t0 = time.perf_counter()
        k.max_abs(x)
        reps.append(time.perf_counter() - t0)
    load1 = os.getloadavg()
    print(f"{a.hall} at {a.cell} m: {problem.grid.shape} = {problem.grid.cells:,} cells; "
          f"{a.rounds} rounds x {a.steps} steps ({a.skip} skipped), A then B per round")
    print(f"load before {' '.join(f'{v:.2f}' for v in load0)}, "
          f"after {' '.join(f'{v:.2f}' for v in load1)}")
    med = {}
    for name, (p, s, taken) in res.items():
        med[name] = (np.median(p), np.median(s))
        print(f"{name}: projection {1e3 * med[name][0]:.2f} ms, step {1e3 * med[name][1]:.2f} ms"
              f" (medians of {len(s)}); max |b| taken in {taken} of {a.rounds * a.steps}"
              " projections")
    a_, b_ = med["A bound"], med["B exact"]
    print(f"B/A: projection {b_[0] / a_[0]:.3f}, step {b_[1] / a_[1]:.3f}; "
          f"one max_abs alone {1e3 * np.median(reps):.3f} ms "
          f"({100 * np.median(reps) / b_[1]:.1f} % of B's step)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
