"""Geometric multigrid for the masked Poisson equation of the pressure.

The grid is uniform, so the levels are the grid coarsened 2:1 (a coarse cell is the up to
eight fine cells ``2I..2I+1, 2J..2J+1, 2K..2K+1``; an odd count leaves the last coarse cell
with fewer children), or 2:1 along some axes only (semi-coarsening, below). Every level is
a cell-centred 7-point operator

    (A x)_c = sum over the six faces  g_f (x_nb - x_c) / d_axis^2

with a face coefficient ``g`` in [0, 1]. On the finest level ``g`` is 1 on an open face
(both cells fluid, ``kernels/README.md``) and 0 on a closed one: it is the solver's
masked Laplacian, Neumann at walls and the box. A coarse face's ``g`` is the mean of the
fine face coefficients it covers, at the spacing times the coarsening factor: the
operator discretised again on the coarse grid, with walls that cover part of a coarse
face as a partly open face (the coarse operator of Wesseling (1992), "An Introduction to
Multigrid Methods", ch. 5, for cell-centred discretisations with piecewise-constant
prolongation; with that prolongation the Galerkin product would be twice too stiff, the
"over-correction" of aggregation methods, Braess 1995).

A coarse cell must not hold fluid from both sides of a wall (the floor slab between the
plenum and the room, a panel): a piecewise-constant correction cannot represent the jump
across it, and the cycle stalls. So each level is coarsened along every axis where that
merges no cells across a wall (:func:`split_cells`), else along the largest set of axes
that merges none (a horizontal slab: along x and y only), as in the semi-coarsening of
Dendy and of Schaffer (1998, SIAM J. Sci. Comput. 20:228) for anisotropic problems.

A V-cycle (:class:`Multigrid`): on each level ``pre`` red-black Gauss-Seidel sweeps
(red cells ``(i + j + k)`` even, then black), the residual restricted to the next level
as the mean over each coarse cell's children, the correction found there recursively and
added back to every child (piecewise-constant prolongation), and ``post`` sweeps in the
reverse colour order. Coarsening stops at :data:`COARSEST_CELLS`, or where no axis can be
coarsened, and the coarsest level is solved exactly on the host (:class:`CoarsestSolve`).
Pre- and post-smoothing are adjoint and the restriction is the transpose of the
prolongation over the children's count, so the cycle is a symmetric operator: it
preconditions the solver's conjugate gradients
(``SolverSettings.pressure_preconditioner = "multigrid"``).

The per-cell items are :func:`kernels.pointwise` ``mg_relaxed``, ``mg_restricted`` and
``mg_prolonged``, compiled for every backend; :mod:`kernels.reference_multigrid` is the
float64 NumPy reference.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A face ties the two cells beside it (for :func:`split_cells`) when at least this
#: share of it is open.
STRONG = 0.25
#: Coarsening stops at this many cells (the coarsest level is solved exactly on the host).
COARSEST_CELLS = 512


@dataclass(frozen=True, eq=False)
class Level:
    """One level: ``shape`` cells of ``spacing_m``; ``g`` the face coefficients along
    x, y, z, shaped ``(n0+1, n1, n2)``, ``(n0, n1+1, n2)``, ``(n0, n1, n2+1)`` (host
    float64, 0 on the box faces); ``factors`` the coarsening factor (1 or 2) along each
    axis from the level above it (``(1, 1, 1)`` on the finest)."""

    shape: tuple
    spacing_m: tuple
    g: tuple
    factors: tuple = (1, 1, 1)


def finest_level(fluid: np.ndarray, spacing_m) -> Level:
    """The solver's masked Laplacian: ``g`` 1 on faces between two fluid cells."""
    fluid = np.asarray(fluid, bool)
    g = []
    for axis in range(3):
        shape = list(fluid.shape)
        shape[axis] += 1
        ga = np.zeros(shape)
        n = fluid.shape[axis]
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        mid = [slice(None)] * 3
        lo[axis], hi[axis], mid[axis] = slice(0, n - 1), slice(1, n), slice(1, n)
        ga[tuple(mid)] = fluid[tuple(lo)] & fluid[tuple(hi)]
        g.append(ga)
    return Level(tuple(fluid.shape), tuple(float(d) for d in spacing_m), tuple(g))


