"""Facility -> thermal core: voxelize one hall onto a uniform grid (:class:`kernels.Problem`).

What the solver sees (flags from :mod:`kernels.flags`, one ``uint8`` per cell):

* the hall's walls, slab and ceiling are the domain boundaries (adiabatic, no slip: the
  :class:`kernels.Problem` defaults);
* a raised floor is a one-cell layer of ``SOLID|FLOOR`` just below the floor surface;
  the air under it is ``PLENUM``; a perforated tile is a ``TILE`` (fluid) cell in that
  layer with a :class:`kernels.Resistance` on the vertical face at the bottom of the
  cell (loss from Idelchik, diagram 8-1, unless the file gives ``k_loss``);
* a leaky raised floor (``floor_leakage_open_frac``: cable cut-outs and panel seams) has
  that open share of its floor under room air (not tiles) gathered into openings of
  ``LEAK_CELL_OPEN_FRAC``, ``FLOOR`` fluid cells spread evenly over it behind the loss of
  their open fraction (:func:`twin.facility.floor_leak_k`): a distributed leak from the
  plenum;
* a return plenum is a one-cell ``SOLID|PANEL`` suspended ceiling with ``TILE`` grilles
  (resistance on the grille cell's bottom face) and ``PLENUM`` air above;
* racks are ``SOLID|RACK`` bodies, cooling units ``SOLID|COOLER`` bodies (a downflow
  CRAH from the slab up: its supply port is on its front face inside the plenum);
  containment roofs are ``SOLID|PANEL`` one cell thick, outside the aisle; doors are
  ``PANEL`` air cells behind a quadratic leakage loss (``door_leakage_frac``, 0: solid);
  obstructions (columns, walls, trays, pipes, ducts) are ``SOLID|WALL`` boxes, in the
  room or its plenums, over the floor, tiles and plenum air they cover;
* an envelope (``[halls.envelope]``) is a ``kernels.HeatSource`` per outside wall and
  roof on the fluid cells that touch it (:mod:`twin.thermal.envelope`), its power at the
  outdoor air given (``outdoor``; default the design day) and the supply temperature
  inside, until the steady solve refines it;
* every rack and unit becomes a :class:`kernels.Device` whose two :class:`kernels.Port`
  are the fluid cells touching its intake and exhaust (supply) faces;
* an air handler (outside the hall) becomes a cooler :class:`kernels.Device` whose
  exhaust is the union of its diffusers and whose intake is the union of its returns
  (:meth:`kernels.Port.union`, each patch its share of the flow): the faces of the
  fluid cells along the hall's slab, ceiling or wall, on the domain boundary, where the
  solver prescribes the face velocity normal to the surface.

Snapping: every coordinate moves to the nearest cell face (ties upwards), so each face
moves by at most half a cell and touching objects stay touching; a body thinner than a
cell is kept one cell thick (with a warning). :class:`MeshReport` gives the largest
move, the cell count and the memory the solve needs (``kernels.memory``); a grid that
does not fit the chosen backend is refused before any array is allocated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from common.errors import InputError
from kernels.flags import Flag
from kernels.grid import Grid
from kernels.problem import Device, Port, Problem, Resistance
from twin.facility import (Box, Facility, HallLayout, cell_size_warnings, did_you_mean,
                           floor_leak_k, idelchik_perforated_plate_k, load_facility)
from twin.thermal.envelope import design_outdoor, envelope_faces, envelope_heat_w, envelope_sources

__all__ = ["MeshError", "MeshReport", "PortInfo", "mesh_hall", "snap_index"]




_SOLID = int(Flag.SOLID)


_BODY = int(Flag.RACK | Flag.COOLER)


#: Open fraction of the openings a leaky raised floor's open area is gathered into [-]:
#: that of a standard tile, so that leaks and tiles meet the same loss law in the thermal
#: core. Its implicit loss ``q / (1 + beta)``, ``beta = dt K |q| / (2 dx)``, holds a steady
#: drop of ``K / (1 + beta)`` rho q^2 / 2: near a tile's (beta ~ 1) for a tile's K, far
#: below it for a floor open 0.4 % everywhere (K ~ 2e5, beta ~ 300: 14 times the orifice
#: flow, measured on the legacy hall at 0.4 m).
LEAK_CELL_OPEN_FRAC = 0.25


_TIE = 1e-9     # ties snap upwards; also absorbs round-off in coordinates like 3.0 + 0.8 * i


_FACING = {"+x": (0, 1), "-x": (0, -1), "+y": (1, 1), "-y": (1, -1), "+z": (2, 1), "-z": (2, -1)}


_OPP = {"+x": "-x", "-x": "+x", "+y": "-y", "-y": "+y", "+z": "-z", "-z": "+z"}


class MeshError(InputError):
    """A facility that does not survive meshing at the chosen cell size (all problems)."""

    def __init__(self, hall: str, problems):
        self.problems = list(problems)
        super().__init__(f"hall {hall} cannot be meshed as it is ({len(self.problems)} "
                         f"problem{'s' if len(self.problems) != 1 else ''}):\n"
                         + "\n".join(f"  {p}" for p in self.problems))


@dataclass(frozen=True)
class PortInfo:
    """A port as meshed, for views and checks: ``role`` is ``rack-intake``,
    ``rack-exhaust``, ``cooler-return``, ``cooler-supply``, or, for an air handler's
    patches, ``supply-patch`` / ``return-patch`` with ``name`` the patch's name
    (``HALL/NAME``) and ``port`` that patch's faces alone (the device's port is the union
    of its patches, see :meth:`kernels.Port.union`); ``flow_m3_s`` is the patch's flow."""

    device: str
    role: str
    port: Port
    name: str = ""
    flow_m3_s: float = 0.0


