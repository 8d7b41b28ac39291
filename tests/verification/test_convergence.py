"""Grid convergence on a case with a known answer.

A cosine temperature mode decaying by conduction in a closed box (Neumann walls):
T(x, t) = cos(pi x / L) exp(-alpha pi^2 t / L^2). The scheme is second order in space
(central diffusion) and first order in time with dt proportional to dx^2, so the error
must fall by about 4x per halving of the cell: observed order >= 1.8.
"""
import numpy as np

from kernels import Fluid, Grid, Problem, Turbulence
from kernels.solver import Solver, SolverSettings


def decay_error(n, L=1.0, alpha=1e-2, t_end=5.0):
    g = Grid((n, 1, 1), (L / n, L / n, L / n))
    p = Problem(g, fluid=Fluid(diffusivity_m2_s=alpha, expansion_1_k=0.0),
                turbulence=Turbulence("laminar"), initial_temp_c=0.0)
    s = Solver(p, backend="numba-cpu", settings=SolverSettings(dtype="float64"))
    x = g.centers(0)
    # start from the exact cell averages of cos(pi x / L)
    dx = L / n
    avg = (np.sin(np.pi * (x + dx / 2) / L) - np.sin(np.pi * (x - dx / 2) / L)) / (np.pi * dx / L)
    s.T = s.backend.asarray(avg.reshape(n, 1, 1).copy())   # the solver reuses its buffers
    dt = 0.05 * dx * dx / alpha
    s.run(t_end, dt=dt)
    exact = avg * np.exp(-alpha * np.pi ** 2 * s.time_s / L ** 2)
    return float(np.sqrt(np.mean((s.backend.to_host(s.T).ravel() - exact) ** 2)))


def test_second_order_in_space():
    errs = [decay_error(n) for n in (8, 16, 32)]
    orders = [np.log2(errs[i] / errs[i + 1]) for i in range(2)]
    assert min(orders) > 1.8, (errs, orders)
