"""Engineering checks of a facility (:func:`check_facility`): geometry, clearances,
references, capacities, patches and plant; cell-size warnings for a grid."""
from __future__ import annotations

import re

import numpy as np

from common.errors import InputError

from .diagnostics import Diagnostic, did_you_mean
from .geometry import _FACING_AXIS, _FACING_SIGN, _OPPOSITE, Box, _front_box
from .includes import _inside, _PathError
from .layout import HallLayout, _build_layout, _Collector, _hall_file
from .model import Facility, _hall_index
from .obstructions import check_obstructions, obstacles
from .schema import (_TOL, _W_PER_KW, MIN_EXHAUST_CLEARANCE_M, MIN_INTAKE_CLEARANCE_M,
                     MIN_UNIT_CLEARANCE_M, NAME_HELP, NAME_PATTERN, Hall)


# ------------------------------------------------------------------- engineering checks
def check_facility(fac: Facility) -> list[Diagnostic]:
    """Every engineering problem of a schema-valid facility (errors and warnings)."""
    root = fac._source
    out: list[Diagnostic] = []
    col = _Collector(root)
    if not fac.halls:
        col.add("error", "halls", "the facility has no hall; add a [[halls]] table")
    _unique(col, "buildings", [b.name for b in fac.buildings], "building")
    _unique(col, "halls", [h.name for h in fac.halls], "hall")
    bnames = [b.name for b in fac.buildings]
    _unique(col, "phases", [p.name for p in fac.phases], "phase")
    pnames = [p.name for p in fac.phases]
    for name in fac.rack_types:
        if not re.match(NAME_PATTERN, name):
            col.add("error", f"rack_types[{name}]", f"rack type name '{name}': {NAME_HELP}",
                    file=fac._origins.get(("rack_types", name)))
    for name in fac.rear_doors:
        if not re.match(NAME_PATTERN, name) or name == "none":
            col.add("error", f"rear_doors[{name}]", f"rear door name '{name}': {NAME_HELP}"
                    + (" ('none' means no door)" if name == "none" else ""),
                    file=fac._origins.get(("rear_doors", name)))
    w = fac.campus.weather
    if w.startswith("builtin:"):
        from twin.models.climate import BUILTIN_CLIMATES
        if not re.match(r"^builtin:[a-z0-9_\-]+$", w):
            col.add("error", "campus.weather", f"weather '{w}': builtin names are lower-case, "
                    "e.g. 'builtin:ulsan'")
        elif w.split(":", 1)[1] not in BUILTIN_CLIMATES:
            key = w.split(":", 1)[1]
            col.add("error", "campus.weather",
                    f"weather '{w}' is not a built-in climate{did_you_mean(key, BUILTIN_CLIMATES)}; "
                    "use one of " + ", ".join(f"'builtin:{k}'" for k in sorted(BUILTIN_CLIMATES))
                    + " or the path of an EPW file inside the facility's folder")
    elif not w.lower().endswith(".epw"):
        col.add("error", "campus.weather", f"weather '{w}' must be 'builtin:NAME' or the path of "
                "an EPW file (ending .epw) inside the facility's folder")
    elif root is not None:
        try:
            p = _inside(w, root.parent, root.parent)
            if not p.is_file():
                col.add("error", "campus.weather", f"weather file '{w}' not found (looked for {p})")
            else:
                # the same reader `twin run` uses: a file it would refuse fails here too
                from twin.models.weather import read_epw
                try:
                    read_epw(p)
                except InputError as exc:
                    col.add("error", "campus.weather", f"weather file '{w}': {exc}")
        except _PathError as exc:
            col.add("error", "campus.weather", str(exc))
    out += col.finish()
    built = {}                                   # each hall's layout, built once
    for i, hall in enumerate(fac.halls):
        hc = _Collector(_hall_file(fac, i))
        if hall.building is not None and hall.building not in bnames:
            hc.add("error", f"halls[{hall.name}].building",
                   f"building '{hall.building}' is not defined{did_you_mean(hall.building, bnames)}; "
                   f"buildings: {', '.join(bnames) or '(none: add [[buildings]])'}",
                   file=fac._origins.get(("halls", i, "building")))
        if hall.phase is not None and hall.phase not in pnames:
            hc.add("error", f"halls[{hall.name}].phase",
                   f"phase '{hall.phase}' is not defined{did_you_mean(hall.phase, pnames)}; "
                   f"phases: {', '.join(pnames) or '(none: add [[phases]])'}",
                   file=fac._origins.get(("halls", i, "phase")))
        lay, hc = _build_layout(fac, hall, i, hc)
        built[i] = lay
        n_err = sum(d.severity == "error" for d in hc.items)
        _check_hall(fac, hall, lay, hc)
        if n_err == 0:
            fac._layouts[hall.name] = lay
        out += hc.finish()
    out += _check_plant(fac, built)
    return out


