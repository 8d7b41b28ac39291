"""Solar geometry: declination, equation of time, sun position (Spencer 1971), the
extraterrestrial beam, a clear-sky GHI (Haurwitz, by pvlib) and the diffuse fraction (Erbs)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .weather import HOURS_PER_YEAR, SOLAR_CONSTANT_W_M2

__all__ = ["SolarPosition", "solar_position", "solar_declination_deg", "equation_of_time_min",
           "extraterrestrial_normal_w_m2", "solar_zenith_azimuth_deg",
           "clear_sky_ghi_haurwitz_w_m2", "erbs_diffuse_fraction"]


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
        Solar zenith, deg (any shape).

    Returns
    -------
    ghi_w_m2 : ndarray
        1098 cos z exp(-0.059 / cos z) for cos z > 0, else 0 (Haurwitz, B. (1945).
        Insolation in relation to cloudiness and cloud density. *J. Meteorol.* 2:
        154-166; Reno et al. 2012, SAND2012-2389, Eq. 4), computed by
        ``pvlib.clearsky.haurwitz``. Used here only for the *shape* of the daily course.
    """
    import pandas as pd                    # here: pvlib costs ~0.5 s to import
    from pvlib import clearsky
    z = np.asarray(zenith_deg, dtype=float)
    ghi = clearsky.haurwitz(pd.Series(z.ravel()))["ghi"].to_numpy()
    return ghi.reshape(z.shape)


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


def erbs_monthly_diffuse_fraction(monthly_clearness_index, sunset_hour_angle_deg):
    """Monthly-average diffuse fraction H_d / H from the monthly clearness index K_T.

    Parameters
    ----------
    monthly_clearness_index : array_like
        K_T = H / H_0, the month's mean daily global horizontal irradiation over the
        extraterrestrial one, 0.3-0.8 (the correlation's range).
    sunset_hour_angle_deg : array_like
        ω_s of the month's mean day, deg.

    Returns
    -------
    diffuse_frac : ndarray
        Erbs, Klein & Duffie (1982) (Duffie & Beckman 2013, Eq. 2.12.1):
        ω_s ≤ 81.4°: 1.391 - 3.560 K_T + 4.189 K_T² - 2.137 K_T³;
        ω_s > 81.4°: 1.311 - 3.022 K_T + 3.427 K_T² - 1.821 K_T³.
    """
    kt = np.clip(np.asarray(monthly_clearness_index, dtype=float), 0.0, 1.0)
    ws = np.asarray(sunset_hour_angle_deg, dtype=float)
    winter = 1.391 - 3.560 * kt + 4.189 * kt**2 - 2.137 * kt**3
    summer = 1.311 - 3.022 * kt + 3.427 * kt**2 - 1.821 * kt**3
    return np.where(ws <= 81.4, winter, summer)
