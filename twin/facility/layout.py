"""Geometry of a hall in metres (:class:`HallLayout`): racks, units, openings,
patches and panels placed from the schema, with the records they give the solver."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from common.errors import InputError

from .diagnostics import Diagnostic, _display, did_you_mean
from .geometry import _FACING_AXIS, _FACING_SIGN, Box, _footprint
from .obstructions import PlacedObstruction, place_obstructions
from .schema import (_MAX_PER_KIND, _TOL, _W_PER_KW, MIN_INTAKE_CLEARANCE_M, Containment, Hall,
                     RackType)

if TYPE_CHECKING:
    from .model import Facility


# ------------------------------------------------------------------------------ layout
@dataclass(frozen=True)
class RackRecord:
    """A rack's load at one utilization (what the solver, plant and reports use)."""

    name: str
    hall: str
    type: str
    power_w: float
    air_heat_w: float
    liquid_heat_w: float
    flow_m3_s: float


@dataclass(frozen=True)
class CoolingUnitRecord:
    name: str
    hall: str
    type: str
    airflow_m3_s: float
    supply_temp_c: float
    capacity_w: float


@dataclass(frozen=True)
class PlacedRack:
    """A rack placed in a hall. ``name`` is the device name (``HALL/ROW/NN`` or
    ``HALL/RACK``), ``path`` the object path used in messages."""

    name: str
    path: str
    hall: str
    row: str | None
    type_name: str
    rack_type: RackType
    box: Box
    facing: str
    design_power_w: float
    idle_power_w: float
    flow_m3_s: float                    # the servers' design airflow
    recirculation_frac: float = 0.0     # of the servers' exhaust, back to their intake
    bypass_frac: float = 0.0            # of the cabinet's intake, beside the servers
    rear_door: str | None = None        # its rear-door heat exchanger ([rear_doors.NAME])

    @property
    def liquid_capture_frac(self) -> float:
        return self.rack_type.liquid_capture_frac

    @property
    def cabinet_flow_m3_s(self) -> float:
        """Air the cabinet draws from the room at the servers' design airflow [m3/s]
        (:func:`twin.thermal.cabinet.cabinet_air`); ``flow_m3_s`` without leakage."""
        return self.flow_m3_s * (1.0 - self.recirculation_frac) / (1.0 - self.bypass_frac)

    def power_w(self, utilization: float = 1.0) -> float:
        """Electrical power at ``utilization`` (0: idle, 1: design), linear in between."""
        u = float(utilization)
        if not (np.isfinite(u) and 0.0 <= u <= 1.0):
            raise InputError(f"rack {self.name}: utilization {u} must be between 0 and 1")
        return self.idle_power_w + u * (self.design_power_w - self.idle_power_w)

    def record(self, utilization: float = 1.0, power_w: float | None = None) -> RackRecord:
        p = self.power_w(utilization) if power_w is None else float(power_w)
        liq = p * self.liquid_capture_frac
        return RackRecord(self.name, self.hall, self.type_name, p, p - liq, liq, self.flow_m3_s)


@dataclass(frozen=True)
class PlacedUnit:
    """A cooling unit of a hall. An air handler (``outside``) has no ``box``, ``facing``
    or ``intake``: its air crosses the hall's diffusers and returns (:class:`PlacedPatch`)."""

    name: str
    path: str
    hall: str
    type: str
    box: Box | None
    facing: str | None
    intake: str | None
    airflow_m3_s: float
    supply_temp_c: float
    capacity_w: float

    @property
    def outside(self) -> bool:
        return self.box is None

    def record(self) -> CoolingUnitRecord:
        return CoolingUnitRecord(self.name, self.hall, self.type, self.airflow_m3_s,
                                 self.supply_temp_c, self.capacity_w)


@dataclass(frozen=True)
class PlacedOpening:
    """Perforated tiles (``kind="tile"``, in the raised floor) or return grilles
    (``kind="grille"``, in the suspended ceiling): a plan rectangle and a loss."""

    name: str
    path: str
    kind: str
    rect: tuple
    k_loss: float