def _unique(col, path, names, what):
    seen = set()
    for n in names:
        if n in seen:
            col.add("error", f"{path}[{n}]", f"{what} name '{n}' is used twice; names must be unique")
        seen.add(n)


def _check_hall(fac: Facility, hall: Hall, lay: HallLayout, col: _Collector):
    hp = f"halls[{hall.name}]"
    L, W = hall.length_m, hall.width_m
    floor, ceil = hall.raised_floor_height_m, hall.ceiling_height_m
    top_all = hall.height_m
    if ceil <= floor + 1.0:
        col.add("error", hp + ".ceiling_height_m",
                f"ceiling at z = {ceil} m leaves {ceil - floor:.2f} m above the raised floor "
                f"({floor} m); z is measured from the structural slab, so ceiling_height_m "
                "includes the raised floor")
    if hall.floor_leakage_open_frac > 0 and floor <= 0:
        col.add("error", hp + ".floor_leakage_open_frac",
                f"floor_leakage_open_frac = {hall.floor_leakage_open_frac} but the hall has no "
                "raised floor (raised_floor_height_m = 0); remove it or give the raised floor")
    _check_doors(fac, hp, lay, col)
    _unique(col, hp + ".rows", [r.name for r in hall.rows], "row")
    _unique(col, hp + ".tiles", [t.name for t in hall.tiles], "tile group")
    _unique(col, hp + ".ceiling_grilles", [t.name for t in hall.ceiling_grilles], "grille group")
    _unique(col, hp + ".containment", [c.name for c in hall.containment], "containment")
    _unique(col, hp + ".cdus", [c.name for c in hall.cdus], "CDU")
    # device names are unique in a hall
    seen = {}
    for obj in list(lay.racks) + list(lay.units):
        if obj.name in seen:
            col.add("error", obj.path, f"device name '{obj.name}' is also used by {seen[obj.name]}; "
                    "give the rack or unit another name")
        else:
            seen[obj.name] = obj.path

    bodies = [("rack", r.name, r.path, r.box) for r in lay.racks] + \
             [("cooling unit", u.name, u.path, u.box) for u in lay.units if not u.outside]
    # inside the hall
    for kind, name, path, b in bodies:
        out = []
        if b.x0 < -_TOL or b.x1 > L + _TOL:
            out.append(f"x {b.x0:.2f}..{b.x1:.2f} m (hall: 0..{L} m)")
        if b.y0 < -_TOL or b.y1 > W + _TOL:
            out.append(f"y {b.y0:.2f}..{b.y1:.2f} m (hall: 0..{W} m)")
        if out:
            col.add("error", path, f"{kind} {name} is outside the hall: " + ", ".join(out),
                    kind=("error", hp, "outside the hall"))
    for r in lay.racks:
        if r.box.z1 > ceil + _TOL:
            col.add("error", r.path, f"rack {r.name} is {r.rack_type.height_m} m tall and reaches "
                    f"z = {r.box.z1:.2f} m, above the ceiling ({ceil} m)",
                    kind=("error", hp, "above the ceiling"))
    for u in lay.units:
        if u.outside:
            continue
        z1 = u.box.z1
        in_plenum = hall.return_plenum_height_m > 0 and ceil + MIN_UNIT_CLEARANCE_M <= z1 <= \
            top_all - MIN_UNIT_CLEARANCE_M + _TOL
        if u.intake == "top" and not (z1 <= ceil - MIN_UNIT_CLEARANCE_M + _TOL or in_plenum):
            col.add("error", u.path, f"cooling unit {u.name} draws from its top at z = {z1:.2f} m but "
                    f"needs {MIN_UNIT_CLEARANCE_M} m of free air above it (ceiling at {ceil} m"
                    + (f", return plenum up to {top_all} m" if hall.return_plenum_height_m else "")
                    + "); lower height_m", kind=("error", hp, "unit top"))
        elif u.intake != "top" and z1 > ceil + _TOL:
            col.add("error", u.path, f"cooling unit {u.name} reaches z = {z1:.2f} m, above the "
                    f"ceiling ({ceil} m)", kind=("error", hp, "unit top"))
        if u.type == "crah-downflow" and floor <= 0:
            col.add("error", u.path, f"cooling unit {u.name} is crah-downflow but hall {hall.name} "
                    "has no raised floor (raised_floor_height_m = 0); use crah-front, fan-wall or "
                    "inrow, or give the floor height")
    # overlaps (sweep along x: each body against those starting before it ends, so the
    # cost follows the number of near pairs, not n^2)
    boxes = [b for *_, b in bodies]
    for i, j in _near_pairs(boxes, boxes):
        if j <= i:
            continue
        a, b = boxes[i], boxes[j]
        ov = [min(a.hi(k), b.hi(k)) - max(a.lo(k), b.lo(k)) for k in range(3)]
        if all(o > _TOL for o in ov):
            k1, n1, p1, _ = bodies[i]
            k2, n2, _, _ = bodies[j]
            col.add("error", p1, f"{k1} {n1} overlaps {k2} {n2} by {ov[0]:.2f} m x "
                    f"{ov[1]:.2f} m in plan; move one of them",
                    kind=("error", hp, "overlap"))
    check_obstructions(hall, hp, lay, col, bodies)
    # breathing space in front of intakes and behind exhausts (bodies and obstructions)
    solids = bodies + obstacles(lay)
    index = _BoxIndex([b for *_, b in solids])
    for r in lay.racks:
        _clearance(col, hp, r.path, f"rack {r.name}", "intake", r.box, r.facing,
                   MIN_INTAKE_CLEARANCE_M, L, W, solids, index)
        _clearance(col, hp, r.path, f"rack {r.name}", "exhaust", r.box, _OPPOSITE[r.facing],
                   MIN_EXHAUST_CLEARANCE_M, L, W, solids, index)
    for u in lay.units:
        if u.outside:
            continue
        supply_box = u.box
        if u.type == "crah-downflow":
            supply_box = Box(u.box.x0, u.box.x1, u.box.y0, u.box.y1, 0.0, floor)
        _clearance(col, hp, u.path, f"cooling unit {u.name}", "supply", supply_box, u.facing,
                   MIN_UNIT_CLEARANCE_M, L, W, solids, index)
        if u.intake == "back":
            _clearance(col, hp, u.path, f"cooling unit {u.name}", "return (back)", u.box,
                       _OPPOSITE[u.facing], MIN_UNIT_CLEARANCE_M, L, W, solids, index)
    _check_patches(hall, hp, lay, col, bodies, obstacles(lay))
    # tiles and grilles
    for op in lay.openings:
        x0, x1, y0, y1 = op.rect
        if op.kind == "tile" and floor <= 0:
            col.add("error", op.path, f"perforated tiles need a raised floor, but hall {hall.name} has "
                    "raised_floor_height_m = 0; remove the tiles or give the floor height")
            continue
        if op.kind == "grille" and hall.return_plenum_height_m <= 0:
            col.add("error", op.path, f"ceiling grilles need a return plenum, but hall {hall.name} has "
                    "return_plenum_height_m = 0; remove the grilles or give the plenum height")
            continue
        if x0 < -_TOL or x1 > L + _TOL or y0 < -_TOL or y1 > W + _TOL:
            col.add("error", op.path, f"{op.kind}s {op.name} at x {x0:.2f}..{x1:.2f} m, y {y0:.2f}.."
                    f"{y1:.2f} m reach outside the {'raised floor' if op.kind == 'tile' else 'ceiling'} "
                    f"(x 0..{L} m, y 0..{W} m)")
            continue
        pl = Box(x0, x1, y0, y1, -1.0, 1e9)
        under = [name for kind, name, _, b in bodies
                 if op.kind == "tile" and pl.intersects(Box(b.x0, b.x1, b.y0, b.y1, -1.0, 1e9))]
        if under:
            more = f" and {len(under) - 3} more" if len(under) > 3 else ""
            col.add("warning", op.path, f"tiles {op.name} lie under {', '.join(under[:3])}{more}: "
                    "the mesh keeps those bodies solid and the tiles beneath them pass no air")
    ops = [o for o in lay.openings]
    for i in range(len(ops)):
        for j in range(i + 1, len(ops)):
            a, b = ops[i], ops[j]
            if a.kind == b.kind and Box(*a.rect, 0, 1).intersects(Box(*b.rect, 0, 1)):
                col.add("error", a.path, f"{a.kind}s {a.name} and {b.name} overlap; "
                        "each floor position holds one tile")
    # heat and cooling
    recs = [r.record(1.0) for r in lay.racks]
    air_w = sum(r.air_heat_w for r in recs)
    liq_w = sum(r.liquid_heat_w for r in recs)
    cap_w = sum(u.capacity_w for u in lay.units)
    if air_w > 0 and not lay.units:
        col.add("error", hp, f"hall {hall.name} has {air_w / 1e3:.0f} kW of air-side heat at "
                "design load but no cooling units; add [[halls.cooling_units]]")
    elif air_w > 0 and cap_w < air_w:
        col.add("warning", hp, f"cooling capacity {cap_w / 1e3:.0f} kW is below the air-side "
                f"design load {air_w / 1e3:.0f} kW ({100 * cap_w / air_w:.0f}%); the supply "
                "temperature will rise: add units or capacity")
    rack_q = sum(r.cabinet_flow_m3_s for r in lay.racks)
    unit_q = sum(u.airflow_m3_s for u in lay.units)
    if lay.units and rack_q > 0 and unit_q < 0.9 * rack_q:
        col.add("warning", hp, f"cooling units move {unit_q:.2f} m3/s but the racks draw "
                f"{rack_q:.2f} m3/s ({100 * unit_q / rack_q:.0f}%): expect recirculation of hot "
                "air to the intakes")
    _check_n_minus_1(col, hp, lay, air_w, rack_q)
    # liquid cooling
    served: dict = {}
    for cdu in hall.cdus:
        for rn in lay.cdu_racks.get(cdu.name, []):
            served.setdefault(rn, []).append(cdu.name)
    for r in lay.racks:
        if r.liquid_capture_frac > 0 and r.name not in served:
            col.add("error", r.path, f"rack {r.name} sends {r.design_power_w * r.liquid_capture_frac / 1e3:.0f} kW "
                    "to liquid but no CDU serves it; add its row or name to a CDU's serves list",
                    kind=("error", hp, "no CDU"))
    by_name = {r.name: r for r in lay.racks}
    for cdu in hall.cdus:
        names = lay.cdu_racks.get(cdu.name, [])
        dry = [n for n in names if by_name[n].liquid_capture_frac == 0]
        if dry:
            col.add("warning", f"{hp}.cdus[{cdu.name}]", f"serves {len(dry)} air-cooled rack(s) "
                    f"(e.g. {dry[0]}) that have no liquid loop")
    if liq_w > 0 and hall.cdus:
        cdu_w = sum(c.capacity_kw for c in hall.cdus) * _W_PER_KW
        if cdu_w < liq_w:
            col.add("warning", f"{hp}.cdus", f"CDU capacity {cdu_w / 1e3:.0f} kW is below the "
                    f"liquid design load {liq_w / 1e3:.0f} kW ({100 * cdu_w / liq_w:.0f}%)")


