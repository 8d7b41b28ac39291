"""Meshing a facility onto the thermal core's grid: ports face by face, snapping, memory."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import ndimage

from common.errors import MemoryLimitError
from kernels.flags import Flag
from twin.cli import main
from twin.facility import (BUILTIN_DIR, Facility, idelchik_perforated_plate_k, load_facility,
                           loads_facility)
from twin.thermal.mesh import MeshError, mesh_hall
from twin.thermal.vtk import write_vtk

MESHES = BUILTIN_DIR
SOLID, RACK, COOLER = int(Flag.SOLID), int(Flag.RACK), int(Flag.COOLER)


@pytest.fixture(scope="module")
def small():
    return load_facility(MESHES / "small-hall.toml")


@pytest.fixture(scope="module")
def ai():
    return load_facility(MESHES / "ai-hall.toml")


def one_rack_hall(facing, x=2.4, y=2.4, floor=0.0, length=6.0, width=6.0, ceiling=3.0,
                  folder=None):
    unit = "crah-front"
    text = f"""
include = ["builtin:racks"]
[campus]
name = "T"
lat_deg = 0.0
lon_deg = 0.0
weather = "builtin:ulsan"

[[halls]]
name = "H"
length_m = {length}
width_m = {width}
ceiling_height_m = {ceiling}
raised_floor_height_m = {floor}

[[halls.racks]]
name = "R"
type = "cpu-compute"
x_m = {x}
y_m = {y}
facing = "{facing}"