#: Surface of a patch -> (axis of its normal, side: -1 the lower wall of the room, +1 the upper)
PATCH_SURFACE = {"floor": (2, -1), "ceiling": (2, 1), "-x": (0, -1), "+x": (0, 1),
                 "-y": (1, -1), "+y": (1, 1)}


@dataclass(frozen=True)
class PlacedPatch:
    """A supply diffuser (``role="supply"``) or return grille (``role="return"``) of an
    air handler, placed: ``box`` has zero thickness along the surface's normal ``axis``
    and lies on the room's surface (``side`` -1: floor or a wall at 0; +1: ceiling or the
    far wall). ``airflow_m3_s`` is resolved (stated, or the unit's flow by area)."""

    name: str
    path: str
    hall: str
    role: str
    unit: str
    surface: str
    box: Box
    airflow_m3_s: float

    @property
    def axis(self) -> int:
        return PATCH_SURFACE[self.surface][0]

    @property
    def side(self) -> int:
        return PATCH_SURFACE[self.surface][1]

    @property
    def area_m2(self) -> float:
        return math.prod(self.box.size(a) for a in range(3) if a != self.axis)

    @property
    def inward(self) -> int:
        """Direction of the supply air along ``axis``: into the room."""
        return -self.side


@dataclass(frozen=True)
class PlacedPanel:
    """A containment panel: a plane normal to ``axis`` at ``pos_m``; the mesh puts it one
    cell thick on side ``side`` of the plane. ``box`` spans the panel (zero thickness)."""

    name: str
    path: str
    axis: int
    pos_m: float
    side: int
    box: Box


@dataclass
class HallLayout:
    """Everything placed in one hall, in metres (input of :func:`twin.thermal.mesh.mesh_hall`)."""

    hall: Hall
    racks: list[PlacedRack] = field(default_factory=list)
    units: list[PlacedUnit] = field(default_factory=list)
    patches: list[PlacedPatch] = field(default_factory=list)
    openings: list[PlacedOpening] = field(default_factory=list)
    panels: list[PlacedPanel] = field(default_factory=list)
    obstructions: list[PlacedObstruction] = field(default_factory=list)
    cdu_racks: dict = field(default_factory=dict)     # CDU name -> rack device names

    @property
    def floor_z_m(self) -> float:
        return self.hall.raised_floor_height_m

    @property
    def size_m(self):
        return (self.hall.length_m, self.hall.width_m, self.hall.height_m)

    def rack(self, name: str) -> PlacedRack:
        for r in self.racks:
            if r.name == name:
                return r
        raise InputError(f"no rack '{name}' in hall {self.hall.name}"
                         f"{did_you_mean(name, [r.name for r in self.racks])}")


class _Collector:
    """Collects diagnostics with a cap per (hall, kind)."""

    def __init__(self, file):
        self.file = file
        self.items: list[Diagnostic] = []
        self._counts: dict = {}

    def add(self, severity, path, message, kind=None, file=None):
        if kind is not None:
            n = self._counts.get(kind, 0) + 1
            self._counts[kind] = n
            if n > _MAX_PER_KIND:
                return
        self.items.append(Diagnostic(severity, _display(file or self.file), path, message))

    def finish(self):
        for kind, n in self._counts.items():
            if n > _MAX_PER_KIND:
                sev, path = kind[0], kind[1]
                self.items.append(Diagnostic(sev, _display(self.file), path,
                                             f"... and {n - _MAX_PER_KIND} more like the above ({kind[2]})"))
        return self.items


def _hall_file(fac: Facility, index: int):
    return fac._origins.get(("halls", index)) or fac._source


