"""The planning dispatch policies of twin.models.storage on synthetic days checked by hand:
time-of-use arbitrage (buy in the cheapest band only for dearer deficits ahead whose
spread pays the losses and the ageing, never when surplus will fill the battery first;
discharge in the dearest band) and peak shaving (hold the import at the threshold,
recharge below it only what the peaks ahead need, idle when the threshold is never
reached). Every case closes: charge - discharge - losses = change of stored energy."""
from __future__ import annotations

import numpy as np
import pytest

from common.units import J_PER_KWH
from twin.models.storage import BatterySpec, BatteryState, dispatch_series

MWH = 3.6e9          # J
H = 3600.0           # s
MW = 1e6

# a day of hourly prices, KRW/kWh: light 0-8 and 21-24, mid 8-17, peak 17-21. The mid
# band does not pay a round trip from the light one (0.81 x 120 < 100), the peak does.
PRICE = np.array([100.0] * 8 + [120.0] * 9 + [250.0] * 4 + [100.0] * 3)


def spec(**kw):
    """10 MWh / 4 MW, eta_c = eta_d = 0.9, 8 MWh usable; no capacity fade (end of life at
    100 %), so that the hand's figures hold to rounding, but ageing costs R / 5000 per EFC."""
    base = dict(energy_j=10 * MWH, power_w=4 * MW, round_trip_efficiency_frac=0.81,
                soc_min_frac=0.1, soc_max_frac=0.9, cycle_life_efc=5000.0, end_of_life_frac=1.0)
    base.update(kw)
    return BatterySpec(**base)


def closes(r, e0_j):
    lhs = (r.charge_w - r.discharge_w - r.loss_w) * H
    np.testing.assert_allclose(lhs, r.energy_change_j, rtol=0, atol=1e-9 * 10 * MWH)
    assert np.sum(lhs) == pytest.approx(r.stored_energy_j[-1] - e0_j, rel=1e-9, abs=1e-9 * 10 * MWH)


def cost_krw(r, price):
    return float(np.sum(r.grid_import_w * H / J_PER_KWH * price))


def test_tou_arbitrage_buys_light_for_the_peak_by_hand():
    sp = spec()                                         # eta_c = eta_d = 0.9, 8 MWh usable
    load, cfe = np.full(24, 5 * MW), np.zeros(24)
    r = dispatch_series(load, cfe, sp, BatteryState(1 * MWH), H, "tou-arbitrage",
                        price_krw_per_kwh=PRICE, replacement_cost_krw_per_kwh=300_000.0)
    closes(r, 1 * MWH)
    # light band: 4 + 4 MW, then the 0.8 MWh of room left (0.8 / 0.9 MW); nothing after
    np.testing.assert_allclose(r.charge_from_grid_w[:3], [4 * MW, 4 * MW, 0.8 / 0.9 * MW], rtol=1e-12)
    assert np.all(r.charge_w[3:] == 0.0)
    # mid band: held for the peak (the mid price is below the peak's)
    assert np.all(r.discharge_w[8:17] == 0.0)
    # peak: 4 MW, then what is left of the 8 MWh (3.56 MWh x 0.9 = 3.2 MW)
    np.testing.assert_allclose(r.discharge_w[17:19], [4 * MW, 3.2 * MW], rtol=1e-9)
    assert np.all(r.discharge_w[19:] == 0.0)
    assert r.stored_energy_j[-1] == pytest.approx(1 * MWH, rel=1e-9)
    # money: 8.89 MWh bought at 100, 7.2 MWh not bought at 250
    base = dispatch_series(load, cfe, None, None, H)
    gain = cost_krw(base, PRICE) - cost_krw(r, PRICE)
    assert gain == pytest.approx((7.2 * 250 - 8 / 0.9 * 100) * 1e3, rel=1e-9)
    assert gain > 0


def test_tou_arbitrage_stays_idle_when_the_spread_does_not_pay_the_ageing():
    # per kWh charged: 0.81 x 250 - 100 = 102.5 KRW of spread against eta_c R / N =
    # 0.9 x 600,000 / 5000 = 108 KRW of ageing: no purchase, and no worse than no battery
    load, cfe = np.full(24, 5 * MW), np.zeros(24)
    r = dispatch_series(load, cfe, spec(), BatteryState(1 * MWH), H, "tou-arbitrage",
                        price_krw_per_kwh=PRICE, replacement_cost_krw_per_kwh=600_000.0)
    closes(r, 1 * MWH)
    assert np.all(r.charge_w == 0.0) and np.all(r.discharge_w == 0.0)
    np.testing.assert_array_equal(r.grid_import_w, load)
    # nor when the peak is too dear to pay the losses (mid band only: 0.81 x 120 < 100)
    flat_peak = np.where(PRICE > 200, 120.0, PRICE)
    r = dispatch_series(load, cfe, spec(), BatteryState(1 * MWH), H, "tou-arbitrage",
                        price_krw_per_kwh=flat_peak)
    assert np.all(r.charge_from_grid_w == 0.0)


