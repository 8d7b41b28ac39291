"""What-if studies: change facility fields by path, solve each case, compare (``twin whatif``).

A change is ``PATH=VALUE``. ``PATH`` walks the facility the way the file is written:
dots between fields, ``[NAME]`` to pick an item of a list by its ``name`` (``[*]``: every
item; ``[0]``: by position) or an entry of a table::

    halls[H1].cooling_units[CRAH-1].supply_temp_c=21
    halls[H1].cooling_units[*].supply_temp_c=16          # every unit of the hall
    halls[H1].rows[A].type=hgx-h100-air                  # rack type of a row
    halls[H1].rows[A].count=6                            # racks in a row
    halls[H1].tiles[CA].open_area_frac=0.25
    rack_types[cpu-compute].nameplate_power_kw=15
    plant.condenser_water.control=optimal                # [plant] made if the file lacks it

A path into an optional section the file does not have (``[plant]``,
``[plant.condenser_water]``, ``[plant.economizer]``, ...) makes it from the schema's
defaults and then sets the value, checked as if written in the file; a section that has
no defaults for some of its keys (``[power.grid]``: ``capacity_mw``) must be added to the
file first (one line says which).

and a few study switches that are not fields of the file:

* ``utilization=0.6`` (alias ``load``): IT utilisation of every rack (0 idle .. 1 design);
* ``halls[H].rows[R].utilization=0.5`` / ``halls[H].racks[R].utilization``: one row or rack;
* ``halls[H].cooling_units[U].enabled=false`` or ``...airflow_m3_s=0``: the unit stands
  (its body stays) but moves no air and removes no heat, as after a fan or valve failure;
* ``halls[H].containment=none`` (remove all), ``=cold-aisle:A+B`` or ``=hot-aisle:A+B``
  (contain the aisle between rows A and B); ``halls[H].containment[C].enabled=false``.

Every changed facility is checked by the facility validator before any solve; a bad path
or value is one line naming the path and the valid choices.

Each case is one steady state (pseudo-time stepping to the criterion of
:class:`kernels.solver.SolverSettings`, then the exact energy finish) at a coarse cell;
the cases run in parallel on Dask (:mod:`twin.studies.sweep`).

Metrics (:func:`inlet_metrics`): the *rack inlet temperature* is the mean over the rack's
intake face (what a front-door sensor array reads); the Rack Cooling Index is computed
over every intake cell (one cell of the face ~ one server intake), after

    Herrlin, M.K. (2005), "Rack Cooling Effectiveness in Data Centers and Telecom Central
    Offices: The Rack Cooling Index (RCI)", ASHRAE Transactions 111(2), 725-731.

with the ASHRAE TC 9.9 class A1 limits (Thermal Guidelines for Data Processing
Environments, 5th ed., 2021): recommended 18-27 degC, allowable 15-32 degC; RTI after
Herrlin (2008). The indices are those of :mod:`twin.models.metrics`.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from common.errors import InputError
from twin.models.metrics import ALLOWABLE_MAX_C, RECOMMENDED_MAX_C, rci_hi_pct, rci_lo_pct, rti_pct

from .cases import Case, _suggest

#: Comparison columns: key, heading, format, whether higher is worse (for the marks).
METRIC_COLUMNS = [
    ("inlet_max_c", "max inlet C", "{:.1f}", True),
    ("server_inlet_max_c", "max server inlet C", "{:.1f}", True),
    ("inlet_mean_c", "mean inlet C", "{:.1f}", True),
    ("inlet_cell_max_c", "hottest cell C", "{:.1f}", True),
    ("racks_over_27", "racks >27C", "{:d}", True),
    ("racks_over_32", "racks >32C", "{:d}", True),
    ("rci_hi_pct", "RCI_HI %", "{:.1f}", False),
    ("rci_lo_pct", "RCI_LO %", "{:.1f}", False),
    ("rti_pct", "RTI %", "{:.0f}", None),
    ("cooling_kw", "cooling kW", "{:.1f}", None),
    ("rack_heat_kw", "rack heat kW", "{:.1f}", None),
    ("door_kw", "rear doors kW", "{:.1f}", None),
    ("min_airflow_pct", "min rack airflow %", "{:.0f}", False),
    ("racks_low_airflow", "racks <95% airflow", "{:d}", True),
    ("envelope_kw", "envelope kW", "{:.2f}", None),
    ("supply_c", "supply C", "{:.1f}", None),
    ("return_c", "return C", "{:.1f}", None),
]


# ------------------------------------------------------------------------------ metrics
def inlet_metrics(solver, leakage: dict | None = None, rack_info: dict | None = None,
                  envelope: dict | None = None) -> dict:
    """Comparison metrics of a solved hall (a :class:`kernels.solver.Solver`);
    ``leakage`` ({rack device name: (recirculation, bypass)}) gives the servers' inlets
    behind leaky cabinets (``server_inlet_max_c``: the hottest,
    :func:`twin.thermal.cabinet.server_inlet_from_cabinet`; the face's without it);
    ``rack_info`` (:func:`twin.thermal.steady.settle_hall_racks`) the rear doors' heat to
    water ``door_kw`` and, for racks with a fan curve, the lowest share of their fans'
    free delivery ``min_airflow_pct`` (NaN without fan curves) and the racks below 95 %
    of it ``racks_low_airflow``; ``envelope`` the walls' and roof's gain ``envelope_kw``."""
    from twin.thermal.cabinet import server_inlet_from_cabinet
    T = solver.backend.to_host(solver.T)
    racks, units = [], []
    cells = []
    for n, d in enumerate(solver.devices):
        if d.kind == "rack":
            c = d.intake.cells
            cells.append(T[c[:, 0], c[:, 1], c[:, 2]].astype(float))
            racks.append((d, float(solver.dev_tin[n]), float(solver.dev_tin_max[n]),
                          float(solver.dev_tout[n])))
        else:
            units.append((d, float(solver.dev_tin[n]), float(solver.dev_tout[n])))
    allc = np.concatenate(cells) if cells else np.zeros(0)
    rcp = solver.problem.fluid.rho_cp
    out = {"racks": {d.name: round(tin, 3) for d, tin, _, _ in racks}}
    if racks:
        tin = np.array([r[1] for r in racks])
        worst = int(np.argmax(tin))
        q = np.array([r[0].flow_m3_s for r in racks])
        tout = np.array([r[3] for r in racks])
        leak = np.array([(leakage or {}).get(r[0].name, (0.0, 0.0)) for r in racks], float)
        t_srv = server_inlet_from_cabinet(tin, tout, leak[:, 0], leak[:, 1])
        # behind a rear door the back face is cooled: the settled racks' own figure
        srv = {k: v.get("server_inlet_temp_c") for k, v in (rack_info or {}).items()
               if not k.startswith("_")}
        t_srv = np.array([srv.get(r[0].name) if srv.get(r[0].name) is not None else t_srv[n]
                          for n, r in enumerate(racks)], dtype=float)
        out.update(
            inlet_max_c=float(tin.max()), server_inlet_max_c=float(t_srv.max()),
            inlet_mean_c=float(tin.mean()),
            inlet_cell_max_c=float(allc.max()), worst_rack=racks[worst][0].name,
            racks_over_27=int((tin > RECOMMENDED_MAX_C).sum()),
            racks_over_32=int((tin > ALLOWABLE_MAX_C).sum()),
            rci_hi_pct=rci_hi_pct(allc), rci_lo_pct=rci_lo_pct(allc),
            rack_heat_kw=float(np.sum(rcp * q * (tout - tin)) / 1e3))
    else:
        q = tin = tout = np.zeros(0)
    on = [(d, ti, to) for d, ti, to in units if d.flow_m3_s > 0]
    if on:
        qu = np.array([d.flow_m3_s for d, _, _ in on])
        tr = np.array([ti for _, ti, _ in on])
        ts = np.array([to for _, _, to in on])
        sup = float(np.average(ts, weights=qu))
        ret = float(np.average(tr, weights=qu))
        r = rti_pct(tr, ts, qu, tout - tin, q) if q.size else float("nan")
        out.update(supply_c=sup, return_c=ret, rti_pct=r,
                   cooling_kw=float(sum(rcp * d.flow_m3_s * (ti - to) for d, ti, to in on) / 1e3))
    else:
        out.update(supply_c=float("nan"), return_c=float("nan"), rti_pct=float("nan"),
                   cooling_kw=0.0)
    rows = [v for k, v in (rack_info or {}).items() if not k.startswith("_")]
    out["door_kw"] = float(sum(r.get("door_heat_w", 0.0) for r in rows) / 1e3)
    fan = [r["airflow_free_frac"] for r in rows if "airflow_free_frac" in r]
    out["min_airflow_pct"] = float(100.0 * min(fan)) if fan else float("nan")
    out["racks_low_airflow"] = len((rack_info or {}).get("_fans", []))
    out["envelope_kw"] = float(envelope["heat_w"] / 1e3) if envelope else 0.0
    return out


# -------------------------------------------------------------------------- a solved case
def solve_case(facility, hall: str | None = None, cell_m: float = 0.3, backend="auto",
               settings=None, utilization: float = 1.0, off_units=(), rack_utilization=(),
               progress=None, coarse_start: bool = False, rack_model: str = "ite",
               units: str = "matched"):
    """Mesh and solve one case to steady state.

    Like :func:`twin.thermal.steady.solve_hall` (same summary keys), plus: ``off_units`` (unit
    names, ``UNIT`` or ``HALL/UNIT``) move no air; ``rack_utilization`` ((rack or row,
    utilisation) pairs) overrides the utilisation of single racks or whole rows;
    ``coarse_start`` as in :func:`twin.thermal.steady.steady_solve`; the racks at the rack
    model's fixed point (``rack_model``, :func:`twin.thermal.steady.settle_hall_racks`);
    ``units``: the cooling units' airflow (:func:`twin.thermal.steady.solve_hall`).
    Returns a :class:`twin.thermal.steady.HallSolution` whose summary also has ``metrics``.
    """
    from twin.thermal.aisles import UNIT_FLOWS, match_sealed_aisles
    from twin.thermal.mesh import mesh_hall
    from twin.thermal.steady import HallSolution, hot_spots, settle_hall, steady_solve
    if units not in UNIT_FLOWS:
        raise InputError(f"units {units!r}: choose one of {', '.join(UNIT_FLOWS)}")

    lay = facility.layout(facility.hall(hall).name)
    rack_power, rack_util = _rack_power(lay, rack_utilization)
    off = set(unit_device_names(lay, off_units))

    def mesh_at(cell):
        problem, report = mesh_hall(facility, hall, cell_m=cell, utilization=utilization,
                                    rack_power_w=rack_power or None,
                                    backend=backend if isinstance(backend, str) else None)
        if units == "matched":          # before the units switched off: they stay off
            problem = match_sealed_aisles(problem, facility, report.hall)[0]
        if off:
            problem = problem.with_devices(replace(d, flow_m3_s=0.0) if d.name in off else d
                                           for d in problem.devices)
        return problem, report
    problem, report = mesh_at(cell_m)
    t0 = time.perf_counter()
    solver, run, coarse = steady_solve(problem, lambda cell: mesh_at(cell)[0], cell_m, backend,
                                       settings, progress, coarse_start)
    solver, run, rack_info, envelope = settle_hall(facility, report, solver, run, rack_model,
                                                   utilization, rack_util, progress)
    summary = hall_summary(facility, report, solver, run, cell_m, time.perf_counter() - t0,
                           rack_info, envelope)
    summary["coarse_start"] = coarse
    summary["hot_spots"] = hot_spots(solver)
    summary["off_units"] = sorted(off)
    summary["units"] = units
    return HallSolution(report.hall, solver, report, run, summary)


def hall_summary(facility, report, solver, run, cell_m, wall_s, rack_info=None,
                 envelope=None) -> dict:
    """The summary of :func:`twin.thermal.steady.solve_hall` (same keys) plus ``metrics``
    (``rack_info``: :func:`twin.thermal.steady.settle_hall_racks`)."""
    from twin.thermal.steady import (RESULT_SCHEMA, convergence_summary, heat_balance, rack_rows,
                                     unit_rows)
    rack_info = rack_info or {}
    racks = rack_rows(solver, report.hall, rack_info)
    units = unit_rows(solver, report.hall)
    return {
        "schema": RESULT_SCHEMA,
        "facility": str(getattr(facility, "source", "") or ""),
        "hall": report.hall, "racks": racks, "cooling_units": units,
        "cells": int(solver.problem.grid.cells), "cell_m": float(cell_m),
        "backend": solver.backend.name, "device": solver.backend.device,
        "iterations": int(run.iterations), "converged": bool(run.converged),
        "wall_s": float(wall_s),
        "residual_velocity": float(run.residuals.get("velocity", np.nan)),
        "convergence": convergence_summary(run),
        "rack_model": rack_info.get("_settle"),
        "fan_limited_racks": rack_info.get("_fans", []),
        "energy_budget": solver.energy_budget(),
        "heat_balance": heat_balance(solver, rack_info, envelope),
        "envelope": envelope,
        "max_divergence_m_s": float(solver.max_divergence()),
        "metrics": inlet_metrics(solver, rack_leakage(report.layout), rack_info, envelope),
    }


def rack_leakage(layout) -> dict:
    """{rack device name: (recirculation, bypass)} of a hall's cabinets (``inlet_metrics``)."""
    return {r.name: (r.recirculation_frac, r.bypass_frac) for r in layout.racks}


def unit_device_names(lay, names) -> list[str]:
    """Device names of the cooling units ``names`` (``UNIT``, ``HALL/UNIT``; a unit with
    ``count > 1`` stands for all its copies)."""
    hall = lay.hall.name
    devs = [u.name for u in lay.units]
    out = []
    for n in names:
        full = n if n.startswith(hall + "/") else f"{hall}/{n}"
        hit = [d for d in devs if d == full or re.fullmatch(re.escape(full) + r"-\d\d", d)]
        if not hit:
            choices = [d.split("/", 1)[1] for d in devs]
            raise InputError(f"no cooling unit '{n}' in hall {hall}{_suggest(n, choices)}; "
                             f"units: {', '.join(choices) or '(none)'}")
        out += hit
    return list(dict.fromkeys(out))


def _rack_power(lay, rack_utilization) -> tuple[dict, dict]:
    """{rack device name: power [W]} and {rack device name: utilisation} for (row or rack
    name, utilisation) pairs."""
    hall = lay.hall.name
    power, util = {}, {}
    for ref, u in rack_utilization:
        hit = [r for r in lay.racks if r.row == ref or r.name in (ref, f"{hall}/{ref}")]
        if not hit:
            raise InputError(f"no row or rack '{ref}' in hall {hall}")
        for r in hit:
            power[r.name] = r.power_w(u)
            util[r.name] = float(u)
    return power, util


# ------------------------------------------------------------------------------ running
def run_case(case: Case, hall=None, cell_m=0.3, backend="auto", settings=None,
             coarse_start: bool = False, rack_model: str = "ite", units: str = "matched") -> dict:
    """Solve one case (runs on a Dask worker): its comparison record (``coarse_start``:
    :func:`twin.thermal.steady.steady_solve`; ``rack_model``, ``units``: :func:`solve_case`)."""
    from common.errors import DivergenceError, TwinError
    t0 = time.perf_counter()
    rec = {"case": case.name, "label": case.label, "changes": [list(c) for c in case.changes],
           "worker": _worker_address()}
    try:
        sol = solve_case(case.facility, hall, cell_m=cell_m, backend=backend,
                         settings=settings, utilization=case.utilization,
                         off_units=case.off_units, rack_utilization=case.rack_utilization,
                         coarse_start=coarse_start, rack_model=rack_model, units=units)
    except (DivergenceError, RuntimeError, FloatingPointError) as exc:
        # a numerical failure of one case (a run that blew up, a singular heat-balance
        # factorisation) must not lose the others: it is reported in its row
        if isinstance(exc, TwinError) and not isinstance(exc, DivergenceError):
            raise                          # e.g. a backend the worker does not have
        rec.update({k: float("nan") for k, *_ in METRIC_COLUMNS})
        msg = str(exc) if isinstance(exc, DivergenceError) else \
            f"the solver failed ({type(exc).__name__}: {exc})"
        rec.update(converged=False, iterations=0, wall_s=time.perf_counter() - t0,
                   error=msg, racks={}, worst_rack="")
        return rec
    s = sol.summary
    rec.update(converged=s["converged"], iterations=s["iterations"], cells=s["cells"],
               backend=s["backend"], wall_s=time.perf_counter() - t0, off_units=s["off_units"],
               convergence=s["convergence"], coarse_start=s["coarse_start"])
    rec.update(s["metrics"])
    return rec


def _worker_address() -> str:
    """The Dask worker running this (provenance), or ``in-process``."""
    try:
        from distributed import get_worker
        return str(get_worker().address)
    except (ImportError, ValueError):
        return "in-process"


def run_whatif(cases: list[Case], hall=None, cell_m=0.3, backend="auto", settings=None,
               scheduler=None, workers=None, progress=None,
               coarse_start: bool = False, dashboard: str | None = None,
               rack_model: str = "ite", units: str = "matched") -> list[dict]:
    """Solve every case in parallel (:func:`twin.studies.sweep.run_tasks`); records in case order,
    each with ``delta`` (difference to the baseline, the first case)."""
    from twin.studies.sweep import run_tasks
    tasks = [(c, hall, cell_m, backend, settings, coarse_start, rack_model, units) for c in cases]
    recs = run_tasks(run_case, tasks, scheduler=scheduler, workers=workers, progress=progress,
                     backend=backend, dashboard=dashboard)
    return add_deltas(recs)


def add_deltas(recs: list[dict]) -> list[dict]:
    """Each record's difference to the baseline (the first), per metric. A difference is
    left out (blank in tables and CSV) when either solve did not converge: its numbers are
    the record mean at the step cap, not an answer."""
    base = recs[0]
    for r in recs:
        d = {}
        if not (r.get("converged", True) and base.get("converged", True)):
            r["delta"] = d
            continue
        for key, *_ in METRIC_COLUMNS:
            a, b = r.get(key), base.get(key)
            if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                d[key] = a - b
        r["delta"] = d
    return recs


def comparison_rows(recs: list[dict]) -> tuple[list[str], list[list]]:
    """Flat table for CSV: case, label, metrics, then ``d_<metric>`` vs baseline."""
    keys = [k for k, *_ in METRIC_COLUMNS]
    head = (["case", "label", "worst_rack"] + keys + ["converged", "iterations", "wall_s", "error"]
            + [f"d_{k}" for k in keys])
    rows = []
    for r in recs:
        row = [r["case"], r["label"], r.get("worst_rack", "")]
        row += [_num(r.get(k)) for k in keys]
        row += [r["converged"], r["iterations"], round(r["wall_s"], 2), r.get("error", "")]
        row += [_num(r["delta"].get(k)) for k in keys]
        rows.append(row)
    return head, rows


def _num(v):
    if isinstance(v, float):
        return "" if not math.isfinite(v) else round(v, 4)
    return "" if v is None else v


def write_outputs(out_dir, recs, meta: dict) -> list[Path]:
    """``whatif.csv`` and ``whatif.json`` in ``out_dir`` (each written atomically)."""
    import csv
    import io

    from twin.outputs.files import atomic_write, write_json
    out = Path(out_dir)
    head, rows = comparison_rows(recs)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(head)
    w.writerows(rows)
    text = buf.getvalue()
    atomic_write(out / "whatif.csv", lambda p: p.write_text(text, encoding="utf-8"))
    write_json(out / "whatif.json", {**meta, "cases": recs})
    return [out / "whatif.csv", out / "whatif.json"]
