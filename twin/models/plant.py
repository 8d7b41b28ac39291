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
  the fans' range.
* Every pump's heat enters the loop it drives; fan heat leaves with the air.
  Energy closes: ``heat_rejected = heat_removed + compressor work + pump heat``.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, replace

import numpy as np

from common.errors import InputError
from common.fluids import WATER_CP_J_KG_K

from .inputs import CurveRangeWarning, as_array, check_param, clamp_warn, scalar_or_array
from .liquid import WATER_DENSITY_KG_M3, DryCoolerSpec, PumpSpec, dry_cooler, pump_power_at_flow_w

__all__ = [
    "Biquadratic",
    "Quadratic",
    "ChillerEIRSpec",
    "ChillerResult",
    "CHILLERS",
    "AHRI_LEAVING_CHW_TEMP_C",
    "AHRI_ENTERING_CW_TEMP_C",
    "chiller_eir",
    "CoolingTowerSpec",
    "TowerResult",
    "yorkcalc_approach_k",
    "tower_design_liquid_to_gas_ratio",
    "cooling_tower",
    "latent_heat_vaporization_j_kg",
    "tower_water_use_kg_s",
    "economizer_fraction",
    "PlantSpec",
    "PlantResult",
    "design_plant",
    "plant_step",
]

#: AHRI Standard 550/590 (I-P) standard rating conditions for water-cooled chillers:
#: 44 °F leaving chilled water, 85 °F entering condenser water.
AHRI_LEAVING_CHW_TEMP_C = 6.67
AHRI_ENTERING_CW_TEMP_C = 29.44


# --- performance curves --------------------------------------------------------------------
@dataclass(frozen=True)
class Biquadratic:
    """EnergyPlus ``Curve:Biquadratic``: ``c0 + c1 x + c2 x² + c3 y + c4 y² + c5 x y``.

    Inputs outside ``[x_min, x_max] x [y_min, y_max]`` are clamped to the bounds with a
    :class:`~twin.models.airside.CurveRangeWarning`, as EnergyPlus does (EnergyPlus
    Input Output Reference, ``Curve:Biquadratic``: "minimum/maximum value of x/y").
    """

    coefficients: tuple
    x_min: float = -np.inf
    x_max: float = np.inf
    y_min: float = -np.inf
    y_max: float = np.inf
    label: str = "biquadratic"

    def __post_init__(self):
        c = tuple(float(v) for v in self.coefficients)
        if len(c) != 6:
            raise InputError(f"{self.label}: a biquadratic needs 6 coefficients, got {len(c)}")
        object.__setattr__(self, "coefficients", c)

    def __call__(self, x, y, *, x_name="x", y_name="y"):
        x = clamp_warn(x_name, np.asarray(x, dtype=float), self.x_min, self.x_max, self.label)
        y = clamp_warn(y_name, np.asarray(y, dtype=float), self.y_min, self.y_max, self.label)
        c0, c1, c2, c3, c4, c5 = self.coefficients
        return c0 + c1 * x + c2 * x * x + c3 * y + c4 * y * y + c5 * x * y


@dataclass(frozen=True)
class Quadratic:
    """EnergyPlus ``Curve:Quadratic``: ``c0 + c1 x + c2 x²`` (no clamping; see caller)."""

    coefficients: tuple
    label: str = "quadratic"

    def __post_init__(self):
        c = tuple(float(v) for v in self.coefficients)
        if len(c) != 3:
            raise InputError(f"{self.label}: a quadratic needs 3 coefficients, got {len(c)}")
        object.__setattr__(self, "coefficients", c)

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        c0, c1, c2 = self.coefficients
        return c0 + c1 * x + c2 * x * x


