"""Wind: hub-height wind speed, turbine power curves and farm output (the Ulsan
offshore farm), with the quantile mapping of site winds."""
from __future__ import annotations

from dataclasses import dataclass
from math import gamma

import numpy as np

from common.errors import InputError

__all__ = ["hub_wind_speed_m_s", "WindTurbine", "IEA_15MW_RWT", "wind_turbine_power_w",
           "quantile_map_wind_m_s", "WindFarm", "ulsan_offshore_farm",
           "wind_farm_power_w", "capacity_factor_frac"]




# ====================================================================================
# Wind
# ====================================================================================
def hub_wind_speed_m_s(speed_m_s, hub_height_m, ref_height_m=10.0, shear_exponent=0.14):
    """Wind speed at hub height by the power law.

    Parameters
    ----------
    speed_m_s : array_like
        Wind speed at the reference height, m/s.
    hub_height_m : float
        Hub height, m.
    ref_height_m : float
        Anemometer height, m (EPW: 10 m).
    shear_exponent : float
        α; 0.14 is the offshore normal wind profile of IEC 61400-3 (0.2 onshore in
        IEC 61400-1; 1/7 the classic neutral value). Valid for heights of about
        10-200 m over flat terrain or sea.

    Returns
    -------
    hub_speed_m_s : ndarray
        v_hub = v_ref (z_hub / z_ref)^α.
    """
    return np.asarray(speed_m_s, dtype=float) * (hub_height_m / ref_height_m) ** shear_exponent


@dataclass(frozen=True)
class WindTurbine:
    """A wind turbine described by its power-curve corners.

    Attributes
    ----------
    name : str
    rated_power_w : float
        Rated electrical power, W.
    cut_in_m_s, rated_speed_m_s, cut_out_m_s : float
        Hub-height wind speeds of cut-in, rated power and cut-out, m/s.
    hub_height_m, rotor_diameter_m : float
    source : str
    """

    name: str
    rated_power_w: float
    cut_in_m_s: float
    rated_speed_m_s: float
    cut_out_m_s: float
    hub_height_m: float
    rotor_diameter_m: float
    source: str = ""

    def __post_init__(self):
        if not (0 < self.cut_in_m_s < self.rated_speed_m_s < self.cut_out_m_s and self.rated_power_w > 0):
            raise InputError(f"turbine {self.name!r}: need 0 < cut-in < rated < cut-out speed and power > 0")


#: IEA Wind 15 MW offshore reference turbine: 15 MW, cut-in 3 m/s, rated 10.59 m/s,
#: cut-out 25 m/s, hub 150 m, rotor 240 m (Gaertner et al. 2020, NREL/TP-5000-75698,
#: Table 1). A stand-in for the 15 MW class turbines planned off Ulsan (e.g. the
#: Vestas V236-15 MW of Gray Whale 3).
IEA_15MW_RWT = WindTurbine("IEA-15-240-RWT", 15e6, 3.0, 10.59, 25.0, 150.0, 240.0,
                           "Gaertner et al. (2020) NREL/TP-5000-75698, Table 1")


def wind_turbine_power_w(hub_speed_m_s, turbine: WindTurbine = IEA_15MW_RWT, air_density_kg_m3=1.225):
    """Electrical power of one turbine from the hub-height wind speed.

    Parameters
    ----------
    hub_speed_m_s : array_like
        Hub-height wind speed, m/s.
    turbine : WindTurbine
    air_density_kg_m3 : array_like
        Air density, kg/m³; the speed is normalised to the 1.225 kg/m³ of the curve
        by v_n = v (ρ / 1.225)^(1/3) (IEC 61400-12-1 density normalisation for
        pitch-regulated turbines).

    Returns
    -------
    power_w : ndarray
        0 below cut-in and at or above cut-out; P_r (v³ - v_in³)/(v_r³ - v_in³) between
        cut-in and rated (cubic region, constant power coefficient); P_r from rated to
        cut-out. A generic curve: it reproduces the IEA 15 MW curve to within about
        10 % in the cubic region (the real curve's Cp falls near rated).
    """
    v = np.asarray(hub_speed_m_s, dtype=float) * (np.asarray(air_density_kg_m3, dtype=float) / 1.225) ** (1.0 / 3.0)
    vi, vr, vo = turbine.cut_in_m_s, turbine.rated_speed_m_s, turbine.cut_out_m_s
    frac = np.clip((v**3 - vi**3) / (vr**3 - vi**3), 0.0, 1.0)
    return np.where((v >= vi) & (v < vo), turbine.rated_power_w * frac, 0.0)


