"""The projection's rounding floor from a carried bound (``stages.RhsBound``).

The floor needs ``max |div u*|`` only where it may lie above the step's tolerance; the
bound carried from the last projection (``|b| <= |b - A x| + |A x|``) rules that out in an
ordinary room, so a step takes one full-grid reduction fewer outside the CG, with the same
answer to the bit. Where the floor binds, ``max |b|`` is still taken and the CG still stops
there.
"""
from __future__ import annotations

import numpy as np

from kernels import stages
from kernels.solver import Solver
from tests.verification.cases import room

STEPS = 30


def _exact_always(s):
    """Make ``s`` take ``max |b|`` at every projection (the behaviour before the bound)."""
    s.rhs_bound.MARGIN = float("inf")
    return s


def _state(s):
    return {name: s.backend.to_host(getattr(s, name)).copy() for name in ("u", "v", "w", "phi",
                                                                          "T")}


def test_bound_gives_the_same_answer_with_one_reduction_fewer(monkeypatch):
    fast = Solver(room(cell_m=0.5), backend="numba-cpu")
    exact = _exact_always(Solver(room(cell_m=0.5), backend="numba-cpu"))
    dt = fast.compute_dt()
    k = fast.backend.kernels
    calls = {"n": 0}
    real = k.max_abs

    def counted(a):
        calls["n"] += 1
        return real(a)

    monkeypatch.setattr(k, "max_abs", counted)
    per_step = {}
    for name, s in (("fast", fast), ("exact", exact)):
        counts = []
        for _ in range(STEPS):
            n0 = calls["n"]
            s.step(dt)
            counts.append(calls["n"] - n0 - s.last_cg[0])   # less the CG's own, one each
        per_step[name] = counts
    a, b = _state(fast), _state(exact)
    for name in a:
        assert np.array_equal(a[name], b[name]), name
    assert fast.last_cg == exact.last_cg and fast.last_div0 == exact.last_div0
    assert exact.rhs_bound.taken == STEPS
    # the first projection has no bound yet; after it, max |b| is not taken
    assert fast.rhs_bound.taken == 1
    assert [e - f for e, f in zip(per_step["exact"], per_step["fast"])] == [0] + [1] * (STEPS - 1)


def _divergent(s, amplitude, seed=5):
    """``us, vs, ws`` = the gradient of a random potential (a compatible right-hand side)."""
    rng = np.random.default_rng(seed)
    psi = s.backend.asarray((amplitude * rng.standard_normal(s.problem.grid.shape))
                            .astype(s.dtype))
    F = s.dtype.type
    for c, (a, d) in enumerate(zip((s.us, s.vs, s.ws), s.problem.grid.spacing_m)):
        a[...] = 0
        s.backend.kernels.correct_velocity(c, a, psi, s.solid, F(d))


def _floor(s):
    b = np.zeros(s.problem.grid.shape, s.dtype)
    s.backend.kernels.divergence(b, s.us, s.vs, s.ws, s.solid,
                                 *(s.dtype.type(d) for d in s.problem.grid.spacing_m))
    return stages.rounding_floor(s, np.abs(b).max())


def test_a_binding_floor_is_taken_every_projection():
    s = Solver(room(cell_m=0.5), backend="numba-cpu")
    s.div_tol = 1e-12                     # unreachable in float32: the floor binds
    for n in range(1, 4):
        _divergent(s, 1e3, seed=n)
        floor = _floor(s)
        it = stages.project(s)
        assert s.rhs_bound.taken == n
        assert it < s.settings.pressure_max_iter // 3
        assert s.last_cg[1] <= floor


def test_a_bound_that_rises_past_the_tolerance_takes_b_again():
    s = Solver(room(cell_m=0.5), backend="numba-cpu")
    s.div_tol = 1e-12
    _divergent(s, 1e3)
    floor = _floor(s)
    s.phi[...] = 0
    s.rhs_bound.a_x_max = 0.0             # true for phi = 0, and puts the floor at 0
    it = stages.project(s)
    assert s.rhs_bound.taken == 1         # from b computed again after the residual
    assert stages.rounding_floor(s, s.rhs_bound.b_max) == floor
    assert it < s.settings.pressure_max_iter // 3
    assert s.last_cg[1] <= floor


def test_writing_phi_forgets_the_bound():
    s = Solver(room(cell_m=0.5), backend="numba-cpu")
    s.step()
    assert s.rhs_bound.a_x_max is not None
    s.set_state({"phi": np.ones(s.problem.grid.shape, s.dtype)})
    assert s.rhs_bound.a_x_max is None
    s.step()
    s.final_projection()                  # restores the step's phi after its own
    assert s.rhs_bound.a_x_max is None
