"""Air handlers outside the hall: supply diffusers and return patches, and campus air.

Parsing, one test per validation error, meshing (cells, orientation, area), the
generalised :class:`kernels.Port`, and a small steady solve of a patch-fed room whose
supplies and returns lie on the domain boundary.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from common.errors import InputError
from kernels.problem import Port
from twin.facility import flow_for_delta_t, load_facility
from twin.thermal.mesh import mesh_hall

from .test_facility import errors_of, load_text, one_error

HALLS = Path(__file__).resolve().parents[2] / "benchmarks" / "validation" / "halls"

HEAD = """
format_version = 1
include = ["builtin:racks"]

[campus]
name = "Test"
lat_deg = 35.5
lon_deg = 129.3
weather = "builtin:ulsan"
{air}
[[halls]]
name = "H1"
length_m = 10.0
width_m = 8.0
ceiling_height_m = 3.6
raised_floor_height_m = {floor}
return_plenum_height_m = {plenum}

[[halls.rows]]
name = "A"
type = "cpu-compute"
count = 4
x_m = 3.0
y_m = 2.0
facing = "+y"
"""

AHU = """
[[halls.cooling_units]]
name = "AHU1"
type = "air-handler"
airflow_m3_s = 4.0
supply_temp_c = 18.0
capacity_kw = 100.0
"""

SUPPLY = """
[[halls.diffusers]]
name = "D1"
unit = "{unit}"
surface = "floor"
x_m = 4.0
y_m = 3.6
length_m = 1.0
width_m = 0.8
{extra}
"""

WALL_SUPPLY = """
[[halls.diffusers]]
name = "DW"
unit = "AHU1"
surface = "+x"
y_m = 4.0
z_m = 0.4
length_m = 1.2
height_m = 0.6
{extra}
"""

RETURN = """
[[halls.returns]]
name = "R1"
unit = "AHU1"
surface = "ceiling"
x_m = 3.0
y_m = 0.4
length_m = 2.0
width_m = 0.8
"""


def text(*parts, floor=0.0, plenum=0.0, air="", unit="AHU1", extra=""):
    return (HEAD.format(floor=floor, plenum=plenum, air=air) + AHU
            + SUPPLY.format(unit=unit, extra=extra) + RETURN + "".join(parts))


# the facility tests' loaders: load a text, all its errors, its one error
load, errors = load_text, errors_of


# ------------------------------------------------------------------------------ parsing
def test_air_handler_parses_and_flows_split_by_area(tmp_path):
    fac = load(text(WALL_SUPPLY.format(extra="")), tmp_path)
    cu = fac.cooling_unit_list()
    assert [(c.name, c.type, c.airflow_m3_s, c.capacity_w) for c in cu] == \
        [("H1/AHU1", "air-handler", 4.0, 100e3)]
    lay = fac.layout("H1")
    assert lay.units[0].outside and lay.units[0].box is None
    sup = {p.name: p for p in lay.patches if p.role == "supply"}
    assert set(sup) == {"H1/D1", "H1/DW"}
    # D1 0.8 m2, DW 0.72 m2: the unit's flow by area
    assert sup["H1/D1"].airflow_m3_s == pytest.approx(4.0 * 0.8 / 1.52, rel=1e-12)
    assert sup["H1/DW"].airflow_m3_s == pytest.approx(4.0 * 0.72 / 1.52, rel=1e-12)
    ret = [p for p in lay.patches if p.role == "return"]
    assert len(ret) == 1 and ret[0].airflow_m3_s == pytest.approx(4.0, rel=1e-15)
    # the facility writes itself back equal
    assert load(fac.to_toml(), tmp_path) == fac


def test_row_of_diffusers_and_stated_flows(tmp_path):
    t = text(extra="count = 3\nalong = \"x\"\npitch_m = 1.2\nairflow_m3_s = 1.0") + \
        WALL_SUPPLY.format(extra="")
    lay = load(t, tmp_path).layout("H1")
    sup = sorted((p for p in lay.patches if p.role == "supply"), key=lambda p: p.name)
    assert [p.name for p in sup] == ["H1/D1-01", "H1/D1-02", "H1/D1-03", "H1/DW"]
    assert [p.box.x0 for p in sup[:3]] == pytest.approx([4.0, 5.2, 6.4])
    assert [p.airflow_m3_s for p in sup] == pytest.approx([1.0, 1.0, 1.0, 1.0])


def test_error_stated_flows_do_not_add_up(tmp_path):
    t = text(extra="airflow_m3_s = 3.0")
    msg = one_error(t, tmp_path)
    assert "halls[H1].cooling_units[AHU1]" in msg and "3 m3/s in all" in msg \
        and "moves 4 m3/s" in msg and "add up" in msg


def test_error_stated_flows_leave_nothing(tmp_path):
    t = text(WALL_SUPPLY.format(extra=""), extra="airflow_m3_s = 4.0")
    msg = one_error(t, tmp_path)
    assert "cooling_units[AHU1]" in msg and "leaving nothing for the others" in msg


def test_error_air_handler_with_body_keys(tmp_path):
    t = text().replace('type = "air-handler"', 'type = "air-handler"\nx_m = 1.0\nfacing = "+x"')
    msg = one_error(t, tmp_path)
    assert "cooling_units" in msg and "outside the hall" in msg and "x_m, facing" in msg


def test_error_wall_patch_keys(tmp_path):
    t = text(WALL_SUPPLY.format(extra="width_m = 1.0"))
    msg = one_error(t, tmp_path)
    assert "diffusers" in msg and "wall '+x'" in msg and "leave out width_m" in msg


# ------------------------------------------------------------------------ validation
def test_error_patch_outside_its_surface(tmp_path):
    t = text(extra="").replace("x_m = 4.0", "x_m = 9.5")
    msg = one_error(t, tmp_path)
    assert "halls[H1].diffusers[D1]" in msg and "outside the floor" in msg and "x 9.50..10.50" in msg


def test_error_wall_patch_above_ceiling(tmp_path):
    t = text(WALL_SUPPLY.format(extra="").replace("z_m = 0.4", "z_m = 3.2"))
    msg = one_error(t, tmp_path)
    assert "diffusers[DW]" in msg and "outside the wall '+x'" in msg and "z 3.20..3.80" in msg


def test_error_overlapping_patches(tmp_path):
    t = text(RETURN.replace('"R1"', '"R2"').replace("x_m = 3.0", "x_m = 4.0"))
    msg = one_error(t, tmp_path)
    assert "returns[R1]" in msg and "overlaps patch H1/R2" in msg and "ceiling" in msg


def test_error_floor_patch_under_rack(tmp_path):
    t = text().replace("y_m = 3.6", "y_m = 2.4")
    msg = one_error(t, tmp_path)
    assert "diffusers[D1]" in msg and "under rack H1/A/" in msg and "aisle" in msg


def test_error_floor_patch_in_raised_floor_hall(tmp_path):
    msg = one_error(text(floor=0.6), tmp_path)
    assert "diffusers[D1]" in msg and "raised floor" in msg and "[[halls.tiles]]" in msg


def test_error_ceiling_patch_under_return_plenum(tmp_path):
    msg = one_error(text(plenum=0.6), tmp_path)
    assert "returns[R1]" in msg and "return plenum" in msg and "ceiling_grilles" in msg


def test_error_patch_names_unknown_unit(tmp_path):
    errs = errors(text(unit="AHU2"), tmp_path)
    msg = errs[0]
    # AHU1 is then left without a diffuser, which is said too
    assert len(errs) == 2 and "no supply patch" in errs[1]
    assert "diffusers[D1].unit" in msg and "'AHU2' does not exist" in msg \
        and "did you mean 'AHU1'" in msg


def test_error_patch_names_a_crah(tmp_path):
    crah = """
