"""Weather: EPW reader, built-in Ulsan climate, solar position, interpolation.

Published values used:
- the shared IWEC file's own checks (shared/reference/weather/
  KOR_Ulsan.471520_IWEC.SOURCE.md): site, 8760 rows, annual mean dry bulb 14.0 °C,
  January 1.9 °C, August 26.0 °C, annual GHI 1,320 / DNI 931 / DHI 745 kWh/m²;
- Duffie & Beckman (2013), *Solar Engineering of Thermal Processes*, 4th ed.,
  Example 1.6.2: Madison (43° N), 13 February (δ = -14°), 9:30 solar time
  (ω = -37.5°): zenith 66.5°, azimuth -40.0° from south (140.0° from north);
- declination ±23.44° at the solstices; equation of time -14.2 min on 11 February and
  +16.4 min on 3 November (its extremes; Astronomical Almanac).
"""

from pathlib import Path

import numpy as np
import pytest

from common.errors import InputError
from tests.fault.corpus import _epw as epw_bytes
from twin.models import climate, solar
from twin.models import weather as wm

REPO = Path(__file__).resolve().parents[2]
EPW = REPO.parent / "shared" / "reference" / "weather" / "KOR_Ulsan.471520_IWEC.epw"


@pytest.fixture(scope="module")
def epw():
    if not EPW.is_file():
        pytest.skip(f"shared IWEC weather file not found at {EPW}")
    return wm.read_epw(EPW)


@pytest.fixture(scope="module")
def builtin():
    return climate.ulsan_climate()


# ------------------------------------------------------------------ EPW reader
def test_epw_site_and_shape(epw):
    assert epw.site_name == "ULSAN, KOR"
    assert (epw.latitude_deg, epw.longitude_deg, epw.utc_offset_h, epw.elevation_m) == (35.55, 129.32, 9.0, 33.0)
    assert epw.first_weekday == 6            # DATA PERIODS: Sunday
    assert epw.dry_bulb_temp_c.shape == (8760,)
    np.testing.assert_array_equal(epw.hour_of_year, np.arange(1, 8761))
    assert epw.month[0] == 1 and epw.month[-1] == 12 and epw.hour[23] == 24


def test_epw_values_match_source_checks(epw):
    # KOR_Ulsan.471520_IWEC.SOURCE.md, "Checks run on it"
    assert epw.dry_bulb_temp_c.mean() == pytest.approx(14.0, abs=0.05)
    assert epw.dry_bulb_temp_c.min() == pytest.approx(-8.8, abs=0.01)
    assert epw.dry_bulb_temp_c.max() == pytest.approx(35.4, abs=0.01)
    tm = epw.monthly_mean("dry_bulb_temp_c")
    assert tm[0] == pytest.approx(1.9, abs=0.05) and tm[7] == pytest.approx(26.0, abs=0.05)
    assert epw.ghi_w_m2.sum() / 1e3 == pytest.approx(1320.0, abs=1.0)
    assert epw.dni_w_m2.sum() / 1e3 == pytest.approx(931.0, abs=1.0)
    assert epw.dhi_w_m2.sum() / 1e3 == pytest.approx(745.0, abs=1.0)
    assert epw.rel_humidity_frac.min() == pytest.approx(0.07) and epw.rel_humidity_frac.max() == 1.0
    assert 98.6e3 < epw.pressure_pa.min() and epw.pressure_pa.max() < 103.0e3
    assert epw.wind_speed_m_s.mean() == pytest.approx(1.9, abs=0.05)


def test_epw_records_are_read_only(epw):
    with pytest.raises(ValueError):
        epw.dry_bulb_temp_c[0] = 99.0


def test_epw_irradiance_only_when_sun_is_up(epw):
    # GHI is a mean over the hour ending at the stamp: it can be > 0 only if the sun is
    # above the horizon at some time in that hour, and is > 0 whenever it is well up.
    a = solar.solar_position(epw.hour_of_year - 1.0, epw.latitude_deg, epw.longitude_deg, epw.utc_offset_h)
    b = solar.solar_position(epw.hour_of_year, epw.latitude_deg, epw.longitude_deg, epw.utc_offset_h)
    m = solar.solar_position(epw.hour_of_year - 0.5, epw.latitude_deg, epw.longitude_deg, epw.utc_offset_h)
    up = (a.zenith_deg < 90.0) | (b.zenith_deg < 90.0)
    assert not np.any((epw.ghi_w_m2 > 0) & ~up)
    assert not np.any((epw.ghi_w_m2 == 0) & (m.zenith_deg < 85.0))


# ------------------------------------------------------------------ bad EPW input
def _write_epw(path: Path, n_rows=8760, mutate=None):
    """A synthetic, valid EPW (made-up site and values) for the error tests."""
    path.write_bytes(epw_bytes(n_rows, mutate))
    return path


