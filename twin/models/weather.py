"""Site weather for the twin: EPW reader, built-in Ulsan climate, solar position.

A :class:`Weather` is a frozen record of one typical year of hourly values (8760 rows,
no leap day). Time convention (see :mod:`common.units`): ``hour_of_year`` is the EPW
time stamp, hours after 1 January 00:00 local standard time, 1 ... 8760. Instantaneous
quantities (temperatures, humidity, pressure, wind) hold *at* the stamp; irradiances
are means over the hour that *ends* at the stamp (EnergyPlus Auxiliary Programs,
"EnergyPlus Weather File (EPW) Data Dictionary").

Public entry points
-------------------
- :func:`read_epw` — parse an EPW file (bad input raises
  :class:`common.errors.InputError` with file, line and fix).
- :func:`ulsan_climate` — a deterministic Ulsan, Korea year generated from monthly
  normals calibrated on the ASHRAE IWEC file for WMO 471520.
- :func:`load_weather` — ``"builtin:ulsan"`` or a path to an EPW.
- :func:`weather_at` — values at arbitrary times (periodic linear interpolation).
- :func:`solar_position` — sun zenith/azimuth (Spencer 1971 series).

References
----------
- U.S. DOE, *EnergyPlus Auxiliary Programs*, ch. "Weather Converter Program", section
  "EnergyPlus Weather File (EPW) Data Dictionary" (header lines, 35 data fields,
  missing-value codes).
- Spencer, J.W. (1971). Fourier series representation of the position of the sun.
  *Search* 2(5): 172.  (Declination, equation of time, eccentricity series; also in
  Iqbal, M. (1983) *An Introduction to Solar Radiation*, ch. 1.)
- Duffie, J.A., Beckman, W.A. (2013). *Solar Engineering of Thermal Processes*, 4th ed.,
  §1.6 (angle relations), §2.10-2.11 (clearness index, diffuse correlations).
- Haurwitz, B. (1945). Insolation in relation to cloudiness and cloud density.
  *J. Meteorology* 2: 154-166 (clear-sky GHI = 1098 cos z exp(-0.059 / cos z)); as
  reviewed in Reno, Hansen & Stein (2012), SAND2012-2389.
- Erbs, D.G., Klein, S.A., Duffie, J.A. (1982). Estimation of the diffuse radiation
  fraction for hourly, daily and monthly-average global radiation. *Solar Energy*
  28(4): 293-302.
- Kopp, G., Lean, J.L. (2011). A new, lower value of total solar irradiance.
  *Geophys. Res. Lett.* 38: L01706 (solar constant 1361 W/m²).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from math import gamma
from pathlib import Path

import numpy as np

from common.errors import InputError
from common.units import pct_to_frac
from twin.models.psychrometrics import (humidity_ratio_from_dew_point, rel_humidity_from_dew_point,
                                        wet_bulb_from_humidity_ratio_c)

__all__ = [
    "HOURS_PER_YEAR",
    "SOLAR_CONSTANT_W_M2",
    "Weather",
    "WeatherSample",
    "SolarPosition",
    "read_epw",
    "ulsan_climate",
    "load_weather",
    "weather_at",
    "wet_bulb_temp_c",
    "solar_position",
    "solar_declination_deg",
    "equation_of_time_min",
    "extraterrestrial_normal_w_m2",
    "solar_zenith_azimuth_deg",
    "clear_sky_ghi_haurwitz_w_m2",
    "erbs_diffuse_fraction",
    "ULSAN_MONTHLY_NORMALS",
]

HOURS_PER_YEAR = 8760
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
#: Solar constant, W/m² (Kopp & Lean 2011).
SOLAR_CONSTANT_W_M2 = 1361.0

_EPW_N_FIELDS = 35
_EPW_N_HEADER = 8
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_SERIES_FIELDS = (
    "dry_bulb_temp_c", "dew_point_temp_c", "rel_humidity_frac", "pressure_pa",
    "ghi_w_m2", "dni_w_m2", "dhi_w_m2", "wind_speed_m_s", "wind_dir_deg",
)
_ARRAY_FIELDS = ("hour_of_year", "month", "day", "hour") + _SERIES_FIELDS


def _readonly(a, dtype=float) -> np.ndarray:
    a = np.array(a, dtype=dtype, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Weather:
    """One typical year of hourly site weather (8760 values per series).

    Attributes
    ----------
    hour_of_year : ndarray of float, (8760,)
        EPW time stamp, h after 1 Jan 00:00 local standard time: 1, 2, ... 8760.
    month, day, hour : ndarray of int, (8760,)
        EPW month (1-12), day of month, and hour (1-24, the hour ending at the stamp).
    dry_bulb_temp_c, dew_point_temp_c : ndarray, (8760,)
        Dry-bulb and dew-point temperatures at the stamp, °C.
    rel_humidity_frac : ndarray, (8760,)
        Relative humidity, fraction 0-1.
    pressure_pa : ndarray, (8760,)
        Station (not sea-level) pressure, Pa.
    ghi_w_m2, dni_w_m2, dhi_w_m2 : ndarray, (8760,)
        Global horizontal, direct normal and diffuse horizontal irradiance, W/m²,
        mean over the hour ending at the stamp (numerically equal to the EPW Wh/m²).
    wind_speed_m_s : ndarray, (8760,)
        Wind speed at the station anemometer (10 m unless noted), m/s.
    wind_dir_deg : ndarray, (8760,)
        Direction the wind blows *from*, clockwise from north, deg.
    site_name : str
    latitude_deg, longitude_deg : float
        North and east positive, deg.
    elevation_m : float
        Station elevation above sea level, m.
    utc_offset_h : float
        Time zone of the stamps, h east of UTC (Korea: +9).
    first_weekday : int
        Weekday of 1 January, 0 = Monday ... 6 = Sunday (from EPW DATA PERIODS).
    source : str
        Where the data came from (file path or generator description).
    """

    hour_of_year: np.ndarray
    month: np.ndarray
    day: np.ndarray
    hour: np.ndarray
    dry_bulb_temp_c: np.ndarray
    dew_point_temp_c: np.ndarray
    rel_humidity_frac: np.ndarray
    pressure_pa: np.ndarray
    ghi_w_m2: np.ndarray
    dni_w_m2: np.ndarray
    dhi_w_m2: np.ndarray
    wind_speed_m_s: np.ndarray
    wind_dir_deg: np.ndarray
    site_name: str
    latitude_deg: float
    longitude_deg: float
    elevation_m: float
    utc_offset_h: float
    first_weekday: int = 0
    source: str = ""

    def __post_init__(self):
        for f in fields(self):
            if f.name in _ARRAY_FIELDS:
                v = getattr(self, f.name)
                dtype = int if f.name in ("month", "day", "hour") else float
                arr = _readonly(v, dtype)
                if arr.shape != (HOURS_PER_YEAR,):
                    raise InputError(f"Weather {self.site_name!r}: {f.name} has shape {arr.shape}, "
                                     f"expected ({HOURS_PER_YEAR},); fix: give one non-leap year of hourly values")
                if not np.all(np.isfinite(arr)):
                    raise InputError(f"Weather {self.site_name!r}: {f.name} has non-finite values; "
                                     "fix: fill gaps before building a Weather")
                object.__setattr__(self, f.name, arr)
        if not (-90.0 <= self.latitude_deg <= 90.0 and -180.0 <= self.longitude_deg <= 180.0):
            raise InputError(f"Weather {self.site_name!r}: latitude/longitude out of range "
                             f"({self.latitude_deg}, {self.longitude_deg}); fix: north/east positive degrees")
        if not -12.0 <= self.utc_offset_h <= 14.0:
            raise InputError(f"Weather {self.site_name!r}: utc_offset_h {self.utc_offset_h} out of range; "
                             "fix: hours east of UTC, -12 to +14")
        if self.first_weekday not in range(7):
            raise InputError(f"Weather {self.site_name!r}: first_weekday {self.first_weekday} not in 0..6; "
                             "fix: 0 = Monday ... 6 = Sunday")

    def monthly_mean(self, name: str) -> np.ndarray:
        """Mean of series ``name`` for each month (12 values)."""
        v = getattr(self, name)
        return np.array([v[self.month == m].mean() for m in range(1, 13)])


@dataclass(frozen=True)
class WeatherSample:
    """Weather interpolated at arbitrary times (see :func:`weather_at`).

    Same series names and units as :class:`Weather`, shaped like ``time_h``.
    """

    time_h: np.ndarray
    dry_bulb_temp_c: np.ndarray
    dew_point_temp_c: np.ndarray
    rel_humidity_frac: np.ndarray
    pressure_pa: np.ndarray
    ghi_w_m2: np.ndarray
    dni_w_m2: np.ndarray
    dhi_w_m2: np.ndarray
    wind_speed_m_s: np.ndarray
    wind_dir_deg: np.ndarray


# ------------------------------------------------------------------------------------
# EPW reader
# ------------------------------------------------------------------------------------
# (name, 0-based EPW column, missing-value code: values >= code are missing)
_EPW_COLUMNS = (
    ("dry_bulb_temp_c", 6, 99.9),
    ("dew_point_temp_c", 7, 99.9),
    ("rel_humidity_pct", 8, 999.0),
    ("pressure_pa", 9, 999999.0),
    ("ghi_w_m2", 13, 9999.0),
    ("dni_w_m2", 14, 9999.0),
    ("dhi_w_m2", 15, 9999.0),
    ("wind_dir_deg", 20, 999.0),
    ("wind_speed_m_s", 21, 999.0),
)


def _epw_error(path: Path, line_no: int | None, problem: str, fix: str) -> InputError:
    where = f"{path}:{line_no}" if line_no is not None else f"{path}"
    return InputError(f"{where}: {problem}; fix: {fix}")


def read_epw(path) -> Weather:
    """Read an EnergyPlus Weather (EPW) file of one non-leap year of hourly data.

    Parameters
    ----------
    path : str or os.PathLike
        EPW file: 8 header lines (LOCATION ... DATA PERIODS) then 8760 rows of 35
        comma-separated fields.

    Returns
    -------
    Weather
        Dry bulb (col. 6), dew point (7), RH (8, % converted to fraction), station
        pressure (9), GHI/DNI/DHI (13-15), wind direction (20) and speed (21);
        site from the LOCATION line (city, lat, lon, time zone, elevation) and the
        first weekday from DATA PERIODS. Column numbers are 0-based, as in the EPW
        data dictionary (EnergyPlus Auxiliary Programs).

    Raises
    ------
    common.errors.InputError
        Missing file, bad header, wrong field count, non-numeric or missing (EPW
        missing code) value, wrong number of rows, or sub-hourly data; the message
        names the file, the line and the fix.
    """
    p = Path(path)
    if not p.is_file():
        raise _epw_error(p, None, "weather file not found",
                         "give the path of an existing .epw file, or use 'builtin:ulsan'")
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise _epw_error(p, None, f"cannot read weather file ({exc.strerror})", "check its permissions")
    lines = text.splitlines()
    if len(lines) < _EPW_N_HEADER:
        raise _epw_error(p, len(lines) or None, f"only {len(lines)} lines, an EPW has 8 header lines and 8760 rows",
                         "give a complete EPW file")
    loc = [s.strip() for s in lines[0].split(",")]
    if loc[0].upper() != "LOCATION" or len(loc) < 10:
        raise _epw_error(p, 1, "first line is not an EPW LOCATION line with 10 fields",
                         "give an EPW file (LOCATION,city,state,country,source,WMO,lat,lon,tz,elev)")
    try:
        lat, lon, tz, elev = (float(loc[i]) for i in (6, 7, 8, 9))
    except ValueError:
        raise _epw_error(p, 1, "LOCATION latitude/longitude/time zone/elevation are not numbers",
                         "repair the LOCATION line (fields 7-10)") from None
    site = ", ".join(s for s in (loc[1], loc[3]) if s and s != "-") or p.stem
    dp = [s.strip() for s in lines[7].split(",")]
    if dp[0].upper() != "DATA PERIODS":
        raise _epw_error(p, 8, "line 8 is not the EPW DATA PERIODS line",
                         "give an EPW file with the standard 8 header lines")
    if len(dp) > 2 and dp[2] not in ("1", ""):
        raise _epw_error(p, 8, f"{dp[2]} records per hour; only hourly EPW files are supported",
                         "convert the file to hourly records")
    first_weekday = 0
    if len(dp) > 4 and dp[4].lower() in _WEEKDAYS:
        first_weekday = _WEEKDAYS.index(dp[4].lower())

    rows = [ln for ln in lines[_EPW_N_HEADER:]]
    while rows and not rows[-1].strip():
        rows.pop()
    if len(rows) != HOURS_PER_YEAR:
        raise _epw_error(p, _EPW_N_HEADER + len(rows),
                         f"{len(rows)} data rows, expected {HOURS_PER_YEAR} (one non-leap year, hourly)",
                         "give a full typical-year EPW (TMY/IWEC style, no 29 February)")
    n = HOURS_PER_YEAR
    out = {name: np.empty(n) for name, _, _ in _EPW_COLUMNS}
    month = np.empty(n, dtype=int)
    day = np.empty(n, dtype=int)
    hour = np.empty(n, dtype=int)
    for i, ln in enumerate(rows):
        line_no = _EPW_N_HEADER + 1 + i
        f = ln.split(",")
        if len(f) != _EPW_N_FIELDS:
            raise _epw_error(p, line_no, f"{len(f)} comma-separated fields, an EPW data row has {_EPW_N_FIELDS}",
                             "repair or re-export the row (EnergyPlus weather converter)")
        try:
            month[i], day[i], hour[i] = int(f[1]), int(f[2]), int(f[3])
        except ValueError:
            raise _epw_error(p, line_no, f"month/day/hour {f[1]!r},{f[2]!r},{f[3]!r} are not integers",
                             "repair fields 2-4 of the row") from None
        for name, col, missing in _EPW_COLUMNS:
            try:
                v = float(f[col])
            except ValueError:
                raise _epw_error(p, line_no, f"field {col + 1} ({name}) is {f[col]!r}, not a number",
                                 "repair the value (numbers only)") from None
            if not np.isfinite(v) or v >= missing:
                raise _epw_error(p, line_no, f"field {col + 1} ({name}) has the EPW missing code {f[col]!r}",
                                 "fill the gap (e.g. with the EnergyPlus weather converter)")
            out[name][i] = v
    expected_hour = np.tile(np.arange(1, 25), 365)
    bad = np.flatnonzero(hour != expected_hour)
    if bad.size:
        i = int(bad[0])
        raise _epw_error(p, _EPW_N_HEADER + 1 + i, f"hour {hour[i]} where {expected_hour[i]} was expected",
                         "rows must run hourly 1-24 from 1 January to 31 December")
    return Weather(
        hour_of_year=np.arange(1, n + 1, dtype=float),
        month=month,
        day=day,
        hour=hour,
        dry_bulb_temp_c=out["dry_bulb_temp_c"],
        dew_point_temp_c=out["dew_point_temp_c"],
        rel_humidity_frac=pct_to_frac(out["rel_humidity_pct"]),
        pressure_pa=out["pressure_pa"],
        ghi_w_m2=out["ghi_w_m2"],
        dni_w_m2=out["dni_w_m2"],
        dhi_w_m2=out["dhi_w_m2"],
        wind_speed_m_s=out["wind_speed_m_s"],
        wind_dir_deg=out["wind_dir_deg"],
        site_name=site,
        latitude_deg=lat,
        longitude_deg=lon,
        elevation_m=elev,
        utc_offset_h=tz,
        first_weekday=first_weekday,
        source=str(p),
    )


# ------------------------------------------------------------------------------------
# Solar geometry
# ------------------------------------------------------------------------------------
def _day_angle_rad(time_h):
    """Spencer's day angle Γ = 2π (n - 1 + (hour - 12)/24) / 365, n the day of year."""
    t = np.mod(np.asarray(time_h, dtype=float), HOURS_PER_YEAR)
    return 2.0 * np.pi * (t / 24.0 - 0.5) / 365.0


