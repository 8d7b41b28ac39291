"""Cabinet leak shares under a pressurised hot aisle in ``twin run`` (issue 24): with
``cabinet_leak_dp_pa`` on the rack type the recirculation and bypass shares follow the
pressure difference each flow state puts across the cabinet (the orifice law of
``twin.thermal.cabinet.leak_shares`` at ``cabinet_dp_pa``, the steady commands' rule).

The hall is built here: six 8 kW cabinets without blanking panels (r 0.2, b 0.1, design
difference 2 Pa) in two rows around a hot aisle with a roof and doors at both ends, one
front-supply CRAH in the room. With ``doors = false`` the aisle is open at its ends and
the cabinets see almost no pressure; with doors whose gaps are a tenth of their area the
racks' exhaust can leave only through those gaps (no return in the aisle: a blocked
return), the hot aisle rises over the room, more exhaust flows back through the open U
space and the servers draw warmer air. 0.3 m cells (5,600), two one-hour steps."""
from __future__ import annotations

import numpy as np
import pytest

from twin.facility import BUILTIN_DIR, loads_facility
from twin.loop.simulation import RunSettings, Simulation
from twin.thermal.cabinet import cabinet_air, leak_shares

CELL = 0.3
R_D, B_D, DP_D = 0.2, 0.1, 2.0
#: Pseudo-steps of a flow solve: the hall's flow does not meet the steady criterion at
#: 0.3 m (20,000 steps, the intakes still swinging by 2 K between windows); its record
#: mean after 3,000 is the flow the run uses, which is enough for the pressures here.
MAX_STEPS = 3000

HALL = f"""
format_version = 1

[campus]
name = "Sealed hot aisle"
location = "Ulsan, Republic of Korea"
lat_deg = 35.54
lon_deg = 129.31
elevation_m = 30.0
weather = "builtin:ulsan"

[[buildings]]
name = "B1"

[rack_types.open-u]
description = "8 kW of 2U servers in a cabinet without blanking panels, unsealed rails"
source = "est. (test case)"
nameplate_power_kw = 8.0
idle_power_kw = 3.2
design_delta_t_k = 12.0
width_m = 0.6
depth_m = 1.2
height_m = 2.1
cabinet_recirculation_frac = {R_D}
cabinet_bypass_frac = {B_D}
cabinet_leak_dp_pa = {DP_D}

[[halls]]
name = "H1"
building = "B1"
length_m = 8.4
width_m = 6.0
ceiling_height_m = 3.0
raised_floor_height_m = 0.0

[[halls.rows]]
name = "A"
type = "open-u"
count = 3
x_m = 3.6
y_m = 1.2
along = "x"
facing = "-y"

[[halls.rows]]
name = "B"
type = "open-u"
count = 3
x_m = 3.6
y_m = 3.6
along = "x"
facing = "+y"

[[halls.containment]]
name = "HAC"
kind = "hot-aisle"
rows = ["A", "B"]
doors = DOORS
door_leakage_frac = 0.3

[[halls.cooling_units]]
name = "CRAH-1"
type = "crah-front"
x_m = 0.3
y_m = 1.5
width_m = 3.0
depth_m = 0.9
height_m = 2.1
facing = "+x"
airflow_m3_s = 4.2
supply_temp_c = 18.0
capacity_kw = 80.0
"""


def _hall(doors: bool):
    return loads_facility(HALL.replace("DOORS", "true" if doors else "false"),
                          folder=BUILTIN_DIR)


def _run(doors: bool, out=None):
    fac = _hall(doors)
    sim = Simulation(fac, RunSettings(hours=2.0, step_s=3600.0, cell_m=CELL, backend="cpu",
                                      profile="constant", utilization=1.0,
                                      solver={"max_steps": MAX_STEPS}))
    assert sim.run(out_dir=out) == "complete"
    return fac, sim, out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return {"open": _run(False), "sealed": _run(True, tmp_path_factory.mktemp("sealed"))}


def _last(sim, key):
    return np.asarray(sim.series["racks"][key], float)[-1]


