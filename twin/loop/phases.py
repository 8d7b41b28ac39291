"""A campus built in phases: when each hall draws IT power, and the plant and electrical
chain of a partial campus.

* :func:`select_halls`: the halls a run simulates (``--hall``, ``--phase``, and with a
  ``--year`` those commissioned by its end) and their installed shares.
* :func:`installed_frac`: the share of a hall's racks installed at each time of a run
  that stands for a calendar ``year``: 0 before its phase's ``commissioning_date``, then
  rising linearly to 1 over the phase's ``it_ramp_months`` (a linear ramp is the usual
  planning assumption for a data-hall fit-out, est.; the public Ulsan plan, 41 MW in Nov
  2027 and 103 MW by Feb 2029, is two such steps: ``/work/shared`` notes, Korea Herald
  10510141). The hall's solved air field stands for the installed share (the campus
  totals take that share of the hall; its field is that of the full hall).
* :func:`scaled_plant`, :func:`scaled_power`: the facility's chillers, towers, dry
  coolers, pumps, UPS and transformers scaled to the design load of the halls a run
  simulates, so that a partial campus runs its equipment at the same part load as the
  full campus at the same load per hall. Each group keeps its share of capacity:
  ``ceil(count * frac)`` units (at least 1) of ``count * capacity * frac / units`` each
  (the plant a phased build installs grows module by module; a share is an estimate).
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np

from common.errors import InputError

#: Mean length of a month [h] (365.25 d / 12).
HOURS_PER_MONTH = 730.5


def hours_into_year(date: str, year: int) -> float:
    """Hours from 1 January 00:00 of ``year`` to ``date`` (``YYYY-MM-DD``) 00:00
    (negative when the date is earlier)."""
    d = dt.date.fromisoformat(date)
    return (d - dt.date(int(year), 1, 1)).days * 24.0


def installed_frac(phase, year: int | None, time_h) -> np.ndarray:
    """Share of a hall's IT installed at ``time_h`` (hours after 1 January of ``year``,
    local time) [-]: 0 before ``phase.commissioning_date``, a linear ramp over
    ``phase.it_ramp_months``, then 1. ``phase`` None (a hall of no phase) or ``year`` None
    (the campus as fully built): 1 throughout."""
    t = np.asarray(time_h, float)
    if phase is None or year is None:
        return np.ones_like(t)
    t0 = hours_into_year(phase.commissioning_date, year)
    ramp_h = phase.it_ramp_months * HOURS_PER_MONTH
    if ramp_h <= 0:
        return (t >= t0).astype(float)
    return np.clip((t - t0) / ramp_h, 0.0, 1.0)


def _share(count: int, frac: float) -> tuple[int, float]:
    """Units kept of ``count`` at a capacity share ``frac``, and each unit's size factor."""
    n = max(1, math.ceil(count * frac - 1e-9))
    return n, count * frac / n


def _scaled(items, frac: float, fields: tuple) -> list:
    out = []
    for it in items:
        n, f = _share(it.count, frac)
        out.append(it.model_copy(update={"count": n, **{k: getattr(it, k) * f for k in fields}}))
    return out


def scaled_plant(plant, chw_frac: float, liquid_frac: float):
    """``plant`` (a :class:`twin.facility.Plant`, or None) with its chillers, cooling
    towers and chilled- and condenser-water pumps scaled to ``chw_frac`` of their capacity,
    its dry coolers and facility-water pumps to ``liquid_frac``."""
    if plant is None:
        return None
    pumps = []
    for p in plant.pumps:
        frac = liquid_frac if p.loop == "facility-water" else chw_frac
        pumps += _scaled([p], frac, ("flow_m3_s",))
    return plant.model_copy(update={
        "chillers": _scaled(plant.chillers, chw_frac, ("capacity_kw",)),
        "cooling_towers": _scaled(plant.cooling_towers, chw_frac, ("capacity_kw", "fan_power_kw")),
        "dry_coolers": _scaled(plant.dry_coolers, liquid_frac, ("capacity_kw", "fan_power_kw")),
        "pumps": pumps})


def scaled_power(power, it_frac: float):
    """``power`` (a :class:`twin.facility.Power`, or None) with its UPS and transformers
    (the substations) scaled to ``it_frac`` of their capacity. The grid connection,
    contracts, on-site PV and storage are the campus's and stay."""
    if power is None:
        return None
    return power.model_copy(update={
        "ups": _scaled(power.ups, it_frac, ("capacity_kw",)),
        "transformers": _scaled(power.transformers, it_frac, ("capacity_kva",))})


def select_halls(fac, s, t_mid_h, note) -> tuple[list, dict]:
    """The halls a run of ``fac`` with settings ``s`` simulates (``s.halls``, ``s.phases``,
    and with a ``year`` those commissioned by the end of the run) and each one's installed
    share at every step mid-time ``t_mid_h`` (:func:`installed_frac`); ``note(text)``
    records the halls left out."""
    names = fac.hall_names
    if s.halls:
        unknown = [h for h in s.halls if h not in names]
        if unknown:
            raise InputError(f"no hall {', '.join(unknown)} in {fac.campus.name}; halls: {', '.join(names)}")
        names = [h for h in names if h in s.halls]
    if s.phases:
        for p in s.phases:
            fac.phase(p)                        # an unknown phase: one line
        names = [h for h in names if fac.hall(h).phase in s.phases]
        if not names:
            raise InputError(f"no hall{' of those given' if s.halls else ''} belongs to phase "
                             f"{', '.join(s.phases)} in {fac.campus.name}")
    if not names:
        raise InputError(f"facility '{fac.campus.name}' has no hall to simulate")
    built = {}
    for h in names:
        ph = fac.hall(h).phase
        built[h] = installed_frac(None if ph is None else fac.phase(ph), s.year, t_mid_h)
    later = [h for h in names if not np.any(built[h] > 0)]
    if later and len(later) == len(names):
        raise InputError(f"no hall of {fac.campus.name} is commissioned by the end of the run in "
                         f"{s.year}; give a later --year or another --start-day")
    if later:
        note(f"not commissioned by the end of the run in {s.year}, left out: "
                  f"{len(later)} hall(s) ({later[0]} .. {later[-1]})")
        names = [h for h in names if h not in later]
    return names, built
