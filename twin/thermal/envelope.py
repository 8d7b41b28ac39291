"""Envelope gains: heat through a hall's walls and roof from the outdoor air and sun.

Each outside wall and the roof (``[halls.envelope]``) passes

    Q = U A (T_sa - T_air)                                              [W]

into the hall's air, with ``U`` the wall's or roof's U-value (air to air, the surface
films included) [W/(m2 K)], ``A`` its area (slab to roof, the plenums included) and
``T_air`` the mean of the air next to it. Outdoors is the sol-air temperature (ASHRAE
Handbook - Fundamentals 2021, ch. 18, eq. 30):

    T_sa = T_o + alpha I / h_o - eps dR / h_o

``alpha`` the outer surface's solar absorptance, ``I`` the irradiance on it (the global
horizontal irradiance on the flat roof; walls are taken without sun, a data hall's walls
are mostly shaded by its galleries), ``h_o = 17 W/(m2 K)`` and the long-wave term
``eps dR / h_o`` = 3.9 K on a horizontal surface facing the sky, 0 on walls (ibid.).
The model is quasi-steady (no thermal mass of the wall: a heavy wall's lag of a few hours
is not modelled).

How the heat reaches the air: as a heat source spread evenly over the fluid cells that
touch the wall or roof (``kernels.HeatSource``), its power from ``T_air`` of the field,
refined until it agrees (:func:`refine_envelope`). The thermal core's own convective box
face (``kernels.BoundaryFace(thermal="convective")``) is not used: it puts the U-value in
series with molecular conduction over half a cell (``2 k_air / dx``, 0.26 W/(m2 K) at
0.2 m: no thermal wall function), which would cap any wall at about that conductance.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from kernels.problem import HeatSource

__all__ = ["EnvelopeFace", "envelope_faces", "sol_air_temp_c", "envelope_heat_w",
           "envelope_sources", "design_outdoor", "refine_envelope", "LONGWAVE_HORIZONTAL_K"]

#: Long-wave correction of the sol-air temperature of a horizontal surface facing the sky
#: [K] (``eps dR / h_o`` with dR = 63 W/m2, h_o = 17 W/(m2 K): ASHRAE Handbook -
#: Fundamentals 2021, ch. 18); 0 for vertical surfaces.
LONGWAVE_HORIZONTAL_K = 3.9

#: Annual share of hours above the cooling design dry-bulb (ASHRAE's 0.4 % design
#: condition, Handbook - Fundamentals 2021, ch. 14).
COOLING_DESIGN_FRAC = 0.004

_BOX = {"-x": (0, 0), "+x": (0, -1), "-y": (1, 0), "+y": (1, -1), "roof": (2, -1)}


@dataclass(frozen=True)
class EnvelopeFace:
    """One outside wall or the roof of a meshed hall: ``name`` (``-x``, ``+x``, ``-y``,
    ``+y``, ``roof``), ``u_w_m2k``, ``area_m2`` (the whole face), ``absorptance`` [-]
    (roof only), ``longwave_k`` and ``cells`` (n, 3): the fluid cells that touch it."""

    name: str
    u_w_m2k: float
    area_m2: float
    absorptance: float
    longwave_k: float
    cells: np.ndarray

    @property
    def ua_w_k(self) -> float:
        return self.u_w_m2k * self.area_m2


def envelope_faces(hall, grid, solid) -> list[EnvelopeFace]:
    """The outside faces of a hall with a ``[halls.envelope]`` on its grid (empty list:
    none, or every U-value 0). A face whose every cell is solid passes nothing."""
    env = hall.envelope
    if env is None:
        return []
    size = (hall.length_m, hall.width_m, hall.height_m)
    fluid = (solid & 1) == 0
    items = [(w, env.wall_u_w_m2k, 0.0, 0.0) for w in env.walls]
    if env.roof:
        items.append(("roof", env.roof_u_w_m2k, env.roof_solar_absorptance,
                      LONGWAVE_HORIZONTAL_K))
    out = []
    for name, u, alpha, lw in items:
        if u <= 0:
            continue
        axis, end = _BOX[name]
        sl = [slice(None)] * 3
        sl[axis] = end
        layer = np.zeros(grid.shape, dtype=bool)
        layer[tuple(sl)] = True
        cells = np.argwhere(layer & fluid).astype(np.int64)
        if cells.shape[0] == 0:
            continue
        other = [a for a in range(3) if a != axis]
        out.append(EnvelopeFace(name, float(u), float(size[other[0]] * size[other[1]]),
                                float(alpha), float(lw), cells))
    return out


def sol_air_temp_c(outdoor_temp_c, irradiance_w_m2, absorptance, longwave_k=0.0,
                   h_out_w_m2k: float = 17.0):
    """Sol-air temperature [degC]: ``T_o + alpha I / h_o - longwave_k`` (ASHRAE Handbook
    - Fundamentals 2021, ch. 18, eq. 30; ``h_o`` 17 W/(m2 K))."""
    return (np.asarray(outdoor_temp_c, dtype=float)
            + np.asarray(absorptance, dtype=float) * np.asarray(irradiance_w_m2, dtype=float)
            / h_out_w_m2k - longwave_k)


def envelope_heat_w(faces, air_temp_c, outdoor_temp_c: float,
                    irradiance_w_m2: float = 0.0) -> np.ndarray:
    """Heat into the air through each face [W], ``U A (T_sa - T_air)``; ``air_temp_c`` the
    mean air temperature next to each face [degC] (one per face)."""
    from twin.facility.schema import OUTSIDE_FILM_W_M2K
    t_air = np.asarray(air_temp_c, dtype=float)
    return np.array([f.ua_w_k * (float(sol_air_temp_c(outdoor_temp_c, irradiance_w_m2,
                                                       f.absorptance, f.longwave_k,
                                                       OUTSIDE_FILM_W_M2K)) - t_air[n])
                     for n, f in enumerate(faces)], dtype=float)


def near_air_temp_c(faces, T) -> np.ndarray:
    """Mean temperature of the fluid cells touching each face [degC]."""
    return np.array([float(np.mean(T[f.cells[:, 0], f.cells[:, 1], f.cells[:, 2]]))
                     for f in faces], dtype=float)


def envelope_sources(faces, power_w, hall_name: str) -> tuple:
    """One ``kernels.HeatSource`` per face, its power spread over the face's cells."""
    return tuple(HeatSource(f"{hall_name}/envelope/{f.name}", f.cells, float(p))
                 for f, p in zip(faces, power_w))


