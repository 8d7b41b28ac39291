"""Builders of the verification cases shared by the tests and the benchmarks."""
import numpy as np

from kernels import BoundaryFace, Device, Flag, Fluid, Grid, Port, Problem, Turbulence

SLIP_Z = {"z-": BoundaryFace(velocity="slip"), "z+": BoundaryFace(velocity="slip")}


def lid_cavity(n: int, reynolds: float) -> Problem:
    """Unit square, lid at y = 1 moving at 1 m/s along +x; one layer of cells, slip in z."""
    g = Grid((n, n, 1), (1.0 / n, 1.0 / n, 1.0 / n))
    b = {"y+": BoundaryFace(wall_velocity_m_s=(1.0, 0.0, 0.0)), **SLIP_Z}
    return Problem(g, boundaries=b, name=f"cavity-Re{reynolds:g}",
                   fluid=Fluid(viscosity_m2_s=1.0 / reynolds, diffusivity_m2_s=1.0 / reynolds,
                               expansion_1_k=0.0),
                   turbulence=Turbulence("laminar"))


def heated_cavity(n: int, rayleigh: float, prandtl: float = 0.71) -> Problem:
    """de Vahl Davis (1983): hot wall x = 0 at +0.5, cold x = 1 at -0.5, adiabatic top/bottom.

    Scaled so that g*beta*dT = 1 and L = 1: nu = sqrt(Pr/Ra), alpha = 1/sqrt(Ra*Pr).
    Gravity acts along -z, so the square is the x-z plane; y is one slip layer.
    """
    g = Grid((n, 1, n), (1.0 / n, 1.0 / n, 1.0 / n))
    b = {"x-": BoundaryFace(thermal="temperature", temp_c=0.5),
         "x+": BoundaryFace(thermal="temperature", temp_c=-0.5),
         "y-": BoundaryFace(velocity="slip"), "y+": BoundaryFace(velocity="slip")}
    nu = np.sqrt(prandtl / rayleigh)
    alpha = 1.0 / np.sqrt(rayleigh * prandtl)
    return Problem(g, boundaries=b, name=f"dvd-Ra{rayleigh:g}", initial_temp_c=0.0,
                   fluid=Fluid(viscosity_m2_s=nu, diffusivity_m2_s=alpha, expansion_1_k=1.0,
                               gravity_m_s2=1.0, reference_temp_c=0.0),
                   turbulence=Turbulence("laminar"))


def box_port(i0, i1, j0, j1, k0, k1, axis, side):
    ii, jj, kk = np.meshgrid(range(i0, i1), range(j0, j1), range(k0, k1), indexing="ij")
    return Port(np.column_stack([ii.ravel(), jj.ravel(), kk.ravel()]), axis, side)


def room(cell_m=0.25, heat_w=30_000.0, rack_flow=2.0, cooler_flow=3.0, capacity_w=80_000.0,
         turbulence="chen-xu", walls=None) -> Problem:
    """A 6 x 4 x 3 m room: one rack (front -x, back +x) and one downflow-less cooler."""
    g = Grid.from_size((6.0, 4.0, 3.0), cell_m)
    c = lambda x: int(round(x / cell_m))  # noqa: E731
    solid = np.zeros(g.shape, np.uint8)
    r = (c(2.0), c(2.6), c(1.0), c(2.2), 0, c(2.2))
    solid[r[0]:r[1], r[2]:r[3], r[4]:r[5]] = Flag.SOLID | Flag.RACK
    u = (c(5.0), c(5.6), c(1.0), c(3.0), 0, c(2.0))
    solid[u[0]:u[1], u[2]:u[3], u[4]:u[5]] = Flag.SOLID | Flag.COOLER
    devices = [Device("rack-1", "rack", box_port(r[0] - 1, r[0], r[2], r[3], r[4], r[5], 0, +1),
                      box_port(r[1], r[1] + 1, r[2], r[3], r[4], r[5], 0, -1),
                      flow_m3_s=rack_flow, heat_w=heat_w)]
    if cooler_flow:
        devices.append(Device("crah-1", "cooler",
                              box_port(u[0], u[1], u[2], u[3], u[5], u[5] + 1, 2, -1),
                              box_port(u[0] - 1, u[0], u[2], u[3], 0, c(1.0), 0, +1),
                              flow_m3_s=cooler_flow, supply_temp_c=18.0, capacity_w=capacity_w))
    kw = {"boundaries": walls} if walls else {}
    return Problem(g, solid=solid, devices=tuple(devices), name="room",
                   turbulence=Turbulence(turbulence), **kw)
