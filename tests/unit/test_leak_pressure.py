"""Cabinet leak shares under pressure (issue 24): with ``cabinet_leak_dp_pa`` on a rack type
the recirculation and bypass shares follow the back-over-face pressure difference the hall
puts across the cabinet by the orifice law (``twin.thermal.cabinet.leak_shares``), in the rack
model and in a solved hall, and energy still closes rack by rack."""
from __future__ import annotations

import math

import numpy as np
import pytest

from kernels.solver import SolverSettings
from twin.facility import BUILTIN_DIR, FacilityError, loads_facility
from twin.models.it_load import rack_power
from twin.thermal.cabinet import LEAK_MAX_FRAC, cabinet_air, leak_shares
from twin.thermal.mesh import mesh_hall
from twin.thermal.racks import hall_racks
from twin.thermal.steady import solve_hall

LEGACY = BUILTIN_DIR / "legacy-hall.toml"
DP_D = 1.0           # the design difference given to the legacy compute cabinets [Pa]


def _legacy(extra: str = f"cabinet_leak_dp_pa = {DP_D}\n"):
    doc = LEGACY.read_text(encoding="utf-8")
    old = "cabinet_bypass_frac = 0.1\n"
    assert doc.count(old) == 1
    return loads_facility(doc.replace(old, old + extra), folder=BUILTIN_DIR)


def test_orifice_law_by_hand():
    """r = r_d sqrt(1 + dp/dp_d), b = b_d sqrt(1 - dp/dp_d): at 3 dp_d the recirculation
    doubles and the bypass stops; at -dp_d the reverse with sqrt(2); no design difference
    (NaN) leaves the stated shares; the shares never pass LEAK_MAX_FRAC."""
    r, b = leak_shares([0.2, 0.2, 0.2, 0.2, 0.5], [0.1, 0.1, 0.1, 0.1, 0.0],
                       [0.0, 3.0, -1.0, 5.0, 24.0], [1.0, 1.0, 1.0, np.nan, 1.0])
    np.testing.assert_allclose(r, [0.2, 0.4, 0.0, 0.2, LEAK_MAX_FRAC], atol=1e-15)
    np.testing.assert_allclose(b, [0.1, 0.0, 0.1 * math.sqrt(2.0), 0.1, 0.0], atol=1e-15)


def test_raising_the_back_pressure_raises_recirculation_as_the_orifice_law_says():
    """The rack model of the legacy hall's leaky cabinets (row A: r 0.25, b 0.1) with the
    hall putting 0, then 3 dp_d across them (a pressurised hot aisle): the recirculated
    share doubles, the bypass stops, the servers' inlet sits at the cabinet balance's
    fixed point with the new share, and the cabinet still releases exactly the servers'
    heat (cabinet_air)."""
    fac = _legacy()
    problem, _ = mesh_hall(fac, cell_m=0.5, backend=None)
    racks = hall_racks(fac, problem)
    assert racks.leaks_follow_pressure
    face = np.full(len(racks.names), 24.0)
    r_d, b_d = racks.leakage()
    row_a = np.array([n.split("/")[1] == "A" for n in racks.names])
    assert np.all(r_d[row_a] == 0.25)
    low = racks.response(face, hall_dp_pa=np.zeros(len(face)))
    high = racks.response(face, hall_dp_pa=np.full(len(face), 3.0 * DP_D))
    np.testing.assert_allclose(low["recirculation_frac"], r_d)
    np.testing.assert_allclose(high["recirculation_frac"][row_a], 2.0 * r_d[row_a])
    np.testing.assert_allclose(high["bypass_frac"], 0.0)
    rcp = racks.rho_cp_j_m3k
    for res in (low, high):
        for n, spec in enumerate(racks.specs):
            r, b = res["recirculation_frac"][n], res["bypass_frac"][n]
            t_s = res["server_inlet_c"][n]
            srv = rack_power(racks.utilization[n], t_s, spec)
            assert t_s == pytest.approx(24.0 + r / (1 - r) * srv.heat_to_air_w
                                        / (rcp * srv.airflow_m3_s), abs=1e-8)
            v_c = res["cabinet_flow_m3_s"][n]
            assert v_c == pytest.approx(srv.airflow_m3_s * (1 - r) / (1 - b), rel=1e-12)
            a = cabinet_air(24.0, res["air_w"][n], srv.airflow_m3_s, r, b, rcp)
            assert rcp * v_c * (a["cabinet_exhaust_c"] - 24.0) == pytest.approx(
                res["air_w"][n], rel=1e-12)
    # more of the exhaust comes back: the servers of row A draw warmer air
    assert np.all(high["server_inlet_c"][row_a] > low["server_inlet_c"][row_a] + 1.0)


