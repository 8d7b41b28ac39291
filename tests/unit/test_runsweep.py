"""Sweeps over ``twin run`` metrics on Dask (``twin whatif-run``, ``twin.run_sweep``): the
records of cases run on Dask workers equal serial runs of the same cases, and bad cases are
one line (issue 20).

Kept short: the small hall at 0.5 m cells (3,456), 2 h at 30-minute steps, the racks'
design airflow (one flow solve per case).
"""
from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

import twin
from twin.cli import main
from twin.facility import BUILTIN_DIR
from twin.studies.runsweep import RUN_METRICS

SMALL = BUILTIN_DIR / "small-hall.toml"
SHARED = dict(hours=2.0, step_s=1800.0, cell_m=0.5, backend="numba-cpu", rack_airflow="design")
CLI_SHARED = ["--hours", "2", "--step", "30m", "--cell", "0.5", "--backend", "numba-cpu",
              "--rack-airflow", "design"]
METRICS = [k for k, *_ in RUN_METRICS]

SWEEP = """
[[cases]]
name = "heat wave"
set = { "run.dry_bulb_offset_k" = 6.0 }

[[cases]]
name = "cooler"
set = { "run.target_inlet_temp_c" = 24.0, "halls[H1].cooling_units[*].supply_temp_c" = 16.0 }
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The sweep through the CLI on a local Dask cluster of two workers."""
    tmp = tmp_path_factory.mktemp("runsweep")
    (tmp / "sweep.toml").write_text(SWEEP)
    out = tmp / "out"
    r = CliRunner().invoke(main, ["whatif-run", str(SMALL), "--sweep", str(tmp / "sweep.toml"),
                                  *CLI_SHARED, "--workers", "2", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out, r.output


def test_run_sweep_on_dask_equals_serial_runs(swept):
    out, text = swept
    recs = json.loads((out / "whatif-run.json").read_text())["cases"]
    assert [c["case"] for c in recs] == ["baseline", "case-01", "case-02"]
    # the cases ran on Dask workers on the loopback address
    assert all(c["worker"].startswith("tcp://127.0.0.1:") for c in recs), recs
    fac = twin.load(SMALL)
    serial = {
        "baseline": twin.run(fac, **SHARED),
        "case-01": twin.run(fac, **SHARED, dry_bulb_offset_k=6.0),
        "case-02": twin.run(twin.with_changes(fac, {"halls[H1].cooling_units[*].supply_temp_c": 16}),
                            **SHARED, target_inlet_temp_c=24.0),
    }
    for c in recs:
        s = serial[c["case"]].summary
        assert c["status"] == s["status"] == "complete" and c["steps"] == 4
        for k in METRICS:                  # identical, not close: the same runs
            assert c[k] == s[k], (c["case"], k, c[k], s[k])
    base, hot, cool = recs
    assert hot["run_settings"] == {"dry_bulb_offset_k": 6.0}
    assert cool["run_settings"] == {"target_inlet_temp_c": 24.0}
    assert hot["what_if"]["dry_bulb_offset_k"] == 6.0
    # the supply controller holds the hottest inlet under its target
    assert cool["max_rack_inlet_c"] < 24.0 + 0.5 < base["max_rack_inlet_c"]
    for c in recs:
        for k in METRICS:
            assert c["delta"][k] == c[k] - base[k]
    with open(out / "whatif-run.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["case"] for row in rows] == ["baseline", "case-01", "case-02"]
    assert float(rows[2]["max_rack_inlet_c"]) == cool["max_rack_inlet_c"]
    assert float(rows[2]["d_max_rack_inlet_c"]) < 0 and float(rows[0]["d_pue"]) == 0.0
    assert "heat wave" in text and "case-02" in text


def test_python_api_in_process_equals_the_dask_sweep(swept):
    out, _ = swept
    recs = json.loads((out / "whatif-run.json").read_text())["cases"]
    frame = twin.run_sweep(SMALL, {"run.dry_bulb_offset_k": [6.0]}, workers=1, **SHARED)
    assert list(frame.index) == ["baseline", "case-01"]
    assert frame.attrs["records"][1]["worker"] == "in-process"
    for name, rec in zip(frame.index, recs[:2]):
        for k in METRICS:
            assert frame.loc[name, k] == rec[k], (name, k)
    assert frame.loc["case-01", "d_pue"] == recs[1]["pue"] - recs[0]["pue"]
    assert frame.loc["case-01", "label"] == "run.dry_bulb_offset_k=6.0"


@pytest.mark.parametrize("setting, words", [
    ("run.dry_bulb_offset=4", ["'dry_bulb_offset' is not a run setting",
                               "did you mean 'dry_bulb_offset_k'"]),
    ("run.wind_scale=calm", ["run.wind_scale=calm: give a number"]),
    ("halls[H1].cooling_units[CRAH-1].enabled=false", ["steady-state studies (twin whatif)"]),
    ("halls[H1].cooling_units[CRAH-9].supply_temp_c=20", ["no 'CRAH-9'"]),
])
def test_bad_case_is_one_line_before_any_run(setting, words, tmp_path):
    r = CliRunner().invoke(main, ["whatif-run", str(SMALL), "--set", setting, *CLI_SHARED,
                                  "--out", str(tmp_path / "o")])
    assert r.exit_code != 0
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    assert all(w in lines[0] for w in words), lines[0]
    assert "Traceback" not in r.output


def test_bad_shared_setting_is_one_line(tmp_path):
    r = CliRunner().invoke(main, ["whatif-run", str(SMALL), "--set", "run.wind_scale=-1",
                                  *CLI_SHARED, "--out", str(tmp_path / "o")])
    assert r.exit_code != 0
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "wind_scale" in lines[0], r.output


def test_help_has_an_example():
    r = CliRunner().invoke(main, ["whatif-run", "--help"])
    assert r.exit_code == 0
    assert "Examples" in r.output and "twin whatif-run" in r.output and "run.NAME" in r.output


@pytest.mark.parametrize("args, words", [
    (["--period", "hottest-week", "--start-day", "3"], "--period and --start-day"),
    (["--workers", "0"], "--workers 0"),
    (["--cell", "0"], "--cell"),
    (["--hours", "1", "--step", "7m"], "not a whole number"),
])
def test_bad_options_are_one_line(args, words, tmp_path):
    r = CliRunner().invoke(main, ["whatif-run", str(SMALL), "--set", "run.wind_scale=0",
                                  *args, "--out", str(tmp_path / "o")])
    assert r.exit_code != 0
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and words in lines[0], r.output
