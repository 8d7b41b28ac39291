"""Rear-door heat exchangers (issue 24, item 2): the coil against its effectiveness formula
by hand, the door's closure (servers' heat + fans = room + water) in the model and per
rack in a solved hall, the rack type / row / rack precedence, and the what-if "we add rear
doors to the hottest row" of the shipped ``meshes/legacy-hall.toml``."""
from __future__ import annotations

import math

import numpy as np
import pytest

from common.fluids import WATER_CP_J_KG_K, WATER_DENSITY_KG_M3
from kernels.solver import SolverSettings
from twin.facility import BUILTIN_DIR, FacilityError, load_facility, loads_facility
from twin.models.reardoor import RearDoorSpec, effectiveness_crossflow_one_mixed, rear_door
from twin.studies.cases import build_cases
from twin.studies.whatif import add_deltas, run_case
from twin.thermal.cabinet import door_air
from twin.thermal.steady import solve_hall

LEGACY = BUILTIN_DIR / "legacy-hall.toml"
SETTINGS = SolverSettings(max_steps=4000)
CELL = 0.4
RCP = 1200.0
UA = 350.0           # the legacy hall's rdhx-passive


def _door(kind="passive", fan=0.0, ua=1500.0, water=0.0015, t_w=20.0):
    return RearDoorSpec(name="d", kind=kind, ua_w_k=ua, water_flow_m3_s=water,
                        water_supply_temp_c=t_w, rated_airflow_m3_s=0.6, rated_dp_pa=25.0,
                        fan_power_w=fan)


def test_coil_against_its_effectiveness_formula_by_hand():
    """0.5 m3/s of air at 35 degC (C_air = 600 W/K, unmixed) against 1.5 L/s of water at
    20 degC (C_w = 996 * 4180 * 0.0015 = 6244.92 W/K, mixed), UA 1500 W/K: NTU = 2.5,
    Cr = 0.096078, eps = (1/Cr)(1 - exp(-Cr (1 - exp(-2.5)))) = 0.878603,
    Q = eps * 600 * 15 = 7907.4 W, air out 35 - Q/600 = 21.82 degC."""
    c_w = WATER_DENSITY_KG_M3 * WATER_CP_J_KG_K * 0.0015
    assert c_w == pytest.approx(6244.92, rel=1e-12)
    cr = 600.0 / c_w
    eps = (1 / cr) * (1 - math.exp(-cr * (1 - math.exp(-2.5))))
    assert eps == pytest.approx(0.878603, abs=1e-6)
    st = rear_door(0.5, 35.0, _door(), air_rho_cp_j_m3k=RCP)
    assert float(st.ntu) == pytest.approx(2.5, rel=1e-12)
    assert float(st.effectiveness) == pytest.approx(eps, rel=1e-12)
    assert float(st.heat_w) == pytest.approx(eps * 600.0 * 15.0, rel=1e-12)
    assert float(st.heat_w) == pytest.approx(7907.43, abs=0.01)
    assert float(st.air_out_c) == pytest.approx(21.821, abs=1e-3)
    assert float(st.air_out_c) == pytest.approx(35.0 - float(st.heat_w) / 600.0, rel=1e-12)
    assert float(st.water_return_c) == pytest.approx(20.0 + float(st.heat_w) / c_w, rel=1e-12)
    # water the smaller stream (0.1 L/s: C_w = 416.33 W/K, mixed) against 0.5 m3/s:
    # eps = 1 - exp(-(1/Cr)(1 - exp(-Cr NTU))), NTU = 1500 / 416.34
    c_w2 = WATER_DENSITY_KG_M3 * WATER_CP_J_KG_K * 0.0001
    cr2, ntu2 = c_w2 / 600.0, 1500.0 / c_w2
    eps2 = 1 - math.exp(-(1 / cr2) * (1 - math.exp(-cr2 * ntu2)))
    st2 = rear_door(0.5, 35.0, _door(water=0.0001), air_rho_cp_j_m3k=RCP)
    assert float(st2.effectiveness) == pytest.approx(eps2, rel=1e-12)
    assert float(st2.heat_w) == pytest.approx(eps2 * c_w2 * 15.0, rel=1e-12)
    # limits: Cr -> 0 is 1 - exp(-NTU); no flow, or water no colder than the air: no heat
    assert float(effectiveness_crossflow_one_mixed(1.3, 0.0, False)) == pytest.approx(
        1 - math.exp(-1.3), rel=1e-12)
    assert float(rear_door(0.0, 35.0, _door()).heat_w) == 0.0
    assert float(rear_door(0.5, 19.0, _door(), air_rho_cp_j_m3k=RCP).heat_w) == 0.0
    # air side: dp ~ V^2 from the rating; an active door's fans ~ V^3, a passive has none
    assert float(st.dp_pa) == pytest.approx(25.0 * (0.5 / 0.6) ** 2, rel=1e-12)
    assert float(st.fan_power_w) == 0.0
    act = rear_door(0.5, 35.0, _door("active", fan=300.0), air_rho_cp_j_m3k=RCP)
    assert float(act.fan_power_w) == pytest.approx(300.0 * (0.5 / 0.6) ** 3, rel=1e-12)


