"""Air-side component models: fans, the chilled-water coil of a CRAH, a supply controller.

Pure, vectorised numpy functions with small frozen parameter records. SI inside; every
public name carries its unit (``airflow_m3_s``, ``pressure_pa``, ``power_w``, ``temp_c``).

This module also holds the few helpers the other component modules share (air
properties, input checks that raise :class:`common.errors.InputError`, and the
out-of-range warning :class:`CurveRangeWarning`).

Glossary
--------
speed_fraction
    Fan speed over its design speed [-].
effectiveness
    Heat actually transferred over the thermodynamic maximum ``C_min * (T_hot,in - T_cold,in)`` [-].
UA
    Overall conductance of a heat exchanger [W/K]; NTU = UA / C_min.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from common.errors import InputError
from common.fluids import (AIR_CP_J_KG_K, AIR_DENSITY_KG_M3,  # noqa: F401 (re-exported)
                           WATER_CP_J_KG_K)

from .inputs import (CurveRangeWarning, as_array, check_param, clamp_warn,  # noqa: F401
                     scalar_or_array)

__all__ = [
    "AIR_DENSITY_KG_M3",
    "AIR_CP_J_KG_K",
    "WATER_CP_J_KG_K",
    "CurveRangeWarning",
    "FanSpec",
    "FanPoint",
    "fan_affinity",
    "fan_speed_for_airflow",
    "fan_power_w",
    "CoilSpec",
    "CoilResult",
    "coil_design_ua_w_k",
    "coil_ua_w_k",
    "effectiveness_counterflow",
    "effectiveness_crossflow_unmixed",
    "EFFECTIVENESS",
    "crah_coil",
    "SupplyControlSpec",
    "supply_control_step",
    "CRAH_FANS",
]

# --- properties -------------------------------------------------------------------------
# AIR_DENSITY_KG_M3, AIR_CP_J_KG_K, WATER_CP_J_KG_K: common.fluids (imported above)


# --- fans -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FanSpec:
    """A variable-speed fan at its design point.

    Parameters
    ----------
    name : str
        Label (e.g. the datasheet model).
    design_airflow_m3_s : float
        Volume flow at design speed [m³/s].
    design_pressure_pa : float
        Total pressure rise at design speed [Pa].
    design_power_w : float
        Electric input at design speed [W].
    min_speed_fraction : float
        Lowest speed the drive runs at continuously [-]; a request between 0 and this is
        raised to it (0 switches the fan off).
    source : str
        Where the numbers come from.
    """

    name: str
    design_airflow_m3_s: float
    design_pressure_pa: float
    design_power_w: float
    min_speed_fraction: float = 0.2
    source: str = ""

    def __post_init__(self):
        rec = f"FanSpec {self.name!r}"
        check_param(rec, "design_airflow_m3_s", self.design_airflow_m3_s, 0.0, lo_open=True)
        check_param(rec, "design_pressure_pa", self.design_pressure_pa, 0.0)
        check_param(rec, "design_power_w", self.design_power_w, 0.0)
        check_param(rec, "min_speed_fraction", self.min_speed_fraction, 0.0, 1.0)


@dataclass(frozen=True)
class FanPoint:
    """Operating point of a fan: all fields are arrays (or floats) of the input's shape."""

    speed_fraction: np.ndarray
    airflow_m3_s: np.ndarray
    pressure_pa: np.ndarray
    power_w: np.ndarray


def fan_affinity(speed_fraction, spec: FanSpec) -> FanPoint:
    """Fan operating point from its speed by the affinity laws.

    Parameters
    ----------
    speed_fraction : array_like
        Requested speed over design speed [-], >= 0. Values in ``(0, min_speed_fraction)``
        run at ``min_speed_fraction``; 0 is off. Values above 1 are clamped to 1 with a
        :class:`CurveRangeWarning` (a drive does not overspeed).
    spec : FanSpec
        Design point.

    Returns
    -------
    FanPoint
        ``airflow_m3_s = Q_d * n``, ``pressure_pa = dp_d * n**2``, ``power_w = P_d * n**3``.

    Notes
    -----
    Fan affinity laws for geometrically similar operation on a fixed system curve
    (ASHRAE Handbook -- HVAC Systems and Equipment, ch. "Fans"): Q ∝ n, Δp ∝ n², P ∝ n³.
    Valid while the system curve is quadratic (no static pressure set-point) and the
    efficiency does not change with speed; drives lose a few % at low speed, ignored here.
    """
    n = as_array("speed_fraction", speed_fraction, nonnegative=True)
    n = clamp_warn("speed_fraction", n, 0.0, 1.0, "fan_affinity")
    n = np.where(n > 0.0, np.maximum(n, spec.min_speed_fraction), 0.0)
    return FanPoint(
        speed_fraction=scalar_or_array(n),
        airflow_m3_s=scalar_or_array(spec.design_airflow_m3_s * n),
        pressure_pa=scalar_or_array(spec.design_pressure_pa * n**2),
        power_w=scalar_or_array(spec.design_power_w * n**3),
    )