def _build_layout(fac: Facility, hall: Hall, hidx: int, col: _Collector | None = None):
    """Place every object of ``hall``; collect geometry problems found on the way."""
    col = col or _Collector(_hall_file(fac, hidx))
    hp = f"halls[{hall.name}]"
    lay = HallLayout(hall=hall)
    floor = hall.raised_floor_height_m

    # racks of rows
    for row in hall.rows:
        rp = f"{hp}.rows[{row.name}]"
        names = row.type_names()
        rtypes = []
        for i, tn in enumerate(names):
            rt = fac.rack_types.get(tn)
            if rt is None and (row.types is not None or i == 0):
                col.add("error", rp + (f".types[{i}]" if row.types is not None else ".type"),
                        f"rack type '{tn}' does not exist{did_you_mean(tn, fac.rack_types)}; "
                        f"known types: {', '.join(sorted(fac.rack_types)) or '(none: include a rack library)'}",
                        kind=("error", rp, "unknown rack type"))
            rtypes.append(rt)
        if any(rt is None for rt in rtypes):
            continue
        depth = max(rt.depth_m for rt in rtypes)
        a = 0 if row.along == "x" else 1
        offset = 0.0
        for i, (tn, rt) in enumerate(zip(names, rtypes)):
            start = (row.x_m, row.y_m)[a] + (i * row.pitch_m if row.pitch_m else offset)
            offset += rt.width_m
            # fronts aligned: the intake faces sit on one line
            s = _FACING_SIGN[row.facing]
            across0 = (row.x_m, row.y_m)[1 - a] + ((depth - rt.depth_m) if s > 0 else 0.0)
            if a == 0:
                x0, y0 = start, across0
            else:
                x0, y0 = across0, start
            fx = _footprint(x0, y0, rt.width_m, rt.depth_m, row.facing)
            num = f"{i + 1:02d}"
            p = rt.nameplate_power_kw if row.power_kw is None else row.power_kw
            own = (row.racks or {}).get(num)
            if own is not None and own.power_kw is not None:       # this rack differs
                p = own.power_kw
            scale = p / rt.nameplate_power_kw
            lay.racks.append(PlacedRack(
                name=f"{hall.name}/{row.name}/{num}", path=f"{rp}.racks[{num}]", hall=hall.name,
                row=row.name, type_name=tn, rack_type=rt,
                box=Box(*fx, floor, floor + rt.height_m), facing=row.facing,
                design_power_w=p * _W_PER_KW, idle_power_w=rt.idle_power_kw * scale * _W_PER_KW,
                flow_m3_s=rt.design_flow_m3_s(p, fac.campus.air.rho_cp),
                rear_door=_rear_door(fac, col, ((f"rack_types[{tn}]", rt), (rp, row),
                                                (f"{rp}.racks[{num}]", own))),
                **_leakage(rt, row, own)))
    # individual racks
    for rk in hall.racks:
        rp = f"{hp}.racks[{rk.name}]"
        rt = fac.rack_types.get(rk.type)
        if rt is None:
            col.add("error", rp + ".type",
                    f"rack type '{rk.type}' does not exist{did_you_mean(rk.type, fac.rack_types)}; "
                    f"known types: {', '.join(sorted(fac.rack_types)) or '(none: include a rack library)'}",
                    kind=("error", hp, "unknown rack type"))
            continue
        p = rt.nameplate_power_kw if rk.power_kw is None else rk.power_kw
        scale = p / rt.nameplate_power_kw
        fx = _footprint(rk.x_m, rk.y_m, rt.width_m, rt.depth_m, rk.facing)
        lay.racks.append(PlacedRack(
            name=f"{hall.name}/{rk.name}", path=rp, hall=hall.name, row=None, type_name=rk.type,
            rack_type=rt, box=Box(*fx, floor, floor + rt.height_m), facing=rk.facing,
            design_power_w=p * _W_PER_KW, idle_power_w=rt.idle_power_kw * scale * _W_PER_KW,
            flow_m3_s=rt.design_flow_m3_s(p, fac.campus.air.rho_cp),
            rear_door=_rear_door(fac, col, ((f"rack_types[{rk.type}]", rt), (rp, rk))),
            **_leakage(rt, rk)))
    # cooling units
    for cu in hall.cooling_units:
        if cu.outside:
            lay.units.append(PlacedUnit(
                name=f"{hall.name}/{cu.name}", path=f"{hp}.cooling_units[{cu.name}]",
                hall=hall.name, type=cu.type, box=None, facing=None, intake=None,
                airflow_m3_s=cu.airflow_m3_s, supply_temp_c=cu.supply_temp_c,
                capacity_w=cu.capacity_kw * _W_PER_KW))
            continue
        a = None if cu.along is None else (0 if cu.along == "x" else 1)
        pitch = cu.pitch_m or cu.width_m
        for i in range(cu.count):
            name = cu.name if cu.count == 1 else f"{cu.name}-{i + 1:02d}"
            x0, y0 = cu.x_m, cu.y_m
            if a == 0:
                x0 += i * pitch
            elif a == 1:
                y0 += i * pitch
            fx = _footprint(x0, y0, cu.width_m, cu.depth_m, cu.facing)
            z0 = 0.0 if cu.type == "crah-downflow" else floor
            lay.units.append(PlacedUnit(
                name=f"{hall.name}/{name}",
                path=f"{hp}.cooling_units[{cu.name}]" + (f"[{i + 1:02d}]" if cu.count > 1 else ""),
                hall=hall.name, type=cu.type, box=Box(*fx, z0, floor + cu.height_m),
                facing=cu.facing, intake=cu.intake_side, airflow_m3_s=cu.airflow_m3_s,
                supply_temp_c=cu.supply_temp_c, capacity_w=cu.capacity_kw * _W_PER_KW))
    _place_patches(hall, hp, lay, col)
    lay.obstructions = place_obstructions(hall, hp)
    # tiles and grilles
    for kind, groups in (("tile", hall.tiles), ("grille", hall.ceiling_grilles)):
        key = "tiles" if kind == "tile" else "ceiling_grilles"
        for tg in groups:
            lay.openings.append(PlacedOpening(tg.name, f"{hp}.{key}[{tg.name}]", kind, tg.rect(),
                                              tg.loss_coefficient))
    # containment panels
    rows_by_name = {}
    for r in lay.racks:
        if r.row is not None:
            rows_by_name.setdefault(r.row, []).append(r)
    for ct in hall.containment:
        _place_containment(ct, hall, hp, rows_by_name, lay, col)
    # CDUs
    for cdu in hall.cdus:
        served = []
        for ref in cdu.serves:
            if ref == "*":
                served += [r.name for r in lay.racks if r.liquid_capture_frac > 0]
                continue
            hit = [r.name for r in lay.racks
                   if r.row == ref or r.name == f"{hall.name}/{ref}"]
            if not hit:
                choices = sorted({r.row for r in lay.racks if r.row} |
                                 {r.name.split("/", 1)[1] for r in lay.racks})
                col.add("error", f"{hp}.cdus[{cdu.name}].serves",
                        f"'{ref}' is neither a row nor a rack of hall {hall.name}"
                        f"{did_you_mean(ref, choices)}; use a row name, ROW/NN, a rack name or '*'")
            served += hit
        lay.cdu_racks[cdu.name] = list(dict.fromkeys(served))
    return lay, col


