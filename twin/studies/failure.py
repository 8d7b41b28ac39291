"""N-1 analysis of the air side: one cooling unit fails, how long until inlets overheat
(``twin fail``).

For each unit in turn (or the one asked for):

1. the hall is solved to steady state with every unit running;
2. the unit stops (airflow 0: no air, no heat removed; its body stays where it stands)
   and the solver runs in real time (:meth:`kernels.solver.Solver.run`) for ``minutes``;
   every ``sample_s`` seconds the mean intake temperature of each rack is recorded;
3. the *time to limit* is when the hottest rack inlet (face mean) first passes the ASHRAE
   A1 recommended maximum (27 degC) and the allowable maximum (32 degC), interpolated
   between samples; ``None`` ("not reached") if it stays below during the run, ``0`` if it
   was already above at the moment of the failure;
4. whether the remaining units hold the load: their capacity against the racks' air-side
   heat, their airflow against the racks' airflow, and a steady solve without the unit
   (continued from the end of the transient), judged on the rack inlets.

The rack and unit models are those of the thermal core (:mod:`kernels.problem`): the
racks keep their fans at design flow; the remaining units keep their supply temperature
up to their capacity. Thermal mass of racks, walls and coils is not modelled, so the
times are on the short (safe) side of what a room measures.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from common.errors import InputError
from twin.models.metrics import ALLOWABLE_MAX_C, RECOMMENDED_MAX_C
from twin.studies.whatif import inlet_metrics, rack_leakage, solve_case, unit_device_names


def time_to_limit(t_s, temp_c, limit_c: float):
    """First time ``temp_c`` (sampled at ``t_s``) passes ``limit_c`` [s], linearly
    interpolated; ``0.0`` if it starts above; ``None`` if it never passes."""
    t = np.asarray(t_s, dtype=float)
    y = np.asarray(temp_c, dtype=float)
    if y.size == 0:
        return None
    if y[0] > limit_c:
        return 0.0
    above = np.flatnonzero(y > limit_c)
    if above.size == 0:
        return None
    k = int(above[0])
    t0, t1, y0, y1 = t[k - 1], t[k], y[k - 1], y[k]
    return float(t0 + (limit_c - y0) * (t1 - t0) / (y1 - y0)) if y1 != y0 else float(t1)


def hall_units(facility, hall=None) -> list[str]:
    """Device names of every cooling unit of the hall (``HALL/UNIT``)."""
    return [u.name for u in facility.layout(facility.hall(hall).name).units]


def run_failure(facility, unit: str, hall=None, minutes: float = 5.0, cell_m: float = 0.3,
                backend="auto", settings=None, sample_s: float = 1.0, keep_fields=False,
                progress=None, coarse_start: bool = False, rack_model: str = "ite") -> dict:
    """One N-1 case: ``unit`` fails after steady state (see the module docstring).

    The racks follow the rack model (``rack_model``, :data:`twin.thermal.racks.RACK_MODELS`)
    before, during (their heat and, under ``ite``, their server airflow updated at every
    sample as the inlets warm) and after the failure.

    ``coarse_start``: the steady state before the failure starts from a solve on a coarser
    grid (:func:`twin.thermal.steady.steady_solve`); the transient after it is unchanged.

    Returns a record: ``unit``, ``time_to_recommended_s`` / ``time_to_allowable_s``
    (None: not reached in the run), ``worst_racks``, ``capacity`` (remaining units
    against the load), ``steady`` (metrics without the unit) and ``holds``, the time
    series ``time_s`` and ``rack_inlet_c`` (time x rack) with ``rack_names``; with
    ``keep_fields`` also the 3D fields at the end of the run (``fields``, ``centers_m``,
    ``summary``) for :func:`write_failure_h5`.
    """
    if not (math.isfinite(minutes) and minutes > 0):
        raise InputError(f"--minutes {minutes}: give a positive number of minutes")
    if not (math.isfinite(sample_s) and sample_s > 0):
        raise InputError(f"sample interval {sample_s} s must be positive")
    lay = facility.layout(facility.hall(hall).name)
    failed = unit_device_names(lay, [unit])
    t_wall = time.perf_counter()
    sol = solve_case(facility, hall, cell_m=cell_m, backend=backend, settings=settings,
                     coarse_start=coarse_start, rack_model=rack_model)
    s = sol.solver
    base = sol.summary["metrics"]
    devs = s.devices
    racks = [i for i, d in enumerate(devs) if d.kind == "rack"]
    rack_names = [devs[i].name for i in racks]

    # the remaining units against the load
    air_w = float(sum(devs[i].heat_w for i in racks))
    rack_q = float(sum(devs[i].flow_m3_s for i in racks))
    left = [d for d in devs if d.kind == "cooler" and d.name not in failed and d.flow_m3_s > 0]
    cap_w = float(sum(d.capacity_w for d in left))
    unit_q = float(sum(d.flow_m3_s for d in left))
    capacity = {"air_load_kw": air_w / 1e3, "remaining_capacity_kw": cap_w / 1e3,
                "capacity_ok": cap_w >= air_w, "rack_airflow_m3_s": rack_q,
                "remaining_airflow_m3_s": unit_q, "airflow_ok": unit_q >= rack_q,
                "remaining_units": [d.name for d in left]}

    # the failure, in real time
    s.set_devices(replace(d, flow_m3_s=0.0) if d.name in failed else d for d in devs)
    t_start = s.time_s
    times, inlet = [0.0], [s.dev_tin[racks].copy()]

    from twin.thermal.racks import hall_racks, settle_racks
    model = hall_racks(facility, s.problem)

    def sample(solver):
        times.append(solver.time_s - t_start)
        inlet.append(solver.dev_tin[racks].copy())
        if rack_model != "fixed" and model.names:     # servers react to their inlets
            res = model.response(solver.dev_tin[model.device_index])
            new = list(solver.devices)
            for k, i in enumerate(model.device_index):
                flow = res["cabinet_flow_m3_s"][k] if rack_model == "ite" else new[i].flow_m3_s
                new[i] = replace(new[i], heat_w=float(res["room_w"][k]), flow_m3_s=float(flow))
            solver.set_devices(new)

    def prog(n, info):
        progress(info["time_s"] - t_start, minutes * 60.0)
    run = s.run(minutes * 60.0, callback=sample, callback_every_s=sample_s,
                progress=None if progress is None else prog)
    t = np.asarray(times)
    T = np.asarray(inlet)                       # (time, rack)
    hottest = T.max(axis=1)
    t_rec = time_to_limit(t, hottest, RECOMMENDED_MAX_C)
    t_all = time_to_limit(t, hottest, ALLOWABLE_MAX_C)
    end = T[-1]
    order = np.argsort(end)[::-1][:5]
    worst = [{"rack": rack_names[k], "inlet_end_c": float(end[k]),
              "inlet_start_c": float(T[0, k]), "inlet_peak_c": float(T[:, k].max()),
              "time_to_recommended_s": time_to_limit(t, T[:, k], RECOMMENDED_MAX_C),
              "time_to_allowable_s": time_to_limit(t, T[:, k], ALLOWABLE_MAX_C)}
             for k in order]
    end_metrics = inlet_metrics(s, rack_leakage(sol.report.layout),
                                _rack_info(s, model, model.response(s.dev_tin[model.device_index])
                                           if model.names and model.has_doors else None))
    out = {"unit": failed[0] if len(failed) == 1 else unit, "failed_devices": failed,
           "hall": sol.hall, "minutes": float(minutes), "cell_m": float(cell_m),
           "baseline": {k: v for k, v in base.items() if k != "racks"},
           "baseline_converged": bool(sol.run.converged),
           "baseline_coarse_start": sol.summary.get("coarse_start"),
           "time_to_recommended_s": t_rec, "time_to_allowable_s": t_all,
           "limit_recommended_c": RECOMMENDED_MAX_C, "limit_allowable_c": ALLOWABLE_MAX_C,
           "already_above_recommended": bool(hottest[0] > RECOMMENDED_MAX_C),
           "inlet_max_end_c": float(hottest[-1]),
           "end": {k: v for k, v in end_metrics.items() if k != "racks"},
           "worst_racks": worst, "capacity": capacity, "transient_steps": int(run.iterations),
           "time_s": t, "rack_inlet_c": T, "rack_names": rack_names}
    if keep_fields:
        g = s.problem.grid
        out["fields"] = s.fields()
        out["centers_m"] = [g.centers(a) for a in range(3)]
        from twin.studies.whatif import hall_summary
        out["summary"] = hall_summary(facility, sol.report, s, run, cell_m, run.wall_s)
        out["summary"]["off_units"] = failed
        out["summary"]["time_s"] = float(minutes * 60.0)
        out["summary"]["converged"] = None          # a transient state, not a steady one
        out["summary"]["iterations"] = int(run.iterations)

    # steady state without the unit, continued from the end of the run
    steady = s.solve_steady()
    settled = settle_racks(s, model, rack_model)
    if settled["run"] is not None:
        steady = settled["run"]
    m = inlet_metrics(s, rack_leakage(sol.report.layout),
                      _rack_info(s, model, settled["response"]))
    out["steady"] = {k: v for k, v in m.items() if k != "racks"}
    out["steady"]["converged"] = bool(steady.converged and settled["settled"])
    out["steady"]["racks"] = m["racks"]
    out["holds_recommended"] = bool(capacity["capacity_ok"] and m["racks_over_27"] == 0)
    out["holds_allowable"] = bool(capacity["capacity_ok"] and m["racks_over_32"] == 0)
    out["holds"] = out["holds_recommended"]
    out["wall_s"] = time.perf_counter() - t_wall
    return out


def run_n_minus_1(facility, units, hall=None, minutes=5.0, cell_m=0.3, backend="auto",
                  settings=None, sample_s=1.0, scheduler=None, workers=None, progress=None,
                  keep_fields=False, run_progress=None,
                  coarse_start: bool = False, dashboard: str | None = None,
                  rack_model: str = "ite") -> list[dict]:
    """:func:`run_failure` for each of ``units``, in parallel (:func:`twin.studies.sweep.run_tasks`)."""
    from twin.studies.sweep import run_tasks
    lay = facility.layout(facility.hall(hall).name)
    for u in units:
        unit_device_names(lay, [u])            # a bad name fails here, before any solve
    tasks = [(facility, u, hall, minutes, cell_m, backend, settings, sample_s, keep_fields,
              run_progress if len(units) == 1 else None, coarse_start, rack_model)
             for u in units]
    return run_tasks(run_failure, tasks, scheduler=scheduler, workers=workers,
                     progress=progress, backend=backend, dashboard=dashboard)


def fmt_time(t_s, minutes) -> str:
    if t_s is None:
        return f"not reached in {minutes:g} min"
    if t_s == 0.0:
        return "already above"
    return f"{t_s:.0f} s" if t_s < 120 else f"{t_s / 60:.1f} min"


def _jsonable(rec: dict) -> dict:
    out = {k: v for k, v in rec.items() if k not in ("fields", "centers_m", "summary")}
    out["time_s"] = [round(float(x), 3) for x in rec["time_s"]]
    out["rack_inlet_c"] = np.round(np.asarray(rec["rack_inlet_c"]), 3).tolist()
    return out


def write_failure_outputs(out_dir, recs: list[dict], meta: dict, facility_text: str = "") -> list[Path]:
    """``fail.json``, ``fail.csv`` and ``fail.h5`` (time series of every case; the 3D
    fields at the end of the run of the case that reached the limit first) in ``out_dir``."""
    import csv
    import io

    from twin.outputs.files import atomic_write, write_json
    out = Path(out_dir)
    write_json(out / "fail.json", {**meta, "cases": [_jsonable(r) for r in recs]})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["unit", "minutes", "time_to_recommended_s", "time_to_allowable_s",
                "inlet_max_end_c", "worst_rack", "remaining_capacity_kw", "air_load_kw",
                "remaining_airflow_m3_s", "rack_airflow_m3_s", "steady_inlet_max_c",
                "steady_racks_over_27", "steady_rci_hi_pct", "holds_recommended",
                "holds_allowable"])
    for r in recs:
        c = r["capacity"]
        w.writerow([r["unit"], r["minutes"], _blank(r["time_to_recommended_s"]),
                    _blank(r["time_to_allowable_s"]), round(r["inlet_max_end_c"], 3),
                    r["worst_racks"][0]["rack"] if r["worst_racks"] else "",
                    round(c["remaining_capacity_kw"], 3), round(c["air_load_kw"], 3),
                    round(c["remaining_airflow_m3_s"], 3), round(c["rack_airflow_m3_s"], 3),
                    round(r["steady"]["inlet_max_c"], 3), r["steady"]["racks_over_27"],
                    round(r["steady"]["rci_hi_pct"], 3), r["holds_recommended"],
                    r["holds_allowable"]])
    text = buf.getvalue()
    atomic_write(out / "fail.csv", lambda p: p.write_text(text, encoding="utf-8"))
    files = [out / "fail.json", out / "fail.csv"]
    if any("fields" in r for r in recs):
        write_failure_h5(out / "fail.h5", recs, facility_text)
        files.append(out / "fail.h5")
    return files


def _blank(v):
    return "" if v is None else round(v, 3)


def _rank(r):
    """Sort key: the case that reaches the recommended limit first."""
    t = r["time_to_recommended_s"]
    return (t if t is not None else math.inf, -r["inlet_max_end_c"])


def write_failure_h5(path, recs: list[dict], facility_text: str = "") -> None:
    """Self-describing HDF5: ``/halls/<hall>`` as :func:`twin.thermal.steady.write_steady_h5`
    (fields at the end of the worst case's run), ``/failure/<unit>/`` the time series
    (``time_s`` scale; ``rack_inlet_c`` time x rack; ``inlet_max_c``) and the results as
    attributes. netCDF-4/CF like the other results: every group opens in
    ``xarray.open_datatree(path, engine="h5netcdf")`` (and :func:`twin.open_results`)."""
    import json

    import h5py

    from twin.outputs.cf import write_fields
    from twin.outputs.files import atomic_write
    from twin.thermal.steady import RESULT_SCHEMA
    worst = min((r for r in recs if "fields" in r), key=_rank)

    def write(p):
        with h5py.File(p, "w") as f:
            f.attrs["Conventions"] = "CF-1.10"
            f.attrs["title"] = "dc-twin N-1 study (twin fail)"
            f.attrs["schema"] = RESULT_SCHEMA
            f.attrs["kind"] = "n-1"
            f.attrs["facility_toml"] = facility_text
            f.attrs["fields_case"] = worst["unit"]
            h = f.create_group(f"halls/{worst['hall']}")
            write_fields(h, worst["centers_m"], worst["fields"], compression="gzip",
                         compression_opts=1)
            h.attrs["summary_json"] = json.dumps(worst["summary"], default=float)
            h.attrs["time_s"] = worst["summary"]["time_s"]
            for r in recs:
                g = f.create_group(f"failure/{r['unit'].split('/', 1)[-1]}")
                ts = g.create_dataset("time_s", data=np.asarray(r["time_s"], dtype=float))
                ts.attrs["units"] = "s"
                ts.attrs["long_name"] = "time since the unit failed"
                ts.make_scale("time_s")
                T = np.asarray(r["rack_inlet_c"], dtype=np.float32)
                names = g.create_dataset("rack", data=np.array(r["rack_names"], dtype=object),
                                         dtype=h5py.string_dtype())
                names.attrs["units"] = "1"
                names.attrs["long_name"] = "rack name"
                names.make_scale("rack")
                ds = g.create_dataset("rack_inlet_c", data=T)
                ds.attrs["units"] = "degC"
                ds.attrs["long_name"] = "rack inlet temperature (intake face mean)"
                ds.dims[0].attach_scale(ts)
                ds.dims[1].attach_scale(names)
                mx = g.create_dataset("inlet_max_c", data=T.max(axis=1))
                mx.attrs["units"] = "degC"
                mx.attrs["long_name"] = "hottest rack inlet"
                mx.dims[0].attach_scale(ts)
                for k in ("time_to_recommended_s", "time_to_allowable_s"):
                    g.attrs[k] = np.nan if r[k] is None else r[k]
                g.attrs["unit"] = r["unit"]
                g.attrs["holds_recommended"] = r["holds_recommended"]
                g.attrs["result_json"] = json.dumps(_jsonable(r), default=float)
    atomic_write(Path(path), write)


def _rack_info(solver, racks, response) -> dict | None:
    """The servers' inlets and rear doors' heat of settled racks for
    :func:`twin.studies.whatif.inlet_metrics` (``None`` without rear doors: the cabinets'
    faces and backs say it all)."""
    if response is None or not racks.has_doors:
        return None
    from twin.thermal.steady import server_inlets
    t_srv = server_inlets(solver, racks, response)
    return {name: {"server_inlet_temp_c": float(t_srv[n]),
                   "door_heat_w": float(response["door_w"][n])}
            for n, name in enumerate(racks.names)}
