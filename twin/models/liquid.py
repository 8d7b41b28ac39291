"""Liquid-side component models: CDU, ASHRAE W classes, pumps, dry coolers.

Pure, vectorised numpy functions with small frozen parameter records; SI inside, units
in every public name.

Glossary
--------
facility water
    The loop between the plant (dry cooler, tower, chiller) and the CDUs (FWS = facility
    water system in ASHRAE TC 9.9 terms).
secondary (technology cooling system, TCS)
    The loop between the CDU and the cold plates in the racks.
approach_k
    Leaving temperature of the cooled stream minus entering temperature of the cooling
    stream [K] (CDU: secondary supply - facility supply; dry cooler: leaving fluid - dry bulb).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from common.errors import InputError
from common.fluids import (GRAVITY_M_S2, WATER_CP_J_KG_K,  # noqa: F401 (re-exported)
                           WATER_DENSITY_KG_M3)

from .inputs import CurveRangeWarning, as_array, check_param, scalar_or_array

__all__ = [
    "WATER_DENSITY_KG_M3",
    "WATER_CP_J_KG_K",
    "GRAVITY_M_S2",
    "WaterClass",
    "WATER_CLASSES",
    "facility_water_class",
    "check_water_class",
    "CduSpec",
    "CduResult",
    "cdu_step",
    "PumpSpec",
    "pump_power_w",
    "pump_power_at_flow_w",
    "DryCoolerSpec",
    "DryCoolerResult",
    "dry_cooler",
    "CDUS",
]

# WATER_DENSITY_KG_M3, GRAVITY_M_S2: common.fluids (imported above)


# --- ASHRAE liquid-cooling classes ------------------------------------------------------
@dataclass(frozen=True)
class WaterClass:
    """An ASHRAE TC 9.9 liquid-cooling class of facility water supply temperature.

    Parameters
    ----------
    name : str
        ``"W17"``, ``"W27"``, ``"W32"``, ``"W40"``, ``"W45"`` or ``"W+"``.
    min_supply_temp_c, max_supply_temp_c : float
        Facility water supply temperature range at the CDU inlet [°C].
    typical_heat_rejection : str
        Plant the class usually implies.
    """

    name: str
    min_supply_temp_c: float
    max_supply_temp_c: float
    typical_heat_rejection: str


#: ASHRAE TC 9.9 liquid-cooling classes (ASHRAE, *Thermal Guidelines for Data Processing
#: Environments*, 5th ed., 2021, and the 2021 TC 9.9 white paper "Water-Cooled Servers:
#: Common Designs, Components, and Processes"): upper bound of the facility water supply
#: temperature; the lower bound is 2 °C for every class. W+ is "above 45 °C"; 70 °C is
#: our practical cap for it (warm-water heat-reuse designs).
WATER_CLASSES = {
    "W17": WaterClass("W17", 2.0, 17.0, "chiller, water-side economizer"),
    "W27": WaterClass("W27", 2.0, 27.0, "chiller with water-side economizer, cooling tower"),
    "W32": WaterClass("W32", 2.0, 32.0, "cooling tower, chiller trim"),
    "W40": WaterClass("W40", 2.0, 40.0, "dry cooler or cooling tower, chiller trim"),
    "W45": WaterClass("W45", 2.0, 45.0, "dry cooler or cooling tower"),
    "W+": WaterClass("W+", 2.0, 70.0, "dry cooler, heat re-use"),
}
_CLASS_ORDER = ("W17", "W27", "W32", "W40", "W45", "W+")


def facility_water_class(supply_temp_c):
    """Tightest ASHRAE W class that admits a facility water supply temperature.

    Parameters
    ----------
    supply_temp_c : array_like
        Facility water supply temperature [°C].

    Returns
    -------
    str or ndarray of str
        ``"W17"`` ... ``"W+"``; ``""`` where the temperature is below the 2 °C floor.
    """
    t = as_array("supply_temp_c", supply_temp_c)
    out = np.full(t.shape, "", dtype=object)
    for name in reversed(_CLASS_ORDER):
        c = WATER_CLASSES[name]
        out = np.where((t >= c.min_supply_temp_c) & (t <= c.max_supply_temp_c), name, out)
    out = np.where(t > WATER_CLASSES["W45"].max_supply_temp_c, "W+", out)
    return str(out) if out.ndim == 0 else out.astype(str)


def check_water_class(supply_temp_c, class_name: str):
    """Whether facility water supply temperatures stay inside a W class.

    Parameters
    ----------
    supply_temp_c : array_like
        Facility water supply temperature [°C].
    class_name : str
        Key of :data:`WATER_CLASSES`.

    Returns
    -------
    bool or ndarray of bool
        True where ``min <= T <= max``. Issues a :class:`CurveRangeWarning` when any
        value falls outside.
    """
    if class_name not in WATER_CLASSES:
        raise InputError(f"water class {class_name!r} unknown; choose one of {list(_CLASS_ORDER)}")
    c = WATER_CLASSES[class_name]
    t = as_array("supply_temp_c", supply_temp_c)
    ok = (t >= c.min_supply_temp_c) & (t <= c.max_supply_temp_c)
    if not np.all(ok):
        warnings.warn(f"facility water supply outside ASHRAE class {class_name} "
                      f"[{c.min_supply_temp_c:g}, {c.max_supply_temp_c:g}] °C",
                      CurveRangeWarning, stacklevel=2)
    return bool(ok) if ok.ndim == 0 else ok


# --- pumps -------------------------------------------------------------------------------
def pump_power_w(flow_m3_s, head_m, efficiency, density_kg_m3=WATER_DENSITY_KG_M3):
    """Electric power of a pump.

    Parameters
    ----------
    flow_m3_s : array_like
        Volume flow [m³/s], >= 0.
    head_m : array_like
        Pump head [m of fluid], >= 0.
    efficiency : array_like
        Wire-to-water efficiency (pump x motor x drive) [-], in (0, 1].
    density_kg_m3 : float
        Fluid density [kg/m³].

    Returns
    -------
    ndarray or float
        ``P = rho g Q H / eta`` [W] (hydraulic power over efficiency; e.g. ASHRAE
        Handbook -- HVAC Systems and Equipment, "Centrifugal Pumps").
    """
    q = as_array("flow_m3_s", flow_m3_s, nonnegative=True)
    h = as_array("head_m", head_m, nonnegative=True)
    eta = as_array("efficiency", efficiency, positive=True)
    rho = as_array("density_kg_m3", density_kg_m3, positive=True)
    if np.any(eta > 1.0):
        raise InputError("efficiency must be <= 1 (a fraction, not a percentage)")
    return scalar_or_array(rho * GRAVITY_M_S2 * q * h / eta)


@dataclass(frozen=True)
class PumpSpec:
    """A variable-speed pump on a closed loop.

    Parameters
    ----------
    name : str
    design_flow_m3_s : float
        Flow at the design point [m³/s].
    design_head_m : float
        Head at the design point [m].
    efficiency : float
        Wire-to-water efficiency, taken constant [-].
    static_head_fraction : float
        Part of the design head that does not fall with flow (differential-pressure
        set-point or open-loop lift) [-]; 0 for a closed loop on a pure system curve.
    """

    name: str
    design_flow_m3_s: float
    design_head_m: float
    efficiency: float = 0.65
    static_head_fraction: float = 0.0

    def __post_init__(self):
        rec = f"PumpSpec {self.name!r}"
        check_param(rec, "design_flow_m3_s", self.design_flow_m3_s, 0.0, lo_open=True)
        check_param(rec, "design_head_m", self.design_head_m, 0.0)
        check_param(rec, "efficiency", self.efficiency, 0.0, 1.0, lo_open=True)
        check_param(rec, "static_head_fraction", self.static_head_fraction, 0.0, 1.0)

    @property
    def design_power_w(self) -> float:
        """Electric power at the design point [W]."""
        return float(pump_power_w(self.design_flow_m3_s, self.design_head_m, self.efficiency))


def pump_power_at_flow_w(flow_m3_s, spec: PumpSpec):
    """Pump power at part flow on its system curve.

    ``H = H_d (s + (1 - s) (Q/Q_d)^2)``, ``P = rho g Q H / eta``; with ``s = 0`` this is
    the affinity cube law ``P = P_d (Q/Q_d)^3``. Flows above 1.2x design warn
    (:class:`CurveRangeWarning`) but are computed.
    """
    q = as_array("flow_m3_s", flow_m3_s, nonnegative=True)
    if np.any(q > 1.2 * spec.design_flow_m3_s):
        warnings.warn(f"pump {spec.name!r}: flow above 1.2x design", CurveRangeWarning, stacklevel=2)
    f = q / spec.design_flow_m3_s
    s = spec.static_head_fraction
    head = spec.design_head_m * (s + (1.0 - s) * f**2)
    return scalar_or_array(WATER_DENSITY_KG_M3 * GRAVITY_M_S2 * q * head / spec.efficiency)


# --- coolant distribution unit ----------------------------------------------------------
@dataclass(frozen=True)
class CduSpec:
    """Coolant distribution unit: a liquid-to-liquid plate heat exchanger and pumps.

    Parameters
    ----------
    name : str
    design_heat_w : float
        Heat transferred at the design point [W].
    design_approach_k : float
        Secondary supply minus facility supply at the design heat [K].
    secondary_delta_t_k : float
        Secondary (TCS) return minus supply at the design heat [K]; fixes the constant
        secondary flow.
    facility_delta_t_k : float
        Facility return minus supply at the design heat [K]; fixes the facility flow.
    secondary_pump_head_m : float
        Secondary pump head at design flow [m] (cold plates, manifolds, quick disconnects).
    pump_efficiency : float
        Wire-to-water efficiency of the secondary pumps [-].
    source : str
    """

    name: str
    design_heat_w: float
    design_approach_k: float = 3.0
    secondary_delta_t_k: float = 10.0
    facility_delta_t_k: float = 10.0
    secondary_pump_head_m: float = 25.0
    pump_efficiency: float = 0.6
    source: str = ""

    def __post_init__(self):
        rec = f"CduSpec {self.name!r}"
        check_param(rec, "design_heat_w", self.design_heat_w, 0.0, lo_open=True)
        check_param(rec, "design_approach_k", self.design_approach_k, 0.0)
        check_param(rec, "secondary_delta_t_k", self.secondary_delta_t_k, 0.0, lo_open=True)
        check_param(rec, "facility_delta_t_k", self.facility_delta_t_k, 0.0, lo_open=True)
        check_param(rec, "secondary_pump_head_m", self.secondary_pump_head_m, 0.0)
        check_param(rec, "pump_efficiency", self.pump_efficiency, 0.0, 1.0, lo_open=True)

    @property
    def secondary_flow_kg_s(self) -> float:
        """Constant secondary mass flow [kg/s]."""
        return self.design_heat_w / (WATER_CP_J_KG_K * self.secondary_delta_t_k)

    @property
    def facility_flow_kg_s(self) -> float:
        """Constant facility-side mass flow [kg/s]."""
        return self.design_heat_w / (WATER_CP_J_KG_K * self.facility_delta_t_k)


@dataclass(frozen=True)
class CduResult:
    """CDU operating point (arrays of the broadcast input shape, or floats)."""

    secondary_supply_temp_c: np.ndarray
    secondary_return_temp_c: np.ndarray
    facility_return_temp_c: np.ndarray
    approach_k: np.ndarray
    secondary_flow_kg_s: float
    facility_flow_kg_s: float
    pump_power_w: float
    overloaded: np.ndarray


def cdu_step(heat_w, facility_supply_temp_c, spec: CduSpec) -> CduResult:
    """Temperatures of a CDU carrying ``heat_w`` from the racks to the facility water.

    Parameters
    ----------
    heat_w : array_like
        Heat picked up by the secondary loop (the racks' liquid share) [W], >= 0.
    facility_supply_temp_c : array_like
        Facility water temperature entering the CDU [°C].
    spec : CduSpec

    Returns
    -------
    CduResult
        ``secondary_supply = facility_supply + approach``,
        ``approach = approach_d * Q / Q_d``,
        ``secondary_return = secondary_supply + Q / (m_s cp)``,
        ``facility_return = facility_supply + Q / (m_f cp)``; the secondary pump power
        (constant flow, so constant power; its heat is small and goes into the secondary
        loop, i.e. is part of what the facility water must take away: add it to
        ``heat_w`` when closing a budget).

    Notes
    -----
    With both flows fixed the exchanger's effectiveness is fixed, so every temperature
    difference scales linearly with the heat (effectiveness-NTU with constant UA;
    Incropera & DeWitt ch. 11). Valid up to the design heat; above it the CDU is flagged
    ``overloaded`` (and warns) but the linear scaling is kept. Typical CDU approach
    temperatures are 2-5 K (est., vendor datasheets of 1-2 MW in-row CDUs).
    """
    q = as_array("heat_w", heat_w, nonnegative=True)
    tf = as_array("facility_supply_temp_c", facility_supply_temp_c)
    q, tf = np.broadcast_arrays(q, tf)
    over = q > spec.design_heat_w * (1.0 + 1e-9)
    if np.any(over):
        warnings.warn(f"CDU {spec.name!r}: heat above its design {spec.design_heat_w:g} W",
                      CurveRangeWarning, stacklevel=2)
    approach = spec.design_approach_k * q / spec.design_heat_w
    t_sec_sup = tf + approach
    t_sec_ret = t_sec_sup + q / (spec.secondary_flow_kg_s * WATER_CP_J_KG_K)
    t_fac_ret = tf + q / (spec.facility_flow_kg_s * WATER_CP_J_KG_K)
    p_pump = float(pump_power_w(spec.secondary_flow_kg_s / WATER_DENSITY_KG_M3,
                                spec.secondary_pump_head_m, spec.pump_efficiency))
    return CduResult(
        secondary_supply_temp_c=scalar_or_array(t_sec_sup), secondary_return_temp_c=scalar_or_array(t_sec_ret),
        facility_return_temp_c=scalar_or_array(t_fac_ret), approach_k=scalar_or_array(approach),
        secondary_flow_kg_s=spec.secondary_flow_kg_s, facility_flow_kg_s=spec.facility_flow_kg_s,
        pump_power_w=p_pump, overloaded=over if over.ndim else bool(over),
    )


# --- dry cooler --------------------------------------------------------------------------
@dataclass(frozen=True)
class DryCoolerSpec:
    """Air-cooled fluid cooler (dry cooler) with variable-speed fans.

    Parameters
    ----------
    name : str
    design_heat_w : float
        Heat rejected at the design point [W].
    design_approach_k : float
        Leaving fluid minus entering dry bulb at the design heat and full fan speed [K].
    design_fan_power_w : float
        Fan power at full speed [W]; EnergyPlus autosizes it as 0.0105 W per W of design
        load (``FluidCoolers.cc``, "nominal fan power is 0.0105 times the design load").
    min_fan_speed_fraction : float
        Lowest continuous fan speed [-].
    airflow_exponent : float
        ``UA ∝ airflow^n`` (air-side film coefficient; 0.8 as for the coil).
    source : str
    """

    name: str
    design_heat_w: float
    design_approach_k: float = 8.0
    design_fan_power_w: float | None = None
    min_fan_speed_fraction: float = 0.2
    airflow_exponent: float = 0.8
    source: str = ""

    def __post_init__(self):
        rec = f"DryCoolerSpec {self.name!r}"
        check_param(rec, "design_heat_w", self.design_heat_w, 0.0, lo_open=True)
        check_param(rec, "design_approach_k", self.design_approach_k, 0.0, lo_open=True)
        check_param(rec, "min_fan_speed_fraction", self.min_fan_speed_fraction, 0.0, 1.0, lo_open=True)
        check_param(rec, "airflow_exponent", self.airflow_exponent, 0.0, 2.0, lo_open=True)
        if self.design_fan_power_w is None:
            object.__setattr__(self, "design_fan_power_w", 0.0105 * self.design_heat_w)
        check_param(rec, "design_fan_power_w", self.design_fan_power_w, 0.0)


@dataclass(frozen=True)
class DryCoolerResult:
    """Dry-cooler operating point (arrays of the broadcast input shape, or floats)."""

    leaving_temp_c: np.ndarray
    heat_rejected_w: np.ndarray
    fan_speed_fraction: np.ndarray
    fan_power_w: np.ndarray
    approach_k: np.ndarray
    setpoint_met: np.ndarray


def dry_cooler(fluid_inlet_temp_c, fluid_flow_kg_s, dry_bulb_c, leaving_setpoint_c,
               spec: DryCoolerSpec) -> DryCoolerResult:
    """Heat a dry cooler rejects while trying to hold a leaving-fluid set-point.

    Parameters
    ----------
    fluid_inlet_temp_c : array_like
        Fluid entering the cooler (loop return) [°C].
    fluid_flow_kg_s : array_like
        Fluid mass flow [kg/s], >= 0 (water; use an effective cp for glycol upstream).
    dry_bulb_c : array_like
        Outdoor dry bulb [°C].
    leaving_setpoint_c : array_like
        Wanted leaving-fluid temperature [°C].
    spec : DryCoolerSpec

    Returns
    -------
    DryCoolerResult
        Leaving temperature, heat rejected ``Q = m cp (T_in - T_out)``, fan speed and power
        ``P = P_d n^3``, the approach, and whether the set-point was met.

    Notes
    -----
    Approach model: ``approach = a_d (Q / Q_d) n^(-x)`` with ``x`` the airflow exponent:
    at fixed flows the leaving approach of an exchanger is proportional to the heat, and
    the air-side conductance, which dominates in a finned dry cooler, grows with
    ``airflow^0.8``. This is an engineering scaling, not a vendor curve (est.). The fan
    speed that just meets the set-point is
    ``n = (a_d Q_need / (Q_d (T_set - T_db)))^(1/x)``, clipped to
    ``[n_min, 1]``. At full speed and a set-point out of reach,
    ``Q = m cp (T_in - T_db) / (1 + m cp a_d / Q_d)``. Fan power by the cube law
    (affinity laws). No water use (sensible only).
    """
    t_in = as_array("fluid_inlet_temp_c", fluid_inlet_temp_c)
    m = as_array("fluid_flow_kg_s", fluid_flow_kg_s, nonnegative=True)
    t_db = as_array("dry_bulb_c", dry_bulb_c)
    t_set = as_array("leaving_setpoint_c", leaving_setpoint_c)
    t_in, m, t_db, t_set = np.broadcast_arrays(t_in, m, t_db, t_set)
    c = m * WATER_CP_J_KG_K
    a_per_w = spec.design_approach_k / spec.design_heat_w          # K per W at full speed
    x = spec.airflow_exponent

    q_need = np.maximum(c * (t_in - t_set), 0.0)
    room = t_set - t_db                                            # approach allowed
    with np.errstate(divide="ignore", invalid="ignore"):
        n_need = np.where(room > 0.0, (a_per_w * q_need / np.where(room > 0, room, 1.0)) ** (1.0 / x),
                          np.inf)
    met = (n_need <= 1.0) | (q_need <= 0.0)
    q_full = np.maximum(c * (t_in - t_db) / (1.0 + c * a_per_w), 0.0)
    q = np.where(met, q_need, q_full)
    n = np.where(met, np.clip(n_need, spec.min_fan_speed_fraction, 1.0), 1.0)
    n = np.where(q > 0.0, n, 0.0)                                   # fans off with no duty
    with np.errstate(divide="ignore", invalid="ignore"):
        t_out = np.where(c > 0.0, t_in - q / np.where(c > 0, c, 1.0), t_in)
        approach = np.where(n > 0.0, a_per_w * q / np.where(n > 0, n, 1.0) ** x, 0.0)
    return DryCoolerResult(
        leaving_temp_c=scalar_or_array(t_out), heat_rejected_w=scalar_or_array(q), fan_speed_fraction=scalar_or_array(n),
        fan_power_w=scalar_or_array(spec.design_fan_power_w * n**3), approach_k=scalar_or_array(approach),
        setpoint_met=met if met.ndim else bool(met),
    )


# --- records ---------------------------------------------------------------------------
#: CDU records by name.
CDUS = {
    # est.: in-row CDUs of this class are sold at 1-2.5 MW with 2-4 K approach
    # (e.g. vendor datasheets for 1.3-2.3 MW liquid-to-liquid CDUs, 2023-2024).
    "cdu-1.5mw": CduSpec(name="cdu-1.5mw", design_heat_w=1.5e6, design_approach_k=3.0,
                         secondary_delta_t_k=10.0, facility_delta_t_k=10.0,
                         secondary_pump_head_m=25.0, pump_efficiency=0.6,
                         source="est.: typical in-row liquid-to-liquid CDU class"),
}
