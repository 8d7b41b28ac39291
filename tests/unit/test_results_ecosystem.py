"""Results in the Python data ecosystem (issue 20): a real ``twin run`` (an ASHRAE design
day, coarse) and ``twin solve`` open in ``xarray.open_datatree`` with the h5netcdf
engine, every variable with ``units`` and ``long_name``, time decoded with the site's
UTC offset; ``summary.json`` validates against its JSON schema; the DataFrames."""
from __future__ import annotations

import json
from pathlib import Path

import h5py
import jsonschema
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

import twin
from common.errors import InputError
from twin.cli import main
from twin.models.climate import ulsan_climate
from twin.models.design_days import period_start_day
from twin.outputs.cf import _UNITS, unit_of
from twin.outputs.results import SUMMARY_SCHEMA_FILE
from twin.outputs.runfile import read_results
from twin.thermal.steady import RESULT_SCHEMA
from twin.thermal.steady import SUMMARY_SCHEMA_FILE as SOLVE_SUMMARY_SCHEMA_FILE

ROOT = Path(__file__).resolve().parents[2]
SMALL = str(ROOT / "meshes" / "small-hall.toml")


@pytest.fixture(scope="module")
def design_day(tmp_path_factory) -> Path:
    """A day of the small hall: the ASHRAE 0.4 % cooling design day, hourly steps, 0.5 m
    cells (the day's length comes from the period: no --hours)."""
    out = tmp_path_factory.mktemp("design-day")
    res = CliRunner().invoke(main, ["run", SMALL, "--period", "design-cooling-0.4", "--step", "1h",
                                    "--cell", "0.5", "--rack-airflow", "design", "--out", str(out),
                                    "--quiet"])
    assert res.exit_code == 0, res.output
    return out


def _missing_units_or_names(tree) -> list[str]:
    bad = []
    for node in tree.subtree:
        for name, var in node.ds.variables.items():
            units = var.attrs.get("units", var.encoding.get("units"))   # time's units are decoded
            if not units or not var.attrs.get("long_name"):
                bad.append(f"{node.path}/{name}")
    return bad


def test_every_group_of_a_run_opens_in_xarray(design_day):
    with xr.open_datatree(design_day / "results.h5", engine="h5netcdf") as tree:
        paths = {node.path for node in tree.subtree}
        assert {"/racks", "/cooling_units", "/halls", "/campus", "/plant", "/power", "/weather",
                "/facility", "/settings", "/snapshots/0000", "/snapshots/0001",
                "/restart"} <= paths
        assert _missing_units_or_names(tree) == []
        racks = tree["racks"].ds
        assert racks["inlet_temp_c"].dims == ("time", "rack")
        assert racks["rack"].values.tolist()[:2] == ["H1/A/01", "H1/A/02"]
        snap = tree["snapshots/0001"].ds
        assert snap["temp_c"].dims == ("x_m", "y_m", "z_m") and snap["x_m"].attrs["units"] == "m"
        assert snap.attrs["time"].endswith("T23:30:00+09:00")


def test_run_data_to_xarray_is_the_file_in_memory(design_day):
    """``twin.run(...)`` returns a RunData; its ``to_xarray()`` is the results file's tree."""
    from twin.outputs.runfile import read_results
    mem = read_results(design_day / "results.h5").to_xarray()
    assert _missing_units_or_names(mem) == []
    with xr.open_datatree(design_day / "results.h5", engine="h5netcdf") as tree:
        for group in ("racks", "campus", "plant"):
            xr.testing.assert_identical(mem[group].ds, tree[group].ds)
    assert mem["campus"].ds["time"].encoding["units"].startswith("hours since 2027-")


def test_run_time_decodes_with_the_site_offset(design_day):
    day = period_start_day(ulsan_climate(), "design-cooling-0.4")
    with xr.open_dataset(design_day / "results.h5", engine="h5netcdf", group="campus") as ds:
        t = ds["time"]
        assert t.encoding["units"] == "hours since 2027-01-01 00:00:00+09:00"
        assert np.issubdtype(t.dtype, np.datetime64)
        # the middle of the first hour of the day, local standard time (UTC+9), as UTC
        first_local = pd.Timestamp("2027-01-01T00:30:00") + pd.Timedelta(days=day - 1)
        assert pd.Timestamp(t.values[0]) == first_local - pd.Timedelta(hours=9)
        assert len(t) == 24


