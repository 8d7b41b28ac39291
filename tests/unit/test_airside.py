"""Air-side models: fan affinity laws, effectiveness-NTU coil, supply controller."""
import numpy as np
import pytest

from common.errors import InputError
from twin.models.airside import (AIR_CP_J_KG_K, AIR_DENSITY_KG_M3, CRAH_FANS, WATER_CP_J_KG_K,
                                 CoilSpec, CurveRangeWarning, FanSpec, SupplyControlSpec,
                                 coil_design_ua_w_k, coil_ua_w_k, crah_coil,
                                 effectiveness_counterflow, effectiveness_crossflow_unmixed,
                                 fan_affinity, fan_power_w, fan_speed_for_airflow,
                                 supply_control_step)

FAN = FanSpec(name="test", design_airflow_m3_s=10.0, design_pressure_pa=400.0,
              design_power_w=8000.0, min_speed_fraction=0.2)
COIL = CoilSpec(name="crah", design_capacity_w=150e3, design_airflow_m3_s=12.0,
                design_air_inlet_temp_c=35.0, design_water_flow_kg_s=150e3 / (WATER_CP_J_KG_K * 6.0),
                design_water_inlet_temp_c=10.0)


def test_affinity_laws():
    p = fan_affinity(np.array([0.5, 1.0]), FAN)
    np.testing.assert_allclose(p.airflow_m3_s, [5.0, 10.0])
    np.testing.assert_allclose(p.pressure_pa, [100.0, 400.0])
    np.testing.assert_allclose(p.power_w, [1000.0, 8000.0])


def test_affinity_minimum_speed_off_and_overspeed():
    p = fan_affinity(np.array([0.0, 0.05, 0.2]), FAN)
    np.testing.assert_allclose(p.speed_fraction, [0.0, 0.2, 0.2])
    assert p.power_w[0] == 0.0 and p.power_w[1] == pytest.approx(8000.0 * 0.008)
    with pytest.warns(CurveRangeWarning):
        assert fan_affinity(1.3, FAN).airflow_m3_s == pytest.approx(10.0)
    assert fan_speed_for_airflow(7.5, FAN) == pytest.approx(0.75)
    assert fan_speed_for_airflow(0.5, FAN) == pytest.approx(0.2)


def test_fan_power_definition():
    assert fan_power_w(1.0, 500.0, 0.5) == pytest.approx(1000.0)
    rec = CRAH_FANS["crah-150kw-ec"]
    assert rec.design_power_w == pytest.approx(fan_power_w(rec.design_airflow_m3_s, rec.design_pressure_pa, 0.6))


def test_fan_bad_inputs():
    with pytest.raises(InputError, match="speed_fraction must be >= 0"):
        fan_affinity(-0.5, FAN)
    with pytest.raises(InputError, match="design_airflow_m3_s"):
        FanSpec(name="bad", design_airflow_m3_s=-1.0, design_pressure_pa=1.0, design_power_w=1.0)
    with pytest.raises(InputError, match="<= 1"):
        fan_power_w(1.0, 100.0, 65.0)


# --- effectiveness-NTU ------------------------------------------------------------------------
def test_effectiveness_limits():
    ntu = np.array([0.0, 0.5, 2.0, 50.0])
    # Cr = 0 (evaporating/condensing side): eps = 1 - exp(-NTU) for every arrangement
    np.testing.assert_allclose(effectiveness_counterflow(ntu, 0.0), 1.0 - np.exp(-ntu), atol=1e-12)
    np.testing.assert_allclose(effectiveness_crossflow_unmixed(ntu, 0.0), 1.0 - np.exp(-ntu), atol=1e-12)
    # balanced counterflow: eps = NTU / (1 + NTU)
    np.testing.assert_allclose(effectiveness_counterflow(ntu, 1.0), ntu / (1.0 + ntu), atol=1e-12)
    # NTU -> infinity: counterflow reaches 1 for Cr < 1
    assert effectiveness_counterflow(200.0, 0.5) == pytest.approx(1.0)
    # crossflow never beats counterflow
    for cr in (0.25, 0.5, 0.75, 1.0):
        assert np.all(effectiveness_crossflow_unmixed(ntu[1:], cr) <= effectiveness_counterflow(ntu[1:], cr) + 1e-12)
    # counterflow, NTU = 2, Cr = 0.5 by hand: (1 - e^-1) / (1 - 0.5 e^-1) = 0.7746
    # (reads about 0.77 on Incropera & DeWitt's counterflow chart, fig. 11.15)
    assert effectiveness_counterflow(2.0, 0.5) == pytest.approx(0.7746, abs=1e-4)


