"""Multigrid for the steady heat equation's linear solve, by geometric aggregation.

The defect correction of :mod:`kernels.energy` solves ``J x = b`` about twenty times per
heat finish, where ``J`` is the upwind advection, diffusion and port operator of the fluid
cells plus one row per device outlet temperature: nonsymmetric, a diagonally dominant
M-matrix. Jacobi-preconditioned BiCGSTAB needs some 200 iterations on a hall, because a
Jacobi sweep moves information one cell per iteration while the air carries it across
the room. A multigrid cycle moves it across the room in one.

The hierarchy (:class:`AggregationMultigrid`):

* **Aggregates are the pressure multigrid's coarse cells** (:func:`kernels.multigrid
  .levels_for`): fluid cells grouped into blocks of up to 2x2x2, coarsened only along
  axes that merge no cells across a wall (the floor slab: semi-coarsening), so a coarse
  unknown never joins air that the solid keeps apart. Each device outlet temperature
  stays its own unknown on every level.
* **Galerkin coarse operators** ``A_c = P^T A P`` with the piecewise-constant
  prolongation ``P`` (the aggregation AMG of Vanek, Mandel & Brezina, Computing 56 (1996)
  179-196, and of Notay, ETNA 37 (2010) 123-146, here with geometric aggregates). Summed
  over an aggregate, the first-order upwind fluxes are exactly the coarse cell's upwind
  fluxes, so the advection, which dominates in a hall, is represented without loss; the
  diffusion comes out twice too stiff (the over-correction of piecewise-constant
  aggregation, Braess 1995), which matters little where the air carries the heat.
* **Smoothing** by ``pre`` and ``post`` sweeps of damped Jacobi (``OMEGA``): only
  sparse products and vector operations, so the same cycle runs with scipy.sparse on the
  host and cupyx.scipy.sparse on a GPU. The coarsest level (up to
  :data:`COARSEST_UNKNOWNS`) is solved exactly on the host (sparse LU, built once).

The V-cycle is a fixed linear operator, so it preconditions BiCGSTAB (right
preconditioning: :func:`kernels.energy.bicgstab`). What it gains over Jacobi is measured
in ``benchmarks/results/heat-multigrid-2026-12-07.md``.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from . import multigrid

#: Jacobi damping of the smoother (2/3 is the textbook value for a Laplacian; the
#: upwind rows, diagonally dominant, take it as well).
OMEGA = 0.7
#: The coarsest level's unknowns at most (solved by sparse LU on the host).
COARSEST_UNKNOWNS = 2000
#: A coarsest level whose smallest LU pivot is below this share of the largest is taken
#: as singular: nothing holds the temperature level (no cooling unit at its set point, no
#: wall that conducts: a closed cavity). Its correction would be rounding amplified (a
#: lid-driven cavity: 1e9 K); the solve then keeps Jacobi, whose iterates stay bounded on
#: such a consistent singular system.
SINGULAR_PIVOT = 1e-10


#: Hierarchies kept by :func:`aggregation_maps` (the most recently used ones): one per
#: hall and grid a process works on at a time.
MAPS_KEPT = 4
_MAPS: OrderedDict = OrderedDict()


def aggregation_maps(fluid: np.ndarray, spacing_m, n_extra: int = 0) -> tuple:
    """The prolongations of the hierarchy, finest first: 0/1 CSR matrices ``P_l``
    (level-l unknowns by level-(l+1) unknowns). Level 0's unknowns are the fluid cells in
    row-major order, then ``n_extra`` unknowns (device outlets) that stay their own
    aggregate on every level.

    They depend on the geometry alone, not on the flow, so they are built once per fluid
    mask, spacing and device count and kept (the :data:`MAPS_KEPT` most recent): every
    heat finish of a steady solve, and every response column of ``twin run``, reuses
    them. Building them is most of the multigrid's set-up; the Galerkin products that
    follow the flow are the rest (figures: ``benchmarks/results/heat-multigrid-*.md``).
    The matrices are shared: callers must not modify them.
    """
    fluid = np.asarray(fluid, bool)
    key = (fluid.shape, hashlib.sha1(np.packbits(fluid)).hexdigest(),
           tuple(float(d) for d in spacing_m), int(n_extra))
    if key in _MAPS:
        _MAPS.move_to_end(key)
        return _MAPS[key]
    maps = _build_maps(fluid, spacing_m, int(n_extra))
    _MAPS[key] = maps
    while len(_MAPS) > MAPS_KEPT:
        _MAPS.popitem(last=False)
    return maps


def _build_maps(fluid: np.ndarray, spacing_m, n_extra: int) -> tuple:
    levels = multigrid.levels_for(fluid, spacing_m, coarsest_cells=1)
    coords = np.nonzero(fluid)               # the active cells of the current level
    maps = []
    for lev in levels[1:]:
        f = lev.factors
        cs = lev.shape
        parent = ((coords[0] // f[0]) * cs[1] + coords[1] // f[1]) * cs[2] + coords[2] // f[2]
        uniq, inv = np.unique(parent, return_inverse=True)
        n_fine, n_coarse = len(parent), len(uniq)
        rows = np.concatenate([np.arange(n_fine), n_fine + np.arange(n_extra)])
        cols = np.concatenate([inv, n_coarse + np.arange(n_extra)])
        maps.append(sp.csr_matrix((np.ones(len(rows)), (rows, cols)),
                                  shape=(n_fine + n_extra, n_coarse + n_extra)))
        coords = np.unravel_index(uniq, cs)
        if n_coarse + n_extra <= COARSEST_UNKNOWNS:
            break
    return tuple(maps)


class NoHierarchy(ValueError):
    """No usable hierarchy for this operator (the caller falls back to Jacobi)."""


class SingularCoarsest(NoHierarchy):
    """The coarsest level's operator is singular."""


