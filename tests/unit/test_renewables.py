"""Solar PV (PVWatts v5), offshore wind (IEA 15 MW), PPAs and hourly matching.

Published values used:
- PVWatts v5 manual (Dobos 2014, NREL/TP-6A20-62641): DC model at STC, temperature
  coefficients, inverter curve whose efficiency at rated DC input is the nominal 96 %;
- NOCT definition (IEC 61215): 800 W/m², 20 °C ambient, 1 m/s → cell at NOCT;
- Duffie & Beckman (2013) Example 1.6.1: Madison 43° N, 13 Feb (δ = -14°), 10:30 solar
  time (ω = -22.5°), surface tilted 45° facing 15° west of south: θ = 35°;
- IEA 15 MW reference turbine (Gaertner et al. 2020, NREL/TP-5000-75698, Table 1):
  15 MW, cut-in 3, rated 10.59, cut-out 25 m/s, rotor 240 m, hub 150 m, peak power
  coefficient 0.489, generator efficiency 96.55 %;
- Korean capacity factors (korea-grid-renewables.md): utility PV 14-16 % (self-use
  13.5 %), offshore wind off Ulsan 35-45 % (estimate);
- 24/7 CFE score definition (Google 2021).
"""

from pathlib import Path

import numpy as np
import pytest

from common.errors import InputError
from twin.models import climate
from twin.models import pv as pvm
from twin.models import renewables as rn
from twin.models import solar
from twin.models import weather as wm
from twin.models import wind as windm

EPW = Path(__file__).resolve().parents[3] / "shared" / "reference" / "weather" / "KOR_Ulsan.471520_IWEC.epw"


@pytest.fixture(scope="module")
def epw():
    if not EPW.is_file():
        pytest.skip(f"shared IWEC weather file not found at {EPW}")
    return wm.read_epw(EPW)


# ------------------------------------------------------------------ PV components
def test_pvwatts_inverter_nominal_efficiency_and_clipping():
    pac0 = 1e6
    pdc0 = pac0 / 0.96
    assert pvm.pvwatts_inverter_ac_power_w(pdc0, pac0) == pytest.approx(pac0, rel=1e-12)
    assert pvm.pvwatts_inverter_ac_power_w(0.5 * pdc0, pac0) / (0.5 * pdc0) == pytest.approx(
        0.96 / 0.9637 * (-0.0162 * 0.5 - 0.0059 / 0.5 + 0.9858))
    assert pvm.pvwatts_inverter_ac_power_w(2 * pdc0, pac0) == pac0
    assert pvm.pvwatts_inverter_ac_power_w(0.0, pac0) == 0.0


def test_pvwatts_dc_at_stc_and_temperature():
    assert pvm.pvwatts_dc_power_w(1000.0, 25.0, 1e6) == pytest.approx(1e6)
    assert pvm.pvwatts_dc_power_w(1000.0, 45.0, 1e6, -0.0047) == pytest.approx(1e6 * (1 - 0.0047 * 20))
    assert pvm.pvwatts_dc_power_w(500.0, 25.0, 1e6) == pytest.approx(5e5)


def test_cell_temperature_models():
    assert pvm.noct_cell_temp_c(800.0, 20.0, noct_c=45.0) == pytest.approx(45.0)
    assert pvm.faiman_module_temp_c(1000.0, 20.0, 1.0) == pytest.approx(20.0 + 1000.0 / (25.0 + 6.84))
    assert pvm.faiman_module_temp_c(0.0, 12.0, 5.0) == pytest.approx(12.0)


def test_angle_of_incidence_duffie_beckman_example_1_6_1():
    zen, az = solar.solar_zenith_azimuth_deg(43.0, -14.0, -22.5)
    aoi = pvm.angle_of_incidence_deg(zen, az, 45.0, 180.0 + 15.0)
    assert aoi == pytest.approx(35.0, abs=0.3)