@pytest.fixture(scope="module")
def solved():
    fac = _legacy()
    return fac, solve_hall(fac, None, cell_m=0.5, backend="numba-cpu",
                           settings=SolverSettings(max_steps=4000))


def test_shares_follow_the_solved_pressure_and_energy_closes_per_rack(solved):
    """The solved legacy hall with cabinet_leak_dp_pa = 1 Pa: every rack reports the shares
    of the orifice law at the back-over-face difference of the field's last flow solve
    (behind a passive rear door, plus the door's drop),
    its cabinet releases its servers' heat (to 1e-6) and the reported server inlet is the
    cabinet balance with those shares."""
    fac, sol = solved
    s, solver = sol.summary, sol.solver
    assert s["converged"] and s["rack_model"]["settled"]
    rcp = fac.rho_cp
    by = {r.name: r for r in fac.layout().racks}
    devs = {d.name: (n, d) for n, d in enumerate(solver.devices)}
    p = solver.port_pressure_pa
    moved = 0
    for row in s["racks"]:
        name = row["name"]
        n, d = devs[name]
        rk = by[name]
        dp = row["cabinet_hall_dp_pa"]
        # the field's back over face, and behind row B's passive doors their drop too
        door = row.get("door_dp_pa", 0.0)
        assert dp == pytest.approx(float(p[1, n] - p[0, n]) + door, abs=1e-9)
        r_want, b_want = leak_shares(rk.recirculation_frac, rk.bypass_frac, dp, DP_D)
        r, b = row["cabinet_recirculation_frac"], row["cabinet_bypass_frac"]
        assert (r, b) == (pytest.approx(float(r_want), abs=1e-12),
                          pytest.approx(float(b_want), abs=1e-12))
        moved += abs(b - rk.bypass_frac) > 1e-3
        t_face, t_back = float(solver.dev_tin[n]), float(solver.dev_tout[n])
        assert rcp * d.flow_m3_s * (t_back - t_face) == pytest.approx(d.heat_w, rel=1e-6)
        heat = row.get("servers_air_heat_w", d.heat_w)
        t_back += row.get("door_heat_w", 0.0) / (rcp * d.flow_m3_s)
        v_s = d.flow_m3_s * (1 - b) / (1 - r)
        a = cabinet_air(t_face, heat, v_s, r, b, rcp)
        assert a["cabinet_exhaust_c"] == pytest.approx(t_back, abs=1e-6)
        assert rcp * v_s * (a["server_exhaust_c"] - a["server_inlet_c"]) == pytest.approx(
            heat, rel=1e-6)
        assert row["server_inlet_temp_c"] == pytest.approx(a["server_inlet_c"], abs=1e-6)
    assert moved > 0                # the field's pressure moved some bypass off its design


def test_a_bad_leak_pressure_is_one_clear_line():
    """A negative or absurd design difference is one error that names the place and the
    allowed range."""
    for bad, rule in (("-2.0", "> 0"), ("500.0", "<= 100")):
        with pytest.raises(FacilityError) as e:
            _legacy(f"cabinet_leak_dp_pa = {bad}\n")
        msg = str(e.value)
        errors = [line for line in msg.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, msg
        assert "rack_types[legacy-compute].cabinet_leak_dp_pa" in errors[0] and rule in errors[0]
