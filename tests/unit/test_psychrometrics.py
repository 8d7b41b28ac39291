"""Psychrometrics against ASHRAE Handbook—Fundamentals 2017 (SI), ch. 1.

Published values used:
- Table 1 (standard atmosphere): pressure at 500, 1000, 4000 m.
- Table 2 (moist air at 101.325 kPa): saturation humidity ratio W_s, dry-air enthalpy
  and specific volume at 25 °C.
- Table 3 (water at saturation): saturation vapour pressure p_ws; ASHRAE states the
  Hyland-Wexler equations are within 300 ppm of the table.
- Example 1 (40 °C dry bulb, 20 °C wet bulb, 101.325 kPa): W ≈ 0.0065 kg/kg,
  h ≈ 56.7 kJ/kg, t_d ≈ 7 °C, φ ≈ 14 %, v ≈ 0.896 m³/kg.
psychrolib (an independent implementation) is used only as a cross-check.
"""

import numpy as np
import pytest

from twin.models import psychrometrics as ps
from common.units import ValidityRangeWarning


@pytest.mark.parametrize(
    "temp_c, pws_pa",
    [(-20.0, 103.24), (-5.0, 401.74), (5.0, 872.6), (25.0, 3169.7), (50.0, 12351.3),
     (100.0, 101418.0), (150.0, 476101.4)],
)
def test_saturation_pressure_ashrae_table3(temp_c, pws_pa):
    assert ps.saturation_vapor_pressure_pa(temp_c) == pytest.approx(pws_pa, rel=3e-4)


def test_saturation_pressure_very_cold_table3():
    # Table 3 at -60 °C: 1.08 Pa (ASHRAE's 300 ppm claim does not hold there).
    assert ps.saturation_vapor_pressure_pa(-60.0) == pytest.approx(1.08, abs=0.01)


@pytest.mark.parametrize(
    "temp_c, ws_kg_kg, rel",
    [(-20.0, 0.0006373, 0.01), (5.0, 0.005425, 0.005), (25.0, 0.020173, 0.005), (50.0, 0.086863, 0.01)],
)
def test_saturation_humidity_ratio_ashrae_table2(temp_c, ws_kg_kg, rel):
    # Table 2 includes the enhancement factor, the perfect-gas relation does not:
    # agreement to 0.5-1 %.
    assert ps.saturation_humidity_ratio_kg_kg(temp_c) == pytest.approx(ws_kg_kg, rel=rel)


def test_dry_air_properties_ashrae_table2():
    assert ps.moist_air_enthalpy_j_kg(25.0, 0.0) == pytest.approx(25148.0, rel=3e-4)
    assert ps.moist_air_specific_volume_m3_kg(25.0, 0.0) == pytest.approx(0.8443, rel=1e-3)
    assert ps.moist_air_density_kg_m3(25.0, 0.0) == pytest.approx(1.0 / 0.8443, rel=1e-3)


@pytest.mark.parametrize("elevation_m, p_pa", [(0.0, 101325.0), (500.0, 95461.0), (1000.0, 89875.0),
                                                (4000.0, 61640.0)])
def test_standard_pressure_ashrae_table1(elevation_m, p_pa):
    assert ps.standard_pressure_pa(elevation_m) == pytest.approx(p_pa, abs=1.0)


def test_ashrae_example_1():
    w = ps.humidity_ratio_from_wet_bulb(40.0, 20.0, 101325.0)
    assert w == pytest.approx(0.0065, abs=1e-4)
    assert ps.moist_air_enthalpy_j_kg(40.0, w) == pytest.approx(56700.0, abs=100.0)
    assert ps.dew_point_from_humidity_ratio_c(w) == pytest.approx(7.0, abs=0.5)
    assert ps.rel_humidity_from_humidity_ratio(40.0, w) == pytest.approx(0.14, abs=0.01)
    assert ps.moist_air_specific_volume_m3_kg(40.0, w) == pytest.approx(0.896, rel=0.01)
    # and back: the wet bulb of that state is 20 °C
    assert ps.wet_bulb_from_humidity_ratio_c(40.0, w) == pytest.approx(20.0, abs=1e-4)


def test_state_record_consistent_with_example_1():
    s = ps.moist_air_state(40.0, wet_bulb_c=20.0)
    back = ps.moist_air_state(40.0, dew_point_c=s.dew_point_c)
    assert back.wet_bulb_c == pytest.approx(20.0, abs=1e-3)
    back = ps.moist_air_state(40.0, rel_humidity_frac=s.rel_humidity_frac)
    assert back.wet_bulb_c == pytest.approx(20.0, abs=1e-3)
    with pytest.raises(ValueError):
        ps.moist_air_state(40.0, wet_bulb_c=20.0, dew_point_c=5.0)
    with pytest.raises(ValueError):
        ps.moist_air_state(40.0)