# --- chiller ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChillerEIRSpec:
    """Water-cooled electric chiller in the EnergyPlus ``Chiller:Electric:EIR`` form.

    Parameters
    ----------
    name : str
    reference_capacity_w : float
        Evaporator capacity at the reference temperatures [W].
    reference_cop : float
        Evaporator heat over compressor power at the reference point and PLR = 1 [-].
    reference_leaving_chw_temp_c : float
        Leaving chilled-water temperature of the reference point [°C].
    reference_entering_cw_temp_c : float
        Entering condenser-water temperature of the reference point [°C].
    capft : Biquadratic
        Capacity modifier f(T_chw,l, T_cw,e), 1 at the reference point.
    eirft : Biquadratic
        EIR modifier f(T_chw,l, T_cw,e), 1 at the reference point.
    eirfplr : Quadratic
        Power fraction f(PLR), 1 at PLR = 1.
    min_plr, max_plr : float
        Part-load limits; below ``min_plr`` the compressor cycles.
    reference_chw_flow_m3_s, reference_cw_flow_m3_s : float
        Evaporator and condenser flows of the reference point [m³/s].
    source : str
    """

    name: str
    reference_capacity_w: float
    reference_cop: float
    reference_leaving_chw_temp_c: float
    reference_entering_cw_temp_c: float
    capft: Biquadratic
    eirft: Biquadratic
    eirfplr: Quadratic
    min_plr: float = 0.1
    max_plr: float = 1.0
    reference_chw_flow_m3_s: float = 0.0
    reference_cw_flow_m3_s: float = 0.0
    source: str = ""

    def __post_init__(self):
        rec = f"ChillerEIRSpec {self.name!r}"
        check_param(rec, "reference_capacity_w", self.reference_capacity_w, 0.0, lo_open=True)
        check_param(rec, "reference_cop", self.reference_cop, 0.0, 20.0, lo_open=True)
        check_param(rec, "min_plr", self.min_plr, 0.0, 1.0)
        check_param(rec, "max_plr", self.max_plr, max(self.min_plr, 1e-6), 2.0)

    def scaled(self, capacity_w: float) -> "ChillerEIRSpec":
        """The same chiller scaled to another reference capacity (curves unchanged)."""
        k = check_param(f"ChillerEIRSpec {self.name!r}", "capacity_w", capacity_w, 0.0,
                         lo_open=True) / self.reference_capacity_w
        return replace(self, name=f"{self.name} scaled to {capacity_w / 1e3:.0f} kW",
                       reference_capacity_w=capacity_w,
                       reference_chw_flow_m3_s=self.reference_chw_flow_m3_s * k,
                       reference_cw_flow_m3_s=self.reference_cw_flow_m3_s * k)

    @property
    def min_entering_cw_temp_c(self) -> float:
        """Lowest entering condenser-water temperature of the curves' range [°C]."""
        return float(self.capft.y_min) if np.isfinite(self.capft.y_min) else 12.0


def _chiller_record(name, cap_w, cop, t_chw, t_cw, capft, eirft, eirfplr, plr_min, plr_max,
                    chw_m3_s, cw_m3_s, x_rng, y_rng, source):
    lab = f"chiller {name!r}"
    return ChillerEIRSpec(
        name=name, reference_capacity_w=cap_w, reference_cop=cop,
        reference_leaving_chw_temp_c=t_chw, reference_entering_cw_temp_c=t_cw,
        capft=Biquadratic(capft, *x_rng, *y_rng, label=f"{lab} CAPFT"),
        eirft=Biquadratic(eirft, *x_rng, *y_rng, label=f"{lab} EIRFT"),
        eirfplr=Quadratic(eirfplr, label=f"{lab} EIRFPLR"),
        min_plr=plr_min, max_plr=plr_max, reference_chw_flow_m3_s=chw_m3_s,
        reference_cw_flow_m3_s=cw_m3_s, source=source)


#: Chiller records by name. Coefficients as published; x = leaving chilled-water
#: temperature [°C], y = entering condenser-water temperature [°C].
CHILLERS = {
    # EnergyPlus dataset Chillers.idf, "ElectricEIRChiller York YT 1758kW/6.28COP/Vanes";
    # the same numbers in Modelica Buildings
    # Buildings.Fluid.Chillers.Data.ElectricEIR.ElectricEIRChiller_York_YT_1758kW_6_28COP_Vanes.
    # Reference point = AHRI 550/590 (6.67 °C / 29.44 °C). As published, CAPFT = 0.950 and
    # EIRFT = 0.995 at the reference point (EnergyPlus accepts +-10 %).
    "york-yt-1758kw-6.28cop": _chiller_record(
        "york-yt-1758kw-6.28cop", 1_758_300.0, 6.28, 6.67, 29.44,
        (7.079149e-01, -2.006276e-03, -2.596043e-03, 3.005922e-02, -1.056423e-03, 2.045705e-03),
        (5.605391e-01, -1.377994e-02, 6.569542e-05, 1.321951e-02, 2.686074e-04, -5.011451e-04),
        (1.861223e-01, 5.482049e-01, 2.647377e-01), 0.20, 1.06, 0.07571, 0.09464,
        (4.44, 8.89), (15.56, 35.00),
        "EnergyPlus Chillers.idf 'ElectricEIRChiller York YT 1758kW/6.28COP/Vanes' "
        "(= Modelica Buildings ElectricEIRChiller_York_YT_1758kW_6_28COP_Vanes)"),
    # EnergyPlus dataset Chillers.idf, "ElectricEIRChiller Trane CVHF 2799kW/6.40COP/Vanes";
    # Modelica Buildings ElectricEIRChiller_Trane_CVHF_2799kW_6_40COP_Vanes. Reference point
    # 6.67 °C / 26.11 °C; CAPFT and EIRFT within 0.4 % of 1 there.
    "trane-cvhf-2799kw-6.40cop": _chiller_record(
        "trane-cvhf-2799kw-6.40cop", 2_799_200.0, 6.40, 6.67, 26.11,
        (2.210324e-01, -2.752320e-02, 4.903763e-04, 7.337449e-02, -1.919426e-03, 1.935659e-03),
        (2.267558e-01, -7.615857e-02, 2.140583e-03, 7.088812e-02, -1.124968e-03, 6.089843e-04),
        (3.023576e-01, -2.893592e-02, 7.262269e-01), 0.20, 1.04, 0.09893, 0.13761,
        (4.44, 8.89), (15.56, 29.44),
        "EnergyPlus Chillers.idf 'ElectricEIRChiller Trane CVHF 2799kW/6.40COP/Vanes' "
        "(= Modelica Buildings ElectricEIRChiller_Trane_CVHF_2799kW_6_40COP_Vanes)"),
}


