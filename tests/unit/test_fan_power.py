"""Server fan power at the fan curve's operating point (issue 24: fan power no longer stays
at free delivery when a rack works against pressure; :func:`twin.models.fans.fan_power_at`,
``P = Q dp / eta``, ASHRAE Handbook - HVAC Systems and Equipment 2020, ch. 21)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from twin.models.fans import SERVER_FAN_EFF, fan_power_at, internal_dp_pa


def test_internal_pressure_from_the_fan_power_equation():
    """dp_i = eta P_fan,d / V_d: 480 W of fans moving 0.5 m3/s at 25 % raise 240 Pa."""
    assert SERVER_FAN_EFF == 0.25
    assert float(internal_dp_pa(480.0, 0.5)) == pytest.approx(0.25 * 480.0 / 0.5)


def test_fan_power_against_a_hand_calculation():
    """A rack's fans at design speed (s = 1, 480 W at free delivery, 240 Pa inside the
    chassis at design) pushed back to 0.87 of their airflow by 26 Pa (a passive rear
    door): air power Q (dp_i q^2 + dp) over the same efficiency, by hand."""
    dp_i = 240.0
    v_d = 0.5
    # by hand: P = Q (dp_i q^2 + dp) / eta, with eta = V_d dp_i / P_d
    eta = v_d * dp_i / 480.0
    q, dp = 0.87, 26.0
    hand = q * v_d * (dp_i * q * q + dp) / eta
    assert float(fan_power_at(480.0, 1.0, q, dp, dp_i)) == pytest.approx(hand, rel=1e-12)
    assert hand == pytest.approx(480.0 * 0.87 * (240.0 * 0.7569 + 26.0) / 240.0)
    assert hand < 0.8 * 480.0                   # less air against a little more pressure


def test_fan_power_at_free_delivery_and_with_speed():
    """At free delivery (q = s, no pressure difference) the fans draw the rack model's
    power at any speed; at half speed the same share of flow against a quarter of the
    pressure (similar points, fan laws) costs the same share of that power."""
    p_free = np.array([480.0, 60.0])
    s = np.array([1.0, 0.5])
    np.testing.assert_allclose(fan_power_at(p_free, s, s, 0.0, 240.0), p_free, rtol=1e-12)
    full = float(fan_power_at(480.0, 1.0, 0.8, 40.0, 240.0))
    half = float(fan_power_at(60.0, 0.5, 0.4, 10.0, 240.0))
    assert half / 60.0 == pytest.approx(full / 480.0, rel=1e-12)
    # suction (a pressurised cold aisle) past free delivery: held at no less than 0
    assert float(fan_power_at(480.0, 1.0, 1.2, -1000.0, 240.0)) == 0.0


def test_run_rack_model_moves_the_fan_power_and_its_heat():
    """``HallModel._rack_models`` at an operating point: the fan power is the hand
    calculation's, and power = heat to air + to liquid still holds (the change is heat)."""
    from twin.loop.hall import HallModel
    from twin.models.it_load import RackSpec, rack_power
    spec = RackSpec(name="t", nameplate_power_w=8000.0, idle_fraction=0.4,
                    liquid_capture_fraction=0.25, design_air_delta_t_k=12.0,
                    source="test")
    v_d = spec.design_airflow_m3_s
    hall = SimpleNamespace(
        n_r=2, spec_groups=[(spec, np.array([0, 1]))], rack_recirc=np.zeros(2),
        rack_bypass=np.zeros(2),
        rack_design_flow=np.full(2, v_d), has_doors=False,
        rack_fan_dp_i=internal_dp_pa(np.full(2, spec.design_fan_power_w), np.full(2, v_d)),
        sim=SimpleNamespace(settings=SimpleNamespace(rack_airflow="model")))
    hall._fan_delta_w = HallModel._fan_delta_w.__get__(hall)
    u, tin, cool = np.ones(2), np.array([25.0, 30.0]), np.full(2, 30.0)
    share, dp = np.array([1.0, 0.85]), np.array([0.0, 30.0])
    out = HallModel._rack_models(hall, u, tin, cool, share, dp)
    free = rack_power(u, tin, spec, cool)
    s = np.asarray(free.airflow_m3_s) / v_d
    dp_i = spec.design_fan_power_w * SERVER_FAN_EFF / v_d
    # the rack model's fans follow the cube law (free delivery: P_d s^3), so by hand
    # P = Q (dp_i q^2 + dp) / eta with eta = V_d dp_i / P_d: P_d q (q^2 + dp / dp_i)
    np.testing.assert_allclose(free.fan_power_w, spec.design_fan_power_w * s ** 3, rtol=1e-9)
    q = s * share
    hand = spec.design_fan_power_w * q * (q * q + dp / dp_i)
    np.testing.assert_allclose(out.fan_w, hand, rtol=1e-9)
    assert out.fan_w[0] == pytest.approx(float(free.fan_power_w[0]), rel=1e-12)
    assert out.fan_w[1] < 0.95 * float(free.fan_power_w[1])
    np.testing.assert_allclose(out.power_w - free.power_w, out.fan_w - free.fan_power_w,
                               rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(out.power_w, out.air_w + out.liquid_w, rtol=1e-12)
    np.testing.assert_allclose(out.flow_m3_s, q * v_d, rtol=1e-12)


def test_steady_rack_model_moves_the_fan_power_too():
    """``HallRacks.response`` (the steady commands' rack model) at the same operating
    point gives the same fan power, with the cabinet's recirculation closing on it: the
    servers' inlet rise is the heat to air, fan change included, over the airflow."""
    from twin.models.it_load import RackSpec, rack_power
    from twin.thermal.racks import HallRacks
    spec = RackSpec(name="t", nameplate_power_w=8000.0, idle_fraction=0.4,
                    liquid_capture_fraction=0.0, design_air_delta_t_k=12.0, source="test")
    racks = HallRacks(("a", "b"), np.array([0, 1]), (spec, spec), np.ones(2),
                      recirculation=np.array([0.0, 0.2]), bypass=np.zeros(2))
    tin = np.array([25.0, 25.0])
    share, dp = np.array([0.85, 0.85]), np.array([30.0, 30.0])
    got = racks.response(tin, fan_frac=share, fan_dp_pa=dp)
    old = racks.response(tin, fan_frac=share)
    dp_i = spec.design_fan_power_w * SERVER_FAN_EFF / spec.design_airflow_m3_s
    s = got["free_flow_m3_s"] / spec.design_airflow_m3_s
    free = rack_power(1.0, got["server_inlet_c"], spec)
    q = s * share
    hand = np.asarray(free.fan_power_w) * (q / s) * (dp_i * q * q + dp) / (dp_i * s * s)
    np.testing.assert_allclose(got["fan_w"], hand, rtol=1e-9)
    assert np.all(got["fan_w"] < 0.95 * old["fan_w"])
    np.testing.assert_allclose(got["power_w"] - np.asarray(free.power_w),
                               got["fan_w"] - np.asarray(free.fan_power_w), atol=1e-9)
    rise = 0.2 / 0.8 * got["air_w"][1] / (spec.air_rho_cp_j_m3k * got["flow_m3_s"][1])
    assert got["server_inlet_c"][1] - 25.0 == pytest.approx(rise, abs=1e-6)
