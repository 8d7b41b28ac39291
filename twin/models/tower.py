"""Cooling towers (YorkCalc approach model, variable-speed cells, water use by
evaporation, drift and blowdown) and the water-side economizer."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from common.errors import InputError
from common.fluids import WATER_CP_J_KG_K

from .inputs import as_array, check_param, clamp_warn, scalar_or_array

__all__ = ["CoolingTowerSpec", "TowerResult", "yorkcalc_approach_k",
           "tower_design_liquid_to_gas_ratio", "cooling_tower",
           "latent_heat_vaporization_j_kg", "tower_water_use_kg_s",
           "economizer_fraction"]




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


#: Bisection steps of the tower's fallback root search: ``(1 - a_min) 2^-40`` < 1e-12 in
#: airflow fraction.
TOWER_BISECTION_STEPS = 40


def _yorkcalc_lg_polynomial(wet_bulb_c, range_k):
    """YorkCalc's approach as a quadratic in LG at a fixed wet bulb and range:
    ``(c0, c1, c2)`` with ``approach = c0 + c1 LG + c2 LG^2`` [K] (the 27-term sum of
    :func:`yorkcalc_approach_k` grouped by powers of LG; inputs already clamped)."""
    twb = np.asarray(wet_bulb_c, dtype=float)
    rng = np.asarray(range_k, dtype=float)
    w = (1.0, twb, twb * twb)
    r = (1.0, rng, rng * rng)
    coef = []
    for lg_power in range(3):
        c = np.zeros(np.broadcast(twb, rng).shape)
        for j, rr in enumerate(r):
            for m, ww in enumerate(w):
                c = c + _YORKCALC[9 * lg_power + 3 * j + m] * rr * ww
        coef.append(c)
    return coef


def _airflow_for_approach(twb_c, rng_c, fr_w, need, a_min, between, app):
    """Fan airflow fraction ``a`` in ``[a_min, 1]`` with ``approach(LG = fr_w / a) = need``,
    where ``between`` (the approach at full fan is below ``need``, at minimum fan above).

    YorkCalc is a quadratic in LG at a given wet bulb and range
    (:func:`_yorkcalc_lg_polynomial`), so the root is closed-form: with the approach below
    ``need`` at one end of ``[fr_w, min(fr_w / a_min, LG_max)]`` and above it at the other,
    the quadratic has exactly one root there (the numerically stable pair of formulas,
    Press et al., Numerical Recipes 3rd ed. 2007, sec. 5.6). Elements whose root falls
    outside that bracket by more than 1e-9 of it (round-off at a double root) are solved by
    bisection, :data:`TOWER_BISECTION_STEPS` steps. The closed form and the 40-step
    bisection it replaced agree to 1e-12 in ``a`` (``tests/unit/test_plant.py``).
    """
    shape = need.shape
    out = np.ones(shape)
    if not np.any(between):
        return out
    lg_lo = fr_w
    lg_hi = np.minimum(fr_w / a_min, YORKCALC_MAX_LIQUID_TO_GAS)
    c0, c1, c2 = (np.broadcast_to(c, shape) for c in _yorkcalc_lg_polynomial(twb_c, rng_c))
    c0 = c0 - need
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = c1 * c1 - 4.0 * c2 * c0
        half = -0.5 * (c1 + np.copysign(np.sqrt(np.maximum(disc, 0.0)), c1))
        r1 = half / c2
        r2 = c0 / half
        slack = 1e-9 * (lg_hi - lg_lo)
        in1 = np.isfinite(r1) & (r1 >= lg_lo - slack) & (r1 <= lg_hi + slack)
        in2 = np.isfinite(r2) & (r2 >= lg_lo - slack) & (r2 <= lg_hi + slack)
        lg = np.clip(np.where(in1, r1, r2), lg_lo, lg_hi)
        ok = between & (disc >= 0.0) & (in1 | in2)
        out = np.where(ok, fr_w / np.where(ok, lg, 1.0), out)
    bad = between & ~ok
    if np.any(bad):  # bisection on the few left: approach falls as airflow rises
        lo = np.full(shape, a_min)
        hi = np.ones(shape)
        for _ in range(TOWER_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            too_warm = app(mid) > need
            lo = np.where(too_warm, mid, lo)
            hi = np.where(too_warm, hi, mid)
        out = np.where(bad, hi, out)
    return out


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
    The airflow is the closed-form root of YorkCalc, a quadratic in LG
    (:func:`_airflow_for_approach`; bisection only where round-off leaves no root).
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
    between = (app_full < need) & (app_min > need)
    a_root = _airflow_for_approach(twb_c, rng_c, fr_w, need, spec.min_airflow_fraction, between, app)
    a = np.where(app_full >= need, 1.0, np.where(app_min <= need, spec.min_airflow_fraction, a_root))
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
