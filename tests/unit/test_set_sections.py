"""``--set`` into an optional section the facility file lacks (issue 20): the path makes
the section from the schema's defaults and sets the value, checked as if the file said it
(``twin whatif``, ``twin whatif-run``, ``twin.with_changes``); a path into a section
without defaults, or into something that is not a section, is still one line.

The shipped small hall has no ``[plant]`` table. The run is two 15-minute steps at 0.5 m
cells with the racks' design airflow.
"""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import twin
from twin.cli import main
from twin.facility import BUILTIN_DIR, load_facility, loads_facility
from twin.loop.specs import plant_spec_for
from twin.studies.cases import build_cases, make_case
from twin.studies.runsweep import build_run_cases

SMALL = BUILTIN_DIR / "small-hall.toml"
RESET = '\n[plant.condenser_water]\ncontrol = "wet-bulb-reset"\n'


def with_text(extra: str):
    return loads_facility(SMALL.read_text() + extra, folder=BUILTIN_DIR, name="small-hall.toml")


@pytest.fixture(scope="module")
def small():
    fac = load_facility(SMALL)
    assert fac.plant is None, "the test needs a facility without [plant]"
    return fac


def test_set_creates_the_missing_sections_from_their_defaults(small):
    case = make_case(small, [("plant.condenser_water.control", "wet-bulb-reset")])
    assert case.facility == with_text(RESET)
    assert small.plant is None                       # the original is left as it was
    spec, _ = plant_spec_for(case.facility.plant, 150e3, 0.0)
    assert spec.cw_reset and spec.cw_supply_setpoint_c == 24.0
    # two paths into the new sections, and a field of [plant] itself
    case = make_case(small, [("plant.condenser_water.control", "wet-bulb-reset"),
                             ("plant.condenser_water.min_supply_temp_c", "17"),
                             ("plant.chilled_water_supply_temp_c", "12")])
    assert case.facility == with_text('\n[plant]\nchilled_water_supply_temp_c = 12.0\n'
                                      '[plant.condenser_water]\ncontrol = "wet-bulb-reset"\n'
                                      'min_supply_temp_c = 17.0\n')


def test_whatif_and_whatif_run_cases_and_the_python_api(small):
    cases = build_cases(small, ["plant.condenser_water.control=wet-bulb-reset,fixed"])
    assert [c.facility.plant.condenser_water.control for c in cases[1:]] == ["wet-bulb-reset", "fixed"]
    assert cases[0].facility.plant is None
    run_cases = build_run_cases(small, ["plant.condenser_water.control=wet-bulb-reset,fixed",
                                        "run.dry_bulb_offset_k=2"])
    assert run_cases[1].facility == with_text(RESET)
    assert twin.with_changes(small, {"plant.condenser_water.control": "wet-bulb-reset"}) == with_text(RESET)
    assert twin.with_changes(SMALL, {"plant.economizer.hx_approach_k": 2.0}) == with_text(
        "\n[plant.economizer]\nhx_approach_k = 2.0\n")


#: Bad ``--set`` paths into sections, and the words of their one-line message (checked by
#: ``tests/unit/test_whatif.py::test_bad_path_or_value_is_one_clear_line``, with the rest).
BAD_SECTION_PATHS = [
    # validated as if written: the new section's own checks
    ("plant.condenser_water.min_supply_temp_c=14", ['min_supply_temp_c is for control = "wet-bulb-reset"']),
    ("plant.condenser_water.control=wet-bulb", ["not a valid choice", "fixed, wet-bulb-reset"]),
    ("plant.condenser_water.contrl=fixed", ["not a field of plant.condenser_water",
                                            "did you mean 'control'"]),
    # a section whose fields are not all defaulted cannot come from one value
    ("power.grid.tariff=flat", ["'power.grid' is not in this facility", "no default for capacity_mw",
                                "add a [power.grid] table"]),
    # not sections: a list, a list item that is not there, a table set to a value
    ("plant.chillers.cop=5", ["'plant.chillers' is a list or table"]),
    ("plant.chillers[CH-1].cop=5", ["no 'CH-1' in plant.chillers", "choices: (none)"]),
    ("plant.condenser_water=fixed", ["is a table or list and cannot be set"]),
    ("plants.condenser_water.control=fixed", ["did you mean 'plant'"]),
]


def test_cli_bad_section_path_exits_non_zero_with_one_line():
    r = CliRunner().invoke(main, ["whatif", str(SMALL), "--set", "power.grid.tariff=flat"])
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --set power.grid.tariff: "), r.output


def test_run_of_the_set_section_equals_the_file_that_states_it(small):
    fast = dict(hours=0.5, step_s=900.0, cell_m=0.5, backend="cpu", rack_airflow="design",
                checkpoint_every_s=0.0, start_h=0.0)
    a = twin.run(twin.with_changes(small, {"plant.condenser_water.control": "wet-bulb-reset"}), **fast)
    b = twin.run(with_text(RESET), **fast)
    for key in ("chiller_power_w", "tower_fan_power_w", "condenser_water_temp_c", "total_power_w"):
        np.testing.assert_array_equal(np.asarray(a.series["plant"][key]), np.asarray(b.series["plant"][key]))
    assert a.summary["pue"] == b.summary["pue"]
    assert np.all(np.asarray(a.series["plant"]["condenser_water_temp_c"]) < 16.0)   # the reset acted