def _leakage(rack_type: RackType, *overrides) -> dict:
    """A rack's cabinet leakage: the last of its rack type, row and own entry that sets
    each fraction (``PlacedRack`` keys)."""
    out = {}
    for key, field_ in (("recirculation_frac", "cabinet_recirculation_frac"),
                        ("bypass_frac", "cabinet_bypass_frac")):
        vals = [getattr(o, field_) for o in (rack_type, *overrides) if o is not None]
        out[key] = float([v for v in vals if v is not None][-1])
    return out


def _rear_door(fac: Facility, col: _Collector, levels) -> str | None:
    """A rack's rear door: the last of its rack type, row and own entry (``levels``:
    ``(path, entry)``) that sets ``rear_door``; ``"none"`` is no door. An unknown name is
    reported once per place that names it."""
    from .schema import NO_REAR_DOOR
    chosen = None
    for path, entry in levels:
        name = getattr(entry, "rear_door", None) if entry is not None else None
        if name is None:
            continue
        if name != NO_REAR_DOOR and name not in fac.rear_doors:
            known = ", ".join(sorted(fac.rear_doors)) or "(none defined)"
            msg = (f"rear door '{name}' does not exist{did_you_mean(name, fac.rear_doors)}; "
                   f"define [rear_doors.{name}] or use one of: {known}, or '{NO_REAR_DOOR}'")
            if not any(d.path == f"{path}.rear_door" and d.message == msg for d in col.items):
                col.add("error", f"{path}.rear_door", msg)
            continue
        chosen = name
    return None if chosen in (None, NO_REAR_DOOR) else chosen