[[halls.cooling_units]]
name = "CU1"
type = "crah-front"
x_m = 0.4
y_m = 5.0
width_m = 2.0
depth_m = 1.0
height_m = 2.0
facing = "+x"
airflow_m3_s = 5.0
supply_temp_c = 18.0
capacity_kw = 100.0
"""
    t = text(crah, WALL_SUPPLY.format(extra="").replace('unit = "AHU1"', 'unit = "CU1"'))
    msg = one_error(t, tmp_path)
    assert "diffusers[DW].unit" in msg and "crah-front" in msg and "'air-handler' only" in msg


def test_error_air_handler_without_return(tmp_path):
    t = text().replace(RETURN, "")
    msg = one_error(t, tmp_path)
    assert "cooling_units[AHU1]" in msg and "no return patch" in msg and "[[halls.returns]]" in msg


def test_error_air_handler_without_supply(tmp_path):
    t = text().replace(SUPPLY.format(unit="AHU1", extra=""), "")
    msg = one_error(t, tmp_path)
    assert "no supply patch" in msg and "[[halls.diffusers]]" in msg


def test_error_patch_blocked_by_a_body(tmp_path):
    rack = """
[[halls.racks]]
name = "X"
type = "cpu-compute"
x_m = 8.0
y_m = 0.2
facing = "+x"
"""
    wall = """
