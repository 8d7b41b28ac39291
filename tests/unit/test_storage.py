"""Battery storage (twin.models.storage): limits and efficiency against hand calculations,
cycle ageing, each dispatch policy on small synthetic series, energy closure, the grid
import cap and curtailment accounting."""
from __future__ import annotations

import math

import numpy as np
import pytest

from common.errors import InputError
from twin.models.storage import (BatterySpec, BatteryState, ageing_cost_krw, battery_step,
                                 capacity_j, dispatch_series, equivalent_full_cycles)

MWH = 3.6e9          # J
H = 3600.0           # s
MW = 1e6


def spec(**kw):
    base = dict(energy_j=10 * MWH, power_w=4 * MW, round_trip_efficiency_frac=0.81,
                soc_min_frac=0.1, soc_max_frac=0.9, cycle_life_efc=5000.0, end_of_life_frac=0.8)
    base.update(kw)
    return BatterySpec(**base)


# ------------------------------------------------------------------ the battery
def test_charge_efficiency_and_loss_by_hand():
    sp = spec()                                        # eta_c = eta_d = 0.9
    st = BatteryState(stored_energy_j=2 * MWH)
    f = battery_step(sp, st, 3 * MW, H)
    assert f.charge_w == 3 * MW and f.discharge_w == 0.0
    assert f.loss_w == pytest.approx(0.3 * MW, rel=1e-12)             # 10 % of 3 MW
    assert f.state.stored_energy_j == pytest.approx(2 * MWH + 2.7 * MWH, rel=1e-12)


def test_discharge_efficiency_and_loss_by_hand():
    sp = spec()
    st = BatteryState(stored_energy_j=8 * MWH)
    f = battery_step(sp, st, -1.8 * MW, H)
    assert f.discharge_w == 1.8 * MW
    assert f.state.stored_energy_j == pytest.approx(8 * MWH - 2 * MWH, rel=1e-12)   # 1.8 / 0.9
    assert f.loss_w == pytest.approx(0.2 * MW, rel=1e-12)
    assert f.state.throughput_j == pytest.approx(2 * MWH, rel=1e-12)


def test_round_trip_efficiency():
    sp = spec(soc_min_frac=0.0, soc_max_frac=1.0, round_trip_efficiency_frac=0.85)
    st = BatteryState(stored_energy_j=0.0)
    st = battery_step(sp, st, 2 * MW, H).state                       # 2 MWh in at the bus
    out = 0.0
    while True:
        f = battery_step(sp, st, -4 * MW, H)
        if f.discharge_w <= 0:
            break
        out += f.discharge_w * H
        st = f.state
    assert out == pytest.approx(0.85 * 2 * MWH, rel=1e-9)


def test_power_limit():
    sp = spec()
    assert battery_step(sp, BatteryState(stored_energy_j=2 * MWH), 10 * MW, H).charge_w == 4 * MW
    assert battery_step(sp, BatteryState(stored_energy_j=8 * MWH), -10 * MW, H).discharge_w == 4 * MW


def test_soc_limits_by_hand():
    sp = spec()
    # 0.5 MWh of room below 90 %: a 4 MW request for an hour delivers 0.5 / 0.9 MW
    full = BatteryState(stored_energy_j=8.5 * MWH)
    f = battery_step(sp, full, 4 * MW, H)
    assert f.charge_w == pytest.approx(0.5 / 0.9 * MW, rel=1e-12)
    assert f.state.stored_energy_j == pytest.approx(9 * MWH, rel=1e-12)
    assert battery_step(sp, f.state, 4 * MW, H).charge_w == pytest.approx(0.0, abs=1e-6)
    # 0.5 MWh above 10 %: delivers 0.45 MW for an hour, and the store stops at 1 MWh
    low = BatteryState(stored_energy_j=1.5 * MWH)
    g = battery_step(sp, low, -4 * MW, H)
    assert g.discharge_w == pytest.approx(0.45 * MW, rel=1e-12)
    assert g.state.stored_energy_j >= sp.soc_min_frac * capacity_j(sp, g.state.throughput_j) - 1e-3