def solar_declination_deg(day_angle_rad):
    """Solar declination, deg, Spencer (1971) Fourier series (error < 0.035°).

    Parameters
    ----------
    day_angle_rad : array_like
        Γ = 2π (n - 1) / 365, rad, n the day of year (fractional allowed).

    Returns
    -------
    declination_deg : ndarray
        δ = 0.006918 - 0.399912 cos Γ + 0.070257 sin Γ - 0.006758 cos 2Γ
            + 0.000907 sin 2Γ - 0.002697 cos 3Γ + 0.00148 sin 3Γ   (rad)
    """
    g = np.asarray(day_angle_rad, dtype=float)
    d = (0.006918 - 0.399912 * np.cos(g) + 0.070257 * np.sin(g) - 0.006758 * np.cos(2 * g)
         + 0.000907 * np.sin(2 * g) - 0.002697 * np.cos(3 * g) + 0.00148 * np.sin(3 * g))
    return np.degrees(d)


def equation_of_time_min(day_angle_rad):
    """Equation of time (apparent minus mean solar time), minutes, Spencer (1971).

    Parameters
    ----------
    day_angle_rad : array_like
        Γ = 2π (n - 1) / 365, rad.

    Returns
    -------
    eot_min : ndarray
        E = 229.18 (0.000075 + 0.001868 cos Γ - 0.032077 sin Γ - 0.014615 cos 2Γ
            - 0.040849 sin 2Γ); accurate to about 0.5 min.
    """
    g = np.asarray(day_angle_rad, dtype=float)
    return 229.18 * (0.000075 + 0.001868 * np.cos(g) - 0.032077 * np.sin(g)
                     - 0.014615 * np.cos(2 * g) - 0.040849 * np.sin(2 * g))