def _check_doors(fac: Facility, hp: str, lay: HallLayout, col: _Collector):
    """Rear doors: a door rated far from its rack's airflow (outside 0.5-2 times) is
    a typo or a door of another size (its pressure drop and fans are scaled from it)."""
    seen = set()
    for r in lay.racks:
        if r.rear_door is None or (r.rear_door, r.type_name) in seen:
            continue
        door = fac.rear_doors[r.rear_door]
        ratio = r.cabinet_flow_m3_s / door.rated_airflow_m3_s
        if not 0.5 <= ratio <= 2.0:
            seen.add((r.rear_door, r.type_name))
            col.add("warning", r.path, f"rack {r.name} moves {r.cabinet_flow_m3_s:.2f} m3/s "
                    f"through rear door '{r.rear_door}' rated for {door.rated_airflow_m3_s:.2f} "
                    "m3/s; its pressure drop and fan power are scaled from the rating (x^2, "
                    "x^3): check rated_airflow_m3_s")


def _check_patches(hall: Hall, hp: str, lay: HallLayout, col, bodies, others=()):
    """Diffusers and returns: on their surface, apart, not under a body, with free air
    (no body, obstruction of ``others`` or panel in front)."""
    L, W = hall.length_m, hall.width_m
    floor, ceil = hall.raised_floor_height_m, hall.ceiling_height_m
    extent = (L, W, ceil)
    _unique(col, hp + ".diffusers", [p.name for p in hall.diffusers], "diffuser")
    _unique(col, hp + ".returns", [p.name for p in hall.returns], "return")
    for name in sorted({p.name for p in hall.diffusers} & {p.name for p in hall.returns}):
        col.add("error", f"{hp}.returns[{name}]", f"'{name}' names a diffuser and a return; "
                "patch names must be unique in a hall")
    ok = []
    for p in lay.patches:
        what = f"{'diffuser' if p.role == 'supply' else 'return'} {p.name}"
        b = p.box
        if p.surface == "floor" and floor > 0:
            col.add("error", p.path, f"{what} is on the floor, but hall {hall.name} has a "
                    f"{floor} m raised floor; use perforated [[halls.tiles]] there, or a wall "
                    "or the ceiling", kind=("error", hp, "floor patch"))
            continue
        if p.surface == "ceiling" and hall.return_plenum_height_m > 0:
            col.add("error", p.path, f"{what} is on the ceiling, but hall {hall.name} has a "
                    "return plenum above it; use [[halls.ceiling_grilles]] into the plenum, or "
                    "a wall", kind=("error", hp, "ceiling patch"))
            continue
        lo_ok = [0.0, 0.0, floor]
        out = []
        for a in range(3):
            if a == p.axis:
                continue
            if b.lo(a) < lo_ok[a] - _TOL or b.hi(a) > extent[a] + _TOL:
                out.append(f"{'xyz'[a]} {b.lo(a):.2f}..{b.hi(a):.2f} m "
                           f"(surface: {lo_ok[a]:g}..{extent[a]:g} m)")
        if out:
            surf = p.surface if p.surface in ("floor", "ceiling") else f"wall '{p.surface}'"
            col.add("error", p.path, f"{what} reaches outside the {surf}: " + ", ".join(out)
                    + "; move or shrink it", kind=("error", hp, "patch outside"))
            continue
        ok.append(p)
    # overlaps on one surface
    for i in range(len(ok)):
        for j in range(i + 1, len(ok)):
            a, c = ok[i], ok[j]
            if a.surface != c.surface:
                continue
            ov = [min(a.box.hi(x), c.box.hi(x)) - max(a.box.lo(x), c.box.lo(x))
                  for x in range(3) if x != a.axis]
            if all(o > _TOL for o in ov):
                col.add("error", a.path, f"patch {a.name} overlaps patch {c.name} on the "
                        f"{a.surface} by {ov[0]:.2f} m x {ov[1]:.2f} m; move one of them",
                        kind=("error", hp, "patch overlap"))
    # free air in front of each patch: no body (or containment panel) within the reach
    need = MIN_UNIT_CLEARANCE_M
    for p in ok:
        what = f"{'diffuser' if p.role == 'supply' else 'return'} {p.name}"
        lo = [p.box.lo(a) for a in range(3)]
        hi = [p.box.hi(a) for a in range(3)]
        if p.side < 0:
            hi[p.axis] = lo[p.axis] + need
        else:
            lo[p.axis] = hi[p.axis] - need
        front = Box(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])
        blocked = None
        for kind, name, _, bb in bodies:
            if p.surface == "floor":
                if Box(bb.x0, bb.x1, bb.y0, bb.y1, -1.0, 1e9).intersects(
                        Box(p.box.x0, p.box.x1, p.box.y0, p.box.y1, -1.0, 1e9)):
                    col.add("error", p.path, f"{what} lies under {kind} {name}; a floor patch "
                            "must be in the open: move it into an aisle",
                            kind=("error", hp, "patch under body"))
                    blocked = ""
                    break
            if front.intersects(bb):
                blocked = f"{kind} {name}"
                break
        for kind, name, _, bb in others if blocked is None else ():
            if front.intersects(bb):
                blocked = f"{kind} {name}"
                break
        if blocked is None:
            for pn in lay.panels:
                lo3 = [pn.box.lo(a) for a in range(3)]
                hi3 = [pn.box.hi(a) for a in range(3)]
                hi3[pn.axis] = lo3[pn.axis] + 0.01 if pn.side > 0 else lo3[pn.axis]
                lo3[pn.axis] = hi3[pn.axis] - 0.01
                if front.intersects(Box(lo3[0], hi3[0], lo3[1], hi3[1], lo3[2], hi3[2])):
                    blocked = f"containment panel {pn.name}"
                    break
        if blocked:
            col.add("error", p.path, f"{what} on the {p.surface} is blocked by {blocked} within "
                    f"{need} m; it needs {need} m of free air in front of it: move it",
                    kind=("error", hp, "patch blocked"))


