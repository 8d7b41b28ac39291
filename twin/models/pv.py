"""Solar PV: plane-of-array irradiance, incidence-angle modifier, cell temperature,
PVWatts v5 DC power and inverter (NREL PVWatts Version 5 Manual, Dobos 2014; pvlib
conventions)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.errors import InputError
from common.units import warn_outside_range
from twin.models.solar import solar_position
from twin.models.weather import Weather

__all__ = ["angle_of_incidence_deg", "PoaIrradiance", "poa_isotropic_w_m2", "iam_physical",
           "faiman_module_temp_c", "noct_cell_temp_c", "pvwatts_dc_power_w",
           "pvwatts_inverter_ac_power_w", "PvSystem", "PvOutput", "pv_output"]




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