[[halls.cooling_units]]
name = "CU"
type = "{unit}"
x_m = {length - 1.4}
y_m = {width - 1.4}
width_m = 0.8
depth_m = 0.8
height_m = 1.5
facing = "-y"
airflow_m3_s = 2.0
supply_temp_c = 20.0
capacity_kw = 30.0
"""
    return loads_facility(text, folder=folder)


AXIS = {"+x": (0, 1), "-x": (0, -1), "+y": (1, 1), "-y": (1, -1)}


@pytest.mark.parametrize("facing", ["+x", "-x", "+y", "-y"])
@pytest.mark.parametrize("floor", [0.0, 0.6])
def test_rack_ports_face_by_face(facing, floor, tmp_path):
    fac = one_rack_hall(facing, floor=floor, folder=tmp_path)
    prob, rep = mesh_hall(fac, cell_m=0.1, backend=None)
    rack = prob.racks[0]
    assert rack.name == "H/R" and rack.heat_w == pytest.approx(12000.0)
    # the rack body in cells: 0.6 m wide across its facing axis, 1.2 m deep along it
    a, s = AXIS[facing]
    b = 1 - a
    lo = [24, 24, round(floor / 0.1)]
    hi = [24 + (12 if a == 0 else 6), 24 + (12 if a == 1 else 6), lo[2] + 20]
    body = np.argwhere(prob.solid & RACK)
    assert body.min(axis=0).tolist() == lo and (body.max(axis=0) + 1).tolist() == hi
    for port, direction in ((rack.intake, s), (rack.exhaust, -s)):
        assert port.axis == a
        assert port.side == -direction          # +1: the body is at index + 1 along the axis
        layer = hi[a] if direction > 0 else lo[a] - 1
        expect = {(i, j, k) for i in range(lo[0], hi[0]) for j in range(lo[1], hi[1])
                  for k in range(lo[2], hi[2])}
        expect = {tuple(layer if ax == a else c[ax] for ax in range(3)) for c in expect}
        assert set(map(tuple, port.cells.tolist())) == expect
        c = port.cells
        assert np.all((prob.solid[c[:, 0], c[:, 1], c[:, 2]] & SOLID) == 0)
        nb = c.copy()
        nb[:, a] += port.side
        assert np.all(prob.solid[nb[:, 0], nb[:, 1], nb[:, 2]] & RACK)
        # the port faces lie on the rack's face plane
        plane = (port.face_index()[:, a] * 0.1)
        face_m = (lo[a] if direction < 0 else hi[a]) * 0.1
        assert np.allclose(plane, face_m)
        assert port.n_faces == (hi[b] - lo[b]) * 20
    assert rep.max_snap_error_m < 1e-9
    if floor > 0:
        slab = round(floor / 0.1) - 1
        assert np.all(prob.solid[:, :, slab] == SOLID | int(Flag.FLOOR))
        assert np.all(prob.solid[:, :, :slab] == int(Flag.PLENUM))


def test_downflow_crah_ports(small):
    prob, rep = mesh_hall(small, cell_m=0.2, backend=None)
    crah = [d for d in prob.coolers if d.name == "H1/CRAH-1"][0]
    k_floor = 4                                           # 0.8 m at 0.2 m cells
    # return on the top face (2.0 m above the 0.8 m floor: k = 14), axis z, body below
    assert crah.intake.axis == 2 and crah.intake.side == -1
    assert set(crah.intake.cells[:, 2]) == {14}
    # supply on the +x face inside the plenum only (below the slab layer k = 3)
    assert crah.exhaust.axis == 0 and crah.exhaust.side == -1
    assert set(crah.exhaust.cells[:, 0]) == {7} and set(crah.exhaust.cells[:, 2]) == {0, 1, 2}
    assert np.all(prob.solid[2:7, 5:20, 0:14] == SOLID | COOLER)     # slab to top, through the floor
    assert crah.capacity_w == 170e3 and crah.supply_temp_c == 18.0 and crah.flow_m3_s == 6.0
    assert rep.plenum_layers == k_floor - 1


def test_tiles_and_resistances(small):
    prob, _ = mesh_hall(small, cell_m=0.2, backend=None)
    (res,) = prob.resistances
    assert res.axis == 2 and res.k_loss == pytest.approx(idelchik_perforated_plate_k(0.56))
    assert res.faces.shape == (21 * 6, 3)                 # 4.2 m x 1.2 m of grates
    assert set(res.faces[:, 2]) == {3}                   # bottom face of the slab-layer cell
    f = res.faces
    assert np.all(prob.solid[f[:, 0], f[:, 1], 3] == int(Flag.TILE))
    assert np.all(prob.solid[f[:, 0], f[:, 1], 2] == int(Flag.PLENUM))
    assert f[:, 0].min() == 15 and f[:, 0].max() == 35 and f[:, 1].min() == 20 and f[:, 1].max() == 25


def test_inrow_ports_and_containment_seal(ai):
    prob, rep = mesh_hall(ai, cell_m=0.2, backend=None)
    ir = [d for d in prob.coolers if d.name == "AI-1/IR-A-01"][0]
    d = prob.grid.spacing_m[1]
    # back (+y) into the hot aisle y 2.868..4.0 m, front (-y) into the cold aisle
    assert ir.intake.axis == 1 and ir.intake.side == -1
    assert np.all((ir.intake.cells[:, 1] + 0.5) * d > 2.8)
    assert ir.exhaust.axis == 1 and ir.exhaust.side == +1
    assert np.all((ir.exhaust.cells[:, 1] + 0.5) * d < 1.8)
    assert rep.panel_cells > 0
    # the hot aisles are closed but for their leaky doors: without the door cells there is
    # no air path from inside to the room but through devices
    from kernels.flags import Flag
    from twin.facility import idelchik_perforated_plate_k
    doors = [r for r in prob.resistances if "door" in r.name]
    assert len(doors) == 4                                     # two aisles, two ends each
    assert all(r.k_loss == pytest.approx(idelchik_perforated_plate_k(0.02)) for r in doors)
    assert all(r.axis == 0 for r in doors)                     # doors face along the rows
    fluid = ((prob.solid & SOLID) == 0) & ((prob.solid & int(Flag.PANEL)) == 0)
    lab, _ = ndimage.label(fluid)
    g = prob.grid
    hot = lab[g.cell_of(6.6, 3.4, 1.0)]
    room = lab[g.cell_of(6.6, 0.9, 1.0)]
    assert hot > 0 and room > 0 and hot != room
    assert lab[g.cell_of(6.6, 8.5, 1.0)] not in (0, room, hot)          # second hot aisle
    assert lab[g.cell_of(6.6, 6.0, 1.0)] == room                        # cold aisle is the room


def test_fan_wall_ports(ai):
    prob, _ = mesh_hall(ai, cell_m=0.2, backend=None)
    fw = [d for d in prob.coolers if d.name == "AI-1/FW-01"][0]
    # back face at x = 0.8 m (return from the gallery), front at x = 1.8 m
    assert fw.intake.axis == 0 and fw.intake.side == +1 and set(fw.intake.cells[:, 0]) == {3}
    assert fw.exhaust.axis == 0 and fw.exhaust.side == -1 and set(fw.exhaust.cells[:, 0]) == {9}


RETURN_PLENUM = """
include = ["builtin:racks"]
[campus]
name = "T"
lat_deg = 0.0
lon_deg = 0.0
weather = "builtin:ulsan"

[[halls]]
name = "H"
length_m = 8.0
width_m = 6.0
raised_floor_height_m = 0.6
ceiling_height_m = 3.0
return_plenum_height_m = 0.6