[[halls.returns]]
name = "RW"
unit = "AHU1"
surface = "-y"
x_m = 8.2
z_m = 0.5
length_m = 0.8
height_m = 1.0
"""
    msg = one_error(text(rack, wall), tmp_path)
    assert "returns[RW]" in msg and "blocked by rack H1/X" in msg and "0.3 m of free air" in msg


def test_warnings_as_for_crahs(tmp_path):
    t = text().replace("capacity_kw = 100.0", "capacity_kw = 20.0").replace(
        "airflow_m3_s = 4.0", "airflow_m3_s = 1.0")
    w = [str(d) for d in load(t, tmp_path).warnings]
    assert any("cooling capacity 20 kW is below the air-side design load 48 kW" in x for x in w)
    assert any("cooling units move 1.00 m3/s" in x for x in w)


# ----------------------------------------------------------------------------- meshing
def test_patch_ports_cells_orientation_area(tmp_path):
    fac = load(text(WALL_SUPPLY.format(extra="")), tmp_path)
    problem, report = mesh_hall(fac, cell_m=0.2, backend=None)
    g = problem.grid
    nx, ny, nz = g.shape
    infos = {pi.name: pi for pi in report.ports if pi.name}
    assert {(n, pi.role, pi.device) for n, pi in infos.items()} == {
        ("H1/D1", "supply-patch", "H1/AHU1"), ("H1/DW", "supply-patch", "H1/AHU1"),
        ("H1/R1", "return-patch", "H1/AHU1")}
    d1 = infos["H1/D1"].port
    assert (d1.axis, d1.side) == (2, -1)                     # the slab, below the cell
    assert set(map(tuple, d1.cells.tolist())) == {(i, j, 0) for i in range(20, 25)
                                                  for j in range(18, 22)}
    r1 = infos["H1/R1"].port
    assert (r1.axis, r1.side) == (2, 1) and set(r1.cells[:, 2]) == {nz - 1}
    dw = infos["H1/DW"].port
    assert (dw.axis, dw.side) == (0, 1) and set(dw.cells[:, 0]) == {nx - 1}
    assert set(dw.cells[:, 1]) == set(range(20, 26)) and set(dw.cells[:, 2]) == {2, 3, 4}
    for pi, area in ((infos["H1/D1"], 0.8), (infos["H1/DW"], 0.72), (infos["H1/R1"], 1.6)):
        assert pi.port.n_faces * g.face_area_m2(pi.port.axis) == pytest.approx(area, rel=1e-12)
    # the device: one cooler whose supply is the union of both diffusers
    ahu = [d for d in problem.devices if d.name == "H1/AHU1"][0]
    cells, axis, side = ahu.exhaust.faces()
    assert cells.shape == (20 + 18, 3) and cells.dtype == np.int64
    assert sorted(set(zip(axis.tolist(), side.tolist()))) == [(0, 1), (2, -1)]
    frac = ahu.exhaust.face_fractions(g.spacing_m)
    assert frac[axis == 2].sum() == pytest.approx(0.8 / 1.52, rel=1e-12)
    assert report.supply_patches == 2 and report.return_patches == 1


def test_benchmark_halls_mesh_on_cell_faces():
    for name in ("slab-ceiling.toml", "floor-diffusers.toml"):
        fac = load_facility(HALLS / name)
        assert not fac.warnings, fac.warnings
        for cell in (0.2, 0.1):
            problem, report = mesh_hall(fac, cell_m=cell, backend=None)
            assert report.max_snap_error_m < 1e-9, (name, cell, report.worst_snap)
            rack_q = sum(r.flow_m3_s for r in fac.rack_list())
            ahu = [u for u in fac.cooling_unit_list() if u.type == "air-handler"]
            assert len(ahu) == 1 and 0.95 < ahu[0].airflow_m3_s / rack_q < 1.05
            assert report.supply_patches > 0 and report.return_patches > 0
            assert fac.hall().raised_floor_height_m == 0.0


def test_vtk_shows_patches(tmp_path):
    pytest.importorskip("pyvista")
    from twin.thermal.vtk import write_vtk
    fac = load(text(WALL_SUPPLY.format(extra="")), tmp_path)
    problem, report = mesh_hall(fac, cell_m=0.2, backend=None)
    files = [f.name for f in write_vtk(problem, report, tmp_path / "vtk")]
    assert "patches.vtp" in files and "cooling_units.vtp" not in files
    import pyvista as pv
    pm = pv.read(tmp_path / "vtk" / "patches.vtp")
    assert sorted(set(pm.cell_data["role"].tolist())) == [5, 6]
    grid = pv.read(tmp_path / "vtk" / "grid.vti")
    assert (grid.cell_data["port"] == 5).sum() == 38


# ------------------------------------------------------------------------------ air
def test_campus_air_reaches_the_problem_and_flows(tmp_path):
    air = "[campus.air]\ndensity_kg_m3 = 1.10\ncp_j_kgk = 1007.0\nreference_temp_c = 25.0\n"
    fac = load(text(air=air), tmp_path)
    problem, _ = mesh_hall(fac, cell_m=0.4, backend=None)
    assert problem.fluid.density_kg_m3 == 1.10 and problem.fluid.cp_j_kgk == 1007.0
    assert problem.fluid.reference_temp_c == 25.0
    # the rack's flow from its design rise uses the campus air: Q = P / (rho cp dT)
    r = fac.rack_list()[0]
    assert r.flow_m3_s == pytest.approx(12000.0 / (1.10 * 1007.0 * 12.0), rel=1e-12)
    assert flow_for_delta_t(1000.0, 10.0, fac.campus.air) == pytest.approx(1000.0 / (1.1 * 1007 * 10))
    # the default is the thermal core's default air
    fac0 = load(text(), tmp_path)
    assert fac0.fluid == problem.fluid.__class__()


def test_campus_air_out_of_range(tmp_path):
    msg = one_error(text(air="[campus.air]\ndensity_kg_m3 = 2.0\n"), tmp_path)
    assert "campus.air.density_kg_m3" in msg and "1.3" in msg


def test_twin_models_use_campus_air(tmp_path):
    from twin.loop.simulation import rack_spec_for
    fac = load(text(air="[campus.air]\ndensity_kg_m3 = 1.0\n"), tmp_path)
    r = fac.layout("H1").racks[0]
    spec = rack_spec_for(r, fac.rho_cp)
    assert spec.air_rho_cp_j_m3k == pytest.approx(1006.0)
    assert spec.design_airflow_m3_s == pytest.approx(r.flow_m3_s, rel=1e-12)


# ----------------------------------------------------------------------------- Port
def test_port_faces_union_and_shares():
    a = Port([[1, 1, 0], [2, 1, 0]], 2, -1)
    b = Port([[0, 3, 2]], 0, -1)
    assert a.uniform and a.axis == 2
    c, ax, sd = a.faces()
    assert c.dtype == np.int64 and ax.tolist() == [2, 2] and sd.tolist() == [-1, -1]
    u = Port.union([a, b], shares=[3.0, 1.0])
    assert not u.uniform and u.n_faces == 3
    assert u.flow_frac.tolist() == pytest.approx([0.375, 0.375, 0.25])
    assert u.face_index().tolist() == [[1, 1, 0], [2, 1, 0], [0, 3, 2]]
    top = Port([[1, 1, 4]], [2], [1])
    assert top.axis == 2 and top.side == 1 and top.face_index().tolist() == [[1, 1, 5]]
    # without shares: one speed, so shares follow the face areas
    v = Port.union([a, b])
    assert v.face_fractions((0.1, 0.2, 0.4)).tolist() == pytest.approx(
        [0.02 / 0.12, 0.02 / 0.12, 0.08 / 0.12])
    with pytest.raises(InputError):
        Port([[0, 0, 0]], [0, 1], 1)


# ----------------------------------------------------------------------- steady solve
@pytest.fixture(scope="module")
def solved_floor_diffusers():
    from kernels.solver import SolverSettings
    from twin.thermal.steady import solve_hall
    fac = load_facility(HALLS / "floor-diffusers.toml")
    sol = solve_hall(fac, cell_m=0.4, backend="numba-cpu",
                     settings=SolverSettings(max_steps=300, dtype="float64"))
    return sol


def test_patch_fed_room_closes_mass_and_heat(solved_floor_diffusers):
    s = solved_floor_diffusers.solver
    g = s.problem.grid
    b = s.energy_budget()
    assert abs(b["imbalance_frac"]) < 1e-3, b
    ahu = [d for d in s.devices if d.name == "H1/AHU1"][0]
    n = s.devices.index(ahu)
    rack_heat = sum(d.heat_w for d in s.devices if d.kind == "rack")
    # the unit removes rho cp Q (T_return - T_supply), the flow-weighted return mean
    assert b["cooler_heat_w"] == pytest.approx(rack_heat, rel=1e-3)
    T = s.backend.to_host(s.T)
    c = ahu.intake.cells
    frac = ahu.intake.face_fractions(g.spacing_m)
    t_ret = float(np.sum(frac * T[c[:, 0], c[:, 1], c[:, 2]]))
    assert s.dev_tin[n] == pytest.approx(t_ret, abs=1e-9)
    # what leaves through the returns enters through the supplies, on the boundary faces
    vel = [s.backend.to_host(a) for a in (s.u, s.v, s.w)]
    for port, sign in ((ahu.exhaust, -1.0), (ahu.intake, 1.0)):
        f = port.face_index()
        ax, sd = port.axes, port.sides
        q = sum(sign * sd[m] * vel[ax[m]][tuple(f[m])] * g.face_area_m2(ax[m])
                for m in range(port.n_faces))
        assert q == pytest.approx(ahu.flow_m3_s, rel=1e-9)
    assert s.max_divergence() < 1e-4


def test_stated_patch_flows_are_honoured(tmp_path):
    from kernels.solver import Solver, SolverSettings
    t = text(WALL_SUPPLY.format(extra="airflow_m3_s = 1.3"), extra="airflow_m3_s = 2.7")
    fac = load(t, tmp_path)
    problem, report = mesh_hall(fac, cell_m=0.4, backend=None)
    s = Solver(problem, backend="numba-cpu", settings=SolverSettings(max_steps=3, dtype="float64"))
    for _ in range(3):
        s.step()
    g = problem.grid
    vel = [s.backend.to_host(a) for a in (s.u, s.v, s.w)]
    for pi in report.ports:
        if not pi.name:
            continue
        f = pi.port.face_index()
        q = np.abs(vel[pi.port.axis][f[:, 0], f[:, 1], f[:, 2]]).sum() * g.face_area_m2(pi.port.axis)
        want = {"H1/D1": 2.7, "H1/DW": 1.3, "H1/R1": 4.0}[pi.name]
        assert q == pytest.approx(want, abs=1e-9), pi.name


def test_chimney_containment_closes_the_sides_above_the_racks():
    fac = load_facility(HALLS / "slab-ceiling.toml")
    lay = fac.layout("H1")
    sides = {p.name: p for p in lay.panels if "/side-" in p.name}
    assert set(sides) == {"H1/HA/side-A", "H1/HA/side-B"}
    for p in sides.values():
        assert p.axis == 1 and (p.box.z0, p.box.z1) == (2.2, 3.6)
    assert sorted((p.pos_m, p.side) for p in sides.values()) == [(3.2, -1), (4.8, 1)]
    problem, _ = mesh_hall(fac, cell_m=0.2, backend=None)
    from kernels.flags import Flag

    # the cells over row A's racks next to the aisle are panel up to the ceiling
    col = problem.solid[20, 15, :]
    assert np.all(col[:11] & int(Flag.RACK)) and np.all(col[11:] & int(Flag.PANEL))


# --------------------------------------------------------------------------------- CLI
def test_twin_validate_and_run_with_an_air_handler(tmp_path):
    import json

    from click.testing import CliRunner

    from twin.cli import main
    f = HALLS / "floor-diffusers.toml"
    res = CliRunner().invoke(main, ["validate", str(f), "--cell", "0.2"])
    assert res.exit_code == 0, res.output
    assert "air handler H1/AHU1: 11.40 m3/s at 20 degC through 5 diffuser(s) (6.4 m2 on floor)" \
        in res.output and "2 return(s) (6.4 m2 on ceiling)" in res.output
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(f), "--hours", "0.5", "--step", "30m", "--cell",
                                    "0.4", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    s = json.loads((out / "summary.json").read_text())
    assert s["status"] == "complete" and s["cooling_energy_kwh"] > 0
    assert s["energy_closure"]["air_max_frac"] < 1e-3


def test_error_patch_name_used_twice(tmp_path):
    t = text(RETURN.replace('"R1"', '"D1"').replace("x_m = 3.0", "x_m = 6.0"))
    msg = one_error(t, tmp_path)
    assert "returns[D1]" in msg and "names a diffuser and a return" in msg