def _clearance(col, hp, path, what, face, box, facing, need, L, W, bodies, index=None):
    a, s = _FACING_AXIS[facing], _FACING_SIGN[facing]
    wall = (L, W)[a] - box.hi(a) if s > 0 else box.lo(a)
    if wall < need - _TOL:
        col.add("error", path, f"{what}: its {face} faces the wall '{facing}' at {max(wall, 0):.2f} m; "
                f"it needs at least {need} m of free air there (turn it to face "
                f"'{_OPPOSITE[facing]}' or move it)", kind=("error", hp, f"{face} at wall"))
        return
    front = _front_box(box, facing, need)
    index = index if index is not None else _BoxIndex([b for *_, b in bodies])
    near = [bodies[j] for j in index.near(front)]
    for kind, name, p2, b in near:
        if b is box or p2 == path or b.intersects(box):      # overlaps are reported once
            continue
        if front.intersects(b):
            gap = (b.lo(a) - box.hi(a)) if s > 0 else (box.lo(a) - b.hi(a))
            col.add("error", path, f"{what}: its {face} ('{facing}') is blocked by {kind} {name} "
                    f"{max(gap, 0):.2f} m away; it needs {need} m of free air",
                    kind=("error", hp, f"{face} blocked"))
            return


def _check_plant(fac: Facility, built: dict | None = None) -> list[Diagnostic]:
    """The plant and power against the halls' design loads; ``built``: the halls' layouts
    by index, as :func:`check_facility` built them (else built here)."""
    col = _Collector(fac._source)
    if fac.plant is None:
        return []
    air_w = liq_w = 0.0
    built = built or {}
    for i, h in enumerate(fac.halls):
        lay = built.get(i)
        if lay is None:
            try:
                lay, _ = _build_layout(fac, h, _hall_index(fac, h))
            except Exception:       # a broken hall is reported by its own checks
                continue
        for r in lay.racks:
            rec = r.record(1.0)
            air_w += rec.air_heat_w
            liq_w += rec.liquid_heat_w
    p = fac.plant
    _unique(col, "plant.chillers", [c.name for c in p.chillers], "chiller")
    _unique(col, "plant.cooling_towers", [c.name for c in p.cooling_towers], "tower")
    _unique(col, "plant.dry_coolers", [c.name for c in p.dry_coolers], "dry cooler")
    _unique(col, "plant.pumps", [c.name for c in p.pumps], "pump")
    chill_w = sum(c.count * c.capacity_kw for c in p.chillers) * _W_PER_KW
    dry_w = sum(c.count * c.capacity_kw for c in p.dry_coolers) * _W_PER_KW
    if p.chillers and air_w > 0 and chill_w < air_w:
        col.add("warning", "plant.chillers", f"chillers total {chill_w / 1e6:.1f} MW for "
                f"{air_w / 1e6:.1f} MW of air-side IT heat at design load")
    if liq_w > 0 and p.dry_coolers and dry_w < liq_w:
        col.add("warning", "plant.dry_coolers", f"dry coolers total {dry_w / 1e6:.1f} MW for "
                f"{liq_w / 1e6:.1f} MW of liquid IT heat at design load")
    if liq_w > 0 and not p.dry_coolers and not p.chillers:
        col.add("warning", "plant", "liquid-cooled racks but no dry coolers or chillers to reject "
                "their heat")
    if p.chillers and not p.cooling_towers and any(c.type.startswith("water-cooled") for c in p.chillers):
        col.add("warning", "plant.cooling_towers", "water-cooled chillers but no cooling towers")
    if fac.power is not None:
        pw = fac.power
        _unique(col, "power.contracts", [c.name for c in pw.contracts], "contract")
        _unique(col, "power.ups", [c.name for c in pw.ups], "UPS")
        _unique(col, "power.transformers", [c.name for c in pw.transformers], "transformer")
    return col.finish()


