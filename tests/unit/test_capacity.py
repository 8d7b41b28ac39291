"""Capacity: candidate positions continue the rows and pass the facility validator; the
search returns a count with positions."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from kernels.solver import SolverSettings
from twin.cli import main
from twin.facility import BUILTIN_DIR, load_facility, loads_facility
from twin.studies.capacity import (candidate_positions, find_capacity, ordered_candidates,
                                   write_capacity_outputs)
from twin.studies.whatif import solve_case

SMALL = BUILTIN_DIR / "small-hall.toml"


@pytest.fixture(scope="module")
def small():
    return load_facility(SMALL)


def test_candidates_continue_the_rows_and_validate(small, tmp_path):
    cands = candidate_positions(small, "H1", "cpu-compute")
    ends = {(c["row"], c["end"]) for c in cands}
    assert ends == {("A", "end"), ("A", "start"), ("B", "end"), ("B", "start")}
    for c in cands:          # intakes on the row's front line: same aisle as the row
        assert c["facing"] == ("+y" if c["row"] == "A" else "-y")
        assert c["y_m"] == pytest.approx(2.8 if c["row"] == "A" else 5.2)
    base = solve_case(small, "H1", cell_m=0.4, backend="numba-cpu",
                      settings=SolverSettings(max_steps=60, min_steps=50, energy_finish=False))
    acc, skipped, facs = ordered_candidates(small, "H1", cands, base.solver, max_add=30)
    assert len(facs) == len(acc) + 1
    # the ends towards the CRAHs stop where a unit stands; nothing overlaps
    assert any("overlaps cooling unit" in s["reason"] for s in skipped)
    names = [c["name"] for c in acc]
    for end in ("A-E", "B-E", "A-S", "B-S"):      # contiguous from the row outwards
        ks = [int(n[len(end):]) for n in names if n.startswith(end)]
        assert ks == list(range(1, len(ks) + 1))
    last = facs[-1].layout("H1")
    assert len(last.racks) == 10 + len(acc)
    assert all(0 <= r.box.x0 and r.box.x1 <= 12.0 + 1e-9 for r in last.racks)
    # the reviewable change: a few lines that include the facility as read and, loaded,
    # give the facility with those racks (and tiles) added
    n = 3
    res = {"hall": "H1", "rack_type": "cpu-compute", "count": n, "source": str(SMALL),
           "positions": [{k: c[k] for k in ("name", "type", "x_m", "y_m", "facing", "tile")}
                         for c in acc[:n]],
           "base_toml": small.to_toml(), "facility_toml": facs[n].to_toml()}
    files = write_capacity_outputs(tmp_path, res)
    assert [f.name for f in files] == ["capacity.json", "facility-base.toml", "facility-plus-3.toml"]
    change = (tmp_path / "facility-plus-3.toml").read_text()
    assert 'include = [\n    "facility-base.toml",\n]' in change or \
        'include = ["facility-base.toml"]' in change
    assert len(change.splitlines()) < 60 < len((tmp_path / "facility-base.toml").read_text().splitlines())
    changed = load_facility(tmp_path / "facility-plus-3.toml")
    assert changed.to_toml() == facs[n].to_toml()
    assert [r.name for r in changed.hall("H1").racks][-n:] == [c["name"] for c in acc[:n]]
    assert load_facility(tmp_path / "facility-base.toml").to_toml() == small.to_toml()
    none = write_capacity_outputs(tmp_path / "zero", {**res, "count": 0, "positions": []})
    assert [f.name for f in none] == ["capacity.json"]


def test_capacity_count_and_positions(small):
    res = find_capacity(small, "H1", "cpu-compute", cell_m=0.4, backend="numba-cpu",
                        settings=SolverSettings(max_steps=300), max_add=6, workers=1)
    n = res["count"]
    assert 0 <= n <= 6 and res["candidates"] == 6
    assert len(res["positions"]) == n
    for p in res["positions"]:
        assert p["type"] == "cpu-compute" and 0.0 <= p["x_m"] <= 12.0
    assert res["evaluations"][0]["n"] == 0
    passing = {e["n"]: e["passes"] for e in res["evaluations"]}
    assert passing[0] is res["baseline_passes"]
    if n < 6 and res["baseline_passes"]:
        assert passing[n + 1] is False and res["limit"]["n"] == n + 1
    fac = loads_facility(res["facility_toml"], folder=BUILTIN_DIR)     # reads back valid
    assert len(fac.layout("H1").racks) == 10 + n


def test_cli_unknown_rack_type():
    r = CliRunner().invoke(main, ["capacity", str(SMALL), "--rack-type", "cpu-compte"])
    assert r.exit_code == 2
    assert "did you mean 'cpu-compute'" in r.output and "\n" == r.output[-1]
    assert len(r.output.strip().splitlines()) == 1


class _Stop(Exception):
    pass


def test_coarse_start_reaches_the_steady_solves(monkeypatch, small):
    """``twin capacity --coarse-start`` passes the option to ``find_capacity`` and from
    there to the baseline solve."""
    import twin.studies.capacity as capacity
    import twin.studies.whatif as whatif
    from common.errors import InputError
    seen = {}

    def fake_find(*args, **kw):
        seen["cli"] = kw.get("coarse_start")
        raise InputError("stopped by the test")

    monkeypatch.setattr(capacity, "find_capacity", fake_find)
    r = CliRunner().invoke(main, ["capacity", str(SMALL), "--rack-type", "cpu-compute",
                                  "--coarse-start"])
    assert r.exit_code != 0 and "stopped by the test" in r.output
    assert seen["cli"] is True
    monkeypatch.undo()

    def fake_solve_case(*args, **kw):
        seen["solve"] = kw.get("coarse_start")
        raise _Stop

    monkeypatch.setattr(whatif, "solve_case", fake_solve_case)
    with pytest.raises(_Stop):
        find_capacity(small, rack_type="cpu-compute", coarse_start=True)
    assert seen["solve"] is True