def extraterrestrial_normal_w_m2(day_angle_rad):
    """Extraterrestrial irradiance on a plane normal to the sun, W/m².

    G_on = 1361 (1.000110 + 0.034221 cos Γ + 0.001280 sin Γ + 0.000719 cos 2Γ
    + 0.000077 sin 2Γ): Spencer (1971) eccentricity factor times the solar constant
    of Kopp & Lean (2011).

    Parameters
    ----------
    day_angle_rad : array_like
        Γ = 2π (n - 1) / 365, rad.
    """
    g = np.asarray(day_angle_rad, dtype=float)
    return SOLAR_CONSTANT_W_M2 * (1.000110 + 0.034221 * np.cos(g) + 0.001280 * np.sin(g)
                                  + 0.000719 * np.cos(2 * g) + 0.000077 * np.sin(2 * g))


def solar_zenith_azimuth_deg(latitude_deg, declination_deg, hour_angle_deg):
    """Sun zenith and azimuth from latitude, declination and hour angle.

    Parameters
    ----------
    latitude_deg : array_like
        Site latitude φ, deg (north positive).
    declination_deg : array_like
        Solar declination δ, deg.
    hour_angle_deg : array_like
        ω = 15° × (solar time - 12 h), negative in the morning.

    Returns
    -------
    zenith_deg, azimuth_deg : ndarray
        cos θz = cos φ cos δ cos ω + sin φ sin δ (Duffie & Beckman 2013, Eq. 1.6.5);
        azimuth clockwise from north, 180° + γs with
        tan γs = sin ω / (sin φ cos ω - cos φ tan δ) (same sign as ω; Eq. 1.6.6).
    """
    phi = np.radians(latitude_deg)
    dec = np.radians(declination_deg)
    om = np.radians(hour_angle_deg)
    cos_z = np.cos(phi) * np.cos(dec) * np.cos(om) + np.sin(phi) * np.sin(dec)
    zen = np.degrees(np.arccos(np.clip(cos_z, -1.0, 1.0)))
    gamma_s = np.arctan2(np.sin(om), np.cos(om) * np.sin(phi) - np.tan(dec) * np.cos(phi))
    az = np.mod(np.degrees(gamma_s) + 180.0, 360.0)
    return zen, az


