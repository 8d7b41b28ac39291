"""The hall as built (issue 24): cabinet leakage and blanking (the servers' inlet and the
cabinet's exhaust from a mixing balance, energy conserved) and obstructions (columns,
walls, trays, ducts: validated like racks, meshed solid, in the VTK, a column's wake
changing the intakes downstream), with the shipped ``meshes/legacy-hall.toml``."""
from __future__ import annotations

import numpy as np
import pytest

import twin
from common.errors import InputError
from kernels.flags import Flag
from kernels.solver import SolverSettings
from twin.facility import BUILTIN_DIR, FacilityError, load_facility, loads_facility
from twin.models.it_load import rack_power
from twin.studies.cases import build_cases
from twin.thermal.cabinet import cabinet_air, server_inlet_from_cabinet
from twin.thermal.mesh import mesh_hall
from twin.thermal.racks import hall_racks
from twin.thermal.steady import solve_hall

LEGACY = BUILTIN_DIR / "legacy-hall.toml"
SETTINGS = SolverSettings(max_steps=4000)
CELL = 0.4


@pytest.fixture(scope="module")
def legacy():
    return load_facility(LEGACY)


# ------------------------------------------------------------------- cabinet leakage
def test_cabinet_air_by_hand():
    """10 kW into 1 m3/s of servers (rho cp = 1200 J/m3K: a 8.333 K rise) behind a 20 degC
    face, r = 0.2, b = 0.1: V_c = 0.8 / 0.9 = 0.8889 m3/s; T_s = 20 + 0.25 * 8.333 =
    22.083; T_e = 20 + 8.333 / 0.8 = 30.417; T_x = 20 + 10000 / (1200 * 0.8889) = 29.375."""
    a = cabinet_air(20.0, 10_000.0, 1.0, 0.2, 0.1, rho_cp_j_m3k=1200.0)
    assert a["cabinet_flow_m3_s"] == pytest.approx(0.8 / 0.9, rel=1e-12)
    assert a["server_inlet_c"] == pytest.approx(20.0 + 0.25 * 10_000 / 1200, rel=1e-12)
    assert a["server_inlet_c"] == pytest.approx(22.0833333333, abs=1e-9)
    assert a["server_exhaust_c"] == pytest.approx(30.4166666667, abs=1e-9)
    assert a["cabinet_exhaust_c"] == pytest.approx(29.375, abs=1e-12)
    # every stream balances: the servers' heat, the mix at their intake, the mix at the back
    v_s, v_c, r, b = 1.0, a["cabinet_flow_m3_s"], 0.2, 0.1
    assert 1200 * v_s * (a["server_exhaust_c"] - a["server_inlet_c"]) == pytest.approx(1e4, rel=1e-12)
    assert v_s * a["server_inlet_c"] == pytest.approx(
        (1 - b) * v_c * 20.0 + r * v_s * a["server_exhaust_c"], rel=1e-12)
    assert v_c * a["cabinet_exhaust_c"] == pytest.approx(
        (1 - r) * v_s * a["server_exhaust_c"] + b * v_c * 20.0, rel=1e-12)
    assert 1200 * v_c * (a["cabinet_exhaust_c"] - 20.0) == pytest.approx(1e4, rel=1e-12)
    # the inverse: the servers' inlet from the cabinet's face and back
    assert server_inlet_from_cabinet(20.0, 29.375, 0.2, 0.1) == pytest.approx(a["server_inlet_c"])
    # no leakage: the servers see the face, the cabinet is the servers
    z = cabinet_air(20.0, 10_000.0, 1.0, 0.0, 0.0, rho_cp_j_m3k=1200.0)
    assert z["server_inlet_c"] == 20.0 and z["cabinet_flow_m3_s"] == 1.0
    with pytest.raises(ValueError):
        cabinet_air(20.0, 1.0, 1.0, 1.0, 0.0)