def finest_level_like(level: Level) -> Level:
    """A finest level with its face coefficients back to the open-face bits (1 where a
    coefficient is positive)."""
    return Level(level.shape, level.spacing_m, tuple((g > 0).astype(np.float64)
                                                     for g in level.g))


def coarse_shape(shape, factors=(2, 2, 2)) -> tuple:
    return tuple((n + f - 1) // f for n, f in zip(shape, factors))


def coarsen(level: Level, factors=(2, 2, 2)) -> Level:
    """The next level, coarsened by ``factors`` (1 or 2 per axis): every coarse face's
    coefficient is the mean of the fine face coefficients it covers (faces past an odd
    edge count as closed), at the spacing times the factor."""
    factors = tuple(int(f) for f in factors)
    cs = coarse_shape(level.shape, factors)
    g = []
    for axis in range(3):
        ga = level.g[axis]
        # the fine faces on coarse face planes: fine index f*I along the axis
        take = [slice(None)] * 3
        take[axis] = slice(0, None, factors[axis])
        planes = ga[tuple(take)]
        want = list(cs)
        want[axis] += 1
        pad = [(0, 0)] * 3
        for a in range(3):
            if a != axis:
                pad[a] = (0, factors[a] * cs[a] - ga.shape[a])
            else:
                pad[a] = (0, want[a] - planes.shape[a])
        planes = np.pad(planes, pad)
        shape6 = []
        for a in range(3):
            shape6 += [want[a], 1] if a == axis else [cs[a], factors[a]]
        covered = int(np.prod([factors[a] for a in range(3) if a != axis]))
        gc = planes.reshape(shape6).sum(axis=(1, 3, 5)) / covered
        gc[tuple(slice(0, 1) if a == axis else slice(None) for a in range(3))] = 0.0
        gc[tuple(slice(-1, None) if a == axis else slice(None) for a in range(3))] = 0.0
        g.append(gc)
    return Level(cs, tuple(d * f for d, f in zip(level.spacing_m, factors)), tuple(g),
                 factors)


def split_cells(level: Level, factors=(2, 2, 2)) -> int:
    """How many cells of the level coarsened by ``factors`` would hold fluid children that
    are not connected to each other inside it (a wall between them: the floor slab
    between a plenum and the room, a panel). A piecewise-constant correction cannot
    represent the jump across such a wall, and a cycle through that level stalls (the
    small hall at 0.2 m: 0.92 per cycle through a level with 40 such cells, 0.25
    without it)."""
    import scipy.sparse as sp
    import scipy.sparse.csgraph as csg
    n = int(np.prod(level.shape))
    idx = np.arange(n).reshape(level.shape)
    rows, cols = [], []
    for axis, g in enumerate(level.g):
        m = level.shape[axis]
        if factors[axis] == 1 or m < 2:
            continue                       # no two children side by side along it
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        inner = [slice(None)] * 3
        lo[axis], hi[axis], inner[axis] = slice(0, m - 1), slice(1, m), slice(1, m)
        face = np.arange(1, m).reshape([-1 if a == axis else 1 for a in range(3)])
        # a face inside one block that ties its two cells (a hole of a few per cent of a
        # coarse face does not: across it the two sides move apart)
        within = (g[tuple(inner)] >= STRONG) & (face % 2 == 1)
        rows.append(idx[tuple(lo)][within])
        cols.append(idx[tuple(hi)][within])
    r = np.concatenate(rows) if rows else np.zeros(0, int)
    c = np.concatenate(cols) if cols else np.zeros(0, int)
    graph = sp.coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n))
    _, label = csg.connected_components(graph, directed=False)
    active = (diagonal(level) > 0).reshape(-1)
    cs = coarse_shape(level.shape, factors)
    i, j, k = np.indices(level.shape)
    parent = (((i // factors[0]) * cs[1] + j // factors[1]) * cs[2]
              + k // factors[2]).reshape(-1)
    pairs = np.unique(np.stack([parent[active], label[active]]), axis=1)
    return int((np.bincount(pairs[0], minlength=int(np.prod(cs))) > 1).sum())


def _choose_factors(level: Level):
    """The coarsening of the next level: along every axis with more than one cell if that
    merges no cells across a wall, else along the largest set of axes that does (the
    axes along which a wall runs stay fine: semi-coarsening); ``None`` where every choice
    would merge (the level is then the coarsest)."""
    from itertools import combinations
    axes = [a for a in range(3) if level.shape[a] > 1]
    for size in range(len(axes), 0, -1):
        best = None
        for sub in combinations(axes, size):
            f = tuple(2 if a in sub else 1 for a in range(3))
            if split_cells(level, f) == 0:
                cells = int(np.prod(coarse_shape(level.shape, f)))
                if best is None or cells < best[0]:
                    best = (cells, f)
        if best is not None:
            return best[1]
    return None


def levels_for(fluid: np.ndarray, spacing_m, coarsest_cells: int = COARSEST_CELLS,
               semi: bool = True):
    """The hierarchy from the fluid mask: coarsened while the level has more than
    ``coarsest_cells`` cells, along the axes that merge no cells across a wall
    (:func:`_choose_factors`; ``semi=False``: along every axis regardless, the plain
    geometric hierarchy), until no axis can be coarsened."""
    levels = [finest_level(fluid, spacing_m)]
    while int(np.prod(levels[-1].shape)) > coarsest_cells and max(levels[-1].shape) > 1:
        if semi:
            f = _choose_factors(levels[-1])
        else:
            f = tuple(2 if n > 1 else 1 for n in levels[-1].shape)
        if f is None:
            break
        levels.append(coarsen(levels[-1], f))
    return levels


def diagonal(level: Level) -> np.ndarray:
    """``sum_faces g / d^2`` of each cell."""
    diag = np.zeros(level.shape)
    for axis, g in enumerate(level.g):
        c = 1.0 / level.spacing_m[axis] ** 2
        n = level.shape[axis]
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, n), slice(1, n + 1)
        diag += (g[tuple(lo)] + g[tuple(hi)]) * c
    return diag


def sparse_matrix(level: Level):
    """The level's operator as a sparse matrix over all its cells (row-major order)."""
    import scipy.sparse as sp
    n = int(np.prod(level.shape))
    idx = np.arange(n).reshape(level.shape)
    rows, cols, vals = [idx.reshape(-1)], [idx.reshape(-1)], [-diagonal(level).reshape(-1)]
    for axis, g in enumerate(level.g):
        c = 1.0 / level.spacing_m[axis] ** 2
        m = level.shape[axis]
        inner = [slice(None)] * 3
        inner[axis] = slice(1, m)
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, m - 1), slice(1, m)
        gi = g[tuple(inner)].reshape(-1) * c
        a = idx[tuple(lo)].reshape(-1)
        b = idx[tuple(hi)].reshape(-1)
        keep = gi > 0
        rows += [a[keep], b[keep]]
        cols += [b[keep], a[keep]]
        vals += [gi[keep], gi[keep]]
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n, n))


