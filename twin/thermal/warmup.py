"""Compile (or load from Numba's disk cache) the thermal kernels before a solve, so that
the first run says what it is doing and its solve time is the solve's own.

The kernels compile on their first call: minutes the first time, seconds once Numba has
cached them on disk (measured: ``benchmarks/results/``). :func:`warm_up` solves the
shipped small hall at 0.4 m for a few steps on the chosen backend and finishes its heat
equation: every driver a hall solve calls is then ready, in the default precision.
"""
from __future__ import annotations

import time

__all__ = ["warm_up", "WARMUP_NOTE"]

#: What a user is told while the kernels compile.
WARMUP_NOTE = ("preparing the thermal kernels (compiled on the first run, which takes "
               "minutes; then loaded from the disk cache in seconds)")

_done: set = set()


def warm_up(backend="auto") -> float:
    """Make the kernels of ``backend`` ready; returns the seconds it took (0 when done
    before in this process)."""
    from kernels.backend import get_backend
    from kernels.solver import Solver, SolverSettings
    from twin.facility import BUILTIN_DIR, load_facility
    from twin.thermal.mesh import mesh_hall

    be = get_backend(backend)
    if be.name in _done:
        return 0.0
    t0 = time.perf_counter()
    fac = load_facility(BUILTIN_DIR / "small-hall.toml")
    problem, _ = mesh_hall(fac, cell_m=0.4, backend=None)
    solver = Solver(problem, backend=be, settings=SolverSettings(max_steps=20))
    for _ in range(3):
        solver.step()
    solver.finish_energy(iterations=2)
    solver.energy_budget()
    _done.add(be.name)
    return time.perf_counter() - t0