def test_leakage_comes_from_type_row_and_rack(legacy):
    """Type (bypass 0.1), row A (recirculation 0.25), rack B/03 (0.15); the mesh gives the
    room the cabinet's flow, the shipped halls keep theirs (no leakage by default)."""
    lay = legacy.layout()
    by = {r.name: r for r in lay.racks}
    assert all(r.bypass_frac == 0.1 for r in lay.racks)
    assert by["H1/A/04"].recirculation_frac == 0.25
    assert by["H1/B/03"].recirculation_frac == 0.15 and by["H1/B/02"].recirculation_frac == 0.0
    problem, report = mesh_hall(legacy, cell_m=CELL, backend=None)
    flows = {d.name: d.flow_m3_s for d in problem.devices}
    r = by["H1/A/04"]
    assert flows[r.name] == pytest.approx(r.flow_m3_s * 0.75 / 0.9, rel=1e-12)
    assert report.rack_flow_m3_s == pytest.approx(sum(x.cabinet_flow_m3_s for x in lay.racks))
    for name in ("small-hall.toml", "ai-hall.toml"):
        fac = load_facility(BUILTIN_DIR / name)
        for h in fac.halls:
            for x in fac.layout(h.name).racks:
                assert (x.recirculation_frac, x.bypass_frac) == (0.0, 0.0)
                assert x.cabinet_flow_m3_s == x.flow_m3_s


def test_rack_model_sees_the_servers_inlet(legacy):
    """The rack model's answer at a face temperature sits at the fixed point
    T_s = T_face + r / (1 - r) P_air(T_s) / (rho cp V(T_s)), and is the plain rack model
    where the cabinet does not recirculate."""
    problem, _ = mesh_hall(legacy, cell_m=CELL, backend=None)
    racks = hall_racks(legacy, problem)
    rec, byp = racks.leakage()
    face = np.full(len(racks.names), 24.0)
    res = racks.response(face)
    for n, spec in enumerate(racks.specs):
        t = res["server_inlet_c"][n]
        direct = rack_power(racks.utilization[n], t, spec)
        assert res["air_w"][n] == pytest.approx(direct.heat_to_air_w, rel=1e-12)
        want = 24.0 + rec[n] / (1 - rec[n]) * direct.heat_to_air_w / (
            spec.air_rho_cp_j_m3k * direct.airflow_m3_s)
        assert t == pytest.approx(want, abs=1e-8)
        assert res["cabinet_flow_m3_s"][n] == pytest.approx(
            direct.airflow_m3_s * (1 - rec[n]) / (1 - byp[n]), rel=1e-12)
        if rec[n] == 0.0:
            assert t == 24.0
        else:
            assert t > 24.0 + 2.0          # a quarter of a ~12 K exhaust comes back


@pytest.fixture(scope="module")
def solved(legacy):
    return solve_hall(legacy, None, cell_m=CELL, backend="numba-cpu", settings=SETTINGS)


