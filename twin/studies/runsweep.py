"""Sweeps over ``twin run``: the same period simulated for every case, compared by the
run's metrics (PUE, WUE, hourly CFE, cost, CO2, hottest rack inlet, ...), in parallel on
Dask (``twin whatif-run``, :func:`twin.api.run_sweep`).

A case changes the facility, the run settings or both:

* facility paths are those of ``twin whatif --set`` (:mod:`twin.studies.cases`), e.g.
  ``plant.chilled_water_supply_temp_c=10,14`` or
  ``halls[H1].cooling_units[*].supply_temp_c=18,20`` (the supply controller's starting
  set-point);
* run settings are ``run.NAME`` with ``NAME`` one of :data:`RUN_KNOBS`, the what-ifs of
  :class:`twin.loop.settings.RunSettings`: ``run.dry_bulb_offset_k=0,4`` (a heat wave),
  ``run.wind_scale=0`` (the wind drops), ``run.solar_scale=0.5`` (a renewable derate),
  ``run.grid_carbon_kg_per_kwh=0.2``, ``run.utilization=0.6``,
  ``run.target_inlet_temp_c=24,27``, ``run.profile=inference``;
* the study switch ``utilization=`` is ``run.utilization``; the other switches of
  ``twin whatif`` (a unit off, a row's utilisation, containment removed) are steady-state
  studies and are refused here with one line.

Every case runs the whole period in a fresh :class:`twin.loop.simulation.Simulation` on a
Dask worker (:func:`twin.studies.sweep.run_tasks`), exactly as ``twin run`` would with the
same settings; its record holds the run summary's metrics (:data:`RUN_METRICS`) and the
difference of each to the baseline (the first case). A case whose run diverges keeps its
row, with the error and no numbers; bad input (a path, a value, a changed facility that
cannot run) stops the sweep with its one line, before any run where it can be seen then.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from common.errors import InputError

#: Run settings a case may change as ``run.NAME`` (the what-ifs of ``twin run``), with the
#: type of their value.
RUN_KNOBS = {
    "dry_bulb_offset_k": float,
    "dew_point_offset_k": float,
    "solar_scale": float,
    "wind_scale": float,
    "grid_carbon_kg_per_kwh": float,
    "utilization": float,
    "target_inlet_temp_c": float,
    "airflow_ratio": float,
    "profile": str,
}

#: Columns of the comparison: (summary key, head, format, worse when it rises: True, False
#: or None where the direction has no meaning). The keys are those of the run's
#: ``summary.json`` (``twin/outputs/summary.schema.json``).
RUN_METRICS = (
    ("pue", "PUE", "{:.4f}", True),
    ("wue_l_per_kwh", "WUE L/kWh", "{:.3f}", True),
    ("cfe_score", "hourly CFE", "{:.3f}", False),
    ("renewable_share", "renewable share", "{:.3f}", False),
    ("cost_krw", "cost KRW", "{:,.0f}", True),
    ("co2_t", "CO2 t", "{:.3f}", True),
    ("max_rack_inlet_c", "max rack inlet C", "{:.2f}", True),
    ("max_server_inlet_c", "max server inlet C", "{:.2f}", True),
    ("rci_hi_pct", "RCI_HI %", "{:.1f}", False),
    ("racks_over_recommended", "racks > recommended", "{:d}", True),
    ("rack_steps_over_allowable", "rack-steps > allowable", "{:d}", True),
    ("it_energy_kwh", "IT kWh", "{:,.1f}", None),
    ("facility_energy_kwh", "facility kWh", "{:,.1f}", True),
    ("cooling_energy_kwh", "cooling kWh", "{:,.1f}", True),
    ("water_l", "water L", "{:,.0f}", True),
)

#: Settings every case of a sweep shares (``twin run``'s options); a case may not change them.
SHARED_SETTINGS = ("hours", "step_s", "start_h", "cell_m", "backend", "thermal", "halls",
                   "rack_airflow", "period", "solver", "substeps", "flow_tol_frac")


@dataclass(frozen=True)
class RunCase:
    """One case of a run sweep: the changed facility and the run settings it changes."""

    name: str
    label: str
    facility: object                    # twin.facility.Facility
    changes: tuple = ()                 # ((path, value text), ...), as given
    settings: tuple = ()                # ((RunSettings field, value), ...)


def _knob(path: str, raw: str):
    """``run.NAME`` and its value text -> (NAME, value)."""
    name = path[len("run."):].strip()
    if name not in RUN_KNOBS:
        from twin.studies.cases import _suggest
        raise InputError(f"--set {path}: '{name}' is not a run setting a case may change"
                         f"{_suggest(name, RUN_KNOBS)}; choose one of "
                         + ", ".join(f"run.{k}" for k in RUN_KNOBS))
    kind = RUN_KNOBS[name]
    if kind is str:
        return name, raw.strip()
    if name == "grid_carbon_kg_per_kwh" and raw.strip().lower() in ("none", "default", ""):
        return name, None
    try:
        v = float(raw)
    except ValueError:
        raise InputError(f"--set {path}={raw}: give a number") from None
    if not math.isfinite(v):
        raise InputError(f"--set {path}={raw}: give a finite number")
    return name, v


def make_run_case(facility, changes, name: str = "case", label: str | None = None) -> RunCase:
    """A :class:`RunCase` from ``[(path, value text), ...]``: ``run.NAME`` paths set run
    settings, the others change the facility (checked again by the facility validator)."""
    from twin.studies.cases import make_case, short_path
    run_changes, fac_changes = [], []
    for path, raw in changes:
        (run_changes if path.strip().startswith("run.") else fac_changes).append((path, raw))
    settings = dict(_knob(p.strip(), raw) for p, raw in run_changes)
    label = label or ", ".join(f"{short_path(p, facility)}={v}" for p, v in changes) or "baseline"
    case = make_case(facility, fac_changes, name=name, label=label)
    refused = [s for s in case.switches if s.strip() not in ("utilization", "load")]
    if refused:
        raise InputError(f"--set {refused[0]}: a unit switched off, a row's or rack's utilisation "
                         "and containment removed are steady-state studies (twin whatif); in a "
                         "run sweep set run.utilization or a facility field instead")
    if case.switches:
        settings["utilization"] = case.utilization
    return RunCase(name=name, label=label, facility=case.facility, changes=tuple(changes),
                   settings=tuple(settings.items()))


def build_run_cases(facility, sets=(), sweep_file=None) -> list[RunCase]:
    """The baseline, every combination of the ``--set`` values, then the named cases of the
    sweep file (as :func:`twin.studies.cases.build_cases`); all checked before any run."""
    from twin.studies.cases import build_cases
    return build_cases(facility, sets, sweep_file, make=make_run_case)


def run_settings_for(case: RunCase, base: dict):
    """The :class:`twin.loop.settings.RunSettings` of one case: ``base`` (the sweep's
    shared settings) with the case's own."""
    from twin.loop.settings import RunSettings
    return RunSettings(**{**base, **dict(case.settings)})