@dataclass(frozen=True)
class ChillerResult:
    """One chiller's operating point (arrays of the broadcast input shape, or floats)."""

    power_w: np.ndarray
    evaporator_heat_w: np.ndarray
    condenser_heat_w: np.ndarray
    cop: np.ndarray
    plr: np.ndarray
    available_capacity_w: np.ndarray
    unmet_heat_w: np.ndarray


def chiller_eir(load_w, leaving_chw_temp_c, entering_cw_temp_c, spec: ChillerEIRSpec) -> ChillerResult:
    """Compressor power of a chiller meeting an evaporator load (EnergyPlus EIR model).

    Parameters
    ----------
    load_w : array_like
        Heat asked of the evaporator [W], >= 0.
    leaving_chw_temp_c : array_like
        Leaving chilled-water temperature [°C].
    entering_cw_temp_c : array_like
        Entering condenser-water temperature [°C].
    spec : ChillerEIRSpec

    Returns
    -------
    ChillerResult
        ``available = Q_ref CAPFT``; ``PLR = Q / available`` (capped at ``max_plr``, the
        excess is ``unmet_heat_w``); ``P = available / COP_ref * EIRFT * EIRFPLR(max(PLR,
        PLR_min)) * min(PLR / PLR_min, 1)``; ``condenser_heat = evaporator_heat + P``
        (hermetic motor: all motor heat enters the refrigerant); ``cop = Q / P`` (NaN at
        zero load).

    Notes
    -----
    EnergyPlus Engineering Reference, "Electric Chiller Model Based on Fluid Temperature
    Curves" (``Chiller:Electric:EIR``; Hydeman et al. 2002, "Development and testing of
    a reformulated regression-based electric chiller model", ASHRAE Trans. 108(2)).
    Curve inputs are clamped to the record's bounds with a warning; below the minimum PLR
    the compressor cycles (false loading and its extra condenser heat are not modelled).
    """
    q = as_array("load_w", load_w, nonnegative=True)
    t_chw = as_array("leaving_chw_temp_c", leaving_chw_temp_c)
    t_cw = as_array("entering_cw_temp_c", entering_cw_temp_c)
    q, t_chw, t_cw = np.broadcast_arrays(q, t_chw, t_cw)
    capft = spec.capft(t_chw, t_cw, x_name="leaving_chw_temp_c", y_name="entering_cw_temp_c")
    eirft = spec.eirft(t_chw, t_cw, x_name="leaving_chw_temp_c", y_name="entering_cw_temp_c")
    avail = spec.reference_capacity_w * np.maximum(capft, 1e-6)
    q_max = avail * spec.max_plr
    served = np.minimum(q, q_max)
    unmet = q - served
    plr = served / avail
    plr_eff = np.maximum(plr, spec.min_plr)
    cycling = np.where(spec.min_plr > 0.0, np.minimum(plr / max(spec.min_plr, 1e-12), 1.0), 1.0)
    power = avail / spec.reference_cop * eirft * spec.eirfplr(plr_eff) * cycling
    power = np.where(served > 0.0, np.maximum(power, 0.0), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cop = np.where(power > 0.0, served / np.where(power > 0, power, 1.0), np.nan)
    return ChillerResult(power_w=scalar_or_array(power), evaporator_heat_w=scalar_or_array(served),
                         condenser_heat_w=scalar_or_array(served + power), cop=scalar_or_array(cop), plr=scalar_or_array(plr),
                         available_capacity_w=scalar_or_array(avail), unmet_heat_w=scalar_or_array(unmet))


# --- cooling tower -----------------------------------------------------------------------------
#: YorkCalc approach correlation (27 coefficients), EnergyPlus ``CoolingTower:VariableSpeed``
#: with model type YorkCalc (EnergyPlus Engineering Reference, "Variable Speed Cooling
#: Towers -- YorkCalc model"; also Modelica Buildings
#: ``Fluid.HeatExchangers.CoolingTowers.Correlations.yorkCalc``). Order: for LG^0..2, for
#: range^0..2, for Twb^0..2.
_YORKCALC = np.array([
    -0.359741205, -0.055053608, 0.0023850432,
    0.173926877, -0.0248473764, 0.00048430224,
    -0.005589849456, 0.0005770079712, -0.00001342427256,
    2.84765801111111, -0.121765149, 0.0014599242,
    1.680428651, -0.0166920786, -0.0007190532,
    -0.025485194448, 0.0000487491696, 0.00002719234152,
    -0.0653766255555556, -0.002278167, 0.0002500254,
    -0.0910565458, 0.00318176316, 0.000038621772,
    -0.0034285382352, 0.00000856589904, -0.000001516821552,
])
#: YorkCalc bounds as set by EnergyPlus (CondenserLoopTowers.cc).
YORKCALC_WET_BULB_C = (-34.4, 29.4444)
YORKCALC_RANGE_K = (1.1111, 22.2222)
YORKCALC_APPROACH_K = (1.1111, 40.0)
YORKCALC_WATER_FLOW_RATIO = (0.75, 1.25)
YORKCALC_MAX_LIQUID_TO_GAS = 8.0


def yorkcalc_approach_k(wet_bulb_c, range_k, liquid_to_gas_ratio, *, warn: bool = True):
    """Cooling-tower approach by the YorkCalc correlation.

    Parameters
    ----------
    wet_bulb_c : array_like
        Entering air wet bulb [°C]; fitted -34.4..29.44 °C.
    range_k : array_like
        Entering minus leaving water temperature [K]; fitted 1.11..22.22 K.
    liquid_to_gas_ratio : array_like
        Water-flow ratio over air-flow ratio [-]; fitted up to 8.
    warn : bool
        Warn when inputs are clamped to the fitted range.

    Returns
    -------
    ndarray or float
        Leaving water minus entering wet bulb [K]:
        ``sum_{l,r,w} c[9l + 3r + w] LG^l R^r Twb^w``.
    """
    clamp = clamp_warn if warn else (lambda n, a, lo, hi, m: np.clip(a, lo, hi))
    twb = clamp("wet_bulb_c", np.asarray(wet_bulb_c, dtype=float), *YORKCALC_WET_BULB_C, "YorkCalc tower")
    rng = clamp("range_k", np.asarray(range_k, dtype=float), *YORKCALC_RANGE_K, "YorkCalc tower")
    lg = clamp("liquid_to_gas_ratio", np.asarray(liquid_to_gas_ratio, dtype=float), 0.0,
               YORKCALC_MAX_LIQUID_TO_GAS, "YorkCalc tower")
    w = (np.ones_like(twb), twb, twb * twb)
    r = (np.ones_like(rng), rng, rng * rng)
    g = (np.ones_like(lg), lg, lg * lg)
    out = np.zeros(np.broadcast(twb, rng, lg).shape)
    k = 0
    for gl in g:
        for rr in r:
            for ww in w:
                out = out + _YORKCALC[k] * gl * rr * ww
                k += 1
    return scalar_or_array(out)


@functools.lru_cache(maxsize=64)
def _calibrate_lg(wet_bulb_c: float, range_k: float, approach_k: float) -> float:
    lo, hi = 0.05, YORKCALC_MAX_LIQUID_TO_GAS
    f = lambda lg: float(yorkcalc_approach_k(wet_bulb_c, range_k, lg, warn=False)) - approach_k
    if f(lo) > 0.0 or f(hi) < 0.0:
        raise InputError(
            f"cooling tower: design approach {approach_k:g} K at wet bulb {wet_bulb_c:g} °C and "
            f"range {range_k:g} K is outside what YorkCalc can represent; use an approach "
            "between about 2 and 10 K")
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if f(mid) < 0.0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class CoolingTowerSpec:
    """Variable-speed open cooling tower (YorkCalc), by its design point.

    Parameters
    ----------
    name : str
    design_heat_w : float
        Heat rejected at the design point [W].
    design_wet_bulb_c : float
        Design entering wet bulb [°C] (EnergyPlus default 25.6 °C).
    design_range_k : float
        Design range [K] (EnergyPlus default 5.6 K).
    design_approach_k : float
        Design approach [K] (EnergyPlus default 3.9 K).
    design_fan_power_w : float, optional
        Fan power at full airflow [W]; default ``0.0105 * design_heat_w`` (the EnergyPlus
        autosizing factor for tower and fluid-cooler fans).
    min_airflow_fraction : float
        Lowest fan airflow fraction (EnergyPlus default 0.2).
    drift_fraction : float
        Drift loss over circulating water flow [-] (EnergyPlus default 0.008 %).
    cycles_of_concentration : float
        Blowdown control, >1 [-] (EnergyPlus default 3; 3-6 typical).
    n_cells : int
        Identical cells sharing the design heat (EnergyPlus "Number of Cells").
    cell_control : str
        ``"maximal"``: every cell runs whenever there is heat, each at its design water
        flow (ASHRAE 90.1-2013 §6.5.2.2 asks multicell towers with variable-speed fans to
        run as many cells as the flow allows; best approach, lowest fan power, but a small
        range at part load). ``"minimal"``: the fewest cells that can take the heat run,
        each at design flow, keeping the range near design. (EnergyPlus "Cell Control":
        MaximalCell / MinimalCell.)
    evaporation_method : str
        ``"latent"``: ``m_evap = Q / h_fg(T_leaving)`` (all rejected heat as latent heat,
        an upper bound); ``"loss_factor"``: EnergyPlus "LossFactor" mode,
        ``m_evap = 0.002 /K * range * m_water``.
    source : str
    """

    name: str
    design_heat_w: float
    design_wet_bulb_c: float = 25.6
    design_range_k: float = 5.6
    design_approach_k: float = 3.9
    design_fan_power_w: float | None = None
    min_airflow_fraction: float = 0.2
    drift_fraction: float = 0.00008
    cycles_of_concentration: float = 4.0
    n_cells: int = 1
    cell_control: str = "maximal"
    evaporation_method: str = "latent"
    source: str = ""

    def __post_init__(self):
        rec = f"CoolingTowerSpec {self.name!r}"
        check_param(rec, "design_heat_w", self.design_heat_w, 0.0, lo_open=True)
        check_param(rec, "design_wet_bulb_c", self.design_wet_bulb_c, *YORKCALC_WET_BULB_C)
        check_param(rec, "design_range_k", self.design_range_k, *YORKCALC_RANGE_K)
        check_param(rec, "design_approach_k", self.design_approach_k, *YORKCALC_APPROACH_K)
        check_param(rec, "min_airflow_fraction", self.min_airflow_fraction, 0.0, 1.0, lo_open=True)
        check_param(rec, "drift_fraction", self.drift_fraction, 0.0, 0.01)
        check_param(rec, "cycles_of_concentration", self.cycles_of_concentration, 1.0, 50.0, lo_open=True)
        if int(self.n_cells) != self.n_cells or self.n_cells < 1:
            raise InputError(f"{rec}: n_cells = {self.n_cells!r}; need an integer >= 1")
        if self.cell_control not in ("maximal", "minimal"):
            raise InputError(f"{rec}: cell_control {self.cell_control!r}; use 'maximal' or 'minimal'")
        if self.evaporation_method not in ("latent", "loss_factor"):
            raise InputError(f"{rec}: evaporation_method {self.evaporation_method!r}; use "
                             "'latent' or 'loss_factor'")
        if self.design_fan_power_w is None:
            object.__setattr__(self, "design_fan_power_w", 0.0105 * self.design_heat_w)
        check_param(rec, "design_fan_power_w", self.design_fan_power_w, 0.0)
        tower_design_liquid_to_gas_ratio(self)   # raises if the design point is infeasible

    @property
    def design_water_flow_kg_s(self) -> float:
        """Condenser-water flow at the design point, all cells [kg/s]: ``Q_d / (cp range_d)``."""
        return self.design_heat_w / (WATER_CP_J_KG_K * self.design_range_k)

    def cells_on(self, heat_w):
        """Cells running for a heat: all (``"maximal"``) or ``clip(ceil(Q / Q_cell), 1, n)``
        (``"minimal"``); 0 without heat."""
        q = np.asarray(heat_w, dtype=float)
        if self.cell_control == "maximal":
            n = np.full(q.shape, float(self.n_cells))
        else:
            q_cell = self.design_heat_w / self.n_cells
            n = np.clip(np.ceil(q / q_cell - 1e-9), 1, self.n_cells)
        return np.where(q > 0.0, n, 0.0)


def tower_design_liquid_to_gas_ratio(spec: CoolingTowerSpec) -> float:
    """YorkCalc liquid-to-gas ratio that gives the design approach at full airflow.

    EnergyPlus calibrates a YorkCalc tower the same way: at the design wet bulb and range
    and an airflow ratio of 1 it solves for the water-flow ratio that reproduces the
    design approach, then scales actual water flows by it (EnergyPlus Engineering
    Reference, "Variable Speed Cooling Towers", model calibration).
    """
    return _calibrate_lg(float(spec.design_wet_bulb_c), float(spec.design_range_k),
                         float(spec.design_approach_k))


@dataclass(frozen=True)
class TowerResult:
    """Cooling-tower operating point (arrays of the broadcast input shape, or floats)."""

    leaving_temp_c: np.ndarray
    entering_temp_c: np.ndarray
    range_k: np.ndarray
    approach_k: np.ndarray
    airflow_fraction: np.ndarray
    fan_power_w: np.ndarray
    heat_w: np.ndarray
    cells_on: np.ndarray
    water_flow_kg_s: np.ndarray
    evaporation_kg_s: np.ndarray
    drift_kg_s: np.ndarray
    blowdown_kg_s: np.ndarray


def latent_heat_vaporization_j_kg(temp_c):
    """Latent heat of vaporization of water [J/kg].

    ``h_fg = 2.501e6 - 2361 T`` (linear fit to the IAPWS-IF97 saturation table,
    0-60 °C, within 0.1 %; 2430 kJ/kg at 30 °C).
    """
    t = np.asarray(temp_c, dtype=float)
    return scalar_or_array(2.501e6 - 2361.0 * t)


def tower_water_use_kg_s(heat_w, leaving_temp_c, range_k, water_flow_kg_s, spec: CoolingTowerSpec):
    """Evaporation, drift and blowdown of an open cooling tower [kg/s each].

    Parameters
    ----------
    heat_w : array_like
        Heat rejected by the tower [W].
    leaving_temp_c : array_like
        Leaving water temperature [°C] (where ``h_fg`` is taken).
    range_k : array_like
        Water range [K] (for the loss-factor method).
    water_flow_kg_s : array_like
        Circulating water flow [kg/s].
    spec : CoolingTowerSpec

    Returns
    -------
    (evaporation, drift, blowdown) : tuple of arrays
        ``evap = Q / h_fg`` (or ``0.002 R m`` for ``"loss_factor"``);
        ``drift = f_drift m``; ``blowdown = max(evap / (N - 1) - drift, 0)`` with ``N`` the
        cycles of concentration (EnergyPlus Engineering Reference, "Cooling Towers --
        Tower basin makeup water": "ConcentrationRatio" blowdown mode).

    Notes
    -----
    The latent method gives 1.48 L per kWh rejected at 30 °C; the EnergyPlus loss-factor
    default (0.2 %/K) gives 1.72 L/kWh: together they bracket the 1.5-1.8 L/kWh usually
    quoted for evaporation.
    """
    q = np.maximum(np.asarray(heat_w, dtype=float), 0.0)
    m = np.asarray(water_flow_kg_s, dtype=float)
    if spec.evaporation_method == "latent":
        evap = q / latent_heat_vaporization_j_kg(leaving_temp_c)
    else:
        evap = 0.002 * np.asarray(range_k, dtype=float) * m
    drift = np.where(q > 0.0, spec.drift_fraction * m, 0.0)
    blow = np.maximum(evap / (spec.cycles_of_concentration - 1.0) - drift, 0.0)
    return evap, drift, blow


def cooling_tower(heat_w, wet_bulb_c, leaving_setpoint_c, spec: CoolingTowerSpec,
                  water_flow_kg_s=None) -> TowerResult:
    """Variable-speed cooling tower holding a leaving-water set-point (YorkCalc).

    Parameters
    ----------
    heat_w : array_like
        Heat to reject [W], >= 0.
    wet_bulb_c : array_like
        Outdoor wet bulb [°C].
    leaving_setpoint_c : array_like
        Wanted leaving (condenser supply) water temperature [°C].
    spec : CoolingTowerSpec
    water_flow_kg_s : array_like, optional
        Circulating water flow through all cells [kg/s]. When omitted, the cells of
        :meth:`CoolingTowerSpec.cells_on` run, each at its design flow.

    Returns
    -------
    TowerResult
        The fan airflow fraction ``a`` in ``[a_min, 1]`` is the lowest that reaches the
        set-point: ``T_wb + approach(T_wb, R, LG_d m/m_d / a) = T_set``; at full fan and a
        set-point out of reach the water leaves at ``T_wb + approach(a=1)``; at minimum fan
        it may leave colder than the set-point. Fan power ``P_d (cells_on / n_cells) a^3``
        (cube law, as the usual EnergyPlus fan-power-ratio curve). Water use per
        :func:`tower_water_use_kg_s`.

    Notes
    -----
    YorkCalc correlation and its calibration to the design point as in EnergyPlus
    ``CoolingTower:VariableSpeed`` (EnergyPlus Engineering Reference). Fitted for wet bulb
    -34.4..29.4 °C, range 1.1..22.2 K, water-flow ratio 0.75..1.25, LG <= 8; inputs
    outside are clamped with a warning. Free convection with the fan off is not modelled.
    """
    q = as_array("heat_w", heat_w, nonnegative=True)
    twb = as_array("wet_bulb_c", wet_bulb_c)
    tset = as_array("leaving_setpoint_c", leaving_setpoint_c)
    if water_flow_kg_s is None:
        cells = spec.cells_on(q)
        m = np.maximum(cells, 1.0) * spec.design_water_flow_kg_s / spec.n_cells
    else:
        m = as_array("water_flow_kg_s", water_flow_kg_s, positive=True)
        cells = np.where(q > 0.0, float(spec.n_cells), 0.0)
    q, twb, tset, m, cells = np.broadcast_arrays(q, twb, tset, m, cells)
    lg_d = tower_design_liquid_to_gas_ratio(spec)
    # water-flow ratio per running cell
    fr_w = lg_d * m / (np.maximum(cells, 1.0) * spec.design_water_flow_kg_s / spec.n_cells)
    clamp_warn("water flow ratio", fr_w, *YORKCALC_WATER_FLOW_RATIO, "YorkCalc tower")
    on = q > 0.0
    rng = q / (m * WATER_CP_J_KG_K)
    twb_c = clamp_warn("wet_bulb_c", twb, *YORKCALC_WET_BULB_C, "YorkCalc tower")
    rng_c = np.where(on, clamp_warn("range_k", np.where(on, rng, YORKCALC_RANGE_K[0]),
                                     *YORKCALC_RANGE_K, "YorkCalc tower"), YORKCALC_RANGE_K[0])

    def app(a):
        return np.asarray(yorkcalc_approach_k(twb_c, rng_c, fr_w / a, warn=False))

    need = tset - twb
    app_full = app(1.0)
    app_min = app(spec.min_airflow_fraction)
    lo = np.full(q.shape, spec.min_airflow_fraction)
    hi = np.ones(q.shape)
    for _ in range(40):  # approach falls as airflow rises
        mid = 0.5 * (lo + hi)
        too_warm = app(mid) > need
        lo = np.where(too_warm, mid, lo)
        hi = np.where(too_warm, hi, mid)
    a = np.where(app_full >= need, 1.0, np.where(app_min <= need, spec.min_airflow_fraction, hi))
    approach = np.where(app_full >= need, app_full, np.where(app_min <= need, app_min, need))
    a = np.where(on, a, 0.0)
    t_leave = twb + approach
    t_enter = t_leave + np.where(on, rng, 0.0)
    evap, drift, blow = tower_water_use_kg_s(q, t_leave, rng, m, spec)
    return TowerResult(
        leaving_temp_c=scalar_or_array(t_leave), entering_temp_c=scalar_or_array(t_enter), range_k=scalar_or_array(np.where(on, rng, 0.0)),
        approach_k=scalar_or_array(approach), airflow_fraction=scalar_or_array(a),
        fan_power_w=scalar_or_array(spec.design_fan_power_w * cells / spec.n_cells * a**3),
        heat_w=scalar_or_array(q), cells_on=scalar_or_array(cells), water_flow_kg_s=scalar_or_array(np.where(on, m, 0.0)),
        evaporation_kg_s=scalar_or_array(evap), drift_kg_s=scalar_or_array(drift), blowdown_kg_s=scalar_or_array(blow))


# --- water-side economizer ------------------------------------------------------------------
def economizer_fraction(return_temp_c, supply_setpoint_c, cooling_water_temp_c, hx_approach_k):
    """Share of a loop's heat a plate heat exchanger to the condenser water can take.

    Parameters
    ----------
    return_temp_c : array_like
        Loop return temperature entering the exchanger [°C].
    supply_setpoint_c : array_like
        Loop supply set-point [°C].
    cooling_water_temp_c : array_like
        Condenser (tower) water entering the exchanger [°C] (= wet bulb + tower approach).
    hx_approach_k : float
        Exchanger approach [K].

    Returns
    -------
    ndarray or float
        ``f = clip((T_ret - (T_cw + dT_hx)) / (T_ret - T_set), 0, 1)``: 1 (full free
        cooling) when ``T_wb + approach_tower + approach_hx <= T_set``, partial between,
        0 when the condenser water is no colder than the return (ASHRAE 90.1 integrated
        water-side economizer in series with the chillers).
    """
    t_r = np.asarray(return_temp_c, dtype=float)
    t_s = np.asarray(supply_setpoint_c, dtype=float)
    t_hx = np.asarray(cooling_water_temp_c, dtype=float) + hx_approach_k
    span = t_r - t_s
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(span > 1e-9, (t_r - t_hx) / np.where(span > 1e-9, span, 1.0),
                     np.where(t_hx <= t_s, 1.0, 0.0))
    return scalar_or_array(np.clip(f, 0.0, 1.0))


# --- plant -------------------------------------------------------------------------------------
_LIQUID_REJECTION = ("dry_cooler", "tower", "chiller")
#: Heat per cooling-tower cell used by :func:`design_plant` [W] (est.: field-erected
#: cells of about 1000 tons of rejection).
TOWER_CELL_HEAT_W = 3.5e6


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
        Tower leaving set-point while only chillers use it [°C].
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

    @property
    def chw_design_flow_kg_s(self) -> float:
        """Chilled-water design flow, all chillers together [kg/s]."""
        return self.n_chillers * self.chiller.reference_capacity_w / (WATER_CP_J_KG_K * self.chw_design_delta_t_k)

    @property
    def facility_flow_kg_s(self) -> float:
        """Constant liquid-loop (facility water) flow [kg/s]."""
        return self.liquid_design_heat_w / (WATER_CP_J_KG_K * self.facility_design_delta_t_k)


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
    any user needs. Passes are under-relaxed; energy closes on every pass because all
    reported heats come from the same final values.
    """
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
    t_ct = t_wb + spec.tower.design_approach_k
    p_cw_pump_d = spec.cw_pump.design_power_w
    for it in range(max(int(iterations), 1)):
        f_chw = (np.asarray(economizer_fraction(t_cold_ret, spec.chw_supply_temp_c, t_ct, spec.hx_approach_k))
                 if spec.economizer else np.zeros(shape)) * np.ones(shape)
        f_chw = np.where(q_cold > 0.0, f_chw, 0.0)
        f_trim = np.asarray(economizer_fraction(t_fw_after_dry, spec.facility_supply_temp_c, t_ct,
                                                spec.hx_approach_k)) * np.ones(shape)
        f_trim = np.where(q_trim > 0.0, f_trim, 0.0)
        q_mech = (1.0 - f_chw) * q_cold + (1.0 - f_trim) * q_trim
        # stage chillers: fewest units with PLR <= 1 each
        t_ecw = np.maximum(t_ct, t_cw_min)
        with warnings.catch_warnings():
            if it < max(int(iterations), 1) - 1:
                warnings.simplefilter("ignore", CurveRangeWarning)
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
        target = np.full(shape, spec.cw_supply_setpoint_c)
        if spec.economizer:
            wse_useful = (q_cold > 0.0) & (t_wb + spec.tower.design_approach_k + spec.hx_approach_k < t_cold_ret)
            target = np.where(wse_useful, np.minimum(target, spec.chw_supply_temp_c - spec.hx_approach_k), target)
        trim_useful = q_trim > 0.0
        target = np.where(trim_useful, np.minimum(target, spec.facility_supply_temp_c - spec.hx_approach_k), target)
        with warnings.catch_warnings():
            if it < max(int(iterations), 1) - 1:
                warnings.simplefilter("ignore", CurveRangeWarning)
            tr = cooling_tower(q_tower, t_wb, target, spec.tower)
        t_new = np.asarray(tr.leaving_temp_c) * np.ones(shape)
        t_ct = t_new if it == 0 else 0.5 * (t_ct + t_new)

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
    )
