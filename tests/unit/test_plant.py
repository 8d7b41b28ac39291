"""Chiller plant: EIR chiller, YorkCalc tower, water use, economizer, plant step."""
import warnings

import numpy as np
import pytest

from common.errors import InputError
from twin.models.airside import WATER_CP_J_KG_K, CurveRangeWarning
from twin.models.chiller import (AHRI_ENTERING_CW_TEMP_C, AHRI_LEAVING_CHW_TEMP_C, CHILLERS,
                                 chiller_eir)
from twin.models.plant import design_plant, plant_step
from twin.models.tower import (CoolingTowerSpec, cooling_tower, economizer_fraction,
                               latent_heat_vaporization_j_kg, tower_design_liquid_to_gas_ratio,
                               tower_water_use_kg_s, yorkcalc_approach_k)

YORK = CHILLERS["york-yt-1758kw-6.28cop"]
TRANE = CHILLERS["trane-cvhf-2799kw-6.40cop"]


# --- chiller --------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", CHILLERS.values(), ids=list(CHILLERS))
def test_curves_near_one_at_reference(spec):
    x, y = spec.reference_leaving_chw_temp_c, spec.reference_entering_cw_temp_c
    assert float(spec.eirfplr(1.0)) == pytest.approx(1.0, abs=2e-3)
    assert float(spec.eirft(x, y)) == pytest.approx(1.0, abs=0.01)
    # EnergyPlus's own check on Chiller:Electric:EIR curves: within +-10 % of 1
    assert float(spec.capft(x, y)) == pytest.approx(1.0, abs=0.10)


def test_trane_curves_equal_one_at_reference():
    assert float(TRANE.capft(6.67, 26.11)) == pytest.approx(1.0, abs=0.005)
    assert float(TRANE.eirft(6.67, 26.11)) == pytest.approx(1.0, abs=0.005)


def test_cop_at_ahri_rating_equals_reference_cop():
    # York YT record: reference point is AHRI 550/590 (6.67 °C LCHW, 29.44 °C ECW)
    assert YORK.reference_leaving_chw_temp_c == AHRI_LEAVING_CHW_TEMP_C
    assert YORK.reference_entering_cw_temp_c == AHRI_ENTERING_CW_TEMP_C
    r = chiller_eir(YORK.reference_capacity_w, AHRI_LEAVING_CHW_TEMP_C, AHRI_ENTERING_CW_TEMP_C, YORK)
    assert r.cop == pytest.approx(6.28, rel=0.01)
    assert 6.1 <= r.cop <= 7.0
    assert r.unmet_heat_w == 0.0


def test_chiller_energy_and_trends():
    q = np.linspace(0.1, 1.0, 10) * YORK.reference_capacity_w
    r = chiller_eir(q, 7.0, 24.0, YORK)
    np.testing.assert_allclose(r.condenser_heat_w, r.evaporator_heat_w + r.power_w, rtol=1e-12)
    assert np.all(np.diff(r.power_w) > 0.0)
    # warmer condenser water -> lower COP; warmer chilled water -> higher COP
    cop_t = chiller_eir(0.8e6, 7.0, np.array([18.0, 24.0, 30.0]), YORK).cop
    assert np.all(np.diff(cop_t) < 0.0)
    cop_chw = chiller_eir(0.8e6, np.array([5.0, 7.0, 8.5]), 24.0, YORK).cop
    assert np.all(np.diff(cop_chw) > 0.0)
    # below the minimum PLR the compressor cycles: power proportional to load
    low = chiller_eir(np.array([0.05, 0.10]) * YORK.reference_capacity_w, 7.0, 24.0, YORK)
    assert low.power_w[1] == pytest.approx(2.0 * low.power_w[0])
    assert chiller_eir(0.0, 7.0, 24.0, YORK).power_w == 0.0


def test_chiller_overload_and_curve_bounds():
    r = chiller_eir(3e6, 6.67, 29.44, YORK)
    assert r.unmet_heat_w > 0.0
    assert r.evaporator_heat_w == pytest.approx(YORK.max_plr * r.available_capacity_w)
    with pytest.warns(CurveRangeWarning, match="entering_cw_temp_c"):
        hot = chiller_eir(1e6, 6.67, 40.0, YORK)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        edge = chiller_eir(1e6, 6.67, 35.0, YORK)
    assert hot.power_w == pytest.approx(edge.power_w)   # clamped, not extrapolated