def quantile_map_wind_m_s(speed_m_s, mean_speed_m_s: float, weibull_k: float):
    """Map a wind series onto a Weibull distribution, keeping its hour-to-hour order.

    Parameters
    ----------
    speed_m_s : array_like
        A wind series that gives the timing (e.g. the EPW 10 m wind of a coastal
        station), m/s.
    mean_speed_m_s : float
        Target mean speed at hub height, m/s.
    weibull_k : float
        Target Weibull shape (offshore typically 2.0-2.4).

    Returns
    -------
    speed_m_s : ndarray
        v_i = c (-ln(1 - F_i))^(1/k), F_i = (rank_i - 0.5)/n (ties share their mean
        rank), c = mean / Γ(1 + 1/k). Used where a site's hub-height climate is known
        only as a mean and shape (e.g. from a wind atlas) and a land station gives the
        timing of weather systems; the correlation of timing offshore is an assumption.
    """
    from scipy.stats import rankdata

    v = np.asarray(speed_m_s, dtype=float)
    f = (rankdata(v, method="average") - 0.5) / v.size
    c = mean_speed_m_s / gamma(1.0 + 1.0 / weibull_k)
    return c * (-np.log1p(-f)) ** (1.0 / weibull_k)


@dataclass(frozen=True)
class WindFarm:
    """A wind farm of identical turbines.

    Attributes
    ----------
    turbine : WindTurbine
    n_turbines : int
    losses_frac : float
        Wake, availability and electrical losses, fraction (default 0.12, est.: typical
        offshore totals of 10-15 %).
    shear_exponent : float
        Power-law α from the weather's reference height to hub height (0.14 offshore).
    ref_height_m : float
        Height of the weather's wind speed, m (10 m for EPW).
    mean_hub_speed_m_s : float or None
        If set, the hub-height series is quantile-mapped (:func:`quantile_map_wind_m_s`)
        to a Weibull with this mean and ``weibull_k`` (for offshore sites far from the
        weather station).
    weibull_k : float
    name, source : str
    """

    turbine: WindTurbine
    n_turbines: int
    losses_frac: float = 0.12
    shear_exponent: float = 0.14
    ref_height_m: float = 10.0
    mean_hub_speed_m_s: float | None = None
    weibull_k: float = 2.0
    name: str = "wind farm"
    source: str = ""

    def __post_init__(self):
        if self.n_turbines < 1 or not 0.0 <= self.losses_frac < 1.0:
            raise InputError(f"{self.name}: need n_turbines ≥ 1 and 0 ≤ losses_frac < 1")

    @property
    def rated_power_w(self) -> float:
        return self.n_turbines * self.turbine.rated_power_w


def ulsan_offshore_farm(n_turbines: int = 33) -> WindFarm:
    """A floating offshore farm off Ulsan with IEA 15 MW turbines (estimate).

    33 turbines (495 MW) mirror Gray Whale 3 (504 MW, 33 × Vestas V236-15 MW,
    ~60 km east of Ulsan; power-technology.com, powermag.com). The hub-height climate
    is an estimate: mean 8.5 m/s at 150 m (East Sea winds "steadily above 8 m/s",
    questfwe.com) with Weibull k = 2.0; hour-to-hour timing from the Ulsan weather
    station. Losses 12 % (est.).
    """
    return WindFarm(IEA_15MW_RWT, n_turbines, losses_frac=0.12, shear_exponent=0.14, ref_height_m=10.0,
                    mean_hub_speed_m_s=8.5, weibull_k=2.0, name="Ulsan floating offshore (est.)",
                    source="layout after Gray Whale 3; wind climate est. (mean 8.5 m/s, k 2.0 at 150 m)")


def wind_farm_power_w(speed_ref_m_s, farm: WindFarm, air_density_kg_m3=1.225):
    """Hourly net power of a wind farm, W.

    Parameters
    ----------
    speed_ref_m_s : array_like
        Wind speed at ``farm.ref_height_m`` (e.g. ``weather.wind_speed_m_s``), m/s.
    farm : WindFarm
    air_density_kg_m3 : array_like
        Air density at hub height, kg/m³.

    Returns
    -------
    power_w : ndarray
        n × P_turbine(v_hub) × (1 - losses), v_hub by :func:`hub_wind_speed_m_s`, then
        quantile-mapped when ``farm.mean_hub_speed_m_s`` is set.
    """
    v = hub_wind_speed_m_s(speed_ref_m_s, farm.turbine.hub_height_m, farm.ref_height_m, farm.shear_exponent)
    if farm.mean_hub_speed_m_s is not None:
        v = quantile_map_wind_m_s(v, farm.mean_hub_speed_m_s, farm.weibull_k)
    return farm.n_turbines * wind_turbine_power_w(v, farm.turbine, air_density_kg_m3) * (1.0 - farm.losses_frac)


def capacity_factor_frac(power_w, rated_power_w: float) -> float:
    """Capacity factor: mean power / rated power (equal time steps)."""
    return float(np.mean(np.asarray(power_w, dtype=float)) / rated_power_w)
