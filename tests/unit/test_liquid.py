"""Liquid-side models: CDU, ASHRAE W classes, pumps, dry cooler."""
import numpy as np
import pytest

from common.errors import InputError
from twin.models.airside import CurveRangeWarning
from twin.models.liquid import (CDUS, GRAVITY_M_S2, WATER_CLASSES, WATER_CP_J_KG_K,
                                WATER_DENSITY_KG_M3, CduSpec, DryCoolerSpec, PumpSpec, cdu_step,
                                check_water_class, dry_cooler, facility_water_class,
                                pump_power_at_flow_w, pump_power_w)


def test_cdu_secondary_supply_is_facility_plus_approach():
    spec = CDUS["cdu-1.5mw"]
    r = cdu_step(spec.design_heat_w, 32.0, spec)
    assert r.secondary_supply_temp_c == pytest.approx(32.0 + spec.design_approach_k)
    assert r.secondary_return_temp_c - r.secondary_supply_temp_c == pytest.approx(spec.secondary_delta_t_k)
    # energy balance on both sides
    q = np.array([0.0, 0.5e6, 1.5e6])
    rr = cdu_step(q, 30.0, spec)
    np.testing.assert_allclose(rr.facility_flow_kg_s * WATER_CP_J_KG_K * (rr.facility_return_temp_c - 30.0), q)
    np.testing.assert_allclose(rr.approach_k, spec.design_approach_k * q / spec.design_heat_w)
    assert rr.pump_power_w > 0.0 and not np.any(rr.overloaded)
    with pytest.warns(CurveRangeWarning):
        assert cdu_step(2e6, 30.0, spec).overloaded


def test_water_classes():
    assert set(WATER_CLASSES) == {"W17", "W27", "W32", "W40", "W45", "W+"}
    assert [WATER_CLASSES[k].max_supply_temp_c for k in ("W17", "W27", "W32", "W40", "W45")] == \
        [17.0, 27.0, 32.0, 40.0, 45.0]
    np.testing.assert_array_equal(facility_water_class([10.0, 17.0, 20.0, 32.0, 44.0, 50.0]),
                                  ["W17", "W17", "W27", "W32", "W45", "W+"])
    assert facility_water_class(1.0) == ""
    assert check_water_class(30.0, "W32")
    with pytest.warns(CurveRangeWarning, match="W27"):
        assert not check_water_class(30.0, "W27")
    with pytest.raises(InputError, match="unknown"):
        check_water_class(30.0, "W99")


def test_pump_power_rho_g_q_h_over_eta():
    p = pump_power_w(0.1, 30.0, 0.75)
    assert p == pytest.approx(WATER_DENSITY_KG_M3 * GRAVITY_M_S2 * 0.1 * 30.0 / 0.75)
    assert p == pytest.approx(39_070.0, rel=1e-3)
    spec = PumpSpec("p", design_flow_m3_s=0.1, design_head_m=30.0, efficiency=0.75)
    assert spec.design_power_w == pytest.approx(p)
    # affinity: half flow on a pure system curve -> 1/8 power
    assert pump_power_at_flow_w(0.05, spec) == pytest.approx(p / 8.0)
    # with a 40 % static head the fall is slower
    s = PumpSpec("p", 0.1, 30.0, 0.75, static_head_fraction=0.4)
    assert pump_power_at_flow_w(0.05, s) == pytest.approx(p * 0.5 * (0.4 + 0.6 * 0.25))


def test_pump_bad_inputs():
    with pytest.raises(InputError, match="flow_m3_s must be >= 0"):
        pump_power_w(-0.1, 30.0, 0.7)
    with pytest.raises(InputError, match="efficiency must be > 0"):
        pump_power_w(0.1, 30.0, 0.0)
    with pytest.raises(InputError, match="efficiency"):
        PumpSpec("p", 0.1, 30.0, efficiency=70.0)


DC = DryCoolerSpec(name="dc", design_heat_w=1e6, design_approach_k=8.0)
M_DC = 1e6 / (WATER_CP_J_KG_K * 10.0)


def test_dry_cooler_design_point():
    # return water 10 K above the leaving design temperature, dry bulb 35 °C
    r = dry_cooler(35.0 + 8.0 + 10.0, M_DC, 35.0, 35.0 + 8.0, DC)
    assert r.setpoint_met
    assert r.heat_rejected_w == pytest.approx(1e6)
    assert r.leaving_temp_c == pytest.approx(35.0 + 8.0)
    assert r.fan_speed_fraction == pytest.approx(1.0)
    assert r.fan_power_w == pytest.approx(0.0105 * 1e6)         # EnergyPlus autosizing factor
    assert r.approach_k == pytest.approx(8.0)


def test_dry_cooler_part_load_cube_law_and_unmet():
    # cooler air: same duty needs less fan; fan power = P_d n^3
    r = dry_cooler(40.0, M_DC, 20.0, 30.0, DC)
    assert r.setpoint_met and r.leaving_temp_c == pytest.approx(30.0)
    n_expected = (8.0 * 1.0 / 10.0) ** (1.0 / 0.8)
    assert r.fan_speed_fraction == pytest.approx(n_expected)
    assert r.fan_power_w == pytest.approx(DC.design_fan_power_w * n_expected**3)
    # set-point below the dry bulb: full fan, partial duty, leaving above the set-point
    hot = dry_cooler(40.0, M_DC, 35.0, 32.0, DC)
    assert not hot.setpoint_met and hot.fan_speed_fraction == 1.0
    c = M_DC * WATER_CP_J_KG_K
    assert hot.heat_rejected_w == pytest.approx(c * 5.0 / (1.0 + c * 8.0 / 1e6))
    assert hot.leaving_temp_c > 32.0
    # no duty: fans off
    idle = dry_cooler(30.0, M_DC, 20.0, 32.0, DC)
    assert idle.heat_rejected_w == 0.0 and idle.fan_power_w == 0.0


def test_dry_cooler_bad_inputs():
    with pytest.raises(InputError, match="fluid_flow_kg_s must be >= 0"):
        dry_cooler(40.0, -1.0, 20.0, 30.0, DC)
    with pytest.raises(InputError, match="design_heat_w"):
        DryCoolerSpec(name="bad", design_heat_w=0.0)
    with pytest.raises(InputError, match="heat_w must be >= 0"):
        cdu_step(-1.0, 30.0, CDUS["cdu-1.5mw"])
    with pytest.raises(InputError, match="design_approach_k"):
        CduSpec(name="bad", design_heat_w=1e6, design_approach_k=-1.0)
