"""Named periods of a site's weather for ``twin run --period``: the hottest and coldest
weeks and the ASHRAE design days.

Design conditions (ASHRAE Handbook—Fundamentals 2009, ch. 14 "Climatic Design
Information", section "Annual design conditions"): the cooling design dry bulb
"0.4 %" is the temperature the air exceeds in 0.4 % of the hours of the year (35 of
8760 h), the heating design dry bulb "99.6 %" the one it stays above in 99.6 % of them;
the handbook takes them from the cumulative frequency distribution of many years of
hourly observations (1982-2006 for the 2009 edition) and gives the *mean coincident wet
bulb* (MCWB) of the hours at the design dry bulb beside the cooling value. The
*extreme annual* dry bulbs are the means of each year's highest and lowest temperature.

Here the same definitions are applied to the hours of the weather year the run uses
(:func:`design_conditions`): a typical year, so an estimate of the long-record figure.
For Ulsan (WMO 471520) the handbook's own figures are :data:`ULSAN_ASHRAE_2009`; they
come from the ``DESIGN CONDITIONS`` header line of the ASHRAE IWEC file
``KOR_Ulsan.471520_IWEC.epw`` ("Climate Design Data 2009 ASHRAE Handbook"; see
``shared/reference/weather/KOR_Ulsan.471520_IWEC.SOURCE.md``).

A design-day period is a whole day of that year, 00:00 to 24:00 local standard time
(:func:`period_start_day`):

``design-cooling-0.4``
    the day whose highest dry bulb is nearest the year's 0.4 % cooling dry bulb;
``design-cooling-extreme``
    the day of the year's highest dry bulb;
``design-heating-99.6``
    the day whose lowest dry bulb is nearest the year's 99.6 % heating dry bulb;
``design-heating-extreme``
    the day of the year's lowest dry bulb;
``hottest-week``, ``coldest-week``
    the 7 days of highest (lowest) mean dry bulb (:func:`twin.models.weather.extreme_window_start_day`).

These are days *of the weather year* (with their own humidity, sun and wind), not the
synthetic design-day profiles of the handbook's Table 6 (dry bulb following a fixed
fraction of the daily range). A typical year is milder than the long record's tails
(the built-in Ulsan year peaks at 30.4 °C, the handbook's 0.4 % is 33.1 °C), so a
design day's dry bulb is shifted by :func:`period_offset_k` until its peak (its low for
heating) is the design figure: the handbook's where this module has it for the site,
else the one derived from the year (then the shift is small). The shift keeps the air's
moisture, as ``--dry-bulb-offset`` does (:func:`twin.models.weather.shifted_weather`),
so the wet bulb rises less than the dry bulb; a what-if offset adds to it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.errors import InputError

from .weather import Weather, extreme_window_start_day, wet_bulb_temp_c

__all__ = ["DesignConditions", "ULSAN_ASHRAE_2009", "PERIODS", "design_conditions",
           "period_start_day", "period_offset_k", "period_summary", "handbook_conditions"]


@dataclass(frozen=True)
class DesignConditions:
    """Annual design dry bulbs of a site [°C] (ASHRAE Handbook—Fundamentals, ch. 14).

    Attributes
    ----------
    cooling_0_4_c : float
        Dry bulb exceeded in 0.4 % of the hours of the year.
    cooling_0_4_mcwb_c : float
        Mean coincident wet bulb of that condition.
    heating_99_6_c : float
        Dry bulb the air stays above in 99.6 % of the hours.
    extreme_max_c, extreme_min_c : float
        Extreme annual dry bulbs (for one year: its highest and lowest hour).
    source : str
        Where the figures come from.
    """

    cooling_0_4_c: float
    cooling_0_4_mcwb_c: float
    heating_99_6_c: float
    extreme_max_c: float
    extreme_min_c: float
    source: str


#: Ulsan, Korea (WMO 471520), ASHRAE Handbook—Fundamentals 2009 climatic design
#: conditions, as given in the DESIGN CONDITIONS header of the ASHRAE IWEC file
#: KOR_Ulsan.471520_IWEC.epw: cooling 0.4 % 33.1 °C DB with 24.9 °C MCWB; heating
#: 99.6 % -6.2 °C; extreme annual DB means 35.1 °C and -9.0 °C.
ULSAN_ASHRAE_2009 = DesignConditions(
    cooling_0_4_c=33.1, cooling_0_4_mcwb_c=24.9, heating_99_6_c=-6.2, extreme_max_c=35.1,
    extreme_min_c=-9.0,
    source="ASHRAE Handbook-Fundamentals 2009, climatic design conditions for Ulsan, WMO 471520 "
           "(DESIGN CONDITIONS line of the ASHRAE IWEC file KOR_Ulsan.471520_IWEC.epw)")

#: Sites with handbook figures: (latitude_deg, longitude_deg) -> conditions.
_HANDBOOK = {(35.55, 129.32): ULSAN_ASHRAE_2009}

#: ``twin run --period`` names -> (days, what the period is).
PERIODS = {
    "design-cooling-0.4": (1, "the day whose highest dry bulb is nearest the 0.4 % cooling design "
                              "dry bulb of the weather year"),
    "design-cooling-extreme": (1, "the day of the weather year's highest dry bulb"),
    "design-heating-99.6": (1, "the day whose lowest dry bulb is nearest the 99.6 % heating design "
                               "dry bulb of the weather year"),
    "design-heating-extreme": (1, "the day of the weather year's lowest dry bulb"),
    "hottest-week": (7, "the 7 days of the highest mean dry bulb"),
    "coldest-week": (7, "the 7 days of the lowest mean dry bulb"),
}

#: Share of the hours of a year beyond the 0.4 % and 99.6 % conditions.
_TAIL_FRAC = 0.004

#: Half width of the dry-bulb band whose hours give the mean coincident wet bulb [K]
#: (this project's choice: the handbook bins its hourly record).
_MCWB_BAND_K = 0.5


def _daily(weather: Weather) -> np.ndarray:
    return np.asarray(weather.dry_bulb_temp_c, dtype=float)[:8760].reshape(365, 24)


def design_conditions(weather: Weather) -> DesignConditions:
    """The design dry bulbs of ``weather``'s year, by the handbook's definitions.

    The 0.4 % cooling dry bulb is the 99.6th percentile of the hourly dry bulbs (linear
    interpolation between hours), the 99.6 % heating one the 0.4th percentile; the
    MCWB the mean wet bulb (:func:`twin.models.weather.wet_bulb_temp_c`) of the hours
    within 0.5 K of the cooling dry bulb.
    """
    t = np.asarray(weather.dry_bulb_temp_c, dtype=float)
    cool = float(np.quantile(t, 1.0 - _TAIL_FRAC))
    heat = float(np.quantile(t, _TAIL_FRAC))
    near = np.abs(t - cool) <= _MCWB_BAND_K
    mcwb = float(np.mean(wet_bulb_temp_c(weather)[near]))
    return DesignConditions(
        cooling_0_4_c=cool, cooling_0_4_mcwb_c=mcwb, heating_99_6_c=heat,
        extreme_max_c=float(t.max()), extreme_min_c=float(t.min()),
        source=f"derived from the hours of the weather year ({weather.source or weather.site_name})")


def handbook_conditions(weather: Weather) -> DesignConditions | None:
    """The handbook's figures for the weather's site, where this module has them."""
    for (lat, lon), cond in _HANDBOOK.items():
        if abs(weather.latitude_deg - lat) < 0.05 and abs(weather.longitude_deg - lon) < 0.05:
            return cond
    return None


def period_start_day(weather: Weather, name: str) -> int:
    """First day (1..365) of the named period of ``weather``'s year (:data:`PERIODS`)."""
    if name not in PERIODS:
        raise InputError(f"--period {name}: unknown; choose one of {', '.join(PERIODS)}")
    if name in ("hottest-week", "coldest-week"):
        return extreme_window_start_day(weather, 7, hottest=(name == "hottest-week"))
    daily = _daily(weather)
    cond = design_conditions(weather)
    if name == "design-cooling-0.4":
        k = np.argmin(np.abs(daily.max(axis=1) - cond.cooling_0_4_c))
    elif name == "design-cooling-extreme":
        k = np.argmax(daily.max(axis=1))
    elif name == "design-heating-99.6":
        k = np.argmin(np.abs(daily.min(axis=1) - cond.heating_99_6_c))
    else:
        k = np.argmin(daily.min(axis=1))
    return int(k) + 1


