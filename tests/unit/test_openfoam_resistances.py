"""How the OpenFOAM case states the twin's loss faces (tiles, door leaks).

OpenFOAM is not needed: the written dictionaries are checked against the problem (a
baffle's jump coefficient, a spread zone's cells and ``beta``), and the door check's
pressure-drop reading against a made-up pressure field with a known jump.
"""
import re

import numpy as np
import pytest

from benchmarks.validation import crosscheck, doorcheck, foamcase
from kernels.flags import Flag
from kernels.grid import Grid
from kernels.problem import Device, Port, Problem, Resistance


def _room(k_loss=12.0):
    """A 2.0 x 1.2 x 1.0 m room at 0.1 m: a cooler supplying below a slab, one tile area
    of 8 loss faces in the slab (``k_loss``), and a solid block on two of its faces."""
    g = Grid.from_size((2.0, 1.2, 1.0), 0.1)
    solid = np.zeros(g.shape, np.uint8)
    solid[:, :, 1] = Flag.SOLID | Flag.FLOOR                # the slab at k = 1 ...
    solid[14:16, 4:8, 1] = Flag.TILE                        # ... with one tile area
    solid[14:16, 7, 0] = Flag.SOLID                         # a block under two tiles
    supply = Port(np.array([(0, j, 0) for j in range(4, 10)]), axis=0, side=-1)
    ret = Port(np.array([(i, j, 9) for i in range(0, 2) for j in range(4, 10)]), axis=2,
               side=+1)
    tiles = Resistance("T1", np.array([(i, j, 1) for i in range(14, 16) for j in range(4, 8)]),
                       axis=2, k_loss=k_loss)
    devs = (Device("C1", "cooler", ret, supply, 0.3, supply_temp_c=18.0),)
    return Problem(grid=g, solid=solid, devices=devs, resistances=(tiles,), name="room")


def _entry(text, patch):
    m = re.search(rf"\n\s*{patch} \{{ (.*?) \}}\n", text)
    assert m, patch
    return m.group(1)


def test_baffle_jump_is_the_twins_loss(tmp_path):
    p = _room(k_loss=12.0)
    info = foamcase.write_case(p, tmp_path / "c", max_iterations=100, average_from=50,
                               resistances="baffle")
    case = tmp_path / "c"
    (z,) = [z for z in info.zones if z["kind"] == "resistance"]
    # the faces on the solid block are walls already: 8 loss faces, 6 of them open
    assert z["faces"] == 6 and z["treatment"] == "baffle"
    master, slave = z["patches"]
    # the face zone of exactly those faces, cut into a cyclic pair by createBaffles
    topo = (case / "system/topoSetDict").read_text()
    assert f"name {z['faces_zone']}; type faceZoneSet" in topo
    boxes = re.search(rf"name {z['faces_zone']}; type faceSet.*?boxes \((.*?)\); \}}", topo,
                      re.S).group(1)
    z_planes = {float(b.split()[2]) for b in re.findall(r"\(([-\d.e ]+)\)", boxes)}
    assert z_planes == {0.075, 0.125}           # thin boxes about the plane z = 0.1 m
    baffles = (case / "system/createBafflesDict").read_text()
    assert f"zoneName {z['faces_zone']};" in baffles
    assert f"name {master}; type cyclic; neighbourPatch {slave};" in baffles
    assert "noFields true;" in baffles
    # the jump (I/2) |u| u length on kinematic p_rgh = the twin's k u^2 / 2
    for nm in (master, slave):
        txt = _entry((case / "0.orig/p_rgh").read_text(), nm)
        assert "type porousBafflePressure;" in txt and "patchType cyclic;" in txt
        coeffs = dict(re.findall(r"\b(D|I|length) ([-\d.eE+]+);", txt))
        assert float(coeffs["D"]) == 0.0
        assert float(coeffs["I"]) * float(coeffs["length"]) == pytest.approx(12.0, rel=1e-9)
        for fld in ("U", "T", "k", "epsilon", "nut", "alphat", "p"):
            assert _entry((case / "0.orig" / fld).read_text(), nm) == "type cyclic;"
    assert "explicitPorositySource" not in (case / "system/fvOptions").read_text()
    # the net flux through the door is monitored on the master side
    control = (case / "system/controlDict").read_text()
    mon = re.search(rf"loss_{z['name']}\n\s*\{{(.*?)\}}", control, re.S).group(1)
    assert f"name {master};" in mon and "operation sum;" in mon and "fields (phi);" in mon


