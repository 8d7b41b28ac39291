"""Battery energy storage: state of charge, efficiency, limits, cycle ageing, and dispatch.

Pure functions over small frozen records; powers in W at the AC bus of the campus,
energies in J (stored energy on the cell side), fractions 0-1.

Battery (:func:`battery_step`)
------------------------------
A "bucket" (energy-reservoir) model, the one NREL's System Advisor Model and REopt use
for dispatch studies (DiOrio, N., Dobos, A., Janzou, S. (2015) *Economic Analysis Case
Studies of Battery Energy Storage with SAM*, NREL/TP-6A20-64987; Cutler, D. et al.
(2017) *REopt: A Platform for Energy System Integration and Optimization*,
NREL/TP-7A40-70022, storage state-of-charge constraints):

* the round-trip efficiency ``eta_rt`` is split evenly, ``eta_c = eta_d = sqrt(eta_rt)``;
* charging at ``P_c`` (bus side) for ``dt`` stores ``eta_c P_c dt``; discharging at ``P_d``
  (bus side) takes ``P_d dt / eta_d`` from storage; the rest is loss (heat), so every step
  ``(P_c - P_d - P_loss) dt = E(t + dt) - E(t)`` exactly;
* ``|P| <= power_w``; ``soc_min_frac C <= E <= soc_max_frac C`` where ``C`` is the energy
  capacity after ageing; no self-discharge and no power derating near full or empty
  (hourly steps).

Cycle ageing (:func:`capacity_j`, :func:`ageing_cost_krw`)
---------------------------------------------------------
Energy-throughput (equivalent-full-cycle) model: the cells' throughput counts the energy
into them when charging and out of them when discharging, and one equivalent full cycle
(EFC) is a throughput of twice the nameplate energy ``E_0``,
``EFC = (E_in + E_out) / (2 E_0)``: a full charge and a full discharge of the nameplate
make one cycle, and a charge with no discharge half of one. Xu et al. (below) state the
cycle depth and the ageing cost per cycle relative to the energy capacity and book the
whole cycle's cost on its discharge; over complete cycles the two bookings agree, and
counting both halves also ages a battery that is charged and not yet discharged. Each
EFC uses ``1 / N`` of the life, ``N`` the cycle life in EFC to the end-of-life capacity
``EOL`` (0.8 of nameplate by convention), and the capacity fades linearly in EFC,
``C = E_0 (1 - (1 - EOL) EFC / N)``. This is the one-segment case of the
piecewise-linear cycle-ageing cost of Xu, B., Zhao, J., Zheng, T., Litvinov, E.,
Kirschen, D.S. (2018) "Factoring the Cycle Aging Cost of Batteries Participating in
Electricity Markets", *IEEE Trans. Power Systems* 33(2), 2248-2259: the marginal ageing
cost is ``R E_0 / N`` per EFC (``R`` the replacement cost per kWh of nameplate),
independent of the depth of cycle, i.e. ``R / (2 N)`` per kWh of throughput.
It ignores depth-of-cycle stress (the cells' Woehler curve; Xu et al. use several
segments for that) and calendar ageing (the other half of NREL BLAST-Lite's model), so it
is valid for roughly daily, deep cycling of LFP cells; the defaults (6,000 EFC to 80 %,
85 % round trip) are est. figures for utility-scale LFP (NREL Annual Technology Baseline
2023, "Utility-Scale Battery Storage": 85 % round-trip efficiency, one cycle a day over
a 15-year life).

Dispatch (:func:`dispatch_series`)
----------------------------------
Per step, from the campus load ``L`` and the carbon-free supply ``C`` (contracts and
on-site PV): direct use ``m = min(L, C)``, surplus ``s = C - m``, deficit ``d = L - m``.
The two price-driven policies plan with perfect foresight over a rolling horizon
``horizon_s`` (24 h by default) of the deficit, the surplus and the price: the usual
assumption of planning tools (SAM's "look ahead" battery dispatch, DiOrio et al. 2015;
REopt's optimisation over known load and resource series, Cutler et al. 2017).

* ``renewable-shifting`` (hourly matching): charge from the surplus, discharge into the
  deficit (no foresight needed).
* ``tou-arbitrage`` (KEPCO time of use, :func:`twin.models.power.tou_price_krw_per_kwh`):
  charge from the surplus at any time (it is free). Discharge into a deficit when the
  step's price pays the discharge's ageing, keeping back the energy that dearer deficits
  ahead in the horizon will take. Charge from the grid only in a step with no cheaper
  price ahead in the horizon (the light-load band), and only the energy that dearer
  deficits ahead need and the surplus forecast before them will not bring, where
  the spread pays the losses and the ageing, ``eta_rt p_d > p_c + eta_c R / N`` per kWh
  charged (``R`` the replacement cost per kWh of nameplate, ``N`` the cycle life; the
  arbitrage condition of Sioshansi, R., Denholm, P., Jenkin, T., Weiss, J. (2009)
  "Estimating the value of electricity storage in PJM: Arbitrage and some welfare
  effects", *Energy Economics* 31(2), 269-277, with the ageing of Xu et al. 2018).
* ``peak-shaving`` (threshold ``T``, the target import): discharge what the deficit
  exceeds ``T``; below ``T`` recharge, from the surplus first and from the grid up to
  ``T``, only the energy that the exceedances ahead in the horizon need and the surplus
  before them will not bring (SAM's peak shaving with look-ahead). With ``T`` never
  reached the battery stays idle.

Every policy respects the grid import cap ``G``: the battery discharges what the deficit
exceeds ``G`` if it can, grid charging never raises the import above ``G``, and what the
cap still cannot deliver is reported as ``shortfall_w`` (load the connection could not
serve). Surplus not stored is curtailed. The carbon-free share of the stored energy is
tracked as a well-mixed pool (energy charged from the surplus is carbon-free, from the
grid not); a discharge serves the load with the pool's share (an accounting choice of
this model, stated so it can be changed).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from common.errors import InputError
from common.units import J_PER_KWH

from .inputs import as_array, check_param, scalar_or_array

__all__ = ["POLICIES", "BatterySpec", "BatteryState", "StepFlows", "battery_step", "capacity_j",
           "equivalent_full_cycles", "ageing_cost_krw", "DispatchResult", "dispatch_series"]

#: Dispatch policies (the facility key ``[power.storage] policy``).
POLICIES = ("renewable-shifting", "tou-arbitrage", "peak-shaving")


@dataclass(frozen=True)
class BatterySpec:
    """A battery energy storage system (typed record).

    Attributes
    ----------
    energy_j : float
        Nameplate energy capacity at the beginning of life, J (1 MWh = 3.6e9 J).
    power_w : float
        Largest charge and discharge power at the AC bus, W.
    round_trip_efficiency_frac : float
        AC-to-AC round-trip efficiency, 0-1 (est. 0.85 for utility LFP, NREL ATB 2023).
    soc_min_frac, soc_max_frac : float
        State-of-charge window of the capacity, 0 <= min < max <= 1.
    cycle_life_efc : float
        Equivalent full cycles to ``end_of_life_frac`` of the nameplate energy.
    end_of_life_frac : float
        Capacity at end of life over nameplate, 0-1 (0.8 by convention).
    """

    energy_j: float
    power_w: float
    round_trip_efficiency_frac: float = 0.85
    soc_min_frac: float = 0.1
    soc_max_frac: float = 0.9
    cycle_life_efc: float = 6000.0
    end_of_life_frac: float = 0.8

    def __post_init__(self):
        check_param("BatterySpec", "energy_j", self.energy_j, 0.0, lo_open=True)
        check_param("BatterySpec", "power_w", self.power_w, 0.0, lo_open=True)
        check_param("BatterySpec", "round_trip_efficiency_frac", self.round_trip_efficiency_frac,
                    0.0, 1.0, lo_open=True)
        check_param("BatterySpec", "soc_min_frac", self.soc_min_frac, 0.0, 1.0)
        check_param("BatterySpec", "soc_max_frac", self.soc_max_frac, 0.0, 1.0)
        if self.soc_min_frac >= self.soc_max_frac:
            raise InputError(f"BatterySpec: soc_min_frac {self.soc_min_frac:g} must be below "
                             f"soc_max_frac {self.soc_max_frac:g}")
        check_param("BatterySpec", "cycle_life_efc", self.cycle_life_efc, 0.0, lo_open=True)
        check_param("BatterySpec", "end_of_life_frac", self.end_of_life_frac, 0.0, 1.0)

    @property
    def charge_efficiency_frac(self) -> float:
        """``sqrt(eta_rt)``: stored energy over bus energy when charging."""
        return math.sqrt(self.round_trip_efficiency_frac)

    @property
    def discharge_efficiency_frac(self) -> float:
        """``sqrt(eta_rt)``: bus energy over energy taken from storage when discharging."""
        return math.sqrt(self.round_trip_efficiency_frac)


@dataclass(frozen=True)
class BatteryState:
    """What a battery carries from one step to the next.

    Attributes
    ----------
    stored_energy_j : float
        Energy in the cells, J.
    throughput_j : float
        Energy into the cells (charging) plus out of them (discharging) since the beginning
        of life, J (ageing: ``equivalent_full_cycles``).
    carbon_free_j : float
        Carbon-free part of ``stored_energy_j`` (well-mixed pool), J.
    """

    stored_energy_j: float
    throughput_j: float = 0.0
    carbon_free_j: float = 0.0

    @classmethod
    def at_soc(cls, spec: BatterySpec, soc_frac: float) -> "BatteryState":
        """A new battery at ``soc_frac`` of its nameplate energy (grid-charged energy)."""
        check_param("BatteryState", "soc_frac", soc_frac, spec.soc_min_frac, spec.soc_max_frac)
        return cls(stored_energy_j=float(soc_frac) * spec.energy_j)


def equivalent_full_cycles(spec: BatterySpec, throughput_j) -> float:
    """EFC = (energy into + out of the cells) / (2 x nameplate energy) (module docstring)."""
    return float(throughput_j) / (2.0 * spec.energy_j)


def capacity_j(spec: BatterySpec, throughput_j) -> float:
    """Energy capacity after cycle ageing, J: ``E_0 (1 - (1 - EOL) EFC / N)``, not below 0.

    Linear fade in equivalent full cycles (the one-segment throughput model of Xu et al.
    2018; see the module docstring). Beyond end of life the fade continues on the same
    line (no knee).
    """
    fade = (1.0 - spec.end_of_life_frac) * equivalent_full_cycles(spec, throughput_j) / spec.cycle_life_efc
    return spec.energy_j * max(0.0, 1.0 - fade)


def ageing_cost_krw(spec: BatterySpec, throughput_j, replacement_cost_krw_per_kwh: float):
    """Cycle-ageing cost of a throughput (J into plus out of the cells, scalar or array),
    KRW: ``R E_0 / N`` per equivalent full cycle, ``R`` the replacement cost per kWh of
    nameplate (Xu et al. 2018, one segment), i.e. ``R / (2 N)`` per kWh of throughput."""
    return scalar_or_array(float(replacement_cost_krw_per_kwh) * np.asarray(throughput_j, dtype=float)
                           / (2.0 * J_PER_KWH * spec.cycle_life_efc))


@dataclass(frozen=True)
class StepFlows:
    """One step of a battery: bus-side powers, W, and the state after the step.

    ``(charge_w - discharge_w - loss_w) * step_s == state.stored_energy_j - E_before`` up
    to rounding.
    """

    charge_w: float
    discharge_w: float
    loss_w: float
    state: BatteryState


def battery_step(spec: BatterySpec, state: BatteryState, request_w: float, step_s: float,
                 carbon_free_charge_w: float = 0.0) -> StepFlows:
    """Charge (``request_w > 0``) or discharge (``< 0``) for one step, within the limits.

    Parameters
    ----------
    spec : BatterySpec
    state : BatteryState
    request_w : float
        Power asked at the bus, W: positive to charge, negative to discharge.
    step_s : float
        Step length, s.
    carbon_free_charge_w : float
        Part of a charge that comes from carbon-free supply, W (the pool's accounting);
        at most the charge delivered.

    Returns
    -------
    StepFlows
        The power delivered is the request limited by ``power_w`` and by the energy room
        (to ``soc_max_frac`` of the aged capacity) or the energy available (above
        ``soc_min_frac``); losses ``(1 - eta_c) P_c`` or ``(1 / eta_d - 1) P_d``.
    """
    if not (step_s > 0 and math.isfinite(step_s)):
        raise InputError(f"battery_step: step_s = {step_s!r} must be a positive number of seconds")
    if not math.isfinite(request_w):
        raise InputError("battery_step: request_w must be finite")
    e = state.stored_energy_j
    cap = capacity_j(spec, state.throughput_j)
    if request_w > 0.0:
        eta = spec.charge_efficiency_frac
        room_j = max(0.0, spec.soc_max_frac * cap - e)
        p_c = min(request_w, spec.power_w, room_j / (eta * step_s))
        stored_j = p_c * eta * step_s
        cf_j = min(max(carbon_free_charge_w, 0.0), p_c) * eta * step_s
        new = replace(state, stored_energy_j=e + stored_j, throughput_j=state.throughput_j + stored_j,
                      carbon_free_j=state.carbon_free_j + cf_j)
        return StepFlows(p_c, 0.0, p_c * (1.0 - eta), new)
    if request_w < 0.0:
        eta = spec.discharge_efficiency_frac
        avail_j = max(0.0, e - spec.soc_min_frac * cap)
        p_d = min(-request_w, spec.power_w, avail_j * eta / step_s)
        taken_j = p_d * step_s / eta
        share = state.carbon_free_j / e if e > 0 else 0.0
        new = BatteryState(stored_energy_j=e - taken_j, throughput_j=state.throughput_j + taken_j,
                           carbon_free_j=max(0.0, state.carbon_free_j - share * taken_j))
        return StepFlows(0.0, p_d, p_d * (1.0 / eta - 1.0), new)
    return StepFlows(0.0, 0.0, 0.0, state)


@dataclass(frozen=True)
class DispatchResult:
    """Series of :func:`dispatch_series` (W unless named otherwise) and the final state.

    ``grid_import_w + shortfall_w = load - direct - discharge + charge_from_grid``;
    ``carbon_free_w = direct + charge_from_surplus + curtailed``.
    """

    direct_w: np.ndarray               # carbon-free supply used by the load at once
    charge_w: np.ndarray               # into the battery at the bus
    charge_from_grid_w: np.ndarray
    discharge_w: np.ndarray            # out of the battery at the bus, to the load
    loss_w: np.ndarray
    stored_energy_j: np.ndarray        # at the end of each step
    energy_change_j: np.ndarray        # stored energy after minus before, per step
    capacity_j: np.ndarray             # after ageing, at the end of each step
    throughput_j: np.ndarray           # cumulative, at the end of each step
    carbon_free_stored_j: np.ndarray   # carbon-free part of the stored energy, end of step
    grid_import_w: np.ndarray
    shortfall_w: np.ndarray            # load the grid cap could not serve
    curtailed_w: np.ndarray            # surplus carbon-free supply neither used nor stored
    carbon_free_served_w: np.ndarray   # direct + the pool's carbon-free share of discharge
    state: BatteryState


def _reserve_j(spec: BatterySpec, serve_w, surplus_w, step_s: float, usable_j: float) -> float:
    """Cell-side energy above the floor needed at the start of a window to serve ``serve_w``
    (W, each step at most ``power_w``) in its steps, given the free charging that the
    surplus ``surplus_w`` brings in the steps between (backward pass over the window; the
    battery never holds more than ``usable_j`` above its floor, so neither does the need:
    surplus that fills it before a deficit makes buying earlier useless)."""
    eta_c, eta_d, p = spec.charge_efficiency_frac, spec.discharge_efficiency_frac, spec.power_w
    need = 0.0
    for j in range(len(serve_w) - 1, -1, -1):
        need = min(usable_j, need + min(float(serve_w[j]), p) * step_s / eta_d)
        need = max(0.0, need - min(float(surplus_w[j]), p) * step_s * eta_c)
    return need


def dispatch_series(load_w, carbon_free_w, spec: BatterySpec | None, state: BatteryState | None,
                    step_s: float, policy: str = "renewable-shifting", price_krw_per_kwh=None,
                    import_cap_w: float | None = None, target_import_w: float | None = None,
                    replacement_cost_krw_per_kwh: float = 0.0, horizon_s: float = 86400.0,
                    ahead=None) -> DispatchResult:
    """Dispatch a battery over a series of steps (sequential: the state carries over).

    Parameters
    ----------
    load_w, carbon_free_w : array_like (n,)
        Campus load at the grid side of the electrical chain and carbon-free supply, W.
    spec, state : BatterySpec, BatteryState or None
        ``None``: no battery (curtailment, the cap and the shortfall only).
    step_s : float
    policy : str
        One of :data:`POLICIES` (see the module docstring).
    price_krw_per_kwh : array_like (n,), optional
        Grid energy price of each step, KRW/kWh; needed by ``tou-arbitrage``.
    import_cap_w : float, optional
        Grid import cap, W (``None``: no cap).
    target_import_w : float, optional
        Import the ``peak-shaving`` policy keeps to; default the cap.
    replacement_cost_krw_per_kwh : float
        ``R`` of the ageing cost (:func:`ageing_cost_krw`), KRW per kWh of nameplate; the
        ``tou-arbitrage`` policy weighs it against the price spread.
    horizon_s : float
        Look-ahead of ``tou-arbitrage`` and ``peak-shaving``, s (the step itself included).
    ahead : tuple of array_like, optional
        ``(load_w, carbon_free_w, price_krw_per_kwh)`` forecast for the steps after the
        series (any equal length; ``price`` may be None if the policy needs none): the
        look-ahead of the last steps reaches into them. Default: the horizon ends with
        the series.

    Returns
    -------
    DispatchResult
    """
    load = as_array("load_w", load_w, nonnegative=True).ravel()
    cfe = as_array("carbon_free_w", carbon_free_w, nonnegative=True).ravel()
    if load.shape != cfe.shape:
        raise InputError(f"dispatch: load ({load.size} steps) and supply ({cfe.size}) differ in length")
    if policy not in POLICIES:
        raise InputError(f"dispatch policy {policy!r} is unknown; choose one of {', '.join(POLICIES)}")
    if not (horizon_s > 0 and math.isfinite(horizon_s)):
        raise InputError(f"dispatch: horizon_s = {horizon_s!r} must be a positive number of seconds")
    n = load.size
    cap = math.inf if import_cap_w is None else float(import_cap_w)
    price = None
    if policy == "tou-arbitrage" and spec is not None:
        if price_krw_per_kwh is None:
            raise InputError("dispatch: tou-arbitrage needs the grid price of every step "
                             "(price_krw_per_kwh)")
        price = as_array("price_krw_per_kwh", price_krw_per_kwh, nonnegative=True).ravel()
        if price.size != n:
            raise InputError("dispatch: price and load differ in length")
    target = cap if target_import_w is None else float(target_import_w)
    if policy == "peak-shaving" and spec is not None and not math.isfinite(target):
        raise InputError("dispatch: peak-shaving needs a target import or a grid import cap")
    direct = np.minimum(load, cfe)
    surplus = cfe - direct
    deficit = load - direct
    # the look-ahead series: this series, then the forecast after it
    sur_all, def_all, price_all = surplus, deficit, price
    if ahead is not None and spec is not None:
        a_load = as_array("ahead load_w", ahead[0], nonnegative=True).ravel()
        a_cfe = as_array("ahead carbon_free_w", ahead[1], nonnegative=True).ravel()
        if a_load.shape != a_cfe.shape:
            raise InputError("dispatch: the forecast's load and supply differ in length")
        a_dir = np.minimum(a_load, a_cfe)
        sur_all = np.concatenate([surplus, a_cfe - a_dir])
        def_all = np.concatenate([deficit, a_load - a_dir])
        if price is not None:
            a_price = as_array("ahead price_krw_per_kwh", ahead[2], nonnegative=True).ravel()
            if a_price.size != a_load.size:
                raise InputError("dispatch: the forecast's price and load differ in length")
            price_all = np.concatenate([price, a_price])
    n_h = max(1, int(round(horizon_s / step_s)))          # steps in the horizon, this one included
    if spec is not None:
        eta_c, eta_d = spec.charge_efficiency_frac, spec.discharge_efficiency_frac
        # ageing, KRW per J of cell throughput; a discharge at the bus moves 1 / eta_d of it
        # out of the cells, a round trip per J charged at the bus eta_c in and eta_c out
        age_krw_per_j = float(ageing_cost_krw(spec, 1.0, replacement_cost_krw_per_kwh))
        age_discharge = age_krw_per_j / eta_d * J_PER_KWH              # KRW per bus kWh
        age_round_trip = age_krw_per_j * 2.0 * eta_c * J_PER_KWH       # KRW per bus kWh charged
        eta_rt = spec.round_trip_efficiency_frac
    z = {k: np.zeros(n) for k in ("charge_w", "charge_from_grid_w", "discharge_w", "loss_w",
                                  "stored_energy_j", "energy_change_j", "capacity_j", "throughput_j",
                                  "carbon_free_stored_j", "grid_import_w", "shortfall_w", "curtailed_w",
                                  "carbon_free_served_w")}
    for k in range(n):
        s, d = float(surplus[k]), float(deficit[k])
        c_r = c_g = p_d = 0.0
        served_cf = 0.0
        if spec is not None:
            want_d = 0.0
            want_s = s                                  # surplus offered to the battery
            want_g = 0.0
            win = slice(k + 1, min(def_all.size, k + n_h))
            e = state.stored_energy_j
            cap_j = capacity_j(spec, state.throughput_j)
            floor_j = spec.soc_min_frac * cap_j
            usable_j = (spec.soc_max_frac - spec.soc_min_frac) * cap_j
            if policy == "renewable-shifting":
                want_d = d
            elif policy == "tou-arbitrage":
                pw = price_all[win]
                # what dearer deficits ahead will take stays in; the rest may serve now
                dearer = np.where(pw > price[k], def_all[win], 0.0)
                keep = _reserve_j(spec, dearer, sur_all[win], step_s, usable_j)
                spare_j = e - floor_j - keep
                if d > 0.0 and spare_j > 0.0 and price[k] > age_discharge:
                    want_d = min(d, spare_j * eta_d / step_s)
                elif pw.size == 0 or price[k] <= pw.min():
                    # no cheaper step ahead: buy what the deficits ahead whose price pays
                    # the losses and the ageing need, less the surplus that comes first
                    pays = eta_rt * pw - price[k] - age_round_trip > 0.0
                    need = _reserve_j(spec, np.where(pays, def_all[win], 0.0), sur_all[win],
                                      step_s, usable_j)
                    want_g = max(0.0, floor_j + need - e - s * eta_c * step_s) / (eta_c * step_s)
            else:                                      # peak-shaving
                if d > target:
                    want_d = d - target
                else:
                    over = np.maximum(def_all[win] - target, 0.0)
                    need = _reserve_j(spec, over, sur_all[win], step_s, usable_j)
                    short_j = max(0.0, floor_j + need - e)
                    want_s = min(s, short_j / (eta_c * step_s))
                    want_g = max(0.0, short_j - want_s * eta_c * step_s) / (eta_c * step_s)
                    want_g = min(want_g, max(0.0, target - d))
            if d - want_d > cap:                       # the cap holds whatever the policy
                want_d = d - cap
            if want_d > 0.0:
                before = state
                fl = battery_step(spec, state, -want_d, step_s)
                p_d = fl.discharge_w
                if before.stored_energy_j > 0:
                    served_cf = p_d * before.carbon_free_j / before.stored_energy_j
            else:
                want_g = min(want_g, max(0.0, cap - d))
                fl = battery_step(spec, state, want_s + want_g, step_s, carbon_free_charge_w=want_s)
                c_r = min(fl.charge_w, want_s)
                c_g = fl.charge_w - c_r
            z["energy_change_j"][k] = fl.state.stored_energy_j - state.stored_energy_j
            state = fl.state
            z["charge_w"][k] = fl.charge_w
            z["discharge_w"][k] = p_d
            z["loss_w"][k] = fl.loss_w
            z["stored_energy_j"][k] = state.stored_energy_j
            z["capacity_j"][k] = capacity_j(spec, state.throughput_j)
            z["throughput_j"][k] = state.throughput_j
            z["carbon_free_stored_j"][k] = state.carbon_free_j
        need = d - p_d + c_g
        imp = min(need, cap)
        z["charge_from_grid_w"][k] = c_g
        z["grid_import_w"][k] = imp
        z["shortfall_w"][k] = need - imp
        z["curtailed_w"][k] = s - c_r
        z["carbon_free_served_w"][k] = direct[k] + served_cf
    return DispatchResult(direct_w=direct, state=state, **z)