@dataclass
class MeshReport:
    """What :func:`mesh_hall` made and how far the geometry moved."""

    facility: str
    hall: str
    cell_m: float
    spacing_m: tuple
    shape: tuple
    cells: int
    fluid_cells: int
    max_snap_error_m: float
    worst_snap: str
    backend: str
    device_bytes: int
    host_bytes: int
    bytes_per_cell: int
    racks: int = 0
    coolers: int = 0
    tile_cells: int = 0
    panel_cells: int = 0
    obstruction_cells: int = 0
    leak_cells: int = 0
    plenum_layers: int = 0
    it_power_w: float = 0.0
    air_heat_w: float = 0.0
    liquid_heat_w: float = 0.0
    cooling_capacity_w: float = 0.0
    rack_flow_m3_s: float = 0.0
    cooler_flow_m3_s: float = 0.0
    supply_patches: int = 0
    return_patches: int = 0
    patch_faces: int = 0
    warnings: list = field(default_factory=list)
    ports: list = field(default_factory=list)
    layout: HallLayout | None = None
    envelope: list = field(default_factory=list)        # twin.thermal.envelope.EnvelopeFace
    outdoor: tuple = (0.0, 0.0)          # (outdoor temperature degC, roof irradiance W/m2)

    def lines(self) -> list[str]:
        """A few lines for the terminal."""
        gib = 1024 ** 3
        dx, dy, dz = self.spacing_m
        nx, ny, nz = self.shape
        out = [
            f"hall {self.hall} of {self.facility}",
            f"  grid      {nx} x {ny} x {nz} = {self.cells:,} cells "
            f"({self.fluid_cells:,} fluid), cells {dx:.4g} x {dy:.4g} x {dz:.4g} m",
            f"  memory    {self.device_bytes / gib:.3f} GiB on {self.backend}, "
            f"{self.host_bytes / gib:.3f} GiB host ({self.bytes_per_cell} B per cell)",
            f"  snapping  max {self.max_snap_error_m * 1000:.1f} mm "
            + (f"({self.worst_snap})" if self.max_snap_error_m > 0
               else "(every coordinate lies on a cell face)"),
            f"  devices   {self.racks} racks ({self.it_power_w / 1e3:.0f} kW IT, "
            f"{self.air_heat_w / 1e3:.0f} kW to air, {self.rack_flow_m3_s:.2f} m3/s), "
            f"{self.coolers} cooling units ({self.cooling_capacity_w / 1e3:.0f} kW, "
            f"{self.cooler_flow_m3_s:.2f} m3/s)",
            f"  openings  {self.tile_cells} tile/grille cells, {self.panel_cells} panel cells, "
            f"{self.plenum_layers} plenum air layers"
            + (f", {self.obstruction_cells} obstruction cells" if self.obstruction_cells else "")
            + (f", {self.leak_cells} leaky floor cells" if self.leak_cells else "")
            + (f", {self.supply_patches} diffusers and {self.return_patches} returns of air "
               f"handlers ({self.patch_faces} faces)" if self.supply_patches else ""),
        ]
        if self.envelope:
            out.append(f"  envelope  {', '.join(f'{f.name} {f.ua_w_k:.0f} W/K' for f in self.envelope)}"
                       f" to {self.outdoor[0]:.1f} degC outdoors")
        out += [f"  warning: {w}" for w in self.warnings]
        return out