def test_coil_reproduces_its_design_point():
    r = crah_coil(COIL.design_airflow_m3_s, COIL.design_air_inlet_temp_c,
                  COIL.design_water_flow_kg_s, COIL.design_water_inlet_temp_c, COIL)
    assert r.heat_w == pytest.approx(150e3, rel=1e-9)
    assert r.water_outlet_temp_c == pytest.approx(16.0, rel=1e-9)
    assert r.ua_w_k == pytest.approx(coil_design_ua_w_k(COIL), rel=1e-12)
    assert float(coil_ua_w_k(COIL.design_airflow_m3_s, COIL.design_water_flow_kg_s, COIL)) == \
        pytest.approx(coil_design_ua_w_k(COIL))


def test_coil_energy_balance_and_bounds():
    va = np.array([4.0, 8.0, 12.0, 15.0])
    r = crah_coil(va, 30.0, COIL.design_water_flow_kg_s, 12.0, COIL)
    c_air = AIR_DENSITY_KG_M3 * va * AIR_CP_J_KG_K
    c_w = COIL.design_water_flow_kg_s * WATER_CP_J_KG_K
    np.testing.assert_allclose(c_air * (30.0 - r.air_outlet_temp_c), r.heat_w, rtol=1e-10)
    np.testing.assert_allclose(c_w * (r.water_outlet_temp_c - 12.0), r.heat_w, rtol=1e-10)
    assert np.all(r.heat_w <= np.minimum(c_air, c_w) * (30.0 - 12.0))
    assert np.all(r.air_outlet_temp_c >= 12.0) and np.all(r.water_outlet_temp_c <= 30.0)
    assert np.all(np.diff(r.heat_w) > 0.0)
    # more water, more heat; no water, no heat; water warmer than air, no heat
    rw = crah_coil(12.0, 30.0, np.array([0.0, 2.0, 4.0, 6.0]), 12.0, COIL)
    assert rw.heat_w[0] == 0.0 and np.all(np.diff(rw.heat_w) > 0.0)
    assert crah_coil(12.0, 20.0, 6.0, 25.0, COIL).heat_w == 0.0


def test_coil_setpoint_throttles_valve_or_reports_capacity_limit():
    m = COIL.design_water_flow_kg_s
    met = crah_coil(12.0, 35.0, m, 10.0, COIL, supply_setpoint_c=26.0)
    assert not met.capacity_limited
    assert met.air_outlet_temp_c == pytest.approx(26.0, abs=1e-6)
    assert met.water_flow_kg_s < m
    lim = crah_coil(12.0, 35.0, m, 10.0, COIL, supply_setpoint_c=15.0)
    assert lim.capacity_limited and lim.air_outlet_temp_c > 15.0
    assert lim.heat_w == pytest.approx(crah_coil(12.0, 35.0, m, 10.0, COIL).heat_w)


def test_coil_bad_inputs():
    with pytest.raises(InputError, match="airflow_m3_s must be >= 0"):
        crah_coil(-1.0, 30.0, 5.0, 10.0, COIL)
    with pytest.raises(InputError, match="water_flow_kg_s must be >= 0"):
        crah_coil(5.0, 30.0, -5.0, 10.0, COIL)
    with pytest.raises(InputError, match="effectiveness"):
        CoilSpec(name="impossible", design_capacity_w=1e6, design_airflow_m3_s=1.0,
                 design_air_inlet_temp_c=30.0, design_water_flow_kg_s=10.0,
                 design_water_inlet_temp_c=10.0)


# --- controller ------------------------------------------------------------------------------
def test_controller_steps_and_limits():
    spec = SupplyControlSpec(target_inlet_temp_c=27.0, deadband_k=1.0, supply_gain=0.5,
                             speed_gain_per_k=0.05, max_supply_step_k=2.0, min_supply_temp_c=14.0,
                             max_supply_temp_c=27.0, min_speed_fraction=0.3)
    t, n = supply_control_step([29.0, 26.5, 24.0, 20.0, 40.0], [20.0, 20.0, 20.0, 20.0, 15.0],
                               [0.5, 0.5, 0.5, 0.3, 0.9], spec)
    np.testing.assert_allclose(t, [19.0, 20.0, 20.0, 22.0, 14.0])   # hot: cooler; cold at min speed: warmer
    np.testing.assert_allclose(n, [0.6, 0.5, 0.35, 0.3, 1.0])       # hot: faster; cold: slower first
    with pytest.raises(InputError):
        SupplyControlSpec(min_supply_temp_c=25.0, max_supply_temp_c=20.0)


def test_controller_converges_on_simple_plant():
    # rack inlet = supply + 4 K of recirculation: settles inside the deadband
    spec = SupplyControlSpec()
    t, n = 14.0, 1.0
    for _ in range(40):
        t, n = supply_control_step(t + 4.0, t, n, spec)
    assert spec.target_inlet_temp_c - spec.deadband_k <= t + 4.0 <= spec.target_inlet_temp_c
    assert n == pytest.approx(spec.min_speed_fraction)