def fan_speed_for_airflow(airflow_m3_s, spec: FanSpec):
    """Speed fraction that delivers ``airflow_m3_s`` (inverse of the flow affinity law).

    Parameters
    ----------
    airflow_m3_s : array_like
        Wanted volume flow [m³/s], >= 0.
    spec : FanSpec

    Returns
    -------
    ndarray or float
        ``n = clip(Q / Q_d, min_speed_fraction, 1)``; 0 where the flow is 0. Flows above
        the design flow warn (:class:`CurveRangeWarning`) and return 1.
    """
    q = as_array("airflow_m3_s", airflow_m3_s, nonnegative=True)
    n = clamp_warn("airflow over design airflow", q / spec.design_airflow_m3_s, 0.0, 1.0,
                    "fan_speed_for_airflow")
    return scalar_or_array(np.where(n > 0.0, np.maximum(n, spec.min_speed_fraction), 0.0))


def fan_power_w(airflow_m3_s, pressure_pa, efficiency):
    """Electric power of a fan moving ``airflow_m3_s`` against ``pressure_pa``.

    Parameters
    ----------
    airflow_m3_s : array_like
        Volume flow [m³/s], >= 0.
    pressure_pa : array_like
        Total pressure rise [Pa], >= 0.
    efficiency : array_like
        Overall (fan x motor x drive) efficiency [-], in (0, 1].

    Returns
    -------
    ndarray or float
        ``P = Q * dp / eta`` [W] (definition of air power; ASHRAE Handbook, "Fans").
    """
    q = as_array("airflow_m3_s", airflow_m3_s, nonnegative=True)
    dp = as_array("pressure_pa", pressure_pa, nonnegative=True)
    eta = as_array("efficiency", efficiency, positive=True)
    if np.any(eta > 1.0):
        raise InputError("efficiency must be <= 1 (it is a fraction, not a percentage)")
    return scalar_or_array(q * dp / eta)


# --- chilled-water coil by effectiveness-NTU -------------------------------------------
def effectiveness_counterflow(ntu, capacity_ratio):
    """Effectiveness of a counterflow exchanger.

    ``eps = (1 - exp(-NTU (1 - Cr))) / (1 - Cr exp(-NTU (1 - Cr)))``; for ``Cr = 1``,
    ``eps = NTU / (1 + NTU)`` (Incropera & DeWitt, Fundamentals of Heat and Mass Transfer,
    6th ed., Table 11.3). Valid for NTU >= 0, 0 <= Cr <= 1.
    """
    ntu = np.asarray(ntu, dtype=float)
    cr = np.clip(np.asarray(capacity_ratio, dtype=float), 0.0, 1.0)
    near_one = np.abs(1.0 - cr) < 1e-9
    x = np.exp(-ntu * (1.0 - cr))
    with np.errstate(invalid="ignore", divide="ignore"):
        general = (1.0 - x) / (1.0 - cr * x)
    balanced = ntu / (1.0 + ntu)
    return np.where(near_one, balanced, general)


def effectiveness_crossflow_unmixed(ntu, capacity_ratio):
    """Effectiveness of a single-pass crossflow exchanger, both streams unmixed.

    ``eps = 1 - exp((NTU^0.22 / Cr) (exp(-Cr NTU^0.78) - 1))`` (Incropera & DeWitt,
    Table 11.3, approximate relation); ``eps = 1 - exp(-NTU)`` as Cr -> 0.
    """
    ntu = np.asarray(ntu, dtype=float)
    cr = np.clip(np.asarray(capacity_ratio, dtype=float), 0.0, 1.0)
    small = cr < 1e-9
    crs = np.where(small, 1.0, cr)
    eps = 1.0 - np.exp((ntu**0.22 / crs) * (np.exp(-crs * ntu**0.78) - 1.0))
    return np.where(small, 1.0 - np.exp(-ntu), eps)


