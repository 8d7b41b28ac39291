"""The inner linear solve of the steady heat equation (``kernels.energy._linear_solver``)."""
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from kernels import DivergenceError
from kernels.energy import _linear_solver


def _upwind_matrix(n=12, u=0.8, diff=0.05, sink=0.02):
    """A 3D upwind advection-diffusion operator with a small sink: a nonsymmetric,
    diagonally dominant M-matrix like the heat Jacobian."""
    idx = np.arange(n ** 3).reshape(n, n, n)
    rows, cols, vals = [], [], []
    diag = np.full(n ** 3, -sink)
    for ax in range(3):
        a = np.take(idx, range(n - 1), axis=ax).ravel()
        b = np.take(idx, range(1, n), axis=ax).ravel()
        ua = u if ax == 0 else 0.3 * u
        # flow from a to b: a loses ua*T_a, b gains it; diffusion both ways
        rows += [a, b, b]
        cols += [b, a, a]
        vals += [np.full(a.size, diff), np.full(a.size, diff + ua), np.zeros(a.size)]
        np.add.at(diag, a, -ua - diff)
        np.add.at(diag, b, -diff)
    rows.append(idx.ravel())
    cols.append(idx.ravel())
    vals.append(diag)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n ** 3, n ** 3))


def test_iterative_solve_reaches_its_tolerance(monkeypatch):
    import kernels.energy as energy

    def no_lu(*a, **k):
        raise AssertionError("the LU fallback ran on a well-posed system")
    monkeypatch.setattr(energy.spla, "splu", no_lu)
    J = _upwind_matrix()
    b = np.random.default_rng(0).standard_normal(J.shape[0])
    x = _linear_solver(J)(b)
    rel = np.linalg.norm(J @ x - b) / np.linalg.norm(b)
    assert 0 < energy.INNER_RTOL <= 1e-2 and rel <= energy.INNER_RTOL
    exact = spla.spsolve(J.tocsc(), b)
    assert np.max(np.abs(x - exact)) <= 5 * energy.INNER_RTOL * np.max(np.abs(exact))


def test_singular_system_falls_back_to_lu_and_says_why():
    """A row with nothing in it (no cooling unit holds the level, no wall conducts): the
    iterative solve cannot converge, the LU fallback finds the system singular, and the
    user gets the physical reason, not a SuperLU message alone."""
    J = _upwind_matrix(n=6).tolil()
    J[5, :] = 0.0
    J = J.tocsr()
    b = np.ones(J.shape[0])
    with pytest.raises(DivergenceError, match="no unique solution"):
        _linear_solver(J)(b)