def run_one(case: RunCase, base: dict) -> dict:
    """Run one case over the period (on a Dask worker): its comparison record."""
    from common.errors import DivergenceError
    from twin.loop.simulation import Simulation
    from twin.studies.whatif import _worker_address
    t0 = time.perf_counter()
    rec = {"case": case.name, "label": case.label, "changes": [list(c) for c in case.changes],
           "run_settings": dict(case.settings), "worker": _worker_address()}
    try:
        sim = Simulation(case.facility, run_settings_for(case, base))
        sim.run()
    except (DivergenceError, FloatingPointError) as exc:
        rec.update({k: None for k, *_ in RUN_METRICS})
        rec.update(status="failed", error=str(exc), wall_s=time.perf_counter() - t0, steps=0)
        return rec
    s = sim.summary()
    rec.update({k: s.get(k) for k, *_ in RUN_METRICS})
    rec.update(status=s["status"], steps=s["steps"], hours=s["hours"], start_time=s["start_time"],
               end_time=s["end_time"], cells=s["cells"], backend=s["backend"],
               inner_not_converged_steps=s.get("inner_not_converged_steps", 0),
               what_if=s.get("what_if", {}), wall_s=time.perf_counter() - t0, error="")
    return rec


def add_run_deltas(recs: list[dict]) -> list[dict]:
    """Each record's difference to the baseline (the first), per metric; none where either
    run failed."""
    base = recs[0]
    for r in recs:
        d = {}
        if not (r.get("error") or base.get("error")):
            for key, *_ in RUN_METRICS:
                a, b = r.get(key), base.get(key)
                if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                    d[key] = a - b
        r["delta"] = d
    return recs


def run_sweep(cases: list[RunCase], base: dict, scheduler=None, workers=None, progress=None,
              dashboard: str | None = None) -> list[dict]:
    """Run every case on Dask (:func:`twin.studies.sweep.run_tasks`); records in case order,
    each with ``delta`` against the first. ``base``: the shared run settings (keys of
    :class:`twin.loop.settings.RunSettings`)."""
    from twin.studies.sweep import run_tasks
    for c in cases:                     # bad settings: one line before any run
        run_settings_for(c, base)
    tasks = [(c, dict(base)) for c in cases]
    recs = run_tasks(run_one, tasks, scheduler=scheduler, workers=workers, progress=progress,
                     backend=base.get("backend", "auto"), dashboard=dashboard)
    return add_run_deltas(recs)


def comparison_rows(recs: list[dict]) -> tuple[list[str], list[list]]:
    """Flat table for CSV: case, label, metrics, status, then ``d_<metric>`` vs baseline."""
    keys = [k for k, *_ in RUN_METRICS]
    head = (["case", "label"] + keys + ["status", "steps", "inner_not_converged_steps",
                                        "wall_s", "error"] + [f"d_{k}" for k in keys])
    rows = []
    for r in recs:
        row = [r["case"], r["label"]] + [r.get(k) for k in keys]
        row += [r.get("status", ""), r.get("steps", 0), r.get("inner_not_converged_steps", ""),
                round(r.get("wall_s", 0.0), 2), r.get("error", "")]
        row += [r["delta"].get(k) for k in keys]
        rows.append(row)
    return head, rows


def write_outputs(out_dir, recs, meta: dict) -> list[Path]:
    """``whatif-run.csv`` and ``whatif-run.json`` in ``out_dir`` (each written atomically)."""
    from twin.outputs.files import write_csv, write_json
    out = Path(out_dir)
    head, rows = comparison_rows(recs)
    write_csv(out / "whatif-run.csv", head, rows)
    write_json(out / "whatif-run.json", {**meta, "cases": recs})
    return [out / "whatif-run.csv", out / "whatif-run.json"]


def records_frame(recs: list[dict]):
    """The records as a pandas DataFrame indexed by case: label, metrics, status, and the
    differences to the baseline as ``d_<metric>``."""
    import pandas as pd
    keys = [k for k, *_ in RUN_METRICS]
    rows = []
    for r in recs:
        row = {"label": r["label"], **{k: r.get(k) for k in keys},
               "status": r.get("status"), "error": r.get("error", "")}
        row.update({f"d_{k}": r["delta"].get(k) for k in keys})
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index([r["case"] for r in recs], name="case"))
