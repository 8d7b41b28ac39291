"""Load-based cooling-tower fan control (issue 20): ``[plant.condenser_water] control =
"optimal"`` chooses the condenser-water set-point each step for the least chiller plus
tower-fan power (``twin.models.plant.optimal_condenser_setpoint_c``, the search
``twin.models.condenser.bounded_argmin``).

What is checked: the search on functions whose least is known, including one with two
valleys; in the plant, at several wet bulbs and loads, the chosen set-point costs no more
than the fixed set-point, the wet-bulb reset or any set-point of a 0.25 K scan (so a broken
search fails), and saves against the reset somewhere; energy closes; the default stays
fixed; the facility key reaches the plant (bad combinations, one line each: with the
reset's, ``test_condenser_reset.py``); a short January run of the small hall.
"""
from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

import twin
from common.errors import InputError
from tests.unit.test_condenser_reset import RESET, SMALL, small_hall
from twin.cli import main
from twin.loop.specs import plant_spec_for
from twin.models.condenser import bounded_argmin
from twin.models.inputs import CurveRangeWarning
from twin.models.plant import PlantSpec, design_plant, optimal_condenser_setpoint_c, plant_step

OPTIMAL = '\n[plant.condenser_water]\ncontrol = "optimal"\n'


def quiet_step(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CurveRangeWarning)   # 14 degC chilled water: above the curves
        return plant_step(*args, **kw)


def chiller_and_fans_w(r):
    return np.asarray(r.chiller_power_w) + np.asarray(r.tower_fan_power_w)


# ----------------------------------------------------------------------------- the search
def test_bounded_argmin_finds_known_minima():
    lo, hi = np.array([0.0, 0.0, 2.0, 5.0]), np.array([10.0, 10.0, 4.0, 5.0])
    centre = np.array([3.3, -2.0, 3.9, 1.0])            # inside, below lo, near hi, lo == hi
    x = bounded_argmin(lambda x: (x - centre) ** 2, lo, hi)
    np.testing.assert_allclose(x, [3.3, 0.0, 3.9, 5.0], atol=5e-3)
    # two valleys: the deeper (at 1.3) is narrow; a golden section over the whole range
    # alone ends in the wide one at 8.2
    def valleys(x):
        return np.minimum(40.0 * (x - 1.3) ** 2, 0.05 * (x - 8.2) ** 2 + 0.5)
    assert bounded_argmin(valleys, np.zeros(1), np.full(1, 10.0))[0] == pytest.approx(1.3, abs=5e-3)
    with pytest.raises(InputError, match="scan_points"):
        bounded_argmin(valleys, np.zeros(1), np.ones(1), scan_points=1)


# ------------------------------------------------------------------------------ the plant
PLANTS = {
    "small hall's (no economizer)": (design_plant(150e3, 0.0, economizer=False, chw_supply_temp_c=14.0,
                                                  chw_design_delta_t_k=8.0), 150e3),
    "10 MW, water-side economizer": (design_plant(10e6, 0.0), 10e6),
}


@pytest.mark.parametrize("name", list(PLANTS))
def test_optimal_costs_no_more_than_fixed_reset_or_any_scanned_setpoint(name):
    """Wet bulbs -5..24 degC at 25, 60 and 100 % load (one array): chiller + tower-fan
    power at the chosen set-point against the fixed 24 degC, the reset and every
    set-point of a 0.25 K scan between the chillers' minimum and 24 degC."""
    spec, design_w = PLANTS[name]
    wb1 = np.array([-5.0, 4.0, 10.0, 13.0, 16.0, 19.0, 21.0, 24.0])
    q = np.repeat([0.25, 0.6, 1.0], wb1.size) * design_w
    wb = np.tile(wb1, 3)
    db = wb + 4.0
    fixed = chiller_and_fans_w(quiet_step(q, 0.0, db, wb, spec))
    reset = chiller_and_fans_w(quiet_step(q, 0.0, db, wb, replace(spec, cw_reset=True)))
    opt_r = quiet_step(q, 0.0, db, wb, replace(spec, cw_optimal=True))
    opt = chiller_and_fans_w(opt_r)
    scan = np.min([chiller_and_fans_w(quiet_step(q, 0.0, db, wb, replace(spec, cw_supply_setpoint_c=t)))
                   for t in np.arange(spec.chiller.min_entering_cw_temp_c, 24.0 + 1e-9, 0.25)], axis=0)
    tol = 1e-9 * fixed
    assert np.all(opt <= fixed + tol)
    assert np.all(opt <= reset + tol)
    assert np.all(opt <= scan * (1.0 + 2e-4)), (opt - scan) / scan
    saving = (reset - opt) / reset
    assert saving.max() > 3e-3, saving                  # the load matters, not the wet bulb alone
    assert np.all(opt_r.unmet_heat_w == 0.0)