def test_tou_arbitrage_waits_for_the_surplus_forecast_later_that_day():
    # 12 MW of wind at 10-14: 7 MW of surplus fills the 8 MWh before the peak, so nothing
    # is bought at night (the old policy filled the battery from the grid at 00-02)
    sp = spec()
    load = np.full(24, 5 * MW)
    cfe = np.where((np.arange(24) >= 10) & (np.arange(24) < 14), 12 * MW, 0.0)
    r = dispatch_series(load, cfe, sp, BatteryState(1 * MWH), H, "tou-arbitrage", price_krw_per_kwh=PRICE)
    closes(r, 1 * MWH)
    assert r.charge_from_grid_w.sum() == 0.0
    np.testing.assert_allclose(r.charge_w[10:13], [4 * MW, 4 * MW, 0.8 / 0.9 * MW], rtol=1e-12)
    np.testing.assert_allclose(r.discharge_w[17:19], [4 * MW, 3.2 * MW], rtol=1e-9)
    assert np.all(r.discharge_w[:17] == 0.0)
    # the stored wind serves the peak: carbon-free but for the 1 MWh of grid energy at the
    # floor (the pool is well mixed: 8 of 9 MWh)
    np.testing.assert_allclose(r.carbon_free_served_w[17:19], np.array([4, 3.2]) * MW * 8 / 9, rtol=1e-9)
    base = dispatch_series(load, cfe, None, None, H)
    assert cost_krw(r, PRICE) < cost_krw(base, PRICE)


def test_tou_arbitrage_serves_a_deficit_with_stored_surplus_when_no_dearer_one_follows():
    # stored wind and no deficit in a dearer step ahead: it serves the light-band deficit
    # at once rather than sitting full (the old policy discharged in the peak band only)
    load = np.full(6, 5 * MW)
    r = dispatch_series(load, np.zeros(6), spec(), BatteryState(5 * MWH), H, "tou-arbitrage",
                        price_krw_per_kwh=np.full(6, 100.0))
    closes(r, 5 * MWH)
    # 4 MWh above the floor: 3.6 MW for the first hour (below the 4 MW limit), then empty
    np.testing.assert_allclose(r.discharge_w, [3.6 * MW, 0, 0, 0, 0, 0], rtol=1e-9, atol=1e-6)


def test_peak_shaving_holds_the_threshold_and_recharges_below_it():
    # two days: 6 MW, 12 MW at 17-19; threshold 9 MW. Each peak needs 2 x 3 MW / 0.9 =
    # 6.67 MWh in the cells; the battery starts empty (at its floor) and buys it at 3 MW
    # (the headroom under 9 MW), no more
    sp = spec()
    day = np.where((np.arange(24) >= 17) & (np.arange(24) < 19), 12 * MW, 6 * MW)
    load = np.tile(day, 2)
    r = dispatch_series(load, np.zeros(48), sp, BatteryState(1 * MWH), H, "peak-shaving",
                        target_import_w=9 * MW)
    closes(r, 1 * MWH)
    np.testing.assert_allclose(r.grid_import_w[[17, 18, 41, 42]], 9 * MW, rtol=1e-9)
    assert np.all(r.grid_import_w <= 9 * MW * (1 + 1e-12))
    np.testing.assert_allclose(r.charge_from_grid_w[:3], [3 * MW, 3 * MW, (6 / 0.9 - 5.4) / 0.9 * MW],
                               rtol=1e-9)
    # after the first peak it recharges for the second, and after the second (no peak
    # ahead in the series) it stays at its floor
    assert r.charge_from_grid_w[19:41].sum() * H == pytest.approx(6 / 0.81 * MWH, rel=1e-9)
    assert np.all(r.charge_w[43:] == 0.0)
    assert r.stored_energy_j[-1] == pytest.approx(1 * MWH, rel=1e-9)
    # without the battery the peaks are 12 MW
    assert dispatch_series(load, np.zeros(48), None, None, H).grid_import_w.max() == 12 * MW


def test_peak_shaving_with_an_unreachable_threshold_does_nothing():
    load = np.tile(np.where(np.arange(24) >= 17, 12 * MW, 6 * MW), 2)
    cfe = np.tile(np.where(np.arange(24) < 6, 8 * MW, 0.0), 2)          # surplus at night
    r = dispatch_series(load, cfe, spec(), BatteryState(5 * MWH), H, "peak-shaving", target_import_w=20 * MW)
    assert np.all(r.charge_w == 0.0) and np.all(r.discharge_w == 0.0)
    base = dispatch_series(load, cfe, None, None, H)
    np.testing.assert_array_equal(r.grid_import_w, base.grid_import_w)
    np.testing.assert_array_equal(r.curtailed_w, base.curtailed_w)


def test_peak_shaving_recharges_from_surplus_before_the_grid():
    # wind at 10-12 brings the 6.67 MWh the evening peak needs: nothing from the grid
    load = np.where((np.arange(24) >= 17) & (np.arange(24) < 19), 12 * MW, 6 * MW)
    cfe = np.where((np.arange(24) >= 10) & (np.arange(24) < 12), 10 * MW, 0.0)
    r = dispatch_series(load, cfe, spec(), BatteryState(1 * MWH), H, "peak-shaving", target_import_w=9 * MW)
    closes(r, 1 * MWH)
    assert r.charge_from_grid_w.sum() == 0.0
    np.testing.assert_allclose(r.grid_import_w[17:19], 9 * MW, rtol=1e-9)


def test_the_look_ahead_reaches_into_a_forecast():
    # the series ends at 16:00; the peak is in the forecast after it
    load, cfe = np.full(24, 5 * MW), np.zeros(24)
    full = dispatch_series(load, cfe, spec(), BatteryState(1 * MWH), H, "tou-arbitrage", price_krw_per_kwh=PRICE)
    part = dispatch_series(load[:16], cfe[:16], spec(), BatteryState(1 * MWH), H, "tou-arbitrage",
                           price_krw_per_kwh=PRICE[:16], ahead=(load[16:], cfe[16:], PRICE[16:]))
    np.testing.assert_array_equal(part.charge_w, full.charge_w[:16])
    blind = dispatch_series(load[:16], cfe[:16], spec(), BatteryState(1 * MWH), H, "tou-arbitrage",
                            price_krw_per_kwh=PRICE[:16])
    assert blind.charge_w.sum() == 0.0 and part.charge_w.sum() > 0
