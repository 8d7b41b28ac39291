"""A heat wave (``dry_bulb_offset_k``) in ``twin run`` and its sweeps (issue 20).

What the plant model sees: the step's outdoor dry bulb, raised by exactly the offset
(the wet bulb less, at the same moisture), in a January window, in an August window and
on the ASHRAE design day. What it does with it: in January the small hall's plant (no
economizer; the tower holds its condenser water at the 24 degC set-point) changes only
its tower fans, so PUE moves by about 1e-4; in August the same +6 K raises the chillers'
power and PUE (figures: ``benchmarks/results/heatwave-2026-12-07.md``). The PV modules
see it too. ``period=`` in the Python API runs the period itself, not 1 January with the
design day's offset.

Small and quick: the small hall at 0.5 m cells, the racks' design airflow (one flow
solve), two 15-minute steps per run.
"""
from __future__ import annotations

import numpy as np
import pytest

import twin
import twin.loop.campus as campus_mod
from common.errors import InputError
from twin.facility import BUILTIN_DIR
from twin.loop.settings import RunSettings
from twin.loop.simulation import Simulation
from twin.loop.specs import _weather_spec
from twin.models.design_days import period_offset_k, period_window_h
from twin.models.weather import load_weather, weather_at

SMALL = BUILTIN_DIR / "small-hall.toml"
FAST = dict(hours=0.5, step_s=900.0, cell_m=0.5, backend="cpu", rack_airflow="design",
            checkpoint_every_s=0.0)
JANUARY_H = 0.0                     # 1 January 00:00, about -1 degC at Ulsan
AUGUST_H = 212 * 24.0 + 12.0        # 1 August 12:00, about 29 degC


@pytest.fixture(scope="module")
def fac():
    return twin.load(SMALL)


@pytest.fixture(scope="module")
def weather(fac):
    return load_weather(_weather_spec(fac))


@pytest.fixture(scope="module")
def memo():
    return {}


def _plant_inputs(fac, memo, monkeypatch, **settings):
    """The dry and wet bulbs every plant_step call of a run received, and the run's summary."""
    seen = []
    real = campus_mod.plant_step

    def spy(chw, liq, db, wb, spec, **kw):
        seen.append((np.array(db, float), np.array(wb, float)))
        return real(chw, liq, db, wb, spec, **kw)
    monkeypatch.setattr(campus_mod, "plant_step", spy)
    sim = Simulation(fac, RunSettings(**{**FAST, **settings}), flow_memo=memo)
    assert sim.run() == "complete"
    monkeypatch.setattr(campus_mod, "plant_step", real)
    db = np.concatenate([d for d, _ in seen])
    wb = np.concatenate([w for _, w in seen])
    return db, wb, sim


@pytest.mark.parametrize("when", [dict(start_h=JANUARY_H), dict(start_h=AUGUST_H),
                                  dict(period="design-cooling-0.4")])
def test_offset_reaches_the_plant_exactly(fac, weather, memo, monkeypatch, when):
    """+6 K: the plant's dry bulb is the weather file's (plus a design day's own offset)
    plus exactly 6 K at every step; its wet bulb rises, by less (same moisture)."""
    if "period" in when:
        when = {**when, "start_h": period_window_h(weather, when["period"])[0]}
    db0, wb0, base = _plant_inputs(fac, memo, monkeypatch, **when)
    db6, wb6, hot = _plant_inputs(fac, memo, monkeypatch, **when, dry_bulb_offset_k=6.0)
    assert len(db0) == len(db6) == base.n_steps
    np.testing.assert_allclose(db6 - db0, 6.0, rtol=0, atol=1e-9)
    file_db = np.asarray(weather_at(weather, base.t_mid_h).dry_bulb_temp_c, float)
    own = period_offset_k(weather, when["period"]) if "period" in when else 0.0
    np.testing.assert_allclose(db0, file_db + own, rtol=0, atol=1e-9)
    assert np.all(wb6 - wb0 > 0.3) and np.all(wb6 - wb0 < 6.0)
    assert hot.summary()["what_if"]["dry_bulb_offset_k"] == 6.0


def test_heat_wave_in_summer_costs_power_in_winter_hardly(fac):
    """The sweep over two hours: +6 K in August raises the cooling energy by more than
    1 % and PUE by more than 0.002 (measured: 2.0 %, 0.0052); in January the plant holds
    its condenser water at the set-point either way and PUE moves by less than 1e-3
    (measured 1.2e-4): physics of this plant, not a lost offset."""
    base = dict(FAST, hours=2.0)
    summer = twin.run_sweep(fac, {"run.dry_bulb_offset_k": [6.0]}, workers=1,
                            **base, start_h=AUGUST_H)
    winter = twin.run_sweep(fac, {"run.dry_bulb_offset_k": [6.0]}, workers=1,
                            **base, start_h=JANUARY_H)
    for frame in (summer, winter):
        assert list(frame["status"]) == ["complete", "complete"], frame["error"]
    assert summer.loc["case-01", "d_pue"] > 0.002
    assert summer.loc["case-01", "d_cooling_energy_kwh"] > 0.01 * summer.loc["baseline", "cooling_energy_kwh"]
    assert 0.0 <= winter.loc["case-01", "d_pue"] < 1e-3
    assert summer.loc["case-01", "d_pue"] > 10 * winter.loc["case-01", "d_pue"]


def test_api_period_runs_the_period_itself(fac, weather):
    """``twin.run(period="design-cooling-0.4")`` starts at 00:00 of the design day (it ran
    1 January with the design day's offset before); a start outside the period is one
    line."""
    p0, length = period_window_h(weather, "design-cooling-0.4")
    assert p0 > 24 * 120 and length == 24.0
    data = twin.run(fac, period="design-cooling-0.4", **{k: v for k, v in FAST.items()})
    assert data.settings["start_h"] == p0
    t_mid = p0 + np.array([0.125, 0.375])
    want = (np.asarray(weather_at(weather, t_mid).dry_bulb_temp_c, float)
            + period_offset_k(weather, "design-cooling-0.4"))
    np.testing.assert_allclose(data.series["weather"]["dry_bulb_c"], want, atol=1e-9)
    with pytest.raises(InputError, match=r"period design-cooling-0.4 is day \d+ .*start_h = 0 h "
                                         r"lies outside it"):
        twin.run(fac, period="design-cooling-0.4", start_h=0.0, **FAST)


def test_heat_wave_warms_the_pv_modules():
    """The offset reaches the PV chain too (PVWatts cell temperature, gamma -0.35 %/K):
    +6 K in August takes about 2 % off on-site PV and the solar contracts by day, whose
    annual scaling stays the weather file's; wind is unchanged."""
    from types import SimpleNamespace

    from twin.loop.campus import renewable_supply
    campus = twin.load(BUILTIN_DIR / "ulsan-campus.toml")
    w = load_weather(_weather_spec(campus))
    t = AUGUST_H + np.arange(0.5, 24 * 7, 1.0)

    def supply(**kw):
        sim = SimpleNamespace(facility=campus, weather=w, settings=RunSettings(**kw))
        return renewable_supply(sim, t)

    base, hot = supply(), supply(dry_bulb_offset_k=6.0)
    for key in ("onsite_pv_w", "contract_solar_w"):
        day = base[key] > 0.05 * base[key].max()
        assert day.sum() > 40, key
        loss = 1.0 - hot[key][day].sum() / base[key][day].sum()
        assert 0.01 < loss < 0.04, (key, loss)
        assert np.all(hot[key] <= base[key] + 1e-9)
    assert np.array_equal(hot["wind_w"], base["wind_w"])
