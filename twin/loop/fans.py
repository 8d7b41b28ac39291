"""Rack fans against pressure in ``twin run`` (issue 24, item 3): the racks' airflow at
their fan curves' operating point, as ``twin solve`` finds it (:func:`twin.thermal.racks.
fan_step`, :func:`twin.models.fans.operating_point`; Alissa et al. 2016, ASHRAE Handbook
HVAC Systems and Equipment 2020 ch. 21).

The rule, one for the run and the steady commands: the fan curves act where the racks'
airflow follows the rack model (``twin run --rack-airflow model``, ``twin solve --racks
ite``) and the pressure comes from a converged flow solve. Then

* a new flow state (:meth:`twin.loop.hall.HallModel.new_state`) is solved again, its
  racks' airflow moved towards their operating points (relaxation
  :data:`~twin.models.fans.FAN_RELAX`), while any rack moves more than
  :data:`FAN_TOL_FRAC` (as ``settle_racks``, at most :data:`FAN_ROUNDS` solves); the
  state keeps its *pressure line* per rack: the servers' flow it was solved at ``q_f``
  (share of design), the pressure difference across the rack ``dp`` (the solve's mean
  port pressure behind the cabinet minus in front of it, plus a passive rear door's
  drop) and the slope through the last two solves (``2 dp / q_f`` after one);
* at every thermal update the rack model gives the fans' speed at the servers' inlet
  (``s``, its free delivery over design) and the servers move the operating point of
  their curve at ``s`` on the active flow state's line, exactly (no relaxation: the line
  is fixed between solves).

Elsewhere (``--rack-airflow design``, ``--racks design|fixed``, a flow solve that did not
converge) the racks move their design or rack-model airflow whatever the pressure, and
the run notes it once.
"""
from __future__ import annotations

import numpy as np

from twin.models.fans import FAN_RELAX, operating_point
from twin.thermal.cabinet import door_air

#: A new flow state is solved again while a rack's airflow moves more than this (as
#: ``twin.thermal.racks.settle_racks``' ``fan_tol_frac``).
FAN_TOL_FRAC = 0.02
#: Most flow solves of one flow state's fan iteration.
FAN_ROUNDS = 8


def server_flow_frac(hall, flows, ratio=None) -> np.ndarray:
    """The servers' airflow over design of every rack from per-device ``flows`` (the
    cabinets' airflow, through the cabinet's leakage: ``ratio``, the cabinets' airflow
    over their servers' the flows were set with, the stated shares' by default) [-]."""
    ratio = hall.rack_cabinet_ratio if ratio is None else np.asarray(ratio, float)
    return np.asarray(flows, float)[hall.rack_dev] / ratio / hall.rack_design_flow


def pressure_line(hall, flows, x, history: list | None = None, ratio=None) -> dict:
    """The pressure line of every rack with a fan curve at the solver's last steady solve
    (``solver.port_pressure_pa``), solved at per-device ``flows`` with rack heats
    ``x[:n_r]``: ``q_frac``, ``dp_pa`` and ``slope_pa`` (lists, NaN for racks without a
    curve). ``history`` (one list of ``(q, dp)`` per rack) is appended to; with an earlier
    point the slope is the secant through it, else ``2 dp / q`` (a resistance; 0 for
    ``dp`` <= 0). ``ratio``: as :func:`server_flow_frac`'s."""
    n = hall.n_r
    p = hall.solver.port_pressure_pa
    ix = hall.rack_dev
    q = server_flow_frac(hall, flows, ratio)
    dp = np.asarray(p[1, ix] - p[0, ix], float)
    if hall.has_doors:
        tin = np.asarray(hall.solver.dev_tin, float)[ix]
        d = door_air(tin, np.asarray(x, float)[:n], np.asarray(flows, float)[ix],
                     hall.rack_doors, hall.rho_cp)
        passive = np.array([dr is not None and dr.kind == "passive" for dr in hall.rack_doors])
        dp = dp + np.where(passive, d["door_dp_pa"], 0.0)
    slope = np.where(dp > 0, 2.0 * dp / q, 0.0)
    out = {"q_frac": [], "dp_pa": [], "slope_pa": []}
    for k in range(n):
        if hall.fan_curves[k] is None:
            for key in out:
                out[key].append(float("nan"))
            continue
        if history is not None:
            pts = history[k]
            if pts and abs(pts[-1][0] - q[k]) > 1e-6 * q[k]:
                slope[k] = (dp[k] - pts[-1][1]) / (q[k] - pts[-1][0])
            pts.append((float(q[k]), float(dp[k])))
        out["q_frac"].append(float(q[k]))
        out["dp_pa"].append(float(dp[k]))
        out["slope_pa"].append(float(slope[k]))
    return out


