"""Electrical losses, grid carbon and KEPCO time-of-use tariff.

Published values used (see shared/reference/korea-grid-renewables.md for sources):
- Korean 2023 national grid factor 0.4173 tCO2eq/MWh (MCEE, 17 Dec 2025);
- KEPCO industrial (A) II HV-A option I rates from 24 Oct 2024, KRW/kWh
  light/mid/peak: summer 95.7/121.5/155.0, spring-autumn 95.7/100.5/119.7,
  winter 103.1/120.0/149.4; demand charge 6,490 KRW/kW (cncityenergy.com);
- band hours before 16 Apr 2026 (summer, spring/autumn: peak 11-12 and 13-18) and the
  2026 reform (11-12, 13-15 to mid; 18-21 to peak; peak -16.9/-13.2, light +5.1 KRW/kWh;
  50 % weekend discount 11-14 in spring/autumn) (segye.com, kmib.co.kr);
- industrial (B) average 182.7 KRW/kWh after 24 Oct 2024 (energynews.pro, asiae);
- transformer peak efficiency at load sqrt(P0/Pk) and the Peak Efficiency Index
  PEI = 1 - 2 (P0 + Pc0) / (S_r sqrt((P0 + Pc0)/Pk)) of Commission Regulation (EU)
  No 548/2014, Annex III (with Pc0 = 0).
"""

import warnings

import numpy as np
import pytest

from common.errors import InputError
from twin.models import power as pw
from common.units import ValidityRangeWarning

# 1 January a Monday (first_weekday=0): 2 July (day index 182) is a Monday,
# 7 July a Saturday, 8 July a Sunday; 16 April (day 105) a Monday.
JUL2 = 182 * 24.0
APR16 = 105 * 24.0


# ------------------------------------------------------------------ loss models
def test_quadratic_loss_definition():
    s = pw.QuadraticLoss(1e6, 0.01, 0.02, 0.03)
    assert pw.loss_w(5e5, s) == pytest.approx(1e6 * (0.01 + 0.02 * 0.5 + 0.03 * 0.25))
    assert pw.efficiency_frac(0.0, s) == 0.0
    assert pw.input_power_w(1e6, s) == pytest.approx(1.06e6)


def test_ups_default_in_typical_datasheet_band():
    ups = pw.ups_double_conversion(1e6)
    eta = pw.efficiency_frac(np.array([0.25, 0.5, 0.75, 1.0]) * 1e6, ups)
    np.testing.assert_allclose(eta, [0.9515, 0.9606, 0.9625, 0.9625], atol=5e-4)  # as documented
    assert np.all((eta > 0.95) & (eta < 0.965))
    # part load is less efficient (no-load losses dominate): 10 % load below 93 %
    assert pw.efficiency_frac(1e5, ups) < 0.93


def test_fit_recovers_datasheet_coefficients():
    true = pw.QuadraticLoss(5e5, 0.008, 0.02, 0.012)
    x = np.array([0.25, 0.5, 0.75, 1.0])
    fitted = pw.fit_quadratic_loss(x, pw.efficiency_frac(x * 5e5, true), 5e5, "test")
    assert (fitted.no_load_frac, fitted.proportional_frac, fitted.square_frac) == pytest.approx(
        (0.008, 0.02, 0.012), abs=1e-9)
    with pytest.raises(InputError):
        pw.fit_quadratic_loss([0.5, 1.0], [0.95, 0.96], 5e5)


def test_transformer_peak_efficiency_index_eu_548_2014():
    tr = pw.transformer_dry_type(2.5e6)
    p0 = tr.no_load_frac * tr.rated_power_w
    pk = tr.square_frac * tr.rated_power_w
    x = np.linspace(0.05, 1.0, 20001)
    eta = pw.efficiency_frac(x * tr.rated_power_w, tr)
    assert x[np.argmax(eta)] == pytest.approx(np.sqrt(p0 / pk), abs=1e-3)
    # the Regulation defines PEI as (transmitted - losses) / transmitted at the optimum
    pei = 1.0 - 2.0 * p0 / (tr.rated_power_w * np.sqrt(p0 / pk))
    out = x * tr.rated_power_w
    assert np.max(1.0 - pw.loss_w(out, tr) / out) == pytest.approx(pei, abs=1e-9)
    assert eta.max() == pytest.approx(1.0 / (2.0 - pei), abs=1e-9)     # = out / (out + losses)


