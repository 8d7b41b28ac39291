"""Electric chillers: the DOE-2 EIR model (performance curves of capacity and
efficiency over temperatures and part load) and a library of rated chillers.

Sources: DOE-2.2 Reference Manual, vol. 2 (chiller EIR model); EnergyPlus Engineering
Reference, Chiller:Electric:EIR; AHRI Standard 550/590 rating conditions."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from common.errors import InputError

from .inputs import as_array, check_param, clamp_warn, scalar_or_array

__all__ = ["Biquadratic", "Quadratic", "ChillerEIRSpec", "ChillerResult", "CHILLERS",
           "AHRI_LEAVING_CHW_TEMP_C", "AHRI_ENTERING_CW_TEMP_C", "chiller_eir"]




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
