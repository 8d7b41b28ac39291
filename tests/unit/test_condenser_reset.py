"""The condenser-water reset of a chiller plant (issue 20): the set-point follows the
outdoor wet bulb plus an approach, floored at the chillers' minimum entering condenser
water (``twin.models.plant.condenser_water_setpoint_c``, ``PlantSpec.cw_reset``), set in a
facility by ``[plant.condenser_water]``.

What is checked: the pure function; the plant's condenser water follows it where the
tower can hold it; the chillers draw less in winter than at the fixed 24 degC, the same in
summer; energy closes; the facility keys reach the plant and bad values are one line; a
short January run of the small hall uses less chiller energy and gives a lower PUE.
"""
from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

import twin
from common.errors import InputError
from twin.facility import BUILTIN_DIR, FacilityError, loads_facility
from twin.loop.specs import plant_spec_for
from twin.models.inputs import CurveRangeWarning
from twin.models.plant import (CW_RESET_APPROACH_MARGIN_K, condenser_water_setpoint_c, design_plant,
                               plant_step)

SMALL = BUILTIN_DIR / "small-hall.toml"
RESET = '\n[plant.condenser_water]\ncontrol = "wet-bulb-reset"\n'


def small_hall(extra: str = ""):
    """The shipped small hall (no ``[plant]`` section) with ``extra`` TOML appended."""
    return loads_facility(SMALL.read_text() + extra, folder=BUILTIN_DIR, name="small-hall.toml")


@pytest.fixture(scope="module")
def plants():
    """The small hall's kind of plant (no economizer, chilled water 14/22 degC): fixed
    condenser water at 24 degC, and the same plant with the reset."""
    fixed = design_plant(150e3, 0.0, economizer=False, chw_supply_temp_c=14.0,
                         chw_design_delta_t_k=8.0)
    return fixed, replace(fixed, cw_reset=True)


def quiet_step(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CurveRangeWarning)   # 14 degC chilled water: above the curves
        return plant_step(*args, **kw)


# ------------------------------------------------------------------------- the function
def test_setpoint_is_wet_bulb_plus_approach_within_the_limits():
    wb = np.array([-10.0, 9.0, 12.0, 18.5, 30.0])
    got = condenser_water_setpoint_c(wb, 4.0, 15.5, 24.0)
    np.testing.assert_allclose(got, [15.5, 15.5, 16.0, 22.5, 24.0])
    assert condenser_water_setpoint_c(15.0, 3.0, 13.0, 29.0) == pytest.approx(18.0)
    with pytest.raises(InputError, match="approach_k"):
        condenser_water_setpoint_c(10.0, -1.0, 15.0, 24.0)
    with pytest.raises(InputError, match="min_supply_temp_c"):
        condenser_water_setpoint_c(10.0, 3.0, 25.0, 24.0)
    with pytest.raises(InputError, match="wet_bulb_c"):
        condenser_water_setpoint_c(np.nan, 3.0, 15.0, 24.0)


def test_reset_defaults_come_from_the_tower_and_the_chiller(plants):
    fixed, reset = plants
    approach, t_min, t_max = reset.cw_reset_limits
    assert approach == pytest.approx(fixed.tower.design_approach_k + CW_RESET_APPROACH_MARGIN_K)
    assert t_min == pytest.approx(fixed.chiller.min_entering_cw_temp_c) == pytest.approx(15.56)
    assert t_max == 24.0
    own = replace(reset, cw_reset_approach_k=3.0, cw_min_supply_temp_c=18.0)
    assert own.cw_reset_limits == (3.0, 18.0, 24.0)
    with pytest.raises(InputError, match="cw_min_supply_temp_c = 26 is above"):
        replace(reset, cw_min_supply_temp_c=26.0)
    with pytest.raises(InputError, match="cw_reset_approach_k"):
        replace(reset, cw_reset_approach_k=-2.0)


# ------------------------------------------------------------------------- the plant
def test_condenser_water_follows_the_reset_and_the_chillers_save_in_winter(plants):
    """Winter and spring wet bulbs: the tower leaves the water at the reset set-point
    where its fans can hold it (airflow below full), never warmer than the fixed 24 degC;
    the chillers then draw less. Above 24 - approach the reset is the fixed set-point and
    nothing changes."""
    fixed, reset = plants
    wb = np.array([-6.0, -1.0, 4.0, 9.0, 13.0, 16.0, 19.5, 24.0])
    db = wb + 4.0
    a = quiet_step(120e3, 0.0, db, wb, fixed)
    b = quiet_step(120e3, 0.0, db, wb, reset)
    want = condenser_water_setpoint_c(wb, *reset.cw_reset_limits)
    held = b.tower_airflow_fraction < 1.0 - 1e-6
    assert held.sum() >= 4, b.tower_airflow_fraction
    np.testing.assert_allclose(b.condenser_water_temp_c[held], want[held], atol=0.05)
    assert np.all(b.condenser_water_temp_c <= np.maximum(a.condenser_water_temp_c, want) + 0.05)
    winter = wb + reset.cw_reset_limits[0] < 24.0 - 1.0
    assert np.all(b.chiller_power_w[winter] < 0.95 * a.chiller_power_w[winter])
    assert np.all(b.chiller_cop[winter] > a.chiller_cop[winter])
    # the coldest days: the chillers see the floor (the chiller's lowest entering temperature)
    assert b.condenser_water_temp_c[0] == pytest.approx(reset.cw_reset_limits[1], abs=0.05)
    # summer: the reset sits at the fixed set-point (or the tower cannot reach it): no change
    summer = wb + reset.cw_reset_limits[0] >= 24.0
    assert summer.sum() >= 1
    np.testing.assert_allclose(b.chiller_power_w[summer], a.chiller_power_w[summer], rtol=1e-9)
    np.testing.assert_allclose(b.total_power_w[summer], a.total_power_w[summer], rtol=1e-9)