@dataclass(frozen=True)
class SolarPosition:
    """Sun position at given times (arrays shaped like the input times).

    Attributes
    ----------
    zenith_deg : angle from the vertical, deg (> 90 below the horizon)
    azimuth_deg : clockwise from north, deg (180 = due south)
    declination_deg, hour_angle_deg : deg
    equation_of_time_min : min
    extraterrestrial_normal_w_m2 : W/m²
    """

    zenith_deg: np.ndarray
    azimuth_deg: np.ndarray
    declination_deg: np.ndarray
    hour_angle_deg: np.ndarray
    equation_of_time_min: np.ndarray
    extraterrestrial_normal_w_m2: np.ndarray


def solar_position(time_h, latitude_deg: float, longitude_deg: float, utc_offset_h: float) -> SolarPosition:
    """Sun position at local standard times.

    Parameters
    ----------
    time_h : array_like
        Hours after 1 January 00:00 local standard time (wrapped to one 8760-h year).
        For an hourly EPW mean use the middle of the hour, ``hour_of_year - 0.5``.
    latitude_deg, longitude_deg : float
        Site, deg, north/east positive.
    utc_offset_h : float
        Time zone of ``time_h``, h east of UTC.

    Returns
    -------
    SolarPosition
        Solar time = clock time + [4 min/deg × (λ - 15° × tz) + E] (Duffie & Beckman
        Eq. 1.5.2), hour angle ω = 15° (solar time - 12), declination and E from
        Spencer (1971), angles from :func:`solar_zenith_azimuth_deg`. Accuracy about
        0.1° in zenith (refraction ignored); valid for any year near 2000 ± 50.
    """
    t = np.asarray(time_h, dtype=float)
    g = _day_angle_rad(t)
    dec = solar_declination_deg(g)
    eot = equation_of_time_min(g)
    clock_h = np.mod(t, 24.0)
    solar_h = clock_h + (4.0 * (longitude_deg - 15.0 * utc_offset_h) + eot) / 60.0
    omega = 15.0 * (solar_h - 12.0)
    zen, az = solar_zenith_azimuth_deg(latitude_deg, dec, omega)
    return SolarPosition(zen, az, dec, omega, eot, extraterrestrial_normal_w_m2(g))