def test_step_closes_exactly():
    sp = spec()
    rng = np.random.default_rng(3)
    st = BatteryState(stored_energy_j=5 * MWH)
    for req in rng.uniform(-6, 6, 200) * MW:
        f = battery_step(sp, st, float(req), 900.0)
        lhs = (f.charge_w - f.discharge_w - f.loss_w) * 900.0
        assert abs(lhs - (f.state.stored_energy_j - st.stored_energy_j)) <= 1e-9 * sp.energy_j
        assert f.charge_w * f.discharge_w == 0.0 and f.loss_w >= 0.0
        st = f.state


def test_cycle_ageing_throughput_model():
    sp = spec()                                        # 5000 EFC to 80 %
    # one EFC: a throughput (in + out of the cells) of twice the nameplate
    assert equivalent_full_cycles(sp, 5000 * sp.energy_j) == pytest.approx(2500.0)
    assert capacity_j(sp, 0.0) == sp.energy_j
    assert capacity_j(sp, 5000 * sp.energy_j) == pytest.approx(0.9 * sp.energy_j, rel=1e-12)
    assert capacity_j(sp, 10000 * sp.energy_j) == pytest.approx(0.8 * sp.energy_j, rel=1e-12)
    # cost R E0 / N per EFC: 10 MWh at 300,000 KRW/kWh over 5000 cycles, 10 EFC
    assert ageing_cost_krw(sp, 20 * sp.energy_j, 300_000.0) == pytest.approx(300_000 * 10_000 / 5000 * 10)
    np.testing.assert_allclose(ageing_cost_krw(sp, np.array([2.0, 4.0]) * sp.energy_j, 300_000.0),
                               [300_000 * 10_000 / 5000, 2 * 300_000 * 10_000 / 5000])
    # an aged battery holds less: 90 % of 80 % capacity
    old = BatteryState(stored_energy_j=0.5 * MWH, throughput_j=10000 * sp.energy_j)
    st = old
    for _ in range(20):
        st = battery_step(sp, st, 4 * MW, H).state
    # (the charge itself ages it a little further: 6.5 MWh in is 3e-4 EFC, 1e-5 relative)
    assert st.stored_energy_j == pytest.approx(0.9 * 0.8 * sp.energy_j, rel=2e-5)
    assert st.stored_energy_j < 0.9 * 0.8 * sp.energy_j


def test_cycles_count_charge_and_discharge():
    """EFC = (energy into + out of the cells) / (2 E0): a full 10-90 % cycle of a 10 MWh
    battery is 0.8 EFC; its charge alone half of that (the old count, discharge only,
    gave 0 for a battery that is only charged)."""
    sp = spec(end_of_life_frac=1.0)                    # 10 MWh, eta_c = eta_d = 0.9, no fade
    st = BatteryState(stored_energy_j=1 * MWH)
    for _ in range(3):                                 # 4 + 4 + 0.89 MW: 8 MWh into the cells
        st = battery_step(sp, st, 4 * MW, H).state
    assert st.stored_energy_j == pytest.approx(9 * MWH, rel=1e-12)
    assert st.throughput_j == pytest.approx(8 * MWH, rel=1e-12)
    assert equivalent_full_cycles(sp, st.throughput_j) == pytest.approx(0.4, rel=1e-12)
    for _ in range(3):                                 # and 8 MWh out
        st = battery_step(sp, st, -4 * MW, H).state
    assert st.stored_energy_j == pytest.approx(1 * MWH, rel=1e-12)
    assert equivalent_full_cycles(sp, st.throughput_j) == pytest.approx(0.8, rel=1e-12)
    # the ageing cost of that cycle: 0.8 EFC x R E0 / N
    assert ageing_cost_krw(sp, st.throughput_j, 300_000.0) == pytest.approx(0.8 * 300_000 * 10_000 / 5000)
    # in a dispatch the cumulative throughput is the same sum of both halves
    r = dispatch_series(np.array([0, 0, 0, 9, 9, 9.0]) * MW, np.array([9, 9, 9, 0, 0, 0.0]) * MW, sp,
                        BatteryState(stored_energy_j=1 * MWH), H)
    inn = np.sum(r.charge_w - r.loss_w * (r.charge_w > 0)) * H
    out = np.sum((r.discharge_w + r.loss_w * (r.discharge_w > 0))) * H
    assert r.throughput_j[-1] == pytest.approx(inn + out, rel=1e-12)
    assert equivalent_full_cycles(sp, r.throughput_j[-1]) == pytest.approx(0.8, rel=1e-12)


