"""Differentially heated square cavity against de Vahl Davis (1983).

Reference: G. de Vahl Davis, "Natural convection of air in a square cavity: a bench mark
numerical solution", Int. J. Numer. Meth. Fluids 3 (1983) 249-264, Table IV: mean Nusselt
number 2.243 at Ra = 1e4 and 4.519 at Ra = 1e5 (Pr = 0.71).
Acceptance (issue 2): within 3%.
"""
import numpy as np
import pytest

from kernels.solver import Solver, SolverSettings

from .cases import heated_cavity

NU = {1e4: 2.243, 1e5: 4.519}


def mean_nusselt(solver, n):
    """Heat through the hot wall, over the conduction heat k*dT/L (dT = 1, L = 1)."""
    T = solver.backend.to_host(solver.T)[0, 0, :]
    return float(np.mean((0.5 - T) / (0.5 / n)))


@pytest.mark.parametrize("ra,n", [(1e4, 32), (1e5, 48)])
def test_de_vahl_davis_nusselt(ra, n):
    s = Solver(heated_cavity(n, ra), backend="numba-cpu",
               settings=SolverSettings(dtype="float64", tol_velocity=1e-5, max_steps=60000,
                                       energy_finish=True))
    res = s.solve_steady()
    assert res.converged, res.residuals
    nu_hot = mean_nusselt(s, n)
    assert abs(nu_hot - NU[ra]) / NU[ra] < 0.03, f"Ra={ra:g}: Nu={nu_hot:.3f} vs {NU[ra]}"
    # steady state: what enters at the hot wall leaves at the cold wall
    Tc = s.backend.to_host(s.T)[-1, 0, :]
    nu_cold = float(np.mean((Tc + 0.5) / (0.5 / n)))
    assert abs(nu_hot - nu_cold) / nu_hot < 1e-3
