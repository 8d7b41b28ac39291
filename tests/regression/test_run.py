"""``twin run`` on the small hall: it runs, energy closes every step, the linear thermal
response agrees with direct solves, and a run resumed after an interruption equals an
uninterrupted one.

Kept within about a minute on 2 CPU cores: 0.3 m cells (15,600), 2 h at 30-minute steps,
a steady criterion of 5e-3 and the racks' design airflow in the field (one flow field,
``rack_airflow="design"``); the runs of this module share that flow solve through the
simulation's flow memo (exact: its keys hash everything the solve depends on).
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from common.errors import InputError
from twin.cli import main
from twin.facility import BUILTIN_DIR
from twin.loop.simulation import RunSettings, Simulation, parse_duration_s
from twin.outputs.runfile import read_results

SMALL = BUILTIN_DIR / "small-hall.toml"
FAST = dict(hours=2.0, step_s=1800.0, cell_m=0.3, backend="cpu", rack_airflow="design",
            solver={"tol_velocity": 5e-3})
SUMMARY_KEYS = ("pue", "it_energy_kwh", "facility_energy_kwh", "max_rack_inlet_c", "rci_hi_pct",
                "rci_lo_pct", "rti_pct", "racks_over_recommended", "wue_l_per_kwh", "co2_t",
                "renewable_share", "cells", "backend", "wall_s")


@pytest.fixture(scope="module")
def memo():
    return {}


@pytest.fixture(scope="module")
def full(tmp_path_factory, memo):
    out = tmp_path_factory.mktemp("full")
    sim = Simulation(SMALL, RunSettings(**FAST), flow_memo=memo)
    status = sim.run(out_dir=out)
    return sim, out, status


def test_small_hall_runs(full):
    sim, out, status = full
    assert status == "complete" and sim.k == 4
    summary = json.loads((out / "summary.json").read_text())
    for key in SUMMARY_KEYS:
        assert key in summary, key
    assert 1.05 < summary["pue"] < 2.0
    assert summary["cells"] == 15600 and summary["backend"] == "numba-cpu"
    # the supply controller holds the hottest inlet just under its 27 degC target
    assert 20.0 < summary["max_rack_inlet_c"] <= 27.0 + 0.05
    assert summary["racks_over_recommended"] == 0
    assert 0.0 <= summary["rci_hi_pct"] <= 100.0 and 0.0 <= summary["rci_lo_pct"] <= 100.0
    assert 50.0 < summary["rti_pct"] < 150.0
    assert summary["wue_l_per_kwh"] > 0 and summary["co2_t"] > 0
    assert summary["renewable_share"] == 0.0          # the small hall has no renewable assets
    d = read_results(out / "results.h5")
    assert d.status == "complete" and d.steps_done == 4
    assert len(d.snapshots) == 2                        # first and last step
    assert d.snapshots[0].fields["temp_c"].shape == (40, 30, 13)


def test_energy_closes_every_step(full):
    _, out, _ = full
    d = read_results(out / "results.h5")
    r, c, p = d.series["racks"], d.series["campus"], d.series["plant"]
    # IT power = heat into air + heat into liquid, per rack and step
    np.testing.assert_allclose(r["power_w"], r["heat_to_air_w"] + r["heat_to_liquid_w"], rtol=1e-12)
    np.testing.assert_allclose(c["it_power_w"], r["power_w"].sum(axis=1), rtol=1e-12)
    # the air side: heat the racks give = heat the units take, to the solver's tolerance
    assert np.all(np.abs(c["air_balance_frac"]) < 2e-3)
    np.testing.assert_allclose(d.series["cooling_units"]["heat_removed_w"].sum(axis=1), c["cooler_heat_w"])
    # plant: heat rejected = heat removed + compressor work + pump work
    np.testing.assert_allclose(p["heat_rejected_w"],
                               p["heat_removed_w"] + p["chiller_power_w"] + p["pump_power_w"], rtol=1e-9)
    # the plant removes what the units took plus their fan heat
    np.testing.assert_allclose(p["chw_load_w"], c["cooler_heat_w"]
                               + d.series["cooling_units"]["fan_power_w"].sum(axis=1), rtol=1e-12)
    # facility power = IT + cooling + electrical losses
    pw = d.series["power"]
    np.testing.assert_allclose(pw["facility_power_w"], pw["it_power_w"] + pw["cooling_power_w"]
                               + pw["pdu_loss_w"] + pw["ups_loss_w"] + pw["transformer_loss_w"], rtol=1e-12)


def test_linear_response_matches_direct_solves(full):
    _, out, _ = full
    d = read_results(out / "results.h5")
    h = d.series["halls"]
    err = h["linear_error_k"][:, 0]
    checked = np.isfinite(err)
    assert checked[0] and checked[-1]                   # snapshots are checked
    assert np.all(err[checked] < 0.1)
    assert np.all(h["converged"] == 1)


def test_resume_after_interrupt_equals_uninterrupted(full, memo, tmp_path):
    _, full_out, _ = full
    out = tmp_path / "run"
    sim = Simulation(SMALL, RunSettings(**FAST), flow_memo=memo)

    def stop_after_two(s, rec):
        if s.k == 2:
            raise KeyboardInterrupt
    assert sim.run(stop_after_two, out_dir=out) == "interrupted"
    part = read_results(out / "results.h5")
    assert part.status == "interrupted" and part.steps_done == 2
    assert len(part.series["campus"]["pue"]) == 2       # completed steps kept, plant included

    sim2 = Simulation.resume(out)                       # no memo: the flow comes from the file
    assert sim2.k == 2
    assert sim2.run(out_dir=out) == "complete"
    assert sim2.counters["flow_solves"] == 0
    a, b = read_results(full_out / "results.h5"), read_results(out / "results.h5")
    assert b.status == "complete" and b.steps_done == a.steps_done == 4
    np.testing.assert_array_equal(a.time_h, b.time_h)
    for g, cols in a.series.items():
        assert set(cols) == set(b.series[g]), g
        for name, arr in cols.items():
            np.testing.assert_allclose(b.series[g][name], arr, rtol=1e-9, atol=1e-9, err_msg=f"{g}/{name}")
    assert [s.step for s in a.snapshots] == [s.step for s in b.snapshots]
    for sa, sb in zip(a.snapshots, b.snapshots):
        np.testing.assert_allclose(sb.fields["temp_c"], sa.fields["temp_c"], rtol=0, atol=1e-5)
    for key in SUMMARY_KEYS:
        if key != "wall_s":
            if isinstance(a.summary[key], (str, bool)) or a.summary[key] is None:
                assert b.summary[key] == a.summary[key], key
            else:
                assert b.summary[key] == pytest.approx(a.summary[key], rel=1e-9, nan_ok=True), key


def test_direct_mode_agrees_with_linear(full, memo):
    sim_l = full[0]
    sim = Simulation(SMALL, RunSettings(**{**FAST, "hours": 0.5, "thermal": "direct"}), flow_memo=memo)
    assert sim.run() == "complete"
    hd = sim.series["racks"]["inlet_temp_c"][0]
    hl = sim_l.series["racks"]["inlet_temp_c"][0]
    np.testing.assert_allclose(hd, hl, atol=0.2)
    assert abs(sim.series["campus"]["air_balance_frac"][0]) < 2e-3
    assert sim.counters["direct_steps"] == 1 and sim.counters["response_builds"] == 0


def test_cli_resume_of_complete_run_and_refusals(full, tmp_path):
    _, full_out, _ = full
    out = tmp_path / "copy"
    shutil.copytree(full_out, out)
    runner = CliRunner()
    res = runner.invoke(main, ["run", str(SMALL), "--out", str(out), "--resume"])
    assert res.exit_code == 0, res.output
    assert "PUE" in res.output and "steps done" in res.output
    # the kernels are readied first, said in plain lines when the output is not a terminal
    assert "preparing the thermal kernels" in res.output and "kernels ready in" in res.output
    res = runner.invoke(main, ["run", str(SMALL), "--out", str(out), "--quiet"])
    assert res.exit_code == 2 and "--resume" in res.output
    res = runner.invoke(main, ["run", str(SMALL), "--out", str(out), "--resume", "--step", "1h"])
    assert res.exit_code == 2 and "--step differ" in res.output
    # the same command again with --resume appended (a batch script) is accepted
    res = runner.invoke(main, ["run", str(SMALL), "--out", str(out), "--resume", "--step", "30m",
                               "--cell", "0.3", "--quiet"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["run", str(SMALL), "--out", str(tmp_path / "none"), "--resume"])
    assert res.exit_code == 2 and "nothing to resume" in res.output


def test_settings_and_durations():
    assert parse_duration_s("15m") == 900.0
    assert parse_duration_s("1h") == 3600.0
    assert parse_duration_s("30s") == 30.0
    assert parse_duration_s(600) == 600.0
    with pytest.raises(InputError):
        parse_duration_s("soon")
    with pytest.raises(InputError):
        RunSettings(hours=1.0, step_s=700.0)           # not a whole number of steps
    with pytest.raises(InputError):
        RunSettings(thermal="fast")
    with pytest.raises(InputError):
        RunSettings(profile="weekly")
    s = RunSettings(hours=8760, step_s=3600)
    assert s.n_steps == 8760
    assert RunSettings.from_dict(s.to_dict()) == s


# --- a tiny liquid-cooled campus: two identical halls, CDUs on a shared manifold, dry
# --- coolers, on-site PV and a wind PPA (seconds, not minutes: 4,000 cells, bounded solve)
_HALL = """
include = ["builtin:racks"]
[campus]
name = "Tiny liquid hall"
lat_deg = 35.5
lon_deg = 129.3
weather = "builtin:ulsan"