class _Snapper:
    """Snaps coordinates to cell faces and remembers the largest move."""

    def __init__(self, grid: Grid):
        self.grid = grid
        self.max_err = 0.0
        self.worst = "nothing snapped"
        self.forced: list[str] = []

    def index(self, axis: int, coord: float, what: str) -> int:
        g = self.grid
        o, d, n = g.origin_m[axis], g.spacing_m[axis], g.shape[axis]
        i = int(math.floor((coord - o) / d + 0.5 + _TIE))
        i = min(max(i, 0), n)
        self._note(abs(o + i * d - coord), what)
        return i

    def _note(self, err: float, what: str):
        if err > self.max_err + 1e-12:
            self.max_err, self.worst = err, what

    def span(self, axis: int, lo: float, hi: float, what: str) -> tuple[int, int]:
        a = "xyz"[axis]
        i0 = self.index(axis, lo, f"{what} {a}-min")
        i1 = self.index(axis, hi, f"{what} {a}-max")
        if i1 <= i0:
            g = self.grid
            o, d, n = g.origin_m[axis], g.spacing_m[axis], g.shape[axis]
            i0 = min(max(int(math.floor((0.5 * (lo + hi) - o) / d)), 0), n - 1)
            i1 = i0 + 1
            self._note(max(abs(o + i0 * d - lo), abs(o + i1 * d - hi)), f"{what} {a} (one cell)")
            self.forced.append(f"{what}: {hi - lo:.3f} m along {a} is kept one cell "
                               f"({d:.3f} m) thick")
        return i0, i1

    def box(self, b: Box, what: str):
        return (self.span(0, b.x0, b.x1, what), self.span(1, b.y0, b.y1, what),
                self.span(2, b.z0, b.z1, what))


def snap_index(grid: Grid, axis: int, coord: float) -> int:
    """The cell face nearest to ``coord`` along ``axis`` (ties upwards)."""
    return _Snapper(grid).index(axis, coord, "")


def _memory(grid: Grid, backend, check: bool):
    """(backend name, estimate dict); raises MemoryLimitError when it will not fit."""
    from kernels import memory
    if backend is None:
        return "numba-cpu", memory.estimate_bytes(grid, "numba-cpu")
    from kernels.backend import get_backend
    be = get_backend(backend)
    if check:
        return be.name, memory.check_fits(grid, be)
    return be.name, memory.estimate_bytes(grid, be.name)