#: A coarsest level larger than this (walls so dense that no axis coarsens) is not
#: factorised: the solve keeps Jacobi.
MAX_COARSEST_LU = 20_000


class AggregationMultigrid:
    """A V-cycle for ``A x = b`` (``A`` the heat Jacobian, host scipy CSR) on
    ``backend`` (``None``: the host). Calling it with a residual ``r`` (a device array)
    returns ``M^-1 r``, the cycle's approximation of ``A^-1 r`` from zero. Raises
    :class:`NoHierarchy` where the coarsest level is too large to factorise
    (:data:`MAX_COARSEST_LU`), :class:`SingularCoarsest` where it is singular."""

    def __init__(self, A, fluid: np.ndarray, spacing_m, n_extra: int = 0, backend=None,
                 pre: int = 2, post: int = 2):
        A = sp.csr_matrix(A, dtype=np.float64)
        gpu = backend is not None and backend.is_gpu
        dev = backend.sparse if gpu else (lambda m: m)
        self._vec = backend.asarray if gpu else (lambda a: a)
        self._host = backend.to_host if gpu else (lambda a: a)
        self.pre, self.post = int(pre), int(post)
        self.A, self.inv_d, self.P, self.R = [], [], [], []
        self.sizes = [A.shape[0]]
        for P in aggregation_maps(fluid, spacing_m, n_extra):
            self._add_level(A, dev)
            self.P.append(dev(P.tocsr()))
            self.R.append(dev(P.T.tocsr()))
            A = (P.T @ A @ P).tocsr()
            self.sizes.append(A.shape[0])
        if A.shape[0] > MAX_COARSEST_LU:
            raise NoHierarchy(f"the coarsest level has {A.shape[0]:,} unknowns")
        try:
            self.lu = spla.splu(A.tocsc())
        except RuntimeError as exc:  # "exactly singular": nothing holds the level there
            raise SingularCoarsest(str(exc)) from None
        pivots = np.abs(self.lu.U.diagonal())
        if pivots.min() <= SINGULAR_PIVOT * pivots.max():   # singular but for rounding
            raise SingularCoarsest(f"smallest pivot {pivots.min():.1e} of {pivots.max():.1e}")

    def _add_level(self, A, dev):
        d = A.diagonal()
        self.A.append(dev(A))
        self.inv_d.append(self._vec(OMEGA / np.where(d != 0.0, d, 1.0)))

    @property
    def levels(self) -> int:
        return len(self.sizes)

    def __call__(self, r):
        return self._cycle(0, r)

    def _cycle(self, lvl, b):
        if lvl == len(self.A):
            return self._vec(self.lu.solve(np.asarray(self._host(b), np.float64)))
        A, w = self.A[lvl], self.inv_d[lvl]
        x = w * b
        for _ in range(self.pre - 1):
            x = x + w * (b - A @ x)
        rc = self.R[lvl] @ (b - A @ x)
        x = x + self.P[lvl] @ self._cycle(lvl + 1, rc)
        for _ in range(self.post):
            x = x + w * (b - A @ x)
        return x
