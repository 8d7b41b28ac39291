"""Axis-aligned boxes in hall coordinates [m] and the facing conventions of bodies
(shared by the layout, its checks and the obstructions)."""
from __future__ import annotations

from dataclasses import dataclass

from .schema import _TOL


@dataclass(frozen=True)
class Box:
    """Axis-aligned box [m] in hall coordinates."""

    x0: float
    x1: float
    y0: float
    y1: float
    z0: float
    z1: float

    def lo(self, axis: int) -> float:
        return (self.x0, self.y0, self.z0)[axis]

    def hi(self, axis: int) -> float:
        return (self.x1, self.y1, self.z1)[axis]

    def size(self, axis: int) -> float:
        return self.hi(axis) - self.lo(axis)

    def bounds(self):
        return (self.x0, self.x1, self.y0, self.y1, self.z0, self.z1)

    def intersects(self, other: "Box", tol: float = _TOL) -> bool:
        return all(self.lo(a) < other.hi(a) - tol and other.lo(a) < self.hi(a) - tol
                   for a in range(3))


_FACING_AXIS = {"+x": 0, "-x": 0, "+y": 1, "-y": 1}

_FACING_SIGN = {"+x": 1, "-x": -1, "+y": 1, "-y": -1}

_OPPOSITE = {"+x": "-x", "-x": "+x", "+y": "-y", "-y": "+y"}


def _footprint(x_m, y_m, width_m, depth_m, facing):
    """(x0, x1, y0, y1) of a body whose face of width ``width_m`` looks along ``facing``."""
    if _FACING_AXIS[facing] == 1:
        return (x_m, x_m + width_m, y_m, y_m + depth_m)
    return (x_m, x_m + depth_m, y_m, y_m + width_m)


def _front_box(box: Box, facing: str, reach: float) -> Box:
    """The slab of space of thickness ``reach`` in front of ``box``'s ``facing`` face."""
    a, s = _FACING_AXIS[facing], _FACING_SIGN[facing]
    lo = [box.x0, box.y0, box.z0]
    hi = [box.x1, box.y1, box.z1]
    if s > 0:
        lo[a], hi[a] = hi[a], hi[a] + reach
    else:
        lo[a], hi[a] = lo[a] - reach, lo[a]
    return Box(lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])
