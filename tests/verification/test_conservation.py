"""Heat and mass budgets of a room with a rack and a cooling unit at steady state.

Issue 2: heat added by racks equals heat removed by cooling units and boundaries within
0.5%; each rack's mean exhaust minus mean intake temperature equals P/(rho cp Q) within 1%;
the mass flow balances.
"""
import numpy as np
import pytest

from kernels import BoundaryFace
from kernels.problem import FACES
from kernels.solver import Solver, SolverSettings

from .cases import room


@pytest.fixture(scope="module")
def solved_room():
    s = Solver(room(cell_m=0.25), backend="numba-cpu", settings=SolverSettings(max_steps=6000))
    res = s.solve_steady()
    return s, res


def test_heat_balance_rack_to_cooler(solved_room):
    s, res = solved_room
    b = s.energy_budget()
    assert b["rack_heat_w"] == pytest.approx(30_000.0, rel=1e-9)
    assert abs(b["rack_heat_w"] - b["cooler_heat_w"] - b["boundary_heat_w"] * -1) \
        / b["rack_heat_w"] < 0.005, b


def test_rack_temperature_rise(solved_room):
    s, _ = solved_room
    p = s.problem
    rack = p.racks[0]
    T = s.backend.to_host(s.T)
    c = rack.intake.cells
    t_in = float(np.mean(T[c[:, 0], c[:, 1], c[:, 2]]))       # mean over the intake face
    rep = {d["name"]: d for d in s.device_report()}["rack-1"]
    expected = rack.heat_w / (p.fluid.rho_cp * rack.flow_m3_s)
    assert rep["exhaust_temp_c"] - t_in == pytest.approx(expected, rel=0.01)
    # the air at the exhaust face carries exactly that heat into the room
    assert rep["heat_w"] == pytest.approx(rack.heat_w, rel=0.01)


def test_mass_balance(solved_room):
    s, _ = solved_room
    g = s.problem.grid
    # every cell: net volume flow ~ 0 (relative to the smallest device flow per cell face)
    assert s.max_divergence() < 1e-4
    # port flows: what the rack draws in it blows out; same for the cooler
    vel = [s.backend.to_host(a) for a in (s.u, s.v, s.w)]
    for d in s.devices:
        flows = []
        for port in (d.intake, d.exhaust):
            f = port.face_index()
            q = np.abs(vel[port.axis][f[:, 0], f[:, 1], f[:, 2]]).sum() * g.face_area_m2(port.axis)
            flows.append(q)
        assert flows[0] == pytest.approx(d.flow_m3_s, rel=1e-5)
        assert flows[1] == pytest.approx(d.flow_m3_s, rel=1e-5)


def test_heat_leaves_through_walls_without_cooling():
    """A rack in a room with conducting walls and no cooler: walls carry the heat out."""
    walls = {f: BoundaryFace(thermal="convective", h_w_m2k=8.0, temp_c=20.0) for f in FACES}
    p = room(cell_m=0.3, heat_w=2_000.0, rack_flow=0.3, cooler_flow=0.0, walls=walls,
             turbulence="constant")
    from dataclasses import replace
    p = replace(p, turbulence=replace(p.turbulence, nu_t_m2_s=5e-3))
    s = Solver(p, backend="numba-cpu", settings=SolverSettings(max_steps=3000, dtype="float64"))
    s.solve_steady()
    b = s.energy_budget()
    assert -b["boundary_heat_w"] == pytest.approx(2_000.0, rel=0.005), b


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-9), ("float32", 2e-4)])
def test_transient_energy_bookkeeping_does_not_drift(dtype, tol):
    """Heat stored in the air changes by exactly what racks add and coolers remove.

    2,000 explicit steps of a room starting from rest (adiabatic walls): the change in
    rho*cp*V*sum(T) equals the time integral of device heat. float32 fields: relative
    tolerance 2e-4 of the heat put in by the rack (rounding of the per-step increments);
    float64: 1e-9.
    """
    s = Solver(room(cell_m=0.3, heat_w=20_000.0, capacity_w=5_000.0), backend="numba-cpu",
               settings=SolverSettings(dtype=dtype))
    e0 = s.stored_heat_j()
    for _ in range(2000):
        s.step()
    stored = s.stored_heat_j() - e0
    rack_in = 20_000.0 * s.time_s
    assert abs(stored - s.ledger_j) < tol * rack_in, (stored, s.ledger_j, rack_in)
    # the capacity-limited cooler removed less than the rack added: the room warmed
    assert stored > 0.1 * rack_in
