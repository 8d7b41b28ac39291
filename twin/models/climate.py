"""The built-in Ulsan, Korea climate: a deterministic typical year generated from
monthly normals (``builtin:ulsan``)."""
from __future__ import annotations

from math import gamma

import numpy as np

from twin.models.psychrometrics import rel_humidity_from_dew_point

from .solar import clear_sky_ghi_haurwitz_w_m2, erbs_diffuse_fraction, solar_position
from .weather import _DAYS_IN_MONTH, HOURS_PER_YEAR, Weather

__all__ = ["ulsan_climate", "typical_year", "monthly_extraterrestrial_kwh_m2_day",
           "ULSAN_MONTHLY_NORMALS", "BUILTIN_CLIMATES"]


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


def typical_year(normals, site: dict, variability_seed: int | None = None,
                 source: str = "") -> Weather:
    """A typical year of hourly weather generated from monthly normals.

    Parameters
    ----------
    normals : array_like (12, 9)
        Per month: mean dry bulb °C, mean of daily max °C, mean of daily min °C, mean
        dew point °C, mean daily global horizontal irradiation kWh/(m² day), mean daily
        diffuse horizontal irradiation kWh/(m² day), mean wind speed m/s (10 m), mean
        station pressure Pa, wind direction deg (from); the layout of
        :data:`ULSAN_MONTHLY_NORMALS`.
    site : dict
        ``site_name``, ``latitude_deg``, ``longitude_deg``, ``elevation_m``,
        ``utc_offset_h``.
    variability_seed : int or None
        As :func:`ulsan_climate`.
    source : str
        Stored as :attr:`Weather.source`.

    Notes
    -----
    The method of :func:`ulsan_climate` (which calls this): monthly means of every
    quantity are reproduced exactly, dew point less where it is capped at the dry bulb.
    The day-to-day and hourly statistics (diurnal peak hour, sea-breeze wind course,
    anomaly spreads, Weibull shape) are Ulsan's IWEC figures, used for every site (est.).
    """
    normals = np.asarray(normals, dtype=float)
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
    sp = solar_position(t_sub, site["latitude_deg"], site["longitude_deg"],
                        site["utc_offset_h"])
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

    return Weather(
        hour_of_year=hour_of_year, month=month, day=day, hour=clock.astype(int),
        dry_bulb_temp_c=tdb, dew_point_temp_c=tdp, rel_humidity_frac=rh, pressure_pa=pressure,
        ghi_w_m2=ghi, dni_w_m2=dni, dhi_w_m2=dhi, wind_speed_m_s=wind, wind_dir_deg=wind_dir,
        first_weekday=0, source=source, **site,
    )


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
    src = ("builtin:ulsan - generated from monthly normals of ASHRAE IWEC KOR_Ulsan.471520 "
           f"(variability_seed={variability_seed})")
    return typical_year(ULSAN_MONTHLY_NORMALS, _ULSAN_SITE, variability_seed, src)


def monthly_extraterrestrial_kwh_m2_day(latitude_deg: float, longitude_deg: float,
                                        utc_offset_h: float):
    """Mean daily extraterrestrial horizontal irradiation H_0 and mean sunset hour angle of
    each month, on the hours and sub-hour samples :func:`typical_year` uses.

    Returns
    -------
    h0_kwh_m2_day : ndarray (12,)
        Σ G_on max(cos z, 0) over the month / days, kWh/(m² day) (Duffie & Beckman
        2013, §1.10; sun from :func:`solar_position`).
    sunset_hour_angle_deg : ndarray (12,)
        ω_s = arccos(-tan φ tan δ) at the month's mean declination (D&B Eq. 1.6.10).
    """
    month = np.repeat(np.arange(12), _DAYS_IN_MONTH * 24)
    n_sub = 6
    t = np.arange(HOURS_PER_YEAR, dtype=float)[:, None] + (np.arange(n_sub) + 0.5)[None, :] / n_sub
    sp = solar_position(t, latitude_deg, longitude_deg, utc_offset_h)
    i0h = (sp.extraterrestrial_normal_w_m2
           * np.maximum(np.cos(np.radians(sp.zenith_deg)), 0.0)).mean(axis=1)
    h0 = np.array([i0h[month == m].sum() for m in range(12)]) / _DAYS_IN_MONTH / 1000.0
    dec = np.array([sp.declination_deg[month == m].mean() for m in range(12)])
    ws = np.degrees(np.arccos(np.clip(-np.tan(np.radians(latitude_deg)) * np.tan(np.radians(dec)),
                                      -1.0, 1.0)))
    return h0, ws


def _site_climate(name):
    def build(variability_seed: int | None = None) -> Weather:
        from .sites import site_weather
        return site_weather(name, variability_seed)
    build.__name__ = f"{name}_climate"
    return build


# Ulsan and the candidate sites of :mod:`twin.models.sites` (their keys, kept in step
# with ``sites.SITE_NAMES`` by a test; listed here so that this module needs no import of
# the site records).
_BUILTINS = {"ulsan": ulsan_climate,
             **{k: _site_climate(k) for k in ("seoul", "gangneung", "jeju", "haenam")}}


#: Names of the built-in climates (``"builtin:NAME"``), for checks that must not build one.
BUILTIN_CLIMATES = tuple(sorted(_BUILTINS))