[[halls]]
name = "L"
length_m = 6.0
width_m = 6.0
ceiling_height_m = 3.0

[[halls.racks]]
name = "G1"
type = "gb200-nvl72"
x_m = 1.8
y_m = 2.4
facing = "-y"

[[halls.racks]]
name = "N1"
type = "network"
x_m = 3.0
y_m = 2.4
facing = "-y"

[[halls.cooling_units]]
name = "CU"
type = "crah-front"
x_m = 4.6
y_m = 4.6
width_m = 0.8
depth_m = 0.8
height_m = 1.5
facing = "-y"
airflow_m3_s = 2.0
supply_temp_c = 20.0
capacity_kw = 40.0

[[halls.cdus]]
name = "CDU-1"
capacity_kw = 120.0
approach_k = 3.0
serves = ["*"]

[[halls.cdus]]
name = "CDU-2"
capacity_kw = 120.0
approach_k = 3.0
serves = ["*"]
"""

_CAMPUS = """
include = ["builtin:racks"]
[campus]
name = "Tiny campus"
lat_deg = 35.5
lon_deg = 129.3
weather = "builtin:ulsan"

[[buildings]]
name = "B"

[[halls]]
name = "L"
file = "hall.toml"
building = "B"
count = 2

[plant]
facility_water_supply_temp_c = 32.0

