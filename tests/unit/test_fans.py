"""Rack fans against pressure (issue 24, item 3): a rack type's active flow curve
(``fan_curve_pa``), its operating point against a system curve by hand and in a duct
solved by the thermal core, a starved cold-aisle containment whose racks fall below
their airflow and are reported, energy closing with every as-built feature on, and bad
curves refused with one line."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

from kernels.grid import Grid
from kernels.problem import Device, Port, Problem, Resistance, Turbulence
from kernels.solver import Solver, SolverSettings
from twin.cli import main
from twin.facility import BUILTIN_DIR, FacilityError, load_facility, loads_facility
from twin.models.fans import MIN_FLOW_FRAC, FanCurve, operating_point
from twin.thermal.mesh import mesh_hall
from twin.thermal.racks import HallRacks, fan_step, hall_racks
from twin.thermal.steady import solve_hall

LEGACY = BUILTIN_DIR / "legacy-hall.toml"
CELL = 0.4
SETTINGS = SolverSettings(max_steps=4000)
#: A linear active flow curve: 60 Pa at no flow, free delivery at the design airflow.
LINEAR = FanCurve((0.0, 1.0, 2.0), (60.0, 0.0, -60.0), name="linear")


# ------------------------------------------------------------------ the curve by hand
def test_operating_point_by_hand():
    """``60 (1 - q) = dp``: 40 Pa gives q = 1 - 40/60 = 1/3; at 80 % fan speed the curve
    is ``0.64 * 60 (1 - q / 0.8)``: 15 Pa gives q = 0.8 (1 - 15/38.4) = 0.4875;
    against the line ``20 + 40 q`` (40 Pa at q = 0.5, slope 40 Pa) q = 0.4; past shut-off
    the flow is held at the floor, under suction at the curve's end."""
    assert operating_point(LINEAR, 1.0, 40.0, 1.0)["flow_frac"] == pytest.approx(1 / 3, abs=1e-9)
    assert operating_point(LINEAR, 0.8, 15.0, 1.0)["flow_frac"] == pytest.approx(
        0.4875, abs=1e-9)
    assert operating_point(LINEAR, 1.0, 40.0, 0.5, slope_pa=40.0)["flow_frac"] == pytest.approx(
        0.4, abs=1e-9)
    assert operating_point(LINEAR, 1.0, 0.0, 1.0)["flow_frac"] == pytest.approx(1.0, abs=1e-9)
    shut = operating_point(LINEAR, 1.0, 70.0, 1.0)
    assert shut == {"flow_frac": MIN_FLOW_FRAC, "shutoff": True}
    # below the floor the flow is held there too (80 % speed, 30 Pa: 0.175 by the curve)
    assert operating_point(LINEAR, 0.8, 30.0, 1.0)["shutoff"]
    assert operating_point(LINEAR, 1.0, -200.0, 1.0) == {"flow_frac": 2.0, "shutoff": False}
    # the fan laws: pressure with the square of the speed, flow with the speed
    assert LINEAR.pressure_pa(0.5, 0.5) == pytest.approx(0.0)
    assert LINEAR.pressure_pa(0.25, 0.5) == pytest.approx(0.25 * 30.0)


def _one_rack(curve, design_m3_s):
    return HallRacks(("F",), np.array([0]), (None,), np.ones(1),
                     design_flow_m3_s=np.array([design_m3_s]), fan_curves=(curve,))


def test_fan_step_reaches_a_duct_by_hand():
    """A duct of ``dp = C q^2`` (C = 59.5 Pa) on the linear curve: ``60 (1 - q) = C q^2``,
    ``q = (-60 + sqrt(60^2 + 4 C 60)) / (2 C)`` = 0.61946; the relaxed secant steps of
    ``fan_step`` (the hall's response learnt from the solves) get there."""
    c = 59.5
    q_hand = (-60 + np.sqrt(60 ** 2 + 4 * c * 60)) / (2 * c)
    racks = _one_rack(LINEAR, 1.0)
    q, hist = 1.0, [[]]
    for _ in range(30):
        st = fan_step(racks, {"free_flow_m3_s": np.ones(1)}, [q], [c * q * q], hist)
        q = float(st["fan_frac"][0])
        if st["move"] < 1e-9:
            break
    assert q == pytest.approx(q_hand, abs=1e-6)
    assert q == pytest.approx(0.61946, abs=1e-5)


def _cells(i, j, k):
    g = np.meshgrid(np.atleast_1d(i), np.atleast_1d(j), np.atleast_1d(k), indexing="ij")
    return np.column_stack([a.ravel() for a in g])


