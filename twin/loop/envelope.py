"""Envelope gains over time: a hall's walls and roof follow the weather in ``twin run``
(the model: :mod:`twin.thermal.envelope`)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from kernels.solver import Solver
from twin.thermal.envelope import envelope_heat_w, envelope_sources, near_air_temp_c


def set_envelope(hall, outdoor_temp_c: float, irradiance_w_m2: float):
    """The walls' and roof's heat of ``hall`` (a :class:`twin.loop.hall.HallModel`) at
    this step's weather (:mod:`twin.thermal.envelope`), at the air next to them in the
    solver's field (that of the step before; the racks' first-guess inlets before any).
    When it has moved by more than 5 % (or 0.1 % of the hall's design heat to air) from
    the one the solver holds, the solver is made again with it, and every flow state's
    answer at its inputs (``y0``) is solved again: its linear response ``K`` does not
    change, the heat being linear in the sources at a frozen flow. In a hall with rear
    doors the inputs of every flow state's base are first held to the room's heat at the
    new envelope (:meth:`~twin.loop.hall.HallModel.base_inputs`), as the step's own inputs
    are (:meth:`~twin.loop.hall.HallModel.rack_models`): the hold and the envelope go
    together on every path (a new flow state, a kept one, an envelope update)."""
    if not hall.env_faces:
        return
    if hall._loaded is None and not hall.flows.all():
        # no field solved yet: the racks' first-guess inlets stand for the air inside
        t_air = np.full(len(hall.env_faces), float(np.mean(hall.state.tin))
                        if hall.n_r else hall.problem.initial_temp_c)
    else:
        t_air = near_air_temp_c(hall.env_faces,
                                hall.solver.backend.to_host(hall.solver.T).astype(np.float64))
    hall.env_air_temp_c = t_air
    want = envelope_heat_w(hall.env_faces, t_air, outdoor_temp_c, irradiance_w_m2)
    tol = max(0.05 * float(np.abs(want).sum()), 1e-3 * float(hall.rack_design_air_w.sum()))
    if hall.env_powers is not None and float(np.abs(want - hall.env_powers).sum()) <= tol:
        return
    others = tuple(x for x in hall.problem.sources if "/envelope/" not in x.name)
    hall.problem = replace(hall.problem,
                           sources=others + envelope_sources(hall.env_faces, want, hall.name))
    state, devices = hall.solver.get_state(), list(hall.solver.devices)
    dt = hall.solver.dt                 # the step phi belongs to (pressure_pa = rho phi / dt)
    hall.solver = Solver(hall.problem, backend=hall.solver.backend,
                         settings=hall.solver.settings)
    hall.solver.set_state(state)
    hall.solver.dt = dt
    hall.solver.set_devices(devices)
    hall.env_powers = want
    hall._loaded = None
    for st in hall.flows.all():
        if st.x0 is not None:
            # with rear doors the base's rack heats were held to the room's heat at the
            # envelope of their solve: held again at this one (a base whose room loses
            # heat has no steady field), HallModel.base_inputs
            st.x0 = hall.base_inputs(st.x0)
            st.y0 = hall.direct(st, st.x0)[0]
    hall.sim.counters["envelope_updates"] = hall.sim.counters.get("envelope_updates", 0) + 1