def cell_size_warnings(fac: Facility, cell_m: float, hall_name: str | None = None) -> list[Diagnostic]:
    """Geometry smaller than one cell of ``cell_m`` (it will be lost or thickened in the mesh)."""
    if not (np.isfinite(cell_m) and cell_m > 0):
        raise InputError(f"cell size {cell_m} m must be a positive number")
    out = []
    halls = fac.halls if hall_name is None else [fac.hall(hall_name)]
    for h in halls:
        lay = fac.layout(h.name)
        col = _Collector(_hall_file(fac, _hall_index(fac, h)))
        hp = f"halls[{h.name}]"
        items = [(r.path, f"rack {r.name}", r.box) for r in lay.racks] + \
                [(u.path, f"cooling unit {u.name}", u.box) for u in lay.units if not u.outside] + \
                [(o.path, f"{o.kind} {o.name}", o.box) for o in lay.obstructions]
        for pt in lay.patches:
            small = [f"{'xyz'[a]} {pt.box.size(a):.3f} m" for a in range(3)
                     if a != pt.axis and pt.box.size(a) < cell_m - _TOL]
            if small:
                col.add("warning", pt.path, f"patch {pt.name} is smaller than one cell "
                        f"({cell_m} m) along " + ", ".join(small) + "; the mesh makes it one cell",
                        kind=("warning", hp, "patch smaller than a cell"))
        for path, what, b in items:
            small = [f"{'xyz'[a]} {b.size(a):.3f} m" for a in range(3) if b.size(a) < cell_m - _TOL]
            if small:
                col.add("warning", path, f"{what} is smaller than one cell ({cell_m} m) along "
                        + ", ".join(small) + "; the mesh makes it one cell thick",
                        kind=("warning", hp, "smaller than a cell"))
        for op in lay.openings:
            x0, x1, y0, y1 = op.rect
            if min(x1 - x0, y1 - y0) < cell_m - _TOL:
                col.add("warning", op.path, f"{op.kind}s {op.name} ({x1 - x0:.2f} m x {y1 - y0:.2f} m) "
                        f"are smaller than one cell ({cell_m} m)")
        if h.raised_floor_height_m > 0 and h.raised_floor_height_m < 2 * cell_m - _TOL:
            col.add("warning", hp + ".raised_floor_height_m",
                    f"a {h.raised_floor_height_m} m raised floor is less than two cells of {cell_m} m "
                    "(one for the floor, one for the plenum air); use a smaller cell")
        if h.return_plenum_height_m > 0 and h.return_plenum_height_m < 2 * cell_m - _TOL:
            col.add("warning", hp + ".return_plenum_height_m",
                    f"a {h.return_plenum_height_m} m return plenum is less than two cells of {cell_m} m")
        # gaps between bodies that close in the mesh
        boxes = [it[2] for it in items]
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                gap = _gap(boxes[i], boxes[j])
                if gap is not None and _TOL < gap < cell_m - _TOL:
                    col.add("warning", items[i][0], f"the {gap:.2f} m gap between {items[i][1]} and "
                            f"{items[j][1]} is smaller than one cell ({cell_m} m): it may close "
                            "in the mesh", kind=("warning", hp, "small gap"))
        out += col.finish()
    return out


