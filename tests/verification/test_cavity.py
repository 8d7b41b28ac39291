"""Lid-driven cavity against Ghia, Ghia & Shin (1982).

Reference: U. Ghia, K. N. Ghia, C. T. Shin, "High-Re solutions for incompressible flow
using the Navier-Stokes equations and a multigrid method", J. Comput. Phys. 48 (1982)
387-411, Table I: u-velocity along the vertical line through the cavity centre.
Acceptance (issue 2): RMS error over the 17 tabulated points within 2% of the lid speed.
"""
import numpy as np
import pytest

from kernels.solver import Solver, SolverSettings

from .cases import lid_cavity

Y = np.array([1.0, 0.9766, 0.9688, 0.9609, 0.9531, 0.8516, 0.7344, 0.6172, 0.5, 0.4531,
              0.2813, 0.1719, 0.1016, 0.0703, 0.0625, 0.0547, 0.0])
U = {
    100: np.array([1.0, 0.84123, 0.78871, 0.73722, 0.68717, 0.23151, 0.00332, -0.13641,
                   -0.20581, -0.21090, -0.15662, -0.10150, -0.06434, -0.04775, -0.04192,
                   -0.03717, 0.0]),
    400: np.array([1.0, 0.75837, 0.68439, 0.61756, 0.55892, 0.29093, 0.16256, 0.02135,
                   -0.11477, -0.17119, -0.32726, -0.24299, -0.14612, -0.10338, -0.09266,
                   -0.08186, 0.0]),
}


def centreline_u(solver, n):
    u = solver.backend.to_host(solver.u)[n // 2, :, 0]   # x-faces at x = 0.5
    yc = (np.arange(n) + 0.5) / n
    return np.interp(Y, np.r_[0.0, yc, 1.0], np.r_[0.0, u, 1.0])


@pytest.mark.parametrize("re,n", [(100, 32), (400, 48)])
def test_ghia_centreline(re, n):
    s = Solver(lid_cavity(n, re), backend="numba-cpu",
               settings=SolverSettings(dtype="float64", tol_velocity=1e-5, max_steps=30000))
    res = s.solve_steady()
    assert res.converged, res.residuals
    err = centreline_u(s, n) - U[re]
    rms = float(np.sqrt(np.mean(err ** 2)))
    assert rms < 0.02, f"Re={re}: RMS error {rms:.4f} of the lid speed"
    # the flow is divergence-free to the solver's tolerance
    assert s.max_divergence() < 1e-6
    # the normalised momentum residuals fell by orders of magnitude on the way (w and
    # energy are 0 in this 2D isothermal case); continuity sits at the projection's
    # tolerance (each projection stops there)
    hist = np.array(res.residuals["history_normalized"])
    first, last = hist[1, 1:], hist[-1, 1:]
    for name, a, b in zip(("u", "v"), first[1:3], last[1:3]):
        assert b < 1e-2 * a, f"{name} residual {a:.2e} -> {b:.2e}"
    assert last[0] <= 3 * s.settings.pressure_tol
    assert set(res.residuals["normalized"]) == {"continuity", "u", "v", "w", "energy"}
