"""The momentum diffusion is the divergence of the full viscous stress,
``d/dx_j (nu_eff (du_i/dx_j + du_j/dx_i))`` (Ferziger & Peric, *Computational Methods for
Fluid Dynamics*, 3rd ed. 2002, eq. 10.38), with the eddy viscosity inside the derivative.

On a uniform grid the staggered differences are exact for a viscosity linear in space and
a velocity at most quadratic, so the discrete rate must equal the analytic one to
rounding at faces clear of the box (whose faces carry their own wall or slip rules). The
``nu_eff * laplacian(u)`` form used until 2026-12-07 misses ``grad(nu_t) . grad(u)`` here
by ``nu_t' u'`` (test 1) and the transpose term entirely (test 2). Both the float64 NumPy
reference (``kernels.reference.momentum_rate``) and the Numba CPU kernels are held to it.
"""
from __future__ import annotations

import numpy as np
import pytest

from kernels import reference as ref
from kernels.setup import cell_codes

cpu = pytest.importorskip("kernels.cpu")

SHAPE = (8, 5, 14)
SPACING = (0.1, 0.12, 0.09)
NU = 1.5e-5
SLIP = np.ones(6, dtype=np.int32)
UW = np.zeros((6, 3))
RTOL = 1e-10


def _centres(axis):
    n, d = SHAPE[axis], SPACING[axis]
    return (np.arange(n) + 0.5) * d


def _faces(axis):
    n, d = SHAPE[axis], SPACING[axis]
    return np.arange(n + 1) * d


def _fields():
    u = np.zeros((SHAPE[0] + 1, SHAPE[1], SHAPE[2]))
    v = np.zeros((SHAPE[0], SHAPE[1] + 1, SHAPE[2]))
    w = np.zeros((SHAPE[0], SHAPE[1], SHAPE[2] + 1))
    return u, v, w


def _rates(c, u, v, w, nut):
    codes = cell_codes(np.zeros(SHAPE, np.uint8))
    T = np.full(SHAPE, 20.0)
    r_ref = ref.momentum_rate(c, u, v, w, nut, T, codes, SPACING, NU, 0.0, 20.0, SLIP, UW)
    q = (u, v, w)[c]
    out = np.empty_like(q)
    cpu.predict_velocity(c, u, v, w, out, nut, T, codes, *SPACING, NU, 0.0, 20.0, SLIP, UW, 1.0)
    return r_ref, out - q


def _inner(a, margin=2):
    return a[margin:-margin, :, margin:-margin]


def test_eddy_viscosity_inside_the_derivative():
    """``u = u(z)`` quadratic, ``nu_t = nu_t(z)`` linear: the rate of ``u`` is
    ``d/dz (nu_eff du/dz) = nu_t' u' + nu_eff u''`` (no advection: ``u`` does not vary
    along the flow, ``w = 0``)."""
    z = _centres(2)
    a0, a1, a2 = 0.3, 2.0, -4.0                   # u = a0 + a1 z + a2 z^2  [m/s]
    n0, n1 = 1e-3, 0.02                           # nu_t = n0 + n1 z        [m2/s]
    u, v, w = _fields()
    u[1:-1] = (a0 + a1 * z + a2 * z * z)[None, None, :]          # interior x-faces
    nut = np.broadcast_to(n0 + n1 * z, SHAPE).copy()
    want = n1 * (a1 + 2 * a2 * z) + (NU + n0 + n1 * z) * 2 * a2
    for got in _rates(0, u, v, w, nut):
        g = _inner(got[1:-1])
        w_ = np.broadcast_to(want, got[1:-1].shape)
        w_ = _inner(w_)
        np.testing.assert_allclose(g, w_, rtol=0, atol=RTOL * np.abs(w_).max())
    # the Laplacian form would be off by nu_t' u' at least this much here
    assert np.abs(n1 * (a1 + 2 * a2 * z)).max() > 0.1 * np.abs(want).max()


def test_transpose_term_of_the_stress():
    """``u = 0``, ``w = s x`` (a shear that is divergence-free), ``nu_t = nu_t(z)``
    linear: the rate of ``u`` is ``d/dz (nu_eff dw/dx) = nu_t' s``; the Laplacian form
    gives 0."""
    x = _centres(0)
    s, n0, n1 = 1.5, 2e-3, 0.03
    u, v, w = _fields()
    w[:, :, 1:-1] = (s * x)[:, None, None]        # interior z-faces; the box's stay 0
    z = _centres(2)
    nut = np.broadcast_to(n0 + n1 * z, SHAPE).copy()
    want = n1 * s
    for got in _rates(0, u, v, w, nut):
        g = _inner(got[1:-1])
        np.testing.assert_allclose(g, want, rtol=0, atol=RTOL * abs(want))


def test_uniform_viscosity_adds_nothing_to_a_divergence_free_flow():
    """With a uniform eddy viscosity the transpose terms sum to ``nu d(div u)/dx``: on a
    discretely divergence-free field (a stream function's curl) the full-stress rate is
    the Laplacian one, ``nu_eff * laplacian(u)``, at every face clear of the box."""
    rng = np.random.default_rng(5)
    # psi on the edges along y (x-faces by z-faces): u = -dpsi/dz, w = dpsi/dx
    psi = np.zeros((SHAPE[0] + 1, SHAPE[1], SHAPE[2] + 1))
    psi[1:-1, :, 1:-1] = rng.standard_normal((SHAPE[0] - 1, SHAPE[1], SHAPE[2] - 1)) * 1e-3
    dx, _, dz = SPACING
    u, v, w = _fields()
    u[...] = -(psi[:, :, 1:] - psi[:, :, :-1]) / dz
    w[...] = (psi[1:, :, :] - psi[:-1, :, :]) / dx
    nut = np.full(SHAPE, 4e-3)
    nue = NU + 4e-3
    for c, q in ((0, u), (2, w)):
        lap = np.zeros_like(q)
        sl = [slice(1, -1)] * 3
        for b, d in enumerate(SPACING):
            lo = [slice(1, -1)] * 3
            hi = [slice(1, -1)] * 3
            lo[b] = slice(0, -2)
            hi[b] = slice(2, None)
            lap[tuple(sl)] += (q[tuple(hi)] - 2 * q[tuple(sl)] + q[tuple(lo)]) / d ** 2
        for got in _rates(c, u, v, w, nut):
            adv = ref.momentum_rate(c, u, v, w, np.zeros(SHAPE), np.full(SHAPE, 20.0),
                                    cell_codes(np.zeros(SHAPE, np.uint8)), SPACING, 0.0, 0.0,
                                    20.0, SLIP, UW)      # advection alone
            diff = (got - adv)[2:-2, 1:-1, 2:-2]
            want = nue * lap[2:-2, 1:-1, 2:-2]
            np.testing.assert_allclose(diff, want, rtol=0, atol=1e-9 * np.abs(want).max())
