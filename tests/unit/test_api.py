"""The Python API (``twin.load``, ``with_changes``, ``solve``, ``run``) and the example of
``docs/api.md``, executed as written (issue 20)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import twin
from common.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def test_docs_api_example_runs_as_written(tmp_path, capsys):
    text = (ROOT / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    (tmp_path / "meshes").symlink_to(ROOT / "meshes")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(blocks[0], "docs/api.md", "exec"), {})
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "hottest intake" in out and "PUE over two hours" in out
    assert (tmp_path / "runs" / "api-example" / "results.h5").is_file()
    # the tables as CSV, the summary's keys as columns, hottest intake first
    import csv
    with open(tmp_path / "runs" / "api-example" / "racks.csv", newline="") as fh:
        racks = list(csv.DictReader(fh))
    assert racks and {"name", "intake_temp_c", "air_heat_w", "power_w"} <= set(racks[0])
    inlets = [float(r["intake_max_c"]) for r in racks]
    assert inlets == sorted(inlets, reverse=True)
    with open(tmp_path / "runs" / "api-example" / "cooling_units.csv", newline="") as fh:
        units = list(csv.DictReader(fh))
    assert units and all(float(u["heat_removed_w"]) > 0 for u in units)


def test_with_changes_leaves_the_original_and_refuses_bad_paths():
    fac = twin.load(ROOT / "meshes" / "small-hall.toml")
    new = twin.with_changes(fac, {"halls[H1].rows[A].count": 4})
    assert len(new.rack_list()) == len(fac.rack_list()) - 1
    with pytest.raises(InputError, match="did you mean 'supply_temp_c'"):
        twin.with_changes(fac, {"halls[H1].cooling_units[*].supply_tmp_c": 21})
    with pytest.raises(InputError, match="study switches"):
        twin.with_changes(fac, {"utilization": 0.5})
    with pytest.raises(InputError, match="give a dict"):
        twin.with_changes(fac, {})
    # the same as a method of the facility (issue 20: facility.with_changes({...}))
    change = {"halls[H1].rows[A].racks[03].power_kw": 30, "halls[H1].cooling_units[*].supply_temp_c": 20}
    assert fac.with_changes(change) == twin.with_changes(fac, change) != fac
    with pytest.raises(InputError, match="did you mean 'supply_temp_c'"):
        fac.with_changes({"halls[H1].cooling_units[*].supply_tmp_c": 21})


def test_import_twin_loads_nothing_heavy():
    import subprocess
    import sys
    code = ("import sys, twin; heavy = [m for m in ('numba', 'h5py', 'kernels', 'pydantic') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_one_rack_of_a_row_gets_its_own_power():
    """``halls[H1].rows[A].racks[03].power_kw``: that rack alone changes, the change is
    written back as ``[halls.rows.racks.03]`` and reads back the same; a rack the row does
    not have is refused by number (issue 20)."""
    from twin.facility import BUILTIN_DIR, loads_facility
    fac = twin.load(BUILTIN_DIR / "small-hall.toml")
    hot = twin.with_changes(fac, {"halls[H1].rows[A].racks[03].power_kw": 30})
    before = {r.name: r.design_power_w for r in fac.layout("H1").racks}
    after = {r.name: r.design_power_w for r in hot.layout("H1").racks}
    assert after["H1/A/03"] == 30e3 and before["H1/A/03"] != 30e3
    assert all(after[n] == before[n] for n in before if n != "H1/A/03")
    text = hot.to_toml()
    assert "[halls.rows.racks.03]" in text
    again = loads_facility(text, folder=BUILTIN_DIR)
    assert {r.name: r.design_power_w for r in again.layout("H1").racks} == after
    with pytest.raises(InputError, match="01 to 05"):
        twin.with_changes(fac, {"halls[H1].rows[A].racks[09].power_kw": 30})