def test_optimal_setpoint_moves_with_the_load():
    """At a mild wet bulb a light load affords colder water than a full one: the fans
    cost less per kelvin at part load."""
    spec, design_w = PLANTS["small hall's (no economizer)"]
    q = np.array([0.2, 1.0]) * design_w
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CurveRangeWarning)
        sp = optimal_condenser_setpoint_c(q, 0.0, 19.0, 15.0, spec)
    assert sp[0] < sp[1] - 0.5, sp
    assert np.all((sp >= spec.chiller.min_entering_cw_temp_c) & (sp <= 24.0))
    # the set-point it reports is the one the optimal plant runs at
    opt = chiller_and_fans_w(quiet_step(q, 0.0, 19.0, 15.0, replace(spec, cw_optimal=True)))
    held = [chiller_and_fans_w(quiet_step(q[i], 0.0, 19.0, 15.0, replace(spec, cw_supply_setpoint_c=sp[i])))
            for i in range(2)]
    np.testing.assert_allclose(held, opt, rtol=1e-12)


@pytest.mark.parametrize("economizer", [False, True])
@pytest.mark.parametrize("control", ["cw_reset", "cw_optimal"])
def test_energy_closes_with_each_condenser_control(control, economizer):
    """Heat rejected = heat removed + compressor + pumps, and the power adds up, under the
    wet-bulb reset and the optimal control (with a liquid load and without)."""
    spec = replace(design_plant(10e6, 2e6, economizer=economizer), **{control: True})
    db = np.array([-5.0, 5.0, 15.0, 25.0, 30.0, 34.0])
    wb = np.array([-7.0, 2.0, 11.0, 20.0, 24.0, 27.0])
    q = np.array([9e6, 8e6, 6e6, 10e6, 3e6, 9.5e6])
    for liquid_w in (0.0, 1.5e6):
        r = quiet_step(q, liquid_w, db, wb, spec)
        np.testing.assert_allclose(r.heat_rejected_w,
                                   r.heat_removed_w + r.chiller_power_w + r.pump_power_w,
                                   rtol=1e-9)
        assert np.all(r.unmet_heat_w == 0.0)
        np.testing.assert_allclose(r.total_power_w, r.chiller_power_w + r.tower_fan_power_w
                                   + r.pump_power_w + r.dry_cooler_fan_power_w)


def test_default_control_is_fixed_and_one_control_at_a_time():
    spec, _ = PLANTS["small hall's (no economizer)"]
    assert spec.cw_control == "fixed" and not spec.cw_optimal
    assert PlantSpec.__dataclass_fields__["cw_optimal"].default is False
    assert plant_spec_for(small_hall().plant, 150e3, 0.0)[0].cw_control == "fixed"
    with pytest.raises(InputError, match="cw_reset and cw_optimal"):
        replace(spec, cw_reset=True, cw_optimal=True)


# ---------------------------------------------------------------------------- the facility
def test_facility_key_reaches_the_plant():
    spec, notes = plant_spec_for(small_hall(OPTIMAL).plant, 150e3, 0.0)
    assert spec.cw_control == "optimal" and spec.cw_optimal and not spec.cw_reset and notes == []
    spec, _ = plant_spec_for(small_hall(OPTIMAL + "supply_temp_c = 27.0\nmin_supply_temp_c = 17.0\n").plant,
                             150e3, 0.0)
    assert spec.cw_reset_limits[1:] == (17.0, 27.0)


@pytest.mark.parametrize("extra, says", [
    (OPTIMAL, "condenser water at least chiller + tower fan power, at most 24 degC"),
    (RESET, "condenser water reset with the wet bulb, at most 24 degC")])
def test_validate_summary_names_the_condenser_water_control(tmp_path, extra, says):
    text = SMALL.read_text().replace('include = ["racks/racks.toml"]', 'include = ["builtin:racks"]')
    f = tmp_path / "small-hall.toml"
    f.write_text(text + extra)
    res = CliRunner().invoke(main, ["validate", str(f)])
    assert res.exit_code == 0, res.output
    assert says in res.output


# ------------------------------------------------------------------------------- the twin
def test_january_run_with_the_optimal_control():
    """Two 15-minute steps of the small hall on 1 January at 0.5 m cells: the plant's
    chiller + tower-fan energy with the optimal control is no more than with the reset
    (the fixed set-point costs more than both: the plant tests above), the IT energy is
    the same, energy closes."""
    fast = dict(hours=0.5, step_s=900.0, cell_m=0.5, backend="cpu", rack_airflow="design",
                checkpoint_every_s=0.0, start_h=0.0)
    runs = {k: twin.run(small_hall(x), **fast) for k, x in
            (("reset", RESET), ("optimal", OPTIMAL))}
    use = {k: float(np.sum(np.asarray(r.series["plant"]["chiller_power_w"])
                           + np.asarray(r.series["plant"]["tower_fan_power_w"])))
           for k, r in runs.items()}
    assert use["optimal"] <= use["reset"] * (1 + 1e-9), use
    it = runs["reset"].summary["it_energy_kwh"]
    assert all(r.summary["it_energy_kwh"] == pytest.approx(it, rel=1e-9) for r in runs.values())
    assert runs["optimal"].summary["pue"] <= runs["reset"].summary["pue"] + 1e-9
    assert runs["optimal"].summary["energy_closure"]["plant_max_w"] < 1e-3