def _place_patches(hall: Hall, hp: str, lay: HallLayout, col):
    """Diffusers and returns of the air handlers: rectangles on the room's surfaces, with
    each patch's flow resolved (stated, or what the stated ones leave, split by area)."""
    floor, ceil = hall.raised_floor_height_m, hall.ceiling_height_m
    units = {u.name.split("/", 1)[1]: u for u in lay.units}
    groups: dict = {}                       # (unit, role) -> [(patch, stated flow)]
    for role, key, entries in (("supply", "diffusers", hall.diffusers),
                               ("return", "returns", hall.returns)):
        for pt in entries:
            pp = f"{hp}.{key}[{pt.name}]"
            u = units.get(pt.unit)
            if u is None:
                col.add("error", pp + ".unit",
                        f"cooling unit '{pt.unit}' does not exist in hall {hall.name}"
                        f"{did_you_mean(pt.unit, units)}; name an air-handler of "
                        "[[halls.cooling_units]]")
                continue
            if not u.outside:
                col.add("error", pp + ".unit",
                        f"cooling unit '{pt.unit}' is a {u.type} with its own {role} face; "
                        f"{key} serve units of type 'air-handler' only")
                continue
            a_norm, side = PATCH_SURFACE[pt.surface]
            along = None if pt.along is None else (0 if pt.along == "x" else 1)
            for i in range(pt.count):
                lo, hi = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
                if pt.surface in ("floor", "ceiling"):
                    z = floor if pt.surface == "floor" else ceil
                    lo = [pt.x_m, pt.y_m, z]
                    hi = [pt.x_m + pt.length_m, pt.y_m + pt.width_m, z]
                else:
                    wall_at = 0.0 if side < 0 else (hall.length_m, hall.width_m)[a_norm]
                    a_wall = 1 - a_norm
                    start = (pt.x_m, pt.y_m)[a_wall]
                    lo[a_norm] = hi[a_norm] = wall_at
                    lo[a_wall], hi[a_wall] = start, start + pt.length_m
                    lo[2], hi[2] = pt.z_m, pt.z_m + pt.height_m
                if along is not None and i:
                    size = hi[along] - lo[along]
                    shift = i * (pt.pitch_m or size)
                    lo[along] += shift
                    hi[along] += shift
                name = pt.name if pt.count == 1 else f"{pt.name}-{i + 1:02d}"
                box = Box(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])
                placed = PlacedPatch(f"{hall.name}/{name}",
                                     pp + (f"[{i + 1:02d}]" if pt.count > 1 else ""), hall.name,
                                     role, u.name, pt.surface, box, 0.0)
                groups.setdefault((u.name, role), []).append((placed, pt.airflow_m3_s))
    for u in lay.units:
        if not u.outside:
            continue
        for role, key in (("supply", "diffusers"), ("return", "returns")):
            items = groups.get((u.name, role), [])
            if not items:
                col.add("error", u.path, f"air handler {u.name} has no {role} patch; add a "
                        f"[[halls.{key}]] entry with unit = '{u.name.split('/', 1)[1]}'")
                continue
            stated = sum(q for _, q in items if q is not None)
            free_area = sum(p.area_m2 for p, q in items if q is None)
            rest = u.airflow_m3_s - stated
            tol = 1e-9 * u.airflow_m3_s
            what = "diffusers" if role == "supply" else "returns"
            if free_area == 0 and abs(rest) > tol:
                col.add("error", u.path, f"the {what} of air handler {u.name} state "
                        f"{stated:.4g} m3/s in all, but the unit moves {u.airflow_m3_s:.4g} m3/s; "
                        f"make their airflow_m3_s add up to the unit's (or leave some out to "
                        "share the rest by area)")
                continue
            if free_area > 0 and rest <= tol:
                col.add("error", u.path, f"the {what} of air handler {u.name} that state "
                        f"airflow_m3_s take {stated:.4g} m3/s of the unit's {u.airflow_m3_s:.4g}, "
                        "leaving nothing for the others; lower the stated flows or state all")
                continue
            for p, q in items:
                flow = q if q is not None else rest * p.area_m2 / free_area
                lay.patches.append(PlacedPatch(p.name, p.path, p.hall, p.role, p.unit,
                                               p.surface, p.box, float(flow)))


