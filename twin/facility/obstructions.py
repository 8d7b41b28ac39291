"""Obstructions of a hall as built (``[[halls.obstructions]]``): columns, internal walls,
cable trays and pipes under the raised floor, ducts and cable ladders overhead. Each is a
solid box that air goes around; placed in metres (:func:`place_obstructions`), checked
like the racks (:func:`check_obstructions`: inside the hall, clear of racks and units,
not over tiles) and meshed as ``SOLID|WALL`` cells by :func:`twin.thermal.mesh.mesh_hall`.
"""
from __future__ import annotations

from dataclasses import dataclass

from .geometry import Box
from .schema import _TOL, Hall

#: Where an obstruction is, for messages: below the raised floor, in the room, above the
#: suspended ceiling.
_SPACES = ("raised-floor plenum", "room", "return plenum")


@dataclass(frozen=True)
class PlacedObstruction:
    """An obstruction placed in a hall: ``name`` is ``HALL/NAME``, ``box`` in metres."""

    name: str
    path: str
    kind: str
    box: Box

    def space(self, hall: Hall) -> str:
        """The part of the hall it stands in (where most of its height is)."""
        floor, ceil = hall.raised_floor_height_m, hall.ceiling_height_m
        b = self.box
        parts = [min(b.z1, floor) - max(b.z0, 0.0), min(b.z1, ceil) - max(b.z0, floor),
                 min(b.z1, hall.height_m) - max(b.z0, ceil)]
        return _SPACES[max(range(3), key=lambda i: parts[i])]


def place_obstructions(hall: Hall, hp: str) -> list[PlacedObstruction]:
    """The hall's obstructions in metres (``height_m`` left out: up to the top of the hall)."""
    out = []
    for ob in hall.obstructions:
        top = hall.height_m if ob.height_m is None else ob.z_m + ob.height_m
        out.append(PlacedObstruction(f"{hall.name}/{ob.name}", f"{hp}.obstructions[{ob.name}]",
                                     ob.kind, Box(ob.x_m, ob.x_m + ob.length_m, ob.y_m,
                                                  ob.y_m + ob.width_m, ob.z_m, top)))
    return out


def obstacles(lay) -> list[tuple]:
    """The obstructions as ``(kind, name, path, box)``, the form of the checks' bodies."""
    return [(o.kind, o.name, o.path, o.box) for o in lay.obstructions]


def check_obstructions(hall: Hall, hp: str, lay, col, bodies) -> None:
    """Obstructions inside the hall, apart from racks and units (``bodies``: ``(kind,
    name, path, box)``), names unique; a warning where one covers perforated tiles or
    ceiling grilles (they pass no air there)."""
    L, W, H = hall.length_m, hall.width_m, hall.height_m
    seen: dict = {}
    for o in lay.obstructions:
        what = f"{o.kind} {o.name}"
        if o.name in seen:
            col.add("error", o.path, f"obstruction name '{o.name.split('/', 1)[1]}' is used "
                    "twice in the hall; names must be unique")
            continue
        seen[o.name] = o
        b = o.box
        out = [f"{'xyz'[a]} {b.lo(a):.2f}..{b.hi(a):.2f} m (hall: 0..{lim:g} m)"
               for a, lim in enumerate((L, W, H)) if b.lo(a) < -_TOL or b.hi(a) > lim + _TOL]
        if out:
            col.add("error", o.path, f"{what} reaches outside the hall: " + ", ".join(out)
                    + "; move or shrink it (z is above the slab, up to the "
                    + ("return plenum's top)" if hall.return_plenum_height_m else "ceiling)"),
                    kind=("error", hp, "obstruction outside"))
            continue
        for kind, name, _, bb in bodies:
            if b.intersects(bb):
                ov = [min(b.hi(a), bb.hi(a)) - max(b.lo(a), bb.lo(a)) for a in range(3)]
                col.add("error", o.path, f"{what} ({o.space(hall)}) overlaps {kind} {name} by "
                        f"{ov[0]:.2f} m x {ov[1]:.2f} m x {ov[2]:.2f} m; move one of them "
                        "(an obstruction under the raised floor sets z_m and height_m below "
                        f"{hall.raised_floor_height_m:g} m)",
                        kind=("error", hp, "obstruction overlap"))
                break
        for op in lay.openings:
            z = hall.raised_floor_height_m if op.kind == "tile" else hall.ceiling_height_m
            x0, x1, y0, y1 = op.rect
            if b.z0 <= z + _TOL and b.z1 >= z - _TOL and \
                    Box(x0, x1, y0, y1, -1.0, 1.0).intersects(Box(b.x0, b.x1, b.y0, b.y1, -1.0, 1.0)):
                col.add("warning", o.path, f"{what} covers {op.kind}s {op.name} where it "
                        f"crosses z = {z:g} m: they pass no air there",
                        kind=("warning", hp, "obstruction over tiles"))
