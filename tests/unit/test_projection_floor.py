"""The projection stops at the rounding floor of its equation (``stages.rounding_floor``).

Where a sealed aisle is pressurised to kPa across its door leaks, the right-hand side of the
pressure equation is large near the doors and, in float32, its rounding lies above the
step's divergence tolerance. The conjugate gradients then used to stagnate there for
``pressure_max_iter`` iterations while their iterate drifted, and the flow diverged a
hundred steps later (``benchmarks/results/ai-hall-divergence-2026-12-07.md``). Here a
divergent field of large amplitude and a tolerance far below float32's reach stand in for
that: the projection must stop at the floor, well within the iteration cap, with a finite
flow whose divergence is at the floor.
"""
from __future__ import annotations

import numpy as np

from kernels import stages
from kernels.solver import Solver
from tests.verification.cases import room


def test_projection_stops_at_the_rounding_floor_not_the_cap():
    s = Solver(room(cell_m=0.5), backend="numba-cpu")
    rng = np.random.default_rng(5)
    # a compatible field: the gradient of a large random potential on the open faces
    psi = s.backend.asarray((1e3 * rng.standard_normal(s.problem.grid.shape)).astype(s.dtype))
    F = s.dtype.type
    for c, (a, d) in enumerate(zip((s.us, s.vs, s.ws), s.problem.grid.spacing_m)):
        a[...] = 0
        s.backend.kernels.correct_velocity(c, a, psi, s.solid, F(d))
    s.phi[...] = 0
    s.div_tol = 1e-12                     # unreachable in float32
    b = np.zeros(s.problem.grid.shape, s.dtype)
    s.backend.kernels.divergence(b, s.us, s.vs, s.ws, s.solid,
                                 *(s.dtype.type(d) for d in s.problem.grid.spacing_m))
    floor = stages.rounding_floor(s, np.abs(b).max())
    it = stages.project(s)
    print(f"{it} iterations, residual {s.last_cg[1]:.2e}, floor {floor:.2e}")
    assert it < s.settings.pressure_max_iter // 3
    assert s.last_cg[1] <= floor
    assert all(np.isfinite(s.backend.to_host(a)).all() for a in (s.u, s.v, s.w, s.phi))
    # the floor is the float's: far below any tolerance in float64
    assert stages.rounding_floor(Solver(room(cell_m=0.5), backend="numba-cpu",
                                        settings=s.settings.__class__(dtype="float64")),
                                 1.0) < 1e-14
