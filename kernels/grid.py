"""Uniform Cartesian grid of a data hall (a small frozen value).

Index order is ``(i, j, k)`` = ``(x, y, z)``; ``z`` points up. Arrays are C-ordered
``[i, j, k]`` so ``k`` is the fastest index. See ``kernels/README.md`` for where each
field lives (cell centre or face) and the halo policy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.errors import InputError


@dataclass(frozen=True)
class Grid:
    """A box of ``nx * ny * nz`` cells of size ``dx * dy * dz`` metres.

    Parameters
    ----------
    shape : (int, int, int)
        Number of cells along x, y, z.
    spacing_m : (float, float, float)
        Cell size along x, y, z [m].
    origin_m : (float, float, float)
        Position of the box's lower corner [m].
    """

    shape: tuple[int, int, int]
    spacing_m: tuple[float, float, float]
    origin_m: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self):
        shape = tuple(int(n) for n in self.shape)
        spacing = tuple(float(d) for d in self.spacing_m)
        origin = tuple(float(o) for o in self.origin_m)
        if len(shape) != 3 or len(spacing) != 3 or len(origin) != 3:
            raise InputError("grid: shape, spacing_m and origin_m need three values (x, y, z)")
        for n, ax in zip(shape, "xyz"):
            if n < 1:
                raise InputError(f"grid: {n} cells along {ax}; need at least 1")
        for d, ax in zip(spacing, "xyz"):
            if not np.isfinite(d) or d <= 0.0:
                raise InputError(
                    f"grid: cell size along {ax} is {d} m; it must be a positive number "
                    "(data halls use 0.05 to 0.2 m)")
        if not all(np.isfinite(o) for o in origin):
            raise InputError("grid: origin_m must be finite")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "spacing_m", spacing)
        object.__setattr__(self, "origin_m", origin)

    @classmethod
    def from_size(cls, size_m, cell_m, origin_m=(0.0, 0.0, 0.0)) -> "Grid":
        """A grid covering a box of ``size_m`` with cubes of about ``cell_m``.

        The cell count is rounded to the nearest integer and the spacing adjusted so
        that the box is covered exactly.
        """
        if not np.isfinite(cell_m) or cell_m <= 0:
            raise InputError(f"grid: cell size {cell_m} m must be a positive number")
        shape = tuple(max(1, int(round(L / cell_m))) for L in size_m)
        spacing = tuple(L / n for L, n in zip(size_m, shape))
        return cls(shape, spacing, tuple(origin_m))

    @property
    def nx(self):
        return self.shape[0]

    @property
    def ny(self):
        return self.shape[1]

    @property
    def nz(self):
        return self.shape[2]

    @property
    def cells(self) -> int:
        return self.shape[0] * self.shape[1] * self.shape[2]

    @property
    def size_m(self):
        return tuple(n * d for n, d in zip(self.shape, self.spacing_m))

    @property
    def cell_volume_m3(self) -> float:
        dx, dy, dz = self.spacing_m
        return dx * dy * dz

    def face_area_m2(self, axis: int) -> float:
        dx, dy, dz = self.spacing_m
        return (dy * dz, dx * dz, dx * dy)[axis]

    def centers(self, axis: int) -> np.ndarray:
        """Cell-centre coordinates along ``axis`` [m]."""
        n, d, o = self.shape[axis], self.spacing_m[axis], self.origin_m[axis]
        return o + (np.arange(n) + 0.5) * d

    def faces(self, axis: int) -> np.ndarray:
        """Face coordinates along ``axis`` [m] (n + 1 values)."""
        n, d, o = self.shape[axis], self.spacing_m[axis], self.origin_m[axis]
        return o + np.arange(n + 1) * d

    def cell_of(self, x_m, y_m, z_m):
        """Index of the cell containing a point (clipped to the grid)."""
        idx = []
        for p, n, d, o in zip((x_m, y_m, z_m), self.shape, self.spacing_m, self.origin_m):
            idx.append(int(np.clip(np.floor((p - o) / d), 0, n - 1)))
        return tuple(idx)