def test_time_bounds_and_cell_methods(design_day):
    """CF 1.10 7.1 and 7.3: every group's ``time`` has ``bounds`` (its step, decoded as the
    time is) and every series says what it is over the step."""
    groups = ("racks", "cooling_units", "halls", "campus", "plant", "power", "weather")
    methods = {}
    for group in (None, *groups):
        with xr.open_dataset(design_day / "results.h5", engine="h5netcdf", group=group) as ds:
            assert ds["time"].encoding.get("bounds", ds["time"].attrs.get("bounds")) == "time_bnds"
            b = ds["time_bnds"]
            assert b.dims == ("time", "nv") and np.issubdtype(b.dtype, np.datetime64)
            hour = np.timedelta64(3600, "s")
            assert (b[:, 1] - b[:, 0] == hour).all(), group
            assert (b[:, 0] + hour / 2 == ds["time"]).all(), group
            assert (b[1:, 0].values == b[:-1, 1].values).all()      # the steps tile the day
            methods.update({f"{group}/{v}": ds[v].attrs.get("cell_methods")
                            for v in ds.data_vars if v != "time_bnds"})
    with xr.open_datatree(design_day / "results.h5", engine="h5netcdf") as tree:
        assert all("time_bnds" in tree[g].ds for g in groups)
    assert methods["racks/inlet_temp_c"] == "time: mean"
    assert methods["campus/pue"] == "time: mean"
    assert methods["power/grid_import_w"] == "time: mean"
    assert methods["weather/dry_bulb_c"] == "time: mean"
    assert methods["power/co2_kg"] == methods["campus/water_l"] == "time: sum"
    assert methods["power/cost_krw"] == "time: sum"
    assert methods["halls/inner_iterations"] is None and methods["halls/converged"] is None
    # labels (hall, type) are not series
    assert methods.get("racks/hall") is None
    # a sum over the day of the per-step amounts is the summary's total
    summary = json.loads((design_day / "summary.json").read_text())
    with xr.open_dataset(design_day / "results.h5", engine="h5netcdf", group="power") as ds:
        assert float(ds["co2_kg"].sum()) / 1e3 == pytest.approx(summary["co2_t"], rel=1e-12)


def test_design_day_run_covers_its_day_at_the_design_dry_bulb(design_day):
    summary = json.loads((design_day / "summary.json").read_text())
    p = summary["period"]
    day = period_start_day(ulsan_climate(), "design-cooling-0.4")
    assert p["name"] == "design-cooling-0.4" and p["start_day"] == day and p["days"] == 1
    d = read_results(design_day / "results.h5", restart=False)
    np.testing.assert_allclose(d.time_h, (day - 1) * 24.0 + 0.5 + np.arange(24))
    assert summary["start_time"] == (pd.Timestamp("2027-01-01T00:00:00+09:00")
                                     + pd.Timedelta(days=day - 1)).isoformat()
    # the day's dry bulb brought to the handbook's 0.4 % figure for Ulsan (33.1 degC):
    # the hourly peak lies between two half-hour samples, so they peak a little below it
    assert p["design_dry_bulb_c"] == 33.1
    db = d.series["weather"]["dry_bulb_c"]
    assert 32.0 < db.max() <= 33.1 + 1e-9
    assert db.max() - p["dry_bulb_offset_k"] == pytest.approx(
        read_results_dry_bulb_without_offset(d), abs=1e-9)


def read_results_dry_bulb_without_offset(d):
    """The run's peak dry bulb of the weather file alone (the same half-hour samples)."""
    from twin.models.weather import weather_at
    return float(np.max(weather_at(ulsan_climate(), d.time_h).dry_bulb_temp_c))


