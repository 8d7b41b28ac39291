"""Coarse-space correction for the pressure preconditioner (two-level, additive).

The DCT solve of the obstacle-free box is an excellent preconditioner where the fluid
fills the box, but it cannot see walls inside it: a raised-floor slab pierced by a few
tiles, containment panels, rows of racks. The slowest CG modes are then nearly constant
pressure offsets between the regions those walls separate. A coarse space of
piecewise-constant vectors on *aggregates* -- the connected fluid pieces of each
``b x b x b`` block, so that an aggregate never straddles a slab or a panel -- captures
exactly those modes. The preconditioner becomes

    M^-1 r = DCT^-1(r) + P (P^T A P)^-1 P^T r

(additive two-level Schwarz with aggregation coarse space; see Saad, *Iterative Methods
for Sparse Linear Systems*, 2nd ed., SIAM 2003, sec. 14.5 and 14.6, and Vanek, Mandel &
Brezina, Computing 56 (1996) 179-196 for aggregation). ``P`` maps an aggregate's value to
its cells; ``P^T A P`` is assembled once per geometry and factorised on the host.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla


def masked_laplacian_matrix(fluid: np.ndarray, spacing) -> tuple[sp.csr_matrix, np.ndarray]:
    """Sparse masked Laplacian over the fluid cells (same operator as ``pointwise.laplacian``)."""
    idx = np.full(fluid.shape, -1, dtype=np.int64)
    n = int(fluid.sum())
    idx[fluid] = np.arange(n)
    rows, cols, vals = [], [], []
    diag = np.zeros(n)
    for ax in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[ax] = slice(0, -1)
        hi[ax] = slice(1, None)
        a, b = idx[tuple(lo)], idx[tuple(hi)]
        m = (a >= 0) & (b >= 0)
        a, b = a[m], b[m]
        c = 1.0 / spacing[ax] ** 2
        rows += [a, b]
        cols += [b, a]
        vals += [np.full(a.size, c), np.full(a.size, c)]
        np.add.at(diag, a, -c)
        np.add.at(diag, b, -c)
    rows.append(np.arange(n))
    cols.append(np.arange(n))
    vals.append(diag)
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(n, n))
    return A, idx


def aggregates(fluid: np.ndarray, block: int = 4) -> np.ndarray:
    """Aggregate number of every cell (-1 for solid): connected fluid pieces of each block."""
    shape = fluid.shape
    idx = np.full(shape, -1, dtype=np.int64)
    n = int(fluid.sum())
    idx[fluid] = np.arange(n)
    blk = [np.arange(s) // block for s in shape]
    rows, cols = [], []
    for ax in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[ax] = slice(0, -1)
        hi[ax] = slice(1, None)
        a, b = idx[tuple(lo)], idx[tuple(hi)]
        same = (blk[ax][:-1] == blk[ax][1:])
        shp = [1, 1, 1]
        shp[ax] = -1
        m = (a >= 0) & (b >= 0) & same.reshape(shp)
        rows.append(a[m])
        cols.append(b[m])
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    G = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(n, n))
    _, lab = csgraph.connected_components(G, directed=False)
    agg = np.full(shape, -1, dtype=np.int32)
    agg[fluid] = lab.astype(np.int32)
    return agg


class CoarseSpace:
    """``P (P^T A P)^-1 P^T`` for one geometry; apply with :meth:`correct`."""

    def __init__(self, fluid: np.ndarray, spacing, block: int = 4, agg: np.ndarray | None = None):
        A, idx = masked_laplacian_matrix(fluid, spacing)
        if agg is None:          # the caller may pass aggregates(fluid, block) it already has
            agg = aggregates(fluid, block)
        lab = agg[fluid]
        nc = int(lab.max()) + 1 if lab.size else 0
        P = sp.csr_matrix((np.ones(lab.size), (np.arange(lab.size), lab)), shape=(lab.size, nc))
        Ac = (P.T @ A @ P).tocsc()
        # A is singular (constants on each connected region): pin one aggregate per
        # connected component of the coarse graph by a small diagonal shift
        ncomp, comp = csgraph.connected_components(abs(Ac) > 0, directed=False)
        first = np.unique(comp, return_index=True)[1]
        shift = np.zeros(nc)
        shift[first] = -abs(Ac.diagonal()[first]).max() if nc else 0.0
        self.Ac = (Ac + sp.diags(shift)).tocsc()
        self.lu = spla.splu(self.Ac)
        # int16 where the aggregates allow (the map stays on the device: 2 B per cell)
        self.agg = agg.astype(np.int16) if nc <= np.iinfo(np.int16).max else agg
        self.n_coarse = nc
        self.fluid = fluid

    def restrict(self, r_host: np.ndarray) -> np.ndarray:
        a = self.agg.ravel()
        m = a >= 0
        return np.bincount(a[m], weights=r_host.ravel()[m].astype(np.float64),
                           minlength=self.n_coarse)

    def solve(self, rc: np.ndarray) -> np.ndarray:
        return self.lu.solve(rc)

    def prolong(self, xc: np.ndarray, dtype) -> np.ndarray:
        out = np.zeros(self.agg.shape, dtype=dtype)
        m = self.agg >= 0
        out[m] = xc[self.agg[m]]
        return out
