"""IT-load models: rack power, server fans, liquid split, throttling, profiles, CSV traces."""
import warnings

import numpy as np
import pytest

from common.errors import InputError
from common.units import ValidityRangeWarning, m3_s_to_cfm
from twin.models import profiles as it_load_profiles
from twin.models.airside import AIR_CP_J_KG_K, AIR_DENSITY_KG_M3, CurveRangeWarning
from twin.models.it_load import (ITE_AIRFLOW_CURVES, RACK_SPECS, RackSpec, rack_power,
                                 throttle_work_fraction)
from twin.models.profiles import PROFILES, read_utilization_csv, trace_profile, utilization_profile


@pytest.mark.parametrize("name", sorted(RACK_SPECS))
def test_power_linear_in_utilization_at_design_inlet(name):
    spec = RACK_SPECS[name]
    u = np.linspace(0.0, 1.0, 11)
    r = rack_power(u, spec.design_inlet_temp_c, spec)
    expected = spec.idle_power_w + (spec.nameplate_power_w - spec.idle_power_w) * u
    np.testing.assert_allclose(r.power_w, expected, rtol=1e-12)
    np.testing.assert_allclose(r.compute_power_w + r.fan_power_w, r.power_w, rtol=1e-12)
    assert not np.any(r.throttled)


def test_dgx_h100_rack_nameplate_from_datasheet():
    # NVIDIA DGX H100: 10.2 kW max per system, four per rack
    r = rack_power(1.0, 25.0, RACK_SPECS["dgx-h100-x4"])
    assert r.power_w == pytest.approx(40_800.0)


def test_design_airflow_matches_heat_balance():
    # domain notes: 1 kW at 12 K needs 0.070 m3/s (about 147 CFM)
    spec = RackSpec(name="1kw", nameplate_power_w=1000.0, design_air_delta_t_k=12.0)
    assert spec.design_airflow_m3_s == pytest.approx(0.070, rel=0.01)
    assert m3_s_to_cfm(spec.design_airflow_m3_s) == pytest.approx(147.0, rel=0.01)
    r = rack_power(1.0, spec.design_inlet_temp_c, spec)
    assert r.exhaust_temp_c - spec.design_inlet_temp_c == pytest.approx(12.0, rel=1e-9)


def test_fan_power_and_airflow_rise_with_inlet_temperature():
    spec = RACK_SPECS["dgx-h100-x4"]
    t = np.array([20.0, 25.0, 28.0, 30.0])
    r = rack_power(1.0, t, spec)
    assert np.all(np.diff(r.fan_power_w) > 0.0)
    assert np.all(np.diff(r.airflow_m3_s) > 0.0)
    # fan power follows the cube of the airflow ratio (affinity law)
    ratio = r.airflow_m3_s / spec.design_airflow_m3_s
    np.testing.assert_allclose(r.fan_power_w, spec.design_fan_power_w * ratio**3, rtol=1e-12)
    # leakage: compute power rises with inlet temperature too
    assert np.all(np.diff(r.compute_power_w) > 0.0)


def test_energyplus_example_airflow_curve_is_one_at_its_design_point():
    # EnergyPlus "Data Center Servers Airflow fLoadTemp" = -1.4 + 0.9 u + 0.1 T, 15 °C design
    c = ITE_AIRFLOW_CURVES["energyplus-example"]
    assert float(c(1.0, 15.0)) == pytest.approx(1.0)
    assert float(c(0.5, 20.0)) == pytest.approx(-1.4 + 0.45 + 2.0)
    assert c.fan_power_exponent == 1.0
    for curve in ITE_AIRFLOW_CURVES.values():
        assert float(curve(1.0, curve.unity_inlet_temp_c)) == pytest.approx(1.0)


