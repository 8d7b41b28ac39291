"""``twin run`` with storage, a grid import cap and flexible load, end to end and short:
the small hall with a solar contract at 0.5 m cells, six hourly steps across a summer
afternoon and evening (surplus, then shortage); the facility keys' messages; facilities
without the keys unchanged."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from twin.cli import main
from twin.facility import BUILTIN_DIR, FacilityError, load_facility
from twin.loop.simulation import RunSettings, Simulation
from twin.models.storage import BatteryState, dispatch_series
from twin.outputs.report import build_report
from twin.outputs.runfile import read_results

POWER = """
[power]

[power.grid]
capacity_mw = 1.0
carbon_kg_per_kwh = 0.45
tariff = "kepco-tou"
import_cap_mw = 0.15

[[power.contracts]]
name = "solar-ppa"
kind = "solar"
capacity_mw = 1.0
capacity_factor_frac = 0.15
price_krw_per_kwh = 160.0

[power.storage]
energy_mwh = 0.4
power_mw = 0.1
replacement_cost_krw_per_kwh = 300000.0
policy = "renewable-shifting"

[power.flexible_load]
share_frac = 0.3
mode = "defer"
"""
# 27 June, 13:00-19:00 local time: the solar contract runs a surplus, then falls short
SETTINGS = dict(hours=6.0, step_s=3600.0, cell_m=0.5, backend="cpu", rack_airflow="design",
                solver={"tol_velocity": 5e-3}, start_h=24 * 177 + 13)


def facility(tmp_path, power=POWER):
    d = tmp_path / "fac"
    if not d.exists():
        shutil.copytree(BUILTIN_DIR / "racks", d / "racks")
    f = d / "f.toml"
    f.write_text((BUILTIN_DIR / "small-hall.toml").read_text() + power)
    return f


@pytest.fixture(scope="module")
def memo():
    return {}


@pytest.fixture(scope="module")
def run(tmp_path_factory, memo):
    tmp = tmp_path_factory.mktemp("storage")
    out = tmp / "out"
    sim = Simulation(facility(tmp), RunSettings(**SETTINGS), flow_memo=memo)
    assert sim.run(out_dir=out) == "complete"
    return sim, out, json.loads((out / "summary.json").read_text())


def test_storage_run_closes_and_keeps_the_cap(run):
    sim, out, s = run
    d = s["dispatch"]
    data = read_results(out / "results.h5")
    ds, pw = data.series["dispatch"], data.series["power"]
    # energy closes every step, storage included
    lhs = (ds["charge_w"] - ds["discharge_w"] - ds["storage_loss_w"]) * 3600.0
    assert np.max(np.abs(lhs - ds["energy_change_j"])) <= 1e-9 * 0.4 * 3.6e9
    assert d["battery"]["closure_max_rel"] <= 1e-9
    e = np.concatenate([[d["battery"]["stored_start_mwh"] * 3.6e9], ds["stored_energy_j"]])
    np.testing.assert_allclose(np.diff(e), ds["energy_change_j"], rtol=0, atol=1e-9 * 0.4 * 3.6e9)
    # the battery both charged (afternoon surplus) and discharged (evening)
    assert d["battery"]["charged_mwh"] > 0.01 and d["battery"]["discharged_mwh"] > 0.01
    # the import cap holds, or the shortfall is reported; the load balance closes
    assert np.all(pw["grid_import_w"] <= 0.15e6 * (1 + 1e-12))
    load = pw["facility_power_w"]
    served = ds["direct_w"] + ds["discharge_w"] + pw["grid_import_w"] + ds["shortfall_w"] - ds["charge_from_grid_w"]
    np.testing.assert_allclose(served, load, rtol=1e-12)
    # curtailment: carbon-free supply = direct + stored + curtailed
    cfe = pw["carbon_free_supply_w"]
    np.testing.assert_allclose(ds["direct_w"] + ds["charge_w"] - ds["charge_from_grid_w"] + ds["curtailed_w"],
                               cfe, rtol=1e-12)
    assert d["curtailed_mwh"] < d["without_storage"]["curtailed_mwh"]
    # cycle ageing: R E0 / N per equivalent full cycle, the cycles from the cells' throughput
    b = d["battery"]
    # (EFC: energy into plus out of the cells over twice the nameplate)
    into = np.sum(ds["charge_w"] - np.where(ds["charge_w"] > 0, ds["storage_loss_w"], 0.0)) * 3600.0
    out_of = np.sum(ds["discharge_w"] + np.where(ds["discharge_w"] > 0, ds["storage_loss_w"], 0.0)) * 3600.0
    assert ds["throughput_j"][-1] == pytest.approx(into + out_of, rel=1e-12)
    assert b["equivalent_full_cycles"] == pytest.approx(ds["throughput_j"][-1] / (2 * 0.4 * 3.6e9), rel=1e-12)
    assert b["ageing_cost_krw"] == pytest.approx(300000.0 * 400.0 * b["equivalent_full_cycles"] / 6000.0, rel=1e-9)
    assert b["capacity_end_frac"] == pytest.approx(1 - 0.2 * b["equivalent_full_cycles"] / 6000.0, rel=1e-12)


def test_storage_run_metrics_with_and_without(run):
    sim, out, s = run
    d = s["dispatch"]
    w, wo = d["with_storage"], d["without_storage"]
    assert w["grid_import_mwh"] < wo["grid_import_mwh"]
    assert w["co2_t"] < wo["co2_t"]
    assert w["carbon_free_used_share"] > wo["carbon_free_used_share"]
    assert s["cfe_score"] == w["cfe_score"] >= wo["cfe_score"]
    assert s["tariff"].startswith("KEPCO")
    # timeseries.csv and the report carry it
    head = (out / "timeseries.csv").read_text().splitlines()[0]
    assert "dispatch.stored_energy_j" in head and "dispatch.curtailed_w" in head
    html = build_report(out / "results.h5", picture=False)
    assert "Storage and the grid connection" in html and "with storage" in html


def test_flexible_load_throughput_counted(run):
    sim, out, s = run
    f = s["dispatch"]["flexible_load"]
    ds = read_results(out / "results.h5").series["dispatch"]
    assert f["steps_cut"] > 0 and f["work_cut_mwh"] > 0
    # work closes: cut = caught up + lost + waiting
    assert f["work_cut_mwh"] == pytest.approx(f["work_caught_up_mwh"] + f["work_lost_mwh"]
                                              + f["work_waiting_end_mwh"], rel=1e-9)
    # the halls ran the planned utilisation: cut steps ran below the profile
    racks = read_results(out / "results.h5").series["racks"]["utilization_frac"]
    cut = ds["flex_cut_frac"] > 0
    assert np.all(racks[cut].mean(axis=1) < sim.util[cut].mean(axis=1) / (1 - ds["flex_cut_frac"][cut]) + 1e-12)
    assert f["planned_cfe_score_with_flex"] > f["planned_cfe_score_without_flex"]


def test_storage_run_resume_carries_the_battery(run, tmp_path, memo):
    """A run stopped after 3 h and resumed dispatches as one sequential pass over its own
    load (the battery state read back from the results file), and plans the same
    flexible load as the uninterrupted run."""
    sim, out, s = run
    half = tmp_path / "half"
    fac = sim.facility
    Simulation(fac, RunSettings(**{**SETTINGS, "hours": 3.0}), flow_memo=memo).run(out_dir=half)
    rest = Simulation.resume(half, fac, hours=6.0, flow_memo=memo)
    rest.run(out_dir=half)
    b = read_results(half / "results.h5").series
    dp = rest.dispatch
    ref = dispatch_series(b["power"]["facility_power_w"], b["power"]["carbon_free_supply_w"], dp.spec,
                          BatteryState.at_soc(dp.spec, 0.5), 3600.0, dp.policy, import_cap_w=dp.cap_w)
    for name in ("stored_energy_j", "throughput_j", "carbon_free_stored_j", "grid_import_w", "curtailed_w"):
        np.testing.assert_array_equal(getattr(ref, name), b["dispatch" if name != "grid_import_w" else "power"][name],
                                      err_msg=name)
    a = read_results(out / "results.h5").series
    np.testing.assert_array_equal(a["dispatch"]["flex_cut_frac"], b["dispatch"]["flex_cut_frac"])


def test_no_dispatch_without_the_keys(tmp_path, memo):
    plain = POWER.split("[power.storage]")[0].replace("import_cap_mw = 0.15\n", "") \
        .replace('tariff = "kepco-tou"', "tariff_krw_per_kwh = 170.0")
    sim = Simulation(facility(tmp_path, plain), RunSettings(**{**SETTINGS, "hours": 1.0}), flow_memo=memo)
    sim.run()
    assert sim.dispatch is None and "dispatch" not in sim.summary()
    assert "dispatch" not in sim._arrays()


@pytest.mark.parametrize("change, says", [
    ("soc_min_frac = 0.95", "power.storage: soc_min_frac = 0.95 must be below soc_max_frac = 0.9"),
    ("initial_soc_frac = 0.05", "initial_soc_frac = 0.05 must lie within soc_min_frac"),
    ("round_trip_efficiency_frac = 1.5", "power.storage.round_trip_efficiency_frac"),
    ("energy_mwh = 4e9", "a battery stores at most 100,000 MWh; check the unit: MWh"),
    ('policy = "arbitrage"', "policy = 'arbitrage' is not allowed; use one of"),
    ("enrgy = 1.0", "unknown key 'enrgy'; did you mean 'energy_mwh'?"),
    ("peak_shave_mw = 0.1", 'peak_shave_mw is for policy = "peak-shaving"'),
])
def test_storage_keys_refused_with_one_line(tmp_path, change, says):
    key = change.split(" = ")[0]
    lines = [ln for ln in POWER.splitlines() if not ln.startswith(key + " ")]
    at = lines.index("[power.storage]") + 1
    f = facility(tmp_path, "\n".join(lines[:at] + [change] + lines[at:]) + "\n")
    with pytest.raises(FacilityError) as exc:
        load_facility(f)
    msgs = [str(e) for e in exc.value.errors]
    assert len(msgs) == 1 and says in msgs[0], msgs
    r = CliRunner().invoke(main, ["validate", str(f)])
    assert r.exit_code == 2 and "Traceback" not in r.output and says in r.output


@pytest.mark.parametrize("old, new, says", [
    ("import_cap_mw = 0.15", "import_cap_mw = 2.0", "import_cap_mw = 2 is above the connection's capacity_mw = 1"),
    ('tariff = "kepco-tou"', 'tariff = "flat"', "a flat tariff needs tariff_krw_per_kwh"),
    ('policy = "renewable-shifting"', 'policy = "tou-arbitrage"\n', None),
    ('tariff = "kepco-tou"\nimport_cap_mw = 0.15', "tariff_krw_per_kwh = 170.0",
     'storage policy "tou-arbitrage" needs a time-of-use tariff'),
    ("import_cap_mw = 0.15", "", None),
    ('mode = "defer"', 'mode = "defer"\ntrigger = "grid-cap"', None),
])
def test_grid_keys(tmp_path, old, new, says):
    text = POWER.replace(old, new)
    if "time-of-use" in (says or ""):
        text = text.replace('policy = "renewable-shifting"', 'policy = "tou-arbitrage"')
    f = facility(tmp_path, text)
    if says is None:
        load_facility(f)
        return
    with pytest.raises(FacilityError) as exc:
        load_facility(f)
    msgs = [str(e) for e in exc.value.errors]
    assert len(msgs) == 1 and says in msgs[0], msgs


def test_shipped_storage_example_is_the_campus_plus_storage():
    plain = load_facility(BUILTIN_DIR / "ulsan-campus.toml").to_dict()
    ex = load_facility(BUILTIN_DIR / "ulsan-campus-storage.toml").to_dict()
    pw, pw0 = ex.pop("power"), plain.pop("power")
    ex["campus"].pop("name")
    plain["campus"].pop("name")
    assert ex == plain
    assert pw["storage"]["energy_mwh"] == 200.0 and pw["grid"]["import_cap_mw"] == 120.0
    for key in ("storage", "flexible_load"):
        pw.pop(key)
    pw["grid"] = {k: v for k, v in pw["grid"].items() if k not in ("tariff", "import_cap_mw")}
    pw0["grid"].pop("tariff_krw_per_kwh")
    assert pw == pw0


def test_storage_run_opens_in_xarray_with_its_dispatch_group(run):
    """The dispatch group (storage, the grid cap, flexible load) is as CF-clean as the rest
    (issue 20): every group opens, every variable has units and long_name."""
    import xarray as xr
    _, out, _ = run
    with xr.open_datatree(out / "results.h5", engine="h5netcdf") as tree:
        ds = tree["dispatch"].ds
        assert ds["time"].size == 6 and "stored_energy_j" in ds
        assert ds["stored_energy_j"].attrs["units"] == "J"
        bad = [f"{n.path}/{k}" for n in tree.subtree for k, v in n.ds.variables.items()
               if not (v.attrs.get("units") or v.encoding.get("units")) or not v.attrs.get("long_name")]
        assert bad == []