def test_bad_spec_is_one_line():
    with pytest.raises(InputError, match="soc_min_frac 0.9 must be below soc_max_frac 0.5"):
        spec(soc_min_frac=0.9, soc_max_frac=0.5)
    with pytest.raises(InputError, match="round_trip_efficiency_frac"):
        spec(round_trip_efficiency_frac=1.2)


# ------------------------------------------------------------------ dispatch
LOAD = np.array([10, 10, 2, 2, 10, 10.0]) * MW
CFE = np.array([2, 2, 12, 12, 2, 2.0]) * MW


def _closes(r, step_s):
    lhs = (r.charge_w - r.discharge_w - r.loss_w) * step_s
    assert np.max(np.abs(lhs - r.energy_change_j)) <= 1e-9 * 10 * MWH


def test_renewable_shifting_by_hand():
    sp = spec()
    r = dispatch_series(LOAD, CFE, sp, BatteryState(stored_energy_j=5 * MWH), H, "renewable-shifting")
    _closes(r, H)
    # hour 1: 8 MW short; 4 MWh above 10 %, so 3.6 MW at eta_d = 0.9 (less than 4 MW)
    assert r.discharge_w[0] == pytest.approx(3.6 * MW, rel=1e-9)
    assert r.grid_import_w[0] == pytest.approx(4.4 * MW, rel=1e-9)
    # hours 3-4: 10 MW surplus, 4 MW limit, then the 90 % limit
    assert r.charge_w[2] == pytest.approx(4 * MW, rel=1e-9)
    assert r.curtailed_w[2] == pytest.approx(6 * MW, rel=1e-9)
    assert r.charge_from_grid_w.sum() == 0.0           # never from the grid
    assert r.stored_energy_j.max() <= 0.9 * 10 * MWH * (1 + 1e-12)
    # energy from the surplus comes back as carbon-free supply
    assert r.carbon_free_served_w[4] > r.direct_w[4]
    # load balance: direct + discharge + grid + shortfall - grid charging = load
    served = r.direct_w + r.discharge_w + r.grid_import_w + r.shortfall_w - r.charge_from_grid_w
    np.testing.assert_allclose(served, LOAD, rtol=1e-12)
    # supply balance: carbon-free = direct + charged from it + curtailed
    np.testing.assert_allclose(r.direct_w + (r.charge_w - r.charge_from_grid_w) + r.curtailed_w, CFE, rtol=1e-12)


def test_curtailment_without_a_battery():
    r = dispatch_series(LOAD, CFE, None, None, H)
    np.testing.assert_allclose(r.curtailed_w, [0, 0, 10 * MW, 10 * MW, 0, 0])
    np.testing.assert_allclose(r.grid_import_w, np.maximum(LOAD - CFE, 0))
    assert r.charge_w.sum() == 0.0 and r.shortfall_w.sum() == 0.0


def test_peak_shaving_to_the_target():
    sp = spec()
    load = np.array([6, 6, 12, 12, 6, 13.0]) * MW
    r = dispatch_series(load, np.zeros(6), sp, BatteryState(stored_energy_j=5 * MWH), H, "peak-shaving",
                        target_import_w=9 * MW)
    _closes(r, H)
    assert r.grid_import_w[2] == pytest.approx(9 * MW) and r.grid_import_w[3] == pytest.approx(9 * MW)
    # below the target it recharges from the grid, never above it
    assert r.charge_from_grid_w[0] > 0 and np.all(r.grid_import_w[:5] <= 9 * MW + 1e-6)
    # 13 MW at the end exceeds what is left plus 9 MW: the rest is imported (no cap)
    assert r.grid_import_w[5] > 9 * MW and r.shortfall_w.sum() == 0


