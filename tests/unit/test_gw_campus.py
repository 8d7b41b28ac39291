"""The shipped 1 GW campus (``meshes/ulsan-1gw-campus.toml``, issue 22 items 2 and 5):
its phases as data, its distinct halls, and its plant and electrical chain at the new
sizes, whole and scaled to a phase, with the energy closure of the plant (no flow solve:
the plant and power models at the halls' design loads)."""
from __future__ import annotations

import numpy as np
import pytest

from twin.facility import BUILTIN_DIR, load_facility
from twin.loop.specs import _design_loads, _hall_signature, campus_equipment
from twin.models.plant import plant_step
from twin.models.power import electrical_chain
from twin.models.weather import load_weather, weather_at, wet_bulb_temp_c


@pytest.fixture(scope="module")
def gw():
    return load_facility(BUILTIN_DIR / "ulsan-1gw-campus.toml")


def _phase_halls(fac, *phases):
    return [h.name for h in fac.halls if h.phase in phases]


def test_phases_are_data_and_sum_to_a_gigawatt(gw):
    assert [p.name for p in gw.phases] == ["P1", "P2", "P3", "P4"]
    assert len(gw.halls) == 144 and all(h.phase is not None for h in gw.halls)
    total_mw = _design_loads(gw, gw.hall_names)[0] / 1e6
    assert 990.0 < total_mw < 1010.0
    for p in gw.phases:       # each phase's halls carry the IT its record states
        it_mw = _design_loads(gw, _phase_halls(gw, p.name))[0] / 1e6
        assert it_mw == pytest.approx(p.it_mw, rel=0.02), p.name
    # the 103 MW campus of the public plan: phases 1 and 2
    assert _design_loads(gw, _phase_halls(gw, "P1", "P2"))[0] / 1e6 == pytest.approx(103.0, rel=0.01)
    # three rack generations, three distinct halls to solve
    sigs = {_hall_signature(h) for h in gw.halls}
    assert len(sigs) == 3
    types = {r.type_name for h in gw.halls[:1] + gw.halls[6:7] + gw.halls[-1:]
             for r in gw.layout(h.name).racks}
    assert {"hgx-h100-dlc", "gb200-nvl72", "nextgen-liquid-240"} <= types
    assert gw.power.grid.voltage_kv == 345.0
    assert all(t.primary_kv == 345.0 for t in gw.power.transformers)


def _pue(fac, names, load_frac, hours):
    """Facility power / IT at ``load_frac`` of the halls' design loads, over weather hours,
    with the plant's energy closure."""
    spec, chain, (it, chw, liq), _ = campus_equipment(fac, names)
    w = weather_at(load_weather("builtin:ulsan"), hours)
    db = np.asarray(w.dry_bulb_temp_c, float)
    wb = np.minimum(np.asarray(wet_bulb_temp_c(w), float), db)
    n = len(hours)
    pr = plant_step(np.full(n, chw * load_frac), np.full(n, liq * load_frac), db, wb, spec,
                    dt_s=3600.0)
    closure = (np.asarray(pr.heat_rejected_w) - (np.asarray(pr.heat_removed_w)
               + np.asarray(pr.chiller_power_w) + np.asarray(pr.pump_power_w)))
    assert np.all(np.abs(closure) <= 1e-9 * (chw + liq)), np.max(np.abs(closure))
    it_w = np.full(n, it * load_frac)
    ch = electrical_chain(it_w, chain, non_ups_load_w=np.asarray(pr.total_power_w, float))
    assert np.all(np.asarray(ch.grid_power_w) > it_w + np.asarray(pr.total_power_w))
    return np.asarray(ch.grid_power_w, float) / it_w, spec


@pytest.mark.parametrize("hours", [np.arange(0.5, 24.0, 3.0), 4800.5 + np.arange(0.0, 24.0, 3.0)],
                         ids=["january", "july"])
def test_gw_plant_closes_and_a_phase_runs_at_the_full_campus_pue(gw, hours):
    full, spec = _pue(gw, gw.hall_names, 0.8, hours)
    assert spec.n_chillers == 20 and spec.tower.n_cells == 22
    assert spec.dry_cooler.design_heat_w == pytest.approx(300 * 3.5e6)
    assert np.all((full > 1.03) & (full < 1.3))
    # a selection against a larger one of the same hall mix (the H100 halls send a third
    # of their heat to air, and so run at a higher PUE than the campus whatever the plant)
    nextgen = _phase_halls(gw, "P3", "P4")
    gb200 = _phase_halls(gw, "P2")
    for part_names, whole_names in ((_phase_halls(gw, "P3"), gw.hall_names),   # 93 % next-gen
                                    (nextgen[:1], nextgen), (gb200[:1], gb200)):
        whole, _ = _pue(gw, whole_names, 0.8, hours)
        part, _ = _pue(gw, part_names, 0.8, hours)
        assert np.all(np.abs(part - whole) < 0.02 * whole), (len(part_names), part, whole)


def test_one_hall_behind_the_whole_plant_is_what_scaling_avoids(gw):
    """The reason for scaling: 1 of 144 halls on the whole 1 GW plant and chain."""
    hours = np.arange(0.5, 24.0, 3.0)
    one = gw.model_copy(update={"halls": gw.halls[:1]})
    unscaled_spec, unscaled_chain, (it, chw, liq), _ = campus_equipment(one, one.hall_names)
    scaled, _ = _pue(gw, gw.hall_names[:1], 0.8, hours)
    w = weather_at(load_weather("builtin:ulsan"), hours)
    db = np.asarray(w.dry_bulb_temp_c, float)
    wb = np.minimum(np.asarray(wet_bulb_temp_c(w), float), db)
    n = len(hours)
    pr = plant_step(np.full(n, chw * 0.8), np.full(n, liq * 0.8), db, wb, unscaled_spec, dt_s=3600.0)
    ch = electrical_chain(np.full(n, it * 0.8), unscaled_chain,
                          non_ups_load_w=np.asarray(pr.total_power_w, float))
    unscaled = np.asarray(ch.grid_power_w, float) / (it * 0.8)
    assert np.all(unscaled > scaled + 0.1), (unscaled, scaled)


def test_validate_lists_the_phases():
    from click.testing import CliRunner

    from twin.cli import main
    r = CliRunner().invoke(main, ["validate", str(BUILTIN_DIR / "ulsan-1gw-campus.toml")])
    assert r.exit_code == 0, r.output
    assert "phase P1   2027-11-01: 14 halls, 42.6 MW of IT, IT ramp 3 months" in r.output
    assert "phase P4   2033-01-01: 56 halls, 434.1 MW of IT" in r.output
    assert "(0 warnings)" in r.output