def test_synthetic_epw_reads(tmp_path):
    w = wm.read_epw(_write_epw(tmp_path / "ok.epw"))
    assert w.site_name == "TESTVILLE, NOWHERE" and w.first_weekday == 0
    assert w.rel_humidity_frac[0] == 0.5 and w.pressure_pa[0] == 101000.0


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError, match=r"nope\.epw.*not found.*fix"):
        wm.read_epw(tmp_path / "nope.epw")


def test_wrong_column_count_names_line(tmp_path):
    def cut(rows):
        rows[3] = rows[3][:20]
    p = _write_epw(tmp_path / "cols.epw", mutate=cut)
    with pytest.raises(InputError, match=r"cols\.epw:12: 20 comma-separated fields.*fix"):
        wm.read_epw(p)


def test_non_numeric_field_names_line(tmp_path):
    def bad(rows):
        rows[100][6] = "warm"
    p = _write_epw(tmp_path / "nan.epw", mutate=bad)
    with pytest.raises(InputError, match=r"nan\.epw:109: field 7 \(dry_bulb_temp_c\) is 'warm'.*fix"):
        wm.read_epw(p)


def test_missing_value_code_names_line(tmp_path):
    def miss(rows):
        rows[0][13] = "9999"
    p = _write_epw(tmp_path / "miss.epw", mutate=miss)
    with pytest.raises(InputError, match=r"miss\.epw:9: .*ghi_w_m2.*missing code.*fix"):
        wm.read_epw(p)


def test_wrong_row_count_is_input_error(tmp_path):
    p = _write_epw(tmp_path / "short.epw", n_rows=8000)
    with pytest.raises(InputError, match=r"short\.epw:8008: 8000 data rows, expected 8760.*fix"):
        wm.read_epw(p)


def test_not_an_epw_is_input_error(tmp_path):
    p = tmp_path / "x.epw"
    p.write_text("hello\n" * 20)
    with pytest.raises(InputError, match=r"x\.epw:1: .*LOCATION.*fix"):
        wm.read_epw(p)


def test_weather_record_validates_shape():
    w = climate.ulsan_climate()
    with pytest.raises(InputError, match="shape"):
        wm.Weather(**{**w.__dict__, "ghi_w_m2": np.zeros(10)})


# ------------------------------------------------------------------ built-in Ulsan
def test_builtin_reproduces_its_table(builtin):
    table = np.asarray(climate.ULSAN_MONTHLY_NORMALS)
    np.testing.assert_allclose(builtin.monthly_mean("dry_bulb_temp_c"), table[:, 0], atol=0.01)
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    ghi_day = np.array([builtin.ghi_w_m2[builtin.month == m].sum() for m in range(1, 13)]) / days / 1e3
    np.testing.assert_allclose(ghi_day, table[:, 4], rtol=1e-3)
    np.testing.assert_allclose(builtin.monthly_mean("wind_speed_m_s"), table[:, 6], rtol=1e-6)


def test_table_was_computed_from_the_iwec_file(epw):
    table = np.asarray(climate.ULSAN_MONTHLY_NORMALS)
    np.testing.assert_allclose(epw.monthly_mean("dry_bulb_temp_c"), table[:, 0], atol=1e-3)
    np.testing.assert_allclose(epw.monthly_mean("dew_point_temp_c"), table[:, 3], atol=1e-3)
    daily = epw.dry_bulb_temp_c.reshape(365, 24)
    month_of_day = epw.month[::24]
    tmax = [daily.max(axis=1)[month_of_day == m].mean() for m in range(1, 13)]
    np.testing.assert_allclose(tmax, table[:, 1], atol=1e-3)


@pytest.mark.parametrize("seed", [None, 3])
def test_builtin_matches_iwec_climate(epw, seed):
    b = climate.ulsan_climate(variability_seed=seed)
    dt = b.monthly_mean("dry_bulb_temp_c") - epw.monthly_mean("dry_bulb_temp_c")
    assert np.all(np.abs(dt) < 0.5)
    assert abs(b.dry_bulb_temp_c.mean() - epw.dry_bulb_temp_c.mean()) < 0.3
    for m in range(1, 13):
        ratio = b.ghi_w_m2[b.month == m].sum() / epw.ghi_w_m2[epw.month == m].sum()
        assert abs(ratio - 1.0) < 0.05, m
    assert abs(b.dhi_w_m2.sum() / epw.dhi_w_m2.sum() - 1.0) < 0.01
    assert abs(b.dni_w_m2.sum() / epw.dni_w_m2.sum() - 1.0) < 0.15
    np.testing.assert_allclose(b.monthly_mean("dew_point_temp_c"), epw.monthly_mean("dew_point_temp_c"), atol=0.5)