def clear_sky_ghi_haurwitz_w_m2(zenith_deg):
    """Clear-sky global horizontal irradiance, Haurwitz (1945) model.

    Parameters
    ----------
    zenith_deg : array_like
        Solar zenith, deg.

    Returns
    -------
    ghi_w_m2 : ndarray
        1098 cos z exp(-0.059 / cos z) for cos z > 0, else 0 (Reno et al. 2012,
        SAND2012-2389, Eq. 4). Used here only for the *shape* of the daily course.
    """
    cz = np.cos(np.radians(np.asarray(zenith_deg, dtype=float)))
    safe = np.where(cz > 1e-6, cz, 1.0)
    return np.where(cz > 1e-6, 1098.0 * safe * np.exp(-0.059 / safe), 0.0)


def erbs_diffuse_fraction(clearness_index):
    """Hourly diffuse fraction k_d = DHI / GHI from the clearness index k_t.

    Parameters
    ----------
    clearness_index : array_like
        k_t = GHI / (G_on cos z), hourly, 0-1.

    Returns
    -------
    diffuse_frac : ndarray
        Erbs, Klein & Duffie (1982) (Duffie & Beckman 2013, Eq. 2.10.1):
        k_t ≤ 0.22: 1 - 0.09 k_t;
        0.22 < k_t ≤ 0.80: 0.9511 - 0.1604 k_t + 4.388 k_t² - 16.638 k_t³ + 12.336 k_t⁴;
        k_t > 0.80: 0.165.
    """
    kt = np.clip(np.asarray(clearness_index, dtype=float), 0.0, 1.0)
    mid = 0.9511 - 0.1604 * kt + 4.388 * kt**2 - 16.638 * kt**3 + 12.336 * kt**4
    return np.where(kt <= 0.22, 1.0 - 0.09 * kt, np.where(kt <= 0.80, mid, 0.165))


# ------------------------------------------------------------------------------------
# Built-in Ulsan climate
# ------------------------------------------------------------------------------------
#: Monthly normals for Ulsan, Korea (WMO 471520, 35.55 N 129.32 E, 33 m, UTC+9).
#: Computed by us (2026) from the ASHRAE IWEC typical year "KOR_Ulsan.471520_IWEC.epw"
#: (Original Source Data (c) 2001 ASHRAE, Inc.; distributed via the EnergyPlus weather
#: data site), months drawn from 1983-1997. These are summary statistics of that file,
#: not the file. Columns:
#:   mean dry bulb °C, mean of daily max °C, mean of daily min °C, mean dew point °C,
#:   mean daily global horizontal irradiation kWh/(m² day), mean daily diffuse
#:   horizontal irradiation kWh/(m² day), mean wind speed m/s (10 m), mean station
#:   pressure Pa, vector-mean wind direction deg (from).
ULSAN_MONTHLY_NORMALS = (
    # tdb, tmax, tmin, tdp, ghi_d, dhi_d, wind, p_pa, dir
    (1.941, 6.471, -1.674, -10.236, 2.2208, 1.2153, 2.170, 101909.4, 356.4),  # Jan
    (3.688, 8.746, -0.529, -7.595, 2.9819, 1.7491, 2.097, 101474.1, 5.8),  # Feb
    (7.820, 12.581, 3.290, -0.481, 3.4423, 2.0533, 2.291, 101393.4, 356.4),  # Mar
    (13.326, 18.840, 8.317, 5.013, 4.7246, 2.4172, 2.106, 101153.2, 48.0),  # Apr
    (17.653, 22.810, 12.442, 11.589, 5.0361, 2.8188, 2.004, 100485.1, 92.8),  # May
    (20.937, 25.477, 16.593, 15.181, 4.3349, 2.8164, 1.654, 100510.3, 85.7),  # Jun
    (24.497, 28.058, 21.277, 20.547, 3.8529, 2.7135, 1.529, 100204.3, 216.9),  # Jul
    (25.972, 29.671, 22.739, 21.578, 4.7220, 2.3765, 1.864, 100560.1, 15.9),  # Aug
    (21.688, 25.633, 18.210, 17.803, 3.5719, 2.2295, 1.730, 100954.4, 21.9),  # Sep
    (15.898, 21.345, 11.319, 8.739, 3.5533, 1.8225, 1.992, 101299.1, 345.8),  # Oct
    (10.047, 15.903, 4.937, 2.419, 2.5933, 1.1558, 1.892, 101732.2, 353.3),  # Nov
    (4.442, 10.284, -0.210, -7.285, 2.3247, 1.1123, 1.871, 101778.0, 329.2),  # Dec
)
# Further statistics of the same IWEC file, used for the daily courses and the
# optional seeded variability (computed by us):
_ULSAN_SITE = dict(site_name="Ulsan, KOR (built-in)", latitude_deg=35.55, longitude_deg=129.32,
                   elevation_m=33.0, utc_offset_h=9.0)
