"""Grid sequencing: a state carried from one grid of a box to another (``kernels/resample.py``)."""
import numpy as np
import pytest

from common.errors import InputError
from kernels.grid import Grid
from kernels.resample import face_coords, interpolate, resample_state


def _linear(coords, a=(0.3, -1.2, 2.0), b=5.0):
    X, Y, Z = np.meshgrid(*coords, indexing="ij")
    return a[0] * X + a[1] * Y + a[2] * Z + b


def test_linear_fields_are_reproduced_exactly_inside_the_source_range():
    src = Grid.from_size((3.0, 2.0, 1.5), 0.5)
    dst = Grid.from_size((3.0, 2.0, 1.5), 0.25)
    for comp in range(3):
        s = [face_coords(src, comp, ax) for ax in range(3)]
        d = [face_coords(dst, comp, ax) for ax in range(3)]
        out = interpolate(_linear(s), s, d)
        # inside the source points' range linear interpolation is exact; beyond, the
        # nearest end value (clamped coordinates) is
        clamped = [np.clip(dd, ss[0], ss[-1]) for ss, dd in zip(s, d)]
        assert np.allclose(out, _linear(clamped), atol=1e-12)


def test_state_masks_solids_and_closed_faces():
    src = Grid.from_size((2.0, 2.0, 2.0), 0.5)          # 4^3
    dst = Grid.from_size((2.0, 2.0, 2.0), 0.25)         # 8^3
    sf = np.ones(src.shape, bool)
    sf[1, 1, 1] = False                                  # a solid block in the source
    df = np.ones(dst.shape, bool)
    df[4:6, 4:6, 4:6] = False                            # another in the target
    T = np.full(src.shape, 20.0)
    T[1, 1, 1] = 1000.0                                  # a solid cell's meaningless value
    state = {"u": np.ones((5, 4, 4)), "v": np.ones((4, 5, 4)), "w": np.ones((4, 4, 5)), "T": T}
    out = resample_state(state, src, sf, dst, df)
    assert np.allclose(out["T"], 20.0)                   # solid cells never leak heat in
    u = out["u"]
    assert u.shape == (9, 8, 8)
    assert np.all(u[0] == 0) and np.all(u[-1] == 0)      # the box is closed
    assert np.all(u[4:7, 4:6, 4:6] == 0)                 # faces beside the target's solid
    assert np.allclose(u[1:4], 1.0)                      # open faces keep the flow
    with pytest.raises(InputError, match="box"):
        resample_state(state, src, sf, Grid.from_size((2.0, 2.5, 2.0), 0.25),
                       np.ones((8, 10, 8), bool))


def test_fine_solver_started_from_coarse_flow_keeps_its_pattern():
    """A room solved at 0.5 m, carried to 0.25 m: after the projection onto the fine mask
    the flow is divergence-free and still the coarse one's (correlation of the speeds)."""
    from kernels.solver import Solver, SolverSettings
    from tests.verification.cases import room
    coarse = Solver(room(cell_m=0.5), backend="numba-cpu", settings=SolverSettings(max_steps=600))
    coarse.solve_steady()
    fine = Solver(room(cell_m=0.25), backend="numba-cpu")
    fine.start_from(coarse)
    assert fine.max_divergence() < 1e-4
    fc, cc = fine.fields(), coarse.fields()
    sh = cc["speed_m_s"].shape
    both = coarse.problem.fluid_mask & fine.problem.fluid_mask.reshape(
        sh[0], 2, sh[1], 2, sh[2], 2).all(axis=(1, 3, 5))       # fluid on both grids
    for key in ("u_m_s", "w_m_s", "speed_m_s"):
        sub = fc[key].reshape(sh[0], 2, sh[1], 2, sh[2], 2).mean(axis=(1, 3, 5))
        r = np.corrcoef(sub[both], cc[key][both])[0, 1]
        assert r > 0.9, (key, r)
    assert np.isfinite(fine.dev_tin).all()


def test_steady_solve_with_coarse_start_and_its_fallback():
    from kernels.solver import SolverSettings
    from tests.verification.cases import room
    from twin.thermal.steady import steady_solve
    settings = SolverSettings(max_steps=3000)
    solver, run, coarse = steady_solve(room(cell_m=0.25), lambda cell: room(cell_m=cell), 0.25,
                                       "numba-cpu", settings, coarse_start=True)
    assert coarse["cell_m"] == 0.5 and coarse["steps"] > 0 and coarse["cells"] == 12 * 8 * 6
    assert run.converged and abs(solver.energy_budget()["imbalance_frac"]) < 1e-3

    def unmeshable(cell):
        raise InputError(f"rack lands on another body at {cell} m")
    stages = []
    solver, run, coarse = steady_solve(room(cell_m=0.25), unmeshable, 0.25, "numba-cpu",
                                       settings, progress=lambda n, i: stages.append(i.get("stage")),
                                       coarse_start=True)
    assert "0.5 m: rack lands" in coarse["skipped"] and "0.375 m" in coarse["skipped"]
    assert run.converged
    assert set(stages) == {None}                      # no coarse stage ran
    _, _, none = steady_solve(room(cell_m=0.25), unmeshable, 0.25, "numba-cpu", settings)
    assert none is None