def test_isotropic_poa_limits():
    zen, az = 40.0, 150.0
    dni, dhi = 700.0, 150.0
    ghi = dni * np.cos(np.radians(zen)) + dhi
    flat = pvm.poa_isotropic_w_m2(ghi, dni, dhi, zen, az, 0.0, 180.0)
    assert flat.poa_global_w_m2 == pytest.approx(ghi)
    wall = pvm.poa_isotropic_w_m2(ghi, dni, dhi, zen, az, 90.0, 180.0, albedo_frac=0.3)
    assert wall.poa_sky_diffuse_w_m2 == pytest.approx(dhi / 2)
    assert wall.poa_ground_diffuse_w_m2 == pytest.approx(0.3 * ghi / 2)
    behind = pvm.poa_isotropic_w_m2(ghi, dni, dhi, zen, az, 90.0, 0.0)   # facing north
    assert behind.poa_beam_w_m2 == 0.0
    night = pvm.poa_isotropic_w_m2(0.0, 0.0, 0.0, 95.0, 300.0, 30.0, 180.0)
    assert night.poa_global_w_m2 == 0.0


def test_iam_physical_shape():
    iam = pvm.iam_physical(np.array([0.0, 30.0, 60.0, 80.0, 90.0]))
    assert iam[0] == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.diff(iam) < 0) and iam[-1] == 0.0
    assert iam[1] > 0.99 and 0.8 < iam[2] < 0.97


def test_pv_capacity_factor_ulsan(epw):
    system = pvm.PvSystem(100e6)
    out = pvm.pv_output(epw, system)
    cf_dc = windm.capacity_factor_frac(out.ac_power_w, system.dc_capacity_w)
    cf_ac = windm.capacity_factor_frac(out.ac_power_w, system.ac_capacity_w)
    # Korean PV: 13.5-16 % (fixed-tilt PVWatts, 14 % losses: ~13 % of DC, ~15.5 % of AC)
    assert 0.12 < cf_dc < 0.16 and 0.14 < cf_ac < 0.17
    assert out.ac_power_w.max() <= system.ac_capacity_w + 1e-6
    assert np.all(out.ac_power_w[epw.ghi_w_m2 == 0] == 0)
    # plane of array gains over horizontal at 30° tilt, 35.5° N
    assert 1.03 < out.poa_global_w_m2.sum() / epw.ghi_w_m2.sum() < 1.15
    noct = pvm.pv_output(epw, pvm.PvSystem(100e6, temperature_model="noct"))
    assert noct.ac_power_w.sum() == pytest.approx(out.ac_power_w.sum(), rel=0.03)


def test_pv_on_builtin_climate_close_to_epw(epw):
    system = pvm.PvSystem(1e6)
    a = pvm.pv_output(epw, system).ac_power_w.sum()
    b = pvm.pv_output(climate.ulsan_climate(), system).ac_power_w.sum()
    assert b == pytest.approx(a, rel=0.05)


def test_pv_system_validation():
    with pytest.raises(InputError, match="tilt_deg"):
        pvm.PvSystem(1e6, tilt_deg=120.0)
    with pytest.raises(InputError, match="temperature_model"):
        pvm.PvSystem(1e6, temperature_model="sandia")


# ------------------------------------------------------------------ wind
def test_iea_15mw_ratings_and_curve_corners():
    t = windm.IEA_15MW_RWT
    assert (t.rated_power_w, t.cut_in_m_s, t.rated_speed_m_s, t.cut_out_m_s) == (15e6, 3.0, 10.59, 25.0)
    p = windm.wind_turbine_power_w(np.array([2.9, 3.0, 10.59, 20.0, 24.99, 25.0, 30.0]), t)
    np.testing.assert_allclose(p, [0.0, 0.0, 15e6, 15e6, 15e6, 0.0, 0.0])
    v = np.linspace(3.0, 10.59, 50)
    assert np.all(np.diff(windm.wind_turbine_power_w(v, t)) > 0)


def test_cubic_region_consistent_with_rotor_physics():
    # ½ ρ A Cp η v³ with the report's Cp_max = 0.489 and generator efficiency 96.55 %
    area = np.pi * 120.0**2
    k = 0.5 * 1.225 * area * 0.489 * 0.9655
    assert (15e6 / k) ** (1 / 3) == pytest.approx(10.59, rel=0.02)        # rated speed
    assert windm.wind_turbine_power_w(8.0) == pytest.approx(k * 8.0**3, rel=0.10)