def test_builtin_daily_course_and_determinism(builtin):
    t = builtin.dry_bulb_temp_c.reshape(365, 24).mean(axis=0)
    assert builtin.hour[np.argmax(t)] == 15           # warmest at 15:00
    assert np.all(builtin.dew_point_temp_c <= builtin.dry_bulb_temp_c)
    assert np.all((builtin.rel_humidity_frac > 0) & (builtin.rel_humidity_frac <= 1))
    night = builtin.hour <= 4
    assert np.all(builtin.ghi_w_m2[night] == 0)
    np.testing.assert_array_equal(builtin.ghi_w_m2, climate.ulsan_climate().ghi_w_m2)
    a, b, c = climate.ulsan_climate(7), climate.ulsan_climate(7), climate.ulsan_climate(8)
    np.testing.assert_array_equal(a.dry_bulb_temp_c, b.dry_bulb_temp_c)
    assert not np.array_equal(a.dry_bulb_temp_c, c.dry_bulb_temp_c)
    assert a.dry_bulb_temp_c.std() > builtin.dry_bulb_temp_c.std()


# ------------------------------------------------------------------ solar geometry
def test_duffie_beckman_example_1_6_2():
    zen, az = solar.solar_zenith_azimuth_deg(43.0, -14.0, -37.5)
    assert zen == pytest.approx(66.5, abs=0.1)
    assert az == pytest.approx(180.0 - 40.0, abs=0.1)


def test_declination_and_equation_of_time():
    day_angle = lambda n: 2.0 * np.pi * (n - 1) / 365.0
    assert solar.solar_declination_deg(day_angle(172)) == pytest.approx(23.44, abs=0.1)
    assert solar.solar_declination_deg(day_angle(355)) == pytest.approx(-23.44, abs=0.1)
    assert solar.equation_of_time_min(day_angle(42)) == pytest.approx(-14.2, abs=0.5)
    assert solar.equation_of_time_min(day_angle(307)) == pytest.approx(16.4, abs=0.5)


def test_noon_zenith_at_ulsan():
    # at local solar noon the zenith is |latitude - declination|
    sp = solar.solar_position(np.arange(0, 8760, 0.25), 35.55, 129.32, 9.0)
    day = np.repeat(np.arange(365), 96)
    zmin = np.array([sp.zenith_deg[day == d].min() for d in (79, 171, 354)])
    dec = np.array([sp.declination_deg[day == d].mean() for d in (79, 171, 354)])
    np.testing.assert_allclose(zmin, np.abs(35.55 - dec), atol=0.1)


# ------------------------------------------------------------------ interpolation and loading
def test_weather_at_stamps_midpoints_and_wrap(builtin):
    s = wm.weather_at(builtin, builtin.hour_of_year)
    np.testing.assert_allclose(s.dry_bulb_temp_c, builtin.dry_bulb_temp_c)
    np.testing.assert_allclose(s.ghi_w_m2, builtin.ghi_w_m2)
    mid = wm.weather_at(builtin, [100.5])
    assert mid.dry_bulb_temp_c[0] == pytest.approx(builtin.dry_bulb_temp_c[99:101].mean())
    np.testing.assert_allclose(wm.weather_at(builtin, [5.25 + 8760.0]).dry_bulb_temp_c,
                               wm.weather_at(builtin, [5.25]).dry_bulb_temp_c)
    # time 0 is the same instant as the last stamp of the year
    assert wm.weather_at(builtin, [0.0]).dry_bulb_temp_c[0] == builtin.dry_bulb_temp_c[-1]


def test_weather_at_keeps_hourly_irradiation(epw):
    t = np.arange(0.0, 8760.0, 0.1) + 0.05
    g = wm.weather_at(epw, t).ghi_w_m2
    assert g.sum() * 0.1 == pytest.approx(epw.ghi_w_m2.sum(), rel=1e-9)


def test_weather_at_wind_direction_wraps(builtin):
    w = wm.Weather(**{**builtin.__dict__,
                      "wind_dir_deg": np.where(np.arange(8760) % 2 == 0, 350.0, 10.0)})
    d = wm.weather_at(w, [1.5]).wind_dir_deg[0]
    assert min(d, 360.0 - d) == pytest.approx(0.0, abs=1e-6)


def test_load_weather(epw):
    assert wm.load_weather("builtin:ulsan").site_name.startswith("Ulsan")
    assert wm.load_weather(str(EPW)).site_name == "ULSAN, KOR"
    with pytest.raises(InputError, match="unknown built-in"):
        wm.load_weather("builtin:atlantis")


def test_wet_bulb_against_ashrae_2009_design_conditions(epw):
    # EPW header (2009 ASHRAE Handbook, from multi-year records): cooling 0.4 % 33.1 °C
    # dry bulb with 24.9 °C mean coincident wet bulb; evaporation 0.4 % wet bulb 26.2 °C.
    # A single typical year matches them only approximately.
    wb = wm.wet_bulb_temp_c(epw)
    assert np.quantile(epw.dry_bulb_temp_c, 0.996) == pytest.approx(33.1, abs=0.5)
    near = np.abs(epw.dry_bulb_temp_c - 33.1) <= 0.6
    assert wb[near].mean() == pytest.approx(24.9, abs=1.0)
    assert np.quantile(wb, 0.996) == pytest.approx(26.2, abs=1.0)
    assert np.all(wb <= epw.dry_bulb_temp_c + 1e-6)
    s = wm.weather_at(epw, [4800.5])
    assert wm.wet_bulb_temp_c(s).shape == (1,)