def design_outdoor(facility, hall) -> tuple[float, float]:
    """``(outdoor temperature [degC], roof irradiance [W/m2])`` of the steady commands:
    the envelope's ``design_outdoor_temp_c`` (default: the dry-bulb exceeded in 0.4 % of
    the hours of the campus weather year) and ``design_roof_irradiance_w_m2``."""
    env = hall.envelope
    if env is None:
        return 0.0, 0.0
    if env.design_outdoor_temp_c is not None:
        return float(env.design_outdoor_temp_c), float(env.design_roof_irradiance_w_m2)
    from twin.models.weather import load_weather
    spec = facility.campus.weather
    if not spec.startswith("builtin:") and facility.source is not None:
        spec = str(facility.source.parent / spec)
    w = load_weather(spec)
    t = float(np.quantile(np.asarray(w.dry_bulb_temp_c, float), 1.0 - COOLING_DESIGN_FRAC))
    return t, float(env.design_roof_irradiance_w_m2)


def refine_envelope(solver, faces, outdoor_temp_c: float, irradiance_w_m2: float,
                    hall_name: str, tol_w: float = 1.0, max_rounds: int = 6):
    """Bring the envelope's sources to the field's air temperatures: the powers
    ``U A (T_sa - T_air)`` from the solver's field, a new solver on the problem with
    them (the same flow, the devices as they are), its steady heat solve, until no face's
    power moves more than ``tol_w`` plus 1e-3 of it (the float32 heat solve leaves a few
    mK: a few tenths of a watt). The change shrinks by about
    ``UA / (rho cp Q)`` a round (under 1 % in a hall), so two or three rounds do.

    Returns ``(solver, info)``: ``info`` has ``faces`` (name, area_m2, u_w_m2k, air and
    sol-air temperatures, heat_w), ``heat_w`` (their sum), ``rounds`` and the outdoor
    conditions."""
    from kernels.solver import Solver
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        T = solver.backend.to_host(solver.T).astype(np.float64)
        t_air = near_air_temp_c(faces, T)
        want = envelope_heat_w(faces, t_air, outdoor_temp_c, irradiance_w_m2)
        have = {s.name: s.power_w for s in solver.problem.sources}
        now = np.array([have.get(f"{hall_name}/envelope/{f.name}", np.nan) for f in faces])
        if np.all(np.abs(want - now) <= tol_w + 1e-3 * np.abs(want)):
            break
        others = tuple(s for s in solver.problem.sources
                       if not s.name.startswith(f"{hall_name}/envelope/"))
        problem = replace(solver.problem, sources=others + envelope_sources(faces, want, hall_name))
        state, devices = solver.get_state(), list(solver.devices)
        new = Solver(problem, backend=solver.backend, settings=solver.settings)
        new.set_state(state)
        new.set_devices(devices)
        new.steps, new.time_s = solver.steps, solver.time_s
        new.dt = solver.dt          # the step phi belongs to (pressure_pa = rho phi / dt)
        new.port_pressure_pa = solver.port_pressure_pa     # the same flow's pressure
        new.device_temperatures()
        new.finish_energy()
        solver = new
    T = solver.backend.to_host(solver.T).astype(np.float64)
    t_air = near_air_temp_c(faces, T)
    have = {s.name: s.power_w for s in solver.problem.sources}
    info = {"outdoor_temp_c": float(outdoor_temp_c), "roof_irradiance_w_m2": float(irradiance_w_m2),
            "rounds": rounds, "faces": []}
    for n, f in enumerate(faces):
        info["faces"].append({
            "name": f.name, "area_m2": f.area_m2, "u_w_m2k": f.u_w_m2k,
            "air_temp_c": float(t_air[n]),
            "sol_air_temp_c": float(sol_air_temp_c(outdoor_temp_c, irradiance_w_m2,
                                                   f.absorptance, f.longwave_k)),
            "heat_w": float(have[f"{hall_name}/envelope/{f.name}"])})
    info["heat_w"] = float(sum(x["heat_w"] for x in info["faces"]))
    return solver, info