def test_electrical_chain_energy_balance():
    chain = pw.ElectricalChain(pw.transformer_dry_type(2.5e6), pw.ups_double_conversion(2e6),
                               pw.pdu_typical(2e6))
    it = np.array([0.4e6, 1.0e6, 1.6e6])
    r = pw.electrical_chain(it, chain, non_ups_load_w=3e5)
    np.testing.assert_allclose(r.grid_power_w, it + 3e5 + r.total_loss_w)
    assert np.all(r.ups_loss_w > r.pdu_loss_w) and np.all(r.total_loss_w / it < 0.1)
    none = pw.electrical_chain(it, pw.ElectricalChain(None, None, None))
    np.testing.assert_allclose(none.grid_power_w, it)


def test_overload_warns_and_bad_record_raises():
    ups = pw.ups_double_conversion(1e6)
    with pytest.warns(ValidityRangeWarning, match="load_frac"):
        pw.loss_w(1.5e6, ups)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pw.loss_w(1.1e6, ups)         # within the 120 % short-overload range
    with pytest.raises(InputError, match="rated_power_w"):
        pw.QuadraticLoss(0.0, 0.01, 0.0, 0.0)
    with pytest.raises(InputError, match="no_load_frac"):
        pw.QuadraticLoss(1e6, -0.01, 0.0, 0.0)


# ------------------------------------------------------------------ carbon
def test_korean_grid_factor_and_overrides():
    t = np.arange(8760) + 0.5
    assert pw.KOREA_GRID_CARBON_KG_PER_KWH == 0.4173
    np.testing.assert_array_equal(pw.grid_carbon_intensity_kg_per_kwh(t), 0.4173)
    np.testing.assert_array_equal(pw.grid_carbon_intensity_kg_per_kwh(t[:3], 0.5), 0.5)
    prof = np.linspace(0.3, 0.5, 8760)
    assert pw.grid_carbon_intensity_kg_per_kwh([10.5, 8760.0 + 10.5], prof) == pytest.approx([prof[10]] * 2)
    with pytest.raises(InputError, match="8760"):
        pw.grid_carbon_intensity_kg_per_kwh(t, np.ones(24))
    assert pw.emissions_kg(3.6e9, 0.4173) == pytest.approx(417.3)    # 1 MWh


# ------------------------------------------------------------------ tariff
def test_kepco_industrial_a_table_and_bands():
    a = pw.KEPCO_INDUSTRIAL_A_HVA_I_2024
    p = lambda t: float(pw.tou_price_krw_per_kwh(t, a, first_weekday=0, include_adders=False))
    assert p(JUL2 + 14.5) == 155.0        # summer weekday peak (13-18)
    assert p(JUL2 + 12.5) == 121.5        # summer mid (12-13)
    assert p(JUL2 + 3.5) == 95.7          # summer light (22-08)
    assert p(APR16 + 11.5) == 119.7       # spring peak (11-12)
    assert p(APR16 + 9.5) == 100.5        # spring mid
    assert p(10 * 24 + 23.5) == 103.1     # winter light
    assert p(10 * 24 + 10.5) == 149.4     # winter peak (E: 09-12)
    assert p(JUL2 + 5 * 24 + 14.5) == 121.5   # Saturday: peak charged as mid
    assert p(JUL2 + 6 * 24 + 14.5) == 95.7    # Sunday: light all day
    assert pw.demand_charge_krw(1e6, a, months=1) == pytest.approx(6.49e6)
    with_adders = pw.tou_price_krw_per_kwh(JUL2 + 14.5, a, 0)
    assert with_adders == pytest.approx(155.0 + 9.0 + 5.0)