class _BoxIndex:
    """Boxes sorted by their lower x, to find those that meet a query box in plan without
    n x n arrays: O(log n + candidates) a query."""

    def __init__(self, boxes):
        x0 = np.array([b.x0 for b in boxes], float)
        self.order = np.argsort(x0, kind="stable")
        self.x0 = x0[self.order]
        self.x1 = np.array([b.x1 for b in boxes], float)[self.order]
        self.y0 = np.array([b.y0 for b in boxes], float)[self.order]
        self.y1 = np.array([b.y1 for b in boxes], float)[self.order]
        # a box can start at most this far before a query and still reach it
        self.reach = float(np.max(self.x1 - self.x0)) if len(boxes) else 0.0

    def near(self, q) -> np.ndarray:
        """Indices (ascending) of the boxes meeting ``q`` (or touching it) in x and y."""
        if not len(self.x0):
            return np.zeros(0, int)
        lo = np.searchsorted(self.x0, q.x0 - self.reach - _TOL, side="left")
        hi = np.searchsorted(self.x0, q.x1 + _TOL, side="right")
        sl = slice(lo, hi)
        hit = (self.x1[sl] >= q.x0 - _TOL) & (self.y1[sl] >= q.y0 - _TOL) & (self.y0[sl] <= q.y1 + _TOL)
        return np.sort(self.order[sl][hit])