def test_chiller_bad_inputs():
    with pytest.raises(InputError, match="load_w must be >= 0"):
        chiller_eir(-1.0, 7.0, 24.0, YORK)
    with pytest.raises(InputError, match="capacity_w"):
        YORK.scaled(-5.0)
    assert YORK.scaled(5e6).reference_capacity_w == 5e6


# --- tower ------------------------------------------------------------------------------------
TOWER = CoolingTowerSpec(name="t", design_heat_w=10e6)   # EnergyPlus defaults 25.6/5.6/3.9


def test_tower_approach_at_design():
    r = cooling_tower(TOWER.design_heat_w, 25.6, 0.0, TOWER)       # set-point out of reach: full fan
    assert r.airflow_fraction == pytest.approx(1.0)
    assert r.approach_k == pytest.approx(3.9, abs=1e-6)
    assert r.range_k == pytest.approx(5.6)
    assert r.leaving_temp_c == pytest.approx(25.6 + 3.9, abs=1e-6)
    assert r.fan_power_w == pytest.approx(0.0105 * 10e6)
    # the calibrated water-flow ratio lies inside YorkCalc's fitted 0.75-1.25
    assert 0.75 <= tower_design_liquid_to_gas_ratio(TOWER) <= 1.25


def test_tower_fan_modulates_to_setpoint_with_cube_law():
    r = cooling_tower(TOWER.design_heat_w, 15.0, 24.0, TOWER)
    assert r.leaving_temp_c == pytest.approx(24.0, abs=1e-3)
    assert 0.2 < r.airflow_fraction < 1.0
    assert r.fan_power_w == pytest.approx(TOWER.design_fan_power_w * r.airflow_fraction**3)
    # YorkCalc: approach grows at lower wet bulb and at lower airflow
    a = np.asarray(yorkcalc_approach_k(np.array([10.0, 20.0, 25.6]), 5.6, 1.0))
    assert np.all(np.diff(a) < 0.0)
    assert yorkcalc_approach_k(25.6, 5.6, 2.0) > yorkcalc_approach_k(25.6, 5.6, 1.0)


def _bisection_airflow(q, wb, tset, spec, m):
    """The 40-step bisection the tower used before its closed-form root (the reference)."""
    lg_d = tower_design_liquid_to_gas_ratio(spec)
    fr_w = lg_d * m / (spec.n_cells * spec.design_water_flow_kg_s / spec.n_cells)
    rng = np.clip(q / (m * WATER_CP_J_KG_K), 1.1111, 22.2222)
    twb = np.clip(wb, -34.4, 29.4444)
    app = lambda a: np.asarray(yorkcalc_approach_k(twb, rng, fr_w / a, warn=False))
    need = tset - wb
    lo, hi = np.full(q.shape, spec.min_airflow_fraction), np.ones(q.shape)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        warm = app(mid) > need
        lo, hi = np.where(warm, mid, lo), np.where(warm, hi, mid)
    return np.where(app(1.0) >= need, 1.0, np.where(app(spec.min_airflow_fraction) <= need,
                                                    spec.min_airflow_fraction, hi)), app


@pytest.mark.parametrize("closed_form", [True, False])
def test_tower_airflow_root_agrees_with_bisection(closed_form, monkeypatch):
    """The tower's closed-form airflow (YorkCalc is quadratic in LG) against a 40-step
    bisection over wet bulbs -40..35 degC, ranges past YorkCalc's bounds and water flows
    to 2x design (LG past its cap of 8 at minimum fan): airflow within 1e-12, fan power
    within 1e-10 relative, and the approach at that airflow is the set-point's to 1e-9 K.
    Without the closed form (``closed_form=False``: its polynomial made NaN) every element
    goes through the fallback bisection and agrees as well."""
    import twin.models.tower as tower_module
    if not closed_form:
        nan_poly = lambda wb, r: [np.full(np.broadcast(wb, r).shape, np.nan)] * 3
        monkeypatch.setattr(tower_module, "_yorkcalc_lg_polynomial", nan_poly)
    rs = np.random.default_rng(7)
    n = 3000
    q = rs.uniform(0.0, 1.5, n) * TOWER.design_heat_w
    wb = rs.uniform(-40.0, 35.0, n)
    tset = wb + rs.uniform(0.0, 15.0, n)
    m = rs.uniform(0.5, 2.0, n) * TOWER.design_water_flow_kg_s
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = cooling_tower(q, wb, tset, TOWER, water_flow_kg_s=m)
        ref, app = _bisection_airflow(q, wb, tset, TOWER, m)
    a = np.asarray(r.airflow_fraction)
    on = q > 0.0
    modulating = on & (ref > TOWER.min_airflow_fraction) & (ref < 1.0)
    assert modulating.sum() > n // 4                        # the root search is exercised
    np.testing.assert_allclose(a[on], ref[on], rtol=0.0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(r.fan_power_w)[on],
                               TOWER.design_fan_power_w * ref[on] ** 3, rtol=1e-10)
    np.testing.assert_allclose(app(np.where(modulating, a, 1.0))[modulating], (tset - wb)[modulating],
                               rtol=0.0, atol=1e-9)


