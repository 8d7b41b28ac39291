"""Local time stepping (``SolverSettings.local_steps``, :mod:`kernels.local_steps`): the
weighted projection is divergence-free, the weighted V-cycle with unit weights is the
plain one, and a steady solve reaches the global step's answer in fewer iterations
(iteration counts are hardware-independent; no clock is read)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from common.errors import InputError
from kernels import local_steps
from kernels.backend import get_backend
from kernels.multigrid import Multigrid
from kernels.setup import cell_codes
from kernels.solver import Solver, SolverSettings
from tests.verification.cases import lid_cavity, room
from tests.verification.test_cavity import U, centreline_u


def test_unit_weights_give_the_plain_cycle():
    """``reweight`` with every weight 1 runs the finest level from coefficient arrays
    instead of the cell codes: the same operator, so the same cycle to rounding; and
    ``reweight(None)`` goes back to the codes exactly."""
    be = get_backend("numba-cpu")
    fluid = np.ones((12, 10, 8), bool)
    fluid[5:7, 2:8, :5] = False                 # a wall with a gap above it
    flags = np.where(fluid, 0, 1).astype(np.uint8)
    codes = be.asarray(cell_codes(flags))
    mg = Multigrid(be, codes, fluid, (0.2, 0.2, 0.2), np.float64)
    rng = np.random.default_rng(3)
    r = np.where(fluid, rng.standard_normal(fluid.shape), 0.0)
    r[fluid] -= r[fluid].mean()
    plain = np.zeros_like(r)
    mg.apply(r, plain)
    shapes = [(13, 10, 8), (12, 11, 8), (12, 10, 9)]
    mg.reweight([np.ones(s) for s in shapes])
    assert mg.weighted
    unit = np.zeros_like(r)
    mg.apply(r, unit)
    np.testing.assert_allclose(unit, plain, atol=1e-12 * np.abs(plain).max())
    mg.reweight([np.full(s, 0.5) for s in shapes])     # half the operator: twice the answer
    half = np.zeros_like(r)
    mg.apply(r, half)
    np.testing.assert_allclose(half, 2 * plain, atol=1e-10 * np.abs(plain).max())
    mg.reweight(None)
    back = np.zeros_like(r)
    mg.apply(r, back)
    assert not mg.weighted and np.array_equal(back, plain)


def test_weighted_projection_is_divergence_free():
    """One local-step projection of a random predicted flow in the room: the divergence
    falls to the tolerance, the closed faces keep their values, and ``phi`` is the global
    step times the kinematic pressure."""
    s = Solver(room(cell_m=0.25), backend="numba-cpu",
               settings=SolverSettings(dtype="float64", local_steps=10))
    for _ in range(100):                     # a flow to set the steps from
        s.step()
    s.local = local_steps.LocalSteps(s, 10)
    s.local.iterations = local_steps.RAMP_ITERATIONS
    s.local.update()
    rng = np.random.default_rng(7)
    for q, g in zip((s.us, s.vs, s.ws), s.local.gw):
        q[...] = np.where(g > 0, rng.standard_normal(q.shape) * 0.3, q)
    closed = [np.where(g == 0, q, np.nan) for q, g in zip((s.us, s.vs, s.ws), s.local.gw)]
    s.div_tol = 1e-9
    dt = 0.01
    local_steps.project(s, dt)
    assert s.max_divergence() < 1e-8
    for q, c in zip((s.u, s.v, s.w), closed):
        keep = ~np.isnan(c)
        assert np.array_equal(q[keep], c[keep])
    assert np.allclose(s.phi, s.local.x * dt / s.local.d_ref)
    # the steps vary over the room and reach past the global one
    dc = s.local.dc_host[s.problem.fluid_mask]
    assert dc.max() > 3 * dc.min() and dc.max() > 3 * s.local.dt_global


def test_weighted_operator_is_the_face_sum():
    """The projection's operator (the V-cycle's compiled finest-level residual) equals the
    face sum ``sum gw (x_nb - x_c) / d^2`` written out in float64 NumPy, on the room's
    varying weights, to 1e-12 of its size."""
    s = Solver(room(cell_m=0.25), backend="numba-cpu",
               settings=SolverSettings(dtype="float64", local_steps=10))
    for _ in range(50):
        s.step()
    ls = s.local = local_steps.LocalSteps(s, 10)
    ls.iterations = local_steps.RAMP_ITERATIONS
    ls.update()
    assert len({float(v) for g in ls.gw for v in np.unique(g)}) > 3    # weights vary
    x = np.random.default_rng(11).standard_normal(ls.x.shape)
    got = np.empty_like(x)
    ls.weighted_laplacian(x, got)
    want = np.zeros_like(x)
    for ax, d in enumerate(s.problem.grid.spacing_m):
        n = x.shape[ax]
        lo = tuple(slice(0, n - 1) if a == ax else slice(None) for a in range(3))
        hi = tuple(slice(1, n) if a == ax else slice(None) for a in range(3))
        flux = ls.gw[ax][hi] * (x[hi] - x[lo]) / d ** 2
        want[lo] += flux
        want[hi] -= flux
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())


def test_cavity_reaches_ghia_in_fewer_iterations():
    """The lid-driven cavity at Re 100 (Ghia et al. 1982), float64, to the same velocity
    residual: the local steps' answer agrees with the global step's to 0.3 % of the lid
    speed and with Ghia to 2 %, in less than half the iterations (measured 950 against
    2,550)."""
    runs = {}
    for ratio in (0, 20):
        s = Solver(lid_cavity(32, 100), backend="numba-cpu",
                   settings=SolverSettings(dtype="float64", tol_velocity=1e-5,
                                           max_steps=30000, local_steps=ratio))
        res = s.solve_steady()
        assert res.converged
        assert s.local is None and not s.mg.weighted       # back to the global step
        runs[ratio] = (res.iterations, centreline_u(s, 32), s.max_divergence())
    (n0, u0, _), (n1, u1, div1) = runs[0], runs[20]
    print(f"iterations: global {n0}, local {n1}")
    assert np.abs(u1 - u0).max() < 3e-3
    assert np.sqrt(np.mean((u1 - U[100]) ** 2)) < 0.02
    assert div1 < 1e-6
    assert n1 < 0.5 * n0


@pytest.mark.parametrize("turbulence", ["chen-xu", "k-epsilon"])
def test_room_with_devices_same_intakes_and_closed_balance(turbulence):
    """The room (a rack and a cooler, float32) solved with local steps: the record mean's
    intakes within 0.3 K of the global step's, the heat balance closed to 1e-6 (k-epsilon: 2e-5), in fewer
    iterations (measured with Chen-Xu 700 against 1,600; with k-epsilon, which keeps the
    global step for k and epsilon, 1,400 against 4,450)."""
    out = {}
    for ratio in (0, 20):
        s = Solver(room(cell_m=0.25, turbulence=turbulence), backend="numba-cpu",
                   settings=SolverSettings(max_steps=8000, local_steps=ratio))
        res = s.solve_steady()
        assert res.converged, res.residuals["mode"]
        # k-epsilon's heat finish ends at its 20-round cap near 1e-5 with either step
        # (measured 1.1e-5 with the global step, 1.3e-5 with local steps)
        assert abs(res.residuals["energy_imbalance"]) < (1e-6 if turbulence == "chen-xu"
                                                        else 2e-5)
        out[ratio] = (res.iterations, s.dev_tin.copy())
    print(f"iterations: global {out[0][0]}, local {out[20][0]}; "
          f"intakes {out[0][1]} against {out[20][1]}")
    assert np.abs(out[20][1] - out[0][1]).max() < 0.3
    assert out[20][0] < out[0][0]


@pytest.mark.parametrize("bad", [0.5, -1.0, float("nan")])
def test_bad_setting_is_one_line(bad):
    with pytest.raises(InputError, match="local_steps .* must be 0"):
        SolverSettings(local_steps=bad)


@pytest.mark.parametrize("bad", ["0.5", "-2", "nan"])
def test_bad_cli_value_is_one_line(bad):
    from tests.unit.test_bad_input import cli, error_lines
    root = Path(__file__).resolve().parents[2]
    res = cli("solve", root / "meshes" / "small-hall.toml", "--local-steps", bad)
    lines = error_lines(res)
    assert len(lines) == 1 and "--local-steps" in lines[0], res.output


def test_benchmark_writes_its_table(tmp_path):
    """``python -m benchmarks.local_steps`` on the small hall at 0.5 m with a low cap: one
    JSON and one Markdown with both solves per hall (the figures come from a full run,
    ``benchmarks/results/local-steps-*.md``)."""
    import json

    from benchmarks import local_steps as bench
    assert bench.main(["--halls", "small-hall", "--cell", "0.5", "--max-steps", "300",
                       "--out", str(tmp_path), "--stem", "ls"]) == 0
    rec = json.loads((tmp_path / "ls.json").read_text())["records"][0]
    assert 0 < rec["global"]["iterations"] <= 300 and 0 < rec["local"]["iterations"] <= 300
    assert set(rec["global"]["intake_c"]) == set(rec["local"]["intake_c"])
    assert "| small-hall @ 0.5 m |" in (tmp_path / "ls.md").read_text()


def test_divergence_leaves_the_solver_at_the_global_step(monkeypatch):
    """A local-step march that diverges raises, and leaves the solver at the global step
    with the plain V-cycle (a caller may go on with it, e.g. a transient)."""
    from common.errors import DivergenceError
    from kernels import stages
    s = Solver(room(cell_m=0.25), backend="numba-cpu",
               settings=SolverSettings(dtype="float64", local_steps=10, max_steps=400))
    calls = []

    def diverge(solver):
        calls.append(1)
        if len(calls) > 3:
            raise DivergenceError("diverged (test)")
    monkeypatch.setattr(stages, "check_finite", diverge)
    with pytest.raises(DivergenceError):
        s.solve_steady()
    assert s.local is None and not s.mg.weighted


def test_settled_flow_rule_needs_both_halves():
    """``steady.settled_flow``: the last ``settle_checks`` intake means within
    ``settle_temp_k`` *and* the velocity residual under ``settle_velocity``. Intakes that
    agree while the residual is high (a turning point of a swing) do not settle; nor do
    too few means, or means that still move."""
    from kernels.steady import settled_flow
    s = SolverSettings(local_steps=20, energy_finish_every=50)     # 5e-3, 0.05 K, 3
    still = [np.array([25.0, 27.0]), np.array([25.02, 27.01]), np.array([25.01, 27.03])]
    assert settled_flow(still, 4e-3, s) == (True, pytest.approx(0.03))
    assert settled_flow(still, 9e-3, s)[0] is False                # the swing's turning point
    assert settled_flow(still[:2], 1e-4, s) == (False, float("inf"))
    moving = still[:2] + [np.array([25.01, 27.08])]
    assert settled_flow(moving, 1e-4, s) == (False, pytest.approx(0.08))
    assert settled_flow([still[0]] + still, 4e-3, s)[0]            # only the last three count


def test_room_stops_on_its_settled_flow():
    """The room at 0.5 m with local steps and the heat solved every 50 iterations settles
    (residual 1.2e-3 at 350 iterations): the settled-flow rule stops it before the record
    test would (measured 350 against 450), at the record mean's intakes to well within
    ``settle_temp_k`` (measured 0.004 K), the heat balance closed."""
    out = {}
    for settle_velocity in (0.0, 5e-3):                  # 0: the rule off, the record decides
        s = Solver(room(cell_m=0.5), backend="numba-cpu",
                   settings=SolverSettings(local_steps=20, energy_finish_every=50,
                                           settle_velocity=settle_velocity))
        res = s.solve_steady()
        assert res.converged and abs(res.residuals["energy_imbalance"]) < 1e-6
        out[settle_velocity] = (res, s.dev_tin.copy())
    (rec, rec_tin), (settled, settled_tin) = out[0.0], out[5e-3]
    print(f"record {rec.iterations} it {rec_tin}; settled {settled.iterations} it {settled_tin}")
    assert rec.residuals["mode"] == "statistically steady (record mean)"
    assert settled.residuals["mode"] == "steady (settled flow)"
    assert settled.residuals["settle_range_k"] <= 0.05
    assert settled.residuals["velocity"] <= 5e-3
    assert settled.iterations < rec.iterations
    assert np.abs(settled_tin - rec_tin).max() < 0.05


@pytest.mark.parametrize("name,bad", [("settle_velocity", -1.0), ("settle_temp_k", float("nan")),
                                      ("settle_checks", 1), ("energy_finish_every", -50)])
def test_bad_settle_setting_is_one_line(name, bad):
    with pytest.raises(InputError, match=f"{name} .* must be"):
        SolverSettings(**{name: bad})


def test_steady_stop_benchmark_writes_its_table(tmp_path):
    """``python -m benchmarks.steady_stop`` on one cross-check case with a low cap: one JSON
    and one Markdown with the record-test and the settled-rule solve (the figures come
    from a full run, ``benchmarks/results/steady-stop-*.md``)."""
    import json

    from benchmarks import steady_stop as bench
    assert bench.main(["--cases", "slab-ceiling-hi", "--max-steps", "100", "--no-coarse",
                       "--out", str(tmp_path), "--stem", "ss"]) == 0
    (rec,) = json.loads((tmp_path / "ss.json").read_text())["records"]
    assert rec["record"]["iterations"] == 100 and rec["settled"]["iterations"] <= 100
    assert rec["settled"]["vs_record"]["rms_k"] is not None and "coarse_start" not in rec
    assert "| slab-ceiling-hi |" in (tmp_path / "ss.md").read_text()
    with pytest.raises(SystemExit):
        bench.main(["--cases", "no-such-case", "--out", str(tmp_path)])