def test_operating_point_in_a_solved_duct():
    """A fan in a partition blows 2.4 m of box round through a 2 x 2 cell opening of
    loss K = 25 (0.04 m2): the duct's curve is ``dp = K rho / 2 (q V_d / A)^2`` = C q^2.
    The fan's pressure difference is read from the solved field (``rho phi / dt`` in
    front of its faces), the operating point iterated with the flow: it lands within 3 %
    of the hand answer (the field adds the jets' own losses to the opening's, a few
    percent of it)."""
    grid = Grid((24, 8, 8), (0.1, 0.1, 0.1))
    solid = np.zeros(grid.shape, np.uint8)
    solid[12] = 1
    solid[12, 5:7, 5:7] = 0
    vd, k_loss = 0.08, 25.0
    fan = Device("F", "rack", intake=Port(_cells(11, np.arange(1, 4), np.arange(1, 4)), 0, 1),
                 exhaust=Port(_cells(13, np.arange(1, 4), np.arange(1, 4)), 0, -1),
                 flow_m3_s=vd)
    hole = Resistance("hole", _cells(12, np.arange(5, 7), np.arange(5, 7)), 0, k_loss)
    problem = Problem(grid, solid, devices=(fan,), resistances=(hole,), initial_temp_c=25.0,
                      turbulence=Turbulence("chen-xu"), name="duct")
    s = Solver(problem, backend="numba-cpu", settings=SolverSettings(min_windows=6,
                                                                     max_steps=6000))
    c = k_loss * 0.5 * problem.fluid.density_kg_m3 * (vd / 0.04) ** 2
    q_hand = (-60 + np.sqrt(60 ** 2 + 4 * c * 60)) / (2 * c)
    racks, hist = _one_rack(LINEAR, vd), [[]]
    for _ in range(12):
        run = s.solve_steady()
        assert run.converged
        p = s.port_pressure_pa
        dp = p[1, 0] - p[0, 0]
        q = s.devices[0].flow_m3_s / vd
        st = fan_step(racks, {"free_flow_m3_s": np.array([vd])}, [q * vd], [dp], hist)
        if st["move"] < 2e-3:
            break
        s.set_devices([replace(s.devices[0], flow_m3_s=float(st["fan_frac"][0] * vd))])
    assert st["move"] < 2e-3
    assert q == pytest.approx(q_hand, rel=0.03)
    assert dp == pytest.approx(c * q * q, rel=0.15)       # the opening's loss dominates
    assert dp == pytest.approx(60.0 * (1 - q), rel=0.02)  # on the fan's curve


# ------------------------------------------------------------------ a hall
def _contained(crah_m3_s: float, curve: bool = True):
    """The legacy hall with its cold aisle contained (rows A and B, roof on the racks)
    and the CRAHs at ``crah_m3_s`` each; ``curve`` False: no fan curve."""
    text = LEGACY.read_text().replace("airflow_m3_s = 6.5", f"airflow_m3_s = {crah_m3_s}")
    if not curve:
        text = "\n".join(ln for ln in text.splitlines() if not ln.startswith("fan_curve_pa"))
    text += '\n[[halls.containment]]\nname = "CAC"\nkind = "cold-aisle"\nrows = ["A", "B"]\n'
    return loads_facility(text, BUILTIN_DIR)


@pytest.fixture(scope="module")
def starved():
    return solve_hall(_contained(2.5), None, cell_m=CELL, backend="numba-cpu",
                      settings=SETTINGS)


@pytest.fixture(scope="module")
def shipped():
    return solve_hall(load_facility(LEGACY), None, cell_m=CELL, backend="numba-cpu",
                      settings=SETTINGS)


def test_a_starved_contained_aisle_slows_the_racks(starved, shipped):
    """Two CRAHs at 2.5 m3/s into a contained cold aisle: the aisle runs below the room,
    the racks' fans meet that back pressure and fall below their free delivery, the
    summary lists them; in the shipped hall (open aisle, CRAHs at 6.5 m3/s) row A (no
    doors) keeps its airflow within 1 %, row B loses airflow to its passive doors only."""
    s = starved.summary
    assert s["converged"] and s["rack_model"]["settled"] and s["rack_model"]["flow_solves"] >= 2
    rows = {r["name"]: r for r in s["racks"]}
    listed = {r["name"] for r in s["fan_limited_racks"]}
    for name, r in rows.items():
        assert r["hall_dp_pa"] > 5.0, (name, r["hall_dp_pa"])      # aisle below the room
        assert r["airflow_free_frac"] < 0.95 and name in listed
    open_rows = {r["name"]: r for r in shipped.summary["racks"]}
    for name, r in open_rows.items():
        assert abs(r["hall_dp_pa"]) < 3.0
        if "/A/" in name:
            assert r["airflow_free_frac"] > 0.99 and r["back_pressure_pa"] == r["hall_dp_pa"]
        else:                       # the passive door's drop on top of the hall's
            assert r["back_pressure_pa"] - r["hall_dp_pa"] == pytest.approx(
                r["door_dp_pa"], rel=0.15)
            assert r["airflow_free_frac"] < 0.95
    starved_a = [rows[n]["airflow_free_frac"] for n in rows if "/A/" in n]
    assert max(starved_a) < min(open_rows[n]["airflow_free_frac"] for n in open_rows
                                if "/A/" in n) - 0.05


