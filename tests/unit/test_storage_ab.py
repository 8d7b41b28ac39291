"""``python -m benchmarks.storage_ab`` (the campus with and without its battery and with
each dispatch policy) against short runs of its own: the small hall with a solar contract,
a capped grid and a battery at 0.5 m cells, four hourly steps across a summer evening
(surplus, then shortage). The long run's table is in ``benchmarks/results/``."""
from __future__ import annotations

import json
import shutil

import pytest

from benchmarks.storage_ab import markdown_table, policy_facility, run_ab, write_results
from tests.unit.test_storage_run import POWER as RUN_POWER
from twin.facility import BUILTIN_DIR, load_facility
from twin.loop.simulation import RunSettings, Simulation
from twin.models.storage import POLICIES

# the storage run's small-hall power block, with no dispatch policy or flexible-load mode
# of its own (the A/B sets the policy)
POWER = (RUN_POWER.replace('policy = "renewable-shifting"\n', "")
         .replace('mode = "defer"\n', ""))
# 27 June, 16:00-20:00 local time
SETTINGS = RunSettings(hours=4.0, step_s=3600.0, cell_m=0.5, backend="cpu",
                       rack_airflow="design", solver={"tol_velocity": 5e-3},
                       start_h=24 * 177 + 16)


@pytest.fixture(scope="module")
def ab(tmp_path_factory):
    d = tmp_path_factory.mktemp("fac")
    shutil.copytree(BUILTIN_DIR / "racks", d / "racks")
    f = d / "f.toml"
    f.write_text((BUILTIN_DIR / "small-hall.toml").read_text() + POWER)
    fac = load_facility(f)
    memo: dict = {}
    return fac, memo, run_ab(fac, SETTINGS, memo=memo, peak_shave_mw=[0.1])


def _summary(fac, memo):
    sim = Simulation(fac, SETTINGS, flow_memo=memo)
    assert sim.run() == "complete"
    return sim.summary()


def test_the_rows_are_those_of_runs_with_each_policy_and_without_the_battery(ab):
    fac, memo, res = ab
    rows = {r["case"]: r for r in res["rows"]}
    assert list(rows) == (["no battery"] + [f"battery, {p}" for p in POLICIES]
                          + ["battery, peak-shaving at 0.1 MW"])
    # without the battery: a run of the facility with no [power.storage] (and no flexible load)
    plain = fac.model_copy(update={"power": fac.power.model_copy(
        update={"storage": None, "flexible_load": None})})
    s = _summary(plain, memo)
    no = rows["no battery"]
    assert no["cfe_score"] == pytest.approx(s["cfe_score"], rel=1e-9)
    assert no["cost_mkrw"] * 1e6 == pytest.approx(s["cost_krw"], rel=1e-9)
    assert no["co2_t"] == pytest.approx(s["co2_t"], rel=1e-9)
    assert no["grid_import_mwh"] == pytest.approx(s["dispatch"]["with_storage"]["grid_import_mwh"],
                                                  rel=1e-9)
    assert no["equivalent_full_cycles"] is None
    # with the battery: a run of each policy's facility
    for policy in ("tou-arbitrage", "peak-shaving"):
        d = _summary(policy_facility(fac, policy), memo)["dispatch"]
        r = rows[f"battery, {policy}"]
        assert d["policy"] == policy
        assert r["cfe_score"] == pytest.approx(d["with_storage"]["cfe_score"], rel=1e-12)
        assert r["cost_mkrw"] * 1e6 == pytest.approx(d["with_storage"]["cost_krw"], rel=1e-12)
        assert r["curtailed_mwh"] == pytest.approx(d["curtailed_mwh"], rel=1e-12)
        assert r["equivalent_full_cycles"] == pytest.approx(d["battery"]["equivalent_full_cycles"])
    # the battery moves energy where its policy says. The last hour (1.6 kW of sun for
    # 176 kW) needs 26 kW above the 0.15 MW cap: shifting and arbitrage (one price all
    # evening, so it serves the deficits at once) import less than without the battery;
    # peak shaving to the cap covers only the 26 kW (the 0.2 MWh it starts with is
    # enough: no grid, no surplus charging); at 0.1 MW it holds 0.1 MW
    sh, tou, ps = (rows[f"battery, {p}"] for p in POLICIES)
    for r in (sh, tou):
        assert r["grid_import_mwh"] < no["grid_import_mwh"] and r["cost_mkrw"] < no["cost_mkrw"]
    assert no["shortfall_mwh"] > 0.01 and ps["shortfall_mwh"] == 0.0
    assert ps["grid_import_mwh"] == pytest.approx(no["grid_import_mwh"], rel=1e-9)
    assert ps["charged_from_grid_mwh"] == 0.0 and tou["charged_from_grid_mwh"] == 0.0
    d = _summary(policy_facility(fac, "peak-shaving", 0.1), memo)["dispatch"]
    assert d["grid_import_max_mw"] <= 0.1 * (1 + 1e-12) and d["shortfall_mwh"] == 0.0
    assert rows["battery, peak-shaving at 0.1 MW"]["grid_import_max_mw"] == d["grid_import_max_mw"]
    assert no["grid_import_max_mw"] == pytest.approx(0.15, rel=1e-9)          # at the cap
    assert rows["battery, peak-shaving at 0.1 MW"]["grid_import_mwh"] < no["grid_import_mwh"]
    for r in res["rows"][1:]:
        assert r["closure_max_rel"] <= 1e-9                 # energy closes every step
    for run in res["runs"]:
        assert run["status"] == "complete" and run["steps"] == 4
        assert run.get("without_storage_max_diff", 0.0) == 0.0
    assert [run["flow_solves"] for run in res["runs"]][1:] == [0, 0, 0]  # the memo's flow