#: Flow arrangements by name (the coil record picks one).
EFFECTIVENESS = {
    "counterflow": effectiveness_counterflow,
    "crossflow_unmixed": effectiveness_crossflow_unmixed,
}


@dataclass(frozen=True)
class CoilSpec:
    """Chilled-water cooling coil of a CRAH, by its design (rating) point.

    Parameters
    ----------
    name : str
    design_capacity_w : float
        Sensible heat removed at the design point [W].
    design_airflow_m3_s : float
        Air volume flow at the design point [m³/s].
    design_air_inlet_temp_c : float
        Return-air (coil entering) temperature at the design point [°C].
    design_water_flow_kg_s : float
        Chilled-water mass flow at the design point [kg/s].
    design_water_inlet_temp_c : float
        Chilled-water supply temperature at the design point [°C].
    arrangement : str
        Key of :data:`EFFECTIVENESS` (multi-row coils are close to counterflow).
    air_to_water_ha_ratio : float
        ``hA_air / hA_water`` at the design point [-]; 2/3 is the default of Modelica
        Buildings ``Fluid.HeatExchangers.DryCoilEffectivenessNTU`` (``r_nominal``).
    air_flow_exponent, water_flow_exponent : float
        ``hA ∝ m_flow^n`` on each side; 0.8 and 0.85 as in Modelica Buildings
        ``Fluid.HeatExchangers.BaseClasses.HADryCoil``.
    air_rho_cp_j_m3k : float
        Volumetric heat capacity of the air ``rho * cp`` [J/(m3 K)]; default
        ``AIR_DENSITY_KG_M3 * AIR_CP_J_KG_K``, a campus's ``[campus.air]`` otherwise.
    source : str

    Notes
    -----
    The coil is dry (sensible only): data-hall supply air stays above its dew point.
    """

    name: str
    design_capacity_w: float
    design_airflow_m3_s: float
    design_air_inlet_temp_c: float
    design_water_flow_kg_s: float
    design_water_inlet_temp_c: float
    arrangement: str = "counterflow"
    air_to_water_ha_ratio: float = 2.0 / 3.0
    air_flow_exponent: float = 0.8
    water_flow_exponent: float = 0.85
    source: str = ""
    air_rho_cp_j_m3k: float = AIR_DENSITY_KG_M3 * AIR_CP_J_KG_K

    def __post_init__(self):
        rec = f"CoilSpec {self.name!r}"
        check_param(rec, "air_rho_cp_j_m3k", self.air_rho_cp_j_m3k, 0.0, lo_open=True)
        check_param(rec, "design_capacity_w", self.design_capacity_w, 0.0, lo_open=True)
        check_param(rec, "design_airflow_m3_s", self.design_airflow_m3_s, 0.0, lo_open=True)
        check_param(rec, "design_water_flow_kg_s", self.design_water_flow_kg_s, 0.0, lo_open=True)
        check_param(rec, "air_to_water_ha_ratio", self.air_to_water_ha_ratio, 0.0, lo_open=True)
        if self.arrangement not in EFFECTIVENESS:
            raise InputError(f"{rec}: arrangement {self.arrangement!r} unknown; "
                             f"choose one of {sorted(EFFECTIVENESS)}")
        if self.design_air_inlet_temp_c <= self.design_water_inlet_temp_c:
            raise InputError(f"{rec}: design air inlet {self.design_air_inlet_temp_c} °C must be "
                             f"above the water inlet {self.design_water_inlet_temp_c} °C")
        coil_design_ua_w_k(self)  # raises if the design point is infeasible