def period_window_h(weather: Weather, name: str) -> tuple[float, float]:
    """Start [h after 1 January 00:00 of ``weather``'s year] and length [h] of the named
    period: what ``twin run --period`` and :func:`twin.run` ``period=`` run when no start
    is given."""
    return (period_start_day(weather, name) - 1) * 24.0, PERIODS[name][0] * 24.0


def check_period_start(weather: Weather, name: str, start_h: float) -> None:
    """One :class:`InputError` line when a run of the named period would start outside it
    (a design day's offset put on another day's weather)."""
    p0, length = period_window_h(weather, name)
    if (float(start_h) - p0) % 8760.0 >= length:
        day = int(p0 // 24) + 1
        days = f"{day}..{day + int(length // 24) - 1}" if length > 24 else f"{day}"
        raise InputError(f"period {name} is day {days} of the site's year (start_h {p0:g}.."
                         f"{p0 + length:g} h); start_h = {float(start_h):g} h lies outside it: "
                         "leave start_h out (the run then starts at the period) or give one "
                         "within it")


_DESIGN_KEYS = {"design-cooling-0.4": "cooling_0_4_c", "design-cooling-extreme": "extreme_max_c",
                "design-heating-99.6": "heating_99_6_c", "design-heating-extreme": "extreme_min_c"}


def _period_days(weather: Weather, name: str) -> np.ndarray:
    """The hourly dry bulbs of the period's days, (days, 24)."""
    days = PERIODS[name][0]
    day = period_start_day(weather, name)
    idx = (np.arange(day - 1, day - 1 + days) % 365)
    return _daily(weather)[idx]


def _design_target(weather: Weather, name: str) -> tuple[float, str]:
    """The design dry bulb a design day is brought to, and its source."""
    key = _DESIGN_KEYS[name]
    hb = handbook_conditions(weather)
    cond = hb if hb is not None else design_conditions(weather)
    return float(getattr(cond, key)), cond.source


def period_offset_k(weather: Weather, name: str) -> float:
    """Dry-bulb shift of a design day [K]: the design figure (:func:`_design_target`) less
    the day's highest (cooling) or lowest (heating) hour; 0 for the weeks."""
    if not name.startswith("design-"):
        return 0.0
    rows = _period_days(weather, name)
    target, _ = _design_target(weather, name)
    return target - float(rows.max() if "cooling" in name else rows.min())


def period_summary(weather: Weather, name: str) -> dict:
    """What ``summary.json`` says of a named period: its name, days, first day, the dry
    bulbs of its days and, for design days, the design figures with their source."""
    days, text = PERIODS[name]
    rows = _period_days(weather, name)
    out = {"name": name, "what": text, "days": days, "start_day": period_start_day(weather, name),
           "weather_dry_bulb_max_c": float(rows.max()),
           "weather_dry_bulb_min_c": float(rows.min())}
    if name.startswith("design-"):
        derived = design_conditions(weather)
        key = _DESIGN_KEYS[name]
        target, source = _design_target(weather, name)
        out.update({"design_dry_bulb_c": target, "design_source": source,
                    "derived_dry_bulb_c": getattr(derived, key), "derived_source": derived.source,
                    "dry_bulb_offset_k": period_offset_k(weather, name)})
        if key == "cooling_0_4_c":
            out["derived_mcwb_c"] = derived.cooling_0_4_mcwb_c
            hb = handbook_conditions(weather)
            if hb is not None:
                out["design_mcwb_c"] = hb.cooling_0_4_mcwb_c
    return out