def test_shear_and_density_normalisation():
    assert windm.hub_wind_speed_m_s(5.0, 150.0) == pytest.approx(5.0 * 15.0**0.14)
    assert windm.hub_wind_speed_m_s(5.0, 10.0) == pytest.approx(5.0)
    rho = 1.1
    v = 7.0
    assert windm.wind_turbine_power_w(v, air_density_kg_m3=rho) == pytest.approx(
        windm.wind_turbine_power_w(v * (rho / 1.225) ** (1 / 3)))


def test_quantile_map_keeps_order_and_sets_mean():
    rng = np.random.default_rng(1)
    v = rng.gamma(2.0, 1.0, 8760)
    m = windm.quantile_map_wind_m_s(v, 8.5, 2.0)
    assert m.mean() == pytest.approx(8.5, rel=0.01)
    np.testing.assert_array_equal(np.argsort(m, kind="stable"), np.argsort(v, kind="stable"))


def test_offshore_capacity_factor_ulsan(epw):
    farm = windm.ulsan_offshore_farm()
    p = windm.wind_farm_power_w(epw.wind_speed_m_s, farm)
    cf = windm.capacity_factor_frac(p, farm.rated_power_w)
    assert 0.35 <= cf <= 0.45                      # Ulsan floating estimate 35-45 %
    # the coastal station's own 10 m wind, sheared to 150 m, is far too weak offshore
    land = windm.WindFarm(windm.IEA_15MW_RWT, 1, losses_frac=0.0)
    assert windm.capacity_factor_frac(windm.wind_farm_power_w(epw.wind_speed_m_s, land), 15e6) < 0.1


# ------------------------------------------------------------------ contracts and matching
def test_ppa_share():
    ppa = rn.PowerPurchaseAgreement("Gray Whale share", 0.25, 150.0)
    np.testing.assert_allclose(rn.contracted_supply_w([0.0, 4e8], ppa), [0.0, 1e8])
    with pytest.raises(InputError, match="share_frac"):
        rn.PowerPurchaseAgreement("bad", 1.5)


def test_hourly_matching_hand_example():
    load = [10.0, 10.0, 10.0, 10.0]
    supply = [0.0, 20.0, 10.0, 10.0]
    assert rn.renewable_share_frac(load, supply) == pytest.approx(1.0)     # annual: 40/40
    assert rn.hourly_cfe_score_frac(load, supply) == pytest.approx(0.75)   # (0+10+10+10)/40
    s = rn.hourly_matching(load, supply)
    assert s.deficit_energy_j == pytest.approx(36000.0) and s.surplus_energy_j == pytest.approx(36000.0)
    assert s.matched_energy_j == pytest.approx(30.0 * 3600.0)
    assert s.grid_emissions_kg == pytest.approx(0.01 * 0.4173)             # 0.01 kWh
    assert rn.renewable_share_frac(load, [5.0] * 4) == pytest.approx(0.5)


def test_matching_bad_input():
    with pytest.raises(InputError, match="shape"):
        rn.hourly_cfe_score_frac([1.0, 2.0], [1.0])
    with pytest.raises(InputError, match="non-negative"):
        rn.renewable_share_frac([1.0, -2.0], [1.0, 1.0])


def test_pv_plus_wind_matching_for_a_flat_campus(epw):
    load = np.full(8760, 100e6)                        # 100 MW flat IT campus
    pv = pvm.pv_output(epw, pvm.PvSystem(200e6)).ac_power_w
    wind = windm.wind_farm_power_w(epw.wind_speed_m_s, windm.ulsan_offshore_farm(10))   # 150 MW
    supply = pv + wind
    share = rn.renewable_share_frac(load, supply)
    cfe = rn.hourly_cfe_score_frac(load, supply)
    assert cfe < share <= 1.0                           # hourly matching is the stricter metric
    assert 0.5 < share < 1.0