def coil_design_ua_w_k(spec: CoilSpec) -> float:
    """UA of the coil at its design point, from the design capacity [W/K].

    ``eps_d = Q_d / (C_min (T_air,in - T_w,in))``, then NTU inverted from the
    effectiveness relation (closed form for counterflow, bisection otherwise),
    ``UA_d = NTU_d C_min``.

    Raises
    ------
    InputError
        When the design capacity exceeds what any exchanger could do (``eps_d >= 1``).
    """
    c_air = spec.air_rho_cp_j_m3k * spec.design_airflow_m3_s
    c_w = spec.design_water_flow_kg_s * WATER_CP_J_KG_K
    c_min, c_max = min(c_air, c_w), max(c_air, c_w)
    cr = c_min / c_max
    eps = spec.design_capacity_w / (c_min * (spec.design_air_inlet_temp_c - spec.design_water_inlet_temp_c))
    if eps >= 0.995:
        raise InputError(
            f"CoilSpec {spec.name!r}: design capacity {spec.design_capacity_w:g} W needs an "
            f"effectiveness of {eps:.3f}; lower the capacity or raise the flows or the "
            "air-water temperature difference")
    if spec.arrangement == "counterflow":
        if abs(1.0 - cr) < 1e-9:
            ntu = eps / (1.0 - eps)
        else:
            ntu = np.log((1.0 - eps * cr) / (1.0 - eps)) / (1.0 - cr)
    else:
        f = EFFECTIVENESS[spec.arrangement]
        lo, hi = 0.0, 50.0
        if f(hi, cr) < eps:
            raise InputError(f"CoilSpec {spec.name!r}: effectiveness {eps:.3f} not reachable "
                             f"with arrangement {spec.arrangement!r}")
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            if f(mid, cr) < eps:
                lo = mid
            else:
                hi = mid
        ntu = 0.5 * (lo + hi)
    return float(ntu * c_min)


def coil_ua_w_k(airflow_m3_s, water_flow_kg_s, spec: CoilSpec):
    """UA of the coil at off-design flows [W/K].

    ``1/UA = 1/hA_air + 1/hA_water`` with ``hA_air = hA_air,d (m_air/m_air,d)^0.8`` and
    ``hA_water = hA_water,d (m_w/m_w,d)^0.85``; the design split follows from
    ``UA_d`` and ``r = hA_air,d / hA_water,d`` (Modelica Buildings ``HADryCoil``).
    Temperature dependence of the film coefficients is neglected.
    """
    ua_d = coil_design_ua_w_k(spec)
    r = spec.air_to_water_ha_ratio
    ha_air_d = ua_d * (1.0 + r)          # 1/UA = 1/hA_a + 1/hA_w with hA_a = r hA_w
    ha_w_d = ua_d * (1.0 + r) / r
    fa = np.asarray(airflow_m3_s, dtype=float) / spec.design_airflow_m3_s
    fw = np.asarray(water_flow_kg_s, dtype=float) / spec.design_water_flow_kg_s
    ha_air = ha_air_d * np.power(np.maximum(fa, 1e-12), spec.air_flow_exponent)
    ha_w = ha_w_d * np.power(np.maximum(fw, 1e-12), spec.water_flow_exponent)
    return 1.0 / (1.0 / ha_air + 1.0 / ha_w)


@dataclass(frozen=True)
class CoilResult:
    """Coil operating point; every field has the broadcast shape of the inputs."""

    air_outlet_temp_c: np.ndarray
    heat_w: np.ndarray
    water_outlet_temp_c: np.ndarray
    water_flow_kg_s: np.ndarray
    effectiveness: np.ndarray
    ua_w_k: np.ndarray
    capacity_limited: np.ndarray


def _coil_heat(airflow, t_air, water_flow, t_w, spec):
    c_air = spec.air_rho_cp_j_m3k * airflow
    c_w = water_flow * WATER_CP_J_KG_K
    c_min = np.minimum(c_air, c_w)
    c_max = np.maximum(c_air, c_w)
    ua = coil_ua_w_k(airflow, water_flow, spec)
    with np.errstate(invalid="ignore", divide="ignore"):
        ntu = np.where(c_min > 0.0, ua / np.where(c_min > 0, c_min, 1.0), 0.0)
        cr = np.where(c_max > 0.0, c_min / np.where(c_max > 0, c_max, 1.0), 0.0)
    eps = EFFECTIVENESS[spec.arrangement](ntu, cr)
    eps = np.where(c_min > 0.0, eps, 0.0)
    q = eps * c_min * np.maximum(t_air - t_w, 0.0)
    return q, eps, ua