def _near_pairs(queries, boxes):
    """Index pairs ``(i, j)``, ``queries[i]`` and ``boxes[j]`` meeting in plan, in order."""
    index = _BoxIndex(boxes)
    return [(i, int(j)) for i, q in enumerate(queries) for j in index.near(q)]


def _gap(a: Box, b: Box):
    """Gap between two boxes that face each other along one axis (None otherwise)."""
    for ax in range(3):
        others = [o for o in range(3) if o != ax]
        if all(min(a.hi(o), b.hi(o)) - max(a.lo(o), b.lo(o)) > _TOL for o in others):
            if a.hi(ax) <= b.lo(ax) + _TOL:
                return b.lo(ax) - a.hi(ax)
            if b.hi(ax) <= a.lo(ax) + _TOL:
                return a.lo(ax) - b.hi(ax)
    return None


def _check_n_minus_1(col, hp, lay, air_w: float, rack_q: float) -> None:
    """N-1 at design load: with each cooling unit lost in turn, do the others still carry
    the racks' air-side heat and move 90 % of their airflow (the same bound as the check
    with every unit)? One warning per hall naming the units whose loss it cannot take.
    (Redundancy N+1: Uptime Institute Tier II-IV and TIA-942 ask that one unit can be
    out of service; ``twin fail --each`` follows the hall after each loss.) A hall served
    by one central air handler is not warned: its redundancy lies inside the handler."""
    units = lay.units
    if not units or (air_w <= 0 and rack_q <= 0):
        return
    cap_w = sum(u.capacity_w for u in units)
    unit_q = sum(u.airflow_m3_s for u in units)
    if cap_w < air_w or unit_q < 0.9 * rack_q:
        return                                       # short even with every unit (warned above)
    if len(units) == 1:
        if units[0].type == "air-handler":
            return          # a central air handler: its redundancy (fans, coils) is inside it
        col.add("warning", hp, f"a single cooling unit ({units[0].name.split('/', 1)[-1]}): "
                "nothing is left when it stops (not N+1). Add a unit, or see the effect with "
                "twin fail --each")
        return
    short = []
    for u in units:
        q, c = unit_q - u.airflow_m3_s, cap_w - u.capacity_w
        why = []
        if rack_q > 0 and q < 0.9 * rack_q:
            why.append(f"{q:.1f} of the racks' {rack_q:.1f} m3/s ({100 * q / rack_q:.0f}%)")
        if air_w > 0 and c < air_w:
            why.append(f"{c / 1e3:.0f} of {air_w / 1e3:.0f} kW")
        if why:
            short.append(f"without {u.name.split('/', 1)[-1]} the others give "
                         + " and ".join(why))
    if short:
        more = f"; and {len(short) - 3} more" if len(short) > 3 else ""
        col.add("warning", hp, "not N+1 at design load: " + "; ".join(short[:3]) + more
                + ". Add a unit or airflow, or see the effect with twin fail --each")