def test_energy_closes_per_leaky_rack(legacy, solved):
    """Every leaky cabinet releases its servers' heat (to 1e-6), the servers' own balance
    and the two mixes close, the hall's budget closes, and the reported server inlet is
    the hand formula of the cabinet's face and back."""
    s, solver = solved.summary, solved.solver
    assert s["converged"] and s["rack_model"]["settled"]
    # the hall's budget is the float32 field's (a few 1e-6 with or without leakage)
    assert abs(s["energy_budget"]["imbalance_frac"]) < 1e-5
    rcp = legacy.rho_cp
    by = {r.name: r for r in legacy.layout().racks}
    devs = {d.name: (n, d) for n, d in enumerate(solver.devices)}
    rows = {r["name"]: r for r in s["racks"]}
    for name, rk in by.items():
        n, d = devs[name]
        t_face, t_back = float(solver.dev_tin[n]), float(solver.dev_tout[n])
        assert rcp * d.flow_m3_s * (t_back - t_face) == pytest.approx(d.heat_w, rel=1e-6)
        # a rear door (row B) cools the back: the cabinet's own exhaust is before it
        heat = rows[name].get("servers_air_heat_w", d.heat_w)
        t_back += rows[name].get("door_heat_w", 0.0) / (rcp * d.flow_m3_s)
        r, b = rk.recirculation_frac, rk.bypass_frac
        v_s = d.flow_m3_s * (1 - b) / (1 - r)
        a = cabinet_air(t_face, heat, v_s, r, b, rcp)
        assert a["cabinet_exhaust_c"] == pytest.approx(t_back, abs=1e-6)
        assert rcp * v_s * (a["server_exhaust_c"] - a["server_inlet_c"]) == pytest.approx(
            heat, rel=1e-6)
        assert d.flow_m3_s * t_back == pytest.approx(
            (1 - r) * v_s * a["server_exhaust_c"] + b * d.flow_m3_s * t_face, rel=1e-9)
        got = rows[name]["server_inlet_temp_c"]
        assert got == pytest.approx(t_face + r / (1 - b) * (t_back - t_face), abs=1e-9)
        assert got == pytest.approx(a["server_inlet_c"], abs=1e-6)
        if r > 0:
            assert got > t_face + 1.0, name
        else:
            assert got == pytest.approx(t_face, abs=1e-12)


def test_blanking_row_a_is_one_set_path(legacy):
    """``halls[H1].rows[A].cabinet_recirculation_frac=0`` fits blanking panels in row A
    (and only there); a rack's own value is reachable too; a share of 1.5 is refused."""
    base, blanked = build_cases(legacy, ["halls[H1].rows[A].cabinet_recirculation_frac=0"])
    lay = blanked.facility.layout()
    assert all(r.recirculation_frac == 0.0 for r in lay.racks if r.row == "A")
    assert {r.name: r.recirculation_frac for r in lay.racks if r.row == "B"} == {
        r.name: r.recirculation_frac for r in base.facility.layout().racks if r.row == "B"}
    one = twin.with_changes(legacy, {"halls[H1].rows[B].racks[03].cabinet_recirculation_frac": 0})
    assert one.layout().rack("H1/B/03").recirculation_frac == 0.0
    with pytest.raises(InputError, match="cabinet_recirculation_frac"):
        build_cases(legacy, ["halls[H1].rows[A].cabinet_recirculation_frac=1.5"])


# ------------------------------------------------------------------------ obstructions
def test_obstructions_are_meshed_solid(legacy, tmp_path):
    """117 cells at 0.4 m: two 0.4 x 0.8 m columns slab to ceiling (1 x 2 x 9 cells each),
    the tray (21 x 1 x 1) and the duct (30 x 2 x 1), flagged SOLID|WALL; tiles under a
    column pass no air; the VTK has them."""
    problem, report = mesh_hall(legacy, cell_m=CELL, backend=None)
    assert report.obstruction_cells == 2 * 18 + 21 + 60
    wall = (problem.solid & int(Flag.WALL)) != 0
    assert int(wall.sum()) == report.obstruction_cells
    assert np.all(problem.solid[wall] & int(Flag.SOLID))
    assert np.all(wall[5, 8:10, :])                 # column C1: x 2.0-2.4, y 3.2-4.0, all z
    assert not wall[5, 10, 4] and not wall[4, 8, 4]
    from twin.thermal.vtk import write_vtk
    files = write_vtk(problem, report, tmp_path)
    assert tmp_path / "obstructions.vtp" in files
    import pyvista as pv
    m = pv.read(tmp_path / "obstructions.vtp")
    assert sorted(m.field_data["name"]) == ["H1/C1", "H1/C2", "H1/DUCT-1", "H1/TRAY-B"]
    assert m.n_cells == 4 * 6


_BASE = (BUILTIN_DIR / "legacy-hall.toml").read_text(encoding="utf-8")


def _with(extra: str):
    return loads_facility(_BASE + "\n" + extra, folder=BUILTIN_DIR)


