"""Renewable supply for the campus: solar PV, offshore wind, PPAs, hourly matching.

Powers in W, energies in J, angles in degrees (azimuth clockwise from north,
180 = south; tilt from horizontal), irradiance in W/m² (hourly means).

Solar PV follows NREL's PVWatts Version 5 (Dobos, A.P. (2014). *PVWatts Version 5
Manual*. NREL/TP-6A20-62641) with two substitutions the brief asks for: an
isotropic-sky transposition (Liu & Jordan 1963; Duffie & Beckman 2013 Eq. 2.15.1)
instead of Perez, and the Faiman (2008) or NOCT cell-temperature model instead of
PVWatts' Fuentes model; each stage is a pvlib-python call (``twin/models/pv.py``).
Wind uses a generic cubic power curve with the IEA Wind 15 MW offshore reference
turbine's ratings (Gaertner, E. et al. (2020). *Definition of the IEA Wind 15-Megawatt
Offshore Reference Wind Turbine*. NREL/TP-5000-75698) and a power-law wind shear.

Hourly matching follows the 24/7 carbon-free-energy metric: CFE score
= Σ_h min(load_h, supply_h) / Σ_h load_h (Google (2021), *24/7 by 2030: Realizing a
Carbon-free Future*, and its "24/7 Carbon-Free Energy: Methodologies and Metrics"),
restricted here to contracted renewable supply (grid CFE share not credited).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.errors import InputError
from twin.models.power import emissions_kg, grid_carbon_intensity_kg_per_kwh

__all__ = ["PowerPurchaseAgreement", "contracted_supply_w", "renewable_share_frac",
           "hourly_cfe_score_frac", "MatchingSummary", "hourly_matching"]




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
