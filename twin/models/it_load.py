"""IT load: utilisation profiles, rack power, server fans, liquid/air split, GPU throttling.

Pure, vectorised numpy functions with small frozen parameter records; SI inside, units
in every public name.

Model (per rack, after EnergyPlus ``ElectricEquipment:ITE:AirCooled``; EnergyPlus
Engineering Reference, "Electric Equipment ITE (Air-Cooled)"): the CPU/GPU power is a
function of utilisation and inlet temperature, the server airflow a function of both, and
the fan power a function of the airflow fraction. Here:

* rack power at the design inlet temperature ``P(u) = P_idle + (P_nameplate - P_idle) u``;
* server airflow ``V = V_d f(u, T_in) / f(1, T_d)`` with ``f`` an EnergyPlus-style
  biquadratic (:class:`IteAirflowCurve`), ``V_d`` from the nameplate and the design air
  temperature rise;
* fan power ``P_fan = P_fan,d (V / V_d)^n`` (``n = 3``: affinity law);
* compute (non-fan) power ``P(u) - P_fan(u, T_d)`` times a leakage factor
  ``1 + k (T - T_d)`` on the cooling-medium temperature;
* heat to liquid ``= f_liq P``, heat to air ``= (1 - f_liq) P``;
* throttling: above an inlet-air or coolant limit the compute power and the work done
  fall linearly over ``band_k`` to ``floor``.

Glossary
--------
utilization
    Fraction of the rack's dynamic power range in use [-], 0..1.
work_fraction
    Work actually done over work requested (1 unless throttled) [-].
throttle_fraction
    ``1 - work_fraction`` [-].
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from common.errors import InputError
from common.fluids import AIR_CP_J_KG_K, AIR_DENSITY_KG_M3

from .inputs import CurveRangeWarning, as_array, check_param, clamp_warn, scalar_or_array

__all__ = ["IteAirflowCurve", "ITE_AIRFLOW_CURVES", "RackSpec", "RACK_SPECS", "RackPowerResult",
           "rack_power", "throttle_work_fraction"]




# --- server airflow curves --------------------------------------------------------------
@dataclass(frozen=True)
class IteAirflowCurve:
    """Server airflow fraction ``f(u, T_in)`` in the EnergyPlus ``Curve:Biquadratic`` form.

    ``f = c0 + c1 u + c2 u² + c3 T + c4 T² + c5 u T`` with ``u`` the utilisation and
    ``T`` the inlet air temperature [°C], clipped to ``[min_output, max_output]``.

    Parameters
    ----------
    name : str
    coefficients : tuple of 6 floats
        ``(c0, c1, c2, c3, c4, c5)``.
    unity_inlet_temp_c : float
        Inlet temperature at which ``f(1, T) = 1`` (the curve's design point) [°C].
    min_inlet_temp_c, max_inlet_temp_c : float
        Range of inlet temperatures the curve was drawn for; outside it the inlet is
        clamped with a :class:`~twin.models.airside.CurveRangeWarning`.
    min_output, max_output : float
        Clip of the curve's output.
    fan_power_exponent : float
        ``P_fan / P_fan,d = (V / V_d)^n``: 3 for fans on a fixed system (affinity law);
        EnergyPlus's example ``ECM FanPower fFlow`` is linear (1).
    source : str
    """

    name: str
    coefficients: tuple
    unity_inlet_temp_c: float
    min_inlet_temp_c: float = 5.0
    max_inlet_temp_c: float = 45.0
    min_output: float = 0.3
    max_output: float = 2.0
    fan_power_exponent: float = 3.0
    source: str = ""

    def __post_init__(self):
        c = tuple(float(v) for v in self.coefficients)
        if len(c) != 6:
            raise InputError(f"IteAirflowCurve {self.name!r}: needs 6 coefficients, got {len(c)}")
        object.__setattr__(self, "coefficients", c)
        if self.min_inlet_temp_c >= self.max_inlet_temp_c or self.min_output > self.max_output:
            raise InputError(f"IteAirflowCurve {self.name!r}: bounds are inverted")

    def __call__(self, utilization, inlet_temp_c):
        """Airflow fraction at ``(utilization, inlet_temp_c)``, inlet clamped to bounds."""
        u = np.asarray(utilization, dtype=float)
        t = clamp_warn("inlet_temp_c", np.asarray(inlet_temp_c, dtype=float),
                        self.min_inlet_temp_c, self.max_inlet_temp_c,
                        f"ITE airflow curve {self.name!r}")
        c0, c1, c2, c3, c4, c5 = self.coefficients
        f = c0 + c1 * u + c2 * u * u + c3 * t + c4 * t * t + c5 * u * t
        return np.clip(f, self.min_output, self.max_output)


def _centred_linear(name, slope_u, slope_t_per_k, t_ref_c, **kw) -> IteAirflowCurve:
    """``f = 1 + a (u - 1) + b (T - T_ref)`` written as raw biquadratic coefficients."""
    c0 = 1.0 - slope_u - slope_t_per_k * t_ref_c
    return IteAirflowCurve(name=name, coefficients=(c0, slope_u, 0.0, slope_t_per_k, 0.0, 0.0),
                           unity_inlet_temp_c=t_ref_c, **kw)


#: Server airflow curves by name.
ITE_AIRFLOW_CURVES = {
    # Ours (plausible, not a vendor curve): airflow halves from full to idle load and rises
    # 3.5 %/K of inlet temperature around 25 °C, which with the cube law gives fan power
    # x2.5 at +10 K -- the order of the rise vendors report for 1U/2U servers between
    # 25 and 35 °C inlet (ASHRAE TC 9.9 2011 white paper "Thermal Guidelines for Data
    # Processing Environments -- Expanded Data Center Classes", server power vs inlet
    # temperature: roughly +4-20 % total at 35 °C, mostly fans). With the records below
    # the rise 25 -> 35 °C at full load is +13 % (dgx-h100-x4), +11 % (cpu-2u-x20) and
    # +5 % (gb200-nvl72, mostly liquid).
    "dc-twin": _centred_linear(
        "dc-twin", slope_u=0.5, slope_t_per_k=0.035, t_ref_c=25.0, min_inlet_temp_c=5.0,
        max_inlet_temp_c=45.0, min_output=0.3, max_output=2.0, fan_power_exponent=3.0,
        source="dc-twin estimate in EnergyPlus Curve:Biquadratic form; unity at (u=1, 25 °C)"),
    # EnergyPlus example/test files (1ZoneDataCenterCRAC_wApproachTemp.idf;
    # tst/EnergyPlus/unit/InternalHeatGains.unit.cc): "Data Center Servers Airflow
    # fLoadTemp" = -1.4 + 0.9 u + 0.1 T, design entering air 15 °C, and the linear
    # "ECM FanPower fFlow" (P_fan ∝ flow).
    "energyplus-example": IteAirflowCurve(
        name="energyplus-example", coefficients=(-1.4, 0.9, 0.0, 0.1, 0.0, 0.0),
        unity_inlet_temp_c=15.0, min_inlet_temp_c=-10.0, max_inlet_temp_c=99.0,
        min_output=0.0, max_output=99.0, fan_power_exponent=1.0,
        source="EnergyPlus example file 1ZoneDataCenterCRAC_wApproachTemp.idf"),
}


# --- rack records ------------------------------------------------------------------------
@dataclass(frozen=True)
class RackSpec:
    """Power and cooling parameters of one rack type.

    Parameters
    ----------
    name : str
    nameplate_power_w : float
        Rack power at full utilisation and the design inlet temperature [W] (fans included).
    idle_fraction : float
        Idle power over nameplate at the design inlet temperature [-].
    liquid_capture_fraction : float
        Share of the rack's heat taken by the liquid loop [-] (0 for air-cooled racks).
    design_fan_power_fraction : float
        Server-fan share of the nameplate power at full load and design inlet [-].
    design_air_delta_t_k : float
        Air temperature rise through the rack at nameplate power [K]; with the air share
        of the heat it fixes the design airflow ``V_d = (1 - f_liq) P_n / (rho cp dT)``.
    design_inlet_temp_c : float
        Inlet air temperature of the nameplate rating [°C].
    design_coolant_temp_c : float
        Coolant (secondary) supply temperature of the nameplate rating [°C].
    leakage_per_k : float
        Relative rise of the compute power per kelvin of cooling-medium temperature [1/K].
    inlet_limit_c : float
        Inlet air temperature where throttling begins [°C].
    coolant_limit_c : float
        Coolant supply temperature where throttling begins [°C] (liquid racks).
    throttle_band_k : float
        Temperature span over which power falls from 100 % to ``throttle_floor`` [K].
    throttle_floor : float
        Compute power (and work) fraction left when fully throttled [-].
    airflow_curve : str
        Key of :data:`ITE_AIRFLOW_CURVES`.
    source : str
        Datasheet or estimate behind the numbers.
    air_rho_cp_j_m3k : float
        Volumetric heat capacity of the air ``rho * cp`` [J/(m3 K)] (default
        ``AIR_DENSITY_KG_M3 * AIR_CP_J_KG_K``; a campus's ``[campus.air]`` otherwise).
    """

    name: str
    nameplate_power_w: float
    idle_fraction: float = 0.2
    liquid_capture_fraction: float = 0.0
    design_fan_power_fraction: float = 0.06
    design_air_delta_t_k: float = 12.0
    design_inlet_temp_c: float = 25.0
    design_coolant_temp_c: float = 30.0
    leakage_per_k: float = 0.002
    inlet_limit_c: float = 35.0
    coolant_limit_c: float = 45.0
    throttle_band_k: float = 5.0
    throttle_floor: float = 0.5
    airflow_curve: str = "dc-twin"
    source: str = ""
    air_rho_cp_j_m3k: float = AIR_DENSITY_KG_M3 * AIR_CP_J_KG_K

    def __post_init__(self):
        rec = f"RackSpec {self.name!r}"
        check_param(rec, "air_rho_cp_j_m3k", self.air_rho_cp_j_m3k, 0.0, lo_open=True)
        check_param(rec, "nameplate_power_w", self.nameplate_power_w, 0.0, lo_open=True)
        check_param(rec, "idle_fraction", self.idle_fraction, 0.0, 1.0)
        check_param(rec, "liquid_capture_fraction", self.liquid_capture_fraction, 0.0, 1.0)
        check_param(rec, "design_fan_power_fraction", self.design_fan_power_fraction, 0.0, 0.5)
        check_param(rec, "design_air_delta_t_k", self.design_air_delta_t_k, 0.0, lo_open=True)
        check_param(rec, "leakage_per_k", self.leakage_per_k, 0.0, 0.05)
        check_param(rec, "throttle_band_k", self.throttle_band_k, 0.0, lo_open=True)
        check_param(rec, "throttle_floor", self.throttle_floor, 0.0, 1.0)
        if self.airflow_curve not in ITE_AIRFLOW_CURVES:
            raise InputError(f"{rec}: airflow_curve {self.airflow_curve!r} unknown; choose one "
                             f"of {sorted(ITE_AIRFLOW_CURVES)}")
        idle_fan = self.design_fan_power_w * self._flow_ratio(0.0, self.design_inlet_temp_c) \
            ** self.curve.fan_power_exponent
        if idle_fan > self.idle_fraction * self.nameplate_power_w + 1e-9:
            raise InputError(f"{rec}: idle power {self.idle_fraction * self.nameplate_power_w:g} W "
                             f"is below the idle fan power {idle_fan:g} W; raise idle_fraction or "
                             "lower design_fan_power_fraction")

    @property
    def curve(self) -> IteAirflowCurve:
        """The airflow curve record."""
        return ITE_AIRFLOW_CURVES[self.airflow_curve]

    @property
    def idle_power_w(self) -> float:
        """Idle power at the design inlet temperature [W]."""
        return self.idle_fraction * self.nameplate_power_w

    @property
    def design_fan_power_w(self) -> float:
        """Fan power at full load and design inlet [W]."""
        return self.design_fan_power_fraction * self.nameplate_power_w

    @property
    def design_airflow_m3_s(self) -> float:
        """Server airflow at full load and design inlet [m³/s]."""
        air_w = (1.0 - self.liquid_capture_fraction) * self.nameplate_power_w
        return air_w / (self.air_rho_cp_j_m3k * self.design_air_delta_t_k)

    def _flow_ratio(self, utilization, inlet_temp_c):
        c = self.curve
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CurveRangeWarning)
            ref = float(c(1.0, self.design_inlet_temp_c))
        return c(utilization, inlet_temp_c) / ref


#: Rack types by name. "est." marks numbers not taken from a datasheet.
RACK_SPECS = {
    # NVIDIA DGX H100 user guide: system power 10.2 kW max, air-cooled, operating
    # temperature 5-30 °C. Four systems per rack. Idle (0.2), fan share (0.08) and 15 K
    # air rise are est. (GPU servers idle at 15-25 % of peak, domain notes).
    "dgx-h100-x4": RackSpec(
        name="dgx-h100-x4", nameplate_power_w=4 * 10_200.0, idle_fraction=0.2,
        liquid_capture_fraction=0.0, design_fan_power_fraction=0.08, design_air_delta_t_k=15.0,
        design_inlet_temp_c=25.0, inlet_limit_c=30.0, throttle_band_k=5.0, throttle_floor=0.5,
        source="NVIDIA DGX H100 User Guide (10.2 kW max, 5-30 °C); idle, fans, dT est."),
    # NVIDIA GB200 NVL72: ~120-132 kW per rack, compute and switch trays liquid-cooled.
    # Liquid share 0.85, idle 0.2, fan share 0.03, coolant limit 45 °C (W45-class
    # facility water) are est.
    "gb200-nvl72": RackSpec(
        name="gb200-nvl72", nameplate_power_w=132_000.0, idle_fraction=0.2,
        liquid_capture_fraction=0.85, design_fan_power_fraction=0.03, design_air_delta_t_k=15.0,
        design_inlet_temp_c=25.0, design_coolant_temp_c=35.0, inlet_limit_c=35.0,
        coolant_limit_c=45.0, throttle_band_k=5.0, throttle_floor=0.5,
        source="NVIDIA GB200 NVL72 (~132 kW/rack); liquid share, idle, limits est."),
    # Generic CPU rack: 20 x 2U dual-socket servers at 750 W; SPECpower-style idle ~35 %.
    "cpu-2u-x20": RackSpec(
        name="cpu-2u-x20", nameplate_power_w=20 * 750.0, idle_fraction=0.35,
        liquid_capture_fraction=0.0, design_fan_power_fraction=0.06, design_air_delta_t_k=12.0,
        design_inlet_temp_c=25.0, inlet_limit_c=35.0, throttle_band_k=5.0, throttle_floor=0.6,
        source="est.: SPECpower_ssj2008 results put idle at 30-40 % of peak"),
}


# --- rack power ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RackPowerResult:
    """Per-rack power and heat (arrays of the broadcast input shape, or floats)."""

    utilization: np.ndarray
    work_fraction: np.ndarray
    throttle_fraction: np.ndarray
    throttled: np.ndarray
    compute_power_w: np.ndarray
    fan_power_w: np.ndarray
    power_w: np.ndarray
    airflow_m3_s: np.ndarray
    heat_to_liquid_w: np.ndarray
    heat_to_air_w: np.ndarray
    exhaust_temp_c: np.ndarray


def throttle_work_fraction(inlet_temp_c, coolant_supply_temp_c, spec: RackSpec):
    """Fraction of compute power (and work) left after thermal throttling.

    Parameters
    ----------
    inlet_temp_c : array_like
        Rack inlet air temperature [°C].
    coolant_supply_temp_c : array_like or None
        Secondary coolant supply temperature [°C]; ignored for air-cooled racks
        (``liquid_capture_fraction == 0``) and when None.
    spec : RackSpec

    Returns
    -------
    ndarray or float
        ``w = 1 - (1 - floor) clip(max((T_in - T_lim,air), (T_cool - T_lim,cool)) / band, 0, 1)``.

    Notes
    -----
    GPUs slow their clocks as the die nears its slowdown temperature (H100 SXM ≈ 90 °C);
    the die temperature follows the cooling medium, so a linear ramp on the inlet or
    coolant temperature stands in for the firmware's clock governor (est.; no vendor
    publishes the curve).
    """
    t_in = as_array("inlet_temp_c", inlet_temp_c)
    excess = (t_in - spec.inlet_limit_c) / spec.throttle_band_k
    if coolant_supply_temp_c is not None and spec.liquid_capture_fraction > 0.0:
        t_c = as_array("coolant_supply_temp_c", coolant_supply_temp_c)
        excess = np.maximum(excess, (t_c - spec.coolant_limit_c) / spec.throttle_band_k)
    s = np.clip(excess, 0.0, 1.0)
    return scalar_or_array(1.0 - (1.0 - spec.throttle_floor) * s)


def rack_power(utilization, inlet_temp_c, spec: RackSpec,
               coolant_supply_temp_c=None) -> RackPowerResult:
    """Power, server airflow and heat split of racks of one type.

    Parameters
    ----------
    utilization : array_like
        Requested utilisation [-], 0..1 (e.g. racks x time).
    inlet_temp_c : array_like
        Rack inlet air temperature [°C]; broadcast against ``utilization``.
    spec : RackSpec
    coolant_supply_temp_c : array_like, optional
        Secondary coolant supply temperature [°C] for liquid racks; the design coolant
        temperature when omitted.

    Returns
    -------
    RackPowerResult
        ``power_w = compute_power_w + fan_power_w``; ``heat_to_liquid_w = f_liq power_w``;
        ``heat_to_air_w = power_w - heat_to_liquid_w``;
        ``exhaust_temp_c = T_in + heat_to_air_w / (rho cp V)``; ``throttled`` where the
        work fraction is below 1.

    Notes
    -----
    At the design inlet (and coolant) temperature and without throttling,
    ``power_w = P_idle + (P_nameplate - P_idle) u`` exactly. Away from it:
    ``P_fan = P_fan,d (f(u, T)/f(1, T_d))^n`` (EnergyPlus ITE airflow and fan-power
    curves; EnergyPlus Engineering Reference, "Electric Equipment ITE (Air-Cooled)");
    ``P_compute = (P(u) - P_fan(u, T_d)) (1 + k dT_medium) w`` with ``dT_medium`` the
    heat-share-weighted departure of inlet air and coolant from design and ``w`` the
    throttle work fraction. Valid for inlet 5-45 °C (ASHRAE A4 envelope; the airflow
    curve clamps and warns outside its range).
    """
    u = as_array("utilization", utilization, nonnegative=True)
    if np.any(u > 1.0):
        raise InputError(f"utilization must be within 0..1 (got {float(u.max()):g}); "
                         "pass a fraction, not a percentage")
    t_in = as_array("inlet_temp_c", inlet_temp_c)
    if coolant_supply_temp_c is None:
        t_cool = np.asarray(spec.design_coolant_temp_c, dtype=float)
    else:
        t_cool = as_array("coolant_supply_temp_c", coolant_supply_temp_c)
    u, t_in, t_cool = np.broadcast_arrays(u, t_in, t_cool)

    n = spec.curve.fan_power_exponent
    p_base = spec.idle_power_w + (spec.nameplate_power_w - spec.idle_power_w) * u
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CurveRangeWarning)
        fan_at_design = spec.design_fan_power_w * spec._flow_ratio(u, spec.design_inlet_temp_c) ** n
    flow_ratio = spec._flow_ratio(u, t_in)
    fan = spec.design_fan_power_w * flow_ratio**n
    f_liq = spec.liquid_capture_fraction
    d_t = (1.0 - f_liq) * (t_in - spec.design_inlet_temp_c) + f_liq * (t_cool - spec.design_coolant_temp_c)
    leak = np.maximum(1.0 + spec.leakage_per_k * d_t, 0.5)
    work = np.asarray(throttle_work_fraction(
        t_in, t_cool if coolant_supply_temp_c is not None else None, spec))
    compute = np.maximum(p_base - fan_at_design, 0.0) * leak * work
    power = compute + fan
    airflow = spec.design_airflow_m3_s * flow_ratio
    q_liq = f_liq * power
    q_air = power - q_liq
    with np.errstate(divide="ignore", invalid="ignore"):
        t_out = np.where(airflow > 0.0,
                         t_in + q_air / (spec.air_rho_cp_j_m3k * np.where(airflow > 0, airflow, 1.0)),
                         t_in)
    throttled = work < 1.0
    return RackPowerResult(
        utilization=scalar_or_array(u), work_fraction=scalar_or_array(work), throttle_fraction=scalar_or_array(1.0 - work),
        throttled=throttled if throttled.ndim else bool(throttled),
        compute_power_w=scalar_or_array(compute), fan_power_w=scalar_or_array(fan), power_w=scalar_or_array(power),
        airflow_m3_s=scalar_or_array(airflow), heat_to_liquid_w=scalar_or_array(q_liq), heat_to_air_w=scalar_or_array(q_air),
        exhaust_temp_c=scalar_or_array(t_out),
    )
