"""Flexible training load (twin.models.flexload): cuts when supply is short, deferred work
caught up in surplus or lost after its window, the work counted and closed."""
from __future__ import annotations

import numpy as np
import pytest

from common.errors import InputError
from twin.models.flexload import FlexibleLoadSpec, apply_plan, plan_flexible_load

MW = 1e6
H = 3600.0
MWH = 3.6e9
IDLE = np.full(6, 1 * MW)
DYN = np.full(6, 8 * MW)
HEAD = np.full(6, 2 * MW)
SUPPLY = np.array([2, 2, 12, 12, 2, 2.0]) * MW


def test_slow_mode_loses_the_cut_by_hand():
    sp = FlexibleLoadSpec(share_frac=0.25, mode="slow", planning_pue=1.0)
    p = plan_flexible_load(IDLE, DYN, HEAD, SUPPLY, H, sp)
    # 9 MW planned against 2 MW: cut min(0.25 x 8, 7) = 2 MW of dynamic power
    np.testing.assert_allclose(p.cut_frac, [0.25, 0.25, 0, 0, 0.25, 0.25])
    np.testing.assert_allclose(p.lost_j, [2 * MWH, 2 * MWH, 0, 0, 2 * MWH, 2 * MWH])
    assert np.all(p.catch_up_frac == 0) and np.all(p.backlog_j == 0)
    np.testing.assert_allclose(p.planned_after_w, [7 * MW, 7 * MW, 9 * MW, 9 * MW, 7 * MW, 7 * MW])


def test_cut_is_limited_by_the_shortfall():
    sp = FlexibleLoadSpec(share_frac=1.0, mode="slow", planning_pue=1.5)
    # planned 1.5 x 9 = 13.5 MW against 12 MW: cut 1.5 / 1.5 = 1 MW of IT
    p = plan_flexible_load(IDLE[:1], DYN[:1], HEAD[:1], [12 * MW], H, sp)
    assert p.cut_j[0] == pytest.approx(1 * MWH)
    assert p.planned_after_w[0] == pytest.approx(12 * MW)


def test_defer_mode_catches_up_in_surplus_and_drops_old_work():
    sp = FlexibleLoadSpec(share_frac=0.5, mode="defer", max_defer_s=3 * H, planning_pue=1.0)
    p = plan_flexible_load(IDLE, DYN, HEAD, SUPPLY, H, sp)
    np.testing.assert_allclose(p.cut_j / MWH, [4, 4, 0, 0, 4, 4])
    # surplus hours: 12 - 9 = 3 MW spare, but only 2 MW headroom to full utilisation
    np.testing.assert_allclose(p.added_j / MWH, [0, 0, 2, 2, 0, 0])
    np.testing.assert_allclose(p.catch_up_frac, [0, 0, 1, 1, 0, 0])
    # work cut in hour 0 is 3 h old at hour 3 (2 MWh left of it: dropped); hour 1's at hour 4
    np.testing.assert_allclose(p.lost_j / MWH, [0, 0, 0, 2, 2, 0])
    np.testing.assert_allclose(p.backlog_j / MWH, [4, 8, 6, 2, 4, 8])
    # work closes: cut = run later + lost + still waiting
    assert p.cut_j.sum() == pytest.approx(p.added_j.sum() + p.lost_j.sum() + p.backlog_j[-1])
    assert p.done_j.sum() == pytest.approx(p.requested_j.sum() - p.cut_j.sum() + p.added_j.sum())


def test_no_cut_when_supply_suffices():
    sp = FlexibleLoadSpec(share_frac=0.5)
    p = plan_flexible_load(IDLE, DYN, HEAD, np.full(6, 20 * MW), H, sp)
    assert p.cut_j.sum() == 0 and p.lost_j.sum() == 0
    np.testing.assert_allclose(p.planned_after_w, p.planned_before_w)


def test_apply_plan_scales_utilisation_consistently():
    sp = FlexibleLoadSpec(share_frac=0.5, mode="defer", planning_pue=1.0)
    rng = np.random.default_rng(2)
    u = rng.uniform(0.3, 0.9, (6, 5))
    rng_w = rng.uniform(10e3, 50e3, 5)                     # dynamic range of each rack, W
    dyn, head = u @ rng_w, (1 - u) @ rng_w
    p = plan_flexible_load(np.full(6, 1e4), dyn, head, np.array([0, 0, 1e6, 1e6, 0, 0.0]), H, sp)
    u2 = apply_plan(u, p)
    assert np.all((u2 >= 0) & (u2 <= 1))
    # the racks' new dynamic power is what the plan planned, step by step
    np.testing.assert_allclose(u2 @ rng_w, dyn - p.cut_j / H + p.added_j / H, rtol=1e-12)


def test_bad_spec():
    with pytest.raises(InputError, match="mode"):
        FlexibleLoadSpec(share_frac=0.5, mode="pause")
    with pytest.raises(InputError, match="share_frac"):
        FlexibleLoadSpec(share_frac=1.5)
