"""The OpenFOAM case writer of the cross-check (benchmarks/validation/openfoam.py).

OpenFOAM itself is not needed here: the case's files are checked against the problem
(mesh, fluid cell set, patch velocities and flows, heat sources, porous losses), and the
reader against a hand-made result in OpenFOAM's format.
"""
import re

import numpy as np
import pytest

from benchmarks.validation import foamcase
from benchmarks.validation import openfoam as of
from kernels.flags import Flag
from kernels.grid import Grid
from kernels.problem import Device, Port, Problem, Resistance


def _room():
    """A 2.0 x 1.2 x 1.0 m room at 0.1 m: a rack, a cooler, a porous tile layer."""
    g = Grid.from_size((2.0, 1.2, 1.0), 0.1)
    solid = np.zeros(g.shape, np.uint8)
    solid[8:12, 0:3, 2:8] = Flag.SOLID | Flag.RACK          # rack, intake to +y
    solid[0:2, 4:10, 2:9] = Flag.SOLID | Flag.COOLER        # cooler, supply to +x
    solid[:, :, 1] = Flag.SOLID | Flag.FLOOR                # a floor slab ...
    solid[14:16, 4:8, 1] = Flag.TILE                        # ... with one tile area
    solid[0:2, 4:10, 0:2] = Flag.SOLID | Flag.COOLER        # cooler body down to the slab
    ii, kk = np.meshgrid(range(8, 12), range(2, 8), indexing="ij")
    intake = Port(np.stack([ii.ravel(), np.full(ii.size, 3), kk.ravel()], 1), axis=1, side=-1)
    exhaust_cells = []
    # exhaust on top (+z) of the rack
    for i in range(8, 12):
        for j in range(0, 3):
            exhaust_cells.append((i, j, 8))
    exhaust = Port(np.array(exhaust_cells), axis=2, side=-1)
    jj, kk2 = np.meshgrid(range(4, 10), range(0, 1), indexing="ij")
    supply = Port(np.stack([np.full(jj.size, 2), jj.ravel(), kk2.ravel()], 1), axis=0, side=-1)
    ret = Port(np.array([(i, j, 9) for i in range(0, 2) for j in range(4, 10)]), axis=2, side=-1)
    tiles = Resistance("T1", np.array([(i, j, 1) for i in range(14, 16) for j in range(4, 8)]),
                       axis=2, k_loss=12.0)
    devs = (Device("R1", "rack", intake, exhaust, 0.5, heat_w=6000.0),
            Device("C1", "cooler", ret, supply, 0.5, supply_temp_c=18.0))
    return Problem(grid=g, solid=solid, devices=devs, resistances=(tiles,), name="room")


def test_boxes_cover_cells_exactly():
    rng = np.random.default_rng(3)
    cells = np.argwhere(rng.random((7, 6, 5)) < 0.4)
    boxes = foamcase.boxes_of_cells(cells)
    got = set()
    for (i0, i1), (j0, j1), (k0, k1) in boxes:
        for i in range(i0, i1):
            for j in range(j0, j1):
                for k in range(k0, k1):
                    assert (i, j, k) not in got          # disjoint
                    got.add((i, j, k))
    assert got == set(map(tuple, cells.tolist()))
    assert len(boxes) < len(cells)                       # merged
    # a full block is one box
    full = np.argwhere(np.ones((4, 3, 2), bool))
    assert foamcase.boxes_of_cells(full) == [((0, 4), (0, 3), (0, 2))]


def _patch_value(text, patch):
    m = re.search(rf"\n\s*{patch} \{{ (.*?) \}}\n", text)
    assert m, patch
    return m.group(1)