[[halls.rows]]
name = "A"
type = "cpu-compute"
count = 4
x_m = 3.0
y_m = 1.2
facing = "+y"

[[halls.tiles]]
name = "T1"
x_m = 3.0
y_m = 2.4
count = 4
open_area_frac = 0.25

[[halls.ceiling_grilles]]
name = "G1"
x_m = 3.0
y_m = 0.0
count = 4
k_loss = 10.0

[[halls.cooling_units]]
name = "CRAH"
type = "crah-downflow"
x_m = 0.5
y_m = 2.0
width_m = 2.0
depth_m = 1.0
height_m = 2.7
facing = "+x"
airflow_m3_s = 3.0
supply_temp_c = 18.0
capacity_kw = 60.0
"""


def test_return_plenum_and_grilles(tmp_path):
    fac = loads_facility(RETURN_PLENUM, folder=tmp_path)
    prob, rep = mesh_hall(fac, cell_m=0.1, backend=None)
    s = prob.solid
    assert prob.grid.shape == (80, 60, 36)
    ceiling = s[:, :, 30]
    assert np.count_nonzero(ceiling == int(Flag.TILE)) == 24 * 6          # the grilles
    above = s[:, :, 31:]
    assert np.all((above == int(Flag.PLENUM)) | (above == SOLID | COOLER))
    assert np.all(s[15:, :, 31:] == int(Flag.PLENUM))
    grille = [r for r in prob.resistances if r.name == "H/G1"][0]
    assert set(grille.faces[:, 2]) == {30} and grille.k_loss == 10.0
    crah = prob.coolers[0]
    # the unit reaches into the return plenum and draws from it
    assert crah.intake.axis == 2 and set(crah.intake.cells[:, 2]) == {33}
    assert np.all(s[5:15, 20:40, 0:33] == SOLID | COOLER)
    assert rep.plenum_layers == 5


def test_shipped_facilities_mesh(small, ai):
    campus = load_facility(MESHES / "ulsan-campus.toml")
    for fac, hall in ((small, None), (ai, None), (campus, "DC2-H03")):
        prob, rep = mesh_hall(fac, hall, cell_m=0.2, backend=None)
        lay = fac.layout(hall)
        assert len(prob.racks) == len(lay.racks) and len(prob.coolers) == len(lay.units)
        names = [d.name for d in prob.devices]
        assert len(set(names)) == len(names)
        for dev in prob.devices:
            for port in (dev.intake, dev.exhaust):
                c = port.cells
                assert np.all((c >= 0) & (c < np.array(prob.grid.shape)))
                assert np.all((prob.solid[c[:, 0], c[:, 1], c[:, 2]] & SOLID) == 0)
        assert rep.max_snap_error_m <= 0.5 * max(prob.grid.spacing_m) + 1e-9
        assert rep.air_heat_w == pytest.approx(sum(d.heat_w for d in prob.racks))
    assert small.layout().hall.name == "H1"
    _, rep = mesh_hall(small, cell_m=0.2, backend=None)
    assert rep.cells == 60 * 45 * 20


@pytest.mark.parametrize("seed", range(12))
def test_snapping_error_bounded_by_half_a_cell(seed, tmp_path):
    rng = np.random.default_rng(seed)
    cell = float(rng.uniform(0.05, 0.2))
    fac = one_rack_hall(["+x", "-x", "+y", "-y"][seed % 4], x=float(rng.uniform(1.3, 3.2)),
                        y=float(rng.uniform(1.3, 3.2)), length=7.31, width=6.77, ceiling=3.13,
                        folder=tmp_path)
    prob, rep = mesh_hall(fac, cell_m=cell, backend=None)
    sp = prob.grid.spacing_m
    assert rep.max_snap_error_m <= 0.5 * max(sp) + 1e-12
    # independent check on the rack body: each face within half a cell of the file's value
    box = fac.layout().racks[0].box
    body = np.argwhere(prob.solid & RACK)
    for a in range(3):
        assert abs(body[:, a].min() * sp[a] - box.lo(a)) <= 0.5 * sp[a] + 1e-12
        assert abs((body[:, a].max() + 1) * sp[a] - box.hi(a)) <= 0.5 * sp[a] + 1e-12


def test_memory_refusal_before_allocating(ai):
    """Refused before any grid-sized array exists: NumPy reports its allocations to
    tracemalloc, and the peak stays far below the one-byte-per-cell flags array."""
    import tracemalloc
    tracemalloc.start()
    try:
        with pytest.raises(MemoryLimitError) as exc:
            mesh_hall(ai, cell_m=0.004, backend="numba-cpu")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "GiB" in str(exc.value) and "cells" in str(exc.value)
    cells = (14.0 / 0.004) * (15.0 / 0.004) * (4.5 / 0.004)
    assert peak < 0.01 * cells, (peak, cells)


def test_utilization_and_rack_power(small):
    prob, rep = mesh_hall(small, cell_m=0.2, utilization=0.5,
                          rack_power_w={"H1/B/05": 7000.0}, backend=None)
    heat = {d.name: d.heat_w for d in prob.racks}
    assert heat["H1/A/01"] == pytest.approx(4100 + 0.5 * (20400 - 4100))
    assert heat["H1/B/05"] == pytest.approx(7000.0)
    flows = {d.name: d.flow_m3_s for d in prob.racks}
    assert flows["H1/A/01"] == pytest.approx(20400 / (1.19 * 1006 * 15))   # design airflow kept
    with pytest.raises(Exception, match="did you mean 'H1/B/05'"):
        mesh_hall(small, cell_m=0.2, rack_power_w={"H1/B/5": 1.0}, backend=None)


def test_liquid_share_leaves_the_air(ai):
    prob, rep = mesh_hall(ai, cell_m=0.2, backend=None)
    nvl = [d for d in prob.racks if d.name == "AI-1/A/01"][0]
    assert nvl.heat_w == pytest.approx(132e3 * 0.15)
    assert rep.liquid_heat_w == pytest.approx(32 * 132e3 * 0.85)


def test_floor_too_thin_for_the_cell(small):
    with pytest.raises(MeshError, match="raised floor .* needs two"):
        mesh_hall(small, cell_m=0.7, backend=None)


def test_port_on_the_wall_is_refused(tmp_path):
    fac = one_rack_hall("-y", folder=tmp_path)
    raw = fac.model_dump()
    raw["halls"][0]["racks"][0]["y_m"] = 0.0             # skips the checks: built in Python
    bad = Facility.model_validate(raw)
    with pytest.raises(MeshError, match="lies on the hall boundary"):
        mesh_hall(bad, cell_m=0.1, backend=None)


def test_write_vtk(small, tmp_path):
    import pyvista as pv
    prob, rep = mesh_hall(small, cell_m=0.2, backend=None)
    paths = write_vtk(prob, rep, tmp_path / "v")
    names = {p.name for p in paths}
    assert {"grid.vti", "racks.vtp", "cooling_units.vtp", "tiles.vtp", "ports.vtp",
            "hall.vtm"} <= names
    img = pv.read(tmp_path / "v" / "grid.vti")
    assert img.n_cells == prob.grid.cells
    assert np.array_equal(np.asarray(img.cell_data["flags"]), prob.solid.ravel(order="F"))
    racks = pv.read(tmp_path / "v" / "racks.vtp")
    assert racks.n_cells == 10 * 6 and list(racks.field_data["name"])[0] == "H1/A/01"
    mb = pv.read(tmp_path / "v" / "hall.vtm")
    assert mb.n_blocks == len(paths) - 1


def test_cli_mesh(tmp_path):
    r = CliRunner().invoke(main, ["mesh", str(MESHES / "small-hall.toml"), "--cell", "0.2",
                                  "--vtk", str(tmp_path / "v")])
    assert r.exit_code == 0, r.output
    assert "54,000 cells" in r.output and "GiB" in r.output and "snapping" in r.output
    assert (tmp_path / "v" / "hall.vtm").is_file()
    r = CliRunner().invoke(main, ["mesh", str(MESHES / "ulsan-campus.toml"), "--cell", "0.2"])
    assert r.exit_code == 2 and "choose one with --hall" in r.output and "Traceback" not in r.output


def test_blocked_port_cells_are_one_problem_naming_the_bodies():
    """A port whose cells are solid is refused with one line: how many, which bodies, the fix."""
    from kernels.flags import Flag
    from twin.thermal.mesh import _blocked
    solid = np.zeros((4, 4, 4), np.uint8)
    solid[1, 1, :] = int(Flag.SOLID) | int(Flag.RACK)
    cells = np.array([[1, 1, 0], [1, 1, 1], [2, 2, 2]])
    problems = []
    assert _blocked(solid, cells, problems, "rack R: {n} of its {of} intake cells", "move it")
    assert problems == ["rack R: 2 of its 3 intake cells are solid (rack); move it"]
    assert not _blocked(solid, cells[2:], problems, "x {n} {of}", "y") and len(problems) == 1
