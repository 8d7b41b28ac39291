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
from pathlib import Path

import numpy as np

from common.errors import InputError
from common.units import pct_to_frac
from twin.models.psychrometrics import humidity_ratio_from_dew_point, wet_bulb_from_humidity_ratio_c

__all__ = ["HOURS_PER_YEAR", "SOLAR_CONSTANT_W_M2", "Weather", "WeatherSample", "read_epw",
           "load_weather", "weather_at", "wet_bulb_temp_c"]



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
        from .climate import _BUILTINS
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


def extreme_window_start_day(weather: Weather, days: int = 7, hottest: bool = True) -> int:
    """First day of the year (1..365) of the ``days``-day window with the highest (or,
    with ``hottest=False``, the lowest) mean dry-bulb temperature of ``weather``'s year;
    windows wrap around the year's end. The "hot week" of a what-if, from the site's own
    weather file."""
    if not 1 <= int(days) <= 365:
        raise InputError(f"window of {days} days: give 1 to 365")
    daily = np.asarray(weather.dry_bulb_temp_c, dtype=float)[:8760].reshape(365, 24).mean(axis=1)
    ext = np.concatenate([daily, daily[:int(days) - 1]])
    sums = np.convolve(ext, np.ones(int(days)), mode="valid")[:365]
    return int(np.argmax(sums) if hottest else np.argmin(sums)) + 1


def shifted_weather(sample: WeatherSample, dry_bulb_offset_k: float = 0.0,
                    dew_point_offset_k: float = 0.0) -> WeatherSample:
    """The same weather warmer (or cooler): the "shift" of weather-file morphing (Belcher,
    Hacker & Powell, Building Serv. Eng. Res. Technol. 26 (2005) 49-61), applied to the
    dry bulb and, separately, to the dew point.

    With ``dew_point_offset_k = 0`` the air keeps its moisture (humidity ratio): the wet
    bulb (:func:`wet_bulb_temp_c`) rises less than the dry bulb and the relative humidity
    falls. The dew point is capped at the shifted dry bulb; relative humidity is
    recomputed from the two (:func:`twin.models.psychrometrics.rel_humidity_from_dew_point`).
    Pressure, sun and wind are unchanged.
    """
    from dataclasses import replace as _replace

    from .psychrometrics import rel_humidity_from_dew_point
    tdb = np.asarray(sample.dry_bulb_temp_c, dtype=float) + float(dry_bulb_offset_k)
    tdp = np.minimum(np.asarray(sample.dew_point_temp_c, dtype=float) + float(dew_point_offset_k),
                     tdb)
    rh = np.clip(np.asarray(rel_humidity_from_dew_point(tdb, tdp), dtype=float), 0.0, 1.0)
    return _replace(sample, dry_bulb_temp_c=tdb, dew_point_temp_c=tdp, rel_humidity_frac=rh)


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
