"""Unit conversions at the edges of the twin, and the naming glossary.

Everything inside the twin is SI. Numbers in other units (°C in a facility file,
CFM on a fan datasheet, kWh on a bill) are converted here, once, where they enter
or leave; nothing else in the code base multiplies by 3.6e6 or 2118.88.

Glossary of name suffixes
-------------------------
Every public name that holds a dimensional quantity ends in its unit:

==================  ===============================================================
suffix              unit
==================  ===============================================================
``_c``              degree Celsius (temperatures are °C at the API, K only inside
                    a formula that needs absolute temperature: ``_k``)
``_k``              kelvin (absolute temperature or a temperature *difference*)
``_pa``             pascal (absolute pressure unless the name says ``dp_``)
``_w``              watt (``power_w``; heat flows are watts too)
``_j``              joule (energy; an hourly energy series is J per hour step)
``_m3_s``           cubic metre per second (volume flow)
``_kg_s``           kilogram per second (mass flow)
``_m_s``            metre per second (speed)
``_w_m2``           watt per square metre (irradiance, hourly mean over the hour)
``_kg_m3``          kilogram per cubic metre (density)
``_j_kg``           joule per kilogram *of dry air* for moist-air properties
``_m3_kg``          cubic metre per kilogram of dry air (specific volume)
``_kg_kg``          kilogram of water vapour per kilogram of dry air (humidity ratio)
``_frac``           dimensionless fraction in [0, 1] (relative humidity, load,
                    efficiency, share, capacity factor)
``_pct``            percent: only at the edges (EPW files, reports), never inside
``_deg``            degree of angle.  Azimuths are clockwise from north (90 = east,
                    180 = south); tilt is from horizontal
``_h``              hour.  ``time_h`` / ``hour_of_year`` count hours after 1 January
                    00:00 local *standard* time of the site (no daylight saving)
``_s``              second (durations and time steps)
``_krw``            Korean won; ``_krw_per_kwh`` a tariff rate.  Tariffs and grid
                    emission factors are published per kWh, so rates keep that
                    unit *in their name*; the energies they multiply stay in J and
                    are converted with :func:`j_to_kwh` at the multiplication
``_kg_per_kwh``     kilogram CO2-equivalent per kWh (grid emission factor)
==================  ===============================================================

Validity ranges
---------------
Component models warn (:class:`ValidityRangeWarning`) when an input leaves the range
its correlation was fitted on instead of extrapolating silently
(:func:`warn_outside_range`).

References
----------
- NIST SP 811 (2008), *Guide for the Use of the International System of Units*,
  appendix B (conversion factors: foot = 0.3048 m exactly, US gallon =
  3.785411784 L exactly, BTU_IT = 1055.05585262 J, inch of water (60 °F) = 248.84 Pa,
  conventional inch of water (4 °C) = 249.0889 Pa).
- ASHRAE Handbook—Fundamentals (2017), ch. 38 (units and conversions).
- Modelica Buildings Library, ``Buildings.UsersGuide.Conventions`` (naming idea).
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = [
    "ZERO_C_IN_K",
    "J_PER_KWH",
    "M3_S_PER_CFM",
    "M3_S_PER_GPM",
    "W_PER_TON_REFRIGERATION",
    "W_PER_BTU_H",
    "PA_PER_INH2O",
    "ValidityRangeWarning",
    "warn_outside_range",
    "c_to_k",
    "k_to_c",
    "f_to_c",
    "c_to_f",
    "cfm_to_m3_s",
    "m3_s_to_cfm",
    "gpm_to_m3_s",
    "m3_s_to_gpm",
    "l_s_to_m3_s",
    "m3_s_to_l_s",
    "kw_to_w",
    "w_to_kw",
    "mw_to_w",
    "w_to_mw",
    "kwh_to_j",
    "j_to_kwh",
    "mwh_to_j",
    "j_to_mwh",
    "wh_to_j",
    "j_to_wh",
    "kpa_to_pa",
    "pa_to_kpa",
    "inh2o_to_pa",
    "pa_to_inh2o",
    "btu_h_to_w",
    "w_to_btu_h",
    "tons_to_w",
    "w_to_tons",
    "h_to_s",
    "s_to_h",
    "pct_to_frac",
    "frac_to_pct",
    "kg_per_kwh_to_kg_per_j",
]

#: 0 °C in kelvin (exact, SI definition).
ZERO_C_IN_K = 273.15
#: joules in one kilowatt-hour (exact).
J_PER_KWH = 3.6e6
#: m³/s in one cubic foot per minute (0.3048³ m³ / 60 s, exact from the foot).
M3_S_PER_CFM = 0.3048**3 / 60.0
#: m³/s in one US gallon per minute (3.785411784 L / 60 s, exact).
M3_S_PER_GPM = 3.785411784e-3 / 60.0
#: watts in one BTU_IT per hour (1055.05585262 J / 3600 s).
W_PER_BTU_H = 1055.05585262 / 3600.0
#: watts in one ton of refrigeration (12,000 BTU_IT/h).
W_PER_TON_REFRIGERATION = 12000.0 * W_PER_BTU_H
#: pascals in one conventional inch of water (4 °C), NIST SP 811.
PA_PER_INH2O = 249.0889


class ValidityRangeWarning(UserWarning):
    """An input left the range a correlation or table was fitted on."""


def warn_outside_range(name: str, values, low: float, high: float, source: str) -> None:
    """Warn once if any finite value of ``values`` lies outside ``[low, high]``.

    Parameters
    ----------
    name : str
        Name of the input with its unit suffix, e.g. ``"temp_c"``.
    values : array_like
        Values to check (NaN ignored).
    low, high : float
        Range of validity, same unit as ``values``.
    source : str
        Correlation whose range it is (shown in the message).
    """
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return
    vmin, vmax = float(finite.min()), float(finite.max())
    if vmin < low or vmax > high:
        warnings.warn(
            f"{name} spans [{vmin:.4g}, {vmax:.4g}], outside the range [{low:.4g}, {high:.4g}] "
            f"of {source}; results there are extrapolated",
            ValidityRangeWarning,
            stacklevel=3,
        )


def _f(x):
    return np.asarray(x, dtype=float)


# --- temperature -------------------------------------------------------------------
def c_to_k(temp_c):
    """Celsius to kelvin: T_K = t_C + 273.15."""
    return _f(temp_c) + ZERO_C_IN_K


def k_to_c(temp_k):
    """Kelvin to Celsius: t_C = T_K - 273.15."""
    return _f(temp_k) - ZERO_C_IN_K


def f_to_c(temp_f):
    """Fahrenheit to Celsius: t_C = (t_F - 32) / 1.8."""
    return (_f(temp_f) - 32.0) / 1.8


def c_to_f(temp_c):
    """Celsius to Fahrenheit: t_F = 1.8 t_C + 32."""
    return 1.8 * _f(temp_c) + 32.0


# --- flow --------------------------------------------------------------------------
def cfm_to_m3_s(airflow_cfm):
    """Cubic feet per minute to m³/s (1 m³/s = 2118.88 CFM)."""
    return _f(airflow_cfm) * M3_S_PER_CFM


def m3_s_to_cfm(airflow_m3_s):
    """m³/s to cubic feet per minute."""
    return _f(airflow_m3_s) / M3_S_PER_CFM


def gpm_to_m3_s(flow_gpm):
    """US gallons per minute to m³/s."""
    return _f(flow_gpm) * M3_S_PER_GPM


def m3_s_to_gpm(flow_m3_s):
    """m³/s to US gallons per minute."""
    return _f(flow_m3_s) / M3_S_PER_GPM


def l_s_to_m3_s(flow_l_s):
    """Litres per second to m³/s."""
    return _f(flow_l_s) * 1e-3


def m3_s_to_l_s(flow_m3_s):
    """m³/s to litres per second."""
    return _f(flow_m3_s) * 1e3


# --- power and energy --------------------------------------------------------------
def kw_to_w(power_kw):
    """Kilowatt to watt."""
    return _f(power_kw) * 1e3


def w_to_kw(power_w):
    """Watt to kilowatt."""
    return _f(power_w) * 1e-3


def mw_to_w(power_mw):
    """Megawatt to watt."""
    return _f(power_mw) * 1e6


def w_to_mw(power_w):
    """Watt to megawatt."""
    return _f(power_w) * 1e-6


def kwh_to_j(energy_kwh):
    """Kilowatt-hour to joule (1 kWh = 3.6 MJ)."""
    return _f(energy_kwh) * J_PER_KWH


def j_to_kwh(energy_j):
    """Joule to kilowatt-hour."""
    return _f(energy_j) / J_PER_KWH


def mwh_to_j(energy_mwh):
    """Megawatt-hour to joule."""
    return _f(energy_mwh) * J_PER_KWH * 1e3


def j_to_mwh(energy_j):
    """Joule to megawatt-hour."""
    return _f(energy_j) / (J_PER_KWH * 1e3)


def wh_to_j(energy_wh):
    """Watt-hour to joule (EPW irradiation is Wh/m² per hour)."""
    return _f(energy_wh) * 3600.0


def j_to_wh(energy_j):
    """Joule to watt-hour."""
    return _f(energy_j) / 3600.0


def btu_h_to_w(heat_btu_h):
    """BTU_IT per hour to watt."""
    return _f(heat_btu_h) * W_PER_BTU_H


def w_to_btu_h(heat_w):
    """Watt to BTU_IT per hour."""
    return _f(heat_w) / W_PER_BTU_H


def tons_to_w(capacity_tons):
    """Tons of refrigeration to watt (1 ton = 12,000 BTU/h = 3516.85 W)."""
    return _f(capacity_tons) * W_PER_TON_REFRIGERATION


def w_to_tons(capacity_w):
    """Watt to tons of refrigeration."""
    return _f(capacity_w) / W_PER_TON_REFRIGERATION


# --- pressure ----------------------------------------------------------------------
def kpa_to_pa(pressure_kpa):
    """Kilopascal to pascal."""
    return _f(pressure_kpa) * 1e3


def pa_to_kpa(pressure_pa):
    """Pascal to kilopascal."""
    return _f(pressure_pa) * 1e-3


def inh2o_to_pa(dp_inh2o):
    """Inches of water (conventional, 4 °C) to pascal."""
    return _f(dp_inh2o) * PA_PER_INH2O


def pa_to_inh2o(dp_pa):
    """Pascal to inches of water (conventional, 4 °C)."""
    return _f(dp_pa) / PA_PER_INH2O


# --- time and ratios ---------------------------------------------------------------
def h_to_s(time_h):
    """Hour to second."""
    return _f(time_h) * 3600.0


def s_to_h(time_s):
    """Second to hour."""
    return _f(time_s) / 3600.0


def pct_to_frac(value_pct):
    """Percent to fraction (EPW relative humidity, report tables)."""
    return _f(value_pct) * 1e-2


def frac_to_pct(value_frac):
    """Fraction to percent."""
    return _f(value_frac) * 1e2


def kg_per_kwh_to_kg_per_j(factor_kg_per_kwh):
    """Emission factor per kWh to per joule (0.4173 kg/kWh = 1.159e-7 kg/J)."""
    return _f(factor_kg_per_kwh) / J_PER_KWH