def crah_coil(airflow_m3_s, air_inlet_temp_c, water_flow_kg_s, water_inlet_temp_c,
              spec: CoilSpec, supply_setpoint_c=None) -> CoilResult:
    """Sensible heat removed by a CRAH chilled-water coil (effectiveness-NTU).

    Parameters
    ----------
    airflow_m3_s : array_like
        Air volume flow through the coil [m³/s], >= 0.
    air_inlet_temp_c : array_like
        Entering (return) air temperature [°C].
    water_flow_kg_s : array_like
        Chilled-water mass flow available (valve fully open) [kg/s], >= 0.
    water_inlet_temp_c : array_like
        Entering chilled-water temperature [°C].
    spec : CoilSpec
    supply_setpoint_c : array_like, optional
        Leaving-air set-point [°C]. When given, the valve throttles the water flow so that
        the air leaves at the set-point; if even the full flow cannot reach it the coil is
        ``capacity_limited`` and delivers its maximum.

    Returns
    -------
    CoilResult
        ``heat_w = eps C_min (T_air,in - T_w,in)``; ``air_outlet_temp_c = T_air,in - Q / C_air``;
        ``water_outlet_temp_c = T_w,in + Q / C_w``; the water flow actually used.

    Notes
    -----
    Effectiveness-NTU method (Incropera & DeWitt, ch. 11) with UA scaled from the design
    point as in Modelica Buildings ``DryCoilEffectivenessNTU``. Dry coil only. Valid for
    flows up to about 1.5x design (film-coefficient correlations); beyond that a
    :class:`CurveRangeWarning` is issued. No heat flows when the water is warmer than the air.
    """
    va = as_array("airflow_m3_s", airflow_m3_s, nonnegative=True)
    ta = as_array("air_inlet_temp_c", air_inlet_temp_c)
    mw = as_array("water_flow_kg_s", water_flow_kg_s, nonnegative=True)
    tw = as_array("water_inlet_temp_c", water_inlet_temp_c)
    if np.any(va > 1.5 * spec.design_airflow_m3_s) or np.any(mw > 1.5 * spec.design_water_flow_kg_s):
        warnings.warn(f"crah_coil {spec.name!r}: flow above 1.5x design; UA scaling "
                      "extrapolated", CurveRangeWarning, stacklevel=2)
    va, ta, mw, tw = np.broadcast_arrays(va, ta, mw, tw)
    q_full, eps_full, ua_full = _coil_heat(va, ta, mw, tw, spec)
    c_air = spec.air_rho_cp_j_m3k * va

    if supply_setpoint_c is None:
        q, eps, ua, m_used = q_full, eps_full, ua_full, mw
        limited = np.zeros(q.shape, dtype=bool)
    else:
        tset = np.broadcast_to(as_array("supply_setpoint_c", supply_setpoint_c), va.shape)
        q_need = np.maximum(c_air * (ta - tset), 0.0)
        limited = q_need > q_full * (1.0 + 1e-9)
        # bisection on the valve: Q(m_w) rises monotonically with m_w
        lo = np.zeros_like(mw)
        hi = mw.copy()
        for _ in range(48):
            mid = 0.5 * (lo + hi)
            qm, _, _ = _coil_heat(va, ta, mid, tw, spec)
            too_little = qm < q_need
            lo = np.where(too_little, mid, lo)
            hi = np.where(too_little, hi, mid)
        m_used = np.where(limited, mw, hi)
        q, eps, ua = _coil_heat(va, ta, m_used, tw, spec)
        q = np.where(limited, q, np.minimum(q, q_need))  # exact set-point when met

    with np.errstate(invalid="ignore", divide="ignore"):
        t_air_out = np.where(c_air > 0.0, ta - q / np.where(c_air > 0, c_air, 1.0), ta)
        c_w = m_used * WATER_CP_J_KG_K
        t_w_out = np.where(c_w > 0.0, tw + q / np.where(c_w > 0, c_w, 1.0), tw)
    return CoilResult(
        air_outlet_temp_c=scalar_or_array(t_air_out), heat_w=scalar_or_array(q), water_outlet_temp_c=scalar_or_array(t_w_out),
        water_flow_kg_s=scalar_or_array(m_used), effectiveness=scalar_or_array(eps), ua_w_k=scalar_or_array(ua),
        capacity_limited=scalar_or_array(limited) if np.ndim(limited) else bool(limited),
    )


