"""The stable step: the advective CFL limit is taken cell by cell (and per momentum
control volume), not from the three components' maxima over the whole box."""
import numpy as np
import pytest

from kernels import reference as ref
from kernels.grid import Grid
from kernels.problem import Problem, Turbulence
from kernels.solver import Solver, SolverSettings


def _solver(dtype="float64"):
    grid = Grid((12, 10, 8), (0.1, 0.12, 0.08))
    solid = np.zeros(grid.shape, np.uint8)
    solid[5:7, 4:6, 0:3] = 1
    problem = Problem(grid, solid, turbulence=Turbulence("laminar"), name="dt-room")
    return Solver(problem, backend="numba-cpu", settings=SolverSettings(dtype=dtype))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_advective_limit_is_the_local_courant_rate(dtype):
    s = _solver(dtype)
    # a fast u-jet near x- and a fast w-jet near x+: the old bound added the two maxima
    s.u[2, 2, 2] = 3.0
    s.w[9, 7, 4] = -2.5
    s.v[8, 3, 1] = 0.4
    dx, dy, dz = s.problem.grid.spacing_m
    local = ref.max_advection_rate(s.u, s.v, s.w, dx, dy, dz)
    assert local == pytest.approx(2.5 / dz, rel=1e-6)         # the w-jet's cells
    old = 3.0 / dx + 0.4 / dy + 2.5 / dz
    assert local < 0.5 * old
    dt = s.compute_dt()
    assert dt == pytest.approx(s.settings.cfl / local, rel=1e-6)
    # a cell and its upper neighbour along x share a u-face: their momentum control
    # volume takes the larger speed of the two cells on every axis
    s.w[3, 2, 2] = 2.5
    pair = ref.max_advection_rate(s.u, s.v, s.w, dx, dy, dz)
    assert pair == pytest.approx(3.0 / dx + 2.5 / dz, rel=1e-6)
    assert s.compute_dt() == pytest.approx(s.settings.cfl / pair, rel=1e-6)


def test_nan_velocity_is_a_divergence_not_a_step():
    from common.errors import DivergenceError
    s = _solver()
    s.u[4, 4, 4] = np.nan
    with pytest.raises(DivergenceError, match="diverged"):
        s.compute_dt()