def test_curve_warns_and_clamps_outside_its_range():
    spec = RACK_SPECS["cpu-2u-x20"]
    with pytest.warns(ValidityRangeWarning, match="outside the fitted range"):   # project-wide category
        hot = rack_power(0.5, 60.0, spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        edge = rack_power(0.5, 45.0, spec)
    assert hot.airflow_m3_s == pytest.approx(edge.airflow_m3_s)


def test_liquid_capture_split_sums_to_power():
    spec = RACK_SPECS["gb200-nvl72"]
    r = rack_power(np.array([0.2, 0.9]), 25.0, spec, coolant_supply_temp_c=35.0)
    np.testing.assert_allclose(r.heat_to_liquid_w, 0.85 * r.power_w)
    np.testing.assert_allclose(r.heat_to_liquid_w + r.heat_to_air_w, r.power_w)
    air = RACK_SPECS["dgx-h100-x4"]
    ra = rack_power(0.9, 25.0, air)
    assert ra.heat_to_liquid_w == 0.0 and ra.heat_to_air_w == ra.power_w


def test_throttling_on_inlet_air_is_linear_to_the_floor():
    spec = RACK_SPECS["dgx-h100-x4"]          # limit 30 °C, band 5 K, floor 0.5
    t = np.array([29.0, 30.0, 32.5, 35.0, 40.0])
    w = throttle_work_fraction(t, None, spec)
    np.testing.assert_allclose(w, [1.0, 1.0, 0.75, 0.5, 0.5])
    r = rack_power(1.0, t, spec)
    np.testing.assert_array_equal(r.throttled, [False, False, True, True, True])
    np.testing.assert_allclose(r.throttle_fraction, 1.0 - w)
    unthrottled_compute = rack_power(1.0, 32.5, RackSpec(**{**spec.__dict__, "inlet_limit_c": 99.0})).compute_power_w
    assert r.compute_power_w[2] == pytest.approx(0.75 * unthrottled_compute)


def test_throttling_on_coolant_only_for_liquid_racks():
    liq = RACK_SPECS["gb200-nvl72"]          # coolant limit 45 °C, band 5 K, floor 0.5
    r = rack_power(0.9, 25.0, liq, coolant_supply_temp_c=np.array([40.0, 47.5, 60.0]))
    np.testing.assert_allclose(r.work_fraction, [1.0, 0.75, 0.5])
    air = RACK_SPECS["dgx-h100-x4"]
    assert not rack_power(0.9, 25.0, air, coolant_supply_temp_c=60.0).throttled


def test_rack_power_bad_inputs():
    spec = RACK_SPECS["cpu-2u-x20"]
    with pytest.raises(InputError, match="utilization must be >= 0"):
        rack_power(-0.1, 25.0, spec)
    with pytest.raises(InputError, match="not a percentage"):
        rack_power(90.0, 25.0, spec)
    with pytest.raises(InputError, match="NaN"):
        rack_power(np.nan, 25.0, spec)
    with pytest.raises(InputError, match="nameplate_power_w"):
        RackSpec(name="bad", nameplate_power_w=-5.0)
    with pytest.raises(InputError, match="airflow_curve"):
        RackSpec(name="bad", nameplate_power_w=1e3, airflow_curve="nope")
    with pytest.raises(InputError, match="idle"):
        RackSpec(name="bad", nameplate_power_w=1e3, idle_fraction=0.0, design_fan_power_fraction=0.2)


# --- profiles -------------------------------------------------------------------------------
def test_constant_and_registry():
    t = np.arange(0.0, 24.0, 1.0)
    np.testing.assert_allclose(utilization_profile("constant", t, level=0.7), 0.7)
    for kind in PROFILES:
        u = utilization_profile(kind, t)
        assert u.shape == t.shape and np.all((u >= 0.0) & (u <= 1.0))
    with pytest.raises(InputError, match="unknown"):
        utilization_profile("nope", t)


def test_training_profile_flat_with_checkpoint_dips():
    t = (np.arange(600) + 0.5) / 60.0              # one sample per minute, mid-minute
    u = it_load_profiles.training_profile(t, level=0.9, checkpoint_interval_h=1.0,
                                 checkpoint_duration_h=5.0 / 60.0, checkpoint_level=0.3)
    assert set(np.round(np.unique(u), 6)) == {0.3, 0.9}
    assert np.mean(u == 0.3) == pytest.approx(5.0 / 60.0, abs=1e-3)
    assert np.mean(u) == pytest.approx(0.9 - 0.6 * 5.0 / 60.0, abs=1e-3)


def test_inference_profile_daily_cycle():
    t = np.linspace(0.0, 48.0, 481)
    u = it_load_profiles.inference_profile(t, mean=0.5, amplitude=0.3, peak_hour=15.0, floor=0.1)
    np.testing.assert_allclose(u[:241], u[240:], atol=1e-12)         # 24 h period
    assert t[np.argmax(u[:240])] == pytest.approx(15.0, abs=0.1)
    assert u.max() == pytest.approx(0.8) and u.min() == pytest.approx(0.2)


# --- CSV traces -------------------------------------------------------------------------------
def _write(tmp_path, text, name="trace.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_single_column_and_interpolation(tmp_path):
    p = _write(tmp_path, "# site trace\ntime_h,utilization\n0,0.2\n1,0.6\n2,1.0\n")
    tr = read_utilization_csv(p)
    assert tr.columns == ("utilization",)
    np.testing.assert_allclose(trace_profile(tr, [0.5, 1.5]), [0.4, 0.8])
    with pytest.warns(CurveRangeWarning):
        assert float(trace_profile(tr, 5.0)) == pytest.approx(1.0)
    # periodic: the 3-sample trace repeats every 3 h
    np.testing.assert_allclose(trace_profile(tr, [3.0, 4.0, 3.5], periodic=True), [0.2, 0.6, 0.4])
    np.testing.assert_allclose(utilization_profile("csv", [0.5], path=p), [0.4])


def test_csv_per_rack_columns(tmp_path):
    p = _write(tmp_path, "time_h,r1,r2,r3\n0,0.1,0.5,0.9\n2,0.3,0.5,0.7\n")
    tr = read_utilization_csv(p)
    assert tr.columns == ("r1", "r2", "r3")
    out = trace_profile(tr, [1.0])
    assert out.shape == (1, 3)
    np.testing.assert_allclose(out[0], [0.2, 0.5, 0.8])


@pytest.mark.parametrize("text, line, what", [
    ("time,utilization\n0,0.5\n", 1, "expected 'time_h'"),
    ("time_h,utilization\n0,0.5\n1,abc\n", 3, "'abc' is not a number"),
    ("time_h,utilization\n0,0.5\n1,90\n", 3, "outside 0..1"),
    ("time_h,utilization\n0,0.5\n0,0.6\n", 3, "does not increase"),
    ("time_h,r1,r2\n0,0.5\n", 2, "2 fields, header has 3"),
    ("time_h,r1,r1\n0,0.5,0.5\n", 1, "duplicate"),
    ("time_h\n0\n", 1, "named utilization columns"),
])
def test_csv_errors_name_file_line_and_fix(tmp_path, text, line, what):
    p = _write(tmp_path, text)
    with pytest.raises(InputError) as exc:
        read_utilization_csv(p)
    msg = str(exc.value)
    assert "\n" not in msg
    assert f"{p}:{line}:" in msg
    assert what in msg


def test_csv_missing_and_empty(tmp_path):
    with pytest.raises(InputError, match="cannot open"):
        read_utilization_csv(tmp_path / "absent.csv")
    with pytest.raises(InputError, match="empty"):
        read_utilization_csv(_write(tmp_path, "\n# nothing\n"))
    with pytest.raises(InputError, match="no data rows"):
        read_utilization_csv(_write(tmp_path, "time_h,utilization\n"))


def test_airflow_uses_air_properties():
    spec = RACK_SPECS["gb200-nvl72"]
    expected = 0.15 * spec.nameplate_power_w / (AIR_DENSITY_KG_M3 * AIR_CP_J_KG_K * spec.design_air_delta_t_k)
    assert spec.design_airflow_m3_s == pytest.approx(expected)


@pytest.mark.parametrize("name", sorted(RACK_SPECS))
def test_power_rise_25_to_35_c_within_ashrae_band(name):
    # ASHRAE TC 9.9 (2011) expanded-classes white paper: server power rises roughly
    # 4-20 % from 25 to 35 °C inlet, mostly fans (throttling switched off here)
    spec = RackSpec(**{**RACK_SPECS[name].__dict__, "inlet_limit_c": 99.0})
    rise = rack_power(1.0, 35.0, spec).power_w / rack_power(1.0, 25.0, spec).power_w - 1.0
    assert 0.04 <= rise <= 0.20