@pytest.mark.parametrize("td_c", [-40.0, -20.0, -0.5, 0.5, 5.0, 27.0, 50.0, 90.0])
def test_dew_point_inverts_saturation_pressure(td_c):
    pw = ps.saturation_vapor_pressure_pa(td_c)
    assert ps.dew_point_from_vapor_pressure_c(pw) == pytest.approx(td_c, abs=1e-6)


def test_wet_bulb_round_trip_above_and_below_freezing():
    # 95461 Pa is the standard atmosphere at 500 m (Table 1)
    for t, twb in ((30.0, 25.0), (-1.0, -5.0), (35.0, 10.0)):
        w = ps.humidity_ratio_from_wet_bulb(t, twb, 95461.0)
        assert ps.wet_bulb_from_humidity_ratio_c(t, w, 95461.0) == pytest.approx(twb, abs=1e-4)


def test_saturated_air_wet_bulb_equals_dry_bulb():
    t = np.array([-10.0, 0.5, 20.0, 35.0])
    ws = ps.saturation_humidity_ratio_kg_kg(t)
    np.testing.assert_allclose(ps.wet_bulb_from_humidity_ratio_c(t, ws), t, atol=1e-4)
    np.testing.assert_allclose(ps.rel_humidity_from_humidity_ratio(t, ws), 1.0, rtol=1e-12)


def test_room_air_density_domain_note():
    # domain-notes.md: air near 22 °C at sea level, 1.19 kg/m³
    w = ps.humidity_ratio_from_rel_humidity(22.0, 0.5)
    assert ps.moist_air_density_kg_m3(22.0, w) == pytest.approx(1.19, abs=0.01)


def test_vectorised_broadcast_and_scalar_return():
    t = np.linspace(-20.0, 45.0, 14).reshape(2, 7)
    rh = np.array([0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 1.0])
    w = ps.humidity_ratio_from_rel_humidity(t, rh)
    assert w.shape == (2, 7)
    twb = ps.wet_bulb_from_humidity_ratio_c(t, w, np.full((2, 1), 90000.0))
    assert twb.shape == (2, 7)
    assert np.all(twb <= t + 1e-9) and np.all(twb >= ps.dew_point_from_humidity_ratio_c(w, 90000.0) - 1e-6)
    assert np.ndim(ps.saturation_vapor_pressure_pa(20.0)) == 0


def test_zero_humidity_gives_minus_infinite_dew_point():
    assert ps.dew_point_from_vapor_pressure_c(0.0) == -np.inf
    assert np.isfinite(ps.wet_bulb_from_humidity_ratio_c(20.0, 0.0))


def test_warns_outside_range_of_validity():
    with pytest.warns(ValidityRangeWarning, match="temp_c"):
        ps.saturation_vapor_pressure_pa(250.0)


def test_agrees_with_psychrolib_over_the_data_center_range():
    psychrolib = pytest.importorskip("psychrolib")
    psychrolib.SetUnitSystem(psychrolib.SI)
    rng = np.random.default_rng(0)
    n = 60   # psychrolib is scalar Python: keep the sample small
    t = rng.uniform(-25.0, 50.0, n)
    rh = rng.uniform(0.05, 1.0, n)
    p = rng.uniform(90000.0, 103000.0, n)
    t = np.where(np.abs(t) < 0.02, 0.5, t)   # psychrolib switches ice/water at 0.01 °C
    w = ps.humidity_ratio_from_rel_humidity(t, rh, p)
    ref_w = np.array([psychrolib.GetHumRatioFromRelHum(a, b, c) for a, b, c in zip(t, rh, p)])
    np.testing.assert_allclose(w, ref_w, rtol=1e-9)
    td = ps.dew_point_from_humidity_ratio_c(w, p)
    ref_td = np.array([psychrolib.GetTDewPointFromHumRatio(a, b, c) for a, b, c in zip(t, w, p)])
    np.testing.assert_allclose(td, ref_td, atol=1e-3)
    twb = ps.wet_bulb_from_humidity_ratio_c(t, w, p)
    ref_twb = np.array([psychrolib.GetTWetBulbFromHumRatio(float(a), float(b), float(c))
                        for a, b, c in zip(t, w, p)])
    np.testing.assert_allclose(twb, ref_twb, atol=2e-3)   # psychrolib bisects to 0.001 K
    np.testing.assert_allclose(ps.moist_air_enthalpy_j_kg(t, w),
                               [psychrolib.GetMoistAirEnthalpy(a, b) for a, b in zip(t, w)], rtol=1e-12)
    np.testing.assert_allclose(ps.moist_air_density_kg_m3(t, w, p),
                               [psychrolib.GetMoistAirDensity(a, b, c) for a, b, c in zip(t, w, p)], rtol=1e-9)
