"""A meshed hall as VTK files for ParaView (``twin mesh --vtk``): the grid's solid
cells, the bodies, ports, tiles and patches, each a file, and ``hall.vtm`` that opens all."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from kernels.problem import Problem
from twin.facility import Box

from .mesh import _SOLID, MeshReport

__all__ = ["write_vtk"]


# ----------------------------------------------------------------------------------- VTK
_BOX_FACES = np.array([[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4],
                       [2, 3, 7, 6], [0, 4, 7, 3], [1, 2, 6, 5]])


def _box_points(b: Box) -> np.ndarray:
    x0, x1, y0, y1, z0, z1 = b.bounds()
    return np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                     [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], dtype=float)


def _polydata(points_list, faces_list, names, fields):
    """Merge per-object (points, quads) into one PolyData with per-object cell fields."""
    import pyvista as pv
    pts, faces, oid = [], [], []
    off = 0
    for n, (p, f) in enumerate(zip(points_list, faces_list)):
        pts.append(p)
        for quad in f:
            faces.append([4, *(quad + off)])
            oid.append(n)
        off += len(p)
    mesh = pv.PolyData(np.concatenate(pts), np.asarray(faces, dtype=np.int64).ravel())
    oid = np.asarray(oid)
    mesh.cell_data["object_id"] = oid
    for k, vals in fields.items():
        mesh.cell_data[k] = np.asarray(vals)[oid]
    mesh.field_data["name"] = np.array(names, dtype=str)
    return mesh


def _quad(axis: int, pos: float, lo: tuple, hi: tuple) -> np.ndarray:
    """Corners of an axis-normal rectangle at ``pos`` spanning lo..hi on the other axes."""
    a, b = [x for x in range(3) if x != axis]
    out = []
    for ua, ub in ((lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])):
        p = [0.0, 0.0, 0.0]
        p[axis], p[a], p[b] = pos, ua, ub
        out.append(p)
    return np.array(out)


def write_vtk(problem: Problem, report: MeshReport, out_dir) -> list[Path]:
    """Write what the solver sees, for ParaView.

    * ``grid.vti``: the grid (ImageData) with cell data ``flags`` (the ``kernels.flags``
      bits), ``solid`` (0/1) and ``port`` (1 rack intake, 2 rack exhaust, 3 cooler return,
      4 cooler supply, 5 air-handler diffuser, 6 air-handler return);
    * ``racks.vtp``, ``cooling_units.vtp``, ``tiles.vtp``, ``panels.vtp``,
      ``obstructions.vtp``: the geometry as described in the file (metres, before
      snapping), with ``object_id`` and the load, flow and capacity per object (an
      obstruction's ``kind_id`` into the field data ``kind``), names in the field data
      ``name``;
    * ``patches.vtp``: the air handlers' diffusers and returns as described (``role`` 5
      supply, 6 return; ``airflow_m3_s``; ``unit_id`` into the field data ``unit``);
    * ``ports.vtp``: the port faces as meshed (role, device id, ``patch_id`` into the field
      data ``patch``, -1 for rack and unit faces);
    * ``hall.vtm``: a multiblock that opens all of the above at once.
    """
    import pyvista as pv
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    g = problem.grid
    lay = report.layout
    written: list[Path] = []

    img = pv.ImageData(dimensions=tuple(n + 1 for n in g.shape), spacing=g.spacing_m,
                       origin=g.origin_m)
    img.cell_data["flags"] = problem.solid.ravel(order="F")
    img.cell_data["solid"] = (problem.solid & _SOLID).astype(np.uint8).ravel(order="F")
    port = np.zeros(g.shape, dtype=np.uint8)
    code = {"rack-intake": 1, "rack-exhaust": 2, "cooler-return": 3, "cooler-supply": 4,
            "supply-patch": 5, "return-patch": 6}
    for pi in report.ports:
        c = pi.port.cells
        port[c[:, 0], c[:, 1], c[:, 2]] = code[pi.role]
    img.cell_data["port"] = port.ravel(order="F")
    blocks = [("grid", "grid.vti", img)]

    recs = {r.name: r for r in (d for d in problem.devices)}
    if lay.racks:
        names = [r.name for r in lay.racks]
        heat = [recs[n].heat_w if n in recs else 0.0 for n in names]
        blocks.append(("racks", "racks.vtp", _polydata(
            [_box_points(r.box) for r in lay.racks], [_BOX_FACES] * len(names), names,
            {"design_power_w": [r.design_power_w for r in lay.racks], "air_heat_w": heat,
             "liquid_capture_frac": [r.liquid_capture_frac for r in lay.racks],
             "flow_m3_s": [r.flow_m3_s for r in lay.racks]})))
    units = [u for u in lay.units if not u.outside]
    if units:
        blocks.append(("cooling_units", "cooling_units.vtp", _polydata(
            [_box_points(u.box) for u in units], [_BOX_FACES] * len(units),
            [u.name for u in units],
            {"airflow_m3_s": [u.airflow_m3_s for u in units],
             "supply_temp_c": [u.supply_temp_c for u in units],
             "capacity_w": [u.capacity_w for u in units]})))
    if lay.patches:
        quads = []
        unit_names = sorted({pt.unit for pt in lay.patches})
        for pt in lay.patches:
            a, b = [x for x in range(3) if x != pt.axis]
            quads.append(_quad(pt.axis, pt.box.lo(pt.axis), (pt.box.lo(a), pt.box.lo(b)),
                               (pt.box.hi(a), pt.box.hi(b))))
        pm = _polydata(quads, [np.array([[0, 1, 2, 3]])] * len(quads),
                       [pt.name for pt in lay.patches],
                       {"role": [code[f"{pt.role}-patch"] for pt in lay.patches],
                        "airflow_m3_s": [pt.airflow_m3_s for pt in lay.patches],
                        "unit_id": [unit_names.index(pt.unit) for pt in lay.patches]})
        pm.field_data["unit"] = np.array(unit_names, dtype=str)
        blocks.append(("patches", "patches.vtp", pm))
    if lay.openings:
        quads = []
        for op in lay.openings:
            x0, x1, y0, y1 = op.rect
            z = lay.hall.raised_floor_height_m if op.kind == "tile" else lay.hall.ceiling_height_m
            quads.append(_quad(2, z, (x0, y0), (x1, y1)))
        blocks.append(("tiles", "tiles.vtp", _polydata(
            quads, [np.array([[0, 1, 2, 3]])] * len(quads), [op.name for op in lay.openings],
            {"k_loss": [op.k_loss for op in lay.openings],
             "is_grille": [int(op.kind == "grille") for op in lay.openings]})))
    if lay.panels:
        quads = []
        for p in lay.panels:
            a, b = [x for x in range(3) if x != p.axis]
            quads.append(_quad(p.axis, p.pos_m, (p.box.lo(a), p.box.lo(b)), (p.box.hi(a), p.box.hi(b))))
        blocks.append(("panels", "panels.vtp", _polydata(
            quads, [np.array([[0, 1, 2, 3]])] * len(quads), [p.name for p in lay.panels],
            {"axis": [p.axis for p in lay.panels]})))
    if lay.obstructions:
        kinds = sorted({o.kind for o in lay.obstructions})
        om = _polydata([_box_points(o.box) for o in lay.obstructions],
                       [_BOX_FACES] * len(lay.obstructions), [o.name for o in lay.obstructions],
                       {"kind_id": [kinds.index(o.kind) for o in lay.obstructions]})
        om.field_data["kind"] = np.array(kinds, dtype=str)
        blocks.append(("obstructions", "obstructions.vtp", om))
    if report.ports:
        quads, roles, dev, pid = [], [], [], []
        names = sorted({pi.device for pi in report.ports})
        ids = {n: i for i, n in enumerate(names)}
        pnames = [pi.name for pi in report.ports if pi.name]
        sp, org = g.spacing_m, g.origin_m
        for pi in report.ports:
            cells, axes, sides = pi.port.faces()
            for c, ax, side in zip(cells, axes, sides):
                a, b = [x for x in range(3) if x != ax]
                pos = org[ax] + (c[ax] + (1 if side > 0 else 0)) * sp[ax]
                lo = (org[a] + c[a] * sp[a], org[b] + c[b] * sp[b])
                quads.append(_quad(ax, pos, lo, (lo[0] + sp[a], lo[1] + sp[b])))
                roles.append(code[pi.role])
                dev.append(ids[pi.device])
                pid.append(pnames.index(pi.name) if pi.name else -1)
        pts = np.concatenate(quads)
        faces = np.hstack([np.full((len(quads), 1), 4),
                           np.arange(4 * len(quads)).reshape(-1, 4)]).ravel()
        pm = pv.PolyData(pts, faces)
        pm.cell_data["role"] = np.asarray(roles, dtype=np.uint8)
        pm.cell_data["device_id"] = np.asarray(dev)
        pm.cell_data["patch_id"] = np.asarray(pid)
        pm.field_data["device"] = np.array(names, dtype=str)
        if pnames:
            pm.field_data["patch"] = np.array(pnames, dtype=str)
        blocks.append(("ports", "ports.vtp", pm))

    for _, fname, mesh in blocks:
        mesh.save(out / fname)
        written.append(out / fname)
    vtm = out / "hall.vtm"
    entries = "\n".join(f'    <DataSet index="{i}" name="{name}" file="{fname}"/>'
                        for i, (name, fname, _) in enumerate(blocks))
    vtm.write_text('<?xml version="1.0"?>\n'
                   '<VTKFile type="vtkMultiBlockDataSet" version="1.0" byte_order="LittleEndian">\n'
                   f'  <vtkMultiBlockDataSet>\n{entries}\n  </vtkMultiBlockDataSet>\n</VTKFile>\n',
                   encoding="utf-8")
    written.append(vtm)
    return written