def test_door_air_closes_rack_by_rack_and_caps_a_door_that_would_cool_the_room():
    """``P_air + P_fans = room + Q_door`` for a passive and an active door; a door fed with
    water colder than the cabinet's intake is held to the cabinet's heat (the thermal
    core's rack cannot cool the room) and says so."""
    doors = (None, _door(ua=600.0), _door("active", fan=300.0, ua=600.0),
             _door(ua=20000.0, t_w=10.0))
    face = np.array([22.0, 22.0, 22.0, 22.0])
    air = np.array([8000.0, 8000.0, 8000.0, 8000.0])
    flow = np.array([0.5, 0.5, 0.5, 0.5])
    out = door_air(face, air, flow, doors, RCP)
    assert out["room_w"][0] == 8000.0 and out["door_w"][0] == 0.0
    for n in (1, 2, 3):
        assert air[n] + out["door_fan_w"][n] == pytest.approx(
            out["room_w"][n] + out["door_w"][n], rel=1e-12)
    t_x = 22.0 + 8000.0 / (RCP * 0.5)
    assert out["door_air_in_c"][1] == pytest.approx(t_x, rel=1e-12)
    assert out["door_w"][1] == pytest.approx(
        float(rear_door(0.5, t_x, doors[1], air_rho_cp_j_m3k=RCP).heat_w), rel=1e-12)
    assert out["door_fan_w"][2] > 0 and out["door_capped"][:3].sum() == 0
    assert out["door_capped"][3] == 1.0 and out["room_w"][3] == 0.0
    assert out["door_w"][3] == pytest.approx(8000.0)


_BASE = LEGACY.read_text(encoding="utf-8")


def test_rear_door_from_type_row_and_rack():
    """Rack type, row and rack set ``rear_door``, the most specific winning; ``"none"``
    takes a door away; an unknown door is one line naming the place and the doors there."""
    fac = load_facility(LEGACY)
    lay = fac.layout()
    assert {r.name for r in lay.racks if r.rear_door == "rdhx-passive"} == {
        f"H1/B/{i:02d}" for i in range(1, 7)}
    doc = _BASE.replace('cabinet_bypass_frac = 0.1\n', 'cabinet_bypass_frac = 0.1\n'
                        'rear_door = "rdhx-passive"\n', 1)
    doc = doc.replace('[halls.rows.racks.03]\n', '[halls.rows.racks.03]\nrear_door = "none"\n')
    lay2 = loads_facility(doc, folder=BUILTIN_DIR).layout()
    doors = {r.name: r.rear_door for r in lay2.racks}
    assert doors["H1/A/01"] == "rdhx-passive" and doors["H1/B/03"] is None
    with pytest.raises(FacilityError) as e:
        loads_facility(_BASE.replace('rear_door = "rdhx-passive"', 'rear_door = "rdhx-pasive"'),
                       folder=BUILTIN_DIR)
    lines = [ln for ln in str(e.value).splitlines() if ln.strip().startswith("error")]
    assert len(lines) == 1, str(e.value)
    for w in ("halls[H1].rows[B].rear_door", "rear door 'rdhx-pasive' does not exist",
              "did you mean 'rdhx-passive'"):
        assert w in lines[0], lines[0]


@pytest.mark.parametrize("extra,words", [
    ('kind = "active"\n', ["rear_doors", "active rear door has fans", "fan_power_w"]),
    ('fan_power_w = 200.0\n', ["rear_doors", "passive rear door has no fans"]),
    ('water_loop = "glycol"\n', ["rear_doors", "water_loop"]),
], ids=["active-without-fans", "passive-with-fans", "unknown-loop"])
def test_bad_rear_doors_are_one_clear_line(extra, words):
    doc = _BASE.replace('kind = "passive"\n', "" if "kind" in extra else 'kind = "passive"\n')
    doc = doc.replace('rated_dp_pa = 25.0\n', 'rated_dp_pa = 25.0\n' + extra)
    with pytest.raises(FacilityError) as e:
        loads_facility(doc, folder=BUILTIN_DIR)
    lines = [ln for ln in str(e.value).splitlines() if ln.strip().startswith("error")]
    assert len(lines) == 1, str(e.value)
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture(scope="module")
def solved():
    return solve_hall(load_facility(LEGACY), None, cell_m=CELL, backend="numba-cpu",
                      settings=SETTINGS)


