"""Condenser-water set-point control of a chiller plant: the wet-bulb reset
(:func:`condenser_water_setpoint_c`) and the bounded, vectorised search
(:func:`bounded_argmin`) behind the optimal control
(:func:`twin.models.plant.optimal_condenser_setpoint_c`, which evaluates each trial
set-point with the whole plant)."""
from __future__ import annotations

import numpy as np

from common.errors import InputError

from .inputs import as_array, check_param, scalar_or_array

__all__ = ["CW_OPTIMAL_SCAN_POINTS", "CW_OPTIMAL_REFINE_STEPS", "CW_OPTIMAL_UNMET_WEIGHT",
           "bounded_argmin", "condenser_water_setpoint_c"]


#: Set-points of the coarse scan before the golden-section search of
#: :func:`twin.models.plant.optimal_condenser_setpoint_c` (est.: about 1 K apart over the
#: usual 15.6-24 degC range, so that a step of chiller staging cannot hide the best
#: bracket).
CW_OPTIMAL_SCAN_POINTS = 9


#: Golden-section steps after the scan; each shrinks the bracket (two scan intervals) by
#: 0.618, 14 steps to 1.2e-3 of it (some 2.5 mK with 1 K between scanned points).
CW_OPTIMAL_REFINE_STEPS = 14


#: Weight of unmet chiller heat against power in the search's objective [W/W] (est.: any
#: set-point that leaves heat unmet ranks below any that does not).
CW_OPTIMAL_UNMET_WEIGHT = 100.0


def condenser_water_setpoint_c(wet_bulb_c, approach_k, min_supply_temp_c, max_supply_temp_c):
    """Condenser-water supply set-point reset with the outdoor wet bulb.

    Parameters
    ----------
    wet_bulb_c : array_like
        Outdoor wet bulb [°C].
    approach_k : float
        Set-point above the wet bulb [K] (a tower approach the fans can hold at part
        load; in :class:`twin.models.plant.PlantSpec` by default the tower's design approach plus
        :data:`twin.models.plant.CW_RESET_APPROACH_MARGIN_K`).
    min_supply_temp_c : float
        Lowest set-point [°C]: the chillers' minimum entering condenser-water temperature.
    max_supply_temp_c : float
        Highest set-point [°C] (the fixed set-point the reset replaces).

    Returns
    -------
    ndarray or float
        ``T_set = clip(T_wb + approach, T_min, T_max)`` [°C].

    Notes
    -----
    Colder condenser water lowers the chillers' lift and power, and the tower's fans pay
    for it; a set-point that follows the wet bulb at a fixed approach, limited below by
    the lowest entering condenser-water temperature the chiller maker allows, is the usual
    way of taking most of that trade (ASHRAE Handbook -- HVAC Systems and Equipment 2020,
    ch. 40 "Cooling Towers", on condenser-water temperature control; the same control as
    EnergyPlus ``SetpointManager:FollowOutdoorAirTemperature`` with
    ``OutdoorAirWetBulb`` reference, an offset and minimum and maximum set-points,
    EnergyPlus Input Output Reference). The minimum here defaults to the lowest entering
    condenser-water temperature of the chiller's curves (15.56 °C for both records of
    :data:`twin.models.chiller.CHILLERS`, the range of their EnergyPlus ``Chillers.idf``
    fits). Real centrifugal chillers with head-pressure control often allow some 13 °C
    (est.); a lower minimum makes the tower colder, but :func:`twin.models.plant.plant_step` holds the
    chillers at their curves' lowest entering temperature (a mixing valve), so only an
    economizer gains from it.
    """
    t_wb = as_array("wet_bulb_c", wet_bulb_c)
    approach = check_param("condenser_water_setpoint_c", "approach_k", approach_k, 0.0)
    t_max = check_param("condenser_water_setpoint_c", "max_supply_temp_c", max_supply_temp_c, -50.0, 60.0)
    t_min = check_param("condenser_water_setpoint_c", "min_supply_temp_c", min_supply_temp_c, -50.0, t_max)
    return scalar_or_array(np.clip(t_wb + approach, t_min, t_max))


def bounded_argmin(cost, lo, hi, scan_points: int = CW_OPTIMAL_SCAN_POINTS,
                   refine_steps: int = CW_OPTIMAL_REFINE_STEPS):
    """The ``x`` in ``[lo, hi]`` with the least ``cost(x)``, for many problems at once.

    Parameters
    ----------
    cost : callable
        ``cost(x) -> ndarray``: one cost per element of ``x`` (an array of ``lo``'s
        shape); elements are independent problems.
    lo, hi : ndarray
        Bounds per element, ``lo <= hi``.
    scan_points : int
        Points of the even scan of ``[lo, hi]``, ends included (>= 2).
    refine_steps : int
        Golden-section steps in the two scan intervals around the scan's best.

    Returns
    -------
    ndarray
        Per element the better of the scan's best point and the golden-section point:
        never costlier than any scanned point (``lo`` and ``hi`` among them).

    Notes
    -----
    A scan, then golden-section search (Kiefer 1953, "Sequential minimax search for a
    maximum", Proc. AMS 4, 502-506; the bracketing idea of Press et al., Numerical
    Recipes 3rd ed. 2007, sec. 10.2) on the bracket of the best scanned point, each step
    one call of ``cost`` on the whole array, ``scan_points + refine_steps + 2`` calls in
    all. The scan guards against the steps of a cost that is not unimodal over the
    whole range (chiller staging); within the bracket the cost is taken as unimodal.
    ``scipy.optimize.minimize_scalar(method="bounded")`` solves one problem per call,
    where a plant run has one per time step.
    """
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    n = int(scan_points)
    if n < 2:
        raise InputError(f"bounded_argmin: scan_points = {scan_points!r}; need at least 2")
    xs = lo + (hi - lo) * np.linspace(0.0, 1.0, n).reshape((n,) + (1,) * lo.ndim)
    fs = np.stack([np.asarray(cost(x), dtype=float) * np.ones(lo.shape) for x in xs])
    k = np.argmin(fs, axis=0)[None]
    x_best = np.take_along_axis(xs, k, 0)[0]
    f_best = np.take_along_axis(fs, k, 0)[0]
    a = np.take_along_axis(xs, np.maximum(k - 1, 0), 0)[0]
    b = np.take_along_axis(xs, np.minimum(k + 1, n - 1), 0)[0]
    g = (np.sqrt(5.0) - 1.0) / 2.0
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = cost(c), cost(d)
    for _ in range(int(refine_steps)):
        left = fc <= fd                       # the least lies in [a, d]
        a, b = np.where(left, a, c), np.where(left, d, b)
        x_new = np.where(left, b - g * (b - a), a + g * (b - a))
        f_new = cost(x_new)
        # left: the old c is the new d; right: the old d is the new c
        c, d, fc, fd = (np.where(left, x_new, d), np.where(left, c, x_new),
                        np.where(left, f_new, fd), np.where(left, fc, f_new))
    x_g = np.where(fc <= fd, c, d)
    return np.where(np.minimum(fc, fd) < f_best, x_g, x_best)