class CoarsestSolve:
    """The coarsest level solved exactly on the host: its operator is singular (a
    constant per connected region is free), so one cell of each region is held at 0 and
    the rest is factorised once (sparse LU); cells with no open face map to 0. Symmetric
    positive semi-definite, as a preconditioner of conjugate gradients needs."""

    def __init__(self, level: Level):
        import scipy.sparse.csgraph as csg
        import scipy.sparse.linalg as spla
        A = sparse_matrix(level)
        active = diagonal(level).reshape(-1) > 0
        n_regions, label = csg.connected_components(A, directed=False)
        first = np.full(n_regions, -1)
        order = np.arange(A.shape[0])[::-1]
        first[label[order]] = order          # the lowest index of every region
        keep = active.copy()
        keep[first] = False
        self.keep = np.flatnonzero(keep)
        self.n = A.shape[0]
        self.shape = level.shape
        sub = (-A)[self.keep][:, self.keep].tocsc()
        self.lu = spla.splu(sub) if len(self.keep) else None

    def __call__(self, b):
        x = np.zeros(self.n)
        if self.lu is not None:
            x[self.keep] = -self.lu.solve(np.asarray(b, np.float64).reshape(-1)[self.keep])
        return x.reshape(self.shape)


class Multigrid:
    """The V-cycle on a backend, as the preconditioner ``out = M r`` of the pressure's
    conjugate gradients (:func:`kernels.stages.precondition`).

    The finest level is the solver's own grid: its cell codes (``solid``) give the open
    faces, and the cycle's arrays there are the preconditioner's input and output (no
    extra fine field). Each coarser level holds three face-coefficient arrays and two
    cell arrays (``x``, ``b``) on the backend: 0.7-0.9 words per fine cell over all levels
    on the shipped halls (``kernels/memory.py``).
    """

    def __init__(self, backend, codes, fluid: np.ndarray, spacing_m, dtype, pre: int = 2,
                 post: int = 2, coarsest_cells: int = COARSEST_CELLS, weights=None):
        self.backend = be = backend
        self.dtype = dt = np.dtype(dtype)
        self.pre, self.post = int(pre), int(post)
        self.levels = levels_for(fluid, spacing_m, coarsest_cells)
        self.codes = codes
        self.n_fluid = max(int(np.count_nonzero(fluid)), 1)
        self._no_g = be.zeros((1, 1, 1), dt)
        self._no_codes = be.zeros((1, 1, 1), np.uint8)
        self.x = [None] + [be.zeros(lv.shape, dt) for lv in self.levels[1:]]
        self.b = [None] + [be.zeros(lv.shape, dt) for lv in self.levels[1:]]
        self.c = [tuple(dt.type(1.0 / (d * d)) for d in lv.spacing_m) for lv in self.levels]
        self.weighted = False
        self.reweight(weights)

    def reweight(self, weights=None) -> None:
        """Set the finest level's face coefficients to the open-face bits times
        ``weights`` (three host arrays shaped as the faces along x, y, z, in [0, 1]; the
        operator ``div(w grad x)`` of a projection with a step per face,
        :mod:`kernels.local_steps`), or back to the bits alone (``None``). The coarse
        levels keep the hierarchy's coarsening factors (chosen from the walls alone) and
        take the means of the weighted faces; the coarsest solve is factorised again."""
        be, dt = self.backend, self.dtype
        levels = self.levels
        if weights is not None:
            g0 = tuple((o > 0) * np.asarray(w, np.float64) for o, w in zip(levels[0].g, weights))
            levels = [Level(levels[0].shape, levels[0].spacing_m, g0)]
            for lv in self.levels[1:]:
                levels.append(coarsen(levels[-1], lv.factors))
        elif self.weighted:
            levels = [finest_level_like(self.levels[0])]
            for lv in self.levels[1:]:
                levels.append(coarsen(levels[-1], lv.factors))
        self.weighted = weights is not None
        self.levels = levels
        self.coarsest = CoarsestSolve(levels[-1])
        self.g = [tuple(be.asarray(np.ascontiguousarray(a, dtype=dt)) for a in lv.g)
                  if (l or self.weighted) else None for l, lv in enumerate(levels)]

    @property
    def shapes(self) -> list:
        return [lv.shape for lv in self.levels]

    def _args(self, l):
        if l == 0 and not self.weighted:
            return (self.codes, self._no_g, self._no_g, self._no_g) + self.c[0] + (True,)
        return (self._no_codes,) + self.g[l] + self.c[l] + (False,)

    def apply(self, r, out) -> None:
        """``out = M r``: one V-cycle from ``out = 0``, then its mean over the fluid taken
        out. The pressure is free to within a constant; the coarsest solve fixes that
        constant by a held cell, and without the projection the conjugate gradients
        drift along it at tight tolerances in float32 (the AI hall's final projection to
        1e-6 diverged). The DCT box solve drops the mean mode the same way."""
        out[...] = 0
        self._cycle(0, out, r)
        k = self.backend.kernels
        mean = k.masked_sum(out, self.codes) / self.n_fluid
        k.masked_shift(out, self.codes, self.dtype.type(mean))

    def _cycle(self, l, x, b) -> None:
        be = self.backend
        k = be.kernels
        if l == len(self.levels) - 1:
            x[...] = be.asarray(self.coarsest(be.to_host(b)).astype(self.dtype))
            return
        args = self._args(l)
        for _ in range(self.pre):
            k.mg_relax(x, b, *args, 0)
            k.mg_relax(x, b, *args, 1)
        f = self.levels[l + 1].factors
        k.mg_restrict(self.b[l + 1], x, b, *args, *f)
        self.x[l + 1][...] = 0
        self._cycle(l + 1, self.x[l + 1], self.b[l + 1])
        k.mg_prolong(x, self.x[l + 1], *args, *f)
        for _ in range(self.post):
            k.mg_relax(x, b, *args, 1)
            k.mg_relax(x, b, *args, 0)
