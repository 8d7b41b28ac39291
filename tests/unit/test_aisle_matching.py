"""Airflow matching in a sealed contained aisle (``twin.thermal.aisles.sealed_aisle_zones``,
``HallModel.desired_flows``): the in-row coolers that draw from a hot aisle with doors and
a roof move its racks' airflow, the other units the rest at the run's ``airflow_ratio``;
an aisle open at its ends is matched with the hall as before. The shipped AI hall at
0.3 m (meshed only, no flow solve)."""
from __future__ import annotations

import numpy as np
import pytest

from twin.facility import BUILTIN_DIR, load_facility
from twin.loop.settings import _FAN_MIN_SPEED
from twin.loop.simulation import RunSettings, Simulation

SETTINGS = dict(hours=1.0, step_s=3600.0, cell_m=0.3, backend="cpu")


def _hall(fac, **kw):
    sim = Simulation(fac, RunSettings(**SETTINGS, **kw))
    sim.prepare()
    return sim.halls[0]


@pytest.fixture(scope="module")
def ai():
    return load_facility(BUILTIN_DIR / "ai-hall.toml")


def test_in_row_coolers_of_a_sealed_hot_aisle_move_its_racks_air(ai):
    hm = _hall(ai)
    rows = np.array([r.row for r in hm.racks])
    kinds = np.array([u.name.split("/")[-1][:4] for u in hm.units])
    assert len(hm.aisle_zones) == 2                   # HAC-1 (rows A, B), HAC-2 (C, D)
    for (racks, units), pair in zip(hm.aisle_zones, (("A", "B"), ("C", "D"))):
        assert sorted(set(rows[racks])) == list(pair) and len(racks) == 16
        assert sorted(set(kinds[units])) == [f"IR-{pair[0]}", f"IR-{pair[1]}"] and len(units) == 16
    rng = np.random.default_rng(3)
    rack_flow = hm.rack_design_flow * rng.uniform(0.7, 0.9, hm.n_r)
    flows, speed = hm.desired_flows(rack_flow)
    unit = flows[hm.cooler_dev]
    for racks, units in hm.aisle_zones:       # each aisle balanced: no air through its doors
        assert unit[units].sum() == pytest.approx(rack_flow[racks].sum(), rel=1e-12)
    fw = kinds == "FW-0"
    assert unit[fw].sum() == pytest.approx(1.2 * rack_flow[rows == "N"].sum(), rel=1e-12)
    assert np.ptp(unit[fw] / hm.cooler_design_flow[fw]) < 1e-12       # one speed
    assert speed == pytest.approx(unit.sum() / hm.cooler_design_flow.sum(), rel=1e-12)
    # matched over the whole hall (the rule before), the in-row coolers would draw more
    # than their racks give them
    one = 1.2 * rack_flow.sum() / hm.cooler_design_flow.sum()
    assert one * hm.cooler_design_flow[~fw].sum() > 1.1 * rack_flow[rows != "N"].sum()


def test_an_aisle_that_cannot_be_matched_spills_to_the_room_units(ai):
    """Racks beyond their in-row coolers' full speed: the coolers run at 1 and the hot air
    they cannot take leaves the aisle for the fan walls."""
    hm = _hall(ai)
    rows = np.array([r.row for r in hm.racks])
    fw = np.array([u.name.split("/")[-1].startswith("FW") for u in hm.units])
    rack_flow = hm.rack_design_flow.copy()
    racks, units = hm.aisle_zones[0]
    rack_flow[racks] = 1.5 * hm.cooler_design_flow[units].sum() / len(racks)
    unit = hm.desired_flows(rack_flow)[0][hm.cooler_dev]
    assert np.allclose(unit[units], hm.cooler_design_flow[units])
    spill = rack_flow[racks].sum() - hm.cooler_design_flow[units].sum()
    want = 1.2 * rack_flow[rows == "N"].sum() + spill
    assert unit[fw].sum() == pytest.approx(min(want, hm.cooler_design_flow[fw].sum()), rel=1e-12)
    # at the least speed the in-row coolers draw more than their racks: the room's less
    rack_flow[racks] = 0.01
    unit = hm.desired_flows(rack_flow)[0][hm.cooler_dev]
    assert np.allclose(unit[units], _FAN_MIN_SPEED * hm.cooler_design_flow[units])


def test_an_aisle_open_at_its_ends_is_matched_with_the_hall(ai):
    doc = ai.to_dict()
    for ct in doc["halls"][0]["containment"]:
        ct["doors"] = False
    from twin.facility.load import parse_facility
    open_ = parse_facility(doc, source=ai.source)
    hm = _hall(open_)
    assert hm.aisle_zones == []
    rack_flow = hm.rack_design_flow * 0.8
    unit = hm.desired_flows(rack_flow)[0][hm.cooler_dev]
    want = np.clip(1.2 * rack_flow.sum() / hm.cooler_design_flow.sum(), _FAN_MIN_SPEED, 1.0)
    assert np.allclose(unit, want * hm.cooler_design_flow, rtol=1e-12)


def test_a_diverged_flow_solve_in_twin_run_is_one_line_naming_the_hall(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from common.errors import DivergenceError
    from kernels.solver import Solver
    from twin.cli import main

    def blow_up(self, *a, **kw):
        raise DivergenceError(f"{self.problem.name}: the solution diverged after 900 steps (max "
                              "speed nan m/s, max |T| nan degC); check the inputs (flows, heat) "
                              "or use a smaller cfl; no results were written")
    monkeypatch.setattr(Solver, "solve_steady", blow_up)
    r = CliRunner().invoke(main, ["run", str(BUILTIN_DIR / "small-hall.toml"), "--hours", "1",
                                  "--cell", "0.5", "--backend", "cpu", "--quiet",
                                  "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    lines = [ln for ln in r.output.splitlines() if "diverged" in ln]
    assert len(lines) == 1
    assert "hall H1: its flow solve at 0.5 m cells failed: the solution diverged after 900 " \
           "steps" in lines[0]
    assert "fix: check its cooling units' airflow" in lines[0] and "--cell" in lines[0]
