"""What storage dispatch costs a campus run: an A/B in one process.

``python -m benchmarks.storage [--hours 48] [--cell 0.3] [--repeats 2]`` runs
``meshes/ulsan-campus.toml`` (A, as shipped) and ``meshes/ulsan-campus-storage.toml``
without its flexible load (B: a 200 MWh battery, the grid import cap, the KEPCO
time-of-use tariff) and with it (C), after a warm-up hour of each that solves its flow
field and builds its linear response (shared through the flow memo, so the timed runs are the
stepping, the plant, power and dispatch: the overhead of storage is measured against the
cheapest part of a run, an upper bound for a year that also solves flows). It also times
the dispatch and the flexible-load plan alone over a year of hourly steps. Prints a
Markdown table; nothing is asserted.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.report import MESHES, benchmark_parser


def _timed_run(fac, settings, memo) -> tuple[float, dict]:
    from twin.loop.simulation import Simulation
    sim = Simulation(fac, settings, flow_memo=memo)
    t0 = time.perf_counter()
    sim.run()
    return time.perf_counter() - t0, sim.summary()


def _year_alone() -> dict:
    """Seconds for a year (8760 hourly steps) of dispatch and of the flexible-load plan."""
    from twin.models.flexload import FlexibleLoadSpec, plan_flexible_load
    from twin.models.storage import BatterySpec, BatteryState, dispatch_series
    rng = np.random.default_rng(0)
    n = 8760
    load = rng.uniform(90e6, 130e6, n)
    cfe = rng.uniform(0.0, 200e6, n)
    sp = BatterySpec(energy_j=200 * 3.6e9, power_w=50e6)
    t0 = time.perf_counter()
    dispatch_series(load, cfe, sp, BatteryState.at_soc(sp, 0.5), 3600.0, import_cap_w=120e6)
    t1 = time.perf_counter()
    plan_flexible_load(np.full(n, 20e6), load * 0.7, load * 0.2, cfe, 3600.0, FlexibleLoadSpec(share_frac=0.1))
    t2 = time.perf_counter()
    return {"dispatch_year_s": t1 - t0, "flex_plan_year_s": t2 - t1}


def _small_pair():
    """meshes/small-hall.toml with a solar contract, the KEPCO time-of-use tariff and a
    capped grid (A), and the same with a 0.4 MWh battery and flexible load (C)."""
    import shutil
    import tempfile

    from twin.facility import load_facility
    power = """
[power]
[power.grid]
capacity_mw = 1.0
carbon_kg_per_kwh = 0.45
tariff = "kepco-tou"
{cap}
[[power.contracts]]
name = "solar-ppa"
kind = "solar"
capacity_mw = 1.0
capacity_factor_frac = 0.15
price_krw_per_kwh = 160.0
"""
    extra = """
[power.storage]
energy_mwh = 0.4
power_mw = 0.1
[power.flexible_load]
share_frac = 0.1
"""
    d = Path(tempfile.mkdtemp(prefix="twin-storage-bench-"))
    shutil.copytree(MESHES / "racks", d / "racks")
    hall = (MESHES / "small-hall.toml").read_text()
    (d / "a.toml").write_text(hall + power.format(cap=""))
    (d / "c.toml").write_text(hall + power.format(cap="import_cap_mw = 0.15") + extra)
    return load_facility(d / "a.toml"), load_facility(d / "c.toml")


def main(argv=None) -> int:
    from dataclasses import replace

    from twin.facility import load_facility
    from twin.loop.simulation import RunSettings
    p = benchmark_parser("storage", __doc__)
    p.add_argument("--hours", type=float, default=48.0)
    p.add_argument("--cell", type=float, default=0.3)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--start-h", type=float, default=24 * 170.0)
    p.add_argument("--small", action="store_true",
                   help="the small hall with the example's [power], scaled to its 0.2 MW, instead of "
                        "the campus (a cheaper thermal step: a larger share for the dispatch)")
    args = p.parse_args(argv)
    if args.small:
        a, c = _small_pair()
    else:
        a = load_facility(MESHES / "ulsan-campus.toml")
        c = load_facility(MESHES / "ulsan-campus-storage.toml")
    b = c.model_copy(update={"power": c.power.model_copy(update={"flexible_load": None})})
    s = RunSettings(hours=args.hours, step_s=3600.0, cell_m=args.cell, backend="cpu",
                    rack_airflow="design", profile="training", start_h=args.start_h)
    memo: dict = {}
    load0 = os.getloadavg()
    warm = 0.0
    for fac in (a, b, c):            # each facility's flow field and response, once
        warm += _timed_run(fac, replace(s, hours=1.0), memo)[0]
    print(f"# warm-up: {warm:.2f} s", flush=True)
    times = {"A": [], "B": [], "C": []}
    summaries = {}
    for _ in range(args.repeats):
        for name, fac in (("A", a), ("B", b), ("C", c)):
            t, summ = _timed_run(fac, s, memo)
            times[name].append(t)
            summaries[name] = summ
            print(f"# {name}: {t:.2f} s", flush=True)
    alone = _year_alone()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"host {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs; "
          f"load average at start {load0[0]:.2f}, at end {os.getloadavg()[0]:.2f}")
    print(f"warm-up (flow solves and responses, 1 h of each): {warm:.1f} s; {args.hours:g} h at 1 h steps, "
          f"{args.cell:g} m cells, median of {args.repeats}")
    print()
    print(f"facility: {'small hall + [power] (benchmarks/storage.py _small_pair)' if args.small else 'ulsan-campus'}")
    print("| run | wall s (median) | min | runs | median vs A | min vs A | direct steps | CFE score | "
          "grid import max MW |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, label in (("A", "A: no storage"), ("B", "B: + battery, import cap"),
                        ("C", "C: B + flexible load")):
        sm = summaries[name]
        gmax = sm.get("dispatch", {}).get("grid_import_max_mw", float("nan"))
        lo = {k: min(v) for k, v in times.items()}
        print(f"| {label} | {med[name]:.2f} | {lo[name]:.2f} | {', '.join(f'{t:.2f}' for t in times[name])} | "
              f"{med[name] / med['A'] - 1:+.1%} | {lo[name] / lo['A'] - 1:+.1%} | "
              f"{sm['thermal_solves']['direct_steps']} | {sm['cfe_score']:.3f} | {gmax:.1f} |")
    print()
    print(f"dispatch alone, 8760 hourly steps: {alone['dispatch_year_s']:.3f} s; "
          f"flexible-load plan alone: {alone['flex_plan_year_s']:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