def test_case_files_match_the_problem(tmp_path):
    p = _room()
    info = foamcase.write_case(p, tmp_path / "case", max_iterations=100, average_from=50)
    case = tmp_path / "case"
    # fluid cell set: the twin's fluid cells in block order (i fastest)
    txt = (case / "system/fluidCellSet").read_text()
    n = int(re.search(r"\}\s*\n\s*(\d+)\s*\n\(", txt).group(1))
    assert n == int(p.fluid_mask.sum()) == info.fluid_cells
    body = txt[txt.index("\n(\n") + 3: txt.rindex("\n)")]
    labels = np.array(body.split(), int)
    nx, ny, _ = p.grid.shape
    i, j, k = labels % nx, (labels // nx) % ny, labels // (nx * ny)
    assert p.fluid_mask[i, j, k].all() and len(labels) == n
    # uniform normal velocity Q/A on every port, in the right direction
    U = (case / "0.orig/U").read_text()
    area = 0.1 * 0.1
    v_in = _patch_value(U, "R1_in")
    assert "fixedValue" in v_in
    vec = np.array(re.search(r"uniform \((.*?)\)", v_in).group(1).split(), float)
    np.testing.assert_allclose(vec, [0, -0.5 / (24 * area), 0], rtol=1e-9)   # out of the room into -y
    vec = np.array(re.search(r"uniform \((.*?)\)", _patch_value(U, "R1_out")).group(1).split(), float)
    np.testing.assert_allclose(vec, [0, 0, 0.5 / (12 * area)], rtol=1e-9)    # blown up (+z)
    vec = np.array(re.search(r"uniform \((.*?)\)", _patch_value(U, "C1_out")).group(1).split(), float)
    np.testing.assert_allclose(vec, [0.5 / (6 * area), 0, 0], rtol=1e-9)
    # rack exhaust temperature follows its intake; cooler supplies at its set point
    T = (case / "0.orig/T").read_text()
    assert "outletMappedUniformInlet" in _patch_value(T, "R1_out")
    assert "outletPatch R1_in" in _patch_value(T, "R1_out")
    assert "uniform 18.0" in _patch_value(T, "C1_out")
    # heat source: exactly P / (rho cp) over the cells in front of the exhaust
    opts = (case / "system/fvOptions").read_text()
    su = float(re.search(r"R1_heat.*?T \(([-\d.e+]+) 0\)", opts, re.S).group(1))
    assert su == pytest.approx(6000.0 / p.fluid.rho_cp, rel=1e-9)
    # porous tile: beta = k / (2 dz) along z only
    beta = np.array(re.search(r"beta \((.*?)\)", opts).group(1).split(), float)
    np.testing.assert_allclose(beta, [0, 0, 12.0 / (2 * 0.1)], rtol=1e-9)
    # every patch gets a face set; face boxes hold exactly the face centres
    topo = (case / "system/topoSetDict").read_text()
    for nm in ("R1_in", "R1_out", "C1_in", "C1_out"):
        assert f"name {nm}; type faceSet" in topo
    boxes = foamcase._face_boxes(p.grid, *foamcase.port_faces(p.devices[0].intake))
    assert len(boxes) == 1
    lo, hi = boxes[0]
    assert lo[1] < 0.3 < hi[1] and hi[1] - lo[1] < 0.1           # the plane y = 0.3 m
    assert lo[0] < 0.85 and hi[0] > 1.15 and lo[0] > 0.8 and hi[0] < 1.2
    # physics constants
    tp = (case / "constant/transportProperties").read_text()
    assert f"beta {p.fluid.expansion_1_k:.10g};" in tp
    assert "kEpsilon" in (case / "constant/turbulenceProperties").read_text()


def test_reader_maps_cells_back_and_closes_heat(tmp_path):
    """A result in OpenFOAM's format (T = x + 10 on every fluid cell) read back."""
    p = _room()
    case = tmp_path / "case"
    of.write_case(p, case)
    g = p.grid
    labels = np.flatnonzero(p.fluid_mask.ravel(order="F"))
    ijk = np.stack(np.unravel_index(labels, g.shape, order="F"), 1)
    centres = (ijk + 0.5) * np.array(g.spacing_m)
    t = case / "100"
    t.mkdir()
    n = len(labels)

    def field(cls, values, vector=False):
        rows = ["(" + " ".join(map(repr, v)) + ")" for v in values] if vector else map(repr, values)
        kind = "vector" if vector else "scalar"
        return (f"FoamFile {{ class {cls}; }}\ninternalField nonuniform List<{kind}> \n{n}\n(\n"
                + "\n".join(rows) + "\n)\n;\nboundaryField {}\n")
    (t / "C").write_text(field("volVectorField", centres.tolist(), vector=True))
    (t / "T").write_text(field("volScalarField", (centres[:, 0] + 10.0).tolist()))
    (t / "U").write_text(field("volVectorField", np.zeros((n, 3)).tolist(), vector=True))
    (case / "log.solver").write_text("Time = 100\nExecutionTime = 12.5 s  ClockTime = 13 s\n")
    res = of.read_case(case, p)
    np.testing.assert_allclose(res["T"][ijk[:, 0], ijk[:, 1], ijk[:, 2]],
                               (ijk[:, 0] + 0.5) * 0.1 + 10.0)
    assert np.isnan(res["T"][~p.fluid_mask]).all()
    rack = res["racks"][0]
    assert rack["intake_temp_c"] == pytest.approx(1.0 + 10.0)     # cells i = 8..11: x = 0.85..1.15
    assert res["execution_time_s"] == 12.5 and res["iterations"] == 100
    # a shifted cell order is refused
    (t / "C").write_text(field("volVectorField", (centres + 0.05).tolist(), vector=True))
    with pytest.raises(ValueError, match="not the twin's fluid cells"):
        of.read_case(case, p)


def test_transient_case_with_pressure_returns(tmp_path):
    """A time-averaged PIMPLE case with the cooler's return as a fixed-pressure opening."""
    p = _room()
    case = tmp_path / "case"
    tr = foamcase.Transient(end_time_s=240.0, average_from_s=60.0, max_courant=4.0)
    foamcase.write_case(p, case, transient=tr, returns="pressure")
    cd = (case / "system/controlDict").read_text()
    assert "application buoyantBoussinesqPimpleFoam;" in cd
    assert "endTime 240;" in cd and "adjustTimeStep yes;" in cd and "maxCo 4;" in cd
    assert re.search(r"timeStart 60;.*base time;", cd, re.S)
    # every rack intake monitored every step; the opening's flux and heat monitored
    assert re.search(r"mon_R1_in.*?writeInterval 1;", cd, re.S)
    assert re.search(r"flow_C1_in.*?operation sum;.*?fields \(phi\);", cd, re.S)
    assert re.search(r"heat_C1_in.*?operation weightedSum;.*?weightField phi;.*?fields \(T\);",
                     cd, re.S)
    assert "ddtSchemes { default Euler; }" in (case / "system/fvSchemes").read_text()
    sol = (case / "system/fvSolution").read_text()
    assert "PIMPLE" in sol and "SIMPLE" not in sol
    # the return: total pressure 0, velocity from the flux; the rack intake keeps Q / A
    assert "totalPressure" in _patch_value((case / "0.orig/p_rgh").read_text(), "C1_in")
    assert "pressureInletOutletVelocity" in _patch_value((case / "0.orig/U").read_text(), "C1_in")
    assert "inletOutlet" in _patch_value((case / "0.orig/T").read_text(), "C1_in")
    assert "fixedValue" in _patch_value((case / "0.orig/U").read_text(), "R1_in")
    assert "fixedValue" in _patch_value((case / "0.orig/U").read_text(), "C1_out")
    with pytest.raises(ValueError, match="returns"):
        foamcase.write_case(p, tmp_path / "bad", returns="open")
    with pytest.raises(ValueError, match="average_from_s"):
        foamcase.Transient(end_time_s=10.0, average_from_s=10.0)


def test_seed_fields_keeps_the_boundaries(tmp_path):
    p = _room()
    case = tmp_path / "case"
    foamcase.write_case(p, case)
    (case / "0").mkdir()
    for f in ("T", "U"):
        (case / "0" / f).write_text((case / "0.orig" / f).read_text())
    src = tmp_path / "src"
    src.mkdir()
    (src / "T").write_text("FoamFile { class volScalarField; }\ninternalField nonuniform "
                           "List<scalar> \n3\n(\n21.5\n22.5\n23.5\n)\n;\n\nboundaryField\n{\n"
                           "    walls { type fixedValue; value uniform 99; }\n}\n")
    assert foamcase.seed_fields(src, case) == ["T"]
    txt = (case / "0/T").read_text()
    assert "List<scalar> \n3\n(\n21.5\n22.5\n23.5\n)\n;" in txt
    assert "uniform 99" not in txt and "outletMappedUniformInlet" in txt   # own boundaries
    assert "internalField uniform" in (case / "0/U").read_text()            # not in the source


def test_batch_means_weighs_time_steps():
    """The mean weighs each sample by its time step; the standard error of white noise
    is sigma / sqrt(N)."""
    # 10 s at 1.0 in steps of 0.01 s, then 10 s at 0.0 in steps of 1 s: time mean 0.5
    t = np.concatenate([np.arange(1, 1001) * 0.01, 10.0 + np.arange(1, 11) * 1.0])
    y = np.concatenate([np.ones(1000), np.zeros(10)])
    b = of.batch_means(t, y, start=0.0, batches=2)
    assert b["mean"] == pytest.approx(0.5, abs=0.01)
    np.testing.assert_allclose(b["batch_means"], [1.0, 0.0], atol=0.02)
    rng = np.random.default_rng(7)
    n, sigma = 20000, 0.8
    y = 25.0 + sigma * rng.standard_normal(n)
    b = of.batch_means(np.arange(1, n + 1) * 0.1, y, start=0.0)
    assert b["mean"] == pytest.approx(25.0, abs=4 * sigma / np.sqrt(n))
    assert b["se"] == pytest.approx(sigma / np.sqrt(n), rel=0.5)
    assert abs(b["lag1"]) < 0.8 and len(b["batch_means"]) == of.BATCHES
    # samples before the start do not count
    assert of.batch_means(np.arange(1, n + 1) * 0.1, np.where(np.arange(n) < n // 2, 99.0, y),
                          start=n * 0.05)["mean"] == pytest.approx(25.0, abs=0.05)
    with pytest.raises(ValueError, match="too few"):
        of.batch_means(np.arange(1, 11.0), np.ones(10), start=0.0)


def test_restarted_records_and_log(tmp_path):
    """A transient extended from its end: the monitor files of both runs make one
    record (a rerun's file replaces the earlier rows from its first time on), and the
    CPU time of the appended log parts adds up."""
    mon = tmp_path / "postProcessing/mon_R1_in"
    for sub, name, rows in (("0", "surfaceFieldValue.dat", [(1.0, 20.0), (2.0, 21.0), (3.0, 22.0)]),
                            ("2", "surfaceFieldValue.dat", [(2.5, 99.0), (3.5, 99.0)]),
                            ("2", "surfaceFieldValue_2.dat", [(2.5, 23.0), (3.0, 24.0)])):
        (mon / sub).mkdir(parents=True, exist_ok=True)
        (mon / sub / name).write_text("# Time areaAverage(T)\n"
                                      + "".join(f"{t} {v}\n" for t, v in rows))
    rec = of._monitor_means(tmp_path)["R1_in"]
    np.testing.assert_allclose(rec, [(1.0, 20.0), (2.0, 21.0), (2.5, 23.0), (3.0, 24.0)])
    log = tmp_path / "log.solver"
    log.write_text("Courant Number mean: 0.1 max: 3.5\ndeltaT = 0.1\nTime = 0.1\n"
                   "ExecutionTime = 10 s  ClockTime = 20 s\n"
                   "Courant Number mean: 0.1 max: 3.9\ndeltaT = 0.1\nTime = 0.2\n"
                   "ExecutionTime = 20.5 s  ClockTime = 40 s\n"
                   "Courant Number mean: 0.1 max: 4.0\ndeltaT = 0.12\nTime = 0.32\n"
                   "ExecutionTime = 7 s  ClockTime = 9 s\n")
    f = of._log_figures(log)
    assert f["execution_time_s"] == pytest.approx(27.5) and f["clock_time_s"] == pytest.approx(49)
    assert f["iterations"] == 3 and f["time_steps"] == 3 and f["end_time_s"] == pytest.approx(0.32)
    assert f["courant_max"] == pytest.approx(4.0)
