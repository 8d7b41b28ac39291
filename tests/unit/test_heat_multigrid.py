"""The multigrid of the steady heat solve (``kernels.heat_multigrid``): aggregates that do
not cross walls, Galerkin levels that keep upwind advection exact, a V-cycle that cuts
BiCGSTAB's iterations, the same answer on a (stand-in) device, and a hall's heat finish
that agrees with the Jacobi-preconditioned one and closes its balance."""
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from common.errors import InputError
from kernels import energy
from kernels.heat_multigrid import AggregationMultigrid, aggregation_maps
from kernels.solver import Solver, SolverSettings
from tests.unit.test_energy_solver import _Device
from tests.verification.cases import room


def _upwind(fluid, spacing, vel=(0.6, 0.2, -0.1), diff=0.02, sink=0.01, n_extra=0):
    """First-order upwind advection by a uniform velocity and central diffusion on the
    fluid cells of ``fluid`` (closed faces to solid), a small sink, and ``n_extra``
    unknowns with unit rows tied to the first cells: a heat Jacobian in miniature."""
    shape = fluid.shape
    N = int(fluid.sum())
    idx = np.full(shape, -1)
    idx[fluid] = np.arange(N)
    rows, cols, vals = [], [], []
    diag = np.full(N, -sink)
    for ax in range(3):
        d = spacing[ax]
        a = np.take(idx, range(shape[ax] - 1), axis=ax).ravel()
        b = np.take(idx, range(1, shape[ax]), axis=ax).ravel()
        ok = (a >= 0) & (b >= 0)
        a, b = a[ok], b[ok]
        q = vel[ax] / d
        D = diff / d ** 2
        qp, qm = max(q, 0.0), min(q, 0.0)
        np.add.at(diag, a, -qp - D)
        np.add.at(diag, b, qm - D)
        rows += [a, b]
        cols += [b, a]
        vals += [np.full(a.size, -qm + D), np.full(a.size, qp + D)]
    rows.append(np.arange(N))
    cols.append(np.arange(N))
    vals.append(diag)
    for e in range(n_extra):
        rows += [np.array([N + e, N + e])]
        cols += [np.array([N + e, e])]
        vals += [np.array([1.0, -1.0])]
    n = N + n_extra
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n, n))


def _slab_box(shape=(16, 12, 14), slab_k=5):
    """A box split by a horizontal slab with no holes: a plenum below, a room above."""
    fluid = np.ones(shape, bool)
    fluid[:, :, slab_k] = False
    return fluid


def test_aggregates_never_join_air_across_a_wall():
    fluid = _slab_box()
    spacing = (0.2, 0.2, 0.2)
    maps = aggregation_maps(fluid, spacing, n_extra=3)
    assert maps, "no coarse level"
    side = (np.nonzero(fluid)[2] > 5).astype(int)          # 0 plenum, 1 room
    for P in maps:
        P = P.tocsr()
        assert np.all(np.diff(P.indptr) == 1)                # every unknown in one aggregate
        n = P.shape[0] - 3
        agg = P.indices[:n]
        mixed = [c for c in np.unique(agg) if len(np.unique(side[agg == c])) > 1]
        assert not mixed, f"{len(mixed)} aggregates join plenum and room"
        # the device unknowns stay their own aggregates
        np.testing.assert_array_equal(P.indices[n:], np.arange(P.shape[1] - 3, P.shape[1]))
        side = np.array([side[agg == c][0] for c in range(P.shape[1] - 3)])
    assert maps[-1].shape[1] <= 2000


