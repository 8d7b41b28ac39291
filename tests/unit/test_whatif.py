"""What-if studies: paths into the facility, case building, and a sweep on a local Dask
cluster (loopback) whose table is right: a warmer supply raises every rack inlet."""
from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from common.errors import InputError
from kernels.solver import SolverSettings
from tests.unit.test_set_sections import BAD_SECTION_PATHS
from twin.cli import main
from twin.facility import BUILTIN_DIR, load_facility
from twin.studies.cases import build_cases, make_case, parse_path, parse_set, read_sweep_file

SMALL = BUILTIN_DIR / "small-hall.toml"
#: Coarse and short: the test set must stay quick on two busy cores. The supply-temperature
#: argument does not need convergence (Boussinesq: a uniform shift of every temperature
#: leaves the flow unchanged), only the same number of steps in every case.
FAST = ["--cell", "0.4", "--max-steps", "300", "--backend", "numba-cpu"]


@pytest.fixture(scope="module")
def small():
    return load_facility(SMALL)


def test_parse_path_keeps_dots_inside_brackets():
    assert parse_path("halls[H1].rows[A.1].count") == [("halls", ["H1"]), ("rows", ["A.1"]),
                                                       ("count", [])]
    assert parse_set("utilization=0.5, 1") == ("utilization", ["0.5", "1"])
    with pytest.raises(InputError, match="PATH=V1"):
        parse_set("halls[H1].rows[A].count")