[[plant.dry_coolers]]
name = "DRY"
capacity_kw = 400.0
approach_k = 6.0
fan_power_kw = 4.0

[power]
solar_mw = 0.05

[power.grid]
capacity_mw = 1.0
carbon_kg_per_kwh = 0.45
tariff_krw_per_kwh = 170.0

[[power.contracts]]
name = "wind"
kind = "offshore-wind"
capacity_mw = 0.2
capacity_factor_frac = 0.38
price_krw_per_kwh = 190.0
"""


def test_liquid_campus_replicas_cdus_and_renewables(tmp_path):
    (tmp_path / "hall.toml").write_text(_HALL)
    (tmp_path / "campus.toml").write_text(_CAMPUS)
    settings = RunSettings(hours=1.0, step_s=1800.0, cell_m=0.3, backend="cpu", rack_airflow="design",
                           start_h=180 * 24 + 10.0, solver={"tol_velocity": 1e-2, "max_steps": 3000})
    sim = Simulation(tmp_path / "campus.toml", settings)
    assert sim.run(out_dir=tmp_path / "out") == "complete"
    d = read_results(tmp_path / "out" / "results.h5")
    assert list(d.labels["halls"]["hall"]) == ["L01"] and list(d.labels["halls"]["replicas"]) == [2]
    r, c, p, cd = d.series["racks"], d.series["campus"], d.series["plant"], d.series["cdus"]
    # replicas: the campus is twice the solved hall
    np.testing.assert_allclose(c["it_power_w"], 2 * d.series["halls"]["it_power_w"][:, 0], rtol=1e-12)
    # IT = air + liquid; the liquid heat splits equally over the two CDUs of the manifold
    np.testing.assert_allclose(r["power_w"], r["heat_to_air_w"] + r["heat_to_liquid_w"], rtol=1e-12)
    assert np.all(r["heat_to_liquid_w"][:, 0] > 0.8 * r["power_w"][:, 0])      # the NVL72
    np.testing.assert_allclose(cd["heat_w"][:, 0], cd["heat_w"][:, 1])
    np.testing.assert_allclose(cd["heat_w"].sum(axis=1), r["heat_to_liquid_w"].sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(p["liquid_load_w"], 2 * (cd["heat_w"] + cd["pump_power_w"]).sum(axis=1),
                               rtol=1e-12)
    assert np.all(np.abs(c["air_balance_frac"]) < 2e-3)
    np.testing.assert_allclose(p["heat_rejected_w"],
                               p["heat_removed_w"] + p["chiller_power_w"] + p["pump_power_w"], rtol=1e-9)
    assert np.all(p["dry_cooler_heat_w"] > 0)
    s = d.summary
    assert s["halls_represented"] == 2
    assert 0 < s["renewable_share"] <= 1 and s["cfe_score"] <= s["renewable_share"] + 1e-12
    assert s["co2_t"] > 0 and s["pue"] > 1.0


def test_run_writes_its_time_series_as_csv(full):
    """``timeseries.csv``: a row per step, clock time beside ``time_h``, the campus series
    as ``group.name`` columns equal to the results file's."""
    import csv
    _, out, _ = full
    with open(out / "timeseries.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    d = read_results(out / "results.h5")
    assert len(rows) == d.steps_done == 4
    assert rows[0]["local_time"] == "2027-01-01T00:15+09:00" and float(rows[0]["time_h"]) == 0.25
    for key in ("campus.pue", "campus.it_power_w", "weather.dry_bulb_c", "racks.inlet_max_c"):
        assert key in rows[0], key
    pue = [float(r["campus.pue"]) for r in rows]
    assert pue == pytest.approx(list(d.series["campus"]["pue"]), rel=1e-12)


def test_run_report_reads_in_clock_time_and_names_hot_spots(full, tmp_path):
    """The report of a run (issue 20): charts in clock time, the hot spots named by their
    rack, no empty renewable chart for a campus without renewable supply."""
    import re

    from twin.outputs.report import build_report
    _, out, _ = full
    page = build_report(out / "results.h5", picture=False)
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert svgs and all("local standard time" in s for s in svgs), "charts not in clock time"
    assert ">Jan 01<" in svgs[0] and ">01:00<" in svgs[0]
    assert not any("Renewable share" in s for s in svgs)
    assert "No renewable supply in this facility" in page
    assert ">dry bulb<" in page and "dry_bulb_c" not in page
    hot = re.search(r'<section id="hot-spots">(.*?)</section>', page, flags=re.S).group(1)
    names = re.findall(r"<tr><td>([^<]*)</td>", hot)
    assert names and all(re.fullmatch(r"H1/[AB]/0\d", n) for n in names), names


def test_weather_and_grid_what_ifs(full, memo):
    """A heat wave (+8 K dry bulb at the same moisture) and a grid scenario: the outdoor
    series move as asked, the wet bulb less than the dry bulb, the plant works harder, the
    carbon follows the grid's intensity; the what-if is in the summary (issue 20)."""
    _, out, _ = full
    base = read_results(out / "results.h5")
    sim = Simulation(SMALL, RunSettings(**FAST, dry_bulb_offset_k=8.0, grid_carbon_kg_per_kwh=0.2),
                     flow_memo=memo)
    assert sim.run() == "complete"
    hot = sim.run_data()
    wb, wh = base.series["weather"], hot.series["weather"]
    assert np.allclose(wh["dry_bulb_c"] - wb["dry_bulb_c"], 8.0)
    assert np.allclose(wh["dew_point_c"], wb["dew_point_c"])
    d_wb = wh["wet_bulb_c"] - wb["wet_bulb_c"]
    assert np.all(d_wb > 0.5) and np.all(d_wb < 8.0)
    assert np.all(wh["rel_humidity_frac"] < wb["rel_humidity_frac"])
    cool = hot.series["campus"]["cooling_power_w"].sum()
    assert cool >= base.series["campus"]["cooling_power_w"].sum()
    s = hot.summary
    assert s["grid_carbon_kg_per_kwh"] == 0.2 and s["what_if"]["dry_bulb_offset_k"] == 8.0
    assert np.allclose(hot.series["power"]["carbon_kg_per_kwh"], 0.2)
    with pytest.raises(InputError, match="wind_scale"):
        RunSettings(**FAST, wind_scale=-1.0)


def test_renewable_what_ifs_scale_the_supply():
    """--wind-scale 0 (the wind drops) removes the wind contracts' supply and nothing else;
    --solar-scale 0.5 halves the solar (the Ulsan campus has both)."""
    from types import SimpleNamespace

    from twin.facility import load_facility
    from twin.loop.campus import renewable_supply
    from twin.loop.specs import _weather_spec
    from twin.models.weather import load_weather
    fac = load_facility(BUILTIN_DIR / "ulsan-campus.toml")
    weather = load_weather(_weather_spec(fac))
    t = np.arange(0.5, 24 * 14, 1.0)

    def supply(**kw):
        sim = SimpleNamespace(facility=fac, weather=weather, settings=RunSettings(**kw))
        return renewable_supply(sim, t)

    base, calm, dim = supply(), supply(wind_scale=0.0), supply(solar_scale=0.5)
    assert base["wind_w"].sum() > 0 and base["contract_solar_w"].sum() + base["onsite_pv_w"].sum() > 0
    assert np.all(calm["wind_w"] == 0)
    assert np.allclose(calm["renewable_w"], base["renewable_w"] - base["wind_w"])
    assert np.allclose(dim["onsite_pv_w"], 0.5 * base["onsite_pv_w"])
    assert np.allclose(dim["contract_solar_w"], 0.5 * base["contract_solar_w"])
    assert np.allclose(dim["wind_w"], base["wind_w"])


def test_hottest_week_is_found_in_the_sites_weather_and_run(tmp_path):
    """--week hottest starts the run on the first day of the site's hottest week (Ulsan's
    built-in year: high summer); the coldest week lies in winter (issue 20)."""
    from twin.facility import load_facility
    from twin.loop.specs import _weather_spec
    from twin.models.weather import extreme_window_start_day, load_weather
    weather = load_weather(_weather_spec(load_facility(SMALL)))
    hot = extreme_window_start_day(weather, 7, hottest=True)
    cold = extreme_window_start_day(weather, 7, hottest=False)
    assert 182 <= hot <= 243 and (cold <= 59 or cold >= 335), (hot, cold)
    daily = weather.dry_bulb_temp_c.reshape(365, 24).mean(axis=1)
    week = np.roll(daily, -(hot - 1))[:7].mean()
    assert all(np.roll(daily, -d)[:7].mean() <= week + 1e-12 for d in range(365))
    out = tmp_path / "hot"
    res = CliRunner().invoke(main, ["run", str(SMALL), "--week", "hottest", "--hours", "1",
                                    "--step", "30m", "--cell", "0.4", "--rack-airflow", "design",
                                    "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    d = read_results(out / "results.h5", restart=False)
    assert d.settings["start_h"] == (hot - 1) * 24.0
    res = CliRunner().invoke(main, ["run", str(SMALL), "--week", "hottest", "--start-day", "3",
                                    "--out", str(tmp_path / "both")])
    assert res.exit_code == 2 and "give one of them" in res.output
