"""Geometric multigrid (``kernels.multigrid``): the compiled kernels against the float64
NumPy reference (``kernels.reference_multigrid``), the finest level against the solver's
masked Laplacian, the V-cycle as a symmetric operator, and the coarsening rule.

Tolerance as for every kernel: float64 ``max |numba - reference| <= 1e-12 * max
|reference|``; float32 ``1e-5``.
"""
from __future__ import annotations

import numpy as np
import pytest

from kernels import multigrid as mg
from kernels import reference_multigrid as rm
from kernels.setup import cell_codes

cpu = pytest.importorskip("kernels.cpu")

SPACING = (0.2, 0.25, 0.15)
SHAPES = ((9, 6, 7), (8, 5, 4), (12, 10, 9))
TOL = {np.float64: 1e-12, np.float32: 1e-5}


def _mask(shape, seed):
    """A fluid mask with a few solid blocks and a one-cell wall with a hole."""
    rng = np.random.default_rng(seed)
    solid = np.zeros(shape, bool)
    for _ in range(3):
        lo = [int(rng.integers(0, n - 1)) for n in shape]
        hi = [min(n, a + int(rng.integers(1, 4))) for a, n in zip(lo, shape)]
        solid[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = True
    wall = shape[2] // 2
    solid[:, :, wall] = True
    solid[1:3, 1:3, wall] = False
    return ~solid


def _rel(x, y):
    return float(np.max(np.abs(np.asarray(x, np.float64) - y)) / np.max(np.abs(y)))


def _level_args(levels, l, fluid, dtype):
    """The kernel arguments of level ``l``: the cell codes on the finest, the face
    coefficients on a coarser level."""
    lv = levels[l]
    c = tuple(dtype(1.0 / (d * d)) for d in lv.spacing_m)
    if l == 0:
        no_g = np.zeros((1, 1, 1), dtype)
        return (cell_codes(~fluid), no_g, no_g, no_g) + c + (True,)
    return ((np.zeros((1, 1, 1), np.uint8),)
            + tuple(np.ascontiguousarray(g, dtype=dtype) for g in lv.g) + c + (False,))


@pytest.fixture(params=list(range(len(SHAPES))), ids=lambda n: "x".join(map(str, SHAPES[n])))
def case(request):
    shape = SHAPES[request.param]
    fluid = _mask(shape, request.param)
    levels = mg.levels_for(fluid, SPACING, coarsest_cells=8, semi=False)
    rng = np.random.default_rng(10 + request.param)
    return fluid, levels, rng


def test_finest_level_is_the_solvers_masked_laplacian(case):
    fluid, levels, rng = case
    x = rng.standard_normal(fluid.shape)
    out = np.zeros(fluid.shape)
    dx, dy, dz = SPACING
    cpu.laplacian(out, x, cell_codes(~fluid), dx, dy, dz)
    assert _rel(out, rm.apply(levels[0], x)) <= 1e-12


def test_coarse_levels_keep_the_flux_of_a_smooth_field():
    """The coarse operator is the fine one discretised again: on an obstacle-free box
    the Laplacian of a quadratic is exact on every level."""
    shape = (8, 8, 8)
    levels = mg.levels_for(np.ones(shape, bool), SPACING, coarsest_cells=8)
    assert len(levels) >= 3
    for lv in levels:
        x = (np.arange(lv.shape[0]) * lv.spacing_m[0])[:, None, None] ** 2 * np.ones(lv.shape)
        lap = rm.apply(lv, x)
        assert np.allclose(lap[1:-1, :, :], 2.0, rtol=1e-12)


@pytest.mark.parametrize("dtype", (np.float64, np.float32))
@pytest.mark.parametrize("factors", ((2, 2, 2), (2, 1, 2), (1, 1, 2)), ids=str)
@pytest.mark.parametrize("level", (0, 1))
def test_kernels_match_the_reference(case, level, factors, dtype):
    fluid, levels, rng = case
    lv = levels[level]
    levels = levels[:level + 1] + [mg.coarsen(lv, factors)]
    args = _level_args(levels, level, fluid, dtype)
    active = mg.diagonal(lv) > 0
    x = rng.standard_normal(lv.shape) * active
    b = rng.standard_normal(lv.shape) * active
    for colour in (0, 1):
        got = x.astype(dtype)
        cpu.mg_relax(got, b.astype(dtype), *args, colour)
        assert _rel(got, rm.relax(lv, x, b, colour)) <= TOL[dtype]
    cs = levels[level + 1].shape
    bc = np.zeros(cs, dtype)
    cpu.mg_restrict(bc, x.astype(dtype), b.astype(dtype), *args, *factors)
    assert _rel(bc, rm.restrict_residual(lv, x, b, levels[level + 1])) <= TOL[dtype]
    xc = rng.standard_normal(cs)
    got = x.astype(dtype)
    cpu.mg_prolong(got, xc.astype(dtype), *args, *factors)
    assert _rel(got, rm.prolong_add(lv, x, xc, factors)) <= TOL[dtype]


def _consistent(b, fluid):
    """``b`` with zero mean over every connected fluid region (the Neumann problem's
    solvability condition), 0 in solid cells."""
    import scipy.ndimage as ndi

    b = b * fluid
    label, n = ndi.label(fluid)
    for c in range(1, n + 1):
        m = label == c
        b[m] -= b[m].mean()
    return b


def _backend():
    from kernels.backend import get_backend
    return get_backend("numba-cpu")


def test_v_cycle_matches_the_reference_and_is_symmetric(case):
    fluid, _, rng = case
    be = _backend()
    m2 = mg.Multigrid(be, cell_codes(~fluid), fluid, SPACING, np.float64, coarsest_cells=8)
    assert len(m2.levels) >= 2
    a = _consistent(rng.standard_normal(fluid.shape), fluid)
    b = _consistent(rng.standard_normal(fluid.shape), fluid)
    ma = np.zeros(fluid.shape)
    m2.apply(a, ma)
    ref = rm.vcycle(m2.levels, a, coarsest=m2.coarsest)
    ref = (ref - ref[fluid].mean()) * fluid       # apply takes the mean out
    assert _rel(ma, ref) <= 1e-11
    assert abs(ma[fluid].mean()) <= 1e-12 * np.abs(ma).max()
    mb = np.zeros(fluid.shape)
    m2.apply(b, mb)
    assert abs(np.vdot(b, ma) - np.vdot(a, mb)) <= 1e-10 * abs(np.vdot(a, ma))


def test_coarsening_does_not_merge_across_a_wall():
    """A one-cell slab with one hole between two rooms: the levels coarsen along all three
    axes while no coarse cell holds cells from both sides (the hole apart), then along x
    and y only (semi-coarsening: the slab stays resolved), down to the coarsest size."""
    shape = (16, 16, 16)
    fluid = np.ones(shape, bool)
    fluid[:, :, 5] = False
    fluid[7:9, 7:9, 5] = True
    levels = mg.levels_for(fluid, SPACING, coarsest_cells=8)
    assert [lv.factors for lv in levels] == [(1, 1, 1), (2, 2, 2), (2, 2, 1), (2, 2, 1),
                                             (2, 2, 1)]
    assert [lv.shape for lv in levels][-1] == (1, 1, 8)
    for fine, coarse in zip(levels, levels[1:]):
        assert mg.split_cells(fine, coarse.factors) == 0
    assert mg.split_cells(levels[1]) > 0          # a full coarsening there would merge
    # the plain hierarchy goes on along every axis
    deep = mg.levels_for(fluid, SPACING, coarsest_cells=8, semi=False)
    assert deep[-1].shape == (2, 2, 2)


def test_coarsest_solve_is_exact_on_each_region():
    fluid = np.ones((6, 5, 4), bool)
    fluid[3, :, :] = False                  # two regions
    lv = mg.finest_level(fluid, SPACING)
    b = _consistent(np.random.default_rng(1).standard_normal(fluid.shape), fluid)
    x = mg.CoarsestSolve(lv)(b)
    assert _rel(rm.apply(lv, x) * fluid, b) <= 1e-10
    assert np.all(x[~fluid] == 0)