def test_yorkcalc_is_a_quadratic_in_lg():
    from twin.models.tower import _yorkcalc_lg_polynomial
    wb, rng = np.meshgrid(np.linspace(-34.4, 29.4, 7), np.linspace(1.2, 22.0, 5))
    c0, c1, c2 = _yorkcalc_lg_polynomial(wb, rng)
    for lg in (0.3, 1.0, 4.5, 8.0):
        np.testing.assert_allclose(c0 + c1 * lg + c2 * lg * lg,
                                   yorkcalc_approach_k(wb, rng, lg, warn=False), rtol=1e-12, atol=1e-12)


def test_latent_heat_iapws():
    # IAPWS-IF97 saturation table: h_fg = 2453.5 kJ/kg at 20 °C, 2429.8 at 30, 2406.0 at 40
    np.testing.assert_allclose(latent_heat_vaporization_j_kg([20.0, 30.0, 40.0]),
                               [2453.5e3, 2429.8e3, 2406.0e3], rtol=1e-3)


def test_evaporation_per_kwh():
    q = 1000.0                                          # 1 kW for 1 h = 1 kWh
    m = q / (WATER_CP_J_KG_K * 5.6)
    evap, drift, blow = tower_water_use_kg_s(q, 30.0, 5.6, m, TOWER)
    litres = evap * 3600.0 / 0.996
    assert 1.45 <= litres <= 1.8
    assert litres == pytest.approx(3.6e6 / 2.43e6 / 0.996, rel=0.005)
    lf = CoolingTowerSpec(name="lf", design_heat_w=10e6, evaporation_method="loss_factor")
    evap_lf, _, _ = tower_water_use_kg_s(q, 30.0, 5.6, m, lf)
    assert 1.5 <= evap_lf * 3600.0 / 0.996 <= 1.8         # EnergyPlus 0.2 %/K default: ~1.73 L/kWh
    # blowdown by cycles of concentration (N = 4): evap / (N - 1) - drift
    assert blow == pytest.approx(evap / 3.0 - drift)
    assert drift == pytest.approx(0.00008 * m)


def test_tower_cell_control():
    t = CoolingTowerSpec(name="cells", design_heat_w=10e6, n_cells=4, cell_control="minimal")
    np.testing.assert_array_equal(t.cells_on([0.0, 1e6, 2.6e6, 9e6, 20e6]), [0, 1, 2, 4, 4])
    r = cooling_tower(2e6, 20.0, 0.0, t)                   # 1 cell at design flow: design range
    assert r.cells_on == 1 and r.range_k == pytest.approx(2e6 / (t.design_water_flow_kg_s / 4 * WATER_CP_J_KG_K))
    assert r.fan_power_w == pytest.approx(t.design_fan_power_w / 4.0)
    m = CoolingTowerSpec(name="cells", design_heat_w=10e6, n_cells=4)   # maximal (default)
    rm = cooling_tower(2e6, 20.0, 0.0, m)
    assert rm.cells_on == 4 and rm.approach_k < r.approach_k


def test_tower_bad_inputs():
    with pytest.raises(InputError, match="heat_w must be >= 0"):
        cooling_tower(-1.0, 20.0, 24.0, TOWER)
    with pytest.raises(InputError, match="design_wet_bulb_c"):
        CoolingTowerSpec(name="bad", design_heat_w=1e6, design_wet_bulb_c=35.0)


# --- economizer -------------------------------------------------------------------------------
def test_economizer_fraction():
    # chilled water 8 -> 14 °C, HX approach 1.5 K
    f = economizer_fraction(14.0, 8.0, np.array([5.0, 6.5, 9.5, 12.5, 20.0]), 1.5)
    np.testing.assert_allclose(f, [1.0, 1.0, 0.5, 0.0, 0.0])
    # the brief's criterion: wet bulb + tower approach + HX approach <= set-point
    assert economizer_fraction(14.0, 8.0, 2.0 + 4.0, 2.0) == 1.0