def operating_frac(hall, line: dict | None, free_flow_m3_s) -> np.ndarray:
    """The servers' airflow over design at their curves' operating point on ``line`` (a
    :func:`pressure_line`), the fans at the speed of ``free_flow_m3_s`` (the rack model's
    airflow, over design); the free delivery's share where a rack has no curve or there
    is no line."""
    return operating_points(hall, line, free_flow_m3_s)[0]


def operating_points(hall, line: dict | None, free_flow_m3_s) -> tuple[np.ndarray, np.ndarray]:
    """:func:`operating_frac` and the pressure difference across each rack there, on
    ``line`` (``dp + slope (q - q_f)``) [Pa]; 0 where a rack has no curve or there is no
    line."""
    s = np.asarray(free_flow_m3_s, float) / hall.rack_design_flow
    out = s.copy()
    dp = np.zeros_like(out)
    if line is None:
        return out, dp
    for k, curve in enumerate(hall.fan_curves):
        if curve is None or not np.isfinite(line["q_frac"][k]):
            continue
        out[k] = operating_point(curve, float(s[k]), line["dp_pa"][k], line["q_frac"][k],
                                 line["slope_pa"][k])["flow_frac"]
        dp[k] = line["dp_pa"][k] + max(line["slope_pa"][k], 0.0) * (out[k] - line["q_frac"][k])
    return out, dp


def settle_fans(hall, flows, x, speed_frac, progress=None,
                ratio=None) -> tuple[np.ndarray, dict | None, dict]:
    """After a converged flow solve at per-device ``flows`` (rack heats ``x``): solve
    again with the racks moved towards their operating points (:data:`FAN_RELAX`) at fan
    speed ``speed_frac`` (the rack model's free delivery over design, per rack) while any
    moves more than :data:`FAN_TOL_FRAC`, at most :data:`FAN_ROUNDS` solves. ``ratio``:
    the cabinets' airflow over their servers' that ``flows`` were set with (their leak
    shares, :meth:`twin.loop.hall.HallModel.desired_flows`; the stated shares' by
    default), kept through the iteration.

    Returns ``(flows, line, info)``: the flows of the last solve, its pressure line
    (``None`` if a re-solve did not converge: the racks then keep that solve's flows and
    no line) and ``rounds``, ``move`` (the last largest move), ``converged``."""
    flows = np.asarray(flows, float).copy()
    ratio = hall.rack_cabinet_ratio if ratio is None else np.asarray(ratio, float)
    history = [[] for _ in range(hall.n_r)]
    speed = np.asarray(speed_frac, float)
    has = np.array([c is not None for c in hall.fan_curves])
    info = {"rounds": 1, "move": 0.0, "converged": True}
    for rnd in range(1, FAN_ROUNDS + 1):
        line = pressure_line(hall, flows, x, history, ratio)
        q_f = server_flow_frac(hall, flows, ratio)
        q_op = operating_frac(hall, line, speed * hall.rack_design_flow)
        q_new = np.where(has, q_f + FAN_RELAX * (q_op - q_f), q_f)
        move = float(np.max(np.abs(q_new - q_f) / q_f, initial=0.0))
        info.update(rounds=rnd, move=move)
        if move <= FAN_TOL_FRAC or rnd == FAN_ROUNDS:
            return flows, line, info
        flows[hall.rack_dev] = q_new * hall.rack_design_flow * ratio
        hall.solver.set_devices(hall.devices(flows, x))
        res = hall.solver.solve_steady(progress=progress)
        hall.sim.counters["flow_solves"] += 1
        hall.sim.counters["fan_solves"] += 1
        if not res.converged:
            info["converged"] = False
            return flows, None, info
    return flows, line, info
