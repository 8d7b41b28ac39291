"""``twin fail`` and ``twin capacity`` mark the steady solves that stopped at the step cap
(issue 20, item 5: "unconverged cases marked in every table"), as ``twin whatif`` does:
a row of the N-1 table and a line naming the unit; for capacity, the evaluations' lines
and one note under the answer."""
from __future__ import annotations

from twin.cli.studies import _print_fail, capacity_notes


def _fail_rec(unit, before=True, after=True):
    return {"unit": unit, "time_to_recommended_s": None, "time_to_allowable_s": 69.0,
            "worst_racks": [{"rack": "H1/B/01", "inlet_end_c": 34.8}],
            "capacity": {"remaining_capacity_kw": 170.0, "air_load_kw": 152.0,
                         "remaining_airflow_m3_s": 6.0, "rack_airflow_m3_s": 9.6},
            "steady": {"inlet_max_c": 34.8, "converged": after}, "baseline_converged": before,
            "holds_recommended": False, "holds_allowable": False}


def test_fail_table_marks_unconverged_steady_solves(capsys):
    _print_fail([_fail_rec("H1/CRAH-1", before=False), _fail_rec("H1/CRAH-2"),
                 _fail_rec("H1/CRAH-3", after=False)], 5.0)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(ln) for ln in lines) <= 80, out
    rows = " ".join(ln for ln in lines if "steady solves" in ln)     # two units per block
    assert rows.count("NOT converged") == 2 and rows.count("│            converged │") == 1, rows
    flat = " ".join(out.split())
    assert "H1/CRAH-1: the steady state before the failure did not converge" in flat
    assert "H1/CRAH-3: the steady state after the failure did not converge" in flat
    assert "H1/CRAH-2:" not in flat


def test_fail_table_all_converged_has_no_note(capsys):
    _print_fail([_fail_rec("H1/CRAH-1")], 5.0)
    out = capsys.readouterr().out
    assert "NOT converged" not in out and "did not converge" not in out


def test_capacity_names_its_unconverged_solves():
    res = {"evaluations": [{"n": 0, "converged": False}, {"n": 2, "converged": True},
                           {"n": 3, "converged": False}, {"n": 4, "error": "boom"}]}
    (line,) = capacity_notes(res)
    assert line.startswith("NOT converged: the solves at +0, +3 racks stopped at the step cap")
    assert capacity_notes({"evaluations": [{"n": 0, "converged": True}]}) == []
