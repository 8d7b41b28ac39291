"""A day of the shipped campus, and how its cost grows with the number of halls.

Runs :class:`twin.loop.simulation.Simulation` (the ``twin run`` loop: IT load, airflow and heat,
cooling plant, power) on ``meshes/ulsan-campus.toml`` for each compiled backend, first on
the campus's first hall alone, then on the first ``N`` halls for each ``N`` asked for. The
twin solves each *distinct* hall once and lets it stand for its identical copies (the
campus is 24 copies of ``ai-hall.toml``), so the records say how many halls were simulated
and how many thermal fields were solved: the growth with halls is the cost of the
bookkeeping, the plant and the power models around one thermal solve, and the growth with
distinct halls is the thermal solver's.

The NumPy reference has no run loop (it is a single-step oracle for the tests); it is
listed as not applicable.
"""
from __future__ import annotations

import time
from pathlib import Path

CAMPUS = Path(__file__).resolve().parent.parent / "meshes" / "ulsan-campus.toml"


def _say(log, msg):
    if log is not None:
        log(msg)


def run_campus_day(targets, opts, log) -> dict:
    """``{"status", "runs": [...], "skipped": [...]}`` for ``opts.campus_halls``."""
    from common.errors import TwinError
    from twin.facility import load_facility
    from twin.loop.simulation import RunSettings, Simulation

    path = Path(opts.campus_file) if opts.campus_file else CAMPUS
    try:
        shown = str(path.resolve().relative_to(CAMPUS.parent.parent))
    except ValueError:
        shown = str(path)
    out = {"status": "run", "facility": shown, "runs": [], "skipped": [],
           "hours": opts.campus_hours, "step_s": opts.campus_step_s,
           "cell_m": opts.campus_cell_m}
    try:
        fac = load_facility(path)
    except Exception as exc:          # the facility layer is broken: say so, go on
        return {"status": "not run", "reason": f"{shown} did not load: {exc}"}
    names = list(fac.hall_names)
    done = set()
    for t in targets:
        if t.name == "numpy":
            out["skipped"].append({"backend": "numpy", "reason": "the NumPy reference is a "
                                   "one-step oracle without the run loop: not applicable"})
            continue
        if t.name in done:              # one float type per backend (the run's default)
            continue
        done.add(t.name)
        for n in sorted(set(min(int(x), len(names)) for x in opts.campus_halls)):
            halls = tuple(names[:n])
            settings = RunSettings(hours=opts.campus_hours, step_s=opts.campus_step_s,
                                   cell_m=opts.campus_cell_m, backend=t.name, halls=halls,
                                   profile="training", rack_airflow="design")
            _say(log, f"  campus day on {t.name}: {n} hall(s), {opts.campus_hours:g} h at "
                      f"{opts.campus_step_s / 3600:g} h steps, {opts.campus_cell_m} m cells ...")
            t0 = time.perf_counter()
            try:
                sim = Simulation(fac, settings)
                status = sim.run()
            except (TwinError, MemoryError) as exc:
                out["skipped"].append({"backend": t.name, "halls": n, "reason": str(exc)})
                _say(log, f"    skipped: {exc}")
                continue
            wall = time.perf_counter() - t0
            sm = sim.summary()
            distinct = len(sim.halls)
            cells = [int(h.solver.problem.grid.cells) for h in sim.halls
                     if getattr(h, "solver", None) is not None]
            rec = {"backend": t.name, "halls": n, "distinct_halls": distinct,
                   "cells_per_distinct_hall": cells, "cells_solved": int(sum(cells)),
                   "cells_represented": int(sum(cells) * n / max(distinct, 1)),
                   "steps": int(sim.k), "status": status, "wall_s": wall,
                   "wall_s_per_simulated_h": wall / max(opts.campus_hours, 1e-9),
                   "thermal_solves": dict(sim.counters), "pue": sm.get("pue"),
                   "it_energy_kwh": sm.get("it_energy_kwh"),
                   "max_rack_inlet_c": sm.get("max_rack_inlet_c"),
                   "timer": "perf_counter (host, whole run incl. meshing and setup)"}
            out["runs"].append(rec)
            _say(log, f"    {status}: {wall:.1f} s ({distinct} distinct hall(s), "
                      f"{rec['cells_solved']:,} cells solved, PUE {rec['pue']:.3f})")
    if not out["runs"]:
        out["status"] = "not run"
        out["reason"] = "; ".join(s["reason"] for s in out["skipped"]) or "no backend ran"
    else:
        out["scaling"] = scaling(out["runs"])
    return out


def scaling(runs: list) -> dict:
    """Per backend: wall time against halls, and the ratio to the one-hall run."""
    by: dict = {}
    for r in runs:
        by.setdefault(r["backend"], []).append(r)
    res = {}
    for be, rs in by.items():
        rs = sorted(rs, key=lambda r: r["halls"])
        base = rs[0]["wall_s"]
        res[be] = [{"halls": r["halls"], "distinct_halls": r["distinct_halls"],
                    "wall_s": r["wall_s"], "relative": r["wall_s"] / base if base > 0 else None}
                   for r in rs]
    return res
