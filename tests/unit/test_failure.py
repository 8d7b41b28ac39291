"""N-1: a cooling unit fails after steady state; the time until rack inlets pass the
limits is finite for a case that reaches them."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import twin
from twin.cli import main
from twin.facility import BUILTIN_DIR, load_facility
from twin.studies.cases import make_case
from twin.studies.failure import time_to_limit

SMALL = BUILTIN_DIR / "small-hall.toml"


def test_time_to_limit_interpolates():
    t = [0.0, 10.0, 20.0, 30.0]
    assert time_to_limit(t, [20.0, 24.0, 28.0, 30.0], 27.0) == pytest.approx(17.5)
    assert time_to_limit(t, [28.0, 29.0, 30.0, 31.0], 27.0) == 0.0       # already above
    assert time_to_limit(t, [20.0, 21.0, 22.0, 23.0], 27.0) is None      # not reached
    assert time_to_limit(t, [20.0, 27.0, 27.0, 28.0], 27.0) == pytest.approx(20.0)  # leaves 27


def test_cli_refuses_unit_and_each_and_unknown_units():
    r = CliRunner().invoke(main, ["fail", str(SMALL), "--unit", "CRAH-1", "--each"])
    assert r.exit_code == 2 and "not both" in r.output
    r = CliRunner().invoke(main, ["fail", str(SMALL), "--unit", "CRAH-7"])
    assert r.exit_code == 2
    assert "no cooling unit 'CRAH-7'" in r.output and "CRAH-1, CRAH-2" in r.output
    r = CliRunner().invoke(main, ["fail", str(SMALL), "--unit", "CRAH-1", "--minutes", "-1"])
    assert r.exit_code == 2 and "--minutes" in r.output


def test_crah_failure_reaches_the_recommended_limit(tmp_path):
    # The shipped hall at 16 degC supply starts below 27 degC at every inlet; CRAH-1 feeds
    # the hot end of row A, and the one unit left moves 6 of the racks' 9.6 m3/s.
    fac = make_case(load_facility(SMALL),
                    [("halls[H1].cooling_units[*].supply_temp_c", "16")]).facility
    path = tmp_path / "hall16.toml"
    path.write_text(fac.to_toml())
    out = tmp_path / "n1"
    r = CliRunner().invoke(main, ["fail", str(path), "--unit", "CRAH-1", "--minutes", "1",
                                  "--cell", "0.4", "--max-steps", "400",
                                  "--backend", "numba-cpu", "--out", str(out)])
    assert r.exit_code == 0, r.output
    rec = json.loads((out / "fail.json").read_text())["cases"][0]
    assert rec["unit"] == "H1/CRAH-1"
    assert not rec["already_above_recommended"]
    t27 = rec["time_to_recommended_s"]
    assert t27 is not None and 0.0 < t27 < 60.0
    assert rec["time_to_allowable_s"] is None or rec["time_to_allowable_s"] > t27
    # the series behind it: the hottest inlet starts below and ends above 27 degC
    T = np.array(rec["rack_inlet_c"])
    assert T.shape == (len(rec["time_s"]), 10)
    assert T[0].max() < 27.0 < T[-1].max()
    assert rec["worst_racks"][0]["inlet_end_c"] == pytest.approx(T[-1].max(), abs=1e-3)
    cap = rec["capacity"]
    assert cap["capacity_ok"] and not cap["airflow_ok"]     # 170 kW for 156 kW, short of air
    assert cap["remaining_units"] == ["H1/CRAH-2"]
    assert rec["steady"]["inlet_max_c"] > 27.0 and rec["holds"] is False
    assert "not reached" not in r.output.split("H1/CRAH-1", 1)[1].split("\n", 1)[0]
    with h5py.File(out / "fail.h5") as f:
        g = f["failure/CRAH-1"]
        assert g["rack_inlet_c"].shape == T.shape
        assert g.attrs["time_to_recommended_s"] == pytest.approx(t27)
        assert f["halls/H1/temp_c"].shape == (30, 22, 10)
    # fail.h5 opens in xarray without our code, every variable with units and a long name
    import xarray as xr
    with xr.open_datatree(out / "fail.h5", engine="h5netcdf") as tree:
        assert {"/halls/H1", "/failure/CRAH-1"} <= {node.path for node in tree.subtree}
        assert tree.attrs["Conventions"] == "CF-1.10"
        for node in tree.subtree:
            for name, var in node.to_dataset(inherit=False).variables.items():
                assert var.attrs.get("units") and var.attrs.get("long_name"), (node.path, name)
        g = tree["failure/CRAH-1"].ds
        assert g["rack_inlet_c"].dims == ("time_s", "rack")
        assert g["rack"].values.tolist() == rec["rack_names"]
        np.testing.assert_allclose(g["rack_inlet_c"].values, T, atol=6e-4)   # JSON: 3 decimals
        np.testing.assert_allclose(g["time_s"].values, rec["time_s"])
        assert g.attrs["unit"] == "H1/CRAH-1" and not g.attrs["holds_recommended"]
        assert tree["halls/H1"].ds["temp_c"].dims == ("x_m", "y_m", "z_m")
    with twin.open_results(out / "fail.h5", group="failure/CRAH-1") as ds:
        assert float(ds["inlet_max_c"][-1]) == pytest.approx(T[-1].max(), abs=1e-3)


class _Stop(Exception):
    pass


def test_coarse_start_reaches_the_steady_solve(monkeypatch):
    """``twin fail --coarse-start`` passes the option down to the steady solve before the
    failure (``solve_case``), through ``run_n_minus_1`` and ``run_failure``."""
    import twin.studies.failure as failure
    from common.errors import InputError
    seen = {}

    def fake_n_minus_1(*args, **kw):
        seen["cli"] = kw.get("coarse_start")
        raise InputError("stopped by the test")

    monkeypatch.setattr(failure, "run_n_minus_1", fake_n_minus_1)
    r = CliRunner().invoke(main, ["fail", str(SMALL), "--unit", "CRAH-1", "--coarse-start"])
    assert r.exit_code != 0 and "stopped by the test" in r.output
    assert seen["cli"] is True

    def fake_solve_case(*args, **kw):
        seen["solve"] = kw.get("coarse_start")
        raise _Stop

    monkeypatch.setattr(failure, "solve_case", fake_solve_case)
    fac = load_facility(SMALL)
    with pytest.raises(_Stop):
        failure.run_failure(fac, "CRAH-1", coarse_start=True)
    assert seen["solve"] is True
    with pytest.raises(_Stop):
        failure.run_failure(fac, "CRAH-1")
    assert seen["solve"] is False