def test_spread_zone_is_astride_the_face(tmp_path):
    p = _room(k_loss=12.0)
    d = p.grid.spacing_m[2]
    for treatment, n, cells in (("zone", 1, 8), ("zone2", 2, 14), ("zone4", 4, 22)):
        info = foamcase.write_case(p, tmp_path / treatment, max_iterations=100,
                                   average_from=50, resistances=treatment)
        (z,) = [z for z in info.zones if z["kind"] == "resistance"]
        # total beta * thickness = k / 2: the cell pressure drops add up to k rho u^2 / 2
        assert z["beta_1_m"] * n * d == pytest.approx(12.0 / 2)
        # zone2: the tile cell and the open cell below (not the two on the block);
        # zone4 adds the cells above the tiles (k = 2); k = -1 is outside the grid
        assert z["cells"] == cells
        opts = (tmp_path / treatment / "system/fvOptions").read_text()
        beta = re.search(rf"{z['name']}\n\{{.*?beta \(([^)]*)\)", opts, re.S).group(1)
        assert [float(x) for x in beta.split()] == pytest.approx([0, 0, z["beta_1_m"]])
        assert "createBafflesDict" not in {f.name for f in (tmp_path / treatment /
                                                            "system").iterdir()}
    assert foamcase.zone_thickness_cells("zone") == 1
    assert foamcase.zone_thickness_cells("zone4") == 4
    with pytest.raises(ValueError):
        foamcase.write_case(p, tmp_path / "x", max_iterations=100, average_from=50,
                            resistances="plate")


def test_door_check_reads_the_jump_not_the_friction():
    p = doorcheck.door_channel(cell_m=0.2, speed_m_s=0.2)
    (door,) = p.resistances
    assert door.k_loss == pytest.approx(7070, rel=1e-3)
    assert p.devices[0].flow_m3_s == pytest.approx(0.2 * 1.2 * 1.2)
    nx = p.grid.shape[0]
    i_door = int(door.faces[0, 0])
    assert i_door == nx // 2 and len(door.faces) == 36
    # p = 5 - 0.3 x, with a drop of 141.4 at the door plane, checkerboard at the door
    x = (np.arange(nx) + 0.5) * p.grid.spacing_m[0]
    prof = 5.0 - 0.3 * x - 141.4 * (np.arange(nx) >= i_door)
    prof[i_door - 1] += 40.0
    prof[i_door] -= 40.0
    field = np.broadcast_to(prof[:, None, None], p.grid.shape).copy()
    r = doorcheck.door_drop(field, p)
    assert r["drop_m2_s2"] == pytest.approx(141.4, rel=1e-9)
    assert r["friction_gradient_m_s2"] == pytest.approx([0.3, 0.3])


def test_resistance_experiment_keeps_the_reference():
    case = crosscheck.CASES["slab-ceiling-hi"]
    assert case.resistances == crosscheck.LOSS_FACES == "gaps"     # a hall with doors
    assert crosscheck.CASES["small-hall-lo"].resistances == "zone4"  # tiles
    assert crosscheck.with_resistances(case, None) is case
    assert crosscheck.with_resistances(case, "gaps") is case
    before = crosscheck.with_resistances(case, "zone4")        # the reference before
    assert before.name == "slab-ceiling-hi-zone4" and before.reference_of == case.name
    exp = crosscheck.with_resistances(case, "zone")            # and before that
    assert exp.name == "slab-ceiling-hi-zone" and exp.resistances == "zone"
    assert exp.reference_of == "slab-ceiling-hi" and exp.transient == case.transient
    assert crosscheck.result_path(exp.name) != crosscheck.result_path(case.name)


def test_door_check_uses_the_halls_door_loss():
    """The door check's ``k`` is the one the mesh gives the slab-ceiling hall's doors."""
    problem, _ = crosscheck.problem_for(crosscheck.CASES["slab-ceiling-hi"])
    doors = [r for r in problem.resistances if r.k_loss > 100.0]
    assert doors, "the slab-ceiling hall meshes no door leak"
    assert {r.k_loss for r in doors} == {doorcheck.DOOR_K_LOSS}


def test_twin_reports_the_flow_through_its_loss_faces():
    """The twin's answer states each loss face group's net, gross and exchange flow as the
    reference's monitors do (net along +axis)."""
    p = doorcheck.door_channel(cell_m=0.2, speed_m_s=0.2)
    (door,) = p.resistances
    nx, ny, nz = p.grid.shape
    u = np.zeros((nx + 1, ny, nz))
    v, w = np.zeros((nx, ny + 1, nz)), np.zeros((nx, ny, nz + 1))
    f = door.faces
    top = f[:, 2] >= nz // 2
    u[f[top, 0], f[top, 1], f[top, 2]] = 0.3        # out along +x above
    u[f[~top, 0], f[~top, 1], f[~top, 2]] = -0.1    # back below
    (rec,) = crosscheck.resistance_flows(p, (u, v, w))
    a = 0.2 * 0.2
    assert rec["name"] == door.name
    assert rec["net_flow_m3_s"] == pytest.approx(a * (0.3 * top.sum() - 0.1 * (~top).sum()))
    assert rec["gross_flow_m3_s"] == pytest.approx(a * (0.3 * top.sum() + 0.1 * (~top).sum()))
    assert rec["exchange_flow_m3_s"] == pytest.approx(
        (rec["gross_flow_m3_s"] - abs(rec["net_flow_m3_s"])) / 2)
    assert 0 < rec["exchange_flow_m3_s"] < rec["gross_flow_m3_s"]