def test_industrial_b_average_is_182_7():
    b = pw.KEPCO_INDUSTRIAL_B_HV_2024
    assert pw.flat_load_average_price_krw_per_kwh(b, include_adders=True) == pytest.approx(182.7, abs=0.1)
    a = np.asarray(pw.KEPCO_INDUSTRIAL_A_HVA_I_2024.price_krw_per_kwh)
    ratio = np.asarray(b.price_krw_per_kwh) / a
    np.testing.assert_allclose(ratio, ratio[0, 0], rtol=1e-3)      # same band ratios


def test_2026_reform_bands_and_rates():
    old, new = pw.KEPCO_INDUSTRIAL_B_HV_2024, pw.KEPCO_INDUSTRIAL_B_HV_2026
    po, pn = np.asarray(old.price_krw_per_kwh), np.asarray(new.price_krw_per_kwh)
    np.testing.assert_allclose(pn[:, pw.LIGHT] - po[:, pw.LIGHT], 5.1, atol=1e-9)
    np.testing.assert_allclose(pn[:, pw.PEAK] - po[:, pw.PEAK], [-16.9, -13.2, -16.9], atol=1e-9)
    band = lambda t: int(pw.tou_band(t, new, first_weekday=0))
    assert band(JUL2 + 11.5) == pw.MID and band(JUL2 + 14.5) == pw.MID
    assert band(JUL2 + 16.5) == pw.PEAK and band(JUL2 + 19.5) == pw.PEAK and band(JUL2 + 21.5) == pw.MID
    assert int(pw.tou_band(JUL2 + 19.5, old, 0)) == pw.MID
    sat_noon = APR16 + 5 * 24 + 12.5                      # Saturday in spring
    full = pn[pw.SPRING_AUTUMN, pw.MID]
    assert pw.tou_price_krw_per_kwh(sat_noon, new, 0, include_adders=False) == pytest.approx(0.5 * full)
    sat_noon_summer = JUL2 + 5 * 24 + 12.5
    assert pw.tou_price_krw_per_kwh(sat_noon_summer, new, 0, False) == pytest.approx(pn[pw.SUMMER, pw.MID])
    assert pw.DEFAULT_TARIFF is new


def test_energy_cost_of_hourly_series():
    a = pw.KEPCO_INDUSTRIAL_A_HVA_I_2024
    e = np.zeros(8760)
    e[int(JUL2) + 14] = 3.6e9                 # 1 MWh in the hour 14:00-15:00 of 2 July
    assert pw.energy_cost_krw(e, a, first_weekday=0, include_adders=False) == pytest.approx(155.0e3)
    flat = np.full(8760, 3.6e6)               # 1 kWh every hour
    cost = pw.energy_cost_krw(flat, pw.KEPCO_INDUSTRIAL_B_HV_2024)
    assert cost / 8760 == pytest.approx(182.7, abs=0.1)
    shifted = pw.hourly_energy_cost_krw(np.full(3, 3.6e6), a, start_h=JUL2 + 13.0, include_adders=False)
    np.testing.assert_allclose(shifted, [155.0, 155.0, 155.0])
    with pytest.raises(InputError, match="1-D"):
        pw.energy_cost_krw(np.ones((2, 3)), a)


def test_bad_tariff_record_raises():
    with pytest.raises(InputError, match="price_krw_per_kwh"):
        pw.TouTariff("bad", ((1.0, 2.0),), pw.KEPCO_INDUSTRIAL_A_HVA_I_2024.weekday_bands)
    with pytest.raises(InputError, match="weekday_bands"):
        pw.TouTariff("bad", pw.KEPCO_INDUSTRIAL_A_HVA_I_2024.price_krw_per_kwh, ((0,) * 24,) * 2)