def test_reset_helps_the_economizer_plant_where_it_runs_part_free():
    """With a water-side economizer, winter is free cooling either way; where the
    economizer takes part of the load the colder water lowers the chillers' share."""
    fixed = design_plant(10e6, 0.0)
    reset = replace(fixed, cw_reset=True)
    wb = np.array([-5.0, 10.0, 13.0, 16.0])
    a = quiet_step(8e6, 0.0, wb + 3.0, wb, fixed)
    b = quiet_step(8e6, 0.0, wb + 3.0, wb, reset)
    assert a.chiller_power_w[0] == b.chiller_power_w[0] == 0.0
    assert np.all(b.chiller_power_w[1:] < a.chiller_power_w[1:])


# ------------------------------------------------------------------------ the facility
def test_facility_keys_reach_the_plant():
    spec, notes = plant_spec_for(small_hall().plant, 150e3, 0.0)
    assert not spec.cw_reset and spec.cw_supply_setpoint_c == 24.0
    spec, notes = plant_spec_for(small_hall(RESET).plant, 150e3, 0.0)
    assert spec.cw_reset and spec.cw_reset_limits == pytest.approx(
        (spec.tower.design_approach_k + 2.0, 15.56, 24.0)) and notes == []
    own = RESET + "supply_temp_c = 26.0\nreset_approach_k = 5.0\nmin_supply_temp_c = 13.0\n"
    spec, notes = plant_spec_for(small_hall(own).plant, 150e3, 0.0)
    assert spec.cw_reset_limits == (5.0, 13.0, 26.0)
    assert len(notes) == 1 and "below the chiller curves' lowest entering temperature" in notes[0]
    fixed = plant_spec_for(small_hall('\n[plant.condenser_water]\nsupply_temp_c = 21.0\n').plant,
                           150e3, 0.0)[0]
    assert not fixed.cw_reset and fixed.cw_supply_setpoint_c == 21.0


@pytest.mark.parametrize("body, says", [
    ('control = "wet-bulb"', "plant.condenser_water.control: control = 'wet-bulb' is not allowed; "
                             "use one of 'fixed', 'wet-bulb-reset' or 'optimal'"),
    ('min_supply_temp_c = 14.0', 'min_supply_temp_c is for control = "wet-bulb-reset"'),
    ('control = "wet-bulb-reset"\nmin_supply_temp_c = 30.0', "min_supply_temp_c = 30 is above supply_temp_c = 24"),
    ('control = "wet-bulb-reset"\nreset_approach_k = -1.0', "plant.condenser_water.reset_approach_k"),
    ('supply_temp_c = 55.0', "supply_temp_c = 55.0: it must be <= 40"),
    ('supply_temp = 20.0', "did you mean 'supply_temp_c'"),
    ('control = "optimal"\nreset_approach_k = 4.0', 'reset_approach_k is for control = "wet-bulb-reset" '
                                                    '(this one is "optimal")'),
    ('control = "optimal"\nmin_supply_temp_c = 30.0', "min_supply_temp_c = 30 is above supply_temp_c = 24"),
    ('control = "optimum"', "use one of 'fixed', 'wet-bulb-reset' or 'optimal'"),
])
def test_bad_condenser_water_values_are_one_line(body, says):
    """Every control's bad values (fixed, wet-bulb-reset, optimal): one line each."""
    with pytest.raises(FacilityError) as exc:
        small_hall(f"\n[plant.condenser_water]\n{body}\n")
    errs = [str(d) for d in exc.value.errors]
    assert len(errs) == 1 and says in errs[0], errs
    assert "small-hall.toml" in errs[0]


# ------------------------------------------------------------------------- the twin
def test_january_run_with_the_reset_uses_less_chiller_energy():
    """Two 15-minute steps of the small hall on 1 January at 0.5 m cells: the chillers'
    energy and PUE fall with the reset, the IT energy is the same, energy closes."""
    fast = dict(hours=0.5, step_s=900.0, cell_m=0.5, backend="cpu", rack_airflow="design",
                checkpoint_every_s=0.0, start_h=0.0)
    a = twin.run(small_hall(), **fast)
    b = twin.run(small_hall(RESET), **fast)
    pa, pb = a.series["plant"], b.series["plant"]
    assert np.all(np.asarray(pa["condenser_water_temp_c"]) >= 23.9)
    assert np.all(np.asarray(pb["condenser_water_temp_c"]) < 16.0)
    assert np.all(np.asarray(pb["chiller_power_w"]) < 0.9 * np.asarray(pa["chiller_power_w"]))
    assert b.summary["it_energy_kwh"] == pytest.approx(a.summary["it_energy_kwh"], rel=1e-9)
    assert b.summary["pue"] < a.summary["pue"] - 0.01
    assert b.summary["energy_closure"]["plant_max_w"] < 1e-3