_T_PEAK_HOUR = 15.0            # hour of the mean daily maximum (EPW mean diurnal course)
_WIND_DIURNAL_AMPL = 0.48      # wind: 1 + a cos(2π(h - 15)/24); EPW mean course 0.67-1.65
_T_DAY_ANOM_SD_K = 2.6         # s.d. of daily-mean dry bulb about its month's mean
_T_DAY_ANOM_LAG1 = 0.63        # lag-1 day autocorrelation of that anomaly
_TD_ANOM_RATIO = 1.2           # dew-point anomaly / dry-bulb anomaly (r = 0.69, sd 4.7 K)
_GHI_DAY_REL_SD = 0.39         # s.d. of daily GHI / monthly mean daily GHI
_WIND_WEIBULL_K = 1.31         # Weibull shape of hourly wind (moment estimate)
_WIND_HOUR_LAG1 = 0.94         # lag-1 hour autocorrelation of wind speed


def _month_of_day() -> np.ndarray:
    return np.repeat(np.arange(12), _DAYS_IN_MONTH)


def _mean_preserving_daily(monthly: np.ndarray) -> np.ndarray:
    """Smooth daily values whose monthly means equal ``monthly`` exactly.

    Daily values are a periodic piecewise-linear curve through 12 anchor values at the
    middle of each month; the anchors are solved so that each month's mean of the
    daily values equals its target (a 12×12 linear system). Plain interpolation of
    the monthly means would flatten the annual cycle (January too warm, August too
    cool by a few tenths of a kelvin).
    """
    month_of_day = _month_of_day()
    day_mid = np.arange(365) + 0.5
    starts = np.concatenate([[0], np.cumsum(_DAYS_IN_MONTH)[:-1]])
    anchors_x = starts + _DAYS_IN_MONTH / 2.0
    xp = np.concatenate([anchors_x - 365.0, anchors_x, anchors_x + 365.0])
    basis = np.empty((365, 12))
    for j in range(12):
        e = np.zeros(12)
        e[j] = 1.0
        basis[:, j] = np.interp(day_mid, xp, np.tile(e, 3))
    m = np.array([basis[month_of_day == i].mean(axis=0) for i in range(12)])
    anchors = np.linalg.solve(m, np.asarray(monthly, dtype=float))
    return basis @ anchors


def _demean_by_month(x: np.ndarray, month_of_day: np.ndarray) -> np.ndarray:
    out = x.copy()
    for i in range(12):
        s = month_of_day == i
        out[s] -= out[s].mean()
    return out


