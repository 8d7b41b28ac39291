"""Results file: schema, round trip, self-description and atomic writing."""
from __future__ import annotations

import json
import os

import h5py
import numpy as np
import pytest

from common.errors import InputError
from twin.outputs import results as R
from twin.outputs import runfile
from twin.outputs.files import write_json


def _data(n=3, status="complete") -> R.RunData:
    t = 0.25 + 0.5 * np.arange(n)
    racks = ["H1/A/01", "H1/A/02"]
    snap = R.Snapshot(hall="H1", step=1, time_h=0.75,
                      fields={"temp_c": np.arange(24, dtype=np.float32).reshape(4, 3, 2),
                              "u_m_s": np.zeros((4, 3, 2), np.float32)},
                      coords={"x_m": np.arange(4) + 0.5, "y_m": np.arange(3) + 0.5, "z_m": np.arange(2) + 0.5},
                      hot_spots=np.array([[29.0, 1.5, 2.5, 0.5]]))
    return R.RunData(
        settings={"hours": 1.5, "step_s": 1800.0, "halls": [], "snapshot_times_h": None, "solver": {}},
        facility_name="Test hall", facility_source_path="/x/hall.toml",
        facility_source_text="# the file\n[campus]\nname = 'Test hall'\n",
        facility_expanded_toml="[campus]\nname = 'Test hall'\n", status=status, steps_planned=4,
        step_s=1800.0, start_h=0.0, time_h=t,
        series={"racks": {"inlet_temp_c": np.array([[20.0, 21.0]] * n) + t[:, None],
                          "throttled": np.zeros((n, 2), bool)},
                "halls": {"rti_pct": np.full((n, 1), 95.0)},
                "campus": {"pue": np.linspace(1.2, 1.3, n), "it_power_w": np.full(n, 1e5)}},
        labels={"racks": {"rack": racks, "hall": ["H1", "H1"], "design_power_w": np.array([2e4, 2e4])},
                "halls": {"hall": ["H1"], "replicas": np.array([1])}},
        descriptions={"racks/inlet_temp_c": "mean over the intake face"},
        snapshots=[snap], log=["step 0: a note"],
        restart={"k": n, "halls": {"H1": {"state": {"tin": np.array([20.0, 21.0]), "active": "abc"},
                                          "flow_states": [{"key": "abc", "K": np.eye(3)},
                                                          {"key": "def", "fields": {"T": np.ones((2, 2, 2))}}]}},
                 "counters": {"flow_solves": 2}},
        summary={"pue": 1.25, "rti_pct": float("nan")}, attrs={"backend": "numba-cpu", "cells": 24})


def test_unit_of_suffixes():
    assert R.unit_of("supply_temp_c") == "degC"
    assert R.unit_of("airflow_m3_s") == "m3/s"
    assert R.unit_of("price_krw_per_kwh") == "KRW/kWh"
    assert R.unit_of("rci_hi_pct") == "%"
    assert R.unit_of("power_w") == "W"
    assert R.unit_of("water_l") == "L"
    assert R.unit_of("shi") == "1"


def test_round_trip(tmp_path):
    d = _data()
    p = R.write_results(tmp_path / "results.h5", d)
    back = runfile.read_results(p)
    assert back.status == "complete" and back.steps_done == 3 and back.steps_planned == 4
    assert back.settings == d.settings
    assert back.facility_source_text == d.facility_source_text
    assert back.facility_sha256 == d.facility_sha256
    np.testing.assert_array_equal(back.time_h, d.time_h)
    for g, cols in d.series.items():
        for name, arr in cols.items():
            np.testing.assert_array_equal(back.series[g][name], np.asarray(arr).astype(float)
                                          if arr.dtype == bool else arr)
    assert list(back.labels["racks"]["rack"]) == ["H1/A/01", "H1/A/02"]
    np.testing.assert_array_equal(back.labels["racks"]["design_power_w"], [2e4, 2e4])
    assert back.descriptions["racks/inlet_temp_c"] == "mean over the intake face"
    assert back.log == d.log
    assert back.summary["pue"] == 1.25 and back.summary["rti_pct"] is None
    assert back.attrs["backend"] == "numba-cpu"
    s = back.snapshots[0]
    assert (s.hall, s.step, s.time_h) == ("H1", 1, 0.75)
    np.testing.assert_array_equal(s.fields["temp_c"], d.snapshots[0].fields["temp_c"])
    np.testing.assert_array_equal(s.hot_spots, [[29.0, 1.5, 2.5, 0.5]])
    r = back.restart
    assert r["k"] == 3 and r["counters"] == {"flow_solves": 2}
    np.testing.assert_array_equal(r["halls"]["H1"]["state"]["tin"], [20.0, 21.0])
    assert r["halls"]["H1"]["state"]["active"] == "abc"
    fs = r["halls"]["H1"]["flow_states"]
    assert [f["key"] for f in fs] == ["abc", "def"]
    np.testing.assert_array_equal(fs[0]["K"], np.eye(3))
    np.testing.assert_array_equal(fs[1]["fields"]["T"], np.ones((2, 2, 2)))