# --- plant step -------------------------------------------------------------------------------
@pytest.mark.parametrize("rejection", ["dry_cooler", "tower", "chiller"])
def test_plant_energy_closes(rejection):
    spec = design_plant(10e6, 20e6, liquid_rejection=rejection)
    db = np.array([-5.0, 5.0, 15.0, 25.0, 30.0, 34.0])
    wb = np.array([-7.0, 2.0, 11.0, 20.0, 24.0, 27.0])
    q_chw = np.array([9e6, 8e6, 6e6, 10e6, 3e6, 9.5e6])
    q_liq = np.array([18e6, 19e6, 10e6, 20e6, 5e6, 19e6])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CurveRangeWarning)  # low tower loads: range below YorkCalc's
        r = plant_step(q_chw, q_liq, db, wb, spec)
    rhs = r.heat_removed_w + r.chiller_power_w + r.pump_power_w
    np.testing.assert_allclose(r.heat_rejected_w, rhs, rtol=1e-9)
    np.testing.assert_allclose(r.heat_rejected_w, r.tower_heat_w + r.dry_cooler_heat_w, rtol=1e-12)
    assert np.all(r.unmet_heat_w == 0.0)
    assert np.all((r.free_cooling_fraction >= 0.0) & (r.free_cooling_fraction <= 1.0))
    np.testing.assert_allclose(r.total_power_w, r.chiller_power_w + r.tower_fan_power_w
                               + r.pump_power_w + r.dry_cooler_fan_power_w)
    # colder weather never costs more compressor power at equal load
    same = plant_step(8e6, 15e6, db, np.minimum(wb, db), spec)
    assert np.all(np.diff(same.chiller_power_w) >= -1e-6)


def test_plant_free_cooling_in_winter_chillers_in_summer():
    spec = design_plant(10e6, 20e6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CurveRangeWarning)   # near-design loads: every curve in range
        r = plant_step(8e6, 18e6, np.array([-2.0, 33.0]), np.array([-4.0, 25.5]), spec)
    assert r.chw_free_cooling_fraction[0] == pytest.approx(1.0)
    assert r.chiller_power_w[0] == 0.0 and r.chillers_running[0] == 0
    assert r.chw_free_cooling_fraction[1] == 0.0 and r.chillers_running[1] >= 1
    assert 5.5 < r.chiller_cop[1] < 9.0
    # the tower's evaporation matches its heat at ~1.5 L/kWh
    litres_per_kwh = r.evaporation_l / (r.tower_heat_w / 1e3)
    np.testing.assert_allclose(litres_per_kwh, 1.49, rtol=0.03)
    assert np.all(r.water_use_l > r.evaporation_l)


def test_plant_overload_reports_unmet_and_still_closes():
    spec = design_plant(5e6, 0.0, n_chillers=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CurveRangeWarning)
        r = plant_step(12e6, 0.0, 34.0, 26.0, spec)
    assert r.unmet_heat_w > 0.0
    assert r.heat_removed_w == pytest.approx(12e6 - r.unmet_heat_w)
    assert r.heat_rejected_w == pytest.approx(r.heat_removed_w + r.chiller_power_w + r.pump_power_w)


def test_plant_fixed_point_converged():
    spec = design_plant(10e6, 20e6)
    db, wb = np.array([5.0, 18.0, 31.0]), np.array([3.0, 15.0, 25.0])
    a = plant_step(8e6, 18e6, db, wb, spec)
    b = plant_step(8e6, 18e6, db, wb, spec, iterations=40)
    np.testing.assert_allclose(a.chiller_power_w, b.chiller_power_w, rtol=1e-3)
    np.testing.assert_allclose(a.condenser_water_temp_c, b.condenser_water_temp_c, atol=1e-3)


def test_plant_bad_inputs():
    spec = design_plant(5e6, 2e6)
    with pytest.raises(InputError, match="chw_heat_w must be >= 0"):
        plant_step(-1.0, 0.0, 20.0, 15.0, spec)
    with pytest.raises(InputError, match="wet bulb can never exceed"):
        plant_step(1e6, 0.0, 20.0, 25.0, spec)
    with pytest.raises(InputError, match="no liquid loop"):
        plant_step(1e6, 1e6, 20.0, 15.0, design_plant(5e6))
    with pytest.raises(InputError, match="liquid_rejection"):
        design_plant(5e6, 1e6, liquid_rejection="river")
    with pytest.raises(InputError, match="chiller"):
        design_plant(5e6, chiller="nope")
