"""Float64 NumPy reference of the geometric multigrid (:mod:`kernels.multigrid`).

Plain array code, no kernels: the operator, the red-black Gauss-Seidel sweep, the
restriction of the residual and the prolongation, each written as the definition in
:mod:`kernels.multigrid` states it, and a V-cycle composed of them. The kernels of every
backend are held to these in ``tests/parity/test_multigrid.py``.
"""
from __future__ import annotations

import numpy as np

from .multigrid import Level


def _shifted(x, axis, side):
    """``x`` of the neighbour across the lower (side 0) or upper (side 1) face along
    ``axis``, 0 past the box."""
    out = np.zeros_like(x)
    n = x.shape[axis]
    src = [slice(None)] * 3
    dst = [slice(None)] * 3
    if side == 0:
        src[axis], dst[axis] = slice(0, n - 1), slice(1, n)
    else:
        src[axis], dst[axis] = slice(1, n), slice(0, n - 1)
    out[tuple(dst)] = x[tuple(src)]
    return out


def _faces(g, axis, side):
    """Coefficient of each cell's lower (side 0) or upper (side 1) face along ``axis``."""
    n = g.shape[axis]
    s = [slice(None)] * 3
    s[axis] = slice(0, n - 1) if side == 0 else slice(1, n)
    return g[tuple(s)]


def neighbour_sum(level: Level, x):
    """``sum_faces g x_nb / d^2`` and the diagonal ``sum_faces g / d^2`` of each cell."""
    acc = np.zeros(level.shape)
    diag = np.zeros(level.shape)
    for axis, g in enumerate(level.g):
        c = 1.0 / level.spacing_m[axis] ** 2
        for side in (0, 1):
            f = _faces(g, axis, side).astype(np.float64) * c
            acc += f * _shifted(x, axis, side)
            diag += f
    return acc, diag


def apply(level: Level, x):
    """The level's Laplacian: ``sum_faces g (x_nb - x) / d^2``."""
    acc, diag = neighbour_sum(level, x)
    return acc - diag * x


def colour_mask(shape, colour):
    i, j, k = np.indices(shape)
    return (i + j + k) % 2 == colour


def relax(level: Level, x, b, colour):
    """One half sweep of red-black Gauss-Seidel on the cells of ``colour``
    (``(i + j + k) % 2``): ``x = (sum g x_nb / d^2 - b) / diag``; a cell with no open face
    keeps its value."""
    acc, diag = neighbour_sum(level, x)
    m = colour_mask(level.shape, colour) & (diag > 0)
    x = x.copy()
    x[m] = (acc[m] - b[m]) / diag[m]
    return x


def restrict_residual(fine: Level, x, b, coarse: Level):
    """The coarse right side: the mean over each coarse cell's children (``coarse.factors``
    along each axis; missing children past an odd edge count as 0) of the fine residual
    ``b - A x``."""
    return restrict(b - apply(fine, x), coarse.shape, coarse.factors)


def restrict(r, coarse_shape, factors):
    pad = [(0, f * nc - n) for n, nc, f in zip(r.shape, coarse_shape, factors)]
    rp = np.pad(r, pad)
    (n0, n1, n2), (f0, f1, f2) = coarse_shape, factors
    return rp.reshape(n0, f0, n1, f1, n2, f2).sum(axis=(1, 3, 5)) / (f0 * f1 * f2)


def prolong_add(fine: Level, x, xc, factors):
    """``x += xc`` of the parent cell, on cells with an open face."""
    _, diag = neighbour_sum(fine, np.zeros(fine.shape))
    up = xc
    for axis, f in enumerate(factors):
        up = np.repeat(up, f, axis)
    up = up[:fine.shape[0], :fine.shape[1], :fine.shape[2]]
    return x + np.where(diag > 0, up, 0.0)


def vcycle(levels, b, x=None, pre=2, post=2, l=0, coarsest=None):
    """One V-cycle on ``levels[l]``: ``pre`` red-black sweeps (red then black), the
    coarse correction, ``post`` sweeps in the reverse order (black then red), so that the
    cycle is a symmetric operator; the coarsest level by ``coarsest(b)`` (:class:`kernels.multigrid.CoarsestSolve`)."""
    lv = levels[l]
    if x is None:
        x = np.zeros(lv.shape)
    if l == len(levels) - 1:
        return coarsest(b)
    for _ in range(pre):
        x = relax(lv, x, b, 0)
        x = relax(lv, x, b, 1)
    bc = restrict_residual(lv, x, b, levels[l + 1])
    xc = vcycle(levels, bc, None, pre, post, l + 1, coarsest)
    x = prolong_add(lv, x, xc, levels[l + 1].factors)
    for _ in range(post):
        x = relax(lv, x, b, 1)
        x = relax(lv, x, b, 0)
    return x