def test_aggregation_maps_are_built_once_per_geometry():
    """The maps depend on the walls alone: a second heat finish on the same grid reuses
    them; another mask, spacing or device count gets its own; only the most recent few
    are kept."""
    import kernels.heat_multigrid as hm
    fluid = _slab_box()
    first = aggregation_maps(fluid, (0.2, 0.2, 0.2), n_extra=3)
    assert aggregation_maps(fluid.copy(), (0.2, 0.2, 0.2), n_extra=3) is first
    assert aggregation_maps(fluid, (0.2, 0.2, 0.2), n_extra=2) is not first
    assert aggregation_maps(fluid, (0.2, 0.2, 0.25), n_extra=3) is not first
    other = fluid.copy()
    other[0, 0, 0] = False
    again = aggregation_maps(other, (0.2, 0.2, 0.2), n_extra=3)
    assert again is not first and again[0].shape[0] == first[0].shape[0] - 1
    for n in range(hm.MAPS_KEPT + 1):
        aggregation_maps(np.ones((4, 4, 4 + n), bool), (0.2, 0.2, 0.2))
    assert len(hm._MAPS) == hm.MAPS_KEPT
    assert aggregation_maps(fluid, (0.2, 0.2, 0.2), n_extra=3) is not first  # rebuilt


def test_galerkin_level_keeps_upwind_advection_exact():
    """Summed over 2x2x2 aggregates, first-order upwind fluxes are the coarse cells' upwind
    fluxes at twice the spacing: with no diffusion, ``P^T A P`` is the operator
    discretised again on the coarse grid (in the summed scaling, times 8)."""
    fluid = np.ones((8, 8, 8), bool)
    vel = (0.6, -0.3, 0.2)
    A = _upwind(fluid, (0.1, 0.1, 0.1), vel=vel, diff=0.0, sink=0.0)
    P = aggregation_maps(fluid, (0.1, 0.1, 0.1))[0]
    assert P.shape == (512, 64)
    Ac = (P.T @ A @ P).toarray()
    coarse = _upwind(np.ones((4, 4, 4), bool), (0.2, 0.2, 0.2), vel=vel, diff=0.0,
                     sink=0.0).toarray()
    np.testing.assert_allclose(Ac, 8.0 * coarse, rtol=1e-12, atol=1e-9)


def test_v_cycle_cuts_bicgstab_iterations_on_a_wall_split_box():
    fluid = _slab_box((24, 18, 16), slab_k=5)
    spacing = (0.2, 0.2, 0.2)
    A = _upwind(fluid, spacing, n_extra=2)
    b = np.random.default_rng(4).standard_normal(A.shape[0])
    d = A.diagonal()
    counts = {}
    for name, M in (("jacobi", 1.0 / d),
                    ("multigrid", AggregationMultigrid(A, fluid, spacing, n_extra=2))):
        calls = []

        def pc(r, M=M):
            calls.append(1)
            return M(r) if callable(M) else M * r
        x, info = energy.bicgstab(A, b, pc, np, 1e-6, maxiter=3000)
        assert info == 0
        assert np.linalg.norm(A @ x - b) <= 1e-6 * np.linalg.norm(b)
        counts[name] = len(calls) // 2
    print("BiCGSTAB iterations to 1e-6:", counts)
    assert counts["multigrid"] * 4 <= counts["jacobi"], counts
    exact = spla.spsolve(A.tocsc(), b)
    np.testing.assert_allclose(x, exact, atol=1e-4 * np.max(np.abs(exact)))


def test_multigrid_solve_on_a_device_gives_the_host_answer():
    """On a GPU backend the levels go to the device once at set-up; a solve moves its
    right-hand side there and its answer back (the coarsest level through the host) and
    gives the host's answer."""
    fluid = _slab_box((12, 10, 12), slab_k=4)
    spacing = (0.25, 0.25, 0.25)
    J = _upwind(fluid, spacing, n_extra=2)
    hierarchy = (fluid, spacing, 2)
    dev = _Device()
    solve_dev = energy._linear_solver(J, dev, hierarchy)
    set_up = dict(dev.copies)
    assert set_up["sparse"] >= 3                          # J, and P and R of a level
    b = np.random.default_rng(5).standard_normal(J.shape[0])
    x_dev = solve_dev(b)
    assert dev.copies["sparse"] == set_up["sparse"]       # nothing copied again
    x_host = energy._linear_solver(J, None, hierarchy)(b)
    np.testing.assert_allclose(x_dev, x_host, rtol=0, atol=1e-12)
    assert np.linalg.norm(J @ x_host - b) <= energy.INNER_RTOL * np.linalg.norm(b)