def _place_containment(ct: Containment, hall: Hall, hp: str, rows_by_name, lay: HallLayout, col):
    cp = f"{hp}.containment[{ct.name}]"
    missing = [r for r in ct.rows if r not in rows_by_name]
    if missing:
        for r in missing:
            if r in [rw.name for rw in hall.rows]:
                return      # the row exists but its racks failed (already reported)
            col.add("error", cp + ".rows",
                    f"row '{r}' does not exist in hall {hall.name}"
                    f"{did_you_mean(r, rows_by_name)}; rows: {', '.join(rows_by_name) or '(none)'}")
        return
    if ct.rows[0] == ct.rows[1]:
        col.add("error", cp + ".rows", "the two rows must be different")
        return
    ra, rb = rows_by_name[ct.rows[0]], rows_by_name[ct.rows[1]]
    fa, fb = {r.facing for r in ra}, {r.facing for r in rb}
    if len(fa) != 1 or len(fb) != 1 or _FACING_AXIS[fa.pop()] != _FACING_AXIS[fb.pop()]:
        col.add("error", cp + ".rows", f"rows {ct.rows[0]} and {ct.rows[1]} are not parallel; "
                "containment needs two rows along the same axis")
        return
    across = _FACING_AXIS[ra[0].facing]          # the aisle's width runs along the facing axis
    along = 1 - across
    box_a = _union([r.box for r in ra])
    box_b = _union([r.box for r in rb])
    if box_a.hi(across) <= box_b.lo(across) + _TOL:
        lower, upper, lrow, urow = ra, rb, ct.rows[0], ct.rows[1]
        a0, a1 = box_a.hi(across), box_b.lo(across)
    elif box_b.hi(across) <= box_a.lo(across) + _TOL:
        lower, upper, lrow, urow = rb, ra, ct.rows[1], ct.rows[0]
        a0, a1 = box_b.hi(across), box_a.lo(across)
    else:
        col.add("error", cp + ".rows", f"rows {ct.rows[0]} and {ct.rows[1]} overlap across the aisle; "
                "there is no aisle between them")
        return
    if a1 - a0 < MIN_INTAKE_CLEARANCE_M - _TOL:
        col.add("error", cp, f"the aisle between rows {lrow} and {urow} is {a1 - a0:.2f} m wide; "
                f"contained aisles need at least {MIN_INTAKE_CLEARANCE_M} m")
        return
    ax = "xyz"[across]
    want = ("+", "-") if ct.kind == "cold-aisle" else ("-", "+")
    got = (lower[0].facing[0], upper[0].facing[0])
    if got != want:
        what = "intakes" if ct.kind == "cold-aisle" else "exhausts"
        col.add("error", cp + ".kind",
                f"a {ct.kind} needs both rows' {what} on the aisle: row {lrow} must face "
                f"'{want[0]}{ax}' and row {urow} '{want[1]}{ax}' (they face '{lower[0].facing}' and "
                f"'{upper[0].facing}'); swap kind or the rows' facing")
        return
    # the aisle's ends: the rows, extended over in-line units (in-row coolers)
    lo = min(box_a.lo(along), box_b.lo(along))
    hi = max(box_a.hi(along), box_b.hi(along))
    bands = [(box_a.lo(across), box_a.hi(across)), (box_b.lo(across), box_b.hi(across))]
    members = [r.box for r in ra + rb]
    changed = True
    while changed:
        changed = False
        for u in lay.units:
            b = u.box
            if b is None:
                continue
            in_band = any(min(b.hi(across), q1) - max(b.lo(across), q0) > 0.5 * (q1 - q0)
                          for q0, q1 in bands)
            if in_band and b not in members and b.lo(along) <= hi + 0.01 and b.hi(along) >= lo - 0.01:
                lo, hi = min(lo, b.lo(along)), max(hi, b.hi(along))
                members.append(b)
                changed = True
    if abs(box_a.lo(along) - box_b.lo(along)) > 0.05 or abs(box_a.hi(along) - box_b.hi(along)) > 0.05:
        col.add("warning", cp, f"rows {ct.rows[0]} and {ct.rows[1]} do not start and end together "
                "along the aisle: the containment is open beside the shorter row "
                "(add racks, in-row units or set start_m/end_m)")
    if ct.start_m is not None:
        lo = ct.start_m
    if ct.end_m is not None:
        hi = ct.end_m
    if hi - lo <= _TOL:
        col.add("error", cp, f"start_m/end_m leave no aisle ({lo} to {hi} m)")
        return
    floor = hall.raised_floor_height_m
    top = max(b.z1 for b in members)
    roof = ct.roof_z_m if ct.roof_z_m is not None else top
    if roof > hall.ceiling_height_m + _TOL or roof <= floor:
        col.add("error", cp + ".roof_z_m", f"roof at z = {roof} m is outside the room "
                f"(floor {floor} m, ceiling {hall.ceiling_height_m} m)")
        return

    def box(along_lo, along_hi, across_lo, across_hi, z0, z1):
        lo3, hi3 = [0.0] * 3, [0.0] * 3
        lo3[along], hi3[along] = along_lo, along_hi
        lo3[across], hi3[across] = across_lo, across_hi
        lo3[2], hi3[2] = z0, z1
        return Box(lo3[0], hi3[0], lo3[1], hi3[1], lo3[2], hi3[2])

    if ct.roof:
        lay.panels.append(PlacedPanel(f"{hall.name}/{ct.name}/roof", cp + ".roof", 2, roof, +1,
                                      box(lo, hi, a0, a1, roof, roof)))
    if roof > top + _TOL:
        # a roof (or, roofless, doors) above the rows: the aisle's sides are closed from
        # the top of the rows up to roof_z_m (panels over the racks, as a chimney)
        lay.panels.append(PlacedPanel(f"{hall.name}/{ct.name}/side-{lrow}", cp + ".roof_z_m",
                                      across, a0, -1, box(lo, hi, a0, a0, top, roof)))
        lay.panels.append(PlacedPanel(f"{hall.name}/{ct.name}/side-{urow}", cp + ".roof_z_m",
                                      across, a1, +1, box(lo, hi, a1, a1, top, roof)))
    if ct.doors:
        lay.panels.append(PlacedPanel(f"{hall.name}/{ct.name}/door-start", cp + ".doors", along, lo, -1,
                                      box(lo, lo, a0, a1, floor, roof)))
        lay.panels.append(PlacedPanel(f"{hall.name}/{ct.name}/door-end", cp + ".doors", along, hi, +1,
                                      box(hi, hi, a0, a1, floor, roof)))


def _union(boxes):
    return Box(min(b.x0 for b in boxes), max(b.x1 for b in boxes), min(b.y0 for b in boxes),
               max(b.y1 for b in boxes), min(b.z0 for b in boxes), max(b.z1 for b in boxes))