def _face_cells(spans, facing: str, krange=None):
    """(cells, axis, side, out_of_grid) of the fluid layer touching a body's face."""
    (i0, i1), (j0, j1), (k0, k1) = spans
    if krange is not None:
        k0, k1 = max(k0, krange[0]), min(k1, krange[1])
    axis, sign = _FACING[facing]
    lo = [i0, j0, k0]
    hi = [i1, j1, k1]
    if sign > 0:
        layer, side = hi[axis], -1
    else:
        layer, side = lo[axis] - 1, +1
    rng = [range(lo[a], hi[a]) if a != axis else range(layer, layer + 1) for a in range(3)]
    ii, jj, kk = np.meshgrid(np.arange(rng[0].start, rng[0].stop),
                             np.arange(rng[1].start, rng[1].stop),
                             np.arange(rng[2].start, rng[2].stop), indexing="ij")
    cells = np.stack([ii.ravel(), jj.ravel(), kk.ravel()], axis=1).astype(np.int64)
    return cells, axis, side


def _describe(flags: np.ndarray) -> str:
    parts = []
    for flag, word in ((Flag.RACK, "rack"), (Flag.COOLER, "cooling unit"), (Flag.FLOOR, "floor slab"),
                       (Flag.PANEL, "panel/ceiling"), (Flag.WALL, "obstruction")):
        if np.any(flags & int(flag)):
            parts.append(word)
    return " and ".join(parts) or "solid"


def _blocked(solid, cells, problems, where: str, fix: str) -> bool:
    """True (and one problem naming the bodies) when any of ``cells`` is solid."""
    fl = solid[cells[:, 0], cells[:, 1], cells[:, 2]]
    blocked = (fl & _SOLID) != 0
    if np.any(blocked):
        problems.append(f"{where.format(n=int(blocked.sum()), of=len(fl))} are solid "
                        f"({_describe(fl[blocked])}); {fix}")
        return True
    return False


def _port(solid, grid, spans, facing, what, role, problems, krange=None) -> Port | None:
    cells, axis, side = _face_cells(spans, facing, krange)
    if cells.shape[0] == 0:
        problems.append(f"{what}: its {role} face has no cells at this cell size")
        return None
    shape = np.array(grid.shape)
    inside = np.all((cells >= 0) & (cells < shape), axis=1)
    if not np.all(inside):
        problems.append(f"{what}: its {role} face ('{facing}') lies on the hall boundary: "
                        "no air to draw from or blow into; move it away from the wall")
        return None
    if _blocked(solid, cells, problems, f"{what}: {{n}} of its {{of}} {role} cells ('{facing}')",
                "leave at least one cell of air in front of it or use a smaller cell"):
        return None
    return Port(cells, axis, side)


def _patch_port(solid, grid, snap, pt, problems, taken) -> Port | None:
    """The fluid cells along the room's surface under a diffuser or return: faces on the
    domain boundary (the hall's slab, ceiling or a wall), normal to it."""
    a, side = pt.axis, pt.side
    spans = []
    for b in range(3):
        if b == a:
            n = grid.shape[a]
            spans.append((0, 1) if side < 0 else (n - 1, n))
        else:
            spans.append(snap.span(b, pt.box.lo(b), pt.box.hi(b), pt.path))
    (i0, i1), (j0, j1), (k0, k1) = spans
    ii, jj, kk = np.meshgrid(np.arange(i0, i1), np.arange(j0, j1), np.arange(k0, k1),
                             indexing="ij")
    cells = np.stack([ii.ravel(), jj.ravel(), kk.ravel()], axis=1).astype(np.int64)
    what = f"{pt.path} ({'diffuser' if pt.role == 'supply' else 'return'} {pt.name})"
    if _blocked(solid, cells, problems, f"{what}: {{n}} of its {{of}} cells on the {pt.surface}",
                "move it into open air or use a smaller cell"):
        return None
    keys = [(*c, a, side) for c in cells.tolist()]
    for key in keys:
        if key in taken:
            problems.append(f"{what}: after snapping it shares faces with {taken[key]}; move "
                            "them apart or use a smaller cell")
            return None
    for key in keys:
        taken[key] = pt.name
    # the body side of a face is the boundary: side -1 at index 0, +1 at the last cell
    return Port(cells, a, side)