def test_heat_finish_by_multigrid_agrees_with_jacobi_and_closes_the_balance():
    """A room after 150 steps: the heat finish with either preconditioner reaches the
    same field (both stop on the same defect-correction rule) and the balance closes."""
    ref = Solver(room(cell_m=0.25), backend="numba-cpu",
                 settings=SolverSettings(dtype="float64", heat_preconditioner="jacobi"))
    for _ in range(150):
        ref.step()
    mg = Solver(room(cell_m=0.25), backend="numba-cpu",
                settings=SolverSettings(dtype="float64"))
    assert mg.settings.heat_preconditioner == "multigrid"
    mg.set_state(ref.get_state())
    info_ref = ref.finish_energy(iterations=60, tol_k=1e-7)
    info_mg = mg.finish_energy(iterations=60, tol_k=1e-7)
    dT = float(np.max(np.abs(np.asarray(mg.T) - np.asarray(ref.T))[mg.problem.fluid_mask]))
    print(f"max |dT| {dT:.2e} K; iterations jacobi {info_ref['iterations']}, "
          f"multigrid {info_mg['iterations']}; imbalance {info_mg['imbalance_frac']:.1e}")
    assert dT < 1e-4
    assert abs(info_mg["imbalance_frac"]) <= 1e-6


def test_singular_system_with_multigrid_still_says_why():
    """Nothing holds the temperature level (a zero row and no sink): the cycle's coarsest
    level is singular too; the solve ends on the physical reason, as with Jacobi."""
    from kernels import DivergenceError
    fluid = np.ones((6, 6, 6), bool)
    J = _upwind(fluid, (0.25,) * 3, sink=0.0).tolil()
    J[5, :] = 0.0
    with pytest.raises(DivergenceError, match="no unique solution"):
        energy._linear_solver(J.tocsr(), None, (fluid, (0.25,) * 3, 0))(np.ones(216))


def test_closed_cavity_keeps_jacobi_and_stays_bounded():
    """No sink and no unit: the temperature level is free, the Galerkin levels are singular
    but for rounding (a lid-driven cavity's heat finish gave 1e9 K through such a cycle).
    The cycle refuses (:class:`SingularCoarsest`); the solve keeps Jacobi and, on a
    consistent right-hand side, stays bounded."""
    from kernels.heat_multigrid import SingularCoarsest
    fluid = np.ones((8, 8, 8), bool)
    J = _upwind(fluid, (0.25,) * 3, sink=0.0)
    with pytest.raises(SingularCoarsest):
        AggregationMultigrid(J, fluid, (0.25,) * 3)
    b = np.random.default_rng(6).standard_normal(J.shape[0])
    b -= b.mean()                           # heat in = heat out: a consistent system
    x = energy._linear_solver(J, None, (fluid, (0.25,) * 3, 0))(b)
    assert np.all(np.isfinite(x)) and np.max(np.abs(x)) < 1e3 * np.max(np.abs(b))


def test_no_coarse_level_keeps_jacobi(monkeypatch):
    """Where the hierarchy cannot coarsen below ``MAX_COARSEST_LU`` the cycle is refused
    before any factorisation, and the solve keeps Jacobi (same answer quality)."""
    import kernels.heat_multigrid as hm
    fluid = _slab_box((12, 10, 12), slab_k=4)
    J = _upwind(fluid, (0.25,) * 3)
    monkeypatch.setattr(hm, "MAX_COARSEST_LU", 10)
    with pytest.raises(hm.NoHierarchy, match="coarsest level has"):
        AggregationMultigrid(J, fluid, (0.25,) * 3)
    b = np.random.default_rng(7).standard_normal(J.shape[0])
    x = energy._linear_solver(J, None, (fluid, (0.25,) * 3, 0))(b)
    assert np.linalg.norm(J @ x - b) <= energy.INNER_RTOL * np.linalg.norm(b)


def test_unknown_heat_preconditioner_is_one_line():
    with pytest.raises(InputError, match="heat_preconditioner = 'ilu' must be one of jacobi, "
                                         "multigrid"):
        SolverSettings(heat_preconditioner="ilu")