@pytest.mark.parametrize("text, words", [
    ("halls[H9].cooling_units[CRAH-1].supply_temp_c=20", ["no 'H9'", "choices: H1"]),
    ("halls[H1].cooling_unit[CRAH-1].supply_temp_c=20", ["did you mean 'cooling_units'"]),
    ("halls[H1].cooling_units[CRAH-3].supply_temp_c=20", ["no 'CRAH-3'", "CRAH-1, CRAH-2"]),
    ("halls[H1].cooling_units[CRAH-1].supply_temp_c=warm", ["give a number"]),
    ("halls[H1].cooling_units[CRAH-1].supply_temp_c=60", ["not valid", "<= 45"]),
    ("halls[H1].rows[A].facing=up", ["choose one of +x, -x, +y, -y"]),
    ("halls[H1].rows[A].type=gpu", ["rack type 'gpu' does not exist", "cpu-compute"]),
    ("halls[H1].containment=cold-aisle:A+Z", ["no row 'Z'", "rows: A, B"]),
] + BAD_SECTION_PATHS)
def test_bad_path_or_value_is_one_clear_line(small, text, words):
    with pytest.raises(InputError) as exc:
        build_cases(small, [text])
    msg = str(exc.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg
    assert small.plant is None          # a refused path leaves the facility as read


def test_cases_cover_fields_and_study_switches(small):
    cases = build_cases(small, ["halls[H1].cooling_units[*].supply_temp_c=16,22",
                                "halls[H1].cooling_units[CRAH-2].enabled=false"])
    assert [c.name for c in cases] == ["baseline", "case-01", "case-02"]
    assert cases[0].label == "baseline" and not cases[0].changes
    units = cases[2].facility.halls[0].cooling_units
    assert [u.supply_temp_c for u in units] == [22.0, 22.0]
    assert cases[1].off_units == ("H1/CRAH-2",)
    c = make_case(small, [("halls[H1].containment", "cold-aisle:A+B"),
                          ("halls[H1].rows[B].type", "cpu-compute"),
                          ("halls[H1].rows[A].utilization", "0.4"), ("load", "0.8"),
                          ("halls[H1].cooling_units[CRAH-1].airflow_m3_s", "0")])
    hall = c.facility.halls[0]
    assert hall.containment[0].kind == "cold-aisle" and hall.containment[0].rows == ["A", "B"]
    assert hall.rows[1].type == "cpu-compute" and hall.rows[1].count == 5
    assert c.rack_utilization == (("A", 0.4),) and c.utilization == 0.8
    assert c.off_units == ("H1/CRAH-1",)
    assert c.facility.layout("H1").panels, "containment panels are placed"


def test_sweep_file(tmp_path, small):
    p = tmp_path / "cases.toml"
    p.write_text('[sweep]\n"halls[H1].cooling_units[*].supply_temp_c" = [17, 19]\n'
                 '[[cases]]\nname = "one unit"\nset = { "halls[H1].cooling_units[CRAH-2].enabled" = false }\n')
    grid, named = read_sweep_file(p)
    assert grid == [("halls[H1].cooling_units[*].supply_temp_c", ["17", "19"])]
    assert named == [("one unit", [("halls[H1].cooling_units[CRAH-2].enabled", "false")])]
    cases = build_cases(small, sweep_file=p)
    assert len(cases) == 4 and cases[3].label.startswith("one unit")
    p.write_text("[sweeps]\nx = 1\n")
    with pytest.raises(InputError, match="unknown table"):
        read_sweep_file(p)


@pytest.mark.parametrize("cmd", ["whatif", "fail", "capacity", "view", "report"])
def test_help_has_an_example(cmd):
    r = CliRunner().invoke(main, [cmd, "--help"])
    assert r.exit_code == 0
    assert "Example" in r.output and f"twin {cmd}" in r.output


def test_cli_bad_path_exits_non_zero_with_one_line():
    r = CliRunner().invoke(main, ["whatif", str(SMALL), "--set", "halls[H1].rows[Q].count=2"])
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --set halls[H1].rows[Q].count")
    assert "choices: A, B" in lines[0]


def test_supply_temperature_sweep_on_local_dask_cluster(tmp_path):
    out = tmp_path / "wi"
    r = CliRunner().invoke(main, [
        "whatif", str(SMALL), "--set", "halls[H1].cooling_units[*].supply_temp_c=16,18,20,22",
        "--cell", "0.4", "--max-steps", "4000", "--backend", "numba-cpu",   # to convergence:
        "--workers", "2", "--out", str(out)])                              # differences need it
    assert r.exit_code == 0, r.output
    data = json.loads((out / "whatif.json").read_text())
    cases = data["cases"]
    assert [c["case"] for c in cases] == ["baseline"] + [f"case-0{i}" for i in range(1, 5)]
    assert all(c["converged"] for c in cases), [c["iterations"] for c in cases]
    # the cases ran on Dask workers on the loopback address
    assert all(c["worker"].startswith("tcp://127.0.0.1:") for c in cases)
    sweep = cases[1:]
    supplies = [float(c["changes"][0][1]) for c in sweep]
    assert supplies == [16.0, 18.0, 20.0, 22.0]
    racks = sorted(cases[0]["racks"])
    assert len(racks) == 10
    for name in racks:
        t = [c["racks"][name] for c in sweep]
        assert all(b > a for a, b in zip(t, t[1:])), (name, t)
        # a uniform shift: each +2 K of supply gives close to +2 K at every inlet
        assert all(abs((b - a) - 2.0) < 0.3 for a, b in zip(t, t[1:])), (name, t)
    # the baseline (18 degC) equals the 18 degC case; differences are against it
    assert sweep[1]["inlet_max_c"] == pytest.approx(cases[0]["inlet_max_c"], abs=1e-3)
    assert sweep[0]["delta"]["inlet_mean_c"] == pytest.approx(-2.0, abs=0.3)
    assert sweep[3]["delta"]["inlet_mean_c"] == pytest.approx(4.0, abs=0.5)
    with open(out / "whatif.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["case"] for row in rows] == [c["case"] for c in cases]
    assert float(rows[0]["d_inlet_max_c"]) == 0.0
    assert float(rows[4]["d_inlet_max_c"]) > 3.0
    assert "baseline" in r.output and "case-04" in r.output


def test_case_with_coarse_start_records_it(small):
    """``run_case(..., coarse_start=True)`` (``twin whatif --coarse-start``) solves the case
    from a coarser grid's flow and says so in its record."""
    from twin.studies.cases import build_cases
    from twin.studies.whatif import run_case
    case = build_cases(small, ["utilization=0.5"], None)[1]
    settings = SolverSettings(max_steps=150)
    rec = run_case(case, cell_m=0.3, backend="numba-cpu", settings=settings, coarse_start=True)
    c = rec["coarse_start"]
    assert c["cell_m"] in (0.6, 0.45) and c["steps"] > 0 and c["cells"] < rec["cells"], c
    assert rec["convergence"]["mode"] and rec["iterations"] > 0
    plain = run_case(case, cell_m=0.3, backend="numba-cpu", settings=settings)
    assert plain["coarse_start"] is None and plain["cells"] == rec["cells"]


def test_unconverged_cases_are_marked_and_their_differences_left_blank(tmp_path):
    """A case capped before it settles is marked in the table and has no differences
    (issue 20: unconverged answers looked real)."""
    from twin.studies.whatif import add_deltas
    recs = add_deltas([{"case": "baseline", "converged": True, "inlet_max_c": 25.0},
                       {"case": "case-01", "converged": False, "inlet_max_c": 20.0},
                       {"case": "case-02", "converged": True, "inlet_max_c": 27.0}])
    assert recs[1]["delta"] == {} and recs[2]["delta"]["inlet_max_c"] == pytest.approx(2.0)
    assert add_deltas([{"case": "baseline", "converged": False, "inlet_max_c": 25.0},
                       {"case": "c", "converged": True, "inlet_max_c": 2.0}])[1]["delta"] == {}
    r = CliRunner().invoke(main, ["whatif", str(SMALL), "--set", "utilization=0.5",
                                  "--max-steps", "50", "--cell", "0.4", "--workers", "1",
                                  "--out", str(tmp_path / "wi")])
    assert r.exit_code == 0, r.output
    assert "NOT converged" in r.output and "did not converge" in r.output
    assert max(len(ln) for ln in r.output.splitlines() if "│" in ln) <= 80   # fits a log
    with open(tmp_path / "wi" / "whatif.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[1]["converged"] == "False" and rows[1]["d_inlet_max_c"] == ""