def test_energy_closes_per_rack_with_rear_doors(solved):
    """Row B's doors in the solved legacy hall: the heat the field carries out of each
    cabinet (rho cp V (T_back - T_face)) and the heat its door takes to the water add up to
    the servers' heat to air to 1e-6; the door's heat is eps C_min (T_x - T_w) by the
    formula; the hall's balance (room heat + envelope = units) closes."""
    s, solver = solved.summary, solved.solver
    assert s["converged"] and s["rack_model"]["settled"]
    rcp = load_facility(LEGACY).rho_cp
    rows = {r["name"]: r for r in s["racks"]}
    devs = {d.name: (n, d) for n, d in enumerate(solver.devices)}
    c_w = WATER_DENSITY_KG_M3 * WATER_CP_J_KG_K * 0.0015
    doors = 0
    for name, row in rows.items():
        n, d = devs[name]
        room = rcp * d.flow_m3_s * (float(solver.dev_tout[n]) - float(solver.dev_tin[n]))
        if row.get("rear_door") is None:
            assert "door_heat_w" not in row
            continue
        doors += 1
        it_air = row["servers_air_heat_w"] + row["door_fan_power_w"]
        assert abs(room + row["door_heat_w"] - it_air) <= 1e-6 * it_air, name
        c_air = rcp * d.flow_m3_s
        cr, ntu = min(c_air, c_w) / max(c_air, c_w), UA / min(c_air, c_w)
        eps = (1 / cr) * (1 - math.exp(-cr * (1 - math.exp(-ntu))))     # air C_min, unmixed
        assert row["door_effectiveness"] == pytest.approx(eps, rel=1e-9)
        assert row["door_heat_w"] == pytest.approx(
            eps * min(c_air, c_w) * (row["door_air_in_temp_c"] - 20.0), rel=1e-9)
        # the exhaust reaches the door at the face plus the servers' rise over the cabinet
        assert row["door_air_in_temp_c"] == pytest.approx(
            float(solver.dev_tin[n]) + row["servers_air_heat_w"] / c_air, abs=0.05)
        assert row["door_dp_pa"] == pytest.approx(25.0 * (d.flow_m3_s / 0.6) ** 2, rel=1e-9)
        assert row["door_heat_w"] > 0.25 * row["servers_air_heat_w"] and not row["door_capped"]
    assert doors == 6
    hb = s["heat_balance"]
    assert hb["servers_air_heat_w"] == pytest.approx(hb["rack_heat_to_room_w"]
                                                     + hb["door_heat_w"], rel=1e-9)
    assert abs(hb["rack_heat_to_room_w"] + hb["envelope_heat_w"] - hb["cooler_heat_w"]) \
        < 2e-5 * hb["cooler_heat_w"]


def test_rear_doors_on_the_hottest_row_is_one_set_path(solved):
    """``twin whatif legacy-hall.toml --set "halls[H1].rows[A].rear_door=rdhx-passive"``
    (the cases and records the command solves): row A, the hottest (its servers draw the
    hottest air), gets doors; the hottest inlet and the hottest server inlet fall, the
    units remove less and the doors take more. The hall's servers have a fan curve: the
    doors' drop slows row A's servers too (all six fall below 95 % of their fans' free
    delivery), their rise and so the exhaust they recirculate grow, which takes most of
    the doors' gain at the servers' inlet (-0.05 K at 0.4 m; -0.2 K or more without the
    curve, before 2026-12-07)."""
    srv = {r["name"]: r["server_inlet_temp_c"] for r in solved.summary["racks"]}
    hottest = max(srv, key=srv.get).split("/")[1]
    assert hottest == "A"
    fac = load_facility(LEGACY)
    cases = build_cases(fac, [f"halls[H1].rows[{hottest}].rear_door=rdhx-passive"])
    assert all(r.rear_door == "rdhx-passive" for r in cases[1].facility.layout().racks)
    recs = add_deltas([run_case(c, cell_m=CELL, backend="numba-cpu", settings=SETTINGS)
                       for c in cases])
    base, doors = recs
    assert base["converged"] and doors["converged"]
    d = doors["delta"]
    assert d["inlet_max_c"] < -0.08, d
    assert d["server_inlet_max_c"] < 0.0, d
    assert d["racks_low_airflow"] == 6 and base["racks_low_airflow"] == 6, d
    assert doors["min_airflow_pct"] < 95.0
    assert d["door_kw"] > 10.0 and d["cooling_kw"] < -10.0, d
    # the servers of row A still see their own recirculation (the door is behind it)
    assert doors["server_inlet_max_c"] > doors["inlet_max_c"] + 2.0
