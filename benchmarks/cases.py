"""Benchmark cases: a synthetic room of any size, and the shipped halls when ``twin.thermal.mesh`` works.

The synthetic room is built from :mod:`kernels.problem` only, so the kernel and step
benchmarks do not depend on the facility layer: an ``n x n x n`` box of 0.1 m cells with
two rows of racks facing a cold aisle and two coolers at the ends, every device a solid
body with an intake and an exhaust port. It keeps the same proportions at every size, so
the scaling runs compare like with like.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from kernels.flags import Flag
from kernels.grid import Grid
from kernels.problem import Device, HeatSource, Port, Problem, Resistance

CELL_M = 0.1
RACK_SPEED_M_S = 1.0          # face speed at rack intakes
RACK_DELTA_T_K = 12.0         # rack air temperature rise
RHO_CP = 1.19 * 1006.0


def _face_cells(i, j, k):
    """All (i, j, k) combinations of three index ranges as an (n, 3) array."""
    g = np.meshgrid(np.asarray(i), np.asarray(j), np.asarray(k), indexing="ij")
    return np.column_stack([a.ravel() for a in g])


def synthetic_room(n: int, cell_m: float = CELL_M, turbulence=None) -> Problem:
    """A cube of ``n`` cells a side: two rack rows around a cold aisle, two coolers.

    Racks are ``w`` cells wide (x), ``dep`` deep (y) and ``h`` high (z) with
    ``w = dep = max(1, n // 8)``, ``h = max(2, n // 2)``; row A draws from the aisle
    (+y intake), row B too (-y intake); exhausts blow into the hot aisles behind. The
    coolers stand against the x walls, return on top, supply low at the front; each
    carries half the rack flow at 18 degC. Racks heat their air by 12 K.
    """
    if n < 8:
        raise ValueError(f"synthetic room needs n >= 8 cells a side, got {n}")
    from kernels.problem import Turbulence
    grid = Grid((n, n, n), (cell_m, cell_m, cell_m))
    solid = np.zeros(grid.shape, dtype=np.uint8)
    w = dep = max(1, n // 8)
    h = max(2, n // 2)
    aisle = max(2, n // 8)
    ya0 = n // 2 - aisle // 2 - dep          # row A occupies [ya0, ya0 + dep)
    yb0 = ya0 + dep + aisle                  # row B occupies [yb0, yb0 + dep)
    cw = max(1, n // 16)                     # cooler depth (x)
    x_start, x_end = cw + max(2, n // 8), n - cw - max(2, n // 8)
    rack_flag = int(Flag.SOLID | Flag.RACK)
    devices = []
    face_area = cell_m * cell_m
    rack_flow = 0.0
    ks = np.arange(0, h)
    for row, y0, facing in (("A", ya0, +1), ("B", yb0, -1)):
        for m, x0 in enumerate(range(x_start, x_end - w + 1, w)):
            xs = np.arange(x0, x0 + w)
            solid[x0:x0 + w, y0:y0 + dep, 0:h] = rack_flag
            front = y0 + dep if facing > 0 else y0 - 1      # fluid row the intake faces
            back = y0 - 1 if facing > 0 else y0 + dep
            intake = Port(_face_cells(xs, [front], ks), 1, -facing)
            exhaust = Port(_face_cells(xs, [back], ks), 1, facing)
            flow = RACK_SPEED_M_S * face_area * intake.n_faces
            rack_flow += flow
            devices.append(Device(f"{row}{m + 1:02d}", "rack", intake, exhaust, flow,
                                  heat_w=RHO_CP * flow * RACK_DELTA_T_K))
    cool_flag = int(Flag.SOLID | Flag.COOLER)
    ys = np.arange(ya0, yb0 + dep)
    hc = max(2, (3 * h) // 4)
    for name, x0, front, side in (("C1", 0, cw, -1), ("C2", n - cw, n - cw - 1, +1)):
        solid[x0:x0 + cw, ya0:yb0 + dep, 0:hc] = cool_flag
        xs = np.arange(x0, x0 + cw)
        ret = Port(_face_cells(xs, ys, [hc]), 2, -1)
        sup = Port(_face_cells([front], ys, np.arange(0, max(1, hc // 2))), 0, side)
        devices.append(Device(name, "cooler", ret, sup, rack_flow / 2, supply_temp_c=18.0))
    # a grille with a loss in the cold aisle at mid height, a lamp near the ceiling
    gx = np.arange(x_start, x_end)
    gy = np.arange(ya0 + dep, yb0)
    grille = Resistance("aisle-grille", _face_cells(gx, gy, [h]), 2, 3.0)
    lamp = HeatSource("lamps", _face_cells(np.arange(n // 4, 3 * n // 4), [n // 2], [n - 2]),
                      50.0 * n)
    return Problem(grid, solid, devices=tuple(devices), resistances=(grille,), sources=(lamp,),
                   turbulence=turbulence or Turbulence("chen-xu"), initial_temp_c=22.0,
                   name=f"synthetic-room-{n}")


def shipped_hall(name: str = "small-hall", cell_m: float = 0.2):
    """``(problem, description)`` of a shipped hall via ``twin.thermal.mesh``, or ``(None, why)``."""
    try:
        from twin.facility import load_facility
        from twin.thermal.mesh import mesh_hall
    except Exception as exc:  # the facility layer is not there (yet)
        return None, f"twin.thermal.mesh is not importable ({type(exc).__name__}: {exc})"
    path = Path(__file__).resolve().parent.parent / "meshes" / f"{name}.toml"
    try:
        out = mesh_hall(load_facility(path), cell_m=cell_m, backend=None)
    except Exception as exc:
        return None, f"mesh_hall({name}, cell_m={cell_m}) failed ({type(exc).__name__}: {exc})"
    problem = out[0] if isinstance(out, tuple) else out
    return problem, f"meshes/{name}.toml at {cell_m} m cells via twin.thermal.mesh.mesh_hall"
