"""Moist-air psychrometrics, vectorised, SI (°C at the API, Pa, J/kg of dry air).

Every function takes NumPy arrays (broadcast together) or scalars and returns an
array, or a NumPy scalar for scalar input. The total pressure defaults to the
standard atmosphere at sea level, 101325 Pa; pass the site pressure (EPW station
pressure, or :func:`standard_pressure_pa` of the elevation) where it matters.

Source for all equations: ASHRAE Handbook—Fundamentals (2017), SI edition, ch. 1
"Psychrometrics" (the "perfect gas" relations of the chapter, without the
enhancement factor). Equation numbers below refer to that chapter:

- Eq. (3)  standard atmospheric pressure versus elevation;
- Eq. (5)  saturation pressure over ice, -100 to 0 °C (Hyland & Wexler 1983);
- Eq. (6)  saturation pressure over liquid water, 0 to 200 °C (Hyland & Wexler 1983);
- Eq. (20) humidity ratio from vapour pressure, W = 0.621945 p_w / (p - p_w);
- Eq. (24) relative humidity, phi = p_w / p_ws(t);
- Eq. (26) specific volume, v = R_da T (1 + 1.607858 W) / p;
- Eq. (30) enthalpy, h = 1.006 t + W (2501 + 1.86 t) kJ/kg_da;
- Eq. (33) and (35) humidity ratio from the thermodynamic wet bulb, above and below
  freezing;
- dew point: Eq. (5)/(6) inverted numerically (Newton) rather than the
  approximations of Eq. (37)/(38).

Hyland, R.W., Wexler, A. (1983). Formulations for the thermodynamic properties of
the saturated phases of H2O from 173.15 K to 473.15 K. ASHRAE Transactions 89(2A):
500-519.

Range of validity: saturation pressure -100 to 200 °C; the moist-air relations are
the perfect-gas ones, within about 0.7 % of the real-gas values below 50 °C at
atmospheric pressure (ASHRAE 2017 ch. 1). A :class:`~common.units.ValidityRangeWarning`
is issued for temperatures outside -100 to 200 °C.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.units import ZERO_C_IN_K, warn_outside_range

from .inputs import scalar_or_array

__all__ = [
    "STANDARD_PRESSURE_PA",
    "standard_pressure_pa",
    "saturation_vapor_pressure_pa",
    "humidity_ratio_from_vapor_pressure",
    "vapor_pressure_from_humidity_ratio_pa",
    "saturation_humidity_ratio_kg_kg",
    "humidity_ratio_from_rel_humidity",
    "rel_humidity_from_humidity_ratio",
    "humidity_ratio_from_dew_point",
    "dew_point_from_vapor_pressure_c",
    "dew_point_from_humidity_ratio_c",
    "dew_point_from_rel_humidity_c",
    "rel_humidity_from_dew_point",
    "humidity_ratio_from_wet_bulb",
    "wet_bulb_from_humidity_ratio_c",
    "moist_air_enthalpy_j_kg",
    "moist_air_specific_heat_j_kg_k",
    "moist_air_specific_volume_m3_kg",
    "moist_air_density_kg_m3",
    "MoistAirState",
    "moist_air_state",
]

#: Standard atmospheric pressure at sea level, Pa (ASHRAE 2017 ch. 1, Table 1).
STANDARD_PRESSURE_PA = 101325.0

#: Ratio of molar masses of water and dry air, 18.015268 / 28.966 (ASHRAE 2017 Eq. 20).
_EPS = 0.621945
#: Gas constant of dry air, J/(kg K) (ASHRAE 2017 ch. 1: 287.042).
_R_DA_J_KG_K = 287.042
#: cp of dry air, of water vapour, latent heat at 0 °C; J/kg (ASHRAE 2017 Eq. 30).
_CP_DA = 1006.0
_CP_V = 1860.0
_HFG0 = 2501000.0

_T_MIN_C, _T_MAX_C = -100.0, 200.0
_SRC = "ASHRAE Fundamentals 2017 ch. 1 (Hyland-Wexler)"

# Hyland-Wexler coefficients, ASHRAE 2017 ch. 1 Eq. (5) (over ice, T in K, p in Pa)
_C1, _C2, _C3 = -5.6745359e03, 6.3925247e00, -9.6778430e-03
_C4, _C5, _C6, _C7 = 6.2215701e-07, 2.0747825e-09, -9.4840240e-13, 4.1635019e00
# Eq. (6) (over liquid water)
_C8, _C9, _C10 = -5.8002206e03, 1.3914993e00, -4.8640239e-02
_C11, _C12, _C13 = 4.1764768e-05, -1.4452093e-08, 6.5459673e00


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def standard_pressure_pa(elevation_m):
    """Standard-atmosphere pressure at an elevation.

    Parameters
    ----------
    elevation_m : array_like
        Elevation above mean sea level, m. Valid -5000 to 11000 m (troposphere).

    Returns
    -------
    pressure_pa : ndarray
        p = 101.325 (1 - 2.25577e-5 Z)^5.2559 kPa, ASHRAE 2017 ch. 1 Eq. (3).
    """
    z = _arr(elevation_m)
    warn_outside_range("elevation_m", z, -5000.0, 11000.0, "ASHRAE 2017 ch. 1 Eq. (3)")
    return scalar_or_array(STANDARD_PRESSURE_PA * (1.0 - 2.25577e-5 * z) ** 5.2559)


def _ln_pws_ice(t_k):
    return (_C1 / t_k + _C2 + _C3 * t_k + _C4 * t_k**2 + _C5 * t_k**3
            + _C6 * t_k**4 + _C7 * np.log(t_k))


def _ln_pws_liquid(t_k):
    return _C8 / t_k + _C9 + _C10 * t_k + _C11 * t_k**2 + _C12 * t_k**3 + _C13 * np.log(t_k)


def _dln_pws_ice(t_k):
    return (-_C1 / t_k**2 + _C3 + 2 * _C4 * t_k + 3 * _C5 * t_k**2 + 4 * _C6 * t_k**3
            + _C7 / t_k)


def _dln_pws_liquid(t_k):
    return -_C8 / t_k**2 + _C10 + 2 * _C11 * t_k + 3 * _C12 * t_k**2 + _C13 / t_k


def saturation_vapor_pressure_pa(temp_c):
    """Saturation pressure of water vapour, over ice below 0 °C and liquid above.

    Parameters
    ----------
    temp_c : array_like
        Temperature, °C. Valid -100 to 200 °C.

    Returns
    -------
    pressure_pa : ndarray
        ln p_ws = C1/T + C2 + C3 T + C4 T² + C5 T³ + C6 T⁴ + C7 ln T   (t < 0 °C, Eq. 5)
        ln p_ws = C8/T + C9 + C10 T + C11 T² + C12 T³ + C13 ln T       (t ≥ 0 °C, Eq. 6)
        with T in K and p_ws in Pa; Hyland & Wexler (1983) as given in ASHRAE
        Fundamentals 2017 ch. 1. Within 300 ppm of ASHRAE Table 3 over the range.
    """
    t = _arr(temp_c)
    warn_outside_range("temp_c", t, _T_MIN_C, _T_MAX_C, _SRC)
    t_k = t + ZERO_C_IN_K
    ln_p = np.where(t < 0.0, _ln_pws_ice(t_k), _ln_pws_liquid(t_k))
    return scalar_or_array(np.exp(ln_p))


def humidity_ratio_from_vapor_pressure(vapor_pressure_pa, pressure_pa=STANDARD_PRESSURE_PA):
    """Humidity ratio from the partial pressure of water vapour.

    Parameters
    ----------
    vapor_pressure_pa : array_like
        Partial pressure of water vapour p_w, Pa (0 ≤ p_w < p).
    pressure_pa : array_like, optional
        Total pressure p, Pa. Default 101325.

    Returns
    -------
    humidity_ratio_kg_kg : ndarray
        W = 0.621945 p_w / (p - p_w), kg water / kg dry air (ASHRAE 2017 Eq. 20).
    """
    pw = _arr(vapor_pressure_pa)
    p = _arr(pressure_pa)
    return scalar_or_array(_EPS * pw / (p - pw))


def vapor_pressure_from_humidity_ratio_pa(humidity_ratio_kg_kg, pressure_pa=STANDARD_PRESSURE_PA):
    """Partial pressure of water vapour from the humidity ratio (Eq. 20 inverted).

    Parameters
    ----------
    humidity_ratio_kg_kg : array_like
        Humidity ratio W, kg/kg dry air (≥ 0).
    pressure_pa : array_like, optional
        Total pressure, Pa.

    Returns
    -------
    vapor_pressure_pa : ndarray
        p_w = p W / (0.621945 + W).
    """
    w = _arr(humidity_ratio_kg_kg)
    return scalar_or_array(_arr(pressure_pa) * w / (_EPS + w))


def saturation_humidity_ratio_kg_kg(temp_c, pressure_pa=STANDARD_PRESSURE_PA):
    """Humidity ratio of saturated air, W_s = 0.621945 p_ws / (p - p_ws) (Eq. 23).

    Parameters
    ----------
    temp_c : array_like
        Dry-bulb temperature, °C (-100 to 200 °C, and p_ws(t) < p).
    pressure_pa : array_like, optional
        Total pressure, Pa.
    """
    return humidity_ratio_from_vapor_pressure(saturation_vapor_pressure_pa(temp_c), pressure_pa)


def humidity_ratio_from_rel_humidity(temp_c, rel_humidity_frac, pressure_pa=STANDARD_PRESSURE_PA):
    """Humidity ratio from dry bulb and relative humidity.

    Parameters
    ----------
    temp_c : array_like
        Dry-bulb temperature, °C.
    rel_humidity_frac : array_like
        Relative humidity phi = p_w / p_ws(t), fraction 0-1 (Eq. 24).
    pressure_pa : array_like, optional
        Total pressure, Pa.

    Returns
    -------
    humidity_ratio_kg_kg : ndarray
        W from p_w = phi p_ws(t) by Eq. (20).
    """
    pw = _arr(rel_humidity_frac) * saturation_vapor_pressure_pa(temp_c)
    return humidity_ratio_from_vapor_pressure(pw, pressure_pa)


def rel_humidity_from_humidity_ratio(temp_c, humidity_ratio_kg_kg, pressure_pa=STANDARD_PRESSURE_PA):
    """Relative humidity (fraction) from dry bulb and humidity ratio (Eq. 20, 24).

    Parameters
    ----------
    temp_c : array_like
        Dry-bulb temperature, °C.
    humidity_ratio_kg_kg : array_like
        Humidity ratio, kg/kg dry air.
    pressure_pa : array_like, optional
        Total pressure, Pa.

    Returns
    -------
    rel_humidity_frac : ndarray
        phi = p_w(W, p) / p_ws(t). Values above 1 mean supersaturated input.
    """
    pw = vapor_pressure_from_humidity_ratio_pa(humidity_ratio_kg_kg, pressure_pa)
    return scalar_or_array(_arr(pw) / _arr(saturation_vapor_pressure_pa(temp_c)))


def humidity_ratio_from_dew_point(dew_point_c, pressure_pa=STANDARD_PRESSURE_PA):
    """Humidity ratio from the dew-point (frost-point below 0 °C) temperature.

    Parameters
    ----------
    dew_point_c : array_like
        Dew-point temperature, °C; the vapour pressure is p_ws(t_d) (Eq. 5/6).
    pressure_pa : array_like, optional
        Total pressure, Pa.
    """
    return humidity_ratio_from_vapor_pressure(saturation_vapor_pressure_pa(dew_point_c), pressure_pa)


def dew_point_from_vapor_pressure_c(vapor_pressure_pa):
    """Dew-point temperature: the t_d with p_ws(t_d) = p_w (Eq. 5/6 inverted).

    Parameters
    ----------
    vapor_pressure_pa : array_like
        Partial pressure of water vapour, Pa. Zero gives -inf.

    Returns
    -------
    dew_point_c : ndarray
        Solved by Newton iteration on ln p_ws(T) - ln p_w, from a Magnus-formula first
        guess; over ice when p_w < p_ws,ice(0 °C) = 611.15 Pa (frost point, as
        ASHRAE 2017 ch. 1 defines t_d below freezing). Converged to < 1e-9 K.
        Valid -100 to 200 °C (p_w from 0.0014 Pa to 1.55 MPa).
    """
    pw = _arr(vapor_pressure_pa)
    positive = pw > 0.0
    pw_safe = np.where(positive, pw, 611.2)
    ln_pw = np.log(pw_safe)
    ice = pw_safe < np.exp(_ln_pws_ice(ZERO_C_IN_K))
    # Magnus first guess (WMO 2008 coefficients), then Newton on the exact relation.
    g = np.log(pw_safe / 611.2)
    t_k = np.where(ice, 272.62 * g / (22.46 - g), 243.12 * g / (17.62 - g)) + ZERO_C_IN_K
    t_k = np.clip(t_k, 150.0, 480.0)
    for _ in range(50):
        f = np.where(ice, _ln_pws_ice(t_k), _ln_pws_liquid(t_k)) - ln_pw
        df = np.where(ice, _dln_pws_ice(t_k), _dln_pws_liquid(t_k))
        step = f / df
        t_k = t_k - step
        if np.all(np.abs(step) < 1e-10):
            break
    td = np.where(positive, t_k - ZERO_C_IN_K, -np.inf)
    warn_outside_range("dew_point_c", np.where(positive, td, np.nan), _T_MIN_C, _T_MAX_C, _SRC)
    return scalar_or_array(td)


def dew_point_from_humidity_ratio_c(humidity_ratio_kg_kg, pressure_pa=STANDARD_PRESSURE_PA):
    """Dew-point temperature, °C, from the humidity ratio and total pressure.

    Parameters
    ----------
    humidity_ratio_kg_kg : array_like
        Humidity ratio, kg/kg dry air.
    pressure_pa : array_like, optional
        Total pressure, Pa.
    """
    return dew_point_from_vapor_pressure_c(vapor_pressure_from_humidity_ratio_pa(humidity_ratio_kg_kg, pressure_pa))


def dew_point_from_rel_humidity_c(temp_c, rel_humidity_frac):
    """Dew-point temperature, °C, from dry bulb and relative humidity (fraction).

    Parameters
    ----------
    temp_c : array_like
        Dry-bulb temperature, °C.
    rel_humidity_frac : array_like
        Relative humidity, fraction 0-1.
    """
    pw = _arr(rel_humidity_frac) * _arr(saturation_vapor_pressure_pa(temp_c))
    return dew_point_from_vapor_pressure_c(pw)


def rel_humidity_from_dew_point(temp_c, dew_point_c):
    """Relative humidity, fraction, phi = p_ws(t_d) / p_ws(t) (Eq. 24).

    Parameters
    ----------
    temp_c : array_like
        Dry-bulb temperature, °C.
    dew_point_c : array_like
        Dew-point temperature, °C (≤ temp_c for unsaturated air).
    """
    return scalar_or_array(_arr(saturation_vapor_pressure_pa(dew_point_c)) / _arr(saturation_vapor_pressure_pa(temp_c)))


def humidity_ratio_from_wet_bulb(temp_c, wet_bulb_c, pressure_pa=STANDARD_PRESSURE_PA):
    """Humidity ratio from dry-bulb and thermodynamic wet-bulb temperatures.

    Parameters
    ----------
    temp_c : array_like
        Dry-bulb temperature t, °C.
    wet_bulb_c : array_like
        Thermodynamic wet-bulb temperature t*, °C (≤ t).
    pressure_pa : array_like, optional
        Total pressure, Pa.

    Returns
    -------
    humidity_ratio_kg_kg : ndarray
        t* ≥ 0 °C (Eq. 33):
        W = [(2501 - 2.326 t*) W_s* - 1.006 (t - t*)] / (2501 + 1.86 t - 4.186 t*)
        t* < 0 °C (Eq. 35):
        W = [(2830 - 0.24 t*) W_s* - 1.006 (t - t*)] / (2830 + 1.86 t - 2.1 t*)
        with W_s* the saturation humidity ratio at t*; ASHRAE 2017 ch. 1.
    """
    t = _arr(temp_c)
    tw = _arr(wet_bulb_c)
    ws = _arr(saturation_humidity_ratio_kg_kg(tw, pressure_pa))
    above = ((2501.0 - 2.326 * tw) * ws - 1.006 * (t - tw)) / (2501.0 + 1.86 * t - 4.186 * tw)
    below = ((2830.0 - 0.24 * tw) * ws - 1.006 * (t - tw)) / (2830.0 + 1.86 * t - 2.1 * tw)
    return scalar_or_array(np.where(tw >= 0.0, above, below))


def wet_bulb_from_humidity_ratio_c(temp_c, humidity_ratio_kg_kg, pressure_pa=STANDARD_PRESSURE_PA,
                                   tol_k: float = 1e-6):
    """Thermodynamic wet-bulb temperature, °C, by vectorised bisection.

    Parameters
    ----------
    temp_c : array_like
        Dry-bulb temperature, °C.
    humidity_ratio_kg_kg : array_like
        Humidity ratio, kg/kg dry air.
    pressure_pa : array_like, optional
        Total pressure, Pa.
    tol_k : float, optional
        Width of the final bracket, K (default 1e-6).

    Returns
    -------
    wet_bulb_c : ndarray
        The t* in [t_d, t] that satisfies Eq. (33)/(35) of ASHRAE 2017 ch. 1 for the
        given W (see :func:`humidity_ratio_from_wet_bulb`). The residual W(t, t*) - W
        increases monotonically with t*, so bisection between the dew point and the
        dry bulb always converges. Saturated or supersaturated input returns t.
    """
    t, w, p = np.broadcast_arrays(_arr(temp_c), _arr(humidity_ratio_kg_kg), _arr(pressure_pa))
    td = _arr(dew_point_from_humidity_ratio_c(np.maximum(w, 0.0), p))
    lo = np.clip(np.minimum(td, t), _T_MIN_C, None)
    hi = t.astype(float).copy()
    n_iter = int(np.ceil(np.log2(max(float(np.max(hi - lo, initial=1.0)), 1e-12) / tol_k))) + 1
    for _ in range(max(n_iter, 1)):
        mid = 0.5 * (lo + hi)
        too_high = _arr(humidity_ratio_from_wet_bulb(t, mid, p)) > w
        hi = np.where(too_high, mid, hi)
        lo = np.where(too_high, lo, mid)
    return scalar_or_array(0.5 * (lo + hi))


def moist_air_enthalpy_j_kg(temp_c, humidity_ratio_kg_kg):
    """Specific enthalpy of moist air per kg of dry air, zero for dry air at 0 °C.

    Parameters
    ----------
    temp_c : array_like
        Dry-bulb temperature t, °C (-100 to 200 °C).
    humidity_ratio_kg_kg : array_like
        Humidity ratio W, kg/kg dry air.

    Returns
    -------
    enthalpy_j_kg : ndarray
        h = 1006 t + W (2,501,000 + 1860 t), J/kg_da (ASHRAE 2017 Eq. 30).
    """
    t = _arr(temp_c)
    w = _arr(humidity_ratio_kg_kg)
    return scalar_or_array(_CP_DA * t + w * (_HFG0 + _CP_V * t))


def moist_air_specific_heat_j_kg_k(humidity_ratio_kg_kg):
    """Humid specific heat per kg of dry air, c_p = 1006 + 1860 W, J/(kg_da K).

    The temperature derivative of Eq. (30), ASHRAE 2017 ch. 1. Use it for sensible
    heat: Q = m_da c_p ΔT.

    Parameters
    ----------
    humidity_ratio_kg_kg : array_like
        Humidity ratio, kg/kg dry air.
    """
    return scalar_or_array(_CP_DA + _CP_V * _arr(humidity_ratio_kg_kg))


def moist_air_specific_volume_m3_kg(temp_c, humidity_ratio_kg_kg, pressure_pa=STANDARD_PRESSURE_PA):
    """Specific volume of moist air per kg of dry air.

    Parameters
    ----------
    temp_c : array_like
        Dry-bulb temperature, °C.
    humidity_ratio_kg_kg : array_like
        Humidity ratio, kg/kg dry air.
    pressure_pa : array_like, optional
        Total pressure, Pa.

    Returns
    -------
    specific_volume_m3_kg : ndarray
        v = 287.042 (t + 273.15)(1 + 1.607858 W) / p, m³/kg_da (ASHRAE 2017 Eq. 26).
    """
    t_k = _arr(temp_c) + ZERO_C_IN_K
    w = _arr(humidity_ratio_kg_kg)
    return scalar_or_array(_R_DA_J_KG_K * t_k * (1.0 + 1.607858 * w) / _arr(pressure_pa))


def moist_air_density_kg_m3(temp_c, humidity_ratio_kg_kg, pressure_pa=STANDARD_PRESSURE_PA):
    """Density of moist air (dry air plus vapour), ρ = (1 + W) / v, kg/m³.

    Parameters
    ----------
    temp_c : array_like
        Dry-bulb temperature, °C.
    humidity_ratio_kg_kg : array_like
        Humidity ratio, kg/kg dry air.
    pressure_pa : array_like, optional
        Total pressure, Pa.

    Notes
    -----
    ASHRAE 2017 ch. 1 Eq. (11) with v from Eq. (26).
    """
    v = _arr(moist_air_specific_volume_m3_kg(temp_c, humidity_ratio_kg_kg, pressure_pa))
    return scalar_or_array((1.0 + _arr(humidity_ratio_kg_kg)) / v)


@dataclass(frozen=True)
class MoistAirState:
    """A complete moist-air state (arrays broadcast to a common shape).

    Attributes
    ----------
    temp_c : dry bulb, °C
    pressure_pa : total pressure, Pa
    humidity_ratio_kg_kg : kg water / kg dry air
    rel_humidity_frac : fraction 0-1
    dew_point_c : °C (frost point below 0 °C)
    wet_bulb_c : thermodynamic wet bulb, °C
    vapor_pressure_pa : partial pressure of water vapour, Pa
    enthalpy_j_kg : J/kg dry air
    specific_volume_m3_kg : m³/kg dry air
    density_kg_m3 : moist-air density, kg/m³
    """

    temp_c: np.ndarray
    pressure_pa: np.ndarray
    humidity_ratio_kg_kg: np.ndarray
    rel_humidity_frac: np.ndarray
    dew_point_c: np.ndarray
    wet_bulb_c: np.ndarray
    vapor_pressure_pa: np.ndarray
    enthalpy_j_kg: np.ndarray
    specific_volume_m3_kg: np.ndarray
    density_kg_m3: np.ndarray


def moist_air_state(temp_c, *, rel_humidity_frac=None, dew_point_c=None, wet_bulb_c=None,
                    humidity_ratio_kg_kg=None, pressure_pa=STANDARD_PRESSURE_PA) -> MoistAirState:
    """All psychrometric properties from the dry bulb and exactly one humidity measure.

    Parameters
    ----------
    temp_c : array_like
        Dry-bulb temperature, °C.
    rel_humidity_frac, dew_point_c, wet_bulb_c, humidity_ratio_kg_kg : array_like
        Give exactly one: relative humidity (fraction), dew point (°C), thermodynamic
        wet bulb (°C) or humidity ratio (kg/kg dry air).
    pressure_pa : array_like, optional
        Total pressure, Pa (default 101325).

    Returns
    -------
    MoistAirState
        Equations as in the functions of this module (ASHRAE 2017 ch. 1).
    """
    given = [x is not None for x in (rel_humidity_frac, dew_point_c, wet_bulb_c, humidity_ratio_kg_kg)]
    if sum(given) != 1:
        raise ValueError("moist_air_state: give exactly one of rel_humidity_frac, dew_point_c, "
                         "wet_bulb_c, humidity_ratio_kg_kg")
    t = _arr(temp_c)
    p = _arr(pressure_pa)
    if rel_humidity_frac is not None:
        w = humidity_ratio_from_rel_humidity(t, rel_humidity_frac, p)
    elif dew_point_c is not None:
        w = humidity_ratio_from_dew_point(dew_point_c, p)
    elif wet_bulb_c is not None:
        w = humidity_ratio_from_wet_bulb(t, wet_bulb_c, p)
    else:
        w = _arr(humidity_ratio_kg_kg)
    t, p, w = np.broadcast_arrays(t, p, _arr(w))
    pw = _arr(vapor_pressure_from_humidity_ratio_pa(w, p))
    return MoistAirState(
        temp_c=t,
        pressure_pa=p,
        humidity_ratio_kg_kg=w,
        rel_humidity_frac=_arr(rel_humidity_from_humidity_ratio(t, w, p)),
        dew_point_c=_arr(dew_point_from_vapor_pressure_c(pw)),
        wet_bulb_c=_arr(wet_bulb_from_humidity_ratio_c(t, w, p)),
        vapor_pressure_pa=pw,
        enthalpy_j_kg=_arr(moist_air_enthalpy_j_kg(t, w)),
        specific_volume_m3_kg=_arr(moist_air_specific_volume_m3_kg(t, w, p)),
        density_kg_m3=_arr(moist_air_density_kg_m3(t, w, p)),
    )
