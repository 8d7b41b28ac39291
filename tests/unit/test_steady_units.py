"""The cooling units' airflow in the steady commands (``twin solve`` / ``twin whatif
--units``, :func:`twin.thermal.aisles.match_sealed_aisles`): by default ``matched``, which
sets the in-row coolers of each sealed hot aisle of the shipped AI hall to their racks'
airflow and leaves the fan walls at design; ``design`` runs every unit at its design
airflow (the steady commands' only behaviour before 2026-12-07).
Meshed at 0.3 m (the coarsest it meshes at), and solved only a few pseudo-time steps
(the aisles' pressures of long solves: ``benchmarks/results/sealed-aisles-2026-12-07.md``)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from twin.cli import main
from twin.facility import BUILTIN_DIR, load_facility
from twin.thermal.aisles import MIN_SPEED_FRAC, match_sealed_aisles
from twin.thermal.mesh import mesh_hall

AI = BUILTIN_DIR / "ai-hall.toml"


@pytest.fixture(scope="module")
def meshed():
    fac = load_facility(AI)
    problem, report = mesh_hall(fac, None, cell_m=0.3, utilization=1.0, backend="cpu")
    return fac, problem, report


def test_matched_units_move_their_aisles_racks_air(meshed):
    fac, problem, report = meshed
    new, aisles = match_sealed_aisles(problem, fac, report.hall)
    assert len(aisles) == 2                                  # HAC-1 (rows A, B), HAC-2 (C, D)
    by_name = {d.name: d for d in problem.devices}
    after = {d.name: d for d in new.devices}
    for a in aisles:
        assert len(a["racks"]) == 16 and len(a["units"]) == 16
        racks_q = sum(by_name[r].flow_m3_s for r in a["racks"])
        assert a["racks_airflow_m3_s"] == pytest.approx(racks_q, rel=1e-12)
        # at design the in-row coolers move more than their racks: the rest would come
        # through the doors' leaks
        assert a["units_design_airflow_m3_s"] > 1.2 * racks_q
        assert sum(after[u].flow_m3_s for u in a["units"]) == pytest.approx(racks_q, rel=1e-12)
        assert MIN_SPEED_FRAC <= a["speed_frac"] < 1.0
        speeds = [after[u].flow_m3_s / by_name[u].flow_m3_s for u in a["units"]]
        assert np.ptp(speeds) < 1e-12                       # one speed in the aisle
    in_aisles = {u for a in aisles for u in a["units"]}
    for d in problem.devices:                               # the rest as designed
        if d.name not in in_aisles:
            assert after[d.name].flow_m3_s == d.flow_m3_s, d.name
    assert [d.flow_m3_s for d in problem.devices] != [d.flow_m3_s for d in new.devices]


def test_a_hall_without_sealed_aisles_is_left_as_it_is():
    fac = load_facility(BUILTIN_DIR / "small-hall.toml")
    problem, report = mesh_hall(fac, None, cell_m=0.4, utilization=1.0, backend="cpu")
    new, aisles = match_sealed_aisles(problem, fac, report.hall)
    assert aisles == [] and new is problem


def _solve(tmp_path, *extra):
    out = tmp_path / "s.json"
    r = CliRunner().invoke(main, ["solve", str(AI), "--cell", "0.3", "--max-steps", "20",
                                  "--racks", "fixed", "--backend", "cpu", "--json", str(out),
                                  *extra])
    assert r.exit_code == 3, r.output                  # 20 steps: not converged (exit 3)
    return json.loads(out.read_text()), r.output


def test_twin_solve_units_option(tmp_path):
    design, text0 = _solve(tmp_path, "--units", "design")
    assert design["units"] == "design" and len(design["sealed_aisles"]) == 2
    for a in design["sealed_aisles"]:
        assert a["speed_frac"] == 1.0 and a["units_airflow_m3_s"] == a["units_design_airflow_m3_s"]
    assert "the difference passes the door leaks" in " ".join(text0.split())
    matched, text = _solve(tmp_path)                          # the default
    assert matched["units"] == "matched" and len(matched["sealed_aisles"]) == 2
    assert "sealed aisle of 16 racks: its 16 units matched" in text
    q0 = {u["name"]: u["airflow_m3_s"] for u in design["cooling_units"]}
    q1 = {u["name"]: u["airflow_m3_s"] for u in matched["cooling_units"]}
    for a in matched["sealed_aisles"]:
        assert sum(q1[u] for u in a["units"]) == pytest.approx(a["racks_airflow_m3_s"], rel=1e-9)
        assert sum(q0[u] for u in a["units"]) == pytest.approx(a["units_design_airflow_m3_s"], rel=1e-9)
    fw = [n for n in q0 if "FW" in n]
    assert fw and all(q1[n] == q0[n] for n in fw)
    r = CliRunner().invoke(main, ["solve", str(AI), "--units", "half"])
    assert r.exit_code == 2 and "Traceback" not in r.output and "'half' is not one of" in r.output


def test_whatif_case_units_matched():
    from kernels.solver import SolverSettings
    from twin.studies.whatif import solve_case
    fac = load_facility(AI)
    sol = solve_case(fac, cell_m=0.3, backend="cpu", settings=SolverSettings(max_steps=5),
                     rack_model="fixed", units="matched", off_units=["IR-A-01"])
    s = sol.summary
    assert s["units"] == "matched"
    flows = {d.name: d.flow_m3_s for d in sol.solver.devices}
    assert flows["AI-1/IR-A-01"] == 0.0                 # switched off stays off
    assert 0.3 * 1.2 <= flows["AI-1/IR-A-02"] < 1.2     # matched, below design
    assert flows["AI-1/FW-01"] == 3.5                   # the fan walls at design


def test_the_sealed_aisles_benchmark_runs(capsys):
    from benchmarks.sealed_aisles import main as bench
    assert bench(["--steps", "3", "--design-steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "2 sealed aisle(s)" in out and "+5.97 m3/s through the doors" in out
    assert "matched: 3 steps" in out and "design: 3 steps" in out