def test_self_describing_layout(tmp_path):
    d = _data()
    d.utc_offset_h = 9.0
    p = R.write_results(tmp_path / "r.h5", d)
    with h5py.File(p, "r") as f:
        assert f.attrs["schema"] == R.SCHEMA_NAME and f.attrs["schema_version"] == R.SCHEMA_VERSION
        assert f.attrs["Conventions"] == "CF-1.10"
        assert f.attrs["start_time"] == "2027-01-01T00:00:00+09:00"
        d = f["racks/inlet_temp_c"]
        assert d.attrs["units"] == "degC" and d.attrs["long_name"] == "mean over the intake face"
        assert f["racks/throttled"].attrs["long_name"] == "rack throttled"
        assert d.dims[0][0].name == "/racks/time" and d.dims[1][0].name == "/racks/rack"
        assert f["time"].attrs["units"] == "hours since 2027-01-01 00:00:00+09:00"
        np.testing.assert_array_equal(f["racks/time"][()], f["time"][()])
        assert f["campus/pue"].dims[0][0].name == "/campus/time"
        t = f["snapshots/0000/temp_c"]
        assert [t.dims[a][0].name for a in range(3)] == ["/snapshots/0000/x_m", "/snapshots/0000/y_m",
                                                        "/snapshots/0000/z_m"]
        assert f["snapshots/0000"].attrs["time"] == "2027-01-01T00:45:00+09:00"
        assert "Test hall" in f["facility/source_text"].asstr()[()]
        assert json.loads(f["settings/json"].asstr()[()])["step_s"] == 1800.0
        assert f["settings"].attrs["hours"] == 1.5


def _write_version_1(path, d: R.RunData):
    """A results file in the version-1 layout (time_h at the root, /grids, (n, 4) hot
    spots), as dc-twin wrote it before 2026-12-07."""
    with h5py.File(path, "w") as f:
        f.attrs.update({"schema": R.SCHEMA_NAME, "schema_version": 1, "status": d.status,
                        "steps_done": d.steps_done, "steps_planned": d.steps_planned,
                        "step_s": d.step_s, "start_h": d.start_h, "facility_name": d.facility_name,
                        "backend": "numba-cpu"})
        t = f.create_dataset("time_h", data=d.time_h)
        t.make_scale("time_h")
        for group, cols in d.series.items():
            g = f.create_group(group)
            if group in R.GROUP_DIMS:
                for lname, vals in d.labels[group].items():
                    v = np.asarray(vals)
                    ds = (g.create_dataset(lname, data=[str(x) for x in v], dtype=h5py.string_dtype())
                          if v.dtype.kind in "OU" else g.create_dataset(lname, data=v))
                    ds.attrs["kind"] = "label"
            for name, arr in cols.items():
                g.create_dataset(name, data=np.asarray(arr, dtype=float)).dims[0].attach_scale(t)
        fg = f.create_group("facility")
        fg.create_dataset("source_text", data=d.facility_source_text, dtype=h5py.string_dtype())
        fg.create_dataset("expanded_toml", data=d.facility_expanded_toml, dtype=h5py.string_dtype())
        fg.attrs["source_path"] = d.facility_source_path
        f.create_group("settings").create_dataset("json", data=json.dumps(d.settings),
                                                  dtype=h5py.string_dtype())
        s = d.snapshots[0]
        gg = f.create_group("grids/H1")
        for c in ("x_m", "y_m", "z_m"):
            gg.create_dataset(c, data=s.coords[c])
        sg = f.create_group("snapshots/0000")
        sg.attrs.update({"hall": "H1", "step": 1, "time_h": 0.75})
        for name, arr in s.fields.items():
            sg.create_dataset(name, data=arr)
        sg.create_dataset("hot_spots", data=s.hot_spots)
        f.create_dataset("log", data=d.log, dtype=h5py.string_dtype())
        f.create_dataset("summary", data=json.dumps({"pue": 1.25}), dtype=h5py.string_dtype())


def test_version_1_files_still_read(tmp_path):
    """Runs written before the CF layout read as they did (``--resume``, view, report)."""
    d = _data()
    p = tmp_path / "v1.h5"
    _write_version_1(p, d)
    back = runfile.read_results(p)
    np.testing.assert_array_equal(back.time_h, d.time_h)
    np.testing.assert_array_equal(back.series["racks"]["inlet_temp_c"], d.series["racks"]["inlet_temp_c"])
    assert list(back.labels["racks"]["rack"]) == ["H1/A/01", "H1/A/02"]
    s = back.snapshots[0]
    assert sorted(s.fields) == ["temp_c", "u_m_s"]
    np.testing.assert_array_equal(s.hot_spots, [[29.0, 1.5, 2.5, 0.5]])
    np.testing.assert_array_equal(s.coords["y_m"], d.snapshots[0].coords["y_m"])
    assert back.utc_offset_h == 0.0 and back.summary == {"pue": 1.25}


