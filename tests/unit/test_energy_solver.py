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


def test_bicgstab_matches_scipy_and_the_direct_solve():
    """The array-generic BiCGSTAB (the code a GPU backend runs with CuPy) against scipy's
    on the same system: both meet the residual rule, and agree with the direct solve."""
    from kernels.energy import bicgstab
    J = _upwind_matrix()
    b = np.random.default_rng(1).standard_normal(J.shape[0])
    d = J.diagonal()
    exact = spla.spsolve(J.tocsc(), b)
    for rtol in (1e-2, 1e-6):
        x, info = bicgstab(J, b, 1.0 / d, np, rtol)
        assert info == 0
        assert np.linalg.norm(J @ x - b) <= rtol * np.linalg.norm(b)
        M = spla.LinearOperator(J.shape, lambda y: y / d)
        xs, info_s = spla.bicgstab(J, b, M=M, rtol=rtol, maxiter=1000)
        assert info_s == 0
        err = np.max(np.abs(x - exact)) / np.max(np.abs(exact))
        err_s = np.max(np.abs(xs - exact)) / np.max(np.abs(exact))
        assert err <= max(3 * err_s, 50 * rtol)
    assert np.max(np.abs(x - exact)) <= 1e-4 * np.max(np.abs(exact))
    # no right-hand side, no work; too few iterations say so
    z, info = bicgstab(J, np.zeros_like(b), 1.0 / d, np, 1e-3)
    assert info == 0 and not z.any()
    _, info = bicgstab(J, b, 1.0 / d, np, 1e-12, maxiter=2)
    assert info == 2


class _Device:
    """A stand-in GPU backend on the host: counts what the heat solve moves to the
    device and back (numpy arrays wrapped, so a forgotten transfer fails loudly)."""
    is_gpu = True
    xp = np

    def __init__(self):
        self.copies = {"sparse": 0, "to_device": 0, "to_host": 0}

    def sparse(self, m):
        self.copies["sparse"] += 1
        return m

    def asarray(self, a, dtype=None):
        self.copies["to_device"] += 1
        return np.asarray(a, dtype=dtype)

    def to_host(self, a):
        self.copies["to_host"] += 1
        return np.asarray(a)


def test_heat_inner_solve_runs_on_the_backend_device():
    """On a GPU backend the matrix goes to the device once; each solve moves its
    right-hand side there and its answer back, and gives the host's answer."""
    J = _upwind_matrix()
    dev = _Device()
    solve_dev = _linear_solver(J, dev)
    assert dev.copies == {"sparse": 1, "to_device": 1, "to_host": 0}   # J and 1/diag
    b = np.random.default_rng(2).standard_normal(J.shape[0])
    x_dev = solve_dev(b)
    x_host = _linear_solver(J)(b)
    assert dev.copies == {"sparse": 1, "to_device": 2, "to_host": 1}
    np.testing.assert_allclose(x_dev, x_host, rtol=0, atol=1e-12)
