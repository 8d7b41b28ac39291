"""Chiller plant: electric EIR chiller, cooling tower, water use, economizer, plant step.

Pure, vectorised numpy functions with small frozen parameter records; SI inside, units
in every public name. Inputs may be scalars or arrays (e.g. one value per hour of a
year); results have the broadcast shape.

Topology of :func:`plant_step`
------------------------------
* **Chilled-water loop** (CRAH coils): variable primary flow at a fixed supply set-point.
  The return water first passes a plate heat exchanger to the condenser water
  (integrated water-side economizer, in series upstream of the chillers) and then the
  chillers, staged so that each runs at PLR <= 1.
* **Liquid loop** (CDU facility water): constant flow at a fixed supply set-point. Its
  heat goes to a dry cooler with a trim heat exchanger to the condenser water
  (``liquid_rejection="dry_cooler"``), to the condenser water through a heat exchanger
  (``"tower"``), or into the chilled-water loop (``"chiller"``). What the condenser
  water cannot take is trimmed by the chillers.
* **Condenser-water loop**: a variable-speed cooling tower of cells (each running cell
  at design water flow, one condenser pump per cell; by default all cells run) whose fans hold the coldest
  leaving temperature any user needs (chiller set-point, or the economizer's), within
  the fans' range. The chillers' set-point is fixed (``cw_supply_setpoint_c``), reset
  down with the outdoor wet bulb to the chillers' minimum entering temperature
  (``cw_reset``, :func:`condenser_water_setpoint_c`), or chosen each step for the least
  chiller plus tower-fan power (``cw_optimal``, :func:`optimal_condenser_setpoint_c`).
* Every pump's heat enters the loop it drives; fan heat leaves with the air.
  Energy closes: ``heat_rejected = heat_removed + compressor work + pump heat``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from common.errors import InputError
from common.fluids import WATER_CP_J_KG_K

from .chiller import CHILLERS, ChillerEIRSpec, chiller_eir
from .condenser import (CW_OPTIMAL_REFINE_STEPS, CW_OPTIMAL_SCAN_POINTS, CW_OPTIMAL_UNMET_WEIGHT,
                        bounded_argmin, condenser_water_setpoint_c)
from .inputs import CurveRangeWarning, as_array, check_param, scalar_or_array
from .liquid import WATER_DENSITY_KG_M3, DryCoolerSpec, PumpSpec, dry_cooler, pump_power_at_flow_w
from .tower import YORKCALC_APPROACH_K, CoolingTowerSpec, cooling_tower, economizer_fraction

__all__ = ["PlantSpec", "PlantResult", "condenser_water_setpoint_c", "optimal_condenser_setpoint_c",
           "design_plant", "plant_step"]


# --- plant -------------------------------------------------------------------------------------
_LIQUID_REJECTION = ("dry_cooler", "tower", "chiller")


#: Heat per cooling-tower cell used by :func:`design_plant` [W] (est.: field-erected
#: cells of about 1000 tons of rejection).
TOWER_CELL_HEAT_W = 3.5e6


#: Default margin of the condenser-water reset's approach over the tower's design
#: approach [K] (est.). The YorkCalc approach at full fan grows as the wet bulb falls, so
#: a reset at the design approach (3.9 K) drives the fans to full speed at wet bulbs of
#: 14-20 degC and there costs more fan power than it saves at the chillers (up to 3 % of
#: the plant's power); with 2 K more at most 0.35 %, in a sweep of wet bulbs -10..25 degC
#: at 20-100 % load (``python -m benchmarks.condenser_reset``).
CW_RESET_APPROACH_MARGIN_K = 2.0


@dataclass(frozen=True)
class PlantSpec:
    """A data-center cooling plant (see the module docstring for the topology).

    Parameters
    ----------
    name : str
    chiller : ChillerEIRSpec
        One chiller (all ``n_chillers`` are alike).
    n_chillers : int
    tower : CoolingTowerSpec
        The tower cells together, as one tower.
    chw_pump, cw_pump : PumpSpec
        Chilled-water (variable flow) and condenser-water (constant flow) pumps.
    fw_pump : PumpSpec or None
        Facility (liquid-loop) water pump, constant flow; None without a liquid loop.
    dry_cooler : DryCoolerSpec or None
        Needed for ``liquid_rejection="dry_cooler"``.
    liquid_rejection : str
        ``"dry_cooler"``, ``"tower"`` or ``"chiller"``.
    chw_supply_temp_c : float
        Chilled-water supply set-point [°C].
    chw_design_delta_t_k : float
        Chilled-water return minus supply at design flow [K].
    chw_min_flow_fraction : float
        Lowest chilled-water flow over design [-].
    cw_supply_setpoint_c : float
        Tower leaving set-point while only chillers use it [°C]; with ``cw_reset`` the
        highest set-point of the reset.
    cw_reset : bool
        Reset the chillers' condenser-water set-point with the outdoor wet bulb
        (:func:`condenser_water_setpoint_c`); False: fixed at ``cw_supply_setpoint_c``.
    cw_optimal : bool
        Choose the set-point each step that minimises chiller plus tower-fan power
        (:func:`optimal_condenser_setpoint_c`), between the reset's lowest set-point
        (``cw_min_supply_temp_c``) and ``cw_supply_setpoint_c``. Not with ``cw_reset``.
    cw_reset_approach_k : float or None
        Set-point above the wet bulb in the reset [K]; None: the tower's design approach
        plus :data:`CW_RESET_APPROACH_MARGIN_K`.
    cw_min_supply_temp_c : float or None
        Lowest set-point of the reset and of the optimal control [°C]; None: the
        chiller's lowest entering condenser-water temperature
        (:attr:`ChillerEIRSpec.min_entering_cw_temp_c`).
    facility_supply_temp_c : float
        Liquid-loop supply set-point [°C] (W32 class: 32 °C).
    facility_design_delta_t_k : float
        Liquid-loop return minus supply at design heat [K]; fixes the constant flow.
    liquid_design_heat_w : float
        Design heat of the liquid loop [W] (sizes its flow).
    economizer : bool
        Integrated water-side economizer on the chilled-water loop.
    hx_approach_k : float
        Approach of the economizer and liquid-loop plate exchangers [K].
    """

    name: str
    chiller: ChillerEIRSpec
    n_chillers: int
    tower: CoolingTowerSpec
    chw_pump: PumpSpec
    cw_pump: PumpSpec
    fw_pump: PumpSpec | None = None
    dry_cooler: DryCoolerSpec | None = None
    liquid_rejection: str = "dry_cooler"
    chw_supply_temp_c: float = 8.0
    chw_design_delta_t_k: float = 6.0
    chw_min_flow_fraction: float = 0.3
    cw_supply_setpoint_c: float = 24.0
    cw_reset: bool = False
    cw_optimal: bool = False
    cw_reset_approach_k: float | None = None
    cw_min_supply_temp_c: float | None = None
    facility_supply_temp_c: float = 32.0
    facility_design_delta_t_k: float = 10.0
    liquid_design_heat_w: float = 0.0
    economizer: bool = True
    hx_approach_k: float = 1.5

    def __post_init__(self):
        rec = f"PlantSpec {self.name!r}"
        if int(self.n_chillers) != self.n_chillers or self.n_chillers < 1:
            raise InputError(f"{rec}: n_chillers = {self.n_chillers!r}; need an integer >= 1")
        if self.liquid_rejection not in _LIQUID_REJECTION:
            raise InputError(f"{rec}: liquid_rejection {self.liquid_rejection!r}; choose one of "
                             f"{list(_LIQUID_REJECTION)}")
        if self.liquid_rejection == "dry_cooler" and self.liquid_design_heat_w > 0 and self.dry_cooler is None:
            raise InputError(f"{rec}: liquid_rejection='dry_cooler' needs a dry_cooler record")
        check_param(rec, "chw_design_delta_t_k", self.chw_design_delta_t_k, 0.0, lo_open=True)
        check_param(rec, "chw_min_flow_fraction", self.chw_min_flow_fraction, 0.0, 1.0, lo_open=True)
        check_param(rec, "facility_design_delta_t_k", self.facility_design_delta_t_k, 0.0, lo_open=True)
        check_param(rec, "liquid_design_heat_w", self.liquid_design_heat_w, 0.0)
        check_param(rec, "hx_approach_k", self.hx_approach_k, 0.0)
        if self.cw_reset and self.cw_optimal:
            raise InputError(f"{rec}: cw_reset and cw_optimal are two controls of the same set-point; "
                             "choose one")
        if self.cw_reset_approach_k is not None:
            check_param(rec, "cw_reset_approach_k", self.cw_reset_approach_k, 0.0)
        if self.cw_min_supply_temp_c is not None and self.cw_min_supply_temp_c > self.cw_supply_setpoint_c:
            raise InputError(f"{rec}: cw_min_supply_temp_c = {self.cw_min_supply_temp_c:g} is above "
                             f"cw_supply_setpoint_c = {self.cw_supply_setpoint_c:g}; the reset's lowest "
                             "set-point must not exceed its highest")

    @property
    def cw_control(self) -> str:
        """The condenser-water control: ``"fixed"``, ``"wet-bulb-reset"`` or ``"optimal"``
        (as ``[plant.condenser_water] control``)."""
        return "optimal" if self.cw_optimal else "wet-bulb-reset" if self.cw_reset else "fixed"

    @property
    def cw_reset_limits(self) -> tuple[float, float, float]:
        """``(approach_k, min_supply_temp_c, max_supply_temp_c)`` of the condenser-water
        reset, the defaults filled in (the tower's design approach plus
        :data:`CW_RESET_APPROACH_MARGIN_K`, the chiller's lowest
        entering condenser-water temperature, ``cw_supply_setpoint_c``)."""
        approach = (self.tower.design_approach_k + CW_RESET_APPROACH_MARGIN_K
                    if self.cw_reset_approach_k is None else float(self.cw_reset_approach_k))
        t_min = (self.chiller.min_entering_cw_temp_c if self.cw_min_supply_temp_c is None
                 else float(self.cw_min_supply_temp_c))
        return approach, min(t_min, self.cw_supply_setpoint_c), float(self.cw_supply_setpoint_c)

    @property
    def chw_design_flow_kg_s(self) -> float:
        """Chilled-water design flow, all chillers together [kg/s]."""
        return self.n_chillers * self.chiller.reference_capacity_w / (WATER_CP_J_KG_K * self.chw_design_delta_t_k)

    @property
    def facility_flow_kg_s(self) -> float:
        """Constant liquid-loop (facility water) flow [kg/s]."""
        return self.liquid_design_heat_w / (WATER_CP_J_KG_K * self.facility_design_delta_t_k)


def _optimal_setpoint_c(passes, t_wb, spec):
    """The set-point in ``[lo, hi]`` with the least chiller + tower-fan power, per element
    (``passes(setpoint_c, quiet=True)`` runs the plant's fixed point; see
    :func:`optimal_condenser_setpoint_c`)."""
    _, t_min, t_max = spec.cw_reset_limits
    lo = np.minimum(np.maximum(t_min, t_wb + YORKCALC_APPROACH_K[0]), t_max)
    hi = np.full(t_wb.shape, float(t_max))

    def cost(x):
        r = passes(x, quiet=True)
        return (r["p_ch"] + np.asarray(r["tr"].fan_power_w) * np.ones(t_wb.shape)
                + CW_OPTIMAL_UNMET_WEIGHT * r["unmet"])
    return bounded_argmin(cost, lo, hi, CW_OPTIMAL_SCAN_POINTS, CW_OPTIMAL_REFINE_STEPS)


def design_plant(chw_design_heat_w: float, liquid_design_heat_w: float = 0.0, *,
                 chiller: str = "york-yt-1758kw-6.28cop", n_chillers: int | None = None,
                 design_wet_bulb_c: float = 25.6, liquid_rejection: str = "dry_cooler",
                 dry_cooler_design_approach_k: float = 8.0, name: str = "plant",
                 **overrides) -> PlantSpec:
    """Size a :class:`PlantSpec` for design loads.

    Parameters
    ----------
    chw_design_heat_w : float
        Design heat of the chilled-water loop [W].
    liquid_design_heat_w : float
        Design heat of the liquid (CDU facility water) loop [W].
    chiller : str
        Key of :data:`CHILLERS`; scaled to ``1.15 * Q_mech / n_chillers`` (15 % margin for
        CAPFT < 1 and pump heat), ``Q_mech`` the chilled-water design heat plus, with
        ``liquid_rejection="chiller"``, the liquid design heat.
    n_chillers : int, optional
        Default: as many as the chosen record's size needs (at least 1).
    design_wet_bulb_c : float
        Tower design wet bulb [°C].
    liquid_rejection : str
        See :class:`PlantSpec`.
    dry_cooler_design_approach_k : float
        Dry-cooler design approach [K].
    **overrides
        Any other :class:`PlantSpec` field.

    Notes
    -----
    Pump heads and efficiencies are est.: chilled water 30 m, condenser water 20 m,
    facility water 20 m, wire-to-water efficiency 0.65. The tower is sized for the
    chillers' condenser heat at the reference COP plus the whole liquid load (so the
    condenser water can trim the liquid loop on the hottest day), in cells of
    :data:`TOWER_CELL_HEAT_W` (est.).
    """
    chw = check_param("design_plant", "chw_design_heat_w", chw_design_heat_w, 0.0, lo_open=True)
    liq = check_param("design_plant", "liquid_design_heat_w", liquid_design_heat_w, 0.0)
    if chiller not in CHILLERS:
        raise InputError(f"design_plant: chiller {chiller!r} unknown; choose one of {sorted(CHILLERS)}")
    base = CHILLERS[chiller]
    mech = chw + (liq if liquid_rejection == "chiller" else 0.0)
    if n_chillers is None:
        n_chillers = max(1, int(np.ceil(mech / base.reference_capacity_w)))
    unit = base.scaled(1.15 * mech / n_chillers)
    tower_heat = mech * (1.0 + 1.0 / base.reference_cop) + (liq if liquid_rejection != "chiller" else 0.0)
    tower = CoolingTowerSpec(name=f"{name} tower", design_heat_w=tower_heat,
                             design_wet_bulb_c=design_wet_bulb_c,
                             n_cells=max(1, int(np.ceil(tower_heat / TOWER_CELL_HEAT_W))))
    d_t_chw = overrides.get("chw_design_delta_t_k", 6.0)
    chw_flow_m3_s = n_chillers * unit.reference_capacity_w / (WATER_CP_J_KG_K * d_t_chw) / WATER_DENSITY_KG_M3
    cw_flow_m3_s = tower.design_water_flow_kg_s / WATER_DENSITY_KG_M3
    fw_pump = None
    dc = None
    if liq > 0.0:
        d_t_fw = overrides.get("facility_design_delta_t_k", 10.0)
        fw_pump = PumpSpec(f"{name} facility water pump",
                           liq / (WATER_CP_J_KG_K * d_t_fw) / WATER_DENSITY_KG_M3, 20.0, 0.65)
        if liquid_rejection == "dry_cooler":
            dc = DryCoolerSpec(name=f"{name} dry cooler", design_heat_w=liq,
                               design_approach_k=dry_cooler_design_approach_k)
    return PlantSpec(
        name=name, chiller=unit, n_chillers=int(n_chillers), tower=tower,
        chw_pump=PumpSpec(f"{name} chilled water pump", chw_flow_m3_s, 30.0, 0.65),
        cw_pump=PumpSpec(f"{name} condenser water pump", cw_flow_m3_s, 20.0, 0.65),
        fw_pump=fw_pump, dry_cooler=dc, liquid_rejection=liquid_rejection,
        liquid_design_heat_w=liq, **overrides)


@dataclass(frozen=True)
class PlantResult:
    """One plant step (arrays of the broadcast input shape, or floats).

    Powers in W, heats in W, temperatures in °C, water in litres over the step.
    """

    chiller_power_w: np.ndarray
    chillers_running: np.ndarray
    chiller_plr: np.ndarray
    chiller_cop: np.ndarray
    tower_fan_power_w: np.ndarray
    tower_airflow_fraction: np.ndarray
    chw_pump_power_w: np.ndarray
    cw_pump_power_w: np.ndarray
    fw_pump_power_w: np.ndarray
    pump_power_w: np.ndarray
    dry_cooler_fan_power_w: np.ndarray
    total_power_w: np.ndarray
    free_cooling_fraction: np.ndarray
    chw_free_cooling_fraction: np.ndarray
    heat_removed_w: np.ndarray
    unmet_heat_w: np.ndarray
    tower_heat_w: np.ndarray
    dry_cooler_heat_w: np.ndarray
    heat_rejected_w: np.ndarray
    condenser_water_temp_c: np.ndarray
    chw_return_temp_c: np.ndarray
    facility_return_temp_c: np.ndarray
    evaporation_l: np.ndarray
    drift_l: np.ndarray
    blowdown_l: np.ndarray
    water_use_l: np.ndarray


def optimal_condenser_setpoint_c(chw_heat_w, liquid_heat_w, dry_bulb_c, wet_bulb_c,
                                 spec: PlantSpec, iterations: int = 12):
    """Condenser-water supply set-point with the least chiller plus tower-fan power.

    Parameters
    ----------
    chw_heat_w, liquid_heat_w, dry_bulb_c, wet_bulb_c : array_like
        The loads [W] and weather [°C] of :func:`plant_step`.
    spec : PlantSpec
        The plant (its own chiller and tower models are used; its condenser-water control
        is ignored).
    iterations : int
        Fixed-point passes of :func:`plant_step` per trial set-point.

    Returns
    -------
    ndarray or float
        The chillers' set-point ``T_set`` [°C] in ``[max(T_min, T_wb + a_min), T_max]``
        minimising ``P_chillers(T_set) + P_tower fans(T_set)`` (plus
        :data:`CW_OPTIMAL_UNMET_WEIGHT` times any unmet heat), each evaluated by the
        whole plant (:func:`plant_step` with that set-point). ``T_min`` and ``T_max``
        are those of the reset (:attr:`PlantSpec.cw_reset_limits`: the chillers' lowest
        entering condenser-water temperature, ``cw_supply_setpoint_c``); ``a_min`` =
        1.11 K, the least approach the YorkCalc tower model represents (EnergyPlus
        bounds; below ``T_wb`` + the full-fan approach the fans run flat out and a colder
        set-point changes nothing).

    Notes
    -----
    Colder condenser water lowers the chillers' lift and power while the tower fans pay
    for it with the cube of their speed; the set-point that minimises the sum moves with
    the load and the wet bulb. Choosing it each step from models of the chillers and the
    tower is the "near-optimal" condenser-water control: EnergyPlus
    ``SetpointManager:CondenserEnteringReset:Ideal`` searches, each time step, the
    condenser entering set-point of least chiller and tower energy between a minimum
    lift and a maximum (EnergyPlus Input Output Reference); Taylor, "Optimizing Design &
    Control of Chilled Water Plants", ASHRAE Journal 2011-2012 (the part on control
    sequences) and ASHRAE Handbook -- HVAC Systems and Equipment 2020, ch. 40, give the
    same trade of chiller against tower-fan power as the aim of tower control. The
    search here is bounded and vectorised over all elements at once: a scan of
    :data:`CW_OPTIMAL_SCAN_POINTS` set-points (chiller staging makes the cost a stepped
    curve), then :data:`CW_OPTIMAL_REFINE_STEPS` golden-section steps (Kiefer 1953,
    "Sequential minimax search for a maximum", Proc. AMS 4) in the two intervals around
    the scan's best; the better of the two is kept, so the answer is never worse than
    any scanned set-point, the fixed set-point ``T_max`` among them. Condenser pumps are
    constant speed (one per running cell) and left out of the cost; an economizer or
    the liquid loop's trim that wants colder water still lowers the tower's target below
    the chillers' set-point (:func:`plant_step`).
    """
    spec = replace(spec, cw_reset=False, cw_optimal=True)
    return scalar_or_array(_plant_step(chw_heat_w, liquid_heat_w, dry_bulb_c, wet_bulb_c, spec,
                                       3600.0, iterations)[1])


def plant_step(chw_heat_w, liquid_heat_w, dry_bulb_c, wet_bulb_c, spec: PlantSpec,
               dt_s: float = 3600.0, iterations: int = 12) -> PlantResult:
    """Power, water and heat of the plant removing given loads in given weather.

    Parameters
    ----------
    chw_heat_w : array_like
        Heat the CRAH coils put into the chilled-water loop [W], >= 0.
    liquid_heat_w : array_like
        Heat the CDUs put into the facility water loop [W], >= 0.
    dry_bulb_c, wet_bulb_c : array_like
        Outdoor dry and wet bulb [°C].
    spec : PlantSpec
    dt_s : float
        Step length for the water volumes [s].
    iterations : int
        Fixed-point passes between the tower temperature and the chiller power.

    Returns
    -------
    PlantResult
        With ``heat_rejected_w = tower_heat_w + dry_cooler_heat_w =
        heat_removed_w + chiller_power_w + pump_power_w`` to round-off.

    Notes
    -----
    Per pass: the tower water temperature fixes the economizer share
    (:func:`economizer_fraction`) of the chilled-water and liquid loads; the rest goes to
    the chillers, staged to PLR <= 1 and run by :func:`chiller_eir` with entering
    condenser water ``max(T_tower, T_cw,min)`` (a mixing valve keeps the chillers within
    their curves); the tower (:func:`cooling_tower`) then rejects economizer heat +
    chiller condenser heat + condenser-pump heat while aiming at the coldest temperature
    any user needs: the chillers' set-point (fixed, with ``spec.cw_reset``
    :func:`condenser_water_setpoint_c` of the wet bulb, with ``spec.cw_optimal``
    :func:`optimal_condenser_setpoint_c`), or the economizer's. Passes are under-relaxed;
    energy closes on every pass because all reported heats come from the same final
    values.
    """
    return _plant_step(chw_heat_w, liquid_heat_w, dry_bulb_c, wet_bulb_c, spec, dt_s, iterations)[0]


def _plant_step(chw_heat_w, liquid_heat_w, dry_bulb_c, wet_bulb_c, spec, dt_s, iterations):
    """:func:`plant_step` and the chillers' condenser-water set-point it used [°C]."""
    q_chw = as_array("chw_heat_w", chw_heat_w, nonnegative=True)
    q_liq = as_array("liquid_heat_w", liquid_heat_w, nonnegative=True)
    t_db = as_array("dry_bulb_c", dry_bulb_c)
    t_wb = as_array("wet_bulb_c", wet_bulb_c)
    if np.any(t_wb > t_db + 1e-9):
        raise InputError("wet_bulb_c above dry_bulb_c; the wet bulb can never exceed the dry bulb")
    dt_s = check_param("plant_step", "dt_s", dt_s, 0.0)
    q_chw, q_liq, t_db, t_wb = np.broadcast_arrays(q_chw, q_liq, t_db, t_wb)
    shape = q_chw.shape
    if np.any(q_liq > 0.0) and spec.liquid_design_heat_w <= 0.0:
        raise InputError(f"PlantSpec {spec.name!r}: liquid_heat_w > 0 but the plant has no liquid "
                         "loop (liquid_design_heat_w = 0); size it with design_plant(..., liquid_design_heat_w=...)")
    cp = WATER_CP_J_KG_K

    # -- pumps and loop temperatures (independent of the plant state) --
    m_chw_d = spec.chw_design_flow_kg_s
    m_chw = np.maximum(q_chw / (cp * spec.chw_design_delta_t_k), spec.chw_min_flow_fraction * m_chw_d)
    m_chw = np.where(q_chw > 0.0, m_chw, 0.0)
    p_chw_pump = np.asarray(pump_power_at_flow_w(m_chw / WATER_DENSITY_KG_M3, spec.chw_pump)) * np.ones(shape)
    q_chw_tot = np.where(q_chw > 0.0, q_chw + p_chw_pump, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_chw_ret = spec.chw_supply_temp_c + np.where(m_chw > 0.0, q_chw_tot / (np.where(m_chw > 0, m_chw, 1.0) * cp), 0.0)

    has_liq = q_liq > 0.0
    m_fw = spec.facility_flow_kg_s
    p_fw_pump = np.where(has_liq, spec.fw_pump.design_power_w if spec.fw_pump is not None else 0.0, 0.0)
    q_liq_tot = np.where(has_liq, q_liq + p_fw_pump, 0.0)
    t_fw_ret = spec.facility_supply_temp_c + (q_liq_tot / (m_fw * cp) if m_fw > 0 else 0.0)

    # -- liquid loop: dry cooler first --
    q_dry = np.zeros(shape)
    p_dry = np.zeros(shape)
    t_fw_after_dry = t_fw_ret
    q_liq_to_chw = np.zeros(shape)
    if spec.liquid_rejection == "dry_cooler" and spec.dry_cooler is not None:
        dcr = dry_cooler(t_fw_ret, np.where(has_liq, m_fw, 0.0), t_db, spec.facility_supply_temp_c,
                         spec.dry_cooler)
        q_dry = np.where(has_liq, np.asarray(dcr.heat_rejected_w), 0.0) * np.ones(shape)
        p_dry = np.where(has_liq, np.asarray(dcr.fan_power_w), 0.0) * np.ones(shape)
        t_fw_after_dry = np.asarray(dcr.leaving_temp_c) * np.ones(shape)
    if spec.liquid_rejection == "chiller":
        q_liq_to_chw = q_liq_tot
        q_trim = np.zeros(shape)
    else:
        q_trim = np.maximum(q_liq_tot - q_dry, 0.0)

    # chilled-water loop handled by the chillers/economizer includes liquid heat in "chiller" mode
    q_cold = q_chw_tot + q_liq_to_chw
    with np.errstate(divide="ignore", invalid="ignore"):
        m_cold = m_chw + np.where(q_liq_to_chw > 0.0, q_liq_to_chw / (cp * spec.chw_design_delta_t_k), 0.0)
        t_cold_ret = spec.chw_supply_temp_c + np.where(m_cold > 0.0, q_cold / (np.where(m_cold > 0, m_cold, 1.0) * cp), 0.0)

    # -- fixed point between tower water temperature and chiller power --
    ch = spec.chiller
    t_cw_min = ch.min_entering_cw_temp_c
    p_cw_pump_d = spec.cw_pump.design_power_w
    n_pass = max(int(iterations), 1)

    def passes(setpoint_c, quiet=False):
        """The plant's fixed point with the chillers' condenser-water set-point
        ``setpoint_c`` (array of ``shape``); the final pass's values."""
        t_ct = t_wb + spec.tower.design_approach_k
        for it in range(n_pass):
            with warnings.catch_warnings():
                if quiet or it < n_pass - 1:
                    warnings.simplefilter("ignore", CurveRangeWarning)
                out = one_pass(t_ct, setpoint_c)
            t_ct = out["t_new"] if it == 0 else 0.5 * (t_ct + out["t_new"])
        return out

    def one_pass(t_ct, setpoint_c):
        f_chw = (np.asarray(economizer_fraction(t_cold_ret, spec.chw_supply_temp_c, t_ct, spec.hx_approach_k))
                 if spec.economizer else np.zeros(shape)) * np.ones(shape)
        f_chw = np.where(q_cold > 0.0, f_chw, 0.0)
        f_trim = np.asarray(economizer_fraction(t_fw_after_dry, spec.facility_supply_temp_c, t_ct,
                                                spec.hx_approach_k)) * np.ones(shape)
        f_trim = np.where(q_trim > 0.0, f_trim, 0.0)
        q_mech = (1.0 - f_chw) * q_cold + (1.0 - f_trim) * q_trim
        # stage chillers: fewest units with PLR <= 1 each
        t_ecw = np.maximum(t_ct, t_cw_min)
        capft = ch.capft(spec.chw_supply_temp_c, t_ecw, x_name="leaving_chw_temp_c",
                         y_name="entering_cw_temp_c")
        unit_cap = ch.reference_capacity_w * np.maximum(capft, 1e-6)
        n_on = np.where(q_mech > 0.0, np.clip(np.ceil(q_mech / unit_cap - 1e-9), 1, spec.n_chillers), 0)
        per_unit = np.where(n_on > 0, q_mech / np.maximum(n_on, 1), 0.0)
        cr = chiller_eir(per_unit, spec.chw_supply_temp_c, t_ecw, ch)
        p_ch = n_on * np.asarray(cr.power_w)
        unmet = n_on * np.asarray(cr.unmet_heat_w)
        q_served_mech = q_mech - unmet
        q_tower_no_pump = f_chw * q_cold + f_trim * q_trim + q_served_mech + p_ch
        tower_on = q_tower_no_pump > 0.0
        # one constant-speed condenser pump per running cell (all cells: "maximal")
        p_cw = p_cw_pump_d * spec.tower.cells_on(q_tower_no_pump) / spec.tower.n_cells
        q_tower = np.where(tower_on, q_tower_no_pump + p_cw, 0.0)
        # tower target: coldest temperature a user needs
        target = setpoint_c
        if spec.economizer:
            wse_useful = (q_cold > 0.0) & (t_wb + spec.tower.design_approach_k + spec.hx_approach_k < t_cold_ret)
            target = np.where(wse_useful, np.minimum(target, spec.chw_supply_temp_c - spec.hx_approach_k), target)
        trim_useful = q_trim > 0.0
        target = np.where(trim_useful, np.minimum(target, spec.facility_supply_temp_c - spec.hx_approach_k), target)
        tr = cooling_tower(q_tower, t_wb, target, spec.tower)
        t_new = np.asarray(tr.leaving_temp_c) * np.ones(shape)
        return dict(f_chw=f_chw, f_trim=f_trim, n_on=n_on, cr=cr, p_ch=p_ch, unmet=unmet,
                    q_served_mech=q_served_mech, p_cw=p_cw, q_tower=q_tower, tr=tr, t_new=t_new)

    if spec.cw_control == "optimal":
        setpoint = _optimal_setpoint_c(passes, t_wb, spec) * np.ones(shape)
    elif spec.cw_control == "wet-bulb-reset":
        setpoint = np.asarray(condenser_water_setpoint_c(t_wb, *spec.cw_reset_limits)) * np.ones(shape)
    else:
        setpoint = np.full(shape, float(spec.cw_supply_setpoint_c))
    r = passes(setpoint)
    f_chw, f_trim, n_on, cr, p_ch = r["f_chw"], r["f_trim"], r["n_on"], r["cr"], r["p_ch"]
    unmet, q_served_mech, p_cw, q_tower, tr = (r["unmet"], r["q_served_mech"], r["p_cw"],
                                               r["q_tower"], r["tr"])
    t_new = r["t_new"]

    # final values come from the last pass (energy closes with them)
    q_free_chw = f_chw * q_cold
    q_free_trim = f_trim * q_trim
    heat_removed = q_chw + q_liq - unmet
    total_in = q_chw_tot + q_liq_tot
    with np.errstate(divide="ignore", invalid="ignore"):
        free_frac = np.clip(np.where(total_in > 0.0, (q_free_chw + q_free_trim + q_dry)
                                     / np.where(total_in > 0, total_in, 1.0), 0.0), 0.0, 1.0)
        cop = np.where(p_ch > 0.0, q_served_mech / np.where(p_ch > 0, p_ch, 1.0), np.nan)
    p_pumps = p_chw_pump * (q_chw > 0.0) + p_cw + p_fw_pump
    tower_fan = np.asarray(tr.fan_power_w) * np.ones(shape)
    heat_rejected = q_tower + q_dry
    to_l = dt_s * 1000.0 / WATER_DENSITY_KG_M3
    evap = np.asarray(tr.evaporation_kg_s) * to_l * np.ones(shape)
    drift = np.asarray(tr.drift_kg_s) * to_l * np.ones(shape)
    blow = np.asarray(tr.blowdown_kg_s) * to_l * np.ones(shape)
    return PlantResult(
        chiller_power_w=scalar_or_array(p_ch), chillers_running=scalar_or_array(n_on.astype(float)),
        chiller_plr=scalar_or_array(np.asarray(cr.plr) * (n_on > 0)), chiller_cop=scalar_or_array(cop),
        tower_fan_power_w=scalar_or_array(tower_fan),
        tower_airflow_fraction=scalar_or_array(np.asarray(tr.airflow_fraction) * np.ones(shape)),
        chw_pump_power_w=scalar_or_array(p_chw_pump * (q_chw > 0.0)), cw_pump_power_w=scalar_or_array(p_cw),
        fw_pump_power_w=scalar_or_array(p_fw_pump), pump_power_w=scalar_or_array(p_pumps),
        dry_cooler_fan_power_w=scalar_or_array(p_dry),
        total_power_w=scalar_or_array(p_ch + tower_fan + p_pumps + p_dry),
        free_cooling_fraction=scalar_or_array(free_frac), chw_free_cooling_fraction=scalar_or_array(f_chw),
        heat_removed_w=scalar_or_array(heat_removed), unmet_heat_w=scalar_or_array(unmet),
        tower_heat_w=scalar_or_array(q_tower), dry_cooler_heat_w=scalar_or_array(q_dry),
        heat_rejected_w=scalar_or_array(heat_rejected),
        condenser_water_temp_c=scalar_or_array(t_new), chw_return_temp_c=scalar_or_array(t_chw_ret),
        facility_return_temp_c=scalar_or_array(t_fw_ret * np.ones(shape)),
        evaporation_l=scalar_or_array(evap), drift_l=scalar_or_array(drift), blowdown_l=scalar_or_array(blow),
        water_use_l=scalar_or_array(evap + drift + blow),
    ), setpoint