@pytest.mark.parametrize("policy", ["renewable-shifting", "tou-arbitrage", "peak-shaving"])
def test_grid_cap_is_never_exceeded_and_shortfall_reported(policy):
    rng = np.random.default_rng(7)
    n = 96
    load = rng.uniform(4, 14, n) * MW
    cfe = rng.uniform(0, 12, n) * MW
    price = np.tile([100.0] * 8 + [120.0] * 8 + [250.0] * 8, 4)
    cap = 7 * MW
    r = dispatch_series(load, cfe, spec(), BatteryState(stored_energy_j=5 * MWH), 1800.0, policy,
                        price_krw_per_kwh=price, import_cap_w=cap)
    _closes(r, 1800.0)
    assert np.all(r.grid_import_w <= cap)
    need = load - r.direct_w - r.discharge_w + r.charge_from_grid_w
    np.testing.assert_allclose(r.grid_import_w + r.shortfall_w, need, rtol=1e-12, atol=1e-6)
    assert np.all(r.shortfall_w >= 0) and r.shortfall_w.max() > 0        # this series needs it
    # the battery lowers the shortfall against no battery
    r0 = dispatch_series(load, cfe, None, None, 1800.0, import_cap_w=cap)
    assert r.shortfall_w.sum() < r0.shortfall_w.sum()


def test_closure_over_a_long_series():
    rng = np.random.default_rng(11)
    n = 2000
    load = rng.uniform(0, 20, n) * MW
    cfe = rng.uniform(0, 25, n) * MW
    r = dispatch_series(load, cfe, spec(energy_j=400 * MWH, power_w=100 * MW), BatteryState(200 * MWH), H)
    res = (r.charge_w - r.discharge_w - r.loss_w) * H - r.energy_change_j
    assert np.max(np.abs(res)) <= 1e-9 * 400 * MWH
    total = (r.charge_w.sum() - r.discharge_w.sum() - r.loss_w.sum()) * H
    assert total == pytest.approx(r.stored_energy_j[-1] - 200 * MWH, rel=1e-9, abs=1e-9 * 400 * MWH)


def test_dispatch_bad_input():
    with pytest.raises(InputError, match="unknown"):
        dispatch_series(LOAD, CFE, spec(), BatteryState(5 * MWH), H, "arbitrage")
    with pytest.raises(InputError, match="price"):
        dispatch_series(LOAD, CFE, spec(), BatteryState(5 * MWH), H, "tou-arbitrage")
    with pytest.raises(InputError, match="target"):
        dispatch_series(LOAD, CFE, spec(), BatteryState(5 * MWH), H, "peak-shaving")
    assert math.isclose(spec().charge_efficiency_frac, 0.9)


def test_battery_holds_the_cap_whatever_the_policy():
    # a discharge's ageing (2e6 / 2 / 5000 / 0.9 = 222 KRW/kWh) dearer than the price:
    # arbitrage would idle, but the load is 3 MW above the 7 MW cap
    load = np.full(3, 10 * MW)
    r = dispatch_series(load, np.zeros(3), spec(), BatteryState(stored_energy_j=8 * MWH), H, "tou-arbitrage",
                        price_krw_per_kwh=[120.0, 120.0, 120.0], import_cap_w=7 * MW,
                        replacement_cost_krw_per_kwh=2e6)
    np.testing.assert_allclose(r.discharge_w[:2], 3 * MW)
    np.testing.assert_allclose(r.grid_import_w, 7 * MW)
    assert r.shortfall_w[:2].sum() == 0.0
    # the third hour finds the store near its 10 % floor: the rest is reported, not imported
    assert r.shortfall_w[2] > 0 and r.discharge_w[2] < 3 * MW
    np.testing.assert_allclose(r.discharge_w + r.shortfall_w, 3 * MW, rtol=1e-12)