def test_summary_validates_against_its_schema(design_day):
    schema = json.loads(SUMMARY_SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    check = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    summary = json.loads((design_day / "summary.json").read_text())
    check.validate(summary)
    assert summary["weather"]["source"] == "builtin:ulsan"
    assert summary["weather"]["utc_offset_h"] == 9.0
    for broken in ({k: v for k, v in summary.items() if k != "start_time"},
                   {**summary, "start_time": summary["start_time"][:19]},      # no UTC offset
                   {**summary, "schema_version": 2}):
        with pytest.raises(jsonschema.ValidationError):
            check.validate(broken)


def test_run_groups_as_dataframes(design_day):
    d = read_results(design_day / "results.h5", restart=False)
    racks = d.to_dataframe("racks")
    assert racks.index.names == ["time", "rack"] and len(racks) == 24 * 10
    assert str(racks.index.levels[0].tz) == "UTC+09:00"
    assert racks.attrs["units"]["inlet_temp_c"] == "degC"
    np.testing.assert_array_equal(racks["inlet_temp_c"].xs("H1/A/02", level="rack").to_numpy(),
                                  d.series["racks"]["inlet_temp_c"][:, 1])
    campus = d.to_dataframe("campus")
    assert campus.index[0].isoformat().endswith("T00:30:00+09:00") and len(campus) == 24
    with pytest.raises(InputError, match="no group 'nope'"):
        d.to_dataframe("nope")


def test_open_results_tree_group_and_refusals(design_day, tmp_path):
    with twin.open_results(design_day) as tree:
        assert "racks" in tree.children
    with twin.open_results(design_day / "results.h5", group="racks") as ds:
        assert ds["inlet_temp_c"].attrs["long_name"] == "mean air temperature over the rack's intake face"
    with pytest.raises(InputError, match="no group 'nope'"):
        twin.open_results(design_day, group="nope")
    with pytest.raises(InputError, match="not found"):
        twin.open_results(tmp_path / "none.h5")
    old = tmp_path / "old.h5"
    with h5py.File(old, "w") as f:
        f.attrs.update({"schema": "dc-twin-results", "schema_version": 1})
    with pytest.raises(InputError, match="older dc-twin"):
        twin.open_results(old)


def test_solve_result_opens_in_xarray_and_as_dataframes(tmp_path):
    sol = twin.solve(SMALL, cell_m=0.5, max_steps=300)
    sol.write(tmp_path)
    # summary.json against its schema, and the schema refuses a broken one
    schema = json.loads(SOLVE_SUMMARY_SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    summary = json.loads((tmp_path / "summary.json").read_text())
    jsonschema.validate(summary, schema)
    assert summary["schema"] == schema["$id"] == RESULT_SCHEMA
    for broken in ({**summary, "converged": "no"}, {k: v for k, v in summary.items() if k != "racks"},
                   {**summary, "racks": [{**summary["racks"][0], "flow_m3_s": -1.0}]},
                   {**summary, "hot_spots": [{**summary["hot_spots"][0], "position_m": [1.0, 2.0]}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
    with xr.open_datatree(tmp_path / "results.h5", engine="h5netcdf") as tree:
        assert _missing_units_or_names(tree) == []
        h = tree["halls/H1"].ds
        assert h["temp_c"].dims == ("x_m", "y_m", "z_m") and h["temp_c"].attrs["units"] == "degC"
        assert h["pressure_pa"].attrs["units"] == "Pa"
        tree_file = tree["halls/H1"].ds["temp_c"].values
    mem = sol.to_xarray()                                    # the same tree, in memory
    assert _missing_units_or_names(mem) == []
    np.testing.assert_array_equal(mem["halls/H1"].ds["temp_c"].values, tree_file)
    assert mem["halls/H1"].ds["temp_c"].attrs["units"] == "degC"
    racks = sol.racks
    assert racks.index.name == "rack" and list(racks.index) == [r["name"] for r in sol.rack_rows]
    assert racks.loc[sol.worst_rack["name"], "intake_max_c"] == sol.worst_rack["intake_max_c"]
    text = {"hall", "rear_door"}
    assert all(any(c.endswith(suffix) for suffix, _ in _UNITS)       # the unit in every name
               for c in racks.columns if c not in text), list(racks.columns)
    assert "work_frac" in racks.columns and "work_fraction" not in racks.columns
    assert racks.attrs["units"]["flow_m3_s"] == "m3/s" == unit_of("flow_m3_s")
    units = sol.units
    assert units.index.name == "cooling_unit" and len(units) == len(sol.unit_rows)
    assert {"heat_removed_w", "supply_temp_c"} <= set(units.columns)
    assert sol.rack_rows[0]["name"] == racks.index[0] == sol.worst_rack["name"]
    assert sol.racks_frame().equals(racks)                 # the first API's name, kept
