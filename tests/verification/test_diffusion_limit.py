"""The explicit step's diffusion limit holds for the full-stress momentum diffusion.

Since the momentum diffusion became the divergence of the full stress
``nu_eff (grad u + grad u^T)`` (Ferziger & Peric 2002, eq. 10.38), the transpose term acts
wherever the eddy viscosity varies, and ``stages.stable_dt`` still takes the Laplacian's
limit ``safety / (2 nu_eff sum 1/dx^2)``. Whether that is enough is a property of the
linear map of one step: predict ``u + dt * rate(u)``, then project. Its eigenvalues are
computed here exactly (the map's matrix, column by column, from the float64 reference
kernels with a direct pressure solve; advection drops out at an amplitude of 1e-9) on a
closed box with fixed eddy-viscosity fields: uniform, a jump across the box, random per
cell, and a checkerboard. The step is stable when no eigenvalue leaves the unit circle.
It is, at the solver's own step, for every field; and twice that step is not, so the test
can tell. The transpose term does not make the full stress faster than the Laplacian's
fastest mode on these fields (the uniform field is the worst).
"""
from __future__ import annotations

import numpy as np
import pytest

from kernels import reference as R
from kernels import stages
from kernels.grid import Grid
from kernels.problem import Problem, Turbulence
from kernels.solver import Solver

NUT_MAX = 0.05       # m2/s: the order of k-epsilon's largest nu_t in the cross-check halls
N = 4
D = 0.2


def _field(kind: str) -> np.ndarray:
    i, j, k = np.indices((N, N, N))
    return {"uniform": np.full((N, N, N), NUT_MAX),
            "jump": np.where(i < N // 2, NUT_MAX, 0.0),
            "random": np.random.default_rng(1).uniform(0.0, NUT_MAX, (N, N, N)),
            "checkerboard": np.where((i + j + k) % 2 == 0, NUT_MAX, 0.0)}[kind]


def _step_matrix(nut, nu, dt) -> np.ndarray:
    solid = np.zeros((N, N, N), np.uint8)
    sp = (D, D, D)
    shapes = [(N + 1, N, N), (N, N + 1, N), (N, N, N + 1)]
    sizes = [int(np.prod(s)) for s in shapes]
    T = np.zeros((N, N, N))
    slip, uw = np.zeros(6, int), np.zeros((6, 3))
    eps = 1e-9

    def apply(x):
        parts = np.split(x * eps, np.cumsum(sizes)[:-1])
        u, v, w = (p.reshape(s) for p, s in zip(parts, shapes))
        q = [(u, v, w)[c] + dt * R.momentum_rate(c, u, v, w, nut, T, solid, sp, nu, 0.0, 0.0,
                                                 slip, uw) for c in range(3)]
        phi, _, _ = R.solve_pressure(R.divergence(*q, solid, sp), solid, sp, method="direct")
        q = [R.correct_velocity(c, q[c], phi, solid, sp[c]) for c in range(3)]
        return np.concatenate([a.ravel() for a in q]) / eps

    n = sum(sizes)
    return np.column_stack([apply(np.eye(1, n, j).ravel()) for j in range(n)])


def _box(nu_t=NUT_MAX) -> Solver:
    p = Problem(Grid.from_size((N * D,) * 3, D), solid=np.zeros((N, N, N), np.uint8),
                devices=(), name="box", turbulence=Turbulence("constant", nu_t_m2_s=nu_t))
    return Solver(p, backend="numba-cpu")


def _solver_dt(kind):
    """A still box holding the eddy-viscosity field ``kind``, and the solver's own step."""
    s = _box()
    s.nut[...] = s.backend.asarray(_field(kind).astype(s.dtype))
    return s, stages.stable_dt(s)


def test_first_step_knows_the_constant_eddy_viscosity():
    """Before the first step has filled ``nut``, the step of a constant-viscosity problem
    already honours its ``nu_t`` (before 2026-12-07 the first ``check_every`` steps of
    such a solve took the laminar limit: here the buoyancy one, 1.8 times too long)."""
    s = _box()
    assert stages.stable_dt(s) == pytest.approx(_solver_dt("uniform")[1], rel=1e-6)
    assert stages.stable_dt(_box(0.0)) > 1.5 * stages.stable_dt(s)


@pytest.mark.parametrize("kind", ["uniform", "jump", "random", "checkerboard"])
def test_step_is_stable_at_the_solvers_limit(kind):
    s, dt = _solver_dt(kind)
    nu = s.problem.fluid.viscosity_m2_s
    ev = np.linalg.eigvals(_step_matrix(_field(kind), nu, dt))
    radius = float(np.max(np.abs(ev)))
    print(f"{kind}: dt {dt:.4f} s, spectral radius {radius:.6f}, "
          f"most negative eigenvalue {ev.real.min():+.3f}")
    assert radius <= 1.0 + 1e-9


def test_a_step_twice_as_long_is_unstable():
    """The check can fail: at twice the solver's step the uniform field's fastest mode
    leaves the unit circle. (The solver's step has a margin of 1 / (0.8 x 0.9): the
    safety factor, and the heat's limit with ``nu_t / Pr_t``; measured at the step
    itself, the most negative eigenvalue is -0.35 for the uniform field, -0.29 for the
    jump.)"""
    s, dt = _solver_dt("uniform")
    ev = np.linalg.eigvals(_step_matrix(_field("uniform"), s.problem.fluid.viscosity_m2_s,
                                        2.0 * dt))
    assert float(np.max(np.abs(ev))) > 1.5
