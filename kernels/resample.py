"""A solver state carried from one grid of a box to another (grid sequencing).

A steady solve on a fine grid spends much of its pseudo-time growing the room's jets and
plumes from rest. Started instead from the converged flow of a grid twice as coarse, it
has only the fine-scale adjustment left: the nested iteration (full multigrid) idea
applied to the pseudo-time march (Ferziger & Peric, *Computational Methods for Fluid
Dynamics*, 3rd ed., 2002, sec. 12.4; the same "grid sequencing" as in Fluent's FMG
initialisation).

Fields are interpolated trilinearly in physical coordinates, axis by axis, each at its
own staggered positions (velocities on faces, temperature on cell centres); points
outside the source's range take the nearest end value. Temperature is averaged over the
source's fluid cells only (a normalised interpolation: solid cells hold no air
temperature); velocities on faces the target closes are set to zero. The result is not
divergence-free on the target's mask: the target solver's first projection makes it so.
"""
from __future__ import annotations

import numpy as np

from common.errors import InputError

from .grid import Grid


def face_coords(grid: Grid, comp: int, axis: int) -> np.ndarray:
    """Coordinates [m] along ``axis`` of the staggered array of velocity component
    ``comp`` (faces along its own axis, cell centres across it)."""
    if axis == comp:
        return grid.origin_m[axis] + np.arange(grid.shape[axis] + 1) * grid.spacing_m[axis]
    return grid.centers(axis)


def _weights(src: np.ndarray, dst: np.ndarray):
    """Lower index and weight of linear interpolation from ``src`` points to ``dst``."""
    if len(src) == 1:
        z = np.zeros(len(dst), dtype=np.int64)
        return z, z, np.zeros(len(dst))
    x = np.clip(dst, src[0], src[-1])
    i0 = np.clip(np.searchsorted(src, x, side="right") - 1, 0, len(src) - 2)
    w = (x - src[i0]) / (src[i0 + 1] - src[i0])
    return i0, i0 + 1, w


def interpolate(a: np.ndarray, src_coords, dst_coords) -> np.ndarray:
    """Separable linear interpolation of the 3D array ``a`` (float64 result)."""
    out = np.asarray(a, dtype=np.float64)
    for axis in range(3):
        i0, i1, w = _weights(np.asarray(src_coords[axis], float), np.asarray(dst_coords[axis], float))
        shape = [1, 1, 1]
        shape[axis] = len(w)
        w = w.reshape(shape)
        out = np.take(out, i0, axis=axis) * (1.0 - w) + np.take(out, i1, axis=axis) * w
    return out


def resample_state(state: dict, src: Grid, src_fluid: np.ndarray, dst: Grid,
                   dst_fluid: np.ndarray) -> dict:
    """``u``, ``v``, ``w`` and ``T`` (and k-epsilon's ``tk``, ``teps``) of ``state`` (a :meth:`Solver.get_state` of a solver on
    ``src``) interpolated to ``dst``; ``*_fluid`` are the boolean fluid masks of the two
    grids. The boxes must coincide (the meshes of one hall at two cell sizes)."""
    L = max(src.size_m)
    for a, b, ax in zip(src.origin_m, dst.origin_m, "xyz"):
        if abs(a - b) > 1e-6 * L:
            raise InputError(f"resample: the two grids' boxes differ along {ax} "
                             f"(origins {a} and {b} m); grid sequencing needs one box")
    for a, b, ax in zip(src.size_m, dst.size_m, "xyz"):
        if abs(a - b) > 1e-6 * max(a, b):
            raise InputError(f"resample: the two grids' boxes differ along {ax} "
                             f"({a} and {b} m); grid sequencing needs one box")
    out = {}
    for c, name in enumerate(("u", "v", "w")):
        s_xyz = [face_coords(src, c, ax) for ax in range(3)]
        d_xyz = [face_coords(dst, c, ax) for ax in range(3)]
        q = interpolate(state[name], s_xyz, d_xyz)
        # faces the target closes (a solid cell on either side, or the box) carry no flow
        open_ = np.zeros(q.shape, dtype=bool)
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[c] = slice(0, -1)
        hi[c] = slice(1, None)
        inner = [slice(None)] * 3
        inner[c] = slice(1, -1)
        open_[tuple(inner)] = dst_fluid[tuple(lo)] & dst_fluid[tuple(hi)]
        q[~open_] = 0.0
        out[name] = q
    s_xyz = [src.centers(ax) for ax in range(3)]
    d_xyz = [dst.centers(ax) for ax in range(3)]
    f = src_fluid.astype(np.float64)
    den = interpolate(f, s_xyz, d_xyz)
    # cell-centred scalars: the temperature, and k and eps of a k-epsilon state
    for name in ("T", "tk", "teps"):
        if name not in state:
            continue
        a = np.asarray(state[name], float)
        num = interpolate(np.where(src_fluid, a, 0.0), s_xyz, d_xyz)
        mean = float(np.mean(a[src_fluid])) if src_fluid.any() else 0.0
        x = np.where(den > 1e-9, num / np.maximum(den, 1e-9), mean)
        out[name] = np.where(dst_fluid, x, mean)
    return out