def test_a_sealed_hot_aisle_raises_the_pressure_and_the_recirculation(runs):
    """The doors put the hot aisle over the room: every cabinet sees a larger back-over-face
    difference, its shares are the orifice law's at it (recirculation up, bypass down), and
    its servers draw air warmer over the cabinet's face than in the open aisle, by the
    cabinet balance ``T_s - T_face = r / (1 - r) P_air / (rho cp V_s)`` at the new share.
    With the stated shares (the pressure ignored) the recirculation would not move."""
    dp = {k: _last(sim, "cabinet_hall_dp_pa") for k, (_, sim, _) in runs.items()}
    r = {k: _last(sim, "cabinet_recirculation_frac") for k, (_, sim, _) in runs.items()}
    b = {k: _last(sim, "cabinet_bypass_frac") for k, (_, sim, _) in runs.items()}
    rise = {}
    print("back over face [Pa], open:", dp["open"].round(2), "sealed:", dp["sealed"].round(2))
    print("recirculation, open:", r["open"].round(3), "sealed:", r["sealed"].round(3))
    for k, (fac, sim, _) in runs.items():
        want_r, want_b = leak_shares(R_D, B_D, dp[k], DP_D)
        np.testing.assert_allclose(r[k], want_r, atol=1e-12)
        np.testing.assert_allclose(b[k], want_b, atol=1e-12)
        face, srv = _last(sim, "inlet_temp_c"), _last(sim, "server_inlet_temp_c")
        air, v_s = _last(sim, "heat_to_air_w"), _last(sim, "airflow_m3_s")
        rise[k] = srv - face
        np.testing.assert_allclose(rise[k], r[k] / (1 - r[k]) * air / (fac.rho_cp * v_s),
                                   atol=1e-6)
    assert np.all(dp["sealed"] > dp["open"] + 0.5 * DP_D)
    assert np.all(r["sealed"] > r["open"] + 0.02) and np.all(r["sealed"] > R_D + 0.02)
    assert np.all(b["sealed"] < b["open"])
    assert np.all(rise["sealed"] > rise["open"] + 0.3)



def test_the_outputs_report_the_hottest_server_inlet_beside_the_face(runs):
    """``summary.json``'s ``max_server_inlet_c`` and ``timeseries.csv``'s
    ``racks.server_inlet_max_c`` are the hottest air the servers drew, over the run and
    per step, above the faces' ``max_rack_inlet_c`` and ``racks.inlet_max_c``."""
    import csv
    import json
    _, sim, out = runs["sealed"]
    srv = np.asarray(sim.series["racks"]["server_inlet_temp_c"], float)
    s = json.loads((out / "summary.json").read_text())
    assert s["max_server_inlet_c"] == pytest.approx(float(srv.max()), abs=1e-9)
    assert s["max_server_inlet_c"] > s["max_rack_inlet_c"] + 1.0
    with open(out / "timeseries.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    got = [float(r["racks.server_inlet_max_c"]) for r in rows]
    np.testing.assert_allclose(got, srv.max(axis=1), rtol=1e-12)
    assert all(float(r["racks.server_inlet_max_c"]) > float(r["racks.inlet_max_c"]) + 1.0
               for r in rows)


def test_energy_closes_per_rack_with_pressure_driven_leaks(runs):
    """Every rack, every step: its power goes to the air and the liquid; its servers and
    its cabinet's leaks at the recorded shares release exactly the servers' heat
    (``cabinet_air``, 1e-6); the field's cabinet releases the heat it was given (the
    solver's device, 1e-6); the room's air closes to 1e-3 of its heat."""
    for fac, sim, _ in runs.values():
        rk, c = sim.series["racks"], sim.series["campus"]
        p, air = np.asarray(rk["power_w"], float), np.asarray(rk["heat_to_air_w"], float)
        np.testing.assert_allclose(p, air + np.asarray(rk["heat_to_liquid_w"], float),
                                   rtol=1e-12)
        face = np.asarray(rk["inlet_temp_c"], float)
        v_s = np.asarray(rk["airflow_m3_s"], float)
        r = np.asarray(rk["cabinet_recirculation_frac"], float)
        b = np.asarray(rk["cabinet_bypass_frac"], float)
        a = cabinet_air(face, air, v_s, r, b, fac.rho_cp)
        np.testing.assert_allclose(
            fac.rho_cp * a["cabinet_flow_m3_s"] * (a["cabinet_exhaust_c"] - face), air,
            rtol=1e-6)
        np.testing.assert_allclose(a["server_inlet_c"], rk["server_inlet_temp_c"], atol=1e-6)
        hm = sim.halls[0]
        solver = hm.solver
        for i in hm.rack_dev:
            d = solver.devices[i]
            out = fac.rho_cp * d.flow_m3_s * (solver.dev_tout[i] - solver.dev_tin[i])
            assert out == pytest.approx(d.heat_w, rel=1e-6)
        print("air balance per step:", c["air_balance_frac"])
        assert np.max(np.abs(np.asarray(c["air_balance_frac"], float))) < 1e-3