def _one_error(extra: str) -> str:
    with pytest.raises(FacilityError) as e:
        _with(extra)
    errors = [ln for ln in str(e.value).splitlines() if ln.strip().startswith("error")]
    assert len(errors) == 1, str(e.value)
    return errors[0]


def _ob(name="X", kind="column", x=10.4, y=0.4, z=None, size=(0.4, 0.4), height=None):
    z_line = "" if z is None else f"z_m = {z}\n"
    h_line = "" if height is None else f"height_m = {height}\n"
    return (f'[[halls.obstructions]]\nname = "{name}"\nkind = "{kind}"\nx_m = {x}\ny_m = {y}\n'
            f"{z_line}length_m = {size[0]}\nwidth_m = {size[1]}\n{h_line}")


@pytest.mark.parametrize("extra,words", [
    (_ob(x=11.8), ["halls[H1].obstructions[X]", "outside the hall", "x 11.80..12.20 m"]),
    (_ob(z=3.4, height=0.6), ["obstructions[X]", "outside the hall", "z 3.40..4.00"]),
    (_ob(x=4.0, y=2.4), ["obstructions[X]", "column H1/X (room) overlaps rack H1/A/02"]),
    (_ob(kind="duct", x=0.6, y=1.2, z=0.0, height=0.4),
     ["obstructions[X]", "duct H1/X (raised-floor plenum) overlaps cooling unit H1/CRAH-1"]),
    (_ob(x=5.2, y=3.4, size=(0.2, 0.2)), ["rows[A].racks[04]", "intake", "blocked by column H1/X"]),
    (_ob(name="C1"), ["obstructions[C1]", "used twice"]),
    (_ob(kind="beam"), ["obstructions", "kind", "column"]),
    (_ob(size=(-0.4, 0.4)), ["obstructions", "length_m"]),
], ids=["outside-x", "above-ceiling", "on-a-rack", "under-a-crah", "before-an-intake",
        "name-twice", "kind-unknown", "negative-size"])
def test_bad_obstructions_are_one_clear_line(extra, words):
    line = _one_error(extra)
    for w in words:
        assert w in line, line


def test_obstruction_over_tiles_warns_and_a_plenum_tray_is_fine():
    # a pipe right under the tiles (its top at the floor): it fills the floor layer there
    fac = _with(_ob(kind="pipe", x=4.4, y=3.6, z=0.6, size=(1.2, 0.2), height=0.2))
    assert any("pipe H1/X covers tiles CA" in d.message for d in fac.warnings)
    ok = _with(_ob(kind="pipe", x=3.2, y=3.2, z=0.0, size=(3.6, 0.2), height=0.2))
    assert not any("obstructions" in d.path for d in ok.warnings)


def test_a_columns_wake_changes_the_intakes_downstream(legacy, solved):
    """Column C1 stands in the plenum between the CRAHs and the cold aisle's tiles: without
    it the air reaches the first tiles unhindered and the intakes of the racks at the
    aisle's near end change by more than 0.3 K (the far end hardly)."""
    doc = legacy.to_dict()
    doc["halls"][0]["obstructions"] = [o for o in doc["halls"][0]["obstructions"]
                                       if o["name"] != "C1"]
    import tomli_w
    free = loads_facility(tomli_w.dumps(doc), folder=BUILTIN_DIR)
    other = solve_hall(free, None, cell_m=CELL, backend="numba-cpu", settings=SETTINGS)
    assert other.summary["converged"]
    a = {r["name"]: r["intake_temp_c"] for r in solved.summary["racks"]}
    b = {r["name"]: r["intake_temp_c"] for r in other.summary["racks"]}
    moved = {n: abs(a[n] - b[n]) for n in a}
    near = max(moved[n] for n in ("H1/A/01", "H1/A/02", "H1/B/01", "H1/B/02"))
    far = max(moved[n] for n in ("H1/A/06", "H1/B/06"))
    assert near > 0.3 and far < 0.5 * near, moved