def test_restart_tree_keeps_string_arrays_and_shapes(tmp_path):
    d = _data()
    d.restart = {"names": np.array([["a", "b"], ["c", "d"]], dtype=object),
                 "one": np.array("x", dtype=object), "empty": np.zeros((0, 3))}
    r = runfile.read_results(R.write_results(tmp_path / "r.h5", d)).restart
    assert r["names"].tolist() == [["a", "b"], ["c", "d"]] and r["one"].item() == "x"
    assert r["empty"].shape == (0, 3)


def test_atomic_write_keeps_previous_file_on_error(tmp_path):
    p = tmp_path / "results.h5"
    R.write_results(p, _data(n=2))
    before = p.read_bytes()
    bad = _data(n=3)
    bad.series["cooling_units"] = {"supply_temp_c": np.zeros((3, 1))}   # labels missing -> error mid-write
    with pytest.raises(InputError, match="cooling_unit"):
        R.write_results(p, bad)
    assert p.read_bytes() == before                   # the old file, untouched
    assert runfile.read_results(p).steps_done == 2
    assert sorted(os.listdir(tmp_path)) == ["results.h5"]   # no temporary file left


def test_atomic_write_no_file_on_error(tmp_path):
    bad = _data()
    bad.series["cdus"] = {"heat_w": np.zeros((3, 1))}
    with pytest.raises(InputError):
        R.write_results(tmp_path / "new.h5", bad)
    assert os.listdir(tmp_path) == []


def test_interrupt_during_write_leaves_no_half_file(tmp_path, monkeypatch):
    p = tmp_path / "results.h5"
    R.write_results(p, _data(n=1))
    before = p.read_bytes()
    real = R._write_tree

    def boom(g, obj):
        real(g, obj)
        raise KeyboardInterrupt
    monkeypatch.setattr(R, "_write_tree", boom)
    with pytest.raises(KeyboardInterrupt):
        R.write_results(p, _data(n=3))
    assert p.read_bytes() == before
    assert os.listdir(tmp_path) == ["results.h5"]


def test_json_atomic_and_nan(tmp_path):
    q = write_json(tmp_path / "summary.json", {"a": float("nan"), "b": np.float64(2.5),
                                                        "c": [1, float("inf")]})
    assert json.loads(q.read_text()) == {"a": None, "b": 2.5, "c": [1, None]}


def test_read_rejects_other_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        runfile.read_results(tmp_path / "nope.h5")
    (tmp_path / "x.h5").write_text("not hdf5")
    with pytest.raises(InputError, match="HDF5"):
        runfile.read_results(tmp_path / "x.h5")
    with h5py.File(tmp_path / "y.h5", "w") as f:
        f.attrs["schema"] = "something-else"
    with pytest.raises(InputError, match="not a dc-twin"):
        runfile.read_results(tmp_path / "y.h5")
    p = R.write_results(tmp_path / "z.h5", _data())
    with h5py.File(p, "a") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(InputError, match="version 99; this dc-twin reads versions 1, 2"):
        runfile.read_results(p)


def test_run_file_reads_one_snapshot_and_one_step(tmp_path):
    """:class:`RunFile` reads parts of a file on demand (what ``twin view`` needs) and
    says when a member is missing only where it is asked to."""
    p = R.write_results(tmp_path / "r.h5", _data())
    with runfile.open_h5(p) as f:
        assert runfile.RunFile.is_run(f)
        rf = runfile.RunFile(f, p)
        rf.check_schema()
        [entry] = rf.snapshot_index()
        assert (entry.key, entry.hall, entry.step, entry.time_h) == ("0000", "H1", 1, 0.75)
        snap = rf.snapshot(entry)
        assert sorted(snap.fields) == ["temp_c", "u_m_s"] and snap.hot_spots.shape == (1, 4)
        names, vals = rf.hall_row("racks", "inlet_temp_c", 1, "H1")
        assert names == ["H1/A/01", "H1/A/02"]
        np.testing.assert_array_equal(vals, [20.75, 21.75])
        assert rf.hall_row("racks", "nothing_c", 1, "H1") == (None, None)
        assert rf.hall_row("racks", "inlet_temp_c", 1, "H2")[0] == []
        assert rf.series("campus", "pue").shape == (3,) and rf.series("weather", "dry_bulb_c") is None
        assert rf.facility("source_path") == "/x/hall.toml"
        assert rf.attr("backend") == "numba-cpu" and rf.attr("nothing", "") == ""
        assert rf.settings()["step_s"] == 1800.0
    with h5py.File(p, "a") as f:
        del f["settings"], f["summary"]
    with runfile.open_h5(p) as f:
        rf = runfile.RunFile(f, p)
        assert rf.settings({}) == {} and rf.summary(None) is None
        with pytest.raises(KeyError):
            rf.settings()