def test_the_table_and_files(ab, tmp_path):
    fac, _, res = ab
    table = markdown_table(res["rows"]).splitlines()
    assert len(table) == 2 + 1 + len(POLICIES) + 1
    tou = next(ln for ln in table if "tou-arbitrage" in ln)
    r = next(r for r in res["rows"] if r["case"] == "battery, tou-arbitrage")
    assert f"| {r['cfe_score']:.4f} |" in tou and f"| {r['co2_t']:.1f} |" in tou
    cells = [c.strip() for c in table[2].strip().strip("|").split("|")]
    assert cells[0] == "no battery" and cells.count("") == 4      # no battery columns
    meta = {"date_utc": "2026-12-07T10:00:00Z", "git_revision": "abc", "command": "x",
            "facility": fac.campus.name, "hours": 4.0, "start_day": 178, "step_s": 3600.0,
            "cell_m": 0.5, "rack_airflow": "design", "host": "test"}
    js, md = write_results(tmp_path, res, meta)
    assert js.name == "storage-ab-2026-12-07.json" and md.name == "storage-ab-2026-12-07.md"
    js_b, _ = write_results(tmp_path, res, meta, suffix="b")       # a second run that day
    assert js_b.name == "storage-ab-2026-12-07b.json" and js.exists()
    doc = json.loads(js.read_text())
    assert doc["rows"][0]["case"] == "no battery" and doc["hours"] == 4.0
    assert "\n".join(table) in md.read_text()
    assert not list(tmp_path.glob(".*.tmp"))


def test_baseline_times_each_battery_run_against_a_run_without_it(ab):
    """``--baseline``: a warm-up without the battery (it pays the flow solve), then A/B pairs;
    the rows are those of the plain A/B."""
    from benchmarks.storage_ab import no_storage_facility
    fac, memo, plain_res = ab
    res = run_ab(fac, SETTINGS, policies=["renewable-shifting"], memo=memo, baseline=True)
    labels = [r["policy"] for r in res["runs"]]
    assert labels == ["no battery, warm-up", "no battery, before renewable-shifting",
                      "renewable-shifting"]
    a, b = res["runs"][1], res["runs"][2]
    assert b["baseline_cpu_s"] == a["cpu_s"] > 0
    assert b["cpu_over_baseline"] == pytest.approx(b["cpu_s"] / a["cpu_s"])
    assert all(r["status"] == "complete" and r["flow_solves"] == 0 for r in res["runs"])
    rows = {r["case"]: r for r in res["rows"]}
    old = {r["case"]: r for r in plain_res["rows"]}
    for case in ("no battery", "battery, renewable-shifting"):
        assert rows[case]["cfe_score"] == pytest.approx(old[case]["cfe_score"], rel=1e-12)
    assert no_storage_facility(fac).power.storage is None
