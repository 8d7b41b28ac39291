"""Solar PV: PVWatts v5 chain (NREL PVWatts Version 5 Manual, Dobos 2014) on the
site weather, each stage a pvlib-python call (Anderson et al. 2023, *JOSS* 8(92): 5994).

pvlib replaced the hand-written stages it matches to rounding (checked on a year of
Ulsan weather against the numbers of the former code: ``tests/unit/test_renewables.py``):
isotropic-sky plane of array (Liu & Jordan 1963; Duffie & Beckman 2013 Eq. 2.15.1) by
``pvlib.irradiance.get_total_irradiance``, the glass-cover incidence-angle modifier
(De Soto, Klein & Beckman 2006) by ``pvlib.iam.physical``, the Faiman (2008) module
temperature by ``pvlib.temperature.faiman``, the NOCT cell temperature (Ross 1980) by
``pvlib.temperature.ross``, the PVWatts DC and inverter models by
``pvlib.pvsystem.pvwatts_dc`` and ``pvlib.inverter.pvwatts``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pvlib import iam, inverter, irradiance, pvsystem, temperature

from common.errors import InputError
from common.units import warn_outside_range
from twin.models.solar import solar_position
from twin.models.weather import Weather

__all__ = ["PvSystem", "PvOutput", "pv_output"]


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
        The PVWatts v5 chain (Dobos 2014), each stage by pvlib:

        1. plane of array, isotropic sky: E_poa = DNI max(cos θ, 0) + DHI (1 + cos β)/2
           + GHI ρ_g (1 - cos β)/2 (Liu & Jordan 1963; Duffie & Beckman 2013
           Eq. 2.15.1; ``pvlib.irradiance.get_total_irradiance(model="isotropic")``);
        2. beam × glass-cover IAM, n = 1.526, K = 4 /m, L = 2 mm (PVWatts v5 §5 after
           De Soto, Klein & Beckman 2006; ``pvlib.iam.physical``);
        3. cell temperature: Faiman (2008) T_m = T_a + E / (U0 + U1 ws)
           (``pvlib.temperature.faiman``) or NOCT T_c = T_a + (NOCT - 20 °C) E / 800 W/m²
           (Ross 1980; IEC 61215; ``pvlib.temperature.ross``), both on the POA global;
        4. P_dc = (E_tr / 1000) P_dc0 (1 + γ (T_c - 25)) (``pvlib.pvsystem.pvwatts_dc``),
           × (1 - system losses);
        5. inverter η(ζ) = (η_nom/η_ref)(-0.0162 ζ - 0.0059/ζ + 0.9858), P_ac clipped at
           the AC rating (``pvlib.inverter.pvwatts`` with P_dc0 = P_ac0 / η_nom).

        Night hours (sun below the horizon) have no beam; the EPW's DNI is zero there.
    """
    sp = solar_position(weather.hour_of_year - 0.5, weather.latitude_deg, weather.longitude_deg,
                        weather.utc_offset_h)
    dni = np.where(sp.zenith_deg < 90.0, np.asarray(weather.dni_w_m2, dtype=float), 0.0)
    poa = irradiance.get_total_irradiance(
        system.tilt_deg, system.surface_azimuth_deg, sp.zenith_deg, sp.azimuth_deg, dni,
        np.asarray(weather.ghi_w_m2, dtype=float), np.asarray(weather.dhi_w_m2, dtype=float),
        albedo=system.albedo_frac, model="isotropic")
    aoi_deg = irradiance.aoi(system.tilt_deg, system.surface_azimuth_deg, sp.zenith_deg, sp.azimuth_deg)
    e_tr = poa["poa_direct"] * iam.physical(aoi_deg) + poa["poa_diffuse"]
    if system.temperature_model == "faiman":
        ws = np.asarray(weather.wind_speed_m_s, dtype=float)
        warn_outside_range("wind_speed_m_s", ws, 0.0, 20.0, "Faiman (2008) module temperature")
        t_cell = temperature.faiman(poa["poa_global"], weather.dry_bulb_temp_c, ws,
                                    system.faiman_u0_w_m2_k, system.faiman_u1_w_s_m3_k)
    else:
        t_cell = temperature.ross(poa["poa_global"], weather.dry_bulb_temp_c, noct=system.noct_c)
    dc = pvsystem.pvwatts_dc(e_tr, t_cell, system.dc_capacity_w, system.gamma_pdc_per_k)
    dc = np.maximum(dc, 0.0) * (1.0 - system.system_losses_frac)
    ac = inverter.pvwatts(dc, system.ac_capacity_w / system.inverter_eff_nominal_frac,
                          system.inverter_eff_nominal_frac)
    return PvOutput(np.asarray(poa["poa_global"], dtype=float), np.asarray(t_cell, dtype=float),
                    np.asarray(dc, dtype=float), np.asarray(ac, dtype=float))
