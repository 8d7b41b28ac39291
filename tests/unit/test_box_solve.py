"""The box solve of the pressure preconditioner: Thomas sweeps along x in the DCT basis of
y and z (``cpu.box_solve_x``) and the 3D DCT with a division (``cpu.box_scale``, the GPU
backends' way) against the float64 NumPy reference ``reference.dct_precondition``.

Both must be the same linear operator as the reference, the exact inverse of the
obstacle-free Neumann box Laplacian with the mean mode dropped: relative to the largest
reference value, 1e-11 in float64 (only rounding differs) and 2e-5 in float32.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.fft

from kernels import cpu
from kernels import reference as ref

SHAPES = ((2, 3, 4), (7, 5, 6), (16, 8, 12), (24, 1, 9))
SPACING = (0.2, 0.25, 0.15)
TOL = {np.float64: 1e-11, np.float32: 2e-5}


def _eig(n, d):
    return (2.0 * np.cos(np.pi * np.arange(n) / n) - 2.0) / (d * d)


def _reference(r):
    inv = ref.inverse_box_eigenvalues(r.shape, SPACING)
    return ref.dct_precondition(r.astype(np.float64), np.zeros(r.shape, bool), inv)


def _thomas(r):
    h = scipy.fft.dctn(r, type=2, norm="ortho", axes=(1, 2))
    cpu.box_solve_x(h, _eig(r.shape[1], SPACING[1]), _eig(r.shape[2], SPACING[2]),
                    SPACING[0])
    return scipy.fft.idctn(h, type=2, norm="ortho", axes=(1, 2))


def _scaled(r):
    dt = r.dtype
    h = scipy.fft.dctn(r, type=2, norm="ortho")
    cpu.box_scale(h, *(_eig(n, d).astype(dt) for n, d in zip(r.shape, SPACING)))
    return scipy.fft.idctn(h, type=2, norm="ortho")


def _rel(x, y):
    return float(np.max(np.abs(np.asarray(x, np.float64) - y)) / np.max(np.abs(y)))


@pytest.mark.parametrize("dtype", (np.float64, np.float32))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("solve", (_thomas, _scaled), ids=("thomas-x", "dct3-scale"))
def test_box_solve_matches_the_dct_reference(solve, shape, dtype):
    r = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    z = solve(r)
    assert z.dtype == dtype
    assert _rel(z, _reference(r)) <= TOL[dtype]


def test_thomas_box_solve_inverts_the_neumann_laplacian():
    """The result satisfies the box equations: its 7-point Laplacian with mirrored ends
    gives back the right side less its mean (the mean mode is dropped), and it has zero
    mean, the DCT solve's choice of the free constant."""
    shape = (9, 6, 7)
    r = np.random.default_rng(5).standard_normal(shape)
    z = _thomas(r)
    lap = np.zeros(shape)
    for ax, d in enumerate(SPACING):
        zp = np.concatenate([np.take(z, [0], ax), z, np.take(z, [-1], ax)], axis=ax)
        n = shape[ax]
        lap += (np.take(zp, range(2, n + 2), ax) - 2 * z + np.take(zp, range(n), ax)) / d**2
    assert np.max(np.abs(lap - (r - r.mean()))) <= 1e-10 * np.max(np.abs(r))
    assert abs(z.mean()) <= 1e-12 * np.max(np.abs(z))


def test_thomas_box_solve_of_a_constant_is_zero():
    """A constant right side lies wholly in the dropped mean mode (the singular column's
    flux sums must not turn it into a ramp)."""
    z = _thomas(np.full((8, 4, 5), 3.0))
    assert np.max(np.abs(z)) <= 1e-12