def test_racks_sit_on_their_curve(starved):
    """Every rack's airflow is its curve's at its fans' speed against the back pressure
    it met, to the settling's tolerance (2 % a re-solve, relaxed by 0.7)."""
    fac = _contained(2.5)
    problem, _ = mesh_hall(fac, cell_m=CELL, backend=None)
    racks = hall_racks(fac, problem)
    curve = racks.fan_curves[0]
    for r in starved.summary["racks"]:
        speed = r["airflow_design_frac"] / r["airflow_free_frac"]
        op = operating_point(curve, speed, r["back_pressure_pa"], r["airflow_design_frac"])
        assert r["airflow_design_frac"] == pytest.approx(op["flow_frac"], rel=0.03), r["name"]


def test_energy_closes_with_every_feature_on(starved, shipped):
    """Leaky cabinets, rear doors, a leaky floor, obstructions, the envelope, containment
    and fan curves: heat in equals heat out to 1e-6, rack by rack through the doors."""
    for sol in (starved, shipped):
        assert abs(sol.summary["energy_budget"]["imbalance_frac"]) < 1e-6
        for r in sol.summary["racks"]:
            if r.get("rear_door"):
                assert r["air_heat_w"] + r["door_heat_w"] == pytest.approx(
                    r["servers_air_heat_w"] + r["door_fan_power_w"], rel=1e-9)


def test_without_a_curve_the_racks_ignore_the_pressure():
    """The same starved aisle without ``fan_curve_pa``: no rack has fan keys, none is
    listed, and every cabinet moves the rack model's airflow."""
    fac = _contained(2.5, curve=False)
    problem, _ = mesh_hall(fac, cell_m=CELL, backend=None)
    racks = hall_racks(fac, problem)
    assert not racks.has_fans
    res = racks.response(np.full(len(racks.names), 24.0))
    plain = racks.response(np.full(len(racks.names), 24.0), fan_frac=np.ones(len(racks.names)))
    assert np.array_equal(res["flow_m3_s"], plain["flow_m3_s"])
    assert np.array_equal(res["flow_m3_s"], res["free_flow_m3_s"])


# ------------------------------------------------------------------ bad curves
@pytest.mark.parametrize("curve,words", [
    ("[[0, 60], [0.5, 70], [1.0, 0]]", "must fall"),
    ("[[0.1, 60], [1.0, 0]]", "first point must be at no flow"),
    ("[[0, 60], [0.9, 0]]", "pass through [1.0, 0.0]"),
    ("[[0, 60], [1.0, 0], [0.8, -10]]", "must increase"),
    ("[[0, -5], [1.0, -10]]", "shut-off pressure"),
    ("[[0, 60000], [1.0, 0]]", "beyond 2000 Pa"),
    ("[[0, 60], [1.0, 0], [9, -80]]", "above 5 times"),
    ("[[0, 60]]", "at least 2"),
    ("[[0, 60, 1], [1, 0]]", "fan_curve_pa[0]"),
    ('"steep"', "wrong type"),
])
def test_bad_curves_are_one_clear_line(tmp_path, curve, words):
    text = LEGACY.read_text().replace(
        "fan_curve_pa = [[0.0, 100.0], [0.5, 75.0], [0.8, 36.0], [1.0, 0.0], [1.2, -44.0]]",
        f"fan_curve_pa = {curve}")
    with pytest.raises(FacilityError) as exc:
        loads_facility(text, BUILTIN_DIR)
    errs = [str(d) for d in exc.value.errors]
    assert len(errs) == 1 and "fan_curve_pa" in errs[0] and words in errs[0], errs
    assert "rack_types[legacy-compute]" in errs[0]
    f = tmp_path / "hall.toml"
    f.write_text(text.replace('include = ["racks/racks.toml"]', 'include = ["builtin:racks"]'))
    res = CliRunner().invoke(main, ["validate", str(f)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert [ln for ln in res.output.splitlines() if ln.startswith("error")] == [
        ln for ln in res.output.splitlines() if "fan_curve_pa" in ln]


def test_whatif_table_shows_the_airflow_columns_only_with_curves(capsys):
    """``twin whatif`` prints "min rack airflow %" and "racks <95% airflow" when a case
    has racks with fan curves, and neither without."""
    from twin.cli.studies import _print_whatif
    base = {"case": "baseline", "label": "baseline", "converged": True, "iterations": 10,
            "inlet_max_c": 21.5, "min_airflow_pct": 88.2, "racks_low_airflow": 6, "delta": {}}
    doors = dict(base, case="case-01", label="doors", racks_low_airflow=12,
                 delta={"racks_low_airflow": 6})
    _print_whatif([base, doors], width=120)
    out = capsys.readouterr().out
    assert "min rack airflow %" in out and "racks <95% airflow" in out and "12 (+6)" in out
    plain = [{k: v for k, v in r.items() if k not in ("min_airflow_pct", "racks_low_airflow")}
             for r in (base, doors)]
    _print_whatif(plain, width=120)
    out = capsys.readouterr().out
    assert "airflow" not in out