def ulsan_climate(variability_seed: int | None = None) -> Weather:
    """A typical Ulsan, Korea year generated from monthly normals.

    Parameters
    ----------
    variability_seed : int or None, optional
        None (default): smooth, fully deterministic year. An integer adds seeded
        day-to-day weather (temperature/dew-point anomalies, sunny and overcast days,
        Weibull-distributed hourly wind) whose monthly means are kept equal to the
        normals; the same seed always gives the same year.

    Returns
    -------
    Weather
        8760 hourly values, site WMO 471520 (35.55 N, 129.32 E, 33 m, UTC+9),
        ``first_weekday`` = 0 (Monday).

    Notes
    -----
    Generation, all from :data:`ULSAN_MONTHLY_NORMALS` (monthly statistics of the
    ASHRAE IWEC file for Ulsan):

    - daily means of every quantity: mean-preserving interpolation of the monthly
      normals (:func:`_mean_preserving_daily`), so monthly means are reproduced exactly;
    - dry bulb: T = T_day + A cos(2π (h - 15) / 24), A = (mean daily max - mean daily
      min) / 2, peaking at 15:00 as the IWEC mean daily course does; the mean of the
      24 stamps of a day is T_day exactly;
    - dew point: daily value, capped at the dry bulb; RH from the two
      (:func:`~twin.models.psychrometrics.rel_humidity_from_dew_point`);
    - GHI: the Haurwitz clear-sky course (averaged over each hour, sun from
      :func:`solar_position`) scaled so each day's sum equals the day's irradiation;
      DHI by the Erbs correlation on the hourly clearness index, its level scaled per
      month to the IWEC monthly diffuse irradiation; DNI = (GHI - DHI) / cos z;
    - wind: daily mean times 1 + 0.48 cos(2π (h - 15)/24) (the afternoon sea breeze
      of the IWEC mean course); with a seed, hourly Weibull (k = 1.31) values from an
      AR(1) Gaussian process (lag-1 r = 0.94) by the probability-integral transform.

    Validity: a climatological year for energy and cooling studies; extremes (design
    days, heat waves) are damped compared with the IWEC file (smooth year: hourly max
    30.4 °C and wet-bulb max 24.4 °C, against 35.4 °C and 27.8 °C in the IWEC year;
    a seeded year comes closer, e.g. seed 3: 33.9 °C and 28.2 °C).
    Size cooling plant on the EPW or on ASHRAE design conditions, not on this year.
    """
    normals = np.asarray(ULSAN_MONTHLY_NORMALS, dtype=float)
    tmean_m, tmax_m, tmin_m, tdp_m, ghi_day_m, dhi_day_m, wind_m, p_m, dir_m = normals.T
    month_of_day = _month_of_day()
    rng = np.random.default_rng(variability_seed) if variability_seed is not None else None

    t_day = _mean_preserving_daily(tmean_m)
    amp_day = _mean_preserving_daily((tmax_m - tmin_m) / 2.0)
    td_day = _mean_preserving_daily(tdp_m)
    h_day_wh = _mean_preserving_daily(ghi_day_m * 1000.0)
    wind_day = _mean_preserving_daily(wind_m)
    p_day = _mean_preserving_daily(p_m)

    if rng is not None:
        # AR(1) day anomalies with the IWEC spread and persistence, zero mean per month.
        phi = _T_DAY_ANOM_LAG1
        z = rng.standard_normal(365)
        a = np.empty(365)
        a[0] = z[0]
        for i in range(1, 365):
            a[i] = phi * a[i - 1] + np.sqrt(1.0 - phi**2) * z[i]
        anom = _demean_by_month(_T_DAY_ANOM_SD_K * a, month_of_day)
        t_day = t_day + anom
        td_day = td_day + _demean_by_month(_TD_ANOM_RATIO * anom, month_of_day)

    hour_of_year = np.arange(1, HOURS_PER_YEAR + 1, dtype=float)
    clock = np.tile(np.arange(1, 25, dtype=float), 365)    # stamp hour 1..24
    day_idx = np.repeat(np.arange(365), 24)
    month = np.repeat(np.arange(1, 13), _DAYS_IN_MONTH * 24)
    day = np.concatenate([np.repeat(np.arange(1, d + 1), 24) for d in _DAYS_IN_MONTH])
    cyc = np.cos(2.0 * np.pi * (clock - _T_PEAK_HOUR) / 24.0)

    tdb = t_day[day_idx] + amp_day[day_idx] * cyc
    tdp = np.minimum(td_day[day_idx], tdb)
    rh = np.clip(rel_humidity_from_dew_point(tdb, tdp), 0.0, 1.0)
    pressure = p_day[day_idx]

    # Irradiance: hour-averaged clear-sky shape and extraterrestrial horizontal.
    n_sub = 6
    sub = (np.arange(n_sub) + 0.5) / n_sub                   # fractions of the hour
    t_sub = (hour_of_year - 1.0)[:, None] + sub[None, :]     # within (stamp-1, stamp]
    sp = solar_position(t_sub, _ULSAN_SITE["latitude_deg"], _ULSAN_SITE["longitude_deg"],
                        _ULSAN_SITE["utc_offset_h"])
    cos_z = np.cos(np.radians(sp.zenith_deg))
    shape = clear_sky_ghi_haurwitz_w_m2(sp.zenith_deg).mean(axis=1)
    i0h = (sp.extraterrestrial_normal_w_m2 * np.maximum(cos_z, 0.0)).mean(axis=1)
    g0n = sp.extraterrestrial_normal_w_m2.mean(axis=1)
    shape_day = shape.reshape(365, 24).sum(axis=1)           # Wh/m² of a clear day

    if rng is not None:
        # Day-to-day clearness: lognormal factors, normalised per month, capped at a
        # clear day (iterated so monthly totals are kept).
        sd = _GHI_DAY_REL_SD
        f = np.exp(sd * rng.standard_normal(365) - 0.5 * sd**2)
        target = h_day_wh.copy()
        for _ in range(20):
            for i in range(12):
                s = month_of_day == i
                f[s] *= target[s].sum() / (target[s] * f[s]).sum()
            f = np.minimum(f, 0.98 * shape_day / target)
        h_day_wh = target * f

    ghi = h_day_wh[day_idx] * shape / shape_day[day_idx]
    kt = np.where(i0h > 1.0, ghi / np.maximum(i0h, 1e-9), 0.0)
    cos_z_eff = i0h / g0n
    low_sun = cos_z_eff <= 0.05
    # Erbs gives the hour-to-hour and day-to-day course of the diffuse fraction; its
    # level is scaled per month to the IWEC monthly diffuse irradiation (a smooth year
    # of average days would otherwise be far too diffuse, Erbs being nonlinear in kt).
    dhi_erbs = np.where(low_sun, ghi, erbs_diffuse_fraction(kt) * ghi)
    dhi = dhi_erbs.copy()
    for _ in range(10):
        for m in range(1, 13):
            s = month == m
            free = s & ~low_sun & (dhi < ghi)
            need = dhi_day_m[m - 1] * 1000.0 * _DAYS_IN_MONTH[m - 1] - dhi[s & ~free].sum()
            have = dhi[free].sum()
            if have > 0.0:
                dhi[free] *= max(need, 0.0) / have
        dhi = np.minimum(dhi, ghi)
    dni = np.where(low_sun, 0.0, (ghi - dhi) / np.maximum(cos_z_eff, 0.05))

    wind_cyc = 1.0 + _WIND_DIURNAL_AMPL * cyc
    if rng is None:
        wind = wind_day[day_idx] * wind_cyc
    else:
        from scipy.special import ndtr

        k = _WIND_WEIBULL_K
        rho = _WIND_HOUR_LAG1
        z = rng.standard_normal(HOURS_PER_YEAR)
        x = np.empty(HOURS_PER_YEAR)
        x[0] = z[0]
        for i in range(1, HOURS_PER_YEAR):
            x[i] = rho * x[i - 1] + np.sqrt(1.0 - rho**2) * z[i]
        u = np.clip(ndtr(x), 1e-12, 1.0 - 1e-12)
        weib = (-np.log1p(-u)) ** (1.0 / k) / gamma(1.0 + 1.0 / k)   # unit mean
        wind = wind_day[day_idx] * wind_cyc * weib
        for m in range(1, 13):
            s = month == m
            wind[s] *= wind_m[m - 1] / wind[s].mean()
    wind_dir = dir_m[month - 1]

    src = ("builtin:ulsan - generated from monthly normals of ASHRAE IWEC KOR_Ulsan.471520 "
           f"(variability_seed={variability_seed})")
    return Weather(
        hour_of_year=hour_of_year, month=month, day=day, hour=clock.astype(int),
        dry_bulb_temp_c=tdb, dew_point_temp_c=tdp, rel_humidity_frac=rh, pressure_pa=pressure,
        ghi_w_m2=ghi, dni_w_m2=dni, dhi_w_m2=dhi, wind_speed_m_s=wind, wind_dir_deg=wind_dir,
        first_weekday=0, source=src, **_ULSAN_SITE,
    )


