"""One steady state of a hall: mesh, solve, report (``twin solve``).

The summary's keys are stable (scripts rely on them): ``racks`` (name, hall,
intake_temp_c, intake_max_c, exhaust_temp_c, flow_m3_s, air_heat_w, server_inlet_temp_c:
the cabinet's face and back, its airflow and heat, and the inlet its servers see with the
cabinet's leakage, :func:`twin.thermal.cabinet.cabinet_air`), ``cooling_units``
(name, hall, heat_removed_w, supply_temp_c, return_temp_c, airflow_m3_s), ``cells``,
``backend``, ``iterations``, ``converged``, ``wall_s``; plus ``hot_spots``,
``energy_budget``, ``heat_balance`` (servers, rear doors, room, envelope, units:
:func:`heat_balance`), ``envelope`` (per wall and roof, or ``None``), ``convergence``
(the rule that ended the solve, its averaging windows and, for a record mean, the intake
temperatures' standard error), ``coarse_start`` (what a coarse start cost, or
``None``), ``answer`` (the heat at the mean flow, or the temperature's time mean with its
standard error: :func:`time_mean_stage`) and ``fan_limited_racks`` (racks with a fan curve below 95 % of their fans'
free delivery: :func:`twin.thermal.racks.starved_racks`; empty without fan curves). A
rack with a fan curve adds the keys of :data:`_FAN_ROW`. A rack with a rear door adds ``rear_door``, ``servers_air_heat_w`` and the
``door_*`` keys of :data:`_DOOR_ROW`. The JSON schema of the summary is
:data:`SUMMARY_SCHEMA_FILE` (``twin/outputs/solve_summary.schema.json``).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.errors import InputError
from kernels.solver import Solver, SolverSettings

RESULT_SCHEMA = "dc-twin/steady/1"
#: JSON schema of the summary (``summary.json`` of ``twin solve --out``; JSON Schema 2020-12).
SUMMARY_SCHEMA_FILE = Path(__file__).parents[1] / "outputs" / "solve_summary.schema.json"
#: Coarse cells tried for a coarse start, as multiples of the fine cell (the first that meshes).
COARSE_FACTORS = (2.0, 1.5)


@dataclass
class HallSolution:
    hall: str
    solver: Solver
    report: object          # twin.thermal.mesh.MeshReport
    run: object             # kernels.solver.RunResult
    summary: dict


def _position(grid, cell):
    return tuple(float(grid.origin_m[a] + (cell[a] + 0.5) * grid.spacing_m[a]) for a in range(3))


def hot_spots(solver: Solver, n: int = 5, min_separation_m: float = 1.0) -> list[dict]:
    """The ``n`` hottest rack-intake cells, at least ``min_separation_m`` apart."""
    T = solver.backend.to_host(solver.T)
    g = solver.problem.grid
    cand = []
    for d_i, d in enumerate(solver.devices):
        if d.kind != "rack":
            continue
        c = d.intake.cells
        t = T[c[:, 0], c[:, 1], c[:, 2]]
        for m in np.argsort(t)[::-1][:8]:
            cand.append((float(t[m]), d.name, tuple(int(x) for x in c[m])))
    cand.sort(key=lambda x: -x[0])
    out = []
    for t, name, cell in cand:
        pos = np.array(_position(g, cell))
        if any(np.linalg.norm(pos - np.array(o["position_m"])) < min_separation_m for o in out):
            continue
        out.append({"temp_c": t, "rack": name, "position_m": [round(float(p), 3) for p in pos]})
        if len(out) >= n:
            break
    return out


def steady_solve(problem, mesh_at, cell_m: float, backend="auto", settings=None,
                 progress=None, coarse_start: bool = False):
    """Solve ``problem`` (meshed at ``cell_m``) to steady state; returns ``(solver, run,
    coarse)``.

    With ``coarse_start`` the hall is first solved on a coarser grid of the same box
    (``mesh_at(cell)`` gives its problem; ``COARSE_FACTORS`` times ``cell_m``, the first
    that meshes: bodies that fit at the fine cell can collide at twice it) and the fine
    solve starts from that flow (grid sequencing, ``kernels/resample.py``). ``coarse``
    then says what that cost (``cell_m``, ``cells``, ``steps``, ``wall_s``,
    ``converged``), or why it was skipped; it is ``None`` without ``coarse_start``.

    What it gains on the shipped halls is measured in ``benchmarks/results/kernels-notes.md``.
    """
    coarse = None
    start = None
    if coarse_start:
        t0 = time.perf_counter()
        cproblem, errors = None, []
        for factor in COARSE_FACTORS:
            try:
                cproblem = mesh_at(round(factor * cell_m, 9))
                break
            except InputError as e:
                errors.append(f"{factor * cell_m:g} m: {str(e).splitlines()[0]}")
        if cproblem is None:
            coarse = {"cell_m": None, "skipped": "; ".join(errors)}
        else:
            ccell = round(factor * cell_m, 9)
            start = Solver(cproblem, backend=backend, settings=settings)
            stage = f"coarse start at {ccell:g} m"
            crun = start.solve_steady(progress=None if progress is None else
                                      (lambda n, info: progress(n, {**info, "stage": stage})))
            coarse = {"cell_m": ccell, "cells": int(cproblem.grid.cells),
                      "steps": int(crun.iterations), "converged": bool(crun.converged),
                      "wall_s": time.perf_counter() - t0}
    solver = Solver(problem, backend=backend, settings=settings)
    if start is not None:
        solver.start_from(start)
        del start
    run = solver.solve_steady(progress=progress)
    return solver, run, coarse


def settle_hall_racks(facility, problem, solver, run, rack_model: str = "ite",
                      utilization: float = 1.0, rack_utilization=None, progress=None):
    """The steady solve ``run`` carried on to the rack model's fixed point
    (:func:`twin.thermal.racks.settle_racks`; the airflow only after a converged ``run``). Returns ``(run, racks_info)``: the run with
    the settling's flow solves counted in (``converged`` only if every solve converged
    and the racks settled), and per rack device name ``power_w`` and ``work_fraction``
    (not for fixed racks) and ``server_inlet_temp_c`` (the servers' inlet from the
    cabinet's face and back, :func:`twin.thermal.cabinet.server_inlet_from_cabinet`), with
    the settling's ``rounds``, ``flow_solves`` and ``settled`` under ``"_settle"``; a rack
    with a fan curve adds the keys of :data:`_FAN_ROW`, and ``"_fans"`` lists the racks
    below their fans' free delivery (:func:`twin.thermal.racks.starved_racks`)."""
    from dataclasses import replace as _replace

    from twin.thermal.racks import hall_racks, settle_racks
    racks = hall_racks(facility, problem, utilization, rack_utilization)
    # a flow that did not settle is not worth solving again for the racks' airflow: their
    # heat still follows the intakes (heat solves at that flow)
    info = settle_racks(solver, racks, rack_model, progress=progress,
                        flow_tol_frac=0.10 if run.converged else np.inf)
    last = info["run"]
    if last is not None:
        run = _replace(last, iterations=run.iterations + info["steps"],
                       wall_s=run.wall_s + last.wall_s,
                       converged=bool(run.converged and last.converged))
    if not info["settled"]:
        run = _replace(run, converged=False)
    out = {"_settle": {k: info[k] for k in ("model", "rounds", "flow_solves", "settled",
                                             "heat_change_frac", "doors_held")}}
    out["_fans"] = list(info.get("fans", []))
    res = info["response"]
    out["_racks"], out["_response"] = racks, res
    t_srv = server_inlets(solver, racks, res)
    for n, name in enumerate(racks.names):
        out[name] = {"server_inlet_temp_c": float(t_srv[n])}
        if res is not None and "power_w" in res:
            out[name].update(power_w=float(res["power_w"][n]), work_fraction=float(res["work"][n]))
        if res is not None and "airflow_free_frac" in res and racks.fan_curves[n] is not None:
            out[name].update({k: float(res[k][n]) for k in _FAN_ROW})
        if res is not None and "leak_hall_dp_pa" in res and np.isfinite(racks.leak_dp_pa[n]):
            out[name].update({"cabinet_recirculation_frac": float(res["recirculation_frac"][n]),
                              "cabinet_bypass_frac": float(res["bypass_frac"][n]),
                              "cabinet_hall_dp_pa": float(res["leak_hall_dp_pa"][n])})
        if res is not None and racks.doors is not None and racks.doors[n] is not None:
            out[name].update({"rear_door": racks.doors[n].name,
                              "servers_air_heat_w": float(res["air_w"][n]),
                              **{k: float(res[v][n]) for k, v in _DOOR_ROW.items()}})
    return run, out


def server_inlets(solver, racks, response) -> np.ndarray:
    """The servers' inlet of every rack [degC] from its cabinet's face and back in the
    field (:func:`twin.thermal.cabinet.server_inlet_from_cabinet`), the back taken before
    the rear door (the back face's plus what the door took, less its fans' heat)."""
    from twin.thermal.cabinet import server_inlet_from_cabinet
    ix = racks.device_index
    t_back = np.array(solver.dev_tout[ix], dtype=float)
    if racks.has_doors and response is not None:
        flows = np.array([solver.devices[i].flow_m3_s for i in ix])
        t_back = t_back + (response["door_w"] - response["door_fan_w"]) / (
            racks.rho_cp_j_m3k * flows)
    shares = ((response["recirculation_frac"], response["bypass_frac"])
              if response is not None and "recirculation_frac" in response
              else racks.leakage())
    return server_inlet_from_cabinet(solver.dev_tin[ix], t_back, *shares)


#: The fan-curve keys of a rack's summary row (``twin.thermal.racks.FAN_KEYS``): the
#: back pressure its fans met [Pa] (the hall's ``hall_dp_pa``, back minus face, plus a
#: passive door's drop), its servers' airflow over their design airflow and over their
#: fans' free delivery at their speed, and 1 where the fans were held at shut-off.
_FAN_ROW = ("back_pressure_pa", "hall_dp_pa", "airflow_design_frac", "airflow_free_frac",
            "fan_shutoff")


#: The rear-door keys of a rack's summary row -> ``twin.thermal.cabinet.door_air``'s keys.
_DOOR_ROW = {"door_heat_w": "door_w", "door_fan_power_w": "door_fan_w",
             "door_dp_pa": "door_dp_pa", "door_air_in_temp_c": "door_air_in_c",
             "door_effectiveness": "door_effectiveness",
             "door_water_return_temp_c": "door_water_return_c", "door_capped": "door_capped"}


def rack_rows(solver, hall_name: str, rack_info: dict) -> list[dict]:
    """The summary's ``racks`` rows, hottest intake first (the keys of the module
    docstring, plus ``power_w`` and ``work_fraction`` under the rack model)."""
    racks = []
    for rec in solver.device_report():
        if rec["kind"] != "rack":
            continue
        row = {"name": rec["name"], "hall": hall_name, "intake_temp_c": rec["intake_temp_c"],
               "intake_max_c": rec["intake_max_c"], "exhaust_temp_c": rec["exhaust_temp_c"],
               "flow_m3_s": rec["flow_m3_s"], "air_heat_w": rec["heat_w"]}
        row.update(rack_info.get(rec["name"], {}))
        racks.append(row)
    racks.sort(key=lambda r: -r["intake_max_c"])
    return racks


def unit_rows(solver, hall_name: str) -> list[dict]:
    """The summary's ``cooling_units`` rows (the keys of the module docstring)."""
    return [{"name": rec["name"], "hall": hall_name, "heat_removed_w": rec["heat_w"],
             "supply_temp_c": rec["supply_temp_c"], "return_temp_c": rec["return_temp_c"],
             "airflow_m3_s": rec["flow_m3_s"]}
            for rec in solver.device_report() if rec["kind"] != "rack"]


def solve_hall(facility, hall: str | None = None, cell_m: float = 0.2, backend="auto",
               settings: SolverSettings | None = None, progress=None,
               utilization: float = 1.0, coarse_start: bool = False,
               rack_model: str = "ite", turbulence: str = "chen-xu",
               answer: str = "flow-mean", average_s: float | None = None,
               units: str = "matched") -> HallSolution:
    """Mesh ``hall`` of ``facility`` at ``cell_m`` and solve it to steady state
    (``coarse_start``: see :func:`steady_solve`) with the racks at the rack model's
    fixed point (``rack_model``: :data:`twin.thermal.racks.RACK_MODELS`) and the
    turbulence model ``turbulence`` (:data:`kernels.problem.TURBULENCE_MODELS`; the
    cross-check's evidence on which serves halls best: ``docs/validation.md``).

    ``answer`` (:data:`ANSWERS`): ``flow-mean`` answers with the heat equation solved at the
    steady solve's (mean) flow; ``time-mean`` then marches on in real time and answers
    with the temperature's time mean over ``average_s`` seconds (default
    :func:`kernels.time_mean.auto_average_s`), which also carries the heat a swinging
    flow moves (:mod:`kernels.time_mean`). The racks keep the powers and airflows of
    their fixed point at the flow-mean answer; the summary's ``answer`` says which
    answer it is and, for a time mean, its standard error, swing and the heat the air
    stored over it.

    ``units``: the units of a sealed contained aisle at its racks' airflow (``matched``,
    the default: :func:`twin.thermal.aisles.match_sealed_aisles`), or every cooling unit
    at its design airflow (``design``); the summary's ``sealed_aisles``
    gives each sealed aisle's racks' and units' airflow either way."""
    from dataclasses import replace

    from kernels import Turbulence
    from twin.thermal.aisles import UNIT_FLOWS, match_sealed_aisles
    from twin.thermal.mesh import mesh_hall
    if units not in UNIT_FLOWS:
        raise InputError(f"units {units!r}: choose one of {', '.join(UNIT_FLOWS)}")
    tu = Turbulence(turbulence)
    if answer not in ANSWERS:
        raise InputError(f"answer '{answer}' is unknown: use one of {', '.join(ANSWERS)}")
    aisles = []

    def mesh_at(cell):
        p, rep = mesh_hall(facility, hall, cell_m=cell, utilization=utilization,
                           backend=backend if isinstance(backend, str) else None)
        matched, found = match_sealed_aisles(p, facility, rep.hall)
        if units == "matched":
            p = matched
        else:                       # as designed: what the aisles' units move then
            found = [dict(a, units_airflow_m3_s=a["units_design_airflow_m3_s"], speed_frac=1.0)
                     for a in found]
        aisles[:] = found
        return replace(p, turbulence=tu), rep
    problem, report = mesh_at(cell_m)
    found_fine = list(aisles)
    t0 = time.perf_counter()
    solver, run, coarse = steady_solve(problem, lambda cell: mesh_at(cell)[0], cell_m, backend,
                                       settings, progress, coarse_start)
    solver, run, rack_info, envelope = settle_hall(facility, report, solver, run, rack_model,
                                                   utilization, progress=progress)
    answer_info = time_mean_stage(solver, rack_info, average_s, progress) if (
        answer == "time-mean") else {"kind": "flow-mean"}
    wall = time.perf_counter() - t0
    hall_name = report.hall
    racks = rack_rows(solver, hall_name, rack_info)
    unit_recs = unit_rows(solver, hall_name)
    summary = {
        "schema": RESULT_SCHEMA,
        "facility": str(getattr(facility, "source", "") or ""),
        "hall": hall_name,
        "racks": racks,
        "cooling_units": unit_recs,
        "cells": int(problem.grid.cells),
        "cell_m": float(cell_m),
        "backend": solver.backend.name,
        "device": solver.backend.device,
        "iterations": int(run.iterations),
        "converged": bool(run.converged),
        "wall_s": float(wall),
        "residual_velocity": float(run.residuals.get("velocity", np.nan)),
        "convergence": convergence_summary(run),
        "coarse_start": coarse,
        "rack_model": rack_info["_settle"],
        "fan_limited_racks": rack_info.get("_fans", []),
        "turbulence": turbulence,
        "answer": answer_info,
        "energy_budget": solver.energy_budget(),
        "heat_balance": heat_balance(solver, rack_info, envelope),
        "envelope": envelope,
        "max_divergence_m_s": float(solver.max_divergence()),
        "hot_spots": hot_spots(solver),
        "units": units,
        "sealed_aisles": found_fine,
    }
    return HallSolution(hall_name, solver, report, run, summary)


#: What a steady solve answers with (:func:`solve_hall`).
ANSWERS = ("flow-mean", "time-mean")


def time_mean_stage(solver, rack_info: dict, average_s=None, progress=None) -> dict:
    """The solved hall's temperature replaced by its time mean
    (:func:`kernels.time_mean.time_mean_answer`) and the servers' inlets taken from the
    mean field; the summary's ``answer``: ``kind``, ``average_s``, ``spin_up_s``,
    ``uncertainty_k`` and ``drift_k`` (batch means, largest over the devices),
    ``max_swing_k`` (the largest range of an intake mean over the average),
    ``storage_frac`` (heat the air stored over the heat input: what the mean field's
    balance is open by)."""
    from kernels.time_mean import time_mean_answer
    tm = time_mean_answer(solver, average_s, progress=progress)
    racks = rack_info.get("_racks")
    if racks is not None:
        t_srv = server_inlets(solver, racks, rack_info.get("_response"))
        for n, name in enumerate(racks.names):
            rack_info[name]["server_inlet_temp_c"] = float(t_srv[n])
    return {"kind": "time-mean", **{k: tm[k] for k in (
        "average_s", "spin_up_s", "uncertainty_k", "drift_k", "max_swing_k", "storage_frac",
        "steps", "wall_s")}}


def settle_hall(facility, report, solver, run, rack_model: str = "ite", utilization: float = 1.0,
                rack_utilization=None, progress=None):
    """After the flow solve: the racks at the rack model's fixed point
    (:func:`settle_hall_racks`) and, for a hall with an envelope, its walls' and roof's
    heat at the field's air temperatures (:func:`twin.thermal.envelope.refine_envelope`,
    before and after the racks). Returns ``(solver, run, rack_info, envelope)``, the
    solver being a new one when the envelope's sources moved, ``envelope`` ``None``
    without one."""
    from twin.thermal.envelope import refine_envelope
    faces = report.envelope
    if faces:
        solver, _ = refine_envelope(solver, faces, *report.outdoor, report.hall)
    run, rack_info = settle_hall_racks(facility, solver.problem, solver, run, rack_model,
                                       utilization, rack_utilization, progress)
    envelope = None
    if faces:
        solver, envelope = refine_envelope(solver, faces, *report.outdoor, report.hall)
        racks = rack_info["_racks"]           # the servers' inlets in the final field
        t_srv = server_inlets(solver, racks, rack_info["_response"])
        for n, name in enumerate(racks.names):
            rack_info[name]["server_inlet_temp_c"] = float(t_srv[n])
    return solver, run, rack_info, envelope


def heat_balance(solver, rack_info: dict, envelope: dict | None) -> dict:
    """Where the hall's heat goes [W]: the servers' heat to air, the part the rear doors
    take to their water (``door_heat_w``) and their fans add, the heat the racks release
    into the room (``rack_heat_to_room_w``, the field's), the envelope's gain (negative: a
    loss), what the cooling units remove and what is left (``imbalance_w``: room heat +
    envelope + walls of the thermal core - units)."""
    b = solver.energy_budget()
    rows = [v for k, v in rack_info.items() if not k.startswith("_")]
    door = float(sum(r.get("door_heat_w", 0.0) for r in rows))
    fans = float(sum(r.get("door_fan_power_w", 0.0) for r in rows))
    env = float(envelope["heat_w"]) if envelope else 0.0
    room = float(b["rack_heat_w"])
    return {"servers_air_heat_w": room + door - fans, "door_heat_w": door,
            "door_fan_power_w": fans, "rack_heat_to_room_w": room, "envelope_heat_w": env,
            "boundary_heat_w": float(b["boundary_heat_w"]),
            "other_sources_w": float(b["source_heat_w"]) - env,
            "cooler_heat_w": float(b["cooler_heat_w"]),
            "imbalance_w": float(b["imbalance_w"])}


def convergence_summary(run) -> dict:
    """How a steady solve ended (``Solver.solve_steady``): the rule that stopped it, the
    averaging windows it used, the range of the last three windows' intake means
    (``window_change_k``, largest over devices), with the settled-flow rule
    (``kernels.steady.settled_flow``) the range of the last heat solves' intake means
    (``settle_range_k``) and the velocity residual, for a record mean the standard error of
    the intake means [K], and the last normalised residuals (``residuals``: continuity,
    u, v, w, energy; ``kernels.steady.normalized_residuals``); a figure not reached is
    ``None``."""
    r = run.residuals

    def num(key):
        v = r.get(key)
        return float(v) if v is not None and np.isfinite(v) else None

    norm = r.get("normalized") or {}
    return {"mode": str(r.get("mode", "")), "windows": int(r.get("windows", 0)),
            "residuals": {k: (float(v) if np.isfinite(v) else None) for k, v in norm.items()},
            "window_change_k": num("window_change_k"),
            "settle_range_k": num("settle_range_k"),
            "velocity_residual": num("velocity"),
            "record_windows": int(r.get("record_windows", 0)),
            "record_uncertainty_k": num("record_uncertainty_k"),
            "record_drift_k": num("record_drift_k")}


def progress_text(info: dict) -> str:
    """One line on where a steady solve stands, from its progress ``info``."""
    if info.get("stage") == "time mean":
        return (f"time mean of the temperature: {info['time_s']:.0f} of "
                f"{info['average_s']:.0f} s averaged")
    tol = SolverSettings()
    text = f"velocity residual {info['res_velocity']:.2e} (target {tol.tol_velocity:.0e})"
    norm = info.get("residuals")
    if norm:
        text += "; normalised residuals " + " ".join(
            f"{k} {v:.1e}" for k, v in norm.items())
    if info.get("stage"):
        text = f"{info['stage']}: {text}"
    if info.get("windows"):
        change = info.get("window_change_k", np.inf)
        text += f"; {info['windows']} windows"
        if np.isfinite(change):
            text += f", last 3 windows' intakes within {change:.3f} K"
        settle = info.get("settle_range_k", np.inf)
        if np.isfinite(settle):
            text += (f"; last heat solves' intakes within {settle:.3f} K (settled at "
                     f"{tol.settle_temp_k:g} K with the residual under "
                     f"{tol.settle_velocity:.0e})")
        if info.get("record_windows", 0) >= 2:
            text += (f", record of {info['record_windows']}: +-{info['record_uncertainty_k']:.2f} K"
                     f" standard error, drift {info['record_drift_k']:.2f} K (targets"
                     f" {tol.tol_temp_k / 2:g} and {tol.tol_temp_k:g} K)")
    return text


def answer_text(answer: dict | None) -> str:
    """The answer's kind for a person: empty for the flow-mean answer, else the time mean's
    span, standard error and swing (:func:`time_mean_stage`)."""
    if not answer or answer.get("kind") != "time-mean":
        return ""
    return (f"temperature: time mean over {answer['average_s']:.0f} s of real time "
            f"(+-{answer['uncertainty_k']:.2f} K standard error, intakes swing up to "
            f"{answer['max_swing_k']:.1f} K, air stored {answer['storage_frac']:.1e} of the heat)")


def convergence_text(conv: dict) -> str:
    """How a steady solve ended, for a person (``convergence_summary``); empty when the
    velocity residual alone decided it."""
    mode = conv.get("mode", "")
    if conv.get("record_windows", 0) >= 2 and "record" in mode:
        se = conv.get("record_uncertainty_k")
        se = f"{se:.2f}" if se is not None else "?"
        return (f" ({mode}: mean flow of {conv['record_windows']} windows, intake temperatures"
                f" +-{se} K standard error)")
    if mode == "steady (settled flow)" and conv.get("settle_range_k") is not None:
        res = conv.get("velocity_residual")
        return (f" ({mode}: the intakes of the last heat solves within "
                f"{conv['settle_range_k']:.3f} K"
                + (f", velocity residual {res:.1e})" if res is not None else ")"))
    if mode and mode not in ("steady", "not converged"):
        change = conv.get("window_change_k")
        return f" ({mode}" + (f", last 3 windows' intakes within {change:.3f} K)"
                              if change is not None else ")")
    return ""


def write_steady_h5(path, solutions: list[HallSolution], facility_text: str = "") -> None:
    """3D fields of each solved hall: ``/halls/<name>/{temp_c,u_m_s,...}`` on its
    coordinates ``x_m``, ``y_m``, ``z_m`` (netCDF-4/CF: every group opens in
    ``xarray.open_datatree(path, engine="h5netcdf")``; :func:`twin.outputs.cf.write_fields`)."""
    import h5py

    from twin.outputs.cf import write_fields

    def write(p):
        with h5py.File(p, "w") as f:
            f.attrs["Conventions"] = "CF-1.10"
            f.attrs["title"] = "dc-twin steady solve"
            f.attrs["schema"] = RESULT_SCHEMA
            f.attrs["facility_toml"] = facility_text
            for sol in solutions:
                g = sol.solver.problem.grid
                h = f.create_group(f"halls/{sol.hall}")
                write_fields(h, [g.centers(a) for a in range(3)], sol.solver.fields(),
                             compression="gzip", compression_opts=1)
                h.attrs["summary_json"] = json.dumps(sol.summary, default=float)
    from twin.outputs.files import atomic_write
    atomic_write(Path(path), write)


#: Columns of ``racks.csv`` and ``cooling_units.csv`` (the summary's keys, units in names).
RACK_CSV = ("name", "hall", "intake_temp_c", "server_inlet_temp_c", "intake_max_c",
            "exhaust_temp_c", "flow_m3_s", "air_heat_w", "power_w", "work_fraction",
            "rear_door", "door_heat_w", "door_dp_pa", "door_fan_power_w",
            "back_pressure_pa", "airflow_design_frac", "airflow_free_frac")
UNIT_CSV = ("name", "hall", "heat_removed_w", "supply_temp_c", "return_temp_c", "airflow_m3_s")


def write_solution_csv(out_dir, summary: dict) -> list[Path]:
    """``racks.csv`` (hottest intake first) and ``cooling_units.csv`` of a steady
    summary, beside ``results.h5`` (each written atomically; a value the rack model did not
    give, e.g. ``power_w`` of fixed racks, is an empty field)."""
    from twin.outputs.files import write_csv
    out = Path(out_dir)
    return [write_csv(out / "racks.csv", RACK_CSV,
                      [[r.get(k) for k in RACK_CSV] for r in summary["racks"]]),
            write_csv(out / "cooling_units.csv", UNIT_CSV,
                      [[u.get(k) for k in UNIT_CSV] for u in summary["cooling_units"]])]


def check_cell(cell_m: float) -> float:
    if not np.isfinite(cell_m) or cell_m <= 0:
        raise InputError(f"--cell {cell_m}: the cell size must be a positive number of metres "
                         "(halls use 0.05 to 0.3)")
    return cell_m