def test_flows_cli_prints_both_codes_or_one_line(capsys):
    """``python -m benchmarks.validation flows CASE``: a row per loss face group with the
    reference's and the twin's net flow (the stored ai-hall-lo); one line and exit 2 for a
    case without a stored result."""
    from benchmarks.validation.__main__ import main
    assert main(["flows", "ai-hall-lo"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in out[1:]}
    assert sorted(rows) == sorted(r["name"] for r in
                                  crosscheck.load_result("ai-hall-lo")["openfoam"]["resistances"])
    for of_net, twin_net, of_ex, twin_ex in rows.values():
        assert np.isfinite([of_net, twin_net, of_ex, twin_ex]).all()
    assert main(["flows", "no-such-hall"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no stored result" in err[0]


def test_loss_check_reads_the_difference_beyond_the_zone():
    """A pressure field that steps by 141.4 m2/s2 across the door plane (and varies in the
    zone's cells, which the check must not read) gives that difference and the flow the
    door's loss passes at it: 0.2 m/s over the door's area."""
    from benchmarks.validation.losscheck import LOSS_DP_OFFSET_CELLS, loss_pressure_differences
    p = doorcheck.door_channel(cell_m=0.2, speed_m_s=0.2)
    (door,) = p.resistances
    nx = p.grid.shape[0]
    i = int(door.faces[0, 0])
    prof = np.where(np.arange(nx) < i, 200.0, 200.0 - 141.4)
    prof[i - 2:i + 2] = 1e4                   # inside a 4-cell zone: not read
    P = np.broadcast_to(prof[:, None, None], p.grid.shape).copy()
    assert LOSS_DP_OFFSET_CELLS == 3
    r = loss_pressure_differences(P, p)[door.name]
    assert r["dp_m2_s2"] == pytest.approx(141.4)
    area = len(door.faces) * 0.2 * 0.2
    assert r["loss_flow_m3_s"] == pytest.approx(0.2 * area, rel=1e-3)
    r = loss_pressure_differences(-P, p)[door.name]          # the other way
    assert r["loss_flow_m3_s"] == pytest.approx(-0.2 * area, rel=1e-3)


def test_door_gaps_are_an_open_row_in_a_shut_door(tmp_path):
    """``resistances="gaps"``: the duct's door (36 faces, k 7,070) is shut by a wall pair
    but for its lowest row (6 faces), which passes the same flow at the same pressure
    difference (k f^2, f = 1/6) through a zone4 under a walled slot roof; a tile-sized
    group keeps its plain zone4."""
    p = doorcheck.door_channel(cell_m=0.2, speed_m_s=0.2)
    info = foamcase.write_case(p, tmp_path / "g", max_iterations=100, average_from=50,
                               resistances="gaps")
    case = tmp_path / "g"
    (z,) = [z for z in info.zones if z["kind"] == "resistance"]
    assert (z["open_faces"], z["shut_faces"], z["faces"]) == (6, 30, 6)
    assert z["open_frac"] == pytest.approx(1 / 6)
    assert z["k_loss"] == pytest.approx(doorcheck.DOOR_K_LOSS)
    assert z["k_loss_open"] == pytest.approx(doorcheck.DOOR_K_LOSS / 36)
    # the same flow at the same drop: k_open (Q / (f A))^2 = k (Q / A)^2
    assert z["k_loss_open"] / z["open_frac"] ** 2 == pytest.approx(z["k_loss"])
    d = p.grid.spacing_m[0]
    assert z["beta_1_m"] * 4 * d == pytest.approx(z["k_loss_open"] / 2)
    # the open row is the lowest (k = 0), the slot roof the faces above its 4 zone cells
    open_faces, shut = foamcase.gap_faces(p, p.resistances[0].faces, 0)
    assert set(open_faces[:, 2]) == {0} and set(shut[:, 2]) == set(range(1, 6))
    assert z["slot_faces"] == 4 * 6              # the roof; the duct walls are its sides
    baffles = (case / "system/createBafflesDict").read_text()
    for nm in z["patches"]:
        assert f"name {nm}; type wall;" in baffles
        assert _entry((case / "0.orig/U").read_text(), nm) == "type noSlip;"
        assert "WallFunction" in _entry((case / "0.orig/epsilon").read_text(), nm)
    # a tile group (k below GAP_K_MIN) is a plain zone4
    tiles = foamcase.write_case(_room(k_loss=12.0), tmp_path / "t", max_iterations=100,
                                average_from=50, resistances="gaps")
    (zt,) = [z for z in tiles.zones if z["kind"] == "resistance"]
    assert "open_faces" not in zt and zt["thickness_cells"] == 4 and zt["cells"] == 22
    assert not (tmp_path / "t/system/createBafflesDict").exists()