# --- supply-temperature / fan-speed controller ------------------------------------------
@dataclass(frozen=True)
class SupplyControlSpec:
    """Limits and gains of the CRAH supply controller.

    Parameters
    ----------
    target_inlet_temp_c : float
        Highest rack inlet temperature wanted [°C] (ASHRAE recommended upper limit 27 °C).
    deadband_k : float
        No action while ``target - deadband <= T_max,inlet <= target`` [K].
    supply_gain : float
        Supply-temperature change per kelvin of error [K/K].
    speed_gain_per_k : float
        Fan-speed change per kelvin of error [1/K].
    max_supply_step_k : float
        Largest supply-temperature change per call [K].
    min_supply_temp_c, max_supply_temp_c : float
        Supply-air limits [°C].
    min_speed_fraction, max_speed_fraction : float
        Fan-speed limits [-].
    """

    target_inlet_temp_c: float = 27.0
    deadband_k: float = 1.0
    supply_gain: float = 0.5
    speed_gain_per_k: float = 0.05
    max_supply_step_k: float = 2.0
    min_supply_temp_c: float = 14.0
    max_supply_temp_c: float = 27.0
    min_speed_fraction: float = 0.3
    max_speed_fraction: float = 1.0

    def __post_init__(self):
        rec = "SupplyControlSpec"
        check_param(rec, "deadband_k", self.deadband_k, 0.0)
        check_param(rec, "supply_gain", self.supply_gain, 0.0)
        check_param(rec, "speed_gain_per_k", self.speed_gain_per_k, 0.0)
        check_param(rec, "max_supply_step_k", self.max_supply_step_k, 0.0)
        check_param(rec, "min_speed_fraction", self.min_speed_fraction, 0.0, 1.0)
        check_param(rec, "max_speed_fraction", self.max_speed_fraction, self.min_speed_fraction, 1.0)
        if self.min_supply_temp_c > self.max_supply_temp_c:
            raise InputError(f"{rec}: min_supply_temp_c {self.min_supply_temp_c} is above "
                             f"max_supply_temp_c {self.max_supply_temp_c}")


def supply_control_step(max_inlet_temp_c, supply_temp_c, speed_fraction,
                        spec: SupplyControlSpec = SupplyControlSpec()):
    """One proportional step of the CRAH supply-air temperature and fan speed.

    Parameters
    ----------
    max_inlet_temp_c : array_like
        Hottest rack inlet served by each unit [°C].
    supply_temp_c : array_like
        Current supply-air set-point [°C].
    speed_fraction : array_like
        Current fan speed [-].
    spec : SupplyControlSpec

    Returns
    -------
    (supply_temp_c, speed_fraction)
        New set-points, within the limits of ``spec``.

    Notes
    -----
    Error ``e = T_max,inlet - T_target``. Too hot (``e > 0``): speed up by
    ``k_n e`` and lower the supply by ``k_T e`` at once. Too cold (``e < -deadband``):
    save energy first by slowing the fans; once at minimum speed, raise the supply
    temperature by ``k_T |e|``. Supply steps are limited to ``max_supply_step_k``. A
    plain proportional rule, stable for ``k_T <= 1`` when inlet temperatures follow the
    supply one-to-one; not an optimiser.
    """
    e = as_array("max_inlet_temp_c", max_inlet_temp_c) - spec.target_inlet_temp_c
    t = as_array("supply_temp_c", supply_temp_c)
    n = as_array("speed_fraction", speed_fraction, nonnegative=True)
    e, t, n = np.broadcast_arrays(e, t, n)
    hot = e > 0.0
    cold = e < -spec.deadband_k
    step = np.clip(spec.supply_gain * e, -spec.max_supply_step_k, spec.max_supply_step_k)

    n_new = np.where(hot | cold, n + spec.speed_gain_per_k * e, n)
    n_new = np.clip(n_new, spec.min_speed_fraction, spec.max_speed_fraction)
    at_min = n_new <= spec.min_speed_fraction + 1e-12
    t_new = np.where(hot, t - step, t)
    t_new = np.where(cold & at_min, t - step, t_new)   # step < 0 when cold: raises t
    t_new = np.clip(t_new, spec.min_supply_temp_c, spec.max_supply_temp_c)
    return scalar_or_array(t_new), scalar_or_array(n_new)


# --- records ---------------------------------------------------------------------------
#: CRAH fan records by name.
CRAH_FANS = {
    # est.: a 150 kW-class chilled-water CRAH with EC plug fans, ~12 m³/s at 500 Pa
    # external + internal pressure and ~60 % wire-to-air efficiency -> ~10 kW.
    "crah-150kw-ec": FanSpec(
        name="crah-150kw-ec", design_airflow_m3_s=12.0, design_pressure_pa=500.0,
        design_power_w=10_000.0, min_speed_fraction=0.3,
        source="est.: P = Q dp / eta with Q = 12 m3/s, dp = 500 Pa, eta = 0.6"),
}
