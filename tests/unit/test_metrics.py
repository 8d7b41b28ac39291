"""Metrics against hand-computed examples (formulas of Herrlin 2005/2008, Sharma et al.
2002, The Green Grid)."""
from __future__ import annotations

import numpy as np
import pytest

from common.errors import InputError
from twin.models import metrics as m


# --- RCI (Herrlin 2005) ------------------------------------------------------------------
def test_rci_hi_hand_computed():
    # intakes above 27 degC: 28 (1 K), 30 (3 K), 33 (6 K) -> 10 K over; n = 5, 32 - 27 = 5 K
    # RCI_HI = (1 - 10 / (5 * 5)) * 100 = 60 %
    t = [20.0, 25.0, 28.0, 30.0, 33.0]
    assert m.rci_hi_pct(t) == pytest.approx(60.0)


def test_rci_lo_hand_computed():
    # intakes below 18 degC: 16 (2 K), 17 (1 K) -> 3 K under; n = 4, 18 - 15 = 3 K
    # RCI_LO = (1 - 3 / (3 * 4)) * 100 = 75 %
    assert m.rci_lo_pct([16.0, 17.0, 18.0, 22.0]) == pytest.approx(75.0)


def test_rci_ideal_and_limits():
    inside = np.linspace(18.0, 27.0, 7)
    assert m.rci_hi_pct(inside) == pytest.approx(100.0)
    assert m.rci_lo_pct(inside) == pytest.approx(100.0)
    # every intake at the allowable maximum: 0 %
    assert m.rci_hi_pct([32.0, 32.0]) == pytest.approx(0.0)
    # beyond the allowable maximum RCI goes negative (Herrlin: "can be below 0")
    assert m.rci_hi_pct([37.0]) == pytest.approx(-100.0)
    # a 2D array (racks x time) counts every entry as an intake
    assert m.rci_hi_pct(np.array([[28.0, 26.0], [26.0, 26.0]])) == pytest.approx((1 - 1 / 20) * 100)


def test_rci_class_limits_and_errors():
    # class A2 allowable max 35: one intake 2 K over of 4, span 8 K -> 1 - 2/32
    assert m.rci_hi_pct([29.0, 20.0, 20.0, 20.0], 27.0, 35.0) == pytest.approx((1 - 2 / 32) * 100)
    with pytest.raises(InputError):
        m.rci_hi_pct([])
    with pytest.raises(InputError):
        m.rci_hi_pct([25.0], 27.0, 27.0)
    with pytest.raises(InputError):
        m.rci_lo_pct([float("nan")])


def test_rci_and_shi_count_each_entry_by_its_copies():
    """A rack standing for 3 identical copies counts as 3 intakes (Herrlin 2005: over all
    intakes): the same as listing it 3 times; a weight of 0 leaves an entry out."""
    t = [28.0, 20.0]
    assert m.rci_hi_pct(t, weight=[3.0, 1.0]) == pytest.approx(m.rci_hi_pct([28.0] * 3 + [20.0]), rel=1e-12)
    assert m.rci_hi_pct(t, weight=[3.0, 1.0]) == pytest.approx((1 - 3 / (5 * 4)) * 100)
    assert m.rci_lo_pct([16.0, 20.0], weight=[1.0, 2.0]) == pytest.approx((1 - 2 / (3 * 3)) * 100)
    assert m.rci_hi_pct([28.0, 40.0], weight=[1.0, 0.0]) == pytest.approx(m.rci_hi_pct([28.0]))
    shi, _ = m.shi_rhi([18.0, 20.0], [28.0, 30.0], [18.0, 18.0], weight=[2.0, 1.0])
    assert shi == pytest.approx(m.shi_rhi([18.0, 18.0, 20.0], [28.0, 28.0, 30.0], 18.0)[0], rel=1e-12)
    with pytest.raises(InputError, match="weights"):
        m.rci_hi_pct(t, weight=[-1.0, 1.0])


# --- RTI (Herrlin 2008), SHI/RHI (Sharma 2002) -------------------------------------------------
def test_rti_balanced_bypass_recirculation():
    # two racks, 1 m3/s each, 10 K rise; units: return - supply
    dte, qr = [10.0, 10.0], [1.0, 1.0]
    assert m.rti_pct([30.0], [20.0], [2.0], dte, qr) == pytest.approx(100.0)   # balanced
    assert m.rti_pct([25.0], [20.0], [4.0], dte, qr) == pytest.approx(50.0)    # bypass
    # flow-weighted: units of 1 and 3 m3/s with rises 8 and 12 -> (8 + 36)/4 = 11 -> 110 %
    assert m.rti_pct([28.0, 32.0], [20.0, 20.0], [1.0, 3.0], dte, qr) == pytest.approx(110.0)


