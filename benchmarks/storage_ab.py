"""``python -m benchmarks.storage_ab``: the Ulsan campus with and without its battery, and
with each dispatch policy: hourly CFE score, renewable share, grid import, cost and carbon.

The facility (``--facility``, default ``meshes/ulsan-campus-storage.toml``: the 103 MW
campus of ``ulsan-campus.toml`` with a 200 MWh / 50 MW battery, a 120 MW import cap and
the KEPCO time-of-use tariff) is run once per dispatch policy of
:data:`twin.models.storage.POLICIES` (``renewable-shifting``, ``tou-arbitrage``,
``peak-shaving``; ``[power.storage] policy``), over the same period, without its flexible
load (so the halls run the same IT in every run and the battery is the only difference).
The runs share one flow memo: the hall's flow field is solved by the first and reused.

Each run's ``summary.json`` ``dispatch`` section (:meth:`twin.loop.dispatch.CampusDispatch.summary`)
holds the campus with its battery (``with_storage``) and the same steps without it
(``without_storage``: every policy's run gives the same, which the script checks). The
table has one row without the battery, then one per policy: hourly CFE score (the share
of the campus energy served by carbon-free supply in the same hour, battery included),
renewable share by volume, grid import and its largest hour, curtailed supply, energy
the import cap could not serve, cost (grid at the tariff plus the contracts; the battery's ageing in its own
column), CO2, and the battery's equivalent full cycles, its grid charging and its energy
closure (charge - discharge - losses = change of stored energy, relative).

Output: ``<out>/storage-ab-<date>.json`` and ``.md`` (written atomically), and the table
on stdout. The machine's load is stated (``os.getloadavg``) with each run's wall and CPU
time. Options: ``--hours`` (168), ``--start-day`` (1-based day of the weather year, 15),
``--cell`` (0.3 m, the coarsest the AI hall meshes at), ``--rack-airflow`` (``design``:
one flow solve; ``model``: as ``twin run``), ``--backend``, ``--max-flow-steps`` (a cap
on the flow solve; the storage figures hardly depend on the hall's air field),
``--peak-shave-mw`` (a further peak-shaving run at that import target), ``--suffix``
(after the date in the file names).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

#: The table's columns: (key of a row, heading, format).
COLUMNS = (
    ("case", "case", "{}"),
    ("cfe_score", "hourly CFE", "{:.4f}"),
    ("renewable_share", "renewable share", "{:.4f}"),
    ("grid_import_mwh", "grid import MWh", "{:.1f}"),
    ("grid_import_max_mw", "largest import MW", "{:.2f}"),
    ("curtailed_mwh", "curtailed MWh", "{:.1f}"),
    ("shortfall_mwh", "unserved (cap) MWh", "{:.2f}"),
    ("cost_mkrw", "cost MKRW", "{:.1f}"),
    ("ageing_mkrw", "battery ageing MKRW", "{:.2f}"),
    ("co2_t", "CO2 t", "{:.1f}"),
    ("equivalent_full_cycles", "full cycles", "{:.3f}"),
    ("charged_from_grid_mwh", "charged from grid MWh", "{:.1f}"),
    ("closure_max_rel", "storage closure", "{:.1e}"),
)


def policy_facility(fac, policy: str, peak_shave_mw: float | None = None):
    """``fac`` with ``[power.storage] policy = policy`` (and ``peak_shave_mw``) and no
    flexible load."""
    st = fac.power.storage.model_copy(update={"policy": policy, "peak_shave_mw": peak_shave_mw})
    return fac.model_copy(update={"power": fac.power.model_copy(
        update={"storage": st, "flexible_load": None})})


def no_storage_facility(fac):
    """``fac`` without its battery and flexible load (the A of the run-time A/B)."""
    return fac.model_copy(update={"power": fac.power.model_copy(
        update={"storage": None, "flexible_load": None})})


def _timed(fac, settings, memo, label: str):
    """Run ``fac``; ``(simulation, summary, run record)`` with its wall and CPU time."""
    from twin.loop.simulation import Simulation
    load0 = os.getloadavg()[0]
    c0, t0 = time.process_time(), time.perf_counter()
    sim = Simulation(fac, settings, flow_memo=memo)
    status = sim.run()
    summ = sim.summary()
    run = {"policy": label, "status": status, "steps": summ["steps"],
           "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
           "load_start": load0, "load_end": os.getloadavg()[0],
           "flow_solves": summ["thermal_solves"]["flow_solves"]}
    return sim, summ, run


def _row(case: str, part: dict, battery: dict | None, extra: dict) -> dict:
    out = {"case": case, "cfe_score": part["cfe_score"], "renewable_share": part["renewable_share"],
           "grid_import_mwh": part["grid_import_mwh"], "grid_import_max_mw": part["grid_import_max_mw"],
           "curtailed_mwh": part["curtailed_mwh"],
           "shortfall_mwh": part["shortfall_mwh"], "cost_mkrw": part["cost_krw"] / 1e6,
           "co2_t": part["co2_t"], "ageing_mkrw": None, "equivalent_full_cycles": None,
           "charged_from_grid_mwh": None, "closure_max_rel": None, **extra}
    if battery is not None:
        out.update(ageing_mkrw=battery["ageing_cost_krw"] / 1e6,
                   equivalent_full_cycles=battery["equivalent_full_cycles"],
                   charged_from_grid_mwh=battery["charged_from_grid_mwh"],
                   closure_max_rel=battery["closure_max_rel"])
    return out


def run_ab(fac, settings, policies=None, memo=None, progress=None, peak_shave_mw=(),
           baseline: bool = False) -> dict:
    """Run ``fac`` (with ``[power.storage]``) once per policy with ``settings`` (a
    :class:`twin.loop.settings.RunSettings`), and once more with ``peak-shaving`` at each
    target of ``peak_shave_mw`` (MW; the plain ``peak-shaving`` run keeps to the import
    cap); returns ``{"rows": [...], "runs": [...]}``: the row without the battery first,
    then one per run, and each run's status, steps, wall and CPU time and load average.

    ``baseline``: what storage costs the run time, A/B on a shared machine: the facility
    without its battery (:func:`no_storage_facility`) is run first (it pays the flow solve,
    kept in the memo for all runs: ``warm-up``), then before each battery run again (A),
    so that each battery run (B) has ``baseline_cpu_s`` (its A's) and ``cpu_over_baseline``
    from neighbouring runs of the same warm state."""
    from common.errors import InputError
    from twin.models.storage import POLICIES
    if fac.power is None or fac.power.storage is None:
        raise InputError(f"{fac.campus.name}: no [power.storage]; fix: a facility with a battery "
                         "(meshes/ulsan-campus-storage.toml)")
    memo = {} if memo is None else memo
    rows, runs, without = [], [], None
    cases = [(p, None) for p in (policies or POLICIES)] + [("peak-shaving", float(t)) for t in peak_shave_mw]
    plain = no_storage_facility(fac) if baseline else None
    if baseline:
        runs.append(_timed(plain, settings, memo, "no battery, warm-up")[2])
        if progress is not None:
            progress(runs[-1])
    for policy, target in cases:
        label = policy if target is None else f"{policy} at {target:g} MW"
        a_run = None
        if baseline:
            a_run = _timed(plain, settings, memo, f"no battery, before {label}")[2]
            runs.append(a_run)
            if progress is not None:
                progress(a_run)
        sim, summ, run = _timed(policy_facility(fac, policy, target), settings, memo, label)
        d = summ["dispatch"]
        if a_run is not None:
            run["baseline_cpu_s"] = a_run["cpu_s"]
            run["cpu_over_baseline"] = run["cpu_s"] / a_run["cpu_s"] if a_run["cpu_s"] else None
        runs.append(run)
        if without is None:
            without = d["without_storage"]
            rows.append(_row("no battery", without, None, {}))
        else:                    # the same steps without the battery: the same numbers
            run["without_storage_max_diff"] = max(
                abs(float(without[k]) - float(d["without_storage"][k])) for k in without)
        part = dict(d["with_storage"], curtailed_mwh=d["curtailed_mwh"],
                    shortfall_mwh=d["shortfall_mwh"])
        rows.append(_row(f"battery, {label}", part, d["battery"], {}))
        if progress is not None:
            progress(run)
    return {"rows": rows, "runs": runs}


def markdown_table(rows) -> str:
    """The rows as a Markdown table (blank where a value does not apply)."""
    lines = ["| " + " | ".join(h for _, h, _ in COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    for r in rows:
        cells = ["" if r.get(k) is None else f.format(r[k]) for k, _, f in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(out_dir, result: dict, meta: dict, suffix: str = "") -> tuple[Path, Path]:
    """``storage-ab-<date><suffix>.json`` and ``.md`` in ``out_dir`` (atomic writes; the
    suffix, such as ``b``, keeps an earlier run of the same day)."""
    from twin.outputs.files import atomic_write, write_json
    stamp = meta["date_utc"][:10]
    base = Path(out_dir) / f"storage-ab-{stamp}{suffix}"
    doc = {**meta, **result}
    js = write_json(base.with_suffix(".json"), doc)
    runs = "\n".join(
        f"- {r['policy']}: {r['status']}, {r['steps']} steps, wall {r['wall_s']:.1f} s, CPU "
        f"{r['cpu_s']:.1f} s, load average {r['load_start']:.1f} -> {r['load_end']:.1f}, "
        f"{r['flow_solves']} flow solve(s)"
        + (f", CPU {r['cpu_over_baseline']:.3f}x the run before it without the battery"
           if r.get("cpu_over_baseline") else "") for r in result["runs"])
    text = (f"# The campus with and without its battery, {stamp}\n\n"
            f"`{meta['command']}` (git {meta['git_revision']}): {meta['facility']}, "
            f"{meta['hours']:g} h from day {meta['start_day']} at {meta['step_s'] / 3600:g} h steps, "
            f"{meta['cell_m']:g} m cells, rack airflow {meta['rack_airflow']}, flow solve capped "
            f"at {meta.get('max_flow_steps') or 'the default'} steps, no flexible load; "
            f"{meta['host']}.\n\n{markdown_table(result['rows'])}\n\n"
            f"Runs (one process, one flow memo):\n{runs}\n")
    md = atomic_write(base.with_suffix(".md"), lambda p: Path(p).write_text(text))
    return js, md


def main(argv=None) -> int:
    import platform

    from benchmarks.report import _git, benchmark_parser
    from benchmarks.targets import cpu_model
    from twin.facility import load_facility
    from twin.loop.settings import RunSettings
    p = benchmark_parser("storage_ab", __doc__, "ulsan-campus-storage.toml")
    p.add_argument("--hours", type=float, default=168.0)
    p.add_argument("--start-day", type=int, default=15)
    p.add_argument("--cell", type=float, default=0.3)
    p.add_argument("--rack-airflow", choices=("design", "model"), default="design")
    p.add_argument("--backend", default="cpu")
    p.add_argument("--max-flow-steps", type=int, default=0,
                   help="cap of the hall's steady flow solve (SolverSettings.max_steps; 0: the "
                        "solver's default): the storage figures hardly depend on it")
    p.add_argument("--peak-shave-mw", type=float, action="append", default=[],
                   help="a further peak-shaving run keeping the import to this target, MW "
                        "(repeatable; the plain peak-shaving run keeps to the import cap)")
    p.add_argument("--baseline", action="store_true",
                   help="time each battery run against a run without the battery just before "
                        "it (A/B: what storage adds to the run time)")
    p.add_argument("--policy", action="append", choices=("renewable-shifting", "tou-arbitrage",
                                                         "peak-shaving"), default=None,
                   help="run only this dispatch policy (repeatable; default all)")
    p.add_argument("--suffix", default="",
                   help="appended to the results' file name after the date (a letter: b, c...)")
    p.add_argument("--out", default=str(RESULTS))
    a = p.parse_args(argv)
    if not 1 <= a.start_day <= 365:
        p.error(f"--start-day {a.start_day}: a day of the year, 1 to 365")
    if not all(t > 0 for t in a.peak_shave_mw):
        p.error("--peak-shave-mw: a positive import target in MW")
    if not a.suffix.isalnum() and a.suffix:
        p.error(f"--suffix {a.suffix!r}: letters or digits only")
    fac = load_facility(a.facility)
    s = RunSettings(hours=a.hours, step_s=3600.0, start_h=(a.start_day - 1) * 24.0,
                    cell_m=a.cell, backend=a.backend, rack_airflow=a.rack_airflow,
                    solver={"max_steps": a.max_flow_steps} if a.max_flow_steps > 0 else {})
    meta = {"date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "git_revision": _git("rev-parse", "--short", "HEAD"),
            "command": " ".join(["python -m benchmarks.storage_ab",
                                 *(sys.argv[1:] if argv is None else argv)]),
            "facility": fac.campus.name, "hours": a.hours, "start_day": a.start_day,
            "step_s": 3600.0, "cell_m": a.cell, "rack_airflow": a.rack_airflow,
            "max_flow_steps": a.max_flow_steps or None,
            "host": f"{cpu_model() or platform.processor()}, {os.cpu_count()} logical CPUs"}
    result = run_ab(fac, s, policies=a.policy, progress=lambda r: print(json.dumps(r), flush=True),
                    peak_shave_mw=a.peak_shave_mw, baseline=a.baseline)
    print(markdown_table(result["rows"]))
    js, md = write_results(a.out, result, meta, suffix=a.suffix)
    print(f"wrote {js} and {md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