_BUILTINS = {"ulsan": ulsan_climate}
#: Names of the built-in climates (``"builtin:NAME"``), for checks that must not build one.
BUILTIN_CLIMATES = tuple(sorted(_BUILTINS))


def load_weather(spec, variability_seed: int | None = None) -> Weather:
    """Weather from a spec string: ``"builtin:<name>"`` or a path to an EPW file.

    Parameters
    ----------
    spec : str or os.PathLike
        ``"builtin:ulsan"`` for :func:`ulsan_climate`, otherwise an EPW path.
    variability_seed : int or None, optional
        Passed to built-in climates (ignored for EPW files).

    Raises
    ------
    common.errors.InputError
        Unknown built-in name, or any EPW problem (see :func:`read_epw`).
    """
    if isinstance(spec, str) and spec.startswith("builtin:"):
        name = spec.split(":", 1)[1].strip().lower()
        if name not in _BUILTINS:
            raise InputError(f"weather {spec!r}: unknown built-in climate; fix: use one of "
                             + ", ".join(f"'builtin:{k}'" for k in sorted(_BUILTINS)) + " or an EPW path")
        return _BUILTINS[name](variability_seed=variability_seed)
    return read_epw(spec)


def weather_at(weather: Weather, times_h) -> WeatherSample:
    """Weather at arbitrary times, the typical year repeating every 8760 h.

    Parameters
    ----------
    weather : Weather
    times_h : array_like
        Hours after 1 January 00:00 local standard time; any real value (wrapped
        modulo 8760, so a multi-year run repeats the typical year).

    Returns
    -------
    WeatherSample
        Instantaneous series (dry bulb, dew point, RH, pressure, wind speed) linearly
        interpolated between the hourly stamps, periodically (the stamp 8760 joins
        time 0). Wind direction is interpolated as a vector. Irradiances are held at
        the hourly mean of the hour containing t (interval (h-1, h] of stamp h), so
        integrating them over time returns the EPW hourly irradiation exactly.
    """
    t = np.asarray(times_h, dtype=float)
    tw = np.mod(t, HOURS_PER_YEAR)
    xp = np.concatenate([[0.0], weather.hour_of_year])

    def lin(y):
        y = np.asarray(y)
        return np.interp(tw, xp, np.concatenate([[y[-1]], y]))

    idx = np.mod(np.ceil(tw).astype(int) - 1, HOURS_PER_YEAR)
    rad = np.radians(weather.wind_dir_deg)
    u = lin(np.sin(rad))
    v = lin(np.cos(rad))
    wdir = np.mod(np.degrees(np.arctan2(u, v)), 360.0)
    return WeatherSample(
        time_h=t,
        dry_bulb_temp_c=lin(weather.dry_bulb_temp_c),
        dew_point_temp_c=lin(weather.dew_point_temp_c),
        rel_humidity_frac=lin(weather.rel_humidity_frac),
        pressure_pa=lin(weather.pressure_pa),
        ghi_w_m2=weather.ghi_w_m2[idx],
        dni_w_m2=weather.dni_w_m2[idx],
        dhi_w_m2=weather.dhi_w_m2[idx],
        wind_speed_m_s=lin(weather.wind_speed_m_s),
        wind_dir_deg=wdir,
    )


def wet_bulb_temp_c(weather) -> np.ndarray:
    """Thermodynamic wet-bulb temperature of a :class:`Weather` or :class:`WeatherSample`.

    Parameters
    ----------
    weather : Weather or WeatherSample
        Uses ``dry_bulb_temp_c``, ``dew_point_temp_c`` and ``pressure_pa`` (station
        pressure).

    Returns
    -------
    wet_bulb_c : ndarray
        From W = W(t_d, p) and ASHRAE Fundamentals 2017 ch. 1 Eq. (33)/(35)
        (:func:`~twin.models.psychrometrics.wet_bulb_from_humidity_ratio_c`); the dew
        point is capped at the dry bulb. This is the input of cooling-tower and
        economizer models.
    """
    tdb = np.asarray(weather.dry_bulb_temp_c, dtype=float)
    tdp = np.minimum(np.asarray(weather.dew_point_temp_c, dtype=float), tdb)
    p = np.asarray(weather.pressure_pa, dtype=float)
    return np.asarray(wet_bulb_from_humidity_ratio_c(tdb, humidity_ratio_from_dew_point(tdp, p), p))