def mesh_hall(facility, hall_name: str | None = None, cell_m: float = 0.1,
              utilization: float = 1.0, rack_power_w: Mapping[str, float] | None = None,
              backend: str | None = "auto", check_memory: bool = True, outdoor=None):
    """Voxelize one hall of ``facility`` into a :class:`kernels.Problem`.

    Parameters
    ----------
    facility : Facility or path
        A loaded facility (:func:`twin.facility.load_facility`) or its file.
    hall_name : str, optional
        The hall; may be left out when the facility has one hall.
    cell_m : float
        Target cell size [m]; the spacing along each axis is adjusted so that a whole
        number of cells covers the hall (``kernels.Grid.from_size``).
    utilization : float
        Load of every rack between idle (0) and design (1); see
        :meth:`twin.facility.PlacedRack.power_w`.
    rack_power_w : mapping, optional
        Electrical power per rack device name (``"H1/A/03"``) [W], overriding
        ``utilization`` for those racks. The air-side heat is
        ``power * (1 - liquid_capture_frac)``; the airflow stays at the design flow.
    backend : str or None
        Backend whose memory must hold the solve (``"auto"``, ``"numba-cpu"``,
        ``"numba-cuda"``, ``"cupy"``); ``None`` estimates for the CPU without checking.
    check_memory : bool
        Refuse (:class:`common.errors.MemoryLimitError`) a grid that will not fit.
    outdoor : (float, float), optional
        Outdoor air [degC] and sun on the roof [W/m2] of the envelope (a hall with
        ``[halls.envelope]``); default: the design condition
        (:func:`twin.thermal.envelope.design_outdoor`).

    Returns
    -------
    (kernels.Problem, MeshReport)
    """
    fac = facility if isinstance(facility, Facility) else load_facility(facility)
    if not (isinstance(cell_m, (int, float)) and math.isfinite(cell_m) and cell_m > 0):
        raise InputError(f"cell size {cell_m} m must be a positive number (halls use 0.05 to 0.2 m)")
    hall = fac.hall(hall_name)
    lay = fac.layout(hall.name)
    hp = f"halls[{hall.name}]"
    grid = Grid.from_size(lay.size_m, float(cell_m))
    be_name, mem = _memory(grid, backend, check_memory)     # refuse before allocating

    nx, ny, nz = grid.shape
    dz = grid.spacing_m[2]
    snap = _Snapper(grid)
    problems: list[str] = []
    solid = np.zeros(grid.shape, dtype=np.uint8)

    # raised floor and return plenum
    k_floor = 0
    plenum_layers = 0
    floor = hall.raised_floor_height_m
    if floor > 0:
        k_floor = snap.index(2, floor, f"{hp}.raised_floor_height_m")
        plenum_layers = k_floor - 1
        if k_floor < 2:
            raise MeshError(hall.name, [
                f"{hp}: the {floor} m raised floor is {k_floor} cell(s) of {dz:.3f} m; it needs "
                f"two (the floor and one layer of plenum air): use a cell of at most {floor / 2:.3g} m"])
        solid[:, :, :k_floor - 1] = int(Flag.PLENUM)
        solid[:, :, k_floor - 1] = int(Flag.SOLID | Flag.FLOOR)
    k_ceil = nz
    if hall.return_plenum_height_m > 0:
        k_ceil = snap.index(2, hall.ceiling_height_m, f"{hp}.ceiling_height_m")
        if nz - k_ceil < 2:
            raise MeshError(hall.name, [
                f"{hp}: the {hall.return_plenum_height_m} m return plenum is {nz - k_ceil} cell(s) "
                f"of {dz:.3f} m; it needs two (the ceiling and one layer of air): use a cell of at "
                f"most {hall.return_plenum_height_m / 2:.3g} m"])
        solid[:, :, k_ceil] = int(Flag.SOLID | Flag.PANEL)
        solid[:, :, k_ceil + 1:] = int(Flag.PLENUM)

    # tiles and grilles (before the bodies, which win where they overlap)
    opening_spans = []
    for op in lay.openings:
        x0, x1, y0, y1 = op.rect
        si = snap.span(0, x0, x1, op.path)
        sj = snap.span(1, y0, y1, op.path)
        k = k_floor - 1 if op.kind == "tile" else k_ceil
        solid[si[0]:si[1], sj[0]:sj[1], k] = int(Flag.TILE)
        opening_spans.append((op, si, sj, k))

    # bodies
    rack_spans, unit_spans = [], []
    body_units = [u for u in lay.units if not u.outside]
    for kind, items, flag, store in (("rack", lay.racks, Flag.SOLID | Flag.RACK, rack_spans),
                                     ("cooling unit", body_units, Flag.SOLID | Flag.COOLER, unit_spans)):
        for obj in items:
            spans = snap.box(obj.box, obj.path)
            (i0, i1), (j0, j1), (k0, k1) = spans
            region = solid[i0:i1, j0:j1, k0:k1]
            if np.any(region & _BODY):
                problems.append(f"{obj.path}: {kind} {obj.name} lands on cells of another body "
                                "after snapping; move them apart or use a smaller cell")
            region[...] = int(flag)
            store.append(spans)

    # obstructions: solid over floor, tiles and plenum air, never over a body
    obstruction_cells = 0
    for ob in lay.obstructions:
        (i0, i1), (j0, j1), (k0, k1) = snap.box(ob.box, ob.path)
        region = solid[i0:i1, j0:j1, k0:k1]
        if np.any(region & _BODY):
            problems.append(f"{ob.path}: {ob.kind} {ob.name} lands on cells of a rack or "
                            "cooling unit after snapping; move them apart or use a smaller cell")
        obstruction_cells += int(np.count_nonzero((region & _BODY) == 0))
        region[(region & _BODY) == 0] = int(Flag.SOLID | Flag.WALL)

    # containment panels: one cell thick on the outer side of each plane, air cells only
    panel_cells = 0
    door_faces = []
    door_leakage = {}
    for ct in hall.containment:
        if ct.doors:
            for end in ("door-start", "door-end"):
                door_leakage[f"{hall.name}/{ct.name}/{end}"] = ct.door_leakage_frac
    for p in lay.panels:
        a = p.axis
        k = snap.index(a, p.pos_m, f"{p.path} {'xyz'[a]}")
        layer = k if p.side > 0 else k - 1
        if not 0 <= layer < grid.shape[a]:
            continue                      # on the hall boundary: the wall closes it already
        spans = []
        for b in range(3):
            if b == a:
                spans.append((layer, layer + 1))
            else:
                spans.append(snap.span(b, p.box.lo(b), p.box.hi(b), p.path))
        (i0, i1), (j0, j1), (k0, k1) = spans
        region = solid[i0:i1, j0:j1, k0:k1]
        free = (region & _SOLID) == 0
        leak = door_leakage.get(p.name, 0.0)
        if leak > 0:
            # a leaky door: air cells behind a quadratic loss on the plane's faces
            region[free] = int(Flag.PANEL)
            idx = np.argwhere(free) + np.array([i0, j0, k0])
            idx[:, a] = k                 # the face on the plane, between aisle and door
            door_faces.append(Resistance(p.name, idx, a, idelchik_perforated_plate_k(leak)))
        else:
            region[free] = int(Flag.SOLID | Flag.PANEL)
        panel_cells += int(free.sum())

    # a leaky raised floor: floor cells under room air, not tiles, open behind a loss
    leak_cells = 0
    leak_faces = []
    if hall.floor_leakage_open_frac > 0 and k_floor >= 2:
        layer = solid[:, :, k_floor - 1]
        above = solid[:, :, k_floor] if k_floor < nz else np.full_like(layer, _SOLID)
        ii, jj = np.nonzero((layer == int(Flag.SOLID | Flag.FLOOR)) & ((above & _SOLID) == 0))
        if ii.size:
            # the open area of the floor under room air gathered into openings of
            # LEAK_CELL_OPEN_FRAC, spread evenly over it (the same open area in all)
            open_cells = hall.floor_leakage_open_frac * ii.size
            n = max(1, int(round(open_cells / LEAK_CELL_OPEN_FRAC)))
            pick = np.unique(np.linspace(0, ii.size - 1, n).round().astype(np.int64))
            ii, jj = ii[pick], jj[pick]
            layer[ii, jj] = int(Flag.FLOOR)
            leak_cells = int(ii.size)
            f_cell = min(open_cells / ii.size, 0.9)
            leak_faces.append(Resistance(f"{hall.name}/floor-leakage",
                                         np.stack([ii, jj, np.full(ii.shape, k_floor - 1)], axis=1),
                                         2, floor_leak_k(f_cell)))

    # resistances of the openings that stayed open
    resistances = list(door_faces) + leak_faces
    tile_cells = 0
    for op, si, sj, k in opening_spans:
        sub = solid[si[0]:si[1], sj[0]:sj[1], k]
        ii, jj = np.nonzero(sub == int(Flag.TILE))
        if ii.size == 0:
            continue
        faces = np.stack([ii + si[0], jj + sj[0], np.full(ii.shape, k)], axis=1)
        resistances.append(Resistance(f"{hall.name}/{op.name}", faces, 2, op.k_loss))
        tile_cells += int(ii.size)

    # devices
    overrides = dict(rack_power_w or {})
    unknown = [n for n in overrides if n not in {r.name for r in lay.racks}]
    if unknown:
        raise InputError(f"rack_power_w names unknown rack(s) in hall {hall.name}: "
                         + ", ".join(f"'{n}'{did_you_mean(n, [r.name for r in lay.racks])}"
                                     for n in unknown))
    devices, ports = [], []
    it_w = air_w = liq_w = 0.0
    for r, spans in zip(lay.racks, rack_spans):
        what = f"{r.path} (rack {r.name})"
        intake = _port(solid, grid, spans, r.facing, what, "intake", problems)
        exhaust = _port(solid, grid, spans, _OPP[r.facing], what, "exhaust", problems)
        p = overrides.get(r.name)
        if p is not None and not (math.isfinite(p) and p >= 0):
            raise InputError(f"rack_power_w['{r.name}'] = {p}: it must be a number >= 0")
        rec = r.record(utilization, power_w=p)
        it_w += rec.power_w
        air_w += rec.air_heat_w
        liq_w += rec.liquid_heat_w
        if intake is None or exhaust is None:
            continue
        # the room sees the cabinet's airflow (servers' flow with the cabinet's leakage)
        devices.append(Device(r.name, "rack", intake, exhaust, r.cabinet_flow_m3_s,
                              heat_w=rec.air_heat_w))
        ports += [PortInfo(r.name, "rack-intake", intake), PortInfo(r.name, "rack-exhaust", exhaust)]
    for u, spans in zip(body_units, unit_spans):
        what = f"{u.path} (cooling unit {u.name})"
        ret_face = "+z" if u.intake == "top" else _OPP[u.facing]
        ret = _port(solid, grid, spans, ret_face, what, "return", problems)
        krange = (0, k_floor - 1) if u.type == "crah-downflow" else None
        sup = _port(solid, grid, spans, u.facing, what, "supply", problems, krange=krange)
        if ret is None or sup is None:
            continue
        devices.append(Device(u.name, "cooler", ret, sup, u.airflow_m3_s,
                              supply_temp_c=u.supply_temp_c, capacity_w=u.capacity_w))
        ports += [PortInfo(u.name, "cooler-return", ret), PortInfo(u.name, "cooler-supply", sup)]
    # air handlers: one device whose ports are the unions of its returns and diffusers
    n_faces = 0
    taken_faces: dict = {}
    for u in lay.units:
        if not u.outside:
            continue
        parts = {"supply": [], "return": []}
        for pt in lay.patches:
            if pt.unit != u.name:
                continue
            port = _patch_port(solid, grid, snap, pt, problems, taken_faces)
            if port is not None:
                parts[pt.role].append((pt, port))
        if not parts["supply"] or not parts["return"]:
            continue
        ret = Port.union([pp for _, pp in parts["return"]],
                         shares=[pt.airflow_m3_s for pt, _ in parts["return"]])
        sup = Port.union([pp for _, pp in parts["supply"]],
                         shares=[pt.airflow_m3_s for pt, _ in parts["supply"]])
        devices.append(Device(u.name, "cooler", ret, sup, u.airflow_m3_s,
                              supply_temp_c=u.supply_temp_c, capacity_w=u.capacity_w))
        for role in ("return", "supply"):
            for pt, pp in parts[role]:
                ports.append(PortInfo(u.name, f"{role}-patch", pp, name=pt.name,
                                      flow_m3_s=pt.airflow_m3_s))
                n_faces += pp.n_faces
    if problems:
        raise MeshError(hall.name, problems)

    warnings = [f"{d.path}: {d.message}" for d in cell_size_warnings(fac, cell_m, hall.name)]
    warnings += snap.forced
    supply = [u.supply_temp_c for u in lay.units]
    t0 = float(np.mean(supply)) if supply else 22.0
    env_faces = envelope_faces(hall, grid, solid)
    sources = ()
    if env_faces:
        outdoor = design_outdoor(fac, hall) if outdoor is None else tuple(map(float, outdoor))
        sources = envelope_sources(env_faces, envelope_heat_w(
            env_faces, np.full(len(env_faces), t0), *outdoor), hall.name)
    problem = Problem(grid=grid, solid=solid, devices=tuple(devices),
                      resistances=tuple(resistances), sources=sources, fluid=fac.fluid,
                      initial_temp_c=t0, name=f"{fac.campus.name}/{hall.name}")
    report = MeshReport(
        facility=fac.campus.name, hall=hall.name, cell_m=float(cell_m), spacing_m=grid.spacing_m,
        shape=grid.shape, cells=grid.cells, fluid_cells=int(np.count_nonzero((solid & _SOLID) == 0)),
        max_snap_error_m=snap.max_err, worst_snap=snap.worst, backend=be_name,
        device_bytes=int(mem["device_bytes"]), host_bytes=int(mem["host_bytes"]),
        bytes_per_cell=int(mem.get("bytes_per_cell", 0)),
        racks=len(lay.racks), coolers=len(lay.units), tile_cells=tile_cells,
        panel_cells=panel_cells, obstruction_cells=obstruction_cells, leak_cells=leak_cells,
        plenum_layers=plenum_layers, it_power_w=it_w, air_heat_w=air_w,
        liquid_heat_w=liq_w, cooling_capacity_w=sum(u.capacity_w for u in lay.units),
        rack_flow_m3_s=sum(r.cabinet_flow_m3_s for r in lay.racks),
        cooler_flow_m3_s=sum(u.airflow_m3_s for u in lay.units),
        supply_patches=sum(p.role == "supply" for p in lay.patches),
        return_patches=sum(p.role == "return" for p in lay.patches), patch_faces=n_faces,
        warnings=warnings, ports=ports, layout=lay, envelope=env_faces,
        outdoor=tuple(outdoor) if env_faces else (0.0, 0.0))
    return problem, report
