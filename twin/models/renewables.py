"""Renewable supply for the campus: solar PV, offshore wind, PPAs, hourly matching.

Powers in W, energies in J, angles in degrees (azimuth clockwise from north,
180 = south; tilt from horizontal), irradiance in W/m² (hourly means).

Solar PV follows NREL's PVWatts Version 5 (Dobos, A.P. (2014). *PVWatts Version 5
Manual*. NREL/TP-6A20-62641) with two substitutions the brief asks for: an
isotropic-sky transposition (Liu & Jordan 1963; Duffie & Beckman 2013 Eq. 2.15.1)
instead of Perez, and the Faiman (2008) or NOCT cell-temperature model instead of
PVWatts' Fuentes model. Wind uses a generic cubic power curve with the IEA Wind 15 MW
offshore reference turbine's ratings (Gaertner, E. et al. (2020). *Definition of the
IEA Wind 15-Megawatt Offshore Reference Wind Turbine*. NREL/TP-5000-75698) and a
power-law wind shear.

Hourly matching follows the 24/7 carbon-free-energy metric: CFE score
= Σ_h min(load_h, supply_h) / Σ_h load_h (Google (2021), *24/7 by 2030: Realizing a
Carbon-free Future*, and its "24/7 Carbon-Free Energy: Methodologies and Metrics"),
restricted here to contracted renewable supply (grid CFE share not credited).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gamma

import numpy as np

from common.errors import InputError
from common.units import warn_outside_range
from twin.models.power import emissions_kg, grid_carbon_intensity_kg_per_kwh
from twin.models.solar import solar_position
from twin.models.weather import Weather

__all__ = [
    "angle_of_incidence_deg",
    "PoaIrradiance",
    "poa_isotropic_w_m2",
    "iam_physical",
    "faiman_module_temp_c",
    "noct_cell_temp_c",
    "pvwatts_dc_power_w",
    "pvwatts_inverter_ac_power_w",
    "PvSystem",
    "PvOutput",
    "pv_output",
    "hub_wind_speed_m_s",
    "WindTurbine",
    "IEA_15MW_RWT",
    "wind_turbine_power_w",
    "quantile_map_wind_m_s",
    "WindFarm",
    "ulsan_offshore_farm",
    "wind_farm_power_w",
    "capacity_factor_frac",
    "PowerPurchaseAgreement",
    "contracted_supply_w",
    "renewable_share_frac",
    "hourly_cfe_score_frac",
    "MatchingSummary",
    "hourly_matching",
]


# ====================================================================================
# Solar PV
# ====================================================================================
def angle_of_incidence_deg(zenith_deg, azimuth_deg, tilt_deg, surface_azimuth_deg):
    """Angle between the sun's rays and the normal of a tilted surface, deg.

    Parameters
    ----------
    zenith_deg, azimuth_deg : array_like
        Sun position, deg (azimuth clockwise from north).
    tilt_deg, surface_azimuth_deg : array_like
        Surface tilt from horizontal and azimuth of its normal (180 = facing south).

    Returns
    -------
    aoi_deg : ndarray
        cos θ = cos θz cos β + sin θz sin β cos(γs - γ) (Duffie & Beckman 2013,
        Eq. 1.6.3 written with both azimuths from north).
    """
    z = np.radians(zenith_deg)
    b = np.radians(tilt_deg)
    cos_t = (np.cos(z) * np.cos(b)
             + np.sin(z) * np.sin(b) * np.cos(np.radians(np.asarray(azimuth_deg) - np.asarray(surface_azimuth_deg))))
    return np.degrees(np.arccos(np.clip(cos_t, -1.0, 1.0)))


@dataclass(frozen=True)
class PoaIrradiance:
    """Plane-of-array irradiance components, W/m², and the angle of incidence, deg."""

    poa_global_w_m2: np.ndarray
    poa_beam_w_m2: np.ndarray
    poa_sky_diffuse_w_m2: np.ndarray
    poa_ground_diffuse_w_m2: np.ndarray
    aoi_deg: np.ndarray


def poa_isotropic_w_m2(ghi_w_m2, dni_w_m2, dhi_w_m2, zenith_deg, azimuth_deg, tilt_deg,
                       surface_azimuth_deg, albedo_frac=0.2) -> PoaIrradiance:
    """Plane-of-array irradiance with the isotropic-sky model.

    Parameters
    ----------
    ghi_w_m2, dni_w_m2, dhi_w_m2 : array_like
        Global horizontal, direct normal, diffuse horizontal irradiance, W/m².
    zenith_deg, azimuth_deg : array_like
        Sun position, deg.
    tilt_deg, surface_azimuth_deg : float or array_like
        Surface orientation, deg.
    albedo_frac : float
        Ground reflectance, fraction (0.2 grass/concrete is the usual default).

    Returns
    -------
    PoaIrradiance
        E_poa = DNI cos θ + DHI (1 + cos β)/2 + GHI ρ_g (1 - cos β)/2, beam term zero
        when the sun is behind the surface or below the horizon (Liu & Jordan 1963;
        Duffie & Beckman 2013, Eq. 2.15.1).
    """
    aoi = angle_of_incidence_deg(zenith_deg, azimuth_deg, tilt_deg, surface_azimuth_deg)
    sun_up = np.asarray(zenith_deg) < 90.0
    beam = np.where(sun_up, np.asarray(dni_w_m2, dtype=float) * np.maximum(np.cos(np.radians(aoi)), 0.0), 0.0)
    cb = np.cos(np.radians(tilt_deg))
    sky = np.asarray(dhi_w_m2, dtype=float) * (1.0 + cb) / 2.0
    ground = np.asarray(ghi_w_m2, dtype=float) * albedo_frac * (1.0 - cb) / 2.0
    return PoaIrradiance(beam + sky + ground, beam, sky, ground + 0.0 * beam, aoi)


def iam_physical(aoi_deg, refractive_index=1.526, extinction_per_m=4.0, glass_thickness_m=0.002):
    """Incidence-angle modifier of a glass cover (Fresnel reflection and absorption).

    Parameters
    ----------
    aoi_deg : array_like
        Angle of incidence, deg (0-90; ≥ 90 gives 0).
    refractive_index, extinction_per_m, glass_thickness_m : float
        n = 1.526, K = 4 /m, L = 2 mm as used in PVWatts v5 (manual §5, after De Soto,
        Klein & Beckman 2006, *Solar Energy* 80: 78-88).

    Returns
    -------
    iam_frac : ndarray
        τ(θ)/τ(0) with τ(θ) = exp(-K L / cos θr) [1 - ½ (sin²(θr-θ)/sin²(θr+θ)
        + tan²(θr-θ)/tan²(θr+θ))], sin θr = sin θ / n (Duffie & Beckman 2013, §5.1-5.2).
    """
    n, kl = refractive_index, extinction_per_m * glass_thickness_m
    th = np.radians(np.clip(np.asarray(aoi_deg, dtype=float), 1e-6, 89.999))
    thr = np.arcsin(np.sin(th) / n)
    refl = 0.5 * (np.sin(thr - th) ** 2 / np.sin(thr + th) ** 2 + np.tan(thr - th) ** 2 / np.tan(thr + th) ** 2)
    tau = np.exp(-kl / np.cos(thr)) * (1.0 - refl)
    tau0 = np.exp(-kl) * (1.0 - ((n - 1.0) / (n + 1.0)) ** 2)
    return np.where(np.asarray(aoi_deg) >= 90.0, 0.0, tau / tau0)


def faiman_module_temp_c(poa_global_w_m2, temp_air_c, wind_speed_m_s, u0_w_m2_k=25.0, u1_w_s_m3_k=6.84):
    """Module temperature by the Faiman model.

    Parameters
    ----------
    poa_global_w_m2 : array_like
        Plane-of-array irradiance, W/m².
    temp_air_c : array_like
        Ambient dry bulb, °C.
    wind_speed_m_s : array_like
        Wind speed, m/s (weather-station value; valid about 0-15 m/s).
    u0_w_m2_k, u1_w_s_m3_k : float
        Heat-loss coefficients; defaults 25.0 W/(m² K) and 6.84 W s/(m³ K), the values
        pvlib-python uses as defaults (open-rack modules, after Faiman 2008).

    Returns
    -------
    temp_module_c : ndarray
        T_m = T_a + E / (U0 + U1 ws) (Faiman, D. (2008). Assessing the outdoor
        operating temperature of photovoltaic modules. *Prog. Photovolt.* 16: 307-315).
    """
    ws = np.asarray(wind_speed_m_s, dtype=float)
    warn_outside_range("wind_speed_m_s", ws, 0.0, 20.0, "Faiman (2008) module temperature")
    poa = np.asarray(poa_global_w_m2, dtype=float)
    return np.asarray(temp_air_c, dtype=float) + poa / (u0_w_m2_k + u1_w_s_m3_k * ws)


def noct_cell_temp_c(poa_global_w_m2, temp_air_c, noct_c=45.0):
    """Cell temperature by the simple NOCT model.

    T_c = T_a + (NOCT - 20 °C) E / 800 W/m² (NOCT defined at 800 W/m², 20 °C ambient,
    1 m/s wind, open rack: IEC 61215; Duffie & Beckman 2013, ch. 23, without the
    efficiency correction).

    Parameters
    ----------
    poa_global_w_m2 : array_like
        Plane-of-array irradiance, W/m².
    temp_air_c : array_like
        Ambient dry bulb, °C.
    noct_c : float
        Nominal operating cell temperature from the datasheet, °C (typ. 42-48).
    """
    return (np.asarray(temp_air_c, dtype=float)
            + (noct_c - 20.0) * np.asarray(poa_global_w_m2, dtype=float) / 800.0)


def pvwatts_dc_power_w(poa_effective_w_m2, temp_cell_c, dc_capacity_w, gamma_pdc_per_k=-0.0035):
    """DC power of a PV array, PVWatts v5.

    Parameters
    ----------
    poa_effective_w_m2 : array_like
        Irradiance transmitted to the cells (after the incidence-angle modifier), W/m².
    temp_cell_c : array_like
        Cell temperature, °C.
    dc_capacity_w : float
        Nameplate DC rating at STC (1000 W/m², 25 °C), W.
    gamma_pdc_per_k : float
        Temperature coefficient of power, 1/K: PVWatts v5 module types standard
        -0.0047, premium -0.0035, thin film -0.0020.

    Returns
    -------
    dc_power_w : ndarray
        P_dc = (E_tr / 1000) P_dc0 (1 + γ (T_cell - 25)) (Dobos 2014, module model).
    """
    e = np.asarray(poa_effective_w_m2, dtype=float)
    return np.maximum(e / 1000.0 * dc_capacity_w * (1.0 + gamma_pdc_per_k * (np.asarray(temp_cell_c) - 25.0)), 0.0)


def pvwatts_inverter_ac_power_w(dc_power_w, ac_capacity_w, eff_nominal_frac=0.96, eff_ref_frac=0.9637):
    """AC power from DC power, PVWatts v5 inverter model.

    Parameters
    ----------
    dc_power_w : array_like
        DC input power, W.
    ac_capacity_w : float
        Inverter AC rating P_ac0, W.
    eff_nominal_frac : float
        Nominal inverter efficiency (PVWatts v5 default 0.96).
    eff_ref_frac : float
        Reference efficiency of the curve, 0.9637.

    Returns
    -------
    ac_power_w : ndarray
        ζ = P_dc / P_dc0 with P_dc0 = P_ac0 / η_nom;
        η = (η_nom / η_ref)(-0.0162 ζ - 0.0059 / ζ + 0.9858);
        P_ac = min(η P_dc, P_ac0), and 0 where η P_dc ≤ 0 (Dobos 2014, inverter model).
    """
    pdc = np.asarray(dc_power_w, dtype=float)
    pdc0 = ac_capacity_w / eff_nominal_frac
    zeta = np.maximum(pdc / pdc0, 1e-9)
    eta = eff_nominal_frac / eff_ref_frac * (-0.0162 * zeta - 0.0059 / zeta + 0.9858)
    return np.clip(eta * pdc, 0.0, ac_capacity_w)


@dataclass(frozen=True)
class PvSystem:
    """A fixed-tilt PV plant (PVWatts v5 parameters).

    Attributes
    ----------
    dc_capacity_w : float
        Nameplate DC rating, W.
    dc_ac_ratio : float
        DC/AC (inverter loading) ratio; default 1.2 (est., typical of utility plants).
    tilt_deg, surface_azimuth_deg : float
        Orientation; default 30° facing south (180°), near optimal at 35.5° N.
    gamma_pdc_per_k : float
        Power temperature coefficient, 1/K (premium module, -0.0035).
    system_losses_frac : float
        PVWatts v5 lumped losses (soiling, shading, mismatch, wiring, LID, availability),
        default 0.14.
    inverter_eff_nominal_frac : float
        0.96.
    albedo_frac : float
        0.2.
    temperature_model : str
        "faiman" (default) or "noct".
    faiman_u0_w_m2_k, faiman_u1_w_s_m3_k, noct_c : float
        Parameters of those models.
    name, source : str
    """

    dc_capacity_w: float
    dc_ac_ratio: float = 1.2
    tilt_deg: float = 30.0
    surface_azimuth_deg: float = 180.0
    gamma_pdc_per_k: float = -0.0035
    system_losses_frac: float = 0.14
    inverter_eff_nominal_frac: float = 0.96
    albedo_frac: float = 0.2
    temperature_model: str = "faiman"
    faiman_u0_w_m2_k: float = 25.0
    faiman_u1_w_s_m3_k: float = 6.84
    noct_c: float = 45.0
    name: str = "PV plant"
    source: str = "PVWatts v5 (NREL/TP-6A20-62641) defaults"

    def __post_init__(self):
        if not (self.dc_capacity_w > 0 and self.dc_ac_ratio > 0):
            raise InputError(f"{self.name}: dc_capacity_w and dc_ac_ratio must be > 0; fix: W and a ratio ~1.1-1.4")
        if not (0.0 <= self.tilt_deg <= 90.0):
            raise InputError(f"{self.name}: tilt_deg {self.tilt_deg} outside 0-90; fix: degrees from horizontal")
        if not (0.0 <= self.system_losses_frac < 1.0 and 0.0 <= self.albedo_frac <= 1.0):
            raise InputError(f"{self.name}: system_losses_frac and albedo_frac must be fractions")
        if self.temperature_model not in ("faiman", "noct"):
            raise InputError(f"{self.name}: temperature_model {self.temperature_model!r}; fix: 'faiman' or 'noct'")

    @property
    def ac_capacity_w(self) -> float:
        return self.dc_capacity_w / self.dc_ac_ratio


@dataclass(frozen=True)
class PvOutput:
    """Hourly PV results (arrays of the weather's length)."""

    poa_global_w_m2: np.ndarray
    temp_cell_c: np.ndarray
    dc_power_w: np.ndarray
    ac_power_w: np.ndarray


def pv_output(weather: Weather, system: PvSystem) -> PvOutput:
    """Hourly output of a PV plant for a weather year.

    Parameters
    ----------
    weather : Weather
        Hourly GHI/DNI/DHI, dry bulb and wind; the sun is placed at the middle of each
        hour (``hour_of_year - 0.5``).
    system : PvSystem

    Returns
    -------
    PvOutput
        POA (isotropic sky) → beam × IAM (glass cover) → cell temperature (Faiman or
        NOCT) → PVWatts DC → × (1 - system losses) → PVWatts inverter, clipped at the
        AC rating (Dobos 2014).
    """
    sp = solar_position(weather.hour_of_year - 0.5, weather.latitude_deg, weather.longitude_deg,
                        weather.utc_offset_h)
    poa = poa_isotropic_w_m2(weather.ghi_w_m2, weather.dni_w_m2, weather.dhi_w_m2, sp.zenith_deg,
                             sp.azimuth_deg, system.tilt_deg, system.surface_azimuth_deg, system.albedo_frac)
    e_tr = poa.poa_beam_w_m2 * iam_physical(poa.aoi_deg) + poa.poa_sky_diffuse_w_m2 + poa.poa_ground_diffuse_w_m2
    if system.temperature_model == "faiman":
        t_cell = faiman_module_temp_c(poa.poa_global_w_m2, weather.dry_bulb_temp_c, weather.wind_speed_m_s,
                                      system.faiman_u0_w_m2_k, system.faiman_u1_w_s_m3_k)
    else:
        t_cell = noct_cell_temp_c(poa.poa_global_w_m2, weather.dry_bulb_temp_c, system.noct_c)
    dc = pvwatts_dc_power_w(e_tr, t_cell, system.dc_capacity_w, system.gamma_pdc_per_k)
    dc = dc * (1.0 - system.system_losses_frac)
    ac = pvwatts_inverter_ac_power_w(dc, system.ac_capacity_w, system.inverter_eff_nominal_frac)
    return PvOutput(poa.poa_global_w_m2, t_cell, dc, ac)


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


# ====================================================================================
# Contracts and hourly matching
# ====================================================================================
@dataclass(frozen=True)
class PowerPurchaseAgreement:
    """A PPA for a share of a plant's output (pay-as-produced).

    Attributes
    ----------
    name : str
    share_frac : float
        Share of the plant's hourly output contracted, fraction 0-1.
    price_krw_per_kwh : float or None
        Contract price, KRW/kWh (None if not modelled).
    source : str
    """

    name: str
    share_frac: float
    price_krw_per_kwh: float | None = None
    source: str = ""

    def __post_init__(self):
        if not 0.0 <= self.share_frac <= 1.0:
            raise InputError(f"PPA {self.name!r}: share_frac {self.share_frac} not in [0, 1]; fix: a fraction")


def contracted_supply_w(plant_power_w, ppa: PowerPurchaseAgreement):
    """Hourly power delivered under a PPA: share × plant output, W."""
    return ppa.share_frac * np.asarray(plant_power_w, dtype=float)


def _load_supply(load_w, supply_w):
    load = np.asarray(load_w, dtype=float)
    supply = np.asarray(supply_w, dtype=float)
    if load.shape != supply.shape:
        raise InputError(f"load shape {load.shape} and supply shape {supply.shape} differ; "
                         "fix: give both on the same hourly steps")
    if np.any(load < 0) or np.any(supply < 0) or load.sum() <= 0:
        raise InputError("load and supply must be non-negative with a positive total load")
    return load, supply


def renewable_share_frac(load_w, supply_w) -> float:
    """Annual (volumetric) matching: min(1, Σ supply / Σ load).

    Parameters
    ----------
    load_w, supply_w : array_like
        Load and contracted renewable supply on the same equal time steps, W.
    """
    load, supply = _load_supply(load_w, supply_w)
    return float(min(1.0, supply.sum() / load.sum()))


def hourly_cfe_score_frac(load_w, supply_w) -> float:
    """Hourly carbon-free-energy score: Σ min(load, supply) / Σ load.

    Parameters
    ----------
    load_w, supply_w : array_like
        Load and contracted carbon-free supply on the same equal (hourly) steps, W.

    Returns
    -------
    cfe_frac : float
        Surplus in one hour does not offset a deficit in another (Google 2021,
        "24/7 Carbon-Free Energy: Methodologies and Metrics").
    """
    load, supply = _load_supply(load_w, supply_w)
    return float(np.minimum(load, supply).sum() / load.sum())


@dataclass(frozen=True)
class MatchingSummary:
    """Energy balance of load against contracted renewable supply.

    Attributes
    ----------
    annual_share_frac, hourly_cfe_frac : float
    load_energy_j, supply_energy_j, matched_energy_j : float
    deficit_energy_j : float
        Energy bought from the grid (load not met by supply, hour by hour).
    surplus_energy_j : float
        Contracted supply exceeding the load (sold back or curtailed).
    grid_emissions_kg : float
        Deficit × grid emission factor, kg CO2eq.
    """

    annual_share_frac: float
    hourly_cfe_frac: float
    load_energy_j: float
    supply_energy_j: float
    matched_energy_j: float
    deficit_energy_j: float
    surplus_energy_j: float
    grid_emissions_kg: float


def hourly_matching(load_w, supply_w, step_s: float = 3600.0, start_h: float = 0.0,
                    carbon_kg_per_kwh=None) -> MatchingSummary:
    """Hour-by-hour balance of load and renewable supply.

    Parameters
    ----------
    load_w, supply_w : array_like (n,)
        Mean load and supply over each step, W.
    step_s : float
        Step length, s (3600 for hourly).
    start_h : float
        Time of the first step, h after 1 January 00:00 (for the carbon profile).
    carbon_kg_per_kwh : None, float or 8760 values
        Grid emission factor (see :func:`twin.models.power.grid_carbon_intensity_kg_per_kwh`).

    Returns
    -------
    MatchingSummary
    """
    load, supply = _load_supply(load_w, supply_w)
    matched = np.minimum(load, supply)
    deficit_j = (load - matched) * step_s
    t_mid = start_h + (np.arange(load.size) + 0.5) * step_s / 3600.0
    ci = grid_carbon_intensity_kg_per_kwh(t_mid, carbon_kg_per_kwh)
    return MatchingSummary(
        annual_share_frac=float(min(1.0, supply.sum() / load.sum())),
        hourly_cfe_frac=float(matched.sum() / load.sum()),
        load_energy_j=float(load.sum() * step_s),
        supply_energy_j=float(supply.sum() * step_s),
        matched_energy_j=float(matched.sum() * step_s),
        deficit_energy_j=float(deficit_j.sum()),
        surplus_energy_j=float((supply - matched).sum() * step_s),
        grid_emissions_kg=float(np.sum(emissions_kg(deficit_j, ci))),
    )