def test_shi_rhi():
    # T_ref 18; inlets 18 and 20 (0 + 2), exhausts 28 and 30 (10 + 12): SHI = 2/22
    shi, rhi = m.shi_rhi([18.0, 20.0], [28.0, 30.0], 18.0)
    assert shi == pytest.approx(2.0 / 22.0)
    assert rhi == pytest.approx(1.0 - 2.0 / 22.0)
    assert np.isnan(m.shi_rhi([18.0], [18.0], 18.0)[0])


# --- ASHRAE classes ---------------------------------------------------------------------------
def test_class_compliance_counts():
    t = np.array([14.0, 17.0, 20.0, 27.0, 27.5, 33.0])
    c = m.inlet_class_compliance(t, "A1")
    assert c["n"] == 6
    assert c["within_recommended"] == 2          # 20, 27 (the limit is inside)
    assert c["over_recommended"] == 2 and c["under_recommended"] == 2
    assert c["over_allowable"] == 1 and c["under_allowable"] == 1   # 33 > 32, 14 < 15
    assert c["within_allowable"] == 4
    c2 = m.inlet_class_compliance(t, "A2")        # 10-35
    assert c2["over_allowable"] == 0 and c2["under_allowable"] == 0
    with pytest.raises(InputError):
        m.inlet_class_compliance(t, "A9")


def test_ashrae_class_of():
    got = m.ashrae_class_of([22.0, 30.0, 34.0, 38.0, 44.0, 50.0, 12.0])
    assert list(got) == ["recommended", "A1", "A2", "A3", "A4", "outside", "A2"]


# --- hot spots --------------------------------------------------------------------------------
def _field():
    x, y, z = np.meshgrid(np.arange(20) + 0.5, np.arange(10) + 0.5, np.arange(6) + 0.5, indexing="ij")
    t = 22.0 + 8.0 * np.exp(-((x - 4.5) ** 2 + (y - 4.5) ** 2 + (z - 2.5) ** 2) / 2.0) \
        + 5.0 * np.exp(-((x - 15.5) ** 2 + (y - 6.5) ** 2 + (z - 3.5) ** 2) / 2.0)
    return t


def test_hot_spots_found_hottest_first():
    t = _field()
    hs = m.hot_spots(t, spacing_m=(0.5, 0.5, 0.5), origin_m=(1.0, 0.0, 0.0), threshold_c=25.0,
                     separation_m=1.0)
    assert len(hs) == 2
    assert hs[0].temp_c == pytest.approx(30.0) and hs[0].index == (4, 4, 2)
    # cell (4, 4, 2): centre at origin + (i + 0.5) * d
    assert (hs[0].x_m, hs[0].y_m, hs[0].z_m) == pytest.approx((3.25, 2.25, 1.25))
    assert hs[1].index == (15, 6, 3) and hs[1].temp_c == pytest.approx(27.0)


def test_hot_spots_threshold_mask_and_nan():
    t = _field()
    assert len(m.hot_spots(t, threshold_c=28.0)) == 1
    assert m.hot_spots(t, threshold_c=31.0) == []
    mask = np.zeros(t.shape, bool)
    mask[12:, :, :] = True                         # only the second bump's region
    hs = m.hot_spots(t, mask=mask, threshold_c=25.0)
    assert len(hs) == 1 and hs[0].index == (15, 6, 3)
    t2 = t.copy()
    t2[4, 4, 2] = np.nan                            # a solid cell is ignored
    hs = m.hot_spots(t2, threshold_c=25.0)
    assert all(h.index != (4, 4, 2) for h in hs)


# --- energy ratios ------------------------------------------------------------------------------
def test_pue_partial_wue_cue():
    it_j = 1000.0 * 3.6e6                            # 1000 kWh
    assert m.pue(1300.0, 1000.0) == pytest.approx(1.3)
    assert m.partial_pue(1000.0, 200.0) == pytest.approx(1.2)
    assert m.wue_l_per_kwh(1800.0, it_j) == pytest.approx(1.8)
    assert m.cue_kg_per_kwh(450.0, it_j) == pytest.approx(0.45)
    assert np.isnan(m.pue(10.0, 0.0))
    with pytest.raises(InputError):
        m.pue(-1.0, 10.0)
